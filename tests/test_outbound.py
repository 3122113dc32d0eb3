"""The SSRF guard of every user-set outbound URL (oncall/outbound.py): at save, every way of
writing an inward address is refused, and a name is judged by every address it resolves to; at
send, the transport connects only to the address it checked, under the real name, and follows no
redirect. The allow-list lets an operator through (the sandbox on loopback)."""

from __future__ import annotations

import socket
from unittest import mock

import pytest
import requests
import responses
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from oncall import outbound
from oncall.env import env_networks
from tests.fake_dns import FakeDNS
from tests.listener import Listener

PUBLIC = "93.184.216.34"

# Every way of writing an inward address that a URL's host can hold, and what it is.
INWARD_HOSTS = [
    "127.0.0.1",
    "127.1",  # inet_aton: the last number fills the remaining bytes
    "2130706433",  # 127.0.0.1 as one decimal number
    "0x7f000001",  # ... in hex
    "017700000001",  # ... in octal
    "0177.0.0.1",
    "0",  # 0.0.0.0: this machine on Linux
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",  # IPv4-compatible
    "[2002:7f00:1::]",  # 6to4 around 127.0.0.1
    "[64:ff9b::a9fe:a9fe]",  # NAT64 around 169.254.169.254
    "10.0.0.5",
    "10.1",
    "172.16.3.4",
    "192.168.1.1",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "100.100.100.200",  # Alibaba Cloud metadata
    "169.254.169.254",  # AWS / GCP / Azure metadata
    "168.63.129.16",  # Azure wireserver, on a public address
    "[fd00:ec2::254]",  # AWS metadata over IPv6
    "[fc00::1]",
    "[fe80::1]",
    "[fec0::1]",  # site-local
    "224.0.0.1",
    "[ff02::1]",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",  # documentation
]


@pytest.fixture
def no_socket_connects(monkeypatch) -> list:
    """Every socket connection attempted (there must be none), recorded and refused."""
    attempts: list = []

    def refuse(sock: socket.socket, address: object) -> None:
        attempts.append(address)
        raise AssertionError(f"a socket was connected to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def refusal(url: str) -> str:
    with pytest.raises(ValidationError) as caught:
        outbound.validate_base_url(url)
    return " ".join(caught.value.messages)


# --- At save --------------------------------------------------------------------------------


@pytest.mark.parametrize("host", INWARD_HOSTS)
def test_it_refuses_every_form_of_an_inward_address_at_save(host, fake_dns):
    message = refusal(f"https://{host}/")

    assert "the console does not call such addresses" in message
    assert fake_dns.lookups == []  # addresses are parsed, never looked up


@pytest.mark.parametrize(
    ("host", "what"),
    [
        ("2130706433", "loopback"),
        ("0", "unspecified"),
        ("100.100.100.200", "cloud metadata"),
        ("[fd00:ec2::254]", "cloud metadata"),
        ("10.0.0.5", "private network"),
        ("[::ffff:169.254.1.1]", "link-local"),
    ],
)
def test_the_refusal_names_what_the_address_is(host, what, fake_dns):
    assert what in refusal(f"https://{host}")


def test_the_refusal_is_in_the_admins_language(fake_dns):
    with translation.override("zh-hans"):
        message = refusal("https://2130706433")

    assert message.startswith("2130706433 指向回环地址")


def test_it_refuses_a_name_that_resolves_to_loopback(fake_dns):
    fake_dns.answers["localhost"] = ["127.0.0.1", "::1"]
    fake_dns.answers["feishu.attacker.example"] = ["127.0.0.1"]

    assert "localhost points at a loopback address" in refusal("https://localhost")
    assert "feishu.attacker.example points at a loopback" in refusal(
        "https://feishu.attacker.example"
    )


def test_it_refuses_a_name_when_any_of_its_addresses_is_inward(fake_dns):
    fake_dns.answers["mixed.example.com"] = [PUBLIC, "10.0.0.7"]

    assert "private network" in refusal("https://mixed.example.com/")


def test_it_refuses_a_name_that_does_not_resolve_and_says_so(fake_dns):
    assert "could not be resolved" in refusal("https://no-such-host.example.com")


def test_it_accepts_a_public_https_url(fake_dns):
    fake_dns.answers["proxy.example.com"] = [PUBLIC, "2606:4700::1111"]

    outbound.validate_base_url("https://proxy.example.com:8443/feishu")

    assert fake_dns.lookups == ["proxy.example.com"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://proxy.example.com",
        "proxy.example.com",
        "https://user:pw@proxy.example.com",
        "https://proxy.example.com/?a=1",
        "https://proxy.example.com/#top",
        "https://proxy.example.com/?",
        "https://proxy.example.com/#",
        "https://@proxy.example.com/",
        "https://proxy.example.com:99999/",
        "https://proxy .example.com/",
        "https://proxy..example.com/",
        "https://[::1/",
        "https://[not-an-address]/",
        "https://" + "a" * 64 + ".example.com/",
    ],
)
def test_it_refuses_a_malformed_base_url(url, fake_dns):
    fake_dns.answers["proxy.example.com"] = [PUBLIC]

    assert refusal(url)


def test_plain_http_needs_debug_or_the_allow_list(fake_dns, settings):
    fake_dns.answers["proxy.example.com"] = [PUBLIC]
    settings.DEBUG = False

    assert "plain http" in refusal("http://proxy.example.com")

    settings.DEBUG = True
    outbound.validate_base_url("http://proxy.example.com")


def test_the_allow_list_lets_an_inward_network_through_even_over_http(fake_dns, settings):
    fake_dns.answers["egress.corp"] = ["10.1.2.3"]
    settings.OUTBOUND_ALLOWED_NETWORKS = ["10.1.2.0/24"]

    outbound.validate_base_url("http://egress.corp:3128")

    assert "loopback" in refusal("https://127.0.0.1")  # only the networks listed


def test_a_metadata_address_stays_refused_inside_an_allowed_network(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["100.64.0.0/10", "169.254.0.0/16"]

    outbound.validate_base_url("https://100.100.100.100")
    assert "cloud metadata" in refusal("https://100.100.100.200")
    assert "cloud metadata" in refusal("https://[::ffff:169.254.169.254]")


def test_a_bad_allow_list_entry_stops_the_process(monkeypatch):
    monkeypatch.setenv("OUTBOUND_ALLOWED_NETWORKS", "10.0.0.0/8, localhost")

    with pytest.raises(ImproperlyConfigured) as caught:
        env_networks("OUTBOUND_ALLOWED_NETWORKS", [])

    assert "'localhost' is not an IP network" in str(caught.value)


# --- At send --------------------------------------------------------------------------------


@pytest.mark.parametrize("host", INWARD_HOSTS)
def test_the_transport_refuses_every_inward_address_without_opening_a_socket(
    host, fake_dns, no_socket_connects
):
    with pytest.raises(outbound.OutboundRefused) as caught:
        outbound.session().post(f"https://{host}/token", json={"app_secret": "s3cret"})

    assert "does not call such addresses" in str(caught.value)
    assert no_socket_connects == []


def test_the_transport_refuses_a_name_that_resolves_inward_without_opening_a_socket(
    fake_dns, no_socket_connects
):
    fake_dns.answers["rebind.attacker.example"] = [PUBLIC, "169.254.169.254"]

    with pytest.raises(outbound.OutboundRefused):
        outbound.session().get("https://rebind.attacker.example/latest/meta-data/", timeout=5)

    assert no_socket_connects == []


def test_it_connects_to_the_checked_address_under_the_real_name_with_one_lookup(fake_dns, settings):
    """The name resolves once, through the guard; urllib3 does no lookup of its own (the test
    network guard would refuse one for this name), so a second, different DNS answer (DNS
    rebinding) never gets a say."""
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    fake_dns.answers["api.internal.test"] = ["127.0.0.1"]

    with Listener() as listener:
        response = outbound.session().get(
            f"http://api.internal.test:{listener.port}/ping", timeout=5
        )

    assert response.status_code == 200
    assert fake_dns.lookups == ["api.internal.test"]
    assert f"Host: api.internal.test:{listener.port}".encode() in listener.everything


def test_tls_is_negotiated_for_the_real_name(fake_dns, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    fake_dns.answers["api.internal.test"] = ["127.0.0.1"]

    with Listener(answer=b"") as listener, pytest.raises(requests.ConnectionError):
        outbound.session().get(f"https://api.internal.test:{listener.port}/", timeout=5)

    # The ClientHello went to the checked address and names the host (SNI), against which the
    # certificate is then verified.
    assert b"api.internal.test" in listener.everything


def test_plain_http_is_refused_at_send_unless_allow_listed(fake_dns, settings):
    fake_dns.answers["api.internal.test"] = ["127.0.0.1"]
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    settings.DEBUG = False

    with Listener() as listener, pytest.raises(outbound.OutboundRefused) as caught:
        outbound.session().get(f"http://api.internal.test:{listener.port}/", timeout=5)

    assert "loopback" in str(caught.value)
    assert listener.received == []


@responses.activate
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_not_followed(status):
    responses.post(
        "https://open.example.com/token",
        status=status,
        headers={"Location": "https://elsewhere.example.net/steal"},
    )
    elsewhere = responses.post("https://elsewhere.example.net/steal", json={})

    with pytest.raises(outbound.OutboundRefused) as caught:
        outbound.session().post("https://open.example.com/token", json={"secret": "s3cret"})

    assert f"answered with a redirect (HTTP {status})" in str(caught.value)
    assert elsewhere.call_count == 0


def test_no_proxy_carries_a_guarded_call(fake_dns, no_socket_connects):
    fake_dns.answers["open.example.com"] = [PUBLIC]

    with pytest.raises(outbound.OutboundRefused):
        outbound.session().get(
            "https://open.example.com/", proxies={"https": "http://10.0.0.1:3128"}, timeout=5
        )

    assert no_socket_connects == []


@given(
    host=st.text(max_size=80) | st.from_regex(r"[0-9a-fx.:\[\]%]{1,40}", fullmatch=True),
    scheme=st.sampled_from(["https://", "http://", ""]),
    rest=st.sampled_from(["", "/", ":443/", ":0", "/?q#f", "@x"]),
)
@hypothesis_settings(max_examples=400, deadline=None, database=None, derandomize=True)
def test_any_text_is_accepted_or_refused_with_a_reason_never_a_crash(host, scheme, rest):
    dns = FakeDNS()  # every name unknown: the network is never asked
    with mock.patch.object(outbound, "getaddrinfo", dns.getaddrinfo):
        try:
            outbound.validate_base_url(scheme + host + rest)
            reasons = ["accepted"]
        except ValidationError as refused:
            reasons = refused.messages
    assert all(reasons)
