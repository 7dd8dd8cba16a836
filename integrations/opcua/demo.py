"""Demo data of OPC UA: P1's machines on a loopback server that ``manage.py opcua_simulate``
serves (``make demo`` starts it and the collector), tags by browse path and namespace URI."""

import os

from mes.models import Machine

from .models import MachineLink, MachineTag, OpcServer, StateValue

PORT = os.environ.get("ANDON_DEMO_OPCUA_PORT", "4841")  # tests seed another
DEMO_URL = f"opc.tcp://127.0.0.1:{PORT}/andon/"
DEMO_URI = "urn:andon:demo-plant"


def seed(plant) -> None:
    p1 = next(s for s in plant.sites if s.code == "P1")
    server = OpcServer.objects.create(
        site=p1, name="P1 shop floor (simulated)", endpoint_url=DEMO_URL
    )
    for machine in Machine.objects.filter(site=p1).order_by("code"):
        link = MachineLink.objects.create(machine=machine, server=server, counter_bits=16)
        StateValue.objects.bulk_create(
            StateValue(link=link, value=v, state=s)
            for v, s in [(0, "stopped"), (1, "running"), (2, "fault"), (3, "setup")]
        )
        MachineTag.objects.bulk_create(
            MachineTag(
                link=link,
                role=role,
                browse_path=f"{machine.code}/{name}",
                namespace_uri=DEMO_URI,
            )
            for role, name in [("state", "State"), ("good", "Good"), ("scrap", "Scrap")]
        )
