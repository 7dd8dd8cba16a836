import json

import pytest

from mes.models import Site
from tests.factories import MachineFactory, SiteFactory, WorkCenterFactory


@pytest.fixture
def plant(plant_q3, db):
    """plant-q3's sites, work centers and machines (codes, model names) as Andon knows them."""
    sites = {
        s["code"]: SiteFactory(code=s["code"], name=s["name"], timezone=s["timezone"])
        for s in json.loads((plant_q3 / "sites.json").read_text())
    }
    centers = {}
    for wc in json.loads((plant_q3 / "work_centers.json").read_text()):
        centers[wc["code"]] = WorkCenterFactory(
            site=sites[wc["site"]], code=wc["code"], name=wc["name"], kind=wc["kind"]
        )
    for m in json.loads((plant_q3 / "machines.json").read_text()):
        MachineFactory(work_center=centers[m["work_center"]], code=m["code"], name=m["name"])
    return Site.objects.order_by("code")
