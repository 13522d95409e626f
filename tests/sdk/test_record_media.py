"""Record and replay of media answers with the official openai SDK, and no internet: speech
(raw bytes and `sse` events), transcripts (json, verbose_json, text, srt, vtt) and images
(whole and streamed).

The "real provider" is an aimock serving fixtures; a recording aimock relays to it; then the
upstream is stopped and a strict aimock replays the recordings: each call must give what it
gave while recording.
"""

from __future__ import annotations

import base64
import io
import json
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from tests.conftest import ServerProcess, serving, serving_fixtures

SPOKEN = "Recorded speech, spoken once."
TRANSCRIPT = {
    "text": "The meeting starts at nine. Bring the slides.",
    "language": "english",
    "duration": 3.5,
}
UPSTREAM = [
    {"match": {"endpoint": "speech", "userMessage": "say it"}, "response": {"content": SPOKEN}},
    {"match": {"endpoint": "transcription"}, "response": {"transcription": TRANSCRIPT}},
    {
        "match": {"endpoint": "image", "userMessage": "owls"},
        "response": {"images": [{"b64Json": "b3dsIDE="}, {"b64Json": "b3dsIDI="}]},
    },
]


FORMATS = ("json", "verbose_json", "text", "srt", "vtt")


def _wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(16000)
        file.writeframes(b"\x00\x01" * 16000)
    return out.getvalue()


def _speech(client: OpenAI) -> Any:
    return client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input="say it", response_format="wav"
    ).content


def _speech_events(client: OpenAI) -> Any:
    with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts",
        voice="alloy",
        input="say it",
        response_format="pcm",
        stream_format="sse",
    ) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    events = [json.loads(line.removeprefix("data: ")) for line in lines]
    return b"".join(base64.b64decode(e["audio"]) for e in events if "audio" in e)


def _transcript(fmt: str) -> Callable[[OpenAI], Any]:
    def call(client: OpenAI) -> Any:
        # A file of its own per format: each is recorded, not answered by an earlier one.
        upload = (f"meeting-{fmt}.wav", _wav(), "audio/wav")
        answer = client.audio.transcriptions.create(
            model="whisper-1", file=upload, response_format=fmt
        )
        return answer if isinstance(answer, str) else answer.model_dump()

    return call


def _images(client: OpenAI) -> Any:
    result = client.images.generate(model="gpt-image-1", prompt="two owls")
    return [item.b64_json for item in result.data or []]


def _streamed_images(client: OpenAI) -> Any:
    events = client.images.generate(model="gpt-image-1", prompt="three owls", stream=True)
    return [(event.type, event.b64_json) for event in events]


CALLS: dict[str, Callable[[OpenAI], Any]] = {
    "speech-raw": _speech,
    "speech-sse": _speech_events,
    **{f"transcript-{fmt}": _transcript(fmt) for fmt in FORMATS},
    "images": _images,
    "images-streamed": _streamed_images,
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    """What each call gave through the recorder, and the folder it recorded into."""
    folder = tmp_path_factory.mktemp("record-media")
    seen: dict[str, Any] = {}
    with (
        serving_fixtures(tmp_path_factory.mktemp("upstream"), UPSTREAM) as upstream,
        serving("-f", str(folder), "--record", "--provider-openai", upstream.url) as recorder,
        OpenAI(base_url=recorder.base_url, api_key="sk-test", max_retries=0) as client,
    ):
        for name, call in CALLS.items():
            seen[name] = call(client)
    yield folder / "recorded", seen


@pytest.fixture(scope="module")
def replayer(recorded: tuple[Path, dict[str, Any]]) -> Iterator[ServerProcess]:
    with serving("-f", str(recorded[0]), "--strict") as server:
        yield server


def test_each_call_was_recorded_from_the_upstream(recorded: tuple[Path, dict[str, Any]]) -> None:
    fixtures = [
        fixture
        for file in sorted(recorded[0].glob("*.json"))
        for fixture in json.loads(file.read_text())["fixtures"]
    ]
    assert len(fixtures) == len(CALLS)
    by_format = {
        fixture["match"]["inputText"].split()[0]: fixture["response"]
        for fixture in fixtures
        if fixture["match"].get("endpoint") == "transcription"
    }
    assert set(by_format) == {f"file=meeting-{fmt}.wav" for fmt in FORMATS}
    assert {answer["content"] for answer in by_format.values()} == {TRANSCRIPT["text"]}
    # Subtitles keep their cues' times; verbose_json its language and duration.
    cues = by_format["file=meeting-srt.wav"]["transcription"]["segments"]
    assert cues[0] == {"text": " The meeting starts at nine.", "start": 0.0, "end": cues[0]["end"]}
    verbose = by_format["file=meeting-verbose_json.wav"]["transcription"]
    assert (verbose["language"], verbose["duration"]) == ("english", 3.5)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_recorded_media_answer_replays_the_same(
    name: str, recorded: tuple[Path, dict[str, Any]], replayer: ServerProcess
) -> None:
    with OpenAI(base_url=replayer.base_url, api_key="sk-test", max_retries=0) as client:
        assert CALLS[name](client) == recorded[1][name]


def test_what_was_recorded_is_the_upstreams(recorded: tuple[Path, dict[str, Any]]) -> None:
    seen = recorded[1]
    assert seen["images"] == ["b3dsIDE=", "b3dsIDI="]
    assert seen["transcript-json"]["text"] == TRANSCRIPT["text"]
    assert seen["transcript-text"] == TRANSCRIPT["text"] + "\n"
    assert seen["images-streamed"][-1] == ("image_generation.completed", "b3dsIDI=")
    assert "00:00:00,000 --> " in seen["transcript-srt"]
    assert seen["speech-raw"][:4] == b"RIFF"
    assert len(seen["speech-sse"]) == len(SPOKEN) * 65 * 48  # 24 kHz PCM16, 65 ms a character
