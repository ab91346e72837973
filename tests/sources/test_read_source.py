"""`read_source`'s key checks and sort, done on packed keys: same frames, same errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.codesets.reading import read_source
from pipeline.errors import InputError
from pipeline.spec import ReaderSpec

READER = ReaderSpec(format="delimited")


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "codes.csv"
    path.write_text("\n".join(["code,modifier,description", *lines]) + "\n", encoding="utf-8")
    return path


def test_rows_come_out_sorted_by_key_with_blank_modifiers_first(tmp_path: Path) -> None:
    path = write(tmp_path, ["97140,GP,a", "G0283,,b", "97140,,c", "0591T,,d"])
    data = read_source(path, READER, ["code", "modifier"])
    assert data.frame.select("code", "modifier").rows() == [
        ("0591T", None),
        ("97140", None),
        ("97140", "GP"),
        ("G0283", None),
    ]
    assert data.keys is not None and data.keys.packing.ordered
    assert data.keys.values.is_sorted()
    assert data.raw.data == b""  # released once parsed


def test_duplicates_are_named_with_their_lines(tmp_path: Path) -> None:
    path = write(tmp_path, ["G0283,,a", "97140,,b", "G0283,,c"])
    with pytest.raises(
        InputError, match=r"duplicate key code\+modifier: G0283/None \(lines 2, 4\)"
    ):
        read_source(path, READER, ["code", "modifier"])


def test_keys_that_do_not_pack_are_sorted_and_checked_too(tmp_path: Path) -> None:
    """Lower-case codes hash instead of packing: text order all the same."""
    path = write(tmp_path, ["g0283,,a", "97140,,b", "a1,,c"])
    data = read_source(path, READER, ["code"])
    assert data.frame["code"].to_list() == ["97140", "a1", "g0283"]
    assert data.keys is not None and not data.keys.packing.ordered
    assert data.frame.equals(data.frame.sort("code"))
    with pytest.raises(InputError, match="duplicate key code"):
        read_source(write(tmp_path, ["g0283,,a", "g0283,,b"]), READER, ["code"])


def test_a_blank_first_key_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="empty key value"):
        read_source(write(tmp_path, ["97140,,a", ",GP,b"]), READER, ["code"])
