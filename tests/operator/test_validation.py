"""Pure validation of MockStack/Fixture/ChaosPolicy bodies, and the webhook handlers over it."""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import kopf
import pytest
import yaml
from cryptography import x509

from aimock.fixtures.loading import LoadError, load_text
from aimock_operator import validation, webhook
from aimock_operator.validation import Problem

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {
    d["kind"]: d for d in yaml.safe_load_all((ROOT / "examples/mockstack.yaml").read_text())
}


def _fixture(*fixtures: dict[str, Any], name: str = "checkout") -> dict[str, Any]:
    return {
        "apiVersion": "aimock.dev/v1alpha1",
        "kind": "Fixture",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"fixtures": list(fixtures)},
    }


def _ok(**response: Any) -> dict[str, Any]:
    return {"match": {"userMessage": "hello"}, "response": response or {"content": "hi"}}


# --- good bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["MockStack", "Fixture", "ChaosPolicy"])
def test_the_examples_are_valid(kind: str) -> None:
    assert validation.validate(EXAMPLES[kind]) == []


def test_an_empty_mockstack_is_valid() -> None:
    assert validation.validate_mockstack({"kind": "MockStack", "metadata": {"name": "s"}}) == []


def test_a_kopf_body_is_accepted_as_it_is() -> None:
    body = kopf.Body(copy.deepcopy(EXAMPLES["Fixture"]))
    assert validation.validate_fixture(body) == []


# --- bad fixtures --------------------------------------------------------------------------------


def test_a_bad_regex_names_the_field_and_the_regex_error() -> None:
    body = _fixture(
        _ok(), {"match": {"userMessage": {"regex": "(unclosed"}}, "response": {"content": "x"}}
    )
    (problem,) = validation.validate_fixture(body)
    assert problem.field == "spec.fixtures[1].match.userMessage"
    assert problem.reason.startswith("invalid regex '(unclosed': missing )")


def test_an_unknown_field_is_named() -> None:
    body = _fixture({**_ok(), "respone": {"content": "typo"}})
    assert validation.validate_fixture(body) == [
        Problem("spec.fixtures[0].respone", "unknown field")
    ]


def test_a_missing_response_is_refused() -> None:
    body = _fixture({"match": {"userMessage": "hello"}})
    assert validation.validate_fixture(body) == [
        Problem("spec.fixtures[0]", "response is missing: give a response (or a sequence)")
    ]


def test_response_and_sequence_together_are_refused() -> None:
    body = _fixture({**_ok(), "sequence": [{"content": "a"}]})
    assert validation.validate_fixture(body) == [
        Problem("spec.fixtures[0]", "give either response or sequence, not both")
    ]


def test_a_wrongly_shaped_text_match_is_refused() -> None:
    body = _fixture({"match": {"userMessage": 42}, "response": {"content": "x"}})
    assert validation.validate_fixture(body) == [
        Problem(
            "spec.fixtures[0].match.userMessage",
            "expected a string, or an object with contains, equals or regex",
        )
    ]


def test_a_fixture_without_spec_is_refused() -> None:
    assert validation.validate_fixture({"kind": "Fixture", "metadata": {"name": "x"}}) == [
        Problem("spec", "required field is missing")
    ]


def test_a_fixture_resource_without_fixtures_is_refused_as_the_crd_does() -> None:
    assert validation.validate_fixture(_fixture()) == [
        Problem("spec.fixtures", "an empty list; give at least one")
    ]


def test_every_problem_is_reported_not_only_the_first() -> None:
    body = _fixture(
        {"bogus": 1, **_ok()}, {"match": {"model": {"regex": "["}}, "response": {"content": "x"}}
    )
    fields = [p.field for p in validation.validate_fixture(body)]
    assert fields == ["spec.fixtures[0].bogus", "spec.fixtures[1].match.model"]


def test_problems_are_worded_as_the_loader_words_them() -> None:
    """The webhook and `aimock serve -f` must say the same thing about the same document."""
    body = _fixture(
        {"match": {"userMessage": {"regex": "("}}, "response": {"content": "x"}},
        {"match": {}, "response": {}},
        {"response": {"content": "x"}, "chunkSize": 0},
    )
    with pytest.raises(LoadError) as caught:
        load_text(yaml.safe_dump(body), "fixture.yaml")
    from_loader = [(p.field, p.reason) for p in caught.value.problems]
    from_validation = [(p.field, p.reason) for p in validation.validate_fixture(body)]
    assert from_validation == from_loader
    assert len(from_validation) == 3


# --- bad stacks and chaos policies ---------------------------------------------------------------


def test_a_rate_above_one_is_refused() -> None:
    body = {"kind": "ChaosPolicy", "spec": {"dropRate": 1.5, "malformedRate": -0.1}}
    assert validation.validate_chaospolicy(body) == [
        Problem("spec.dropRate", "Input should be less than or equal to 1"),
        Problem("spec.malformedRate", "Input should be greater than or equal to 0"),
    ]


def test_a_chaos_policy_without_spec_is_refused() -> None:
    assert validation.validate_chaospolicy({"kind": "ChaosPolicy"}) == [
        Problem("spec", "required field is missing")
    ]


def test_label_selectors_are_checked() -> None:
    body = {
        "kind": "ChaosPolicy",
        "spec": {
            "selector": {
                "matchLabels": {"app name": "x", "tier": "front end"},
                "matchExpressions": [
                    {"key": "env", "operator": "In"},
                    {"key": "team", "operator": "Exists", "values": ["a"]},
                    {"key": "zone", "operator": "Near", "values": ["a"]},
                ],
                "matchNames": ["x"],
            }
        },
    }
    assert validation.validate_chaospolicy(body) == [
        Problem(
            "spec.selector.matchNames", "unknown field; expected matchLabels or matchExpressions"
        ),
        Problem("spec.selector.matchLabels.app name", "invalid label name 'app name'"),
        Problem("spec.selector.matchLabels.tier", "invalid label value 'front end'"),
        Problem("spec.selector.matchExpressions[0].values", "In needs at least one value"),
        Problem("spec.selector.matchExpressions[1].values", "Exists takes no values"),
        Problem(
            "spec.selector.matchExpressions[2].operator",
            "expected one of In, NotIn, Exists, DoesNotExist",
        ),
    ]


def test_valid_label_selectors_pass() -> None:
    selector = {
        "matchLabels": {"app.kubernetes.io/name": "checkout", "tier": ""},
        "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}],
    }
    assert validation.label_selector_problems(selector, "s") == []


def test_an_unknown_surface_is_refused_with_the_known_ones() -> None:
    body = {"kind": "MockStack", "spec": {"surfaces": ["openai", "openai.chats"]}}
    (problem,) = validation.validate_mockstack(body)
    assert problem.field == "spec.surfaces[1]"
    assert problem.reason.startswith("unknown surface 'openai.chats'; known: ")
    assert "openai.chat," in problem.reason


def test_mockstack_model_and_kubernetes_fields_are_both_checked() -> None:
    body = {
        "kind": "MockStack",
        "spec": {
            "replicas": -1,
            "profile": "turbo",
            "fixtureSelector": {"matchLabel": {"app": "x"}},
            "scheduling": {"nodeSelector": {"a": "b"}, "nodeName": "n1"},
            "resources": {"limits": {"cpu": "1"}, "limit": {}},
        },
    }
    problems = validation.validate_mockstack(body)
    assert [p.field for p in problems] == [
        "spec.profile",
        "spec.profile",
        "spec.replicas",
        "spec.fixtureSelector.matchLabel",
        "spec.scheduling.nodeName",
        "spec.resources.limit",
    ]


def test_validate_dispatches_on_kind() -> None:
    assert validation.validate({"kind": "Widget"}) == [
        Problem("kind", "unknown kind 'Widget'; expected one of MockStack, Fixture, ChaosPolicy")
    ]


def test_summary_is_one_line_and_bounded() -> None:
    problems = [Problem(f"spec.f{i}", "bad") for i in range(7)]
    text = validation.summary(problems, limit=2)
    assert text == "spec.f0: bad; spec.f1: bad; and 5 more"


# --- the webhook handlers ------------------------------------------------------------------------


def test_the_webhook_refuses_a_bad_fixture_naming_field_and_reason() -> None:
    body = kopf.Body(
        _fixture({"match": {"userMessage": {"regex": "("}}, "response": {"content": "x"}})
    )
    with pytest.raises(kopf.AdmissionError) as caught:
        webhook.validate_fixture(body=body, old=None, operation="CREATE")
    assert caught.value.code == 422
    assert str(caught.value).startswith(
        "Fixture checkout is invalid: spec.fixtures[0].match.userMessage: invalid regex '('"
    )


def test_the_webhook_admits_good_resources() -> None:
    webhook.validate_mockstack(body=kopf.Body(EXAMPLES["MockStack"]), old=None)
    webhook.validate_fixture(body=kopf.Body(EXAMPLES["Fixture"]), old=None)
    webhook.validate_chaospolicy(body=kopf.Body(EXAMPLES["ChaosPolicy"]), old=None)


def test_the_webhook_refuses_bad_stacks_and_policies() -> None:
    with pytest.raises(kopf.AdmissionError, match=r"MockStack s is invalid: spec.strict: "):
        webhook.validate_mockstack(
            body={"kind": "MockStack", "metadata": {"name": "s"}, "spec": {"strict": "maybe"}}
        )
    with pytest.raises(kopf.AdmissionError, match=r"ChaosPolicy c is invalid: spec.dropRate: "):
        webhook.validate_chaospolicy(
            body={"kind": "ChaosPolicy", "metadata": {"name": "c"}, "spec": {"dropRate": 2}}
        )


def test_an_update_that_keeps_an_invalid_spec_is_let_through() -> None:
    """Labels, annotations and kopf's bookkeeping must work on a resource that predates the
    webhook; the operator reports such a resource in a Condition instead."""
    old = _fixture({"match": {"userMessage": "x"}})  # no response: invalid
    new = copy.deepcopy(old)
    new["metadata"]["annotations"] = {"aimock.dev/last-handled": "..."}
    webhook.validate_fixture(body=kopf.Body(new), old=kopf.Body(old), operation="UPDATE")
    new["spec"]["fixtures"][0]["match"]["userMessage"] = "y"
    with pytest.raises(kopf.AdmissionError, match="response is missing"):
        webhook.validate_fixture(body=kopf.Body(new), old=kopf.Body(old), operation="UPDATE")


def test_register_puts_a_validating_handler_on_each_kind() -> None:
    # A fresh registry: other tests (kopf runners) replace kopf's default one.
    registry = kopf.OperatorRegistry()
    webhook.register(registry)
    handlers = {h.id: h for h in registry._webhooks.get_all_handlers()}
    for plural, path in webhook.WEBHOOK_PATHS.items():
        handler = handlers[path.lstrip("/")]
        assert handler.selector is not None
        assert handler.selector.plural == plural
        assert handler.selector.group == "aimock.dev"
        assert set(handler.operations or ()) == {"CREATE", "UPDATE"}
        assert handler.subresource is None  # never /status: the operator reports there


# --- certificates and the HTTPS server -----------------------------------------------------------


def _sans(path: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in names}


def test_certificates_cover_every_name_and_chain_to_the_ca(tmp_path: Path) -> None:
    sans = ["localhost", "127.0.0.1", "aimock-webhook.ops.svc", "::1"]
    certs = webhook.ensure_certificates(tmp_path, sans)
    assert _sans(certs.cert) == {"localhost", "127.0.0.1", "aimock-webhook.ops.svc", "::1"}
    ca = x509.load_pem_x509_certificate(certs.ca.read_bytes())
    leaf = x509.load_pem_x509_certificate(certs.cert.read_bytes())
    leaf.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert leaf.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > datetime.timedelta(
        days=300
    )
    assert certs.key.stat().st_mode & 0o077 == 0  # the private key is not world-readable


def test_certificates_are_reused_while_they_fit_and_remade_when_names_change(
    tmp_path: Path,
) -> None:
    first = webhook.ensure_certificates(tmp_path, ["localhost", "127.0.0.1"])
    pem = first.cert.read_bytes()
    assert webhook.ensure_certificates(tmp_path, ["127.0.0.1"]).cert.read_bytes() == pem
    remade = webhook.ensure_certificates(tmp_path, ["127.0.0.1", "hook.ns.svc"])
    assert remade.cert.read_bytes() != pem
    assert "hook.ns.svc" in _sans(remade.cert)


def test_provided_certificates_are_never_replaced(tmp_path: Path) -> None:
    made = webhook.ensure_certificates(tmp_path / "made", ["localhost"])
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    for path in (made.ca, made.cert, made.key):
        (mounted / path.name).write_bytes(path.read_bytes())
    # Names the mounted certificate lacks: still used as is (a Secret mount is read-only).
    certs = webhook.ensure_certificates(mounted, ["other.example"])
    assert certs.cert.read_bytes() == made.cert.read_bytes()


async def test_the_webhook_server_serves_https_with_the_made_certificates(tmp_path: Path) -> None:
    server = webhook.webhook_server("127.0.0.1", 0, tmp_path, ["hook.ns.svc"])
    assert _sans(Path(str(server.certfile))) >= {"127.0.0.1", "localhost", "hook.ns.svc"}
    server.port = None  # let kopf pick a free port

    seen: list[tuple[Any, str | None]] = []

    async def review(request: Any, *, webhook: str | None = None, **_: Any) -> dict[str, Any]:
        seen.append((request, webhook))
        return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {}}

    configs = server(review)
    config = await configs.__anext__()
    try:
        assert config["url"].startswith("https://127.0.0.1:")
        assert config["caBundle"]  # the CA the webhook configuration must trust
        context = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        async with aiohttp.ClientSession() as session:
            url = config["url"] + "/validate-fixture"
            async with session.post(url, json={"request": {"uid": "1"}}, ssl=context) as reply:
                assert reply.status == 200
                assert (await reply.json())["kind"] == "AdmissionReview"
        assert seen == [({"request": {"uid": "1"}}, "validate-fixture")]
    finally:
        await configs.aclose()
        await asyncio.sleep(0)


def test_webhook_paths_are_json_serialisable_for_the_chart() -> None:
    assert json.loads(json.dumps(webhook.WEBHOOK_PATHS)) == {
        "mockstacks": "/validate-mockstack",
        "fixtures": "/validate-fixture",
        "chaospolicies": "/validate-chaospolicy",
    }
