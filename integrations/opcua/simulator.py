"""A plant on an OPC UA server (asyncua's), for the demo: ``manage.py opcua_simulate`` serves
the machines configured on a server of the admin (every tag addressed by browse path and
namespace URI, or by a string node id in that namespace) and moves them once a second:
mostly running with their counters rising at their ideal cycle (a few per cent scrap), now
and then a short stop, a setup, or a fault long enough to raise a downtime exception."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlparse

from asyncua import Server, ua

STATES = {"stopped": 0, "running": 1, "fault": 2, "setup": 3}
KINDS = {"state": ua.VariantType.Int32, "good": ua.VariantType.UInt16}
KINDS["scrap"] = ua.VariantType.UInt16


@dataclass
class SimMachine:
    code: str
    cycle: float  # seconds per piece
    nodes: dict = field(default_factory=dict)  # role -> node
    values: dict = field(default_factory=dict)  # role -> int, as the machine codes them
    states: dict = field(default_factory=dict)  # state -> the value this machine sends
    state: str = "running"
    until: float = 0.0  # seconds left in a stop
    made: float = 0.0

    def step(self, rng: random.Random) -> None:
        if self.state != "running":
            self.until -= 1
            if self.until <= 0:
                self.state = "running"
        else:
            roll = rng.random()
            if roll < 0.0015:
                self.state, self.until = "fault", rng.randint(150, 420)
            elif roll < 0.0025:
                self.state, self.until = "setup", rng.randint(120, 300)
            elif roll < 0.012:
                self.state, self.until = "stopped", rng.randint(3, 25)
            else:
                self.made += 1 / self.cycle
        whole, self.made = int(self.made), self.made - int(self.made)
        for _ in range(whole):
            role = "scrap" if rng.random() < 0.03 else "good"
            self.values[role] = (self.values.get(role, 0) + 1) % 65536
        self.values["state"] = self.states.get(self.state, STATES[self.state])


async def build(spec: dict) -> tuple[Server, list[SimMachine]]:
    """``spec``: url, machines [{code, cycle, states {name: value}, tags [(role, namespace
    uri, browse path or "", node id string or "")]}]."""
    server = Server()
    await server.init()
    server.set_endpoint(spec["url"])
    server.set_server_name("Andon demo plant")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    indexes: dict[str, int] = {}
    machines = []
    for m in spec["machines"]:
        sim = SimMachine(code=m["code"], cycle=max(float(m["cycle"] or 60), 1.0))
        for role, uri, path, node_id in m["tags"]:
            if uri not in indexes:
                indexes[uri] = await server.register_namespace(uri)
            idx = indexes[uri]
            parts = (path or f"{m['code']}/{role}").strip("/").split("/")
            parent = server.nodes.objects
            for part in parts[:-1]:
                found = await _child(parent, idx, part)
                parent = found or await parent.add_object(idx, part)
            sid = node_id.split(";s=", 1)[1] if ";s=" in node_id else f"{m['code']}.{parts[-1]}"
            variant = KINDS.get(role, ua.VariantType.Double)
            start = STATES["running"] if role == "state" else 0
            sim.nodes[role] = await parent.add_variable(
                ua.NodeId(sid, idx), ua.QualifiedName(parts[-1], idx), ua.Variant(start, variant)
            )
            sim.values[role] = start
        sim.states = m.get("states", {})
        machines.append(sim)
    return server, machines


async def _child(parent, idx: int, name: str):
    try:
        return await parent.get_child([f"{idx}:{name}"])
    except ua.UaError:
        return None


async def run(spec: dict, stop: asyncio.Event, *, seed: int = 7) -> None:
    server, machines = await build(spec)
    rng = random.Random(seed)  # noqa: S311 - a simulation, not a secret
    async with server:
        while not stop.is_set():
            now = datetime.now(UTC)
            for sim in machines:
                sim.step(rng)
                for role, node in sim.nodes.items():
                    value = sim.values.get(role, 0)
                    await node.write_value(
                        ua.DataValue(
                            ua.Variant(value, KINDS.get(role, ua.VariantType.Double)),
                            SourceTimestamp=now,
                            ServerTimestamp=now,
                        )
                    )
            try:
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            except TimeoutError:
                pass


def spec_of(server) -> dict:
    """What to serve for an :class:`~integrations.opcua.models.OpcServer` of the admin."""
    url = urlparse(server.endpoint_url)
    machines = []
    for link in server.machines.filter(is_active=True).select_related("machine"):
        states = {}
        for sv in link.states.all():
            states.setdefault(sv.state, sv.value)
        machines.append(
            {
                "code": link.machine.code,
                "cycle": link.machine.ideal_cycle_seconds,
                "states": states,
                "tags": [
                    (t.role, t.namespace_uri or "urn:andon:demo", t.browse_path, t.node_id)
                    for t in link.tags.all()
                ],
            }
        )
    return {
        "url": f"opc.tcp://{url.hostname}:{url.port or 4840}{url.path or '/'}",
        "machines": machines,
    }
