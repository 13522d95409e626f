"""`aimock-operator`: run the kopf operator (same image as the server)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help"):
        print(
            "usage: aimock-operator [kopf run options]\n\n"
            "Runs the aimock operator with kopf (module aimock_operator.handlers).\n"
            "Pass kopf options such as --namespace NS or --all-namespaces."
        )
        return 0
    if args and args[0] == "--version":
        from aimock_operator import __version__

        print(f"aimock-operator {__version__}")
        return 0
    from kopf.cli import main as kopf_main

    return int(kopf_main(["run", "--standalone", "-m", "aimock_operator.handlers", *args]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
