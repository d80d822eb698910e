"""The demo stack: intake and reporting with the reference programme published."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from deploy.cli import publish
from deploy.demo import reference_programme, sender
from deploy.stack import Stack


@pytest.fixture
def demo_stack(stack: Stack, token: Callable[..., str]) -> Stack:
    """Intake and reporting up, the reference programme accepted by intake: the registry
    published by the Jilin province token, the rest by each agency."""
    stack.up("intake", "reporting")
    events = reference_programme()
    counts = publish(
        stack.services["intake"].url,
        events,
        lambda p: token(p.role, agency_id=p.agency_id, region=p.region),
        sender=sender,
    )
    assert counts == {"accepted": len(events)}
    return stack
