"""Reports: golden files for all three formats, escaping of hostile text, the index.

Golden files live in tests/golden/ and are regenerated only by `make golden`
(CODESET_UPDATE_GOLDEN=1); a missing golden file fails the test.
"""

from __future__ import annotations

import itertools
import json
import os
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.analysis.cycle import Analysis
from pipeline.diff.changeset import ChangeSet
from pipeline.diff.engine import diff
from pipeline.project.publish import read_cycle_entries, write_cycle, write_index
from pipeline.report.render import markdown_escape, render_cycle, render_index
from tests.conftest import edition, frame, make_spec, therapy_2024, therapy_2025

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("CODESET_UPDATE_GOLDEN") == "1"


def therapy_changes() -> ChangeSet:
    """97140 reworded, 97530 added, G0283 removed, G8978 discontinued (see conftest)."""
    return diff(
        therapy_2024(),
        therapy_2025(),
        make_spec(),
        old_info=edition("2024", date(2024, 1, 1), rows=4),
        new_info=edition("2025", date(2025, 1, 1), rows=4),
    )


def write_three_editions(out: Path) -> None:
    """Cycles 2023 -> 2024 and 2024 -> 2025 of the therapy fixture, written under `out`."""
    spec = make_spec()
    editions = [edition(str(y), date(y, 1, 1)) for y in (2023, 2024, 2025)]
    for old, new in itertools.pairwise(editions):
        cs = diff(therapy_2024(), therapy_2025(), spec, old_info=old, new_info=new)
        write_cycle(Analysis(cs), out)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}: run `make golden` and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


@pytest.mark.parametrize("ext", ["html", "md", "json"])
def test_cycle_report_matches_golden(ext: str) -> None:
    check_golden(f"therapy_2024_to_2025.{ext}", render_cycle(Analysis(therapy_changes()))[ext])


@pytest.mark.parametrize("ext", ["html", "md"])
def test_index_matches_golden(ext: str, tmp_path: Path) -> None:
    write_cycle(Analysis(therapy_changes()), tmp_path)
    check_golden(f"index.{ext}", render_index(read_cycle_entries(tmp_path))[ext])


def test_rendering_is_deterministic() -> None:
    assert render_cycle(Analysis(therapy_changes())) == render_cycle(Analysis(therapy_changes()))


def test_json_report_is_the_change_set() -> None:
    data = json.loads(render_cycle(Analysis(therapy_changes()))["json"])
    assert set(data) >= {"schema_version", "codeset", "from", "to", "counts", "added"}
    assert data["counts"] == therapy_changes().counts


def test_markdown_word_diff_marks_inserted_words() -> None:
    md = render_cycle(Analysis(therapy_changes()))["md"]
    assert "Manual therapy ~~techniques~~ **techniques, each 15 minutes**" in md


def test_html_word_diff_uses_del_and_ins() -> None:
    html = render_cycle(Analysis(therapy_changes()))["html"]
    assert "<del>techniques</del> <ins>techniques, each 15 minutes</ins>" in html


PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "[click](https://evil.example) ![x](https://evil.example/x.png) | cell | `code` *em*",
)


def hostile_changes() -> ChangeSet:
    """Every descriptor is a payload: added, reworded and deleted records all carry one."""
    old = frame(
        [
            {"code": "97110", "description": "Therapeutic exercise"},
            {"code": "97112", "description": PAYLOADS[1]},
        ]
    )
    new = frame(
        [
            {"code": "97110", "description": PAYLOADS[0]},
            {"code": "97530", "description": PAYLOADS[2]},
        ]
    )
    return diff(
        old,
        new,
        make_spec(title="<b>Title</b>"),
        old_info=edition("2024", date(2024, 1, 1)),
        new_info=edition("2025", date(2025, 1, 1)),
    )


class ElementCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def test_hostile_descriptors_are_text_in_html() -> None:
    html = render_cycle(Analysis(hostile_changes()))["html"]
    parsed = ElementCollector()
    parsed.feed(html)
    tags = {t for t, _ in parsed.tags}
    assert "img" not in tags and "b" not in tags
    assert not [a for _, attrs in parsed.tags for a, _ in attrs if a.startswith("on")]
    # The one script is the report's own filter box, and it holds none of the payloads.
    assert len(parsed.scripts) == 1
    assert "alert" not in parsed.scripts[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_hostile_descriptors_are_neutralised_in_markdown() -> None:
    md = render_cycle(Analysis(hostile_changes()))["md"]
    assert "<script" not in md and "<img" not in md
    assert "](https" not in md.replace(r"\](https", "")  # no link or image syntax survives
    assert r"\[click\]" in md and r"\| cell \|" in md


def test_bare_urls_and_addresses_do_not_become_links_in_markdown() -> None:
    """GitHub links bare URLs, www. names and e-mail addresses: they must stay text."""
    text = markdown_escape("see https://evil.example/x, www.evil.example or bob@evil.example")
    assert "https://" not in text and "www." not in text and "bob@" not in text
    assert text.replace("\u200b", "") == (
        "see https://evil.example/x, www.evil.example or bob@evil.example"
    )


def test_markdown_escape() -> None:
    assert markdown_escape("a|b") == r"a\|b"
    assert markdown_escape("<b>&") == "&lt;b&gt;&amp;"
    assert markdown_escape("two\nlines") == "two lines"
    assert markdown_escape(None) == "—"


def test_write_cycle_and_index(tmp_path: Path) -> None:
    cs = therapy_changes()
    written = write_cycle(Analysis(cs), tmp_path)
    assert sorted(p.name for p in written) == [
        "2024_to_2025.html",
        "2024_to_2025.json",
        "2024_to_2025.md",
    ]
    assert write_cycle(Analysis(cs), tmp_path) == []  # unchanged content is not rewritten
    write_index(tmp_path)
    index = (tmp_path / "index.md").read_text()
    assert (
        "[January 2024 release (2024) → January 2025 release (2025)](demo/2024_to_2025.md)" in index
    )


def test_index_lists_newest_cycle_first(tmp_path: Path) -> None:
    write_three_editions(tmp_path)
    entries = read_cycle_entries(tmp_path)
    assert [e.stem for e in entries] == ["2024_to_2025", "2023_to_2024"]


def test_empty_index_says_so() -> None:
    assert "No cycles yet" in render_index([])["md"]


def test_feed_is_valid_atom_with_one_entry_per_cycle(tmp_path: Path) -> None:
    import feedparser

    write_three_editions(tmp_path)
    write_index(tmp_path)
    feed = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert [e.link for e in feed.entries] == ["demo/2024_to_2025.html", "demo/2023_to_2024.html"]
    assert feed.entries[0].updated == "2025-01-01T00:00:00Z"
    assert "1 added, 2 deleted, 1 changed" in feed.entries[0].summary
    assert len({e.id for e in feed.entries}) == 2


def test_index_draws_a_bar_per_cycle(tmp_path: Path) -> None:
    write_three_editions(tmp_path)
    html = render_index(read_cycle_entries(tmp_path))["html"]
    parsed = ElementCollector()
    parsed.feed(html)
    rects = [dict(attrs)["class"] for tag, attrs in parsed.tags if tag == "rect"]
    assert rects.count("bar-added") == rects.count("bar-deleted") == 2
    assert not parsed.scripts  # the front page needs no script at all


WATCHLIST = """code,label,annual_units,units_per_day
97140,Manual therapy,2600,2
G8978,Mobility current status,120,1
97010-97799,PT/OT range,,
"""


def watched_analysis() -> Analysis:
    """The therapy cycle through a clinic's eyes: G8978 (watched) discontinued, 97140
    (watched) reworded, 97530 new in the watched range 97010-97799."""
    from pipeline.analysis.cycle import assess
    from pipeline.impact.watchlist import parse_watchlist

    cs = therapy_changes()
    watchlist = parse_watchlist(WATCHLIST)
    return Analysis(cs, impact=assess(cs, watchlist), watched=frozenset(watchlist.watched_codes()))


@pytest.mark.parametrize("ext", ["html", "md", "json"])
def test_watched_cycle_report_matches_golden(ext: str) -> None:
    check_golden(f"therapy_watched_2024_to_2025.{ext}", render_cycle(watched_analysis())[ext])


def test_action_required_comes_first_and_marks_watched_rows() -> None:
    html = render_cycle(watched_analysis())["html"]
    assert html.index('id="action"') < html.index('id="summary"') < html.index('id="added"')
    assert '<tr class="watched"><td class="code"><span class="star"' in html
    md = render_cycle(watched_analysis())["md"]
    assert md.index("## Action required") < md.index("| Change | Records |")
    assert "| **‼ critical** | G8978 Mobility current status |" in md  # four columns


def test_items_with_the_same_cause_and_advice_are_one_row() -> None:
    """Eighteen G-codes discontinued on the same day with the same advice: one group naming
    the codes and their count, read as one sentence; another date stays its own row."""
    from datetime import date

    from pipeline.impact.items import Item
    from pipeline.report.groups import group_items
    from pipeline.report.render import cause, item_sentences

    def item(code: str, ended: date = date(2019, 12, 31)) -> Item:
        return Item(
            "critical",
            "watched-deleted",
            "hcpcs",
            "2019",
            "2020",
            code,
            f"label of {code}",
            facts={"terminated": ended},
            advice="Stop billing it.",
        )

    codes = [f"G{n}" for n in range(8978, 8996)]
    groups = group_items([*(item(c) for c in codes), item("G0283", date(2019, 6, 30))])
    assert [g.count for g in groups] == [18, 1]
    assert groups[0].codes == codes and groups[0].span == "G8978–G8995"
    said = cause(item_sentences(groups[0].first)[0], groups[0])
    assert said.startswith("Each code is discontinued (terminated 2019-12-31) in 2020; claims")
    assert cause(item_sentences(groups[1].first)[0], groups[1]).startswith("G0283 is discontinued")
