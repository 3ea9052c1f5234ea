"""Registration point for other domains' routers and startup work.

A domain module appends a ``hook(app: FastAPI) -> None`` to HOOKS in
``portal/extensions.py``'s import list below; create_app calls every hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HOOKS: list[Callable[[Any], None]] = []

from portal import signing_and_mail  # noqa: E402,F401  (signed results, e-mail outbox)
from portal.assistant import hook as _assistant  # noqa: E402,F401  (virtual assistant)
from portal.backoffice import hook as _backoffice  # noqa: E402,F401  (staff back office)
from portal.payments_app import hook as _payments  # noqa: E402,F401  (VNPay, school fees, VietQR)
from portal.quality import hook as _quality  # noqa: E402,F401  (ratings, feedback, quality dashboard)
from portal.retention import hook as _retention  # noqa: E402,F401  (pruning and expiry jobs)
