"""Token checks and GetStream-shaped errors for the local server.

GetStream authenticates REST calls with ``?api_key=`` plus an
``Authorization: <JWT>`` header (no ``Bearer``) and ``stream-auth-type: jwt``.
Tokens are HS256 JWTs signed with the API secret: a server-side token carries
no ``user_id``; a user token carries ``user_id`` (and ``exp`` when asked).
The SFU token returned by the join call is also an HS256 JWT minted here.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

# GetStream API error codes used by this server (a subset of the cloud's table).
CODE_INTERNAL = -1
CODE_API_KEY_INVALID = 2
CODE_INPUT = 4
CODE_AUTH_FAILED = 5
CODE_DOES_NOT_EXIST = 16
CODE_NOT_ALLOWED = 17
CODE_TOKEN_EXPIRED = 40
CODE_TOKEN_NOT_VALID_YET = 41
CODE_TOKEN_SIGNATURE = 43

SFU_TOKEN_TTL_S = 6 * 3600


class ApiError(Exception):
    """An error that the coordinator answers with GetStream's error JSON.

    Args:
        status: HTTP status code.
        code: GetStream API error code (e.g. 16 "does not exist", 43 bad signature).
        message: Human-readable message.

    """

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, Any]:
        """Return the error body in GetStream's ``APIError`` shape."""
        return {
            "code": self.code,
            "message": self.message,
            "StatusCode": self.status,
            "duration": "0.00ms",
            "more_info": "https://getstream.io/chat/docs/api_errors_response",
            "details": [],
            "unrecoverable": self.status < 500,
        }

    def response(self) -> web.Response:
        """Return an aiohttp response carrying this error."""
        return web.json_response(self.to_json(), status=self.status)


@dataclass
class TokenInfo:
    """The verified claims of a coordinator token.

    Attributes:
        user_id: The token's user, or ``None`` for a server-side token.
        claims: All decoded claims.

    """

    user_id: str | None
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def is_server(self) -> bool:
        """Whether this is a server-side token (no ``user_id``)."""
        return self.user_id is None


class Authenticator:
    """Checks tokens against one API key and secret, and mints SFU tokens.

    Args:
        api_key: The API key requests must carry in ``?api_key=``.
        api_secret: The HS256 secret tokens must be signed with.

    """

    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self.api_secret = api_secret

    def verify(self, token: str) -> TokenInfo:
        """Verify a JWT signed with the API secret.

        Args:
            token: The raw JWT.

        Returns:
            The token's claims.

        Raises:
            ApiError: 401 on a bad signature, an expired or malformed token.

        """
        if token.lower().startswith("bearer "):
            token = token[7:]
        try:
            claims = jwt.decode(
                token,
                self.api_secret,
                algorithms=["HS256"],
                options={"verify_aud": False},
                leeway=5,
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(401, CODE_TOKEN_EXPIRED, "JWTAuth error: token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise ApiError(
                401, CODE_TOKEN_NOT_VALID_YET, "JWTAuth error: token used before issue at (iat)"
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise ApiError(
                401,
                CODE_TOKEN_SIGNATURE,
                "JWTAuth error: signature is not valid. Make sure the token is created "
                f'using the secret for API key "{self.api_key}"',
            ) from exc
        except jwt.PyJWTError as exc:
            raise ApiError(401, CODE_AUTH_FAILED, f"JWTAuth error: {exc}") from exc
        user_id = claims.get("user_id")
        if user_id is not None and not isinstance(user_id, str):
            raise ApiError(401, CODE_AUTH_FAILED, "JWTAuth error: user_id claim is not a string")
        return TokenInfo(user_id=user_id, claims=claims)

    def check_api_key(self, api_key: str | None) -> None:
        """Refuse a missing or foreign API key with 401 (code 2)."""
        if not api_key:
            raise ApiError(401, CODE_API_KEY_INVALID, "api_key is missing in the query string")
        if api_key != self.api_key:
            raise ApiError(401, CODE_API_KEY_INVALID, f"api_key not valid: {api_key}")

    def check_rest(self, request: web.Request) -> TokenInfo:
        """Authenticate a coordinator REST request the way the cloud does.

        Args:
            request: The incoming request.

        Returns:
            The verified token.

        Raises:
            ApiError: 401 when the key, the auth type or the token is wrong.

        """
        self.check_api_key(request.query.get("api_key"))
        auth_type = request.headers.get("stream-auth-type", "jwt")
        if auth_type != "jwt":
            raise ApiError(401, CODE_AUTH_FAILED, f"unsupported stream-auth-type: {auth_type}")
        token = request.headers.get("Authorization", "")
        if not token:
            raise ApiError(401, CODE_AUTH_FAILED, "Authorization header is missing")
        return self.verify(token)

    @staticmethod
    def acting_user(token: TokenInfo, body_user_id: str | None) -> str | None:
        """Return the user a request acts for, refusing impersonation.

        Args:
            token: The verified token.
            body_user_id: The ``user_id`` named in the request body, if any.

        Returns:
            The acting user id (``None`` for a server token naming nobody).

        Raises:
            ApiError: 403 when a user token acts for another user.

        """
        if token.user_id is None:
            return body_user_id
        if body_user_id and body_user_id != token.user_id:
            raise ApiError(
                403,
                CODE_NOT_ALLOWED,
                f'user "{token.user_id}" is not allowed to act as user "{body_user_id}"',
            )
        return token.user_id

    def mint_sfu_token(self, user_id: str, call_cid: str) -> str:
        """Mint the SFU token handed out by the join call."""
        now = int(time.time())
        claims = {
            "user_id": user_id,
            "call_cid": call_cid,
            "iat": now - 5,
            "exp": now + SFU_TOKEN_TTL_S,
            "sfu": True,
        }
        return jwt.encode(claims, self.api_secret, algorithm="HS256")

    def verify_sfu(self, token: str) -> TokenInfo:
        """Verify an SFU token minted by :meth:`mint_sfu_token`.

        Raises:
            ApiError: 401 when the token is invalid or is not an SFU token.

        """
        info = self.verify(token)
        if not info.claims.get("sfu") or not info.user_id or not info.claims.get("call_cid"):
            raise ApiError(401, CODE_AUTH_FAILED, "not an SFU token")
        return info


def twirp_error(status: int, code: str, msg: str) -> web.Response:
    """Return a Twirp JSON error (``{"code", "msg"}``) with an HTTP status."""
    return web.Response(
        status=status,
        body=json.dumps({"code": code, "msg": msg}),
        content_type="application/json",
    )
