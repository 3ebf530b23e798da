"""The HTTP tools check where a name resolves, refuse non-public addresses, and pin the connection.

Every address form below points at the test's own server on loopback, so a tool that connected would
show up in its hit counter; the non-loopback ones (10/8, 169.254/16) are refused before any socket is
opened and are listed after the loopback ones, so older code fails on loopback first.
"""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import httpcore
import pytest
from temporalio.testing import ActivityEnvironment

from activities.tools.http_address import AddressGuard, AddressRefused, PinnedBackend, parse_networks
from activities.tools.http_fetch import HttpPolicy, build_http_tools
from activities.tools.registry import ToolRegistrationError
from tests.tools.helpers import call_input, tool_activities
from tests.tools.http_server import LocalHttpServer
from worker.tool_settings import http_policy_from_env


@pytest.fixture
def server():
    with LocalHttpServer() as s:
        yield s


async def get(tools, url: str, call_id: str, tenant_id: str = "t"):
    call = call_input("http_get", call_id=call_id, url=url).model_copy(update={"tenant_id": tenant_id})
    return await ActivityEnvironment().run(tools.execute, call)


async def test_loopback_private_and_link_local_addresses_are_refused(tmp_path, server):
    """Names and numeric spellings of loopback, private and metadata addresses never reach a socket."""
    hosts = ["localhost", "127.0.0.1", "127.0.0.2", "2130706433", "0x7f000001", "127.1", "[::1]",
             "[::ffff:127.0.0.1]", "10.0.0.1", "169.254.169.254", "[fe80::1]", "100.64.0.1"]
    urls = [f"http://{h}:{server.port}/hello" for h in hosts]
    # Every host is on the name allow-list: the address check alone must refuse them.
    policy = HttpPolicy(allowed_hosts=[f"http://{h}:{server.port}" for h in hosts], timeout_s=1)
    tools = tool_activities(tmp_path, *build_http_tools(policy))
    for i, url in enumerate(urls):
        result = await get(tools, url, call_id=f"c{i}")
        assert (result.status, result.error_type) == ("error", "address_not_allowed"), (url, result)
    assert sum(server.hits.values()) == 0
    octal = await get(tools, f"http://0177.0.0.1:{server.port}/hello", call_id="octal")
    assert octal.error_type == "invalid_arguments"  # httpx refuses the octal spelling outright
    # The same spellings, as the OS resolver reads them, fail the address check itself.
    for spelling in ("0177.0.0.1", "2130706433", "::ffff:127.0.0.1", "2002:7f00:1::"):
        with pytest.raises(AddressRefused):
            AddressGuard().resolve(spelling, 80)


async def test_an_explicitly_allowed_network_is_reachable_and_nothing_else(tmp_path, server):
    """AGENT_HTTP_ALLOW_NETWORKS opens exactly the listed range: 127.0.0.1 yes, localhost's ::1 or 127.0.0.2 no."""
    policy = http_policy_from_env({"AGENT_HTTP_ALLOWLIST": f"http://127.0.0.1:{server.port},"
                                  f"http://127.0.0.2:{server.port}", "AGENT_HTTP_ALLOW_NETWORKS": "127.0.0.1/32"})
    tools = tool_activities(tmp_path, *build_http_tools(policy))
    ok = await get(tools, f"http://127.0.0.1:{server.port}/hello", call_id="c1")
    assert ok.status == "ok" and ok.data["body"] == "hello"
    other = await get(tools, f"http://127.0.0.2:{server.port}/hello", call_id="c2")
    assert other.error_type == "address_not_allowed"
    with pytest.raises(ToolRegistrationError, match="AGENT_HTTP_ALLOW_NETWORKS"):
        http_policy_from_env({"AGENT_HTTP_ALLOWLIST": "a.example", "AGENT_HTTP_ALLOW_NETWORKS": "intranet"})


async def test_a_redirect_to_a_private_address_is_refused(tmp_path, server):
    """An allowed server that redirects to an allowed name on a forbidden address gets no second request."""
    server.redirect_to = f"http://metadata.test:{server.port}/hello"
    answers = {"api.test": ["127.0.0.1"], "metadata.test": ["169.254.169.254"]}
    policy = HttpPolicy(allowed_hosts=[f"http://api.test:{server.port}", f"http://metadata.test:{server.port}"],
                        allowed_networks=["127.0.0.1/32"], timeout_s=1)
    tools = tool_activities(tmp_path, *build_http_tools(policy, resolver=lambda host, port: answers[host]))
    result = await get(tools, f"http://api.test:{server.port}/redirect-outside", call_id="c1")
    assert result.error_type == "address_not_allowed" and "169.254.169.254" in result.message
    assert server.hits == {"/redirect-outside": 1}


async def test_a_rebinding_name_connects_to_the_address_that_was_checked(tmp_path, server):
    """A name answering loopback (allowed here) once and then 10.0.0.1 is resolved once per connection."""
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["10.0.0.1"]

    policy = HttpPolicy(allowed_hosts=[f"http://rebind.test:{server.port}"], allowed_networks=["127.0.0.1/32"],
                        timeout_s=1)
    tools = tool_activities(tmp_path, *build_http_tools(policy, resolver=rebinding))
    result = await get(tools, f"http://rebind.test:{server.port}/hello", call_id="c1")
    assert result.status == "ok" and result.data["body"] == "hello" and calls == ["rebind.test"]
    # The next connection asks again, gets the rebound answer, and is refused before connecting.
    again = await get(tools, f"http://rebind.test:{server.port}/hello", call_id="c2")
    assert again.error_type == "address_not_allowed" and server.hits["/hello"] == 1


def test_the_backend_connects_to_the_checked_address_never_to_a_second_lookup():
    """Unit level: the socket is opened on the literal address the check saw, whatever DNS says later."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    opened: list[str] = []

    class Recording(httpcore.NetworkBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            opened.append(host)
            raise httpcore.ConnectError("recorded, not connected")

    backend = PinnedBackend(AddressGuard(resolver=lambda host, port: next(answers)), inner=Recording())
    with pytest.raises(httpcore.ConnectError, match="recorded"):
        backend.connect_tcp("rebind.test", 443)
    assert opened == ["93.184.216.34"]
    with pytest.raises(AddressRefused):
        backend.connect_tcp("rebind.test", 443)
    assert opened == ["93.184.216.34"]


async def test_reads_without_query_strings_are_a_per_tenant_choice(tmp_path, server):
    """A no_query tenant cannot put data into a GET's query; another tenant can; approval can be forced."""
    policy = http_policy_from_env({"AGENT_HTTP_ALLOWLIST": f"http://127.0.0.1:{server.port}",
                                  "AGENT_HTTP_ALLOW_NETWORKS": "127.0.0.0/8",
                                  "AGENT_HTTP_TENANT_READ_MODES": "t=no_query"})
    tools = tool_activities(tmp_path, *build_http_tools(policy))
    leak = f"http://127.0.0.1:{server.port}/hello?secret=s3cr3t"
    refused = await get(tools, leak, call_id="c1")
    assert refused.error_type == "query_not_allowed" and sum(server.hits.values()) == 0
    plain = await get(tools, f"http://127.0.0.1:{server.port}/hello", call_id="c2")
    assert plain.status == "ok"
    other = await get(tools, leak, call_id="c3", tenant_id="other")
    assert other.status == "ok" and server.hits["/hello?secret=s3cr3t"] == 1
    gated = build_http_tools(policy.model_copy(update={"get_approval": "always"}))
    assert gated[0].spec().approval == "always" and build_http_tools(policy)[0].spec().approval == "by_risk"


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for `name` only, and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_https_connects_to_the_pinned_address_and_verifies_the_url_name(tmp_path):
    """Pinning changes where the socket goes, not what TLS checks: the certificate must match the URL's name."""
    cert, key = self_signed(tmp_path, "api.test")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server = LocalHttpServer()
    server.httpd.socket = server_tls.wrap_socket(server.httpd.socket, server_side=True)
    looked_up: list[str] = []
    guard = AddressGuard(parse_networks(["127.0.0.1/32"]),
                         resolver=lambda host, port: looked_up.append(host) or ["127.0.0.1"])
    with server, httpcore.ConnectionPool(ssl_context=ssl.create_default_context(cafile=str(cert)),
                                         network_backend=PinnedBackend(guard)) as pool:
        reply = pool.request("GET", f"https://api.test:{server.port}/hello")
        assert (reply.status, reply.content) == (200, b"hello")
        with pytest.raises(httpcore.ConnectError, match="certificate|hostname"):
            pool.request("GET", f"https://other.test:{server.port}/hello")
    assert looked_up == ["api.test", "other.test"] and server.hits["/hello"] == 1
