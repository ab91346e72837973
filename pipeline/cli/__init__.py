"""The `codeset` command line: parses arguments, calls the core, prints."""

from __future__ import annotations

from pipeline.cli.commands import cli as cli
from pipeline.cli.commands import main as main
