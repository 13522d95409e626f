"""ElevenLabs through its official SDK (`elevenlabs`) against a real server process: text to
speech (whole, streamed, with timestamps), sound effects, music (plans, detailed answers,
uploads, stems, video to music), the voices (design, remix), and errors."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any

import httpx
import pytest
from elevenlabs import ElevenLabs
from elevenlabs.core.api_error import ApiError
from elevenlabs.types import CompositionPlan, MusicPrompt

from aimock.canonical import RequestContext
from aimock.fixtures.compiled import Reply
from aimock.providers import elevenlabs
from aimock.providers.audio import MP3_FRAME_BYTES, MP3_HEADER, GivenAudio, mp3_silence
from aimock.streaming import sse
from aimock.surface import RenderOptions
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


def test_streamed_speech_arrives_chunked(client: ElevenLabs) -> None:
    text = "Streaming speech, please."
    chunks = list(client.text_to_speech.stream(VOICE, text=text))
    assert b"".join(chunks) == b"".join(client.text_to_speech.convert(VOICE, text=text))
    with client.text_to_speech.with_raw_response.stream(VOICE, text=text) as raw:
        assert raw.headers["transfer-encoding"] == "chunked"
        assert raw.headers["content-type"] == "audio/mpeg"
        assert "content-length" not in raw.headers
        assert mp3_frames(b"".join(raw.data)) > 1


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


# -- music beyond compose: plans, detailed answers, uploads, stems, video --------------------------

PLAN = {
    "positive_global_styles": ["folk", "acoustic guitar"],
    "negative_global_styles": ["drums"],
    "sections": [
        {
            "section_name": "Verse",
            "positive_local_styles": [],
            "negative_local_styles": [],
            "duration_ms": 4000,
            "lines": ["Down by the river", "the water runs slow"],
        }
    ],
}
FIXTURES.append(
    {
        "match": {"endpoint": "audio-gen", "userMessage": "river ballad"},
        "response": {"content": json.dumps(PLAN)},
    }
)


def multipart_parts(response: httpx.Response) -> list[Message]:
    """A multipart/mixed answer's parts, as the standard library's MIME parser reads them."""
    head = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + response.content)
    assert message.is_multipart() and message.defects == []
    return list(message.iter_parts())


def sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.headers["content-type"].startswith("text/event-stream")
    blocks = [b for b in response.text.split("\n\n") if b.strip()]
    assert all(block.startswith("data: ") for block in blocks)
    return [json.loads(block.removeprefix("data: ")) for block in blocks]


def test_a_composition_plan_is_generated_or_the_fixture_s(client: ElevenLabs) -> None:
    plan = client.music.composition_plan.create(prompt="a calm piano piece", music_length_ms=45000)
    assert isinstance(plan, MusicPrompt)
    assert sum(section.duration_ms for section in plan.sections) == 45000
    assert all(3000 <= section.duration_ms <= 120000 for section in plan.sections)
    again = client.music.composition_plan.create(prompt="a calm piano piece", music_length_ms=45000)
    assert again == plan  # deterministic
    chunks = client.music.composition_plan.create(prompt="a calm piano piece", model_id="music_v2")
    assert isinstance(chunks, CompositionPlan) and len(chunks.chunks) >= 1
    given = client.music.composition_plan.create(prompt="a river ballad, please")
    assert given.dict(exclude_none=True) == PLAN


def test_compose_detailed_answers_multipart_metadata_and_audio(
    server: ServerProcess, client: ElevenLabs
) -> None:
    detailed = client.music.compose_detailed(
        prompt="a calm piano piece", music_length_ms=3000, with_timestamps=True
    )
    assert set(detailed.json) == {"composition_plan", "song_metadata", "words_timestamps"}
    assert detailed.json["song_metadata"]["title"] == "A Calm Piano Piece"
    assert detailed.filename.endswith(".mp3") and detailed.song_id
    # The SDK keeps the closing delimiter with the audio (elevenlabs-python#837): the parts as
    # a MIME parser reads them are exact.
    body = {"prompt": "a calm piano piece", "music_length_ms": 3000}
    response = httpx.post(f"{server.url}/v1/music/detailed", json=body, timeout=30)
    assert response.headers["song-id"] == detailed.song_id
    metadata, audio = multipart_parts(response)
    assert metadata.get_content_type() == "application/json"
    assert json.loads(str(metadata.get_payload())) == {
        k: v for k, v in detailed.json.items() if k != "words_timestamps"
    }
    assert audio.get_content_type() == "audio/mpeg"
    sound = audio.get_payload(decode=True)
    assert isinstance(sound, bytes) and mp3_frames(sound) == -(-3000 // 24)
    assert detailed.audio.startswith(sound)
    # A composition plan lasts as long as its sections; its lyrics are timed.
    planned = client.music.compose_detailed(
        composition_plan=MusicPrompt(**PLAN), with_timestamps=True
    )
    words = planned.json["words_timestamps"]
    sung = [w["word"] for w in words]
    assert " ".join(sung) == "Down by the river the water runs slow"
    assert words[-1]["end_ms"] == 4000
    # A fixture's own audio goes out as given.
    recorded = client.music.compose_detailed(prompt="the recorded greeting, as a song")
    assert recorded.audio.startswith(GIVEN) and recorded.filename.endswith(".wav")


def test_the_detailed_stream_is_server_sent_events(
    server: ServerProcess, client: ElevenLabs
) -> None:
    body = {"prompt": "a calm piano piece", "music_length_ms": 60000, "with_timestamps": True}
    response = httpx.post(f"{server.url}/v1/music/detailed/stream", json=body, timeout=30)
    events = sse_events(response)
    kinds = [event["event"] for event in events]
    assert kinds[:2] == ["composition_plan", "song_metadata"]
    assert kinds[-2:] == ["word_timestamps", "completion"]
    audio = b"".join(base64.b64decode(e["data"]) for e in events if e["event"] == "audio_chunk")
    assert kinds.count("audio_chunk") > 1 and mp3_frames(audio) == 60000 // 24
    assert response.headers["song-id"]
    # The SDK reads the stream line by line as bare JSON, so it yields none of the `data:`
    # lines; the call itself goes through.
    for _ in client.music.compose_detailed_stream(prompt="a calm piano piece"):
        pass


def test_upload_answers_a_song_id_and_what_was_asked(client: ElevenLabs) -> None:
    song = mp3_silence(6000)
    uploaded = client.music.upload(
        file=("song.mp3", song, "audio/mpeg"),
        extract_composition_plan="music_v1",
        with_waveform_visual=True,
    )
    assert uploaded.song_id == client.music.upload(file=("again.mp3", song)).song_id
    assert isinstance(uploaded.composition_plan, MusicPrompt)
    assert sum(s.duration_ms for s in uploaded.composition_plan.sections) == 6000
    assert uploaded.waveform_visual == [0] * 24  # four a second
    plain = client.music.upload(file=("song.mp3", song))
    assert plain.composition_plan is None and plain.words_timestamps is None


def test_stems_come_zipped_one_file_a_stem(client: ElevenLabs) -> None:
    song = mp3_silence(3000)
    zipped = b"".join(client.music.separate_stems(file=("song.mp3", song, "audio/mpeg")))
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert archive.namelist() == [
            f"{stem}.mp3" for stem in ("vocals", "drums", "bass", "guitar", "piano", "other")
        ]
        assert mp3_frames(archive.read("drums.mp3")) == 3000 // 24  # as long as the song
    two = b"".join(
        client.music.separate_stems(file=("song.mp3", song), stem_variation_id="two_stems_v1")
    )
    assert zipfile.ZipFile(io.BytesIO(two)).namelist() == ["vocals.mp3", "accompaniment.mp3"]
    with pytest.raises(ApiError) as refused:
        b"".join(client.music.separate_stems(file=("song.mp3", song), stem_variation_id="nine"))
    assert refused.value.status_code == 422
    assert refused.value.body["detail"][0]["loc"] == ["body", "stem_variation_id"]


def test_video_to_music_is_audio_or_separate_tracks(
    server: ServerProcess, client: ElevenLabs
) -> None:
    video = ("clip.mp4", b"\x00\x00\x00\x18ftypmp42 not really a video", "video/mp4")
    music = b"".join(client.music.video_to_music(videos=[video], description="a tense score"))
    assert mp3_frames(music) == -(-10000 // 24)  # ten seconds: the mock cannot watch the video
    entry = server.journal(surface="elevenlabs.music")[-1]
    assert entry["path"] == "/v1/music/video-to-music"
    tracks = b"".join(
        client.music.video_to_music(videos=[video, video], tags=["tense"], separate_tracks=True)
    )
    assert zipfile.ZipFile(io.BytesIO(tracks)).namelist() == ["music.mp3", "sfx.mp3"]
    missing = httpx.post(
        f"{server.url}/v1/music/video-to-music", files={"description": (None, "x")}, timeout=30
    )
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "videos"]


def test_other_music_routes_answer_audio_and_bad_bodies_are_refused(
    server: ServerProcess, client: ElevenLabs
) -> None:
    body = {"prompt": "a calm piano piece", "music_length_ms": 3000}
    other = httpx.post(f"{server.url}/v1/music/some/new-route", json=body, timeout=30)
    assert other.status_code == 200 and other.headers["content-type"] == "audio/mpeg"
    assert mp3_frames(other.content) == -(-3000 // 24)  # as AIMock answers any music route
    with pytest.raises(ApiError) as both:
        client.music.compose_detailed(prompt="a song", composition_plan=MusicPrompt(**PLAN))
    assert both.value.status_code == 422
    no_prompt = httpx.post(f"{server.url}/v1/music/plan", json={}, timeout=30)
    assert no_prompt.status_code == 422
    assert no_prompt.json()["detail"][0]["loc"] == ["body", "prompt"]
    not_json = httpx.post(f"{server.url}/v1/music/upload", json={"file": "x"}, timeout=30)
    assert not_json.status_code == 400 and "message" in not_json.json()["detail"]


def test_a_voice_is_remixed_into_previews(client: ElevenLabs) -> None:
    remix = client.text_to_voice.remix(VOICE, voice_description="older and raspier")
    assert len(remix.previews) == 3
    assert mp3_frames(base64.b64decode(remix.previews[0].audio_base_64)) >= 1
    design = client.text_to_voice.design(voice_description="older and raspier")
    assert remix.previews[0].generated_voice_id != design.previews[0].generated_voice_id
    again = client.text_to_voice.remix(VOICE, voice_description="older and raspier")
    assert again.previews[0].generated_voice_id == remix.previews[0].generated_voice_id
    with pytest.raises(ApiError) as unknown:
        client.text_to_voice.remix("no-such-voice", voice_description="older")
    assert unknown.value.status_code == 404


def test_a_recorded_detailed_stream_collapses_to_its_plan_and_audio() -> None:
    """Record mode's round trip (`tests/server/test_collapse.py` has no text form for it): the
    stream's bytes back into the fixture that answers the same stream again."""
    surface = next(s for s in elevenlabs.SURFACES if s.paths == ("/v1/music/detailed/stream",))
    request = elevenlabs.parse_music_stream(
        {"composition_plan": PLAN}, RequestContext(headers={}), {}
    )
    events = list(elevenlabs.stream_detailed(request, Reply(kind="audio"), RenderOptions()))
    assert surface.collapse is not None
    wire = b"".join(sse.frame(event.data, event.name) for event in events)
    collapsed = surface.collapse(sse.decode(wire))
    assert collapsed.content is not None and json.loads(collapsed.content) == PLAN
    given = collapsed.extension(GivenAudio)
    assert given is not None and mp3_frames(given.data) == -(-4000 // 24)
    replayed = elevenlabs.stream_detailed(request, collapsed, RenderOptions())
    assert [e.data for e in replayed] == [e.data for e in events]


def test_music_routes_are_strict_when_asked(server: ServerProcess) -> None:
    strict = {"x-aimock-strict": "true"}
    upload = httpx.post(
        f"{server.url}/v1/music/upload",
        files={"file": ("song.mp3", mp3_silence(3000), "audio/mpeg")},
        headers=strict,
        timeout=30,
    )
    assert upload.status_code == 503 and "message" in upload.json()["detail"]
    planned = httpx.post(
        f"{server.url}/v1/music/plan", json={"prompt": "river ballad"}, headers=strict, timeout=30
    )
    assert planned.status_code == 200 and planned.json() == PLAN
