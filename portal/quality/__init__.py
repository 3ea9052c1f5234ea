"""Service quality: satisfaction ratings, feedback, Decision 766 indicators, dashboard, statistics.

The per-case facts and monthly counters follow the case-change outbox (see
:mod:`portal.quality.tracking`), consumed by ``portal worker``.
"""
