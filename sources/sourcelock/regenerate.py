"""Regenerate the vendored derived tables for the ``codes`` route.

Run from the repository root::

    python hc_source/data/codes/regenerate.py

Downloads the pinned CMS release zips (ICD-10-CM FY + April update, HCPCS
Level II quarterly) and the CDC ICD-10-CM directory listing, derives compact
gzipped CSV tables from them, and rewrites ``manifest.json`` with full
provenance (source URL, raw zip sha256, inner-file sha256, fetch date,
canonical table hashes, row counts).

Design rules honoured here:

* **Derive, don't dump** -- only the code/description/date columns the adapter
  reads are kept. Raw zips are cached locally and never committed.
* **Canonical content hashes** -- each table's ``canonical_sha256`` is the
  SHA-256 of the *uncompressed* CSV bytes (UTF-8, ``\n`` line endings, stable
  column order), so drift decisions survive gzip re-compression. Gzip output
  uses ``mtime=0`` so the compressed bytes are reproducible too.
* **CPT (HCPCS Level I) exclusion** -- only the ANWEB fixed-width master file
  is ingested from the HCPCS zip. ``proc_notes_*.txt`` (contains CPT code
  mentions in prose) and every ``.xlsx`` are never read. Defensively, any
  record whose code is numeric-leading (CPT Level I) or ``D``-prefixed (ADA
  CDT dental) is dropped and counted in the manifest (expected count: 0 --
  verified zero in the July 2026 file).

Requires network access. The test suite never runs this; it consumes the
committed outputs offline.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
import sys
import zipfile
from datetime import date, timezone, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO))

from hc_source.http import fetch  # noqa: E402

CACHE = Path(
    os.environ.get(
        "HC_SOURCE_CODES_RAW_CACHE",
        str(Path.home() / ".cache" / "sourcelock-codes-raw"),
    )
)
CACHE.mkdir(parents=True, exist_ok=True)

# Inner filenames and nesting vary by release, so members are located by
# basename, never by full path. Historical FY/April packages use the stable CDC
# archive; CMS's publication page remains the primary record for the governing
# windows (including the distinct April 2025 release).
CM_RELEASES = [
    # label, url, inner basename, effective_from, nominal effective_to
    (
        "fy2024",
        "https://ftp.cdc.gov/pub/health_statistics/nchs/publications/ICD10CM/"
        "2024/icd10cm-CodesDescriptions-2024.zip",
        "icd10cm-codes-2024.txt",
        "2023-10-01",
        "2024-03-31",
    ),
    (
        "fy2024-april",
        "https://ftp.cdc.gov/pub/health_statistics/nchs/publications/ICD10CM/"
        "2024-Update/icd10cm-Codes-Descriptions-April-2024.zip",
        "icd10cm-codes-April-2024.txt",
        "2024-04-01",
        "2024-09-30",
    ),
    (
        "fy2025",
        "https://ftp.cdc.gov/pub/health_statistics/nchs/Publications/ICD10CM/"
        "2025/ICD10-CM%20Code%20Descriptions%202025.zip",
        "icd10cm-codes-2025.txt",
        "2024-10-01",
        "2025-03-31",
    ),
    (
        "fy2025-april",
        "https://ftp.cdc.gov/pub/Health_Statistics/NCHS/Publications/ICD10CM/"
        "2025-Update/Code-desciptions-April-2025.zip",
        "icd10cm-codes-April-2025.txt",
        "2025-04-01",
        "2025-09-30",
    ),
    (
        "fy2026",
        "https://www.cms.gov/files/zip/2026-code-descriptions-tabular-order.zip",
        "icd10cm_codes_2026.txt",
        "2025-10-01",
        "2026-09-30",
    ),
    (
        "fy2026-april",
        "https://www.cms.gov/files/zip/april-1-2026-code-descriptions-tabular-order.zip",
        "icd10cm_codes_2026.txt",
        "2026-04-01",
        "2026-09-30",
    ),
    (
        "fy2027",
        "https://www.cms.gov/files/zip/2027-code-descriptions-tabular-order.zip",
        "icd10cm_codes_2027.txt",
        "2026-10-01",
        "2027-09-30",
    ),
]

HCPCS_ANWEB_MEMBER = re.compile(r"^HCPC\d{4}_[A-Z]{3}_ANWEB.*\.txt$", re.IGNORECASE)

HCPCS_RELEASES = [
    # label, CMS public-use zip, ANWEB member pattern, effective window
    (
        "2023q1",
        "https://www.cms.gov/files/zip/january-2023-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2023-01-01",
        "2023-03-31",
    ),
    (
        "2023q2",
        "https://www.cms.gov/files/zip/april-2023-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2023-04-01",
        "2023-06-30",
    ),
    (
        "2023q3",
        "https://www.cms.gov/files/zip/july-2023-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2023-07-01",
        "2023-09-30",
    ),
    (
        "2023q4",
        "https://www.cms.gov/files/zip/october-2023-alpha-numeric-hcpcs-files.zip",
        HCPCS_ANWEB_MEMBER,
        "2023-10-01",
        "2023-12-31",
    ),
    (
        "2024q1",
        "https://www.cms.gov/files/zip/january-2024-alpha-numeric-hcpcs-files.zip",
        HCPCS_ANWEB_MEMBER,
        "2024-01-01",
        "2024-03-31",
    ),
    (
        "2024q2",
        "https://www.cms.gov/files/zip/april-2024-alpha-numeric-hcpcs-files.zip",
        HCPCS_ANWEB_MEMBER,
        "2024-04-01",
        "2024-06-30",
    ),
    (
        "2024q3",
        "https://www.cms.gov/files/zip/july-2024-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2024-07-01",
        "2024-09-30",
    ),
    (
        "2024q4",
        "https://www.cms.gov/files/zip/october-2024-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2024-10-01",
        "2024-12-31",
    ),
    (
        "2025q1",
        "https://www.cms.gov/files/zip/january-2025-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2025-01-01",
        "2025-03-31",
    ),
    (
        "2025q2",
        "https://www.cms.gov/files/zip/april-2025-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2025-04-01",
        "2025-06-30",
    ),
    (
        "2025q3",
        "https://www.cms.gov/files/zip/july-2025-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2025-07-01",
        "2025-09-30",
    ),
    (
        "2025q4",
        "https://www.cms.gov/files/zip/october-2025-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2025-10-01",
        "2025-12-31",
    ),
    (
        "2026q1",
        "https://www.cms.gov/files/zip/january-2026-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2026-01-01",
        "2026-03-31",
    ),
    (
        "2026q2",
        "https://www.cms.gov/files/zip/april-2026-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2026-04-01",
        "2026-06-30",
    ),
    (
        "2026q3",
        "https://www.cms.gov/files/zip/july-2026-alpha-numeric-hcpcs-file.zip",
        HCPCS_ANWEB_MEMBER,
        "2026-07-01",
        "2026-09-30",
    ),
]

CDC_ROOT = "https://ftp.cdc.gov/pub/Health_Statistics/NCHS/Publications/ICD10CM/"

# April-update publication status per fiscal year, as verifiable on the fetch
# date. "posted" = the April package is published; "absent" = April 1 of that
# FY has passed with no April package (settled fact); "unknown" = April 1 of
# that FY is in the future relative to the fetch date, so the package may yet
# be published. The adapter fails closed on "unknown".
CM_APRIL_STATUS = {
    "2024": "posted",
    "2025": "posted",
    "2026": "posted",
    "2027": "unknown",
}

# HCPCS Level I (CPT, 5-char numeric-leading) and ADA CDT (5-char D-prefix)
# exclusion. Two-character records are CMS Level II *modifiers* (they sit in
# cols 4-5 with cols 1-3 blank, e.g. "DA"), never CPT/CDT content.
_CPT_OR_CDT = re.compile(r"^(\d|D)[0-9A-Z]{4}$")


def _download(url: str) -> tuple[bytes, str, str]:
    name = url.rsplit("/", 1)[-1]
    cached = CACHE / name
    meta = CACHE / (name + ".meta.json")
    if cached.exists() and meta.exists():
        info = json.loads(meta.read_text())
        content = cached.read_bytes()
        actual_sha = hashlib.sha256(content).hexdigest()
        if actual_sha != info["sha256"]:
            raise SystemExit(
                f"cached artifact hash mismatch for {url}: "
                f"metadata={info['sha256']} actual={actual_sha}"
            )
        return content, actual_sha, info.get("last_modified", "")
    print(f"fetching {url}")
    result = fetch(url, timeout=300.0)
    cached.write_bytes(result.content)
    last_modified = result.headers.get("last-modified", "")
    meta.write_text(json.dumps({"sha256": result.sha256, "last_modified": last_modified}))
    return result.content, result.sha256, last_modified


def _write_table(path: Path, header: list[str], rows: list[list[str]]) -> tuple[str, int]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    raw = buf.getvalue().encode("utf-8")
    canonical = hashlib.sha256(raw).hexdigest()
    with path.open("wb") as fh:
        with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
            gz.write(raw)
    return canonical, len(rows)


def _parse_cm(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        code = line[:8].strip()
        desc = line[8:].strip()
        rows.append([code, desc])
    return rows


def _parse_hcpcs(text: str) -> tuple[list[list[str]], int]:
    rows: list[list[str]] = []
    excluded = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        line = line.ljust(320)
        code = line[0:5].strip()  # modifiers sit in cols 4-5 with cols 1-3 blank
        if _CPT_OR_CDT.match(code):
            excluded += 1
            continue
        rows.append(
            [
                code,
                line[5:10].strip(),
                line[10:11].strip(),
                line[11:91].strip(),
                line[91:119].strip(),
                line[268:276].strip(),
                line[276:284].strip(),
                line[284:292].strip(),
                line[292:293].strip(),
            ]
        )
    return rows, excluded


def main() -> None:
    fetched_at = datetime.now(timezone.utc).date().isoformat()
    manifest: dict = {
        "route": "codes",
        "generated_at": fetched_at,
        "regenerate": "python hc_source/data/codes/regenerate.py",
        "canonicalization": (
            "canonical_sha256 = SHA-256 of the uncompressed CSV bytes (UTF-8, LF line "
            "endings, header row first, source row order preserved). Drift decisions "
            "compare canonical hashes; raw zip sha256 values are kept for forensics only."
        ),
        "cpt_exclusion": (
            "Only the ANWEB fixed-width master file is ingested from the HCPCS zip; "
            "proc_notes_*.txt and all .xlsx members are excluded (CPT mentions / "
            "unverified content). Numeric-leading (CPT Level I) and D-prefixed (ADA CDT) "
            "records are dropped defensively."
        ),
        "cm_april_status": CM_APRIL_STATUS,
        "cm_releases": {},
        "hcpcs_releases": {},
    }

    cm_tables: dict[str, str] = {}  # inner sha -> table filename, for dedupe
    for label, url, basename, eff_from, eff_to in CM_RELEASES:
        content, zip_sha, last_modified = _download(url)
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            matches = [n for n in zf.namelist() if n.rsplit("/", 1)[-1] == basename]
            if len(matches) != 1:
                raise SystemExit(f"expected exactly one {basename} in {url}, got {matches}")
            member = matches[0]
            inner = zf.read(member)
        inner_sha = hashlib.sha256(inner).hexdigest()
        entry = {
            "source_url": url,
            "source_zip_sha256": zip_sha,
            "source_last_modified": last_modified,
            "inner_file": member,
            "inner_sha256": inner_sha,
            "fetched_at": fetched_at,
            "effective_from": eff_from,
            "effective_to": eff_to,
        }
        if inner_sha in cm_tables:
            entry["table"] = cm_tables[inner_sha]
            entry["content_identical_to"] = next(
                k for k, v in manifest["cm_releases"].items() if v["table"] == cm_tables[inner_sha]
            )
            ref = manifest["cm_releases"][entry["content_identical_to"]]
            entry["canonical_sha256"] = ref["canonical_sha256"]
            entry["row_count"] = ref["row_count"]
        else:
            table_name = f"icd10cm_{label.replace('-', '_')}.csv.gz"
            rows = _parse_cm(inner.decode("utf-8", errors="strict"))
            canonical, count = _write_table(HERE / table_name, ["code", "description"], rows)
            entry.update({"table": table_name, "canonical_sha256": canonical, "row_count": count})
            cm_tables[inner_sha] = table_name
        manifest["cm_releases"][label] = entry
        print(f"{label}: {entry['row_count']} rows -> {entry['table']}")

    for label, url, member_re, eff_from, eff_to in HCPCS_RELEASES:
        content, zip_sha, last_modified = _download(url)
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            members = [n for n in zf.namelist() if member_re.match(n)]
            if len(members) != 1:
                raise SystemExit(f"expected exactly one ANWEB master in {url}, got {members}")
            inner = zf.read(members[0])
        inner_sha = hashlib.sha256(inner).hexdigest()
        rows, excluded = _parse_hcpcs(inner.decode("latin-1"))
        table_name = f"hcpcs_{label}.csv.gz"
        canonical, count = _write_table(
            HERE / table_name,
            [
                "code",
                "seq",
                "record_id",
                "long_description",
                "short_description",
                "code_added",
                "action_effective",
                "termination",
                "action_code",
            ],
            rows,
        )
        manifest["hcpcs_releases"][label] = {
            "source_url": url,
            "source_zip_sha256": zip_sha,
            "source_last_modified": last_modified,
            "inner_file": members[0],
            "inner_sha256": inner_sha,
            "fetched_at": fetched_at,
            "effective_from": eff_from,
            "effective_to": eff_to,
            "table": table_name,
            "canonical_sha256": canonical,
            "row_count": count,
            "cpt_cdt_records_excluded": excluded,
        }
        print(f"{label}: {count} rows ({excluded} CPT/CDT excluded) -> {table_name}")

    listing = fetch(CDC_ROOT, timeout=60.0)
    fixture = REPO / "tests" / "fixtures" / "codes" / "cdc_root_listing.html"
    fixture.write_bytes(listing.content)
    manifest["cdc_root_listing"] = {
        "source_url": CDC_ROOT,
        "raw_sha256": listing.sha256,
        "fetched_at": fetched_at,
        "fixture": "tests/fixtures/codes/cdc_root_listing.html",
    }
    print(f"cdc listing: {len(listing.content)} bytes -> {fixture}")

    (HERE / "manifest.json").write_text(
        json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    print("wrote manifest.json")


if __name__ == "__main__":
    main()
