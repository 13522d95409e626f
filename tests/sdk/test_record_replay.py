"""Record and replay with every provider's official SDK, and no internet.

The "real provider" is a second aimock process serving the contract fixtures
(tests/sdk/fixtures/contract.yaml). A recording aimock (`--record`, every `--provider-<name>`
pointed at it) is driven through every contract adapter, plain and streamed. Then the
upstream is stopped and a third aimock replays the recordings with `--strict`: each SDK must
see what it saw while recording.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from anthropic import Anthropic
from openai import OpenAI

from aimock.cli import _upstream_names
from tests.conftest import ServerProcess, start_server
from tests.peers import AimockPeer
from tests.sdk.contract import base
from tests.sdk.contract.base import Adapter, Feature, Outcome
from tests.sdk.contract.discovery import all_adapters

CONTRACT = Path(__file__).parent / "fixtures" / "contract.yaml"
ADAPTERS = all_adapters()
SECRETS = {"openai": "sk-live-SECRET-0a1b2c", "anthropic": "sk-ant-SECRET-3d4e5f"}


def _cases() -> list[Any]:
    return [
        pytest.param(adapter, feature, stream, id=f"{adapter.name}-{feature}-{mode}")
        for adapter in ADAPTERS
        for feature in base.FEATURES
        if feature in adapter.features
        for stream, mode in ((False, "plain"), (True, "stream"))
        if adapter.streams or not stream
    ]


CASES = _cases()


class Session:
    """The upstream, the recorder, where it records, and what each case saw while recording."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.upstream = start_server(["-f", str(CONTRACT)])
        flags = [
            arg for name in _upstream_names() for arg in (f"--provider-{name}", self.upstream.url)
        ]
        self.recorder = start_server(["-f", str(folder), "--record", *flags])
        self.seen: dict[str, Any] = {}
        self.replayer: ServerProcess | None = None

    def replay(self) -> ServerProcess:
        """The replaying server, started once the upstream is gone."""
        if self.replayer is None:
            self.upstream.stop()
            self.recorder.stop()
            self.replayer = start_server(["-f", str(self.folder / "recorded"), "--strict"])
        return self.replayer

    def stop(self) -> None:
        for server in (self.upstream, self.recorder, self.replayer):
            if server is not None:
                server.stop()


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    running = Session(tmp_path_factory.mktemp("record"))
    yield running
    running.stop()


def _ask(adapter: Adapter, origin: str, feature: Feature, stream: bool) -> Any:
    """What the SDK saw: the outcome, or the HTTP status of the error it raised."""
    if feature == "error":
        statuses = []
        for prompt in (base.PROMPTS["error"], base.UNAVAILABLE):
            with pytest.raises(Exception) as caught:
                adapter.ask(origin, feature, prompt, stream=stream)
            statuses.append(adapter.status_of(caught.value))
        return statuses
    outcome: Outcome = adapter.ask(origin, feature, base.PROMPTS[feature], stream=stream)
    return (outcome.text, outcome.tool_calls, outcome.thinking)


@pytest.mark.parametrize(("adapter", "feature", "stream"), CASES)
def test_record_through_the_proxy(
    session: Session, adapter: Adapter, feature: Feature, stream: bool, request: Any
) -> None:
    seen = _ask(adapter, session.recorder.url, feature, stream)
    expected = {
        "text": (base.TEXT, [], ""),
        "tool_call": ("", [(base.TOOL_NAME, base.TOOL_ARGUMENTS)], ""),
        "tool_result": (base.AFTER_TOOL, [], ""),
        "thinking": (base.THOUGHT_ANSWER, [], base.THINKING),
        "error": [429, 503],
    }.get(feature)
    if feature == "structured":
        assert json.loads(seen[0]) == base.STRUCTURED
    else:
        assert seen == expected
    session.seen[request.node.callspec.id] = seen


@pytest.mark.parametrize(("adapter", "feature", "stream"), CASES)
def test_replay_with_strict_sees_the_same(
    session: Session, adapter: Adapter, feature: Feature, stream: bool, request: Any
) -> None:
    recorded = session.seen.get(request.node.callspec.id)
    assert recorded is not None, "its recording case did not pass"
    assert _ask(adapter, session.replay().url, feature, stream) == recorded


def test_recordings_are_aimock_fixture_files_without_credentials(session: Session) -> None:
    if session.replayer is None:  # run on its own: record one answer first
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": base.PROMPTS["text"]}]}
        httpx.post(session.recorder.base_url + "/chat/completions", json=body, timeout=10)
    folder = session.folder / "recorded"
    files = sorted(folder.rglob("*.json"))
    assert files, "nothing was recorded"
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600
        document = json.loads(path.read_text())
        assert set(document) == {"fixtures"}
        for fixture in document["fixtures"]:
            assert set(fixture) <= {"match", "response", "recordedTimings"}
            text = json.dumps(fixture)
            assert fixture["match"].get("userMessage") != "test"
            assert "authorization" not in text.lower()


# --- one recorder of our own: keys, test ids, live relay, errors, proxy-only -------------------


@pytest.fixture
def upstream() -> Iterator[ServerProcess]:
    slow = Path(__file__).parent / "fixtures" / "record_upstream.yaml"
    server = start_server(["-f", str(slow)])
    yield server
    server.stop()


def _recorder(upstream: ServerProcess | AimockPeer, folder: Path, *extra: str) -> ServerProcess:
    flags = [arg for name in _upstream_names() for arg in (f"--provider-{name}", upstream.url)]
    return start_server(["-f", str(folder), *flags, *extra])


def _round_trip(
    upstream: ServerProcess | AimockPeer, folder: Path, ask: Callable[[str], Any]
) -> tuple[Any, Any]:
    """What `ask(origin)` sees through a recorder in front of `upstream`, then (the upstream
    stopped) from the recordings alone, with `--strict`."""
    try:
        recorder = _recorder(upstream, folder, "--record")
        try:
            recorded = ask(recorder.url)
        finally:
            recorder.stop()
    finally:
        upstream.stop()
    replay = start_server(["-f", str(folder / "recorded"), "--strict"])
    try:
        return recorded, ask(replay.url)
    finally:
        replay.stop()


def test_keys_never_reach_the_disk_or_the_journal(upstream: ServerProcess, tmp_path: Path) -> None:
    recorder = _recorder(upstream, tmp_path, "--record")
    try:
        with OpenAI(base_url=recorder.base_url, api_key=SECRETS["openai"]) as openai:
            openai.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "rr-hello"}]
            )
        with Anthropic(base_url=recorder.url, api_key=SECRETS["anthropic"]) as anthropic:
            anthropic.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=64,
                messages=[{"role": "user", "content": "rr-hello"}],
            )
        journal = json.dumps(recorder.journal())
        # The upstream did get the keys: they were forwarded, just never kept.
        upstream_journal = json.dumps(upstream.journal())
    finally:
        recorder.stop()
    written = "".join(p.read_text() for p in (tmp_path / "recorded").rglob("*") if p.is_file())
    assert written.count("rr-hello") == 2
    for key in SECRETS.values():
        assert key not in written
        assert key not in journal
        assert "[REDACTED]" in upstream_journal and key not in upstream_journal


def test_a_test_id_appends_its_recordings_to_one_file(
    upstream: ServerProcess, tmp_path: Path
) -> None:
    recorder = _recorder(upstream, tmp_path, "--record")
    try:
        with OpenAI(
            base_url=recorder.base_url,
            api_key="k",
            default_headers={"X-Test-Id": "checkout flow/1"},
        ) as openai:
            for text in ("rr-hello", "rr-weather"):
                openai.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": text}]
                )
    finally:
        recorder.stop()
    [path] = (tmp_path / "recorded").rglob("*.json")
    assert path.relative_to(tmp_path / "recorded") == Path("checkout-flow-1") / "openai.json"
    fixtures = json.loads(path.read_text())["fixtures"]
    assert [f["match"]["userMessage"] for f in fixtures] == ["rr-hello", "rr-weather"]


def test_a_stream_is_relayed_as_it_arrives_and_replays_at_its_pace(
    upstream: ServerProcess, tmp_path: Path
) -> None:
    recorder = _recorder(upstream, tmp_path, "--record")
    try:
        with OpenAI(base_url=recorder.base_url, api_key="k") as openai:
            started = time.monotonic()
            stream = openai.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "rr-slow"}], stream=True
            )
            arrivals = [time.monotonic() - started for _ in stream]
    finally:
        recorder.stop()
    # The upstream takes ~0.2 s to the first piece and ~0.8 s in all; relayed as it arrives,
    # the first piece does not wait for the last.
    assert arrivals[-1] > 0.6
    assert arrivals[0] < arrivals[-1] / 2
    [path] = (tmp_path / "recorded").rglob("*.json")
    [fixture] = json.loads(path.read_text())["fixtures"]
    timings = fixture["recordedTimings"]
    assert timings["ttftMs"] > 100 and len(timings["interChunkDelaysMs"]) >= 2


def test_an_upstream_error_is_relayed_and_replays_with_its_status(
    upstream: ServerProcess, tmp_path: Path
) -> None:
    recorder = _recorder(upstream, tmp_path, "--record")
    try:
        with OpenAI(base_url=recorder.base_url, api_key="k", max_retries=0) as openai:
            for _ in range(2):  # recorded the first time, answered from memory the second
                with pytest.raises(Exception) as caught:
                    openai.chat.completions.create(
                        model="gpt-4o", messages=[{"role": "user", "content": "rr-limit"}]
                    )
                assert getattr(caught.value, "status_code", None) == 429
        sources = [e["response"]["source"] for e in recorder.journal()]
    finally:
        recorder.stop()
    assert sources == ["recorded", "fixture"]
    [path] = (tmp_path / "recorded").rglob("*.json")
    [fixture] = json.loads(path.read_text())["fixtures"]
    assert fixture["response"]["status"] == 429
    assert fixture["response"]["error"]["message"] == "Slow down"


def test_proxy_only_saves_nothing_and_strict_never_leaves(
    upstream: ServerProcess, tmp_path: Path
) -> None:
    recorder = _recorder(upstream, tmp_path, "--proxy-only")
    try:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "rr-hello"}]}
        answered = httpx.post(recorder.base_url + "/chat/completions", json=body, timeout=10)
        strict = httpx.post(
            recorder.base_url + "/chat/completions",
            json=body,
            timeout=10,
            headers={"X-AIMock-Strict": "true"},
        )
    finally:
        recorder.stop()
    assert answered.status_code == 200
    assert answered.json()["choices"][0]["message"]["content"] == "Hello from the real provider."
    assert strict.status_code == 503
    assert not (tmp_path / "recorded").exists()


def test_an_unreachable_upstream_answers_502_in_the_envelope(tmp_path: Path) -> None:
    recorder = start_server(
        ["-f", str(tmp_path), "--record", "--provider-anthropic", "http://127.0.0.1:9"]
    )
    try:
        with (
            Anthropic(base_url=recorder.url, api_key="k", max_retries=0) as anthropic,
            pytest.raises(Exception) as caught,
        ):
            anthropic.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=8,
                messages=[{"role": "user", "content": "x"}],
            )
    finally:
        recorder.stop()
    assert getattr(caught.value, "status_code", None) == 502
    assert "Proxy to upstream failed" in str(caught.value)
    assert not (tmp_path / "recorded").exists()


def test_record_needs_an_upstream(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="needs at least one upstream"):
        start_server(["-f", str(tmp_path), "--record"], timeout=10)


# --- AIMock replays the recordings -------------------------------------------------------------

# The SDKs whose recordings AIMock 1.43 replays. Not listed: google-genai (AIMock answers 404
# on the /v1beta route the current SDK calls) and boto3's Bedrock (AIMock finds no fixture for
# the recorded model ids: 503); both are AIMock's gaps, the same files replay here above.
AIMOCK_ADAPTERS = (
    "openai-chat",
    "openai-responses",
    "azure-openai-chat",
    "anthropic-messages",
    "ollama-chat",
    "cohere-chat",
)
AIMOCK_CASES = [
    case
    for case in CASES
    if case.values[0].name in AIMOCK_ADAPTERS
    and case.values[1] in ("text", "tool_call", "tool_result", "error")
]


@pytest.fixture(scope="module")
def aimock_replay(session: Session) -> Iterator[tuple[Session, str]]:
    """The session, and AIMock replaying its recordings once the upstream is gone."""
    session.replay()
    peer = AimockPeer(["--fixtures", str(session.folder / "recorded"), "--strict"])
    yield session, peer.url
    peer.stop()


@pytest.mark.parametrize(("adapter", "feature", "stream"), AIMOCK_CASES)
def test_aimock_replays_the_recordings(
    aimock_replay: tuple[Session, str],
    adapter: Adapter,
    feature: Feature,
    stream: bool,
    request: Any,
) -> None:
    session, origin = aimock_replay
    recorded = session.seen.get(request.node.callspec.id)
    assert recorded is not None, "its recording case did not pass"
    assert _ask(adapter, origin, feature, stream) == recorded


def test_manifest_recordings_validate_and_replay(upstream: ServerProcess, tmp_path: Path) -> None:
    recorder = _recorder(upstream, tmp_path, "--record", "--record-format", "manifest")
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "rr-weather"}]}
    headers = {"X-Test-Id": "Weather Check"}
    try:
        httpx.post(recorder.base_url + "/chat/completions", json=body, headers=headers, timeout=10)
    finally:
        recorder.stop()
    [path] = (tmp_path / "recorded").rglob("*.yaml")
    manifest = yaml.safe_load(path.read_text())
    assert (manifest["kind"], manifest["metadata"]["name"]) == ("Fixture", "weather-check-openai")
    replay = start_server(["-f", str(path), "--strict"])
    try:
        answer = httpx.post(replay.base_url + "/chat/completions", json=body, timeout=10)
    finally:
        replay.stop()
    assert answer.json()["choices"][0]["message"]["content"] == "Sunny and 18 degrees."


def test_aimock_json_llm_record_records(upstream: ServerProcess, tmp_path: Path) -> None:
    """AIMock's config file: `llm.record` turns record mode on, with its upstreams, keys and
    folder."""
    config = tmp_path / "aimock.json"
    record = {
        "providers": {"openai": upstream.url},
        "providerKeys": {"openai": "sk-config-SECRET-9z"},
        "fixturePath": "saved",
    }
    config.write_text(json.dumps({"llm": {"fixtures": "fixtures", "record": record}}))
    (tmp_path / "fixtures").mkdir()
    recorder = start_server(["-c", str(config)])
    try:
        with OpenAI(base_url=recorder.base_url, api_key="sk-caller") as client:
            answer = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "rr-hello"}]
            )
        # No key from the caller: the config's travels upstream, and is never written.
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "rr-weather"}]}
        httpx.post(recorder.base_url + "/chat/completions", json=body, timeout=10)
    finally:
        recorder.stop()
    assert answer.choices[0].message.content == "Hello from the real provider."
    files = list((tmp_path / "saved").rglob("*.json"))
    assert len(files) == 2
    assert all("SECRET" not in path.read_text() for path in files)
    [keyless] = [e for e in upstream.journal() if "rr-weather" in json.dumps(e["body"])]
    assert keyless["headers"]["authorization"] == "[REDACTED]"  # a key was sent upstream


def test_embeddings_are_recorded_and_replayed(upstream: ServerProcess, tmp_path: Path) -> None:
    recorder = _recorder(upstream, tmp_path, "--record")
    try:
        with OpenAI(base_url=recorder.base_url, api_key="k") as client:  # base64, the default
            recorded = client.embeddings.create(model="text-embedding-3-small", input="rr-vector")
            batch = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    finally:
        recorder.stop()
    assert len(batch.data) == 2  # relayed, not recorded: one fixture holds one vector
    [path] = (tmp_path / "recorded").rglob("*.json")
    [fixture] = json.loads(path.read_text())["fixtures"]
    assert fixture["match"] == {
        "endpoint": "embedding",
        "inputText": "rr-vector",
        "model": "text-embedding-3-small",
    }
    replay = start_server(["-f", str(tmp_path / "recorded"), "--strict"])
    try:
        with OpenAI(base_url=replay.base_url, api_key="k") as client:
            replayed = client.embeddings.create(model="text-embedding-3-small", input="rr-vector")
    finally:
        replay.stop()
    assert replayed.data[0].embedding == recorded.data[0].embedding


def test_answers_over_the_proxy_buffer_are_never_half_recorded(
    upstream: ServerProcess, tmp_path: Path
) -> None:
    recorder = _recorder(upstream, tmp_path, "--record", "--max-proxy-buffer-bytes", "1000")
    try:
        with OpenAI(base_url=recorder.base_url, api_key="k", max_retries=0) as client:
            streamed = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "rr-long"}], stream=True
            )
            text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
            with pytest.raises(openai.APIStatusError) as plain:
                client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": "rr-long"}]
                )
    finally:
        recorder.stop()
    assert len(text) > 2000  # the stream was relayed whole
    assert plain.value.status_code == 502 and "max-proxy-buffer-bytes" in str(plain.value)
    assert not (tmp_path / "recorded").exists()  # and nothing was recorded


def test_a_stack_files_record_section_records(upstream: ServerProcess, tmp_path: Path) -> None:
    """The same YAML as in a cluster: `spec.record` turns record mode on for `aimock serve`
    too (recordings to files there); `--record-to-cluster` needs `--record`."""
    stack = {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "MockStack",
        "metadata": {"name": "preview"},
        "spec": {"record": {"providers": {"openai": upstream.url}, "serviceAccountName": "r"}},
    }
    (tmp_path / "stack.yaml").write_text(json.dumps(stack))
    recorder = start_server(["-f", str(tmp_path)])
    try:
        with OpenAI(base_url=recorder.base_url, api_key="k") as client:
            answer = client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "rr-hello"}]
            )
    finally:
        recorder.stop()
    assert answer.choices[0].message.content == "Hello from the real provider."
    [recorded] = (tmp_path / "recorded").glob("*.json")
    assert "rr-hello" in recorded.read_text()
    with pytest.raises(RuntimeError, match="--record-to-cluster needs --record"):
        start_server(["-f", str(tmp_path), "--record-to-cluster", "ns/preview"], timeout=10)
    # Without credentials, recording to a cluster fails at start, not at every recording.
    cluster = ["--record", "--provider-openai", upstream.url, "--record-to-cluster", "ns/p"]
    with pytest.raises(RuntimeError, match="no Kubernetes credentials"):
        start_server(
            ["-f", str(tmp_path), *cluster],
            env={"KUBECONFIG": str(tmp_path / "none"), "KUBERNETES_SERVICE_HOST": ""},
            timeout=10,
        )


# --- multi-turn tool loops -------------------------------------------------------------------

LOOP_TOOLS = {"get_weather": "sunny, 18 degrees", "get_time": "14:05"}
OPENAI_TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
    for name in LOOP_TOOLS
]
ANTHROPIC_TOOLS = [{"name": name, "input_schema": {"type": "object"}} for name in LOOP_TOOLS]


def _openai_loop(origin: str, stream: bool) -> tuple[list[str], str]:
    """An agent: call the model, run the tools it asks for, until it answers."""
    messages: list[Any] = [{"role": "user", "content": "rr-loop"}]
    called: list[str] = []
    with OpenAI(base_url=origin + "/v1", api_key="k", max_retries=0) as client:
        for _ in range(5):
            if stream:
                with client.chat.completions.stream(
                    model="gpt-4o", messages=messages, tools=OPENAI_TOOLS
                ) as events:
                    message = events.get_final_completion().choices[0].message
            else:
                message = (
                    client.chat.completions.create(
                        model="gpt-4o", messages=messages, tools=OPENAI_TOOLS
                    )
                    .choices[0]
                    .message
                )
            if not message.tool_calls:
                return called, message.content or ""
            messages.append(message.model_dump(exclude_none=True))
            for call in message.tool_calls:
                called.append(call.function.name)
                result = LOOP_TOOLS[call.function.name]
                messages.append({"role": "tool", "tool_call_id": call.id, "content": result})
    raise AssertionError(f"the loop did not end: {called}")


def _anthropic_loop(origin: str, stream: bool) -> tuple[list[str], str]:
    messages: list[Any] = [{"role": "user", "content": "rr-loop"}]
    called: list[str] = []
    with Anthropic(base_url=origin, api_key="k", max_retries=0) as client:
        for _ in range(5):
            ask = {"model": "claude-sonnet-4-5", "max_tokens": 256, "tools": ANTHROPIC_TOOLS}
            if stream:
                with client.messages.stream(messages=messages, **ask) as events:
                    message = events.get_final_message()
            else:
                message = client.messages.create(messages=messages, **ask)
            uses = [block for block in message.content if block.type == "tool_use"]
            if not uses:
                return called, "".join(b.text for b in message.content if b.type == "text")
            messages.append({"role": "assistant", "content": message.content})
            results = []
            for use in uses:
                called.append(use.name)
                results.append(
                    {"type": "tool_result", "tool_use_id": use.id, "content": LOOP_TOOLS[use.name]}
                )
            messages.append({"role": "user", "content": results})
    raise AssertionError(f"the loop did not end: {called}")


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("loop", [_openai_loop, _anthropic_loop], ids=["openai", "anthropic"])
def test_a_multi_turn_tool_loop_records_and_replays_to_completion(
    loop: Any, stream: bool, tmp_path: Path
) -> None:
    upstream = start_server(["-f", str(Path(__file__).parent / "fixtures" / "record_loop.yaml")])
    recorded, replayed = _round_trip(upstream, tmp_path, lambda origin: loop(origin, stream))
    answer = (["get_weather", "get_time"], "In Lisbon it is sunny, 18 degrees, and 14:05.")
    assert recorded == answer
    assert len(list((tmp_path / "recorded").glob("*.json"))) == 3  # one per turn
    assert replayed == answer  # no upstream left: the recordings alone


# --- AIMock as the real provider -------------------------------------------------------------


def _peer_outcomes(origin: str) -> list[Any]:
    """What the OpenAI and Anthropic SDKs see of a text and a tool call, plain and streamed."""
    seen: list[Any] = []
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    with OpenAI(base_url=origin + "/v1", api_key="k", max_retries=0) as client:
        for text in ("rr-peer-hello", "rr-peer-tool"):
            ask = {"model": "gpt-4o", "messages": [{"role": "user", "content": text}]}
            plain = client.chat.completions.create(**ask, tools=tools).choices[0]
            with client.chat.completions.stream(**ask, tools=tools) as events:
                streamed = events.get_final_completion().choices[0]
            for choice in (plain, streamed):
                calls = [
                    (c.function.name, c.function.arguments) for c in choice.message.tool_calls or []
                ]
                seen.append((choice.message.content, calls, choice.finish_reason))
    with Anthropic(base_url=origin, api_key="k", max_retries=0) as anthropic:
        for text in ("rr-peer-hello", "rr-peer-tool"):
            ask = {
                "model": "claude-sonnet-4-5",
                "max_tokens": 64,
                "messages": [{"role": "user", "content": text}],
            }
            plain_message = anthropic.messages.create(**ask)
            with anthropic.messages.stream(**ask) as events:
                streamed_message = events.get_final_message()
            for message in (plain_message, streamed_message):
                blocks = [
                    (
                        b.type,
                        getattr(b, "text", None),
                        getattr(b, "name", None),
                        getattr(b, "input", None),
                    )
                    for b in message.content
                ]
                seen.append((blocks, message.stop_reason))
    return seen


def test_aimock_as_the_upstream_records_and_replays(tmp_path: Path) -> None:
    """AIMock 1.43 plays the real provider: what the SDKs saw through the recorder, they see
    again from the recordings alone, with `--strict`."""
    peer = AimockPeer(
        ["--fixtures", str(Path(__file__).parent / "fixtures" / "aimock_upstream.json")]
    )
    recorded, replayed = _round_trip(peer, tmp_path, _peer_outcomes)
    assert recorded[0] == ("Hello from AIMock upstream.", [], "stop")
    assert recorded[2] == (None, [("get_weather", '{"city":"Lisbon"}')], "tool_calls")
    assert replayed == recorded


def _other_embeddings(origin: str) -> list[list[float]]:
    """One embedding each through google-genai, Cohere's v2 client and Ollama's."""
    from cohere import ClientV2
    from google import genai
    from google.genai import types
    from ollama import Client

    options = types.HttpOptions(base_url=origin)
    with genai.Client(api_key="k", http_options=options) as gemini:
        found = gemini.models.embed_content(model="gemini-embedding-001", contents="rr-gem-vector")
        gemini_vector = list(found.embeddings[0].values or [])  # type: ignore[index]
    with httpx.Client(timeout=30) as http:
        cohere = ClientV2(api_key="k", base_url=origin, max_retries=0, httpx_client=http)
        embedded = cohere.embed(
            model="embed-v4.0",
            texts=["rr-coh-vector"],
            input_type="search_document",
            embedding_types=["float"],
        )
        cohere_vector = list(embedded.embeddings.float_[0])  # type: ignore[index]
    with Client(host=origin) as ollama:
        ollama_vector = list(
            ollama.embed(model="nomic-embed-text", input="rr-oll-vector").embeddings[0]
        )
    return [gemini_vector, cohere_vector, ollama_vector]


def test_gemini_cohere_and_ollama_embeddings_are_recorded_and_replayed(tmp_path: Path) -> None:
    upstream = start_server(
        ["-f", str(Path(__file__).parent / "fixtures" / "record_upstream.yaml")]
    )
    recorded, replayed = _round_trip(upstream, tmp_path, _other_embeddings)
    assert [len(v) for v in recorded] == [3072, 1536, 768]
    files = list((tmp_path / "recorded").glob("*.json"))
    inputs = sorted(json.loads(p.read_text())["fixtures"][0]["match"]["inputText"] for p in files)
    assert inputs == ["rr-coh-vector", "rr-gem-vector", "rr-oll-vector"]
    assert replayed == recorded
