"""A drift verdict written where a cluster shows it: `status.drift` of a MockStack, so
`kubectl get ms -o wide` and a GitOps tool see the day the mock stopped matching reality."""

from __future__ import annotations

import datetime
from typing import Any

from aimock.drift.run import Report
from aimock.kube import MERGE_PATCH, KubeError, custom_objects
from aimock.models.stack import GROUP, VERSION

SHOWN = 10  # critical findings named in the status; the job's log has them all


def status_of(report: Report, now: datetime.datetime, live: bool) -> dict[str, Any]:
    """The status of one run; `live` lists the cases compared with a live answer."""
    critical = [f for f in report.findings if f.severity == "critical"]
    fell_back = {f.case for f in report.findings if f.path == "(live)"}
    return {
        "verdict": report.verdict,
        "checkedAt": now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cases": dict(report.cases),
        "findings": len(report.findings),
        "critical": [f"{f.case} {f.path}: {f.what}" for f in critical[:SHOWN]],
        "live": sorted(set(report.cases) - fell_back) if live else [],
    }


def write(namespace: str, stack: str, report: Report, *, live: bool) -> None:
    """Merge the verdict into the MockStack's status (its other fields untouched)."""
    from kubernetes.client.exceptions import ApiException

    body = {"status": {"drift": status_of(report, datetime.datetime.now(datetime.UTC), live)}}
    try:
        custom_objects().patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, "mockstacks", stack, body, _content_type=MERGE_PATCH
        )
    except ApiException as exc:
        raise KubeError(f"MockStack {namespace}/{stack}: {exc.status} {exc.reason}") from None
    except KubeError:
        raise
    except Exception as exc:  # urllib3's network errors
        raise KubeError(f"MockStack {namespace}/{stack}: {exc}") from None
