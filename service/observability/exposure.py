"""Who may read /metrics: in production, clients on the allowed networks or bearing the metrics token.

Metrics name operations, pools and load history: useful to an attacker mapping the service, so a
production instance does not serve them to the open internet. ``METRICS_ALLOWED_NETWORKS`` (CIDRs;
loopback and the private ranges by default) lets a scraper in by its address; ``METRICS_TOKEN`` lets one
in from anywhere with ``Authorization: Bearer <token>`` (use it when a proxy hides the client address).
In development everyone may read them.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PRIVATE_NETWORKS = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


@dataclass(frozen=True)
class MetricsAccess:
    """``allows(client_host, authorization_header)``; ``open`` lets everyone in (development)."""

    open: bool
    networks: tuple[Network, ...] = ()
    token: str | None = None

    @classmethod
    def build(cls, *, production: bool, networks: Sequence[str], token: str | None) -> MetricsAccess:
        chosen = networks or PRIVATE_NETWORKS
        return cls(
            open=not production,
            networks=tuple(ipaddress.ip_network(n, strict=False) for n in chosen),
            token=token or None,
        )

    def allows(self, client: str | None, authorization: str | None) -> bool:
        if self.open:
            return True
        if self.token is not None and authorization is not None:
            scheme, _, presented = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip(), self.token):
                return True
        if client is None:
            return False
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in network for network in self.networks)
