"""A small Docker-style bearer token service for the token-auth registry (test-environment.md §2).

It issues RS256 JWTs carrying the signing certificate in `x5c`, which the registry checks against
its `rootcertbundle`. It records every request so tests can see which credentials arrived.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ISSUER = "kdoctor-test-issuer"
SERVICE = "kdoctor-registry"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenServer:
    users: dict[str, str]
    workdir: Path
    requests: list[dict[str, str]] = field(default_factory=list)
    anonymous: bool = False
    identity_tokens: dict[str, str] = field(default_factory=dict)  # token -> subject
    scope_lists: list[list[str]] = field(default_factory=list)  # the `scope` parameters of each GET
    issued: list[str] = field(default_factory=list)
    multi_scope: bool = True  # honour several `scope` parameters (Docker's token spec); False: only the first

    def start(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kdoctor-token-issuer")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        self.cert_path = self.workdir / "token.crt"
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self._der = self.cert.public_bytes(serialization.Encoding.DER)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                multi = parse_qs(urlparse(self.path).query)
                q = {k: v[0] for k, v in multi.items()}
                scopes = multi.get("scope", [])
                auth = self.headers.get("Authorization", "")
                server.requests.append({"path": urlparse(self.path).path, "authorization": auth, **q})
                server.scope_lists.append(scopes)
                user = None
                if auth.startswith("Basic "):
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    if server.users.get(u) != p:
                        return self._send(401, {"details": "invalid username/password"})
                    user = u
                elif not server.anonymous:
                    return self._send(401, {"details": "authentication required"})
                self._send(
                    200,
                    {
                        "token": server.issue(user or "", " ".join(scopes if server.multi_scope else scopes[:1])),
                        "expires_in": 300,
                        "issued_at": dt.datetime.now(dt.UTC).isoformat(),
                    },
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                server.requests.append({"path": urlparse(self.path).path, "method": "POST", **form})
                if form.get("grant_type") != "refresh_token" or form.get("refresh_token") not in server.identity_tokens:
                    return self._send(401, {"details": "invalid refresh token"})
                subject = server.identity_tokens[form["refresh_token"]]
                self._send(200, {"access_token": server.issue(subject, form.get("scope", "")), "expires_in": 300})

            def _send(self, code: int, doc: dict) -> None:
                body = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def issue(self, subject: str, scope: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        access = []
        for s in scope.split():
            typ, _, rest = s.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": typ, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self._der).decode()]}
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        sig = self.key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
        token = f"{signing}.{_b64(sig)}"
        self.issued.append(token)
        return token

    def registry_auth_yaml(self) -> str:
        return (
            f"auth:\n  token:\n    realm: {self.realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
            f"    rootcertbundle: {self.cert_path}\n"
        )

    def stop(self) -> None:
        self.httpd.shutdown()
