"""Named crash points for the fault-injection suite.

`QIANSHOU_FAULTS=relay.after_publish` makes the process die (as SIGKILL would: no
clean-up runs) the first time it reaches that point. Unset in production, where each
point costs one dictionary look-up.
"""

from __future__ import annotations

import os

from shared.settings import for_tests

_ARMED = for_tests().faults


def point(name: str) -> None:
    if name in _ARMED:
        os._exit(137)
