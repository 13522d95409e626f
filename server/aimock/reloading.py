"""Re-reading the fixture files: on request, or on change with `--watch`.

The new index is built beside the old one and swapped in as one reference assignment; a broken
edit leaves the old set serving and logs every problem with its file, field and line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import watchfiles
from aiohttp import web

from aimock.fixtures.loading import LoadError, load_paths
from aimock.state import STATE, ServerState

log = logging.getLogger("aimock.reload")
DEBOUNCE_MS = 200


async def reload(state: ServerState) -> LoadError | None:
    """Load the configured paths again and swap them in; the error, if any, is returned."""
    try:
        if state.options.paths:
            loaded = await asyncio.to_thread(load_paths, state.options.paths)
        else:
            loaded = state.initial
    except LoadError as exc:
        state.metrics.reloads.labels("error").inc()
        log.error(
            "reload failed; still serving the previous %d fixtures:\n%s", len(state.index), exc
        )
        return exc
    previous = state.index.digest
    state.swap(loaded)
    state.metrics.reloads.labels("ok").inc()
    if state.index.digest != previous:
        log.info(
            "reloaded %d fixtures from %d files (set %s)",
            len(state.index),
            len(loaded.files),
            state.index.digest,
        )
    return None


async def full_reset(state: ServerState) -> LoadError | None:
    """Back to the start: the file set re-read, runtime fixtures, queued errors, journal and
    sequence counters dropped. Broken files keep their previous set serving."""
    state.runtime_fixtures = []
    state.one_shot_errors.clear()
    state.journal.clear()
    state.match_state.reset()
    state.chaos_overrides.clear()
    state.rng.seed(state.settings.chaos_seed)  # a seeded run replays its faults from the start
    error = await reload(state)
    if error is not None:
        state.swap(state.loaded)
    return error


def _watch_roots(paths: Sequence[Path]) -> list[Path]:
    # Watch folders rather than files: editors and Kubernetes replace files by rename, which
    # a watch on the old inode would miss.
    roots = {p if p.is_dir() else p.parent for p in paths}
    return sorted(roots)


async def watch(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup context: a background task reloading whenever a watched file changes."""
    state = app[STATE]
    roots = _watch_roots(state.options.paths)
    # Our own reload lines say what changed; watchfiles' "N changes detected" is noise.
    logging.getLogger("watchfiles").setLevel(logging.WARNING)
    stop = asyncio.Event()

    async def loop() -> None:
        async for _changes in watchfiles.awatch(
            *roots, debounce=DEBOUNCE_MS, stop_event=stop, recursive=True
        ):
            await reload(state)

    task = asyncio.create_task(loop(), name="aimock-watch")
    log.info("watching %s for changes", ", ".join(str(r) for r in roots))
    yield
    stop.set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
