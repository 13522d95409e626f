"""`spec.record` in a cluster: the server's record flags, keys from a Secret, and the
ServiceAccount that lets recordings become Fixture resources; refused without one."""

from __future__ import annotations

from typing import Any

import pytest

from aimock.recording import cluster
from aimock_operator import validation
from aimock_operator.render.recording import key_variable
from tests.operator.test_render import pod_spec, render, stack_body

RECORD = {
    "providers": {"openai": "https://api.openai.com", "anthropic": "https://api.anthropic.com"},
    "keysSecret": "provider-keys",
    "serviceAccountName": "aimock-recorder",
    "upstreamTimeoutMs": 20000,
}


def _flag_values(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == flag]


def test_record_mode_gives_the_server_its_flags_keys_and_service_account() -> None:
    pod = pod_spec(render(stack_body(record=RECORD)))
    container = pod["containers"][0]
    args = container["args"]
    assert "--record" in args and "--proxy-only" not in args
    assert _flag_values(args, "--provider-openai") == ["https://api.openai.com"]
    assert _flag_values(args, "--provider-anthropic") == ["https://api.anthropic.com"]
    assert _flag_values(args, "--upstream-timeout-ms") == ["20000"]
    assert _flag_values(args, "--record-to-cluster") == ["team-a/preview"]
    # The example stack selects app=checkout: its recordings carry that label, so it serves them.
    assert _flag_values(args, "--record-label") == ["app=checkout"]
    assert pod["serviceAccountName"] == "aimock-recorder"
    assert pod["automountServiceAccountToken"] is True
    keys = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in container["env"]}
    assert keys.pop("AIMOCK_ADMIN_TOKEN") == {"name": "preview-admin-token", "key": "token"}
    assert keys == {
        "AIMOCK_PROVIDER_ANTHROPIC_KEY": {
            "name": "provider-keys",
            "key": "anthropic",
            "optional": True,
        },
        "AIMOCK_PROVIDER_OPENAI_KEY": {"name": "provider-keys", "key": "openai", "optional": True},
    }


def test_proxy_only_relays_with_keys_but_never_talks_to_the_cluster() -> None:
    record = {k: v for k, v in RECORD.items() if k != "serviceAccountName"}
    pod = pod_spec(render(stack_body(record={**record, "mode": "proxy-only"})))
    args = pod["containers"][0]["args"]
    assert "--proxy-only" in args and "--record-to-cluster" not in args
    assert pod["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in pod
    assert len(pod["containers"][0]["env"]) == 3  # two provider keys and the admin token


def test_without_record_the_pod_has_no_token_and_no_record_flags() -> None:
    pod = pod_spec(render(stack_body()))
    assert pod["automountServiceAccountToken"] is False
    assert not any(
        arg.startswith(("--record", "--provider-")) for arg in pod["containers"][0]["args"]
    )


def test_record_mode_without_a_service_account_is_refused_naming_the_field() -> None:
    record = {k: v for k, v in RECORD.items() if k != "serviceAccountName"}
    problems = validation.validate_mockstack(stack_body(record=record))
    assert [p.field for p in problems] == ["spec.record.serviceAccountName"]
    assert "proxy-only" in problems[0].reason


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"providers": {}}, "spec.record.providers"),
        ({"providers": {"openia": "https://x"}}, "spec.record.providers"),
        ({"providers": {"openai": "ftp://x"}}, "spec.record.providers"),
        ({"providers": {"openai": "https://x"}, "mode": "replay"}, "spec.record.mode"),
        ({"providers": {"openai": "https://x"}, "bodyTimeoutMs": 0}, "spec.record.bodyTimeoutMs"),
    ],
)
def test_a_bad_record_section_names_its_field(record: dict[str, Any], field: str) -> None:
    record = {"serviceAccountName": "r", **record}
    problems = validation.validate_mockstack(stack_body(record=record))
    assert problems and problems[0].field.startswith(field), problems


def test_key_variables_are_the_ones_the_server_reads() -> None:
    assert key_variable("openai") == "AIMOCK_PROVIDER_OPENAI_KEY"
    assert key_variable("vertexai") == "AIMOCK_PROVIDER_VERTEXAI_KEY"


@pytest.mark.parametrize(
    "test_id",
    ["checkout flow/1", "A" * 300, "ünïcode test", "..", "x" * 40 + "-" * 40 + "y"],
)
def test_recorded_fixture_names_are_dns_labels(test_id: str) -> None:
    name = cluster.fixture_name("preview", "openai", test_id)
    assert len(name) <= 63
    assert name[0].isalnum() and name[-1].isalnum()
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


def test_long_test_ids_keep_distinct_names() -> None:
    first = cluster.fixture_name("preview", "openai", "a" * 100 + "1")
    second = cluster.fixture_name("preview", "openai", "a" * 100 + "2")
    assert first != second


def test_a_pulled_manifest_keeps_name_labels_and_fixtures_only() -> None:
    stored = {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "Fixture",
        "metadata": {
            "name": "rec-preview-openai-t1",
            "namespace": "team-a",
            "uid": "u",
            "resourceVersion": "9",
            "managedFields": [{}],
            "labels": {"app": "checkout", cluster.RECORDED_BY: "preview"},
        },
        "spec": {"fixtures": [{"match": {"userMessage": "hi"}, "response": {"content": "yo"}}]},
        "status": {"accepted": True},
    }
    assert cluster.clean_manifest(stored) == {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "Fixture",
        "metadata": {"name": "rec-preview-openai-t1", "labels": {"app": "checkout"}},
        "spec": stored["spec"],
    }
