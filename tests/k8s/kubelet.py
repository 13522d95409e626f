"""A stand-in for the kubelet's share in serving a stack, since kwok's pods run nothing.

tests/k8s/test_hollow_kubelet.py runs one pod on the kubelet's own code instead; this lighter
stand-in is for several replicas, each of which needs an address of its own for the pod
network (the hollow kubelet's fake runtime gives every pod the same IP).

Each ready pod of the stack gets a real `aimock serve -f <its volume> --watch` on 127.0.0.1,
and the plane's pod network (tests/k8s/pod_network.py) leads the pod's IP and port there, so
the API server's pod proxy reaches it as it would reach the pod.

What is kept of the kubelet is what the operator relies on: a pod's ConfigMap volume is
projected when the pod starts, and again only when the kubelet syncs the pod, which a change
to the pod's annotations or labels brings about (it ignores status-only updates). The
kubelet's periodic resync (a minute or more) is left out, so a config that reaches these
servers reached them through the operator's nudge. Files are written as the kubelet's atomic
writer writes them: a hidden timestamped folder, `..data` pointing at it, each key a symlink
through `..data`. The container's environment is resolved as the kubelet would, plain values
and `secretKeyRef`s (the admin token), and a TLS Secret volume (`spec.tls`) is written where
the server's `--tls-cert` and `--tls-key` find it.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ServerProcess, start_server
from tests.k8s.plane import ControlPlane

PORT = 4010  # the container port the operator renders
POLL_SECONDS = 0.05
WATCHED = ("annotations", "labels")  # a change to these makes the kubelet sync the pod


@dataclass
class PodServer:
    name: str
    ip: str
    volume: Path
    server: ServerProcess
    seen: dict[str, Any]  # the pod's watched metadata at its last sync
    syncs: int = 1
    frozen: bool = False  # a kubelet that misses this pod's updates


class KubeletStandIn:
    """Runs the ready pods of one stack as real servers until `stop()`."""

    def __init__(self, plane: ControlPlane, namespace: str, stack: str, root: Path) -> None:
        self.plane, self.namespace, self.stack, self.root = plane, namespace, stack, root
        self.pods: dict[str, PodServer] = {}
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True, name="kubelet-stand-in")

    def __enter__(self) -> KubeletStandIn:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def servers(self) -> list[ServerProcess]:
        with self._lock:
            return [pod.server for pod in self.pods.values()]

    def freeze(self, pod: str) -> None:
        """From now on this pod's updates are missed: its volume keeps what it has."""
        with self._lock:
            self.pods[pod].frozen = True

    def thaw(self, pod: str) -> None:
        """The pod's kubelet catches up (as at its periodic resync): the volume is refreshed."""
        with self._lock:
            self.pods[pod].frozen = False
            project(self.pods[pod].volume, self._config())
            self.pods[pod].syncs += 1

    def unplug(self, pod: str) -> None:
        """The pod's address leads nowhere from now on."""
        self.plane.pod_network.withdraw(self.pods[pod].ip, PORT)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        with self._lock:
            for pod in self.pods.values():
                self.plane.pod_network.withdraw(pod.ip, PORT)
                pod.server.stop()
        for pod in self.pods.values():
            assert "Traceback" not in "".join(pod.server.output), pod.name

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sync()
            except BaseException as exc:  # surfaced by the test through `failure`
                self.failure = exc
                return
            self._stop.wait(POLL_SECONDS)

    def _sync(self) -> None:
        query = f"app.kubernetes.io/name=aimock,app.kubernetes.io/instance={self.stack}"
        status, listing = self.plane.request(
            "GET", f"/api/v1/namespaces/{self.namespace}/pods?labelSelector={query}"
        )
        if status != 200:
            return
        for pod in listing["items"]:
            meta, pod_status = pod["metadata"], pod.get("status") or {}
            watched = {key: meta.get(key) or {} for key in WATCHED}
            known = self.pods.get(meta["name"])
            if known is None:
                if pod_status.get("podIP") and not meta.get("deletionTimestamp"):
                    self._start(pod, watched)
            elif watched != known.seen and not known.frozen:
                with self._lock:
                    project(known.volume, self._config())
                    known.seen, known.syncs = watched, known.syncs + 1

    def _start(self, pod: dict[str, Any], watched: dict[str, Any]) -> None:
        name, ip = pod["metadata"]["name"], pod["status"]["podIP"]
        volume = self.root / name
        volume.mkdir(parents=True)
        project(volume, self._config())
        [container] = pod["spec"]["containers"]
        tls = self._tls(pod, container, self.root / f"{name}.tls")
        server = start_server(["-f", str(volume), "--watch", *tls], env=self._env(container))
        self.plane.pod_network.expose(ip, PORT, int(server.url.rsplit(":", 1)[1]))
        with self._lock:
            self.pods[name] = PodServer(name, ip, volume, server, watched)

    def _config(self) -> dict[str, str]:
        status, listing = self.plane.request(
            "GET",
            f"/api/v1/namespaces/{self.namespace}/configmaps?labelSelector=aimock.dev/stack={self.stack}",
        )
        assert status == 200, listing
        files: dict[str, str] = {}
        for item in listing["items"]:
            if item["metadata"]["name"].startswith(f"{self.stack}-config-"):
                files.update(item.get("data") or {})
        return files

    def _tls(self, pod: dict[str, Any], container: dict[str, Any], folder: Path) -> list[str]:
        """With `spec.tls` the server's certificate flags, the Secret volume's keys written
        into `folder` as the kubelet would mount them."""
        args = container.get("args") or []
        if "--tls-cert" not in args:
            return []
        [volume] = [v for v in pod["spec"]["volumes"] if "secret" in v]
        path = f"/api/v1/namespaces/{self.namespace}/secrets/{volume['secret']['secretName']}"
        status, secret = self.plane.request("GET", path)
        assert status == 200, secret
        folder.mkdir(parents=True)
        for item in volume["secret"]["items"]:
            (folder / item["path"]).write_bytes(base64.b64decode(secret["data"][item["key"]]))
        cert, key = args[args.index("--tls-cert") + 1], args[args.index("--tls-key") + 1]
        return [
            "--tls-cert",
            str(folder / Path(cert).name),
            "--tls-key",
            str(folder / Path(key).name),
        ]

    def _env(self, container: dict[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        for item in container.get("env") or []:
            if "value" in item:
                env[item["name"]] = item["value"]
            elif ref := (item.get("valueFrom") or {}).get("secretKeyRef"):
                path = f"/api/v1/namespaces/{self.namespace}/secrets/{ref['name']}"
                status, secret = self.plane.request("GET", path)
                assert status == 200, secret
                env[item["name"]] = base64.b64decode(secret["data"][ref["key"]]).decode()
        return env


def project(volume: Path, files: dict[str, str]) -> None:
    """Write `files` into `volume` as the kubelet's atomic writer does."""
    stamp = volume / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    stamp.mkdir()
    for key, text in files.items():
        (stamp / key).write_text(text)
    data = volume / "..data"
    previous = os.readlink(data) if data.is_symlink() else None
    link = volume / "..data_tmp"
    os.symlink(stamp.name, link)
    os.replace(link, data)  # the one atomic step: every file changes at once
    for key in files:
        entry = volume / key
        if not entry.is_symlink():
            os.symlink(f"..data/{key}", entry)
    for entry in volume.iterdir():
        if not entry.name.startswith("..") and entry.name not in files:
            entry.unlink()
    if previous is not None:
        with contextlib.suppress(OSError):
            shutil.rmtree(volume / previous)
