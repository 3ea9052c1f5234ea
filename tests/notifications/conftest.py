from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from portal.notifications.mailsink import MailSink


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    """A real SMTP server on a free port, storing into a temporary directory."""
    running = MailSink(tmp_path / "mail", port=0).start_in_thread()
    yield running
    running.stop()
