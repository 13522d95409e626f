"""Ids for answers and requests, without a system call each.

`secrets` and `uuid.uuid4` read the kernel's random source on every call: a system call per
response id (the profile of issue 13 put the id at 15% of a chat answer under asyncio's loop;
2% under uvloop here). A mock's ids must not repeat, not resist an attacker, so a generator
seeded once from the kernel serves them all (MCP session ids, which the spec wants secure,
still come from `secrets`).
"""

from __future__ import annotations

import os
import random

_random = random.Random(os.urandom(32))
# After a fork (a forked worker), the child must not repeat its parent's ids.
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))


def hex_id(chars: int) -> str:
    """`chars` random lower-case hex digits."""
    return _random.randbytes((chars + 1) // 2).hex()[:chars]  # twice as fast as formatting


def uuid4() -> str:
    """A random UUID (version 4, RFC 9562 variant) in its canonical text form."""
    bits = _random.getrandbits(128)
    bits = (bits & ~(0xF000 << 64)) | (0x4000 << 64)  # version 4
    bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)  # variant 10xx
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def drawn(alphabet: str, length: int) -> str:
    """`length` characters drawn from `alphabet`."""
    return "".join(_random.choices(alphabet, k=length))
