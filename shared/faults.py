"""Named crash points for the fault-injection suite.

`QIANSHOU_FAULTS=relay.after_publish` makes the process die (as SIGKILL would: no
clean-up runs) the first time it reaches that point. Unset in production, where each
point costs one dictionary look-up.
"""

from __future__ import annotations

import os

_ARMED = {p.strip() for p in os.environ.get("QIANSHOU_FAULTS", "").split(",") if p.strip()}


def point(name: str) -> None:
    if name in _ARMED:
        os._exit(137)
