"""OpenAI audio with the official SDK against a real server: speech in every format the mock
encodes (and a fixture's own audio), transcriptions and translations of a real WAV upload in
every response format, streamed events, and the errors in OpenAI's envelope."""

from __future__ import annotations

import base64
import io
import json
import math
import socket
import struct
import wave
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.conftest import ServerProcess, serving_fixtures

OPUS = base64.b64encode(b"OggS fixture opus bytes").decode()
FIXTURES: list[dict[str, Any]] = [
    {"match": {"userMessage": "custom audio"}, "response": {"audio": OPUS, "format": "opus"}},
    {
        "match": {"endpoint": "speech", "userMessage": "paced speech"},
        "response": {"content": "A sentence long enough to be spoken in several pieces."},
        "streamingProfile": {"ttft": 0, "tps": 40},
    },
    {
        "match": {"endpoint": "transcription", "inputText": "file=meeting.wav"},
        "response": {"transcription": {"text": "Hello world. How are you today?"}},
    },
    {
        "match": {"endpoint": "transcription", "userMessage": "glossary"},
        "response": {"transcription": {"text": "Prompted transcript."}},
    },
    {
        "match": {"endpoint": "transcription", "inputText": "language=fr"},
        "response": {
            "transcription": {
                "text": "Bonjour le monde.",
                "language": "french",
                "duration": 4.25,
                "words": [{"word": "Bonjour", "start": 0.0, "end": 1.0}],
            }
        },
    },
    {
        "match": {"endpoint": "translation"},
        "response": {"transcription": {"text": "Good morning everyone."}},
    },
    {
        "match": {"model": "gpt-4o-transcribe"},
        "response": {"transcription": {"text": "Streamed words arrive in pieces."}},
    },
]
BODY_LIMIT = 2_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("audio")
    with serving_fixtures(folder, FIXTURES, "--max-body-bytes", str(BODY_LIMIT)) as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[OpenAI]:
    with OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as sdk:
        yield sdk


def a_wav(seconds: float, rate: int = 16000) -> bytes:
    """A real WAV file: a 300 Hz tone, mono 16-bit."""
    count = int(seconds * rate)
    samples = (round(8000 * math.sin(2 * math.pi * 300 * n / rate)) for n in range(count))
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(struct.pack(f"<{count}h", *samples))
    return out.getvalue()


MEETING = ("meeting.wav", a_wav(1.5), "audio/wav")


# -- speech ---------------------------------------------------------------------------------------


def test_speech_wav_is_a_wav_as_long_as_the_text(client: OpenAI) -> None:
    text = "Hello there, this is a test."
    audio = client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input=text, response_format="wav"
    )
    assert audio.response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(audio.content)) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (
            1,
            2,
            24000,
        )
        assert reader.getnframes() == len(text) * 65 * 24
        frames = reader.readframes(reader.getnframes())
    assert max(struct.unpack(f"<{len(frames) // 2}h", frames)) > 500  # a tone, not silence
    again = client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input=text, response_format="wav"
    )
    assert again.content == audio.content  # deterministic


def test_speech_mp3_is_well_formed_frames(client: OpenAI) -> None:
    text = "An MP3, please."
    data = client.audio.speech.create(model="tts-1", voice="echo", input=text).content
    frames = 0
    at = 0
    while at < len(data):
        header = int.from_bytes(data[at : at + 4], "big")
        assert header >> 21 == 0x7FF  # sync
        assert (header >> 19) & 3 == 3  # MPEG-1
        assert (header >> 17) & 3 == 1  # Layer III
        bitrate = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320][
            (header >> 12) & 15
        ]
        rate = [44100, 48000, 32000][(header >> 10) & 3]
        padding = (header >> 9) & 1
        size = 144 * bitrate * 1000 // rate + padding
        assert size > 4
        at += size
        frames += 1
    assert at == len(data)
    assert frames == math.ceil(len(text) * 65 / 24)


def crc(data: bytes, poly: int, width: int) -> int:
    """A CRC over `data`, MSB first, initial value zero (FLAC's CRC-8 and CRC-16)."""
    value, top, mask = 0, 1 << (width - 1), (1 << width) - 1
    for byte in data:
        value ^= byte << (width - 8)
        for _ in range(8):
            value = ((value << 1) ^ poly) & mask if value & top else (value << 1) & mask
    return value


def test_speech_flac_frames_and_checksums(client: OpenAI) -> None:
    text = "Lossless silence."
    data = client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input=text, response_format="flac"
    ).content
    assert data[:4] == b"fLaC" and data[4] == 0x80 and data[5:8] == b"\x00\x00\x22"
    info = int.from_bytes(data[18:26], "big")
    rate, channels, bits, total = (
        info >> 44,
        (info >> 41 & 7) + 1,
        (info >> 36 & 31) + 1,
        info & (2**36 - 1),
    )
    assert (rate, channels, bits) == (24000, 1, 16)
    assert total == len(text) * 65 * 24
    at, samples, number = 42, 0, 0
    while at < len(data):
        assert data[at : at + 2] == b"\xff\xf8"
        size_code = data[at + 2] >> 4
        head_end = at + 4 + len(chr(number).encode())
        count = 4096
        if size_code == 7:
            count = int.from_bytes(data[head_end : head_end + 2], "big") + 1
            head_end += 2
        assert crc(data[at:head_end], 0x07, 8) == data[head_end]
        frame_end = head_end + 1 + 3  # one CONSTANT subframe: its header and a 16-bit value
        assert crc(data[at:frame_end], 0x8005, 16) == int.from_bytes(
            data[frame_end : frame_end + 2], "big"
        )
        at, samples, number = frame_end + 2, samples + count, number + 1
    assert samples == total


def test_speech_pcm_with_streaming_response(client: OpenAI) -> None:
    text = "Raw samples."
    with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice={"id": "voice_123"}, input=text, response_format="pcm"
    ) as response:
        assert response.headers["content-type"] == "audio/pcm"
        data = b"".join(response.iter_bytes(1000))
    assert len(data) == len(text) * 65 * 24 * 2
    slow = client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input=text, response_format="pcm", speed=0.5
    )
    assert len(slow.content) == 2 * len(data)


def _http_chunks(url: str, path: str, body: dict[str, Any]) -> list[bytes]:
    """The HTTP/1.1 chunks of one answer as written on the wire (clients hide them)."""
    address = httpx.URL(url)
    payload = json.dumps(body).encode()
    with socket.create_connection((address.host, address.port)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {address.host}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        raw = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower(), head
    chunks = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return chunks
        chunks.append(rest[:size])
        rest = rest[size + 2 :]


def test_speech_streams_its_bytes_as_they_are_made(client: OpenAI, server: ServerProcess) -> None:
    """Plain speech streams as the API's does: chunked, no length up front, and paced by the
    fixture's physics, a piece of 12,000 bytes at a time (40 pieces a second here)."""
    request = {"model": "gpt-4o-mini-tts", "voice": "alloy", "input": "paced speech"}
    whole = client.audio.speech.create(**request, response_format="pcm").content
    with client.audio.speech.with_streaming_response.create(
        **request, response_format="pcm"
    ) as response:
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        assert response.headers["content-type"] == "audio/pcm"
        assert b"".join(response.iter_bytes()) == whole
    # The fixture's content is what is spoken, and each piece is a write of its own.
    assert len(whole) == len("A sentence long enough to be spoken in several pieces.") * 65 * 48
    chunks = _http_chunks(server.url, "/v1/audio/speech", {**request, "response_format": "pcm"})
    assert b"".join(chunks) == whole
    assert [len(c) for c in chunks[:-1]] == [12_000] * (len(whole) // 12_000)


def test_speech_sse_events_carry_the_audio(client: OpenAI) -> None:
    text = "Streamed as events."
    whole = client.audio.speech.create(
        model="gpt-4o-mini-tts", voice="alloy", input=text, response_format="wav"
    ).content
    with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts",
        voice="alloy",
        input=text,
        response_format="wav",
        stream_format="sse",
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [
            json.loads(line[len("data: ") :])
            for line in response.iter_lines()
            if line.startswith("data: ")
        ]
    deltas = [e for e in events if e["type"] == "speech.audio.delta"]
    assert len(deltas) > 1
    assert b"".join(base64.b64decode(e["audio"]) for e in deltas) == whole
    done = events[-1]
    assert done["type"] == "speech.audio.done"
    usage = done["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_a_fixture_audio_goes_out_as_given(client: OpenAI) -> None:
    audio = client.audio.speech.create(
        model="gpt-4o-mini-tts",
        voice="alloy",
        input="Play the custom audio",
        response_format="opus",
    )
    assert audio.content == base64.b64decode(OPUS)
    assert audio.response.headers["content-type"] == "audio/opus"


@pytest.mark.parametrize("fmt", ["opus", "aac"])
def test_formats_the_mock_does_not_encode_are_refused(client: OpenAI, fmt: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(
            model="gpt-4o-mini-tts",
            voice="alloy",
            input="no fixture",
            response_format=fmt,  # type: ignore[arg-type]
        )
    error = caught.value.body
    assert isinstance(error, dict)
    assert f"'{fmt}'" in error["message"] and error["param"] == "response_format"


def test_speech_request_errors(client: OpenAI, server: ServerProcess) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="tts-1", voice="alloy", input="x", stream_format="sse")
    assert isinstance(caught.value.body, dict) and caught.value.body["param"] == "stream_format"
    answer = httpx.post(
        server.base_url + "/audio/speech", json={"model": "tts-1", "input": "no voice"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "voice"


def test_strict_mode_misses_speech(server: ServerProcess) -> None:
    answer = httpx.post(
        server.base_url + "/audio/speech",
        json={"model": "tts-1", "input": "unmatched", "voice": "alloy"},
        headers={"X-AIMock-Strict": "true"},
    )
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "no_fixture_match"


# -- transcriptions and translations -------------------------------------------------------------


def test_transcription_json_matches_the_file_name(client: OpenAI, server: ServerProcess) -> None:
    result = client.audio.transcriptions.create(model="whisper-1", file=MEETING)
    assert result.text == "Hello world. How are you today?"
    assert result.usage is not None and result.usage.type == "duration"
    assert result.usage.seconds == 2  # 1.5 s of audio, billed by the started second
    entry = server.journal()[-1]
    body = entry["body"]
    assert isinstance(body, dict)
    assert body["model"] == "whisper-1"
    assert body["file"]["filename"] == "meeting.wav"
    assert body["file"]["bytes"] == len(MEETING[1])


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_transcription_text_formats(client: OpenAI, fmt: str) -> None:
    result = client.audio.transcriptions.create(
        model="whisper-1",
        file=MEETING,
        response_format=fmt,  # type: ignore[call-overload]
    )
    assert isinstance(result, str)
    if fmt == "text":
        assert result == "Hello world. How are you today?\n"
    elif fmt == "srt":
        assert result.startswith("1\n00:00:00,000 --> 00:00:00,")
        assert "2\n00:00:00," in result and result.rstrip().endswith("How are you today?")
        assert "00:00:01,500" in result  # the last cue ends with the audio
    else:
        assert result.startswith("WEBVTT\n\n00:00:00.000 --> ")
        assert "--> 00:00:01.500\nHow are you today?" in result


def test_transcription_verbose_json_spreads_words_over_the_audio(client: OpenAI) -> None:
    result = client.audio.transcriptions.create(
        model="whisper-1",
        file=MEETING,
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert result.duration == 1.5
    assert result.language == "english"
    assert result.words is not None and [w.word for w in result.words] == [
        "Hello",
        "world.",
        "How",
        "are",
        "you",
        "today?",
    ]
    assert result.words[-1].end == 1.5
    assert all(a.end == b.start for a, b in zip(result.words, result.words[1:], strict=False))
    assert result.segments is not None and [s.text for s in result.segments] == [
        " Hello world.",
        " How are you today?",
    ]
    only_segments = client.audio.transcriptions.create(
        model="whisper-1", file=MEETING, response_format="verbose_json"
    )
    assert only_segments.words is None and only_segments.segments


def test_fixture_words_language_and_duration_win(client: OpenAI) -> None:
    result = client.audio.transcriptions.create(
        model="whisper-1",
        file=("bonjour.mp3", b"ID3 not really mp3", "audio/mpeg"),
        language="fr",
        response_format="verbose_json",
        timestamp_granularities=["word"],
    )
    assert (result.text, result.language, result.duration) == ("Bonjour le monde.", "french", 4.25)
    assert result.words is not None and result.words[0].word == "Bonjour"


def test_transcription_matches_the_prompt(client: OpenAI) -> None:
    result = client.audio.transcriptions.create(
        model="whisper-1", file=("other.wav", a_wav(0.5), "audio/wav"), prompt="a glossary of terms"
    )
    assert result.text == "Prompted transcript."


def test_streamed_transcription_events(client: OpenAI) -> None:
    stream = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("any.wav", a_wav(0.5), "audio/wav"), stream=True
    )
    events = list(stream)
    assert {e.type for e in events[:-1]} == {"transcript.text.delta"}
    assert "".join(e.delta for e in events[:-1]) == "Streamed words arrive in pieces."  # type: ignore[union-attr]
    done = events[-1]
    assert done.type == "transcript.text.done"
    assert done.text == "Streamed words arrive in pieces."
    assert done.usage is not None and done.usage.type == "tokens"


def test_whisper_ignores_stream(server: ServerProcess) -> None:
    answer = httpx.post(
        server.base_url + "/audio/transcriptions",
        files={"file": MEETING},
        data={"model": "whisper-1", "stream": "true"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["text"] == "Hello world. How are you today?"


def test_gpt_4o_transcribe_takes_json_or_text_only(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(
            model="gpt-4o-transcribe", file=MEETING, response_format="srt"
        )
    assert isinstance(caught.value.body, dict) and "'srt'" in caught.value.body["message"]


# The SDK marks `audio.translations` deprecated; the API still answers it.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("fmt", ["json", "text", "srt", "vtt", "verbose_json"])
def test_translations(client: OpenAI, fmt: Any) -> None:
    result: Any = client.audio.translations.create(
        model="whisper-1", file=("german.wav", a_wav(1.0), "audio/wav"), response_format=fmt
    )
    if fmt == "json":
        assert result.text == "Good morning everyone."
    elif fmt == "verbose_json":
        assert result.task == "translate" and result.language == "english"
        assert result.duration == 1.0
    else:
        assert isinstance(result, str) and "Good morning everyone." in result


# -- errors, in OpenAI's envelope -----------------------------------------------------------------


def error_of(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    return error  # type: ignore[no-any-return]


def test_a_missing_file_field(server: ServerProcess) -> None:
    answer = httpx.post(
        server.base_url + "/audio/transcriptions", files={"model": (None, "whisper-1")}
    )
    assert error_of(answer, 400)["param"] == "file"


def test_a_wrong_content_type(server: ServerProcess) -> None:
    answer = httpx.post(server.base_url + "/audio/transcriptions", json={"model": "whisper-1"})
    assert error_of(answer, 400)["code"] == "invalid_content_type"


def test_a_malformed_body(server: ServerProcess) -> None:
    answer = httpx.post(
        server.base_url + "/audio/translations",
        content=b"--b\r\nContent-Disposition: form-data; name=model\r\n\r\nwhisper-1",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert error_of(answer, 400)["code"] == "invalid_multipart"


def test_an_unsupported_file_format(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(
            model="whisper-1", file=("notes.txt", b"hi", "text/plain")
        )
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["message"].startswith("Invalid file format.")


def test_an_oversized_upload(client: OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as caught:
        client.audio.transcriptions.create(
            model="whisper-1", file=("big.wav", bytes(BODY_LIMIT + 1), "audio/wav")
        )
    assert caught.value.status_code == 413
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "request_too_large"


def test_a_transcription_miss_is_a_404(server: ServerProcess) -> None:
    # Only the whisper-1 fixtures above match by file, prompt or language: this matches none.
    answer = httpx.post(
        server.base_url + "/audio/transcriptions",
        files={"file": ("unknown.wav", a_wav(0.2), "audio/wav")},
        data={"model": "whisper-1"},
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "no_fixture_match"


async def test_async_client_speaks_and_transcribes(server: ServerProcess) -> None:
    async with AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0) as sdk:
        async with sdk.audio.speech.with_streaming_response.create(
            model="gpt-4o-mini-tts", voice="alloy", input="Async speech.", response_format="wav"
        ) as response:
            data = b"".join([chunk async for chunk in response.iter_bytes()])
        with wave.open(io.BytesIO(data)) as reader:
            assert reader.getnframes() == len("Async speech.") * 65 * 24
        result = await sdk.audio.transcriptions.create(
            model="whisper-1", file=MEETING, response_format="text"
        )
        assert result == "Hello world. How are you today?\n"


@pytest.mark.parametrize(
    ("response", "says"),
    [
        ({"transcription": "hello"}, "transcription is {text"),
        ({"transcription": {"txt": "hello"}}, "transcription is {text"),
        ({"audio": 42}, "audio is base64"),
        ({"audio": "AAAA", "format": "ogg"}, "format is one of"),
    ],
)
def test_a_mistyped_audio_fixture_is_refused_at_load(response: dict[str, Any], says: str) -> None:
    from aimock.fixtures.loading import LoadError, load_text

    with pytest.raises(LoadError) as caught:
        load_text(json.dumps({"fixtures": [{"match": {}, "response": response}]}))
    assert says in str(caught.value)
