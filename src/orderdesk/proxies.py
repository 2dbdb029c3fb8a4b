"""Client addresses behind reverse proxies (TRUSTED_PROXIES), applied with werkzeug's ProxyFix.

Without it every request carries the proxy's address, so the per-IP login limit would lock out
the whole company at once. A hop count trusts that many X-Forwarded-For entries from the right;
CIDRs trust the entries only while they come from those networks, so a client cannot forge its
address by sending its own X-Forwarded-For to a deployment that has no proxy in front.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.proxy_fix import ProxyFix

from orderdesk.settings import ProxySpec, parse_trusted_proxies

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _in_any(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def trusted_hops(environ: WSGIEnvironment, networks: tuple[Network, ...]) -> int:
    """How many proxies in a row, from the peer inwards, are inside `networks`."""
    chain = [a for a in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    address, hops = environ.get("REMOTE_ADDR", ""), 0
    while chain and _in_any(address, networks):
        hops += 1
        address = chain.pop()
    return hops


class TrustedProxies:
    """ProxyFix with as many hops as there are trusted proxies in front of this request."""

    def __init__(self, app: WSGIApplication, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        hops = trusted_hops(environ, self.networks)
        if not hops:
            return self.app(environ, start_response)
        return ProxyFix(self.app, x_for=hops, x_proto=hops)(environ, start_response)


def behind_proxies(app: WSGIApplication, raw: str) -> WSGIApplication:
    """`app` wrapped for the TRUSTED_PROXIES setting (unchanged when there is no proxy)."""
    spec: ProxySpec = parse_trusted_proxies(raw)
    if isinstance(spec, int):
        return ProxyFix(app, x_for=spec, x_proto=spec) if spec else app
    return TrustedProxies(app, spec)
