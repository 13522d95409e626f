"""AIMock's `services` switches in `aimock.json` load: checked, and served without them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from aimock.aimock_config import ConfigError, load


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aimock.json"
    path.write_text(text)
    return path


def test_services_switches_load_quietly(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, '{"services": {"search": true, "rerank": true, "moderate": false}}')
    with caplog.at_level(logging.WARNING, logger="aimock.models.stack"):
        load(path)
    assert not caplog.records


def test_unknown_service_is_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="aimock.models.stack"):
        load(write(tmp_path, '{"services": {"translate": true}}'))
    assert "services.translate" in caplog.text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"services": true}', "services: expected an object"),
        ('{"services": {"search": "yes"}}', "services.search: expected bool"),
    ],
)
def test_bad_services(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path, text))
