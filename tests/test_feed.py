"""Each kind's release feed reads its publisher's listing page (fixtures in tests/feeds/).

No network: the pages are parsed as the engine parses them, links resolved against the
publisher's own address.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from pipeline.codesets import kinds
from pipeline.sources.feed import Candidate, Link, page_links, releases, unwrap

PAGES = Path(__file__).parent / "feeds"
FEED_OF = {name: kind.feed for name, kind in kinds().items() if kind.feed is not None}


def listed(kind: str, page: str, base: str, sub: dict[str, str] | None = None) -> list:
    """Releases on a fixture page, following sub-pages from `sub` (URL -> fixture)."""
    feed = FEED_OF[kind]
    hits = []
    for link in page_links((PAGES / page).read_text(), base):
        link = replace(link, url=unwrap(link.url))
        if (cand := feed.release(link, None)) is not None:
            hits.append((link, cand, base))
        elif feed.follow is not None and (parent := feed.follow(link)) is not None:
            text = (PAGES / (sub or {})[link.url]).read_text()
            for inner in page_links(text, link.url):
                if (cand := feed.release(inner, parent)) is not None:
                    hits.append((inner, cand, link.url))
    return releases(hits)


def test_hcpcs_quarterly_page_lists_fifteen_quarters_with_cms_names() -> None:
    """The 15 quarters 2023Q1-2026Q3 under their real names, `-files.zip` ones included."""
    base = "https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system/quarterly-update"
    found = listed("hcpcs", "cms-hcpcs-quarterly-update.html", base)
    assert [r.version for r in found] == [
        f"{y}Q{q}" for y in (2023, 2024, 2025, 2026) for q in (1, 2, 3, 4)
    ][:15]
    assert found[0].effective == date(2023, 1, 1) and found[-1].effective == date(2026, 7, 1)
    by_version = {r.version: r for r in found}
    assert by_version["2023Q4"].url == (
        "https://www.cms.gov/files/zip/october-2023-alpha-numeric-hcpcs-files.zip"
    )
    assert by_version["2026Q3"].title == "July 2026 Alpha-Numeric HCPCS File"
    assert all(len(r.urls) == 1 and r.issue == 0 for r in found)


def test_hcpcs_page_after_a_redesign_matches_nothing() -> None:
    base = "https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system/quarterly-update"
    assert listed("hcpcs", "cms-hcpcs-quarterly-update-media-links.html", base) == []


def test_hcpcs_corrected_post_is_a_later_issue_of_the_same_quarter() -> None:
    feed = FEED_OF["hcpcs"]
    first = feed.release(
        Link("https://x/files/zip/january-2025-alpha-numeric-hcpcs-file.zip"), None
    )
    second = feed.release(
        Link("https://x/files/zip/january-2025-alpha-numeric-hcpcs-file-v2.zip"), None
    )
    annual = feed.release(Link("https://x/files/zip/2020-Alpha-Numeric-HCPCS-File.zip"), None)
    assert first == Candidate("2025Q1", date(2025, 1, 1), 0)
    assert second == Candidate("2025Q1", date(2025, 1, 1), 2)
    assert annual == Candidate("2020", date(2020, 1, 1), 0)
    assert feed.release(Link("https://x/files/zip/2026-hcpcs-record-layout.zip"), None) is None


def test_icd10cm_cms_page_gives_fiscal_years_and_the_april_update_as_a_later_issue() -> None:
    found = listed(
        "icd10cm",
        "cms-icd-10-codes.html",
        "https://www.cms.gov/medicare/coding-billing/icd-10-codes",
    )
    assert [(r.version, r.effective, r.issue) for r in found] == [
        ("FY2026", date(2025, 10, 1), 0),
        ("FY2026", date(2026, 4, 1), 1),
        ("FY2027", date(2026, 10, 1), 0),
    ]
    assert found[1].url.endswith("/files/zip/april-1-2026-code-descriptions-tabular-order.zip")


def test_icd10cm_cdc_directory_listing_is_followed_into_each_folder() -> None:
    root = "https://ftp.cdc.gov/pub/Health_Statistics/NCHS/Publications/ICD10CM/"
    folder = "https://ftp.cdc.gov/pub/Health_Statistics/NCHS/Publications/ICD10CM/"
    feed = FEED_OF["icd10cm"]
    assert feed.follow is not None
    links = page_links((PAGES / "cdc-icd10cm-listing.html").read_text(), root)
    followed = [feed.follow(link) for link in links]
    assert [c.version for c in followed if c] == ["FY2024", "FY2024", "FY2025", "FY2025"]
    found = listed(
        "icd10cm",
        "cdc-icd10cm-listing.html",
        root,
        {
            # the 2025 folder listings stand in for 2024s (only FY2025 is asserted)
            folder + "2024/": "cdc-icd10cm-2025.html",
            folder + "2024-Update/": "cdc-icd10cm-2025.html",
            folder + "2025/": "cdc-icd10cm-2025.html",
            folder + "2025-Update/": "cdc-icd10cm-2025-update.html",
        },
    )
    fy2025 = [r for r in found if r.version == "FY2025"]
    assert [(r.effective, r.issue, r.url.rsplit("/", 1)[1]) for r in fy2025] == [
        (date(2024, 10, 1), 0, "ICD10-CM%20Code%20Descriptions%202025.zip"),
        (date(2025, 4, 1), 1, "Code-desciptions-April-2025.zip"),
    ]


def test_pfs_release_pages_are_followed_to_their_zip() -> None:
    base = "https://www.cms.gov/medicare/payment/fee-schedules/physician/pfs-relative-value-files"
    found = listed(
        "pfs",
        "cms-pfs-relative-value-files.html",
        base,
        {f"{base}/{p}": f"cms-pfs-{p}.html" for p in ("rvu26a", "rvu25d-0", "rvu24ar")},
    )
    assert [(r.version, r.effective) for r in found] == [
        ("RVU24AR", date(2024, 1, 1)),
        ("RVU25D", date(2025, 10, 1)),
        ("RVU26A", date(2026, 1, 1)),
    ]
    assert found[-1].url == "https://www.cms.gov/files/zip/rvu26a-updated-01-09-2026.zip"
    assert found[-1].page == f"{base}/rvu26a"


def test_ncci_ptp_quarter_in_four_parts_behind_the_licence_click_through() -> None:
    base = "https://www.cms.gov/medicare/coding-billing/ncci-medicare/ptp"
    found = listed("ncci", "cms-ncci-ptp-edits.html", base)
    assert [(r.version, len(r.urls)) for r in found] == [("2026Q1", 2), ("2026Q2", 4)]
    assert found[1].urls[0] == (
        "https://www.cms.gov/files/zip/medicare-ncci-2026q2-practitioner-ptp-edits-ccipra-v321r0-f1.zip"
    )
    assert [u[-6:] for u in found[1].urls] == ["f1.zip", "f2.zip", "f3.zip", "f4.zip"]


def test_mue_practitioner_table_only() -> None:
    found = listed(
        "mue", "cms-ncci-mue.html", "https://www.cms.gov/medicare/coding-billing/ncci-medicare/mue"
    )
    assert [(r.version, r.effective) for r in found] == [
        ("2026Q3", date(2026, 7, 1)),
        ("2026Q4", date(2026, 10, 1)),
    ]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<A HREF='/a/b.zip'>B</A>", [Link("https://h/a/b.zip", "B")]),
        (
            '<base href="https://o/x/"><a href="c.zip" title=" C  file ">c</a>',
            [Link("https://o/x/c.zip", "c", "C file")],
        ),
        (
            '<a href="/q?file=/z.zip&amp;x=1">z<a href="#top">t</a>',
            [Link("https://h/q?file=/z.zip&x=1", "z")],
        ),
        ('<a href="/d.zip">one</a><a href="/d.zip">two</a>', [Link("https://h/d.zip", "one")]),
    ],
)
def test_page_links_reads_real_world_markup(html: str, expected: list[Link]) -> None:
    assert page_links(html, "https://h/page") == expected


def test_feed_configuration_is_parsed_strictly() -> None:
    from pipeline.config import parse_config

    config = parse_config(
        {
            "codesets": {
                "hcpcs-quarterly": {
                    "title": "HCPCS quarterly",
                    "publisher": "CMS",
                    "key": ["code"],
                    "reader": {"format": "auto"},
                    "feed": {
                        "kind": "hcpcs",
                        "since": "2026-01-01",
                        "skip": ["2026Q1"],
                        "sha256": {"2026Q3": "AB" * 32},
                        "timeout": 10,
                    },
                }
            }
        }
    )
    feed = config.codesets["hcpcs-quarterly"].feed
    assert feed is not None
    assert (feed.kind, feed.since, feed.skip, feed.pages) == (
        "hcpcs",
        date(2026, 1, 1),
        ("2026Q1",),
        (),
    )
    assert feed.sha256 == {"2026Q3": "ab" * 32} and (feed.timeout, feed.deadline) == (10.0, 900.0)


@pytest.mark.parametrize(
    ("feed", "message"),
    [
        ({"page": ["https://x"]}, r"\.feed: unknown key\(s\) 'page'"),
        ({"pages": "https://x"}, r"\.feed\.pages: expected a list of listing-page URLs"),
        ({"pages": ["ftp://x/"]}, r"\.feed\.pages: expected http\(s\):// URLs"),
        ({"skip": "2026Q1"}, r"\.feed\.skip: expected a list of edition labels"),
        ({"sha256": {"2026Q3": "xyz"}}, r"\.feed\.sha256\.2026Q3: expected 64 hexadecimal digits"),
        ({"timeout": 0}, r"\.feed\.timeout: expected a number of seconds"),
        ({"since": "last year"}, r"\.feed\.since: expected a date"),
        ({"kind": "cpt"}, r"\.feed\.kind: no release feed for 'cpt' \(known: hcpcs, icd10cm"),
        ("yes", r"\.feed: must be a table"),
    ],
)
def test_feed_configuration_errors_name_the_key(feed: object, message: str) -> None:
    from pipeline.config import parse_config
    from pipeline.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[codesets\.hcpcs\]" + message):
        parse_config({"codesets": {"hcpcs": {"feed": feed}}})
