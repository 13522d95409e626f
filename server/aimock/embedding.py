"""The deterministic embedding: the vector answered for a text no fixture gives one for.

Core, not a provider's: the embeddings surfaces answer with it, and the vector store derives a
static result's vector from its `match.text` with it, so a query embedded by the mock matches.
"""

from __future__ import annotations

import hashlib


def deterministic_vector(text: str, dimensions: int) -> list[float]:
    """AIMock's derivation, so both mocks give the same vector for the same input: bytes of
    SHA-256(text), re-hashed every 32 values, each mapped to [-1, 1]."""
    digest = hashlib.sha256(text.encode()).digest()
    values = []
    for i in range(dimensions):
        if i > 0 and i % 32 == 0:
            digest = hashlib.sha256(digest).digest()
        values.append(digest[i % 32] / 127.5 - 1)
    return values
