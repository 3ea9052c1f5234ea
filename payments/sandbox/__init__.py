"""Local VNPay test double (never in production): `create_sandbox_app(SandboxConfig(...))`."""

from payments.sandbox.app import PAY_PATH, Sandbox, create_sandbox_app, sandbox_of
from payments.sandbox.config import IpnKnobs, SandboxConfig, SandboxRefused
from payments.sandbox.pages import OUTCOMES

__all__ = [
    "OUTCOMES",
    "PAY_PATH",
    "IpnKnobs",
    "Sandbox",
    "SandboxConfig",
    "SandboxRefused",
    "create_sandbox_app",
    "sandbox_of",
]
