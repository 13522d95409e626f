"""Three sources per case, one verdict per difference.

- critical: the mock disagrees with reality: a path reality has (and the SDK knows) missing
  from the mock, a type that differs, a stream whose event sequence or terminator differs;
- warning: reality has something neither the SDK nor the mock knows yet, or the mock sends a
  path reality does not, or the SDK does not know a path the mock sends;
- ok: nothing differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from aimock.drift.shapes import Shape

Severity = Literal["critical", "warning", "ok"]


@dataclass(frozen=True)
class Finding:
    case: str  # e.g. openai.chat/text/stream
    severity: Severity
    path: str
    what: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def compare_shapes(case: str, real: Shape, mock: Shape, sdk_unknown: set[str]) -> list[Finding]:
    """Differences between reality's shape and the mock's; `sdk_unknown` are the paths of
    reality the SDK's types do not know."""
    found: list[Finding] = []
    for path, real_type in sorted(real.items()):
        mock_type = mock.get(path)
        if mock_type is None:
            if _within(path, sdk_unknown):
                found.append(
                    Finding(
                        case, "warning", path, "new in reality: no SDK type nor the mock has it"
                    )
                )
            else:
                found.append(
                    Finding(
                        case, "critical", path, f"reality has it ({real_type}); the mock does not"
                    )
                )
        elif mock_type != real_type and "null" not in (mock_type, real_type):
            found.append(
                Finding(case, "critical", path, f"reality says {real_type}, the mock {mock_type}")
            )
    for path in sorted(set(mock) - set(real)):
        found.append(Finding(case, "warning", path, "the mock sends it; reality does not"))
    return found


def _within(path: str, roots: set[str]) -> bool:
    """Whether `path` is one of `roots` or lies under one (a key the SDK does not know
    takes its whole subtree with it)."""
    return any(path == r or path.startswith((r + ".", r + "[]")) for r in roots)


def compare_events(case: str, real: Sequence[str], mock: Sequence[str]) -> list[Finding]:
    """A stream's event types in order (repeats folded) and its terminator."""
    real_order, mock_order = _folded(real), _folded(mock)
    found: list[Finding] = []
    if real_order != mock_order:
        found.append(
            Finding(
                case, "critical", "(events)", f"reality streams {real_order}, the mock {mock_order}"
            )
        )
    real_end, mock_end = (real[-1] if real else None), (mock[-1] if mock else None)
    if real_end != mock_end:
        what = f"reality ends with {real_end!r}, the mock with {mock_end!r}"
        found.append(Finding(case, "critical", "(terminator)", what))
    return found


def _folded(types: Sequence[str]) -> list[str]:
    folded: list[str] = []
    for name in types:
        if not folded or folded[-1] != name:
            folded.append(name)
    return folded


def verdict(findings: Sequence[Finding]) -> Severity:
    severities = {f.severity for f in findings}
    return "critical" if "critical" in severities else "warning" if severities else "ok"
