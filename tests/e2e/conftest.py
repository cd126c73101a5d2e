from collections.abc import Iterator

import pytest

from pipecat_getstream.testing import LocalStreamServer
from tests.conftest import running_server


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalStreamServer]:
    """One server for the transport's end-to-end suite; every test uses its own call id."""
    with running_server() as server:
        yield server
