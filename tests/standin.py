"""The stand-in SSO service the tests talk to.

StandIn is a loopback server that speaks the SSO portal and OIDC wire
protocols as SPEC.md (../shared/SPEC.md from the checkout) describes:
``x-amzn-ErrorType`` headers, epoch-millisecond expirations, rotating refresh
tokens, device codes and PKCE sign-ins. It records every call and misbehaves
on request (StandIn.fail). With it: the account, role and start URL it
serves, and the test certificates for its TLS mode.
"""

import base64
import hashlib
import itertools
import json
import os
import random
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote

# What the stand-in serves (and the sandbox's config asks for).
START_URL = "https://d-abc123.awsapps.com/start"
ACCOUNT = "111122223333"
ROLE = "Admin"

# A test CA and a server certificate for 127.0.0.1 it signed (valid to 2126).
TEST_CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBoDCCAUagAwIBAgIUEfmwikv39UIUdFccx3IaNzSnIgUwCgYIKoZIzj0EAwIw
LTErMCkGA1UEAwwiYXdzLXNzby1jcmVkZW50aWFsLXByb2Nlc3MgdGVzdCBDQTAg
Fw0yNjExMjUxNzEwNTdaGA8yMTI2MTEwMTE3MTA1N1owLTErMCkGA1UEAwwiYXdz
LXNzby1jcmVkZW50aWFsLXByb2Nlc3MgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABOHqyNtNfJKZ5MMhY5aea0JBejletamfk3973o+NPkhF2HIPrhqJ
nJaMR6TNGpM3k0etlqo7ACZAGkLV/KkmQ0qjQjBAMA8GA1UdEwEB/wQFMAMBAf8w
DgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBT6KZgQh2ebJKrQcP2eFUu5NyBItTAK
BggqhkjOPQQDAgNIADBFAiAje66iAc6NjAeNyueOKQ9k1TTexgf+s2EKJmtMbQs4
NAIhAISnpkSiXp9F7IGkB3tUV7cOL2JDCfR9JTokAm0SNL5Z
-----END CERTIFICATE-----
"""
TEST_SERVER_PEM = """-----BEGIN CERTIFICATE-----
MIIB1zCCAX6gAwIBAgIUZK5uXhned8ngi7ZP+wcEj7qso/EwCgYIKoZIzj0EAwIw
LTErMCkGA1UEAwwiYXdzLXNzby1jcmVkZW50aWFsLXByb2Nlc3MgdGVzdCBDQTAg
Fw0yNjExMjUxNzEwNTdaGA8yMTI2MTEwMTE3MTA1N1owFDESMBAGA1UEAwwJMTI3
LjAuMC4xMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEq6xyqvLNvuy/quQvcHS2
EG/z3USBwpTwXCXCOfpMto3P+0yf9v8AuZdhNxgpJhLRpjAz4cQPmXywvRjIrIMc
VaOBkjCBjzAMBgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIFoDATBgNVHSUEDDAK
BggrBgEFBQcDATAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwHQYDVR0OBBYE
FE73vXUZh/3u0+kg3gilzaZ8mbkjMB8GA1UdIwQYMBaAFPopmBCHZ5skqtBw/Z4V
S7k3IEi1MAoGCCqGSM49BAMCA0cAMEQCIHGaZ5iajg76T/oM107JtlCI7SYRNXzv
p5DJlwxvzfydAiA+bpskieH61k5qglJX7AkIxTbCakMUDlcVN7Q3im4okA==
-----END CERTIFICATE-----
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMrLJ9OelPUBWigP6
8F7KStp1FPWX6BMMssTvpxpUzAahRANCAASrrHKq8s2+7L+q5C9wdLYQb/PdRIHC
lPBcJcI5+ky2jc/7TJ/2/wC5l2E3GCkmEtGmMDPhxA+ZfLC9GMisgxxV
-----END PRIVATE KEY-----
"""

# A CA that vouches for nothing the tests serve.
UNRELATED_CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBxTCCAWugAwIBAgIUYQvyw11JsheAooLS7YTmFiKb/BAwCgYIKoZIzj0EAwIw
NzE1MDMGA1UEAwwsYXdzLXNzby1jcmVkZW50aWFsLXByb2Nlc3MgdW5yZWxhdGVk
IHRlc3QgQ0EwIBcNMjYxMTI2MDIwMDMwWhgPMjEyNjExMDIwMjAwMzBaMDcxNTAz
BgNVBAMMLGF3cy1zc28tY3JlZGVudGlhbC1wcm9jZXNzIHVucmVsYXRlZCB0ZXN0
IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEofElRNYaRoFCDtXjZxhvLpMM
hUqILvHyM4QZcQYfiOw45oexeJeE5yEHdfdD6Us8ihIH4+IfPxmFw+7RZxGJjKNT
MFEwHQYDVR0OBBYEFEtbjvZKEpUriiQzHtLNJZ9I85pRMB8GA1UdIwQYMBaAFEtb
jvZKEpUriiQzHtLNJZ9I85pRMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SAAwRQIhAPAdQXuciUmwrWAvs1RtCbmyLmyPXubo6/E5AIL/curvAiB2WDF9BCAL
ON7rFCRwGsY7BfJTOeNvE46H0G0bDM12Vw==
-----END CERTIFICATE-----
"""


class Call:
    """One request the stand-in received."""

    def __init__(self, method, path, query, headers, body, proxied):
        self.method, self.path, self.query = method, path, query
        self.headers, self.body, self.proxied = headers, body, proxied

    def __repr__(self):
        return "<%s %s%s>" % (self.method, self.path, " via proxy" if self.proxied else "")


class StandIn:
    """A loopback SSO portal + OIDC service that counts and records calls.

    Errors carry ``x-amzn-ErrorType`` headers in the service's own
    ``Name:http://internal.amazon.com/coral/...`` form, expirations are epoch
    milliseconds, and tokens are checked the way the real service checks them.
    """

    PORTAL_NS = ":http://internal.amazon.com/coral/com.amazonaws.switchboard.portal/"
    OIDC_NS = ":http://internal.amazon.com/coral/com.amazonaws.sso.oidc/"

    def __init__(self, tls=False, host="127.0.0.1"):
        self.lock = threading.Lock()
        self.calls = []
        self.faults = []
        self.tokens = {}          # access token -> expiry (epoch seconds)
        self.refresh_tokens = {}  # refresh token -> (client id, session end or None)
        self.clients = {}         # client id -> client secret
        self.registrations = {}   # client id -> the RegisterClient request
        self.devices = {}         # device code -> {"client", "user_code", "status", "expires", "polls"}
        self.auth_codes = {}      # authorization code -> {"client", "redirect_uri", "challenge"}
        self.auto_approve = None  # approve a device code at this many polls (None: wait for a visit)
        self.device_ttl = 600
        self.device_interval = 1
        self.session_end = None   # refresh tokens stop working at this time (epoch)
        self.roles = {(ACCOUNT, ROLE), (ACCOUNT, "ReadOnly"), ("444455556666", ROLE),
                      ("444455556666", "ReadOnly")}
        self.account_names = {ACCOUNT: "Production", "444455556666": "Sandbox"}
        self.page_size = 1        # ListAccounts and ListAccountRoles pages: small, so that every list pages
        self.endless_pages = False  # a portal going round: an empty page with a new nextToken, every time
        self.role_ttl = 3600
        self.token_ttl = 8 * 3600
        self.revoke_on_refresh = True
        self.clock = time.time    # Sandbox shares its Clock, so that sleeping ages tokens here too
        self.issued = []          # every role credential handed out
        self._serial = itertools.count(1)
        self.server = (_QuietServer6 if ":" in host else _QuietServer)((host, 0), _StandInHandler)
        self.host = "[%s]" % host if ":" in host else host
        self.server.standin = self
        self.scheme = "http"
        if tls:
            self.scheme = "https"
            self._tls_dir = tempfile.mkdtemp()
            pem = os.path.join(self._tls_dir, "server.pem")
            with open(pem, "w") as f:
                f.write(TEST_SERVER_PEM)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(pem)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "%s://%s:%d" % (self.scheme, self.host, self.server.server_address[1])

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        if self.scheme == "https":
            shutil.rmtree(self._tls_dir, ignore_errors=True)

    def serial(self):
        return next(self._serial)

    def add_token(self, token=None, ttl=None):
        """Make the service accept an access token (as after a login)."""
        token = token or "access-%d-%s" % (self.serial(), random.getrandbits(64))
        with self.lock:
            self.tokens[token] = self.clock() + (self.token_ttl if ttl is None else ttl)
        return token

    def add_client(self, client_id="cid", secret="csecret"):
        with self.lock:
            self.clients[client_id] = secret
        return client_id, secret

    def add_refresh_token(self, refresh_token, client_id="cid"):
        with self.lock:
            self.refresh_tokens[refresh_token] = client_id

    def grants(self):
        """The grantType of every CreateToken call, in order."""
        return [json.loads(c.body).get("grantType") for c in self.calls_to("/token")]

    def fail(self, path, times=1, **fault):
        """Make the next `times` calls to path misbehave (see _StandInHandler._fault)."""
        with self.lock:
            self.faults.extend([(path, fault)] * times)

    def count(self, path=None):
        with self.lock:
            return sum(1 for c in self.calls if path is None or c.path == path)

    def calls_to(self, path):
        with self.lock:
            return [c for c in self.calls if c.path == path]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that timed out and hung up is part of the tests, not a failure.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _QuietServer6(_QuietServer):
    address_family = socket.AF_INET6


class _StandInHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "StandIn/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_CONNECT(self):
        """Be an HTTPS proxy: record the CONNECT, then relay bytes both ways."""
        s = self.server.standin
        with s.lock:
            s.calls.append(Call("CONNECT", self.path, {}, self.headers, b"", True))
        upstream = socket.create_connection(tuple(self.path.rsplit(":", 1)), timeout=10)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        sockets = [self.connection, upstream]

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for sock in sockets:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass

        relay = threading.Thread(target=pump, args=(upstream, self.connection), daemon=True)
        relay.start()
        pump(self.connection, upstream)
        relay.join(10)
        upstream.close()

    def _dispatch(self, method):
        s = self.server.standin
        target = self.path
        proxied = target.startswith("http://")
        if proxied:  # an absolute URI: we are being used as an HTTP proxy
            target = "/" + target.split("/", 3)[3]
        path, _, qs = target.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        call = Call(method, path, {k: v[0] for k, v in parse_qs(qs).items()},
                    self.headers, body, proxied)
        with s.lock:
            s.calls.append(call)
            fault = None
            for i, (fault_path, f) in enumerate(s.faults):
                if fault_path == path:
                    fault = s.faults.pop(i)[1]
                    break
        if fault is not None and self._fault(fault):
            return
        route = {("GET", "/federation/credentials"): self._role_credentials,
                 ("POST", "/token"): self._token,
                 ("POST", "/client/register"): self._register,
                 ("POST", "/device_authorization"): self._device_authorization,
                 ("GET", "/device"): self._device_page,
                 ("GET", "/authorize"): self._authorize,
                 ("POST", "/logout"): self._logout,
                 ("GET", "/assignment/accounts"): self._accounts,
                 ("GET", "/assignment/roles"): self._account_roles}.get((method, path))
        if route is None:
            return self._send(404, {"message": "no route %s %s" % (method, path)}, "NotFound")
        route(call)

    def _fault(self, fault):
        """Misbehave; return True if the request has been answered."""
        if "then" in fault:  # something else happens first (another program writes a file, say)
            fault["then"]()
        if "delay" in fault:
            time.sleep(fault["delay"])
            return False
        if "drip" in fault:  # a byte at a time, each within any read timeout
            self.close_connection = True
            try:
                for byte in fault["drip"]:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(fault.get("every", 0.2))
            except OSError:
                pass
            return True
        if "stream" in fault:  # an endless (or huge) body, in chunks
            self.close_connection = True
            self.send_response(fault.get("status", 200))
            self.send_header("Content-Type", "application/json")
            if fault.get("length"):
                self.send_header("Content-Length", str(fault["length"]))
            self.end_headers()
            chunk = b"[" * 65536
            try:
                for _ in range(fault["stream"]):
                    self.wfile.write(chunk)
            except OSError:
                pass
            return True
        if "headers" in fault:  # a raw answer with these extra headers
            self.send_response(fault.get("status", 200))
            for name, value in fault["headers"]:
                self.send_header(name, value)
            body = fault.get("raw", b"")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True
        if fault.get("drop"):
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        if "redirect" in fault:
            self.send_response(fault.get("status", 302))
            self.send_header("Location", fault["redirect"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        if "raw" in fault:
            self._send(fault.get("status", 200), raw=fault["raw"])
            return True
        self._send(fault["status"], {"message": fault.get("message", "injected")}, fault.get("error"))
        return True

    def _send(self, status, obj=None, error_type=None, raw=None):
        data = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "req-%d" % self.server.standin.serial())
        if error_type:
            ns = StandIn.OIDC_NS if self.path.startswith(("/token", "/client", "/device")) \
                else StandIn.PORTAL_NS
            self.send_header("x-amzn-ErrorType", error_type + ns)
        self.end_headers()
        self.wfile.write(data)

    def _oidc_error(self, status, error_type, error, description):
        self._send(status, {"error": error, "error_description": description}, error_type)

    def _authorized(self, call):
        """Whether the call's bearer token is live; if not, answers 401."""
        s = self.server.standin
        with s.lock:
            expiry = s.tokens.get(call.headers.get("x-amz-sso_bearer_token"))
        if expiry is None or expiry <= s.clock():
            self._send(401, {"message": "Session token not found or invalid"}, "UnauthorizedException")
            return False
        return True

    def _page(self, call, items, key):
        """One page of items: at most max_result, and at most the stand-in's page size."""
        s = self.server.standin
        if s.endless_pages:
            return self._send(200, {key: [], "nextToken": "page-x-%x" % random.getrandbits(64)})
        start = int(call.query.get("next_token", "page-0").split("-")[1])
        size = min(int(call.query.get("max_result", 100)), s.page_size)
        body = {key: items[start:start + size]}
        if start + size < len(items):
            body["nextToken"] = "page-%d" % (start + size)
        self._send(200, body)

    def _accounts(self, call):
        if self._authorized(call):
            s = self.server.standin
            accounts = sorted({a for a, _ in s.roles})
            self._page(call, [{"accountId": a, "accountName": s.account_names.get(a, "Account " + a[-4:]),
                               "emailAddress": "aws+%s@example.com" % a} for a in accounts], "accountList")

    def _account_roles(self, call):
        if self._authorized(call):
            account = call.query.get("account_id")
            self._page(call, [{"roleName": r, "accountId": a} for a, r in sorted(self.server.standin.roles)
                              if a == account], "roleList")

    def _role_credentials(self, call):
        s = self.server.standin
        if not self._authorized(call):
            return
        account, role = call.query.get("account_id"), call.query.get("role_name")
        if not account or not role:
            return self._send(400, {"message": "role_name and account_id are required"},
                              "InvalidRequestException")
        if (account, role) not in s.roles:
            return self._send(403, {"message": "No access"}, "ForbiddenException")
        n = s.serial()
        creds = {"accessKeyId": "ASIA%016d" % n,
                 "secretAccessKey": "secret-%d-%016x" % (n, random.getrandbits(64)),
                 "sessionToken": "session-%d-%032x" % (n, random.getrandbits(128)),
                 "expiration": int((s.clock() + s.role_ttl) * 1000) + 123}
        with s.lock:
            s.issued.append(creds)
        self._send(200, {"roleCredentials": creds})

    def _json_body(self, call):
        try:
            return json.loads(call.body)
        except ValueError:
            self._oidc_error(400, "InvalidRequestException", "invalid_request", "bad JSON")
            return None

    def _client(self, req):
        """The request's client if its id and secret check out; else answers 401."""
        s = self.server.standin
        with s.lock:
            secret = s.clients.get(req.get("clientId"))
        if secret is None or secret != req.get("clientSecret"):
            self._oidc_error(401, "InvalidClientException", "invalid_client", "unknown client")
            return None
        return req["clientId"]

    def _register(self, call):
        s = self.server.standin
        req = self._json_body(call)
        if req is None:
            return
        if req.get("clientType") != "public" or not req.get("clientName"):
            return self._oidc_error(400, "InvalidClientMetadataException", "invalid_client_metadata",
                                    "clientName and clientType=public are required")
        if "authorization_code" in req.get("grantTypes", []) and not req.get("redirectUris"):
            return self._oidc_error(400, "InvalidRedirectUriException", "invalid_redirect_uri", "no redirect")
        client_id, secret = "client-%d" % s.serial(), "client-secret-%x" % random.getrandbits(64)
        s.add_client(client_id, secret)
        with s.lock:
            s.registrations[client_id] = req
        now = int(s.clock())
        self._send(200, {"clientId": client_id, "clientSecret": secret, "clientIdIssuedAt": now,
                         "clientSecretExpiresAt": now + 90 * 86400})

    def _device_authorization(self, call):
        s = self.server.standin
        req = self._json_body(call)
        if req is None or self._client(req) is None:
            return
        code, user = "device-%x" % random.getrandbits(64), "%04X-%04X" % (s.serial(), random.getrandbits(16))
        with s.lock:
            s.devices[code] = {"client": req["clientId"], "user_code": user, "status": "pending",
                               "expires": s.clock() + s.device_ttl, "polls": 0}
        self._send(200, {"deviceCode": code, "userCode": user, "verificationUri": s.url + "/device",
                         "verificationUriComplete": s.url + "/device?user_code=" + user,
                         "expiresIn": s.device_ttl, "interval": s.device_interval})

    def _device_page(self, call):
        """What the user does in the browser: approve (or deny) the code."""
        s = self.server.standin
        with s.lock:
            for device in s.devices.values():
                if device["user_code"] == call.query.get("user_code"):
                    device["status"] = "denied" if call.query.get("deny") else "approved"
                    break
            else:
                return self._send(404, raw=b"unknown code")
        self._send(200, raw=b"<p>Request approved</p>")

    def _authorize(self, call):
        """The sign-in page: checks the request, then redirects to the callback."""
        s = self.server.standin
        q = call.query
        with s.lock:
            registration = s.registrations.get(q.get("client_id"))
        redirect = q.get("redirect_uri", "")
        if registration is None or "authorization_code" not in registration.get("grantTypes", []) \
                or not redirect.startswith("http://127.0.0.1:") or not redirect.endswith("/oauth/callback") \
                or q.get("response_type") != "code" or q.get("code_challenge_method") != "S256" \
                or len(q.get("code_challenge", "")) != 43 or not q.get("state"):
            return self._send(400, raw=b"bad authorize request")
        if q.get("deny") == "nasty":  # an identity provider that sends terminal escapes and markup
            target = "%s?error=access_denied&error_description=%s&state=%s" % (
                redirect, quote("\x1b[2JUser\rcancelled<script>alert(1)</script>"), q["state"])
        elif q.get("deny"):
            target = "%s?error=access_denied&error_description=User+cancelled&state=%s" % (redirect, q["state"])
        else:
            code = "authcode-%x" % random.getrandbits(64)
            with s.lock:
                s.auth_codes[code] = {"client": q["client_id"], "redirect_uri": redirect,
                                      "challenge": q["code_challenge"]}
            target = "%s?code=%s&state=%s" % (redirect, code, q["state"])
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _token(self, call):
        s = self.server.standin
        req = self._json_body(call)
        if req is None:
            return
        client = self._client(req)
        if client is None:
            return
        grant = req.get("grantType")
        if grant == "refresh_token":
            with s.lock:
                owner = s.refresh_tokens.pop(req.get("refreshToken"), None)
            if owner != client:
                return self._oidc_error(400, "InvalidGrantException", "invalid_grant",
                                        "refresh token is invalid or expired")
            if s.session_end is not None and s.clock() >= s.session_end:
                return self._oidc_error(400, "InvalidGrantException", "invalid_grant", "Session expired")
            if s.revoke_on_refresh:
                with s.lock:
                    s.tokens.clear()
            return self._issue(client)
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            with s.lock:
                device = s.devices.get(req.get("deviceCode"))
                if device is not None:
                    device["polls"] += 1
                    if s.auto_approve is not None and device["polls"] >= s.auto_approve \
                            and device["status"] == "pending":
                        device["status"] = "approved"
            if device is None or device["client"] != client:
                return self._oidc_error(400, "InvalidGrantException", "invalid_grant", "unknown device code")
            if s.clock() >= device["expires"]:
                return self._oidc_error(400, "ExpiredTokenException", "expired_token", "Device code expired")
            if device["status"] == "denied":
                return self._oidc_error(400, "AccessDeniedException", "access_denied", "User denied")
            if device["status"] != "approved":
                return self._oidc_error(400, "AuthorizationPendingException", "authorization_pending",
                                        "Authorization is still pending")
            with s.lock:
                s.devices.pop(req["deviceCode"])
            return self._issue(client)
        if grant == "authorization_code":
            with s.lock:
                issued = s.auth_codes.pop(req.get("code"), None)
            verifier = req.get("codeVerifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if issued is None or issued["client"] != client or issued["redirect_uri"] != req.get("redirectUri") \
                    or issued["challenge"] != challenge:
                return self._oidc_error(400, "InvalidGrantException", "invalid_grant", "bad code or verifier")
            return self._issue(client)
        return self._oidc_error(400, "UnsupportedGrantTypeException", "unsupported_grant_type",
                                "grant %r" % grant)

    def _issue(self, client):
        """A new access token; a refresh token only for clients registered with
        sso:account:access (as the service does)."""
        s = self.server.standin
        answer = {"accessToken": s.add_token(), "tokenType": "Bearer", "expiresIn": s.token_ttl}
        with s.lock:
            registration = s.registrations.get(client, {"scopes": ["sso:account:access"]})
        if "sso:account:access" in (registration.get("scopes") or []):
            answer["refreshToken"] = "refresh-%d-%x" % (s.serial(), random.getrandbits(64))
            s.add_refresh_token(answer["refreshToken"], client)
        self._send(200, answer)

    def _logout(self, call):
        s = self.server.standin
        if self._authorized(call):
            with s.lock:
                s.tokens.pop(call.headers.get("x-amz-sso_bearer_token"), None)
            self._send(200, raw=b"")
