"""The scheduled-job files: `.github/workflows/codeset-update.yml` and `.gitlab-ci.yml.example`.

They run only on someone else's CI, so these tests check here what can be checked: they
parse, trigger as documented, ask for the right permissions, call only make targets and
`codeset` commands that exist, handle the exit codes as documented (their shell is run with
a stand-in `codeset`), and show the newest cycle's report from an index of ours. `actionlint`
checks the workflow too when it is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.project.publish import write_index
from tests.conftest import REPO

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the workflow files")

WORKFLOW = REPO / ".github" / "workflows" / "codeset-update.yml"
GITLAB = REPO / ".gitlab-ci.yml.example"
MAKEFILE = REPO / "Makefile"
SUMMARY_LIMIT = 1024 * 1024  # GitHub's limit for one step's summary
FAIL_ON_LEVELS = ["none", "warning", "critical"]
HEREDOC = re.compile(r"python3 - (?P<arg>\S+) <<'PY'\n(?P<code>.*?)\nPY(?:\n|$)", re.S)

# --- helpers --------------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a mapping"
    return data


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict), "`on:` must be a mapping"
    return on


def github_steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in workflow["jobs"].items() for step in job["steps"]]


def github_scripts() -> list[str]:
    return [step["run"] for _, step in github_steps(load(WORKFLOW)) if "run" in step]


def gitlab_jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: job for name, job in config.items() if isinstance(job, dict) and "script" in job}


def gitlab_scripts() -> list[str]:
    return [
        line
        for job in gitlab_jobs(load(GITLAB)).values()
        for key in ("before_script", "script", "after_script")
        for line in job.get(key, [])
    ]


def step_named(workflow: dict[str, Any], needle: str) -> dict[str, Any]:
    found = [step for _, step in github_steps(workflow) if needle in step.get("name", "")]
    assert len(found) == 1, f"expected one step named like {needle!r}, found {len(found)}"
    return found[0]


def summary_script(text: str) -> str:
    match = HEREDOC.search(text)
    assert match, "no `python3 - FILE <<'PY'` summary script"
    return match["code"] + "\n"


def make_targets() -> set[str]:
    targets: set[str] = set()
    for line in MAKEFILE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([^\s:=#][^:=]*?)\s*:(?![:=])(.*)$", line)
        if not match:
            continue
        names = match[2].split() if match[1] == ".PHONY" else match[1].split()
        targets.update(n for n in names if "$" not in n)
    return targets


def make_rule(target: str) -> tuple[list[str], list[str]]:
    """The prerequisites and recipe lines of `target` in the Makefile."""
    lines = MAKEFILE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"^{re.escape(target)}\s*:(?!=)", line):
            recipe = []
            for following in lines[i + 1 :]:
                if not following.startswith("\t"):
                    break
                recipe.append(following.strip())
            return line.split(":", 1)[1].split(), recipe
    raise AssertionError(f"the Makefile has no rule for {target!r}")


def run_options() -> set[str]:
    command = cli.commands["run"]
    return {opt for param in command.params for opt in param.opts}


def real_cycle_reports(root: Path) -> Path:
    """`root/reports` holding one real cycle (the bundled PT/OT fee schedule, RVU23A ->
    RVU23D) and the index, as `codeset report` writes them (through `write_index`)."""
    store = root / "snapshots"
    for version in ("RVU23A", "RVU23D"):
        shutil.copytree(REPO / "snapshots" / "pfs-rvu" / version, store / "pfs-rvu" / version)
    out = root / "reports"
    args = ["--config", str(REPO / "codesets.toml"), "--store", str(store), "--out", str(out)]
    result = CliRunner().invoke(
        cli, [*args, "report", "pfs-rvu", "--from", "RVU23A", "--to", "RVU23D"]
    )
    assert result.exit_code == 0, result.output
    write_index(out)  # what `codeset run` ends with; a no-op after `report`
    return out


def run_summary(script: str, cwd: Path, tmp_path: Path) -> str:
    out = tmp_path / "summary.md"
    result = subprocess.run(
        [sys.executable, "-", str(out)],
        input=script,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8")


# --- they parse, and trigger as documented ---------------------------------------------------

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
CRON_NAMES = [
    {},
    {},
    {},
    {m: i for i, m in enumerate(MONTHS, start=1)},
    {d: i for i, d in enumerate(WEEKDAYS)},
]


def cron_is_valid(expr: str) -> bool:
    """POSIX cron, as GitHub Actions reads it: five fields of `*`, values, ranges, lists and
    steps (`*/15`, `1-5/2`), month and weekday names allowed."""
    fields = expr.split()
    if len(fields) != 5:
        return False
    for text, (low, high), names in zip(fields, CRON_RANGES, CRON_NAMES, strict=True):
        for item in text.split(","):
            base, _, step = item.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                return False
            if base == "*":
                continue
            bounds = base.split("-")
            if len(bounds) > 2:
                return False
            values = [names.get(b.upper(), int(b) if b.isdigit() else None) for b in bounds]
            if any(v is None or not low <= v <= high for v in values):
                return False
            if len(values) == 2 and values[0] > values[1]:  # type: ignore[operator]
                return False
    return True


@pytest.mark.parametrize(
    ("expr", "valid"),
    [
        ("0 6 2 * *", True),
        ("*/15 0-23/2 1,15 JAN-MAR MON-FRI", True),
        ("0 6 2 *", False),
        ("60 6 2 * *", False),
        ("0 6 0 * *", False),
        ("0 6 2 * 1-8", False),
        ("0 6 2 */0 *", False),
    ],
)
def test_cron_checker(expr: str, valid: bool) -> None:
    assert cron_is_valid(expr) is valid


def test_workflow_triggers_monthly_and_by_hand() -> None:
    on = triggers(load(WORKFLOW))
    assert set(on) == {"schedule", "workflow_dispatch"}
    crons = [entry["cron"] for entry in on["schedule"]]
    assert crons, "no cron schedule"
    for cron in crons:
        assert cron_is_valid(cron), cron
        day_of_month, month = cron.split()[2:4]
        assert day_of_month.isdigit() and month == "*", f"{cron} is not monthly"
    fail_on = on["workflow_dispatch"]["inputs"]["fail_on"]
    assert fail_on["type"] == "choice"
    assert fail_on["options"] == FAIL_ON_LEVELS
    assert fail_on["default"] == "none"


def test_workflow_permissions() -> None:
    workflow = load(WORKFLOW)
    assert workflow["permissions"] == {}, "jobs ask for what they need; the default is none"
    jobs = workflow["jobs"]
    assert jobs["update"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert jobs["pages"]["permissions"] == {"pages": "write", "id-token": "write"}
    for job_id, job in jobs.items():
        if job_id not in ("update", "pages"):
            assert not job.get("permissions"), f"{job_id} needs no permissions"


def test_workflow_sets_up_python_with_a_pip_cache() -> None:
    setup = next(
        step
        for _, step in github_steps(load(WORKFLOW))
        if step.get("uses", "").startswith("actions/setup-python@")
    )
    assert setup["with"]["python-version"] == "3.11"
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"].split() == ["pyproject.toml", "constraints.txt"]


# --- their commands exist --------------------------------------------------------------------


def all_scripts() -> list[str]:
    return github_scripts() + gitlab_scripts()


def test_makefile_targets_are_parsed() -> None:
    assert {"run", "test", "install"} <= make_targets()


def test_scripts_call_existing_make_targets() -> None:
    targets = make_targets()
    used = {t for script in all_scripts() for t in re.findall(r"\bmake\s+([\w.-]+)", script)}
    assert used, "the jobs install with make"
    assert used <= targets, f"no such make target: {sorted(used - targets)}"


def test_scripts_call_existing_codeset_commands() -> None:
    commands = set(cli.commands)
    used = set()
    for script in all_scripts():
        for line in script.splitlines():
            # The venv is not on the runner's PATH: `codeset` must be called by its path.
            assert not re.match(r"\s*codeset\s", line), f"bare `codeset` call: {line!r}"
        used |= set(re.findall(r"\.venv/bin/codeset\s+(?:--?\S+\s+)*([a-z][\w-]*)", script))
    assert {"run", "verify"} <= used
    assert used <= commands, f"no such codeset command: {sorted(used - commands)}"


def test_scripts_pass_codeset_run_only_its_options() -> None:
    passed = {
        option
        for script in all_scripts()
        for group in re.findall(r"args\+=\(([^)]*)\)", script)
        for option in re.findall(r"--[a-z][\w-]*", group)
    }
    assert {"--fail-on", "--allow-mass-change"} <= passed
    unknown = passed - run_options()
    assert not unknown, f"codeset run has no option {sorted(unknown)}"


def test_fail_on_levels_match_the_cli() -> None:
    (param,) = [p for p in cli.commands["run"].params if "--fail-on" in p.opts]
    choices = set(getattr(param.type, "choices", ()))
    assert choices == set(FAIL_ON_LEVELS) - {"none"}, "the jobs' choices are none + these"


def test_jobs_run_what_make_run_runs() -> None:
    """The jobs call `make install` and then `.venv/bin/codeset run` so as to see the
    command's own exit code; that must stay what `make run` does."""
    makefile = MAKEFILE.read_text(encoding="utf-8")
    assert re.search(r"^VENV\s*:=\s*\.venv\s*$", makefile, re.M)
    assert re.search(r"^BIN\s*:=\s*\$\(VENV\)/bin\s*$", makefile, re.M)
    run_prereqs, run_recipe = make_rule("run")
    install_prereqs, _ = make_rule("install")
    assert run_prereqs == install_prereqs == ["$(STAMP)"]
    assert len(run_recipe) == 1
    assert re.fullmatch(r"\$\(BIN\)/codeset run( \$\(RUN_ARGS\))?", run_recipe[0])
    for name, scripts in (("workflow", github_scripts()), ("GitLab example", gitlab_scripts())):
        text = "\n".join(scripts)
        assert "make install" in text, name
        assert ".venv/bin/codeset run" in text, name
        assert text.index("make install") < text.index(".venv/bin/codeset run"), name


def test_scripts_are_valid_bash() -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    for script in all_scripts():
        result = subprocess.run([bash, "-n"], input=script, capture_output=True, text=True)
        assert result.returncode == 0, f"{result.stderr}\n{script}"


# --- exit codes ------------------------------------------------------------------------------

FAKE_CODESET = """#!/bin/sh
echo "$*" > "$ARGS_FILE"
echo "codeset says hello"
exit "$FAKE_RC"
"""


def run_step_with_fake_codeset(
    script: str, tmp_path: Path, rc: int, **env: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run a job's `codeset run` script as its CI runs it (bash -eo pipefail) with a stand-in
    `.venv/bin/codeset` that exits with `rc`; return the result and the arguments passed."""
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    work = tmp_path / f"rc{rc}-{env.get('FAIL_ON', '')}"
    (work / ".venv" / "bin").mkdir(parents=True)
    fake = work / ".venv" / "bin" / "codeset"
    fake.write_text(FAKE_CODESET, encoding="utf-8")
    fake.chmod(0o755)
    (work / "script.sh").write_text(script, encoding="utf-8")
    environ = {
        **os.environ,
        "FAKE_RC": str(rc),
        "ARGS_FILE": str(work / "args"),
        "GITHUB_OUTPUT": str(work / "github-output"),
        "RUNNER_TEMP": str(work),
        "FAIL_ON": "none",
        "ALLOW_MASS_CHANGE": "false",
        **env,
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "script.sh"],
        cwd=work,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    args = (work / "args").read_text().strip() if (work / "args").exists() else ""
    # Every run writes its summary (checked on its own below); the rest are the options.
    return result, re.sub(r"--summary \S+ ?", "", args).strip()


def outputs(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines)


@pytest.mark.parametrize(("rc", "step_rc"), [(0, 0), (1, 0), (2, 2)])
def test_workflow_run_step_exit_codes(tmp_path: Path, rc: int, step_rc: int) -> None:
    step = step_named(load(WORKFLOW), "(codeset run)")
    assert "${{" not in step["run"], "inputs reach the script through env, not pasted in"
    result, args = run_step_with_fake_codeset(step["run"], tmp_path, rc, FAIL_ON="warning")
    assert result.returncode == step_rc, result.stdout + result.stderr
    assert args == "run --fail-on warning"
    assert "codeset says hello" in result.stdout
    work = tmp_path / f"rc{rc}-warning"
    assert outputs(work / "github-output") == {"fail_on": "warning", "exit_code": str(rc)}
    assert "codeset says hello" in (work / "codeset-run.log").read_text()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"FAIL_ON": "none"}, "run"),
        ({"FAIL_ON": "critical"}, "run --fail-on critical"),
        ({"ALLOW_MASS_CHANGE": "true"}, "run --allow-mass-change"),
    ],
)
def test_workflow_run_step_arguments(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    step = step_named(load(WORKFLOW), "(codeset run)")
    result, args = run_step_with_fake_codeset(step["run"], tmp_path, 0, **env)
    assert result.returncode == 0, result.stderr
    assert args == expected


def test_workflow_run_step_rejects_an_unknown_level(tmp_path: Path) -> None:
    step = step_named(load(WORKFLOW), "(codeset run)")
    result, args = run_step_with_fake_codeset(step["run"], tmp_path, 0, FAIL_ON="sometimes")
    assert result.returncode == 2
    assert args == "", "codeset must not run"


def test_workflow_run_step_takes_the_input_else_a_variable() -> None:
    env = step_named(load(WORKFLOW), "(codeset run)")["env"]
    assert env["FAIL_ON"] == "${{ inputs.fail_on || vars.CODESET_FAIL_ON || 'none' }}"


@pytest.mark.parametrize(("rc", "job_rc"), [(0, 0), (1, 0), (2, 2)])
def test_gitlab_run_script_exit_codes(tmp_path: Path, rc: int, job_rc: int) -> None:
    job = gitlab_jobs(load(GITLAB))["codeset-update"]
    script = next(s for s in job["script"] if ".venv/bin/codeset run" in s)
    result, args = run_step_with_fake_codeset(script, tmp_path, rc, FAIL_ON="critical")
    assert result.returncode == job_rc, result.stdout + result.stderr
    assert args == "run --fail-on critical"
    dotenv = outputs(tmp_path / f"rc{rc}-critical" / "codeset.env")
    assert dotenv == {"CODESET_EXIT": str(rc), "CODESET_FAIL_ON": "critical"}


def test_workflow_fails_last_on_a_fail_on_finding() -> None:
    workflow = load(WORKFLOW)
    jobs = workflow["jobs"]
    update = jobs["update"]
    assert update["outputs"]["exit_code"] == "${{ steps.run.outputs.exit_code }}"
    assert step_named(workflow, "(codeset run)")["id"] == "run"
    gate = jobs["gate"]
    assert gate["needs"] == ["update", "pages"], "fails only after publishing"
    assert "!cancelled()" in gate["if"], "runs even when Pages was skipped"
    assert "needs.update.outputs.exit_code == '1'" in gate["if"]
    assert any("exit 1" in step.get("run", "") for step in gate["steps"])
    # Committing and publishing do not wait for exit code 0 only: the run step exits 0 for
    # code 1, and nothing after it checks the code.
    names = [step.get("name", "") for step in update["steps"]]
    run_at = next(i for i, n in enumerate(names) if "(codeset run)" in n)
    for step in update["steps"][run_at + 1 :]:
        assert "exit_code" not in str(step.get("if", "")), step.get("name")


def test_gitlab_fails_last_on_a_fail_on_finding() -> None:
    jobs = gitlab_jobs(load(GITLAB))
    gate = jobs["fail-on-gate"]
    assert [need["job"] for need in gate["needs"]] == ["codeset-update", "pages"]
    assert "CODESET_EXIT" in "\n".join(gate["script"])
    assert jobs["codeset-update"]["artifacts"]["reports"]["dotenv"] == "codeset.env"


# --- the summary page ------------------------------------------------------------------------


def test_the_summary_is_what_the_run_brought() -> None:
    """The job summary and the pull request body are `codeset run --summary`'s file: the
    new editions and cycles only, never the newest cycle by date."""
    workflow = load(WORKFLOW)
    run_step = step_named(workflow, "codeset run")["run"]
    assert '--summary "$RUNNER_TEMP/summary.md"' in run_step
    shown = step_named(workflow, "summary page")["run"]
    assert shown.strip() == 'cat "$RUNNER_TEMP/summary.md" >> "$GITHUB_STEP_SUMMARY"'
    pull_request = step_named(workflow, "pull request")["run"]
    assert 'head -c 60000 "$RUNNER_TEMP/summary.md"' in pull_request
    gitlab = "\n".join(gitlab_scripts())
    assert "--summary codeset-summary.md" in gitlab


def test_workflow_commits_only_changes_on_the_default_branch() -> None:
    workflow = load(WORKFLOW)
    changes = step_named(workflow, "Look for changes")
    assert "git status --porcelain -- snapshots reports" in changes["run"]
    assert "No new edition" in changes["run"], "a clean no-op says so"
    commit = step_named(workflow, "pull request")
    assert "steps.changes.outputs.changed == 'true'" in commit["if"]
    assert "steps.context.outputs.default_branch == 'true'" in commit["if"]
    assert commit["env"]["GH_TOKEN"] == "${{ github.token }}"
    for command in ("git push --force origin", "gh pr list", "gh pr create", "gh pr edit"):
        assert command in commit["run"], command
    assert "branch=codeset-update\n" in commit["run"]


def test_workflow_uploads_reports_and_deploys_them_to_pages() -> None:
    workflow = load(WORKFLOW)
    uses = {step.get("uses", "").split("@")[0]: (job, step) for job, step in github_steps(workflow)}
    job, artifact = uses["actions/upload-artifact"]
    assert job == "update" and artifact["with"]["path"].rstrip("/") == "reports"
    job, pages_artifact = uses["actions/upload-pages-artifact"]
    assert job == "update" and pages_artifact["with"]["path"].rstrip("/") == "reports"
    assert "default_branch == 'true'" in pages_artifact["if"]
    assert uses["actions/deploy-pages"][0] == "pages"
    pages = workflow["jobs"]["pages"]
    assert pages["needs"] == "update"
    assert pages["environment"]["name"] == "github-pages"
    assert "needs.update.outputs.default_branch == 'true'" in pages["if"]


# --- the GitLab example ----------------------------------------------------------------------


def test_gitlab_example_runs_on_schedule_only() -> None:
    config = load(GITLAB)
    jobs = gitlab_jobs(config)
    assert set(jobs) == {"codeset-update", "pages", "fail-on-gate"}
    for name, job in jobs.items():
        conditions = [rule["if"] for rule in job["rules"]]
        assert conditions, name
        assert all('$CI_PIPELINE_SOURCE == "schedule"' in c for c in conditions), name
    update = jobs["codeset-update"]
    assert update["image"] == "python:3.11"
    assert update["script"][0] == "make install"
    assert "codeset-summary.md" in update["artifacts"]["paths"]
    assert "reports/" in update["artifacts"]["paths"]
    assert set(update["cache"]["key"]["files"]) == {"pyproject.toml", "constraints.txt"}
    assert set(config["stages"]) >= {job["stage"] for job in jobs.values()}


def test_gitlab_example_pushes_with_a_token_and_publishes_pages() -> None:
    jobs = gitlab_jobs(load(GITLAB))
    script = "\n".join(jobs["codeset-update"]["script"])
    assert "git status --porcelain -- snapshots reports" in script
    assert "CODESET_PUSH_TOKEN" in script and "git push" in script
    pages = jobs["pages"]
    assert "cp -r reports public" in pages["script"]
    assert pages["artifacts"]["paths"] == ["public"]
    assert "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" in pages["rules"][0]["if"]
    assert not (REPO / ".gitlab-ci.yml").exists(), "the example must not run for this repository"


# --- actionlint ------------------------------------------------------------------------------


def find_actionlint() -> str | None:
    beside_python = Path(sys.executable).parent / "actionlint"
    return str(beside_python) if beside_python.is_file() else shutil.which("actionlint")


def test_actionlint_accepts_the_workflow() -> None:
    actionlint = find_actionlint()
    if actionlint is None:
        pytest.skip("actionlint is not installed")
    # actionlint also runs shellcheck and pyflakes when it finds them, as beside it.
    path = os.pathsep.join([str(Path(actionlint).parent), os.environ.get("PATH", "")])
    result = subprocess.run(
        [actionlint, "-no-color", str(WORKFLOW.relative_to(REPO))],
        cwd=REPO,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_job_installs_only_what_it_runs() -> None:
    """`make install` (the scheduled job's install) installs the pipeline without the test
    extras (pytest, mypy, ruff, playwright, moto, flask); `make test` installs them."""
    makefile = MAKEFILE.read_text(encoding="utf-8")
    (stamp,) = make_rule("install")[0]
    rule = re.search(rf"^{re.escape(stamp)}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert rule and "pip install" in rule[1] and "[test]" not in rule[1]
    lint_prereqs, _ = make_rule("lint")
    (tested,) = lint_prereqs
    tested_rule = re.search(rf"^{re.escape(tested)}:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert tested_rule and "'.[test]'" in tested_rule[1]
    for script in github_scripts():
        assert "[test]" not in script and "install-test" not in script
