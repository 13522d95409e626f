"""Compressed request bodies, against a real server process over one keep-alive connection:
every encoding aiohttp knows decodes, and a body its Content-Encoding does not decode answers
400 in the protocol's envelope, closes the connection (the parser stopped mid-body), leaves
no traceback in the log, and the client's next request is served."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator

import brotli
import httpx
import pytest

from tests.conftest import ServerProcess, start_server

try:
    from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
except ImportError:
    from backports import zstd

PACKERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstd.compress,
}
BODY = b'{"model":"gpt-4o","messages":[{"role":"user","content":"Hello"}]}'


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    running = start_server([])
    yield running
    running.stop()


@pytest.mark.parametrize("encoding", list(PACKERS))
def test_a_packed_body_decodes_and_a_broken_one_answers_in_the_envelope(
    server: ServerProcess, encoding: str
) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    with httpx.Client(base_url=server.url, timeout=10) as client:
        packed = client.post(
            "/v1/chat/completions", content=PACKERS[encoding](BODY), headers=headers
        )
        broken = client.post("/v1/chat/completions", content=b"not packed", headers=headers)
        after = client.post(
            "/v1/chat/completions", content=BODY, headers={"Content-Type": "application/json"}
        )
    assert packed.status_code == 200
    assert packed.json()["object"] == "chat.completion"
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "invalid_body"
    assert broken.headers["connection"] == "close"
    assert after.status_code == 200
    assert "Traceback" not in "".join(server.output)
