"""Settings from environment variables prefixed ``PORTAL_`` (documented in the README)."""

from __future__ import annotations

import ipaddress
import math
import secrets
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"

# Public development values (in this repository, so known to everyone): refused where they would
# protect something real.
DEV_RASA_TOKEN = "dev-rasa-token"  # noqa: S105
DEV_VNPAY_HASH_SECRET = "dev-only-vnpay-secret-never-in-production"  # noqa: S105
DEV_OIDC_CLIENT_SECRET = "dev-only-oidc-client-secret-never-in-production"  # noqa: S105
PUBLIC_DEV_SECRETS = frozenset(
    {
        DEV_RASA_TOKEN,
        DEV_VNPAY_HASH_SECRET,
        DEV_OIDC_CLIENT_SECRET,
        "dev-service-token",
        "test-service-token",
        "test-secret-key-not-for-production",
    }
)
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 128


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting must not print the other secrets into deployment logs
    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore", hide_input_in_errors=True)

    # production unless asked otherwise: `make run`/`make serve` and the test suite ask for development/test
    environment: Literal["development", "test", "production"] = "production"
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

    login_max_failures: int = 5  # per account and address
    login_max_failures_per_ip: int = 20  # per address, across accounts
    login_max_failures_per_account: int = 50  # per account, across addresses
    login_window_seconds: int = 900
    tracking_max_lookups: int = 30
    tracking_window_seconds: int = 600
    redis_url: str = ""  # rate-limit counters in Redis (e.g. redis://127.0.0.1:6379/0); empty: the database

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""  # Rasa's HTTP API token, if a tool needs it; the relay uses the REST channel only
    rasa_timeout_seconds: float = 8.0

    db_pool_size: int = 10
    db_pool_timeout_seconds: float = 10  # wait for a pooled connection, then fail (503)
    db_connect_timeout_seconds: float = 5  # PostgreSQL: a connection attempt
    db_statement_timeout_seconds: float = 30  # PostgreSQL: any one statement of the app and its jobs; 0: none

    # back-office sessions end after this much inactivity, and this long after login in any case
    staff_session_idle_seconds: int = 1800
    staff_session_max_seconds: int = 10 * 3600
    # roles that must sign in with a second factor (TOTP), besides every role that signs a result
    # in a workflow (an action with the issue_result effect): see docs/identity.md
    staff_totp_roles: list[str] = Field(default_factory=lambda: ["lanh_dao", "ke_toan", "admin"])
    staff_totp_pending_seconds: int = 300  # between the password and the code step

    # request bodies (portal/web/bodies.py): a larger cap only on the routes that take files
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)

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

    # SMS and verified phones (notifications/sms.py, accounts/phone.py; docs/phone-verification.md)
    sms_url: str = ""  # the SMS gateway (JSON POST); empty: the /dev/sms sink outside production, none in it
    sms_api_key: str = ""  # sent as a bearer token to sms_url
    sms_timeout_seconds: float = 5.0
    phone_code_ttl_seconds: int = Field(default=300, ge=30)  # a code is good this long
    phone_code_max_attempts: int = Field(default=5, ge=1)  # wrong entries, then a new code is needed
    phone_code_resend_seconds: int = Field(default=60, ge=0)  # wait between two codes for one account
    phone_codes_per_phone: int = Field(default=5, ge=1)  # codes sent to one number per hour
    phone_codes_per_phone_per_day: int = Field(default=10, ge=1)  # ... and per day (bounds guessing)
    phone_codes_per_account: int = Field(default=5, ge=1)  # codes one account asks for per hour
    phone_codes_per_ip: int = Field(default=20, ge=1)  # codes asked for from one address per hour

    # retention (portal/retention, run by `portal worker`): days after the last change
    draft_retention_days: int = Field(default=30, ge=1)  # anonymous drafts: data, files, link erased
    account_draft_retention_days: int = Field(default=180, ge=1)  # drafts of signed-in citizens
    assistant_transcript_retention_days: int = Field(default=90, ge=1)  # chat transcripts deleted

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

    # citizen sign-in with the national electronic identity through OpenID Connect (portal/identity,
    # docs/identity.md). Empty issuer: outside production the development provider at /dev/oidc.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile"
    oidc_claim_pid: str = "pid"  # the claim holding the 12-digit personal identification number
    oidc_claim_name: str = "name"
    oidc_claim_birthdate: str = "birthdate"
    oidc_timeout_seconds: float = Field(default=10.0, gt=0)
    oidc_clock_skew_seconds: int = Field(default=60, ge=0, le=300)
    oidc_dev_provider: bool | None = None  # None: on outside production; refused in production
    dev_idp_dir: Path = VAR / "dev-idp"  # the development provider's generated signing key
    # phone/e-mail + password accounts (agencies may still require the identity provider: agencies.yaml)
    password_sign_in: bool = True

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
    def _strong_secrets_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        secrets_ = {
            "PORTAL_SECRET_KEY": (self.secret_key, MIN_SECRET_LENGTH),
            "PORTAL_SERVICE_TOKEN": (self.service_token, MIN_SECRET_LENGTH),
            "PORTAL_RASA_TOKEN": (self.rasa_token, MIN_SECRET_LENGTH),
            # issued by VNPay, not chosen by us: only refuse what is obviously not a real secret
            "PORTAL_VNPAY_HASH_SECRET": (self.vnpay_hash_secret, 16),
            # issued by the identity provider, like VNPay's
            "PORTAL_OIDC_CLIENT_SECRET": (self.oidc_client_secret, 16),
        }
        for name, (value, min_length) in secrets_.items():
            if value and (problem := secret_weakness(value, min_length)):
                raise ValueError(f"{name} is too weak for production: {problem}")
        return self

    @model_validator(mode="after")
    def _no_public_dev_secrets(self) -> Settings:
        if self.rasa_token == DEV_RASA_TOKEN and self.environment != "development":
            raise ValueError("PORTAL_RASA_TOKEN: the public development token is refused outside development")
        if self.vnpay_hash_secret == DEV_VNPAY_HASH_SECRET and not (
            self.vnpay_sandbox and self.environment != "production"
        ):
            raise ValueError(
                "PORTAL_VNPAY_HASH_SECRET: the public development secret needs PORTAL_VNPAY_SANDBOX=true"
            )
        return self

    @model_validator(mode="after")
    def _no_payment_sandbox_in_production(self) -> Settings:
        if self.environment == "production" and self.vnpay_sandbox:
            raise ValueError("PORTAL_VNPAY_SANDBOX cannot be enabled in production")
        return self

    @model_validator(mode="after")
    def _identity_provider(self) -> Settings:
        if self.environment == "production" and self.oidc_dev_provider:
            raise ValueError("PORTAL_OIDC_DEV_PROVIDER cannot be enabled in production")
        if self.oidc_client_secret == DEV_OIDC_CLIENT_SECRET and self.environment == "production":
            raise ValueError(
                "PORTAL_OIDC_CLIENT_SECRET: the public development secret is refused in production"
            )
        if self.oidc_issuer:
            if not (self.oidc_client_id and self.oidc_client_secret):
                raise ValueError(
                    "PORTAL_OIDC_ISSUER needs PORTAL_OIDC_CLIENT_ID and PORTAL_OIDC_CLIENT_SECRET"
                )
            if self.environment == "production" and not self.oidc_issuer.startswith("https://"):
                raise ValueError("PORTAL_OIDC_ISSUER must be an https:// URL in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.environment == "production"

    def check_servable(self, host: str | None = None) -> None:
        """Development mode (dev mail, payment sandbox, public dev secrets) serves this machine only."""
        if self.environment != "development":
            return
        from urllib.parse import urlsplit

        for what, value in (
            ("host", host or self.host),
            ("base URL", urlsplit(self.base_url).hostname or ""),
        ):
            if not is_loopback(value):
                raise RuntimeError(
                    f"development mode listens on loopback only, not {what} {value!r}: "
                    "set PORTAL_ENVIRONMENT=production (and its secrets) to serve other machines"
                )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def secret_weakness(value: str, min_length: int = MIN_SECRET_LENGTH) -> str | None:
    """Why ``value`` is not a usable secret, or None. Entropy is estimated from its length and the
    number of distinct characters (``secrets.token_urlsafe(32)`` has ~250 bits; "x" * 40 has 0)."""
    if value in PUBLIC_DEV_SECRETS:
        return "it is a public development value"
    if len(value) < min_length:
        return f"shorter than {min_length} characters"
    bits = len(value) * math.log2(len(set(value))) if len(set(value)) > 1 else 0.0
    if bits < min(MIN_SECRET_BITS, min_length * 4):
        return "too little entropy (use e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    return None


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
