"""What the collector reads, and what it does with what it reads, through the core's
services: states reported at the source's time, counters turned into pieces (past resets and
rollovers, from the last reading kept in ``TagHealth`` so a restart counts nothing twice),
and the health rows the admin and the API show."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from mes import services as mes
from mes.audit.context import Channel, channel
from mes.models import MachineState

from .collector import Reading, ServerSpec, TagSpec
from .models import MachineTag, OpcServer, ServerHealth, TagHealth

LAG_CAP = 2**31 - 1
COUNTERS = {MachineTag.Role.GOOD: "good", MachineTag.Role.SCRAP: "scrap"}


def security_string(server: OpcServer) -> str:
    """asyncua's ``Policy,Mode,certificate,key`` (empty: no security). The PEMs are written
    where the collector can read them by :func:`key_files`."""
    if server.security_mode == OpcServer.SecurityMode.NONE:
        return ""
    cert, key = key_files(server)
    return f"{server.security_policy},{server.security_mode},{cert},{key}"


def key_files(server: OpcServer) -> tuple[str, str]:
    """The server's client certificate and key as files asyncua can read, in a fresh folder
    only this process's user may open (never a fixed path another user could plant)."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix=f"andon-opcua-{server.pk}-"))  # mode 0700
    cert, key = folder / "client.pem", folder / "client.key"
    cert.write_text(server.client_certificate)
    key.touch(mode=0o600)
    key.write_text(server.client_private_key)
    return str(cert), str(key)


def server_specs(site_codes=None) -> list[ServerSpec]:
    servers = OpcServer.objects.filter(is_active=True).select_related("site")
    if site_codes:
        servers = servers.filter(site__code__in=site_codes)
    specs = []
    for server in servers:
        tags = (
            MachineTag.objects.filter(link__server=server, link__is_active=True)
            .select_related("link")
            .order_by("pk")
        )
        specs.append(
            ServerSpec(
                server_id=server.pk,
                url=server.endpoint_url,
                username=server.username,
                password=server.password,
                security=security_string(server),
                interval_ms=server.publishing_interval_ms,
                tags=tuple(
                    TagSpec(
                        tag_id=t.pk,
                        machine_id=t.link.machine_id,
                        role=t.role,
                        node_id=t.node_id,
                        browse_path=t.browse_path,
                        namespace_uri=t.namespace_uri,
                    )
                    for t in tags
                ),
            )
        )
    return specs


@channel(Channel.MACHINE)
def apply_readings(readings: list[Reading]) -> None:
    """One batch from the collector, in source-time order."""
    ids = {r.tag.tag_id for r in readings}
    tags = {
        t.pk: t
        for t in MachineTag.objects.filter(pk__in=ids)
        .select_related("link__machine__site", "link__machine__work_center")
        .prefetch_related("link__states")
    }
    last = {h.tag_id: h for h in TagHealth.objects.filter(tag_id__in=ids)}
    counted = []
    for r in sorted(readings, key=lambda r: r.source_time):
        tag = tags.get(r.tag.tag_id)
        if tag is None:
            continue
        machine = tag.link.machine
        if tag.role == MachineTag.Role.STATE:
            meaning = {s.value: s.state for s in tag.link.states.all()}
            state = meaning.get(_int(r.value), MachineState.UNKNOWN)
            mes.report_state(machine, state, r.source_time)
        elif tag.role in COUNTERS and _int(r.value) is not None:
            previous = _int(last[tag.pk].value) if tag.pk in last else None
            delta = mes.counter_delta(previous, _int(r.value), tag.link.counter_bits)
            counted.append(mes.Counted(machine.pk, r.source_time, **{COUNTERS[tag.role]: delta}))
        _remember(last, tag, r)
    with transaction.atomic():
        mes.record_counts(counted)
        TagHealth.objects.bulk_create(
            [last[pk] for pk in {r.tag.tag_id for r in readings} if pk in last and pk in tags],
            update_conflicts=True,
            unique_fields=["tag"],
            update_fields=["value", "source_time", "received_at", "lag_ms", "error"],
        )


def _remember(last: dict, tag: MachineTag, r: Reading) -> None:
    row = last.get(tag.pk) or TagHealth(tag=tag)
    row.value = str(r.value)[:100]
    row.source_time = r.source_time
    row.received_at = r.received_at
    lag = int((r.received_at - r.source_time).total_seconds() * 1000)
    row.lag_ms = max(-LAG_CAP, min(lag, LAG_CAP))  # a server clock days off, or a replay
    row.error = ""
    last[tag.pk] = row


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def record_server_health(server_id: int, connected: bool, error: str) -> None:
    now = timezone.now()
    row, _created = ServerHealth.objects.get_or_create(server_id=server_id)
    if connected and not row.connected:
        row.connected_at = now
        row.reconnects += 0 if _created else 1
    row.connected, row.seen_at, row.error = connected, now, error
    row.save()


@channel(Channel.MACHINE)
def tick(now=None) -> None:
    mes.open_due_downtimes(now)


SECRETS = ("password", "client_private_key")


def save_opcua_configuration(obj, *, actor, reason: str, **kwargs):
    """Servers and machines on them, as every configuration is saved (history, one event)."""
    from mes.services import save_configuration

    return save_configuration(
        obj, actor=actor, reason=reason, event_type="opcua.configuration_changed", **kwargs
    )


def browse(server: OpcServer, depth: int = 4) -> list[tuple[str, str]]:
    """Connect to ``server`` and list the variables under Objects (browse path, node id), at
    most ``depth`` levels down: what "test connection" shows."""
    import asyncio

    from asyncua import Client, ua

    async def walk():
        client = Client(server.endpoint_url, timeout=5)
        if server.username:
            client.set_user(server.username)
            client.set_password(server.password)
        security = security_string(server)
        if security:
            await client.set_security_string(security)
        found = []
        async with client:

            async def visit(node, path, level):
                for child in await node.get_children():
                    if child.nodeid.NamespaceIndex == 0:  # the standard Server object
                        continue
                    name = (await child.read_browse_name()).Name
                    here = f"{path}/{name}" if path else name
                    if await child.read_node_class() == ua.NodeClass.Variable:
                        found.append((here, child.nodeid.to_string()))
                    elif level < depth and len(found) < 500:
                        await visit(child, here, level + 1)

            await visit(client.nodes.objects, "", 1)
        return found

    return asyncio.run(walk())
