"""No hidden secret: `publisher init` creates secrets.env beside config.toml (mode 0600,
git-ignored) with a random PUBLISHER_SECRET and an admin password it prints once; every command
reads it when a variable is not set, and the environment wins. A newcomer's `make demo`, then
the commands of docs/getting-started.md and the cron and systemd examples of docs/service.md,
work as written, without exporting anything."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from support.config import set_keys
from support.paths import HOSTILE, ROOT
from support.serve import start_serve_in
from support.waiting import wait_for
from support.webserver import free_port

from publisher.config.secrets import VARIABLES

VENV = Path(sys.executable).parent.parent  # the project's .venv, as a clone has it
PASSWORD_SHOWN = re.compile(r"shown only now: (\S+)")


def bare_environment(**extra: str) -> dict[str, str]:
    """The test's environment without any publisher secret, as a newcomer's shell has it."""
    return {**{name: value for name, value in os.environ.items() if name not in VARIABLES}, **extra}


def publisher(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`publisher ARGS…` run in ``folder`` (so ./config.toml is found), as staff type it."""
    return subprocess.run(
        [sys.executable, "-m", "publisher", *args],
        cwd=folder,
        env=bare_environment() if env is None else env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path) -> Path:
    """A clone as a newcomer has it after `make .venv/bin/publisher`: Makefile, config.toml,
    newsletters/, feeds/ and .venv (the tests' own)."""
    folder = tmp_path / "publisher"
    folder.mkdir()
    for name in ("Makefile", "config.toml"):
        shutil.copy(ROOT / name, folder / name)
    shutil.copytree(ROOT / "newsletters", folder / "newsletters")
    (folder / "feeds").mkdir()
    (folder / ".venv").symlink_to(VENV)
    return folder


def make_demo(project: Path) -> str:
    """`make demo` (the venv is there already), with no secret in the environment; its output."""
    result = subprocess.run(
        ["make", "-o", ".venv/bin/publisher", "demo"],
        cwd=project,
        env=bare_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def secrets_of(project: Path) -> dict[str, str]:
    lines = (project / "secrets.env").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_init_creates_a_private_secrets_file_once_and_prints_its_password_once(project):
    first = publisher(project, "init")
    assert first.returncode == 0, first.stderr
    path = project / "secrets.env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = secrets_of(project)
    assert set(values) == {"PUBLISHER_SECRET", "PUBLISHER_ADMIN_PASSWORD"}
    assert len(values["PUBLISHER_SECRET"]) >= 43  # 32 random bytes
    [password] = PASSWORD_SHOWN.findall(first.stdout)
    assert password == values["PUBLISHER_ADMIN_PASSWORD"]
    assert values["PUBLISHER_SECRET"] not in first.stdout + first.stderr

    before = path.read_text(encoding="utf-8")
    second = publisher(project, "init")
    assert second.returncode == 0, second.stderr
    assert password not in second.stdout and "secrets.env" not in second.stdout
    assert path.read_text(encoding="utf-8") == before


def test_each_project_gets_its_own_secret(project, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(project / "config.toml", other / "config.toml")
    for folder in (project, other):
        assert publisher(folder, "init").returncode == 0
    assert secrets_of(project)["PUBLISHER_SECRET"] != secrets_of(other)["PUBLISHER_SECRET"]


def test_git_ignores_the_secrets_file():
    result = subprocess.run(["git", "check-ignore", "-q", "secrets.env"], cwd=ROOT)
    assert result.returncode == 0, "secrets.env is not in .gitignore"


def test_the_file_completes_the_environment_which_wins(project):
    assert publisher(project, "init").returncode == 0
    assert publisher(project, "demo", "load").returncode == 0
    # From the file alone, a command that needs the secret works.
    forget = publisher(project, "subscribers", "forget", "marie-helene.berger@example.org")
    assert forget.returncode == 0, forget.stderr
    # A weak secret in the environment wins over the file's strong one: serve refuses it.
    weak = publisher(project, "serve", "--port", str(free_port()), env=bare_environment(PUBLISHER_SECRET="short"))
    assert weak.returncode == 1
    assert weak.stderr.startswith("Error: PUBLISHER_SECRET is shorter than 32 bytes")


def test_a_secrets_file_that_is_not_utf8_is_one_line_error(project):
    shutil.copy(HOSTILE / "secrets_latin1.env", project / "secrets.env")
    result = publisher(project, "status")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "secrets.env" in line and "UTF-8" in line, line


@pytest.mark.parametrize(
    ("name", "where", "reason"),
    [
        ("secrets_typo.env", 3, "PUBLISHER_ADMIN_PASWORD: unknown variable (expected one of"),
        ("secrets_bad_line.env", 2, "expected NAME=value"),
        ("secrets_unclosed_quote.env", 2, "expected NAME=value"),
    ],
)
def test_a_mistake_in_the_secrets_file_names_its_line_without_echoing_a_secret(project, name, where, reason):
    shutil.copy(HOSTILE / name, project / "secrets.env")
    (project / "secrets.env").chmod(0o600)
    result = publisher(project, "status")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: secrets.env:{where}: {reason}"), line  # as config.toml was named
    assert "Zq0oK3xv" not in line and "choose-one" not in line and "passe" not in line


def test_a_secrets_file_others_can_read_is_used_with_a_warning(project):
    assert publisher(project, "init").returncode == 0
    (project / "secrets.env").chmod(0o644)  # e.g. copied with cp from a backup
    result = publisher(project, "status")
    assert result.returncode == 0, result.stderr
    assert "secrets.env: readable by other users; run: chmod 600" in result.stderr


def test_without_file_nor_variable_the_error_says_to_run_init(project):
    shutil.copy(ROOT / "config.toml", project / "config.toml")
    assert publisher(project, "init").returncode == 0
    (project / "secrets.env").unlink()
    result = publisher(project, "subscribers", "forget", "nobody@example.org")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "PUBLISHER_SECRET is not set" in line and "run publisher init" in line, line


def getting_started_commands() -> list[str]:
    """The `publisher …` lines of docs/getting-started.md's shell blocks, comments removed."""
    text = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    lines = [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("publisher ")]


def test_after_make_demo_the_getting_started_commands_work_without_exporting_anything(project):
    output = make_demo(project)
    [password] = PASSWORD_SHOWN.findall(output)
    commands = getting_started_commands()
    assert "publisher serve" in commands
    for command in commands:
        if command == "publisher serve":
            continue
        result = publisher(project, *command.split()[1:])
        assert result.returncode == 0, f"{command}: {result.stderr}"
    set_keys(project / "config.toml", "service", port=free_port())
    server = start_serve_in(bare_environment(), project / "config.toml")
    try:
        assert httpx.get(server.base + "/admin/", auth=("admin", password)).status_code == 200
        assert httpx.get(server.base + "/admin/", auth=("admin", "wrong")).status_code == 401
    finally:
        server.stop()


def fenced(page: str, language: str) -> list[str]:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def cron_commands() -> list[str]:
    """The commands of docs/service.md's crontab lines (the five time fields removed)."""
    [crontab] = fenced("service.md", "crontab")
    return [line.split(None, 5)[5] for line in crontab.splitlines() if line and not line.startswith("#")]


def cron_environment(home: Path) -> dict[str, str]:
    """What cron gives a command: next to nothing."""
    return {"HOME": str(home), "LOGNAME": "publisher", "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh"}


def test_the_cron_lines_work_as_written_with_cron_s_empty_environment(project, tmp_path):
    make_demo(project)
    home = tmp_path / "home"
    home.mkdir()
    commands = cron_commands()
    assert [command.split()[-2:] for command in commands] == [
        [".venv/bin/publisher", "run-once"],
        ["backup", "backups/"],
    ]
    for command in commands:
        result = subprocess.run(
            ["/bin/sh", "-c", command.replace("/srv/publisher", str(project))],
            cwd=home,
            env=cron_environment(home),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    [backup] = (project / "backups").iterdir()
    assert re.fullmatch(r"publisher-\d{4}-\d{2}-\d{2}\.db", backup.name)


UNITS = ("publisher.service", "publisher-backup.service", "publisher-backup.timer")


def unit(name: str) -> dict[str, str]:
    """The keys of one systemd unit of docs/service.md."""
    [text] = [block for block in fenced("service.md", "ini") if block.startswith(f"# /etc/systemd/system/{name}\n")]
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))


def run_unit(name: str, project: Path, home: Path) -> subprocess.Popen:
    """ExecStart of the unit, in its WorkingDirectory, with the environment systemd gives a service."""
    keys = unit(name)
    command = keys["ExecStart"].replace("/srv/publisher", str(project)).split()
    workdir = keys["WorkingDirectory"].replace("/srv/publisher", str(project))
    return subprocess.Popen(
        command, cwd=workdir, env=cron_environment(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_the_systemd_units_work_as_written(project, tmp_path):
    make_demo(project)
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    set_keys(project / "config.toml", "service", port=port)
    service = run_unit("publisher.service", project, home)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz", service), 30, "publisher.service")
        backup = run_unit("publisher-backup.service", project, home)
        output, _ = backup.communicate(timeout=120)
        assert backup.returncode == 0, output
    finally:
        service.terminate()
        output, _ = service.communicate(timeout=30)
    assert service.returncode == 0, output


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units_as_written(project, tmp_path):
    """systemd-analyze verify: the keys, the absolute ExecStart, the timer's calendar."""
    units = tmp_path / "units"
    units.mkdir()
    for name in UNITS:
        [text] = [block for block in fenced("service.md", "ini") if block.startswith(f"# /etc/systemd/system/{name}\n")]
        (units / name).write_text(text.replace("/srv/publisher", str(project)), encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(units / name) for name in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _answers(url: str, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"the service exited: {process.stdout.read()}")
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False
