"""One drift run: each case sent to aimock, compared with its captured real answer and read
with the SDK's types; the findings, a table and a JSON report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib import error as urllib_error
from urllib import request as urllib_request

import orjson
from pydantic import ValidationError

from aimock.drift import sdk
from aimock.drift.cases import CASES, Case
from aimock.drift.compare import Finding, Severity, compare_events, compare_shapes, verdict
from aimock.drift.live import Live, capture_document, save_capture
from aimock.drift.shapes import Shape, shape
from aimock.streaming import sse

FIXTURES = Path(__file__).with_name("fixtures.yaml")
CAPTURES = Path(__file__).with_name("captures")


@dataclass
class Answer:
    """An answer as drift compares it: a body, or a stream's (event type, payload) pairs."""

    body: Any = None
    events: list[tuple[str, Any]] = field(default_factory=list)

    def payloads(self) -> list[tuple[str, Any]]:
        """(prefix, JSON payload) of every part whose structure counts."""
        if self.events:
            return [(f"{kind}:", data) for kind, data in self.events if not isinstance(data, str)]
        return [("", self.body)]

    def shape(self) -> Shape:
        merged: Shape = {}
        for prefix, payload in self.payloads():
            for path, type_name in shape(payload).items():
                known = merged.get(prefix + path)
                merged[prefix + path] = type_name if known in (None, "null") else known
        return merged


def capture_file(folder: Path, case: Case) -> Path:
    return folder / f"{case.surface}.{'stream' if case.stream else 'plain'}.json"


def load_capture(folder: Path, case: Case) -> Answer | None:
    path = capture_file(folder, case)
    if not path.exists():
        return None
    data = orjson.loads(path.read_bytes())
    if "events" in data:
        return Answer(events=[(e["type"], e["data"]) for e in data["events"]])
    return Answer(body=data["body"])


def ask(origin: str, case: Case, headers: Mapping[str, str] | None = None) -> Answer:
    """The case's answer from a server at `origin` (the standard library's client: drift
    runs wherever aimock is installed, test dependencies or not)."""
    sent = urllib_request.Request(
        origin + case.path,
        data=orjson.dumps(case.body),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    with urllib_request.urlopen(sent, timeout=30) as response:
        content = response.read()
    if not case.stream:
        return Answer(body=orjson.loads(content))
    events = sse.decode(content)
    return Answer(events=[(case.event_type(name, data), data) for name, data in events])


def _sdk_unknown(case: Case, answer: Answer) -> set[str]:
    check = sdk.check(case.surface)
    if check is None:
        return set()
    unknown: set[str] = set()
    for prefix, payload in answer.payloads():
        unknown |= {prefix + path for path in check(payload, bool(answer.events))}
    return unknown


def compare_case(case: Case, real: Answer, mock: Answer) -> list[Finding]:
    findings: list[Finding] = []
    if sdk.check(case.surface) is None:
        package = sdk.CHECKS[case.surface][0]
        findings.append(
            Finding(case.name, "warning", "(sdk)", f"{package} not installed: types not checked")
        )
        real_unknown: set[str] = set()
    else:
        try:
            real_unknown = _sdk_unknown(case, real)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "$"
            what = f"the SDK cannot read reality's answer: {first['msg']}"
            findings.append(Finding(case.name, "warning", where, what))
            real_unknown = set()
        try:
            mock_unknown = _sdk_unknown(case, mock)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            findings.append(
                Finding(
                    case.name,
                    "critical",
                    where or "$",
                    f"the SDK cannot read the mock's answer: {first['msg']}",
                )
            )
            mock_unknown = set()
        # What the SDK lacks and reality sends too is the SDK's drift, not the mock's.
        findings += [
            Finding(case.name, "warning", path, "the SDK's types do not know what the mock sends")
            for path in sorted(mock_unknown - set(real.shape()))
        ]
    findings += compare_shapes(case.name, real.shape(), mock.shape(), real_unknown)
    if case.stream:
        real_order = [k for k, _ in real.events if k not in case.keep_alive]
        mock_order = [k for k, _ in mock.events if k not in case.keep_alive]
        findings += compare_events(case.name, real_order, mock_order)
    return findings


@dataclass
class Report:
    cases: dict[str, Severity]
    findings: list[Finding]

    @property
    def verdict(self) -> Severity:
        return verdict(self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "cases": self.cases,
            "findings": [f.to_json() for f in self.findings],
        }

    def table(self) -> str:
        lines = [f"{'case':<36} {'verdict':<9} findings"]
        for name, severity in self.cases.items():
            mine = [f for f in self.findings if f.case == name]
            lines.append(f"{name:<36} {severity:<9} {len(mine)}")
            lines += [f"    {f.severity:<9} {f.path}: {f.what}" for f in mine]
        lines.append(f"verdict: {self.verdict}")
        return "\n".join(lines)


def run(
    origin: str,
    against: Path,
    surfaces: Iterable[str] | None = None,
    *,
    live: Live | None = None,
    save: Path | None = None,
) -> Report:
    """Every case (of `surfaces`, or all) sent to the mock at `origin`, against reality: the
    live API when `live` has its key, else the capture in `against`. Live answers are kept
    as captures in `save` when given."""
    wanted = set(surfaces) if surfaces is not None else None
    cases: dict[str, Severity] = {}
    findings: list[Finding] = []
    for case in select(wanted):
        found: list[Finding] = []
        real = None
        if live is not None:
            real, note = _ask_live(live, case)
            if real is None:
                found.append(
                    Finding(case.name, "warning", "(live)", f"{note}: the capture instead")
                )
            elif save is not None:
                document = capture_document(real.body, real.events)
                save_capture(capture_file(save, case), document)
        if real is None:
            real = load_capture(against, case)
        if real is None:
            missing = f"no capture at {capture_file(against, case)}"
            found.append(Finding(case.name, "warning", "(capture)", missing))
        else:
            found += compare_case(case, real, ask(origin, case))
        cases[case.name] = verdict(found)
        findings += found
    return Report(cases, findings)


def _ask_live(live: Live, case: Case) -> tuple[Answer | None, str]:
    """The live answer, or None and why there is none."""
    target = live.target(case)
    if isinstance(target, str):
        return None, target
    origin, headers = target
    try:
        return ask(origin, case, headers), ""
    except urllib_error.HTTPError as exc:
        detail = exc.read()[:300].decode(errors="replace")
        return None, f"{origin} answered {exc.code}: {detail}"
    except (urllib_error.URLError, OSError, ValueError) as exc:
        return None, f"{origin} could not be asked: {exc}"


def select(wanted: set[str] | None) -> Sequence[Case]:
    return [case for case in CASES if wanted is None or case.surface in wanted]
