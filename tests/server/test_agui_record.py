"""AG-UI record mode: a run no fixture matches goes to a real AG-UI agent (here another aimock
process serving tests/sdk/fixtures_agui), its stream is relayed as it arrives, saved in
AIMock's recording shape (`{"fixtures": [{match, events}]}`, keyed on the last user message or
the tool call whose result ends the conversation), and answers the next such run from memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ag_ui.core import Event
from pydantic import TypeAdapter

from aimock import aimock_config
from tests.conftest import ROOT, ServerProcess, serving, start_server

EVENTS: TypeAdapter[Any] = TypeAdapter(Event)


@pytest.fixture(scope="module")
def upstream() -> Iterator[ServerProcess]:
    server = start_server(["-f", str(ROOT / "tests" / "sdk" / "fixtures_agui")])
    yield server
    server.stop()


def stack(folder: Path, upstream: str, **record: Any) -> Path:
    spec = {
        "agui": {
            "fixtures": [{"match": {"message": "local"}, "text": "answered locally"}],
            "record": {"upstream": upstream, "fixturePath": str(folder / "recorded"), **record},
        }
    }
    manifest = {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "MockStack",
        "metadata": {"name": "agui-record"},
        "spec": spec,
    }
    path = folder / "stack.json"
    path.write_text(json.dumps(manifest))
    return path


def run_body(text: str, *extra: dict[str, Any]) -> dict[str, Any]:
    user = {"id": "u-1", "role": "user", "content": text}
    return {"threadId": "t-rec", "runId": "r-rec", "messages": [user, *extra]}


def types(raw: str) -> list[str]:
    blocks = [b for b in raw.split("\n\n") if b.strip()]
    return [EVENTS.validate_python(json.loads(b.removeprefix("data: "))).type.value for b in blocks]


def recordings(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((folder / "recorded").glob("agui-*.json"))]


def test_a_miss_is_relayed_recorded_and_replayed(tmp_path: Path) -> None:
    upstream = start_server(["-f", str(ROOT / "tests" / "sdk" / "fixtures_agui")])
    try:
        with serving("-f", str(stack(tmp_path, upstream.url + "/agui"))) as recorder:
            relayed = httpx.post(recorder.url + "/agui", json=run_body("agui-hello"), timeout=10)
            assert relayed.status_code == 200
            assert relayed.headers["content-type"].startswith("text/event-stream")
            kinds = types(relayed.text)
            assert kinds[0] == "RUN_STARTED" and kinds[-1] == "RUN_FINISHED"
            [saved] = recordings(tmp_path)
            [fixture] = saved["fixtures"]
            assert fixture["match"] == {"message": "agui-hello"}
            assert [e["type"] for e in fixture["events"]] == kinds
            # The local fixture still answers without the upstream.
            local = httpx.post(recorder.url + "/agui", json=run_body("local"), timeout=10)
            assert "answered locally" in local.text
            upstream.stop()
            replayed = httpx.post(recorder.url + "/agui", json=run_body("agui-hello"), timeout=10)
            assert replayed.status_code == 200 and types(replayed.text) == kinds
            entry = recorder.journal()[-1]
            assert entry["response"]["fixture"] == {"aguiAgent": "default", "aguiRecording": 0}  # type: ignore[index]
            # Upstream gone, nothing recorded for this one: a 502 in AG-UI's error envelope.
            gone = httpx.post(recorder.url + "/agui", json=run_body("agui-search"), timeout=10)
            assert gone.status_code == 502
            assert gone.json()["code"] == "upstream_error"
    finally:
        upstream.stop()


def test_a_recording_loads_as_aimocks_agui_fixtures(
    tmp_path: Path, upstream: ServerProcess
) -> None:
    tool = {"id": "t-1", "role": "tool", "toolCallId": "call-weather-1", "content": "sunny"}
    with serving("-f", str(stack(tmp_path, upstream.url + "/agui"))) as recorder:
        body = run_body("What is the weather?", tool)
        assert httpx.post(recorder.url + "/agui", json=body, timeout=10).status_code == 200
    [saved] = recordings(tmp_path)
    assert saved["fixtures"][0]["match"] == {"toolCallId": "call-weather-1"}
    config = tmp_path / "aimock.json"
    config.write_text(json.dumps({"agui": {"fixtures": saved["fixtures"]}}))
    assert aimock_config.load(config).sections["agui"]
    with serving("-c", str(config)) as replay:
        again = httpx.post(replay.url + "/agui", json=body, timeout=10)
        assert again.status_code == 200
        assert "It is sunny in Paris." in "".join(
            json.loads(b.removeprefix("data: ")).get("delta", "")
            for b in again.text.split("\n\n")
            if b.strip()
        )


def test_proxy_only_saves_nothing(tmp_path: Path, upstream: ServerProcess) -> None:
    with serving("-f", str(stack(tmp_path, upstream.url + "/agui", proxyOnly=True))) as proxy:
        for _ in range(2):
            answer = httpx.post(proxy.url + "/agui", json=run_body("agui-hello"), timeout=10)
            assert answer.status_code == 200 and types(answer.text)[-1] == "RUN_FINISHED"
        assert recordings(tmp_path) == []
        assert all(e["response"]["source"] == "proxy" for e in proxy.journal())  # type: ignore[index]


def test_upstream_errors_are_relayed_and_strict_never_leaves(
    tmp_path: Path, upstream: ServerProcess
) -> None:
    with serving("-f", str(stack(tmp_path, upstream.url + "/agui"))) as recorder:
        # The upstream has no fixture for it: its 404 is relayed, nothing is recorded.
        missed = httpx.post(recorder.url + "/agui", json=run_body("nobody knows"), timeout=10)
        assert missed.status_code == 404 and missed.json()["code"] == "no_fixture_match"
        strict = httpx.post(
            recorder.url + "/agui",
            json=run_body("agui-hello"),
            headers={"X-AIMock-Strict": "true"},
            timeout=10,
        )
        assert types(strict.text) == ["RUN_STARTED", "RUN_ERROR"]
        assert recordings(tmp_path) == []
        assert len(upstream.journal(testId="__default__")) >= 1


def test_aimocks_flags_turn_record_mode_on(tmp_path: Path, upstream: ServerProcess) -> None:
    """`--agui-record --agui-upstream URL` (AIMock's flags): the default agent records into
    `<first -f>/agui-recorded`, over the `agui` section the stack file gives."""
    folder = tmp_path / "fixtures"
    folder.mkdir()
    stack(folder, upstream.url + "/agui")  # its own record section is replaced by the flags
    flags = ["--agui-record", "--agui-upstream", upstream.url + "/agui"]
    with serving("-f", str(folder), *flags) as recorder:
        local = httpx.post(recorder.url + "/agui", json=run_body("local"), timeout=10)
        assert "answered locally" in local.text  # the stack's fixtures still answer
        relayed = httpx.post(recorder.url + "/agui", json=run_body("agui-hello"), timeout=10)
        assert relayed.status_code == 200
    [saved] = [json.loads(p.read_text()) for p in (folder / "agui-recorded").glob("agui-*.json")]
    assert saved["fixtures"][0]["match"] == {"message": "agui-hello"}
    # Started again on the same folder, the recording is one of the default agent's fixtures.
    with serving("-f", str(folder), "--strict") as replay:
        again = httpx.post(replay.url + "/agui", json=run_body("agui-hello"), timeout=10)
        assert again.status_code == 200 and types(again.text) == types(relayed.text)
    alone = subprocess.run(
        [sys.executable, "-m", "aimock", "serve", "-f", str(folder), "--agui-record"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert alone.returncode == 1
    assert "--agui-record/--agui-proxy-only requires --agui-upstream" in alone.stderr
