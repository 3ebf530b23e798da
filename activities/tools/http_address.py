"""Where the HTTP tools may connect: resolved addresses are checked, and the connection is pinned to them.

The allow-list in http_fetch.py matches names. A name says nothing about where it points: an allowed
name may resolve to 127.0.0.1 or to the cloud metadata service at 169.254.169.254, a URL may spell an
address as `2130706433`, `0177.0.0.1` or `[::ffff:127.0.0.1]`, and a name may answer a public address to
a check and a private one to the connection that follows (DNS rebinding). So the check happens where
the socket is opened: `PinnedBackend.connect_tcp` resolves the host once, refuses the connection if any
address is loopback, link-local, private or otherwise not public (unless a network in
`allowed_networks` holds it), and connects to exactly the addresses it checked. There is no second
resolution to rebind. TLS still verifies the certificate against the URL's host name.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> the addresses the name resolves to, as strings
Resolver = Callable[[str, int], Sequence[str]]


class AddressRefused(Exception):
    """The host resolved to an address the policy does not allow; nothing was sent."""


def system_resolver(host: str, port: int) -> list[str]:
    """getaddrinfo, which also reads the numeric forms (`2130706433`, `0177.0.0.1`) as the OS would."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_networks(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (`10.1.0.0/16`, `::1/128`) or bare addresses; raises ValueError on anything else."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """The address and any IPv4 address it carries (mapped, 6to4, Teredo): each must pass."""
    found: list[IPAddress] = []
    if isinstance(ip, ipaddress.IPv6Address):
        found = [a for a in (ip.ipv4_mapped, ip.sixtofour, ip.teredo and ip.teredo[1]) if a is not None]
    return [*found, ip]


def _kind(ip: IPAddress) -> str:
    for attribute in ("loopback", "link_local", "private", "multicast", "unspecified", "reserved"):
        if getattr(ip, f"is_{attribute}"):
            return attribute.replace("_", "-")
    return "non-public"


@dataclass(frozen=True)
class AddressGuard:
    allowed_networks: tuple[IPNetwork, ...] = ()
    resolver: Resolver = system_resolver

    def check(self, host: str, address: str) -> None:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
        if any(ip in net for net in self.allowed_networks if net.version == ip.version):
            return
        for candidate in _embedded(ip):
            allowed = any(candidate in net for net in self.allowed_networks if net.version == candidate.version)
            if not allowed and (not candidate.is_global or candidate.is_multicast):
                carried = "" if candidate == ip else f" (carrying {candidate})"
                raise AddressRefused(
                    f"{host} resolves to {address}{carried}, a {_kind(candidate)} address; the HTTP tools only reach "
                    "public addresses unless AGENT_HTTP_ALLOW_NETWORKS lists it")

    def resolve(self, host: str, port: int) -> list[str]:
        """Resolve once and check every address: one bad answer refuses the host."""
        try:
            addresses = list(self.resolver(host, port))
        except OSError as e:
            raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        for address in addresses:
            self.check(host, address)
        return addresses


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's network backend with the address check in front of every TCP connection."""

    def __init__(self, guard: AddressGuard, inner: httpcore.NetworkBackend | None = None) -> None:
        self.guard = guard
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in self.guard.resolve(host, port):
            try:
                # The checked address itself: a literal IP, so no second lookup can answer differently.
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as e:
                failure = e
        assert failure is not None  # resolve() returns at least one address
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        raise AddressRefused("the HTTP tools do not connect to Unix sockets")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def pinned_transport(guard: AddressGuard) -> httpx.HTTPTransport:
    """An httpx transport whose connections all go through `PinnedBackend`, ignoring proxy variables."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx has no public way to pass a network backend; its pool is httpcore's, which takes one.
    # Should a new httpx keep its pool elsewhere, refuse to run rather than connect unchecked
    # (and tests/adversarial/test_ssrf.py fails).
    if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):
        raise TypeError("this httpx version keeps no httpcore pool in HTTPTransport._pool; "
                        "the HTTP tools cannot pin their connections")
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), network_backend=PinnedBackend(guard))
    return transport
