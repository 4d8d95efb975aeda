"""The Binder files: they parse, the install step installs this package, the default URL opens the studio."""

from __future__ import annotations

import re
import shlex
import tomllib
import zipfile
from pathlib import Path

import pytest

BADGE_PATH = "lab/tree/notebooks/02_studio.ipynb"


@pytest.fixture(scope="module")
def binder(repo_root: Path) -> Path:
    return repo_root / "binder"


def _pip_install_lines(script: str) -> list[list[str]]:
    lines = []
    for raw in script.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = shlex.split(line)
        if "pip" in words and "install" in words:
            lines.append(words[words.index("install") + 1:])
    return lines


def test_runtime_is_python_311(binder: Path) -> None:
    assert (binder / "runtime.txt").read_text().strip() == "python-3.11"


def test_requirements_parse(binder: Path) -> None:
    from packaging.requirements import Requirement

    reqs = [Requirement(line) for raw in (binder / "requirements.txt").read_text().splitlines()
            if (line := raw.split("#", 1)[0].strip())]
    names = {r.name.lower() for r in reqs}
    assert {"jupyterlab", "ipywidgets"} <= names


def test_post_build_is_an_executable_bash_script(binder: Path) -> None:
    post = binder / "postBuild"
    text = post.read_text()
    assert text.startswith("#!/usr/bin/env bash") or text.startswith("#!/bin/bash")
    assert post.stat().st_mode & 0o111, "postBuild must be executable"
    assert "set -e" in text


def test_post_build_installs_this_package(binder: Path, repo_root: Path, built_wheel: Path) -> None:
    installs = _pip_install_lines((binder / "postBuild").read_text())
    assert installs, "postBuild has no pip install line"
    targets = [w for args in installs for w in args if not w.startswith("-") or w == "-e"]
    targets = [t for t in targets if t != "-e"]
    # The target is this repository (run from its root by repo2docker), with or without extras.
    assert any(re.fullmatch(r"\.(\[[a-z,_-]+\])?", t) for t in targets), targets
    extras = {e for t in targets if (m := re.fullmatch(r"\.\[([a-z,_-]+)\]", t))
              for e in m.group(1).split(",")}
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    declared = set(project["optional-dependencies"])
    assert extras <= declared, f"postBuild asks for unknown extras {extras - declared}"
    # And "." really builds into this package: the wheel pip makes from the repository root.
    with zipfile.ZipFile(built_wheel) as zf:
        assert "minimax_nb/__init__.py" in zf.namelist()
    assert built_wheel.name.startswith("minimax_nb-")


def test_default_url_opens_an_existing_studio_notebook(binder: Path, repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    badge = re.search(r"https://mybinder\.org/v2/\S+?\?urlpath=([^)\s]+)", readme)
    assert badge, "README has no Binder badge link with a urlpath"
    assert badge.group(1) == BADGE_PATH
    assert BADGE_PATH in (binder / "README.md").read_text()
    notebook = repo_root / BADGE_PATH.removeprefix("lab/tree/")
    assert notebook.is_file(), f"{notebook} does not exist"
    import nbformat

    nbformat.validate(nbformat.read(notebook, as_version=4))
