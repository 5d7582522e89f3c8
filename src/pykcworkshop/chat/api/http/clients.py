"""Who is asking: the client address of an HTTP request, also behind trusted proxies.

Without ``TRUSTED_PROXIES`` the address is the peer's, whatever headers say: anyone can
send ``X-Forwarded-For``. With it (comma-separated addresses or CIDR networks of the
proxies in front of the app), a request from one of them is attributed to the address the
proxies recorded: the right-most entry of ``Forwarded: for=`` (RFC 7239) or, without
that header, of ``X-Forwarded-For``, that is not itself a trusted proxy.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache

from quart import current_app, request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FOR = re.compile(r'(?:^|[;,\s])for="?\[?([^\]";,\s]+)', re.IGNORECASE)


@lru_cache(maxsize=8)
def trusted_networks(setting: str) -> tuple[Network, ...]:
    """Parse ``TRUSTED_PROXIES``; raise ValueError on an entry that is no address or network.

    >>> trusted_networks("10.0.0.0/8, 127.0.0.1")
    (IPv4Network('10.0.0.0/8'), IPv4Network('127.0.0.1/32'))
    """
    return tuple(
        ipaddress.ip_network(entry.strip(), strict=False) for entry in setting.split(",") if entry.strip()
    )


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    host = text.strip()
    if host.count(":") == 1:  # IPv4 with a port
        host = host.partition(":")[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    parsed = _address(address)
    return parsed is not None and any(parsed in network for network in networks)


def forwarded_chain(forwarded: str | None, x_forwarded_for: str | None) -> list[str]:
    """Return the addresses the proxies recorded, client first.

    >>> forwarded_chain('for=192.0.2.60;proto=https, for="[2001:db8::1]:443"', None)
    ['192.0.2.60', '2001:db8::1']
    >>> forwarded_chain(None, "203.0.113.7, 10.0.0.2")
    ['203.0.113.7', '10.0.0.2']
    """
    if forwarded:
        return [match.group(1) for match in _FOR.finditer(forwarded)]
    if x_forwarded_for:
        return [entry.strip() for entry in x_forwarded_for.split(",") if entry.strip()]
    return []


def client_address() -> str:
    """Return the address of the client of the current request (see the module doc)."""
    peer = request.remote_addr or ""
    networks = trusted_networks(str(current_app.config.get("TRUSTED_PROXIES") or ""))
    if not networks or not _trusted(peer, networks):
        return peer
    chain = forwarded_chain(request.headers.get("Forwarded"), request.headers.get("X-Forwarded-For"))
    for hop in reversed(chain):
        if not _trusted(hop, networks):
            parsed = _address(hop)
            return str(parsed) if parsed is not None else peer
    return str(_address(chain[0])) if chain and _address(chain[0]) else peer
