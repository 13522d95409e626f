"""The aimock Kubernetes operator: MockStack, Fixture and ChaosPolicy -> ConfigMaps, a
Deployment and Services running `aimock serve` on the same documents.

It imports the server's models and loader (`aimock`); the server never imports it.
`render/` is pure, `k8s.py` is the only module talking to the API, `handlers.py` is thin.
"""

from __future__ import annotations

from aimock import __version__

__all__ = ["__version__"]
