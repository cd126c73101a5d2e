"""Fixtures for server tests."""

from __future__ import annotations

import pytest

from pipecat_getstream.testing import LocalStreamServer

from .sdk_kit import SdkKit


@pytest.fixture
def sdk(local_server: LocalStreamServer) -> SdkKit:
    """SDK participant factory bound to the ``local_server`` fixture."""
    return SdkKit(local_server)
