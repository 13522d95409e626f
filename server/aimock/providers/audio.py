"""Deterministic audio for answers spoken over a socket: a quiet tone of 16-bit PCM.

Real speech cannot be mocked, but its shape can: the right encoding, sample rate and length,
so a client's decoder, buffers and playback timing run as they would. The tone is the same
for the same length, so recorded tests stay stable.
"""

from __future__ import annotations

import array
import base64
import binascii
import io
import math
import struct
import sys
import wave
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aimock.fixtures.compiled import Reply, extensions
from aimock.models.fixture import Fixture, Response
from aimock.surface import Event, RawBody

PCM_RATE = 24000  # OpenAI Realtime and Gemini Live's output rate, mono 16-bit little-endian
PITCH_HZ = 440.0
AMPLITUDE = 1200  # of 32767: audible, far from clipping
# The longest one answer's tone is (a fixture's text could be long): a minute.
MAX_MS = 60_000
_PERIOD: dict[int, bytes] = {}


def _period(rate: int) -> bytes:
    """One second of the tone at `rate`, computed once."""
    cached = _PERIOD.get(rate)
    if cached is None:
        samples = (
            round(AMPLITUDE * math.sin(2 * math.pi * PITCH_HZ * n / rate)) for n in range(rate)
        )
        cached = _PERIOD[rate] = struct.pack(f"<{rate}h", *samples)
    return cached


# Speech runs about 15 characters a second.
MS_PER_CHARACTER = 65


def spoken(text: str, rate: int = PCM_RATE) -> bytes:
    """The tone, as long as `text` takes to say."""
    return tone(len(text) * MS_PER_CHARACTER, rate)


def tone(ms: float, rate: int = PCM_RATE) -> bytes:
    """`ms` milliseconds of the tone (at most `MAX_MS`) as PCM16 little-endian mono."""
    count = int(min(max(ms, 0.0), MAX_MS) * rate / 1000)
    second = _period(rate)
    whole, rest = divmod(count * 2, len(second))
    return second * whole + second[:rest]


# -- voice activity, as a mock can tell it ------------------------------------------------------

FRAME_MS = 10
# A frame whose loudest sample passes this (of 32767) is speech: a quiet room's noise stays
# under it, the tone above and any voice go over.
SPEECH_PEAK = 500


@dataclass(frozen=True)
class Turning:
    """Speech started or stopped, at a point of the audio received so far."""

    started: bool
    at_ms: int


class VoiceDetector:
    """Server-side voice activity detection over PCM16 mono: 10 ms frames louder than
    `SPEECH_PEAK` are speech; `silence_ms` of quiet frames after speech end it. Positions are
    milliseconds of audio received, as the services count them."""

    def __init__(self, silence_ms: int, padding_ms: int = 0, rate: int = PCM_RATE) -> None:
        self.silence_ms = max(FRAME_MS, silence_ms)
        self.padding_ms = max(0, padding_ms)
        self.frame_bytes = rate * 2 * FRAME_MS // 1000
        self.position_ms = 0
        self.speaking = False
        self._quiet_ms = 0
        self._partial = b""

    def feed(self, pcm: bytes) -> list[Turning]:
        found: list[Turning] = []
        data = self._partial + pcm
        whole = len(data) - len(data) % self.frame_bytes
        self._partial = data[whole:]
        samples = array.array("h")
        samples.frombytes(data[:whole])
        if sys.byteorder == "big":
            samples.byteswap()
        step = self.frame_bytes // 2
        for start in range(0, len(samples), step):
            frame = samples[start : start + step]
            loud = max(frame) > SPEECH_PEAK or min(frame) < -SPEECH_PEAK
            if loud:
                self._quiet_ms = 0
                if not self.speaking:
                    self.speaking = True
                    found.append(Turning(True, max(0, self.position_ms - self.padding_ms)))
            elif self.speaking:
                self._quiet_ms += FRAME_MS
                if self._quiet_ms >= self.silence_ms:
                    self.speaking = False
                    found.append(Turning(False, self.position_ms + FRAME_MS))
            self.position_ms += FRAME_MS
        return found

    def end(self) -> Turning | None:
        """The audio stopped arriving: speech under way ends where the audio did."""
        if not self.speaking:
            return None
        self.speaking = False
        self._quiet_ms = 0
        return Turning(False, self.position_ms)

    def reset(self) -> None:
        self.speaking = False
        self._quiet_ms = 0
        self._partial = b""


# -- audio a fixture gives ----------------------------------------------------------------------


@dataclass(frozen=True)
class SpokenAudio:
    """The audio a fixture gives beside its text (`audio`, base64 PCM16 mono 24 kHz), spoken
    as it is by the realtime surfaces instead of the tone."""

    pcm: bytes


def spoken_audio(fixture: Fixture | None, response: Response) -> SpokenAudio | None:
    given = response.audio
    if not isinstance(given, str) or response.content is None:
        return None
    try:
        return SpokenAudio(base64.b64decode(given, validate=True))
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class Transcript:
    """What input audio says, from a fixture's `transcription: {text}` (AIMock's shape): a
    realtime surface's transcription of the audio a client committed."""

    text: str


def transcript_of(fixture: Fixture | None, response: Response) -> Transcript | None:
    given = response.transcription
    if isinstance(given, dict) and isinstance(given.get("text"), str):
        return Transcript(given["text"])
    return None


# -- audio files --------------------------------------------------------------------------------


def wav(pcm: bytes, rate: int = PCM_RATE) -> bytes:
    """PCM16 little-endian mono as a WAV file (RIFF, one `fmt ` and one `data` chunk)."""
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,  # mono
        rate,
        rate * 2,
        2,
        16,
        b"data",
        len(pcm),
    )
    return header + pcm


# An MPEG-1 Layer III frame, mono, 32 kbit/s at 48 kHz, no CRC: 1152 samples (24 ms) in
# 144 * 32000 / 48000 = 96 bytes, never padded. Its side information and main data are all
# zeros: no Huffman data, which every decoder plays as silence.
MP3_HEADER = bytes((0xFF, 0xFB, 0x14, 0xC0))
MP3_FRAME_BYTES = 96
MP3_FRAME_MS = 24
_MP3_FRAME = MP3_HEADER + bytes(MP3_FRAME_BYTES - len(MP3_HEADER))


def mp3_silence(ms: float) -> bytes:
    """`ms` milliseconds (at most `MAX_MS`, at least one frame) of silent MP3 frames."""
    frames = max(1, math.ceil(min(max(ms, 0.0), MAX_MS) / MP3_FRAME_MS))
    return _MP3_FRAME * frames


def wav_duration(data: bytes) -> float | None:
    """Seconds of audio a WAV file holds, or None when `data` is no WAV a reader takes."""
    try:
        with wave.open(io.BytesIO(data)) as reader:
            rate = reader.getframerate()
            return reader.getnframes() / rate if rate > 0 else None
    except (wave.Error, EOFError, ValueError, struct.error, OSError):
        return None


# FLAC: silence, 16-bit mono, in 4096-sample blocks whose one subframe is CONSTANT 0 (a few
# bytes a frame, so even a minute is cheap to checksum); each frame has its header CRC-8 and
# frame CRC-16. STREAMINFO leaves the MD5 and the frame sizes unknown (zero), as the format
# allows.
FLAC_BLOCK = 4096
_FLAC_RATE_CODES = {8000: 4, 16000: 5, 22050: 6, 24000: 7, 32000: 8, 44100: 9, 48000: 10}


def crc8(data: bytes) -> int:
    """FLAC's frame header CRC-8 (polynomial 0x07)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def crc16(data: bytes) -> int:
    """FLAC's frame CRC-16 (polynomial 0x8005)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def flac_silence(ms: float, rate: int = PCM_RATE) -> bytes:
    """`ms` milliseconds (at most `MAX_MS`) of silence as a FLAC file."""
    total = max(16, int(min(max(ms, 0.0), MAX_MS) * rate / 1000))
    block = min(FLAC_BLOCK, total)
    info = struct.pack(">HH", block, block) + bytes(6)  # frame sizes unknown
    info += ((rate << 44) | (0 << 41) | (15 << 36) | total).to_bytes(8, "big")
    info += bytes(16)  # MD5 unknown
    out = [b"fLaC", bytes((0x80, 0, 0, len(info))), info]
    for number, start in enumerate(range(0, total, FLAC_BLOCK)):
        count = min(FLAC_BLOCK, total - start)
        size_code = 12 if count == FLAC_BLOCK else 7
        head = bytes((0xFF, 0xF8, (size_code << 4) | _FLAC_RATE_CODES[rate], 0x08))
        head += chr(number).encode("utf-8")
        if size_code == 7:
            head += struct.pack(">H", count - 1)
        head += bytes((crc8(head),))
        frame = head + b"\x00\x00\x00"  # a CONSTANT subframe, value 0
        out.append(frame + struct.pack(">H", crc16(frame)))
    return b"".join(out)


# -- audio a fixture gives for speech ----------------------------------------------------------

# The content type of each audio format a speech API names (OpenAI's `response_format`).
SPEECH_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


@dataclass(frozen=True)
class GivenAudio:
    """A fixture's own audio (`audio`: base64, or `{b64Json, contentType}`; `format`)."""

    data: bytes
    content_type: str

    def fixture_fields(self) -> Mapping[str, Any]:
        """What a recording writes back (`recording.files.Recordable`)."""
        fmt = next((k for k, v in SPEECH_TYPES.items() if v == self.content_type), "mp3")
        return {"audio": base64.b64encode(self.data).decode("ascii"), "format": fmt}


def given_audio(fixture: Fixture | None, response: Response) -> GivenAudio | None:
    """A fixture's `audio` (base64, or `{b64Json, contentType}`) and `format`, as a speech
    API answers it (OpenAI speech, ElevenLabs)."""
    del fixture
    audio = response.audio
    fmt = response.format if isinstance(response.format, str) else "mp3"
    content_type = SPEECH_TYPES.get(fmt, "application/octet-stream")
    if isinstance(audio, dict) and isinstance(audio.get("b64Json"), str):
        given = audio.get("contentType")
        content_type = given if isinstance(given, str) and given else content_type
        audio = audio["b64Json"]
    if not isinstance(audio, str):
        return None
    try:
        return GivenAudio(base64.b64decode(audio, validate=True), content_type)
    except (binascii.Error, ValueError):
        return None


def sniffed_type(audio: bytes) -> str:
    """The content type of audio bytes, by their magic (raw PCM has none)."""
    if audio.startswith(b"RIFF"):
        return SPEECH_TYPES["wav"]
    if audio.startswith(b"ID3") or (len(audio) > 1 and audio[0] == 0xFF and audio[1] >= 0xE0):
        return SPEECH_TYPES["mp3"]
    if audio.startswith(b"OggS"):
        return SPEECH_TYPES["opus"]
    if audio.startswith(b"fLaC"):
        return SPEECH_TYPES["flac"]
    return SPEECH_TYPES["pcm"]


# Bytes of audio a streamed piece carries (a token each, for pacing).
PIECE_BYTES = 12_000


def pieces(audio: GivenAudio, size: int = PIECE_BYTES) -> Iterator[Event]:
    """Audio sent as it is made (the `raw` framing: chunked bytes), `size` bytes a piece."""
    data = audio.data
    for start in range(0, len(data), size):
        yield Event(RawBody(data[start : start + size], audio.content_type), tokens=1)


def collapse_pieces(events: Sequence[tuple[str | None, Any]]) -> Reply:
    """A recorded raw audio stream back into its audio (record mode)."""
    data = b"".join(piece for _, piece in events if isinstance(piece, bytes))
    return Reply(kind="audio", extensions=extensions(GivenAudio(data, sniffed_type(data))))
