"""Find the app (settings, catalogue) that owns a database session.

Services called by other domains get only a ``Session`` (e.g. ``issue_result(session, ...)``),
yet need the app's settings (base URL, signing keys, upload dir). Each app registers its
engine here at startup; a session's bind leads back to it. Outside an app (CLI, a script),
the environment's settings are used.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from portal.catalogue import Catalogue
from portal.config import Settings, get_settings


@dataclass
class AppContext:
    settings: Settings
    _catalogue: Catalogue | None = None

    @cached_property
    def catalogue(self) -> Catalogue:
        if self._catalogue is not None:
            return self._catalogue
        from workflows.definitions import load_registry

        return Catalogue(load_registry(self.settings.definitions_dir))

    @property
    def base_url(self) -> str:
        return str(self.settings.base_url).rstrip("/")


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, AppContext] = weakref.WeakKeyDictionary()


def register(app: Any) -> None:
    """Called by the hook at create_app: remember which app owns this engine."""
    state = app.state
    _BY_ENGINE[state.db.engine] = AppContext(state.settings, state.catalogue)


def register_engine(engine: Engine, settings: Settings) -> None:
    """For a script's own engine (seeding, benchmarks): use these settings, not the environment's."""
    _BY_ENGINE[engine] = AppContext(settings)


def context_for(session: Session) -> AppContext:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    found = _BY_ENGINE.get(engine)
    if found is None:
        found = _BY_ENGINE[engine] = AppContext(get_settings())
    return found
