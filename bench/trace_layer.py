"""A channel layer that writes what it sends and receives to ``$BENCH_TRACE_DIR`` (bench only).

``bench/push.py --trace`` selects it for the worker and the ASGI server, to find where a push
that a socket never got was lost: sent by the worker, popped from Redis by the ASGI process,
or dropped in between.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

from channels_redis.core import RedisChannelLayer


def _line(what: str, **fields) -> None:
    path = os.path.join(os.environ["BENCH_TRACE_DIR"], f"trace-{os.getpid()}.jsonl")
    with open(path, "a") as out:
        out.write(json.dumps({"t": time.time(), "ev": what, **fields}) + "\n")


def _about(message: dict) -> dict:
    return {
        "type": message.get("type"),
        "kind": message.get("kind"),
        "link": message.get("link"),
        "users": len(message.get("users") or ()),
    }


class TracingLayer(RedisChannelLayer):
    async def group_send(self, group, message):
        key = self._group_key(group)
        members = await self.connection(self.consistent_hash(group)).zcard(key)
        _line("group_send", group=group, members=members, **_about(message))
        return await super().group_send(group, message)

    async def receive_single(self, channel):
        try:
            got, message = await super().receive_single(channel)
        except asyncio.CancelledError:
            _line("cancelled", channel=channel)
            raise
        _line("popped", channels=len(got) if isinstance(got, list) else 1, **_about(message))
        return got, message
