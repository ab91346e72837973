"""The HTML reports in a real browser: headless Chromium driven by Playwright.

Renders the bundled configuration once (the session fixture `bundled`), then opens the
pages as a reader would: self-contained (no request but the page's own file), no script
errors, the filter box, no JavaScript, a phone, paper, and the accessibility basics.

Screenshots of the newest HCPCS report and of the index go to tests/artifacts/ for a
human to look at. Skipped, not failed, without Playwright (`pip install playwright`) or
without the system Chromium (`apt-get install -y chromium`); no browser is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest

from pipeline.project.publish import read_cycle_entries
from pipeline.report.render import CycleEntry
from tests.browser import launch, missing_chromium, visit
from tests.conftest import Bundled

pytestmark = pytest.mark.slow

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need Playwright: pip install playwright"
)
if reason := missing_chromium():
    pytest.skip(reason, allow_module_level=True)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

#: A cycle, and a code in it, for the filter box: G8978 (a functional-limitation G-code)
#: is discontinued in 2020 and appears in exactly one row of that report.
FILTER_CYCLE = ("hcpcs", "2019_to_2020")
FILTER_CODE = "G8978"

DESKTOP = {"width": 1280, "height": 800}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,  # honour <meta name="viewport">, as a phone does
    "has_touch": True,
}


@dataclass(frozen=True)
class Site:
    """The rendered reports directory."""

    out: Path
    entries: list[CycleEntry]

    @property
    def index(self) -> Path:
        return self.out / "index.html"

    @property
    def reports(self) -> list[Path]:
        return sorted(self.out.glob("*/*_to_*.html"))

    @property
    def histories(self) -> list[Path]:
        return sorted(self.out.glob("history/*.html"))

    @property
    def pages(self) -> list[Path]:
        extra = [
            self.out / "audit.html",
            self.out / "glossary.html",
            self.out / "history/97140.html",
        ]
        return [self.index, *self.reports, *self.histories[:3], *extra]

    def report(self, codeset: str, stem: str) -> Path:
        return self.out / codeset / f"{stem}.html"

    def newest(self, codeset: str) -> Path:
        entry = next(e for e in self.entries if e.codeset == codeset)  # newest first
        return self.report(entry.codeset, entry.stem)

    def name(self, page: Path) -> str:
        return page.relative_to(self.out).as_posix()


@pytest.fixture(scope="module")
def site(bundled: Bundled) -> Site:
    out = bundled.out.resolve()
    site = Site(out, read_cycle_entries(out))
    assert site.index.is_file() and site.reports, "the bundled run wrote no HTML"
    return site


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One browser for the module; each test opens its own context."""
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@dataclass(frozen=True)
class Load:
    url: str
    requests: list[str]
    errors: list[str]


@pytest.fixture(scope="module")
def loads(chromium: Browser, site: Site) -> dict[str, Load]:
    """Every page loaded once with JavaScript on, its filter box exercised."""
    result = {}
    with visit(chromium, viewport=DESKTOP) as v:
        for path in site.pages:
            v.requests.clear()
            v.errors.clear()
            url = v.open(path)
            box = v.page.locator("#filter")
            if box.count():
                box.fill("a")
                box.fill("")
            mine = v.page.locator("input#mine")
            if mine.count():
                mine.check()
                mine.uncheck()
            result[site.name(path)] = Load(url, list(v.requests), list(v.errors))
    return result


# --- JavaScript: what the rows look like, read in one round trip -------------------------

#: [text, shown] of every body row of the tables the filter box applies to.
FILTERED_ROWS = """() => [...document.querySelectorAll("table[data-filter] tbody tr")]
    .map(tr => [tr.textContent, tr.getClientRects().length > 0])"""

#: [text, shown] of every body row of every other table.
OTHER_ROWS = """() => [...document.querySelectorAll("table:not([data-filter]) tbody tr")]
    .map(tr => [tr.textContent, tr.getClientRects().length > 0])"""

#: What a reader (or a screen reader) finds in <main>: headings, and whether all show.
OUTLINE = """() => {
  const shown = el => el.getClientRects().length > 0;
  const main = document.querySelector("main") || document.body;
  const sections = [...main.querySelectorAll("section")];
  const tables = [...main.querySelectorAll("table")];
  const rows = [...main.querySelectorAll("tbody tr")];
  return {
    headings: [...main.querySelectorAll("h2")].map(h => h.textContent.trim()),
    hiddenSections: sections.filter(s => !shown(s)).map(s => s.id || s.textContent.slice(0, 40)),
    hiddenHeadings: [...main.querySelectorAll("h2")].filter(h => !shown(h))
      .map(h => h.textContent.trim()),
    tables: tables.length,
    hiddenTables: tables.filter(t => !shown(t)).map(t => t.id || t.caption?.textContent),
    rows: rows.length,
    hiddenRows: rows.filter(r => !shown(r)).length,
  };
}"""

#: Tables a screen reader can name and navigate: caption or section heading, scoped headers.
TABLE_PROBLEMS = """() => {
  const problems = [];
  document.querySelectorAll("table").forEach((t, i) => {
    const caption = t.caption ? t.caption.textContent.trim() : "";
    const heading = t.closest("section")?.querySelector("h1, h2, h3, h4, h5, h6");
    const name = t.id || caption || `table ${i + 1}`;
    if (!caption && !(heading && heading.textContent.trim())) {
      problems.push(`${name}: neither a caption nor a section heading`);
    }
    if (!t.tHead || !t.tHead.querySelector("th")) {
      problems.push(`${name}: no header row`);
    }
    t.querySelectorAll("th").forEach(th => {
      const want = th.closest("thead") ? "col" : "row";
      if (th.getAttribute("scope") !== want) {
        problems.push(`${name}: <th> "${th.textContent.trim()}" lacks scope="${want}"`);
      }
    });
  });
  return problems;
}"""

#: The descriptor table's word changes: each row marked up, and not by colour alone.
WORD_MARKUP = """() => {
  const t = document.querySelector("#descriptor-table");
  if (!t) return null;
  const lines = el => getComputedStyle(el).textDecorationLine;
  return {
    rows: t.tBodies[0].rows.length,
    unmarked: [...t.tBodies[0].rows].filter(tr => !tr.querySelector("del, ins"))
      .map(tr => tr.textContent),
    del: t.querySelectorAll("tbody del").length,
    ins: t.querySelectorAll("tbody ins").length,
    delNotStruck: [...t.querySelectorAll("del")].filter(e => !lines(e).includes("line-through"))
      .length,
    insNotUnderlined: [...t.querySelectorAll("ins")].filter(e => !lines(e).includes("underline"))
      .length,
  };
}"""


def shown_rows(page: Page, script: str = FILTERED_ROWS) -> list[tuple[str, bool]]:
    return [(text, shown) for text, shown in page.evaluate(script)]


# --- self-contained, error-free --------------------------------------------------------


def test_pages_fetch_nothing_but_their_own_file(site: Site, loads: dict[str, Load]) -> None:
    assert len(loads) == len(site.pages) >= 2
    strays = {
        name: [u for u in load.requests if u != load.url and not u.startswith("data:")]
        for name, load in loads.items()
    }
    assert {name: urls for name, urls in strays.items() if urls} == {}
    assert all(load.url in load.requests for load in loads.values())


def test_pages_log_no_errors(loads: dict[str, Load]) -> None:
    assert {name: load.errors for name, load in loads.items() if load.errors} == {}


# --- the filter box ----------------------------------------------------------------------


def test_filter_box_shows_only_matching_rows(chromium: Browser, site: Site) -> None:
    with visit(chromium, viewport=DESKTOP) as v:
        v.open(site.report(*FILTER_CYCLE))
        page = v.page
        box = page.locator("input#filter")
        assert box.is_visible(), "the script should reveal the filter box"
        assert page.get_by_label("Filter rows").count() == 1, "the box has a label"
        before = shown_rows(page)
        others = shown_rows(page, OTHER_ROWS)
        assert len(before) > 100 and all(shown for _, shown in before)

        box.press_sequentially(FILTER_CODE)
        after = shown_rows(page)
        visible = [text for text, shown in after if shown]
        assert len(visible) == 1 and FILTER_CODE in visible[0]
        assert all(shown == (FILTER_CODE in text) for text, shown in after)
        assert shown_rows(page, OTHER_ROWS) == others, "only data-filter tables are filtered"

        box.fill(FILTER_CODE.lower())
        assert shown_rows(page) == after, "the filter ignores case"

        box.fill("")
        assert shown_rows(page) == before, "clearing the box restores every row"

        mine = page.locator("input#mine")  # "only my codes", with a watchlist
        if mine.count():
            mine.check()
            starred = [("★" in text) for text, shown in shown_rows(page) if shown]
            assert starred and all(starred), "only watchlist rows (starred) stay"
            mine.uncheck()
            assert shown_rows(page) == before
        assert v.errors == []


# --- without JavaScript ------------------------------------------------------------------


def test_pages_work_without_javascript(chromium: Browser, site: Site) -> None:
    pages = [site.report(*FILTER_CYCLE), site.index]
    with visit(chromium, viewport=DESKTOP) as v:
        scripted = {}
        for path in pages:
            v.open(path)
            scripted[path] = v.page.evaluate(OUTLINE)
    with visit(chromium, viewport=DESKTOP, java_script_enabled=False) as v:
        for path in pages:
            v.open(path)
            outline = v.page.evaluate(OUTLINE)
            assert outline["headings"] == scripted[path]["headings"], site.name(path)
            assert outline["headings"] and outline["tables"] and outline["rows"]
            assert outline["hiddenSections"] == outline["hiddenHeadings"] == []
            assert outline["hiddenTables"] == [] and outline["hiddenRows"] == 0
            assert v.page.locator("#filter").is_hidden(), "no script, no filter box"
            controls = v.page.locator("input, select, button, label").all()
            visible = [c.inner_text() or c.get_attribute("id") for c in controls if c.is_visible()]
            assert visible == [], f"{site.name(path)}: controls that need the script show"


# --- phone -------------------------------------------------------------------------------


def test_phone_width_does_not_scroll_the_page_sideways(chromium: Browser, site: Site) -> None:
    """Wide tables may scroll inside their own `.scroll` wrapper; the page itself may not."""
    width = PHONE["viewport"]["width"]
    too_wide = {}
    with visit(chromium, **PHONE) as v:
        for path in site.pages:
            v.open(path)
            scroll, inner = v.page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            # A page too wide (or without <meta name="viewport">) makes a phone zoom out:
            # the layout viewport then grows past the screen's width.
            if inner != width or scroll > inner:
                too_wide[site.name(path)] = {"scrollWidth": scroll, "innerWidth": inner}
    assert too_wide == {}, f"wider than a {width}px phone"


#: The cells of the payment table that carry dollars, by their card labels.
DOLLARS = ("Non-facility before", "Non-facility after", "Facility", "Average a unit")

#: Every element whose box sticks out of the viewport sideways, as [tag, class, right edge].
OVERFLOW = """w => [...document.querySelectorAll("main *")]
    .filter(e => e.getClientRects().length && !e.closest(".scroll"))
    .map(e => [e, e.getBoundingClientRect()])
    .filter(([e, r]) => r.right > w + 1 || r.left < -1)
    .map(([e, r]) => [e.tagName, e.className, Math.round(r.right)]).slice(0, 5)"""


def test_a_billing_lead_reads_the_key_pages_on_a_390px_phone(chromium: Browser, site: Site) -> None:
    """At 390 px: the index, the newest cycle report of each code set, the audit and a
    history page never scroll sideways, and nothing in them sticks out; the payment
    table's dollar columns are on screen (cards, not a table to scroll); and the first
    screen of the index shows the newest critical item."""
    width, height = PHONE["viewport"]["width"], PHONE["viewport"]["height"]
    newest = [site.newest(codeset) for codeset in dict.fromkeys(e.codeset for e in site.entries)]
    pages = [site.index, *newest, site.out / "audit.html", site.out / "history" / "97140.html"]
    payment_checked = 0
    with visit(chromium, **PHONE) as v:
        for path in pages:
            v.open(path)
            page = v.page
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
            assert (scroll, inner) == (width, width), f"{site.name(path)} scrolls sideways"
            assert page.evaluate(OVERFLOW, width) == [], f"{site.name(path)}: cut at the edge"
            rows = page.locator("#payment-table tbody tr")
            for i in range(rows.count()):
                for name in DOLLARS:
                    cell = rows.nth(i).locator(f'td[data-label="{name}"]')
                    box = cell.bounding_box()
                    assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, name
                    assert "$" in cell.inner_text() or "—" in cell.inner_text(), name
                payment_checked += 1
        assert payment_checked >= 10, "the fee schedule's newest cycle has a payment table"

        v.open(site.index)
        critical = v.page.locator("section[aria-labelledby=now] li.sev-critical").first
        box = critical.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= height, box
        assert "‼ Critical" in critical.inner_text() and "G8978" in critical.inner_text()
        # Grouped: one card for the 18 functional-limitation codes, unfolding to each code.
        assert "18 codes, G8978–G8995" in critical.inner_text()
        critical.locator("summary").click()
        assert critical.locator(".codes-list li").count() == 18


# --- print -------------------------------------------------------------------------------


def test_print_hides_the_filter_and_leads_with_the_summary(chromium: Browser, site: Site) -> None:
    with visit(chromium, viewport=DESKTOP) as v:
        v.open(site.report(*FILTER_CYCLE))
        page = v.page
        assert page.locator("#filter").is_visible()
        page.emulate_media(media="print")
        assert page.locator("#filter").is_hidden()
        assert page.get_by_text("Filter rows", exact=True).is_hidden()

        summary = page.get_by_role("heading", name="Summary", exact=True)
        first_records = page.locator("table[data-filter]").first
        assert summary.is_visible() and first_records.is_visible()
        assert summary.evaluate(
            "(h, t) => Boolean(h.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING)",
            first_records.element_handle(),
        )
        summary_box, records_box = summary.bounding_box(), first_records.bounding_box()
        assert summary_box and records_box and summary_box["y"] < records_box["y"]
        outline = page.evaluate(OUTLINE)
        assert outline["hiddenTables"] == [] and outline["hiddenRows"] == 0, "print shows all"


# --- accessibility basics ----------------------------------------------------------------


def test_tables_are_named_and_their_headers_scoped(chromium: Browser, site: Site) -> None:
    problems = {}
    with visit(chromium, viewport=DESKTOP) as v:
        for path in site.pages:
            v.open(path)
            if found := v.page.evaluate(TABLE_PROBLEMS):
                problems[site.name(path)] = found
    assert problems == {}


def test_changes_are_not_told_by_colour_alone(chromium: Browser, site: Site) -> None:
    """Words removed are <del> (struck through), inserted <ins> (underlined); old and new
    values sit in columns headed Old and New; watchlist rows carry a star, not just a tint."""
    checked = 0
    with visit(chromium, viewport=DESKTOP) as v:
        for path in site.reports:
            v.open(path)
            words = v.page.evaluate(WORD_MARKUP)
            if words is not None:
                checked += 1
                assert words["rows"] and words["unmarked"] == [], site.name(path)
                assert words["del"] and words["ins"], site.name(path)
                assert words["delNotStruck"] == words["insNotUnderlined"] == 0
            unstarred = v.page.eval_on_selector_all(
                "tr.watched", "rows => rows.filter(r => !r.textContent.includes('★')).length"
            )
            assert unstarred == 0, f"{site.name(path)}: watchlist rows marked by colour only"
            other = v.page.locator("#other-table thead th")
            if other.count():
                headers = [h.strip() for h in other.all_inner_texts()]
                assert {"Old", "New"} <= set(headers), site.name(path)
    assert checked >= 2, "the bundled HCPCS and ICD-10-CM reports revise descriptors"


# --- the index ---------------------------------------------------------------------------


def test_index_has_a_labelled_chart_per_code_set(chromium: Browser, site: Site) -> None:
    titles = {e.codeset: e.title for e in site.entries}
    with visit(chromium, viewport=DESKTOP) as v:
        v.open(site.index)
        page = v.page
        for codeset, title in titles.items():
            section = page.locator("section").filter(has=page.get_by_role("heading", name=title))
            for other in (t for t in titles.values() if t != title and title in t):
                # `HCPCS Level II` is also the start of `HCPCS Level II (quarterly updates)`.
                section = section.filter(has_not=page.get_by_role("heading", name=other))
            assert section.count() == 1, codeset
            svg = section.locator("svg")
            assert svg.count() == 1, f"{codeset}: one chart"
            assert svg.get_attribute("role") == "img", codeset
            svg_title = svg.locator(":scope > title")
            assert svg_title.count() == 1 and title in svg_title.text_content(), codeset
            # The accessible name comes from the <title>, which an id must find uniquely.
            label_id = svg.get_attribute("aria-labelledby")
            if label_id:
                assert page.locator(f'[id="{label_id}"]').count() == 1, codeset
            chart = section.get_by_role("img", name=title)  # a substring of the name
            assert chart.count() == 1 and chart.is_visible(), codeset
        assert page.locator('svg[role="img"]').count() == len(titles)


def test_index_links_every_report_on_disk(chromium: Browser, site: Site) -> None:
    with visit(chromium, viewport=DESKTOP) as v:
        v.open(site.index)
        # An <a> inside the chart's SVG has an SVGAnimatedString for `href`: resolve it.
        hrefs = v.page.eval_on_selector_all(
            "a[href]",
            "links => links.map(a => new URL(a.getAttribute('href'), document.baseURI).href)",
        )
    local = {Path(unquote(urlsplit(h).path)) for h in hrefs if urlsplit(h).scheme == "file"}
    linked_html = {p for p in local if p.suffix == ".html"}
    assert set(site.reports) <= linked_html, "every cycle's HTML report is linked"
    assert sorted(p for p in local if not p.is_file()) == [], "no link is broken"


# --- first impression, and screenshots for a human ---------------------------------------


def test_first_screen_says_what_changed(chromium: Browser, site: Site) -> None:
    """On a laptop, the report opens on its first section (what to act on, or the counts)
    and the start of its content, not on boilerplate; the Summary follows."""
    with visit(chromium, viewport=DESKTOP) as v:
        v.open(site.newest("hcpcs"))
        page = v.page
        first = page.locator("main > section").first
        content = first.locator("tbody tr, p").first
        heading, top = first.locator("h2").bounding_box(), content.bounding_box()
        assert heading and top and top["y"] + top["height"] <= DESKTOP["height"]
        assert page.get_by_role("heading", name="Summary", exact=True).count() == 1


def test_screenshots(chromium: Browser, site: Site) -> None:
    """Screenshots for a human to review, in tests/artifacts/ (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    newest = site.newest("hcpcs")
    desktop = {  # name: (page, full page?)
        f"hcpcs-{newest.stem}.png": (newest, True),
        f"hcpcs-{newest.stem}-top.png": (newest, False),
        "index.png": (site.index, True),
    }
    phone = {f"hcpcs-{newest.stem}-phone.png": newest, "index-phone.png": site.index}
    with visit(chromium, viewport=DESKTOP) as v:
        for name, (path, full) in desktop.items():
            v.open(path)
            v.page.screenshot(path=ARTIFACTS / name, full_page=full, timeout=120_000)
    with visit(chromium, **PHONE) as v:
        for name, path in phone.items():
            v.open(path)
            v.page.screenshot(path=ARTIFACTS / name)
    for name in [*desktop, *phone]:
        assert (ARTIFACTS / name).stat().st_size > 10_000, name
