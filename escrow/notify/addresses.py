"""Which URLs an outbound webhook may call: no private, loopback, link-local or otherwise
non-public address, unless ``WEBHOOK_ALLOWED_NETWORKS`` lists it (a receiver on the same host in
development and in the tests).

The host is resolved and every address it resolves to must be allowed (a name with one public and
one private address is refused). Delivery resolves again and connects to the address it checked
(``check`` returns it), so a name re-pointed at an internal address after registration (DNS
rebinding) is refused at that moment, and no second lookup can differ from the one checked.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from escrow.errors import InvalidInput


class RefusedURL(InvalidInput):
    """The URL is malformed, or its host resolves to an address we do not call."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query string
    address: str  # the checked address to connect to

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _allowed_networks():
    return [ipaddress.ip_network(n, strict=False) for n in settings.WEBHOOK_ALLOWED_NETWORKS]


def _public(address) -> bool:
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check(url: str, *, field: str = "url") -> Target:
    """The URL's parts and an allowed address to connect to, or ``RefusedURL`` naming the rule."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise RefusedURL(f"Not a valid URL: {error}.", field=field) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedURL("Must be an http(s) URL with a host.", field=field)
    if parts.username or parts.password:
        raise RefusedURL("Must not contain a user name or password.", field=field)
    if parts.fragment:
        raise RefusedURL("Must not contain a fragment (#...).", field=field)
    host = parts.hostname
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise RefusedURL(f"The host {host} could not be resolved.", field=field) from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in found))
    if not addresses:
        raise RefusedURL(f"The host {host} could not be resolved.", field=field)
    networks = _allowed_networks()
    allowed_private = all(any(a in n for n in networks) for a in addresses)
    for address in addresses:
        if not _public(address) and not any(address in n for n in networks):
            raise RefusedURL(f"The host {host} resolves to {address}, a private, loopback or reserved address; "
                             "webhooks are sent to public addresses only.", field=field)
    if parts.scheme != "https" and not allowed_private:
        raise RefusedURL("Must be an https URL.", field=field)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=parts.scheme, host=host, port=port, path=path, address=str(addresses[0]))
