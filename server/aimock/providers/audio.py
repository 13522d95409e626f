"""Deterministic audio for answers spoken over a socket: a quiet tone of 16-bit PCM.

Real speech cannot be mocked, but its shape can: the right encoding, sample rate and length,
so a client's decoder, buffers and playback timing run as they would. The tone is the same
for the same length, so recorded tests stay stable.
"""

from __future__ import annotations

import array
import base64
import binascii
import math
import struct
import sys
from dataclasses import dataclass

from aimock.models.fixture import Fixture, Response

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
