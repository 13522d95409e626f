"""kopf handlers: every event ends in one idempotent reconcile of the MockStacks it touches.

A reconcile reads the MockStack, the Fixtures its selector chooses and the ChaosPolicies in
force for it, renders every child (render/, pure), creates the stack's admin-token Secret if
it has none yet, applies the rest with server-side apply (k8s.py), removes config ConfigMaps
no longer needed and writes status explicitly (handlers return nothing, so kopf writes nothing
into status). Rendering the whole stack each time makes a reconcile safe to repeat at any
point: an operator killed half-way converges on restart.

- MockStack create/update/resume (and a slow resync clock) -> reconcile it.
- Fixture create/update (labels included) and deletion -> reconcile the stacks that select it
  or served it, then write its status (Accepted, which stacks load it).
- ChaosPolicy create/update and deletion -> stamp its drill (Active, startedAt, expiresAt) and
  reconcile the stacks it selects; a clock marks it Expired at its end and reconciles again.
- Deployment events (children only, by label) -> refresh the stack's Ready condition.
- Pod events (children only, by label) of a pod waiting in a back-off -> the same refresh, so
  a crash loop or an image pull that fails is reported as Stalled with the kubelet's words.

The two clocks are the operator's own loops, not kopf timers: a kopf timer puts a finalizer on
every object it runs for, and a finalizer would leave MockStacks and ChaosPolicies (and their
namespaces) stuck in Terminating whenever the operator is down. Owner references clean up.

An invalid version never reaches a pod: a Fixture or ChaosPolicy edited into one keeps its
last accepted version in the config (read back from the stack's ConfigMaps), an invalid
MockStack spec applies nothing; conditions name what was refused and which generation serves.
After a config change the stack's pods are annotated with its hash, so the kubelet refreshes
their ConfigMap volume at once (see `_nudge_pods`); then the ready pods are asked which config
they serve until all serve the new one (`_follow`, status.servedReplicas and ConfigServed).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from aimock import tls
from aimock_operator import k8s, serving
from aimock_operator.crd.v1alpha1 import GROUP, PLURALS, VERSION
from aimock_operator.render import admin_token, chaos, configmaps, names, selectors
from aimock_operator.render import tls as tls_render
from aimock_operator.render.errors import SpecError
from aimock_operator.render.stack import (
    Resource,
    Stack,
    owner_reference,
    parse_stack,
    render_stack,
)
from aimock_operator.render.status import (
    CONFIG_SERVED,
    Failure,
    Reconciliation,
    Rejected,
    Rollout,
    Serving,
    changed,
    fixture_status,
    serving_status,
    stack_status,
    stuck_pods,
)
from aimock_operator.settings import Options, configure, digest, from_env
from aimock_operator.validation import summary, validate_fixture, validate_mockstack

MOCKSTACKS, FIXTURES, CHAOS_POLICIES = (
    PLURALS["MockStack"],
    PLURALS["Fixture"],
    PLURALS["ChaosPolicy"],
)
Body = Mapping[str, Any]
Log = logging.Logger | logging.LoggerAdapter[Any]
# The pods are asked which config they serve after 0.5 s, then at doubling pauses up to 8 s,
# until all serve it or `Options.serving_patience` passes; a stack none of whose pods can be
# reached is given up after three rounds (until its next change) rather than asked forever.
FIRST_PAUSE, LAST_PAUSE, UNREACHABLE_ROUNDS = 0.5, 8.0, 3
MOVES_FOLLOWED = 3  # config changes while the pods are asked, followed within one round
log = logging.getLogger("aimock_operator.serving")


def utcnow() -> datetime:
    return datetime.now(UTC)


def _meta(body: Body) -> Mapping[str, Any]:
    return body.get("metadata") or {}


def _listed_fixtures(stack: Body) -> set[str]:
    """The Fixtures a stack's status says it served or left out."""
    status = stack.get("status") or {}
    return {*status.get("selectedFixtures", []), *status.get("rejectedFixtures", [])}


def _last_good(stack: Body, fixture: str) -> int | None:
    """The generation of a refused Fixture that a stack still serves, per its status."""
    for item in (stack.get("status") or {}).get("lastGoodFixtures") or []:
        if item.get("name") == fixture and isinstance(item.get("generation"), int):
            return int(item["generation"])
    return None


def _config_query(stack: Stack) -> str:
    """The label query for a stack's ConfigMaps."""
    return f"{names.STACK_LABEL}={stack.name},{names.MANAGED_BY_LABEL}={names.MANAGED_BY}"


def _controller_uid(child: Body) -> str | None:
    for ref in _meta(child).get("ownerReferences") or []:
        if ref.get("kind") == "MockStack" and ref.get("controller"):
            return str(ref.get("uid"))
    return None


def stack_selects(stack: Body, labels: Mapping[str, str] | None) -> bool:
    """Whether a MockStack's fixtureSelector chooses a Fixture with `labels`."""
    raw = (stack.get("spec") or {}).get("fixtureSelector")
    if raw is None:
        return False
    try:
        return selectors.parse(raw, "spec.fixtureSelector").matches(labels)
    except SpecError:
        return False


def policy_targets(policy: Body, stacks: Iterable[Body]) -> list[str]:
    """The names of the MockStacks a ChaosPolicy selects, sorted."""
    return sorted(
        str(_meta(s)["name"]) for s in stacks if chaos.selects(policy, _meta(s).get("labels") or {})
    )


class Reconciler:
    """The operator's behaviour; `register` wires its methods to kopf."""

    def __init__(self, options: Options, clock: Callable[[], datetime] = utcnow) -> None:
        self.options = options
        self.clock = clock
        self.reconciles = 0
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._queued: set[tuple[str, str]] = set()  # stacks with a reconcile waiting its turn
        self._applied: dict[tuple[str, str], str] = {}  # digest of what each stack last applied
        self._refreshing: dict[str, asyncio.Lock] = {}  # per namespace: related statuses
        self._stacks: set[tuple[str, str]] = set()  # every MockStack seen, for the resync clock
        self._drills: dict[tuple[str, str], Body] = {}  # active drills with an end, by policy
        # Second nudges and follows of the pods' config, until they end (or the operator stops).
        self._background: set[asyncio.Task[None]] = set()
        self._nudged: dict[tuple[str, str], str] = {}  # each stack's last nudged config hash
        self._followed: dict[tuple[str, str], float] = {}  # stacks asked, until (loop time)

    async def close(self) -> None:
        """Cancel the background work (the operator is stopping) and wait until it ends."""
        tasks = list(self._background)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- the clocks ----------------------------------------------------------------------------

    def start_clocks(self) -> None:
        """Resync every stack each `resync` seconds (0: never); end drills when they are over."""
        if self.options.resync:
            self._spawn(self._every(self.options.resync, self.resync_all))
        self._spawn(self._every(self.options.chaos_interval, self.end_drills))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _every(self, seconds: float, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await work()
            except Exception:  # a clock outlives any one failure; the next tick tries again
                log.exception("a periodic pass failed")

    def saw_stack(self, event: str | None, body: Body) -> None:
        key = (str(_meta(body).get("namespace")), str(_meta(body).get("name")))
        if event == "DELETED":
            self._stacks.discard(key)
        else:
            self._stacks.add(key)

    def saw_policy(self, event: str | None, body: Body) -> None:
        key = (str(_meta(body).get("namespace")), str(_meta(body).get("name")))
        status = body.get("status") or {}
        running = status.get("phase") == chaos.PHASE_ACTIVE and bool(status.get("expiresAt"))
        if event != "DELETED" and running:
            self._drills[key] = body
        else:
            self._drills.pop(key, None)

    async def resync_all(self) -> None:
        """Reconcile every stack: repairs hand edits of children, whatever no event reported."""
        for namespace, name in sorted(self._stacks):
            try:
                await self.reconcile(namespace, [name], log, repair=True)
            except kopf.TemporaryError as exc:
                log.warning(f"resync of MockStack {namespace}/{name}: {exc}")

    async def end_drills(self) -> None:
        """Mark the drills that are over Expired (the check needs no API call)."""
        now = self.clock()
        for key, body in sorted(self._drills.items()):
            if chaos.drill(body, now).phase != chaos.PHASE_EXPIRED:
                continue
            try:
                await self.policy_changed(body, log, always=False)
            except (k8s.ApiError, kopf.TemporaryError) as exc:
                log.warning(f"ending drill {key[0]}/{key[1]}: {exc}")
                continue
            if self._drills.get(key) is body:  # its Expired event may not be in yet
                del self._drills[key]

    def _lock(self, namespace: str, name: str) -> asyncio.Lock:
        # Several handlers (the stack's, a Fixture's, a policy's) may reconcile one stack at
        # once; one at a time per stack, so a slower one cannot apply an older rendering last.
        return self._locks.setdefault((namespace, name), asyncio.Lock())

    # --- MockStack ---------------------------------------------------------------------------

    async def reconcile(
        self,
        namespace: str,
        stacks: Iterable[str],
        logger: Log,
        fixtures: Iterable[str] = (),
        *,
        repair: bool = False,
    ) -> None:
        """Reconcile `stacks`, then refresh the status of every Fixture they touched.

        `repair`: apply the children even if they rendered as last applied (a child deleted or
        edited by hand; the resync clock)."""
        touched = set(fixtures)
        failures = []
        for name in sorted(set(stacks)):
            try:
                touched |= await self.reconcile_stack(namespace, name, logger, repair=repair)
            except k8s.ApiError as exc:
                failures.append(f"MockStack {name}: {exc}")
        await self.refresh_related(namespace, touched)
        if failures:
            raise kopf.TemporaryError("; ".join(failures), delay=self.options.backoff)

    async def reconcile_stack(
        self, namespace: str, name: str, logger: Log, *, repair: bool = False
    ) -> set[str]:
        """One stack; returns the Fixture names whose status may have changed.

        A reconcile already waiting for the stack's turn reads everything after this call's
        cause happened, so this call leaves the work to it: a MockStack, its Fixture and its
        ChaosPolicy applied at once cost one reconcile after the running one, not three."""
        key = (namespace, name)
        if key in self._queued:
            return set()
        self._queued.add(key)
        try:
            lock = self._lock(namespace, name)
            await lock.acquire()
        finally:
            self._queued.discard(key)
        try:
            return await self._reconcile_stack(namespace, name, logger, repair)
        finally:
            lock.release()

    async def _reconcile_stack(
        self, namespace: str, name: str, logger: Log, repair: bool
    ) -> set[str]:
        body = await k8s.get(MOCKSTACKS, namespace, name)
        if body is None or _meta(body).get("deletionTimestamp"):
            return set()
        touched = _listed_fixtures(body)
        problems = validate_mockstack(body)
        try:
            if problems:
                raise SpecError(problems[0].field, summary(problems))
            stack = parse_stack(body)
        except SpecError as exc:
            # Nothing is applied: the stack keeps serving what it served before.
            logger.warning(f"MockStack {name} is invalid: {exc}")
            message = str(exc)
            served = (body.get("status") or {}).get("servedGeneration")
            if served is not None:
                message += f"; generation {served}, the last applied, is served"
            await self._report(body, failure=Failure("InvalidSpec", message))
            return touched
        return touched | await self._apply(stack, body, logger, repair)

    async def _apply(self, stack: Stack, body: Body, logger: Log, repair: bool) -> set[str]:
        now = self.clock()
        selected = await self._selected_fixtures(stack)
        config_maps = await k8s.list_config_maps(stack.namespace, _config_query(stack))
        # What the pods serve now: the last accepted version of anything refused below.
        served = configmaps.served_files(stack.name, config_maps)
        kept: dict[str, str] = {}
        valid, rejected = [], []
        for fixture in selected:
            problems = validate_fixture(fixture)
            if not problems:
                valid.append(fixture)
                continue
            name = _meta(fixture)["name"]
            held = served.get(names.fixture_file(name))
            if held is not None:
                kept[names.fixture_file(name)] = held
            serving = configmaps.generation_of(held) if held is not None else None
            rejected.append(Rejected(name, tuple(problems), serving))
        policies = []
        for policy in await k8s.list_resources(CHAOS_POLICIES, stack.namespace):
            if not chaos.in_force(policy, now):
                continue
            file = names.chaos_policy_file(_meta(policy)["name"])
            if chaos.serves_current(policy):
                if chaos.selects(policy, stack.resource.labels):
                    policies.append(policy)
            elif file in served:  # the last accepted drill goes on where it runs already
                kept[file] = served[file]
        try:
            ca = await self._tls_authority(stack)
        except k8s.ApiError as exc:
            if exc.namespace_gone:
                return set()
            logger.error(f"MockStack {stack.name}: its TLS certificate: {exc}")
            await self._report(body, failure=Failure("ApplyFailed", exc.message))
            raise
        rendered = render_stack(stack, valid, policies, self.options.image, kept=kept, ca=ca)
        key = (stack.namespace, stack.name)
        # What this reconcile would apply; the same as the last one applied means the children
        # are as wanted (what else changes them: a Deployment deleted by hand comes back through
        # its event, anything else through the resync clock, both with `repair`).
        wanted = digest([stack.resource.uid, rendered.objects, rendered.generated_token_secret])
        deployment: Body | None = None
        try:
            if repair or self._applied.get(key) != wanted:
                self._applied.pop(key, None)
                await self._ensure_admin_token(stack, rendered.generated_token_secret)
                deployment = (await k8s.apply_all(rendered.objects))[-1]
                await self._prune_config_maps(stack, rendered.config_map_names, config_maps)
                if rendered.config_hash != (body.get("status") or {}).get("configHash"):
                    await self._nudge_pods(stack, rendered.config_hash, logger)
                if rendered.drift_job is None:  # spec.drift removed: its schedule goes too
                    job = names.drift_job(stack.name)
                    await k8s.delete_owned_cron_job(stack.namespace, job, stack.resource.uid)
                self._applied[key] = wanted
        except k8s.ApiError as exc:
            if exc.namespace_gone:  # the stack goes with its namespace: nothing to do
                logger.info(f"MockStack {stack.name}: its namespace is being deleted")
                return set()
            logger.error(f"MockStack {stack.name}: applying failed: {exc}")
            await self._report(body, failure=Failure("ApplyFailed", exc.message))
            raise
        outcome = Reconciliation(
            fixtures=rendered.fixture_count,
            config_hash=rendered.config_hash,
            endpoint=rendered.origin,
            endpoints_config_map=names.endpoints(stack.name),
            admin_token_secret=rendered.admin_token_secret,
            selected=tuple(sorted(_meta(f)["name"] for f in selected)),
            rejected=tuple(rejected),
            chaos_policies=tuple(rendered.chaos_policies),
            generation=stack.resource.generation,
        )
        await self._report(body, outcome=outcome, deployment=deployment)
        self.reconciles += 1
        logger.info(
            f"MockStack {stack.name}: config {rendered.config_hash}, "
            f"{rendered.fixture_count} fixtures, {len(rejected)} Fixture resources left out"
        )
        return set(outcome.selected)

    async def _ensure_admin_token(self, stack: Stack, secret: Body | None) -> None:
        """Create the stack's token Secret the first time; never rewrite an existing one.

        The token is drawn only when the Secret is missing, so reconciles and restarts keep
        it. A Secret of that name the stack does not control (a user's, or a deleted namesake
        stack's that the garbage collector has yet to remove) is a conflict: nothing is applied
        and the reconcile is retried, which resolves the second case by itself.
        """
        if secret is None:
            return  # spec.adminTokenSecret names the user's own
        name = secret["metadata"]["name"]
        found = await k8s.get_secret_metadata(stack.namespace, name)
        if found is None:
            token = secrets.token_hex(admin_token.TOKEN_BYTES)
            await k8s.create_secret(admin_token.with_token(secret, token))
        elif _controller_uid(found) != stack.resource.uid:
            raise k8s.ApiError(
                409,
                f"Secret {name} exists and is not owned by MockStack {stack.name}: delete it, "
                "or name it in spec.adminTokenSecret to use its token",
            )

    async def _tls_authority(self, stack: Stack) -> str | None:
        """With `spec.tls` and no `secretName`: the CA (PEM) to publish in the endpoints
        ConfigMap, after making the stack's certificate Secret `<stack>-tls` the first time.

        The CA and certificate are drawn only when the Secret is missing, so reconciles and
        restarts keep them; the CA is read back from the Secret's metadata (an annotation),
        never its keys. A namesake the stack does not control is never taken over, as for the
        admin token. A named Secret (`secretName`) is the user's: never read, no CA published.
        """
        if stack.spec.tls is None or stack.spec.tls.secret_name:
            return None
        name = names.tls_secret(stack.name)
        found = await k8s.get_secret_metadata(stack.namespace, name)
        if found is None:
            manifest = tls_render.generated_secret(
                stack.name, namespace=stack.namespace, owner=owner_reference(stack)
            )
            pems = tls.make_certificates(
                tls_render.certificate_names(stack.name, stack.namespace),
                tls_render.authority_name(stack.name, stack.namespace),
            )
            secret = tls_render.with_certificates(manifest, pems)
            if await k8s.create_secret(secret):
                return tls_render.authority(secret)
            found = await k8s.get_secret_metadata(stack.namespace, name)  # made meanwhile
            if found is None:
                raise k8s.ApiError(409, f"Secret {name} was created and deleted meanwhile")
        if _controller_uid(found) != stack.resource.uid:
            raise k8s.ApiError(
                409,
                f"Secret {name} exists and is not owned by MockStack {stack.name}: delete it, "
                "or name it in spec.tls.secretName to serve its certificate",
            )
        return tls_render.authority(found)

    async def _selected_fixtures(self, stack: Stack) -> list[dict[str, Any]]:
        if stack.fixture_selector is None:
            return []  # no selector: inline fixtures only
        query = stack.fixture_selector.query() or None  # an empty selector: every Fixture
        found = await k8s.list_resources(FIXTURES, stack.namespace, label_selector=query)
        return sorted(found, key=lambda f: str(_meta(f).get("name")))

    async def _nudge_pods(self, stack: Stack, config_hash: str, logger: Log) -> None:
        """Annotate each of the stack's pods with the new config hash, and again a moment
        later: a pod update makes the kubelet sync that pod at once, which re-projects its
        ConfigMap volume; its server's --watch then reloads. Without it, the kubelet does so
        at its next periodic sync (a minute or more). The second nudge covers a kubelet that
        saw the pod update before the ConfigMap's (two watches, no order between them)."""
        key = (stack.namespace, stack.name)
        self._nudged[key] = config_hash
        await self._annotate_pods(stack, names.CONFIG_HASH_ANNOTATION, config_hash)

        async def again() -> None:
            await asyncio.sleep(self.options.nudge_again)
            if self._nudged.get(key) != config_hash:
                return  # a newer config has its own nudges
            try:
                await self._annotate_pods(stack, names.CONFIG_NUDGE_ANNOTATION, config_hash)
            except k8s.ApiError as exc:
                logger.warning(f"MockStack {stack.name}: second nudge of its pods failed: {exc}")

        if self.options.nudge_again:
            self._spawn(again())

    async def _annotate_pods(self, stack: Stack, key: str, value: str) -> None:
        for pod in await k8s.list_pods(stack.namespace, names.pod_query(stack.name)):
            meta = _meta(pod)
            if meta.get("deletionTimestamp") or (meta.get("annotations") or {}).get(key) == value:
                continue
            await k8s.annotate_pod(stack.namespace, str(meta["name"]), {key: value})

    async def _prune_config_maps(
        self, stack: Stack, keep: list[str], config_maps: list[dict[str, Any]]
    ) -> None:
        """Delete this stack's config ConfigMaps (as listed before applying) past the last
        index in use."""
        for config_map in config_maps:
            meta = _meta(config_map)
            name = str(meta.get("name"))
            owners = {ref.get("uid") for ref in meta.get("ownerReferences") or []}
            stale = names.config_map_index(stack.name, name) is not None and name not in keep
            if stale and stack.resource.uid in owners:
                await k8s.delete_config_map(stack.namespace, name, str(meta.get("uid")))

    async def _report(
        self,
        body: Body,
        *,
        outcome: Reconciliation | None = None,
        failure: Failure | None = None,
        deployment: Body | None = None,
    ) -> None:
        resource = Resource.from_body(body)
        if deployment is None:
            child = names.deployment(resource.name)
            deployment = await k8s.get_deployment(resource.namespace, child)
        status = stack_status(
            generation=resource.generation,
            previous=resource.status,
            deployment=deployment,
            now=self.clock(),
            outcome=outcome,
            failure=failure,
            pods=await self._unready_pods(resource.namespace, resource.name, deployment),
        )
        if changed(resource.status, status):
            await k8s.patch_status(MOCKSTACKS, resource.namespace, resource.name, status)
        served = next((c for c in status["conditions"] if c["type"] == CONFIG_SERVED), None)
        settled = served is not None and served["status"] == "True"
        if status.get("configHash") and not (
            settled and status.get("servedReplicas") == status.get("readyReplicas")
        ):
            self._follow(resource.namespace, resource.name)

    async def _unready_pods(
        self, namespace: str, name: str, deployment: Body | None
    ) -> list[dict[str, Any]]:
        """The stack's pods when some are not ready or a rollout runs (a back-off among them
        makes the stack Stalled); none to read when every pod is ready."""
        rollout = Rollout.of(deployment)
        if not rollout.found or not (rollout.ready < rollout.wanted or rollout.rolling):
            return []
        try:
            return await k8s.list_pods(namespace, names.pod_query(name))
        except k8s.ApiError as exc:  # the conditions go without the pods' reasons
            log.warning(f"MockStack {namespace}/{name}: listing its pods failed: {exc}")
            return []

    # --- which config the pods serve ---------------------------------------------------------

    def _follow(self, namespace: str, name: str) -> None:
        """Ask the stack's ready pods which config they serve until every one serves the
        stack's (a follow already running for the stack just gets its patience renewed)."""
        if not self.options.serving_patience:
            return
        key = (namespace, name)
        running = key in self._followed
        loop = asyncio.get_running_loop()
        self._followed[key] = loop.time() + self.options.serving_patience
        if running:
            return
        self._spawn(self._follow_serving(namespace, name))

    async def _follow_serving(self, namespace: str, name: str) -> None:
        key, loop = (namespace, name), asyncio.get_running_loop()
        pause, unreachable_rounds = FIRST_PAUSE, 0
        try:
            while loop.time() < self._followed.get(key, 0.0):
                await asyncio.sleep(pause)
                pause = min(pause * 2, LAST_PAUSE)
                try:
                    found = await self.refresh_serving(namespace, name)
                except k8s.ApiError as exc:
                    log.warning(f"MockStack {namespace}/{name}: asking its pods failed: {exc}")
                    continue
                if found is None or found.settled or found.ready == 0:
                    return  # done, or gone; a Deployment event brings the first ready pod
                none_answer = len(found.unreachable) == found.ready
                unreachable_rounds = unreachable_rounds + 1 if none_answer else 0
                if unreachable_rounds >= UNREACHABLE_ROUNDS:
                    return
        except Exception:
            log.exception(f"MockStack {namespace}/{name}: asking its pods failed unexpectedly")
        finally:
            self._followed.pop(key, None)

    async def refresh_serving(self, namespace: str, name: str) -> Serving | None:
        """Ask the stack's ready pods which config they serve, and report it in status;
        None when the stack is gone."""
        for _ in range(MOVES_FOLLOWED):
            body = await k8s.get(MOCKSTACKS, namespace, name)
            if body is None or _meta(body).get("deletionTimestamp"):
                return None
            config_hash = str((body.get("status") or {}).get("configHash") or "")
            found = await serving.probe(namespace, name, config_hash)
            async with self._lock(namespace, name):
                body = await k8s.get(MOCKSTACKS, namespace, name)
                if body is None:
                    return None
                previous = body.get("status") or {}
                if previous.get("configHash") != config_hash:
                    continue  # the config moved on while the pods were asked: ask about it
                status = serving_status(previous, found, self.clock())
                if changed(previous, status):
                    await k8s.patch_status(MOCKSTACKS, namespace, name, status)
                return found
        # Edits faster than the pods can be asked: nothing confirmed, the follow goes on.
        return Serving(config_hash, found.ready, 0, found.unreachable)

    async def refresh_ready(self, namespace: str, name: str) -> None:
        """The Deployment changed: recompute the stack's Ready and Progressing conditions.

        The Deployment is read again under the stack's lock: an event's body may be older than
        what a reconcile that held the lock meanwhile reported, and must not overwrite it.
        """
        async with self._lock(namespace, name):
            body = await k8s.get(MOCKSTACKS, namespace, name)
            deployment = await k8s.get_deployment(namespace, names.deployment(name))
            if body is None or deployment is None:
                return
            if _controller_uid(deployment) != _meta(body).get("uid"):
                return  # not made by this MockStack
            await self._report(body, deployment=deployment)

    async def pod_event(self, event: str | None, body: Body) -> None:
        """A stack's pod changed. A container entering or changing a back-off (crash loop,
        image pull) moves no Deployment field, so the stack's Stalled and Ready conditions are
        refreshed from here; every other change of readiness reaches the Deployment's status,
        and its event."""
        meta = _meta(body)
        stack = (meta.get("labels") or {}).get(names.STACK_LABEL)
        if not stack or not stuck_pods([{**body, "metadata": {}}]):
            return
        await self.refresh_ready(str(meta.get("namespace")), stack)

    async def stack_gone(self, body: Body) -> None:
        meta = _meta(body)
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        self._locks.pop((namespace, name), None)
        self._nudged.pop((namespace, name), None)
        self._followed.pop((namespace, name), None)
        self._applied.pop((namespace, name), None)
        await self.refresh_related(namespace, _listed_fixtures(body))

    # --- Fixture -----------------------------------------------------------------------------

    async def fixture_changed(self, body: Body, logger: Log) -> None:
        """Reconcile the stacks that select the Fixture now or served it before."""
        meta = _meta(body)
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        labels = meta.get("labels") or {}
        affected = [
            _meta(stack)["name"]
            for stack in await k8s.list_resources(MOCKSTACKS, namespace)
            if stack_selects(stack, labels) or name in _listed_fixtures(stack)
        ]
        await self.reconcile(namespace, affected, logger, fixtures=[name])

    async def refresh_related(self, namespace: str, fixtures: Iterable[str]) -> None:
        """Bring the status of these Fixtures, and of the namespace's policies, up to date.

        One refresh at a time per namespace, each reading after the last one wrote: two
        reading the same old statuses would both write the same change."""
        wanted = set(fixtures)
        async with self._refreshing.setdefault(namespace, asyncio.Lock()):
            stacks = await k8s.list_resources(MOCKSTACKS, namespace)
            if wanted:
                for fixture in await k8s.list_resources(FIXTURES, namespace):
                    if _meta(fixture).get("name") in wanted:
                        await self._refresh_fixture(fixture, stacks)
            for policy in await k8s.list_resources(CHAOS_POLICIES, namespace):
                await self._refresh_policy_stacks(policy, stacks)

    async def _refresh_fixture(self, fixture: Body, stacks: list[dict[str, Any]]) -> None:
        meta = _meta(fixture)
        labels = meta.get("labels") or {}
        problems = validate_fixture(fixture)
        generation = int(meta.get("generation") or 0)
        serving = {
            str(_meta(s)["name"]): _last_good(s, meta["name"]) if problems else generation
            for s in stacks
            if stack_selects(s, labels)
        }
        status = fixture_status(fixture, problems, serving, self.clock())
        if changed(fixture.get("status") or {}, status):
            await k8s.patch_status(FIXTURES, meta["namespace"], meta["name"], status)

    # --- ChaosPolicy -------------------------------------------------------------------------

    async def policy_changed(self, body: Body, logger: Log, *, always: bool = True) -> None:
        """Stamp the drill's phase and times; reconcile its stacks when that changed anything.

        `always` (a create or an edit): reconcile the stacks whatever the status says.
        """
        meta = _meta(body)
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        now = self.clock()
        stacks = await k8s.list_resources(MOCKSTACKS, namespace)
        selected = policy_targets(body, stacks)
        previous = body.get("status") or {}
        status = chaos.policy_status(body, chaos.drill(body, now), selected, now)
        moved = changed(previous, status)
        if moved:
            await k8s.patch_status(CHAOS_POLICIES, namespace, name, status)
            if status["phase"] != previous.get("phase"):
                logger.info(f"ChaosPolicy {name}: {status['phase']}")
        if always or moved:
            await self.reconcile(namespace, {*selected, *previous.get("stacks", [])}, logger)

    async def policy_gone(self, body: Body, logger: Log) -> None:
        meta = _meta(body)
        namespace = str(meta.get("namespace"))
        stacks = await k8s.list_resources(MOCKSTACKS, namespace)
        affected = {*policy_targets(body, stacks), *(body.get("status") or {}).get("stacks", [])}
        await self.reconcile(namespace, affected, logger)

    async def _refresh_policy_stacks(self, policy: Body, stacks: list[dict[str, Any]]) -> None:
        """Keep an active policy's status.stacks in step with the stacks that exist."""
        meta, status = _meta(policy), policy.get("status") or {}
        if status.get("phase") != chaos.PHASE_ACTIVE:
            return
        if status.get("observedGeneration") != meta.get("generation"):
            return  # the policy's own handler has yet to stamp this generation
        selected = policy_targets(policy, stacks)
        if selected != list(status.get("stacks") or []):
            await k8s.patch_status(
                CHAOS_POLICIES, meta["namespace"], meta["name"], {"stacks": selected}
            )

    # --- Deployment --------------------------------------------------------------------------

    async def deployment_event(self, event: str | None, body: Body, logger: Log) -> None:
        meta = _meta(body)
        namespace, stack = (
            str(meta.get("namespace")),
            (meta.get("labels") or {}).get(names.STACK_LABEL),
        )
        if not stack:
            return
        if event == "DELETED":  # deleted by hand: put it back
            await self.reconcile(namespace, [stack], logger, repair=True)
        else:
            await self.refresh_ready(namespace, stack)


def register(registry: kopf.OperatorRegistry, options: Options) -> Reconciler:
    """Wire a Reconciler's methods to kopf handlers in `registry`."""
    r = Reconciler(options)
    crd = (GROUP, VERSION)

    @kopf.on.startup(id="configure", registry=registry)
    def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure(settings, options)

    @kopf.on.startup(id="clocks", registry=registry)
    async def clocks(**_: Any) -> None:
        r.start_clocks()

    @kopf.on.cleanup(id="background", registry=registry)
    async def cleanup(**_: Any) -> None:
        await r.close()

    @kopf.on.probe(id="reconciles", registry=registry)
    def reconciles(**_: Any) -> int:
        return r.reconciles

    @kopf.on.create(*crd, MOCKSTACKS, id="mockstack", registry=registry)
    @kopf.on.update(*crd, MOCKSTACKS, id="mockstack", registry=registry)
    @kopf.on.resume(*crd, MOCKSTACKS, id="mockstack", registry=registry)
    async def mockstack(namespace: str | None, name: str, logger: Log, **_: Any) -> None:
        await r.reconcile(str(namespace), [name], logger)

    @kopf.on.event(*crd, MOCKSTACKS, id="mockstack_event", registry=registry)
    async def mockstack_event(type: str, body: kopf.Body, **_: Any) -> None:
        r.saw_stack(type, body)
        if type == "DELETED":
            await r.stack_gone(body)

    @kopf.on.create(*crd, FIXTURES, id="fixture", registry=registry)
    @kopf.on.update(*crd, FIXTURES, id="fixture", registry=registry)
    async def fixture(body: kopf.Body, logger: Log, **_: Any) -> None:
        await r.fixture_changed(body, logger)

    @kopf.on.resume(*crd, FIXTURES, id="fixture_resume", registry=registry)
    async def fixture_resume(namespace: str | None, name: str, **_: Any) -> None:
        # The stacks reconcile themselves on resume; only this Fixture's status is left.
        await r.refresh_related(str(namespace), [name])

    @kopf.on.event(*crd, FIXTURES, id="fixture_event", registry=registry)
    async def fixture_event(type: str, body: kopf.Body, logger: Log, **_: Any) -> None:
        if type == "DELETED":
            await r.fixture_changed(body, logger)

    @kopf.on.create(*crd, CHAOS_POLICIES, id="chaos_policy", registry=registry)
    @kopf.on.update(*crd, CHAOS_POLICIES, id="chaos_policy", registry=registry)
    async def chaos_policy(body: kopf.Body, logger: Log, **_: Any) -> None:
        await r.policy_changed(body, logger)

    @kopf.on.resume(*crd, CHAOS_POLICIES, id="chaos_policy_resume", registry=registry)
    async def chaos_policy_resume(body: kopf.Body, logger: Log, **_: Any) -> None:
        await r.policy_changed(body, logger, always=False)

    @kopf.on.event(*crd, CHAOS_POLICIES, id="chaos_policy_event", registry=registry)
    async def chaos_policy_event(type: str, body: kopf.Body, logger: Log, **_: Any) -> None:
        r.saw_policy(type, copy.deepcopy(dict(body)))
        if type == "DELETED":
            await r.policy_gone(body, logger)

    children: dict[str, Any] = {
        names.MANAGED_BY_LABEL: names.MANAGED_BY,
        names.STACK_LABEL: kopf.PRESENT,
    }

    @kopf.on.event("apps", "v1", "deployments", labels=children, id="deployment", registry=registry)
    async def deployment(type: str, body: kopf.Body, logger: Log, **_: Any) -> None:
        await r.deployment_event(type, body, logger)

    @kopf.on.event("", "v1", "pods", labels=children, id="pod", registry=registry)
    async def pod(type: str, body: kopf.Body, **_: Any) -> None:
        await r.pod_event(type, body)

    return r


# `kopf run -m aimock_operator.handlers` (what `aimock-operator` does) uses the default registry.
RECONCILER = register(kopf.get_default_registry(), from_env())
