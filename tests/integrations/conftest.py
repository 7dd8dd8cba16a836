"""Fixtures of the ERP integration tests: a real Tryton server, the batch tests' plant."""

import pytest

from tests.conftest import _service_missing
from tests.factories import ItemFactory, WorkCenterFactory, make_user
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


@pytest.fixture
def plant(p1, p2):
    """The ERP batch tests' plant: ERP accounts, a planner, work centers and items."""
    return {
        "erp": make_user("erp", "erp_integration", [p1, p2]),
        "p1_only": make_user("erp_p1", "erp_integration", [p1]),
        "planner": make_user("planner", "planner", [p1]),
        "wc": WorkCenterFactory(site=p1, code="P1-FRE"),
        "wc2": WorkCenterFactory(site=p1, code="P1-MON"),
        "wc_p2": WorkCenterFactory(site=p2, code="P2-FRA"),
        "item": ItemFactory(code="SF-20259"),
        "other_item": ItemFactory(code="SF-20260"),
        "raw": ItemFactory(code="RM-30196", kind="raw", unit="kg"),
    }
