"""`make image`: the chart's image, built with whichever builder the machine has (docker,
podman or buildah), tagged with the chart's appVersion; a clear error when there is none."""

from __future__ import annotations

import os
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

CHART = yaml.safe_load((ROOT / "charts" / "aimock" / "Chart.yaml").read_text())
IMAGE = f"ghcr.io/aimock/aimock:{CHART['appVersion']}"


def make_image(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args, "image"],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )


def test_the_image_is_tagged_as_the_chart_installs_it() -> None:
    planned = make_image("-n")
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.split() == ["scripts/build-image.sh", IMAGE]


def test_without_a_builder_it_says_what_to_install() -> None:
    refused = make_image(env={"AIMOCK_IMAGE_BUILDERS": "no-such-builder other-missing-one"})
    assert refused.returncode != 0
    assert "no image builder found" in refused.stderr
    assert "podman" in refused.stderr and "docs/operator.md" in refused.stderr


def test_it_builds_with_the_machines_builder() -> None:
    which = subprocess.run(
        [str(ROOT / "scripts" / "build-image.sh"), "--which"],
        capture_output=True,
        text=True,
        check=False,
    )
    if which.returncode != 0:
        pytest.skip("no working image builder here (docker, podman or buildah): not built")
    builder = which.stdout.strip()
    built = make_image()
    assert built.returncode == 0, built.stderr[-4000:]
    inspected = subprocess.run(
        [builder, "image", "inspect", IMAGE], capture_output=True, text=True, check=False
    )
    assert inspected.returncode == 0, inspected.stderr
