"""`aimock-operator`: run the kopf operator (same image as the server).

Standalone unless `--peering NAME` is given (then replicas coordinate through that
KopfPeering object and only the highest priority one works). Any other option goes to
`kopf run`: `--namespace NS` (repeatable) or `--all-namespaces`, `--liveness URL`, ...
Settings from the environment: see aimock_operator.settings.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Sequence

HANDLERS = "aimock_operator.handlers"
WEBHOOK = "aimock_operator.webhook"


def kopf_args(args: Sequence[str], env: dict[str, str] | os._Environ[str]) -> list[str]:
    """The `kopf run` command line for the operator's own arguments."""
    peering = any(a in ("--peering", "-P") or a.startswith("--peering=") for a in args)
    wanted = ["run"]
    if not peering and "--standalone" not in args:
        wanted.append("--standalone")
    has_priority = any(a in ("--priority", "--dev") or a.startswith("--priority=") for a in args)
    if peering and not has_priority:
        # kopf pauses every peer that sees another with the same priority, so replicas started
        # alike would all stand still; a random priority per process lets exactly one work.
        wanted += ["--priority", str(secrets.randbelow(1_000_000) + 1)]
    wanted += ["-m", HANDLERS]
    if env.get("AIMOCK_WEBHOOK_PORT"):
        wanted += ["-m", WEBHOOK]
    return [*wanted, *args]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(
            "usage: aimock-operator [--peering NAME] [kopf run options]\n\n"
            "Runs the aimock operator with kopf (module aimock_operator.handlers).\n"
            "Pass kopf options such as --namespace NS, --all-namespaces or\n"
            "--liveness http://0.0.0.0:8080/healthz. Standalone unless --peering is given."
        )
        return 0
    if args and args[0] == "--version":
        from aimock_operator import __version__

        print(f"aimock-operator {__version__}")
        return 0
    from kopf.cli import main as kopf_main

    return int(kopf_main(kopf_args(args, os.environ)) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
