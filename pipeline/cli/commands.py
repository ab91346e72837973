"""The `codeset` command: parses arguments, calls the core, prints, picks the exit code.

Exit codes: 0 success; 1 `run --fail-on` found an item at that severity in a new
cycle (every report is written first); 2 any error (one line on stderr, naming
the file and, where known, the line and column).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pipeline import __version__
from pipeline.cli.terminal import (
    Progress,
    audit_text,
    change_summary,
    claims_text,
    clean,
    counts_line,
    discovery_lines,
    found_line,
    is_terminal,
    table,
    timeline_text,
)
from pipeline.errors import PipelineError, os_fault

if TYPE_CHECKING:
    from pipeline.impact.severity import Severity
    from pipeline.project.project import Project

EXIT_OK, EXIT_FAIL_ON, EXIT_ERROR = 0, 1, 2
#: Interrupted (Ctrl-C, SIGINT): the shell's convention, 128 + the signal number.
EXIT_INTERRUPTED = 130
F = TypeVar("F", bound=Callable[..., Any])


def lock_timeout_option(func: F) -> F:
    return click.option(
        "--lock-timeout",
        type=float,
        default=60.0,
        show_default=True,
        help="Seconds to wait for another run to release the store.",
    )(func)


def markdown_limit_option(func: F) -> F:
    return click.option(
        "--markdown-limit",
        type=click.IntRange(min=4096),
        default=1_000_000,
        show_default=True,
        help="Largest Markdown report in bytes (a GitHub job summary takes 1 MiB, a "
        "pull-request comment 65536): long sections show fewer rows and say so.",
    )(func)


def watchlist_option(func: F) -> F:
    return click.option(
        "--watchlist",
        "watchlist_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="The clinic's watchlist CSV.  [default: the configuration's [watchlist] path]",
    )(func)


@dataclass
class Context:
    config_path: Path | None
    store_dir: str | None
    out_dir: Path
    #: 0 quiet, 1 normal, 2 verbose.
    verbosity: int = 1

    def say(self, text: str, level: int = 1) -> None:
        """Print `text` if the verbosity asks for it (errors never go through here)."""
        if self.verbosity >= level:
            click.echo(clean(text))

    def project(self, watchlist: Path | None = None) -> Project:
        """The project of --config / --store / --out (and --watchlist, where a command has it)."""
        from pipeline.project.project import Project

        return Project.open(self.config_path, self.store_dir, self.out_dir, watchlist)


class CodesetGroup(click.Group):
    """Usage errors, like every other error, are one line on stderr and exit code 2; an
    interrupt is one line too (click's own handler would print a blank line first)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("error: interrupted; nothing was half-written", err=True)
            sys.exit(EXIT_INTERRUPTED)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except PipelineError as exc:
            click.echo(f"error: {clean(str(exc))}", err=True)
            sys.exit(EXIT_ERROR)
        except OSError as exc:  # the environment (a full disk, permissions), never a bug
            click.echo(f"error: {clean(str(os_fault(exc)))}", err=True)
            sys.exit(EXIT_ERROR)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(EXIT_ERROR)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            where = f"{ctx.command_path}: " if ctx is not None else ""
            click.echo(f"error: {where}{exc.format_message()}", err=True)
            sys.exit(EXIT_ERROR)
        sys.exit(code if isinstance(code, int) else EXIT_OK)


@click.group(cls=CodesetGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="codeset")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Configuration file.  [default: ./codesets.toml]",
)
@click.option(
    "--store",
    "store_dir",
    default=None,
    help="Snapshot store: a directory, or an object-storage URL such as s3://bucket/prefix.  "
    "[default: the configuration's `store`, else ./snapshots]",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("reports"),
    show_default=True,
    help="Directory the reports are written to.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and the final summary.")
@click.option("-v", "--verbose", is_flag=True, help="Also print each file written and timings.")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: Path | None,
    store_dir: str | None,
    out_dir: Path,
    quiet: bool,
    verbose: bool,
) -> None:
    """Track revisions of medical code sets: ingest each new edition, store it as a
    versioned snapshot, and report what changed since the previous one."""
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose contradict each other")
    ctx.obj = Context(
        config_path=config_path,
        store_dir=store_dir,
        out_dir=out_dir,
        verbosity=0 if quiet else 2 if verbose else 1,
    )


@cli.command()
@click.argument("codeset")
@click.argument("source", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--version", "version", required=True, help="Label of this edition, e.g. 2020.")
@click.option(
    "--effective",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date the edition takes effect (YYYY-MM-DD). Default: the configured edition's, "
    "else implied by the label (2020, FY2025, RVU25D) or the file name (Eff_10-01-2026).",
)
@click.option(
    "--allow-mass-change",
    is_flag=True,
    help="Store the edition even if it shrinks or deletes past the code set's guard limits.",
)
@lock_timeout_option
@click.pass_obj
def ingest(
    obj: Context,
    codeset: str,
    source: Path,
    version: str,
    effective: Any,
    allow_mass_change: bool,
    lock_timeout: float,
) -> None:
    """Read SOURCE (a release file or zip) and store it as CODESET edition VERSION.

    The reader is the configured one, or detected from the file's content."""
    result = obj.project().ingest(
        codeset,
        source,
        version,
        effective.date() if effective is not None else None,
        allow_mass_change=allow_mass_change,
        lock_timeout=lock_timeout,
    )
    click.echo(clean(result.message))


@cli.command(name="list")
@click.argument("codeset", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def list_(obj: Context, codeset: str | None, fmt: str) -> None:
    """List stored editions (of one CODESET, or all)."""
    project = obj.project()
    if codeset is not None:
        project.spec(codeset)
    manifests = project.store.manifests(codeset)
    if fmt == "json":
        click.echo(json.dumps([m.to_dict() for m in manifests], indent=2, ensure_ascii=False))
        return
    if not manifests:
        click.echo(f"no snapshots in {project.store}")
        return
    rows = [
        (m.codeset, m.version, m.effective_date.isoformat(), f"{m.rows:,}", m.source.name)
        for m in manifests
    ]
    header = ("codeset", "version", "effective", "rows", "source")
    click.echo(table(header, rows, is_terminal(sys.stdout)))


@cli.command()
@click.argument("codeset")
@click.option("--from", "old", help="Older edition.  [default: the one before --to]")
@click.option("--to", "new", help="Newer edition.  [default: the newest]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "md"]),
    default="text",
    show_default=True,
)
@watchlist_option
@click.pass_obj
def diff(
    obj: Context,
    codeset: str,
    old: str | None,
    new: str | None,
    fmt: str,
    watchlist_path: Path | None,
) -> None:
    """Show what changed between two stored editions of CODESET (the same cycle `run`
    reports, judged against the watchlist)."""
    analysis = obj.project(watchlist_path).cycle(codeset, old, new)
    if fmt == "json":
        from pipeline.report.render import cycle_json

        click.echo(cycle_json(analysis), nl=False)
    elif fmt == "md":
        from pipeline.report.render import render_cycle

        click.echo(render_cycle(analysis)["md"], nl=False)
    else:
        click.echo(change_summary(analysis.changes, is_terminal(sys.stdout)))


@cli.command()
@click.argument("codeset")
@click.option("--from", "old", help="Older edition.  [default: the one before --to]")
@click.option("--to", "new", help="Newer edition.  [default: the newest]")
@click.option(
    "--publish",
    is_flag=True,
    help="Add a pair of editions that are not consecutive to the published index too.",
)
@watchlist_option
@markdown_limit_option
@lock_timeout_option
@click.pass_obj
def report(
    obj: Context,
    codeset: str,
    old: str | None,
    new: str | None,
    publish: bool,
    watchlist_path: Path | None,
    markdown_limit: int,
    lock_timeout: float,
) -> None:
    """Write the HTML, Markdown and JSON reports of one cycle of CODESET, and the index.

    Two editions with another stored between them are not a cycle of the published
    index: refused unless --publish says to add them."""
    from pipeline.report.render import cycle_stem

    project = obj.project(watchlist_path)
    old_snap, new_snap = project.pick(codeset, old, new)
    if not publish and not project.is_consecutive(old_snap, new_snap):
        o, n = old_snap.manifest.version, new_snap.manifest.version
        raise PipelineError(
            f"{codeset} {o} -> {n} skips stored editions, so it is not a cycle of the "
            f"published index; add --publish to add it anyway, or read it with "
            f"`codeset diff {codeset} --from {o} --to {n} --format md`"
        )
    analysis, _ = project.report(codeset, old, new, markdown_limit, lock_timeout)
    cs = analysis.changes
    stem = obj.out_dir / codeset / cycle_stem(cs.old.version, cs.new.version)
    click.echo(f"{counts_line(cs)}\nwrote {stem}.html, .md, .json and {obj.out_dir}/index.html")


@cli.command()
@click.option(
    "--allow-mass-change",
    is_flag=True,
    help="Store editions even if they shrink or delete past their code set's guard limits.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["critical", "warning"]),
    default=None,
    help="Exit 1 (after writing every report) if a cycle this run produced has an item "
    "of this severity or worse for the watchlist.",
)
@click.option(
    "--summary",
    "summary_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write what this run brought as Markdown to this file (appended: give "
    "$GITHUB_STEP_SUMMARY): the new editions and cycles only, or 'no new edition'.",
)
@click.option(
    "--no-feed",
    "no_feed",
    is_flag=True,
    help="Do not read the release feeds: ingest only the configured editions (offline).",
)
@watchlist_option
@markdown_limit_option
@lock_timeout_option
@click.pass_obj
def run(
    obj: Context,
    allow_mass_change: bool,
    fail_on: Severity | None,
    summary_path: Path | None,
    no_feed: bool,
    watchlist_path: Path | None,
    markdown_limit: int,
    lock_timeout: float,
) -> None:
    """Ingest every configured edition and what the release feeds found, diff consecutive
    editions, write all reports.

    Exit codes: 0 done (nothing at the --fail-on level); 1 a new cycle has an item at
    the --fail-on level; 2 error (including a feed's listing page on which no release
    link matches any more)."""
    from pipeline.project.run import run as do_run

    started = time.monotonic()
    project = obj.project(watchlist_path)
    if not project.config.codesets:
        raise PipelineError(f"{obj.config_path or 'codesets.toml'}: no code sets configured")
    progress = Progress()
    result = do_run(
        project,
        allow_mass_change=allow_mass_change,
        lock_timeout=lock_timeout,
        progress=progress,
        status=progress.note,
        markdown_limit=markdown_limit,
        feeds=not no_feed,
    )
    if result.discovery is not None:
        news, quiet = discovery_lines(result.discovery)
        for line in news:
            obj.say(line, 0)
        for line in quiet:
            obj.say(line)
    for outcome in result.ingested:
        obj.say(outcome.message, 2 if outcome.status == "unchanged" else 1)
    for fetched in result.fetched:
        obj.say(f"{fetched.url}: {fetched.status} ({fetched.bytes:,} bytes)", 2)
    for cs in result.cycles:
        obj.say(counts_line(cs))
    if result.rerendered:
        older = ", ".join(
            f"{a.changes.codeset} {a.changes.old.version} -> {a.changes.new.version}"
            for a in result.rerendered
        )
        obj.say(
            f"rewrote {len(result.rerendered)} older cycle report(s) whose inputs changed "
            f"(watchlist, reference data or report format), not their editions: {older}"
        )
    for path in result.written:
        obj.say(f"wrote {path}", 2)
    obj.say(
        f"{len(result.stored)} new edition(s), {len(result.cycles)} cycle(s), "
        f"{len(result.written)} file(s) written under {obj.out_dir}"
        + ("" if result.stored or result.written else ": nothing new"),
        0,
    )
    obj.say(f"took {time.monotonic() - started:.1f} s", 2)
    if summary_path is not None:
        from datetime import UTC, datetime

        from pipeline.report.render import render_summary

        feeds = {c.codeset: c for c in result.discovery.checks} if result.discovery else {}
        checked = [
            f"{cid} ({len(spec.editions)} editions)"
            if cid not in feeds
            else f"{cid} (release feed: {', '.join(feeds[cid].pages)})"
            for cid, spec in project.config.codesets.items()
        ]
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        found = result.discovery.news if result.discovery is not None else []
        origins = {f"{f.codeset} {f.label}": f.release.url for f in found if f.label}
        text = render_summary(
            result.new_analyses,
            [r.snapshot.manifest for r in result.stored],
            checked,
            now,
            origins=origins,
        )
        with summary_path.open("a", encoding="utf-8") as out:
            out.write(text)
    if fail_on is not None:
        from pipeline.report.render import item_sentences

        hits = [i for a in result.new_analyses for i in a.impact.at_least(fail_on)]
        if hits:
            cycles = sorted({f"{i.codeset} {i.old_version} → {i.new_version}" for i in hits})
            click.echo(
                f"fail-on {fail_on}: {len(hits)} item(s) at {fail_on} or worse in "
                f"{', '.join(cycles)} (e.g. {hits[0].code}: {item_sentences(hits[0])[0]})",
                err=True,
            )
            sys.exit(EXIT_FAIL_ON)


@cli.command()
@click.argument("codeset", required=False)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def discover(obj: Context, codeset: str | None, fmt: str) -> None:
    """List the editions the release feeds find that are not stored yet (of one CODESET
    with a feed, or all), without storing anything.

    New files are downloaded into the store's download cache to be checked (sha256, a
    re-issue's records); no snapshot, lock or report is written. Exit 0, or 2 on an
    error, such as a listing page on which no release link matches any more."""
    from pipeline.project.discover import discover as do_discover
    from pipeline.project.discover import has_feeds

    project = obj.project()
    if not has_feeds(project.config):
        raise PipelineError(
            f"{obj.config_path or 'codesets.toml'}: no code set has a release feed "
            "(add [codesets.<id>.feed])"
        )
    found = do_discover(project.config, project.store, only=codeset)
    if fmt == "json":
        click.echo(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
        return
    news, quiet = discovery_lines(found)
    for line in news + quiet:
        click.echo(line)
    for check in found.checks:
        for item in check.found:
            if not item.is_news and item.status != "parts":
                obj.say(found_line(item), 2)


@cli.command()
@click.pass_obj
def verify(obj: Context) -> None:
    """Re-hash every snapshot against its manifest and check the reports against the store.

    Exit 0 when intact, 2 listing every problem. Leftovers of an interrupted run
    are mentioned but are not damage."""
    from pipeline.project.verify import verify as do_verify

    result = do_verify(obj.project().store, obj.out_dir)
    for notice in result.notices:
        click.echo(f"note: {notice}")
    for problem in result.problems:
        click.echo(f"problem: {problem}", err=True)
    click.echo(
        f"checked {result.snapshots} snapshot(s) and {result.reports} cycle report(s): "
        + ("ok" if result.ok else f"{len(result.problems)} problem(s)")
    )
    if not result.ok:
        sys.exit(EXIT_ERROR)


@cli.command()
@click.argument("code")
@click.option("--codeset", help="Only this code set.  [default: every stored code set]")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@watchlist_option
@click.pass_obj
def history(
    obj: Context, code: str, codeset: str | None, fmt: str, watchlist_path: Path | None
) -> None:
    """Show CODE's timeline across every stored edition: added, changed, discontinued.

    ICD-10-CM codes may be given with or without the dot. Exit 1 when no stored edition
    lists CODE."""
    from pipeline.impact.watchlist import normalize_code

    code = normalize_code(code)
    project = obj.project(watchlist_path)
    timelines = project.history(code, codeset)
    if fmt == "json":
        click.echo(json.dumps([t.to_dict() for t in timelines], indent=2, ensure_ascii=False))
    elif timelines:
        click.echo(timeline_text(code, timelines))
    if not timelines:
        sets = [codeset] if codeset else project.stored_codesets()
        where = ", ".join(sets) or "any code set"
        click.echo(f"{code}: not found in any stored edition of {where}", err=True)
        sys.exit(EXIT_FAIL_ON)


@cli.command()
@watchlist_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "md"]),
    default="text",
    show_default=True,
)
@click.pass_obj
def audit(obj: Context, watchlist_path: Path | None, fmt: str) -> None:
    """Check the watchlist against the newest editions: codes that do not exist, that
    Medicare does not pay, that were discontinued, listed twice, or mislabelled."""
    from pipeline.report.render import render_audit

    result = obj.project(watchlist_path).audit()
    if result is None:
        raise PipelineError(
            "no watchlist: give --watchlist FILE or [watchlist] in the configuration"
        )
    if fmt in ("json", "md"):
        click.echo(render_audit(result)[fmt], nl=False)
        return
    click.echo(audit_text(result))


@cli.command()
@click.argument("claims", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--as-of",
    "as_of",
    default=None,
    help="Also re-judge the claims under other editions and report the difference: "
    "'newest', a date (the editions in force that day) or CODESET=VERSION[,...].",
)
@click.option(
    "--fail-on",
    type=click.Choice(["fail", "no_data"]),
    default=None,
    help="Exit 1 (after writing the reports) if a line fails a rule ('fail'), or also if a "
    "line could not be judged for want of an edition ('no_data').",
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.pass_obj
def check(obj: Context, claims: Path, as_of: str | None, fail_on: str | None, fmt: str) -> None:
    """Check the claim lines in CLAIMS (a CSV) against the editions in force on each date of
    service: code validity, payment status, NCCI pairs, MUE limits, therapy modifiers.

    Writes <out>/claims/<name>.html, .md, .json and .findings.csv (every finding). Exit
    codes: 0 done; 1 --fail-on found a line at that level; 2 error (bad input: nothing
    written)."""
    from pipeline.claims import check_claims, in_force, read_claims, replay
    from pipeline.project.publish import write_files
    from pipeline.report.claims import check_files, render_check

    progress = Progress()
    project = obj.project()
    editions = in_force(project.store, project.config)
    progress.note(f"reading {claims.name} ...")
    lines = read_claims(claims)
    result = check_claims(claims, editions, progress.note, lines=lines)
    replayed = replay(result, editions, as_of, lines, progress.note) if as_of else None
    written = write_files(obj.out_dir / "claims", check_files(result, claims.stem, replayed))
    progress.note("")
    if fmt == "json":
        click.echo(render_check(result, replayed)["json"], nl=False)
    else:
        click.echo(claims_text(result, replayed, is_terminal(sys.stdout)))
        for path in written:
            obj.say(f"wrote {path}", 2)
        stem = obj.out_dir / "claims" / claims.stem
        obj.say(f"reports: {stem}.html, .md, .json, .findings.csv")
    if fail_on is not None and result.failing(fail_on):
        click.echo(
            f"fail-on {fail_on}: {result.failing(fail_on):,} finding(s) at {fail_on} or worse",
            err=True,
        )
        sys.exit(EXIT_FAIL_ON)


INTERRUPTED = "error: interrupted; nothing was half-written\n"


def _interrupted(signum: int, frame: object) -> None:
    """Ctrl-C: one line and exit 130 at once. Every file is published by an atomic rename
    (a kill at any moment leaves the store consistent, as the kill test checks), so there
    is nothing to unwind; raising KeyboardInterrupt instead could land inside a polars
    callback and surface as a panic with a traceback."""
    os.write(2, INTERRUPTED.encode())
    os._exit(EXIT_INTERRUPTED)


def main() -> None:
    """The `codeset` console script (and `python -m pipeline`)."""
    signal.signal(signal.SIGINT, _interrupted)
    cli()
