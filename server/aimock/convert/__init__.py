"""`aimock convert`: other tools' mock definitions into aimock fixtures or manifests.

One module per source tool (`aimock`, `vidaimock`, `mockllm`, `wiremock`), each turning an
input into `writer.Conversion`s; `writer` validates and writes them. What does not carry over
is never dropped silently: each converter notes it (file, JSON path, reason), `run` prints
the notes on stderr and the files carry them as a comment.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from aimock.convert import aimock, mockllm, vidaimock, wiremock
from aimock.convert.writer import (
    TOOLS,
    Conversion,
    ConvertError,
    first_document,
    fixtures_document,
    manifests_document,
    report,
    resource_name,
    stack_document,
    summary,
)

REPORT = "conversion-report.txt"

__all__ = ["TOOLS", "Conversion", "ConvertError", "convert", "detect", "run"]

CONVERTERS: dict[str, Callable[[Path], list[Conversion]]] = {
    "aimock": aimock.convert,
    "vidaimock": vidaimock.convert,
    "mockllm": mockllm.convert,
    "wiremock": wiremock.convert,
}


def detect(path: Path) -> str:
    """Which tool wrote `path`, from its shape; `ConvertError` when it cannot be told."""
    if not path.exists():
        raise ConvertError(str(path), "", "no such file or folder")
    if path.is_dir():
        if vidaimock.is_config_dir(path):
            return "vidaimock"
        if (path / "mappings").is_dir():
            return "wiremock"
        if (path / "mock-llm.yaml").is_file() or (path / "mock-llm.yml").is_file():
            return "mockllm"
        kinds = {detect(f) for f in sorted(path.glob("*.json"))[:20]}
        if len(kinds) == 1:
            return kinds.pop()
        raise ConvertError(str(path), "", "cannot tell which tool wrote this folder: give --from")
    data: Any = first_document(path)
    if wiremock.looks_like(data):
        return "wiremock"
    if mockllm.looks_like(data):
        return "mockllm"
    if vidaimock.looks_like(data):
        return "vidaimock"
    if (
        (isinstance(data, dict) and "fixtures" in data)
        or isinstance(data, list)
        or aimock.is_config(data)
    ):
        return "aimock"
    raise ConvertError(
        str(path), "", f"cannot tell which tool wrote this file: give --from ({', '.join(TOOLS)})"
    )


def convert(paths: Sequence[Path], tool: str | None = None) -> list[Conversion]:
    """Every input converted, in order; `ConvertError` for an input that cannot be read."""
    conversions: list[Conversion] = []
    for path in paths:
        if not path.exists():
            raise ConvertError(str(path), "", "no such file or folder")
        found = tool or detect(path)
        try:
            conversions.extend(CONVERTERS[found](path))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConvertError(str(path), "", f"cannot read: {exc}") from None
    return conversions


def run(
    paths: Sequence[Path],
    tool: str | None,
    out: Path | None,
    *,
    manifests: bool,
    name: str,
    namespace: str | None,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    """The command: 0 when every input was read (notes or not), 1 when one could not be."""
    try:
        conversions = convert(paths, tool)
    except ConvertError as exc:
        print(f"error: {exc}", file=stderr)
        return 1
    for conversion in conversions:
        for note in conversion.notes:
            print(note, file=stderr)
    documents: list[tuple[str, str]] = []  # (file name, text)
    if manifests:
        documents.append(
            (f"{resource_name(name)}.yaml", manifests_document(conversions, name, namespace))
        )
    else:
        settings = [c for c in conversions if c.stack]
        if settings:
            documents.append(("stack.yaml", stack_document(settings, name, namespace)))
        used: set[str] = {"stack.yaml"}
        for conversion in conversions:
            if not conversion.fixtures:
                continue
            stem = resource_name(Path(conversion.source).stem)
            file_name, count = f"{stem}.yaml", 1
            while file_name in used:
                count += 1
                file_name = f"{stem}-{count}.yaml"
            used.add(file_name)
            documents.append((file_name, fixtures_document(conversion)))
    written: list[Path] = []
    if out is None:
        stdout.write("---\n".join(text for _name, text in documents))
    else:
        out.mkdir(parents=True, exist_ok=True)
        for file_name, text in documents:
            (out / file_name).write_text(text, "utf-8")
            written.append(out / file_name)
        # Every note in one place, beside the files (the loader reads no .txt).
        (out / REPORT).write_text(report(conversions), "utf-8")
        written.append(out / REPORT)
    for path in written:
        print(f"wrote {path}", file=stderr)
    print(summary(conversions), file=stderr)
    return 0
