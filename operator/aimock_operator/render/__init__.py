"""Pure rendering: resource bodies in, manifests and statuses out.

No Kubernetes client and no kopf here, so every output can be checked with plain data:
`names` (every name, label and path), `stack` (a MockStack -> ConfigMaps, Deployment, Service,
endpoints ConfigMap), `admin_token` (the control API's token Secret, without its value),
`selectors`, `chaos` (drill timing), `status` (conditions).
"""

from __future__ import annotations

from aimock_operator.render.errors import SpecError
from aimock_operator.render.stack import Rendered, Resource, Stack, parse_stack, render_stack

__all__ = ["Rendered", "Resource", "SpecError", "Stack", "parse_stack", "render_stack"]
