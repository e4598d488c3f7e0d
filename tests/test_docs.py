"""The docs are part of the product: README.md and docs/*.md must name every command and every
config key, and README.md starts with the two commands."""

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import get_args, get_origin

from support.paths import ROOT

from publisher.cli import main
from publisher.config import Config

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = "\n".join([README, *(page.read_text(encoding="utf-8") for page in sorted((ROOT / "docs").glob("*.md")))])


def command_paths(group=main, path=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from command_paths(command, (*path, name))
        else:
            yield " ".join((*path, name))


def test_docs_document_every_command():
    documented = set(re.findall(r"`publisher ([a-z- ]+?)(?: [A-Z\[<-][^`]*)?`", DOCS))
    missing = sorted(set(command_paths()) - documented)
    assert not missing, f"commands missing from README.md and docs/: {missing}"


def test_docs_document_every_config_key():
    missing = []
    for section_name, field in Config.model_fields.items():
        if section_name == "source":
            continue
        model = field.annotation
        if get_origin(model) is dict:  # [segments.NAME], [newsletters.SLUG]
            model = get_args(model)[1]
        for key, key_field in getattr(model, "model_fields", {}).items():
            key = key_field.alias or key
            if f"`{key}`" not in DOCS:
                missing.append(f"{section_name}.{key}")
    assert not missing, f"config keys missing from README.md and docs/: {missing}"


def test_readme_starts_with_the_two_commands():
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make demo" in quick_start and "make test" in quick_start


def test_every_make_target_the_docs_name_exists():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    commands = re.findall(r"(?:^|`)make ([a-z][a-z -]*?) *(?:`|#|$)", DOCS, re.MULTILINE)
    named = {target for command in commands for target in command.split()}
    assert "clean-demo" in named
    assert named <= targets, f"make targets in the docs but not in the Makefile: {sorted(named - targets)}"


def test_the_docs_site_builds_strictly(tmp_path):
    """mkdocs.yml is strict: a broken link or anchor, or a page left out of the nav, fails it."""
    mkdocs = Path(sys.executable).with_name("mkdocs")
    build = subprocess.run(
        [mkdocs, "build", "--strict", "--config-file", ROOT / "mkdocs.yml", "--site-dir", tmp_path / "site"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    assert (tmp_path / "site" / "architecture.html").is_file()
    for page in (tmp_path / "site").rglob("*.html"):  # read offline: no script or style from elsewhere
        remote = re.findall(r'src="https?:[^"]*"|<link[^>]*href="https?:[^"]*"', page.read_text(encoding="utf-8"))
        assert not remote, f"{page.name} loads {remote}"


def test_the_strict_build_fails_on_a_broken_link_and_a_page_outside_the_nav(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    shutil.copy(ROOT / "mkdocs.yml", tmp_path)
    (docs / "feeds.md").write_text("[gone](delivery.md#no-such-anchor) [lost](nowhere.md)\n", encoding="utf-8")
    (docs / "orphan.md").write_text("# Orphan\n", encoding="utf-8")
    mkdocs = Path(sys.executable).with_name("mkdocs")
    build = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", tmp_path / "site"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode != 0
    for problem in ("no-such-anchor", "nowhere.md", "orphan.md"):
        assert problem in build.stderr
