"""What every converter hands back, and the one place fixture files and manifests are written.

A converter turns one input (a file or a folder of another tool) into a `Conversion`: fixtures
in our YAML shape, each with where it came from, settings for a MockStack, and `Note`s for
everything that did not carry over as it was (dropped, or carried differently), each naming
the file, the JSON path inside it and the reason. Every fixture is validated here by the
fixture model before it is written; one the model refuses becomes a note, never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from aimock.fixtures.loading import LoadError, read_documents, validation_problems
from aimock.models.fixture import Fixture
from aimock.models.stack import API_VERSION
from aimock.recording.files import yaml_text

Kind = Literal["dropped", "approximated"]
TOOLS = ("aimock", "vidaimock", "mockllm", "wiremock")
# The label a converted MockStack selects its Fixtures by.
LABEL = "aimock.dev/converted-from"
_NAME = re.compile(r"[^a-z0-9-]+")


class ConvertError(Exception):
    """An input that cannot be read at all: the file, the field and why."""

    def __init__(self, file: str, where: str, reason: str) -> None:
        self.file, self.where, self.reason = file, where, reason
        super().__init__(f"{file}: {where}: {reason}" if where else f"{file}: {reason}")


def first_document(path: Path) -> Any:
    """The first YAML or JSON document of `path` (None when it holds none); a file that cannot
    be read is a ConvertError naming the field and the reason."""
    try:
        documents = read_documents(path)
    except LoadError as exc:
        problem = exc.problems[0]
        raise ConvertError(str(path), problem.field, problem.reason) from None
    return documents[0] if documents else None


@dataclass(frozen=True)
class Note:
    """Something of the input that did not carry over as it was."""

    file: str
    where: str  # a JSON path inside the file ($.mappings[2].request.bodyPatterns[0])
    reason: str
    kind: Kind = "dropped"

    def __str__(self) -> str:
        return _printable(f"{self.kind}: {self.file}: {self.where}: {self.reason}")


def _printable(text: str) -> str:
    """One line of printable text: what a note quotes from its input may hold anything."""
    text = " ".join(text.split())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass
class Converted:
    fixture: dict[str, Any]
    origin: str  # file and JSON path of what it came from


@dataclass
class Conversion:
    tool: str
    source: str  # the input as given
    fixtures: list[Converted] = field(default_factory=list)
    # MockStack spec fields (strict, latency, chunkSize, chaos, mcp, a2a, vector).
    stack: dict[str, Any] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    def note(self, file: str, where: str, reason: str, kind: Kind = "dropped") -> None:
        self.notes.append(Note(file, where, reason, kind))

    def add(self, fixture: dict[str, Any], file: str, where: str) -> bool:
        """Keep `fixture` when the fixture model accepts it; else note why, and drop it."""
        try:
            Fixture.model_validate(fixture)
        except ValidationError as exc:
            for problem in validation_problems(exc, file):
                self.note(
                    file, where, f"not a valid aimock fixture: {problem.field}: {problem.reason}"
                )
            return False
        except (ValueError, TypeError, RecursionError) as exc:
            self.note(file, where, f"not a valid aimock fixture: {exc}")
            return False
        self.fixtures.append(Converted(fixture, f"{file}#{where}"))
        return True


def canonical(fixture: dict[str, Any]) -> dict[str, Any]:
    """A fixture as our YAML writes it: the model's own dump, with a text match given as a
    plain string where that means the same (`{contains: x}` -> `x`, a model `{family: x}` ->
    `x`), so a converted file reads like a hand-written one."""
    model = Fixture.model_validate(fixture)
    dumped: dict[str, Any] = model.model_dump(by_alias=True, exclude_none=True, exclude_unset=True)
    match = dumped.get("match")
    if isinstance(match, dict):
        for key, value in list(match.items()):
            if isinstance(value, dict) and len(value) == 1:
                ((operator, text),) = value.items()
                plain = "family" if key == "model" else "contains"
                if operator == plain and isinstance(text, str):
                    match[key] = text
    return dumped


def fixtures_document(conversion: Conversion) -> str:
    """One fixture file: the notes of its input as a comment, then `fixtures:`."""
    header = [
        _printable(
            f"# Converted by `aimock convert --from {conversion.tool}` from {conversion.source}"
        )
    ]
    header += _note_lines(conversion.notes)
    body = yaml_text({"fixtures": [canonical(c.fixture) for c in conversion.fixtures]})
    return "\n".join(header) + "\n" + body


def stack_document(conversions: list[Conversion], name: str, namespace: str | None) -> str:
    """A MockStack holding the inputs' settings (no fixtures): beside fixture files."""
    return yaml_text(_mockstack(conversions, name, namespace, select=False))


def manifests_document(conversions: list[Conversion], name: str, namespace: str | None) -> str:
    """A MockStack and one Fixture per input, selected by a label: ready for GitOps."""
    documents = [_mockstack(conversions, name, namespace, select=True)]
    for index, conversion in enumerate(conversions):
        if not conversion.fixtures:
            continue
        metadata: dict[str, Any] = {
            "name": resource_name(f"{name}-{Path(conversion.source).stem}", index),
            "labels": {LABEL: resource_name(name)},
        }
        if namespace:
            metadata["namespace"] = namespace
        documents.append(
            {
                "apiVersion": API_VERSION,
                "kind": "Fixture",
                "metadata": metadata,
                # Fixture resources are consulted by priority: the inputs' order stays.
                "spec": {
                    "priority": index * 10,
                    "fixtures": [canonical(c.fixture) for c in conversion.fixtures],
                },
            }
        )
    header = [
        _printable(
            f"# Converted by `aimock convert` from {', '.join(c.source for c in conversions)}"
        )
    ]
    for conversion in conversions:
        header += _note_lines(conversion.notes)
    return "\n".join(header) + "\n" + "---\n".join(yaml_text(d) for d in documents)


def _mockstack(
    conversions: list[Conversion], name: str, namespace: str | None, *, select: bool
) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for conversion in conversions:
        spec.update(conversion.stack)
    if select:
        spec["fixtureSelector"] = {"matchLabels": {LABEL: resource_name(name)}}
    metadata: dict[str, Any] = {"name": resource_name(name)}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": "MockStack", "metadata": metadata, "spec": spec}


def resource_name(text: str, index: int | None = None) -> str:
    """A DNS-1123 name (at most 63 characters) from `text`."""
    base = _NAME.sub("-", text.lower()).strip("-")[:55].strip("-") or "converted"
    return base if index is None else f"{base}-{index}"


def _note_lines(notes: list[Note]) -> list[str]:
    if not notes:
        return []
    lines = ["# Not carried over as it was:"]
    lines += [f"#   {note}" for note in notes]
    return lines


def report(conversions: list[Conversion]) -> str:
    """Every note of every input, then the summary line."""
    lines = [_printable(f"{c.tool} {c.source}: {len(c.fixtures)} fixture(s)") for c in conversions]
    lines += [str(note) for c in conversions for note in c.notes]
    return "\n".join([*lines, summary(conversions)]) + "\n"


def summary(conversions: list[Conversion]) -> str:
    fixtures = sum(len(c.fixtures) for c in conversions)
    dropped = sum(1 for c in conversions for n in c.notes if n.kind == "dropped")
    approximated = sum(1 for c in conversions for n in c.notes if n.kind == "approximated")
    return (
        f"converted {fixtures} fixture(s) from {len(conversions)} input(s); "
        f"{dropped} thing(s) dropped, {approximated} carried differently (listed above)"
    )


# What a template of another tool's answer (text only a request knows) is marked with before
# its JSON is read, so where it landed can be told afterwards.
TEMPLATE_MARK = "@@aimock-template@@"
_ANSWER_KEYS = ("content", "refusal", "reasoning", "toolCalls", "error")


def templated_answer(
    conversion: Conversion,
    file: str,
    where: str,
    decoded: tuple[dict[str, Any] | None, list[tuple[str, str]]],
    echoes: str,
) -> dict[str, Any] | None:
    """A decoded answer whose JSON held marked templates (`TEMPLATE_MARK`): None, noted, when
    one stands in what it says (`echoes` says why no fixture can say that); else the answer,
    less the fields templates filled (noted: aimock sets its own)."""
    answer, notes = decoded
    for path, reason in notes:
        kind: Literal["dropped", "approximated"] = "dropped" if answer is None else "approximated"
        conversion.note(file, f"{where}{path.removeprefix('$')}", reason, kind)
    if answer is None:
        return None
    for key in _ANSWER_KEYS:
        if TEMPLATE_MARK in repr(answer.get(key, "")):
            conversion.note(file, where, f"its {key} {echoes}: no fixture can say that")
            return None
    templated = [key for key, value in answer.items() if TEMPLATE_MARK in str(value)]
    for key in templated:
        del answer[key]
    if templated:
        conversion.note(
            file, where, f"{', '.join(templated)}: templates; aimock sets its own", "approximated"
        )
    return answer
