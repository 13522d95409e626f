"""The handlers' behaviour against an in-memory API (k8s.py's functions replaced).

Each test drives the Reconciler the way kopf would (a stack created, a Fixture edited, a
policy's timer firing) and asserts what ended up applied and reported.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
import pytest
import yaml

from aimock_operator import handlers, k8s
from aimock_operator.__main__ import kopf_args
from aimock_operator.handlers import Reconciler, register
from aimock_operator.render import selectors
from aimock_operator.render.status import Serving
from aimock_operator.settings import (
    DigestDiffBaseStorage,
    Options,
    Webhook,
    configure,
    digest,
    from_env,
)
from tests.operator.test_render import IMAGE, example_documents, fixture_body

NS = "team-a"
LOG = logging.getLogger("test-handlers")
T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
PLURALS = {
    "ConfigMap": "configmaps",
    "Service": "services",
    "Deployment": "deployments",
    "CronJob": "cronjobs",
}


def _requirement(term: str) -> selectors.Requirement:
    """One term of a label query as Selector.query() writes it."""
    term = term.strip()
    found = re.fullmatch(r"(\S+) (in|notin) \((.*)\)", term)
    if found:
        key, word, values = found.groups()
        operator = "In" if word == "in" else "NotIn"
        return selectors.Requirement(key, operator, tuple(values.split(",")))
    if "=" in term:
        key, value = term.split("=", 1)
        return selectors.Requirement(key, "In", (value,))
    if term.startswith("!"):
        return selectors.Requirement(term[1:], "DoesNotExist")
    return selectors.Requirement(term, "Exists")


def matches(query: str | None, labels: dict[str, str]) -> bool:
    if not query:
        return True
    terms = re.findall(r"[^,(]+(?:\([^)]*\))?", query)
    return all(_requirement(t).matches(labels) for t in terms)


class FakeApi:
    """Objects by (plural, namespace, name); server-side apply replaces, status merges."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.applied: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.created: list[dict[str, Any]] = []  # Secrets, which are created, never applied
        self.fail_kind: str | None = None
        self.failure: k8s.ApiError | None = None  # what applying fail_kind raises
        self.nudges: list[tuple[str, dict[str, str]]] = []  # pod annotations patched
        # What each pod's /health answers: the config hash it serves, or the error it raises.
        self.pod_health: dict[str, str | k8s.ApiError] = {}
        self.pod_asks = 0
        self.pod_schemes: dict[str, str] = {}  # the scheme each pod was last asked with
        self.status_writes = 0
        self._uids = 0

    def _uid(self) -> str:
        self._uids += 1
        return f"uid-{self._uids}"

    # --- what tests use to set the scene ---

    def add(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(body)
        meta = body["metadata"]
        meta.setdefault("namespace", NS)
        meta.setdefault("generation", 1)
        meta["uid"] = meta.get("uid") or self._uid()
        self.objects[(plural, NS, meta["name"])] = body
        return copy.deepcopy(body)

    def edit(self, plural: str, name: str, **spec: Any) -> dict[str, Any]:
        body = self.objects[(plural, NS, name)]
        body["spec"].update(spec)
        body["metadata"]["generation"] += 1
        return copy.deepcopy(body)

    def relabel(self, plural: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
        body = self.objects[(plural, NS, name)]
        body["metadata"]["labels"] = labels
        return copy.deepcopy(body)

    def remove(self, plural: str, name: str) -> dict[str, Any]:
        return self.objects.pop((plural, NS, name))

    def one(self, plural: str, name: str) -> dict[str, Any]:
        return self.objects[(plural, NS, name)]

    def has(self, plural: str, name: str) -> bool:
        return (plural, NS, name) in self.objects

    def config(self, stack: str = "preview") -> dict[str, str]:
        merged: dict[str, str] = {}
        for (plural, _, name), obj in sorted(self.objects.items()):
            if plural == "configmaps" and name.startswith(f"{stack}-config-"):
                merged.update(obj["data"])
        return merged

    # --- the k8s.py surface ---

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        if obj["kind"] == self.fail_kind:
            raise self.failure or k8s.ApiError(
                422, f"{obj['kind']} is invalid: spec.template: broken"
            )
        self.applied.append(copy.deepcopy(obj))
        key = (PLURALS[obj["kind"]], obj["metadata"]["namespace"], obj["metadata"]["name"])
        stored = copy.deepcopy(obj)
        previous = self.objects.get(key)
        stored["metadata"]["uid"] = previous["metadata"]["uid"] if previous else self._uid()
        if previous and "status" in previous:
            stored["status"] = previous["status"]
        if obj["kind"] == "Deployment":
            changed = previous is None or previous["spec"] != obj["spec"]
            generation = previous["metadata"].get("generation", 1) if previous else 1
            stored["metadata"]["generation"] = generation + (1 if previous and changed else 0)
        self.objects[key] = stored
        return copy.deepcopy(stored)

    async def apply_all(self, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [await self.apply(o) for o in objects]

    async def get(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((plural, namespace, name))
        return copy.deepcopy(found) if found else None

    async def list_resources(
        self, plural: str, namespace: str, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            copy.deepcopy(obj)
            for (p, ns, _), obj in sorted(self.objects.items())
            if p == plural
            and ns == namespace
            and matches(label_selector, obj["metadata"].get("labels") or {})
        ]

    async def list_config_maps(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        return await self.list_resources("configmaps", namespace, label_selector)

    async def list_pods(self, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        return await self.list_resources("pods", namespace, label_selector)

    async def annotate_pod(self, namespace: str, name: str, annotations: dict[str, str]) -> None:
        pod = self.objects[("pods", namespace, name)]
        pod["metadata"].setdefault("annotations", {}).update(annotations)
        self.nudges.append((name, dict(annotations)))

    async def pod_get(
        self, namespace: str, pod: str, port: int, path: str, *, scheme: str = "http"
    ) -> bytes:
        assert (namespace, port, path) == (NS, 4010, "/health")
        self.pod_asks += 1
        self.pod_schemes[pod] = scheme
        answer = self.pod_health[pod]
        if isinstance(answer, k8s.ApiError):
            raise answer
        return json.dumps({"status": "ok", "configHash": answer}).encode()

    async def patch_status(
        self, plural: str, namespace: str, name: str, status: dict[str, Any]
    ) -> None:
        obj = self.objects.get((plural, namespace, name))
        if obj is None:
            return
        self.status_writes += 1
        merged = {**obj.get("status", {}), **copy.deepcopy(status)}
        obj["status"] = {k: v for k, v in merged.items() if v is not None}

    async def get_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self.get("deployments", namespace, name)

    async def delete_config_map(self, namespace: str, name: str, uid: str) -> None:
        obj = self.objects.get(("configmaps", namespace, name))
        if obj is not None and obj["metadata"]["uid"] == uid:
            del self.objects[("configmaps", namespace, name)]
            self.deleted.append(name)

    async def get_secret_metadata(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get(("secrets", namespace, name))
        return {"metadata": copy.deepcopy(found["metadata"])} if found else None

    async def create_secret(self, obj: dict[str, Any]) -> bool:
        key = ("secrets", obj["metadata"]["namespace"], obj["metadata"]["name"])
        if key in self.objects:
            return False  # 409 AlreadyExists
        self.created.append(copy.deepcopy(obj))
        stored = copy.deepcopy(obj)
        stored["metadata"]["uid"] = self._uid()
        self.objects[key] = stored
        return True

    async def delete_owned_cron_job(self, namespace: str, name: str, owner_uid: str) -> None:
        obj = self.objects.get(("cronjobs", namespace, name))
        owners = {r["uid"] for r in (obj or {}).get("metadata", {}).get("ownerReferences", [])}
        if obj is not None and owner_uid in owners:
            del self.objects[("cronjobs", namespace, name)]
            self.deleted.append(name)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    fake = FakeApi()
    for name in (
        "apply",
        "apply_all",
        "get",
        "list_resources",
        "list_config_maps",
        "list_pods",
        "annotate_pod",
        "pod_get",
        "patch_status",
        "get_deployment",
        "delete_config_map",
        "delete_owned_cron_job",
        "get_secret_metadata",
        "create_secret",
    ):
        monkeypatch.setattr(k8s, name, getattr(fake, name))
    yield fake


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reconciler(clock: Clock) -> Reconciler:
    return Reconciler(Options(image=IMAGE, nudge_again=0, serving_patience=0), clock=clock)


def seed(api: FakeApi) -> dict[str, dict[str, Any]]:
    """The example's MockStack and Fixture, as if applied with kubectl."""
    docs = example_documents()
    for doc in docs.values():
        del doc["metadata"]["uid"]
    return {
        "stack": api.add("mockstacks", docs["MockStack"]),
        "fixture": api.add("fixtures", docs["Fixture"]),
        "policy": docs["ChaosPolicy"],
    }


def conditions(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in body["status"]["conditions"]}


def bad_fixture(name: str = "broken") -> dict[str, Any]:
    body = fixture_body(name)
    body["spec"]["fixtures"][0]["match"]["userMessage"] = {"regex": "order ["}
    del body["metadata"]["uid"]
    return body


# --- MockStack ---------------------------------------------------------------------------------


async def test_reconcile_applies_every_child_and_reports_status(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    assert [(o["kind"], o["metadata"]["name"]) for o in api.applied] == [
        ("ConfigMap", "preview-config-0"),
        ("ConfigMap", "preview-endpoints"),
        ("Service", "preview"),
        ("Deployment", "preview"),
    ]
    assert sorted(api.config()) == ["00-mockstack.yaml", "10-fixture-checkout-assistant.yaml"]
    stack = api.one("mockstacks", "preview")
    deployment = api.one("deployments", "preview")
    status = stack["status"]
    assert status["configHash"] == deployment["metadata"]["annotations"]["aimock.dev/config-hash"]
    assert status["fixtures"] == 3
    assert status["observedGeneration"] == 1
    assert status["endpoint"] == "http://preview.team-a.svc.cluster.local:4010"
    assert status["selectedFixtures"] == ["checkout-assistant"]
    assert {t: c["status"] for t, c in conditions(stack).items()} == {
        "Ready": "False",  # no pod is ready yet
        "Reconciling": "True",  # kstatus: the rollout runs
        "Stalled": "False",
        "Progressing": "True",
        "ConfigServed": "Unknown",  # no pod has said it serves this config yet
        "FixturesValid": "True",
        "ChaosActive": "False",
        "Reconciled": "True",
    }
    fixture = api.one("fixtures", "checkout-assistant")
    assert fixture["status"]["accepted"] is True
    assert fixture["status"]["stacks"] == ["preview"]


async def test_spec_drift_schedules_a_check_and_removing_it_removes_the_schedule(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    drift = {"schedule": "0 5 * * 1", "serviceAccountName": "drift-reporter"}
    api.edit("mockstacks", "preview", drift=drift)
    await reconciler.reconcile(NS, ["preview"], LOG)
    job = api.one("cronjobs", "preview-drift")
    assert job["spec"]["schedule"] == "0 5 * * 1"
    assert [o["kind"] for o in api.applied][-1] == "Deployment"  # still last: Ready reads it
    # The verdict the job writes survives the operator's own status reports.
    api.one("mockstacks", "preview")["status"]["drift"] = {"verdict": "ok"}
    api.edit("mockstacks", "preview", drift=None)
    await reconciler.reconcile(NS, ["preview"], LOG)
    assert not api.has("cronjobs", "preview-drift")
    assert api.one("mockstacks", "preview")["status"]["drift"] == {"verdict": "ok"}


async def test_reconcile_twice_changes_nothing(api: FakeApi, reconciler: Reconciler) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    objects = copy.deepcopy(api.objects)
    await reconciler.reconcile(NS, ["preview"], LOG)
    assert api.objects == objects
    assert len(api.applied) == 4  # rendered as last applied: nothing is applied again
    await reconciler.reconcile(NS, ["preview"], LOG, repair=True)  # the resync clock's
    assert api.objects == objects
    assert api.applied[:4] == api.applied[4:]


async def test_deployment_readiness_makes_the_stack_ready(
    api: FakeApi, reconciler: Reconciler, clock: Clock
) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    deployment = api.one("deployments", "preview")
    deployment["status"] = {
        "observedGeneration": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "conditions": [{"type": "Available", "status": "True"}],
    }
    clock.now += timedelta(seconds=4)
    await reconciler.deployment_event("MODIFIED", copy.deepcopy(deployment), LOG)
    stack = api.one("mockstacks", "preview")
    ready = conditions(stack)["Ready"]
    assert (ready["status"], ready["reason"]) == ("True", "Available")
    assert ready["lastTransitionTime"] == "2026-11-25T12:00:04Z"
    assert stack["status"]["readyReplicas"] == 1
    # The event's body may be stale: what counts is the Deployment as it is now.
    stale = copy.deepcopy(deployment)
    stale["status"]["readyReplicas"] = 0
    await reconciler.deployment_event("MODIFIED", stale, LOG)
    assert api.one("mockstacks", "preview")["status"]["readyReplicas"] == 1
    # A Deployment of that name owned by something else is not ours to report on.
    deployment["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
    deployment["status"]["readyReplicas"] = 0
    await reconciler.deployment_event("MODIFIED", copy.deepcopy(deployment), LOG)
    assert api.one("mockstacks", "preview")["status"]["readyReplicas"] == 1


async def test_a_pod_in_a_crash_loop_stalls_a_settled_stack(
    api: FakeApi, reconciler: Reconciler
) -> None:
    """The Deployment says nothing new when its pod's container goes into a back-off; the
    pod's event does, and the stack stops calling itself Ready or rolling out."""
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    deployment = api.one("deployments", "preview")
    settled = {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
    deployment["status"] = {
        "observedGeneration": 1,
        "replicas": 1,
        "updatedReplicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
        "conditions": [settled],
    }
    await reconciler.deployment_event("MODIFIED", copy.deepcopy(deployment), LOG)
    assert conditions(api.one("mockstacks", "preview"))["Ready"]["status"] == "True"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    waiting = {"reason": "CrashLoopBackOff", "message": "back-off 10s restarting failed"}
    pod = {
        "metadata": {"name": "preview-a", "namespace": NS, "labels": dict(labels)},
        "status": {"containerStatuses": [{"name": "aimock", "state": {"waiting": waiting}}]},
    }
    api.add("pods", pod)
    deployment["status"].update(readyReplicas=0, availableReplicas=0)
    # A pod of the stack that is not in a back-off asks nothing.
    writes = api.status_writes
    await reconciler.pod_event("MODIFIED", {**pod, "status": {}})
    assert api.status_writes == writes
    await reconciler.pod_event("MODIFIED", copy.deepcopy(pod))
    found = conditions(api.one("mockstacks", "preview"))
    assert {t: found[t]["status"] for t in ("Ready", "Reconciling", "Stalled", "Progressing")} == {
        "Ready": "False",
        "Reconciling": "False",
        "Stalled": "True",
        "Progressing": "False",
    }
    assert found["Stalled"]["reason"] == "CrashLoopBackOff"
    assert "pod preview-a, container aimock: CrashLoopBackOff" in found["Stalled"]["message"]
    # Fixed (a pod became ready again): the Deployment's event clears it.
    api.remove("pods", "preview-a")
    deployment["status"].update(readyReplicas=1, availableReplicas=1)
    await reconciler.deployment_event("MODIFIED", copy.deepcopy(deployment), LOG)
    found = conditions(api.one("mockstacks", "preview"))
    assert (found["Ready"]["status"], found["Stalled"]["status"]) == ("True", "False")


async def test_deployment_deleted_by_hand_is_put_back(api: FakeApi, reconciler: Reconciler) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    gone = api.remove("deployments", "preview")
    await reconciler.deployment_event("DELETED", gone, LOG)
    assert api.has("deployments", "preview")


async def test_invalid_stack_spec_applies_nothing_and_names_the_field(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    served = api.config()
    applied = len(api.applied)
    api.edit("mockstacks", "preview", scheduling={"hostNetwork": True})
    await reconciler.reconcile(NS, ["preview"], LOG)
    assert len(api.applied) == applied
    assert api.config() == served
    stack = api.one("mockstacks", "preview")
    reconciled = conditions(stack)["Reconciled"]
    assert (reconciled["status"], reconciled["reason"]) == ("False", "InvalidSpec")
    assert "spec.scheduling.hostNetwork" in reconciled["message"]
    assert reconciled["message"].endswith("generation 1, the last applied, is served")
    assert stack["status"]["observedGeneration"] == 2
    assert stack["status"]["servedGeneration"] == 1


async def test_apply_failure_is_reported_and_retried(api: FakeApi, reconciler: Reconciler) -> None:
    seed(api)
    api.fail_kind = "Deployment"
    with pytest.raises(kopf.TemporaryError, match=r"spec\.template: broken"):
        await reconciler.reconcile(NS, ["preview"], LOG)
    reconciled = conditions(api.one("mockstacks", "preview"))["Reconciled"]
    assert (reconciled["status"], reconciled["reason"]) == ("False", "ApplyFailed")
    assert "spec.template: broken" in reconciled["message"]


async def test_a_namespace_being_deleted_is_left_to_its_deletion(
    api: FakeApi, reconciler: Reconciler
) -> None:
    """Deleting a namespace deletes the Deployment before the MockStack, and its event would
    put it back: the API refuses (NamespaceTerminating), and that is no failure to report."""
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    writes = api.status_writes
    api.fail_kind = "ConfigMap"
    api.failure = k8s.ApiError(
        403,
        'configmaps "preview-config-0" is forbidden: unable to create new content in namespace '
        "team-a because it is being terminated",
    )
    await reconciler.deployment_event("DELETED", api.one("deployments", "preview"), LOG)
    assert conditions(api.one("mockstacks", "preview"))["Reconciled"]["status"] == "True"
    assert api.status_writes == writes


async def test_reconciles_waiting_for_a_stack_coalesce(
    api: FakeApi, reconciler: Reconciler
) -> None:
    """A MockStack, its Fixture and its ChaosPolicy applied at once: the stack's own reconcile
    runs, one more waits its turn, and a third finds one waiting and leaves the work to it."""
    seed(api)
    lock = reconciler._lock(NS, "preview")
    await lock.acquire()  # a reconcile in progress
    second = asyncio.create_task(reconciler.reconcile_stack(NS, "preview", LOG))
    await asyncio.sleep(0)
    third = await reconciler.reconcile_stack(NS, "preview", LOG)  # returns at once
    assert third == set() and not api.applied
    lock.release()
    assert await second == {"checkout-assistant"}
    assert [o["kind"] for o in api.applied].count("Deployment") == 1


# --- the admin token ---------------------------------------------------------------------------


def token_of(api: FakeApi, name: str = "preview-admin-token") -> str:
    token: str = api.one("secrets", name)["stringData"]["token"]
    return token


async def test_a_new_stack_gets_a_random_token_secret_it_owns(
    api: FakeApi, reconciler: Reconciler
) -> None:
    stack = seed(api)["stack"]
    await reconciler.reconcile(NS, ["preview"], LOG)
    (secret,) = api.created
    assert secret["metadata"]["name"] == "preview-admin-token"
    assert secret["metadata"]["ownerReferences"][0]["uid"] == stack["metadata"]["uid"]
    assert re.fullmatch(r"[0-9a-f]{64}", token_of(api))
    assert api.one("mockstacks", "preview")["status"]["adminTokenSecret"] == "preview-admin-token"
    (container,) = api.one("deployments", "preview")["spec"]["template"]["spec"]["containers"]
    refs = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in container["env"]}
    assert refs == {"AIMOCK_ADMIN_TOKEN": {"name": "preview-admin-token", "key": "token"}}


async def test_the_token_survives_reconciles_and_operator_restarts(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    token = token_of(api)
    api.edit("mockstacks", "preview", replicas=2)
    await reconciler.reconcile(NS, ["preview"], LOG)
    await Reconciler(Options(image=IMAGE)).reconcile(NS, ["preview"], LOG)  # a restart
    assert token_of(api) == token
    assert len(api.created) == 1


async def test_two_stacks_get_different_tokens(api: FakeApi, reconciler: Reconciler) -> None:
    stack = seed(api)["stack"]
    other = copy.deepcopy(stack)
    other["metadata"].update(name="other", uid=None)
    api.add("mockstacks", other)
    await reconciler.reconcile(NS, ["preview", "other"], LOG)
    assert token_of(api) != token_of(api, "other-admin-token")


async def test_a_secret_created_meanwhile_is_kept(
    api: FakeApi, reconciler: Reconciler, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    token = token_of(api)

    async def not_seen_yet(namespace: str, name: str) -> None:
        return None  # another replica creates it between our look-up and our create

    monkeypatch.setattr(k8s, "get_secret_metadata", not_seen_yet)
    await reconciler.reconcile(NS, ["preview"], LOG)
    assert token_of(api) == token
    assert conditions(api.one("mockstacks", "preview"))["Reconciled"]["status"] == "True"


async def test_a_named_token_secret_is_used_and_none_is_generated(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    api.edit("mockstacks", "preview", adminTokenSecret="team-token")
    await reconciler.reconcile(NS, ["preview"], LOG)
    assert api.created == []
    assert api.one("mockstacks", "preview")["status"]["adminTokenSecret"] == "team-token"
    (container,) = api.one("deployments", "preview")["spec"]["template"]["spec"]["containers"]
    refs = [item["valueFrom"]["secretKeyRef"]["name"] for item in container["env"]]
    assert refs == ["team-token"]


async def test_a_secret_the_stack_does_not_own_is_never_taken_over(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    foreign = {
        "metadata": {"name": "preview-admin-token", "namespace": NS, "uid": "someone-else"},
        "stringData": {"token": "theirs"},
    }
    api.objects[("secrets", NS, "preview-admin-token")] = foreign
    with pytest.raises(kopf.TemporaryError, match="not owned by MockStack preview"):
        await reconciler.reconcile(NS, ["preview"], LOG)
    assert api.applied == [] and api.created == []  # no pod reads a token it does not own
    assert token_of(api) == "theirs"
    reconciled = conditions(api.one("mockstacks", "preview"))["Reconciled"]
    assert (reconciled["status"], reconciled["reason"]) == ("False", "ApplyFailed")
    assert "spec.adminTokenSecret" in reconciled["message"]
    # Once it is gone (deleted by its owner, or collected with a deleted namesake stack), the
    # retry makes the stack's own.
    api.remove("secrets", "preview-admin-token")
    await reconciler.reconcile(NS, ["preview"], LOG)
    assert token_of(api) != "theirs"
    assert conditions(api.one("mockstacks", "preview"))["Reconciled"]["status"] == "True"


async def test_shrinking_config_deletes_the_config_maps_left_over(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    for i in range(3):
        big = fixture_body(f"big-{i}", content="x" * (400 * 1024))
        del big["metadata"]["uid"]
        api.add("fixtures", big)
    await reconciler.reconcile(NS, ["preview"], LOG)
    assert api.has("configmaps", "preview-config-1")
    for i in range(3):
        gone = api.remove("fixtures", f"big-{i}")
        await reconciler.fixture_changed(gone, LOG)
    assert api.deleted == ["preview-config-1"]
    assert sorted(api.config()) == ["00-mockstack.yaml", "10-fixture-checkout-assistant.yaml"]
    sources = api.one("deployments", "preview")["spec"]["template"]["spec"]["volumes"][0]
    assert sources["projected"]["sources"] == [{"configMap": {"name": "preview-config-0"}}]


async def test_a_config_map_of_another_owner_is_never_deleted(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    api.add(
        "configmaps",
        {
            "metadata": {
                "name": "preview-config-5",
                "labels": {
                    "aimock.dev/stack": "preview",
                    "app.kubernetes.io/managed-by": "aimock-operator",
                },
                "ownerReferences": [{"uid": "another-stack"}],
            },
            "data": {},
        },
    )
    await reconciler.reconcile(NS, ["preview"], LOG)
    assert api.has("configmaps", "preview-config-5")


async def test_stack_deletion_frees_its_fixtures(api: FakeApi, reconciler: Reconciler) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    gone = api.remove("mockstacks", "preview")
    await reconciler.stack_gone(gone)
    assert api.one("fixtures", "checkout-assistant")["status"]["stacks"] == []


# --- Fixture -----------------------------------------------------------------------------------


async def test_fixture_edit_changes_the_config_not_the_pods(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    before = copy.deepcopy(api.one("deployments", "preview"))
    hash_before = api.one("mockstacks", "preview")["status"]["configHash"]
    fixtures = api.one("fixtures", "checkout-assistant")["spec"]["fixtures"]
    fixtures[0]["response"]["content"] = "It arrives on Friday."
    edited = api.edit("fixtures", "checkout-assistant", fixtures=fixtures)
    await reconciler.fixture_changed(edited, LOG)
    after = api.one("deployments", "preview")
    assert "It arrives on Friday." in api.config()["10-fixture-checkout-assistant.yaml"]
    new_hash = api.one("mockstacks", "preview")["status"]["configHash"]
    assert new_hash != hash_before
    assert after["metadata"]["annotations"]["aimock.dev/config-hash"] == new_hash
    assert after["spec"]["template"] == before["spec"]["template"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]


async def test_a_config_change_nudges_each_pod_once(api: FakeApi, reconciler: Reconciler) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    labels = api.one("deployments", "preview")["spec"]["template"]["metadata"]["labels"]
    for name in ("preview-a", "preview-b"):
        api.add("pods", {"metadata": {"name": name, "labels": dict(labels)}})
    api.add("pods", {"metadata": {"name": "other", "labels": {"app": "other"}}})
    fixtures = api.one("fixtures", "checkout-assistant")["spec"]["fixtures"]
    fixtures[0]["response"]["content"] = "It arrives on Friday."
    await reconciler.fixture_changed(api.edit("fixtures", "checkout-assistant"), LOG)
    new_hash = api.one("mockstacks", "preview")["status"]["configHash"]
    assert api.nudges == [
        ("preview-a", {"aimock.dev/config-hash": new_hash}),
        ("preview-b", {"aimock.dev/config-hash": new_hash}),
    ]
    await reconciler.reconcile(NS, ["preview"], LOG)  # nothing changed: no nudge, no listing
    assert len(api.nudges) == 2


async def test_the_second_nudge_follows_a_moment_later(api: FakeApi, clock: Clock) -> None:
    reconciler = Reconciler(Options(image=IMAGE, nudge_again=0.01, serving_patience=0), clock=clock)
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    labels = api.one("deployments", "preview")["spec"]["template"]["metadata"]["labels"]
    api.add("pods", {"metadata": {"name": "preview-a", "labels": dict(labels)}})
    fixtures = api.one("fixtures", "checkout-assistant")["spec"]["fixtures"]
    fixtures[0]["response"]["content"] = "It arrives on Friday."
    await reconciler.fixture_changed(api.edit("fixtures", "checkout-assistant"), LOG)
    new_hash = api.one("mockstacks", "preview")["status"]["configHash"]
    await asyncio.wait_for(asyncio.gather(*reconciler._background), timeout=30)
    assert api.nudges == [
        ("preview-a", {"aimock.dev/config-hash": new_hash}),
        ("preview-a", {"aimock.dev/config-nudge": new_hash}),
    ]


async def test_bad_fixture_is_left_out_and_named_while_the_stack_keeps_serving(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    added = api.add("fixtures", bad_fixture())
    await reconciler.fixture_changed(added, LOG)
    assert sorted(api.config()) == ["00-mockstack.yaml", "10-fixture-checkout-assistant.yaml"]
    stack = api.one("mockstacks", "preview")
    valid = conditions(stack)["FixturesValid"]
    assert (valid["status"], valid["reason"]) == ("False", "InvalidFixture")
    assert "Fixture broken: spec.fixtures[0].match.userMessage" in valid["message"]
    assert stack["status"]["rejectedFixtures"] == ["broken"]
    assert stack["status"]["fixtures"] == 3
    assert conditions(stack)["Reconciled"]["status"] == "True"
    broken = api.one("fixtures", "broken")["status"]
    assert broken["accepted"] is False
    accepted = broken["conditions"][0]
    assert (accepted["type"], accepted["status"]) == ("Accepted", "False")
    assert accepted["message"].startswith("spec.fixtures[0].match.userMessage")
    assert "left out of MockStack preview" in accepted["message"]
    # Fixed: served, and both conditions clear.
    fixed = api.edit("fixtures", "broken", fixtures=fixture_body("broken")["spec"]["fixtures"])
    await reconciler.fixture_changed(fixed, LOG)
    assert "10-fixture-broken.yaml" in api.config()
    assert conditions(api.one("mockstacks", "preview"))["FixturesValid"]["status"] == "True"
    assert api.one("fixtures", "broken")["status"]["accepted"] is True


async def test_fixture_edited_into_an_invalid_one_keeps_its_last_accepted_version(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    served = api.config()
    hash_before = api.one("mockstacks", "preview")["status"]["configHash"]
    fixtures = copy.deepcopy(api.one("fixtures", "checkout-assistant")["spec"]["fixtures"])
    fixtures[0]["match"]["userMessage"] = {"regex": "order ["}
    broken = api.edit("fixtures", "checkout-assistant", fixtures=fixtures)
    await reconciler.fixture_changed(broken, LOG)
    # The pods keep answering from generation 1, byte for byte.
    assert api.config() == served
    stack = api.one("mockstacks", "preview")["status"]
    assert stack["configHash"] == hash_before
    assert stack["fixtures"] == 3
    assert stack["rejectedFixtures"] == ["checkout-assistant"]
    assert stack["lastGoodFixtures"] == [{"name": "checkout-assistant", "generation": 1}]
    assert (
        "(serving generation 1, the last accepted)"
        in (conditions(api.one("mockstacks", "preview"))["FixturesValid"]["message"])
    )
    status = api.one("fixtures", "checkout-assistant")["status"]
    assert (status["accepted"], status["servedGeneration"], status["stacks"]) == (
        False,
        1,
        ["preview"],
    )
    assert (
        "MockStack preview serves generation 1, the last accepted"
        in (status["conditions"][0]["message"])
    )
    # Another reconcile (a restart, another Fixture) keeps it too.
    await reconciler.reconcile(NS, ["preview"], LOG)
    assert api.config() == served
    # Fixed: generation 3 is served.
    fixtures[0]["match"]["userMessage"] = "order"
    fixed = api.edit("fixtures", "checkout-assistant", fixtures=fixtures)
    await reconciler.fixture_changed(fixed, LOG)
    document = yaml.safe_load(api.config()["10-fixture-checkout-assistant.yaml"])
    assert document["metadata"]["generation"] == 3
    stack = api.one("mockstacks", "preview")["status"]
    assert (stack["rejectedFixtures"], stack["lastGoodFixtures"]) == ([], [])
    assert api.one("fixtures", "checkout-assistant")["status"]["servedGeneration"] == 3


async def test_relabelled_fixture_leaves_the_stack(api: FakeApi, reconciler: Reconciler) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    moved = api.relabel("fixtures", "checkout-assistant", {"app": "billing"})
    await reconciler.fixture_changed(moved, LOG)
    assert sorted(api.config()) == ["00-mockstack.yaml"]
    status = api.one("fixtures", "checkout-assistant")["status"]
    assert status["stacks"] == []
    assert status["conditions"][0]["message"] == "no MockStack selects it"
    assert api.one("mockstacks", "preview")["status"]["fixtures"] == 1


async def test_deleted_fixture_leaves_the_config(api: FakeApi, reconciler: Reconciler) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    gone = api.remove("fixtures", "checkout-assistant")
    await reconciler.fixture_changed(gone, LOG)
    assert sorted(api.config()) == ["00-mockstack.yaml"]
    assert api.one("mockstacks", "preview")["status"]["selectedFixtures"] == []


async def test_unselected_fixture_gets_a_status_too(api: FakeApi, reconciler: Reconciler) -> None:
    seed(api)
    lonely = fixture_body("lonely", labels={"app": "nobody"})
    del lonely["metadata"]["uid"]
    await reconciler.fixture_changed(api.add("fixtures", lonely), LOG)
    assert api.one("fixtures", "lonely")["status"]["accepted"] is True
    assert api.applied == []  # no stack selects it: nothing to reconcile


# --- ChaosPolicy -------------------------------------------------------------------------------


async def test_chaos_policy_applies_then_expires_by_itself(
    api: FakeApi, reconciler: Reconciler, clock: Clock
) -> None:
    scene = seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    scene["policy"]["spec"]["durationSeconds"] = 60
    policy = api.add("chaospolicies", scene["policy"])
    await reconciler.policy_changed(policy, LOG)
    status = api.one("chaospolicies", "checkout-drill")["status"]
    assert (status["phase"], status["stacks"]) == ("Active", ["preview"])
    assert (status["startedAt"], status["expiresAt"]) == (
        "2026-11-25T12:00:00Z",
        "2026-11-25T12:01:00Z",
    )
    served = yaml.safe_load(api.config()["20-chaospolicy-checkout-drill.yaml"])
    assert served["spec"]["dropRate"] == 0.0
    assert served["spec"]["durationSeconds"] == 60
    assert conditions(api.one("mockstacks", "preview"))["ChaosActive"]["status"] == "True"

    # The clock before the end: nothing changes, nothing is applied.
    applied = len(api.applied)
    clock.now += timedelta(seconds=30)
    await tick(reconciler, api)
    await reconciler.policy_changed(api.one("chaospolicies", "checkout-drill"), LOG, always=False)
    assert len(api.applied) == applied

    # At the end: Expired, and out of the config.
    clock.now += timedelta(seconds=31)
    await tick(reconciler, api)
    status = api.one("chaospolicies", "checkout-drill")["status"]
    assert status["phase"] == "Expired"
    assert status["conditions"][0]["reason"] == "Expired"
    assert "20-chaospolicy-checkout-drill.yaml" not in api.config()
    chaos_active = conditions(api.one("mockstacks", "preview"))["ChaosActive"]
    assert chaos_active["status"] == "False"


async def test_deleted_policy_leaves_the_config(api: FakeApi, reconciler: Reconciler) -> None:
    scene = seed(api)
    policy = api.add("chaospolicies", scene["policy"])
    await reconciler.policy_changed(policy, LOG)
    assert "20-chaospolicy-checkout-drill.yaml" in api.config()
    gone = api.remove("chaospolicies", "checkout-drill")
    await reconciler.policy_gone(gone, LOG)
    assert "20-chaospolicy-checkout-drill.yaml" not in api.config()


async def test_a_new_stack_joins_a_running_drill(api: FakeApi, reconciler: Reconciler) -> None:
    scene = seed(api)
    policy = api.add("chaospolicies", scene["policy"])
    await reconciler.policy_changed(policy, LOG)
    second = copy.deepcopy(scene["stack"])
    second["metadata"].update(name="second", uid=None)
    api.add("mockstacks", second)
    await reconciler.reconcile(NS, ["second"], LOG)
    assert "20-chaospolicy-checkout-drill.yaml" in api.config("second")
    assert api.one("chaospolicies", "checkout-drill")["status"]["stacks"] == ["preview", "second"]


async def test_invalid_policy_is_marked_and_never_served(
    api: FakeApi, reconciler: Reconciler
) -> None:
    scene = seed(api)
    scene["policy"]["spec"]["dropRate"] = 2
    await reconciler.policy_changed(api.add("chaospolicies", scene["policy"]), LOG)
    status = api.one("chaospolicies", "checkout-drill")["status"]
    assert status["phase"] == "Invalid"
    assert "spec.dropRate" in status["conditions"][0]["message"]
    assert "20-chaospolicy-checkout-drill.yaml" not in api.config()


async def test_policy_edited_into_an_invalid_one_keeps_its_drill_running(
    api: FakeApi, reconciler: Reconciler, clock: Clock
) -> None:
    scene = seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    scene["policy"]["spec"].update(dropRate=0.5, durationSeconds=60)
    await reconciler.policy_changed(api.add("chaospolicies", scene["policy"]), LOG)
    served = api.config()["20-chaospolicy-checkout-drill.yaml"]
    clock.now += timedelta(seconds=10)
    edited = api.edit("chaospolicies", "checkout-drill", dropRate=2)
    await reconciler.policy_changed(edited, LOG)
    assert api.config()["20-chaospolicy-checkout-drill.yaml"] == served
    status = api.one("chaospolicies", "checkout-drill")["status"]
    assert (status["phase"], status["servedGeneration"], status["observedGeneration"]) == (
        "Active",
        1,
        2,
    )
    accepted = conditions(api.one("chaospolicies", "checkout-drill"))["Accepted"]
    assert (accepted["status"], accepted["reason"]) == ("False", "Invalid")
    assert "spec.dropRate" in accepted["message"]
    assert (
        "ChaosPolicy checkout-drill"
        in (conditions(api.one("mockstacks", "preview"))["ChaosActive"]["message"])
    )
    # The first drill's end still ends it.
    clock.now += timedelta(seconds=51)
    await tick(reconciler, api)
    assert api.one("chaospolicies", "checkout-drill")["status"]["phase"] == "Expired"
    assert "20-chaospolicy-checkout-drill.yaml" not in api.config()


async def tick(reconciler: Reconciler, api: FakeApi) -> None:
    """One pass of the drill clock, with the policy as the watch last delivered it."""
    reconciler.saw_policy("MODIFIED", api.one("chaospolicies", "checkout-drill"))
    await reconciler.end_drills()


async def test_the_drill_clock_ends_each_drill_once(
    api: FakeApi, reconciler: Reconciler, clock: Clock
) -> None:
    scene = seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    scene["policy"]["spec"]["durationSeconds"] = 60
    await reconciler.policy_changed(api.add("chaospolicies", scene["policy"]), LOG)
    stale = api.one("chaospolicies", "checkout-drill")
    reconciler.saw_policy("ADDED", stale)
    clock.now += timedelta(seconds=61)
    await reconciler.end_drills()
    assert api.one("chaospolicies", "checkout-drill")["status"]["phase"] == "Expired"
    writes = api.status_writes
    await reconciler.end_drills()  # its Expired event has not come in: not ended again
    assert api.status_writes == writes
    reconciler.saw_policy("MODIFIED", api.one("chaospolicies", "checkout-drill"))
    assert not reconciler._drills
    reconciler.saw_policy("ADDED", stale)
    reconciler.saw_policy("DELETED", stale)
    assert not reconciler._drills


async def test_the_resync_clock_reconciles_every_stack_seen(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    reconciler.saw_stack("ADDED", api.one("mockstacks", "preview"))
    await reconciler.resync_all()
    assert ("Deployment", "preview") in [(o["kind"], o["metadata"]["name"]) for o in api.applied]
    reconciler.saw_stack("DELETED", api.one("mockstacks", "preview"))
    applied = len(api.applied)
    await reconciler.resync_all()
    assert len(api.applied) == applied


# --- wiring and settings -----------------------------------------------------------------------


def test_digest_storage_tells_changed_from_unchanged() -> None:
    storage = DigestDiffBaseStorage()
    body = kopf.Body({"metadata": {"name": "f", "labels": {"a": "b"}}, "spec": {"x": 1}})
    assert storage.fetch(body=body) is None  # never handled: kopf sees a creation
    patch = kopf.Patch()
    essence = storage.build(body=body)
    storage.store(body=body, patch=patch, essence=essence)
    stored = patch["metadata"]["annotations"]["aimock.dev/last-handled-digest"]
    assert stored == digest(essence) and len(stored) == 64
    handled = {
        **body,
        "metadata": {**body["metadata"], "annotations": dict(patch["metadata"]["annotations"])},
    }
    assert storage.fetch(body=kopf.Body(handled)) == storage.build(body=kopf.Body(handled))
    handled["spec"] = {"x": 2}
    assert storage.fetch(body=kopf.Body(handled)) == {}


def test_settings_watch_only_the_operators_deployments() -> None:
    settings = kopf.OperatorSettings()
    configure(settings, Options(image=IMAGE, backoff=2))
    assert settings.execution.default_backoff == 2
    assert settings.persistence.finalizer == "aimock.dev/finalizer"
    assert isinstance(settings.persistence.diffbase_storage, DigestDiffBaseStorage)
    selectors = settings.watching.label_selectors
    assert {(s.group, s.any_name): selectors[s] for s in selectors} == {
        ("apps", "deployments"): "app.kubernetes.io/managed-by=aimock-operator,aimock.dev/stack",
        ("", "pods"): "app.kubernetes.io/managed-by=aimock-operator,aimock.dev/stack",
    }


def test_register_wires_a_fresh_registry() -> None:
    registry = kopf.OperatorRegistry()
    reconciler = register(registry, Options(image=IMAGE, resync=0))
    assert isinstance(reconciler, Reconciler)
    ids = {handler.id for handler in registry._changing.get_all_handlers()}
    assert {"mockstack", "fixture", "fixture_resume", "chaos_policy"} <= ids
    # No timers or daemons: kopf would put a finalizer on every object they run for.
    assert not list(registry._spawning.get_all_handlers())
    assert {h.id for h in registry._activities.get_all_handlers()} >= {"configure", "clocks"}
    watching = {h.id for h in registry._watching.get_all_handlers()}
    assert watching == {
        "mockstack_event",
        "fixture_event",
        "chaos_policy_event",
        "deployment",
        "pod",
    }


def test_options_from_the_environment() -> None:
    options = from_env(
        {
            "AIMOCK_IMAGE": "mine:1",
            "AIMOCK_OPERATOR_BACKOFF": "2",
            "AIMOCK_OPERATOR_RESYNC": "0",
            "AIMOCK_WEBHOOK_PORT": "9443",
            "AIMOCK_WEBHOOK_CERT": "/certs/tls.crt",
        }
    )
    assert options == Options("mine:1", 2.0, 5.0, 0.0, Webhook(9443, "/certs"))
    assert from_env({}).image.startswith("ghcr.io/aimock/aimock:")
    with pytest.raises(ValueError, match="AIMOCK_OPERATOR_BACKOFF"):
        from_env({"AIMOCK_OPERATOR_BACKOFF": "-1"})


def test_operator_runs_standalone_unless_peering_is_asked_for() -> None:
    assert kopf_args(["-n", "a"], {}) == [
        "run",
        "--standalone",
        "-m",
        "aimock_operator.handlers",
        "-n",
        "a",
    ]
    assert "--standalone" not in kopf_args(["--peering=team"], {})
    assert "--standalone" not in kopf_args(["--peering", "team"], {})
    with_webhook = kopf_args([], {"AIMOCK_WEBHOOK_PORT": "9443"})
    assert with_webhook[-2:] == ["-m", "aimock_operator.webhook"]


# --- which config the pods serve ---------------------------------------------------------------


def ready_pod(api: FakeApi, name: str, ready: bool = True) -> None:
    """A pod of the stack, counted in its Deployment's readyReplicas as the controller would."""
    deployment = api.one("deployments", "preview")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    pod = {
        "metadata": {"name": name, "labels": dict(labels)},
        "status": {"conditions": [condition]},
    }
    api.add("pods", pod)
    status = deployment.setdefault("status", {})
    status["readyReplicas"] = status.get("readyReplicas", 0) + int(ready)


@pytest.fixture
def follower(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Reconciler:
    monkeypatch.setattr(handlers, "FIRST_PAUSE", 0.001)
    monkeypatch.setattr(handlers, "LAST_PAUSE", 0.001)
    return Reconciler(Options(image=IMAGE, nudge_again=0, serving_patience=30), clock=clock)


async def settle_follow(reconciler: Reconciler) -> None:
    await asyncio.wait_for(asyncio.gather(*reconciler._background), timeout=30)


async def test_served_replicas_count_the_ready_pods_serving_the_current_config(
    api: FakeApi, follower: Reconciler
) -> None:
    seed(api)
    await follower.reconcile(NS, ["preview"], LOG)
    old_hash = api.one("mockstacks", "preview")["status"]["configHash"]
    for pod in ("preview-a", "preview-b", "preview-c"):
        ready_pod(api, pod)
        api.pod_health[pod] = old_hash
    ready_pod(api, "preview-d", ready=False)  # not asked: the Service does not use it
    await settle_follow(follower)
    status = api.one("mockstacks", "preview")["status"]
    assert status["servedReplicas"] == 3
    served = conditions(api.one("mockstacks", "preview"))["ConfigServed"]
    assert (served["status"], served["reason"]) == ("True", "Current")
    assert served["message"] == f"3 of 3 ready pods serve config {old_hash}"

    # An edit: one pod has the new files, two still serve the old ones.
    fixtures = api.one("fixtures", "checkout-assistant")["spec"]["fixtures"]
    fixtures[0]["response"]["content"] = "It arrives on Friday."
    await follower.fixture_changed(api.edit("fixtures", "checkout-assistant"), LOG)
    new_hash = api.one("mockstacks", "preview")["status"]["configHash"]
    assert new_hash != old_hash
    assert api.one("mockstacks", "preview")["status"]["servedReplicas"] == 0  # none said so yet
    api.pod_health["preview-a"] = new_hash
    while api.one("mockstacks", "preview")["status"]["servedReplicas"] != 1:
        await asyncio.sleep(0.001)
    served = conditions(api.one("mockstacks", "preview"))["ConfigServed"]
    assert (served["status"], served["reason"]) == ("False", "Stale")
    assert served["message"].startswith(f"1 of 3 ready pods serve config {new_hash}; 2 still")
    # The kubelet refreshes the other two: the follow ends with every pod current.
    api.pod_health.update({"preview-b": new_hash, "preview-c": new_hash})
    await settle_follow(follower)
    assert api.one("mockstacks", "preview")["status"]["servedReplicas"] == 3
    assert conditions(api.one("mockstacks", "preview"))["ConfigServed"]["status"] == "True"
    # Settled: a reconcile that changes nothing asks no pod.
    asks = api.pod_asks
    await follower.reconcile(NS, ["preview"], LOG)
    await settle_follow(follower)
    assert api.pod_asks == asks


async def test_pods_that_cannot_be_reached_are_named_and_given_up_on(
    api: FakeApi, follower: Reconciler
) -> None:
    seed(api)
    await follower.reconcile(NS, ["preview"], LOG)
    ready_pod(api, "preview-a")
    refused = "error trying to reach service: dial tcp 10.244.0.7:4010: connect: connection refused"
    api.pod_health["preview-a"] = k8s.ApiError(503, refused)
    await settle_follow(follower)
    assert api.pod_asks == handlers.UNREACHABLE_ROUNDS  # then left until the next change
    served = conditions(api.one("mockstacks", "preview"))["ConfigServed"]
    assert (served["status"], served["reason"]) == ("Unknown", "PodsUnreachable")
    assert "0 of 1 ready pods serve config" in served["message"]
    assert f"preview-a: 503: {refused}" in served["message"]
    assert api.one("mockstacks", "preview")["status"]["servedReplicas"] == 0


async def test_a_pod_without_a_config_hash_is_reported_as_such(
    api: FakeApi, follower: Reconciler, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(api)
    await follower.reconcile(NS, ["preview"], LOG)
    ready_pod(api, "preview-a")

    async def old_image(namespace: str, pod: str, port: int, path: str, **_: Any) -> bytes:
        return b'{"status": "ok"}'

    monkeypatch.setattr(k8s, "pod_get", old_image)
    await settle_follow(follower)
    served = conditions(api.one("mockstacks", "preview"))["ConfigServed"]
    assert "no configHash" in served["message"]


async def test_no_follow_when_serving_patience_is_zero(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    ready_pod(api, "preview-a")
    api.pod_health["preview-a"] = "anything"
    await reconciler.refresh_ready(NS, "preview")
    assert not reconciler._background
    assert api.pod_asks == 0


async def test_a_config_that_moves_on_while_the_pods_are_asked_is_asked_about(
    api: FakeApi, reconciler: Reconciler, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(api)
    await reconciler.reconcile(NS, ["preview"], LOG)
    ready_pod(api, "preview-a")
    first = api.one("mockstacks", "preview")["status"]["configHash"]
    moved = "0123456789abcdef"
    api.pod_health["preview-a"] = first
    asked: list[str] = []
    probe = handlers.serving.probe

    async def edited_meanwhile(namespace: str, stack: str, config_hash: str) -> Serving:
        asked.append(config_hash)
        found = await probe(namespace, stack, config_hash)
        if len(asked) == 1:  # an edit lands while the pods are asked
            api.one("mockstacks", "preview")["status"]["configHash"] = moved
            api.pod_health["preview-a"] = moved
        return found

    monkeypatch.setattr(handlers.serving, "probe", edited_meanwhile)
    found = await reconciler.refresh_serving(NS, "preview")
    assert asked == [first, moved]
    assert found is not None and (found.config_hash, found.current) == (moved, 1)
    served = conditions(api.one("mockstacks", "preview"))["ConfigServed"]
    assert served["message"] == f"1 of 1 ready pods serve config {moved}"


# --- spec.tls -----------------------------------------------------------------------------------


def endpoints(api: FakeApi) -> dict[str, str]:
    data: dict[str, str] = api.one("configmaps", "preview-endpoints")["data"]
    return data


def tls_secrets(api: FakeApi) -> list[dict[str, Any]]:
    return [s for s in api.created if s.get("type") == "kubernetes.io/tls"]


async def test_a_tls_stack_gets_a_certificate_secret_once_and_its_ca_published(
    api: FakeApi, reconciler: Reconciler
) -> None:
    stack = seed(api)["stack"]
    api.edit("mockstacks", "preview", tls={})
    await reconciler.reconcile(NS, ["preview"], LOG)
    (secret,) = tls_secrets(api)
    assert secret["metadata"]["name"] == "preview-tls"
    assert secret["metadata"]["ownerReferences"][0]["uid"] == stack["metadata"]["uid"]
    ca = secret["stringData"]["ca.crt"]
    assert secret["metadata"]["annotations"] == {"aimock.dev/ca-certificate": ca}
    assert endpoints(api)["ca.crt"] == ca
    assert endpoints(api)["AIMOCK_URL"].startswith("https://")
    status = api.one("mockstacks", "preview")["status"]
    assert status["endpoint"] == "https://preview.team-a.svc.cluster.local:4010"
    assert conditions(api.one("mockstacks", "preview"))["Reconciled"]["status"] == "True"
    # Reconciles and an operator restart keep the same certificate and CA, read back from
    # the Secret's metadata.
    api.edit("mockstacks", "preview", replicas=2)
    await reconciler.reconcile(NS, ["preview"], LOG)
    await Reconciler(Options(image=IMAGE)).reconcile(NS, ["preview"], LOG)
    assert len(tls_secrets(api)) == 1
    assert endpoints(api)["ca.crt"] == ca


async def test_a_named_tls_secret_is_served_never_read_and_no_ca_published(
    api: FakeApi, reconciler: Reconciler, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(api)
    api.edit("mockstacks", "preview", tls={"secretName": "shop-cert"}, adminTokenSecret="t")
    read: list[str] = []

    async def get_secret_metadata(namespace: str, name: str) -> None:
        read.append(name)

    monkeypatch.setattr(k8s, "get_secret_metadata", get_secret_metadata)
    await reconciler.reconcile(NS, ["preview"], LOG)
    assert read == [] and api.created == []
    assert "ca.crt" not in endpoints(api)
    assert endpoints(api)["AIMOCK_URL"].startswith("https://")
    volumes = api.one("deployments", "preview")["spec"]["template"]["spec"]["volumes"]
    assert [v["secret"]["secretName"] for v in volumes if "secret" in v] == ["shop-cert"]
    assert conditions(api.one("mockstacks", "preview"))["Reconciled"]["status"] == "True"


async def test_a_tls_secret_the_stack_does_not_own_is_never_taken_over(
    api: FakeApi, reconciler: Reconciler
) -> None:
    seed(api)
    api.edit("mockstacks", "preview", tls={})
    api.objects[("secrets", NS, "preview-tls")] = {
        "metadata": {"name": "preview-tls", "namespace": NS, "uid": "someone-else"},
    }
    with pytest.raises(kopf.TemporaryError, match=r"spec\.tls\.secretName"):
        await reconciler.reconcile(NS, ["preview"], LOG)
    assert api.applied == [] and tls_secrets(api) == []
    reconciled = conditions(api.one("mockstacks", "preview"))["Reconciled"]
    assert (reconciled["status"], reconciled["reason"]) == ("False", "ApplyFailed")


async def test_pods_serving_tls_are_asked_over_https(api: FakeApi, follower: Reconciler) -> None:
    seed(api)
    api.edit("mockstacks", "preview", tls={})
    await follower.reconcile(NS, ["preview"], LOG)
    config_hash = api.one("mockstacks", "preview")["status"]["configHash"]
    template = api.one("deployments", "preview")["spec"]["template"]["spec"]
    ready_pod(api, "preview-new")
    api.one("pods", "preview-new")["spec"] = copy.deepcopy(template)
    ready_pod(api, "preview-old")  # from before spec.tls: no --tls-cert
    for pod in ("preview-new", "preview-old"):
        api.pod_health[pod] = config_hash
    await settle_follow(follower)
    assert api.pod_schemes == {"preview-new": "https", "preview-old": "http"}
    assert api.one("mockstacks", "preview")["status"]["servedReplicas"] == 2
