"""The collector: one asyncio process (``manage.py opcua_collect``) holding one asyncua
subscription per server, many monitored items each. Data changes go to a queue; every
``batch_seconds`` the batch is applied through services in one thread call (states in
source-time order, counters as deltas past resets and rollovers, health rows in bulk), and
every ``tick_seconds`` the machines down for their debounce get their downtimes. A server
that goes away is retried with backoff (1 s doubling to 30 s); on reconnect the
subscription's first values repeat what is known, which changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asgiref.sync import sync_to_async
from asyncua import Client
from django.db import DatabaseError

log = logging.getLogger("andon.opcua")
BACKOFF_MAX = 30.0
RETRY_MAX = 100_000  # values kept while the database refuses them (the newest)


@dataclass(frozen=True)
class TagSpec:
    tag_id: int
    machine_id: int
    role: str
    node_id: str = ""
    browse_path: str = ""
    namespace_uri: str = ""


@dataclass(frozen=True)
class ServerSpec:
    server_id: int
    url: str
    tags: tuple[TagSpec, ...]
    username: str = ""
    password: str = ""
    security: str = ""  # asyncua security string, empty: none
    interval_ms: int = 500


@dataclass
class Reading:
    tag: TagSpec
    value: object
    source_time: datetime
    received_at: datetime


async def resolve(client: Client, tag: TagSpec):
    """The node of a tag: by id, or by browse path from Objects under its namespace URI."""
    if tag.node_id:
        return client.get_node(tag.node_id)
    index = await client.get_namespace_index(tag.namespace_uri)
    path = ["0:Objects", *(f"{index}:{part}" for part in tag.browse_path.strip("/").split("/"))]
    return await client.nodes.root.get_child(path)


def stop_event(seconds: float = 0) -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, or after ``seconds`` (0: never): how a command's
    loop is told to stop. Call it inside the running loop."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if seconds:
        loop.call_later(seconds, stop.set)
    return stop


class _Handler:
    def __init__(self, queue: asyncio.Queue, by_node: dict):
        self.queue, self.by_node = queue, by_node

    def datachange_notification(self, node, value, data) -> None:
        tag = self.by_node.get(node.nodeid)
        if tag is None:
            return
        dv = data.monitored_item.Value
        now = datetime.now(UTC)
        at = dv.SourceTimestamp or dv.ServerTimestamp or now
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        self.queue.put_nowait(Reading(tag, value, at, now))


@dataclass
class Collector:
    servers: list[ServerSpec]
    apply: object  # callable(list[Reading]) -> None, run in a thread (Django's ORM)
    tick: object  # callable(now: datetime | None) -> None: open the downtimes now due
    health: object  # callable(server_id, connected: bool, error: str) -> None
    batch_seconds: float = 0.2
    tick_seconds: float = 0.5
    #: Time is the sources': the debounce is judged at the latest source time applied rather
    #: than the wall clock (a replay of history; live, the two agree).
    source_clock: bool = False
    latest: datetime | None = None
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    retry: list = field(default_factory=list)  # a batch the database refused, tried again
    stats: dict = field(default_factory=lambda: {"values": 0, "batches": 0})

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [asyncio.create_task(self._serve(s, stop)) for s in self.servers]
        tasks.append(asyncio.create_task(self._tick(stop)))
        process = asyncio.create_task(self._process(stop))
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await process  # the batch in flight is applied and counted, then what is left
        await self._drain()

    async def _serve(self, server: ServerSpec, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            client = Client(server.url, timeout=5)
            if server.username:
                client.set_user(server.username)
                client.set_password(server.password)
            try:
                if server.security:
                    await client.set_security_string(server.security)
                async with client:
                    by_node = {}
                    for tag in server.tags:
                        node = await resolve(client, tag)
                        by_node[node.nodeid] = tag
                    sub = await client.create_subscription(
                        server.interval_ms, _Handler(self.queue, by_node)
                    )
                    await sub.subscribe_data_change(
                        [client.get_node(nodeid) for nodeid in by_node],
                        queuesize=100,
                    )
                    await sync_to_async(self.health)(server.server_id, True, "")
                    backoff = 1.0
                    while not stop.is_set():
                        await asyncio.sleep(1)
                        await client.check_connection()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a server away is retried, whatever it said
                log.warning("OPC UA %s: %s; retry in %.0f s", server.url, exc, backoff)
                await sync_to_async(self.health)(server.server_id, False, str(exc)[:300])
                try:
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _process(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.batch_seconds)
            await self._drain()

    async def _drain(self) -> None:
        batch, self.retry = self.retry, []
        while not self.queue.empty():
            batch.append(self.queue.get_nowait())
        if batch:
            try:
                await sync_to_async(self.apply)(batch)
            except DatabaseError as exc:  # the database busy or away: keep the values
                log.warning("database: %s; %d values kept for the next batch", exc, len(batch))
                self.retry = batch[-RETRY_MAX:]
                return
            newest = max(r.source_time for r in batch)
            self.latest = newest if self.latest is None else max(self.latest, newest)
            self.stats["values"] += len(batch)
            self.stats["batches"] += 1

    async def _tick(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.tick_seconds)
            now = self.latest if self.source_clock else None
            if now is not None or not self.source_clock:
                try:
                    await sync_to_async(self.tick)(now)
                except DatabaseError as exc:  # the next tick tries again
                    log.warning("database: %s; the downtimes due wait for the next tick", exc)
