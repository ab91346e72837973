"""The configuration file `codesets.toml`: which code sets, how to read them, which editions.

Parsed into frozen dataclasses and validated strictly: a typo in a key is an
error that names the key and where it is, not a silently ignored setting.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipeline.codesets import builtin, kinds, reader_options
from pipeline.errors import ConfigError, InputError
from pipeline.impact.severity import RULES, SEVERITIES, SeverityRules
from pipeline.sources.base import read_file
from pipeline.spec import (
    CodeSetSpec,
    Edition,
    FeedSettings,
    GuardLimits,
    ReaderSpec,
    check_name,
)


@dataclass(frozen=True)
class Config:
    path: Path | None
    codesets: Mapping[str, CodeSetSpec]
    #: The clinic's watchlist CSV (`[watchlist] path = ...`), if the project has one.
    watchlist: Path | None = None
    severity: SeverityRules = field(default_factory=SeverityRules)
    #: Where snapshots live: a directory (relative to this file) or an object-storage URL.
    store: str | None = None
    #: The clinic's last quarter of claim lines (`[claims] path = ...`): each new cycle's
    #: report then shows them re-judged under the cycle's new edition.
    claims: Path | None = None

    def codeset(self, codeset_id: str) -> CodeSetSpec:
        """The configured code set, else the built-in one of that id."""
        spec = self.codesets.get(codeset_id) or builtin().get(codeset_id)
        if spec is None:
            known = ", ".join(sorted(set(self.codesets) | set(builtin())))
            raise ConfigError(f"unknown code set {codeset_id!r} (known: {known})")
        return spec


_CODESET_KEYS = {
    "kind",
    "title",
    "publisher",
    "key",
    "reader",
    "descriptors",
    "compare",
    "ignore",
    "termination",
    "editions",
    "guard",
    "display",
    "feed",
}
_REQUIRED_CODESET_KEYS = ("title", "publisher", "key", "reader")
_EDITION_KEYS = {"version", "effective", "source", "note", "sha256"}
_READER_KEYS = {"format", "member", "encoding"}


def load_config(path: Path) -> Config:
    """Read and validate a configuration file; relative source paths resolve against it."""
    try:
        raw = tomllib.loads(read_file(path, "configuration file").decode("utf-8"))
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return parse_config(raw, path)


def parse_config(raw: Mapping[str, Any], path: Path | None = None) -> Config:
    where = str(path) if path else "configuration"
    _no_unknown(raw, {"codesets", "watchlist", "severity", "store", "claims"}, where)
    tables = raw.get("codesets", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{where}: [codesets] must be a table of code-set tables")
    base = path.parent if path else Path.cwd()
    codesets = {
        cid: _parse_codeset(cid, body, base, f"{where}: [codesets.{cid}]")
        for cid, body in tables.items()
    }
    return Config(
        path=path,
        codesets=codesets,
        watchlist=_parse_watchlist(raw.get("watchlist"), base, f"{where}: [watchlist]"),
        severity=_parse_severity(raw.get("severity"), f"{where}: [severity]"),
        store=_parse_store(raw.get("store"), base, f"{where}: store"),
        claims=_parse_claims(raw.get("claims"), base, f"{where}: [claims]"),
    )


def _parse_store(value: Any, base: Path, where: str) -> str | None:
    if value is None:
        return None
    text = _str(value, where)
    return text if "://" in text else str(base / text)


def _parse_watchlist(body: Any, base: Path, where: str) -> Path | None:
    if body is None:
        return None
    if not isinstance(body, dict):
        raise ConfigError(f'{where}: must be a table, e.g. path = "watchlists/clinic.csv"')
    _no_unknown(body, {"path"}, where)
    return base / _str(body.get("path"), f"{where}.path")


def _parse_claims(body: Any, base: Path, where: str) -> Path | None:
    if body is None:
        return None
    if not isinstance(body, dict):
        raise ConfigError(f'{where}: must be a table, e.g. path = "claims/last-quarter.csv"')
    _no_unknown(body, {"path"}, where)
    return base / _str(body.get("path"), f"{where}.path")


def _parse_severity(body: Any, where: str) -> SeverityRules:
    if body is None:
        return SeverityRules()
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: must be a table")
    _no_unknown(body, {"payment_threshold", "rules"}, where)
    threshold = body.get("payment_threshold", 0.02)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not math.isfinite(threshold)
        or not 0 <= threshold <= 10
    ):
        raise ConfigError(
            f"{where}.payment_threshold: expected a fraction such as 0.02, got {threshold!r}"
        )
    rules = body.get("rules", {})
    if not isinstance(rules, dict):
        raise ConfigError(f"{where}.rules: expected a table of rule = severity")
    for rule, level in rules.items():
        if rule not in RULES:
            raise ConfigError(f"{where}.rules: unknown rule {rule!r} (known: {', '.join(RULES)})")
        if level not in SEVERITIES:
            raise ConfigError(
                f"{where}.rules.{rule}: expected one of {', '.join(SEVERITIES)}, got {level!r}"
            )
    return SeverityRules(payment_threshold=Decimal(str(threshold)), overrides=dict(rules))


def _parse_codeset(cid: str, body: Any, base: Path, where: str) -> CodeSetSpec:
    """A code-set table; for a built-in id, or a table that names a built-in kind, every
    field is optional and overrides the kind's built-in code set."""
    try:
        check_name(cid, "code-set id")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: must be a table")
    _no_unknown(body, _CODESET_KEYS, where)
    start = builtin().get(cid)
    if "kind" in body:
        name = _str(body["kind"], f"{where}.kind")
        if name not in kinds():
            known = ", ".join(kinds())
            raise ConfigError(f"{where}.kind: unknown kind {name!r} (known: {known})")
        kind_spec = kinds()[name].spec
        start = replace(kind_spec, id=cid) if kind_spec is not None else None
    if start is None:
        for name in _REQUIRED_CODESET_KEYS:
            if name not in body:
                raise ConfigError(f"{where}: missing required key {name!r}")
    fields: dict[str, Any] = {}
    if "title" in body:
        fields["title"] = _str(body["title"], f"{where}.title")
    if "publisher" in body:
        fields["publisher"] = _str(body["publisher"], f"{where}.publisher")
    if "key" in body:
        fields["key"] = tuple(_str_list(body["key"], f"{where}.key"))
        if not fields["key"]:
            raise ConfigError(f"{where}.key: name at least one key column")
    if "reader" in body:
        fields["reader"] = _parse_reader(body["reader"], f"{where}.reader")
    for name in ("descriptors", "ignore", "display"):
        if name in body:
            fields[name] = tuple(_str_list(body[name], f"{where}.{name}"))
    if "compare" in body:
        fields["compare"] = tuple(_str_list(body["compare"], f"{where}.compare"))
    if "termination" in body:
        fields["termination"] = _str(body["termination"], f"{where}.termination")
    if "guard" in body:
        fields["guard"] = _parse_guard(body["guard"], f"{where}.guard")
    if "feed" in body:
        fields["feed"] = _parse_feed(body["feed"], f"{where}.feed")
    editions = tuple(
        _parse_edition(e, base, f"{where}.editions[{i}]")
        for i, e in enumerate(body.get("editions", []))
    )
    seen: set[str] = set()
    for ed in editions:
        if ed.version in seen:
            raise ConfigError(f"{where}: two editions are labelled {ed.version!r}")
        seen.add(ed.version)
    fields["editions"] = tuple(sorted(editions, key=lambda e: (e.effective, e.version)))
    if "kind" in body:
        fields["kind"] = body["kind"]
    if start is not None:
        return replace(start, **fields)
    return CodeSetSpec(id=cid, **fields)


def _parse_guard(body: Any, where: str) -> GuardLimits:
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: must be a table, e.g. {{ max_shrink = 0.2 }}")
    _no_unknown(body, {"max_shrink", "max_deleted"}, where)
    limits = {}
    for name, value in body.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ConfigError(f"{where}.{name}: expected a fraction from 0 to 1, got {value!r}")
        limits[name] = float(value)
    return GuardLimits(**limits)


def _parse_feed(body: Any, where: str) -> FeedSettings:
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: must be a table, e.g. [codesets.hcpcs.feed]")
    allowed = {"kind", "pages", "since", "skip", "sha256", "timeout", "deadline"}
    _no_unknown(body, allowed, where)
    pages = tuple(_strings(body.get("pages", []), f"{where}.pages", "listing-page URLs"))
    for page in pages:
        if not page.startswith(("https://", "http://")):
            raise ConfigError(f"{where}.pages: expected http(s):// URLs, got {page!r}")
    skip = tuple(_strings(body.get("skip", []), f"{where}.skip", "edition labels"))
    pins = body.get("sha256", {})
    if not isinstance(pins, dict):
        raise ConfigError(f'{where}.sha256: expected a table of edition = "sha256"')
    seconds = {}
    for name in ("timeout", "deadline"):
        if name in body:
            value = body[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"{where}.{name}: expected a number of seconds, got {value!r}")
            seconds[name] = float(value)
    kind = _str(body["kind"], f"{where}.kind") if "kind" in body else None
    if kind is not None:
        from pipeline.codesets import kinds

        feeds = [name for name, k in kinds().items() if k.feed is not None]
        if kind not in feeds:
            known = ", ".join(feeds)
            raise ConfigError(f"{where}.kind: no release feed for {kind!r} (known: {known})")
    return FeedSettings(
        kind=kind,
        pages=pages,
        since=parse_date(body["since"], f"{where}.since") if "since" in body else None,
        skip=skip,
        sha256={str(v): _sha256(h, f"{where}.sha256.{v}") for v, h in pins.items()},
        **seconds,
    )


def _strings(value: Any, where: str, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of {what}, got {value!r}")
    return list(value)


def _parse_reader(body: Any, where: str) -> ReaderSpec:
    if not isinstance(body, dict):
        raise ConfigError(f'{where}: must be a table, e.g. {{ format = "delimited" }}')
    fmt = _str(body.get("format", "auto"), f"{where}.format")
    options = reader_options()
    if fmt not in options:
        raise ConfigError(
            f"{where}.format: unknown reader {fmt!r} (known: {', '.join(sorted(options))})"
        )
    _no_unknown(body, _READER_KEYS | options[fmt], where)
    options = {k: v for k, v in body.items() if k not in _READER_KEYS}
    for name, value in options.items():
        _check_option(name, value, f"{where}.{name}")
    return ReaderSpec(
        format=fmt,
        member=_str(body["member"], f"{where}.member") if "member" in body else None,
        encoding=_str(body.get("encoding", "auto"), f"{where}.encoding"),
        options=options,
    )


_OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "columns": (dict,),
    "types": (dict,),
    "date_format": (str,),
    "delimiter": (str,),
    "skip_lines": (int,),
    "skip_rows": (int,),
    "header": (bool,),
    "names": (list,),
    "quote": (str,),
    "sheet": (str, int),
    "fields": (list,),
    "headers": (bool,),
}


def _check_option(name: str, value: Any, where: str) -> None:
    """Reader options have fixed shapes; check them here so the reader never meets a surprise."""
    expected = _OPTION_TYPES.get(name)
    if expected and (
        not isinstance(value, expected) or (bool in expected) != (type(value) is bool)
    ):
        shapes = " or ".join(
            t.__name__.replace("dict", "table").replace("list", "array") for t in expected
        )
        raise ConfigError(f"{where}: expected {shapes}, got {value!r}")
    if name in ("columns", "types") and not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigError(f"{where}: expected a table of strings, got {value!r}")
    if name == "types":
        bad = sorted(set(value.values()) - {"str", "int", "decimal", "date"})
        if bad:
            raise ConfigError(f"{where}: unknown type(s) {bad}; use str, int, decimal or date")
    if name in ("skip_lines", "skip_rows") and value < 0:
        raise ConfigError(f"{where}: must not be negative")


def _parse_edition(body: Any, base: Path, where: str) -> Edition:
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: must be a table")
    _no_unknown(body, _EDITION_KEYS, where)
    for name in ("version", "effective", "source"):
        if name not in body:
            raise ConfigError(f"{where}: missing required key {name!r}")
    version = _str(body["version"], f"{where}.version")
    try:
        check_name(version, "version label")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    source = _str(body["source"], f"{where}.source")
    if not source.startswith(("https://", "http://")):
        source = str(base / source)
    return Edition(
        version=version,
        effective=parse_date(body["effective"], f"{where}.effective"),
        source=source,
        note=_str(body["note"], f"{where}.note") if "note" in body else None,
        sha256=_sha256(body["sha256"], f"{where}.sha256") if "sha256" in body else None,
    )


def _sha256(value: Any, where: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ConfigError(f"{where}: expected 64 hexadecimal digits, got {value!r}")
    return value.lower()


def parse_date(value: Any, where: str) -> date:
    """Accept a TOML date or an ISO `YYYY-MM-DD` string (not a date-time)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ConfigError(f"{where}: expected a date as YYYY-MM-DD, got {value!r}")


def _no_unknown(body: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _str_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of column names, got {value!r}")
    return list(value)
