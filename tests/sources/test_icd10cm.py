"""The ICD-10-CM readers: the order file and the tabular XML, and the XML's self-check
against the order file of the same release (the billable codes must be the same)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import polars as pl
import pytest

from pipeline.codesets.icd10cm.order import COLUMNS, read_order, sniff_order
from pipeline.codesets.icd10cm.xml import read as read_tabular
from pipeline.codesets.icd10cm.xml import sniff
from pipeline.codesets.reading import read_source
from pipeline.errors import ConfigError, InputError
from pipeline.sources.base import open_source
from pipeline.spec import ReaderSpec
from tests.conftest import REPO

BUNDLED = REPO / "sources" / "icd10cm"
ORDER = ReaderSpec(format="icd10cm-order")
ORDER_ALL = ReaderSpec(format="icd10cm-order", options={"headers": True})
XML = ReaderSpec(format="icd10cm-xml")
XML_ALL = ReaderSpec(format="icd10cm-xml", options={"headers": True})


def order_line(number: int, code: str, billable: int, short: str, long: str) -> str:
    """One record in CDC's layout: order 1-5, code 7-13, flag 15, short 17-76, long 78-."""
    return f"{number:05d} {code:<7} {billable} {short:<60} {long}"


#: Real codes and titles (FY2025), in the order file's own layout.
ORDER_RECORDS = [
    (1, "A00", 0, "Cholera", "Cholera"),
    (2, "A000", 1, "Cholera due to Vibrio cholerae 01, biovar cholerae", None),
    (19881, "M545", 0, "Low back pain", None),
    (19882, "M5450", 1, "Low back pain, unspecified", None),
    (19883, "M5451", 1, "Vertebrogenic low back pain", None),
    (32922, "S060X", 0, "Concussion", None),
    (32923, "S060X0", 0, "Concussion without loss of consciousness", None),
    (
        32924,
        "S060X0A",
        1,
        "Concussion without loss of consciousness, initial encounter",
        None,
    ),
    (
        32925,
        "S060X0D",
        1,
        "Concussion without loss of consciousness, subs encntr",
        "Concussion without loss of consciousness, subsequent encounter",
    ),
]
ORDER_TEXT = "".join(order_line(n, c, b, s, lt or s) + "\r\n" for n, c, b, s, lt in ORDER_RECORDS)


def write(tmp_path: Path, text: str, name: str = "icd10cm_order_2025.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def read_order_text(tmp_path: Path, text: str, reader: ReaderSpec = ORDER) -> pl.DataFrame:
    return read_source(write(tmp_path, text), reader, ["code"]).frame


def codes(frame: pl.DataFrame) -> list[str]:
    return frame["code"].to_list()


# --- order file -------------------------------------------------------------------------


def test_order_keeps_billable_codes_with_titles(tmp_path: Path) -> None:
    frame = read_order_text(tmp_path, ORDER_TEXT)
    assert tuple(frame.columns) == COLUMNS
    assert frame.schema["billable"] == pl.Boolean
    assert codes(frame) == ["A000", "M5450", "M5451", "S060X0A", "S060X0D"]
    row = frame.filter(pl.col("code") == "S060X0D").row(0, named=True)
    assert row["short_title"] == "Concussion without loss of consciousness, subs encntr"
    assert row["long_title"] == "Concussion without loss of consciousness, subsequent encounter"
    assert frame["billable"].all()


def test_order_headers_option_keeps_header_codes(tmp_path: Path) -> None:
    frame = read_order_text(tmp_path, ORDER_TEXT, ORDER_ALL)
    assert frame.height == len(ORDER_RECORDS)
    headers = frame.filter(~pl.col("billable"))
    assert codes(headers) == ["A00", "M545", "S060X", "S060X0"]
    assert headers.filter(pl.col("code") == "M545")["long_title"].item() == "Low back pain"


def test_order_reports_source_lines_and_skips_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "\n" + ORDER_TEXT + "\r\n\r\n")
    frame = read_order(open_source(path), ORDER_ALL)
    assert frame["_line"].to_list() == list(range(2, len(ORDER_RECORDS) + 2))


def test_order_headers_option_must_be_boolean(tmp_path: Path) -> None:
    path = write(tmp_path, ORDER_TEXT)
    with pytest.raises(ConfigError, match="headers"):
        read_order(open_source(path), ReaderSpec(format="icd10cm-order", options={"headers": 1}))


GOOD = order_line(19882, "M5450", 1, "Low back pain, unspecified", "Low back pain, unspecified")


@pytest.mark.parametrize(
    ("bad", "column", "message"),
    [
        (GOOD[:40], 78, "ragged or truncated"),
        (GOOD[:14] + "2" + GOOD[15:], 15, "billable flag"),
        (GOOD.replace("M5450  ", "M54.50 "), 7, "expected a code"),
        (GOOD.replace("M5450  ", "54500  "), 7, "expected a code"),
        (" " + GOOD[:-1], 1, "order number"),
        (GOOD[:16] + "x" * 61 + GOOD[77:], 78, "short title"),
        ("Low back pain", 1, "order number"),
    ],
    ids=["ragged", "flag", "dotted-code", "non-code", "shifted", "long-short-title", "prose"],
)
def test_order_rejects_lines_off_the_layout(
    tmp_path: Path, bad: str, column: int, message: str
) -> None:
    lines = ORDER_TEXT.split("\r\n")
    lines.insert(3, bad)
    with pytest.raises(InputError, match=message) as caught:
        read_order_text(tmp_path, "".join(line + "\r\n" for line in lines))
    assert (caught.value.line, caught.value.column) == (4, column)


def test_order_rejects_duplicate_codes(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="duplicate key code: M5450"):
        read_order_text(tmp_path, ORDER_TEXT + GOOD + "\r\n")


def test_order_sniff(tmp_path: Path) -> None:
    assert sniff_order(open_source(write(tmp_path, ORDER_TEXT)))
    assert not sniff_order(open_source(write(tmp_path, "code,title\nA000,Cholera\n", "a.csv")))
    assert not sniff_order(open_source(write(tmp_path, XML_HEAD + "</ICD10CM.tabular>", "t.xml")))


@pytest.mark.parametrize(
    ("name", "billable", "everything"),
    [
        ("icd10cm-order-Jan-2021.zip", 72_621, 95_358),
    ],
)
def test_order_reads_bundled_files(name: str, billable: int, everything: int) -> None:
    assert read_source(BUNDLED / name, ORDER, ["code"]).frame.height == billable
    assert read_source(BUNDLED / name, ORDER_ALL, ["code"]).frame.height == everything


# --- tabular XML ------------------------------------------------------------------------

XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<ICD10CM.tabular>\n  <version>2025</version>\n'

#: Excerpts of CDC's FY2025 tabular: structure, codes and texts as published, with most notes,
#: sibling codes and some of S12's 7th characters left out.
TABULAR = (
    XML_HEAD
    + """  <chapter>
    <name>13</name>
    <desc>Diseases of the musculoskeletal system and connective tissue (M00-M99)</desc>
    <section id="M50-M54">
      <desc>Other dorsopathies (M50-M54)</desc>
      <diag>
        <name>M54</name>
        <desc>Dorsalgia</desc>
        <diag>
          <name>M54.5</name>
          <desc>Low back pain</desc>
          <excludes1>
            <note>low back strain (S39.012)</note>
          </excludes1>
          <diag>
            <name>M54.50</name>
            <desc>Low back pain, unspecified</desc>
            <inclusionTerm>
              <note>Loin pain</note>
              <note>Lumbago NOS</note>
            </inclusionTerm>
          </diag>
        </diag>
      </diag>
    </section>
  </chapter>
  <chapter>
    <name>19</name>
    <desc>Injury, poisoning and certain other consequences of external causes (S00-T88)</desc>
    <section id="S00-S09">
      <desc>Injuries to the head (S00-S09)</desc>
      <diag>
        <name>S06</name>
        <desc>Intracranial injury</desc>
        <sevenChrNote>
          <note>The appropriate 7th character is to be added to each code from category S06, except as noted below</note>
        </sevenChrNote>
        <sevenChrDef>
          <extension char="A">initial encounter</extension>
          <extension char="D">subsequent encounter</extension>
          <extension char="S">sequela</extension>
        </sevenChrDef>
        <notes>
          <note>7th characters D and S do not apply to codes in category S06 with 6th character 7 - death due to brain injury prior to regaining consciousness, or 8 - death due to other cause prior to regaining consciousness.</note>
        </notes>
        <diag>
          <name>S06.0</name>
          <desc>Concussion</desc>
          <diag placeholder="true">
            <name>S06.0X</name>
            <desc>Concussion</desc>
            <diag>
              <name>S06.0X0</name>
              <desc>Concussion without loss of consciousness</desc>
            </diag>
          </diag>
        </diag>
        <diag>
          <name>S06.37</name>
          <desc>Contusion, laceration, and hemorrhage of cerebellum</desc>
          <diag>
            <name>S06.377</name>
            <desc>Contusion, laceration, and hemorrhage of cerebellum with loss of consciousness of any duration with death due to brain injury prior to regaining consciousness</desc>
          </diag>
        </diag>
      </diag>
    </section>
    <section id="S10-S19">
      <desc>Injuries to the neck (S10-S19)</desc>
      <diag>
        <name>S12</name>
        <desc>Fracture of cervical vertebra and other parts of neck</desc>
        <sevenChrDef>
          <extension char="A">initial encounter for closed fracture</extension>
          <extension char="B">initial encounter for open fracture</extension>
        </sevenChrDef>
        <diag>
          <name>S12.8</name>
          <desc>Fracture of other parts of neck</desc>
          <sevenChrDef>
            <extension char="A">initial encounter</extension>
            <extension char="S">sequela</extension>
          </sevenChrDef>
        </diag>
        <diag>
          <name>S12.9</name>
          <desc>Fracture of neck, unspecified</desc>
        </diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"""  # noqa: E501
)


def read_xml(tmp_path: Path, text: str, reader: ReaderSpec = XML) -> pl.DataFrame:
    return read_source(write(tmp_path, text, "icd10cm_tabular_2025.xml"), reader, ["code"]).frame


def test_xml_expands_leaves_and_seventh_characters(tmp_path: Path) -> None:
    frame = read_xml(tmp_path, TABULAR)
    assert tuple(frame.columns) == COLUMNS
    assert codes(frame) == [
        "M5450",
        "S060X0A",  # S06's 7th characters reach S06.0X0 three levels down
        "S060X0D",
        "S060X0S",
        "S06377A",  # D and S withdrawn by the S06 note (6th character 7)
        "S128XXA",  # S12.8's own definition replaces S12's; padded with X to six
        "S128XXS",
        "S129XXA",  # S12.9 inherits S12's
        "S129XXB",
    ]
    assert frame["billable"].all()
    assert frame["short_title"].is_null().all()
    titles = dict(zip(frame["code"], frame["long_title"], strict=True))
    assert titles["M5450"] == "Low back pain, unspecified"
    assert titles["S060X0D"] == "Concussion without loss of consciousness, subsequent encounter"
    assert titles["S129XXB"] == "Fracture of neck, unspecified, initial encounter for open fracture"


def test_xml_headers_option_adds_non_billable_diags(tmp_path: Path) -> None:
    frame = read_xml(tmp_path, TABULAR, XML_ALL)
    headers = frame.filter(~pl.col("billable"))
    assert codes(headers) == [
        "M54",
        "M545",
        "S06",
        "S060",
        "S060X",
        "S060X0",  # a leaf that takes 7th characters is a header itself
        "S0637",
        "S06377",
        "S12",
        "S128",
        "S129",
    ]
    assert headers.filter(pl.col("code") == "S060X")["long_title"].item() == "Concussion"
    assert frame.filter(pl.col("billable")).height == 9


def test_xml_frame_keeps_source_lines(tmp_path: Path) -> None:
    frame = read_tabular(open_source(write(tmp_path, TABULAR, "t.xml")), XML)
    lines = dict(zip(frame["code"], frame["_line"], strict=True))
    text = TABULAR.split("\n")
    assert "<name>M54.50</name>" in text[lines["M5450"]]  # the line after <diag>
    assert lines["S060X0A"] == lines["S060X0S"]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE ICD10CM.tabular [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<ICD10CM.tabular><chapter><section><diag><name>A00</name><desc>&lol3;</desc></diag>
</section></chapter></ICD10CM.tabular>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE ICD10CM.tabular [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ICD10CM.tabular><chapter><section><diag><name>A00</name><desc>&xxe;</desc></diag>
</section></chapter></ICD10CM.tabular>
"""
PARAMETER_XXE = """<?xml version="1.0"?>
<!DOCTYPE ICD10CM.tabular [<!ENTITY % remote SYSTEM "http://example.invalid/x.dtd"> %remote;]>
<ICD10CM.tabular/>
"""


@pytest.mark.parametrize(
    "document", [BILLION_LAUGHS, XXE, PARAMETER_XXE], ids=["billion-laughs", "xxe", "param-xxe"]
)
def test_xml_refuses_entities(tmp_path: Path, document: str) -> None:
    with pytest.raises(InputError, match="refused: the document declares the entity") as caught:
        read_xml(tmp_path, document)
    assert caught.value.file == "icd10cm_tabular_2025.xml"
    assert caught.value.line == line_of(document, "<!ENTITY")
    assert "root:" not in str(caught.value)


def line_of(document: str, needle: str) -> int:
    """The 1-based line where `needle` first occurs."""
    return document[: document.index(needle)].count("\n") + 1


BAD_NOTE = TABULAR.replace("with 6th character 7", "when the 6th character is 7")
BAD_NAME = TABULAR.replace("<name>M54.50<", "<name>M5450X<")
NO_DESC = TABULAR.replace("<desc>Low back pain</desc>", "")
CLAML = XML_HEAD.replace("ICD10CM.tabular", "ClaML") + "</ClaML>"
M54_END = "      </diag>\n    </section>"


@pytest.mark.parametrize(
    ("document", "needle", "message"),
    [
        (TABULAR.replace("<name>M54.50</name>", "<name>M54.50</nam>"), "</nam>", "mismatched tag"),
        (TABULAR.replace("<desc>Dorsalgia</desc>", "<desc>Dorsalgia"), M54_END, "mismatched"),
        (TABULAR.rsplit("</chapter>", 1)[0], None, "malformed XML: no element found"),
        (TABULAR[:-40], None, "malformed XML: unclosed token"),
        (BAD_NAME, "<diag>\n            <name>M5450X", "'M5450X' is not an ICD-10-CM code"),
        (NO_DESC, "<diag>\n          <name>M54.5<", "without <name> or <desc>"),
        (TABULAR.replace('"S">sequela', '"sq">sequela', 1), '"sq"', "7th character 'sq' is not"),
        (BAD_NOTE, "7th characters D", "cannot interpret this 7th-character exception note"),
        (CLAML, "<ClaML>", "root element is <ClaML>"),
        (XML_HEAD + "</ICD10CM.tabular>", None, "no <diag> codes found"),
    ],
    ids=[
        "mismatched",
        "unclosed",
        "truncated",
        "cut-in-tag",
        "bad-name",
        "no-desc",
        "bad-char",
        "note",
        "root",
        "empty",
    ],
)
def test_xml_rejects_bad_documents(
    tmp_path: Path, document: str, needle: str | None, message: str
) -> None:
    with pytest.raises(InputError, match=message) as caught:
        read_xml(tmp_path, document)
    assert caught.value.file == "icd10cm_tabular_2025.xml"
    if needle is not None:
        assert caught.value.line == line_of(document, needle)


def test_xml_rejects_a_seventh_character_on_a_seven_character_code(tmp_path: Path) -> None:
    document = TABULAR.replace("<name>S06.0X0</name>", "<name>S06.0X0A</name>")
    with pytest.raises(InputError, match="cannot take a 7th"):
        read_xml(tmp_path, document)


def test_xml_rejects_an_empty_seventh_character_definition(tmp_path: Path) -> None:
    start = TABULAR.index("<sevenChrDef>", TABULAR.index("<name>S12.8"))
    end = TABULAR.index("</sevenChrDef>", start)
    document = TABULAR[: start + len("<sevenChrDef>")] + TABULAR[end:]
    with pytest.raises(InputError, match="without any <extension>"):
        read_xml(tmp_path, document)


def test_xml_unknown_encoding_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, TABULAR, "t.xml")
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        read_tabular(open_source(path), ReaderSpec(format="icd10cm-xml", encoding="klingon"))


def test_xml_sniff(tmp_path: Path) -> None:
    assert sniff(open_source(write(tmp_path, TABULAR, "t.xml")))
    assert not sniff(open_source(write(tmp_path, ORDER_TEXT)))


# --- self-check: the 2021 tabular XML against the 2021 order file -----------------------


def _fold(title: str) -> str:
    """The order file spells Ménière as Meniere: compare titles without diacritics."""
    return unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()


def test_2021_xml_expands_to_the_order_files_billable_codes() -> None:
    xml = read_source(BUNDLED / "icd10cm_tabular_2021.zip", XML_ALL, ["code"]).frame
    order = read_source(BUNDLED / "icd10cm-order-Jan-2021.zip", ORDER_ALL, ["code"]).frame
    xml_billable = set(xml.filter(pl.col("billable"))["code"])
    order_billable = set(order.filter(pl.col("billable"))["code"])
    assert len(order_billable) == 72_621
    assert xml_billable == order_billable
    assert xml.select("code", "billable").equals(order.select("code", "billable"))
    folded = xml["long_title"].map_elements(_fold, return_dtype=pl.String)
    assert folded.equals(order["long_title"], check_names=False)
