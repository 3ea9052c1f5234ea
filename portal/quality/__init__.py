"""Service quality: satisfaction ratings, feedback, Decision 766 indicators, dashboard, statistics.

Importing the package installs the session listeners that keep the per-case facts and the monthly
counters current (see :mod:`portal.quality.tracking`), in the web app, the worker and scripts alike.
"""

from portal.quality.tracking import install_listeners

install_listeners()
