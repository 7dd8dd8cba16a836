"""``manage.py opcua_simulate``: serve the machines of the OPC UA servers configured in the
admin at a loopback address (the demo's) from a simulated plant, until stopped."""

from __future__ import annotations

import asyncio

from django.core.management.base import BaseCommand

from integrations.opcua import simulator
from integrations.opcua.collector import stop_event
from integrations.opcua.models import OpcServer


class Command(BaseCommand):
    help = "Simulate the machines of the loopback OPC UA servers configured in the admin."

    def add_arguments(self, parser):
        parser.add_argument("--server", help="only the server of this name")
        parser.add_argument("--seconds", type=float, default=0, help="stop after (0: never)")

    def handle(self, *args, server=None, seconds=0, **options):
        servers = OpcServer.objects.filter(is_active=True).prefetch_related(
            "machines__states", "machines__tags"
        )
        if server:
            servers = servers.filter(name=server)
        specs = [
            simulator.spec_of(s)
            for s in servers
            if any(h in s.endpoint_url for h in ("//127.0.0.1:", "//localhost:"))
        ]
        if not specs:
            self.stderr.write("No loopback OPC UA server is configured to simulate.")
            return
        for spec in specs:
            self.stdout.write(f"Simulating {len(spec['machines'])} machines at {spec['url']}")
        asyncio.run(self._run(specs, seconds))

    async def _run(self, specs, seconds: float) -> None:
        stop = stop_event(seconds)
        await asyncio.gather(*(simulator.run(spec, stop) for spec in specs))
