"""The project's exception types.

Every failure a user can cause (a bad file, a bad configuration, a conflicting
snapshot) is a `PipelineError`; the CLI turns it into one line on stderr and
exit code 2. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager


class PipelineError(Exception):
    """Base class: a problem with the input, the configuration or the store."""

    def __str__(self) -> str:
        return self.args[0] if self.args else self.__class__.__name__


class InputError(PipelineError):
    """A source file that cannot be read as the configured format.

    Carries where the problem is, so the message can point a person at it.
    """

    def __init__(
        self,
        file: str,
        message: str,
        *,
        line: int | None = None,
        column: str | int | None = None,
        offset: int | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.offset = offset
        self.message = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        if self.offset is not None:
            where += f", byte {self.offset}"
        return f"{where}: {self.message}"


class ConfigError(PipelineError):
    """An invalid configuration file or an unknown code set / edition."""


class StoreError(PipelineError):
    """A snapshot that conflicts with what is stored, or a damaged store."""


class MassChangeError(PipelineError):
    """An edition shrinks or deletes more than the code set's limits allow (a likely
    truncated download); `--allow-mass-change` stores it anyway."""


class DownloadError(PipelineError):
    """A release file that could not be fetched, or whose download failed verification."""


class EnvironmentFault(PipelineError):
    """The world got in the way: a full disk, a read-only or unwritable store, a file that
    cannot be read. Not the input's fault, and never a traceback."""


class DiffError(PipelineError):
    """Two stored editions that cannot be compared (a key column changed type)."""


def os_fault(exc: OSError, path: object = None, doing: str = "") -> EnvironmentFault:
    """One line for an OSError: the path it concerns, what was being done, and why.

    `path` is the file or directory meant (rather than the temporary the error may name);
    without it, the error's own file name."""
    import errno
    import os

    where = path if path is not None else exc.filename  # the file meant, not a temporary
    reason = (
        exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc)) or type(exc).__name__
    )
    hints = {
        errno.ENOSPC: "free some space and run again; nothing was half-written",
        errno.EDQUOT: "free some space and run again; nothing was half-written",
        errno.EROFS: "the file system is read-only; use a writable --store / --out",
        errno.EACCES: "check the permissions",
        errno.EPERM: "check the permissions",
        errno.EFBIG: "the file size limit was reached; nothing was half-written",
    }
    hint = hints.get(exc.errno or 0)
    text = f"{where}: " if where is not None else ""
    text += f"cannot {doing}: " if doing else ""
    text += reason[:1].lower() + reason[1:] if reason else ""
    return EnvironmentFault(text + (f" ({hint})" if hint else ""))


#: How polars (Rust) reports an operating-system error inside its own exception.
_OS_ERROR = re.compile(r"(?:IO error: )?(.*?) \(os error (\d+)\)")


@contextmanager
def environment_faults(path: object, doing: str) -> Iterator[None]:
    """Turn an OSError raised in the block (or polars' report of one, e.g. a full disk
    while writing Parquet) into an `EnvironmentFault` naming `path`."""
    try:
        yield
    except OSError as exc:
        raise os_fault(exc, path, doing) from None
    except Exception as exc:
        match = _OS_ERROR.search(str(exc)) if type(exc).__module__.startswith("polars") else None
        if match is None:
            raise
        raise os_fault(OSError(int(match[2]), _errno_text(int(match[2]))), path, doing) from None


def _errno_text(number: int) -> str:
    import os

    return os.strerror(number)


class LimitError(PipelineError):
    """Something past one of the stated limits (README, "Limits"): a report that would be
    larger than any real cycle's, a download slower than any real server."""


class FeedError(PipelineError):
    """A publisher's listing page that no longer shows what its release feed looks for,
    or a file it links that is not a release file."""
