"""``manage.py opcua_collect``: read every active OPC UA server's machines until stopped
(SIGTERM or Ctrl-C), through :mod:`integrations.opcua.collector`."""

from __future__ import annotations

import asyncio

from django.core.management.base import BaseCommand

from integrations.opcua import services
from integrations.opcua.collector import Collector, stop_event


class Command(BaseCommand):
    help = "Collect machine states and counters from the OPC UA servers configured in the admin."

    def add_arguments(self, parser):
        parser.add_argument("--site", action="append", help="only these sites' servers")
        parser.add_argument("--seconds", type=float, default=0, help="stop after (0: never)")

    def handle(self, *args, site=None, seconds=0, **options):
        specs = services.server_specs(site)
        if not specs:
            self.stderr.write("No active OPC UA server is configured.")
            return
        tags = sum(len(s.tags) for s in specs)
        self.stdout.write(f"Collecting {tags} tags from {len(specs)} servers.")
        asyncio.run(self._run(specs, seconds))

    async def _run(self, specs, seconds: float) -> None:
        stop = stop_event(seconds)
        collector = Collector(
            specs,
            apply=services.apply_readings,
            tick=services.tick,
            health=services.record_server_health,
        )
        await collector.run(stop)
        self.stdout.write(f"Stopped after {collector.stats['values']} values.")
