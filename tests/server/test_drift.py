"""Drift detection: the shipped captures against aimock, and injected differences caught with
the right severity (a removed field is critical, a new field in reality a warning, a changed
stream order critical)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from aimock import cli
from aimock.drift.cases import CASES
from aimock.drift.compare import compare_shapes
from aimock.drift.run import CAPTURES, FIXTURES, Answer, compare_case, load_capture, run
from aimock.drift.shapes import shape
from aimock.testing import MockServer


@pytest.fixture(scope="module")
def mock() -> Iterator[MockServer]:
    with MockServer([FIXTURES]) as server:
        yield server


def _case(name: str):  # type: ignore[no-untyped-def]
    [found] = [case for case in CASES if case.name == name]
    return found


def test_shapes_name_every_path_with_its_type() -> None:
    found = shape({"a": [{"b": 1}, {"b": None, "c": "x"}], "d": True})
    assert found == {
        "$": "object",
        "a": "array",
        "a[]": "object",
        "a[].b": "number",
        "a[].c": "string",
        "d": "boolean",
    }


def test_the_shipped_captures_agree_with_the_mock(mock: MockServer) -> None:
    report = run(mock.url, CAPTURES)
    assert set(report.cases) == {case.name for case in CASES}
    assert report.findings == []
    assert report.verdict == "ok"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_field_the_mock_lost_is_critical(mock: MockServer, case) -> None:  # type: ignore[no-untyped-def]
    from aimock.drift.run import ask

    real = load_capture(CAPTURES, case)
    assert real is not None
    answer = ask(mock.url, case)
    payload = answer.events[0][1] if answer.events else answer.body
    lost = next(key for key in payload if key not in ("type", "object"))
    if answer.events:  # from every event of that type: the shape merges them
        for kind, data in answer.events:
            if kind == answer.events[0][0]:
                data.pop(lost, None)
    else:
        del payload[lost]
    findings = compare_case(case, real, answer)
    critical = {f.path for f in findings if f.severity == "critical"}
    prefix = f"{answer.events[0][0]}:" if answer.events else ""
    assert prefix + lost in critical


def test_a_new_field_in_reality_is_a_warning(mock: MockServer) -> None:
    from aimock.drift.run import ask

    case = _case("anthropic.messages/text/plain")
    real = load_capture(CAPTURES, case)
    assert real is not None
    real.body["brand_new_field"] = {"depth": 1}
    findings = compare_case(case, real, ask(mock.url, case))
    assert {(f.severity, f.path) for f in findings} == {
        ("warning", "brand_new_field"),
        ("warning", "brand_new_field.depth"),
    }


def test_a_changed_stream_order_is_critical(mock: MockServer) -> None:
    from aimock.drift.run import ask

    case = _case("openai.responses/text/stream")
    real = load_capture(CAPTURES, case)
    assert real is not None
    events = real.events
    events[2], events[3] = events[3], events[2]  # content part before its item
    findings = compare_case(case, real, ask(mock.url, case))
    assert ("critical", "(events)") in {(f.severity, f.path) for f in findings}


def test_a_missing_terminator_is_critical() -> None:
    case = _case("openai.chat/text/stream")
    real = load_capture(CAPTURES, case)
    assert real is not None
    cut = Answer(events=real.events[:-1])
    findings = compare_case(case, real, cut)
    assert ("critical", "(terminator)") in {(f.severity, f.path) for f in findings}


def test_a_type_change_is_critical() -> None:
    found = compare_shapes("c", {"usage.total": "number"}, {"usage.total": "string"}, set())
    assert [(f.severity, f.path) for f in found] == [("critical", "usage.total")]


def test_the_command_writes_json_and_fails_on_critical(tmp_path: Path) -> None:
    clean = tmp_path / "clean.json"
    assert cli.main(["drift", "--json", str(clean)]) == 0
    report = json.loads(clean.read_text())
    assert report["verdict"] == "ok" and len(report["cases"]) == len(CASES)

    broken = tmp_path / "captures"
    shutil.copytree(CAPTURES, broken)
    capture = broken / "anthropic.messages.plain.json"
    body = json.loads(capture.read_text())
    body["body"]["usage"]["output_tokens"] = "eight"  # reality says string: the mock differs
    capture.write_text(json.dumps(body))
    assert cli.main(["drift", "--against", str(broken), "--surface", "anthropic.messages"]) == 1


def test_a_surface_without_a_capture_is_reported(tmp_path: Path) -> None:
    assert cli.main(["drift", "--against", str(tmp_path), "--surface", "gemini.generate"]) == 0
