#!/usr/bin/env python3
"""The operator at preview-environment scale (issue 14): many MockStacks in many namespaces.

One run, on the local control plane of tests/k8s/plane.py (real etcd, kube-apiserver,
controller-manager and scheduler; kwok fake nodes), with the apiserver's audit log on:

1. starts the plane, installs the CRDs (waits until they are Established and the garbage
   collector knows them, as the cluster tests do) and creates `--namespaces` fresh namespaces;
2. starts the real `aimock-operator --all-namespaces` as a process of its own, under its own
   identity: a client certificate CN=aimock-operator, O=system:masters signed by the plane's
   CA, in a kubeconfig of its own. Every request it makes is then told apart in the audit log
   by `user.username`; the benchmark's own (and the plane's components') are `aimock-admin`;
3. **apply**: one `kubectl apply --server-side` of every document at once: in each namespace
   the example's Fixture and ChaosPolicy (examples/mockstack.yaml; `--documents stacks` leaves
   them out) and its share of the `--stacks` MockStacks, each the example's `preview` stack
   renamed `preview-NNN`. A watch on each kind times, per MockStack, its first status and its
   first Ready=True; the phase ends when every MockStack is Ready;
4. **settle**: until the operator has made no request for `--quiet` seconds (its trailing
   work: Progressing flipping to RolloutComplete, second pod nudges, Fixture statuses);
5. **idle**: `--idle` seconds with nothing changing. An operator at rest makes no request at
   all here (its watches stay open; the resync clock is 300 s);
6. **delete**: `kubectl delete namespace` of every namespace at once, until all are gone; then
   **after**: until the operator is quiet again. Then nothing of aimock may remain anywhere
   (custom resources, and anything labelled app.kubernetes.io/managed-by=aimock-operator, in
   every namespace; any cluster-scoped object the operator ever created, per the audit log).

Measured: per phase the operator's CPU seconds (user+sys of its process, all threads, from
/proc/PID/stat; the apiserver's and etcd's beside it), its RSS (VmRSS sampled every 0.5 s: peak
and end), its requests by verb and resource (from the audit log, deduplicated by audit ID),
its writes, and its log lines by level (tracebacks too). Every status write of the operator
is classified: the audit log holds the response's resourceVersion, the watches every version
each object went through, so a status write either made the version that changed the status
(effective) or returned a version that already existed (a no-op, changing nothing). No figure
is asserted: the exit status is 1 only when something did not happen (a stack never Ready, a
namespace never gone, leftovers, the operator died).

Example (from the repository root):

    .venv/bin/python bench/operator_scale.py                # 200 stacks, 50 namespaces
    .venv/bin/python bench/operator_scale.py --smoke        # 4 stacks, 2 namespaces, short idle
    .venv/bin/python bench/operator_scale.py --stacks 100 --namespaces 100 --idle 60 --keep

Writes bench/results/operator-scale.json and .md (`--smoke`: operator-scale-smoke.*; `--out`
sets the prefix) and prints the Markdown. `--keep` keeps the plane's folder: the operator's
log, the audit log, every component's log.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import json
import math
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]
bench_http = importlib.import_module("bench_http")  # /proc readers, git revision

from tests.k8s.plane import (  # noqa: E402
    K8S_VERSION,
    ControlPlane,
    _die_with_parent,
    free_ports,
    missing_binaries,
)

from aimock_operator.crd.v1alpha1 import GROUP, KINDS, VERSION  # noqa: E402
from aimock_operator.render import names  # noqa: E402
from aimock_operator.settings import from_env  # noqa: E402

OPERATOR = Path(sys.executable).parent / "aimock-operator"
OPERATOR_USER = "aimock-operator"  # the CN of the operator's client certificate
EXAMPLE = ROOT / "examples" / "mockstack.yaml"
RESULTS = BENCH / "results"
API = f"/apis/{GROUP}/{VERSION}"
PLURAL = {kind.kind: kind.plural for kind in KINDS}
MANAGED = f"{names.MANAGED_BY_LABEL}={names.MANAGED_BY}"
WRITES = frozenset({"create", "update", "patch", "delete", "deletecollection"})
MAX_PODS_PER_NODE = 110  # the kubelet's default; kwok's fake nodes would take a million
SERVICE_IPS = 250  # the plane's Service CIDR is a /24: one ClusterIP per stack must fit
MIB = 1024.0  # VmRSS is in KiB
PHASES = {
    "start": "operator start, until quiet",
    "apply": "apply -> every MockStack Ready",
    "settle": "all Ready -> operator quiet",
    "idle": "idle, nothing changing",
    "delete": "delete namespaces -> all gone",
    "after": "namespaces gone -> operator quiet",
}
# Everything of aimock that could outlive its namespace (by label, in every namespace).
LABELLED = {
    "configmaps": "/api/v1/configmaps",
    "secrets": "/api/v1/secrets",
    "services": "/api/v1/services",
    "pods": "/api/v1/pods",
    "deployments": "/apis/apps/v1/deployments",
    "replicasets": "/apis/apps/v1/replicasets",
    "jobs": "/apis/batch/v1/jobs",
    "cronjobs": "/apis/batch/v1/cronjobs",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest rank, as bench_http reports its latencies."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


# --------------------------------------------------------------------------------------------
# The documents and the operator's identity
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """Which stacks go to which namespace, and the documents that apply them."""

    namespaces: list[str]
    stacks: list[tuple[str, str]]  # (namespace, name)
    documents: list[dict[str, Any]]
    description: str


def layout(namespaces: list[str], stacks: int, kinds: str) -> Layout:
    """Stack i goes to namespace i mod N, named preview-NNN after the example's `preview`."""
    example = {doc["kind"]: doc for doc in yaml.safe_load_all(EXAMPLE.read_text()) if doc}
    stack = example["MockStack"]
    width = max(3, len(str(stacks - 1)))
    placed = [(namespaces[i % len(namespaces)], f"preview-{i:0{width}d}") for i in range(stacks)]
    documents: list[dict[str, Any]] = []
    for namespace in namespaces:
        for where, name in placed:
            if where == namespace:
                doc = copy.deepcopy(stack)
                doc["metadata"].update(name=name, namespace=namespace)
                documents.append(doc)
        if kinds == "all":
            for kind in ("Fixture", "ChaosPolicy"):
                doc = copy.deepcopy(example[kind])
                doc["metadata"]["namespace"] = namespace
                documents.append(doc)
    inline = len(stack["spec"].get("fixtures") or [])
    description = (
        f"{stacks} copies of examples/mockstack.yaml's MockStack `{stack['metadata']['name']}`"
        f" (renamed preview-NNN; {inline} inline fixture, fixtureSelector app=checkout), spread"
        f" evenly over {len(namespaces)} fresh namespaces"
    )
    if kinds == "all":
        fixture, policy = example["Fixture"], example["ChaosPolicy"]
        description += (
            f", each namespace also holding the example's Fixture "
            f"`{fixture['metadata']['name']}` ({len(fixture['spec']['fixtures'])} fixtures, "
            f"selected by every stack there) and ChaosPolicy `{policy['metadata']['name']}` "
            f"(a {policy['spec']['durationSeconds']} s drill at rate 0 selecting every stack "
            "there): the whole example, as a preview environment would apply it"
        )
    else:
        description += "; MockStacks only (no Fixture, no ChaosPolicy)"
    return Layout(namespaces, placed, documents, description)


# --------------------------------------------------------------------------------------------
# What the apiserver saw: watches and the audit log
# --------------------------------------------------------------------------------------------


def conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found = (obj.get("status") or {}).get("conditions") or []
    return {str(c.get("type")): c for c in found if isinstance(c, Mapping)}


def status_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What changed in a status: top-level fields, conditions by type (status, reason or
    message moved; a moved lastTransitionTime alone shows as `conditions.X.time`)."""
    changed = [
        key
        for key in sorted({*before, *after})
        if key != "conditions" and before.get(key) != after.get(key)
    ]
    old, new = conditions({"status": before}), conditions({"status": after})
    for kind in sorted({*old, *new}):
        a, b = old.get(kind) or {}, new.get(kind) or {}
        fields = ("status", "reason", "message", "observedGeneration")
        if any(a.get(f) != b.get(f) for f in fields):
            moved = [f for f in fields if a.get(f) != b.get(f)]
            changed.append(f"conditions.{kind}.{'+'.join(moved)}")
        elif a.get("lastTransitionTime") != b.get("lastTransitionTime"):
            changed.append(f"conditions.{kind}.time")
    return changed


@dataclass
class Tracked:
    """One object as a watch saw it: when it appeared, got a status, got Ready; and every
    version, with whether that version changed its status."""

    added: float | None = None
    first_status: float | None = None
    ready: float | None = None
    status: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, list[str]] = field(default_factory=dict)  # rv -> status fields moved
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)  # rv -> status
    deleted: float | None = None
    events: int = 0


class Watch(threading.Thread):
    """A cluster-wide watch of one custom resource kind, from a list's resourceVersion."""

    def __init__(self, plane: ControlPlane, plural: str) -> None:
        super().__init__(daemon=True, name=f"watch-{plural}")
        self.plane, self.plural = plane, plural
        self.lock = threading.Lock()
        self.objects: dict[tuple[str, str], Tracked] = {}
        self.started_watch = threading.Event()
        self.stopping = False
        self.errors: list[str] = []
        self.reconnects = 0
        self.response: Any = None

    def run(self) -> None:
        status, listing = self.plane.request("GET", f"{API}/{self.plural}")
        version = listing["metadata"]["resourceVersion"] if status == 200 else "0"
        while not self.stopping:
            query = f"watch=1&resourceVersion={version}&allowWatchBookmarks=true"
            url = f"{self.plane.server}{API}/{self.plural}?{query}&timeoutSeconds=3600"
            try:
                request = urllib.request.Request(url, headers={"Accept": "application/json"})
                tls = self.plane._admin_tls()
                with urllib.request.urlopen(request, timeout=3700, context=tls) as response:
                    self.response = response
                    self.started_watch.set()
                    for line in response:
                        version = self.event(json.loads(line)) or version
            except Exception as error:
                if self.stopping:
                    return
                self.errors.append(repr(error))
                if "410" in str(error):
                    return  # too old: the counts after this point would be wrong
                time.sleep(0.5)
            if not self.stopping:
                self.reconnects += 1

    def event(self, event: Mapping[str, Any]) -> str | None:
        now = time.time()
        kind, obj = event.get("type"), event.get("object") or {}
        meta = obj.get("metadata") or {}
        version = meta.get("resourceVersion")
        if kind == "BOOKMARK":
            return str(version) if version else None
        if kind == "ERROR":
            self.errors.append(json.dumps(obj)[:300])
            return None
        key = (str(meta.get("namespace")), str(meta.get("name")))
        status = dict(obj.get("status") or {})
        with self.lock:
            seen = self.objects.setdefault(key, Tracked())
            seen.events += 1
            if kind == "ADDED" and seen.added is None:
                seen.added = now
            if kind == "DELETED":
                seen.deleted = now
            elif version:
                seen.versions[str(version)] = status_diff(seen.status, status)
                seen.statuses[str(version)] = status
            if status and seen.first_status is None:
                seen.first_status = now
            ready = conditions(obj).get("Ready") or {}
            if ready.get("status") == "True" and seen.ready is None:
                seen.ready = now
            seen.status = status
        return str(version) if version else None

    def snapshot(self) -> dict[tuple[str, str], Tracked]:
        with self.lock:
            return dict(self.objects)

    def stop(self) -> None:
        self.stopping = True
        response = self.response
        if response is not None:
            with contextlib.suppress(Exception):
                response.fp.raw._sock.shutdown(2)  # wakes the blocked read


@dataclass
class Call:
    """One request of the operator, from its audit events (deduplicated by audit ID)."""

    verb: str
    resource: str  # plural[/subresource], or the path of a non-resource request
    namespace: str
    name: str
    received: float
    agent: str  # kopf (its own watching and patching) or the operator's client (k8s.py)
    apply: bool  # a server-side apply (a patch with a field manager)
    code: int | None = None
    body: Any = None  # the request body of a write to an aimock resource
    version_after: str | None = None  # the resourceVersion a status write answered with
    completed: float | None = None  # when the apiserver finished answering

    @property
    def write(self) -> bool:
        return self.verb in WRITES

    @property
    def label(self) -> str:
        return f"{'apply' if self.apply else self.verb} {self.resource}"


class AuditLog:
    """Reads the apiserver's audit log as it grows; keeps the operator's requests."""

    def __init__(self, path: Path, user: str) -> None:
        self.path, self.user = path, user
        self.offset = 0
        self.partial = b""
        self.calls: dict[str, Call] = {}
        self.others: list[float] = []  # received times of everyone else's requests
        self.last_received = 0.0
        self.lines = 0

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as file:
            file.seek(self.offset)
            data = file.read()
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            if line.strip():
                self.lines += 1
                self.add(json.loads(line))

    def add(self, event: Mapping[str, Any]) -> None:
        received = epoch(event["requestReceivedTimestamp"])
        if (event.get("user") or {}).get("username") != self.user:
            if event.get("stage") != "ResponseComplete" or event.get("verb") != "watch":
                self.others.append(received)  # a watch: counted at its ResponseStarted
            return
        call = self.calls.get(event["auditID"])
        if call is None:
            ref = event.get("objectRef") or {}
            uri = str(event.get("requestURI") or "")
            resource = ref.get("resource")
            if resource and ref.get("subresource"):
                resource += "/" + ref["subresource"]
            call = Call(
                verb=str(event.get("verb")),
                resource=str(resource or uri.split("?", maxsplit=1)[0]),
                namespace=str(ref.get("namespace") or ""),
                name=str(ref.get("name") or ""),
                received=received,
                agent="kopf" if str(event.get("userAgent", "")).startswith("kopf") else "client",
                apply=event.get("verb") == "patch" and "fieldManager=" in uri,
            )
            self.calls[event["auditID"]] = call
            self.last_received = max(self.last_received, received)
        code = (event.get("responseStatus") or {}).get("code")
        if code is not None:
            call.code = int(code)
        if event.get("stage") == "ResponseComplete":
            call.completed = epoch(event["stageTimestamp"])
        if "requestObject" in event and (event.get("objectRef") or {}).get("apiGroup") == GROUP:
            call.body = event["requestObject"]
        response = event.get("responseObject")
        if isinstance(response, Mapping) and call.resource.endswith("/status"):
            call.version_after = (response.get("metadata") or {}).get("resourceVersion")


# --------------------------------------------------------------------------------------------
# The operator process: CPU, memory, log
# --------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float | None:
    try:
        value: float = bench_http.proc_cpu_seconds(pid)
    except OSError:
        return None
    return value


class Sampler(threading.Thread):
    """The operator's VmRSS (KiB) and CPU seconds every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int, float]] = []
        self.done = threading.Event()

    def sample(self) -> None:
        try:
            rss = bench_http.proc_status(self.pid)["VmRSS"]
        except (OSError, KeyError):
            return
        self.samples.append((time.time(), int(rss), cpu_seconds(self.pid) or 0.0))

    def run(self) -> None:
        while True:
            self.sample()
            if self.done.wait(self.interval):
                return

    def stop(self) -> None:
        self.done.set()


LOG_LINE = re.compile(
    r"^\[(?P<time>[^\]]+)\] (?P<logger>\S+)\s+\[(?P<level>[A-Z]+)\s*\] (?P<message>.*)"
)


def log_summary(text: str) -> dict[str, Any]:
    """Lines by level, tracebacks, and the most common warning/error messages (names and
    numbers folded, so one message per kind of event)."""
    levels: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    verbatim: list[str] = []
    tracebacks = 0
    for line in text.splitlines():
        if line.startswith("Traceback (most recent call last)"):
            tracebacks += 1
        match = LOG_LINE.match(line)
        if not match:
            continue
        level = match["level"]
        levels[level] += 1
        if level in ("WARNING", "ERROR", "CRITICAL"):
            message = re.sub(r"scale-[0-9a-f]{10}", "<ns>", match["message"])
            message = re.sub(r"\d+", "N", message)[:240]
            messages[f"{level} {match['logger']}: {message}"] += 1
            if len(verbatim) < 50:
                verbatim.append(line[:1000])
    return {
        "lines": len(text.splitlines()),
        "levels": dict(levels),
        "tracebacks": tracebacks,
        "top": messages.most_common(8),
        "warnings_and_errors": verbatim,  # the first 50, as logged
    }


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    started: float
    ended: float = 0.0
    cpu: dict[str, list[float | None]] = field(default_factory=dict)  # process -> [start, end]
    load: list[float] = field(default_factory=list)
    log_offsets: list[int] = field(default_factory=list)
    note: str = ""


class OperatorDied(RuntimeError):
    pass


class Run:
    """Everything one run holds: the plane, the operator, the watches, the audit log."""

    def __init__(self, args: argparse.Namespace, plane: ControlPlane) -> None:
        self.args, self.plane = args, plane
        self.workdir = plane.workdir
        self.audit = AuditLog(plane.audit_log, OPERATOR_USER)
        self.watches = {kind: Watch(plane, plural) for kind, plural in PLURAL.items()}
        self.phases: list[Phase] = []
        self.process: subprocess.Popen[bytes] | None = None
        self.sampler: Sampler | None = None
        self.log = self.workdir / "operator.log"
        self.notes: list[str] = []
        self.result: dict[str, Any] = {}
        self.layout = Layout([], [], [], "")
        self.liveness = ""
        self.options: dict[str, str] = {}
        self.operator_argv: list[str] = []

    # -- processes

    def pids(self) -> dict[str, int]:
        found = {c.name: c.process.pid for c in self.plane.components}
        wanted = {"kube-apiserver": found["kube-apiserver"], "etcd": found["etcd"]}
        if self.process is not None:
            wanted = {"operator": self.process.pid, **wanted}
        return wanted

    def start_operator(self, kubeconfig: Path) -> None:
        (port,) = free_ports(1)
        self.liveness = f"http://127.0.0.1:{port}/healthz"
        argv = [
            str(OPERATOR),
            "--all-namespaces",
            f"--liveness={self.liveness}",
            "--log-format=full",
        ]
        env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        self.options = {k: str(v) for k, v in vars(from_env(env)).items()}
        self.operator_argv = argv
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                _die_with_parent(argv),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=env,
            )
        self.sampler = Sampler(self.process.pid)
        self.sampler.start()

    def check_operator(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise OperatorDied(f"the operator exited with code {self.process.returncode}:\n{tail}")

    def stop_operator(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.notes.append("the operator did not stop within 30 s of SIGTERM: killed")
            self.process.kill()
            self.process.wait()
        self.result["operator_stop"] = {
            "seconds": time.monotonic() - started,
            "exit_code": self.process.returncode,
        }

    # -- phases

    def begin(self, name: str) -> Phase:
        """Phases are contiguous: one starts where the last ended (its CPU and log are read
        now, at most a poll interval later)."""
        now = time.time()
        if self.phases and not self.phases[-1].ended:
            self.end(now)
        phase = Phase(name, self.phases[-1].ended if self.phases else now)
        phase.cpu = {proc: [cpu_seconds(pid)] for proc, pid in self.pids().items()}
        phase.load = [os.getloadavg()[0]]
        phase.log_offsets = [self.log.stat().st_size if self.log.exists() else 0]
        self.phases.append(phase)
        log(f"phase {name}: {PHASES[name]}")
        return phase

    def end(self, at: float | None = None) -> None:
        phase = self.phases[-1]
        phase.ended = at or time.time()
        for proc, pid in self.pids().items():
            phase.cpu.setdefault(proc, [None]).append(cpu_seconds(pid))
        phase.load.append(os.getloadavg()[0])
        phase.log_offsets.append(self.log.stat().st_size if self.log.exists() else 0)

    def wait_for(
        self,
        probe: Callable[[], bool],
        timeout: float,
        progress: Callable[[], str] | None = None,
    ) -> bool:
        """Poll PROBE (reading the audit log meanwhile); False when TIMEOUT passed first."""
        deadline = time.monotonic() + timeout
        shown = time.monotonic()
        while True:
            self.audit.poll()
            self.check_operator()
            if probe():
                return True
            if time.monotonic() > deadline:
                return False
            if progress and time.monotonic() - shown > 10:
                log(progress())
                shown = time.monotonic()
            time.sleep(0.2)

    def quiet(self, since: float, timeout: float) -> bool:
        """Until the operator has made no request for --quiet seconds (after `since`)."""
        quiet = float(self.args.quiet)

        def probe() -> bool:
            return time.time() - max(since, self.audit.last_received) >= quiet

        return self.wait_for(probe, timeout)

    # -- the steps

    def setup(self) -> None:
        plane = self.plane
        plane.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
        plane.wait_established(*(f"{kind.plural}.{GROUP}" for kind in KINDS))
        from tests.k8s.conftest import await_garbage_collector

        await_garbage_collector(plane)
        started = time.monotonic()
        namespaces = [plane.new_namespace("scale") for _ in range(self.args.namespaces)]
        self.result["namespaces_created_seconds"] = time.monotonic() - started
        self.layout = layout(namespaces, self.args.stacks, self.args.documents)
        for watch in self.watches.values():
            watch.start()
        for watch in self.watches.values():
            if not watch.started_watch.wait(30):
                raise RuntimeError(f"the {watch.plural} watch did not start: {watch.errors}")

    def run_operator(self) -> None:
        kubeconfig = self.plane.user_kubeconfig(OPERATOR_USER, "system:masters")
        self.start_operator(kubeconfig)
        self.begin("start")

        def alive() -> bool:
            try:
                with urllib.request.urlopen(self.liveness, timeout=2) as reply:
                    return bool(reply.status == 200)
            except (OSError, urllib.error.URLError):
                return False

        if not self.wait_for(alive, 120):
            raise RuntimeError("the operator's liveness endpoint did not answer in 120 s")
        self.result["operator_live_seconds"] = time.time() - self.phases[-1].started
        self.quiet(time.time(), 60)

    def apply(self) -> None:
        stacks = self.watches["MockStack"]
        keys = set(self.layout.stacks)
        text = "\n---\n".join(json.dumps(doc) for doc in self.layout.documents)
        phase = self.begin("apply")
        self.plane.kubectl("apply", "--server-side", "--field-manager=bench", "-f", "-", input=text)
        self.result["apply_command_seconds"] = time.time() - phase.started

        def counts() -> tuple[int, int]:
            seen = stacks.snapshot()
            with_status = sum(1 for k in keys if k in seen and seen[k].first_status)
            ready = sum(1 for k in keys if k in seen and seen[k].ready)
            return with_status, ready

        def progress() -> str:
            with_status, ready = counts()
            return (
                f"  {with_status}/{len(keys)} with a status, {ready}/{len(keys)} Ready, "
                f"{len(self.audit.calls)} operator requests so far"
            )

        done = self.wait_for(lambda: counts()[1] == len(keys), self.args.ready_timeout, progress)
        if not done:
            phase.note = f"stopped waiting after {self.args.ready_timeout:g} s: " + progress()
            self.notes.append(f"not every MockStack became Ready: {progress().strip()}")
            self.end()
            return
        self.end(max(stacks.snapshot()[k].ready or 0 for k in keys))

    def settle_and_idle(self) -> None:
        phase = self.begin("settle")
        if not self.quiet(phase.started, self.args.settle_timeout):
            phase.note = f"the operator was still busy after {self.args.settle_timeout:g} s"
            self.notes.append(phase.note)
        self.begin("idle")
        self.wait_for(lambda: False, self.args.idle)

    def delete(self) -> None:
        wanted = set(self.layout.namespaces)
        phase = self.begin("delete")
        self.plane.kubectl("delete", "namespace", *sorted(wanted), "--wait=false")
        gone: dict[str, float] = {}

        def all_gone() -> bool:
            status, listing = self.plane.request("GET", "/api/v1/namespaces")
            if status != 200:
                return False
            present = {item["metadata"]["name"] for item in listing["items"]}
            for name in wanted - present:
                gone.setdefault(name, time.time())
            return not wanted & present

        def progress() -> str:
            return f"  {len(gone)}/{len(wanted)} namespaces gone"

        done = self.wait_for(all_gone, self.args.delete_timeout, progress)
        self.result["namespace_gone_seconds"] = sorted(t - phase.started for t in gone.values())
        if not done:
            phase.note = f"stopped waiting after {self.args.delete_timeout:g} s: " + progress()
            self.notes.append(f"namespaces not gone: {progress().strip()}")
            self.end()
        else:
            self.end(max(gone.values()))
        after = self.begin("after")
        if not self.quiet(after.started, self.args.settle_timeout):
            after.note = f"the operator was still busy after {self.args.settle_timeout:g} s"
            self.notes.append("after deletion, " + after.note)
        self.end()
        self.result["leftovers"] = self.leftovers()

    def leftovers(self) -> dict[str, Any]:
        """Anything of aimock still anywhere: custom resources, labelled children, and
        cluster-scoped objects the operator created (none expected)."""
        found: dict[str, list[str]] = {}
        for kind, plural in PLURAL.items():
            status, listing = self.plane.request("GET", f"{API}/{plural}")
            found[kind] = (
                [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in listing["items"]]
                if status == 200
                else [f"list failed: {status}"]
            )
        for plural, path in LABELLED.items():
            status, listing = self.plane.request("GET", f"{path}?labelSelector={MANAGED}")
            found[plural] = (
                [
                    f"{i['metadata'].get('namespace')}/{i['metadata']['name']}"
                    for i in listing["items"]
                ]
                if status == 200
                else [f"list failed: {status}"]
            )
        ours = set(self.layout.namespaces)
        status, listing = self.plane.request("GET", "/api/v1/namespaces")
        found["namespaces"] = [
            i["metadata"]["name"] for i in listing["items"] if i["metadata"]["name"] in ours
        ]
        created = sorted(
            {
                (c.resource, c.name)
                for c in self.audit.calls.values()
                if not c.namespace and c.name and (c.verb == "create" or c.apply)
            }
        )
        found["cluster_scoped_created_by_operator"] = [f"{r}/{n}" for r, n in created]
        return found


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


def phase_of(phases: list[Phase], moment: float) -> str:
    for phase in phases:
        if phase.started <= moment < (phase.ended or math.inf):
            return phase.name
    return "start" if phases and moment < phases[0].started else "stop"


def stat(values: list[float]) -> dict[str, float | None]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values) if values else None,
    }


def latencies(run: Run) -> dict[str, Any]:
    seen = run.watches["MockStack"].snapshot()
    apply = next((p for p in run.phases if p.name == "apply"), None)
    t0 = apply.started if apply else 0.0
    rows: dict[str, list[float]] = defaultdict(list)
    for key in run.layout.stacks:
        item = seen.get(key)
        if item is None:
            continue
        if item.first_status:
            rows["apply -> first status"].append(item.first_status - t0)
            if item.added:
                rows["created -> first status"].append(item.first_status - item.added)
        if item.ready:
            rows["apply -> Ready=True"].append(item.ready - t0)
            if item.added:
                rows["created -> Ready=True"].append(item.ready - item.added)
        if item.added:
            rows["apply -> created"].append(item.added - t0)
    order = [
        "apply -> created",
        "apply -> first status",
        "apply -> Ready=True",
        "created -> first status",
        "created -> Ready=True",
    ]
    return {name: stat(rows[name]) for name in order}


def requests(run: Run) -> dict[str, Any]:
    """The operator's requests by phase, and by verb and resource within each."""
    names_ = [p.name for p in run.phases]
    if any(phase_of(run.phases, c.received) == "stop" for c in run.audit.calls.values()):
        names_.append("stop")  # while the operator shut down
    by_label: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    agents: dict[str, Counter[str]] = defaultdict(Counter)
    codes: dict[str, Counter[str]] = defaultdict(Counter)
    for call in run.audit.calls.values():
        phase = phase_of(run.phases, call.received)
        by_label[call.label][phase] += 1
        totals[phase] += 1
        agents[call.agent][phase] += 1
        if call.write:
            writes[phase] += 1
        if call.code is not None and call.code >= 400:
            codes[phase][f"{call.code} {call.label}"] += 1
    others: Counter[str] = Counter(phase_of(run.phases, t) for t in run.audit.others)
    return {
        "phases": names_,
        "total": dict(totals),
        "writes": dict(writes),
        "by_label": {
            k: dict(v) for k, v in sorted(by_label.items(), key=lambda i: -sum(i[1].values()))
        },
        "by_agent": {k: dict(v) for k, v in agents.items()},
        "failed": {k: dict(v) for k, v in codes.items()},
        "others_total": dict(others),
        "audit_lines": run.audit.lines,
    }


def in_flight(run: Run, phases: tuple[str, ...] = ("apply", "settle")) -> dict[str, Any]:
    """How many of the operator's own API calls (k8s.py, not kopf's watches) were in flight at
    once, from the audit log's received and completed times: the most, and the share of the
    time at each count. A flat ceiling is a client-side limit (a pool), not the apiserver."""
    edges: list[tuple[float, int]] = []
    latencies: list[float] = []
    for call in run.audit.calls.values():
        if call.agent != "client" or call.completed is None or call.verb == "watch":
            continue
        if phase_of(run.phases, call.received) in phases:
            edges += [(call.received, 1), (call.completed, -1)]
            latencies.append(call.completed - call.received)
    edges.sort()
    share: dict[int, float] = defaultdict(float)
    current = most = 0
    for index, (moment, step) in enumerate(edges):
        current += step
        most = max(most, current)
        if index + 1 < len(edges):
            share[current] += edges[index + 1][0] - moment
    total = sum(share.values()) or 1.0
    span = (edges[-1][0] - edges[0][0]) if edges else 0.0
    return {
        "phases": list(phases),
        "calls": len(latencies),
        "calls_per_second": len(latencies) / span if span else None,
        "max": most,
        "time_share": {n: round(t / total, 3) for n, t in sorted(share.items())},
        "apiserver_seconds": stat(latencies),
    }


def idle_writes(run: Run) -> list[dict[str, Any]]:
    return [
        {"label": c.label, "namespace": c.namespace, "name": c.name, "code": c.code, "body": c.body}
        for c in sorted(run.audit.calls.values(), key=lambda c: c.received)
        if c.write and phase_of(run.phases, c.received) == "idle"
    ]


def status_writes(run: Run, threshold: int) -> dict[str, Any]:
    """Each status write of the operator: effective (its answer is the version that changed
    the status, first claimed) or a no-op (an answer already claimed, or a version that did
    not touch the status). Per MockStack, how many, and why they moved."""
    per_kind: dict[str, Any] = {}
    per_stack: Counter[tuple[str, str]] = Counter()
    moved: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    apply = next((p for p in run.phases if p.name == "apply"), None)
    t0 = apply.started if apply else 0.0
    sequences: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for kind, plural in PLURAL.items():
        watch = run.watches[kind]
        seen = watch.snapshot()
        claimed: dict[tuple[str, str], set[str]] = defaultdict(set)
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        calls = sorted(
            (
                c
                for c in run.audit.calls.values()
                if c.resource == f"{plural}/status" and c.verb in ("patch", "update")
            ),
            key=lambda c: c.received,
        )
        for call in calls:
            phase = phase_of(run.phases, call.received)
            key = (call.namespace, call.name)
            item = seen.get(key)
            version = call.version_after
            if call.code != 200:
                verdict = f"failed {call.code}"
            elif version is None or item is None:
                verdict = "unknown"
            elif (
                version in item.versions and item.versions[version] and version not in claimed[key]
            ):
                verdict = "effective"
                claimed[key].add(version)
                moved.update(f"{kind} {m}" for m in item.versions[version])
            else:
                verdict = "no-op"
                if len(examples) < 6:
                    examples.append(
                        {"kind": kind, "object": "/".join(key), "phase": phase, "body": call.body}
                    )
            counts[phase][verdict] += 1
            counts["all"][verdict] += 1
            if kind == "MockStack" and phase in ("apply", "settle", "idle"):
                per_stack[key] += 1
                if len(sequences[key]) < 40:
                    sequences[key].append(
                        {
                            "at": round(call.received - t0, 2),
                            "phase": phase,
                            "verdict": verdict,
                            "moved": item.versions.get(version or "", []) if item else [],
                        }
                    )
        per_kind[kind] = {k: dict(v) for k, v in counts.items()}
    values = [per_stack.get(key, 0) for key in run.layout.stacks]
    over = sorted(((n, "/".join(k)) for k, n in per_stack.items() if n > threshold), reverse=True)
    busiest = max(per_stack, key=lambda k: per_stack[k]) if per_stack else None
    return {
        "by_kind": per_kind,
        "per_stack": stat([float(v) for v in values]) | {"min": min(values, default=None)},
        "per_stack_histogram": dict(sorted(Counter(values).items())),
        "threshold": threshold,
        "over_threshold": [{"stack": s, "patches": n} for n, s in over[:20]],
        "over_threshold_count": len(over),
        "moved_fields": dict(moved.most_common()),
        "noop_examples": examples,
        "busiest_stack": "/".join(busiest) if busiest else None,
        "busiest_sequence": sequences.get(busiest, []) if busiest else [],
    }


def main_patches(run: Run) -> dict[str, Any]:
    """kopf's own patches of the custom resources (not their status): its annotations (the
    last-handled digest) and finalizers, by resource, phase and what they touched."""
    counts: Counter[str] = Counter()
    finalizers: Counter[str] = Counter()
    for call in run.audit.calls.values():
        if call.resource in PLURAL.values() and call.verb == "patch":
            phase = phase_of(run.phases, call.received)
            text = json.dumps(call.body)
            what = "finalizers" if "/metadata/finalizers" in text else "annotations"
            if "annotations" in text and what == "finalizers":
                what = "finalizers+annotations"
            counts[f"{call.resource} {what} {phase} {call.code}"] += 1
            if what.startswith("finalizers") and call.code == 200:
                op = "add" if '"op": "add"' in text else "remove"
                finalizers[f"{op} {call.resource}"] += 1
    return {"patches": dict(sorted(counts.items())), "finalizers": dict(finalizers)}


def phases_table(run: Run) -> list[dict[str, Any]]:
    samples = run.sampler.samples if run.sampler else []
    rows = []
    for phase in run.phases:
        inside = [s for s in samples if phase.started <= s[0] <= phase.ended]
        seconds = phase.ended - phase.started

        def used(proc: str, phase: Phase = phase) -> float | None:
            start, *rest = phase.cpu.get(proc) or [None]
            end = rest[-1] if rest else None
            return None if start is None or end is None else end - start

        text = ""
        if run.log.exists():
            with run.log.open("rb") as file:
                file.seek(phase.log_offsets[0])
                text = file.read(phase.log_offsets[-1] - phase.log_offsets[0]).decode(
                    errors="replace"
                )
        rows.append(
            {
                "phase": phase.name,
                "what": PHASES[phase.name],
                "started": phase.started,
                "seconds": seconds,
                "operator_cpu_s": used("operator"),
                "apiserver_cpu_s": used("kube-apiserver"),
                "etcd_cpu_s": used("etcd"),
                "rss_peak_mib": max((s[1] for s in inside), default=0) / MIB or None,
                "rss_end_mib": (inside[-1][1] / MIB) if inside else None,
                "load": phase.load,
                "note": phase.note,
                "log": log_summary(text),
            }
        )
    return rows


def analyse(run: Run) -> dict[str, Any]:
    threshold = run.args.expected_status_patches
    return {
        "phases": phases_table(run),
        "latency": latencies(run),
        "requests": requests(run),
        "status_writes": status_writes(run, threshold),
        "main_patches": main_patches(run),
        "idle_writes": idle_writes(run),
        "in_flight": in_flight(run),
        "watch_health": {
            kind: {"errors": w.errors, "reconnects": w.reconnects, "objects": len(w.objects)}
            for kind, w in run.watches.items()
        },
        "rss_samples": [
            (round(t, 2), rss) for t, rss, _ in (run.sampler.samples if run.sampler else [])
        ],
    }


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> str:
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def findings(report: dict[str, Any]) -> list[str]:
    """What deserves a look, in words (no thresholds on time: only on behaviour)."""
    out: list[str] = []
    found = report["analysis"]
    requests_ = found["requests"]
    idle = requests_["total"].get("idle", 0)
    idle_w = len(found["idle_writes"])
    if idle_w:
        labels = Counter(w["label"] for w in found["idle_writes"])
        out.append(f"**{idle_w} writes during idle** ({dict(labels)})")
    elif idle:
        out.append(f"no writes during idle, but {idle} reads (a poll?)")
    else:
        out.append("idle: no request at all (no writes, no polling)")
    for kind, counts in found["status_writes"]["by_kind"].items():
        noop = counts.get("all", {}).get("no-op", 0)
        if noop:
            where = {p: c["no-op"] for p, c in counts.items() if p != "all" and c.get("no-op")}
            out.append(f"**{noop} {kind} status writes changed nothing** (by phase: {where})")
    stacks = report["config"]["stacks"]
    busy = found["requests"]["by_label"].get("apply deployments", {})
    reconciles = busy.get("apply", 0) + busy.get("settle", 0)
    configs = found["status_writes"]["moved_fields"].get("MockStack configHash", 0)
    if reconciles > stacks:
        out.append(
            f"**{reconciles / stacks:.1f} full reconciles per stack** from apply to quiet "
            f"({reconciles} Deployment applies for {stacks} stacks), while the stacks' config "
            f"hash changed {configs} times: {max(0, reconciles - configs)} reconciles re-applied"
            " an unchanged config"
        )
    flight = found["in_flight"]
    if flight["calls"]:
        out.append(
            f"the operator's own API calls (apply + settle): {flight['calls']} at "
            f"{fmt(flight['calls_per_second'], 0)}/s, never more than {flight['max']} in flight"
            f" (time share per count {flight['time_share']}); the apiserver answered each in "
            f"p50 {fmt((flight['apiserver_seconds']['p50'] or 0) * 1000, 0)} ms, p95 "
            f"{fmt((flight['apiserver_seconds']['p95'] or 0) * 1000, 0)} ms"
        )
    sw = found["status_writes"]
    if sw["over_threshold_count"]:
        out.append(
            f"**{sw['over_threshold_count']} MockStacks had more than {sw['threshold']} status"
            f" writes** (apply to idle; most: {sw['over_threshold'][:3]})"
        )
    for row in found["phases"]:
        levels = row["log"]["levels"]
        bad = {k: v for k, v in levels.items() if k in ("WARNING", "ERROR", "CRITICAL")}
        if bad or row["log"]["tracebacks"]:
            out.append(
                f"operator log in phase {row['phase']}: {bad}, {row['log']['tracebacks']} "
                f"tracebacks; e.g. {row['log']['top'][:2]}"
            )
    for phase, failed in requests_["failed"].items():
        out.append(f"failed operator requests in phase {phase}: {failed}")
    added = {
        k.split()[1]: v
        for k, v in found["main_patches"]["finalizers"].items()
        if k.startswith("add ")
    }
    if added:
        out.append(
            f"kopf put its finalizer on {added} (timers need it): deleting these objects, and "
            "so their namespaces, waits for a running operator"
        )
    left = {k: v for k, v in report["leftovers"].items() if v}
    if left:
        out.append(f"**left over after the namespaces were deleted**: {left}")
    else:
        out.append("nothing of aimock left after deletion (custom resources, labelled children)")
    out += [f"**{note}**" for note in report["notes"]]
    return out


def markdown(report: dict[str, Any]) -> str:
    config, found = report["config"], report["analysis"]
    title = f"{config['stacks']} MockStacks in {config['namespaces']} namespaces"
    out = [f"## Operator at scale: {title}\n"]
    out.append(f"`{' '.join(report['command'])}`\n")
    load = report["load_average"]
    out.append(
        f"{report['date']}, aimock {report['revision']}, kopf {report['versions']['kopf']}, "
        f"Kubernetes {report['versions']['kubernetes']} (local plane: etcd, kube-apiserver with "
        f"audit log, controller-manager, scheduler, {config['nodes']} kwok nodes), "
        f"{report['machine']['cpus']} CPUs, load average {fmt(load['before'], 2)} -> "
        f"{fmt(load['after'], 2)}. The operator: `aimock-operator "
        f"{' '.join(report['operator']['argv'][1:])}` as user `{OPERATOR_USER}` (production "
        f"settings: {report['operator']['options']}).\n"
    )
    out.append(f"Applied in one `kubectl apply --server-side`: {report['documents']}.\n")
    rows = []
    for row in found["phases"]:
        reqs = found["requests"]
        secs = row["seconds"]
        cpu = row["operator_cpu_s"]
        rows.append(
            [
                f"{row['phase']}: {row['what']}",
                fmt(secs),
                fmt(cpu, 2),
                fmt(100 * cpu / secs if cpu is not None and secs > 0 else None, 0) + "%",
                fmt(row["rss_peak_mib"]),
                fmt(row["rss_end_mib"]),
                str(reqs["total"].get(row["phase"], 0)),
                str(reqs["writes"].get(row["phase"], 0)),
                fmt(row["apiserver_cpu_s"], 1),
                fmt(row["load"][-1] if row["load"] else None, 2),
            ]
        )
    out.append(
        table(
            [
                "phase",
                "seconds",
                "operator CPU s",
                "of a core",
                "RSS peak MiB",
                "RSS end MiB",
                "operator requests",
                "writes",
                "apiserver CPU s",
                "load at end",
            ],
            rows,
        )
    )
    notes = [f"{r['phase']}: {r['note']}" for r in found["phases"] if r["note"]]
    if notes:
        out.append("Notes: " + "; ".join(notes) + "\n")
    out.append(
        "Per MockStack, seconds (from the start of the apply; `created`: from the watch's "
        "ADDED event of that stack):\n"
    )
    rows = [
        [name, fmt(s["p50"], 2), fmt(s["p95"], 2), fmt(s["max"], 2), str(s["n"])]
        for name, s in found["latency"].items()
    ]
    out.append(table(["per stack", "p50", "p95", "max", "stacks"], rows))
    stacks = config["stacks"]
    phases = list(found["requests"]["phases"])
    rows = []
    for label, counts in found["requests"]["by_label"].items():
        busy = counts.get("apply", 0) + counts.get("settle", 0)
        rows.append(
            [
                f"`{label}`",
                *(str(counts.get(p, 0)) for p in phases),
                str(sum(counts.values())),
                fmt(busy / stacks, 2),
            ]
        )
    total = found["requests"]["total"]
    busy_total = total.get("apply", 0) + total.get("settle", 0)
    rows.append(
        [
            "**all**",
            *(str(total.get(p, 0)) for p in phases),
            str(sum(total.values())),
            fmt(busy_total / stacks, 2),
        ]
    )
    out.append(
        "The operator's requests (audit log, user `aimock-operator`) by verb and resource; "
        "`apply` is a server-side apply (a patch with a field manager). Per stack: apply + "
        "settle, over the stacks.\n"
    )
    out.append(table(["request", *phases, "total", "per stack"], rows))
    agents = found["requests"]["by_agent"]
    out.append(
        "By client: "
        + ", ".join(f"{a} {sum(c.values())}" for a, c in agents.items())
        + " (kopf: its watches and its own patches; client: the operator's k8s.py). "
        f"Everyone else's requests meanwhile: {sum(found['requests']['others_total'].values())}"
        f" (the benchmark and the plane's components).\n"
    )
    sw = found["status_writes"]
    rows = []
    for kind, counts in sw["by_kind"].items():
        every = counts.get("all", {})
        rows.append(
            [
                kind,
                str(sum(every.values())),
                str(every.get("effective", 0)),
                str(every.get("no-op", 0)),
                str(sum(v for k, v in every.items() if k not in ("effective", "no-op"))),
            ]
        )
    out.append(
        "Status writes (PATCH of the status subresource): effective = answered with the version"
        " that changed the status; no-op = changed nothing.\n"
    )
    out.append(table(["kind", "status writes", "effective", "no-op", "failed/unknown"], rows))
    per = sw["per_stack"]
    out.append(
        f"Status writes per MockStack (apply, settle, idle): min {per['min']}, p50 "
        f"{fmt(per['p50'], 0)}, p95 {fmt(per['p95'], 0)}, max {fmt(per['max'], 0)}; "
        f"histogram (writes: stacks) {sw['per_stack_histogram']}; "
        f"{sw['over_threshold_count']} stacks above {sw['threshold']}.\n"
    )
    if sw["moved_fields"]:
        moved = ", ".join(f"{k} {v}" for k, v in list(sw["moved_fields"].items())[:12])
        out.append(f"What the effective status writes changed (field: writes): {moved}.\n")
    out.append(
        f"Idle: {len(found['idle_writes'])} writes, "
        f"{found['requests']['total'].get('idle', 0)} requests in all.\n"
    )
    gone = report.get("namespace_gone_seconds") or []
    left = {k: v for k, v in report["leftovers"].items() if v}
    out.append(
        f"Deletion: {len(gone)} of {config['namespaces']} namespaces gone, the last after "
        f"{fmt(max(gone) if gone else None)} s (median {fmt(percentile(gone, 50))} s); left over"
        f" afterwards: {left or 'nothing'} (custom resources of the 3 kinds, and "
        f"{', '.join(LABELLED)} labelled {MANAGED}, in every namespace; cluster-scoped objects "
        "the operator created: none).\n"
    )
    out.append("### Findings\n")
    out += [f"- {line}" for line in report["findings"]]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="operator_scale.py",
        description="The operator with many MockStacks in many namespaces on the local plane: "
        "time to Ready, CPU, memory, API requests (audit log), idle writes, deletion.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    option = parser.add_argument
    option("--stacks", type=int, default=200, help="MockStacks in all")
    option("--namespaces", type=int, default=50, help="fresh namespaces they spread over")
    option("--smoke", action="store_true", help="tiny: 4 stacks, 2 namespaces, 5 s idle")
    option(
        "--documents",
        choices=("all", "stacks"),
        default="all",
        help="all: the whole example per namespace (Fixture, ChaosPolicy); stacks: MockStacks",
    )
    option("--nodes", type=int, help=f"kwok nodes (default: one per {MAX_PODS_PER_NODE} stacks)")
    option("--idle", type=float, default=30.0, help="seconds of the idle phase")
    option("--quiet", type=float, default=5.0, help="seconds without a request = quiet")
    option("--ready-timeout", type=float, default=900.0, help="most seconds to wait for Ready")
    option("--settle-timeout", type=float, default=180.0, help="most seconds to wait for quiet")
    option("--delete-timeout", type=float, default=600.0, help="most seconds for deletion")
    option(
        "--expected-status-patches",
        type=int,
        default=6,
        help="flag MockStacks with more status writes than this (apply to idle)",
    )
    option("--out", type=Path, help="results prefix (default bench/results/operator-scale)")
    option("--keep", action="store_true", help="keep the plane's folder (logs, audit log)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.stacks, args.namespaces, args.idle = 4, 2, 5.0
    if args.out is None:
        args.out = RESULTS / ("operator-scale-smoke" if args.smoke else "operator-scale")
    if args.stacks < 1 or not 1 <= args.namespaces <= args.stacks:
        parser.error("need 1 <= --namespaces <= --stacks")
    if args.stacks > SERVICE_IPS:
        parser.error(f"the plane's Service CIDR (/24) holds at most {SERVICE_IPS} stacks")
    args.nodes = args.nodes or max(1, math.ceil(args.stacks / MAX_PODS_PER_NODE))
    return args


def versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "kopf": metadata.version("kopf"),
        "kubernetes-client": metadata.version("kubernetes"),
        "aimock": metadata.version("aimock"),
        "kubernetes": K8S_VERSION,
    }


def tree_state() -> list[str]:
    """The files changed from HEAD when the run started (the operator under test)."""
    out = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.splitlines()


def benchmark(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    if missing_binaries():
        raise SystemExit("error: the k8s binaries are missing; run scripts/k8s-bin.sh first")
    load_before = os.getloadavg()[0]
    date = time.strftime("%Y-%m-%d %H:%M:%S %z")
    log(f"starting the plane ({args.nodes} kwok nodes, audit log on)")
    plane = ControlPlane.start(args.nodes, audit=True)
    run = Run(args, plane)
    failed = False
    try:
        try:
            run.setup()
            log(f"{len(run.layout.namespaces)} namespaces ready; starting the operator")
            run.run_operator()
            run.apply()
            run.settle_and_idle()
            run.delete()
        except OperatorDied as error:
            run.notes.append(str(error))
            failed = True
        finally:
            if run.phases and not run.phases[-1].ended:
                run.end()
            run.stop_operator()
            if run.sampler:
                run.sampler.stop()
            for watch in run.watches.values():
                watch.stop()
            run.audit.poll()
        analysis = analyse(run)  # before the plane's folder (the operator's log) is removed
    finally:
        if args.keep:
            log(f"kept {plane.workdir}")
        plane.stop(keep_workdir=args.keep)
    report: dict[str, Any] = {
        "date": date,
        "revision": bench_http.git_revision(),
        "changed_files": tree_state(),
        "command": [sys.executable, *sys.argv],
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": versions(),
        "load_average": {"before": load_before, "after": os.getloadavg()[0]},
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "documents": run.layout.description,
        "operator": {
            "argv": run.operator_argv,
            "options": run.options,
            "user": OPERATOR_USER,
        },
        "notes": run.notes,
        "leftovers": run.result.pop("leftovers", {}),
        **run.result,
        "analysis": analysis,
    }
    report["findings"] = findings(report)
    left = any(report["leftovers"].values())
    failed = failed or bool(run.notes) or left
    return report, failed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: everything is stopped
    report, failed = benchmark(args)
    text = markdown(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str))
    args.out.with_suffix(".md").write_text(text)
    print(text)
    log(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
