"""Key packing: integer order is text order, distinct keys stay distinct, misfits hash."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipeline.store.keys import KeyPacking, choose, row_hash

#: Up to five characters, so that two of them pack into 64 bits.
CODE = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", max_size=5)


def packed(frame: pl.DataFrame, key: list[str]) -> tuple[KeyPacking, pl.Series]:
    packing = choose([frame], key)
    return packing, frame.select(packing.expr(key)).to_series()


def test_five_character_codes_pack_in_code_order() -> None:
    """CPT, Category III, PLA and HCPCS codes side by side."""
    frame = pl.DataFrame({"code": ["G0283", "0591T", "97140", "0001U", "00100", "J3490"]})
    packing, keys = packed(frame, ["code"])
    assert packing.widths == (5,) and packing.ordered
    assert frame.with_columns(k=keys).sort("k")["code"].to_list() == sorted(frame["code"])


def test_codes_of_different_lengths_never_collide() -> None:
    """ICD-10-CM codes are 3-7 characters: `A00`, `A000` and `A0000` are three codes."""
    frame = pl.DataFrame({"code": ["A00", "A000", "A0000", "A00000", "A000000", "A01"]})
    packing, keys = packed(frame, ["code"])
    assert packing.widths == (7,)
    assert keys.n_unique() == frame.height
    assert keys.is_sorted()


def test_blank_and_null_parts_of_a_composite_key_differ() -> None:
    """Fee-schedule key (hcpcs, modifier): no modifier sorts first, as polars sorts nulls."""
    frame = pl.DataFrame(
        {"hcpcs": ["97140", "97140", "97140"], "modifier": [None, "", "GP"]},
        schema={"hcpcs": pl.String, "modifier": pl.String},
    )
    _, keys = packed(frame, ["hcpcs", "modifier"])
    assert keys.n_unique() == 3
    assert keys.is_sorted()


def test_keys_that_do_not_pack_are_hashed() -> None:
    lower = pl.DataFrame({"code": ["a0001", "A0001"]})
    long = pl.DataFrame({"code": ["A" * 13]})
    numeric = pl.DataFrame({"code": [1, 2]})
    for frame in (lower, long, numeric):
        packing, keys = packed(frame, ["code"])
        assert not packing.ordered
        assert keys.n_unique() == frame.height
    wide = pl.DataFrame({"a": ["ABCDEFG"], "b": ["ABCDEFG"]})
    assert not choose([wide], ["a", "b"]).ordered  # 2 x 7 characters need more than 64 bits


def test_widths_fit_every_frame() -> None:
    old = pl.DataFrame({"code": ["A00"]})
    new = pl.DataFrame({"code": ["A0001"]})
    assert choose([old, new], ["code"]).widths == (5,)


def test_describe_round_trips() -> None:
    for packing in (KeyPacking((5, 5)), KeyPacking(None, seed=3)):
        assert KeyPacking.parse(packing.describe()) == packing
    assert KeyPacking.parse("hash:0.0.1:0") is None  # another polars: not reproducible


@given(st.lists(st.tuples(st.one_of(st.none(), CODE), CODE), unique=True, max_size=30))
def test_packed_order_is_text_order(rows: list[tuple[str | None, str]]) -> None:
    frame = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.String}, orient="row")
    packing, keys = packed(frame, ["a", "b"])
    assert packing.ordered
    assert keys.n_unique() == frame.height
    by_text = frame.sort(["a", "b"], nulls_last=False)
    by_key = frame.with_columns(k=keys).sort("k").drop("k")
    assert by_key.equals(by_text)


def test_row_hash_tells_null_from_empty_and_moved_separators() -> None:
    frame = pl.DataFrame(
        {"x": [None, "", "a\tb", "a"], "y": ["a", "a", "c", "b\tc"]},
        schema={"x": pl.String, "y": pl.String},
    )
    hashes = frame.select(row_hash(["x", "y"])).to_series()
    assert hashes.n_unique() == 4
    assert frame.select(row_hash([])).item() == 0


def test_full_width_columns_pack_the_same_without_padding() -> None:
    """The shortcut for columns whose values all have the full width gives the same integers."""
    frame = pl.DataFrame({"a": ["0001A", "G0283", "99499"], "b": ["0591T", "J3490", "00100"]})
    packing = KeyPacking((5, 5))
    general = frame.select(packing.expr(["a", "b"])).to_series()
    exact = frame.select(packing.expr(["a", "b"], [True, True])).to_series()
    assert general.equals(exact)
