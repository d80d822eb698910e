"""`qianshou reporting rebuild` started in the background, for tests that act while it runs."""

from __future__ import annotations

import asyncio
import sys


async def start_rebuild(env: dict[str, str]) -> asyncio.subprocess.Process:
    """The rebuild as a child process with reporting's environment `env`; its output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "deploy.cli",
        "reporting",
        "rebuild",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
