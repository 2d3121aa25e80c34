"""OpenID Connect tokens for CDSE: password grant once, then refresh tokens.

:class:`TokenManager` logs in with the resource-owner password grant
(``client_id=cdse-public``) and afterwards renews the access token with the
refresh token for as long as that is valid: it never sends the password again
while a refresh token is usable. :class:`BearerAuth` plugs it into requests.
Neither ever shows the password or a token in a repr, log line or error.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests

from eokit.hub.exceptions import HubConnectionError, HubRateLimitError, ServerError, UnauthorizedError
from eokit.hub.http import redact_url

__all__ = ["BearerAuth", "TokenManager"]

log = logging.getLogger(__name__)

_MARGIN_S = 30.0


class TokenManager:
    """Access tokens from an OIDC token endpoint.

    Parameters
    ----------
    token_url : str
        The identity server's token endpoint.
    username, password : str
        Account credentials (used for the password grant only).
    client_id : str
        OIDC client (``cdse-public`` for CDSE).
    session : requests.Session, optional
    timeout : float
    """

    def __init__(
        self,
        token_url: str,
        username: str | None,
        password: str | None,
        *,
        client_id: str = "cdse-public",
        session: requests.Session | None = None,
        timeout: float = 60.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self.username = username
        self._password = password
        self.client_id = client_id
        if session is None:
            from eokit.hub.http import HubSession

            session = HubSession()
            session.mount_token_endpoint(token_url)
        self.session = session
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.RLock()
        self._access: str | None = None
        self._access_expiry = 0.0
        self._refresh: str | None = None
        self._refresh_expiry = 0.0
        self.password_grants = 0
        self.refresh_grants = 0

    @classmethod
    def from_openid_configuration(
        cls, config: dict[str, Any], username: str | None, password: str | None, **kwargs: Any
    ) -> TokenManager:
        """Build from an identity server's ``.well-known/openid-configuration`` document."""
        from eokit.hub.exceptions import HubInputError

        endpoint = config.get("token_endpoint") if isinstance(config, dict) else None
        if not endpoint:
            raise HubInputError("the openid-configuration has no token_endpoint")
        grants = config.get("grant_types_supported")
        if grants and "password" not in grants:
            raise HubInputError("the identity server does not support the password grant")
        return cls(endpoint, username, password, **kwargs)

    def __repr__(self) -> str:
        return f"TokenManager(token_url={self.token_url!r}, username={self.username!r}, client_id={self.client_id!r})"

    def token(self) -> str:
        """A valid access token (logging in or refreshing as needed)."""
        with self._lock:
            if self._access and self._clock() < self._access_expiry - _MARGIN_S:
                return self._access
            return self._renew()

    def invalidate(self) -> None:
        """Forget the access token (after a 401); the refresh token is kept."""
        with self._lock:
            self._access = None
            self._access_expiry = 0.0

    def refresh(self, *, unless_replaced: str | None = None) -> str:
        """Force a new access token (refresh grant if possible).

        ``unless_replaced``: the token a server refused; when another thread already
        replaced it, that newer token is returned instead of renewing again.
        """
        with self._lock:
            if unless_replaced is not None and self._access is not None and self._access != unless_replaced:
                return self._access
            self.invalidate()
            return self._renew()

    def _renew(self) -> str:
        if self._refresh and self._clock() < self._refresh_expiry - 1.0:
            try:
                return self._grant({"grant_type": "refresh_token", "refresh_token": self._refresh}, refresh=True)
            except UnauthorizedError:
                log.info("refresh token refused; logging in again")
                self._refresh = None
        if not self.username or not self._password:
            raise UnauthorizedError(
                "CDSE needs a user name and password: pass user= and password= (CLI: -u/-p, or "
                "EOKIT_HUB_USER/EOKIT_HUB_PASSWORD), or add the identity host to ~/.netrc",
                param="user",
            )
        return self._grant(
            {"grant_type": "password", "username": self.username, "password": self._password}, refresh=False
        )

    def _grant(self, form: dict[str, str], *, refresh: bool) -> str:
        form = {**form, "client_id": self.client_id}
        try:
            r = self.session.post(self.token_url, data=form, timeout=self.timeout)
        except HubConnectionError:
            raise
        except requests.RequestException as exc:
            raise HubConnectionError(
                f"cannot reach the identity server {redact_url(self.token_url)}: {type(exc).__name__}"
            ) from None
        if refresh:
            self.refresh_grants += 1
        else:
            self.password_grants += 1
        if r.status_code in (400, 401, 403):
            what = "refresh token was refused" if refresh else "Invalid user name or password"
            raise UnauthorizedError(f"{what} (identity server answered HTTP {r.status_code})", r)
        if r.status_code == 429:
            raise HubRateLimitError("the identity server kept answering 'too many requests'", r)
        if not r.ok:
            raise ServerError("the identity server failed to issue a token", r)
        try:
            data = r.json()
            access = data["access_token"]
        except (ValueError, KeyError):
            raise ServerError("the identity server answered without an access_token", r) from None
        now = self._clock()
        self._access = access
        self._access_expiry = now + float(data.get("expires_in", 600))
        if data.get("refresh_token"):
            self._refresh = data["refresh_token"]
            self._refresh_expiry = now + float(data.get("refresh_expires_in", 3600))
        log.debug("obtained an access token via %s grant", "refresh_token" if refresh else "password")
        return access


class BearerAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <token>`` from a :class:`TokenManager`; ``refresh()`` after a 401."""

    def __init__(self, manager: TokenManager) -> None:
        self.manager = manager
        self._used = threading.local()

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.manager.token()
        self._used.token = token
        r.headers["Authorization"] = f"Bearer {token}"
        return r

    def refresh(self) -> None:
        """Renew after a 401 — unless another thread already replaced the refused token."""
        self.manager.refresh(unless_replaced=getattr(self._used, "token", None))

    def __repr__(self) -> str:
        return f"BearerAuth({self.manager!r})"
