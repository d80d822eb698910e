"""One example event of every type agencies send (shared/examples.py: the demo, a
retraction, and the examples payload models declare), as fresh dicts safe to change."""

from __future__ import annotations

import copy
from typing import Any

from shared import examples


def one_of_each() -> dict[str, dict[str, Any]]:
    """type -> an example event of that type (fresh dicts, safe to change)."""
    return copy.deepcopy(examples.one_of_each())
