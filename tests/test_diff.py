"""The diff engine on small editions whose docstrings say exactly what differs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipeline.diff.engine import diff
from pipeline.errors import PipelineError
from tests.conftest import edition, frame, make_spec, therapy_2024, therapy_2025

OLD = edition("2024", date(2024, 1, 1))
NEW = edition("2025", date(2025, 1, 1))


def run_diff(old: pl.DataFrame, new: pl.DataFrame, **spec_overrides: object):
    return diff(old, new, make_spec(**spec_overrides), old_info=OLD, new_info=NEW)


def test_classifies_added_deleted_changed_unchanged() -> None:
    cs = run_diff(therapy_2024(), therapy_2025())
    assert cs.added["code"].to_list() == ["97530"]
    assert cs.deleted.select("code", "reason").rows() == [
        ("G0283", "removed"),
        ("G8978", "discontinued"),
    ]
    assert cs.changed["code"].to_list() == ["97140"]
    assert cs.counts == {
        "added": 1,
        "deleted": 2,
        "changed": 1,
        "reactivated": 0,
        "interim": 0,
        "purged": 0,
        "unchanged": 1,
    }


def test_changed_record_carries_field_detail_and_word_diff() -> None:
    cs = run_diff(therapy_2024(), therapy_2025())
    (change,) = cs.fields[("97140",)]
    assert (change.name, change.old, change.new) == (
        "description",
        "Manual therapy techniques",
        "Manual therapy techniques, each 15 minutes",
    )
    assert change.words is not None
    assert change.words.inserted == ["techniques, each 15 minutes"]
    assert change.words.removed == ["techniques"]


def test_discontinued_record_shows_its_termination_date() -> None:
    cs = run_diff(therapy_2024(), therapy_2025())
    row = cs.deleted.filter(pl.col("code") == "G8978").row(0, named=True)
    assert row["terminated"] == date(2024, 12, 31)
    (change,) = cs.fields[("G8978",)]
    assert (change.name, change.old, change.new) == ("terminated", None, date(2024, 12, 31))


def test_already_terminated_code_is_not_reported_again() -> None:
    """G8978 terminated 2023-12-31 in both editions: not deleted a second time; when the
    publisher finally drops it from the file it is 'purged', not 'deleted'."""
    ended = {"code": "G8978", "description": "Mobility current status"}
    old = frame([{**ended, "terminated": date(2023, 12, 31)}])
    still_listed = run_diff(old, frame([{**ended, "terminated": date(2023, 12, 31)}]))
    assert still_listed.counts["deleted"] == 0
    assert still_listed.unchanged == 1
    dropped = run_diff(old, frame([]))
    assert dropped.counts["deleted"] == 0
    assert dropped.purged["code"].to_list() == ["G8978"]


def test_termination_on_the_effective_date_counts_as_terminated() -> None:
    """Terminated on 2025-01-01, the new edition's effective date: no longer billable."""
    old = frame([{"code": "97014", "description": "Electric stimulation", "terminated": None}])
    new = frame(
        [{"code": "97014", "description": "Electric stimulation", "terminated": date(2025, 1, 1)}]
    )
    assert run_diff(old, new).deleted["reason"].to_list() == ["discontinued"]


def test_termination_after_the_effective_date_is_still_active() -> None:
    """Terminated 2025-03-31 in the 2025-01-01 edition: billable for one more quarter."""
    old = frame([{"code": "97014", "description": "Electric stimulation", "terminated": None}])
    new = frame(
        [{"code": "97014", "description": "Electric stimulation", "terminated": date(2025, 3, 31)}]
    )
    cs = run_diff(old, new)
    assert cs.counts["deleted"] == 0
    assert cs.changed["code"].to_list() == ["97014"]


def test_reactivated_and_interim_codes() -> None:
    """Q0091 was terminated in 2024 and is active again in 2025 (reactivated); C9999 first
    appears in 2025 already terminated (added and ended in an interim update)."""
    old = frame(
        [{"code": "Q0091", "description": "Screening pap", "terminated": date(2023, 6, 30)}]
    )
    new = frame(
        [
            {"code": "C9999", "description": "Interim drug", "terminated": date(2024, 9, 30)},
            {"code": "Q0091", "description": "Screening pap", "terminated": None},
        ]
    )
    cs = run_diff(old, new)
    assert cs.reactivated["code"].to_list() == ["Q0091"]
    assert cs.interim["code"].to_list() == ["C9999"]
    assert cs.counts["added"] == 0


def test_composite_key() -> None:
    """Key (column1, column2), an NCCI-like pair table: 97140+97530 modifier indicator 1 -> 0;
    97110+97150 added; 97530+97116 deleted."""
    schema = {"column1": pl.String(), "column2": pl.String(), "modifier": pl.String()}
    old = pl.DataFrame(
        [
            {"column1": "97140", "column2": "97530", "modifier": "1"},
            {"column1": "97530", "column2": "97116", "modifier": "1"},
        ],
        schema=schema,
    )
    new = pl.DataFrame(
        [
            {"column1": "97110", "column2": "97150", "modifier": "0"},
            {"column1": "97140", "column2": "97530", "modifier": "0"},
        ],
        schema=schema,
    )
    cs = run_diff(old, new, key=("column1", "column2"), descriptors=(), termination=None)
    assert cs.added.select("column1", "column2").rows() == [("97110", "97150")]
    assert cs.deleted.select("column1", "column2").rows() == [("97530", "97116")]
    (change,) = cs.fields[("97140", "97530")]
    assert (change.name, change.old, change.new) == ("modifier", "1", "0")


def test_schema_drift_is_reported_not_fatal() -> None:
    """2025 drops column `note` and adds column `status`; the shared columns still diff."""
    old = frame(
        [{"code": "97110", "description": "Exercise", "terminated": None, "note": "x"}],
        note=pl.String(),
    )
    new = frame(
        [{"code": "97110", "description": "Exercises", "terminated": None, "status": "A"}],
        status=pl.String(),
    )
    cs = run_diff(old, new)
    assert cs.schema.added == ("status",)
    assert cs.schema.dropped == ("note",)
    assert [c.name for c in cs.fields[("97110",)]] == ["description"]


def test_retyped_column_compares_as_text() -> None:
    """`units` is an integer in 2024 and text in 2025, with the same values."""
    old = frame([{"code": "97110", "description": "Ex", "units": 4}], units=pl.Int64())
    new = frame([{"code": "97110", "description": "Ex", "units": "4"}], units=pl.String())
    cs = run_diff(old, new)
    assert cs.schema.retyped == (("units", "Int64", "String"),)
    assert cs.unchanged == 1


def test_ignored_columns_do_not_count_as_changes() -> None:
    """Only `action` differs: it is ignored, so nothing changed."""
    old = frame([{"code": "97110", "description": "Ex", "action": "A"}], action=pl.String())
    new = frame([{"code": "97110", "description": "Ex", "action": "N"}], action=pl.String())
    assert run_diff(old, new, ignore=("action",)).is_empty
    assert run_diff(old, new).counts["changed"] == 1


def test_empty_new_edition_deletes_everything() -> None:
    """An empty new edition (the diff itself does not judge it; the guard is elsewhere)."""
    cs = run_diff(therapy_2024(), frame([]))
    assert cs.counts["deleted"] == 4


def test_identical_editions_give_an_empty_change_set() -> None:
    cs = run_diff(therapy_2024(), therapy_2024())
    assert cs.is_empty
    assert cs.unchanged == 4


def test_output_is_sorted_by_key_whatever_the_input_order() -> None:
    new = therapy_2025().reverse()
    cs = run_diff(therapy_2024().reverse(), new)
    assert cs.deleted["code"].to_list() == ["G0283", "G8978"]


def test_duplicate_keys_are_rejected() -> None:
    old = frame([{"code": "97110", "description": "a"}, {"code": "97110", "description": "b"}])
    with pytest.raises(pl.exceptions.ComputeError):
        run_diff(old, therapy_2025())


def test_missing_key_column_is_a_pipeline_error() -> None:
    with pytest.raises(PipelineError, match="lacks key column"):
        run_diff(therapy_2024().drop("code"), therapy_2025())


def test_json_shape() -> None:
    data = run_diff(therapy_2024(), therapy_2025()).to_dict()
    assert data["counts"]["added"] == 1
    assert data["from"]["version"] == "2024" and data["to"]["effective_date"] == "2025-01-01"
    assert [r["code"] for r in data["added"]] == ["97530"]
    (changed,) = data["changed"]
    assert changed["code"] == "97140"
    assert changed["fields"]["description"]["old"] == "Manual therapy techniques"
    discontinued = next(r for r in data["deleted"] if r["code"] == "G8978")
    assert discontinued["terminated"] == "2024-12-31"
    assert discontinued["fields"]["terminated"] == {"old": None, "new": "2024-12-31"}


def test_blank_part_of_a_composite_key_matches_itself() -> None:
    """Fee-schedule key (hcpcs, modifier): 97140 with no modifier must pair with itself;
    only 97140-GP's RVU changed."""
    schema = {"hcpcs": pl.String(), "modifier": pl.String(), "rvu": pl.String()}
    old = pl.DataFrame(
        [
            {"hcpcs": "97140", "modifier": None, "rvu": "0.81"},
            {"hcpcs": "97140", "modifier": "GP", "rvu": "0.81"},
        ],
        schema=schema,
    )
    new = old.with_columns(
        pl.when(pl.col("modifier") == "GP").then(pl.lit("0.84")).otherwise("rvu").alias("rvu")
    )
    cs = run_diff(old, new, key=("hcpcs", "modifier"), descriptors=(), termination=None)
    assert cs.counts["added"] == cs.counts["deleted"] == 0
    assert list(cs.fields) == [("97140", "GP")]
    assert cs.unchanged == 1


def test_a_key_column_that_changed_type_is_one_clear_error(tmp_path: Path) -> None:
    """A code set whose key was read as a number in one edition and as text in the next
    cannot be compared: the CLI says so in one line, with no polars traceback."""
    from click.testing import CliRunner

    from pipeline.cli import cli

    (tmp_path / "a.csv").write_text("code,description\n1,one\n2,two\n")
    (tmp_path / "b.csv").write_text("code,description\n1,one\n2,two\n")
    config = tmp_path / "codesets.toml"
    head = '[codesets.own]\ntitle = "Own"\npublisher = "Us"\nkey = ["code"]\n'
    base = ["--config", str(config), "--store", str(tmp_path / "s"), "--out", str(tmp_path / "r")]
    runner = CliRunner()
    for name, version, types in (
        ("a.csv", "2024", ', types = { code = "int" }'),
        ("b.csv", "2025", ""),
    ):
        config.write_text(head + f'reader = {{ format = "delimited"{types} }}\n')
        args = [*base, "ingest", "own", str(tmp_path / name), "--version", version]
        result = runner.invoke(cli, [*args, "--effective", f"{version}-01-01"])
        assert result.exit_code == 0, result.output
    result = runner.invoke(cli, [*base, "diff", "own"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert "key column 'code' is Int64 in 2024 but String in 2025" in result.output
