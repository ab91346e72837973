"""`verify` finds damaged reports: each one parses, is complete, and matches the snapshots
it names. Damage is listed (`problem: PATH: ...` on stderr) and fails with exit code 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.conftest import HCPCS, Project, tree

STEM = Path("hcpcs") / "2019_to_2020"


def _cut(fraction: float) -> Callable[[bytes], bytes]:
    return lambda data: data[: int(len(data) * fraction)]


@pytest.mark.parametrize(
    ("ext", "damage", "expected"),
    [
        ("json", _cut(0.5), "not valid JSON"),
        ("json", lambda d: b"", "not valid JSON"),
        ("html", lambda d: b"", "truncated or empty"),
        ("html", _cut(0.7), "truncated or empty"),
        ("md", lambda d: b"", "truncated or empty"),
        ("md", _cut(0.5), "truncated or empty"),
    ],
    ids=["json-half", "json-empty", "html-empty", "html-cut", "md-empty", "md-cut"],
)
def test_damaged_report_is_found(
    project: Project, ext: str, damage: Callable[[bytes], bytes], expected: str
) -> None:
    assert project.invoke("report", "hcpcs").exit_code == 0
    assert project.invoke("verify").exit_code == 0
    report = project.out / STEM.with_suffix(f".{ext}")
    report.write_bytes(damage(report.read_bytes()))
    before = tree(project.store)
    result = project.invoke("verify")
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    problems = result.stderr.splitlines()
    assert problems == [problems[0]] and problems[0].startswith(f"problem: {report}: {expected}")
    assert tree(project.store) == before


def test_report_of_another_cycle_in_its_place(project: Project) -> None:
    """The HTML report of 2018 -> 2019 copied over 2019 -> 2020's: complete, but it does not
    name the snapshots the JSON report (and the store) say."""
    source = HCPCS / "2018-Alpha-Numeric-HCPCS-File.zip"
    assert project.invoke("ingest", "hcpcs", str(source), "--version", "2018").exit_code == 0
    for old, new in (("2018", "2019"), ("2019", "2020")):
        assert project.invoke("report", "hcpcs", "--from", old, "--to", new).exit_code == 0
    folder = project.out / "hcpcs"
    for ext in ("html", "md"):
        (folder / f"2019_to_2020.{ext}").write_bytes((folder / f"2018_to_2019.{ext}").read_bytes())
    result = project.invoke("verify")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"problem: {folder / '2019_to_2020.html'}: does not name the source files of "
        "2019_to_2020.json",
        f"problem: {folder / '2019_to_2020.md'}: does not name the source files of "
        "2019_to_2020.json",
    ]


def test_report_made_from_other_content(project: Project) -> None:
    assert project.invoke("report", "hcpcs").exit_code == 0
    report = project.out / STEM.with_suffix(".json")
    text = report.read_text(encoding="utf-8")
    stored = (project.store / "hcpcs" / "2020" / "manifest.json").read_text(encoding="utf-8")
    digest = stored.split('"content_sha256": "')[1][:64]
    report.write_text(text.replace(digest, "0" * 64), encoding="utf-8")
    result = project.invoke("verify")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        f"problem: {report}: made from other content than the stored hcpcs/2020"
    ]


def test_report_not_listed_in_the_index_is_checked_too(project: Project) -> None:
    """A damaged report drops out of the rebuilt index; verify still reads it."""
    assert project.invoke("report", "hcpcs").exit_code == 0
    report = project.out / STEM.with_suffix(".json")
    report.write_text('{"codeset": "hcpcs"', encoding="utf-8")
    result = project.invoke("verify")
    assert result.exit_code == 2
    assert any(
        line.startswith(f"problem: {report}: not valid JSON") for line in result.stderr.splitlines()
    )
