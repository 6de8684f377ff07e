"""A tiny OpenID Connect identity provider on 127.0.0.1, for the login test.

It does what a real provider does in the authorization-code flow, for one fixed user and no
password page: discovery (/.well-known/openid-configuration), /authorize (redirects straight
back with a code, keeping the nonce), /token (an RS256-signed id_token with iss, aud, exp and the
nonce), /jwks (the public key) and /userinfo. Authlib inside Streamlit checks the signature,
issuer, audience, expiry and nonce exactly as it would against Google or Keycloak.

    with IdentityProvider(user={"sub": "1", "email": "ana@example.com"}) as idp:
        idp.url    # http://127.0.0.1:PORT
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "workbench"
CLIENT_SECRET = "stub-secret"


class IdentityProvider:
    def __init__(self, user: dict, audience: str = CLIENT_ID):
        self.user, self.audience = user, audience  # another audience: a token meant for another app
        self.key = RSAKey.generate_key(2048, parameters={"kid": "stub"})
        self.codes: dict[str, str] = {}  # code -> nonce
        self.tokens_issued = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "IdentityProvider":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def metadata(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": self.audience, "iat": now, "exp": now + 600, "nonce": nonce, **self.user}
        return jwt.encode({"alg": "RS256", "kid": "stub"}, claims, self.key)

    def _handler(self):
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet: pytest shows failures, not every request
                pass

            def _json(self, value: dict, status: int = 200) -> None:
                body = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    return self._json(idp.metadata())
                if url.path == "/jwks":
                    return self._json({"keys": [idp.key.as_dict(private=False)]})
                if url.path == "/userinfo":
                    return self._json(idp.user)
                if url.path == "/authorize":  # no password page: the one user consents at once
                    code = secrets.token_urlsafe(16)
                    idp.codes[code] = query.get("nonce", "")
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}")
                    self.end_headers()
                    return None
                return self._json({"error": "not_found"}, 404)

            def do_POST(self):
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                if urlparse(self.path).path != "/token" or form.get("code") not in idp.codes:
                    return self._json({"error": "invalid_grant"}, 400)
                nonce = idp.codes.pop(form["code"])
                idp.tokens_issued += 1
                return self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 600,
                                   "id_token": idp.id_token(nonce), "scope": "openid email profile"})

        return Handler
