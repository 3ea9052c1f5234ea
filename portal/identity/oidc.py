"""OpenID Connect relying party: authorization code + PKCE (S256), state, nonce, and the ID token
checked against the provider's JWKS (iss, aud, azp, exp, iat, nonce, signature algorithm, at_hash).

Library work is done by Authlib (PKCE challenge, random tokens, the at_hash half-hash) and joserfc
(Authlib's JOSE implementation: JWS verification, JWK sets, claim checks). This module holds the
flow and the rules; the HTTP client is injected (tests route it to the app in-process), and "now"
is a function given by the caller (tests pass a fixed clock).

No method here touches the database: the callback awaits the provider over the network, then hands
the verified :class:`Identity` to a thread-pool function that does the database work.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from portal.applications.forms import parse_date

log = logging.getLogger("portal.identity")

# Asymmetric signatures only: "none" and the HMAC family (which a forger could "sign" with the
# provider's public key as the secret) are never accepted, whatever the token's header says.
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
DISCOVERY_TTL_SECONDS = 3600
JWKS_MIN_REFRESH_SECONDS = 60  # an unknown kid fetches the JWKS again, at most this often
PID_LENGTH = 12


class IdentityError(Exception):
    """The sign-in cannot be trusted or did not complete; ``message`` is for the citizen (Vietnamese)."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(reason)
        self.reason = reason  # for the log: which check failed
        self.message = message or "Không xác thực được danh tính điện tử; vui lòng đăng nhập lại."


@dataclass(frozen=True)
class ProviderConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str = "openid profile"
    claim_pid: str = "pid"
    claim_name: str = "name"
    claim_birthdate: str = "birthdate"
    clock_skew_seconds: int = 60
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Identity:
    """What the portal keeps from a verified ID token (docs/identity.md, "What is stored")."""

    issuer: str
    subject: str
    pid: str
    full_name: str
    birth_date: date | None


@dataclass(frozen=True)
class Pending:
    """What the browser's signed session holds between the redirect and the callback (single use)."""

    state: str
    nonce: str
    code_verifier: str

    def as_dict(self) -> dict[str, str]:
        return {"state": self.state, "nonce": self.nonce, "code_verifier": self.code_verifier}

    @classmethod
    def from_dict(cls, value: object) -> Pending | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(str(value["state"]), str(value["nonce"]), str(value["code_verifier"]))
        except KeyError:
            return None


def valid_pid(value: str) -> bool:
    """Số định danh cá nhân (Circular 59/2021/TT-BCA): 12 ASCII digits, the first three a province
    code (001-096)."""
    return len(value) == PID_LENGTH and value.isascii() and value.isdigit() and 1 <= int(value[:3]) <= 96


class OidcClient:
    def __init__(
        self,
        config: ProviderConfig,
        http: httpx.AsyncClient,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.http = http  # swapped by tests for one routed to the app in-process
        self._monotonic = monotonic
        self._discovery: dict[str, Any] | None = None
        self._discovered_at = 0.0
        self._jwks: KeySet | None = None
        self._jwks_fetched_at = 0.0

    # -- discovery and keys ------------------------------------------------------------------------

    async def _get_json(self, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self.http.get(url, timeout=self.config.timeout_seconds, **kwargs)
        except httpx.HTTPError as exc:
            raise IdentityError(f"provider unreachable: {type(exc).__name__}", _UNAVAILABLE) from exc
        if response.status_code != 200:
            raise IdentityError(f"{url} answered {response.status_code}", _UNAVAILABLE)
        try:
            body = response.json()
        except ValueError as exc:
            raise IdentityError(f"{url} did not answer JSON", _UNAVAILABLE) from exc
        if not isinstance(body, dict):
            raise IdentityError(f"{url} did not answer a JSON object", _UNAVAILABLE)
        return body

    async def discovery(self) -> dict[str, Any]:
        now = self._monotonic()
        if self._discovery is None or now - self._discovered_at > DISCOVERY_TTL_SECONDS:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            document = await self._get_json(url)
            # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer we asked
            if document.get("issuer") != self.config.issuer:
                raise IdentityError("discovery issuer mismatch", _UNAVAILABLE)
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(key), str):
                    raise IdentityError(f"discovery lacks {key}", _UNAVAILABLE)
            self._discovery, self._discovered_at = document, now
        return self._discovery

    async def _keys(self, *, refresh: bool = False) -> KeySet:
        now = self._monotonic()
        stale = now - self._jwks_fetched_at > DISCOVERY_TTL_SECONDS
        if (
            self._jwks is None
            or stale
            or (refresh and now - self._jwks_fetched_at >= JWKS_MIN_REFRESH_SECONDS)
        ):
            document = await self._get_json((await self.discovery())["jwks_uri"])
            try:
                self._jwks = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise IdentityError("JWKS unreadable", _UNAVAILABLE) from exc
            self._jwks_fetched_at = now
        return self._jwks

    # -- the flow ---------------------------------------------------------------------------------

    async def start(self) -> tuple[str, Pending]:
        """The provider's authorization URL and what to keep in the session until the callback."""
        document = await self.discovery()
        pending = Pending(
            state=generate_token(32), nonce=generate_token(32), code_verifier=generate_token(64)
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.client_id,
                "redirect_uri": self.config.redirect_uri,
                "scope": self.config.scopes,
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": create_s256_code_challenge(pending.code_verifier),
                "code_challenge_method": "S256",
            }
        )
        endpoint = str(document["authorization_endpoint"])
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", pending

    async def finish(
        self, pending: Pending | None, params: dict[str, str], *, now: Callable[[], datetime]
    ) -> Identity:
        """The callback: check state, trade the code (and PKCE verifier) for tokens, verify the ID token."""
        if pending is None:
            raise IdentityError("no sign-in in progress in this session", _EXPIRED)
        if not hmac.compare_digest(params.get("state", ""), pending.state):
            raise IdentityError("state mismatch", _EXPIRED)
        if params.get("error"):
            if params["error"] == "access_denied":
                raise IdentityError("the citizen cancelled", "Bạn đã huỷ đăng nhập bằng định danh điện tử.")
            raise IdentityError(f"provider error {params['error'][:50]}")
        code = params.get("code", "")
        if not code:
            raise IdentityError("no code")
        tokens = await self._exchange(code, pending.code_verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise IdentityError("token response without id_token")
        access_token = tokens.get("access_token")
        claims = await self.verify_id_token(
            id_token,
            nonce=pending.nonce,
            now=now,
            access_token=access_token if isinstance(access_token, str) else None,
        )
        return self.identity(claims)

    async def _exchange(self, code: str, code_verifier: str) -> dict[str, Any]:
        document = await self.discovery()
        try:
            response = await self.http.post(
                str(document["token_endpoint"]),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.config.redirect_uri,
                    "code_verifier": code_verifier,
                },
                auth=(self.config.client_id, self.config.client_secret),  # client_secret_basic
                headers={"Accept": "application/json"},
                timeout=self.config.timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise IdentityError(f"token endpoint unreachable: {type(exc).__name__}", _UNAVAILABLE) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise IdentityError(f"token endpoint refused: {response.status_code} {str(error)[:50]}")
        return body

    async def verify_id_token(
        self,
        id_token: str,
        *,
        nonce: str,
        now: Callable[[], datetime],
        access_token: str | None = None,
    ) -> dict[str, Any]:
        """The ID token's claims, or IdentityError. OpenID Connect Core 1.0 §3.1.3.7."""
        keys = await self._keys()
        try:
            token = self._decode(id_token, keys)
        except _UnknownKey:
            # the provider rotated its keys: fetch the JWKS again (rate-limited) and retry once
            token = self._decode(id_token, await self._keys(refresh=True), unknown_is_error=True)
        claims = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(now().timestamp()),
            leeway=self.config.clock_skew_seconds,
            iss={"essential": True, "value": self.config.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": self.config.client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise IdentityError(f"ID token refused: {exc.error}") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.config.client_id:
            raise IdentityError("ID token for several audiences without our azp")
        if not hmac.compare_digest(str(claims["nonce"]), nonce):  # belt and braces: constant time
            raise IdentityError("nonce mismatch")
        at_hash = claims.get("at_hash")
        if at_hash is not None:
            alg = str(token.header.get("alg"))
            if access_token is None or not hmac.compare_digest(
                str(at_hash), _to_str(create_half_hash(access_token, alg))
            ):
                raise IdentityError("at_hash does not match the access token")
        return claims

    def _decode(self, id_token: str, keys: KeySet, *, unknown_is_error: bool = False) -> jwt.Token:
        try:
            header = _header(id_token)
        except ValueError as exc:
            raise IdentityError("ID token is not a compact JWS") from exc
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise IdentityError(f"ID token algorithm {str(alg)[:20]!r} refused")
        kid = header.get("kid")
        if kid is not None and not any(k.kid == kid for k in keys.keys):
            if unknown_is_error:
                raise IdentityError("ID token signed with a key the provider does not publish")
            raise _UnknownKey()
        try:
            return jwt.decode(id_token, keys, algorithms=list(ALLOWED_ALGORITHMS))
        except JoseError as exc:
            raise IdentityError(f"ID token signature refused: {exc.error}") from exc
        except (ValueError, TypeError) as exc:
            raise IdentityError("ID token unreadable") from exc

    def identity(self, claims: dict[str, Any]) -> Identity:
        cfg = self.config
        pid = str(claims.get(cfg.claim_pid) or "").strip()
        if not valid_pid(pid):
            raise IdentityError(
                "no valid PID claim",
                "Tài khoản định danh điện tử không cung cấp số định danh cá nhân hợp lệ (12 chữ số).",
            )
        name = " ".join(str(claims.get(cfg.claim_name) or "").split())[:100]
        if not name:
            raise IdentityError("no name claim")
        return Identity(
            issuer=cfg.issuer,
            subject=str(claims["sub"])[:255],
            pid=pid,
            full_name=name,
            birth_date=_birth_date(claims.get(cfg.claim_birthdate)),
        )


class _UnknownKey(Exception):
    pass


_UNAVAILABLE = "Hệ thống định danh điện tử tạm thời không phản hồi; vui lòng thử lại sau ít phút."
_EXPIRED = "Phiên đăng nhập bằng định danh điện tử đã hết hạn hoặc không hợp lệ; vui lòng đăng nhập lại."


def _header(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    if token.count(".") != 2:
        raise ValueError("not a compact JWS")
    value = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    if not isinstance(value, dict):
        raise ValueError("header is not an object")
    return value


def _to_str(value: str | bytes) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else value


def _birth_date(value: object) -> date | None:
    """OpenID's ``birthdate`` is YYYY-MM-DD; some providers send dd/mm/yyyy."""
    if not isinstance(value, str) or not value.strip():
        return None
    return parse_date(value)
