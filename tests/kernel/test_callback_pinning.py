"""Fault 12: callback delivery connects to the addresses it checked, never to a new answer.

The resolver here answers differently on its second lookup (DNS rebinding): the first
answer is what was checked, the second points at another server. Delivery must reach
the first, with the URL's host as Host header and TLS server name, and never ask again.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from evalpod.callbacks import deliver
from tests.stack import free_port

HOST = "hooks.example.test"


@dataclass
class Receiver:
    """One HTTP(S) server: what reached it."""

    hosts: list[str] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)


@dataclass
class TwoAnswers:
    """First lookup: `first`; every later lookup: `later`."""

    first: list[str]
    later: list[str]
    lookups: int = 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups += 1
        return self.first if self.lookups == 1 else self.later


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for HOST only (openssl, as on any CI image)."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


async def _serve(address: str, port: int, context: ssl.SSLContext | None
                 ) -> tuple[Receiver, web.AppRunner]:
    receiver = Receiver()

    async def hook(request: web.Request) -> web.Response:
        receiver.hosts.append(request.headers.get("Host", ""))
        return web.Response(status=204)

    if context is not None:
        def remember(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            receiver.server_names.append(name)
        context.sni_callback = remember
    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, address, port, ssl_context=context).start()
    return receiver, runner


def _server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
async def servers(certificate: tuple[Path, Path]
                  ) -> AsyncIterator[tuple[int, Receiver, Receiver]]:
    """The checked server on 127.0.0.1 and the rebinding target on 127.0.0.2, same port."""
    port = free_port()
    checked, first = await _serve("127.0.0.1", port, _server_context(certificate))
    rebound, second = await _serve("127.0.0.2", port, _server_context(certificate))
    yield port, checked, rebound
    await first.cleanup()
    await second.cleanup()


async def test_delivery_goes_to_the_checked_address_with_host_and_sni(
    servers: tuple[int, Receiver, Receiver], certificate: tuple[Path, Path]
) -> None:
    port, checked, rebound = servers
    resolver = TwoAnswers(first=["127.0.0.1"], later=["127.0.0.2"])
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    code, error = await deliver(f"https://{HOST}:{port}/hook", b"{}", "secret",
                                allow_private=True, resolve=resolver, ssl=trust, timeout_s=10)
    assert (code, error) == (204, None)
    assert resolver.lookups == 1
    assert checked.hosts == [f"{HOST}:{port}"] and checked.server_names == [HOST]
    assert rebound.hosts == [] and rebound.server_names == []


async def test_a_public_answer_then_loopback_never_reaches_loopback(
    servers: tuple[int, Receiver, Receiver], certificate: tuple[Path, Path]
) -> None:
    """The real policy: the public address checked is the only one tried."""
    port, checked, rebound = servers
    resolver = TwoAnswers(first=["93.184.216.34"], later=["127.0.0.1"])
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    code, error = await deliver(f"https://{HOST}:{port}/hook", b"{}", "secret",
                                allow_private=False, resolve=resolver, ssl=trust, timeout_s=2)
    assert code is None and error  # no network to the public address here
    assert resolver.lookups == 1
    assert checked.hosts == [] and rebound.hosts == []


@pytest.mark.parametrize("answer", [["127.0.0.1"], ["93.184.216.34", "10.0.0.1"],
                                    ["::ffff:169.254.169.254"]])
async def test_a_non_public_answer_is_refused_before_connecting(
    servers: tuple[int, Receiver, Receiver], answer: list[str]
) -> None:
    port, checked, _ = servers
    resolver = TwoAnswers(first=answer, later=answer)
    code, error = await deliver(f"https://{HOST}:{port}/hook", b"{}", "secret",
                                allow_private=False, resolve=resolver, timeout_s=2)
    assert code is None and error is not None and "non-public" in error
    assert checked.hosts == []
