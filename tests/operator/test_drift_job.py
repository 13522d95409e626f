"""`spec.drift`: the CronJob that runs `aimock drift --live` and reports to the stack's status,
refused schedules named, and the verdict as the status writes it."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from aimock.drift.compare import Finding
from aimock.drift.report import status_of
from aimock.drift.run import Report
from aimock_operator import validation
from aimock_operator.render.deployment import container_security
from tests.operator.test_render import IMAGE, render, stack_body

DRIFT = {
    "schedule": "0 5 * * 1",
    "keysSecret": "drift-keys",
    "surfaces": ["openai.chat", "anthropic.messages"],
    "serviceAccountName": "aimock-drift",
}


def test_spec_drift_renders_a_cron_job_running_the_check_with_the_stack_image() -> None:
    job = render(stack_body(drift=DRIFT)).drift_job
    assert job is not None
    assert job["metadata"]["name"] == "preview-drift"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "MockStack"
    spec = job["spec"]
    assert spec["schedule"] == "0 5 * * 1"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 0
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "aimock-drift"
    assert pod["restartPolicy"] == "Never"
    [container] = pod["containers"]
    assert container["image"] == IMAGE
    assert container["args"] == [
        "drift",
        "--live",
        "--report-to",
        "team-a/preview",
        "--surface",
        "openai.chat",
        "--surface",
        "anthropic.messages",
    ]
    assert container["envFrom"] == [{"secretRef": {"name": "drift-keys", "optional": True}}]
    assert container["securityContext"] == container_security()


def test_without_spec_drift_there_is_no_job() -> None:
    rendered = render(stack_body())
    assert rendered.drift_job is None
    assert [o["kind"] for o in rendered.objects].count("CronJob") == 0


@pytest.mark.parametrize(
    ("drift", "field"),
    [
        ({"schedule": "every day"}, "spec.drift.schedule"),
        ({"schedule": "* * * *"}, "spec.drift.schedule"),
        ({"schedule": "@sometimes"}, "spec.drift.schedule"),
        ({"surfaces": ["cohere.chat"]}, "spec.drift.surfaces"),
        ({"serviceAccountName": None}, "spec.drift.serviceAccountName"),
    ],
)
def test_a_bad_drift_section_names_its_field(drift: dict[str, Any], field: str) -> None:
    problems = validation.validate_mockstack(stack_body(drift={**DRIFT, **drift}))
    assert problems and problems[0].field.startswith(field), problems


@pytest.mark.parametrize("schedule", ["@daily", "*/15 * * * *", "0 6 * * MON-FRI", "5 4 1,15 * ?"])
def test_cron_schedules_kubernetes_takes_are_accepted(schedule: str) -> None:
    assert validation.validate_mockstack(stack_body(drift={**DRIFT, "schedule": schedule})) == []


def test_the_status_names_the_verdict_its_critical_findings_and_what_was_live() -> None:
    report = Report(
        cases={"openai.chat/text/plain": "critical", "anthropic.messages/text/plain": "warning"},
        findings=[
            Finding("openai.chat/text/plain", "critical", "usage", "reality has it"),
            Finding("anthropic.messages/text/plain", "warning", "(live)", "no key"),
        ],
    )
    now = datetime.datetime(2026, 12, 5, 6, 17, tzinfo=datetime.UTC)
    status = status_of(report, now, live=True)
    assert status == {
        "verdict": "critical",
        "checkedAt": "2026-12-05T06:17:00Z",
        "cases": report.cases,
        "findings": 2,
        "critical": ["openai.chat/text/plain usage: reality has it"],
        "live": ["openai.chat/text/plain"],
    }
    assert status_of(report, now, live=False)["live"] == []
