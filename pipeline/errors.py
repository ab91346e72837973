"""The project's exception types.

Every failure a user can cause (a bad file, a bad configuration, a conflicting
snapshot) is a `PipelineError`; the CLI turns it into one line on stderr and
exit code 2. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


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


class DiffError(PipelineError):
    """Two stored editions that cannot be compared (a key column changed type)."""


class FeedError(PipelineError):
    """A publisher's listing page that no longer shows what its release feed looks for,
    or a file it links that is not a release file."""
