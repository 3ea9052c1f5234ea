"""The development identity provider, like the VNPay sandbox: real OpenID Connect endpoints at /dev/oidc
(discovery, authorize, token, JWKS, userinfo) with a page to pick a demo citizen. Only outside
production: the module does not include this router there, and Settings refuse
PORTAL_OIDC_DEV_PROVIDER=true in production.

It behaves as a strict provider would, so the portal's client is tested against the real protocol:
the one registered client (client_secret_basic), its exact redirect URI, PKCE S256 required, codes
valid 60 s and single-use (a replayed code is refused and the tokens issued for it are revoked),
ID tokens signed RS256 with a key generated into ``PORTAL_DEV_IDP_DIR`` (never a key in the code).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlencode

import yaml
from authlib.oidc.core.util import create_half_hash
from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from portal.config import DEV_OIDC_CLIENT_SECRET, Settings
from portal.deps import Form
from portal.identity.config import DEV_CLIENT_ID, DEV_PREFIX, dev_issuer, provider_config
from portal.routing import Router
from portal.web import security
from portal.web.render import external_redirect, render

DEMO_IDENTITIES = Path(__file__).with_name("demo_identities.yaml")
CODE_TTL_SECONDS = 60
ID_TOKEN_TTL_SECONDS = 300
ACCESS_TOKEN_TTL_SECONDS = 300


@dataclass(frozen=True)
class DemoCitizen:
    subject: str
    pid: str
    name: str
    birthdate: str

    def claims(self) -> dict[str, str]:
        return {"sub": self.subject, "pid": self.pid, "name": self.name, "birthdate": self.birthdate}


@dataclass
class _Grant:
    citizen: DemoCitizen
    redirect_uri: str
    nonce: str
    code_challenge: str
    expires_at: float
    access_tokens: list[str] = field(default_factory=list)


def load_demo_citizens(path: Path = DEMO_IDENTITIES) -> tuple[DemoCitizen, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(DemoCitizen(**{k: str(v) for k, v in item.items()}) for item in data["identities"])


def signing_key(directory: Path) -> RSAKey:
    """The provider's RSA key, generated on first use into ``directory`` (mode 0600) and kept there."""
    path = directory / "signing-key.pem"
    try:
        return RSAKey.import_key(path.read_bytes(), parameters={"use": "sig", "alg": "RS256"})
    except FileNotFoundError:
        pass
    directory.mkdir(parents=True, exist_ok=True)
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, private=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(key.as_pem(private=True))
    tmp.chmod(0o600)
    tmp.replace(path)
    return RSAKey.import_key(path.read_bytes(), parameters={"use": "sig", "alg": "RS256"})


class DevProvider:
    """State of the development provider: its key, codes and access tokens (in memory: one process)."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        config = provider_config(settings)
        self.issuer = dev_issuer(settings)
        self.redirect_uri = config.redirect_uri if config else ""
        self.clock = clock
        self.key = signing_key(settings.dev_idp_dir)
        self.key_id = self.key.thumbprint()
        self.citizens = {c.subject: c for c in load_demo_citizens()}
        self._grants: dict[str, _Grant] = {}
        self._used: dict[str, _Grant] = {}
        self._access: dict[str, tuple[DemoCitizen, float]] = {}
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.clock().timestamp()

    def discovery(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks",
            "userinfo_endpoint": f"{base}/userinfo",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "pid", "name", "birthdate"],
        }

    def jwks(self) -> dict[str, Any]:
        return KeySet([self.key]).as_dict(private=False, kid=self.key_id)  # type: ignore[return-value]

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "RS256", "kid": self.key_id}, claims, self.key, algorithms=["RS256"])

    # -- authorize ------------------------------------------------------------------------------

    def check_request(self, params: dict[str, str]) -> str | None:
        """Why an authorization request is refused (shown on the provider's page), or None."""
        if params.get("client_id") != DEV_CLIENT_ID:
            return "client_id không được đăng ký với nhà cung cấp định danh thử nghiệm."
        if params.get("redirect_uri") != self.redirect_uri:
            return "redirect_uri không khớp địa chỉ đã đăng ký."
        if params.get("response_type") != "code":
            return "Chỉ hỗ trợ response_type=code."
        if "openid" not in params.get("scope", "").split():
            return "Thiếu scope openid."
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "Cần PKCE với code_challenge_method=S256."
        if not params.get("state") or not params.get("nonce"):
            return "Cần state và nonce."
        return None

    def grant(self, subject: str, params: dict[str, str]) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_old()
            self._grants[code] = _Grant(
                citizen=self.citizens[subject],
                redirect_uri=params["redirect_uri"],
                nonce=params["nonce"],
                code_challenge=params["code_challenge"],
                expires_at=self.now() + CODE_TTL_SECONDS,
            )
        return code

    def _forget_old(self) -> None:
        """Codes and tokens an hour past their expiry are dropped (the provider runs for days in
        `make run`); a code used within the hour is still recognised as replayed."""
        horizon = self.now() - 3600
        for table in (self._grants, self._used):
            for code in [c for c, g in table.items() if g.expires_at < horizon]:
                del table[code]
        for token in [t for t, (_, exp) in self._access.items() if exp < horizon]:
            del self._access[token]

    # -- token ----------------------------------------------------------------------------------

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict[str, Any]]:
        if not _client_authenticated(authorization):
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        code = form.get("code", "")
        with self._lock:
            grant = self._grants.pop(code, None)
            if grant is None:
                replayed = self._used.get(code)
                if replayed is not None:
                    # RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for
                    for token in replayed.access_tokens:
                        self._access.pop(token, None)
                return 400, {"error": "invalid_grant", "error_description": "code unknown, expired or used"}
            self._used[code] = grant
        if grant.expires_at < self.now():
            return 400, {"error": "invalid_grant", "error_description": "code expired"}
        if form.get("redirect_uri") != grant.redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or not hmac.compare_digest(challenge, grant.code_challenge):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        now = int(self.now())
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._access[access_token] = (grant.citizen, now + ACCESS_TOKEN_TTL_SECONDS)
            grant.access_tokens.append(access_token)
        claims = {
            "iss": self.issuer,
            "aud": DEV_CLIENT_ID,
            "iat": now,
            "exp": now + ID_TOKEN_TTL_SECONDS,
            "auth_time": now,
            "nonce": grant.nonce,
            "acr": "vneid-level-2",  # what the development provider pretends to have checked
            "at_hash": create_half_hash(access_token, "RS256").decode("ascii"),
            **grant.citizen.claims(),
        }
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL_SECONDS,
            "id_token": self.sign(claims),
        }

    def userinfo(self, authorization: str) -> dict[str, str] | None:
        if not authorization.startswith("Bearer "):
            return None
        with self._lock:
            found = self._access.get(authorization[7:])
        if found is None or found[1] < self.now():
            return None
        return found[0].claims()


def _client_authenticated(authorization: str) -> bool:
    if not authorization.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
    except ValueError:
        return False
    return hmac.compare_digest(unquote_plus(user), DEV_CLIENT_ID) and hmac.compare_digest(
        unquote_plus(password), DEV_OIDC_CLIENT_SECRET
    )


def _provider(request: Request) -> DevProvider:
    return request.app.state.dev_identity_provider  # type: ignore[no-any-return]


# the pages a person sees (CSRF-protected like every portal form); the machine endpoints below are not
pages = Router(prefix=DEV_PREFIX, dependencies=[Depends(security.verify_csrf)], include_in_schema=False)
endpoints = Router(prefix=DEV_PREFIX, include_in_schema=False)

_AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


@pages.get("/authorize")
def authorize_page(request: Request) -> Response:
    provider = _provider(request)
    params = {k: request.query_params.get(k, "") for k in _AUTHORIZE_PARAMS}
    problem = provider.check_request(params)
    ctx = {"params": params, "problem": problem, "citizens": list(provider.citizens.values())}
    return render(request, "identity/dev_authorize.html", ctx, status=400 if problem else 200)


@pages.post("/authorize")
def authorize(request: Request, form: Form) -> Response:
    provider = _provider(request)
    params = {k: str(form.get(k) or "") for k in _AUTHORIZE_PARAMS}
    problem = provider.check_request(params)
    if problem:
        ctx = {"params": params, "problem": problem, "citizens": list(provider.citizens.values())}
        return render(request, "identity/dev_authorize.html", ctx, status=400)
    subject = str(form.get("subject") or "")
    if form.get("decision") == "deny" or subject not in provider.citizens:
        reply = {"error": "access_denied", "state": params["state"]}
    else:
        reply = {"code": provider.grant(subject, params), "state": params["state"]}
    return external_redirect(request, f"{params['redirect_uri']}?{urlencode(reply)}")


@endpoints.get("/.well-known/openid-configuration")
def discovery(request: Request) -> Response:
    return JSONResponse(_provider(request).discovery())


@endpoints.get("/jwks")
def jwks(request: Request) -> Response:
    return JSONResponse(_provider(request).jwks())


@endpoints.post("/token")
def token(request: Request, form: Form) -> Response:
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    status, body = _provider(request).token(values, request.headers.get("Authorization", ""))
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="dev-oidc"'
    return JSONResponse(body, status_code=status, headers=headers)


@endpoints.get("/userinfo")
def userinfo(request: Request) -> Response:
    claims = _provider(request).userinfo(request.headers.get("Authorization", ""))
    if claims is None:
        return JSONResponse(
            {"error": "invalid_token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return JSONResponse(claims)
