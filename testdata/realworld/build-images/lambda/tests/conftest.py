"""Shared pytest fixtures: no test is collected from this file."""

import pytest


@pytest.fixture
def event() -> dict[str, str]:
    return {"id": "1"}
