"""A key's network allowlist (`allowed_ips`, our extension): the networks a key may be used from, as Stripe and
Cloudflare let a key be bound. Entries are CIDRs or single addresses, IPv4 or IPv6, kept in their canonical
form (`2001:DB8::/32` becomes `2001:db8::/32`), so that the query DSL's `term` finds an entry however it was
written. An empty list is no allowlist: the key works from anywhere."""

from __future__ import annotations

import ipaddress
from typing import Any

from apikeys.domain.errors import ParseFailed, ValidationFailed

MAX_ENTRIES = 100
FIELD = "allowed_ips"


def canonical(entry: str) -> str:
    """An address or network as stored and compared; ValueError when it is neither (or a network has host bits
    set: `10.1.2.3/8` is a typo for one of two things)."""
    text = entry.strip()
    if "/" in text:
        return str(ipaddress.ip_network(text))
    return str(ipaddress.ip_address(text))


def parse_allowlist(value: Any, path: str = FIELD) -> list[str] | None:
    """The canonical allowlist of a request's `allowed_ips`, every bad entry named by its index; None when the
    list is empty (the key works from anywhere)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ParseFailed(f"[{path}] must be an array of addresses or CIDR networks")
    problems = []
    if len(value) > MAX_ENTRIES:
        problems.append(f"[{path}] may hold at most [{MAX_ENTRIES}] entries, got [{len(value)}]")
    entries, first_bad = [], ""
    for index, entry in enumerate(value):
        try:
            if not isinstance(entry, str):
                raise ValueError
            entries.append(canonical(entry))
        except ValueError:
            problems.append(f"[{path}[{index}]] [{entry}] is not an IP address or a CIDR network")
            first_bad = first_bad or f"{path}[{index}]"
    if problems:
        raise ValidationFailed(*problems, path=first_bad or path)
    return list(dict.fromkeys(entries)) or None


def allows(allowlist: list[str] | None, address: str | None) -> bool:
    """Whether a caller at `address` may use a key with this allowlist (none: everyone; no address: nobody)."""
    if not allowlist:
        return True
    if address is None:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(entry) for entry in allowlist)
