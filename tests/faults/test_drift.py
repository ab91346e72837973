"""A stored edition's identity never changes silently: a configuration (or an `ingest`)
that describes it differently is refused, with the way to make the change on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.faults.conftest import HCPCS, Project, assert_clean_error, tree

EDITION = """\
[codesets.hcpcs]
reader = {{ format = "{reader}"{member} }}

[[codesets.hcpcs.editions]]
version = "2019"
effective = {effective}
source = "{source}"

[[codesets.hcpcs.editions]]
version = "2020"
effective = 2020-01-01
source = "{source_2020}"
"""


def _config(
    project: Project,
    effective: str = "2019-01-01",
    source: Path = HCPCS / "2019-Alpha-Numeric-HCPCS-File.zip",
    reader: str = "hcpcs-anweb",
) -> Path:
    member = ', member = "*ANWEB*.txt"' if reader == "hcpcs-anweb" else ""
    return project.write(
        "codesets.toml",
        EDITION.format(
            reader=reader,
            member=member,
            effective=effective,
            source=source,
            source_2020=HCPCS / "2020-Alpha-Numeric-HCPCS-File.zip",
        ),
    )


def _refused(project: Project, config: Path, *fragments: str) -> None:
    before = tree(project.store)
    result = project.invoke("--config", str(config), "run")
    line = assert_clean_error(result, "hcpcs 2019 is stored", *fragments)
    assert f"delete {project.store / 'hcpcs' / '2019'}" in line
    assert "new version label" in line
    assert tree(project.store) == before
    assert not project.out.exists()


def test_the_unchanged_configuration_runs(project: Project) -> None:
    result = project.invoke("--config", str(_config(project)), "run")
    assert result.exit_code == 0, result.output


def test_changed_effective_date_is_refused(project: Project) -> None:
    config = _config(project, effective="2019-04-01")
    _refused(project, config, "effective date 2019-01-01 -> 2019-04-01")


def test_changed_source_file_is_refused(project: Project) -> None:
    """The same bytes under another name is still another source: the configuration no
    longer says where the stored edition came from."""
    renamed = project.root / "in" / "hcpcs-2019-copy.zip"
    renamed.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(HCPCS / "2019-Alpha-Numeric-HCPCS-File.zip", renamed)
    config = _config(project, source=renamed)
    _refused(project, config, "source 2019-Alpha-Numeric-HCPCS-File.zip -> hcpcs-2019-copy.zip")


def test_changed_reader_is_refused(project: Project) -> None:
    config = _config(project, reader="hcpcs-xlsx")
    _refused(project, config, "reader hcpcs-anweb -> hcpcs-xlsx")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--effective", "2019-02-01"], "effective date 2019-01-01 -> 2019-02-01"),
        ([], "source 2019-Alpha-Numeric-HCPCS-File.zip -> 2018-Alpha-Numeric-HCPCS-File.zip"),
    ],
    ids=["effective", "source"],
)
def test_ingest_describing_a_stored_edition_differently(
    project: Project, extra: list[str], expected: str
) -> None:
    year = "2019" if extra else "2018"
    path = HCPCS / f"{year}-Alpha-Numeric-HCPCS-File.zip"
    before = tree(project.store)
    result = project.invoke("ingest", "hcpcs", str(path), "--version", "2019", *extra)
    assert_clean_error(result, "hcpcs 2019 is stored", expected)
    assert tree(project.store) == before


def test_the_refusal_says_how_to_change_on_purpose(project: Project) -> None:
    """Deleting the snapshot, as the message says, makes the change."""
    config = _config(project, effective="2019-04-01")
    assert project.invoke("--config", str(config), "run").exit_code == 2
    shutil.rmtree(project.store / "hcpcs" / "2019")
    result = project.invoke("--config", str(config), "run")
    assert result.exit_code == 0, result.output
    assert '"effective_date": "2019-04-01"' in (
        project.store / "hcpcs" / "2019" / "manifest.json"
    ).read_text(encoding="utf-8")
