"""Fixtures of the ERP integration tests: a real Tryton server."""

import pytest

from tests.conftest import _service_missing
from tests.integrations import tryton_server


@pytest.fixture(scope="session")
def tryton_install(tmp_path_factory):
    """The Tryton database, built once per session (per xdist worker)."""
    bin_dir = tryton_server.venv()
    if bin_dir is None:
        return None
    return tryton_server.install(tmp_path_factory.mktemp("tryton-install"), bin_dir / "bin")


@pytest.fixture
def tryton(tryton_install, tmp_path):
    """A Tryton server of its own for the test, on a loopback port."""
    if tryton_install is None:
        _service_missing("needs the Tryton venv: run `make tryton` (or set TRYTON_VENV)")
    server = tryton_server.TrytonServer(
        tryton_server.clone(tryton_install, tmp_path / "tryton"),
        tryton_server.venv() / "bin",
    )
    yield server
    server.stop()
