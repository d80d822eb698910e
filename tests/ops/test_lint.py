"""The container build file and every YAML file under deploy/ pass their linters, and the image
runs the project's own files as an unprivileged user."""

from __future__ import annotations

import re

from tests.ops.tools import DEPLOY, ROOT, run, tool

DOCKERFILE = DEPLOY / "Dockerfile"


def test_dockerfile_passes_hadolint():
    run(tool("hadolint"), "--failure-threshold", "warning", str(DOCKERFILE))


def test_image_runs_as_an_unprivileged_user_from_the_projects_files():
    text = DOCKERFILE.read_text()
    final = text[text.rindex("\nFROM ") :]
    (user,) = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert not user.startswith(("0", "root")), user
    copied = re.findall(r"^COPY\s+(?!--from)(.+)$", text, re.M)
    sources = {part for line in copied for part in line.split()[:-1]}
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not a file of the project"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[ignore.index("**") if "**" in ignore else 0] == "**", "deny everything first"
    assert ".qianshou" in ignore and ".venv" in ignore


def test_entrypoint_runs_each_service():
    text = (DEPLOY / "entrypoint.sh").read_text()
    for service in ("intake", "scheduling", "reporting"):
        assert service in text and (ROOT / "services" / service / "__main__.py").exists()
    assert 'exec python -m "services.$service"' in text


def test_yaml_passes_yamllint():
    files = [str(p) for p in sorted(DEPLOY.rglob("*.yaml"))]
    assert files
    run(tool("yamllint"), "--strict", "-c", str(DEPLOY / "yamllint.yaml"), *files)


def test_the_operations_guide_names_files_that_exist():
    guide = (ROOT / "docs" / "operations.md").read_text()
    # A path alone in backticks (`kubectl … deploy/intake` names a Deployment, not a file).
    paths = set(re.findall(r"`((?:deploy|docs|tests)/[\w./-]*)`", guide))
    assert len(paths) > 10
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"docs/operations.md names missing files: {missing}"
