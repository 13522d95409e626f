"""Compile aimock's request path (the modules in `aimock.native.MODULES`) with mypyc.

The extension modules land beside their sources in server/, with the manifest that lets
`aimock.native` check at every start that they still match the sources (else the sources run).
Builds are cached outside the clone by the content of every source file, the Python and the
mypy version: ${AIMOCK_COMPILE_CACHE:-~/.cache/aimock/compiled}/builds/<key>/ (and mypy's own
cache beside it). `make setup` runs this.

Usage: python scripts/compile.py            build (or take from the cache) and install
       python scripts/compile.py --clean    remove the extensions: the sources run
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "server"
PACKAGE = SERVER / "aimock"
# The group's shared library, aimock/_native__mypyc: inside the package, which an editable
# install finds without server/ on sys.path.
GROUP = "aimock._native"
KEPT_BUILDS = 4  # cache entries kept; older ones are removed

sys.path.insert(0, str(SERVER))
from aimock import native  # noqa: E402  (the list of modules and the manifest)


def cache_root() -> Path:
    given = os.environ.get("AIMOCK_COMPILE_CACHE")
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aimock" / "compiled"
    return Path(given) if given else base


def build_key() -> str:
    import mypy.version

    digest = hashlib.sha256()
    digest.update(f"{sys.version}|{mypy.version.__version__}|{native.MODULES}".encode())
    digest.update((ROOT / "pyproject.toml").read_bytes() + Path(__file__).read_bytes())
    digest.update(native.fingerprint().encode())
    return digest.hexdigest()[:24]


def installed() -> list[Path]:
    """The extension modules now in the package, the group's shared library among them."""
    return list(PACKAGE.rglob(f"*{sysconfig.get_config_var('EXT_SUFFIX') or '.so'}"))


def clean() -> None:
    for path in installed():
        path.unlink()
    native.MANIFEST.unlink(missing_ok=True)


def build(into: Path) -> None:
    """mypyc in a child process (setuptools and gcc print a lot; shown only on failure).

    Type errors fail the build as they fail `make lint`; an unused `type: ignore` does not,
    since mypyc checks with its own view of a few private modules (e.g. `re._parser`)."""
    sources = [str(native.source_of(name, Path("aimock"))) for name in native.MODULES]
    program = (
        "import sys; from setuptools import setup; from mypyc.build import mypycify; "
        "setup(name='aimock-native', script_args=sys.argv[1:], ext_modules=mypycify("
        f"['--config-file', {str(ROOT / 'pyproject.toml')!r}, '--no-warn-unused-ignores', "
        f"'--cache-dir', {str(cache_root() / 'mypy-cache')!r}, "
        f"*{sources!r}], "
        f"opt_level='3', group_name={GROUP!r}, target_dir={str(into / 'c')!r}))"
    )
    argv = [sys.executable, "-c", program, "build_ext", "--build-lib", str(into / "lib")]
    argv += ["--build-temp", str(into / "obj"), "--parallel", str(os.cpu_count() or 1)]
    # SERVER is the working directory: module names come from the paths under it, and no
    # setup.cfg or pyproject.toml there can reconfigure the throwaway setup() above.
    done = subprocess.run(argv, cwd=SERVER, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-6000:] + done.stderr[-6000:])
        raise SystemExit(f"compile.py: mypyc failed (exit {done.returncode}); see above")


def cached_build(key: str) -> Path:
    """The folder of built files for `key`, building it when the cache lacks it."""
    root = cache_root() / "builds"
    entry = root / key
    if entry.is_dir():
        return entry
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"==> compiling the request path with mypyc ({len(native.MODULES)} modules)", flush=True)
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        build(Path(scratch))
        # A complete entry appears at once, or not at all.
        os.replace(Path(scratch) / "lib", entry)
    print(f"==> compiled in {time.monotonic() - started:.0f} s, cached in {entry}", flush=True)
    for old in sorted(root.iterdir(), key=lambda p: p.stat().st_mtime)[:-KEPT_BUILDS]:
        shutil.rmtree(old, ignore_errors=True)
    return entry


def main(argv: list[str]) -> int:
    clean()
    if argv[1:] == ["--clean"]:
        print("==> compiled request path removed: the sources run")
        return 0
    if argv[1:]:
        raise SystemExit(__doc__)
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        print("==> no C compiler: aimock runs its pure-Python request path", flush=True)
        return 0
    entry = cached_build(build_key())
    os.utime(entry)  # kept as recently used
    for built in entry.rglob("*"):
        if built.is_file():
            target = SERVER / built.relative_to(entry)
            # A new file renamed over the old one: a running server keeps the library it
            # mapped, where writing over it in place would crash that server.
            partial = target.with_name(target.name + ".partial")
            shutil.copy2(built, partial)
            os.replace(partial, target)
    native.write_manifest()
    print(f"==> {native.describe(native.verdict())}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
