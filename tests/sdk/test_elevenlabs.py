"""ElevenLabs through its official SDK (`elevenlabs`) against a real server process: text to
speech (whole, streamed, with timestamps), sound effects, the voices, and errors."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError

from aimock.providers.audio import MP3_FRAME_BYTES, MP3_HEADER
from tests.conftest import ServerProcess, serving_fixtures

VOICE = "JBFqnCBsd6RMkjVDRZzb"
GIVEN = b"RIFF-not-really-audio-but-the-fixture's"
FIXTURES: list[dict[str, Any]] = [
    {
        "match": {"userMessage": "recorded greeting"},
        "response": {"audio": base64.b64encode(GIVEN).decode(), "format": "wav"},
    },
    {
        "match": {"endpoint": "elevenlabs-tts", "userMessage": "refuse me"},
        "response": {
            "error": {"message": "quota exceeded", "type": "quota_exceeded"},
            "status": 401,
        },
    },
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving_fixtures(tmp_path_factory.mktemp("elevenlabs"), FIXTURES) as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[ElevenLabs]:
    with httpx.Client(timeout=30) as http:
        yield ElevenLabs(api_key="test", base_url=server.url, httpx_client=http)


def mp3_frames(data: bytes) -> int:
    assert len(data) % MP3_FRAME_BYTES == 0
    frames = [data[i : i + MP3_FRAME_BYTES] for i in range(0, len(data), MP3_FRAME_BYTES)]
    assert all(frame.startswith(MP3_HEADER) for frame in frames)
    return len(frames)


def test_text_to_speech_is_mp3_as_long_as_the_text(client: ElevenLabs) -> None:
    short = b"".join(client.text_to_speech.convert(VOICE, text="Hi."))
    long = b"".join(client.text_to_speech.convert(VOICE, text="Hello there, how are you today?"))
    assert mp3_frames(long) > mp3_frames(short) >= 1
    again = b"".join(client.text_to_speech.convert(VOICE, text="Hello there, how are you today?"))
    assert again == long  # deterministic


def test_pcm_and_ulaw_follow_the_output_format(client: ElevenLabs) -> None:
    text = "Twelve chars"
    pcm = b"".join(client.text_to_speech.convert(VOICE, text=text, output_format="pcm_16000"))
    ulaw = b"".join(client.text_to_speech.convert(VOICE, text=text, output_format="ulaw_8000"))
    assert len(pcm) == 2 * 16000 * len(text) * 65 // 1000  # PCM16 at 16 kHz
    assert len(ulaw) == 8000 * len(text) * 65 // 1000  # a byte a sample at 8 kHz
    with pytest.raises(ApiError) as refused:
        b"".join(client.text_to_speech.convert(VOICE, text=text, output_format="opus_48000_64"))
    assert refused.value.status_code == 422


def test_streamed_speech_arrives_whole(client: ElevenLabs) -> None:
    chunks = list(client.text_to_speech.stream(VOICE, text="Streaming speech, please."))
    assert mp3_frames(b"".join(chunks)) > 1


def test_timestamps_cover_every_character(client: ElevenLabs) -> None:
    text = "Timed words."
    timed = client.text_to_speech.convert_with_timestamps(VOICE, text=text)
    assert timed.alignment is not None
    assert "".join(timed.alignment.characters) == text
    starts = timed.alignment.character_start_times_seconds
    assert starts == sorted(starts) and len(starts) == len(text)
    assert mp3_frames(base64.b64decode(timed.audio_base_64)) >= 1
    streamed = list(client.text_to_speech.stream_with_timestamps(VOICE, text=text * 3))
    assert len(streamed) > 1
    characters = "".join("".join(c.alignment.characters) for c in streamed if c.alignment)
    assert characters == text * 3


def test_a_fixture_gives_its_own_audio(client: ElevenLabs) -> None:
    spoken = b"".join(client.text_to_speech.convert(VOICE, text="Play the recorded greeting"))
    assert spoken == GIVEN


def test_an_error_fixture_speaks_elevenlabs_envelope(client: ElevenLabs) -> None:
    with pytest.raises(ApiError) as failed:
        b"".join(client.text_to_speech.convert(VOICE, text="refuse me now"))
    assert failed.value.status_code == 401
    assert failed.value.body["detail"]["message"] == "quota exceeded"


def test_sound_effects_last_the_asked_duration(client: ElevenLabs) -> None:
    sound = b"".join(
        client.text_to_sound_effects.convert(text="rain on a roof", duration_seconds=2)
    )
    assert mp3_frames(sound) == 2000 // 24 + 1  # 24 ms frames, rounded up


def test_the_voices(client: ElevenLabs) -> None:
    voices = client.voices.get_all().voices
    assert VOICE in [v.voice_id for v in voices]
    found = client.voices.search(search="geo")
    assert [v.name for v in found.voices] == ["George"]
    assert client.voices.get(VOICE).name == "George"
    with pytest.raises(ApiError) as missing:
        client.voices.get("no-such-voice")
    assert missing.value.status_code == 404


def test_speech_is_journaled(server: ServerProcess, client: ElevenLabs) -> None:
    b"".join(client.text_to_speech.convert(VOICE, text="Journal this."))
    entry = server.journal(surface="elevenlabs.tts")[-1]
    assert entry["path"] == f"/v1/text-to-speech/{VOICE}"
    body = entry["body"]
    assert isinstance(body, dict) and body["text"] == "Journal this."


def test_music_lasts_the_asked_length(client: ElevenLabs) -> None:
    music = b"".join(client.music.compose(prompt="a calm piano piece", music_length_ms=3000))
    assert mp3_frames(music) == -(-3000 // 24)  # 24 ms frames, rounded up
    streamed = b"".join(client.music.stream(prompt="a calm piano piece", music_length_ms=3000))
    assert streamed == music


def test_a_designed_voice_is_created_listed_and_deleted(client: ElevenLabs) -> None:
    design = client.text_to_voice.design(voice_description="a warm, slow narrator")
    assert len(design.previews) == 3
    preview = design.previews[0]
    assert mp3_frames(base64.b64decode(preview.audio_base_64)) >= 1
    again = client.text_to_voice.design(voice_description="a warm, slow narrator")
    assert again.previews[0].generated_voice_id == preview.generated_voice_id  # deterministic
    voice = client.text_to_voice.create(
        voice_name="Narrator",
        voice_description="a warm, slow narrator",
        generated_voice_id=preview.generated_voice_id,
    )
    assert voice.voice_id == preview.generated_voice_id
    assert "Narrator" in [v.name for v in client.voices.get_all().voices]
    client.voices.delete(voice.voice_id)
    assert "Narrator" not in [v.name for v in client.voices.get_all().voices]
    with pytest.raises(ApiError) as missing:
        client.text_to_voice.design(voice_description="")
    assert missing.value.status_code == 422
