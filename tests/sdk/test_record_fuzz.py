"""Property: in record mode, whatever a client sends, the recorder answers in a protocol's
envelope (or relays the upstream's answer), never with a fault of its own, and every file it
leaves behind is a whole fixture file that loads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aimock.fixtures.loading import load_paths
from tests.conftest import ServerProcess, start_server
from tests.server.test_request_path_fuzz import KNOWN_PATHS, bodies

UPSTREAM = Path(__file__).parent / "fixtures" / "record_upstream.yaml"
CHAT_BODIES = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["gpt-4o", "claude-sonnet-4-5", "x" * 300, ""]),
        "messages": st.lists(
            st.fixed_dictionaries(
                {
                    "role": st.sampled_from(["user", "assistant", "tool", "system"]),
                    "content": st.text(max_size=30),
                }
            ),
            max_size=4,
        ),
        "stream": st.booleans(),
    }
).map(lambda body: json.dumps(body).encode())


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Path]]:
    folder = tmp_path_factory.mktemp("fuzz-record")
    upstream = start_server(["-f", str(UPSTREAM)])
    names = ("openai", "anthropic", "gemini", "vertexai", "bedrock", "azure", "ollama", "cohere")
    flags = [arg for name in names for arg in (f"--provider-{name}", upstream.url)]
    recorder = start_server(["-f", str(folder), "--record", *flags])
    yield recorder, folder
    recorder.stop()
    upstream.stop()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    request=st.tuples(
        st.sampled_from(["POST", "GET"]),
        st.sampled_from(KNOWN_PATHS),
        st.one_of(bodies, CHAT_BODIES),
    )
)
def test_the_recorder_never_faults_and_leaves_only_whole_files(
    servers: tuple[ServerProcess, Path], request: tuple[str, str, bytes]
) -> None:
    recorder, folder = servers
    method, path, body = request
    response = httpx.request(method, recorder.url + path, content=body, timeout=30)
    assert "internal error" not in response.text
    assert response.status_code != 502 or "Proxy to upstream failed" in response.text
    assert not any("Traceback" in line for line in recorder.output)
    recorded = folder / "recorded"
    if recorded.exists():
        assert not list(recorded.rglob(".recording-*")), "a temporary file was left behind"
        load_paths([recorded])  # raises on a file that is not a whole fixture file
