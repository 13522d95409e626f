"""ElevenLabs: text to speech (`/v1/text-to-speech/{voice_id}`, `/stream`, `/with-timestamps`,
`/stream/with-timestamps`), sound effects (`/v1/sound-generation`) and the voices
(`/v1/voices`, `/v2/voices`, `/v1/voices/{voice_id}`), as the `elevenlabs` SDK calls them.

Speech is matched like OpenAI's speech (endpoint kind `elevenlabs-tts`, AIMock's; sound
effects `audio-gen`): `userMessage` is the `text`, and `inputText` says `voice=<id>
format=<output_format>`. A fixture's `audio` (base64) and `format` go out as given; otherwise
(also for a miss when not strict) the audio is generated for the `output_format` query (the
SDK's default `mp3_44100_128`), as long as the text takes to say: silent MPEG frames for
`mp3_*`, a quiet tone as raw PCM16 for `pcm_*`, mu-law for `ulaw_8000`. Other formats (opus,
A-law, WAV) are refused with a 422 naming the format. The timestamps routes answer the audio
in base64 with each character's start and end spread over it; the streamed one sends them as
lines of JSON, a piece of the text a line.

Errors speak ElevenLabs' envelope, `{"detail": {"status", "message"}}`, and a body that does
not validate gets the 422 `{"detail": [{"loc", "msg", "type"}]}`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from aiohttp import web

from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply, extensions
from aimock.providers.audio import (
    MS_PER_CHARACTER,
    GivenAudio,
    given_audio,
    mp3_silence,
    sniffed_type,
    tone,
)
from aimock.providers.common import expect_object, slices
from aimock.surface import (
    ErrorDialect,
    ErrorInfo,
    Event,
    PlainRoute,
    ProtocolError,
    Provider,
    RawBody,
    RenderOptions,
    ServerView,
    Surface,
)
from aimock.wire import json_response, parse_json, read_body

PROVIDER_NAME = "elevenlabs"
TTS = "elevenlabs.tts"
SOUND = "elevenlabs.sound"
MUSIC = "elevenlabs.music"
DEFAULT_FORMAT = "mp3_44100_128"
DEFAULT_MODEL = "eleven_multilingual_v2"
MAX_TEXT = 40_000
# Codecs the mock encodes, and the sample rates ElevenLabs offers for each.
RATES = {
    "mp3": (22050, 24000, 44100),
    "pcm": (8000, 16000, 22050, 24000, 32000, 44100, 48000),
    "ulaw": (8000,),
}
CONTENT_TYPES = {"mp3": "audio/mpeg", "pcm": "audio/pcm", "ulaw": "audio/basic"}


def error_body(info: ErrorInfo) -> dict[str, Any]:
    if info.status == 422 and info.param:
        place = ["body", info.param] if info.param != "output_format" else ["query", info.param]
        return {"detail": [{"loc": place, "msg": info.message, "type": info.code or "value_error"}]}
    return {"detail": {"status": info.code or "invalid_request", "message": info.message}}


ERRORS = ErrorDialect(body=error_body)


def _invalid(param: str, message: str, kind: str = "value_error") -> ProtocolError:
    return ProtocolError(ErrorInfo(422, message, code=kind, param=param))


def output_format(context: RequestContext) -> tuple[str, int]:
    """The codec and sample rate `output_format` asks for (`mp3_44100_128`, `pcm_24000`...)."""
    given = context.query.get("output_format") or DEFAULT_FORMAT
    codec, _, rest = given.partition("_")
    rate_text = rest.partition("_")[0]
    rate = int(rate_text) if rate_text.isdigit() else 0
    if codec not in RATES or rate not in RATES[codec]:
        encoded = ", ".join(f"{c}_{r}" for c, rates in RATES.items() for r in rates)
        raise _invalid(
            "output_format",
            f"The mock does not encode '{given[:40]}': ask for one of {encoded}, or give the "
            "fixture's own audio (`audio` base64 and `format`).",
            "unsupported_output_format",
        )
    return codec, rate


def _text(body: Mapping[str, Any], limit: int = MAX_TEXT) -> str:
    text = body.get("text")
    if text is None:
        raise _invalid("text", "Field required", "missing")
    if not isinstance(text, str):
        raise _invalid("text", "Input should be a valid string", "string_type")
    if not text.strip():
        raise ProtocolError(ErrorInfo(400, "The text is empty.", code="empty_text"))
    if len(text) > limit:
        raise ProtocolError(
            ErrorInfo(
                400,
                f"The text is {len(text)} characters long; at most {limit} are taken.",
                code="text_too_long",
            )
        )
    return text


def _model(body: Mapping[str, Any]) -> str:
    model = body.get("model_id", DEFAULT_MODEL)
    if model is None:
        return DEFAULT_MODEL
    if not isinstance(model, str):
        raise _invalid("model_id", "Input should be a valid string", "string_type")
    return model


def _speech_request(
    body: Any, context: RequestContext, voice: str, *, timestamps: bool, stream: bool
) -> CanonicalRequest:
    body = expect_object(body)
    text = _text(body)
    codec, rate = output_format(context)
    fmt = f"{codec}_{rate}"
    return CanonicalRequest(
        surface=TTS,
        provider=PROVIDER_NAME,
        endpoint="elevenlabs-tts",
        model=_model(body),
        context=context,
        messages=(Message("user", text),),
        inputs=(f"voice={voice}", f"format={fmt}"),
        stream=stream,
        extras={"codec": codec, "rate": rate, "voice": voice, "timestamps": timestamps},
    )


def parse_speech(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    return _speech_request(body, context, params["voice_id"], timestamps=False, stream=False)


def parse_timestamps(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    return _speech_request(body, context, params["voice_id"], timestamps=True, stream=False)


def parse_timestamp_stream(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    return _speech_request(body, context, params["voice_id"], timestamps=True, stream=True)


def parse_sound(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    body = expect_object(body)
    text = _text(body, limit=2_000)
    duration = body.get("duration_seconds")
    if duration is not None and (
        isinstance(duration, bool)
        or not isinstance(duration, int | float)
        or not 0.5 <= duration <= 30
    ):
        raise _invalid("duration_seconds", "Input should be between 0.5 and 30", "value_error")
    codec, rate = output_format(context)
    return CanonicalRequest(
        surface=SOUND,
        provider=PROVIDER_NAME,
        endpoint="audio-gen",
        model=_model({"model_id": body.get("model_id", "eleven_text_to_sound_v2")}),
        context=context,
        messages=(Message("user", text),),
        inputs=(f"format={codec}_{rate}",),
        extras={"codec": codec, "rate": rate, "duration_ms": 1000 * duration if duration else 0},
    )


def parse_music(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    """`/v1/music` (and `/stream`): a prompt, or a composition plan, and a length."""
    del params
    body = expect_object(body)
    prompt = body.get("prompt")
    plan = body.get("composition_plan")
    if prompt is None and plan is None:
        raise _invalid("prompt", "Either prompt or composition_plan is required", "missing")
    if prompt is not None and not isinstance(prompt, str):
        raise _invalid("prompt", "Input should be a valid string", "string_type")
    length = body.get("music_length_ms")
    if length is not None and (
        isinstance(length, bool) or not isinstance(length, int) or not 3_000 <= length <= 600_000
    ):
        raise _invalid("music_length_ms", "Input should be between 3000 and 600000", "value_error")
    text = prompt if isinstance(prompt, str) else "composition plan"
    codec, rate = output_format(context)
    return CanonicalRequest(
        surface=MUSIC,
        provider=PROVIDER_NAME,
        endpoint="audio-gen",
        model=_model({"model_id": body.get("model_id", "music_v1")}),
        context=context,
        messages=(Message("user", text),),
        inputs=(f"format={codec}_{rate}",),
        extras={"codec": codec, "rate": rate, "duration_ms": length or 10_000},
    )


def mu_law(pcm: bytes) -> bytes:
    """PCM16 little-endian as G.711 mu-law, a byte a sample."""
    out = bytearray()
    for index in range(0, len(pcm) - 1, 2):
        sample = int.from_bytes(pcm[index : index + 2], "little", signed=True)
        sign = 0x80 if sample < 0 else 0
        magnitude = min(abs(sample), 32635) + 0x84
        exponent = max(0, magnitude.bit_length() - 8)
        mantissa = (magnitude >> (exponent + 3)) & 0x0F
        out.append(~(sign | (exponent << 4) | mantissa) & 0xFF)
    return bytes(out)


def audio_for(request: CanonicalRequest, reply: Reply) -> GivenAudio:
    """The answer's audio: the fixture's own, else generated in the asked format."""
    given = reply.extension(GivenAudio)
    if given is not None:
        return given
    text = reply.content or request.last_user_text or ""
    ms = float(request.extras.get("duration_ms") or len(text) * MS_PER_CHARACTER)
    codec = str(request.extras.get("codec", "mp3"))
    rate = int(request.extras.get("rate", 44100))
    if codec == "mp3":
        data = mp3_silence(ms)
    elif codec == "ulaw":
        data = mu_law(tone(ms, rate))
    else:
        data = tone(ms, rate)
    return GivenAudio(data, CONTENT_TYPES[codec])


def alignment(text: str, start_s: float = 0.0) -> dict[str, Any]:
    """Each character of `text` with its start and end, spoken evenly from `start_s`."""
    step = MS_PER_CHARACTER / 1000
    return {
        "characters": list(text),
        "character_start_times_seconds": [round(start_s + i * step, 3) for i in range(len(text))],
        "character_end_times_seconds": [
            round(start_s + (i + 1) * step, 3) for i in range(len(text))
        ],
    }


def render_audio(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> RawBody:
    del options
    audio = audio_for(request, reply)
    return RawBody(audio.data, audio.content_type)


def render_timestamps(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any]:
    del options
    text = reply.content or request.last_user_text or ""
    timing = alignment(text)
    return {
        "audio_base64": base64.b64encode(audio_for(request, reply).data).decode("ascii"),
        "alignment": timing,
        "normalized_alignment": timing,
    }


def stream_timestamps(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> Iterator[Event]:
    """A line of JSON a piece of the text: its audio and its characters' timing."""
    text = reply.content or request.last_user_text or ""
    audio = audio_for(request, reply).data
    pieces = list(slices(text, options.chunk_size)) or [""]
    share = len(audio) // len(pieces) // 2 * 2
    offset = 0.0
    for i, piece in enumerate(pieces):
        end = len(audio) if i == len(pieces) - 1 else share * (i + 1)
        timing = alignment(piece, offset)
        offset += len(piece) * MS_PER_CHARACTER / 1000
        data = {
            "audio_base64": base64.b64encode(audio[share * i : end]).decode("ascii"),
            "alignment": timing,
            "normalized_alignment": timing,
        }
        yield Event(data, tokens=1)


def collapse_timestamps(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded timestamps stream back into its audio and its text (record mode)."""
    audio: list[bytes] = []
    text: list[str] = []
    for _, data in events:
        if not isinstance(data, dict):
            continue
        piece = data.get("audio_base64")
        if isinstance(piece, str):
            with contextlib.suppress(binascii.Error, ValueError):
                audio.append(base64.b64decode(piece))
        timing = data.get("alignment")
        if isinstance(timing, dict):
            text.extend(c for c in timing.get("characters") or () if isinstance(c, str))
    sound = b"".join(audio)
    return Reply(
        kind="audio",
        content="".join(text) or None,
        extensions=extensions(GivenAudio(sound, sniffed_type(sound))),
    )


def fallback(request: CanonicalRequest) -> Reply:
    """A miss, when not strict: generated audio for the text."""
    del request
    return Reply(kind="audio")


def _surface(
    name: str,
    path: str,
    parse: Any,
    render: Any,
    *,
    stream: Any = None,
    collapse: Any = None,
    endpoint: str,
) -> Surface:
    return Surface(
        name=name,
        provider=PROVIDER_NAME,
        endpoint=endpoint,
        method="POST",
        paths=(path,),
        parse=parse,
        render=render,
        errors=ERRORS,
        stream=stream,
        collapse=collapse,
        framing="ndjson",
        fallback=fallback,
    )


SPEECH_PATH = "/v1/text-to-speech/{voice_id}"
SURFACES = (
    _surface(TTS, SPEECH_PATH, parse_speech, render_audio, endpoint="elevenlabs-tts"),
    _surface(TTS, SPEECH_PATH + "/stream", parse_speech, render_audio, endpoint="elevenlabs-tts"),
    _surface(
        TTS,
        SPEECH_PATH + "/with-timestamps",
        parse_timestamps,
        render_timestamps,
        endpoint="elevenlabs-tts",
    ),
    _surface(
        TTS,
        SPEECH_PATH + "/stream/with-timestamps",
        parse_timestamp_stream,
        render_timestamps,
        stream=stream_timestamps,
        collapse=collapse_timestamps,
        endpoint="elevenlabs-tts",
    ),
    _surface(SOUND, "/v1/sound-generation", parse_sound, render_audio, endpoint="audio-gen"),
    _surface(MUSIC, "/v1/music", parse_music, render_audio, endpoint="audio-gen"),
    _surface(MUSIC, "/v1/music/stream", parse_music, render_audio, endpoint="audio-gen"),
)

# -- voices ---------------------------------------------------------------------------------------

VOICES = (
    ("21m00Tcm4TlvDq8ikWAM", "Rachel", {"accent": "american", "gender": "female"}),
    ("JBFqnCBsd6RMkjVDRZzb", "George", {"accent": "british", "gender": "male"}),
    ("EXAVITQu4vr4xnSDxMaL", "Sarah", {"accent": "american", "gender": "female"}),
)


def _voice(voice_id: str, name: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "voice_id": voice_id,
        "name": name,
        "category": "premade",
        "labels": dict(labels),
        "description": f"{name}, a premade voice served by aimock.",
        "preview_url": None,
        "available_for_tiers": [],
        "settings": None,
        "high_quality_base_model_ids": [DEFAULT_MODEL],
        "is_owner": False,
        "is_legacy": False,
        "is_mixed": False,
    }


# Voices made through voice design, kept by the server (a full reset forgets them).
CREATED = "elevenlabs.voices"


def _all_voices(view: ServerView) -> list[dict[str, Any]]:
    made: dict[str, dict[str, Any]] = view.keep(CREATED, dict)
    return [*(_voice(*v) for v in VOICES), *made.values()]


async def list_voices(request: web.Request, view: ServerView) -> web.StreamResponse:
    return json_response({"voices": _all_voices(view)})


async def search_voices(request: web.Request, view: ServerView) -> web.StreamResponse:
    wanted = (request.query.get("search") or "").lower()
    found = [v for v in _all_voices(view) if wanted in str(v["name"]).lower()]
    return json_response(
        {"voices": found, "has_more": False, "total_count": len(found), "next_page_token": None}
    )


def _unknown_voice(voice_id: str) -> web.Response:
    info = ErrorInfo(
        404, f"A voice with voice_id {voice_id[:64]} was not found.", code="voice_not_found"
    )
    return json_response(error_body(info), 404)


async def get_voice(request: web.Request, view: ServerView) -> web.StreamResponse:
    voice_id = request.match_info["voice_id"]
    for voice in _all_voices(view):
        if voice["voice_id"] == voice_id:
            return json_response(voice)
    return _unknown_voice(voice_id)


async def delete_voice(request: web.Request, view: ServerView) -> web.StreamResponse:
    voice_id = request.match_info["voice_id"]
    made: dict[str, dict[str, Any]] = view.keep(CREATED, dict)
    if made.pop(voice_id, None) is None:
        return _unknown_voice(voice_id)
    return json_response({"status": "ok"})


async def _body(request: web.Request, view: ServerView) -> dict[str, Any]:
    body = parse_json(await read_body(request, view.max_body_bytes), request.method)
    return expect_object(body)


def _required_text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise _invalid(name, "Field required", "missing")
    if not isinstance(value, str) or not value.strip():
        raise _invalid(name, "Input should be a non-empty string", "string_type")
    return value


async def design_voice(request: web.Request, view: ServerView) -> web.StreamResponse:
    """Three previews of a voice the description asks for, the same for the same one."""
    body = await _body(request, view)
    description = _required_text(body, "voice_description")
    text = body.get("text")
    spoken = text if isinstance(text, str) and text else f"A voice that is {description[:200]}."
    seed = hashlib.sha256(description.encode()).hexdigest()
    audio = base64.b64encode(mp3_silence(len(spoken) * MS_PER_CHARACTER)).decode("ascii")
    seconds = round(len(spoken) * MS_PER_CHARACTER / 1000, 2)
    previews = [
        {
            "audio_base_64": audio,
            "generated_voice_id": f"{seed[i * 8 : i * 8 + 20]}",
            "media_type": "audio/mpeg",
            "duration_secs": seconds,
            "language": "en",
        }
        for i in range(3)
    ]
    return json_response({"previews": previews, "text": spoken})


async def create_voice(request: web.Request, view: ServerView) -> web.StreamResponse:
    """A voice from a design preview; it is listed with the others from then on."""
    body = await _body(request, view)
    name = _required_text(body, "voice_name")
    description = _required_text(body, "voice_description")
    voice_id = _required_text(body, "generated_voice_id")
    given = body.get("labels")
    labels: dict[str, Any] = given if isinstance(given, dict) else {}
    made: dict[str, dict[str, Any]] = view.keep(CREATED, dict)
    voice = {
        **_voice(voice_id, name, {str(k): str(v) for k, v in labels.items()}),
        "category": "generated",
        "description": description,
        "is_owner": True,
    }
    made[voice_id] = voice
    return json_response(voice)


PROVIDER = Provider(
    name=PROVIDER_NAME,
    surfaces=SURFACES,
    routes=(
        PlainRoute("elevenlabs.voices", PROVIDER_NAME, "GET", "/v1/voices", list_voices, ERRORS),
        PlainRoute("elevenlabs.voices", PROVIDER_NAME, "GET", "/v2/voices", search_voices, ERRORS),
        PlainRoute(
            "elevenlabs.voices", PROVIDER_NAME, "GET", "/v1/voices/{voice_id}", get_voice, ERRORS
        ),
        PlainRoute(
            "elevenlabs.voices",
            PROVIDER_NAME,
            "DELETE",
            "/v1/voices/{voice_id}",
            delete_voice,
            ERRORS,
        ),
        PlainRoute(
            "elevenlabs.voices",
            PROVIDER_NAME,
            "POST",
            "/v1/text-to-voice/design",
            design_voice,
            ERRORS,
        ),
        PlainRoute(
            "elevenlabs.voices", PROVIDER_NAME, "POST", "/v1/text-to-voice", create_voice, ERRORS
        ),
    ),
    # The SDK reads its key from the environment; its base URL is `ElevenLabs(base_url=...)`.
    environment={"ELEVENLABS_API_KEY": "aimock"},
    extensions=(given_audio,),
)
