"""The `codeset` command end to end, on two tiny ANWEB editions (see tests/helpers.py).

Between the editions, exactly: modifier CO is added; G8978 is discontinued (terminated
2019-12-31, still listed); G0283's long description is reworded; CQ differs only in ignored
columns (action code and date); GO and GP are identical. So 1 added, 1 deleted,
1 changed, 3 unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline import __version__
from pipeline.cli import cli
from tests.conftest import REPO, Bundled
from tests.helpers import G0283_2019, G0283_2020, hcpcs_2019, hcpcs_2020, hcpcs_config, write_anweb

COUNTS_LINE = "hcpcs 2019 -> 2020: 1 added, 1 deleted, 1 changed, 0 reactivated, 3 unchanged"


@dataclass(frozen=True)
class Project:
    """A working directory: the HCPCS config (editions 2019 and 2020), their ANWEB files,
    and where the store and reports go (neither exists yet)."""

    root: Path
    config: Path
    src_2019: Path
    src_2020: Path
    store: Path
    out: Path

    @property
    def options(self) -> list[str]:
        return ["--config", str(self.config), "--store", str(self.store), "--out", str(self.out)]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """Two editions configured with paths relative to the config file."""
    src_2019 = write_anweb(tmp_path / "sources" / "HCPC2019_ANWEB.txt", hcpcs_2019())
    src_2020 = write_anweb(tmp_path / "sources" / "HCPC2020_ANWEB.txt", hcpcs_2020())
    config = hcpcs_config(
        tmp_path / "codesets.toml",
        [
            ("2019", "2019-01-01", "sources/HCPC2019_ANWEB.txt"),
            ("2020", "2020-01-01", "sources/HCPC2020_ANWEB.txt"),
        ],
    )
    return Project(
        tmp_path, config, src_2019, src_2020, tmp_path / "snapshots", tmp_path / "reports"
    )


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def ok(args: list[str]) -> Result:
    result = invoke(args)
    assert result.exit_code == 0, result.output
    assert result.stderr == "", result.stderr
    return result


def ingest_both(p: Project) -> None:
    ok([*p.options, "ingest", "hcpcs", str(p.src_2019), "--version", "2019"])
    ok([*p.options, "ingest", "hcpcs", str(p.src_2020), "--version", "2020"])


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """Exit code 2, nothing on stdout, one `error:` line on stderr containing `fragments`."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def assert_empty_dir_or_absent(path: Path) -> None:
    assert not path.exists() or list(path.rglob("*")) == []


# --- help and version -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], "Track revisions of medical code sets"),
        (["-h"], "Commands:"),
        (["ingest", "--help"], "Read SOURCE (a release file or zip)"),
        (["list", "--help"], "List stored editions"),
        (["diff", "--help"], "Show what changed between two stored editions"),
        (["report", "--help"], "Write the HTML, Markdown and JSON reports"),
        (["run", "--help"], "Ingest every configured edition"),
    ],
)
def test_help(args: list[str], expected: str) -> None:
    result = ok(args)
    assert result.stdout.startswith("Usage: ")
    assert expected in result.stdout


def test_group_help_lists_every_command() -> None:
    out = ok(["--help"]).stdout
    for command in ("ingest", "list", "diff", "report", "run"):
        assert f"  {command} " in out


def test_version() -> None:
    assert ok(["--version"]).stdout == f"codeset, version {__version__}\n"


# --- ingest and list --------------------------------------------------------------------------


def test_ingest_then_list(project: Project) -> None:
    p = project
    first = ok([*p.options, "ingest", "hcpcs", str(p.src_2019), "--version", "2019"])
    assert first.stdout.startswith("hcpcs 2019: stored 5 rows from HCPC2019_ANWEB.txt")
    assert (p.store / "hcpcs" / "2019" / "manifest.json").is_file()
    ok([*p.options, "ingest", "hcpcs", str(p.src_2020), "--version", "2020"])

    text = ok([*p.options, "list"]).stdout.splitlines()
    assert text[0].split() == ["codeset", "version", "effective", "rows", "source"]
    assert [line.split() for line in text[1:]] == [
        ["hcpcs", "2019", "2019-01-01", "5", "HCPC2019_ANWEB.txt"],
        ["hcpcs", "2020", "2020-01-01", "6", "HCPC2020_ANWEB.txt"],
    ]

    listed = json.loads(ok([*p.options, "list", "--format", "json"]).stdout)
    assert [(m["codeset"], m["version"], m["effective_date"], m["rows"]) for m in listed] == [
        ("hcpcs", "2019", "2019-01-01", 5),
        ("hcpcs", "2020", "2020-01-01", 6),
    ]
    assert listed[1]["key"] == ["code"]
    assert listed[1]["source"]["reader"] == "hcpcs-anweb"
    assert json.loads(ok([*p.options, "list", "hcpcs", "--format", "json"]).stdout) == listed


def test_ingest_again_is_unchanged(project: Project) -> None:
    p = project
    args = [*p.options, "ingest", "hcpcs", str(p.src_2019), "--version", "2019"]
    ok(args)
    before = {f: f.stat().st_mtime_ns for f in p.store.rglob("*") if f.is_file()}
    again = ok(args)
    assert again.stdout == "hcpcs 2019: already stored, identical content (5 rows)\n"
    assert {f: f.stat().st_mtime_ns for f in p.store.rglob("*") if f.is_file()} == before


def test_ingest_unconfigured_version_with_effective_date(project: Project) -> None:
    p = project
    args = ["ingest", "hcpcs", str(p.src_2020), "--version", "2020-apr"]
    ok([*p.options, *args, "--effective", "2020-04-01"])
    listed = json.loads(ok([*p.options, "list", "--format", "json"]).stdout)
    assert [(m["version"], m["effective_date"]) for m in listed] == [("2020-apr", "2020-04-01")]


def test_list_empty_store(project: Project) -> None:
    assert ok([*project.options, "list"]).stdout == f"no snapshots in {project.store}\n"
    assert json.loads(ok([*project.options, "list", "--format", "json"]).stdout) == []


# --- diff -------------------------------------------------------------------------------------


def test_diff_json(project: Project) -> None:
    ingest_both(project)
    cs = json.loads(ok([*project.options, "diff", "hcpcs", "--format", "json"]).stdout)
    assert cs["codeset"] == "hcpcs"
    assert (cs["from"]["version"], cs["to"]["version"]) == ("2019", "2020")
    assert cs["counts"] == {
        "added": 1,
        "deleted": 1,
        "changed": 1,
        "reactivated": 0,
        "interim": 0,
        "purged": 0,
        "unchanged": 3,
    }
    assert [r["code"] for r in cs["added"]] == ["CO"]
    assert [(r["code"], r["reason"]) for r in cs["deleted"]] == [("G8978", "discontinued")]
    assert cs["deleted"][0]["termination_date"] == "2019-12-31"
    assert [r["code"] for r in cs["changed"]] == ["G0283"]
    fields = cs["changed"][0]["fields"]
    assert list(fields) == ["long_description"]  # action code / date are ignored
    assert fields["long_description"]["old"] == G0283_2019
    assert fields["long_description"]["new"] == G0283_2020
    assert fields["long_description"]["words"] == {
        "removed": ["indications"],
        "inserted": ["indication(s)"],
    }
    assert "action_code" not in cs["compared_columns"]
    assert "action_effective_date" not in cs["compared_columns"]


def test_diff_text(project: Project) -> None:
    ingest_both(project)
    out = ok([*project.options, "diff", "hcpcs"]).stdout
    lines = out.splitlines()
    assert lines[0] == COUNTS_LINE
    # Piped (as here), each kind is a tab-separated table: key, description, detail.
    assert "added (1)" in lines
    assert any(line.startswith("CO\tOutpatient occupational therapy") for line in lines)
    assert any(
        line.startswith("G8978\tMobility") and line.endswith("\tdiscontinued") for line in lines
    )
    assert f"G0283\t{G0283_2020}\tlong_description" in lines
    assert "GP" not in out and "GO" not in out and "CQ" not in out


def test_diff_md(project: Project) -> None:
    ingest_both(project)
    md = ok([*project.options, "diff", "hcpcs", "--from", "2019", "--to", "2020", "--format", "md"])
    text = md.stdout
    title = "# HCPCS Level II: January 2019 release (2019) → January 2020 release (2020)"
    assert text.startswith(title)
    assert "| CO |" in text
    assert "| G8978 |" in text
    assert "~~indications~~ **indication(s)**" in text


def test_diff_explicit_versions_equal_default(project: Project) -> None:
    ingest_both(project)
    default = ok([*project.options, "diff", "hcpcs", "--format", "json"]).stdout
    explicit = ok(
        [*project.options, "diff", "hcpcs", "--from", "2019", "--to", "2020", "--format", "json"]
    ).stdout
    assert explicit == default


# --- report and run ---------------------------------------------------------------------------


def test_report_writes_cycle_files_and_index(project: Project) -> None:
    p = project
    ingest_both(p)
    result = ok([*p.options, "report", "hcpcs"])
    assert result.stdout.splitlines()[0] == COUNTS_LINE
    cycle = p.out / "hcpcs"
    assert sorted(f.name for f in cycle.iterdir()) == [
        "2019_to_2020.html",
        "2019_to_2020.json",
        "2019_to_2020.md",
    ]
    assert sorted(f.name for f in p.out.iterdir() if f.is_file()) == [
        "feed.xml",
        "glossary.html",
        "glossary.md",
        "index.html",
        "index.json",
        "index.md",
    ]
    report = json.loads((cycle / "2019_to_2020.json").read_text(encoding="utf-8"))
    assert report["counts"]["added"] == 1
    assert "G0283" in (cycle / "2019_to_2020.html").read_text(encoding="utf-8")
    assert "2019_to_2020" in (p.out / "index.md").read_text(encoding="utf-8")
    assert "2019_to_2020.html" in (p.out / "index.html").read_text(encoding="utf-8")

    before = {f: f.stat().st_mtime_ns for f in p.out.rglob("*") if f.is_file()}
    ok([*p.options, "report", "hcpcs"])
    after = {f: f.stat().st_mtime_ns for f in p.out.rglob("*") if f.is_file()}
    assert after == before  # same snapshots, same bytes: nothing rewritten


def test_run_end_to_end(project: Project) -> None:
    p = project
    first = ok([*p.options, "run"]).stdout.splitlines()
    assert first[0].startswith("hcpcs 2019: stored 5 rows")
    assert first[1].startswith("hcpcs 2020: stored 6 rows")
    assert first[2] == COUNTS_LINE
    assert first[3] == f"2 new edition(s), 1 cycle(s), 9 file(s) written under {p.out}"
    assert sorted(d.name for d in (p.store / "hcpcs").iterdir()) == ["2019", "2020"]
    report = json.loads((p.out / "hcpcs" / "2019_to_2020.json").read_text(encoding="utf-8"))
    assert [r["code"] for r in report["changed"]] == ["G0283"]

    second = ok([*p.options, "run"]).stdout.splitlines()
    assert second == [  # the unchanged editions are mentioned only with --verbose
        COUNTS_LINE,
        f"0 new edition(s), 1 cycle(s), 0 file(s) written under {p.out}: nothing new",
    ]
    verbose = ok([*p.options, "--verbose", "run"]).stdout.splitlines()
    assert verbose[:2] == [
        "hcpcs 2019: already stored, identical content (5 rows)",
        "hcpcs 2020: already stored, identical content (6 rows)",
    ]


def test_run_with_default_paths_in_working_directory(
    project: Project, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No options: ./codesets.toml, ./snapshots and ./reports."""
    cwd = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(cwd)
    hcpcs_config(
        cwd / "codesets.toml",
        [
            ("2019", "2019-01-01", str(project.src_2019)),
            ("2020", "2020-01-01", str(project.src_2020)),
        ],
    )
    ok(["run"])
    assert (cwd / "snapshots" / "hcpcs" / "2020" / "data.parquet").is_file()
    assert (cwd / "reports" / "hcpcs" / "2019_to_2020.md").is_file()
    assert (cwd / "reports" / "index.html").is_file()


# --- errors: exit 2, one line on stderr -------------------------------------------------------


def test_ingest_dev_null_creates_nothing(project: Project) -> None:
    p = project
    result = invoke(
        [
            *p.options,
            "ingest",
            "hcpcs",
            "/dev/null",
            "--version",
            "2021",
            "--effective",
            "2021-01-01",
        ]
    )
    assert_one_line_error(result, "/dev/null")
    assert_empty_dir_or_absent(p.store)


def test_ingest_empty_file_creates_nothing(project: Project) -> None:
    p = project
    empty = p.root / "HCPC2021_ANWEB.txt"
    empty.write_bytes(b"")
    result = invoke([*p.options, "ingest", "hcpcs", str(empty), "--version", "2020"])
    assert_one_line_error(result, "HCPC2021_ANWEB.txt", "empty")
    assert_empty_dir_or_absent(p.store)


def test_ingest_missing_file(project: Project) -> None:
    p = project
    missing = p.root / "sources" / "HCPC2021_ANWEB.txt"
    result = invoke([*p.options, "ingest", "hcpcs", str(missing), "--version", "2020"])
    assert_one_line_error(result, str(missing), "file not found")
    assert_empty_dir_or_absent(p.store)


def test_ingest_truncated_record_names_the_line(project: Project) -> None:
    p = project
    lines = p.src_2020.read_bytes().split(b"\r\n")
    lines[4] = lines[4][:200]  # G0283's first record (after CO's two and CQ's two)
    bad = p.root / "HCPC2020_truncated.txt"
    bad.write_bytes(b"\r\n".join(lines))
    result = invoke([*p.options, "ingest", "hcpcs", str(bad), "--version", "2020"])
    assert_one_line_error(result, "HCPC2020_truncated.txt, line 5", "truncated")
    assert_empty_dir_or_absent(p.store)


def test_ingest_unknown_codeset(project: Project) -> None:
    p = project
    result = invoke([*p.options, "ingest", "cpt", str(p.src_2020), "--version", "2020"])
    assert_one_line_error(result, "unknown code set 'cpt'", "known: hcpcs, icd10cm")
    assert_empty_dir_or_absent(p.store)


def test_ingest_bad_version_label(project: Project) -> None:
    p = project
    args = ["ingest", "hcpcs", str(p.src_2020), "--version", "../evil", "--effective", "2020-01-01"]
    result = invoke([*p.options, *args])
    assert_one_line_error(result, "invalid version label '../evil'")
    assert_empty_dir_or_absent(p.store)
    assert not (p.root / "evil").exists()


def test_ingest_new_version_needs_effective_date(project: Project) -> None:
    p = project
    result = invoke([*p.options, "ingest", "hcpcs", str(p.src_2020), "--version", "January"])
    assert_one_line_error(result, "hcpcs January", "--effective")
    assert_empty_dir_or_absent(p.store)


def test_ingest_other_content_under_stored_label(project: Project) -> None:
    p = project
    ok([*p.options, "ingest", "hcpcs", str(p.src_2019), "--version", "2019"])
    result = invoke([*p.options, "ingest", "hcpcs", str(p.src_2020), "--version", "2019"])
    assert_one_line_error(result, "hcpcs 2019 is stored", "source HCPC2019_ANWEB.txt -> HCPC2020")


def test_diff_unknown_from_version(project: Project) -> None:
    p = project
    ingest_both(p)
    result = invoke([*p.options, "diff", "hcpcs", "--from", "1999"])
    assert_one_line_error(result, "no snapshot hcpcs/1999", "stored: 2019, 2020")


def test_diff_unknown_codeset(project: Project) -> None:
    result = invoke([*project.options, "diff", "cpt"])
    assert_one_line_error(result, "unknown code set 'cpt'")


def test_diff_with_one_stored_edition(project: Project) -> None:
    p = project
    ok([*p.options, "ingest", "hcpcs", str(p.src_2019), "--version", "2019"])
    result = invoke([*p.options, "diff", "hcpcs"])
    assert_one_line_error(result, "hcpcs 2019 has no earlier stored edition")


def test_report_unknown_to_version_writes_nothing(project: Project) -> None:
    p = project
    ingest_both(p)
    result = invoke([*p.options, "report", "hcpcs", "--to", "2021"])
    assert_one_line_error(result, "no snapshot hcpcs/2021")
    assert not p.out.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["run"],
        ["diff", "hcpcs"],
        ["ingest", "hcpcs", "{src}", "--version", "2020"],
    ],
)
def test_missing_config_file(project: Project, args: list[str]) -> None:
    p = project
    missing = p.root / "nope.toml"
    args = [a.replace("{src}", str(p.src_2020)) for a in args]
    result = invoke(["--config", str(missing), "--store", str(p.store), "--out", str(p.out), *args])
    assert_one_line_error(result, str(missing), "configuration file not found")
    assert_empty_dir_or_absent(p.store)
    assert not p.out.exists()


@pytest.mark.parametrize("args", [["run"], ["ingest", "hcpcs", "{src}", "--version", "2020"]])
def test_config_syntax_error(project: Project, args: list[str]) -> None:
    p = project
    p.config.write_text(p.config.read_text(encoding="utf-8") + "[codesets.hcpcs\n")
    args = [a.replace("{src}", str(p.src_2020)) for a in args]
    result = invoke([*p.options, *args])
    assert_one_line_error(result, str(p.config))
    assert_empty_dir_or_absent(p.store)


def test_config_unknown_key(project: Project) -> None:
    p = project
    p.config.write_text(p.config.read_text(encoding="utf-8").replace("title =", "titel ="))
    result = invoke([*p.options, "run"])
    assert_one_line_error(result, "unknown key(s) 'titel'")


def test_run_without_any_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["run"])
    assert_one_line_error(result, "codesets.toml: no code sets configured")
    assert not (tmp_path / "snapshots").exists()


def test_run_with_missing_edition_source(project: Project) -> None:
    p = project
    p.src_2020.unlink()
    result = invoke([*p.options, "run"])
    assert_one_line_error(result, "HCPC2020_ANWEB.txt", "file not found")
    assert not (p.store / "hcpcs" / "2020").exists()


def test_ingest_infers_the_effective_date_from_the_label(project: Project) -> None:
    """HCPCS labels are years: `2021` takes effect on 2021-01-01."""
    p = project
    ok([*p.options, "ingest", "hcpcs", str(p.src_2020), "--version", "2021"])
    listing = json.loads(ok([*p.options, "list", "--format", "json"]).stdout)
    assert [(m["version"], m["effective_date"]) for m in listing] == [("2021", "2021-01-01")]


def test_diff_from_newer_than_to_is_refused(project: Project) -> None:
    p = project
    ingest_both(p)
    result = invoke([*p.options, "diff", "hcpcs", "--from", "2020", "--to", "2019"])
    assert_one_line_error(result, "--from 2020", "is newer than --to 2019", "swap them")


def test_list_unknown_codeset_errors_like_diff(project: Project) -> None:
    result = invoke([*project.options, "list", "hcpc"])
    assert_one_line_error(result, "unknown code set 'hcpc'", "known: hcpcs")


def test_report_of_editions_that_are_not_consecutive_needs_publish(
    bundled: Bundled, tmp_path: Path
) -> None:
    """hcpcs 2018 -> 2020 skips 2019: refused (nothing written), unless --publish."""
    out = tmp_path / "reports"
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    result = invoke([*base, "--out", str(out), "report", "hcpcs", "--from", "2018"])
    assert_one_line_error(result, "hcpcs 2018 -> 2020 skips stored editions", "--publish")
    assert not out.exists()
    ok([*base, "--out", str(out), "report", "hcpcs", "--from", "2018", "--publish"])
    assert (out / "hcpcs" / "2018_to_2020.json").is_file()
    index = json.loads((out / "index.json").read_text(encoding="utf-8"))
    assert [c["from"]["version"] for c in index["cycles"]] == ["2018"]
