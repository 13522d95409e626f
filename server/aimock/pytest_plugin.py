"""pytest plugin (registered through the `pytest11` entry point): a running mock in one line.

    def test_agent(aimock):
        aimock.on_message("weather", "Sunny.")
        client = OpenAI(base_url=aimock.base_url, api_key="test")

`aimock` is one server per session, reset before each test (added fixtures, journal and
sequence counters). Fixture files for every test: the `aimock_fixtures` ini option or
`--aimock-fixtures PATH` (repeatable). `aimock_tls = true` (or `--aimock-tls`) serves HTTPS
and WSS: `aimock.url` says https, `aimock.ca_file` and `aimock.ssl_context()` trust it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aimock.testing import MockServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("aimock")
    group.addoption(
        "--aimock-fixtures",
        action="append",
        default=[],
        metavar="PATH",
        help="fixture file or folder loaded by the `aimock` fixture (repeatable)",
    )
    parser.addini("aimock_fixtures", "fixture files or folders for the `aimock` fixture", "paths")
    group.addoption(
        "--aimock-tls",
        action="store_true",
        default=None,
        help="the `aimock` fixture serves HTTPS and WSS (a CA made for the session)",
    )
    parser.addini("aimock_strict", "answer 503 on a miss in the `aimock` fixture", "bool", False)
    parser.addini("aimock_tls", "serve HTTPS and WSS in the `aimock` fixture", "bool", False)


@pytest.fixture(scope="session")
def aimock_server(pytestconfig: pytest.Config) -> Iterator[MockServer]:
    """The session's mock server, started on a free loopback port."""
    paths = [Path(p) for p in pytestconfig.getoption("aimock_fixtures")]
    paths += [Path(p) for p in pytestconfig.getini("aimock_fixtures")]
    tls = bool(pytestconfig.getoption("aimock_tls") or pytestconfig.getini("aimock_tls"))
    strict = bool(pytestconfig.getini("aimock_strict"))
    with MockServer(paths, strict=strict, tls=tls or None) as server:
        yield server


@pytest.fixture
def aimock(aimock_server: MockServer) -> MockServer:
    """The session's mock server, reset for this test."""
    aimock_server.reset()
    return aimock_server
