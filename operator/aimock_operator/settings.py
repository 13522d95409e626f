"""How the operator runs: options from the environment, and kopf's settings.

Environment:
  AIMOCK_IMAGE                    server image when a MockStack sets none
                                  (default ghcr.io/aimock/aimock:<version>)
  AIMOCK_OPERATOR_BACKOFF         seconds before a failed reconcile is retried (default 10)
  AIMOCK_OPERATOR_CHAOS_INTERVAL  seconds between checks for ended chaos drills (default 5)
  AIMOCK_OPERATOR_RESYNC          seconds between full reconciles of each MockStack, repairing
                                  children edited by hand (default 300; 0 turns it off)
  AIMOCK_WEBHOOK_PORT             serve the validating admission webhook on this port (HTTPS)
  AIMOCK_WEBHOOK_CERT             its certificate (default /etc/aimock/webhook/tls.crt); the
                                  key (tls.key) and CA (ca.crt) sit in the same folder
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import kopf

from aimock_operator import __version__
from aimock_operator.crd.v1alpha1 import GROUP
from aimock_operator.render.names import MANAGED_BY, MANAGED_BY_LABEL, STACK_LABEL

FINALIZER = f"{GROUP}/finalizer"
DIGEST_KEY = "last-handled-digest"
CHILD_DEPLOYMENTS = f"{MANAGED_BY_LABEL}={MANAGED_BY},{STACK_LABEL}"


WEBHOOK_CERT = "/etc/aimock/webhook/tls.crt"


@dataclass(frozen=True)
class Webhook:
    port: int
    cert_dir: str


@dataclass(frozen=True)
class Options:
    image: str
    backoff: float = 10.0
    chaos_interval: float = 5.0
    resync: float = 300.0
    webhook: Webhook | None = None
    # Seconds between the two nudges of a stack's pods after a config change (0: one nudge).
    nudge_again: float = 2.0
    # Seconds to keep asking a stack's pods which config they serve after a change, until all
    # serve it (0: never ask; status.servedReplicas then stays 0).
    serving_patience: float = 300.0


def default_image() -> str:
    return f"ghcr.io/aimock/aimock:{__version__}"


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = float(raw)
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {raw!r}")
    return value


def from_env(env: Mapping[str, str] | None = None) -> Options:
    given = os.environ if env is None else env
    return Options(
        image=given.get("AIMOCK_IMAGE") or default_image(),
        backoff=_seconds(given, "AIMOCK_OPERATOR_BACKOFF", 10.0),
        chaos_interval=_seconds(given, "AIMOCK_OPERATOR_CHAOS_INTERVAL", 5.0) or 5.0,
        resync=_seconds(given, "AIMOCK_OPERATOR_RESYNC", 300.0),
        webhook=_webhook(given),
        nudge_again=_seconds(given, "AIMOCK_OPERATOR_NUDGE_AGAIN", 2.0),
        serving_patience=_seconds(given, "AIMOCK_OPERATOR_SERVING_PATIENCE", 300.0),
    )


def _webhook(env: Mapping[str, str]) -> Webhook | None:
    port = env.get("AIMOCK_WEBHOOK_PORT")
    if not port:
        return None
    cert = Path(env.get("AIMOCK_WEBHOOK_CERT") or WEBHOOK_CERT)
    return Webhook(int(port), str(cert.parent))


def digest(essence: object) -> str:
    encoded = json.dumps(essence, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


class DigestDiffBaseStorage(kopf.AnnotationsDiffBaseStorage):
    """Keeps a digest of the last handled state instead of the state itself.

    kopf's default stores the whole spec in an annotation, and annotations are limited to
    256 KiB per object: a Fixture holding large recorded responses could not be handled. The
    handlers never read kopf's diff (each reconcile renders the whole stack), so telling
    "changed" from "unchanged" is all that is needed. Assumes no handler asks kopf to track
    status fields (`field="status..."`), which would add extra fields to the essence.
    """

    def __init__(self) -> None:
        super().__init__(prefix=GROUP, key=DIGEST_KEY)

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        for key in self.make_keys(self.key, body=body):
            patch.metadata.annotations[key] = digest(essence)
        self._store_marker(prefix=self.prefix, patch=patch, body=body)

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        for key in self.make_keys(self.key, body=body):
            stored = body.metadata.annotations.get(key)
            if stored is not None:
                current = self.build(body=body)
                # Unchanged: the current state itself (no diff). Changed: an empty base, so
                # kopf sees a difference and calls the update handlers.
                return current if digest(current) == stored else kopf.BodyEssence()
        return None


def configure(settings: kopf.OperatorSettings, options: Options) -> None:
    """Apply the operator's choices to kopf's settings (at startup, before any handling)."""
    # kopf adds its finalizer only for deletion handlers, timers and daemons; the operator has
    # none (its clocks are its own loops), so no object carries one and deleting never waits.
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = DigestDiffBaseStorage()
    settings.execution.default_backoff = options.backoff
    settings.posting.enabled = True
    settings.posting.level = logging.WARNING  # failures show in `kubectl describe`, not noise
    # Watch only the Deployments and Pods the operator made (server-side), not every one in the
    # cluster.
    settings.watching.label_selectors["apps", "deployments"] = CHILD_DEPLOYMENTS
    settings.watching.label_selectors["", "pods"] = CHILD_DEPLOYMENTS
    if options.webhook is not None:
        from aimock_operator import webhook  # registers the validators (default registry)

        settings.admission.server = webhook.webhook_server(
            host="localhost",
            port=options.webhook.port,
            cert_dir=options.webhook.cert_dir,
            addr="0.0.0.0",  # in the pod: reachable through the webhook Service
        )
