"""fal.ai's official Python client (`fal-client`) against a real aimock process. The client
dials https only (`https://{FAL_RUN_HOST}/...`, `https://{FAL_QUEUE_RUN_HOST}/...`, read from
the environment when it is imported), so it runs in a subprocess pointed at `aimock serve
--tls`: a queue submit, status and result, a sync run, a cancel, and the audio File's bytes
downloaded over TLS. The routes themselves: tests/server/test_fal.py."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, serving_fixtures
from tests.server.test_fal import FIXTURES, JINGLE

FAL_CLIENT = """
import fal_client
import httpx

client = fal_client.SyncClient(key="test")
handle = client.submit("fal-ai/stable-audio", {"prompt": "a jingle"})
print(type(handle.status()).__name__)
file = handle.get()["audio"]
print(file["file_name"], httpx.get(file["url"]).content == open(0, "rb").read())
print(client.run("fal-ai/veo3", {"prompt": "a cat surfing"})["video"]["url"])
slow = client.submit("fal-ai/flux/dev", {"prompt": "a slow one"})
print(type(slow.status()).__name__)
slow.cancel()
"""


def test_official_fal_client(tmp_path_factory: pytest.TempPathFactory) -> None:
    """fal-client dials `https://{FAL_RUN_HOST}/{app}` and `https://{FAL_QUEUE_RUN_HOST}/{app}`
    (read from the environment at import): pointed at the mock's `/fal/run` and `/fal` over
    TLS, trusting the CA `aimock serve --tls` made."""
    tls = tmp_path_factory.mktemp("fal-tls")
    folder = tmp_path_factory.mktemp("fal-client")
    with serving_fixtures(folder, FIXTURES, "--tls", "--tls-dir", str(tls)) as running:
        host = running.url.removeprefix("https://")
        env = {
            **os.environ,
            "FAL_RUN_HOST": f"{host}/fal/run",
            "FAL_QUEUE_RUN_HOST": f"{host}/fal",
            "SSL_CERT_FILE": str(Path(tls) / "ca.crt"),
            "PYTHONPATH": str(ROOT),
        }
        ran = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(FAL_CLIENT)],
            env=env,
            input=JINGLE,
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert ran.returncode == 0, ran.stderr.decode()
    assert ran.stdout.decode().split() == [
        "InProgress",
        "generated_audio.wav",
        "True",  # the File's bytes, downloaded over TLS, are the fixture's
        "https://v3.fal.media/files/cat.mp4",
        "InProgress",
    ]
