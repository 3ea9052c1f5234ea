"""The development provider never runs in production; a real provider is a configuration change;
the tables match the migration; the provider's key is generated, kept and reused (never in the code)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from portal import all_models  # noqa: F401
from portal.app import create_app
from portal.config import DEV_OIDC_CLIENT_SECRET, Settings
from portal.db import Base
from portal.identity.config import provider_config
from portal.identity.devprovider import DevProvider
from tests.identity.conftest import Clock

STRONG = "Zq8vR2mK7xT4pL9wN3bY6cH1dF5gJ0sA-strong-secret"  # noqa: S105 (test data)
ISSUER = "https://sso.dichvucong.example.vn"


def _production(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"environment": "production", "secret_key": STRONG, **changes})


def test_production_serves_no_development_provider(settings: Settings) -> None:
    with TestClient(create_app(_production(settings)), base_url="https://testserver") as client:
        for path in ("/dev/oidc/.well-known/openid-configuration", "/dev/oidc/jwks", "/dev/oidc/authorize"):
            assert client.get(path).status_code == 404
        assert client.post("/dev/oidc/token", data={"grant_type": "authorization_code"}).status_code == 404
        # no provider configured: the button says so instead of failing
        r = client.get("/dang-nhap/dinh-danh")
        assert r.status_code == 503
        assert "chưa được cấu hình" in r.text


def test_production_refuses_the_development_provider_and_its_secret() -> None:
    with pytest.raises(ValidationError, match="PORTAL_OIDC_DEV_PROVIDER"):
        Settings(environment="production", secret_key=STRONG, oidc_dev_provider=True)
    with pytest.raises(ValidationError, match="PORTAL_OIDC_CLIENT_SECRET"):
        Settings(
            environment="production",
            secret_key=STRONG,
            oidc_issuer=ISSUER,
            oidc_client_id="portal",
            oidc_client_secret=DEV_OIDC_CLIENT_SECRET,
        )
    with pytest.raises(ValidationError, match="https"):
        Settings(
            environment="production",
            secret_key=STRONG,
            oidc_issuer="http://sso.example.vn",
            oidc_client_id="portal",
            oidc_client_secret=STRONG,
        )
    with pytest.raises(ValidationError, match="CLIENT_ID"):
        Settings(environment="production", secret_key=STRONG, oidc_issuer=ISSUER)


def test_a_real_provider_is_a_configuration_change(settings: Settings) -> None:
    real = _production(
        settings,
        oidc_issuer=ISSUER,
        oidc_client_id="portal-giao-duc",
        oidc_client_secret=STRONG,
        oidc_claim_pid="so_dinh_danh",
        base_url="https://dichvucong.example.vn",
    )
    config = provider_config(real)
    assert config is not None
    assert (config.issuer, config.client_id, config.claim_pid) == (ISSUER, "portal-giao-duc", "so_dinh_danh")
    assert config.redirect_uri == "https://dichvucong.example.vn/dang-nhap/dinh-danh/ket-qua"
    app = create_app(real)
    assert app.state.oidc_client.config == config
    assert not hasattr(app.state, "dev_identity_provider")


def test_the_development_key_is_generated_private_and_reused(settings: Settings, tmp_path: Path) -> None:
    local = settings.model_copy(update={"dev_idp_dir": tmp_path / "idp"})
    first = DevProvider(local, Clock())
    key_file = tmp_path / "idp" / "signing-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert DevProvider(local, Clock()).key_id == first.key_id
    assert "PRIVATE KEY" not in str(first.jwks())


def test_identity_tables_match_the_migration(app: FastAPI) -> None:
    with app.state.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if "citizen" in str(d)]
    assert ours == []
