"""The demo stack: intake and reporting with the reference programme published."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from deploy.cli import publish
from deploy.demo import reference_programme
from deploy.stack import Stack


@pytest.fixture
def demo_stack(stack: Stack, token: Callable[..., str]) -> Stack:
    """Intake and reporting up, the reference programme accepted by intake."""
    stack.up("intake", "reporting")
    events = reference_programme()
    counts = publish(stack.services["intake"].url, events, lambda a: token("agency", a))
    assert counts == {"accepted": len(events)}
    return stack
