"""Ids without a system call each: still the shapes the wires carry, and never repeated."""

from __future__ import annotations

import os
import uuid

from aimock import ids


def test_uuids_are_version_4_and_hex_ids_the_length_asked() -> None:
    drawn = [ids.uuid4() for _ in range(2000)]
    assert all(uuid.UUID(u).version == 4 and uuid.UUID(u).variant == uuid.RFC_4122 for u in drawn)
    assert len(set(drawn)) == len(drawn)
    assert {len(ids.hex_id(24)) for _ in range(100)} == {24}
    assert set(ids.drawn("ab", 50)) <= {"a", "b"}


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next id, to the parent
        os.write(write, ids.hex_id(32).encode())
        os._exit(0)
    os.close(write)
    theirs = os.read(read, 64).decode()
    os.waitpid(child, 0)
    assert theirs != ids.hex_id(32)
