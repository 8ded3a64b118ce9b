"""The package installs anywhere: a wheel built from the checkout, installed into a fresh virtual
environment with no checkout beside it, creates a database, imports the sample corpus and describes it.

Offline by construction: the wheel is built without build isolation (the running environment's
setuptools) and installed without dependencies; the new environment borrows the dependencies of the
one running the tests through a ``.pth`` line, which puts them after its own site-packages, so
``tracker`` itself can only come from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

from tracker.db import SCHEMA_HEAD

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_of_the_tree_is_listed_for_the_wheel() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "tracker").rglob("__init__.py")}
    on_disk |= {".".join(("tracker", *p.parent.relative_to(ROOT).parts)) for p in (ROOT / "migrations").rglob("__init__.py")}
    assert listed == on_disk


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _wheel(tmp_path: Path) -> Path:
    """A wheel built from a copy of what a release holds (so the build leaves nothing in the checkout)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("tracker", "migrations"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", tmp_path / "dist", src, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("narrative_tracker-*.whl")
    return wheel


def _fresh_env(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip())
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel,
         cwd=tmp_path)
    return venv


def test_the_wheel_installs_without_the_checkout_and_runs(tmp_path: Path) -> None:
    venv = _fresh_env(tmp_path, _wheel(tmp_path))
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKER_", "PYTHON"))}
    env.update(TRACKER_DATA_DIR=str(work / "data"), HF_HUB_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    where = _run(venv / "bin" / "python", "-c", "import tracker, tracker.db; print(tracker.__file__); "
                 "print(tracker.db.migrations_dir())", cwd=work, env=env).split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # the wheel's package, not the checkout
    tracker = venv / "bin" / "tracker"
    assert f"head {SCHEMA_HEAD}" in _run(tracker, "init", cwd=work, env=env)
    assert " 0 bad rows" in _run(tracker, "import", "--sample", cwd=work, env=env)
    info = json.loads(_run(tracker, "info", cwd=work, env=env))
    assert info["schema"] == SCHEMA_HEAD and info["counts"]["statements"] == 328
