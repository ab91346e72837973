"""The configuration file: parsing into dataclasses, and one precise ConfigError per mistake."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.config.load import (
    CodeSetSpec,
    Config,
    Edition,
    ReaderSpec,
    check_name,
    load_config,
    parse_config,
)
from pipeline.errors import ConfigError, PipelineError

#: A valid configuration: a composite-key code set read with reader options, whose editions
#: use a TOML date and an ISO string, are listed out of date order, and have relative,
#: absolute and URL sources; plus a plain HCPCS code set with an explicit `compare`.
VALID = """\
[codesets.ncci-ptp]
title = "NCCI Procedure-to-Procedure Edits"
publisher = "CMS"
key = ["column_1", "column_2"]
descriptors = ["rationale"]
ignore = ["deletion_date_flag"]
termination = "deletion_date"

[codesets.ncci-ptp.reader]
format = "delimited"
member = "*.txt"
encoding = "cp1252"
delimiter = "\\t"
skip_lines = 2
columns = { "Column 1" = "column_1", "Column 2" = "column_2", "Rationale" = "rationale" }
types = { deletion_date = "date" }
date_format = "%Y%m%d"

[[codesets.ncci-ptp.editions]]
version = "2020Q2"
effective = "2020-04-01"
source = "sources/ncci/2020q2.zip"
note = "April re-issue"

[[codesets.ncci-ptp.editions]]
version = "2020Q1"
effective = 2020-01-01
source = "https://www.cms.gov/files/zip/ncci-2020q1.zip"

[[codesets.ncci-ptp.editions]]
version = "2019Q4"
effective = 2019-10-01
source = "/data/ncci/2019q4.zip"

[codesets.hcpcs]
title = "HCPCS Level II"
publisher = "Centers for Medicare & Medicaid Services (CMS)"
key = "code"
compare = ["long_description", "termination_date", "not_a_column"]
reader = { format = "hcpcs-anweb" }
"""

#: A minimal valid code set, to which the error tests add or from which they remove one thing.
MINIMAL = """\
[codesets.hcpcs]
title = "HCPCS Level II"
publisher = "CMS"
key = ["code"]
reader = { format = "hcpcs-anweb" }
"""

EDITION = """
[[codesets.hcpcs.editions]]
version = "2020"
effective = 2020-01-01
source = "hcpcs-2020.zip"
"""


def write(tmp_path: Path, text: str, name: str = "codesets.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    """Load `text`: it must fail with a ConfigError, whose message is returned."""
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return str(info.value)


# --- a valid file -----------------------------------------------------------------------------


def test_valid_config_parses_into_dataclasses(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    config = load_config(path)
    assert isinstance(config, Config)
    assert config.path == path
    assert list(config.codesets) == ["ncci-ptp", "hcpcs"]

    ncci = config.codeset("ncci-ptp")
    assert isinstance(ncci, CodeSetSpec)
    assert ncci.id == "ncci-ptp"
    assert ncci.title == "NCCI Procedure-to-Procedure Edits"
    assert ncci.publisher == "CMS"
    assert ncci.key == ("column_1", "column_2")
    assert ncci.descriptors == ("rationale",)
    assert ncci.ignore == ("deletion_date_flag",)
    assert ncci.compare is None
    assert ncci.termination == "deletion_date"
    assert ncci.reader == ReaderSpec(
        format="delimited",
        member="*.txt",
        encoding="cp1252",
        options={
            "delimiter": "\t",
            "skip_lines": 2,
            "columns": {"Column 1": "column_1", "Column 2": "column_2", "Rationale": "rationale"},
            "types": {"deletion_date": "date"},
            "date_format": "%Y%m%d",
        },
    )

    hcpcs = config.codeset("hcpcs")
    assert hcpcs.key == ("code",)  # a single key column may be given as a string
    assert hcpcs.reader == ReaderSpec(format="hcpcs-anweb")
    assert hcpcs.reader.encoding == "auto"
    assert hcpcs.reader.member is None
    # Fields it does not set come from the built-in hcpcs code set.
    assert hcpcs.descriptors == ("long_description", "short_description")
    assert hcpcs.termination == "termination_date"
    assert hcpcs.editions == ()


def test_editions_sorted_by_date_with_toml_and_iso_dates_and_resolved_sources(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, VALID))
    editions = config.codeset("ncci-ptp").editions
    assert editions == (
        Edition("2019Q4", date(2019, 10, 1), "/data/ncci/2019q4.zip"),
        Edition("2020Q1", date(2020, 1, 1), "https://www.cms.gov/files/zip/ncci-2020q1.zip"),
        Edition(
            "2020Q2",
            date(2020, 4, 1),
            str(tmp_path / "sources" / "ncci" / "2020q2.zip"),
            note="April re-issue",
        ),
    )
    assert all(type(e.effective) is date for e in editions)
    assert [e.is_url for e in editions] == [False, True, False]
    assert config.codeset("ncci-ptp").edition("2020Q1").effective == date(2020, 1, 1)


def test_relative_sources_resolve_against_the_config_directory_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(write(conf_dir, MINIMAL + EDITION))
    (edition,) = config.codeset("hcpcs").editions
    assert Path(edition.source) == conf_dir / "hcpcs-2020.zip"


def test_editions_with_same_date_sorted_by_label(tmp_path: Path) -> None:
    text = MINIMAL + "".join(
        f'\n[[codesets.hcpcs.editions]]\nversion = "{v}"\neffective = 2020-01-01\n'
        f'source = "{v}.zip"\n'
        for v in ("2020b", "2020a")
    )
    editions = load_config(write(tmp_path, text)).codeset("hcpcs").editions
    assert [e.version for e in editions] == ["2020a", "2020b"]


def test_compared_columns_default_is_all_non_key_columns_minus_ignore(tmp_path: Path) -> None:
    text = MINIMAL.replace('key = ["code"]', 'key = ["code"]\nignore = ["action_code"]')
    spec = load_config(write(tmp_path, text)).codeset("hcpcs")
    columns = ["code", "long_description", "action_code", "termination_date"]
    assert spec.compared_columns(columns) == ["long_description", "termination_date"]


def test_compared_columns_explicit_compare_keeps_its_order_and_skips_absent_columns(
    tmp_path: Path,
) -> None:
    spec = load_config(write(tmp_path, VALID)).codeset("hcpcs")
    assert spec.compare == ("long_description", "termination_date", "not_a_column")
    columns = ["code", "termination_date", "short_description", "long_description"]
    assert spec.compared_columns(columns) == ["long_description", "termination_date"]


def test_unknown_codeset_and_edition_name_what_is_configured(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + EDITION)
    config = load_config(path)
    with pytest.raises(ConfigError, match=r"unknown code set 'fees'.*known: hcpcs, icd10cm"):
        config.codeset("fees")
    assert config.codeset("icd10cm").key == ("code",)  # built in
    with pytest.raises(ConfigError, match=r"no edition '2021'.*configured: 2020"):
        config.codeset("hcpcs").edition("2021")


def test_config_error_is_a_pipeline_error() -> None:
    assert issubclass(ConfigError, PipelineError)


# --- one error per mistake --------------------------------------------------------------------


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL + 'note = "unterminated\n')
    assert str(tmp_path / "codesets.toml") in message
    assert "line 6" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found") as info:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = load_error(tmp_path, "stores = 'snapshots'\n" + MINIMAL)
    assert "unknown key(s) 'stores'" in message


def test_store_is_a_path_relative_to_the_file_or_a_url(tmp_path: Path) -> None:
    local = load_config(write(tmp_path, "store = 'data/snapshots'\n" + MINIMAL))
    assert local.store == str(tmp_path / "data" / "snapshots")
    remote = load_config(write(tmp_path, "store = 's3://bucket/codesets'\n" + MINIMAL))
    assert remote.store == "s3://bucket/codesets"


def test_unknown_top_level_table(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL + "\n[codeset.icd10]\ntitle = 'typo'\n")
    assert "unknown key(s) 'codeset'" in message


def test_unknown_key_in_a_codeset(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL.replace("title =", "titel ="))
    assert "[codesets.hcpcs]" in message
    assert "unknown key(s) 'titel'" in message


def test_unknown_key_in_the_reader(tmp_path: Path) -> None:
    text = MINIMAL.replace('"hcpcs-anweb" }', '"hcpcs-anweb", delimiter = "|" }')
    message = load_error(tmp_path, text)
    assert "[codesets.hcpcs].reader" in message
    assert "unknown key(s) 'delimiter'" in message


def test_reader_option_of_another_format_is_unknown(tmp_path: Path) -> None:
    text = MINIMAL.replace('"hcpcs-anweb" }', '"delimited", sheet = "Sheet1" }')
    message = load_error(tmp_path, text)
    assert "unknown key(s) 'sheet'" in message


def test_unknown_key_in_an_edition(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL + EDITION.replace("effective =", "efective ="))
    assert "[codesets.hcpcs].editions[0]" in message
    assert "unknown key(s) 'efective'" in message


@pytest.mark.parametrize("name", ["title", "publisher", "key", "reader"])
def test_missing_required_codeset_key(tmp_path: Path, name: str) -> None:
    """A code set of one's own (not built in) must say everything."""
    custom = MINIMAL.replace("[codesets.hcpcs]", "[codesets.clinic-fees]")
    lines = [line for line in custom.splitlines() if not line.startswith(f"{name} =")]
    message = load_error(tmp_path, "\n".join(lines) + "\n")
    assert f"[codesets.clinic-fees]: missing required key '{name}'" in message


def test_builtin_code_set_needs_only_its_editions(tmp_path: Path) -> None:
    spec = load_config(write(tmp_path, "[codesets.hcpcs]\n" + EDITION)).codeset("hcpcs")
    assert spec.termination == "termination_date"
    assert spec.reader.format == "auto"
    assert [e.version for e in spec.editions] == ["2020"]


def test_a_code_set_of_a_built_in_kind_takes_its_rules(tmp_path: Path) -> None:
    """`hcpcs-quarterly` is HCPCS (key, descriptors, termination date) with its own id,
    title, reader and editions; `hcpcs` itself keeps its own."""
    text = (
        '[codesets.hcpcs-quarterly]\nkind = "hcpcs"\ntitle = "HCPCS (quarterly)"\n'
        'reader = { format = "hcpcs-anweb-csv" }\n'
        + EDITION.replace("codesets.hcpcs.", "codesets.hcpcs-quarterly.")
    )
    config = load_config(write(tmp_path, text))
    spec = config.codeset("hcpcs-quarterly")
    assert (spec.id, spec.kind, spec.title) == ("hcpcs-quarterly", "hcpcs", "HCPCS (quarterly)")
    assert (spec.key, spec.termination) == (("code",), "termination_date")
    assert spec.reader.format == "hcpcs-anweb-csv"
    assert config.codeset("hcpcs").kind == "hcpcs" and config.codeset("hcpcs").editions == ()


def test_unknown_kind_names_the_known_ones(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[codesets.x]\nkind = "cpt"\n')
    assert "[codesets.x].kind: unknown kind 'cpt' (known: generic, hcpcs, icd10cm" in message


def test_reader_without_format_detects_it(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, MINIMAL.replace('format = "hcpcs-anweb"', 'member = "*.txt"'))
    )
    assert config.codeset("hcpcs").reader == ReaderSpec(format="auto", member="*.txt")


def test_reader_must_be_a_table(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL.replace('{ format = "hcpcs-anweb" }', '"hcpcs-anweb"'))
    assert "reader: must be a table" in message


def test_unknown_reader_format(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL.replace('"hcpcs-anweb"', '"anweb"'))
    assert "unknown reader 'anweb'" in message
    assert "hcpcs-anweb" in message  # lists the known formats


def test_empty_key_list(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL.replace('key = ["code"]', "key = []"))
    assert "name at least one key column" in message


@pytest.mark.parametrize("name", ["version", "effective", "source"])
def test_missing_required_edition_key(tmp_path: Path, name: str) -> None:
    edition = "\n".join(line for line in EDITION.splitlines() if not line.startswith(name))
    message = load_error(tmp_path, MINIMAL + edition + "\n")
    assert f"editions[0]: missing required key '{name}'" in message


def test_two_editions_with_one_label(tmp_path: Path) -> None:
    second = EDITION.replace("2020-01-01", "2020-04-01").replace("hcpcs-2020", "hcpcs-2020b")
    message = load_error(tmp_path, MINIMAL + EDITION + second)
    assert "two editions are labelled '2020'" in message


@pytest.mark.parametrize("value", ['"2020-13-01"', '"January 2020"', "2020", "10:00:00"])
def test_edition_effective_must_be_a_date(tmp_path: Path, value: str) -> None:
    message = load_error(tmp_path, MINIMAL + EDITION.replace("2020-01-01", value, 1))
    assert "editions[0].effective: expected a date as YYYY-MM-DD" in message


def test_edition_effective_datetime_is_a_config_error(tmp_path: Path) -> None:
    second = EDITION.replace('"2020"', '"2019"').replace("2020-01-01", "2019-01-01")
    text = MINIMAL + EDITION.replace("2020-01-01", "2020-01-01T10:00:00") + second
    message = load_error(tmp_path, text)
    assert "editions[0].effective" in message


@pytest.mark.parametrize("cid", ["../x", "a/b", "", ".hidden", "a..b"])
def test_unsafe_codeset_id(tmp_path: Path, cid: str) -> None:
    message = load_error(tmp_path, MINIMAL.replace("[codesets.hcpcs]", f'[codesets."{cid}"]'))
    assert "invalid code-set id" in message
    assert repr(cid) in message


@pytest.mark.parametrize("label", ["../x", "a/b", "..", "-rf", "x" * 65])
def test_unsafe_version_label(tmp_path: Path, label: str) -> None:
    message = load_error(tmp_path, MINIMAL + EDITION.replace('"2020"', f'"{label}"'))
    assert "editions[0]" in message
    assert "invalid version label" in message


def test_empty_version_label(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL + EDITION.replace('"2020"', '""'))
    assert "editions[0].version: expected a non-empty string" in message


@pytest.mark.parametrize("name", ["2020", "2020Q1", "v1.2_rev-3", "A" * 64])
def test_check_name_accepts_tame_names(name: str) -> None:
    assert check_name(name, "version label") == name


@pytest.mark.parametrize("name", ["../x", "a/b", "a\\b", "", "..", "a b", "x" * 65, "é"])
def test_check_name_refuses_unsafe_names(name: str) -> None:
    with pytest.raises(ConfigError, match="invalid version label"):
        check_name(name, "version label")


def test_check_name_refuses_trailing_newline() -> None:
    with pytest.raises(ConfigError):
        check_name("2020\n", "version label")


def test_parse_config_without_path_resolves_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    raw = {
        "codesets": {
            "hcpcs": {
                "title": "HCPCS",
                "publisher": "CMS",
                "key": ["code"],
                "reader": {"format": "hcpcs-anweb"},
                "editions": [{"version": "2020", "effective": "2020-01-01", "source": "a.txt"}],
            }
        }
    }
    config = parse_config(raw)
    assert config.path is None
    assert Path(config.codeset("hcpcs").editions[0].source) == tmp_path / "a.txt"


def test_codesets_must_be_a_table() -> None:
    with pytest.raises(ConfigError, match=r"\[codesets\] must be a table"):
        parse_config({"codesets": ["hcpcs"]})


def test_key_of_wrong_type(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL.replace('key = ["code"]', "key = [1]"))
    assert "[codesets.hcpcs].key: expected a list of column names" in message


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ('types = ["a"]', "reader.types: expected table"),
        ('types = { fee = "money" }', "unknown type(s) ['money']"),
        ('columns = "x"', "reader.columns: expected table"),
        ("skip_lines = -1", "must not be negative"),
        ('skip_lines = "2"', "reader.skip_lines: expected int"),
        ("header = 1", "reader.header: expected bool"),
        ("skip_lines = true", "reader.skip_lines: expected int"),
    ],
)
def test_reader_option_shapes_are_checked(tmp_path: Path, option: str, message: str) -> None:
    text = MINIMAL.replace(
        'reader = { format = "hcpcs-anweb" }', f'reader = {{ format = "delimited", {option} }}'
    )
    assert message in load_error(tmp_path, text)
