"""Installed from a wheel (not editable), the package carries its notebooks and runs the audit from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_the_wheel_installs_and_the_audit_runs_from_a_temp_folder(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(wheels)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next(wheels.glob("enstoolkit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"enstoolkit/notebooks/{n}" for n in ("quickstart.ipynb", "supporter_audit.ipynb",
                                                    "optin_analysis.ipynb", "actions.ipynb")} <= set(names)
    assert "enstoolkit/py.typed" in names and not any(n.startswith("tests/") for n in names)
    assert {f"enstoolkit/widgets/voila/templates/enstoolkit/{n}" for n in ("conf.json", "index.html.j2")} <= set(names)

    # A fresh environment: the wheel installed on its own; the third-party packages come from this
    # environment's site-packages (a path, not its .pth files: the editable checkout is not seen).
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=300)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "third_party.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    where = subprocess.run([str(python), "-c", "import enstoolkit; print(enstoolkit.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout.strip()
    assert where.startswith(site) and str(ROOT) not in where

    work = tmp_path / "anywhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ENS_API_KEY", "ENCHARGE_API_KEY",
                                                             "ENS_BASE_URL", "ENCHARGE_BASE_URL")}
    env["ENSTOOLKIT_DATA_DIR"] = str(tmp_path / "data")
    # the shared third-party packages keep their data files (nbconvert's templates) under this prefix
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    done = subprocess.run([str(env_dir / "bin" / "enstoolkit"), "audit", "--sandbox", "--supporters", "400",
                           "--out", "report"], capture_output=True, text=True, timeout=600, cwd=work, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (work / "report" / "supporter_audit.html").exists() and (work / "report" / "audit_summary.csv").exists()
    assert "2 HTML reports" in done.stdout
