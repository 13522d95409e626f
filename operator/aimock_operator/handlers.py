"""kopf handlers. None are registered yet: reconciliation arrives with the operator issue.

Keeping the module (and the entry point that loads it) in place now fixes the package layout,
the console script and the import contracts the operator will be built into.
"""

from __future__ import annotations

from aimock.config import API_VERSION

GROUP, VERSION = API_VERSION.split("/")
