"""The layering of the package is a contract that CI holds (README "How it is built").

Each test copies the package and its configuration, breaks the layering in one way and
checks that ``lint-imports`` refuses the copy, naming the offending import; the untouched
copy must pass, so the refusals come from the change alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

LINT = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "src" / "lapor_router",
        tmp_path / "src" / "lapor_router",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_package_as_it_is_keeps_every_contract(tmp_path):
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "named"),
    [
        # a stage reaching up the pipeline
        ("normalize/values.py", "from ..route import decide  # noqa", "lapor_router.route"),
        ("locate/locator.py", "from ..batch import route_file  # noqa", "lapor_router.batch"),
        (
            "route/decision.py",
            "from ..dispatch import route_frame  # noqa",
            "lapor_router.dispatch",
        ),
        ("files/readers.py", "from ..batch import route_file  # noqa", "lapor_router.batch"),
        # inside a stage: the compiled kernels importing the tree that imports them
        ("locate/kernels.py", "from . import quadtree  # noqa", "lapor_router.locate.quadtree"),
        ("route/rules.py", "from . import decide  # noqa", "lapor_router.route.decide"),
    ],
)
def test_an_upward_import_breaks_the_contract(tmp_path, module, line, named):
    root = _copy(tmp_path)
    _append(root / "src" / "lapor_router" / module, line)
    result = _lint(root)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and named in result.stdout


def test_a_module_outside_every_layer_is_refused(tmp_path):
    root = _copy(tmp_path)
    (root / "src" / "lapor_router" / "helpers.py").write_text('"""Unplaced."""\n')
    result = _lint(root)
    assert result.returncode != 0
    assert "lapor_router.helpers" in result.stdout
