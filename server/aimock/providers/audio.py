"""Deterministic audio for answers spoken over a socket: a quiet tone of 16-bit PCM.

Real speech cannot be mocked, but its shape can: the right encoding, sample rate and length,
so a client's decoder, buffers and playback timing run as they would. The tone is the same
for the same length, so recorded tests stay stable.
"""

from __future__ import annotations

import math
import struct

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


def tone(ms: float, rate: int = PCM_RATE) -> bytes:
    """`ms` milliseconds of the tone (at most `MAX_MS`) as PCM16 little-endian mono."""
    count = int(min(max(ms, 0.0), MAX_MS) * rate / 1000)
    second = _period(rate)
    whole, rest = divmod(count * 2, len(second))
    return second * whole + second[:rest]
