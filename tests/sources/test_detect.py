"""Format detection from content, over a zip's members."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pipeline.codesets.detect import detect
from pipeline.errors import InputError
from tests.conftest import REPO
from tests.helpers import hcpcs_2019, write_anweb

HCPCS_2019 = REPO / "sources" / "hcpcs" / "2019-Alpha-Numeric-HCPCS-File.zip"


def test_the_anweb_text_is_chosen_from_cms_zip() -> None:
    """The zip holds the text, a spreadsheet of the same data, change reports and notes:
    the first candidate format (the text) wins."""
    fmt, raw = detect(HCPCS_2019, None, ("hcpcs-anweb", "hcpcs-xlsx"))
    assert (fmt, raw.member) == ("hcpcs-anweb", "HCPC2019_CONTR_ANWEB.txt")


def test_a_plain_file_is_sniffed(tmp_path: Path) -> None:
    path = write_anweb(tmp_path / "anweb.txt", hcpcs_2019())
    assert detect(path, None, ("hcpcs-anweb",))[0] == "hcpcs-anweb"


def test_unrecognised_file_lists_what_was_tried(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Quarterly update notes\n")
    with pytest.raises(
        InputError, match=r"notes.txt: no reader recognises this file \(tried hcpcs-anweb\)"
    ):
        detect(path, None, ("hcpcs-anweb",))


def test_unrecognised_zip_lists_its_members(tmp_path: Path) -> None:
    path = tmp_path / "release.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.txt", "notes")
        archive.writestr("layout.pdf", "%PDF-1.4")
    with pytest.raises(InputError, match=r"tried hcpcs-anweb on README.txt, layout.pdf"):
        detect(path, None, ("hcpcs-anweb",))


def test_two_matching_members_are_ambiguous(tmp_path: Path) -> None:
    one = write_anweb(tmp_path / "a.txt", hcpcs_2019())
    path = tmp_path / "release.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(one, "HCPC_A_ANWEB.txt")
        archive.write(one, "HCPC_B_ANWEB.txt")
    with pytest.raises(InputError, match="several members look like hcpcs-anweb"):
        detect(path, None, ("hcpcs-anweb",))
