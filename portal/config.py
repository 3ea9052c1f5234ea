"""Settings from environment variables prefixed ``PORTAL_`` (documented in the README)."""

from __future__ import annotations

import secrets
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{VAR / 'portal.db'}"
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000

    upload_dir: Path = VAR / "uploads"
    definitions_dir: Path = ROOT / "workflows" / "definitions"
    calendar_file: Path = ROOT / "workflows" / "calendar.yaml"
    extra_holidays: list[date] = Field(default_factory=list)
    swapped_working_days: list[date] = Field(default_factory=list)

    default_language: Literal["vi", "en"] = "vi"
    hotline: str = "1022"
    service_token: str = ""  # bearer token for the assistant's actions

    login_max_failures: int = 5
    login_window_seconds: int = 900
    tracking_max_lookups: int = 30
    tracking_window_seconds: int = 600

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = "dev-rasa-token"  # noqa: S105 - development default; set PORTAL_RASA_TOKEN in production
    rasa_timeout_seconds: float = 8.0

    db_pool_size: int = 10

    # signed results (portal/signing): PEM paths; unset outside production → a local test CA under var/pki/
    signing_key: Path | None = None
    signing_cert: Path | None = None
    signing_ca_cert: Path | None = None
    dev_pki_dir: Path = VAR / "pki"  # where that test CA lives (tests: a fresh one per run)

    # e-mail (portal/notifications): the worker sends the outbox here; `make run` starts a sink on 1025
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "Dịch vụ công Giáo dục <no-reply@dichvucong.local>"
    mail_sink_dir: Path = VAR / "mail"

    # satisfaction ratings (portal/quality): days the applicant may still change a rating
    rating_edit_days: int = 7

    # payments (portal/payments_app). Secrets only from the environment; outside production, empty
    # VNPay settings fall back to the local sandbox at /dev/vnpay (on by default in development/test).
    vnpay_tmn_code: str = ""
    vnpay_hash_secret: str = ""
    vnpay_pay_url: str = ""  # empty: the local sandbox's, when enabled
    vnpay_api_url: str = ""
    vnpay_return_url: str = ""  # empty: {base_url}/thanh-toan/vnpay/ket-qua
    vnpay_ipn_url: str = ""  # empty: {base_url}/thanh-toan/vnpay/ipn (what the sandbox calls)
    vnpay_sandbox: bool | None = None  # None: on outside production; refused in production
    payment_reconcile_after_minutes: int = 20  # querydr for attempts still pending this long
    school_bank_bin: str = "970415"  # VietQR default for schools without their own account
    school_bank_account: str = ""

    @field_validator("extra_holidays", "swapped_working_days", mode="before")
    @classmethod
    def _dates(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @model_validator(mode="after")
    def _secret(self) -> Settings:
        if not self.secret_key:
            if self.environment == "production":
                raise ValueError("PORTAL_SECRET_KEY must be set in production")
            self.secret_key = _dev_secret()
        return self

    @model_validator(mode="after")
    def _no_payment_sandbox_in_production(self) -> Settings:
        if self.environment == "production" and self.vnpay_sandbox:
            raise ValueError("PORTAL_VNPAY_SANDBOX cannot be enabled in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.environment == "production"


def _dev_secret() -> str:
    """A per-checkout secret kept in var/, so dev sessions survive restarts."""
    path = VAR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.write_text(value)
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
