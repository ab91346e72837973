"""Terminal output: aligned tables for people, tab-separated text for pipes, quiet progress."""

from __future__ import annotations

import io

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.cli.terminal import Progress, table
from tests.conftest import REPO, Bundled

ROWS = [("hcpcs", "2019", "6,800"), ("hcpcs", "2020", "7,079")]


def test_table_on_a_terminal_is_aligned_with_a_rule() -> None:
    assert table(("codeset", "version", "rows"), ROWS, tty=True).splitlines() == [
        "codeset  version  rows",
        "-------  -------  -----",
        "hcpcs    2019     6,800",
        "hcpcs    2020     7,079",
    ]


def test_table_in_a_pipe_is_tab_separated() -> None:
    assert table(("codeset", "version", "rows"), ROWS, tty=False).splitlines()[1] == (
        "hcpcs\t2019\t6,800"
    )


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_only_on_a_terminal() -> None:
    piped = io.StringIO()
    Progress(piped)("hcpcs 2021", 500, 1000)
    assert piped.getvalue() == ""
    tty = FakeTerminal()
    progress = Progress(tty)
    progress("hcpcs 2021", 0, 2_000_000)
    progress("hcpcs 2021", 2_000_000, 2_000_000)
    assert "[########################] 2.0 / 2.0 MB" in tty.getvalue()
    assert tty.getvalue().endswith("\n")


def test_quiet_and_verbose(bundled: Bundled) -> None:
    base = [
        "--config",
        str(REPO / "codesets.toml"),
        "--store",
        str(bundled.store.root),
        "--out",
        str(bundled.out),
    ]
    runner = CliRunner()
    quiet = runner.invoke(cli, [*base, "--quiet", "run"], catch_exceptions=False)
    assert quiet.exit_code == 0, quiet.output
    assert quiet.output.strip().splitlines() == [
        f"0 new edition(s), 25 cycle(s), 0 file(s) written under {bundled.out}: nothing new"
    ]
    verbose = runner.invoke(cli, [*base, "--verbose", "run"], catch_exceptions=False)
    assert "hcpcs 2019: already stored, identical content" in verbose.output
    assert "took " in verbose.output
    both = runner.invoke(cli, [*base, "-q", "-v", "run"])
    assert both.exit_code == 2 and "contradict" in both.stderr


def test_completion_script_is_available() -> None:
    result = CliRunner().invoke(
        cli, [], env={"_CODESET_COMPLETE": "bash_source"}, prog_name="codeset"
    )
    assert "_codeset_completion" in result.output
