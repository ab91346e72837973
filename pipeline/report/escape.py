"""One escaping function per target: every string from the data passes through the one of
the place it is going to, where it leaves the core.

- HTML and the Atom feed: Jinja's autoescape (`markupsafe.escape`), on for every template
  of the HTML environment.
- Markdown: `markdown_escape`, applied to every `{{ ... }}` of a Markdown template by the
  environment itself (`finalize`), so a template cannot forget it.
- CSV cells: `csv_cell` (`csv_cells` for a frame: the full lists beside a report), which
  neutralises spreadsheet formulas (OWASP's advice).
- Terminal: `terminal_text`, which strips control characters (escape sequences).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import Markup

if TYPE_CHECKING:
    import polars as pl

#: Characters that make inline Markdown (emphasis, code, links, tables, strike-through).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
#: HTML-significant characters become entities, so no raw HTML reaches the page.
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9]):/|www\.|@(?=[a-z0-9])")
#: C0 and C1 control characters except tab and newline, and DEL: what a terminal obeys.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: A terminal escape sequence (CSI, OSC, or a two-byte ESC sequence): removed whole, so
#: that no `[31m` is left behind when the ESC goes.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]"
)
#: Cell openings a spreadsheet takes for a formula (OWASP: CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
FORMULA_STARTS = _FORMULA
#: A plain number written as text (`-0.05`, `+12`): a value, never a formula.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def text(value: Any) -> str:
    """How a value reads as text: blanks shown as an em dash, dates in ISO form."""
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def markdown_escape(value: Any) -> Markup:
    """Neutralise Markdown and raw HTML in data, so a descriptor can never become markup.

    Returns `Markup`, which the Markdown environment does not escape again.
    """
    if isinstance(value, Markup):
        return value
    s = value if isinstance(value, str) else text(value)
    s = _CONTROL.sub("", s.replace("\r", " ").replace("\n", " "))
    s = _MD_SPECIAL.sub(r"\\\1", s)
    for char, entity in _MD_ENTITIES.items():
        s = s.replace(char, entity)
    # GitHub turns bare URLs, www. names and e-mail addresses into links: a zero-width
    # space keeps them text.
    return Markup(_MD_AUTOLINK.sub(lambda m: m.group(0)[:-1] + "\u200b" + m.group(0)[-1], s))


#: What may sit in a Markdown code span as it is (ids, labels, file names, digests).
_PLAIN = re.compile(r"[A-Za-z0-9 ._:/()+…-]+")


def markdown_code(value: Any) -> Markup:
    """An inline code span for a tame value (an id, a file name, a digest); anything else
    is escaped as ordinary text, since a code span would show markup characters raw."""
    s = value if isinstance(value, str) else text(value)
    return Markup(f"`{s}`") if _PLAIN.fullmatch(s) else markdown_escape(s)


def markdown_url(value: Any) -> Markup:
    """A relative link target: every character but letters, digits and `/._-~` is
    percent-encoded, so a name from the data can neither break out of `(...)` nor
    become a `javascript:` link."""
    return Markup(quote(value if isinstance(value, str) else text(value), safe="/._-~"))


def csv_cell(value: Any) -> Any:
    """A cell safe to open in a spreadsheet: text starting with = + - @ (or a tab or
    carriage return) gets a leading apostrophe, so it is shown, never evaluated.
    Numbers and dates are left as they are, and so is a plain number written as text
    (`-0.05`): a negative number is not a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_cells(frame: pl.DataFrame) -> pl.DataFrame:
    """`csv_cell` over every text column of a frame, as polars expressions."""
    import polars as pl

    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not text:
        return frame
    formula = "^[=+\\-@\t\r]"
    number = f"^{_NUMBER.pattern}$"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(formula) & ~pl.col(c).str.contains(number))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def terminal_text(value: Any) -> str:
    """Text safe to print on a terminal: control characters (escape sequences) removed."""
    s = value if isinstance(value, str) else text(value)
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", s)) if _CONTROL.search(s) else s
