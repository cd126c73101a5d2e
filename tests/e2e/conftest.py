from collections.abc import Iterator

import pytest

from pipecat_getstream.testing import LocalStreamServer


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalStreamServer]:
    """One server for the end-to-end suite; every test uses its own call id."""
    server = LocalStreamServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
