"""Drift's live mode, with a stand-in for the providers: a local server answering the drift
requests from a folder of captures, over the same wire (a JSON body, or SSE). It checks that
each provider's key travels in its own header, that a provider without a key falls back to
its capture and says so, that a live difference is caught, and that `--save-captures` writes
files that give the same verdict offline."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aimock import cli
from aimock.drift.cases import CASES, Case
from aimock.drift.live import Live, parse_urls
from aimock.drift.run import CAPTURES, capture_file, load_capture, run
from aimock.testing import MockServer

KEYS = {"OPENAI_API_KEY": "sk-live-1", "ANTHROPIC_API_KEY": "sk-ant-2", "GEMINI_API_KEY": "g-3"}


class Reality:
    """A stand-in provider serving every drift case from the captures in `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: list[dict[str, str]] = []
        reality = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                reality.seen.append({k.lower(): v for k, v in self.headers.items()})
                case = reality.case_of(self.path, body)
                payload = reality.answer(case)
                self.send_response(200)
                kind = "text/event-stream" if case.stream else "application/json"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                del args

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def case_of(self, path: str, body: dict[str, Any]) -> Case:
        for case in CASES:
            if case.path == path and case.body == body:
                return case
        raise LookupError(path)

    def answer(self, case: Case) -> bytes:
        document = json.loads(capture_file(self.folder, case).read_text())
        if not case.stream:
            return json.dumps(document["body"]).encode()
        frames = []
        for event in document["events"]:
            data = event["data"] if isinstance(event["data"], str) else json.dumps(event["data"])
            named = case.surface.startswith("anthropic") and not isinstance(event["data"], str)
            frames.append((f"event: {event['type']}\n" if named else "") + f"data: {data}\n\n")
        return "".join(frames).encode()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    from aimock.drift.run import FIXTURES

    with MockServer([FIXTURES]) as server:
        yield server


@pytest.fixture
def reality(tmp_path: Path) -> Iterator[Reality]:
    folder = tmp_path / "reality"
    shutil.copytree(CAPTURES, folder)
    server = Reality(folder)
    yield server
    server.stop()


def _live(reality: Reality, environ: dict[str, str]) -> Live:
    urls = dict.fromkeys(("openai", "anthropic", "gemini"), reality.url)
    return Live(urls=urls, environ=environ)


def test_live_reality_equal_to_the_captures_is_ok_and_keys_travel_in_their_headers(
    mock: MockServer, reality: Reality
) -> None:
    report = run(mock.url, CAPTURES, live=_live(reality, KEYS))
    assert report.verdict == "ok", report.table()
    assert len(reality.seen) == len(CASES)
    auth = {
        (h.get("authorization"), h.get("x-api-key"), h.get("x-goog-api-key")) for h in reality.seen
    }
    assert auth == {("Bearer sk-live-1", None, None), (None, "sk-ant-2", None), (None, None, "g-3")}
    anthropic = [h for h in reality.seen if h.get("x-api-key")]
    assert {h["anthropic-version"] for h in anthropic} == {"2023-06-01"}


def test_a_provider_without_a_key_falls_back_to_its_capture_and_says_so(
    mock: MockServer, reality: Reality
) -> None:
    environ = {"OPENAI_API_KEY": "sk-live-1"}
    report = run(mock.url, CAPTURES, live=_live(reality, environ))
    notes = {f.case for f in report.findings if f.path == "(live)"}
    assert notes == {c.name for c in CASES if not c.surface.startswith("openai")}
    assert all("ANTHROPIC_API_KEY" in f.what or "GEMINI_API_KEY" in f.what for f in report.findings)
    assert report.verdict == "warning"
    assert {h.get("authorization") for h in reality.seen} == {"Bearer sk-live-1"}


def test_a_live_difference_is_caught(mock: MockServer, reality: Reality) -> None:
    capture = reality.folder / "openai.chat.plain.json"
    document = json.loads(capture.read_text())
    document["body"]["usage"]["completion_tokens"] = "eight"  # reality changed a type
    document["body"]["service_tier"] = "default"  # and sends a field nobody knew
    capture.write_text(json.dumps(document))
    report = run(mock.url, CAPTURES, ["openai.chat"], live=_live(reality, KEYS))
    found = {(f.severity, f.path) for f in report.findings}
    assert ("critical", "usage.completion_tokens") in found
    assert report.verdict == "critical"


def test_saved_live_answers_are_captures_giving_the_same_verdict(
    mock: MockServer, reality: Reality, tmp_path: Path
) -> None:
    saved = tmp_path / "saved"
    live_report = run(mock.url, CAPTURES, live=_live(reality, KEYS), save=saved)
    assert sorted(p.name for p in saved.iterdir()) == sorted(
        capture_file(saved, c).name for c in CASES
    )
    for case in CASES:
        kept, shipped = load_capture(saved, case), load_capture(CAPTURES, case)
        assert kept is not None and shipped is not None
        assert (kept.body, kept.events) == (shipped.body, shipped.events)
    assert run(mock.url, saved).to_json() == live_report.to_json()


def test_the_command_runs_live_and_refuses_live_flags_alone(
    reality: Reality, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    urls = [f"--live-url={name}={reality.url}" for name in ("openai", "anthropic", "gemini")]
    saved = tmp_path / "refreshed"
    assert cli.main(["drift", "--live", *urls, "--save-captures", str(saved)]) == 0
    assert len(list(saved.glob("*.json"))) == len(CASES)
    assert cli.main(["drift", "--save-captures", str(saved)]) == 2
    assert cli.main(["drift", "--live", "--live-url", "openia=http://x"]) == 2


@pytest.mark.parametrize("pair", ["openai", "openai=ftp://x", "mistral=http://x", "=http://x"])
def test_a_bad_live_url_names_itself(pair: str) -> None:
    with pytest.raises(ValueError, match="--live-url"):
        parse_urls([pair])


def test_an_unreachable_live_api_falls_back_with_the_reason(mock: MockServer) -> None:
    live = Live(urls={"openai": "http://127.0.0.1:9"}, environ=KEYS)
    report = run(mock.url, CAPTURES, ["openai.chat"], live=live)
    [note, *_] = [f for f in report.findings if f.path == "(live)"]
    assert "could not be asked" in note.what
    assert report.verdict == "warning"
