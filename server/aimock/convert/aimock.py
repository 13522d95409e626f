"""AIMock (formerly llmock) fixture JSON and `aimock.json` configs.

Our server reads both natively, so this converter reads them with the server's own loaders
(`aimock.fixtures.loading` for fixture files, `aimock.aimock_config` for configs) and writes
what they load as our YAML; it adds nothing of its own but the report:

- a fixture the loader refuses (a misspelt key AIMock ignores, `content: ""`) is dropped and
  named, where `aimock serve` would refuse the whole file;
- what the config loader reports as not applied (`agui`, `auth`, unknown `llm` keys) is
  noted, and so is what only the command line gives (`port`, `host`, `llm.record`);
- response kinds the loader accepts but no surface serves yet (`video`, fal's `json`), and
  the matching differences docs/migrating-from-aimock.md lists (`turnIndex`), are noted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from aimock import aimock_config
from aimock.convert.writer import Conversion, ConvertError, first_document
from aimock.fixtures.loading import LoadError, expand, load_text

# Top-level keys of aimock.json the config loader reads (or reports itself).
LOADED_KEYS = {"port", "host", "strict", "llm", "services", "mcp", "a2a", "vector", "agui", "auth"}
TOP_LEVEL_NOTES = {
    "metrics": "not needed: GET /metrics is always on in aimock",
    "auth": "inbound API keys are secrets: not written into files; give `aimock serve "
    "--api-key` or AIMOCK_API_KEYS (a cluster: a Secret)",
}
# Response kinds AIMock serves that no surface of ours serves yet.
UNSERVED = {"video": "video jobs", "json": "fal.ai answers", "billableUnits": "fal.ai billing"}
MIGRATING = "docs/migrating-from-aimock.md"


def is_config(data: Any) -> bool:
    """An `aimock.json` rather than a fixture file."""
    keys = {"llm", "mcp", "a2a", "vector", "agui", "services", "port", "host", "strict"}
    return isinstance(data, dict) and "fixtures" not in data and bool(keys & set(data))


def convert(path: Path) -> list[Conversion]:
    """One conversion per fixture file (a folder's in load order), or the config's."""
    if path.is_dir():
        # AIMock's order, which is our loader's: a folder's files by name, then sub-folders.
        files = [f for f in expand([path]) if f.suffix.lower() == ".json"]
        return [_fixture_file(f) for f in files]
    data = first_document(path)
    if is_config(data):
        return _config(path)
    return [_fixture_file(path, data)]


def _fixture_file(path: Path, data: Any = None) -> Conversion:
    data = first_document(path) if data is None else data
    conversion = Conversion("aimock", str(path))
    file = str(path)
    if isinstance(data, list):
        items, prefix = data, "$"
    elif isinstance(data, dict) and isinstance(data.get("fixtures"), list):
        items, prefix = data["fixtures"], "$.fixtures"
        for key in data:
            if key not in ("fixtures", "_warning", "_warnings"):
                conversion.note(
                    file, f"$.{key}", "not a fixture file key: ignored (as AIMock ignores it)"
                )
    else:
        raise ConvertError(file, "fixtures", 'expected {"fixtures": [...]} or a list of fixtures')
    for index, item in enumerate(items):
        where = f"{prefix}[{index}]"
        fixture = _loaded(item, file, where, conversion)
        if fixture is not None:
            _note_differences(item, file, where, conversion)
            conversion.add(fixture, file, where)
    return conversion


def _loaded(item: Any, file: str, where: str, conversion: Conversion) -> dict[str, Any] | None:
    """The fixture as our loader reads it, or None (noted) when it refuses it."""
    if isinstance(item, dict):
        for kind, what in UNSERVED.items():
            response = item.get("response")
            if isinstance(response, dict) and kind in response:
                conversion.note(
                    file,
                    f"{where}.response.{kind}",
                    f"{what}: no aimock surface serves this answer yet",
                )
                return None
    try:
        loaded = load_text(orjson.dumps({"fixtures": [item]}).decode(), file)
    except LoadError as exc:
        for problem in exc.problems:
            field = problem.field.removeprefix("fixtures[0]").lstrip(".")
            reason = problem.reason
            if reason == "unknown field":
                reason += " (AIMock ignores it, so there the fixture matched more widely)"
            conversion.note(file, f"{where}.{field}" if field else where, reason)
        return None
    except (TypeError, orjson.JSONEncodeError) as exc:
        conversion.note(file, where, f"cannot be read as a fixture: {exc}")
        return None
    fixture = loaded.fixtures[0].fixture
    dumped: dict[str, Any] = fixture.model_dump(
        by_alias=True, exclude_none=True, exclude_unset=True
    )
    return dumped


def _note_differences(item: Any, file: str, where: str, conversion: Conversion) -> None:
    match = item.get("match") if isinstance(item, dict) else None
    if isinstance(match, dict) and "turnIndex" in match:
        conversion.note(
            file,
            f"{where}.match.turnIndex",
            f"carried; when a fixture without turnIndex also matches, aimock prefers it "
            f"({MIGRATING}, section 5)",
            "approximated",
        )


# --- aimock.json ----------------------------------------------------------------------------


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _captured() -> Iterator[_Captured]:
    """What the config loader reports as not applied (it logs it as warnings)."""
    handler = _Captured()
    logger = logging.getLogger(aimock_config.log.name)
    logger.addHandler(handler)
    before = logger.propagate
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.propagate = before


def _config(path: Path) -> list[Conversion]:
    file = str(path)
    with _captured() as reported:
        try:
            config = aimock_config.load(path)
        except aimock_config.ConfigError as exc:
            text = str(exc).removeprefix(f"{path}: ")
            where, _, reason = text.partition(": ")
            raise ConvertError(file, where if reason else "", reason or text) from None
    settings = Conversion("aimock", file)
    for message in reported.messages:
        where, reason = _reported(message, file)
        settings.note(file, where, reason)
    data = first_document(path)
    for key, why in TOP_LEVEL_NOTES.items():
        if key in data:
            settings.note(file, f"$.{key}", why, "approximated")
    for key in data:
        if key not in LOADED_KEYS and key not in TOP_LEVEL_NOTES:
            settings.note(file, f"$.{key}", "not a key of aimock.json this version reads")
    for key in ("port", "host"):
        if key in data:
            settings.note(
                file,
                f"$.{key}",
                f"a command-line setting (`aimock serve --{key}`), not part of a stack",
                "approximated",
            )
    llm = data.get("llm") if isinstance(data.get("llm"), dict) else {}
    if "record" in llm:
        settings.note(
            file,
            "$.llm.record",
            "record mode is not converted: give `aimock serve "
            "--record` its flags, or spec.record with a "
            "keysSecret in a cluster",
        )
    stack: dict[str, Any] = {}
    if config.strict is not None:
        stack["strict"] = config.strict
    if config.latency is not None:
        stack["latency"] = config.latency
    if config.chunk_size is not None:
        stack["chunkSize"] = config.chunk_size
    if config.chaos is not None:
        stack["chaos"] = config.chaos.model_dump(by_alias=True, exclude_none=True)
    for key, section in config.sections.items():
        stack[key] = section.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True)
    settings.stack = stack
    conversions = [settings]
    for resolved in config.fixture_paths:
        fixtures_path = _shown(resolved)
        if not fixtures_path.exists():
            settings.note(file, "$.llm.fixtures", f"{fixtures_path}: no such file or folder")
            continue
        found = convert(fixtures_path) if fixtures_path.is_dir() else [_fixture_file(fixtures_path)]
        for conversion in found:
            if config.replay_speed is not None:
                for converted in conversion.fixtures:
                    converted.fixture.setdefault("replaySpeed", config.replay_speed)
        conversions.extend(found)
    if config.fixture_paths and config.replay_speed is not None:
        settings.note(
            file,
            "$.llm.replaySpeed",
            "carried onto every fixture (a stack has no server-wide replay speed)",
            "approximated",
        )
    return conversions


def _shown(path: Path) -> Path:
    """A path the config resolved, as the user would name it: relative when under here."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _reported(message: str, file: str) -> tuple[str, str]:
    """A config loader warning as (JSON path, reason)."""
    text = message.removeprefix(f"{file}: ")
    head, _, rest = text.partition(" ")
    if head.startswith(("llm.", "services.")):
        return f"$.{head}", rest or "not applied"
    if text.startswith("the ") and "'" in text:
        section = text.split("'")[1]
        return f"$.{section}", text
    return "$", text
