"""OpenAI audio: `POST /v1/audio/speech`, `/v1/audio/transcriptions`, `/v1/audio/translations`.

Speech (endpoint kind `speech`) answers audio for the request's `input`, which is what
`userMessage` matches: a fixture's `audio` (base64) and `format` go out as given; otherwise
(a fixture without audio, or a miss when not strict) a quiet tone as long as the text takes to
say, in the requested `response_format`: a WAV file, raw 24 kHz PCM16, silent MPEG-1 Layer III
frames, or silent FLAC. Opus and AAC are not encoded (a 400 naming the format).
The audio streams as the API's does: its bytes as they are made, over chunked transfer
encoding (paced by the fixture's physics, a piece of `audio.PIECE_BYTES` a token), or with
`stream_format: sse` as `speech.audio.delta` events and a `speech.audio.done`.

Transcriptions and translations (kinds `transcription` and `translation`) take a
multipart/form-data upload (`Surface.body = "multipart"`). A fixture's `transcription: {text,
language?, languages?, duration?, usage?, words?, segments?}` answers; `userMessage` matches
the `prompt`, and `inputText` the request's `file=<name> sha256=<hex> language=<code>` (the
language only when given), so `inputText: "file=meeting.wav"` or `"language=fr"` picks a
fixture by upload or language. Every response format is rendered: json, text, srt, vtt and
verbose_json, whose words and segments are the fixture's or spread over the audio's duration
(the fixture's, else a WAV upload's, else the text's spoken length). `stream=true` streams
`transcript.text.delta` / `transcript.text.done` events for the models that stream; whisper-1
ignores it, as the API does.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aimock.canonical import CanonicalRequest, Message, RequestContext
from aimock.fixtures.compiled import Reply, extensions
from aimock.models.fixture import Fixture, Response
from aimock.multipart import Form, Upload
from aimock.providers import openai_base
from aimock.providers.audio import (
    MS_PER_CHARACTER,
    PCM_RATE,
    PIECE_BYTES,
    SPEECH_TYPES,
    GivenAudio,
    collapse_pieces,
    flac_silence,
    given_audio,
    mp3_silence,
    pieces,
    sniffed_type,
    tone,
    wav,
    wav_duration,
)
from aimock.providers.common import (
    estimate_tokens,
    expect_object,
    missing,
    not_blank,
    optional,
    require,
)
from aimock.surface import (
    ErrorInfo,
    Event,
    Framing,
    ProtocolError,
    Provider,
    RawBody,
    RenderOptions,
    Surface,
    bad_request,
)

# -- speech --------------------------------------------------------------------------------------

GENERATED = ("mp3", "wav", "pcm", "flac")  # the formats the mock encodes itself
MAX_INPUT_CHARS = 4096
# The models that cannot stream speech as events (the API's 400).
NO_SSE_MODELS = ("tts-1", "tts-1-hd")
# Bytes of audio a `speech.audio.delta` event carries: a raw piece's.
DELTA_BYTES = PIECE_BYTES


def parse_speech(body: Any, context: RequestContext, params: Mapping[str, str]) -> CanonicalRequest:
    del params
    body = expect_object(body)
    model = not_blank(require(body, "model", str, "a string"), "model")
    text = not_blank(require(body, "input", str, "a string"), "input")
    if len(text) > MAX_INPUT_CHARS:
        raise bad_request(
            f"Invalid 'input': string too long. Expected a string with maximum length "
            f"{MAX_INPUT_CHARS}, but got a string with length {len(text)} instead.",
            param="input",
            code="string_above_max_length",
        )
    voice = require(body, "voice", (str, dict), "a string or an object")
    if isinstance(voice, dict):
        voice = voice.get("id")
        if not isinstance(voice, str) or not voice:
            raise bad_request("Invalid 'voice': an object needs a string 'id'.", param="voice")
    fmt = optional(body, "response_format", str, "a string") or "mp3"
    if fmt not in SPEECH_TYPES:
        raise _not_one_of("response_format", fmt, tuple(SPEECH_TYPES))
    speed = optional(body, "speed", (int, float), "a number")
    if speed is None:
        speed = 1.0
    if isinstance(speed, bool) or not 0.25 <= speed <= 4.0:
        raise bad_request(
            "Invalid 'speed': it must be between 0.25 and 4.0.", param="speed", code="invalid_value"
        )
    stream_format = optional(body, "stream_format", str, "a string") or "audio"
    if stream_format not in ("sse", "audio"):
        raise _not_one_of("stream_format", stream_format, ("sse", "audio"))
    if stream_format == "sse" and model in NO_SSE_MODELS:
        raise bad_request(
            f"stream_format 'sse' is not supported for {model}.",
            param="stream_format",
            code="unsupported_value",
        )
    optional(body, "instructions", str, "a string")
    return CanonicalRequest(
        surface="openai.speech",
        provider="openai",
        endpoint="speech",
        model=model,
        context=context,
        messages=(Message("user", text),),
        # Speech always streams: raw bytes, or events when `stream_format` is sse.
        stream=True,
        inputs=(f"voice={voice}", f"format={fmt}"),
        response_format=fmt,
        extras={
            "format": fmt,
            "speed": float(speed),
            "voice": voice,
            "sse": stream_format == "sse",
        },
    )


def speech_audio(request: CanonicalRequest, reply: Reply) -> GivenAudio:
    """The answer's audio: the fixture's own, else the tone for the text in the format."""
    given = reply.extension(GivenAudio)
    if given is not None:
        return given
    fmt = str(request.extras.get("format", "mp3"))
    if fmt not in GENERATED:
        raise bad_request(
            f"The mock does not encode '{fmt}' audio: ask for one of {list(GENERATED)}, or "
            f"give the fixture's own audio (`audio` base64 and `format: {fmt}`).",
            param="response_format",
            code="unsupported_value",
        )
    text = reply.content or request.last_user_text or ""
    speed = float(request.extras.get("speed", 1.0))
    ms = len(text) * MS_PER_CHARACTER / speed
    if fmt == "mp3":
        data = mp3_silence(ms)
    elif fmt == "flac":
        data = flac_silence(ms)
    else:
        pcm = tone(ms)
        data = wav(pcm, PCM_RATE) if fmt == "wav" else pcm
    return GivenAudio(data, SPEECH_TYPES[fmt])


def render_speech(request: CanonicalRequest, reply: Reply, options: RenderOptions) -> RawBody:
    del options
    audio = speech_audio(request, reply)
    return RawBody(audio.data, audio.content_type)


def speech_framing(request: CanonicalRequest) -> Framing:
    return "sse" if request.extras.get("sse") else "raw"


def stream_speech(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> Iterator[Event]:
    del options
    audio = speech_audio(request, reply)
    data = audio.data
    if not request.extras.get("sse"):
        yield from pieces(audio)
        return
    for start in range(0, len(data), DELTA_BYTES):
        piece = base64.b64encode(data[start : start + DELTA_BYTES]).decode("ascii")
        yield Event({"type": "speech.audio.delta", "audio": piece}, tokens=1)
    text = request.last_user_text
    prompt = reply.input_tokens if reply.input_tokens is not None else estimate_tokens(text)
    output = reply.output_tokens if reply.output_tokens is not None else len(data) // 1000 + 1
    usage = {"input_tokens": prompt, "output_tokens": output, "total_tokens": prompt + output}
    yield Event({"type": "speech.audio.done", "usage": usage})


def collapse_speech(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded speech stream (raw bytes, or `sse` events) back into its audio (record
    mode)."""
    if any(isinstance(data, bytes) for _, data in events):
        return collapse_pieces(events)
    found = []
    for _, data in events:
        if isinstance(data, dict) and data.get("type") == "speech.audio.delta":
            audio = data.get("audio")
            if isinstance(audio, str):
                with contextlib.suppress(binascii.Error, ValueError):
                    found.append(base64.b64decode(audio))
    audio = b"".join(found)
    return Reply(kind="audio", extensions=extensions(GivenAudio(audio, sniffed_type(audio))))


def fallback_speech(request: CanonicalRequest) -> Reply:
    """A miss, when not strict: the tone for the input (deterministic)."""
    del request
    return Reply(kind="audio")


# -- transcriptions and translations ---------------------------------------------------------

TRANSCRIPTION_FORMATS = ("json", "text", "srt", "verbose_json", "vtt", "diarized_json")
TRANSLATION_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
# The file types the API takes, by the upload's extension (its own 400 lists them).
FILE_TYPES = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
MAX_FILE_BYTES = 25 * 1024 * 1024  # the API's limit, 413 past it
MAX_GRANULARITIES = 2
# Models that stream transcript events; whisper-1 ignores `stream`.
STREAMING_PREFIXES = ("gpt-4o", "gpt-transcribe")
LANGUAGES = {
    "en": "english",
    "fr": "french",
    "de": "german",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "ja": "japanese",
    "zh": "chinese",
    "ko": "korean",
    "ru": "russian",
    "ar": "arabic",
    "hi": "hindi",
    "pl": "polish",
    "sv": "swedish",
    "tr": "turkish",
    "uk": "ukrainian",
}


@dataclass(frozen=True)
class TranscriptionPart:
    """A fixture's `transcription` (AIMock's shape, given as it is)."""

    text: str = ""
    language: str | None = None
    languages: Any = None
    duration: float | None = None
    usage: Any = None
    words: Any = None
    segments: Any = None

    def fixture_fields(self) -> Mapping[str, Any]:
        """What a recording writes back (`recording.files.Recordable`)."""
        given = {
            "text": self.text,
            "language": self.language,
            "languages": self.languages,
            "duration": self.duration,
            "usage": self.usage,
            "words": self.words,
            "segments": self.segments,
        }
        return {"transcription": {k: v for k, v in given.items() if v is not None}}


def transcription_part(fixture: Fixture | None, response: Response) -> TranscriptionPart | None:
    given = response.transcription
    if not isinstance(given, dict) or not isinstance(given.get("text"), str):
        return None
    return _part_of(given)


def _part_of(given: Mapping[str, Any]) -> TranscriptionPart:
    """A transcript's parts beside its text (a fixture's `transcription`, or a recorded
    answer)."""
    duration = given.get("duration")
    language = given.get("language")
    return TranscriptionPart(
        text=str(given.get("text") or ""),
        language=language if isinstance(language, str) else None,
        languages=given.get("languages"),
        duration=float(duration)
        if isinstance(duration, int | float) and not isinstance(duration, bool)
        else None,
        usage=given.get("usage"),
        words=given.get("words") if isinstance(given.get("words"), list) else None,
        segments=given.get("segments") if isinstance(given.get("segments"), list) else None,
    )


def _parse_audio(form: Any, context: RequestContext, *, translate: bool) -> CanonicalRequest:
    if not isinstance(form, Form):  # the pipeline gives a Form to a multipart surface
        raise bad_request("Expected a multipart/form-data body")
    upload = _upload(form)
    model = form.get("model")
    if not model:
        raise missing("model")
    formats = TRANSLATION_FORMATS if translate else TRANSCRIPTION_FORMATS
    fmt = form.get("response_format") or "json"
    if fmt not in formats:
        raise _not_one_of("response_format", fmt, formats)
    _compatible(model, fmt)
    granularities = form.getall("timestamp_granularities[]") or form.getall(
        "timestamp_granularities"
    )
    if len(granularities) > MAX_GRANULARITIES or any(
        g not in ("word", "segment") for g in granularities
    ):
        raise bad_request(
            "Invalid 'timestamp_granularities': each must be 'word' or 'segment'.",
            param="timestamp_granularities",
            code="invalid_value",
        )
    if granularities and fmt != "verbose_json":
        raise bad_request(
            "timestamp_granularities is only supported with response_format 'verbose_json'.",
            param="timestamp_granularities",
            code="invalid_value",
        )
    temperature = form.get("temperature")
    if temperature is not None:
        try:
            ok = 0.0 <= float(temperature) <= 1.0
        except ValueError:
            ok = False
        if not ok:
            raise bad_request(
                "Invalid 'temperature': expected a number between 0 and 1.",
                param="temperature",
                code="invalid_value",
            )
    language = None if translate else form.get("language") or None
    stream = _flag(form.get("stream"), "stream") and not translate
    prompt = form.get("prompt") or None
    inputs = [f"file={upload.filename}", f"sha256={upload.sha256}"]
    if language:
        inputs.append(f"language={language}")
    return CanonicalRequest(
        surface="openai.translations" if translate else "openai.transcriptions",
        provider="openai",
        endpoint="translation" if translate else "transcription",
        model=model,
        context=context,
        messages=(Message("user", prompt),) if prompt else (),
        stream=stream and model.startswith(STREAMING_PREFIXES),
        inputs=tuple(inputs),
        response_format=fmt,
        extras={
            "format": fmt,
            "language": language,
            "granularities": tuple(granularities),
            "duration": wav_duration(upload.data),
            "translate": translate,
        },
    )


def _upload(form: Form) -> Upload:
    upload = form.file("file")
    if upload is None:
        if form.get("file") is not None:
            raise bad_request(
                "Invalid 'file': expected a file upload, got a text field.",
                param="file",
                code="invalid_type",
            )
        raise missing("file")
    if len(upload.data) > MAX_FILE_BYTES:
        raise ProtocolError(
            ErrorInfo(
                413,
                f"Maximum content size limit ({MAX_FILE_BYTES}) exceeded "
                f"({len(upload.data)} bytes read)",
                type="invalid_request_error",
                param="file",
                code="file_too_large",
            )
        )
    extension = upload.filename.rpartition(".")[2].lower() if "." in upload.filename else ""
    if extension not in FILE_TYPES:
        raise bad_request(
            f"Invalid file format. Supported formats: {list(FILE_TYPES)}",
            param="file",
            code="invalid_value",
        )
    return upload


def _compatible(model: str, fmt: str) -> None:
    if fmt == "diarized_json":
        raise bad_request(
            "The mock does not diarize: response_format 'diarized_json' is not supported.",
            param="response_format",
            code="unsupported_value",
        )
    if model.startswith(STREAMING_PREFIXES) and fmt not in ("json", "text"):
        raise bad_request(
            f"response_format '{fmt}' is not compatible with model '{model}'. "
            "Use 'json' or 'text'.",
            param="response_format",
            code="unsupported_value",
        )


def _flag(value: str | None, param: str) -> bool:
    if value is None or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise bad_request(f"Invalid '{param}': expected a boolean.", param=param, code="invalid_type")


def parse_transcription(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    del params
    return _parse_audio(body, context, translate=False)


def parse_translation(
    body: Any, context: RequestContext, params: Mapping[str, str]
) -> CanonicalRequest:
    del params
    return _parse_audio(body, context, translate=True)


@dataclass(frozen=True)
class _Timed:
    text: str
    start: float
    end: float


def _duration(request: CanonicalRequest, reply: Reply, part: TranscriptionPart | None) -> float:
    if part is not None and part.duration is not None:
        return part.duration
    measured = request.extras.get("duration")
    if isinstance(measured, float):
        return round(measured, 3)
    return round(max(len(reply.content or ""), 1) * MS_PER_CHARACTER / 1000, 3)


def _words(text: str, duration: float) -> list[_Timed]:
    """The words of `text` spread over `duration`, each as long as its letters."""
    words = text.split()
    total = sum(len(word) for word in words) or 1
    out, at = [], 0.0
    for word in words:
        end = at + duration * len(word) / total
        out.append(_Timed(word, round(at, 2), round(end, 2)))
        at = end
    return out


def _segments(text: str, duration: float) -> list[_Timed]:
    """`text` in sentences, each spanning its words' time."""
    words = _words(text, duration)
    out: list[_Timed] = []
    index = 0
    for sentence in re.findall(r"[^.!?]+[.!?]*", text):
        count = len(sentence.split())
        if not count:
            continue
        mine = words[index : index + count]
        index += count
        out.append(_Timed(" " + sentence.strip(), mine[0].start, mine[-1].end))
    return out


def _segment_json(i: int, segment: _Timed) -> dict[str, Any]:
    return {
        "id": i,
        "seek": 0,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "tokens": [50364 + n for n in range(len(segment.text.split()))],
        "temperature": 0.0,
        "avg_logprob": -0.25,
        "compression_ratio": 1.0,
        "no_speech_prob": 0.01,
    }


def _given_segments(part: TranscriptionPart | None) -> list[_Timed] | None:
    if part is None or part.segments is None:
        return None
    found = []
    for item in part.segments:
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            start, end = item.get("start", 0), item.get("end", 0)
            if isinstance(start, int | float) and isinstance(end, int | float):
                found.append(_Timed(item["text"], float(start), float(end)))
    return found


def _clock(seconds: float, separator: str) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _subtitles(segments: list[_Timed], vtt: bool) -> str:
    blocks = ["WEBVTT\n"] if vtt else []
    for i, segment in enumerate(segments, 1):
        sep = "." if vtt else ","
        timing = f"{_clock(segment.start, sep)} --> {_clock(segment.end, sep)}"
        text = segment.text.strip()
        blocks.append(f"{timing}\n{text}\n" if vtt else f"{i}\n{timing}\n{text}\n")
    return "\n".join(blocks) + "\n"


def _usage(request: CanonicalRequest, reply: Reply, part: TranscriptionPart | None) -> Any:
    if part is not None and part.usage is not None:
        return part.usage
    duration = _duration(request, reply, part)
    if not request.model.startswith(STREAMING_PREFIXES):
        return {"type": "duration", "seconds": max(1, math.ceil(duration))}
    audio = reply.input_tokens if reply.input_tokens is not None else max(1, round(duration * 10))
    output = (
        reply.output_tokens if reply.output_tokens is not None else estimate_tokens(reply.content)
    )
    return {
        "type": "tokens",
        "input_tokens": audio,
        "input_token_details": {"text_tokens": 0, "audio_tokens": audio},
        "output_tokens": output,
        "total_tokens": audio + output,
    }


def render_transcription(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> dict[str, Any] | RawBody:
    del options
    part = reply.extension(TranscriptionPart)
    text = reply.content or ""
    fmt = request.extras.get("format", "json")
    translate = bool(request.extras.get("translate"))
    if fmt == "text":
        return RawBody((text + "\n").encode(), "text/plain")
    duration = _duration(request, reply, part)
    segments = _given_segments(part) or _segments(text, duration)
    if fmt in ("srt", "vtt"):
        return RawBody(_subtitles(segments, fmt == "vtt").encode(), "text/plain")
    if fmt == "verbose_json":
        return _verbose(request, reply, part=part, text=text, duration=duration, segments=segments)
    body: dict[str, Any] = {"text": text}
    if translate:
        return body
    if part is not None and part.languages is not None:
        body["languages"] = part.languages
    body["usage"] = _usage(request, reply, part)
    return body


def _verbose(
    request: CanonicalRequest,
    reply: Reply,
    *,
    part: TranscriptionPart | None,
    text: str,
    duration: float,
    segments: list[_Timed],
) -> dict[str, Any]:
    translate = bool(request.extras.get("translate"))
    asked = request.extras.get("language")
    language = (
        "english"
        if translate
        else (part.language if part is not None and part.language else None)
        or LANGUAGES.get(str(asked), str(asked) if asked else "english")
    )
    body: dict[str, Any] = {
        "task": "translate" if translate else "transcribe",
        "language": language,
        "duration": duration,
        "text": text,
    }
    granularities = request.extras.get("granularities") or ("segment",)
    if "word" in granularities:
        given = part.words if part is not None else None
        body["words"] = given or [
            {"word": w.text, "start": w.start, "end": w.end} for w in _words(text, duration)
        ]
    if "segment" in granularities:
        given = part.segments if part is not None else None
        body["segments"] = given or [_segment_json(i, s) for i, s in enumerate(segments)]
    if not translate:
        body["usage"] = _usage(request, reply, part)
    return body


def stream_transcription(
    request: CanonicalRequest, reply: Reply, options: RenderOptions
) -> Iterator[Event]:
    part = reply.extension(TranscriptionPart)
    text = reply.content or ""
    size = max(1, options.chunk_size)
    for start in range(0, len(text), size):
        piece = text[start : start + size]
        yield Event(
            {"type": "transcript.text.delta", "delta": piece}, tokens=estimate_tokens(piece)
        )
    done: dict[str, Any] = {"type": "transcript.text.done", "text": text}
    if part is not None and part.languages is not None:
        done["languages"] = part.languages
    done["usage"] = _usage(request, reply, part)
    yield Event(done)


def collapse_transcription(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded transcript stream back into its text (record mode)."""
    deltas: list[str] = []
    for _, data in events:
        if not isinstance(data, dict):
            continue
        if data.get("type") == "transcript.text.done" and isinstance(data.get("text"), str):
            return Reply(kind="transcription", content=data["text"])
        if data.get("type") == "transcript.text.delta" and isinstance(data.get("delta"), str):
            deltas.append(data["delta"])
    return Reply(kind="transcription", content="".join(deltas))


_CUE_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})[.,](\d{3})")


def _seconds(stamp: str) -> float:
    found = _CUE_TIME.fullmatch(stamp.strip())
    if found is None:
        raise ValueError(f"not a cue time: {stamp[:40]!r}")
    hours, minutes, secs, ms = (int(group) for group in found.groups())
    return hours * 3600 + minutes * 60 + secs + ms / 1000


def _cues(document: str) -> list[dict[str, Any]]:
    """The cues of SRT or WebVTT subtitles as segments (`text`, `start`, `end`)."""
    segments = []
    for block in re.split(r"\n\s*\n", document.replace("\r\n", "\n")):
        lines = [line for line in block.strip().splitlines() if line.strip()]
        timed = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timed is None:
            continue  # the WEBVTT header, a NOTE
        start, _, end = lines[timed].partition("-->")
        text = " ".join(lines[timed + 1 :])
        segments.append(
            {"text": " " + text, "start": _seconds(start), "end": _seconds(end.split()[0])}
        )
    return segments


def decode_transcription(body: Any) -> Reply:
    """A whole transcript back into a fixture's `transcription` (record mode): json and
    verbose_json as they are, text as its text, srt and vtt as their cues' text and times."""
    if isinstance(body, RawBody):
        document = body.data.decode("utf-8")
        if "-->" not in document:
            return Reply(kind="transcription", content=document.removesuffix("\n"))
        segments = _cues(document)
        text = "".join(segment["text"] for segment in segments).strip()
        part = TranscriptionPart(
            text=text, segments=segments, duration=segments[-1]["end"] if segments else None
        )
        return Reply(kind="transcription", content=text, extensions=extensions(part))
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise ValueError("a transcript has a text")
    return Reply(kind="transcription", content=body["text"], extensions=extensions(_part_of(body)))


def _not_one_of(param: str, value: str, allowed: tuple[str, ...]) -> ProtocolError:
    return bad_request(
        f"Invalid value for '{param}': '{value}'. Supported values are: "
        + ", ".join(f"'{a}'" for a in allowed)
        + ".",
        param=param,
        code="invalid_value",
    )


SPEECH = Surface(
    name="openai.speech",
    provider="openai",
    endpoint="speech",
    method="POST",
    paths=openai_base.paths("/audio/speech"),
    parse=parse_speech,
    render=render_speech,
    errors=openai_base.ERRORS,
    stream=stream_speech,
    framing_for=speech_framing,
    collapse=collapse_speech,
    fallback=fallback_speech,
)

TRANSCRIPTIONS = Surface(
    name="openai.transcriptions",
    provider="openai",
    endpoint="transcription",
    method="POST",
    paths=openai_base.paths("/audio/transcriptions"),
    parse=parse_transcription,
    render=render_transcription,
    errors=openai_base.ERRORS,
    stream=stream_transcription,
    collapse=collapse_transcription,
    decode=decode_transcription,
    body="multipart",
)

TRANSLATIONS = Surface(
    name="openai.translations",
    provider="openai",
    endpoint="translation",
    method="POST",
    paths=openai_base.paths("/audio/translations"),
    parse=parse_translation,
    render=render_transcription,
    errors=openai_base.ERRORS,
    decode=decode_transcription,
    body="multipart",
)

PROVIDER = Provider(
    name="openai.audio",
    surfaces=(SPEECH, TRANSCRIPTIONS, TRANSLATIONS),
    extensions=(given_audio, transcription_part),
)
