"""A real OPC UA server (asyncua's) on a loopback port, for the tests: machines as objects
under one namespace URI, each with State, Good and Scrap variables, written with the source
time the test says."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

from asyncua import Server, ua

URI = "urn:andon:test-plant"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PlantServer:
    def __init__(self, port: int, machines: list[str]):
        self.port, self.machines = port, machines
        self.url = f"opc.tcp://127.0.0.1:{port}/andon/"
        self.nodes: dict[tuple[str, str], object] = {}
        self.server = None

    async def start(self, values: dict | None = None) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        # Another namespace first, so ours is not at the index a test might guess.
        await server.register_namespace("urn:andon:something-else")
        index = await server.register_namespace(URI)
        for code in self.machines:
            obj = await server.nodes.objects.add_object(index, code)
            for name, variant in (
                ("State", ua.VariantType.Int32),
                ("Good", ua.VariantType.UInt16),
                ("Scrap", ua.VariantType.UInt16),
            ):
                start = (values or {}).get((code, name), 1 if name == "State" else 0)
                node = await obj.add_variable(
                    ua.NodeId(f"{code}.{name}", index),
                    ua.QualifiedName(name, index),
                    ua.Variant(start, variant),
                )
                self.nodes[code, name] = (node, variant)
        await server.start()
        self.server, self.index = server, index

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def write(self, code: str, name: str, value: int, at: datetime | None = None) -> None:
        node, variant = self.nodes[code, name]
        stamp = at or datetime.now(UTC)
        await node.write_value(
            ua.DataValue(ua.Variant(value, variant), SourceTimestamp=stamp, ServerTimestamp=stamp)
        )
