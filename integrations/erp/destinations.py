"""Where an ERP endpoint may send: never to this machine or to a private, link-local or other
non-public address, unless ``ERP_ALLOWED_HOSTS`` allows it. An endpoint pointed there would
make Andon a door into the networks around it (cloud metadata, the database, the admin of a
router), with an ERP's credentials and Andon's events attached.

``ERP_ALLOWED_HOSTS`` lists host names (``erp.plant.local``) and addresses or networks
(``10.20.0.0/16``, ``127.0.0.1``) that a plant's own ERP lives at. Checked when an endpoint is
saved and again before every call (a name may resolve elsewhere by then).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class UnsafeDestination(ValueError):
    """The URL points where an ERP endpoint may not send (the message says why)."""


def _allowed() -> tuple[set[str], list]:
    names, networks = set(), []
    for entry in getattr(settings, "ANDON_ERP_ALLOWED_HOSTS", []):
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


def _public(address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _addresses(host: str, port: int) -> list:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeDestination(
            _("The host %(host)s cannot be resolved.") % {"host": host}
        ) from exc
    found = []
    for info in infos:
        # an IPv6 address may carry a scope ("fe80::1%eth0"): the address is before it
        found.append(ipaddress.ip_address(info[4][0].split("%", 1)[0]))
    return found


def check_destination(url: str) -> None:
    """Raise :class:`UnsafeDestination` unless ``url`` is an http(s) URL whose host is public
    or allowed by ``ERP_ALLOWED_HOSTS``."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeDestination(_("Not a valid URL.")) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeDestination(_("An ERP is reached over http or https, at a host name."))
    if parts.username or parts.password:
        raise UnsafeDestination(
            _("Credentials do not belong in the URL: use the auth header and value.")
        )
    host = parts.hostname.lower().rstrip(".")
    names, networks = _allowed()
    if host in names:
        return
    for address in _addresses(host, port):
        if any(address in network for network in networks):
            continue
        if not _public(address):
            raise UnsafeDestination(
                _(
                    "%(host)s is a local or private address (%(address)s); an ERP there must "
                    "be allowed in the ERP_ALLOWED_HOSTS setting."
                )
                % {"host": host, "address": address}
            )


def excerpt(text: str, limit: int = 300) -> str:
    """At most ``limit`` characters of what an ERP answered, printable only (the rest of an
    answer may be anything: a page, a stack trace, a secret echoed back)."""
    printable = "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in text[:limit])
    return printable + ("…" if len(text) > limit else "")


def redact(text: str, secrets) -> str:
    """``text`` with every secret in it (an auth value, an HMAC secret) replaced: an ERP's
    error page may echo the request back."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[secret]")
    return text
