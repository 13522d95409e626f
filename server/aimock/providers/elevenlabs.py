"""ElevenLabs: text to speech (`/v1/text-to-speech/{voice_id}`, `/stream`, `/with-timestamps`,
`/stream/with-timestamps`), sound effects (`/v1/sound-generation`), music (`/v1/music`,
`/stream`, `/plan`, `/detailed`, `/detailed/stream`, `/upload`, `/stem-separation`,
`/video-to-music`, and audio for any other music path, as AIMock answers them), voice design
and remix (`/v1/text-to-voice...`) and the voices (`/v1/voices`, `/v2/voices`,
`/v1/voices/{voice_id}`), as the `elevenlabs` SDK calls them.

Speech is matched like OpenAI's speech (endpoint kind `elevenlabs-tts`, AIMock's; sound
effects `audio-gen`): `userMessage` is the `text`, and `inputText` says `voice=<id>
format=<output_format>`. A fixture's `audio` (base64) and `format` go out as given; otherwise
(also for a miss when not strict) the audio is generated for the `output_format` query (the
SDK's default `mp3_44100_128`), as long as the text takes to say: silent MPEG frames for
`mp3_*`, a quiet tone as raw PCM16 for `pcm_*`, mu-law for `ulaw_8000`. Other formats (opus,
A-law, WAV) are refused with a 422 naming the format. The timestamps routes answer the audio
in base64 with each character's start and end spread over it; the streamed one sends them as
lines of JSON, a piece of the text a line.

Music is matched as AIMock matches it (endpoint kind `audio-gen`, `userMessage` the prompt or
the plan's JSON). The detailed routes answer a composition plan (the request's, else a
fixture's `content` when it is a JSON object, else one generated from the prompt), the song's
metadata and the audio: as multipart/mixed, or as server-sent events `{"event", "data"}`.
Uploads (a song, its stems, videos) are multipart/form-data, matched on `inputText`.

Errors speak ElevenLabs' envelope, `{"detail": {"status", "message"}}`, and a body that does
not validate gets the 422 `{"detail": [{"loc", "msg", "type"}]}`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import math
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
from aiohttp import web

from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply, extensions
from aimock.multipart import Form, Upload
from aimock.providers.audio import (
    MP3_FRAME_BYTES,
    MP3_FRAME_MS,
    MP3_HEADER,
    MS_PER_CHARACTER,
    GivenAudio,
    collapse_pieces,
    given_audio,
    mp3_silence,
    pieces,
    sniffed_type,
    tone,
    wav_duration,
)
from aimock.providers.common import expect_object, slices
from aimock.surface import (
    BodyKind,
    ErrorDialect,
    ErrorInfo,
    Event,
    Framing,
    PlainRoute,
    ProtocolError,
    Provider,
    RawBody,
    RenderOptions,
    ServerView,
    SuccessHeaders,
    Surface,
    bad_request,
)
from aimock.wire import JSON_TYPE, json_response, parse_json, read_body

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


def unauthorized(given: bool) -> ErrorInfo:
    if given:
        return ErrorInfo(401, "Invalid API key", code="invalid_api_key")
    return ErrorInfo(
        401, "Please provide an API key in the xi-api-key header.", code="needs_authorization"
    )


ERRORS = ErrorDialect(body=error_body, unauthorized=unauthorized)


def _invalid(param: str, message: str, kind: str = "value_error") -> ProtocolError:
    return ProtocolError(ErrorInfo(422, message, code=kind, param=param))


def output_format(context: RequestContext, *, music: bool = False) -> tuple[str, int]:
    """The codec and sample rate `output_format` asks for (`mp3_44100_128`, `pcm_24000`...);
    music's `auto` (its default) is `mp3_44100_128`."""
    given = context.query.get("output_format") or DEFAULT_FORMAT
    if music and given == "auto":
        given = DEFAULT_FORMAT
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


def parse_speech_stream(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    return _speech_request(body, context, params["voice_id"], timestamps=False, stream=True)


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


# -- music ----------------------------------------------------------------------------------------

DEFAULT_MUSIC_MS = 10_000
SECTION_NAMES = ("Verse 1", "Chorus", "Verse 2", "Chorus", "Bridge", "Outro")
# The stems of each stem variation, a file each in the zip (the mock's names).
STEMS = {
    "two_stems_v1": ("vocals", "accompaniment"),
    "six_stems_v1": ("vocals", "drums", "bass", "guitar", "piano", "other"),
}
EXTENSIONS = {"audio/mpeg": "mp3", "audio/pcm": "pcm", "audio/basic": "ulaw", "audio/wav": "wav"}
PLAN_MODELS = ("music_v1", "music_v2", "music_v2_5")
MAX_VIDEOS = 10
MAX_TAGS = 10
MAX_DESCRIPTION = 4_100
AUDIO_CHUNK_BYTES = 16 * 1024  # the detailed stream's audio, a piece an event
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # every zip entry's date: the same bytes for the same answer


def _string(body: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise _invalid(name, "Field required", "missing")
        return None
    if not isinstance(value, str):
        raise _invalid(name, "Input should be a valid string", "string_type")
    return value


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _invalid(name, "Input should be a valid boolean", "bool_type")
    return value


def _length(body: Mapping[str, Any]) -> int | None:
    length = body.get("music_length_ms")
    if length is not None and (
        isinstance(length, bool) or not isinstance(length, int) or not 3_000 <= length <= 600_000
    ):
        raise _invalid("music_length_ms", "Input should be between 3000 and 600000", "value_error")
    return length


def _plan(body: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    plan = body.get(name)
    if plan is not None and not isinstance(plan, dict):
        raise _invalid(name, "Input should be a valid dictionary", "dict_type")
    return plan


def _parts(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A composition plan's sections (`music_v1`) or chunks (`music_v2`)."""
    parts = plan.get("sections", plan.get("chunks"))
    return [part for part in parts if isinstance(part, dict)] if isinstance(parts, list) else []


def _ms(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _part_ms(part: Mapping[str, Any]) -> int:
    """A section's or chunk's length; an audio reference chunk's is its range's."""
    span = part.get("range")
    if "duration_ms" not in part and isinstance(span, dict):
        return max(0, _ms(span.get("end_ms")) - _ms(span.get("start_ms")))
    return _ms(part.get("duration_ms"))


def _plan_ms(plan: Mapping[str, Any]) -> int:
    """How long a plan's parts add up to (at most ten minutes)."""
    return min(sum(_part_ms(part) for part in _parts(plan)), 600_000)


def _music(
    context: RequestContext,
    text: str | None,
    *,
    model: Any,
    duration_ms: int,
    inputs: Sequence[str] = (),
    stream: bool = False,
    audio: bool = True,
    **extras: Any,
) -> CanonicalRequest:
    """A music request: matched as AIMock matches it (endpoint kind `audio-gen`, `userMessage`
    the prompt), its audio (when it answers audio) in the `output_format` asked."""
    more: dict[str, Any] = {"duration_ms": duration_ms, **extras}
    if audio:
        codec, rate = output_format(context, music=True)
        more.update(codec=codec, rate=rate)
        inputs = (*inputs, f"format={codec}_{rate}")
    return CanonicalRequest(
        surface=MUSIC,
        provider=PROVIDER_NAME,
        endpoint="audio-gen",
        model=_model({"model_id": model if model is not None else "music_v1"}),
        context=context,
        messages=(Message("user", text),) if text else (),
        inputs=tuple(inputs),
        stream=stream,
        extras=more,
    )


def _compose(body: Any, context: RequestContext, *, stream: bool) -> CanonicalRequest:
    """`/v1/music`, `/stream`, `/detailed`, `/detailed/stream`: a prompt or a composition plan
    (its JSON is the `userMessage` then, as AIMock has it), and a length."""
    body = expect_object(body)
    prompt = _string(body, "prompt")
    plan = _plan(body, "composition_plan")
    if prompt is None and plan is None:
        raise _invalid("prompt", "Either prompt or composition_plan is required", "missing")
    if prompt is not None and plan is not None:
        raise _invalid(
            "composition_plan", "Give either prompt or composition_plan, not both", "value_error"
        )
    planned = _plan_ms(plan) if plan is not None else 0
    return _music(
        context,
        prompt if prompt is not None else orjson.dumps(plan).decode(),
        model=body.get("model_id"),
        duration_ms=_length(body) or planned or DEFAULT_MUSIC_MS,
        stream=stream,
        prompt=prompt or "",
        plan=plan,
        timestamps=_flag(body, "with_timestamps"),
        waveform=_flag(body, "with_waveform_visual"),
    )


def parse_music(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    return _compose(body, context, stream=False)


def parse_music_stream(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    del params
    return _compose(body, context, stream=True)


def parse_plan(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    """`/v1/music/plan`: a composition plan for a prompt (and a length)."""
    del params
    body = expect_object(body)
    prompt = _string(body, "prompt", required=True)
    return _music(
        context,
        prompt,
        model=body.get("model_id"),
        duration_ms=_length(body) or DEFAULT_MUSIC_MS,
        audio=False,
        prompt=prompt,
        plan=_plan(body, "source_composition_plan"),
    )


def _form(form: Any) -> Form:
    if not isinstance(form, Form):  # the pipeline gives a Form to a multipart surface
        raise bad_request("Expected a multipart/form-data body")
    return form


def _files(form: Form, name: str) -> list[Upload]:
    """The files sent as `name`: at least one, or the 422 of a missing field."""
    files = [upload for upload in form.files if upload.name == name]
    if not files:
        given = form.get(name) is not None
        raise _invalid(
            name,
            "Expected UploadFile, received: <class 'str'>" if given else "Field required",
            "value_error" if given else "missing",
        )
    return files


def _form_flag(form: Form, name: str) -> bool:
    value = (form.get(name) or "").lower()
    if value not in ("", "true", "false", "1", "0"):
        raise _invalid(name, "Input should be a valid boolean", "bool_parsing")
    return value in ("true", "1")


def _uploaded_ms(data: bytes) -> int:
    """How long an uploaded song lasts: a WAV's length, the mock's own MP3 frames' count, else
    the default length."""
    seconds = wav_duration(data)
    if seconds is not None:
        return round(seconds * 1000)
    if data.startswith(MP3_HEADER) and len(data) % MP3_FRAME_BYTES == 0:
        return len(data) // MP3_FRAME_BYTES * MP3_FRAME_MS
    return DEFAULT_MUSIC_MS


def parse_upload(form: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    """`/v1/music/upload`: a song (`file`), matched on `inputText` (`file=<name>
    sha256=<hex>`); its plan, word timestamps and waveform when asked."""
    del params
    form = _form(form)
    upload = _files(form, "file")[0]
    extract = form.get("extract_composition_plan") or "false"
    if extract not in ("true", "false", *PLAN_MODELS):
        raise _invalid(
            "extract_composition_plan",
            "Input should be a valid boolean or one of " + ", ".join(PLAN_MODELS),
            "enum",
        )
    model = "music_v1" if extract == "true" else extract
    return _music(
        context,
        None,
        model=model if extract != "false" else None,
        duration_ms=_uploaded_ms(upload.data),
        inputs=(f"file={upload.filename}", f"sha256={upload.sha256}"),
        audio=False,
        song=upload.sha256,
        extract=extract != "false",
        timestamps=_form_flag(form, "with_timestamps"),
        waveform=_form_flag(form, "with_waveform_visual"),
    )


def parse_stems(form: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    """`/v1/music/stem-separation`: a song (`file`) split into the stems of
    `stem_variation_id`, answered as a zip of one audio file a stem."""
    del params
    form = _form(form)
    upload = _files(form, "file")[0]
    variation = form.get("stem_variation_id") or "six_stems_v1"
    if variation not in STEMS:
        raise _invalid(
            "stem_variation_id", "Input should be " + " or ".join(map(repr, STEMS)), "enum"
        )
    _form_flag(form, "sign_with_c2pa")
    return _music(
        context,
        None,
        model=None,
        duration_ms=_uploaded_ms(upload.data),
        inputs=(f"file={upload.filename}", f"sha256={upload.sha256}", f"stems={variation}"),
        tracks=STEMS[variation],
    )


def parse_video_music(
    form: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    """`/v1/music/video-to-music`: music for the videos (`videos`, up to ten), matched on the
    `description` and on `inputText` (`file=<name>` a video, `tag=<tag>` a tag)."""
    del params
    form = _form(form)
    videos = _files(form, "videos")
    if len(videos) > MAX_VIDEOS:
        raise _invalid("videos", f"At most {MAX_VIDEOS} videos are taken", "too_long")
    description = form.get("description") or None
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise _invalid(
            "description", f"At most {MAX_DESCRIPTION} characters are taken", "string_too_long"
        )
    tags = form.getall("tags")
    if len(tags) > MAX_TAGS:
        raise _invalid("tags", f"At most {MAX_TAGS} tags are taken", "too_long")
    for name in ("add_sfx", "use_audio_as_reference", "sign_with_c2pa"):
        _form_flag(form, name)
    separate = _form_flag(form, "separate_tracks")
    return _music(
        context,
        description,
        model=form.get("model_id") or None,
        duration_ms=DEFAULT_MUSIC_MS,
        inputs=(*(f"file={video.filename}" for video in videos), *(f"tag={t}" for t in tags)),
        tracks=("music", "sfx") if separate else (),
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
    """The audio; generated tracks (stems, video-to-music's `separate_tracks`) as a zip of one
    file a track. A fixture's own audio goes out as given, whatever the route."""
    del options
    audio = audio_for(request, reply)
    tracks: Sequence[str] = request.extras.get("tracks") or ()
    if not tracks or reply.extension(GivenAudio) is not None:
        return RawBody(audio.data, audio.content_type)
    extension = EXTENSIONS[audio.content_type]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for track in tracks:
            archive.writestr(zipfile.ZipInfo(f"{track}.{extension}", ZIP_TIME), audio.data)
    return RawBody(buffer.getvalue(), "application/zip")


def _styles(prompt: str) -> list[str]:
    """A prompt's first few words of four letters or more: the generated plan's styles."""
    words = dict.fromkeys(re.findall(r"[a-z][a-z-]{3,}", prompt.lower()))
    return list(words)[:4] or ["instrumental"]


def generated_plan(prompt: str, length_ms: int, model: str) -> dict[str, Any]:
    """A composition plan for `prompt`, `length_ms` long: sections of at most two minutes
    (`music_v1`), or chunks (`music_v2*`), the same for the same prompt."""
    styles = _styles(prompt)
    count = max(1, min(len(SECTION_NAMES), length_ms // 15_000))
    share = length_ms // count
    durations = [share] * (count - 1) + [length_ms - share * (count - 1)]
    named = zip(SECTION_NAMES, durations, strict=False)
    if model.startswith("music_v2"):
        return {
            "chunks": [
                {"text": f"[{name}]", "duration_ms": ms, "positive_styles": styles}
                for name, ms in named
            ]
        }
    return {
        "positive_global_styles": styles,
        "negative_global_styles": [],
        "sections": [
            {
                "section_name": name,
                "positive_local_styles": [],
                "negative_local_styles": [],
                "duration_ms": ms,
                "lines": [],
            }
            for name, ms in named
        ],
    }


def _given_plan(reply: Reply) -> dict[str, Any] | None:
    """A fixture's `content` when it is a composition plan (a JSON object)."""
    if not reply.content:
        return None
    try:
        plan = orjson.loads(reply.content)
    except orjson.JSONDecodeError:
        return None
    return plan if isinstance(plan, dict) else None


def plan_for(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    """The request's own plan, else the fixture's, else one generated for the prompt."""
    plan: dict[str, Any] | None = request.extras.get("plan") or _given_plan(reply)
    if plan is not None:
        return plan
    length = int(request.extras.get("duration_ms") or DEFAULT_MUSIC_MS)
    return generated_plan(str(request.extras.get("prompt") or ""), length, request.model)


def _lyrics(part: Mapping[str, Any]) -> list[str]:
    """The words sung in a section (its `lines`) or a chunk (its `text`, without the
    `[section]` names and `{directions}`)."""
    lines = part.get("lines")
    if not isinstance(lines, list):
        text = part.get("text")
        lines = text.splitlines() if isinstance(text, str) else []
    sung = (line for line in lines if isinstance(line, str))
    return re.sub(r"\[[^\]]*\]|\{[^}]*\}", " ", " ".join(sung)).split()


def words_timestamps(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each sung word with its start and end, spread evenly over its section."""
    words: list[dict[str, Any]] = []
    start = 0
    for part in _parts(plan):
        length, sung = _part_ms(part), _lyrics(part)
        for i, word in enumerate(sung):
            words.append(
                {
                    "word": word,
                    "start_ms": start + length * i // len(sung),
                    "end_ms": start + length * (i + 1) // len(sung),
                }
            )
        start += length
    return words


def song_metadata(prompt: str, plan: Mapping[str, Any]) -> dict[str, Any]:
    parts = _parts(plan)
    styles = plan.get("positive_global_styles") or (
        parts[0].get("positive_styles") if parts else []
    )
    listed = styles if isinstance(styles, list) else []
    genres = [style for style in listed if isinstance(style, str)][:3]
    title = " ".join(prompt.split()[:4]).title() or (genres[0].title() if genres else "Untitled")
    return {
        "title": title,
        "description": prompt[:200] or None,
        "genres": genres,
        "languages": ["en"] if any(_lyrics(part) for part in parts) else [],
        "is_explicit": False,
    }


def metadata_for(request: CanonicalRequest, reply: Reply) -> dict[str, Any]:
    """The detailed routes' metadata: the plan, the song's metadata, and the word timestamps
    and waveform when asked."""
    plan = plan_for(request, reply)
    metadata: dict[str, Any] = {
        "composition_plan": plan,
        "song_metadata": song_metadata(str(request.extras.get("prompt") or ""), plan),
    }
    if request.extras.get("timestamps"):
        metadata["words_timestamps"] = words_timestamps(plan)
    if request.extras.get("waveform"):
        # Four values a second of audio, from -1000 to 1000: the generated audio is quiet.
        quarter_seconds = math.ceil(int(request.extras.get("duration_ms") or 0) / 250)
        metadata["waveform_visual"] = [0] * quarter_seconds
    return metadata


def render_detailed(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> RawBody:
    """multipart/mixed: a JSON part (the metadata, one line) then the audio part, with its file
    name, as ElevenLabs answers `/v1/music/detailed` and its SDKs parse it."""
    del options
    metadata, audio = metadata_for(request, reply), audio_for(request, reply)
    head = orjson.dumps(metadata)
    boundary = hashlib.sha256(head + audio.data).hexdigest()[:32]  # never inside what it parts
    title = metadata["song_metadata"]["title"]
    name = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "song"
    extension = EXTENSIONS.get(audio.content_type, "bin")
    body = b"".join(
        (
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(),
            head,
            f"\r\n--{boundary}\r\nContent-Type: {audio.content_type}\r\n".encode(),
            f'Content-Disposition: attachment; filename="{name}.{extension}"\r\n\r\n'.encode(),
            audio.data,
            f"\r\n--{boundary}--\r\n".encode(),
        )
    )
    return RawBody(body, f"multipart/mixed; boundary={boundary}")


def stream_detailed(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> Iterator[Event]:
    """Server-sent events, each `data: {"event", "data"}`: the plan, the song's metadata, the
    audio in base64 pieces, the word timestamps when asked, then the completion."""
    del options
    metadata, audio = metadata_for(request, reply), audio_for(request, reply)
    yield Event({"event": "composition_plan", "data": metadata["composition_plan"]})
    yield Event({"event": "song_metadata", "data": metadata["song_metadata"]})
    for start in range(0, len(audio.data), AUDIO_CHUNK_BYTES):
        piece = base64.b64encode(audio.data[start : start + AUDIO_CHUNK_BYTES]).decode("ascii")
        yield Event({"event": "audio_chunk", "data": piece}, tokens=1)
    if "words_timestamps" in metadata:
        yield Event({"event": "word_timestamps", "data": metadata["words_timestamps"]})
    yield Event({"event": "completion", "data": {"message": "Stream ended successfully."}})


def collapse_detailed(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded detailed stream back into its audio, and its plan as the content (which the
    plan and detailed routes answer again)."""
    audio: list[bytes] = []
    plan: Any = None
    for _, data in events:
        if not isinstance(data, dict):
            continue
        if data.get("event") == "audio_chunk":
            audio.append(_decoded(data.get("data")))
        elif data.get("event") == "composition_plan":
            plan = data.get("data")
    sound = b"".join(audio)
    return Reply(
        kind="audio",
        content=orjson.dumps(plan).decode() if isinstance(plan, dict) else None,
        extensions=extensions(GivenAudio(sound, sniffed_type(sound))),
    )


def render_plan(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any] | RawBody:
    """A fixture's `content` as the body, as given (AIMock's); else a generated plan."""
    del options
    if reply.content:
        return RawBody(reply.content.encode(), JSON_TYPE)
    return plan_for(request, reply)


def render_upload(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any]:
    """The uploaded song's id (from its bytes), and what was asked of it."""
    del options
    metadata = metadata_for(request, reply)
    return {
        "song_id": _song_id(str(request.extras.get("song"))),
        "composition_plan": metadata["composition_plan"] if request.extras["extract"] else None,
        "words_timestamps": metadata.get("words_timestamps"),
        "waveform_visual": metadata.get("waveform_visual"),
    }


def _song_id(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:20]


def song_header(request: CanonicalRequest) -> Mapping[str, str]:
    """The `song-id` a composed song is known by (the same for the same request)."""
    seed = f"{request.model}|{request.last_user_text}|{request.extras.get('duration_ms')}"
    return {"song-id": _song_id(seed)}


def stream_audio(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> Iterator[Event]:
    """The `/stream` routes: the audio's bytes as they are made (chunked)."""
    del options
    return pieces(audio_for(request, reply))


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


def _decoded(piece: Any) -> bytes:
    """A recorded event's base64 audio, or nothing when it is not base64."""
    if isinstance(piece, str):
        with contextlib.suppress(binascii.Error, ValueError):
            return base64.b64decode(piece)
    return b""


def collapse_timestamps(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded timestamps stream back into its audio and its text (record mode)."""
    audio: list[bytes] = []
    text: list[str] = []
    for _, data in events:
        if not isinstance(data, dict):
            continue
        audio.append(_decoded(data.get("audio_base64")))
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
    framing: Framing = "ndjson",
    headers: SuccessHeaders | None = None,
    body: BodyKind = "json",
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
        framing=framing,
        fallback=fallback,
        headers=headers,
        body=body,
    )


SPEECH_PATH = "/v1/text-to-speech/{voice_id}"
SURFACES = (
    _surface(TTS, SPEECH_PATH, parse_speech, render_audio, endpoint="elevenlabs-tts"),
    _surface(
        TTS,
        SPEECH_PATH + "/stream",
        parse_speech_stream,
        render_audio,
        stream=stream_audio,
        collapse=collapse_pieces,
        framing="raw",
        endpoint="elevenlabs-tts",
    ),
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
    *(
        _surface(MUSIC, path, parse_music, render, endpoint="audio-gen", headers=song_header)
        for path, render in (
            ("/v1/music", render_audio),
            ("/v1/music/detailed", render_detailed),
        )
    ),
    _surface(
        MUSIC,
        "/v1/music/stream",
        parse_music_stream,
        render_audio,
        stream=stream_audio,
        collapse=collapse_pieces,
        framing="raw",
        endpoint="audio-gen",
        headers=song_header,
    ),
    _surface(
        MUSIC,
        "/v1/music/detailed/stream",
        parse_music_stream,
        render_detailed,
        stream=stream_detailed,
        collapse=collapse_detailed,
        endpoint="audio-gen",
        framing="sse",
        headers=song_header,
    ),
    _surface(MUSIC, "/v1/music/plan", parse_plan, render_plan, endpoint="audio-gen"),
    *(
        _surface(MUSIC, path, parse, render, endpoint="audio-gen", body="multipart")
        for path, parse, render in (
            ("/v1/music/upload", parse_upload, render_upload),
            ("/v1/music/stem-separation", parse_stems, render_audio),
            ("/v1/music/video-to-music", parse_video_music, render_audio),
        )
    ),
    # AIMock answers every other `POST /v1/music/<anything>` with audio, as `/v1/music` does:
    # so does this (last: the routes above are matched first).
    _surface(
        MUSIC,
        "/v1/music/{route:.+}",
        parse_music,
        render_audio,
        endpoint="audio-gen",
        headers=song_header,
    ),
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


def _previews(description: str, text: Any, seed: str) -> dict[str, Any]:
    """Three previews of the described voice (silent MPEG audio of the preview text), their
    ids derived from `seed`: the same for the same request."""
    spoken = text if isinstance(text, str) and text else f"A voice that is {description[:200]}."
    digest = hashlib.sha256(seed.encode()).hexdigest()
    audio = base64.b64encode(mp3_silence(len(spoken) * MS_PER_CHARACTER)).decode("ascii")
    seconds = round(len(spoken) * MS_PER_CHARACTER / 1000, 2)
    previews = [
        {
            "audio_base_64": audio,
            "generated_voice_id": digest[i * 8 : i * 8 + 20],
            "media_type": "audio/mpeg",
            "duration_secs": seconds,
            "language": "en",
        }
        for i in range(3)
    ]
    return {"previews": previews, "text": spoken}


async def design_voice(request: web.Request, view: ServerView) -> web.StreamResponse:
    """Three previews of a voice the description asks for, the same for the same one."""
    body = await _body(request, view)
    description = _required_text(body, "voice_description")
    return json_response(_previews(description, body.get("text"), description))


async def remix_voice(request: web.Request, view: ServerView) -> web.StreamResponse:
    """Three previews of a known voice changed as the description asks, as design answers."""
    voice_id = request.match_info["voice_id"]
    body = await _body(request, view)
    description = _required_text(body, "voice_description")
    if not any(voice["voice_id"] == voice_id for voice in _all_voices(view)):
        return _unknown_voice(voice_id)
    return json_response(_previews(description, body.get("text"), f"{voice_id}|{description}"))


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
        PlainRoute(
            "elevenlabs.voices",
            PROVIDER_NAME,
            "POST",
            "/v1/text-to-voice/{voice_id}/remix",
            remix_voice,
            ERRORS,
        ),
    ),
    # The SDK reads its key from the environment; its base URL is `ElevenLabs(base_url=...)`.
    environment={"ELEVENLABS_API_KEY": "aimock"},
    extensions=(given_audio,),
)
