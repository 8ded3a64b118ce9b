"""Start-up stays light: the CLI and the web app never import torch or sentence-transformers
until a vector is really needed (imports are cold on every run here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "sentence_transformers", "transformers")


def _modules_after(code: str, cwd: Path) -> list[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
    probe += repr(HEAVY) + ")))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "TRACKER_CONFIG": "",
                              "TRACKER_DATA_DIR": str(cwd / "data")})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cli_help_and_info_import_no_model_code(tmp_path: Path) -> None:
    code = ("from click.testing import CliRunner\nfrom tracker.cli import main\n"
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0\n"
            "r = CliRunner().invoke(main, ['info']); assert r.exit_code == 0, r.output\n")
    assert _modules_after(code, tmp_path) == []


def test_web_app_answers_its_first_request_without_the_model(tmp_path: Path) -> None:
    code = ("from tracker.web import create_app\nfrom tracker.config import load_config\n"
            "app = create_app(load_config(env={'TRACKER_DATA_DIR': 'data', 'TRACKER_AUTH_PUBLIC_READ': 'true'}))\n"
            "c = app.test_client()\nassert c.get('/').status_code == 200\n")
    assert _modules_after(code, tmp_path) == []
