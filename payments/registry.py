"""Providers by name, so new methods (MoMo, ZaloPay, ...) need no change in callers.

The portal builds configured providers at start-up and registers them; tests
swap one for a double with `override`, which restores the previous entry.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from payments.base import PaymentProvider


class UnknownProvider(LookupError):
    pass


class ProviderRegistry:
    def __init__(self) -> None:
        self._providers: dict[str, PaymentProvider] = {}
        self._lock = threading.Lock()

    def register(self, provider: PaymentProvider, *, replace: bool = False) -> PaymentProvider:
        if not isinstance(provider, PaymentProvider):
            raise TypeError(f"{provider!r} does not implement PaymentProvider")
        with self._lock:
            if provider.name in self._providers and not replace:
                raise ValueError(f"payment provider {provider.name!r} is already registered")
            self._providers[provider.name] = provider
        return provider

    def unregister(self, name: str) -> None:
        with self._lock:
            self._providers.pop(name, None)

    def get(self, name: str) -> PaymentProvider:
        try:
            return self._providers[name]
        except KeyError:
            raise UnknownProvider(f"no payment provider named {name!r}") from None

    def names(self) -> list[str]:
        return sorted(self._providers)

    def __contains__(self, name: object) -> bool:
        return name in self._providers

    @contextmanager
    def override(self, provider: PaymentProvider) -> Iterator[PaymentProvider]:
        """Use `provider` under its name for the duration of the block (tests)."""
        with self._lock:
            previous = self._providers.get(provider.name)
            self._providers[provider.name] = provider
        try:
            yield provider
        finally:
            with self._lock:
                if previous is None:
                    self._providers.pop(provider.name, None)
                else:
                    self._providers[provider.name] = previous


default_registry = ProviderRegistry()


def register(provider: PaymentProvider, *, replace: bool = False) -> PaymentProvider:
    return default_registry.register(provider, replace=replace)


def get(name: str) -> PaymentProvider:
    return default_registry.get(name)
