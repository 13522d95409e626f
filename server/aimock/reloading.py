"""Re-reading the fixture files: on request, or on change with `--watch`.

The new index is built beside the old one and swapped in as one reference assignment; a broken
edit leaves the old set serving and logs every problem with its file, field and line. Nothing
a file holds stops the watcher: every failure is logged and it goes on watching.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from aiohttp import web

from aimock.fixtures.loading import FixtureSet, LoadError, Problem, load_paths
from aimock.state import STATE, ServerState

log = logging.getLogger("aimock.reload")
DEBOUNCE_MS = 200
# After the watch itself fails (a watched folder removed, the OS's watch limit reached), it
# is started again after a pause that doubles, up to the last, while it keeps failing.
FIRST_PAUSE_SECONDS = 1.0
LAST_PAUSE_SECONDS = 8.0


async def reload(state: ServerState) -> LoadError | None:
    """Load the configured paths again and swap them in; the error, if any, is returned.

    Nothing else escapes: the caller may be the watcher, which must outlive any file."""
    before = state.loaded
    try:
        if state.options.paths:
            loaded = await asyncio.to_thread(load_paths, state.options.paths)
        else:
            loaded = state.initial
        previous = state.index.digest
        state.swap(loaded)
    except LoadError as exc:
        return _failed(state, exc)
    except Exception as exc:
        # Not a problem the loader names, so a defect of ours: its traceback goes to the log.
        log.exception("reload failed unexpectedly")
        return _failed(state, LoadError([Problem("<reload>", "", f"{type(exc).__name__}: {exc}")]))
    state.metrics.reloaded("ok")
    _warn_withdrawn(before, loaded)
    if state.index.digest != previous:
        log.info(
            "reloaded %d fixtures from %d files (set %s)",
            len(state.index),
            len(loaded.files),
            state.index.digest,
        )
    return None


def _failed(state: ServerState, error: LoadError) -> LoadError:
    state.metrics.reloaded("error")
    log.error("reload failed; still serving the previous %d fixtures:\n%s", len(state.index), error)
    return error


def _warn_withdrawn(before: FixtureSet, after: FixtureSet) -> None:
    """Files that are gone took their fixtures with them. Say so: a deleted file is more often
    a mistake (a moved folder, a bad checkout) than a way to withdraw fixtures."""
    gone = sorted(set(before.files) - set(after.files))
    if not gone:
        return
    counts = [(file, _fixtures_from(before, file)) for file in gone]
    log.warning(
        "%d fixtures withdrawn: their files are gone: %s",
        sum(count for _, count in counts),
        ", ".join(f"{file} ({count})" for file, count in counts),
    )


def _fixtures_from(loaded: FixtureSet, file: Path) -> int:
    prefix = f"{file}#"  # a SourcedFixture's source is "file#where"
    return sum(1 for item in loaded.fixtures if item.source.startswith(prefix))


async def full_reset(state: ServerState) -> LoadError | None:
    """Back to the start: the file set re-read, runtime fixtures, queued errors, journal and
    sequence counters dropped. Broken files keep their previous set serving."""
    state.runtime_fixtures = []
    state.one_shot_errors.clear()
    state.journal.clear()
    state.fixture_hits.clear()
    state.match_state.reset()
    state.chaos_overrides.clear()
    state.kept.clear()
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
    task = asyncio.create_task(_watch_until(stop, state, roots), name="aimock-watch")
    log.info("watching %s for changes", ", ".join(str(r) for r in roots))
    yield
    stop.set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _watch_until(stop: asyncio.Event, state: ServerState, roots: Sequence[Path]) -> None:
    """Reload on every change until `stop`. A watch that fails, or whose folder is gone (a
    watch on a deleted folder sees nothing, not even the folder made again), is logged and
    started again after a pause, so no fault leaves later edits unseen."""
    # Imported here: only --watch needs it, and a server without it stays a MiB smaller.
    import watchfiles

    pause = FIRST_PAUSE_SECONDS
    while True:
        failure = "the watch ended"
        try:
            async for _changes in watchfiles.awatch(
                *roots, debounce=DEBOUNCE_MS, stop_event=stop, recursive=True
            ):
                pause = FIRST_PAUSE_SECONDS
                await reload(state)
                if gone := [str(root) for root in roots if not root.is_dir()]:
                    failure = f"{', '.join(gone)} is gone"
                    break
        except Exception as exc:
            failure = f"{type(exc).__name__}: {exc}"
        if stop.is_set():
            return
        log.error("watching for changes failed (%s); watching again in %g s", failure, pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
        if stop.is_set():
            return
        pause = min(2 * pause, LAST_PAUSE_SECONDS)
        await reload(state)  # what changed while nothing watched
