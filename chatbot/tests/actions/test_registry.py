"""The action server registers exactly the actions the domain declares."""

from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

DOMAIN = Path(__file__).resolve().parents[2] / "domain.yml"


def test_action_package_registers_every_domain_action():
    executor = ActionExecutor()
    executor.register_package("actions")
    domain_actions = set()
    for entry in yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["actions"]:
        domain_actions.add(next(iter(entry)) if isinstance(entry, dict) else entry)
    assert set(executor.actions) == domain_actions
