"""Every name, label and fixed path the operator gives the objects it makes, in one place.

A MockStack <s> in namespace <ns> owns: Deployment <s>, Service <s>, ConfigMaps <s>-config-0,
<s>-config-1, ... (the served documents) and ConfigMap <s>-endpoints (SDK variables),
with `spec.drift` CronJob <s>-drift, without `spec.adminTokenSecret` Secret
<s>-admin-token (the control API's token), and with `spec.tls` but no `secretName` Secret
<s>-tls (the certificate the pods serve).
"""

from __future__ import annotations

from aimock import kube
from aimock_operator.crd.v1alpha1 import GROUP

FIELD_MANAGER = "aimock-operator"

CONFIG_HASH_ANNOTATION = f"{GROUP}/config-hash"
# On pods: the config hash again, a moment after the first nudge (see handlers._nudge_pods).
CONFIG_NUDGE_ANNOTATION = f"{GROUP}/config-nudge"
# On a generated TLS Secret: its CA certificate (PEM), read back with the Secret's metadata alone.
CA_ANNOTATION = f"{GROUP}/ca-certificate"
STACK_LABEL = f"{GROUP}/stack"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "aimock-operator"
SERVER_COMPONENT = "mock-server"
ENDPOINTS_COMPONENT = "endpoints"
DRIFT_COMPONENT = "drift-check"
ADMIN_TOKEN_COMPONENT = "admin-token"
TLS_COMPONENT = "tls"

CONTAINER = "aimock"
PORT = kube.POD_PORT
PORT_NAME = "http"
TLS_PORT_NAME = "https"  # the port's name with spec.tls (meshes read the protocol from it)
CONFIG_DIR = "/etc/aimock/config"
CONFIG_VOLUME = "config"
TMP_VOLUME = "tmp"
TLS_DIR = "/etc/aimock/tls"
TLS_VOLUME = "tls"
RUN_AS_USER = 65532

# Each config ConfigMap stays under this many bytes of data, well below the ~1 MiB object
# limit, leaving room for metadata and the managed-fields bookkeeping of server-side apply.
CONFIG_MAP_BUDGET = 900 * 1024


def deployment(stack: str) -> str:
    return stack


def service(stack: str) -> str:
    return stack


def config_map(stack: str, index: int) -> str:
    return f"{stack}-config-{index}"


def config_map_index(stack: str, name: str) -> int | None:
    """The index of a config ConfigMap name of `stack`, or None for any other name."""
    prefix = f"{stack}-config-"
    tail = name.removeprefix(prefix)
    if tail == name or not tail.isdigit() or (tail != "0" and tail.startswith("0")):
        return None
    return int(tail)


def drift_job(stack: str) -> str:
    return f"{stack}-drift"


def endpoints(stack: str) -> str:
    return f"{stack}-endpoints"


def admin_token(stack: str) -> str:
    """The Secret the operator generates when the stack names none of its own."""
    return f"{stack}-admin-token"


def tls_secret(stack: str) -> str:
    """The Secret the operator makes for a stack with `spec.tls` and no `secretName`."""
    return f"{stack}-tls"


def port_name(tls: bool) -> str:
    return TLS_PORT_NAME if tls else PORT_NAME


def service_host(stack: str, namespace: str) -> str:
    """The in-cluster DNS name of the stack's Service."""
    return f"{service(stack)}.{namespace}.svc.cluster.local"


def origin(stack: str, namespace: str, port: int, tls: bool = False) -> str:
    """The in-cluster base URL of the stack's Service."""
    return f"{'https' if tls else 'http'}://{service_host(stack, namespace)}:{port}"


def mockstack_file() -> str:
    return "00-mockstack.yaml"


FIXTURE_FILE_PREFIX, CHAOS_POLICY_FILE_PREFIX = "10-fixture-", "20-chaospolicy-"


def fixture_file(fixture: str) -> str:
    return f"{FIXTURE_FILE_PREFIX}{fixture}.yaml"


def chaos_policy_file(policy: str) -> str:
    return f"{CHAOS_POLICY_FILE_PREFIX}{policy}.yaml"


def is_fixture_file(file: str) -> bool:
    return file.startswith(FIXTURE_FILE_PREFIX) and file.endswith(".yaml")


def is_chaos_policy_file(file: str) -> bool:
    return file.startswith(CHAOS_POLICY_FILE_PREFIX) and file.endswith(".yaml")


def chaos_policy_of(file: str) -> str:
    """The ChaosPolicy a `chaos_policy_file` serves."""
    return file.removeprefix(CHAOS_POLICY_FILE_PREFIX).removesuffix(".yaml")


def selector_labels(stack: str) -> dict[str, str]:
    """What the Deployment and Service select pods by (the CLI finds the pods by them too)."""
    return kube.pod_labels(stack)


def pod_query(stack: str) -> str:
    """The label query for a stack's pods."""
    return kube.pod_query(stack)


def labels(stack: str, component: str = SERVER_COMPONENT) -> dict[str, str]:
    """The labels on every child of `stack`."""
    return {
        **selector_labels(stack),
        COMPONENT_LABEL: component,
        MANAGED_BY_LABEL: MANAGED_BY,
        STACK_LABEL: stack,
    }
