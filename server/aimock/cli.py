"""`aimock serve`, `aimock validate`, `aimock --version`.

AIMock's serve flags that mean the same thing here are accepted under the same names
(`-p/--port`, `-f/--fixtures`, `--strict`, `-w/--watch`, `-l/--latency`, `--chunk-size`,
`--journal-max`, `--log-level`, `-c/--config`), so a migrating user keeps their habits.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from aimock import NATIVE, __version__, logs, native

DEFAULT_FIXTURES = "defaults/default.yaml"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 4010
CHAOS_ACTIONS = ("drop", "malformed", "ratelimit", "disconnect", "overloaded", "stall", "truncate")
LOG_LEVELS = {
    "silent": logging.CRITICAL + 1,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}


def default_fixture_path() -> Path:
    return Path(str(resources.files("aimock").joinpath(DEFAULT_FIXTURES)))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aimock", description="One mock server for the whole agentic AI stack."
    )
    parser.add_argument(
        "--version", action="version", version=f"aimock {__version__}, {native.describe(NATIVE)}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="serve fixtures over every wire protocol",
        description="Serve fixtures over every wire protocol (LLM providers, MCP, A2A, vector "
        "databases) on one port, with the control API under /__aimock.",
    )
    _add_fixture_flag(serve, required=False)
    # No argparse defaults for host and port: a `-c` config fills what the flags leave out.
    serve.add_argument("--host", "-H", help=f"bind address ({DEFAULT_HOST})")
    serve.add_argument(
        "--port", "-p", type=_bounded(int, 0, 65535), help=f"port ({DEFAULT_PORT}; 0 = any free)"
    )
    serve.add_argument(
        "--strict",
        action="store_true",
        default=None,
        help="answer 503 instead of 404 when no fixture matches",
    )
    serve.add_argument("--watch", "-w", action="store_true", help="reload fixtures on change")
    serve.add_argument(
        "--profile",
        type=_profile,
        help="default stream physics: instant (the default), fast, reasoning, overloaded, or"
        " a fixture's streamingProfile inline, e.g. '{ttft: 500, tps: 40}' (tps: chunks a"
        " second)",
    )
    serve.add_argument(
        "--latency", "-l", type=_bounded(float, 0), help="ms before every streamed chunk"
    )
    serve.add_argument(
        "--chunk-size", type=_bounded(int, 1), help="characters per streamed slice (20)"
    )
    serve.add_argument(
        "--journal-max", type=_bounded(int, 0), help="journal entries kept (1000; 0 = all)"
    )
    serve.add_argument(
        "--max-body-bytes",
        type=_bounded(int, 1024),
        default=10 * 1024 * 1024,
        metavar="N",
        help="largest request body taken; a larger one answers 413 (10 MiB)",
    )
    serve.add_argument(
        "--journal-max-body-bytes",
        type=_bounded(int, 0),
        default=1024 * 1024,
        metavar="N",
        help="bytes of a request body the journal keeps; a longer one keeps its start (1 MiB)",
    )
    serve.add_argument(
        "--journal-max-total-bytes",
        type=_bounded(int, 0),
        default=64 * 1024 * 1024,
        metavar="N",
        help="bytes of bodies the journal holds in all; past it the oldest lose theirs (64 MiB)",
    )
    serve.add_argument(
        "--log-level",
        choices=list(LOG_LEVELS),
        default="info",
        help="log level (info: a line a request; debug adds why a miss missed)",
    )
    serve.add_argument(
        "--log-format",
        choices=logs.FORMATS,
        default="text",
        help="text lines, or one JSON object a line (text)",
    )
    serve.add_argument(
        "--config",
        "-c",
        type=Path,
        help="an AIMock aimock.json config (its llm section: fixtures, latency, chunkSize...)",
    )
    serve.add_argument(
        "--openai-prefix",
        action="append",
        type=_openai_prefix,
        default=[],
        metavar="PATH",
        help="extra base path answering every OpenAI route, e.g. /my-gateway/v1 (repeatable)",
    )
    # chaos.ACTIONS, spelled out: importing the chaos module (and the models) here would slow
    # every command down; test_cli checks the two agree.
    for action in CHAOS_ACTIONS:
        serve.add_argument(
            f"--chaos-{action}",
            type=_bounded(float, 0, 1),
            metavar="RATE",
            help=f"server-wide {action} rate (0-1)",
        )
    serve.add_argument(
        "--chaos-latency",
        type=_bounded(float, 0, 300_000),
        metavar="MS",
        help="ms added before answering (at most 300000)",
    )
    serve.add_argument(
        "--chaos-seed", type=int, metavar="N", help="seed of the chaos draws (reproducible)"
    )
    serve.add_argument(
        "--idle-timeout",
        type=_bounded(float, 1, 3600),
        default=15.0,
        metavar="S",
        help="seconds before an idle connection, or one slow to send its headers, is closed (15)",
    )
    serve.add_argument(
        "--open-control",
        action="store_true",
        default=None,
        help="leave the control API open without AIMOCK_ADMIN_TOKEN when bound beyond loopback "
        "(env AIMOCK_OPEN_CONTROL=1)",
    )

    serve.add_argument(
        "--api-key",
        action="append",
        default=[],
        metavar="KEY",
        help="an inbound API key (repeatable): a request without one of them is refused with "
        "its provider's own 401 (env AIMOCK_API_KEYS, comma-separated)",
    )
    serve.add_argument(
        "--agui-record",
        action="store_true",
        help="AG-UI record mode: a run no fixture matches goes to --agui-upstream and is saved "
        "under <first -f>/agui-recorded (AIMock's flag; spec.agui.record in a stack file)",
    )
    serve.add_argument("--agui-upstream", metavar="URL", help="the real AG-UI agent (http/https)")
    serve.add_argument(
        "--agui-proxy-only", action="store_true", help="AG-UI: relay a missed run, save nothing"
    )
    _add_tls_flags(serve)
    _add_record_flags(serve)

    drift = commands.add_parser(
        "drift",
        help="compare aimock's answers with real ones and with the SDKs' types",
        description="Compare aimock's answers with the real APIs' (captures, or --live) and "
        "with the official SDKs' types; the exit status says whether they drifted.",
    )
    drift.add_argument(
        "--against",
        type=Path,
        metavar="DIR",
        help="captured real answers (default: the captures shipped with aimock)",
    )
    drift.add_argument("--json", type=Path, metavar="PATH", help="also write the report as JSON")
    drift.add_argument(
        "--surface",
        action="append",
        metavar="NAME",
        help="only this surface (repeatable): openai.chat, openai.responses, "
        "anthropic.messages, gemini.generate",
    )
    drift.add_argument(
        "--live",
        action="store_true",
        help="reality from the live APIs where a key is in the environment (OPENAI_API_KEY, "
        "ANTHROPIC_API_KEY, GEMINI_API_KEY); the captures elsewhere",
    )
    drift.add_argument(
        "--live-url",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="another origin for a live API (openai, anthropic, gemini), e.g. a gateway",
    )
    drift.add_argument(
        "--report-to",
        type=_cluster_target,
        metavar="NAMESPACE/STACK",
        help="write the verdict into this MockStack's status.drift (the scheduled check does)",
    )
    drift.add_argument(
        "--save-captures",
        type=Path,
        metavar="DIR",
        help="with --live: keep the live answers as capture files (refreshes --against DIR)",
    )

    validate = commands.add_parser(
        "validate",
        help="check fixture files without serving",
        description="Check fixture files, folders and manifests as `serve -f` would load them, "
        "without serving: every problem is named by file, field and reason; the exit status is 1 "
        "when there is one.",
    )
    _add_fixture_flag(validate, required=True)

    journal = commands.add_parser(
        "journal",
        help="the journal of every pod of a MockStack, merged in time order",
        description="Print the journal of every pod of a MockStack in a cluster, merged in "
        "time order (through the API server's pod proxy).",
    )
    journal.add_argument("--stack", required=True, help="the MockStack whose pods to read")
    journal.add_argument(
        "--namespace", "-n", help="its namespace (the kubeconfig context's, else default)"
    )
    journal.add_argument("--test-id", help="only entries of this X-Test-Id")
    journal.add_argument("--surface", help="only entries of this surface (e.g. openai.chat)")
    journal.add_argument("--status", type=int, help="only entries answered with this status")
    journal.add_argument("--limit", type=_bounded(int, 1), help="only the last N entries")
    journal.add_argument(
        "--json", action="store_true", help="print a JSON list (each entry names its pod)"
    )

    recordings = commands.add_parser(
        "recordings",
        help="recordings made in a cluster (Fixture resources)",
        description="Work with the recordings a MockStack made in a cluster (Fixture resources).",
    )
    recording_commands = recordings.add_subparsers(dest="action", required=True, metavar="ACTION")
    pull = recording_commands.add_parser(
        "pull", help="write a MockStack's recorded Fixtures to files, ready to commit"
    )
    pull.add_argument("--stack", required=True, help="the MockStack that recorded them")
    pull.add_argument(
        "--namespace", "-n", help="its namespace (the kubeconfig context's, else default)"
    )
    pull.add_argument(
        "--out",
        "-o",
        type=Path,
        default=Path("fixtures") / "recorded",
        help="folder to write into (fixtures/recorded)",
    )
    _add_convert(commands)
    return parser


CONVERT_TOOLS = ("aimock", "vidaimock", "mockllm", "wiremock")  # aimock.convert.TOOLS


def _add_convert(commands: Any) -> None:
    convert = commands.add_parser(
        "convert",
        help="turn other tools' mocks (AIMock, VidaiMock, mock-llm, WireMock) into fixtures",
        description="Convert other tools' mock definitions into aimock fixture files, or a "
        "MockStack and Fixture manifests; what does not carry over is listed on stderr and "
        "at the top of each file written.",
    )
    convert.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="files or folders")
    convert.add_argument(
        "--from", dest="tool", choices=CONVERT_TOOLS, help="the tool (default: guessed)"
    )
    convert.add_argument("--out", "-o", type=Path, metavar="DIR", help="folder (default: stdout)")
    convert.add_argument(
        "--manifests", action="store_true", help="write a MockStack and Fixture manifests"
    )
    convert.add_argument("--name", default="converted", help="the MockStack's name (converted)")
    convert.add_argument("--namespace", "-n", help="the manifests' namespace")


def _profile(raw: str) -> Any:
    """An argparse type: a named profile, or a `streamingProfile` mapping in YAML or JSON,
    read by the fixture files' guarded reader (its depth and size limits)."""
    from pydantic import ValidationError

    from aimock.fixtures import yaml_reader
    from aimock.fixtures.compiled import PROFILES
    from aimock.models.fixture import StreamingProfile

    if raw in PROFILES:
        return raw
    try:
        documents, _ = yaml_reader.read(raw)
    except yaml_reader.Unreadable:
        documents = []
    value = documents[0] if len(documents) == 1 else None
    shown = repr(raw if len(raw) <= 60 else raw[:57] + "...")
    if not isinstance(value, dict):
        names = ", ".join(PROFILES)
        raise argparse.ArgumentTypeError(
            f"{shown} is neither a profile ({names}) nor a mapping such as '{{ttft: 500, tps: 40}}'"
        )
    try:
        return StreamingProfile.model_validate(value)
    except ValidationError as error:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'profile'}: {e['msg']}" for e in error.errors()
        )
        raise argparse.ArgumentTypeError(f"{shown}: {reasons}") from None


def _bounded(
    kind: type[int] | type[float], low: float, high: float | None = None
) -> Callable[[str], float]:
    """An argparse type: a number within [low, high], refused at parse time with the range."""
    wanted = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"

    def parse(raw: str) -> float:
        try:
            value = kind(raw)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None
        if not (low <= value and (high is None or value <= high)):  # also refuses NaN
            raise argparse.ArgumentTypeError(f"{raw} is out of range: must be {wanted}")
        return value

    return parse


def _openai_prefix(raw: str) -> str:
    from aimock.models.stack import check_openai_prefix

    try:
        return check_openai_prefix(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _upstream_names() -> list[str]:
    """Every `--provider-<name>`: AIMock's names, then every other provider we serve."""
    from aimock.models.stack import known_upstreams

    return list(known_upstreams())


def _add_tls_flags(serve: argparse.ArgumentParser) -> None:
    tls = serve.add_argument_group(
        "TLS", "HTTPS and WSS on the same port (docs/tls.md); a stack spec's `tls` turns it on too"
    )
    tls.add_argument(
        "--tls",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="serve HTTPS with a certificate of a local CA made (once) in --tls-dir; its path "
        "is printed at start. --no-tls: plain HTTP even if the stack spec asks for TLS",
    )
    tls.add_argument(
        "--tls-cert",
        type=Path,
        metavar="FILE",
        help="serve this PEM certificate chain (implies --tls)",
    )
    tls.add_argument(
        "--tls-key", type=Path, metavar="FILE", help="the unencrypted PEM key of --tls-cert"
    )
    tls.add_argument(
        "--tls-dir",
        type=Path,
        metavar="DIR",
        help="where the made CA and certificate are kept and reused "
        "($XDG_STATE_HOME/aimock/tls, else ~/.local/state/aimock/tls)",
    )
    tls.add_argument(
        "--tls-name",
        action="append",
        default=[],
        metavar="NAME",
        help="another host name or address the made certificate covers, beside localhost, "
        "127.0.0.1, ::1 and --host (repeatable)",
    )


def _tls_options(args: argparse.Namespace) -> object:
    """TLSOptions from the flags, None when none is given; a str is an error."""
    own = args.tls_cert is not None or args.tls_key is not None
    made = args.tls_dir is not None or bool(args.tls_name)
    if own and (args.tls_cert is None or args.tls_key is None):
        return "--tls-cert and --tls-key go together: give both"
    if own and made:
        return "--tls-dir and --tls-name are for a made certificate; --tls-cert serves yours"
    if args.tls is False and (own or made):
        return "--no-tls contradicts the other --tls-* flags"
    if args.tls is None and not (own or made):
        return None
    from aimock.tls import TLSOptions

    return TLSOptions(
        enabled=args.tls is not False,
        cert=args.tls_cert,
        key=args.tls_key,
        directory=args.tls_dir,
        names=tuple(args.tls_name),
    )


def _add_record_flags(serve: argparse.ArgumentParser) -> None:
    record = serve.add_argument_group(
        "record and proxy", "a request no fixture matches goes to the real provider"
    )
    mode = record.add_mutually_exclusive_group()
    mode.add_argument(
        "--record",
        action="store_true",
        help="forward misses upstream, relay the answer, save it as a fixture and serve it",
    )
    mode.add_argument(
        "--proxy-only", action="store_true", help="forward misses upstream, save nothing"
    )
    for name in _upstream_names():
        record.add_argument(
            f"--provider-{name}",
            metavar="URL",
            dest=f"provider_{name.replace('-', '_')}",
            help=argparse.SUPPRESS
            if name not in ("openai", "anthropic")
            else (f"base URL of the real {name} API (likewise --provider-<name> for the others)"),
        )
    record.add_argument(
        "--record-dir", type=Path, help="where recordings go (<first -f folder>/recorded)"
    )
    record.add_argument(
        "--record-format",
        choices=("json", "manifest"),
        default="json",
        help="AIMock fixture JSON (both servers load it) or Fixture manifests (json)",
    )
    record.add_argument(
        "--record-to-cluster",
        metavar="NAMESPACE/STACK",
        type=_cluster_target,
        help="write recordings as Fixture resources of this MockStack instead of files",
    )
    record.add_argument(
        "--record-label",
        action="append",
        default=[],
        type=_label,
        metavar="KEY=VALUE",
        help="label of the Fixtures --record-to-cluster writes (repeatable)",
    )
    record.add_argument(
        "--record-full-model-version",
        action="store_true",
        help="keep a dated model id in the recorded match instead of its family",
    )
    record.add_argument(
        "--replay-speed",
        type=_bounded(float, 0.001),
        help="divide every delay, recorded timings included, by this (1.0; 2 = twice as fast)",
    )
    record.add_argument(
        "--max-proxy-buffer-bytes",
        type=_bounded(int, 1),
        default=64 * 1024 * 1024,
        help="bytes of one upstream answer held in memory: a plain body over it answers 502, "
        "a stream over it is relayed but not recorded (67108864)",
    )
    record.add_argument(
        "--max-proxy-buffer-frames",
        type=_bounded(int, 1),
        default=5_000_000,
        help="pieces of one upstream stream held in memory; past it, relayed, not recorded",
    )
    record.add_argument(
        "--upstream-timeout-ms",
        type=_bounded(float, 1),
        default=30_000,
        help="ms to wait for the upstream to answer (30000)",
    )
    record.add_argument(
        "--body-timeout-ms",
        type=_bounded(float, 1),
        default=30_000,
        help="ms to wait between two pieces of an upstream body (30000)",
    )


def _cluster_target(raw: str) -> tuple[str, str]:
    from aimock.kube import target

    try:
        return target(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _label(raw: str) -> tuple[str, str]:
    key, equals, value = raw.partition("=")
    if not (equals and key):
        raise argparse.ArgumentTypeError(f"{raw!r}: expected KEY=VALUE")
    return key, value


def _record_options(args: argparse.Namespace, paths: list[Path]) -> object:
    """RecordOptions from the flags, None when neither mode is asked; a str is an error."""
    from aimock.recording.options import ClusterTarget, RecordOptions, default_directory

    providers = {
        name: url
        for name in _upstream_names()
        if (url := getattr(args, f"provider_{name.replace('-', '_')}", None))
    }
    if args.record_to_cluster and not args.record:
        return "--record-to-cluster needs --record"
    if not (args.record or args.proxy_only):
        if providers:
            logging.getLogger("aimock.record").warning(
                "--provider-* given without --record or --proxy-only: nothing is forwarded"
            )
        return None
    if not providers:
        flag = "--record" if args.record else "--proxy-only"
        return f"{flag} needs at least one upstream: --provider-<name> URL (e.g. --provider-openai https://api.openai.com)"
    directory = args.record_dir or default_directory(paths)
    return RecordOptions(
        mode="record" if args.record else "proxy-only",
        providers=providers,
        directory=directory,
        format=args.record_format,
        upstream_timeout=args.upstream_timeout_ms / 1000,
        body_timeout=args.body_timeout_ms / 1000,
        full_model_version=args.record_full_model_version,
        max_buffer_bytes=int(args.max_proxy_buffer_bytes),
        max_buffer_frames=int(args.max_proxy_buffer_frames),
        cluster=ClusterTarget(
            args.record_to_cluster[0], args.record_to_cluster[1], dict(args.record_label)
        )
        if args.record_to_cluster
        else None,
    )


def _add_fixture_flag(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "-f",
        "--fixtures",
        action="extend",
        nargs="+",
        type=Path,
        required=required,
        metavar="PATH",
        help="fixture files or folders (-f a b, or -f a -f b); manifests and AIMock JSON welcome",
    )


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the command line, not a caller in this process
        _serve_without_docstrings(sys.argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "validate":
        return validate(args.fixtures)
    if args.command == "drift":
        return drift(args)
    if args.command == "recordings":
        return pull_recordings(args)
    if args.command == "journal":
        return stack_journal(args)
    if args.command == "convert":
        from aimock import convert

        return convert.run(
            args.inputs,
            args.tool,
            args.out,
            manifests=args.manifests,
            name=args.name,
            namespace=args.namespace,
        )
    return serve(args)


# Modules whose `-OO` bytecode (`.opt-2.pyc`) `make setup` writes: one of the standard library
# and the two largest dependencies of the server stand for all it imports.
LEAN_BYTECODE_PROBES = ("asyncio", "aiohttp", "pydantic")


def _serve_without_docstrings(argv: list[str]) -> None:
    """`aimock serve` starts again as `python -OO -m aimock serve ...`, in this process.

    A long-running server has no use for the docstrings of the 500 modules it imports (aiohttp,
    pydantic, the standard library): they are 1.8 MiB of its idle memory. `-OO` also drops
    `assert` statements, which aimock uses only to narrow types. This runs before anything
    heavy is imported, so it costs a few tens of milliseconds, and only where that bytecode
    exists (`make setup` writes it): without it every start would compile the dependencies
    again. `AIMOCK_OPTIMIZE=0` keeps the interpreter as started."""
    if not argv or argv[0] != "serve" or sys.flags.optimize >= 2:
        return
    if native.switched_off("AIMOCK_OPTIMIZE"):
        return
    if not all(_lean_bytecode_exists(name) for name in LEAN_BYTECODE_PROBES):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-OO", "-m", "aimock", *argv])


def _lean_bytecode_exists(module: str) -> bool:
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return False
    return os.path.exists(importlib.util.cache_from_source(spec.origin, optimization=2))


def stack_journal(args: argparse.Namespace) -> int:
    """Print the merged journal; exit 1 when a pod could not be read (the rest is printed)."""
    from aimock import kube
    from aimock import stack_journal as journals

    wanted = {"testId": args.test_id, "surface": args.surface, "status": args.status}
    filters = {key: value for key, value in wanted.items() if value is not None}
    try:
        namespace = args.namespace or kube.current_namespace()
        found = journals.read(namespace, args.stack, filters, limit=args.limit)
    except kube.KubeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(found.entries, indent=1))
    else:
        for entry in found.entries:
            print(journals.render_line(entry))
    for pod, why in sorted(found.failed.items()):
        print(f"error: pod {pod}: {why}", file=sys.stderr)
    read = len(found.pods) - len(found.failed)
    print(
        f"{len(found.entries)} entries from {read} of {len(found.pods)} pods of "
        f"MockStack {namespace}/{args.stack}",
        file=sys.stderr,
    )
    return 1 if found.failed else 0


def validate(paths: Sequence[Path]) -> int:
    from aimock.fixtures.loading import LoadError, load_paths

    try:
        loaded = load_paths(paths)
    except LoadError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    extra = ""
    if loaded.stack is not None:
        extra += ", 1 MockStack"
    if loaded.chaos_policies:
        extra += f", {len(loaded.chaos_policies)} ChaosPolicy"
    for empty in _without_fixtures(loaded):
        print(f"warning: {empty}: no fixtures in it", file=sys.stderr)
    fixtures, files = counted(len(loaded.fixtures), "fixture"), counted(len(loaded.files), "file")
    print(f"ok: {fixtures} from {files}{extra}")
    return 0


def counted(number: int, noun: str) -> str:
    """`1 fixture`, `3 fixtures`."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _without_fixtures(loaded: Any) -> list[str]:
    """The files that gave nothing: no fixture, and neither the MockStack nor a ChaosPolicy
    (a file of only those is a manifest, not an empty fixture file)."""
    if loaded.stack is not None or loaded.chaos_policies:
        return []
    giving = {item.source.partition("#")[0] for item in loaded.fixtures}
    return [str(file) for file in loaded.files if str(file) not in giving]


def pull_recordings(args: argparse.Namespace) -> int:
    from aimock import kube
    from aimock.recording import cluster

    try:
        namespace = args.namespace or kube.current_namespace()
        written = cluster.pull(namespace, args.stack, args.out)
    except kube.KubeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    print(f"{len(written)} Fixture(s) recorded by {namespace}/{args.stack} -> {args.out}")
    return 0


def drift(args: argparse.Namespace) -> int:
    """Exit 1 when the mock disagrees with reality (a critical finding), else 0."""
    import orjson

    from aimock.drift.live import Live, parse_urls
    from aimock.drift.run import CAPTURES, FIXTURES, run
    from aimock.testing import MockServer

    if (args.save_captures or args.live_url) and not args.live:
        print("error: --save-captures and --live-url need --live", file=sys.stderr)
        return 2
    try:
        live = Live(urls=parse_urls(args.live_url)) if args.live else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with MockServer([FIXTURES]) as mock:
        report = run(
            mock.url, args.against or CAPTURES, args.surface, live=live, save=args.save_captures
        )
    print(report.table())
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2))
    if args.report_to is not None:
        from aimock.drift import report as status_report
        from aimock.kube import KubeError

        try:
            namespace, stack = args.report_to
            status_report.write(namespace, stack, report, live=args.live)
        except KubeError as exc:
            print(f"error: cannot report the verdict: {exc}", file=sys.stderr)
            return 2
        print(f"verdict written to MockStack {'/'.join(args.report_to)} status.drift")
    return 1 if report.verdict == "critical" else 0


def serve(args: argparse.Namespace) -> int:
    from aimock import aimock_config
    from aimock.chaos import RATE_FIELDS
    from aimock.fixtures.loading import LoadError, load_paths
    from aimock.models.fixture import ChaosRates
    from aimock.state import ServeOptions

    logs.configure(LOG_LEVELS[args.log_level], args.log_format)
    tls_options = _tls_options(args)
    if isinstance(tls_options, str):
        print(f"error: {tls_options}", file=sys.stderr)
        return 2
    paths = list(args.fixtures or [])
    host, port = args.host, args.port
    latency, chunk_size, strict = args.latency, args.chunk_size, args.strict
    config_chaos = None
    config_sections = {}
    config_record = None
    config_keys = None
    replay_speed = args.replay_speed
    if args.config is not None:
        try:
            config = aimock_config.load(args.config)
        except aimock_config.ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        paths = paths or config.fixture_paths
        latency = latency if latency is not None else config.latency
        chunk_size = chunk_size if chunk_size is not None else config.chunk_size
        strict = strict if strict is not None else config.strict
        port = port if port is not None else config.port
        host = host if host is not None else config.host
        config_chaos = config.chaos
        config_sections = config.sections
        config_record = config.record
        config_keys = config.api_keys
        replay_speed = replay_speed if replay_speed is not None else config.replay_speed
    host = host if host is not None else DEFAULT_HOST
    port = port if port is not None else DEFAULT_PORT
    record = _record_options(args, paths)
    if isinstance(record, str):
        print(f"error: {record}", file=sys.stderr)
        return 1
    record = record or config_record  # the flags win over aimock.json's llm.record
    from aimock.recording.options import RecordOptions

    if isinstance(record, RecordOptions) and record.cluster is not None:
        from aimock import kube

        try:  # no credentials is a start-up error, not a log line at every recording
            kube.custom_objects()
        except kube.KubeError as exc:
            print(f"error: --record-to-cluster: {exc}", file=sys.stderr)
            return 1
    embedded = not paths
    if embedded:
        paths = [default_fixture_path()]
    chaos = config_chaos
    flags = {field: getattr(args, f"chaos_{action}") for action, field in RATE_FIELDS.items()}
    flags["latency_ms"] = args.chaos_latency
    given = {name: value for name, value in flags.items() if value is not None}
    if given:  # each already checked to be in range; the flags replace aimock.json's rates
        chaos = ChaosRates(**given)
    try:
        loaded = load_paths(paths)
    except LoadError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    agui = _agui_record(args, config_sections, loaded, paths)
    if isinstance(agui, str):
        print(f"error: {agui}", file=sys.stderr)
        return 1
    if agui is not None:
        config_sections = {**config_sections, "agui": agui}
    api_keys = _api_keys(args.api_key, config_keys)
    if isinstance(api_keys, str):
        print(f"error: {api_keys}", file=sys.stderr)
        return 2
    options = ServeOptions(
        api_keys=api_keys,  # type: ignore[arg-type]
        paths=tuple(paths),
        strict=strict,
        profile=args.profile,
        latency=latency,
        chunk_size=chunk_size,
        journal_max=args.journal_max,
        max_body_bytes=args.max_body_bytes,
        journal_max_body_bytes=args.journal_max_body_bytes,
        journal_max_total_bytes=args.journal_max_total_bytes,
        chaos=chaos,
        chaos_seed=args.chaos_seed,
        admin_token=os.environ.get("AIMOCK_ADMIN_TOKEN") or None,
        host=host,
        idle_timeout=args.idle_timeout,
        open_control=bool(args.open_control) or _env_flag("AIMOCK_OPEN_CONTROL"),
        openai_prefixes=tuple(args.openai_prefix),
        sections=config_sections,
        replay_speed=replay_speed,
        record=record,  # type: ignore[arg-type]
        tls=tls_options,  # type: ignore[arg-type]
    )
    from aimock import tls

    served_tls = None
    wanted = tls.wanted(options.tls, loaded.stack)
    if wanted is not None:
        try:
            served_tls = tls.prepare(wanted, host)
        except tls.TLSError as exc:
            flag = {wanted.cert: "--tls-cert", wanted.key: "--tls-key"}.get(exc.path, "TLS:")
            hint = "" if wanted.cert else " (--tls-dir names another folder)"
            print(f"error: {flag} {exc}{hint}", file=sys.stderr)
            return 2
    return _run(options, loaded, host, port, watch=args.watch, embedded=embedded, tls=served_tls)


def _agui_record(args: argparse.Namespace, sections: Any, loaded: Any, paths: list[Path]) -> Any:
    """AIMock's `--agui-record`/`--agui-proxy-only` with `--agui-upstream`: the default AG-UI
    agent's record mode, over the `agui` section in force (aimock.json's, else the stack's);
    None without them, or why they are refused."""
    if not (args.agui_record or args.agui_proxy_only):
        return None
    if not args.agui_upstream:
        return "--agui-record/--agui-proxy-only requires --agui-upstream"
    from pydantic import ValidationError

    from aimock.models.services import agui

    base = sections.get("agui") or (loaded.stack.section(agui.SECTION) if loaded.stack else None)
    try:
        record = agui.AguiRecord(
            upstream=args.agui_upstream,
            proxy_only=bool(args.agui_proxy_only),
            fixture_path=str(Path(paths[0]) / "agui-recorded"),
        )
    except ValidationError as exc:
        return f"--agui-upstream: {exc.errors()[0]['msg']}"
    return (base or agui.AguiSpec()).model_copy(update={"record": record})


def _api_keys(flags: list[str], configured: Any) -> object:
    """The inbound keys: `--api-key` flags, else AIMOCK_API_KEYS, else aimock.json's `auth`
    (None: the stack spec decides); or why they are refused."""
    from aimock import auth

    try:
        if flags:
            return auth.InboundKeys(flags, "--api-key")
        if auth.ENVIRONMENT in os.environ:
            return auth.from_environment(os.environ[auth.ENVIRONMENT])
    except ValueError as exc:
        return str(exc)
    return configured


def inventory(state: Any, application: Any, tls: Any = None) -> str:
    """What the server serves besides its fixtures, for the second ready line: surfaces,
    each service's named items, chaos, the record mode, the control API's guard, TLS."""
    from aimock.models.services import SECTIONS
    from aimock.recording.proxy import RECORDER

    settings = state.settings
    surfaces = settings.surfaces
    parts = ["all surfaces" if surfaces is None else "surfaces " + ", ".join(sorted(surfaces))]
    for section in SECTIONS:
        names = section.names(settings.section(section))
        if names and section.inventory is not None:
            parts.append(f"{section.inventory[0]} {', '.join(names)}")
    chaos = [f"{field} {value:g}" for field, value in _rates(state.server_chaos)]
    chaos += [f"policy {policy.name}" for policy in state.chaos_policies]
    parts.append("chaos " + ", ".join(chaos) if chaos else "no chaos")
    recorder = application.get(RECORDER)
    if recorder is not None:
        parts.append(f"{recorder.options.mode} mode")
    if settings.api_keys is not None:
        parts.append(f"inbound API keys ({len(settings.api_keys)})")
    token = settings.admin_token is not None
    parts.append("control API behind an admin token" if token else "control API without a token")
    parts.append(tls.describe() if tls is not None else "plain HTTP (no TLS)")
    parts.append(native.describe(NATIVE))
    return "; ".join(parts)


def _rates(rates: Any) -> list[tuple[str, float]]:
    if rates is None:
        return []
    given = rates.model_dump(by_alias=True).items()
    return [(k, v) for k, v in given if type(v) in (int, float) and v]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def _run(
    options: object,
    loaded: object,
    host: str,
    port: int,
    *,
    watch: bool,
    embedded: bool,
    tls: Any = None,
) -> int:
    from aimock import app as app_module
    from aimock import reloading
    from aimock.fixtures.loading import FixtureSet
    from aimock.state import STATE, ServeOptions

    assert isinstance(options, ServeOptions) and isinstance(loaded, FixtureSet)
    application = app_module.create_app(options, loaded)
    if watch:
        application.cleanup_ctx.append(reloading.watch)
    state = application[STATE]

    def ready(bound: int) -> None:
        source = "embedded defaults" if embedded else counted(len(loaded.files), "file")
        mode = "strict" if state.strict else "lenient"
        scheme = "https" if tls is not None else "http"
        print(
            f"[aimock] listening on {scheme}://{host}:{bound} - "
            f"{counted(len(state.index), 'fixture')} from {source} ({mode}, set "
            f"{state.index.digest})",
            flush=True,
        )
        print(f"[aimock] serving {inventory(state, application, tls)}", flush=True)
        if tls is not None and tls.ca is not None:
            print(
                f"[aimock] trust the CA {tls.ca} (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS, "
                "curl --cacert; docs/tls.md)",
                flush=True,
            )

    context = tls.context if tls is not None else None
    try:
        serving = app_module.run_until_stopped(application, host, port, ready, context)
        app_module.run(serving)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
