"""The relying party refuses every ID token it must not trust (OpenID Connect Core §3.1.3.7).

A fake provider (httpx MockTransport) publishes discovery and a JWKS; tokens are signed here, as a
provider — or a forger — would sign them. "Now" is a fixed clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from portal.identity.oidc import Identity, IdentityError, OidcClient, ProviderConfig, valid_pid

pytestmark = pytest.mark.anyio

ISSUER = "https://sso.dichvucong.example.vn"
CLIENT_ID = "portal-giao-duc"
NONCE = "n-0S6_WzA2Mj"
NOW = datetime.fromisoformat("2026-12-09T09:30:00+07:00")
T = int(NOW.timestamp())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class FakeProvider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, private=True)
        self.key.ensure_kid()
        self.published = [self.key]
        self.jwks_fetches = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/authorize",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/jwks",
                },
            )
        if request.url.path == "/jwks":
            self.jwks_fetches += 1
            return httpx.Response(200, json=KeySet(self.published).as_dict(private=False))
        return httpx.Response(404)

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None, kid: str | None = None) -> str:
        key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": kid or key.kid}, claims, key, algorithms=["RS256"])


def good_claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "vneid-7f3a",
        "aud": CLIENT_ID,
        "iat": T - 10,
        "exp": T + 290,
        "nonce": NONCE,
        "pid": "079185012345",
        "name": "Trần Thị Mai",
        "birthdate": "1985-03-12",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


class Ticker:
    """The client's monotonic clock (JWKS refresh rate limit), moved by the test."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def client(provider: FakeProvider, ticker: Ticker) -> OidcClient:
    config = ProviderConfig(
        issuer=ISSUER, client_id=CLIENT_ID, client_secret="s" * 32, redirect_uri="https://portal/cb"
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(provider.handler))
    return OidcClient(config, http, monotonic=ticker)


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


async def verify(client: OidcClient, token: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("nonce", NONCE)
    kwargs.setdefault("now", at(NOW))
    return await client.verify_id_token(token, **kwargs)


async def test_a_genuine_token_is_accepted_and_gives_the_identity(
    client: OidcClient, provider: FakeProvider
) -> None:
    claims = await verify(client, provider.sign(good_claims()))
    assert client.identity(claims) == Identity(
        issuer=ISSUER,
        subject="vneid-7f3a",
        pid="079185012345",
        full_name="Trần Thị Mai",
        birth_date=datetime(1985, 3, 12).date(),
    )


async def test_a_token_signed_with_another_key_under_the_providers_kid_is_refused(
    client: OidcClient, provider: FakeProvider
) -> None:
    forger = RSAKey.generate_key(2048, private=True)
    with pytest.raises(IdentityError, match="signature"):
        await verify(client, provider.sign(good_claims(), key=forger, kid=provider.key.kid))


async def test_a_token_with_a_key_the_provider_does_not_publish_is_refused(
    client: OidcClient, provider: FakeProvider, ticker: Ticker
) -> None:
    await verify(client, provider.sign(good_claims()))  # JWKS cached
    ticker.value += 120
    forger = RSAKey.generate_key(2048, private=True)
    forger.ensure_kid()
    with pytest.raises(IdentityError, match="does not publish"):
        await verify(client, provider.sign(good_claims(), key=forger))
    assert provider.jwks_fetches == 2  # it did look again (rotation), and still refused


async def test_a_rotated_key_is_fetched_once_and_accepted(
    client: OidcClient, provider: FakeProvider, ticker: Ticker
) -> None:
    await verify(client, provider.sign(good_claims()))
    new_key = RSAKey.generate_key(2048, parameters={"alg": "RS256"}, private=True)
    new_key.ensure_kid()
    provider.published = [provider.key, new_key]
    ticker.value += 120
    claims = await verify(client, provider.sign(good_claims(), key=new_key))
    assert claims["pid"] == "079185012345"
    assert provider.jwks_fetches == 2
    await verify(client, provider.sign(good_claims(), key=new_key))
    assert provider.jwks_fetches == 2  # cached after the rotation


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)])


async def test_alg_none_is_refused(client: OidcClient) -> None:
    with pytest.raises(IdentityError, match="algorithm"):
        await verify(client, _unsigned({"alg": "none"}, good_claims()))


async def test_hs256_signed_with_the_public_key_is_refused(
    client: OidcClient, provider: FakeProvider
) -> None:
    """The classic confusion: the public key (known to all) used as an HMAC secret."""
    public_pem = provider.key.as_pem(private=False)
    unsigned = _unsigned({"alg": "HS256", "kid": provider.key.kid}, good_claims()).rsplit(".", 1)[0]
    signature = hmac.new(public_pem, unsigned.encode(), hashlib.sha256).digest()
    token = unsigned + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    with pytest.raises(IdentityError, match="algorithm"):
        await verify(client, token)


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        (good_claims(exp=T - 61), "expired: past the 60 s allowed clock skew"),
        (good_claims(iat=T + 3600, exp=T + 7200), "issued in the future"),
        (good_claims(exp=None), "no expiry"),
        (good_claims(aud="another-portal"), "for another client"),
        (good_claims(aud=["another-portal"]), "for another client (list)"),
        (good_claims(aud=[CLIENT_ID, "another-portal"]), "several audiences, no azp"),
        (good_claims(aud=[CLIENT_ID, "another-portal"], azp="another-portal"), "azp is another client"),
        (good_claims(iss="https://evil.example"), "another issuer"),
        (good_claims(nonce="replayed-nonce"), "another sign-in's nonce"),
        (good_claims(nonce=None), "no nonce"),
        (good_claims(sub=None), "no subject"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_tokens_that_do_not_belong_to_this_sign_in_are_refused(
    client: OidcClient, provider: FakeProvider, claims: dict[str, Any], why: str
) -> None:
    with pytest.raises(IdentityError):
        await verify(client, provider.sign(claims))


async def test_expiry_is_judged_by_the_injected_clock(client: OidcClient, provider: FakeProvider) -> None:
    token = provider.sign(good_claims())
    await verify(client, token, now=at(NOW + timedelta(seconds=300)))  # exp + 10 s: within the skew
    with pytest.raises(IdentityError, match="exp"):
        await verify(client, token, now=at(NOW + timedelta(seconds=400)))


async def test_at_hash_must_match_the_access_token(client: OidcClient, provider: FakeProvider) -> None:
    at_hash = create_half_hash("the-access-token", "RS256").decode()
    token = provider.sign(good_claims(at_hash=at_hash))
    assert await verify(client, token, access_token="the-access-token")
    with pytest.raises(IdentityError, match="at_hash"):
        await verify(client, token, access_token="another-access-token")
    with pytest.raises(IdentityError, match="at_hash"):
        await verify(client, token)


@pytest.mark.parametrize(
    "pid", ["07918501234", "0791850123456", "07918501234a", "０７９１８５０１２３４５", "099185012345", ""]
)
async def test_a_token_without_a_valid_personal_identification_number_gives_no_identity(
    client: OidcClient, provider: FakeProvider, pid: str
) -> None:
    claims = await verify(client, provider.sign(good_claims(pid=pid)))
    with pytest.raises(IdentityError) as refused:
        client.identity(claims)
    assert "12 chữ số" in refused.value.message


def test_pid_format() -> None:
    assert valid_pid("079185012345")
    assert valid_pid("001090004567")
    assert not valid_pid("000090004567")  # no province 000
    assert not valid_pid("7918501234")
