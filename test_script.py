"""Tests for aws_sso_credential_process.py.

Run with ``make test`` (or ``python -m unittest -v test_script``). Every test
runs the script in a temporary HOME with all AWS_* variables scrubbed,
against StandIn: a loopback server that speaks the SSO portal and OIDC wire
protocols as ../shared/SPEC.md describes. Nothing touches the real AWS or the
real ~/.aws. The SDK on the other side is the real botocore/boto3.

Also ``python test_script.py demo`` (make demo) and ``python test_script.py
bench`` (make bench), which reuse the stand-in and the sandbox.
"""

import base64
import hashlib
import io
import itertools
import json
import os
import random
import shlex
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import aws_sso_credential_process as acp

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "aws_sso_credential_process.py")
TESTS = os.path.abspath(__file__)

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

BASE_CONFIG = """
[profile sess]
sso_session = dev
sso_account_id = 111122223333
sso_role_name = Admin

[sso-session dev]
sso_start_url = https://d-abc123.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = https://d-abc123.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = Admin
"""


def utc(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# --------------------------------------------------------------------------
# The stand-in SSO service
# --------------------------------------------------------------------------


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

    def __init__(self, tls=False):
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
        self.role_ttl = 3600
        self.token_ttl = 8 * 3600
        self.revoke_on_refresh = True
        self.issued = []          # every role credential handed out
        self._serial = itertools.count(1)
        self.server = _QuietServer(("127.0.0.1", 0), _StandInHandler)
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
        return "%s://127.0.0.1:%d" % (self.scheme, self.server.server_address[1])

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
            self.tokens[token] = time.time() + (self.token_ttl if ttl is None else ttl)
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
                 ("POST", "/logout"): self._logout}.get((method, path))
        if route is None:
            return self._send(404, {"message": "no route %s %s" % (method, path)}, "NotFound")
        route(call)

    def _fault(self, fault):
        """Misbehave; return True if the request has been answered."""
        if "delay" in fault:
            time.sleep(fault["delay"])
            return False
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

    def _role_credentials(self, call):
        s = self.server.standin
        token = call.headers.get("x-amz-sso_bearer_token")
        with s.lock:
            expiry = s.tokens.get(token)
        if expiry is None or expiry <= time.time():
            return self._send(401, {"message": "Session token not found or invalid"},
                              "UnauthorizedException")
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
                 "expiration": int((time.time() + s.role_ttl) * 1000) + 123}
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
        now = int(time.time())
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
                               "expires": time.time() + s.device_ttl, "polls": 0}
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
        if q.get("deny"):
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
            if s.session_end is not None and time.time() >= s.session_end:
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
            if time.time() >= device["expires"]:
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
        with s.lock:
            s.tokens.pop(call.headers.get("x-amz-sso_bearer_token"), None)
        self._send(200, raw=b"")


# --------------------------------------------------------------------------
# A temporary HOME with a scrubbed environment
# --------------------------------------------------------------------------


def scrubbed_environ():
    """os.environ without AWS_*, proxy, browser and display settings."""
    drop = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE", "SSL_CERT_FILE", "BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION",
            "SSH_CLIENT", "SSH_TTY", "CONTAINER", "KUBERNETES_SERVICE_HOST")
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("AWS_") and k.upper() not in drop}
    # A zone far from UTC catches local-time mistakes.
    env.update(TZ="Asia/Kolkata", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    return env


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return "<rc=%r out=%r err=%r>" % (self.rc, self.out, self.err)


class Sandbox:
    """A temporary HOME, a scrubbed environment pointed at a StandIn."""

    def __init__(self, standin, config=BASE_CONFIG):
        self.standin = standin
        self.root = tempfile.mkdtemp(prefix="acp-test-")
        self.home = os.path.join(self.root, "home")
        os.mkdir(self.home)
        self.env = scrubbed_environ()
        self.env.update(HOME=self.home, AWS_ENDPOINT_URL_SSO=standin.url,
                        AWS_ENDPOINT_URL_SSO_OIDC=standin.url)
        if config is not None:
            self.write_config(config)

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.home, *parts)

    def write_config(self, text, path=None):
        path = path or self.path(".aws", "config")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        return path

    def token_path(self, name):
        return self.path(".aws", "sso", "cache", acp.sha1_hex(name) + ".json")

    def role_path(self, session=None, start_url=None, account=ACCOUNT, role=ROLE):
        fields = {"accountId": account, "roleName": role}
        if session:
            fields["sessionName"] = session
        else:
            fields["startUrl"] = start_url
        key = acp.sha1_hex(json.dumps(fields, sort_keys=True, separators=(",", ":")))
        return self.path(".aws", "cli", "cache", key + ".json")

    def write_token(self, name="dev", ttl=8 * 3600, register=True, raw=None, **fields):
        """Cache a token as `aws sso login` does; returns the access token."""
        token = fields.pop("accessToken", None) or "access-%x" % random.getrandbits(64)
        if register:
            self.standin.add_token(token, ttl)
        doc = {"startUrl": START_URL, "region": "us-east-1", "accessToken": token,
               "expiresAt": utc(time.time() + ttl)}
        doc.update(fields)
        path = self.token_path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(raw if raw is not None else json.dumps(doc))
        return token

    def write_role_cache(self, path, ttl, access_key="ASIACACHED", expiration=None):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        entry = {"ProviderType": "sso", "Credentials": {
            "AccessKeyId": access_key, "SecretAccessKey": "cached-secret",
            "SessionToken": "cached-session", "Expiration": expiration or utc(time.time() + ttl),
            "AccountId": ACCOUNT}}
        with open(path, "w") as f:
            json.dump(entry, f)

    def environ(self, env=None):
        """The sandbox environment plus env; a None value removes a variable."""
        full_env = dict(self.env)
        full_env.update(env or {})
        return {k: v for k, v in full_env.items() if v is not None}

    def run(self, *args, env=None, python=None, timeout=60):
        p = subprocess.run([python or sys.executable, SCRIPT] + list(args), env=self.environ(env),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, cwd=self.root)
        return Result(p.returncode, p.stdout.decode(), p.stderr.decode())

    def python(self, code, env=None, timeout=120):
        """Run Python code (boto3 and friends) in the sandbox; returns its JSON output."""
        p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=self.environ(env),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, cwd=self.root)
        if p.returncode != 0:
            raise AssertionError("python failed (%d): %s" % (p.returncode, p.stderr.decode()))
        return json.loads(p.stdout.decode())

    def credential_process_line(self, *args):
        return " ".join(shlex.quote(a) for a in (sys.executable, SCRIPT) + args)

    def browser(self, action="follow", linger=0):
        """Environment for a fake browser: a person who opens the page and
        approves (follow), denies, ignores it, or sends a forged state."""
        self.visits_file = os.path.join(self.root, "browser-visits.jsonl")
        return {"BROWSER": "%s %s fake-browser %%s" % (shlex.quote(sys.executable), shlex.quote(TESTS)),
                "FAKE_BROWSER_LOG": self.visits_file, "FAKE_BROWSER_ACTION": action,
                "FAKE_BROWSER_LINGER": str(linger)}

    def visits(self, expected=None, wait=10):
        """The fake browser's visits (waiting up to `wait` s for `expected` of them)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                with open(self.visits_file) as f:
                    found = [json.loads(line) for line in f if line.strip()]
            except (AttributeError, OSError):
                found = []
            if expected is None or len(found) >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def start(self, *args, env=None):
        return subprocess.Popen([sys.executable, SCRIPT] + list(args), env=self.environ(env), cwd=self.root,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def finish(self, proc, timeout=60):
        out, err = proc.communicate(timeout=timeout)
        return Result(proc.returncode, out.decode(), err.decode())

    def run_in_terminal(self, *args, env=None, timeout=60):
        """Run the script as an SDK in a terminal does: stdout and stderr piped,
        the terminal still its controlling tty. Returns (Result, terminal text)."""
        import pty
        try:
            master, slave = pty.openpty()
        except OSError as e:
            raise unittest.SkipTest("no pseudo-terminal on this machine: %s" % e)
        name = os.ttyname(slave)

        def take_terminal():  # a new session whose controlling terminal is the pty
            os.setsid()
            os.close(os.open(name, os.O_RDWR))

        proc = subprocess.Popen([sys.executable, SCRIPT] + list(args), env=self.environ(env), cwd=self.root,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=take_terminal)
        seen = []

        def drain():  # the slave stays open here, so no hangup discards unread output
            import select
            while proc.poll() is None or select.select([master], [], [], 0.2)[0]:
                if select.select([master], [], [], 0.2)[0]:
                    seen.append(os.read(master, 4096))

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        result = self.finish(proc, timeout)
        reader.join(10)
        os.close(slave)
        os.close(master)
        return result, b"".join(seen).decode(errors="replace")


class SandboxTest(unittest.TestCase):
    """Base: a fresh StandIn and Sandbox per test."""

    tls = False

    def setUp(self):
        self.standin = StandIn(tls=self.tls)
        self.addCleanup(self.standin.close)
        self.sb = Sandbox(self.standin)
        self.addCleanup(self.sb.cleanup)

    def ok(self, result, prompt=False):
        """Assert success; return the parsed credential_process document.
        prompt: stderr may hold login instructions (there was no terminal)."""
        self.assertEqual(result.rc, 0, result)
        if prompt:
            self.assert_prompt_lines(result.err.splitlines())
        else:
            self.assertEqual(result.err, "", result)
        self.assertTrue(result.out.endswith("\n") and result.out.count("\n") == 1, result)
        doc = json.loads(result.out)
        self.assertEqual(list(doc), ["Version", "AccessKeyId", "SecretAccessKey", "SessionToken",
                                     "Expiration", "AccountId"])
        self.assertIs(type(doc["Version"]), int)
        self.assertEqual(doc["Version"], 1)
        self.assertRegex(doc["Expiration"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        return doc

    def fails(self, result, code, *phrases, prompt=False):
        """Assert a clean failure: exit code, nothing on stdout, one error line
        on stderr (after login instructions, if prompt and there was no terminal)."""
        self.assertEqual(result.rc, code, result)
        self.assertEqual(result.out, "", result)
        self.assertTrue(result.err.endswith("\n"), result)
        lines = result.err.splitlines()
        if prompt:
            self.assert_prompt_lines(lines[:-1])
        else:
            self.assertEqual(len(lines), 1, result)
        error = lines[-1]
        self.assertTrue(error.startswith("aws-sso-credential-process: "), result)
        self.assertNotIn("Traceback", result.err)
        for phrase in phrases:
            self.assertIn(phrase, error)
        return error

    def assert_prompt_lines(self, lines):
        for line in lines:
            self.assertTrue(line.startswith(("aws-sso-credential-process: log in to ", "  ",
                                             "aws-sso-credential-process: logged in to ")), line)

    def issued(self, index=-1):
        return self.standin.issued[index]


# --------------------------------------------------------------------------
# Pure helpers (import level)
# --------------------------------------------------------------------------


class TestCacheKeys(unittest.TestCase):
    """SPEC.md section 11 test vectors, and agreement with botocore itself."""

    def cfg(self, session=None, start_url=START_URL, account=ACCOUNT, role=ROLE):
        cfg = acp.Config()
        cfg.sso_session, cfg.start_url, cfg.account_id, cfg.role_name = session, start_url, account, role
        return cfg

    def test_token_cache_file_names(self):
        vectors = [(self.cfg(), "40a89917e3175433e361b710a9d43528d7f1890a"),
                   (self.cfg(start_url=START_URL + "/"), "efc31dacc9f40d3b937b7214601a881f4c2500c4"),
                   (self.cfg(session="dev"), "34c6fceca75e456f25e7e99531e2425c6c1de443"),
                   (self.cfg(session="my-sso"), "0ad374308c5a4e22f723adf10145eafad7c4031c")]
        for cfg, key in vectors:
            self.assertEqual(acp.token_cache_key(cfg), key)

    def test_role_cache_keys(self):
        self.assertEqual(acp.role_cache_key(self.cfg()), "6ba1a5b49a2db9c919d9b0a8de4788d7f6cca24c")
        self.assertEqual(acp.role_cache_key(self.cfg(session="dev")),
                         "c43dd432db0bf8323a53ab1fcded2c422fe2bcd9")

    def test_keys_match_botocore_for_unusual_names(self):
        from botocore.credentials import SSOCredentialFetcher
        from botocore.utils import SSOTokenLoader
        loader = SSOTokenLoader(cache={})
        for session, url, role in [("dév ü", "https://x.awsapps.com/start#/", "Role/With\"Quote"),
                                   (None, "https://é.awsapps.com/start", "A:B")]:
            cfg = self.cfg(session=session, start_url=url, role=role)
            fetcher = SSOCredentialFetcher(url, "us-east-1", role, ACCOUNT, None,
                                           sso_session_name=session)
            self.assertEqual(acp.role_cache_key(cfg), fetcher._create_cache_key())
            self.assertEqual(acp.token_cache_key(cfg),
                             loader._generate_cache_key(url, session_name=session))


class TestTimestamps(unittest.TestCase):
    def test_every_form_the_sdks_write(self):
        import datetime
        expected = datetime.datetime(2026, 11, 25, 17, 43, 19, tzinfo=datetime.timezone.utc).timestamp()
        for text, extra in [("2026-11-25T17:43:19Z", 0), ("2026-11-25T17:43:19UTC", 0),
                            ("2026-11-25T17:43:19+00:00", 0), ("2026-11-25T17:43:19.000Z", 0),
                            ("2026-11-25T17:43:19.123456+00:00", 0.123456),
                            ("2026-11-25T19:43:19+02:00", 0), ("2026-11-25T12:13:19-0530", 0),
                            ("2026-11-25 17:43:19.5Z", 0.5), ("2026-11-25t17:43:19z", 0),
                            ("2026-11-25T17:43:19", 0), ("2026-11-25T17:43:19 GMT", 0)]:
            with self.subTest(text=text):
                self.assertAlmostEqual(acp.parse_time(text), expected + extra, places=5)

    def test_agrees_with_datetime_over_the_calendar(self):
        import datetime
        rng = random.Random(7)
        for _ in range(2000):
            epoch = rng.randint(0, 253402300799)
            text = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat()
            self.assertEqual(acp.parse_time(text), epoch, text)
            self.assertEqual(acp.format_time(epoch), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)))

    def test_rejects_garbage(self):
        for text in ["", "2026-11-25", "2026-13-01T00:00:00Z", "2026-11-25T24:00:00Z",
                     "2026-11-25T17:43:19+0", "2026-11-25T17:43:19.Z", "2026-11-25T17:43:19 EST",
                     "2026/11/25T17:43:19Z", "२०२६-11-25T17:43:19Z", 1795628599, None]:
            with self.subTest(text=text):
                with self.assertRaises(ValueError):
                    acp.parse_time(text)


class TestJson(unittest.TestCase):
    def test_matches_json_module(self):
        rng = random.Random(3)
        docs = [{"a": "x\u00e9\ud83d\ude00", "b": [1, -2.5e3, True, False, None], "c": {"d": "\"\\/"}},
                {}, [], "s", 0, {"expiresAt": "2026-11-25T17:43:19Z", "n": 1e400 if False else 12}]
        for doc in docs:
            for text in (json.dumps(doc), json.dumps(doc, indent=2), "  %s\n" % json.dumps(doc)):
                self.assertEqual(acp.json_loads(text), json.loads(text))
        for _ in range(300):
            text = json.dumps({"k%d" % i: rng.choice(["v", 1, [1, "x"], {"z": None}]) for i in range(5)})
            cut = text[:rng.randrange(len(text))]
            for candidate in (text, cut):
                try:
                    expected = json.loads(candidate)
                except ValueError:
                    self.assertRaises(ValueError, acp.json_loads, candidate)
                else:
                    self.assertEqual(acp.json_loads(candidate), expected)

    def test_rejects_what_json_rejects(self):
        for text in ["", "{", "{} {}", "{'a': 1}", "[1,]", "nul", "\"\x01\""]:
            with self.subTest(text=text):
                self.assertRaises(ValueError, acp.json_loads, text)

    def test_json_str_is_json_dumps(self):
        for s in ["plain", "q\"b\\s/", "\x00\x1f\n\t", "é\u2028😀"]:
            self.assertEqual(acp.json_str(s), json.dumps(s))


class TestIniParser(unittest.TestCase):
    """The fast INI reader must agree with configparser (and botocore) exactly."""

    CORPUS = [
        "[default]\nregion = us-east-1\n",
        "[profile a]\nSSO_Region : eu-west-1\nsso_start_url=https://x/start # not a comment\n",
        "# c\n; c\n[profile a]\n  # indented comment\nk = v\n\n\n[profile b]\nk=\n",
        "[services s]\nsso =\n  endpoint_url = http://127.0.0.1:1\n\n  other = 2\nsso_oidc =\n"
        "  endpoint_url = http://127.0.0.1:2\n",
        "[profile a]\nk = line1\n  line2\n\n  line3\n\n\n",
        "[profile a]\nk = v\n\t tabbed continuation\nj = w\n",
        "[profile \"with space\"]\nk = v\n[profile 'single q']\nk = w\n",
        "[profile a b c]\nk = v\n[profilex]\nk = v\n[profiles p]\nk = v\n",
        "[default]\nk = 1\n[profile default]\nk = 2\n",
        "[profile default]\nk = 2\n[default]\nk = 1\n",
        "[sso-session s]\nsso_start_url = u\n[sso-sessionx]\nk = v\n",
        "[profile a]\nk = v = w : x\nz: y = q\n",
        "[profile a]\n  k = indented first option\n  j = second\n",
        "[DEFAULT]\nregion = r\n[profile a]\nk = v\n",
        "[profile a]\nk = v\n[profile a]\nj = w\n",
        "[profile a]\nk = v\nK = w\n",
        "k = v\n[profile a]\n",
        "[profile a]\njust a line\n",
        "[profile a]\n= no name\n",
        "[profile a] trailing\nk = v\n",
        "[a]]\nk = v\n",
        "[]\nk = v\n",
        "\r\n[profile a]\r\nk = v\r\n",
        "[profile \"unbalanced]\nk = v\n",
        "[profile a]\nk = v\n[profile \u00e9]\nk = w\n",
        "",
    ]

    def parse_both(self, text):
        """(fast result or 'fallback', configparser result or an exception class)."""
        import configparser
        try:
            fast = acp._ini_fast(text)
        except acp._IniFallback:
            fast = "fallback"
        parser = configparser.RawConfigParser()
        try:
            parser.read_string(text)
            slow = {s: {k: parser.get(s, k) for k in parser.options(s)} for s in parser.sections()}
        except configparser.Error as e:
            slow = type(e)
        return fast, slow

    def test_corpus_matches_configparser(self):
        for text in self.CORPUS:
            with self.subTest(text=text):
                fast, slow = self.parse_both(text)
                if fast != "fallback":
                    self.assertEqual(fast, slow)

    def test_fallback_cases_are_the_unusual_ones(self):
        fallbacks = [t for t in self.CORPUS if self.parse_both(t)[0] == "fallback"]
        self.assertIn("[DEFAULT]\nregion = r\n[profile a]\nk = v\n", fallbacks)
        self.assertIn("[profile a]\nk = v\n[profile a]\nj = w\n", fallbacks)
        self.assertNotIn(self.CORPUS[4], fallbacks)  # continuations stay on the fast path

    def test_random_files_match_configparser(self):
        rng = random.Random(11)
        shapes = ["[profile p%d]", "[sso-session s%d]", "[default]", "k%d = v", "K%d : v",
                  "  cont %d", "\tcont%d", "", "   ", "# c%d", "; c%d", "  # ic%d", "k%d =",
                  "x%d=a=b", "[services sv%d]", "sso =", "  endpoint_url = http://h%d"]
        for _ in range(1500):
            lines = [rng.choice(shapes).replace("%d", str(rng.randrange(3))) for _ in range(rng.randrange(12))]
            text = "\n".join(lines) + rng.choice(["", "\n"])
            fast, slow = self.parse_both(text)
            if fast != "fallback":
                self.assertEqual(fast, slow, text)

    def test_profile_map_matches_botocore(self):
        from botocore.configloader import build_profile_map, raw_config_parse
        from botocore.exceptions import ConfigParseError
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        for i, text in enumerate(self.CORPUS):
            path = os.path.join(tmp, "c%d" % i)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            with self.subTest(text=text):
                try:
                    expected = build_profile_map(raw_config_parse(path))
                except ConfigParseError:
                    self.assertRaises(acp.ConfigError, acp.load_config_file, path)
                    continue
                ours = acp.load_config_file(path)
                for kind in ("profiles", "sso_sessions", "services"):
                    normalised = {name: {k: acp.parse_nested(v, "x") if v.startswith("\n") else v
                                         for k, v in values.items()}
                                  for name, values in ours[kind].items()}
                    self.assertEqual(normalised, expected[kind])


class TestArgs(unittest.TestCase):
    def test_forms(self):
        self.assertEqual(acp.parse_args(["--profile", "p", "--region=eu-west-1", "--debug",
                                         "--account-id", "1", "--account-id", "2"]),
                         {"profile": "p", "region": "eu-west-1", "debug": True, "account_id": "2"})
        self.assertEqual(acp.parse_args(["--help", "--bogus"]), {"help": True})

    def test_errors(self):
        for argv, phrase in [(["--bogus"], "unrecognized argument '--bogus'"),
                             (["--profile"], "--profile needs a value"),
                             (["--region="], "--region needs a non-empty value"),
                             (["extra"], "unrecognized argument 'extra'"),
                             (["--debug=yes"], "unrecognized argument '--debug=yes'")]:
            with self.subTest(argv=argv):
                with self.assertRaises(acp.ConfigError) as cm:
                    acp.parse_args(argv)
                self.assertIn(phrase, str(cm.exception))


class TestPrecedence(unittest.TestCase):
    """flag > environment variable > profile > [sso-session] section."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.config = os.path.join(self.tmp, "config")
        with open(self.config, "w") as f:
            f.write(textwrap.dedent("""
                [profile p]
                sso_session = from-profile
                sso_account_id = 111111111111
                sso_role_name = ProfileRole

                [sso-session from-profile]
                sso_start_url = https://profile-session.awsapps.com/start
                sso_region = eu-west-1

                [sso-session from-env]
                sso_start_url = https://env-session.awsapps.com/start
                sso_region = eu-west-2

                [sso-session from-flag]
                sso_start_url = https://flag-session.awsapps.com/start
                sso_region = eu-west-3
                """))

    def resolve(self, argv, **env):
        environ = {"AWS_CONFIG_FILE": self.config, "HOME": self.tmp}
        environ.update(env)
        return acp.resolve_config(acp.parse_args(argv), environ)

    def test_each_level_wins_over_the_next(self):
        env = {"AWS_SSO_ACCOUNT_ID": "222222222222", "AWS_SSO_ROLE_NAME": "EnvRole",
               "AWS_SSO_START_URL": "https://env.awsapps.com/start", "AWS_SSO_REGION": "ap-south-1",
               "AWS_SSO_SESSION": "from-env"}
        flags = ["--account-id", "333333333333", "--role-name", "FlagRole", "--start-url",
                 "https://flag.awsapps.com/start", "--region", "ca-central-1", "--sso-session", "from-flag"]
        cfg = self.resolve(["--profile", "p"])
        self.assertEqual((cfg.account_id, cfg.role_name, cfg.sso_session, cfg.start_url, cfg.region),
                         ("111111111111", "ProfileRole", "from-profile",
                          "https://profile-session.awsapps.com/start", "eu-west-1"))
        cfg = self.resolve(["--profile", "p"], **env)
        self.assertEqual((cfg.account_id, cfg.role_name, cfg.sso_session, cfg.start_url, cfg.region),
                         ("222222222222", "EnvRole", "from-env", "https://env.awsapps.com/start",
                          "ap-south-1"))
        cfg = self.resolve(["--profile", "p"] + flags, **env)
        self.assertEqual((cfg.account_id, cfg.role_name, cfg.sso_session, cfg.start_url, cfg.region),
                         ("333333333333", "FlagRole", "from-flag", "https://flag.awsapps.com/start",
                          "ca-central-1"))
        self.assertEqual(cfg.origin["region"], "--region")

    def test_session_section_fills_what_is_left(self):
        cfg = self.resolve(["--profile", "p"], AWS_SSO_SESSION="from-env")
        self.assertEqual((cfg.start_url, cfg.region, cfg.origin["region"]),
                         ("https://env-session.awsapps.com/start", "eu-west-2", "sso-session 'from-env'"))

    def test_profile_never_comes_from_the_environment(self):
        with self.assertRaises(acp.ConfigError) as cm:
            self.resolve([], AWS_PROFILE="p", AWS_DEFAULT_PROFILE="p")
        self.assertIn("missing account ID", str(cm.exception))

    def test_flags_and_env_alone_need_no_config_file(self):
        cfg = acp.resolve_config(acp.parse_args(["--account-id", ACCOUNT, "--role-name", ROLE,
                                                  "--start-url", START_URL, "--region", "us-east-1"]),
                                 {"HOME": self.tmp, "AWS_CONFIG_FILE": "/nonexistent/config"})
        self.assertIsNone(cfg.sso_session)
        self.assertEqual(cfg.start_url, START_URL)


class TestEndpoints(unittest.TestCase):
    def endpoint(self, region, service="sso", profile=None, file=None, **env):
        cfg = acp.Config()
        cfg.region, cfg.environ, cfg.profile = region, env, "p"
        cfg.profile_section = profile or {}
        cfg.file = file or {"profiles": {}, "sso_sessions": {}, "services": {}}
        return acp.service_endpoint(cfg, service)

    def test_partitions(self):
        for region, portal, oidc in [
                ("us-east-1", "https://portal.sso.us-east-1.amazonaws.com", "https://oidc.us-east-1.amazonaws.com"),
                ("cn-north-1", "https://portal.sso.cn-north-1.amazonaws.com.cn",
                 "https://oidc.cn-north-1.amazonaws.com.cn"),
                ("us-gov-west-1", "https://portal.sso.us-gov-west-1.amazonaws.com",
                 "https://oidc.us-gov-west-1.amazonaws.com"),
                ("eusc-de-east-1", "https://portal.sso.eusc-de-east-1.amazonaws.eu",
                 "https://oidc.eusc-de-east-1.amazonaws.eu"),
                ("us-iso-east-1", "https://portal.sso.us-iso-east-1.c2s.ic.gov",
                 "https://oidc.us-iso-east-1.c2s.ic.gov"),
                ("us-isob-east-1", "https://portal.sso.us-isob-east-1.sc2s.sgov.gov",
                 "https://oidc.us-isob-east-1.sc2s.sgov.gov"),
                ("mars-east-1", "https://portal.sso.mars-east-1.amazonaws.com",
                 "https://oidc.mars-east-1.amazonaws.com")]:
            self.assertEqual(self.endpoint(region), portal)
            self.assertEqual(self.endpoint(region, "sso-oidc"), oidc)

    def test_matches_botocore_resolver(self):
        import botocore.session
        from botocore import UNSIGNED
        from botocore.config import Config
        session = botocore.session.Session()
        compared = 0
        for region in ["us-east-1", "eu-central-2", "cn-northwest-1", "us-gov-east-1", "eusc-de-east-1",
                       "us-isof-south-1", "eu-isoe-west-1"]:
            for fips, dual in [(False, False), (True, False), (False, True), (True, True)]:
                with self.subTest(region=region, fips=fips, dual=dual):
                    for service in ("sso", "sso-oidc"):
                        try:
                            client = session.create_client(service, region_name=region, config=Config(
                                signature_version=UNSIGNED, use_fips_endpoint=fips,
                                use_dualstack_endpoint=dual))
                        except Exception:  # partitions without FIPS/dual-stack
                            continue
                        env = {"AWS_USE_FIPS_ENDPOINT": str(fips).lower(),
                               "AWS_USE_DUALSTACK_ENDPOINT": str(dual).lower()}
                        try:  # the endpoint botocore's rule set picks for each request
                            expected = client._ruleset_resolver.construct_endpoint(
                                operation_model=client.meta.service_model.operation_model(
                                    "GetRoleCredentials" if service == "sso" else "CreateToken"),
                                call_args={}, request_context={}).url
                        except Exception:
                            continue
                        self.assertEqual(self.endpoint(region, service, **env), expected)
                        compared += 1
        self.assertGreater(compared, 40, "botocore resolved too few endpoints to compare")

    def test_override_order(self):
        services = {"services": {"svc": {"sso": "\nendpoint_url = http://services-sso",
                                         "sso_oidc": "\nendpoint_url = http://services-oidc"}},
                    "profiles": {}, "sso_sessions": {}}
        profile = {"services": "svc", "endpoint_url": "http://profile-global"}
        full = dict(AWS_ENDPOINT_URL_SSO="http://env-sso/", AWS_ENDPOINT_URL="http://env-global")
        self.assertEqual(self.endpoint("us-east-1", profile=profile, file=services, **full), "http://env-sso")
        self.assertEqual(self.endpoint("us-east-1", "sso-oidc", profile=profile, file=services, **full),
                         "http://env-global")
        self.assertEqual(self.endpoint("us-east-1", profile=profile, file=services,
                                       AWS_ENDPOINT_URL="http://env-global"), "http://env-global")
        self.assertEqual(self.endpoint("us-east-1", profile=profile, file=services), "http://services-sso")
        self.assertEqual(self.endpoint("us-east-1", "sso-oidc", profile=profile, file=services),
                         "http://services-oidc")
        self.assertEqual(self.endpoint("us-east-1", profile={"endpoint_url": "http://profile-global"}),
                         "http://profile-global")
        ignored = dict(profile, ignore_configured_endpoint_urls="true")
        self.assertEqual(self.endpoint("us-east-1", profile=ignored, file=services, **full),
                         "https://portal.sso.us-east-1.amazonaws.com")
        self.assertEqual(self.endpoint("us-east-1", profile=profile, file=services,
                                       AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="TRUE", **full),
                         "https://portal.sso.us-east-1.amazonaws.com")
        self.assertEqual(self.endpoint("us-east-1", profile=ignored, file=services,
                                       AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="false", **full), "http://env-sso")

    def test_bad_overrides(self):
        for kwargs, phrase in [
                (dict(profile={"services": "nope"}), "[services nope], which does not exist"),
                (dict(AWS_ENDPOINT_URL_SSO="ftp://x"), "must start with https:// or http://"),
                (dict(AWS_ENDPOINT_URL_SSO="http://x", AWS_USE_FIPS_ENDPOINT="true"), "FIPS"),
                (dict(AWS_USE_FIPS_ENDPOINT="maybe"), "must be true or false")]:
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(acp.ConfigError) as cm:
                    self.endpoint("us-east-1", **kwargs)
                self.assertIn(phrase, str(cm.exception))


class TestTornTokenFile(unittest.TestCase):
    """The AWS CLI rewrites the token file in place: a reader can see it empty."""

    def test_half_written_file_is_reread(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        cfg = acp.Config()
        cfg.sso_session, cfg.start_url = "dev", START_URL
        path = os.path.join(tmp, ".aws", "sso", "cache", acp.token_cache_key(cfg) + ".json")
        os.makedirs(os.path.dirname(path))
        whole = json.dumps({"accessToken": "tok", "expiresAt": utc(time.time() + 3600)})
        with open(path, "w") as f:
            f.write(whole[:17])
        sleeps = []

        def sleep(seconds):  # the concurrent writer finishes while we wait
            sleeps.append(seconds)
            with open(path, "w") as f:
                f.write(whole)

        cfg.environ = {"HOME": tmp}
        ctx = acp.Context(cfg, acp.Log(), sleep=sleep)
        token, why = acp.read_token(cfg, ctx, path)
        self.assertEqual((token["accessToken"], why), ("tok", None))
        self.assertEqual(len(sleeps), 1)


# --------------------------------------------------------------------------
# The script end to end, as an SDK runs it
# --------------------------------------------------------------------------


class TestCredentials(SandboxTest):
    def test_sso_session_profile(self):
        token = self.sb.write_token("dev")
        doc = self.ok(self.sb.run("--profile", "sess"))
        issued = self.issued()
        self.assertEqual((doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"]),
                         (issued["accessKeyId"], issued["secretAccessKey"], issued["sessionToken"]))
        self.assertEqual(doc["Expiration"], utc(issued["expiration"] // 1000))
        self.assertEqual(doc["AccountId"], ACCOUNT)
        [call] = self.standin.calls_to("/federation/credentials")
        self.assertEqual(call.headers["x-amz-sso_bearer_token"], token)
        self.assertIn("x-amz-sso_bearer_token", call.headers.keys(), "sent lowercase, as botocore does")
        self.assertEqual(call.headers["Accept-Encoding"], "identity")
        self.assertEqual(list(call.query), ["role_name", "account_id"])
        self.assertEqual(call.query, {"role_name": ROLE, "account_id": ACCOUNT})
        self.assertNotIn("Content-Type", call.headers)
        self.assertNotIn("Authorization", call.headers)

    def test_legacy_profile(self):
        token = self.sb.write_token(START_URL)
        self.ok(self.sb.run("--profile", "legacy"))
        [call] = self.standin.calls_to("/federation/credentials")
        self.assertEqual(call.headers["x-amz-sso_bearer_token"], token)

    def test_legacy_start_url_is_hashed_exactly_as_written(self):
        self.sb.write_config(BASE_CONFIG.replace("start\nsso_region = us-east-1\nsso_account",
                                                 "start/\nsso_region = us-east-1\nsso_account"))
        self.sb.write_token(START_URL)  # the key of the URL without the slash
        self.fails(self.sb.run("--profile", "legacy"), 1, "aws sso login --profile legacy")
        self.sb.write_token(START_URL + "/")
        self.ok(self.sb.run("--profile", "legacy"))

    def test_flags_and_env_without_a_profile(self):
        self.sb.write_token(START_URL)
        self.ok(self.sb.run("--account-id", "444455556666", "--role-name", ROLE, "--start-url",
                            START_URL, env={"AWS_SSO_REGION": "us-east-1"}))
        [call] = self.standin.calls_to("/federation/credentials")
        self.assertEqual(call.query["account_id"], "444455556666")

    def test_flag_and_env_override_the_profile(self):
        self.sb.write_token("dev")
        self.ok(self.sb.run("--profile", "sess", "--role-name", "ReadOnly",
                            env={"AWS_SSO_ROLE_NAME": "Nope", "AWS_SSO_ACCOUNT_ID": "444455556666"}))
        [call] = self.standin.calls_to("/federation/credentials")
        self.assertEqual(call.query, {"role_name": "ReadOnly", "account_id": "444455556666"})

    def test_aws_profile_in_the_environment_is_ignored(self):
        self.sb.write_config(BASE_CONFIG + "\n[profile caller]\ncredential_process = whatever\n")
        self.sb.write_token("dev")
        self.ok(self.sb.run("--profile", "sess", env={"AWS_PROFILE": "caller",
                                                       "AWS_DEFAULT_PROFILE": "caller"}))

    def test_config_file_location_and_syntax(self):
        self.sb.env["CONFDIR"] = os.path.join(self.sb.root, "elsewhere")
        self.sb.write_config("""
            [default]
            sso_session = nope
            [profile "with space"]
            SSO_Session: dev
            Sso_Account_Id = 111122223333
            SSO_ROLE_NAME = Admin
            [sso-session dev]
            sso_start_url = https://d-abc123.awsapps.com/start
            SSO_REGION = us-east-1
            [profile default]
            sso_session = dev
            sso_account_id = 111122223333
            sso_role_name = Admin
            """, path=os.path.join(self.sb.root, "elsewhere", "cfg"))
        self.sb.write_token("dev")
        for config_file in ("$CONFDIR/cfg", "${CONFDIR}/cfg", "~/../elsewhere/cfg"):
            with self.subTest(config_file=config_file):
                env = {"AWS_CONFIG_FILE": config_file}
                self.ok(self.sb.run("--profile", "with space", env=env))
                # [profile default] comes later in the file, so it replaces [default]
                self.ok(self.sb.run("--profile", "default", env=env))

    def test_cache_is_reused_and_shared(self):
        self.sb.write_token("dev")
        first = self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(self.standin.count("/federation/credentials"), 1)
        second = self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(self.standin.count(), 1, "a cache hit must make no calls")
        self.assertEqual(first, second)
        # another profile with the same session, account and role shares the entry
        self.sb.write_config(BASE_CONFIG + "\n[profile twin]\nsso_session = dev\n"
                             "sso_account_id = 111122223333\nsso_role_name = Admin\n")
        self.assertEqual(self.ok(self.sb.run("--profile", "twin")), first)
        self.assertEqual(self.standin.count(), 1)
        # a different role does not
        self.ok(self.sb.run("--profile", "sess", "--role-name", "ReadOnly"))
        self.assertEqual(self.standin.count(), 2)

    def test_cache_file_format_and_modes(self):
        self.sb.write_token("dev")
        doc = self.ok(self.sb.run("--profile", "sess"))
        path = self.sb.role_path(session="dev")
        with open(path) as f:
            text = f.read()
        expected = json.dumps({"ProviderType": "sso", "Credentials": {
            "AccessKeyId": doc["AccessKeyId"], "SecretAccessKey": doc["SecretAccessKey"],
            "SessionToken": doc["SessionToken"], "Expiration": doc["Expiration"], "AccountId": ACCOUNT}})
        self.assertEqual(text, expected)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.path(".aws", "cli", "cache")).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.path(".aws", "cli")).st_mode), 0o700)
        self.assertEqual(sorted(os.listdir(os.path.dirname(path))),
                         [os.path.basename(path), os.path.basename(path) + ".lock"], "no temp files left behind")
        self.assertEqual(stat.S_IMODE(os.stat(path + ".lock").st_mode), 0o600)

    def test_existing_directories_keep_their_mode(self):
        os.makedirs(self.sb.path(".aws", "cli", "cache"))
        os.chmod(self.sb.path(".aws", "cli", "cache"), 0o755)
        self.sb.write_token("dev")
        self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.path(".aws", "cli", "cache")).st_mode), 0o755)
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.role_path(session="dev")).st_mode), 0o600)

    def test_fifteen_minute_rule(self):
        self.sb.write_token("dev")
        path = self.sb.role_path(session="dev")
        self.sb.write_role_cache(path, ttl=16 * 60)
        self.assertEqual(self.ok(self.sb.run("--profile", "sess"))["AccessKeyId"], "ASIACACHED")
        self.assertEqual(self.standin.count(), 0)
        self.sb.write_role_cache(path, ttl=14 * 60)
        doc = self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(doc["AccessKeyId"], self.issued()["accessKeyId"])
        with open(path) as f:
            self.assertEqual(json.load(f)["Credentials"]["AccessKeyId"], doc["AccessKeyId"])

    def test_cached_expiration_in_other_formats(self):
        self.sb.write_token("dev")
        path = self.sb.role_path(session="dev")
        later = time.time() + 3600
        for text in (utc(later).replace("Z", "UTC"), utc(later).replace("Z", "+00:00"),
                     utc(later).replace("Z", ".250Z")):
            self.sb.write_role_cache(path, 0, expiration=text)
            doc = self.ok(self.sb.run("--profile", "sess"))
            self.assertEqual((doc["AccessKeyId"], doc["Expiration"]), ("ASIACACHED", utc(later)))
        self.assertEqual(self.standin.count(), 0)

    def test_force_refresh(self):
        self.sb.write_token("dev")
        self.sb.write_role_cache(self.sb.role_path(session="dev"), ttl=3600)
        doc = self.ok(self.sb.run("--profile", "sess", "--force-refresh"))
        self.assertNotEqual(doc["AccessKeyId"], "ASIACACHED")
        self.assertEqual(self.standin.count(), 1)
        self.assertEqual(self.ok(self.sb.run("--profile", "sess")), doc)

    def test_corrupt_role_cache_is_a_miss_and_gets_replaced(self):
        self.sb.write_token("dev")
        path = self.sb.role_path(session="dev")
        os.makedirs(os.path.dirname(path))
        for junk in ("", "{\"ProviderType\": \"sso\", \"Credentials\": {", "[]", "{\"Credentials\": 5}",
                     json.dumps({"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "S",
                                                 "SessionToken": "T", "Expiration": "soon"}})):
            with self.subTest(junk=junk):
                with open(path, "w") as f:
                    f.write(junk)
                doc = self.ok(self.sb.run("--profile", "sess"))
                with open(path) as f:
                    self.assertEqual(json.load(f)["Credentials"]["AccessKeyId"], doc["AccessKeyId"])

    def test_unwritable_cache_still_returns_credentials(self):
        os.makedirs(self.sb.path(".aws", "cli"))
        with open(self.sb.path(".aws", "cli", "cache"), "w") as f:
            f.write("a file where the directory should be")
        self.sb.write_token("dev")
        self.ok(self.sb.run("--profile", "sess"))

    def test_version_and_help(self):
        r = self.sb.run("--version")
        self.assertEqual((r.rc, r.out, r.err), (0, "aws-sso-credential-process %s\n" % acp.__version__, ""))
        r = self.sb.run("--help")
        self.assertEqual((r.rc, r.out, r.err), (0, acp.__doc__, ""))

    def test_every_flag_variable_and_key_is_documented(self):
        import re
        with open(SCRIPT) as f:
            source = f.read()
        with open(os.path.join(HERE, "README.md")) as f:
            readme = f.read()
        env_vars = set(re.findall(r'"(AWS_[A-Z_]*[A-Z])"', source)) | {"AWS_ENDPOINT_URL_SSO_OIDC", "BROWSER"}
        flags = {s[1] for s in acp.SETTINGS} | set(acp.FLAGS) | {"--help", "--version"}
        keys = {s[3] for s in acp.SETTINGS if s[3]} | set(re.findall(r'setting\("([a-z_]+)"', source)) \
            | set(re.findall(r'flag\("([a-z_]+)"', source)) | {"sso_registration_scopes", "endpoint_url", "services"}
        self.assertGreater(len(env_vars), 15)
        for name in sorted(env_vars | flags):
            self.assertIn(name, acp.__doc__, "--help does not mention %s" % name)
        for name in sorted(env_vars | flags | keys):
            self.assertIn("`%s" % name, readme, "README.md does not document %s" % name)
        for code in {cls.exit_code for cls in (acp.Error, acp.ConfigError, acp.LoginRequired, acp.LoginFailed,
                                                 acp.AccessDenied, acp.ServiceError, acp.Busy)}:
            self.assertIn("| %d |" % code, readme)
            self.assertIn("%d " % code, acp.__doc__.split("Exit codes:")[1])


class TestTokens(SandboxTest):
    def test_every_timestamp_form(self):
        for form in ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00UTC", "2026-01-01T00:00:00+00:00",
                     "2026-01-01T00:00:00.123Z", "2026-01-01T00:00:00.123456+00:00"):
            with self.subTest(form=form):
                later = utc(time.time() + 3600)
                self.sb.write_token("dev", expiresAt=form.replace("2026-01-01T00:00:00", later[:-1]))
                self.ok(self.sb.run("--profile", "sess", "--force-refresh"))

    def test_missing_token(self):
        err = self.fails(self.sb.run("--profile", "sess"), 1, "not logged in",
                         "Run: aws sso login --sso-session dev", self.sb.token_path("dev"))
        self.assertNotIn("--profile", err)
        self.fails(self.sb.run("--profile", "legacy"), 1, "Run: aws sso login --profile legacy")
        self.fails(self.sb.run("--account-id", ACCOUNT, "--role-name", ROLE, "--start-url", START_URL,
                               "--region", "us-east-1"), 1, "sso_start_url = %s" % START_URL)

    def test_expired_token(self):
        self.sb.write_token("dev", ttl=-60)
        self.fails(self.sb.run("--profile", "sess"), 1, "expired at", "aws sso login --sso-session dev")
        self.assertEqual(self.standin.count(), 0, "an expired token is not sent")

    def test_unusable_token_files(self):
        for raw, phrase in [("", "not valid JSON"), ("{\"accessToken\": \"x\", \"expi", "not valid JSON"),
                            ("[1, 2]", "not valid JSON"),
                            (json.dumps({"expiresAt": utc(time.time() + 3600)}), "incomplete"),
                            (json.dumps({"accessToken": "x"}), "incomplete"),
                            (json.dumps({"accessToken": "x", "expiresAt": 1795628599}), "incomplete"),
                            (json.dumps({"accessToken": "x", "expiresAt": "tomorrow"}), "incomplete")]:
            with self.subTest(raw=raw):
                self.sb.write_token("dev", raw=raw)
                self.fails(self.sb.run("--profile", "sess"), 1, phrase, "aws sso login --sso-session dev")
        self.assertEqual(self.standin.count(), 0)

    def test_unreadable_token_file(self):
        os.makedirs(self.sb.token_path("dev"))  # unreadable even for root
        self.fails(self.sb.run("--profile", "sess"), 1, "cannot read the cached SSO token",
                   "aws sso login --sso-session dev")

    def test_token_file_is_never_modified(self):
        self.sb.write_token("dev")
        path = self.sb.token_path("dev")
        def state():
            with open(path) as f:
                return f.read(), os.stat(path).st_mtime_ns, stat.S_IMODE(os.stat(path).st_mode)
        before = state()
        self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(state(), before)


class TestConfigErrors(SandboxTest):
    def test_profile_not_found(self):
        self.fails(self.sb.run("--profile", "nope"), 2, "profile 'nope' not found in",
                   self.sb.path(".aws", "config"), "[profile nope]")
        os.remove(self.sb.path(".aws", "config"))
        self.fails(self.sb.run("--profile", "nope"), 2, "does not exist", "AWS_CONFIG_FILE")

    def test_sso_session_not_found(self):
        self.sb.write_config(BASE_CONFIG + "\n[profile orphan]\nsso_session = ghost\n"
                             "sso_account_id = 111122223333\nsso_role_name = Admin\n")
        self.fails(self.sb.run("--profile", "orphan"), 2, "sso-session 'ghost'", "not found",
                   "[sso-session ghost]")
        self.fails(self.sb.run("--profile", "sess", "--sso-session", "ghost2"), 2, "sso-session 'ghost2'",
                   "--sso-session")

    def test_value_differs_between_profile_and_session(self):
        self.sb.write_config(BASE_CONFIG + "\n[profile clash]\nsso_session = dev\nsso_region = eu-west-1\n"
                             "sso_account_id = 111122223333\nsso_role_name = Admin\n"
                             "[profile same]\nsso_session = dev\nsso_region = us-east-1\n"
                             "sso_account_id = 111122223333\nsso_role_name = Admin\n")
        self.fails(self.sb.run("--profile", "clash"), 2, "sso_region differs between profile 'clash' "
                   "(eu-west-1) and [sso-session dev] (us-east-1)")
        self.sb.write_token("dev")
        self.ok(self.sb.run("--profile", "same"))

    def test_every_missing_setting_at_once(self):
        self.sb.write_config("[profile empty]\nregion = us-east-1\n"
                             "[profile half]\nsso_session = bare\n[sso-session bare]\nk = v\n")
        err = self.fails(self.sb.run("--profile", "empty"), 2)
        for piece in ("account ID (--account-id, AWS_SSO_ACCOUNT_ID or sso_account_id in [profile empty])",
                      "role name (--role-name, AWS_SSO_ROLE_NAME or sso_role_name in [profile empty])",
                      "start URL (--start-url, AWS_SSO_START_URL or sso_start_url in [profile empty])",
                      "SSO region (--region, AWS_SSO_REGION or sso_region in [profile empty])"):
            self.assertIn(piece, err)
        err = self.fails(self.sb.run("--profile", "half", "--account-id", ACCOUNT), 2)
        self.assertNotIn("account ID", err)
        self.assertIn("sso_start_url in [sso-session bare]", err)
        self.assertIn("sso_region in [sso-session bare]", err)
        self.fails(self.sb.run(), 2, "account ID (--account-id, AWS_SSO_ACCOUNT_ID or sso_account_id)")

    def test_bad_values(self):
        self.fails(self.sb.run("--profile", "sess", "--account-id", "12345"), 2, "must be 12 digits")
        self.fails(self.sb.run("--profile", "sess", "--region", "us-east-1.evil.com/"), 2,
                   "not a region name")
        self.fails(self.sb.run("--profile", "sess", env={"AWS_SSO_CREDENTIAL_PROCESS_DEBUG": "sure"}), 2,
                   "AWS_SSO_CREDENTIAL_PROCESS_DEBUG must be true or false")
        self.fails(self.sb.run("--profile", "sess", env={"AWS_SSO_READ_TIMEOUT": "soon"}), 2,
                   "AWS_SSO_READ_TIMEOUT must be a number of seconds")

    def test_unparseable_config(self):
        self.sb.write_config(BASE_CONFIG + "\n[profile sess]\nregion = x\n")
        self.fails(self.sb.run("--profile", "sess"), 2, "cannot parse config file", "already exists")
        self.sb.write_config(BASE_CONFIG + "\n[profile x]\nthis line has no delimiter\n")
        self.fails(self.sb.run("--profile", "sess"), 2, "cannot parse config file")
        with open(self.sb.path(".aws", "config"), "wb") as f:
            f.write(b"[profile sess]\nsso_region = \xff\xfe\n")
        self.fails(self.sb.run("--profile", "sess"), 2, "cannot read config file")

    def test_bad_arguments(self):
        self.fails(self.sb.run("--profile"), 2, "--profile needs a value")
        self.fails(self.sb.run("--bogus"), 2, "unrecognized argument '--bogus'", "--help")
        self.fails(self.sb.run("--profile", "sess", "--interactive-please"), 2, "unrecognized")


class TestServiceErrors(SandboxTest):
    def setUp(self):
        super().setUp()
        self.sb.write_token("dev")

    def run_sess(self, *args, **kwargs):
        return self.sb.run("--profile", "sess", *args, **kwargs)

    def test_401_means_login_required(self):
        self.standin.tokens.clear()  # logged out elsewhere
        self.fails(self.run_sess(), 1, "rejected", "UnauthorizedException",
                   "Run: aws sso login --sso-session dev")
        self.assertEqual(self.standin.count(), 1, "401 is not retried")

    def test_403_names_role_and_account(self):
        self.fails(self.sb.run("--profile", "sess", "--role-name", "Nope"), 4,
                   "no access to role Nope in account 111122223333", "ForbiddenException: No access")

    def test_404_is_access_denied(self):
        self.standin.fail("/federation/credentials", status=404, error="ResourceNotFoundException",
                          message="Could not find role")
        self.fails(self.run_sess(), 4, "no access to role Admin", "Could not find role")

    def test_other_4xx_is_a_service_error(self):
        self.standin.fail("/federation/credentials", status=400, error="InvalidRequestException",
                          message="bad")
        self.fails(self.run_sess(), 5, "GetRoleCredentials failed (InvalidRequestException: bad)")

    def test_throttling_and_5xx_are_retried(self):
        self.standin.fail("/federation/credentials", status=429, error="TooManyRequestsException")
        self.standin.fail("/federation/credentials", status=503, error="ServiceUnavailable")
        self.ok(self.run_sess())
        self.assertEqual(self.standin.count(), 3)

    def test_gives_up_after_three_attempts(self):
        self.standin.fail("/federation/credentials", times=5, status=429, error="TooManyRequestsException",
                          message="Rate exceeded")
        self.fails(self.run_sess(), 5, "TooManyRequestsException", "Rate exceeded")
        self.assertEqual(self.standin.count(), 3)
        self.standin.faults.clear()
        self.standin.fail("/federation/credentials", times=5, status=500, error="InternalServerException")
        self.fails(self.run_sess(), 5, "InternalServerException")
        self.assertEqual(self.standin.count(), 6)

    def test_dropped_connection_is_retried(self):
        self.standin.fail("/federation/credentials", drop=True)
        self.ok(self.run_sess())
        self.assertEqual(self.standin.count(), 2)

    def test_read_timeout_is_retried_then_reported(self):
        self.standin.fail("/federation/credentials", delay=3)
        self.ok(self.run_sess(env={"AWS_SSO_READ_TIMEOUT": "0.5"}))
        self.assertEqual(self.standin.count(), 2)
        # Each delayed response would succeed after 3 s: failing proves every read was cut short.
        self.standin.fail("/federation/credentials", times=3, delay=3)
        self.fails(self.run_sess("--force-refresh", env={"AWS_SSO_READ_TIMEOUT": "0.5"}), 5, "timed out",
                   "AWS_SSO_READ_TIMEOUT")
        self.assertEqual(self.standin.count(), 5)

    def test_unreachable_endpoint(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.fails(self.run_sess(env={"AWS_ENDPOINT_URL_SSO": "http://127.0.0.1:%d" % port}), 5,
                   "cannot reach the SSO service at 127.0.0.1:%d: 3 attempts" % port)

    def test_redirect_is_not_followed(self):
        thief = StandIn()
        self.addCleanup(thief.close)
        self.standin.fail("/federation/credentials", redirect=thief.url + "/federation/credentials")
        self.fails(self.run_sess(), 5, "redirect", "not following it")
        self.assertEqual(thief.count(), 0, "the bearer token must not travel to another host")
        self.standin.fail("/federation/credentials", status=307, redirect=thief.url + "/x")
        self.fails(self.run_sess(), 5, "HTTP 307")
        self.assertEqual(thief.count(), 0)

    def test_garbage_response(self):
        for raw in (b"<html>oops</html>", b"{\"roleCredentials\": {\"accessKeyId\": \"A\"}}", b""):
            with self.subTest(raw=raw):
                self.standin.fail("/federation/credentials", raw=raw)
                self.fails(self.run_sess(), 5, "unexpected response")
        self.assertFalse(os.path.exists(self.sb.role_path(session="dev")), "nothing half-cached")

    def test_through_a_proxy_and_around_it(self):
        # The stand-in also answers absolute-URI requests, as a forward proxy.
        env = {"AWS_ENDPOINT_URL_SSO": "http://portal.sso.invalid", "HTTP_PROXY": self.standin.url}
        self.ok(self.run_sess(env=env))
        [call] = self.standin.calls_to("/federation/credentials")
        self.assertTrue(call.proxied)
        env = {"HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1"}
        self.ok(self.run_sess("--force-refresh", env=env))
        self.assertFalse(self.standin.calls_to("/federation/credentials")[-1].proxied)

    def test_endpoint_from_config_sections(self):
        self.sb.write_config(BASE_CONFIG + textwrap.dedent("""
            [profile via-services]
            sso_session = dev
            sso_account_id = 111122223333
            sso_role_name = Admin
            services = local
            [services local]
            sso =
              endpoint_url = %s
            [profile via-endpoint-url]
            sso_session = dev
            sso_account_id = 111122223333
            sso_role_name = ReadOnly
            endpoint_url = %s
            """ % (self.standin.url, self.standin.url)))
        env = {"AWS_ENDPOINT_URL_SSO": None, "AWS_ENDPOINT_URL_SSO_OIDC": None}
        self.ok(self.sb.run("--profile", "via-services", env=env))
        self.ok(self.sb.run("--profile", "via-endpoint-url", env=env))
        self.ok(self.sb.run("--profile", "sess", "--role-name", "ReadOnly", "--account-id", "444455556666",
                            env=dict(env, AWS_ENDPOINT_URL=self.standin.url)))
        self.assertEqual(self.standin.count("/federation/credentials"), 3)


class TestTls(SandboxTest):
    tls = True

    def setUp(self):
        super().setUp()
        self.sb.write_token("dev")
        self.ca = os.path.join(self.sb.root, "ca.pem")
        with open(self.ca, "w") as f:
            f.write(TEST_CA_PEM)

    def test_ca_bundle_from_env_and_profile(self):
        self.ok(self.sb.run("--profile", "sess", env={"AWS_CA_BUNDLE": self.ca}))
        self.sb.write_config(BASE_CONFIG.replace("[profile sess]\n", "[profile sess]\nca_bundle = %s\n" % self.ca))
        self.ok(self.sb.run("--profile", "sess", "--force-refresh"))
        self.assertEqual(self.standin.count("/federation/credentials"), 2)

    def test_untrusted_certificate(self):
        self.fails(self.sb.run("--profile", "sess"), 5, "TLS certificate verification failed",
                   "AWS_CA_BUNDLE")
        self.assertEqual(self.standin.count(), 0)

    def test_https_through_a_connect_proxy(self):
        proxy = StandIn()
        self.addCleanup(proxy.close)
        env = {"AWS_CA_BUNDLE": self.ca, "HTTPS_PROXY": "http://user:p%%40ss@127.0.0.1:%d"
               % proxy.server.server_address[1]}
        self.ok(self.sb.run("--profile", "sess", env=env))
        [connect] = proxy.calls
        self.assertEqual(connect.method, "CONNECT")
        self.assertEqual(connect.path, self.standin.url.split("//")[1])
        self.assertEqual(connect.headers["Proxy-Authorization"], "Basic dXNlcjpwQHNz")  # user:p@ss
        self.assertEqual(self.standin.count("/federation/credentials"), 1, "the request went through the tunnel")
        # the proxy saw only the tunnel, never the token
        self.assertNotIn("x-amz-sso_bearer_token", connect.headers)

    def test_missing_ca_bundle(self):
        self.fails(self.sb.run("--profile", "sess", env={"AWS_CA_BUNDLE": "/nonexistent.pem"}), 2,
                   "cannot load the CA bundle /nonexistent.pem (from AWS_CA_BUNDLE)")


class TestDebugLog(SandboxTest):
    def log_text(self):
        path = self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            return f.read()

    def test_log_shows_decisions_and_no_secrets(self):
        token = self.sb.write_token("dev", refreshToken="refresh-secret-value", clientId="cid",
                                    clientSecret="client-secret-value")
        doc = self.ok(self.sb.run("--profile", "sess", "--debug"))
        self.ok(self.sb.run("--profile", "sess", env={"AWS_SSO_CREDENTIAL_PROCESS_DEBUG": "true"}))
        text = self.log_text()
        for expected in ("sso_session=dev (profile 'sess')", "region=us-east-1 (sso-session 'dev')",
                         "token cache", "HTTP GET 127.0.0.1", "/federation/credentials?role_name=Admin",
                         "-> 200", "role cache hit"):
            self.assertIn(expected, text)
        for secret in (token, "refresh-secret-value", "client-secret-value", doc["SecretAccessKey"],
                       doc["SessionToken"]):
            self.assertNotIn(secret, text)

    def test_errors_and_log_file_mode(self):
        path = self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt")
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write("an old world-readable log\n")
        os.chmod(path, 0o644)
        self.fails(self.sb.run("--profile", "sess", "--debug"), 1, "not logged in")
        self.assertIn("error (exit 1)", self.log_text())

    def test_unwritable_log_is_a_warning_not_a_failure(self):
        os.makedirs(self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt"))  # a directory
        self.sb.write_token("dev")
        r = self.sb.run("--profile", "sess", "--debug")
        self.assertEqual((r.rc, json.loads(r.out)["Version"]), (0, 1))
        self.assertRegex(r.err, r"^aws-sso-credential-process: warning: cannot write the debug log .*\n$")

    def test_no_log_without_debug(self):
        self.sb.write_token("dev")
        self.ok(self.sb.run("--profile", "sess"))
        self.assertFalse(os.path.exists(self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt")))


class TestCacheHitImports(SandboxTest):
    """The cache-hit path imports nothing beyond the interpreter's own start-up."""

    def imported(self, *args):
        p = subprocess.run([sys.executable, "-X", "importtime"] + list(args), env=self.sb.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.sb.root)
        lines = p.stderr.decode().splitlines()
        return p, {line.split("|")[-1].strip() for line in lines if line.startswith("import time:")}

    def test_cache_hit_imports(self):
        self.sb.write_token("dev")
        self.ok(self.sb.run("--profile", "sess"))
        _, bare = self.imported("-c", "pass")
        p, ours = self.imported(SCRIPT, "--profile", "sess")
        self.assertEqual(p.returncode, 0)
        extra = ours - bare
        self.assertLessEqual(extra, {"_sha1", "_json"}, sorted(extra))
        for heavy in ("urllib", "urllib.request", "ssl", "http", "http.client", "email", "webbrowser",
                      "json", "re", "configparser", "argparse", "logging", "datetime", "hashlib"):
            self.assertNotIn(heavy, extra)


# --------------------------------------------------------------------------
# The real SDK on the other side
# --------------------------------------------------------------------------


class TestWithBotocore(SandboxTest):
    def test_boto3_runs_the_script_as_credential_process(self):
        self.sb.write_token("dev")
        self.sb.write_config(BASE_CONFIG + "\n[profile app]\ncredential_process = %s\n"
                             % self.sb.credential_process_line("--profile", "sess"))
        got = self.sb.python("""
            import json, boto3
            creds = boto3.Session(profile_name="app").get_credentials()
            frozen = creds.get_frozen_credentials()
            print(json.dumps({"method": creds.method, "key": frozen.access_key,
                              "secret": frozen.secret_key, "token": frozen.token,
                              "account": getattr(frozen, "account_id", None),
                              "expiry": creds._expiry_time.isoformat()}))
            """)
        issued = self.issued()
        self.assertEqual(got["method"], "custom-process")
        self.assertEqual((got["key"], got["secret"], got["token"]),
                         (issued["accessKeyId"], issued["secretAccessKey"], issued["sessionToken"]))
        self.assertEqual(got["account"], ACCOUNT)
        self.assertTrue(got["expiry"].startswith(utc(issued["expiration"] // 1000)[:-1]))

    def test_failure_reaches_boto3_as_one_clear_line(self):
        self.sb.write_config(BASE_CONFIG + "\n[profile app]\ncredential_process = %s\n"
                             % self.sb.credential_process_line("--profile", "sess"))
        got = self.sb.python("""
            import json, boto3
            try:
                boto3.Session(profile_name="app").get_credentials().get_frozen_credentials()
            except Exception as e:
                print(json.dumps({"type": type(e).__name__, "msg": str(e)}))
            """)
        self.assertEqual(got["type"], "CredentialRetrievalError")
        self.assertIn("aws sso login --sso-session dev", got["msg"])

    def test_reads_a_token_botocore_refreshed(self):
        self.standin.add_client("cid", "csecret")
        self.standin.add_refresh_token("refresh-1", "cid")
        old = self.sb.write_token("dev", ttl=10 * 60, clientId="cid", clientSecret="csecret",
                                  refreshToken="refresh-1", registrationExpiresAt=utc(time.time() + 86400))
        self.sb.write_config(BASE_CONFIG + "\n[profile native]\nsso_session = dev\n"
                             "sso_account_id = 111122223333\nsso_role_name = ReadOnly\n")
        self.sb.python("""
            import json, boto3
            c = boto3.Session(profile_name="native").get_credentials().get_frozen_credentials()
            print(json.dumps(c.access_key))
            """)
        self.assertEqual(self.standin.count("/token"), 1, "botocore refreshed the token")
        with open(self.sb.token_path("dev")) as f:
            written = json.load(f)
        self.assertNotEqual(written["accessToken"], old)
        self.assertNotIn(old, self.standin.tokens, "the old token no longer works")
        self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(self.standin.calls_to("/federation/credentials")[-1].headers["x-amz-sso_bearer_token"],
                         written["accessToken"])

    def test_the_fast_form_from_the_readme(self):
        with open(os.path.join(HERE, "README.md")) as f:
            [line] = [l for l in f if l.startswith("credential_process = ") and "sys.path[:0]" in l]
        line = (line.replace("/usr/bin/python3", sys.executable)
                .replace("/home/me/.local/share/aws-sso-credential-process", HERE)
                .replace("--profile my-sso", "--profile sess"))
        self.sb.write_token("dev")
        self.sb.write_config(BASE_CONFIG + "\n[profile app]\n" + line)
        got = self.sb.python("""
            import json, boto3
            c = boto3.Session(profile_name="app").get_credentials().get_frozen_credentials()
            print(json.dumps([c.access_key, getattr(c, "account_id", None)]))
            """)
        self.assertEqual(got, [self.issued()["accessKeyId"], ACCOUNT])
        # and by hand, through sh -c as the Go, Java and JS SDKs run it
        p = subprocess.run(["sh", "-c", line.split("=", 1)[1]], env=self.sb.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        self.assertEqual(self.ok(Result(p.returncode, p.stdout.decode(), p.stderr.decode()))["AccessKeyId"],
                         got[0])

    CLI_STYLE = """
        import json, os, botocore.session
        from botocore.utils import JSONFileCache
        # What the AWS CLI v2 does at start-up (awscli/customizations/sso/__init__.py):
        # the SSO provider's cache becomes JSONFileCache(~/.aws/cli/cache).
        session = botocore.session.Session(profile="native")
        provider = session.get_component("credential_provider").get_provider("sso")
        provider.cache = JSONFileCache(os.path.expanduser(os.path.join("~", ".aws", "cli", "cache")))
        c = session.get_credentials().get_frozen_credentials()
        print(json.dumps([c.access_key, c.secret_key, c.token]))
        """

    def test_shares_the_cli_role_cache_both_ways(self):
        self.sb.write_token("dev")
        self.sb.write_config(BASE_CONFIG + "\n[profile native]\nsso_session = dev\n"
                             "sso_account_id = 111122223333\nsso_role_name = Admin\n")
        # the CLI first: we reuse its entry
        cli = self.sb.python(self.CLI_STYLE)
        self.assertEqual(self.standin.count("/federation/credentials"), 1)
        path = self.sb.role_path(session="dev")
        with open(path) as f:
            cli_file = f.read()
        doc = self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual([doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"]], cli)
        self.assertEqual(self.standin.count("/federation/credentials"), 1)
        # then us first: the CLI reuses ours, and the two files are byte-identical
        os.remove(path)
        doc = self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(self.standin.count("/federation/credentials"), 2)
        with open(path) as f:
            ours = f.read()
        self.assertEqual(self.sb.python(self.CLI_STYLE),
                         [doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"]])
        self.assertEqual(self.standin.count("/federation/credentials"), 2)
        self.assertEqual(json.loads(ours).keys(), json.loads(cli_file).keys())
        self.assertEqual(ours, cli_file.replace(json.loads(cli_file)["Credentials"]["AccessKeyId"],
                                                doc["AccessKeyId"])
                         .replace(json.loads(cli_file)["Credentials"]["SecretAccessKey"], doc["SecretAccessKey"])
                         .replace(json.loads(cli_file)["Credentials"]["SessionToken"], doc["SessionToken"])
                         .replace(json.loads(cli_file)["Credentials"]["Expiration"], doc["Expiration"]))

    def test_sso_logout_sweeps_our_entries(self):
        # `aws sso logout` deletes every ~/.aws/cli/cache file whose JSON has
        # ProviderType "sso" (awscli/customizations/sso/logout.py); the CLI v2
        # is not on PyPI, so this applies its rule to what we wrote.
        self.sb.write_token("dev")
        self.ok(self.sb.run("--profile", "sess"))
        self.ok(self.sb.run("--profile", "sess", "--role-name", "ReadOnly"))
        cache = self.sb.path(".aws", "cli", "cache")
        with open(os.path.join(cache, "assume-role-entry.json"), "w") as f:
            json.dump({"ProviderType": "assume-role", "Credentials": {}}, f)
        swept = []
        for name in os.listdir(cache):
            try:
                with open(os.path.join(cache, name)) as f:
                    contents = json.load(f)
            except Exception:
                continue
            if contents.get("ProviderType") == "sso":
                os.remove(os.path.join(cache, name))
                swept.append(name)
        self.assertEqual(len(swept), 2)
        self.assertEqual([n for n in os.listdir(cache) if not n.endswith(".json.lock")],
                         ["assume-role-entry.json"], "only our lock files stay, and they hold no credentials")


# --------------------------------------------------------------------------
# Refresh, login, and one of each for any number of processes
# --------------------------------------------------------------------------


def token_on_disk(sb, name="dev"):
    with open(sb.token_path(name)) as f:
        text = f.read()
    return text, json.loads(text)


class TestRefresh(SandboxTest):
    def setUp(self):
        super().setUp()
        self.standin.add_client("cid", "csecret")
        self.standin.add_refresh_token("refresh-1", "cid")

    def refreshable_token(self, ttl, registration_ttl=86400, **extra):
        return self.sb.write_token("dev", ttl=ttl, clientId="cid", clientSecret="csecret",
                                   refreshToken="refresh-1",
                                   registrationExpiresAt=utc(time.time() + registration_ttl), **extra)

    def test_refreshes_within_fifteen_minutes_and_writes_back_like_botocore(self):
        registration = utc(time.time() + 86400)
        old = self.sb.write_token("dev", ttl=10 * 60, clientId="cid", clientSecret="csecret",
                                  refreshToken="refresh-1", registrationExpiresAt=registration,
                                  startUrl="https://stale.example/start", somethingElse="dropped")
        self.ok(self.sb.run("--profile", "sess"))
        [call] = self.standin.calls_to("/token")
        self.assertEqual(call.body.decode(), '{"grantType": "refresh_token", "clientId": "cid", '
                                             '"clientSecret": "csecret", "refreshToken": "refresh-1"}')
        self.assertEqual(call.headers["Content-Type"], "application/json")
        text, doc = token_on_disk(self.sb)
        self.assertEqual(list(doc), ["startUrl", "region", "accessToken", "expiresAt", "clientId",
                                     "clientSecret", "registrationExpiresAt", "refreshToken"])
        self.assertEqual(text, json.dumps(doc), "json.dumps format, no trailing newline")
        self.assertEqual((doc["startUrl"], doc["region"], doc["clientId"], doc["clientSecret"],
                          doc["registrationExpiresAt"]), (START_URL, "us-east-1", "cid", "csecret", registration))
        self.assertNotEqual(doc["accessToken"], old)
        self.assertNotEqual(doc["refreshToken"], "refresh-1")
        self.assertRegex(doc["expiresAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertAlmostEqual(acp.parse_time(doc["expiresAt"]), time.time() + self.standin.token_ttl, delta=10)
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.token_path("dev")).st_mode), 0o600)
        [fetch] = self.standin.calls_to("/federation/credentials")
        self.assertEqual(fetch.headers["x-amz-sso_bearer_token"], doc["accessToken"])

    def test_no_refresh_while_more_than_fifteen_minutes_remain(self):
        self.refreshable_token(ttl=20 * 60)
        self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(self.standin.count("/token"), 0)

    def test_an_expired_token_is_refreshed(self):
        self.refreshable_token(ttl=-3600)
        self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(self.standin.grants(), ["refresh_token"])

    def test_legacy_token_with_refresh_data_is_refreshed_too(self):
        # what this script's own legacy login writes (it registers with sso:account:access)
        self.sb.write_token(START_URL, ttl=-60, clientId="cid", clientSecret="csecret", refreshToken="refresh-1",
                            registrationExpiresAt=utc(time.time() + 86400))
        self.ok(self.sb.run("--profile", "legacy"))
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        self.assertEqual(token_on_disk(self.sb, START_URL)[1]["startUrl"], START_URL)

    def test_legacy_token_without_refresh_data_is_not_refreshed(self):
        self.sb.write_token(START_URL, ttl=10 * 60)
        self.ok(self.sb.run("--profile", "legacy"))
        self.assertEqual(self.standin.count("/token"), 0)

    def test_session_reached_its_maximum_duration(self):
        self.standin.session_end = time.time() - 1
        self.refreshable_token(ttl=-60)
        self.fails(self.sb.run("--profile", "sess"), 1, "has ended: it reached its maximum duration",
                   "InvalidGrantException", "Run: aws sso login --sso-session dev", "--interactive")

    def test_registration_expired(self):
        self.refreshable_token(ttl=-60, registration_ttl=-60)
        self.fails(self.sb.run("--profile", "sess"), 1, "cannot be refreshed: its client registration expired",
                   "Run: aws sso login --sso-session dev")
        self.assertEqual(self.standin.count("/token"), 0, "no refresh with an expired registration")

    def test_refresh_rejected(self):
        self.refreshable_token(ttl=-60)
        self.standin.clients["cid"] = "rotated"
        self.fails(self.sb.run("--profile", "sess"), 1, "was rejected", "InvalidClientException",
                   "Run: aws sso login --sso-session dev")

    def test_failed_refresh_keeps_the_valid_token_and_waits_a_minute(self):
        token = self.refreshable_token(ttl=10 * 60)
        self.standin.fail("/token", status=400, error="InvalidRequestException", message="try later")
        self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(self.standin.calls_to("/federation/credentials")[-1].headers["x-amz-sso_bearer_token"],
                         token)
        self.ok(self.sb.run("--profile", "sess", "--force-refresh"))
        self.assertEqual(self.standin.count("/token"), 1, "no second attempt within 60 s")
        self.assertEqual(token_on_disk(self.sb)[1]["accessToken"], token)

    def test_a_refresh_helps_when_the_portal_rejects_the_token(self):
        token = self.refreshable_token(ttl=3 * 3600)
        del self.standin.tokens[token]  # revoked on the server
        self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        self.assertEqual(self.standin.count("/federation/credentials"), 2)


class TestReadOnlyTokenCache(SandboxTest):
    def test_a_token_that_cannot_be_saved_still_serves_the_run(self):
        from unittest import mock
        self.standin.add_client("cid", "csecret")
        self.standin.add_refresh_token("refresh-1", "cid")
        old = self.sb.write_token("dev", ttl=-60, clientId="cid", clientSecret="csecret", refreshToken="refresh-1",
                                  registrationExpiresAt=utc(time.time() + 86400))
        cfg = acp.resolve_config({"profile": "sess"}, dict(self.sb.env))
        ctx = acp.Context(cfg, acp.Log(), stderr=io.StringIO())
        with mock.patch.object(acp, "write_file_atomic", side_effect=PermissionError(13, "Read-only")):
            creds = acp.get_credentials(cfg, ctx)
        self.assertEqual(creds["AccessKeyId"], self.issued()["accessKeyId"])
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        self.assertEqual(token_on_disk(self.sb)[1]["accessToken"], old, "the file was left alone")


class TestDeviceFlowSteps(SandboxTest):
    """The polling rules, with a recorded sleep instead of a real one."""

    def login(self, fault_script=(), approve_at=None, **cfg_fields):
        self.standin.auto_approve = approve_at
        for fault in fault_script:
            self.standin.fail("/token", **fault)
        cfg = acp.resolve_config({"profile": "legacy", "interactive": True, "no_browser": True},
                                 dict(self.sb.env))
        for k, v in cfg_fields.items():
            setattr(cfg, k, v)
        sleeps, browsed = [], []
        clock = [time.time()]

        def sleep(seconds):
            sleeps.append(seconds)
            clock[0] += seconds

        ctx = acp.Context(cfg, acp.Log(), now=lambda: clock[0], sleep=sleep, stderr=io.StringIO(),
                          open_browser=lambda url: browsed.append(url) or True)
        path = self.sb.token_path(START_URL)
        return lambda: acp.login(cfg, ctx, path), sleeps, ctx

    def test_pending_then_slow_down_then_success(self):
        # SPEC 4.7: one attempt before the prompt, one right after it, then sleep
        run, sleeps, ctx = self.login([
            {"status": 400, "error": "AuthorizationPendingException", "message": "pending"},
            {"status": 400, "error": "SlowDownException", "message": "slow down"}], approve_at=1)
        token = run()
        self.assertEqual(sleeps, [6], "slow_down adds five seconds to the 1 s interval")
        self.assertEqual(self.standin.grants(), [acp.DEVICE_GRANT] * 3)
        self.assertIn(token["accessToken"], self.standin.tokens)
        prompt = ctx.stderr.getvalue()
        self.assertIn(self.standin.url + "/device?user_code=", prompt)

    def test_interval_from_the_service_and_cumulative_slow_down(self):
        self.standin.device_interval = 3
        run, sleeps, _ = self.login([
            {"status": 400, "error": "AuthorizationPendingException"},
            {"status": 400, "error": "AuthorizationPendingException"},
            {"status": 400, "error": "SlowDownException"},
            {"status": 400, "error": "SlowDownException"},
            {"status": 400, "error": "AuthorizationPendingException"}], approve_at=1)
        run()
        self.assertEqual(sleeps, [3, 8, 13, 13])

    def test_expired_and_denied(self):
        for fault, phrase in [({"status": 400, "error": "ExpiredTokenException"}, "login code expired"),
                              ({"status": 400, "error": "AccessDeniedException", "message": "no"},
                               "denied in the browser")]:
            with self.subTest(fault=fault):
                run, _, _ = self.login([{"status": 400, "error": "AuthorizationPendingException"}, fault])
                with self.assertRaises(acp.LoginFailed) as cm:
                    run()
                self.assertIn(phrase, str(cm.exception))

    def test_gives_up_when_never_approved(self):
        run, sleeps, _ = self.login(login_timeout=30)
        with self.assertRaises(acp.LoginFailed) as cm:
            run()
        self.assertIn("not approved in the browser within", str(cm.exception))
        self.assertEqual(sum(sleeps), 30)


class TestLoginPieces(unittest.TestCase):
    def test_pkce_challenge_vector(self):
        self.assertEqual(acp.pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                         "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")

    def test_registration_cache_keys(self):
        cfg = acp.Config()
        cfg.start_url, cfg.region = START_URL, "us-east-1"
        for session, scopes, key in [("dev", ["sso:account:access"], "c6b2fc6aec0d9c2d2652036ffbe173a43a8ba2c3"),
                                     ("dev", None, "f84477c4544ffee122d4e7b0f5d942797620c4b1"),
                                     (None, None, "c7029af06842ab71c7d71a4f2d85fc584e0c5528")]:
            cfg.sso_session, cfg.scopes = session, scopes
            self.assertEqual(acp.registration_cache_key(cfg), key)

    def test_scopes_are_parsed_like_the_cli(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        with open(os.path.join(tmp, "config"), "w") as f:
            f.write("[profile p]\nsso_session = s\nsso_account_id = 111122223333\nsso_role_name = R\n"
                    "[sso-session s]\nsso_start_url = u\nsso_region = us-east-1\n"
                    "sso_registration_scopes = sso:account:access , ,codewhisperer:completions,\n")
        cfg = acp.resolve_config({"profile": "p"}, {"AWS_CONFIG_FILE": os.path.join(tmp, "config"), "HOME": tmp})
        self.assertEqual(cfg.scopes, ["sso:account:access", "codewhisperer:completions"])

    def test_local_browser_detection(self):
        for environ, expected in [({}, False), ({"DISPLAY": ":0"}, not os.path.exists("/.dockerenv")
                                                and not os.path.exists("/run/.containerenv")),
                                  ({"DISPLAY": ":0", "container": "podman"}, False),
                                  ({"BROWSER": "firefox"}, True), ({"SSH_CONNECTION": "x"}, False)]:
            self.assertEqual(acp.local_browser_possible(environ), expected, environ)

    def test_text_browsers_are_never_started(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        marker = os.path.join(tmp, "ran")
        for name in ("lynx", "w3m"):
            with open(os.path.join(tmp, name), "w") as f:
                f.write("#!/bin/sh\ntouch %s\n" % marker)
            os.chmod(os.path.join(tmp, name), 0o755)
        lines = []
        log = lambda msg, *args: lines.append(msg % args)  # noqa: E731
        browser = os.pathsep.join([os.path.join(tmp, "lynx") + " %s", os.path.join(tmp, "w3m")])
        self.assertFalse(acp.launch_browser("https://x/", {"BROWSER": browser}, log))
        time.sleep(0.2)
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(sum("text-mode browser" in line for line in lines), 2)


class TestInteractiveLogin(SandboxTest):
    def test_off_by_default_and_says_how_to_turn_it_on(self):
        self.fails(self.sb.run("--profile", "sess", env=self.sb.browser()), 1,
                   "Run: aws sso login --sso-session dev (or let this script log in: --interactive)")
        self.assertEqual(self.standin.count(), 0)
        self.assertEqual(self.sb.visits(), [])

    def test_device_flow_end_to_end(self):
        r = self.sb.run("--profile", "legacy", "-i", env=self.sb.browser())
        doc = self.ok(r, prompt=True)
        self.assertEqual(doc["AccessKeyId"], self.issued()["accessKeyId"])
        [visit] = self.sb.visits()
        self.assertTrue(visit["url"].startswith(self.standin.url + "/device?user_code="))
        # the browser was detached: none of our stdio, and its own session
        self.assertEqual(visit["fds"], {"0": "/dev/null", "1": "/dev/null", "2": "/dev/null"})
        self.assertNotEqual(visit["sid"], os.getsid(0))
        paths = [c.path for c in self.standin.calls if c.path != "/device"]
        self.assertEqual(paths[:3], ["/client/register", "/device_authorization", "/token"])
        self.assertEqual(paths[-1], "/federation/credentials")
        [register] = self.standin.calls_to("/client/register")
        body = json.loads(register.body)
        self.assertEqual(list(body), ["clientName", "clientType", "scopes"])
        self.assertTrue(body["clientName"].startswith("botocore-client-"))
        self.assertEqual(body["scopes"], ["sso:account:access"], "always registered for refresh tokens")
        [start] = self.standin.calls_to("/device_authorization")
        self.assertEqual(list(json.loads(start.body)), ["clientId", "clientSecret", "startUrl"])
        self.assertEqual(json.loads(start.body)["startUrl"], START_URL)
        # the token is cached under the start URL, in the CLI's format, with a refresh token
        text, token = token_on_disk(self.sb, START_URL)
        self.assertEqual(list(token), ["startUrl", "region", "accessToken", "expiresAt", "clientId",
                                       "clientSecret", "registrationExpiresAt", "refreshToken"])
        self.assertEqual(text, json.dumps(token))
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.token_path(START_URL)).st_mode), 0o600)
        # the registration is cached under the CLI's legacy key, in its shape
        reg_path = self.sb.path(".aws", "sso", "cache", "c7029af06842ab71c7d71a4f2d85fc584e0c5528.json")
        with open(reg_path) as f:
            registration = json.load(f)
        self.assertEqual(list(registration), ["clientId", "clientSecret", "expiresAt", "scopes"])
        self.assertEqual(registration["expiresAt"], token["registrationExpiresAt"])
        # the prompt went to stderr (no terminal here); stdout held only the JSON
        self.assertIn("open %s/device and enter the code %s," % (self.standin.url, visit["url"].split("=")[1]),
                      r.err)

    def test_prompt_goes_to_the_terminal_not_the_captured_streams(self):
        self.standin.auto_approve = 2
        result, terminal = self.sb.run_in_terminal("--profile", "legacy", "--interactive", "--no-browser")
        self.ok(result)
        [device] = [c for c in self.standin.calls if c.path == "/device_authorization"]
        self.assertIn("open %s/device and enter the code" % self.standin.url, terminal)
        self.assertIn("logged in to start URL %s" % START_URL, terminal)
        self.assertEqual(result.err, "", "nothing on stderr: botocore would only show it after a failure")

    def test_prompt_falls_back_to_stderr(self):
        self.standin.auto_approve = 2
        r = self.sb.run("--profile", "legacy", "-i", "--no-browser")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("open %s/device and enter the code" % self.standin.url, r.err)
        self.assertIn("(open the link yourself)", r.err)
        self.assertEqual(json.loads(r.out)["Version"], 1)
        self.assertEqual(self.sb.visits(), [])

    def test_no_terminal_and_no_browser_fails_fast(self):
        r = self.sb.run("--profile", "legacy", "-i")
        self.fails(r, 1, "cannot log in here", "no browser could be opened", "aws sso login --profile legacy",
                   prompt=True)
        self.assertEqual(self.standin.count("/token"), 1, "no polling that nobody can answer")

    def test_pkce_end_to_end_and_botocore_uses_the_token(self):
        self.standin.token_ttl = 10 * 60  # so that botocore will want to refresh it
        r = self.sb.run("--profile", "sess", "--interactive", env=self.sb.browser())
        self.ok(r, prompt=True)
        [authorize] = self.standin.calls_to("/authorize")
        self.assertEqual(list(authorize.query), ["response_type", "client_id", "redirect_uri", "state",
                                                 "code_challenge_method", "scopes", "code_challenge"])
        self.assertRegex(authorize.query["redirect_uri"], r"^http://127\.0\.0\.1:\d+/oauth/callback$")
        self.assertEqual(authorize.query["scopes"], "sso:account:access")
        [visit] = self.sb.visits()
        self.assertIn("redirect_uri=http%3A%2F%2F127.0.0.1%3A", visit["url"])
        self.assertIn("&scopes=sso%3Aaccount%3Aaccess&code_challenge=", visit["url"])
        [exchange] = [json.loads(c.body) for c in self.standin.calls_to("/token")]
        self.assertEqual(list(exchange), ["grantType", "clientId", "clientSecret", "redirectUri", "codeVerifier",
                                          "code"])
        self.assertEqual(exchange["redirectUri"], authorize.query["redirect_uri"])
        self.assertEqual(len(exchange["codeVerifier"]), 64)
        self.assertEqual(acp.pkce_challenge(exchange["codeVerifier"]), authorize.query["code_challenge"])
        [register] = self.standin.calls_to("/client/register")
        self.assertEqual(json.loads(register.body), {
            "clientName": "botocore-client-dev", "clientType": "public", "grantTypes": acp.PKCE_GRANTS,
            "redirectUris": ["http://127.0.0.1/oauth/callback"], "issuerUrl": START_URL,
            "scopes": ["sso:account:access"]})
        with open(self.sb.path(".aws", "sso", "cache", "c6b2fc6aec0d9c2d2652036ffbe173a43a8ba2c3.json")) as f:
            self.assertEqual(list(json.load(f)), ["clientId", "clientSecret", "expiresAt", "scopes", "grantTypes"])
        _, token = token_on_disk(self.sb)
        # botocore, natively, uses the token we wrote, and refreshes it with our registration
        self.sb.write_config(BASE_CONFIG + "\n[profile native]\nsso_session = dev\n"
                             "sso_account_id = 111122223333\nsso_role_name = ReadOnly\n")
        self.sb.python("""
            import json, boto3
            print(json.dumps(boto3.Session(profile_name="native").get_credentials().get_frozen_credentials().access_key))
            """)
        self.assertEqual(self.standin.grants(), ["authorization_code", "refresh_token"])
        _, refreshed = token_on_disk(self.sb)
        self.assertNotEqual(refreshed["accessToken"], token["accessToken"])
        self.assertEqual((refreshed["clientId"], refreshed["registrationExpiresAt"]),
                         (token["clientId"], token["registrationExpiresAt"]))
        # and the CLI's registration is reused by a second login (CLI rules: 15 min left, auth-code grant)
        os.remove(self.sb.token_path("dev"))
        self.ok(self.sb.run("--profile", "sess", "-i", "--role-name", "ReadOnly", env=self.sb.browser()),
                prompt=True)
        self.assertEqual(self.standin.count("/client/register"), 1)

    def test_callback_server_binds_loopback_only_and_serves_one_path(self):
        self.ok(self.sb.run("--profile", "sess", "-i", env=self.sb.browser("probe")), prompt=True)
        with open(self.sb.visits_file + ".probes") as f:
            probes = json.load(f)
        self.assertEqual(probes, {"127.0.0.2": "ConnectionRefusedError", "other path": 404})
        with open(self.sb.visits_file + ".pages") as f:
            [page] = [json.loads(line) for line in f]
        self.assertIn("Signed in. You can close this tab", page)
        self.assertLess(len(page), 300, "a short page")

    def test_registration_reuse_follows_the_cli_rules(self):
        self.ok(self.sb.run("--profile", "sess", "-i", env=self.sb.browser()), prompt=True)
        self.assertEqual(self.standin.count("/client/register"), 1)
        # a PKCE registration is not used for the device flow, and vice versa (SPEC 3.3)
        os.remove(self.sb.token_path("dev"))
        self.ok(self.sb.run("--profile", "sess", "-i", "--use-device-code", "--force-refresh",
                            env=self.sb.browser()), prompt=True)
        self.assertEqual(self.standin.count("/client/register"), 2)
        reg_path = self.sb.path(".aws", "sso", "cache", "c6b2fc6aec0d9c2d2652036ffbe173a43a8ba2c3.json")
        with open(reg_path) as f:
            self.assertNotIn("grantTypes", json.load(f))
        os.remove(self.sb.token_path("dev"))
        self.ok(self.sb.run("--profile", "sess", "-i", "--use-device-code", "--force-refresh",
                            env=self.sb.browser()), prompt=True)
        self.assertEqual(self.standin.count("/client/register"), 2, "a live device registration is reused")
        # one with less than 15 minutes left is replaced
        with open(reg_path) as f:
            registration = json.load(f)
        registration["expiresAt"] = utc(time.time() + 10 * 60)
        with open(reg_path, "w") as f:
            json.dump(registration, f)
        os.remove(self.sb.token_path("dev"))
        self.ok(self.sb.run("--profile", "sess", "-i", "--use-device-code", "--force-refresh",
                            env=self.sb.browser()), prompt=True)
        self.assertEqual(self.standin.count("/client/register"), 3)

    def test_login_secrets_stay_out_of_the_log(self):
        self.ok(self.sb.run("--profile", "sess", "-i", "--debug", env=self.sb.browser()), prompt=True)
        _, token = token_on_disk(self.sb)
        [exchange] = [json.loads(c.body) for c in self.standin.calls_to("/token")]
        with open(self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt")) as f:
            log = f.read()
        self.assertIn("interactive login for sso-session 'dev' with the PKCE flow", log)
        for secret in (token["accessToken"], token["refreshToken"], token["clientSecret"], exchange["code"],
                       exchange["codeVerifier"], self.issued()["secretAccessKey"], self.issued()["sessionToken"]):
            self.assertNotIn(secret, log)
        self.ok(self.sb.run("--profile", "legacy", "-i", "--debug", env=self.sb.browser()), prompt=True)
        [start] = self.standin.calls_to("/device_authorization")
        with open(self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt")) as f:
            log = f.read()
        device_code = [json.loads(c.body)["deviceCode"] for c in self.standin.calls_to("/token")
                       if json.loads(c.body)["grantType"] == acp.DEVICE_GRANT][0]
        self.assertNotIn(device_code, log)

    def test_wrong_state_is_rejected(self):
        r = self.sb.run("--profile", "sess", "-i", env=dict(self.sb.browser("wrong-state"),
                                                            AWS_SSO_LOGIN_TIMEOUT="2"))
        self.fails(r, 3, "no sign-in arrived from the browser within 2s",
                   "1 response(s) with the wrong state were ignored", prompt=True)
        self.assertEqual(self.standin.grants(), [], "the forged code was never exchanged")
        self.assertFalse(os.path.exists(self.sb.token_path("dev")))

    def test_sign_in_denied(self):
        self.fails(self.sb.run("--profile", "sess", "-i", env=self.sb.browser("deny")), 3,
                   "sign-in failed (access_denied: User cancelled)", prompt=True)
        self.fails(self.sb.run("--profile", "legacy", "-i", env=self.sb.browser("deny")), 3,
                   "denied in the browser", prompt=True)

    def test_device_code_expires(self):
        self.standin.device_ttl = 1
        self.fails(self.sb.run("--profile", "legacy", "-i", "--no-browser"), 3, "login code expired", prompt=True)

    def test_flow_selection(self):
        cases = [  # (args, env, config addition, expected flow)
            (["--profile", "sess"], {}, "", "/authorize"),
            (["--profile", "sess", "--use-device-code"], {}, "", "/device_authorization"),
            (["--profile", "sess"], {"AWS_SSO_USE_DEVICE_CODE": "true"}, "", "/device_authorization"),
            (["--profile", "sess"], {}, "sso_use_device_code = true\n", "/device_authorization"),
            (["--profile", "legacy"], {}, "", "/device_authorization"),
        ]
        def forget_logins():
            for name in (START_URL, "dev"):
                if os.path.exists(self.sb.token_path(name)):
                    os.remove(self.sb.token_path(name))

        for args, env, extra, flow in cases:
            with self.subTest(args=args, env=env, extra=extra):
                self.sb.write_config(BASE_CONFIG.replace("sso_role_name = Admin\n\n[sso-session",
                                                         "sso_role_name = Admin\n%s\n[sso-session" % extra))
                forget_logins()
                before = self.standin.count(flow)
                self.ok(self.sb.run(*(args + ["-i", "--force-refresh"]), env=dict(self.sb.browser(), **env)),
                        prompt=True)
                self.assertEqual(self.standin.count(flow), before + 1)
        # no display, no BROWSER: a redirect to this machine could not be received, so device code
        forget_logins()
        self.sb.write_config(BASE_CONFIG)
        self.standin.auto_approve = 2
        before = self.standin.count("/device_authorization")
        self.ok(self.sb.run("--profile", "sess", "-i", "--no-browser", "--role-name", "ReadOnly"), prompt=True)
        self.assertEqual(self.standin.count("/authorize"), 1)
        self.assertEqual(self.standin.count("/device_authorization"), before + 1)

    def test_enabling_and_disabling(self):
        self.standin.auto_approve = 2
        config = BASE_CONFIG.replace("[profile legacy]\n", "[profile legacy]\nsso_interactive_auth = true\n")
        self.sb.write_config(config)
        self.fails(self.sb.run("--profile", "legacy", "-n", "--no-browser"), 1, "not logged in")
        self.fails(self.sb.run("--profile", "legacy", "--noninteractive", "--no-browser",
                               env={"AWS_SSO_INTERACTIVE_AUTH": "true"}), 1, "not logged in")
        self.fails(self.sb.run("--profile", "legacy", "-i", "-n"), 2, "contradict")
        self.ok(self.sb.run("--profile", "legacy", "--no-browser"), prompt=True)  # from the profile
        os.remove(self.sb.token_path(START_URL))
        self.sb.write_config(BASE_CONFIG)
        # from the environment; a configured BROWSER stays shut with AWS_SSO_DISABLE_BROWSER
        env = dict(self.sb.browser(), AWS_SSO_INTERACTIVE_AUTH="true", AWS_SSO_DISABLE_BROWSER="true")
        r = self.sb.run("--profile", "legacy", "--force-refresh", env=env)
        self.ok(r, prompt=True)
        self.assertIn("(open the link yourself)", r.err)
        self.assertEqual(self.standin.count("/device_authorization"), 2)
        self.assertEqual(self.sb.visits(), [])

    def test_portal_rejects_a_valid_looking_token(self):
        token = self.sb.write_token(START_URL)
        del self.standin.tokens[token]
        self.standin.auto_approve = 2
        self.ok(self.sb.run("--profile", "legacy", "-i", "--no-browser"), prompt=True)
        self.assertEqual(self.standin.count("/federation/credentials"), 2)
        self.assertEqual(self.standin.count("/device_authorization"), 1)


class TestOneOfEach(SandboxTest):
    """Twenty processes at once, as an IDE or a test runner starts them."""

    N = 20

    def storm(self, *args, env=None):
        procs = [self.sb.start(*args, env=env) for _ in range(self.N)]
        return [self.sb.finish(p, timeout=120) for p in procs]

    def test_one_refresh(self):
        self.standin.add_client("cid", "csecret")
        self.standin.add_refresh_token("refresh-1", "cid")
        self.sb.write_token("dev", ttl=-60, clientId="cid", clientSecret="csecret", refreshToken="refresh-1",
                            registrationExpiresAt=utc(time.time() + 86400))
        results = self.storm("--profile", "sess")
        keys = {self.ok(r)["AccessKeyId"] for r in results}
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        self.assertEqual(self.standin.count("/federation/credentials"), 1)
        self.assertEqual(len(keys), 1)

    def test_one_login_one_tab(self):
        results = self.storm("--profile", "legacy", "-i", env=self.sb.browser())
        keys = {self.ok(r, prompt=True)["AccessKeyId"] for r in results}
        self.assertEqual(len(self.sb.visits()), 1, "one browser tab")
        self.assertEqual(self.standin.count("/device_authorization"), 1)
        self.assertEqual(self.standin.count("/client/register"), 1)
        self.assertEqual(self.standin.count("/federation/credentials"), 1)
        self.assertEqual(len(keys), 1)

    def test_one_pkce_login(self):
        results = self.storm("--profile", "sess", "-i", env=self.sb.browser())
        for r in results:
            self.ok(r, prompt=True)
        self.assertEqual(len(self.sb.visits()), 1)
        self.assertEqual(self.standin.count("/authorize"), 1)
        self.assertEqual(self.standin.grants(), ["authorization_code"])

    def test_one_failed_refresh(self):
        self.standin.add_client("cid", "csecret")
        self.standin.add_refresh_token("refresh-1", "cid")
        self.standin.session_end = time.time() - 1
        self.sb.write_token("dev", ttl=-60, clientId="cid", clientSecret="csecret", refreshToken="refresh-1",
                            registrationExpiresAt=utc(time.time() + 86400))
        for r in self.storm("--profile", "sess"):
            self.fails(r, 1, "has ended: it reached its maximum duration")
        self.assertEqual(self.standin.grants(), ["refresh_token"])

    def test_one_fetch(self):
        self.sb.write_token("dev")
        results = self.storm("--profile", "sess")
        self.assertEqual(len({self.ok(r)["AccessKeyId"] for r in results}), 1)
        self.assertEqual(self.standin.count("/federation/credentials"), 1)

    def test_one_denied_login_is_not_twenty(self):
        results = self.storm("--profile", "legacy", "-i", env=self.sb.browser("deny"))
        for r in results:
            self.fails(r, 3, "denied in the browser", prompt=True)
        self.assertEqual(len(self.sb.visits()), 1)
        self.assertEqual(self.standin.count("/device_authorization"), 1)
        # a later run is not stuck with that answer
        self.standin.auto_approve = 2
        self.ok(self.sb.run("--profile", "legacy", "-i", "--no-browser"), prompt=True)


class TestLockHolders(SandboxTest):
    def hold_login_lock(self):
        """Start a process that takes the token lock and waits on a login nobody approves."""
        holder = self.sb.start("--profile", "legacy", "-i", "--no-browser")
        deadline = time.monotonic() + 30
        while self.standin.count("/device_authorization") < 1:
            self.assertLess(time.monotonic(), deadline, "the holder never started its login")
            time.sleep(0.05)
        return holder

    def test_sigkilled_holder_does_not_block(self):
        holder = self.hold_login_lock()
        holder.kill()  # SIGKILL: no chance to clean up
        holder.communicate()
        self.standin.auto_approve = 2
        r = self.sb.run("--profile", "legacy", "-i", "--no-browser", env={"AWS_SSO_LOCK_TIMEOUT": "20"})
        self.ok(r, prompt=True)
        self.assertEqual(self.standin.count("/device_authorization"), 2)

    def test_waiting_is_bounded(self):
        holder = self.hold_login_lock()
        try:
            r = self.sb.run("--profile", "legacy", "-i", "--no-browser", env={"AWS_SSO_LOCK_TIMEOUT": "1"})
            self.fails(r, 6, "timed out after 1s waiting for another aws-sso-credential-process (pid %d)"
                       % holder.pid, "AWS_SSO_LOCK_TIMEOUT")
        finally:
            holder.kill()
            holder.communicate()


# --------------------------------------------------------------------------
# make demo and make bench
# --------------------------------------------------------------------------


def mask(secret):
    return secret[:4] + "..." + secret[-4:] if len(secret) > 12 else "..."


def demo():
    """The main job end to end: boto3 gets credentials through the script."""
    standin = StandIn()
    sb = Sandbox(standin, config=None)
    try:
        print("aws-sso-credential-process %s demo\n" % acp.__version__)
        print("The SSO endpoints are a LOCAL STAND-IN at %s (no AWS account is used);" % standin.url)
        print("AWS_ENDPOINT_URL_SSO points there, just as it would redirect botocore.\n")
        config = sb.write_config("""
            [profile demo]
            credential_process = %s

            [profile demo-sso]
            sso_session = demo
            sso_account_id = 111122223333
            sso_role_name = Admin

            [sso-session demo]
            sso_start_url = https://d-abc123.awsapps.com/start
            sso_region = us-east-1
            """ % sb.credential_process_line("--profile", "demo-sso"))
        print("A throwaway ~/.aws/config (%s):" % config)
        with open(config) as f:
            print(textwrap.indent(f.read().strip(), "    ") + "\n")
        sb.write_token("demo")
        print("As if `aws sso login --sso-session demo` had run, a token is cached in")
        print("    %s\n" % sb.token_path("demo"))
        code = """
            import json, boto3
            creds = boto3.Session(profile_name="demo").get_credentials()
            f = creds.get_frozen_credentials()
            print(json.dumps({"method": creds.method, "key": f.access_key, "account": getattr(f, "account_id", None),
                              "expiry": str(creds._expiry_time)}))
            """
        for attempt in ("first", "second"):
            got = sb.python(code)
            print("boto3.Session(profile_name='demo').get_credentials(), %s call:" % attempt)
            print("    provider %s, access key %s, account %s, expires %s"
                  % (got["method"], mask(got["key"]), got["account"], got["expiry"]))
            print("    GetRoleCredentials calls at the stand-in so far: %d"
                  % standin.count("/federation/credentials"))
        print("\nThe second call was answered from %s," % os.path.dirname(sb.role_path(session="demo")))
        print("the AWS CLI v2's own cache, without touching the network.\n")

        print("Now five processes start at once with no login at all, and --interactive allowed.")
        print("A stand-in 'browser' approves the sign-in the way you would:")
        os.remove(sb.token_path("demo"))
        os.remove(sb.role_path(session="demo"))
        procs = [sb.start("--profile", "demo-sso", "--interactive", env=sb.browser()) for _ in range(5)]
        results = [sb.finish(p) for p in procs]
        print("    exit codes %s; browser tabs opened: %d; sign-ins: %d; GetRoleCredentials calls: %d"
              % ([r.rc for r in results], len(sb.visits()), standin.count("/authorize"),
                 standin.count("/federation/credentials") - 1))
        print("    the new token is in %s, where `aws sso login` would put it." % sb.token_path("demo"))
        return 0 if all(r.rc == 0 for r in results) else 1
    finally:
        standin.close()
        sb.cleanup()


def bench(rounds=40):
    """Cache-hit cost, side by side with the same interpreter, as ratios."""
    import statistics
    bindir = os.path.dirname(sys.executable)
    standin = StandIn()
    sb = Sandbox(standin, config="""
        [profile bench]
        sso_start_url = https://d-abc123.awsapps.com/start
        sso_region = us-east-1
        sso_account_id = 111122223333
        sso_role_name = Admin
        """)
    try:
        sb.write_token(START_URL)
        boot = "import sys; sys.path.insert(0, %r); import aws_sso_credential_process as m; sys.exit(m.main())" % HERE
        commands = [
            ("python3 -c pass (bare interpreter)", [sys.executable, "-c", "pass"]),
            ("python3 -I -S -c pass", [sys.executable, "-I", "-S", "-c", "pass"]),
            ("python3 aws_sso_credential_process.py", [sys.executable, SCRIPT, "--profile", "bench"]),
            ("python3 -I -S aws_sso_credential_process.py", [sys.executable, "-I", "-S", SCRIPT, "--profile", "bench"]),
            ("python3 -I -S -c 'import ...' (cached bytecode)", [sys.executable, "-I", "-S", "-c", boot,
                                                                 "--profile", "bench"]),
        ]
        for name, exe in (("aws-sso-credential-process 0.3.1", "aws-sso-credential-process"),
                          ("aws-sso-util credential-process", "aws-sso-util")):
            path = os.path.join(bindir, exe)
            if os.path.exists(path):
                commands.append((name, [sys.executable, path] + (["credential-process"] if exe == "aws-sso-util" else [])
                                 + ["--profile", "bench"]))
            else:
                print("(%s is not installed next to %s; skipped)" % (exe, sys.executable))
        # Warm every cache: the first run fetches, the others must all hit the same entry.
        for name, cmd in commands[2:]:
            p = subprocess.run(cmd, env=sb.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if p.returncode != 0:
                raise SystemExit("%s failed: %s" % (name, p.stderr.decode()))
        warm_calls = standin.count()
        times = {name: [] for name, _ in commands}
        rng = random.Random(1)
        for _ in range(rounds):
            order = list(commands)
            rng.shuffle(order)  # interleaved, so drift hits every command alike
            for name, cmd in order:
                started = time.perf_counter()
                subprocess.run(cmd, env=sb.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - started)
        # Peak memory through GNU time: a child forked from this (larger)
        # process would report this process's size as its own peak.
        rss = {}
        gnu_time = shutil.which("time", path="/usr/bin:/bin")
        for name, cmd in commands if gnu_time else ():
            peaks = []
            for _ in range(5):
                p = subprocess.run([gnu_time, "-f", "%M"] + cmd, env=sb.env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
                peaks.append(int(p.stderr.decode().split()[-1]))
            rss[name] = max(peaks) / 1024
        if standin.count() != warm_calls or warm_calls != 1:
            raise SystemExit("the timed runs were not all cache hits (%d portal calls)" % standin.count())
        bare = statistics.median(times[commands[0][0]])
        print("Cache hit, %d interleaved runs each, %s (Python %s)\n"
              % (rounds, sys.executable, sys.version.split()[0]))
        print("%-50s %9s %9s %8s %9s" % ("command", "median", "min", "ratio", "peak RSS"))
        for name, _ in commands:
            med = statistics.median(times[name])
            print("%-50s %7.1fms %7.1fms %7.2fx %7s" % (
                name, med * 1000, min(times[name]) * 1000, med / bare,
                "%.1fMB" % rss[name] if name in rss else "n/a"))
        print("\nratio = median / median of the bare interpreter; portal calls during the timed runs: 0")
        return 0
    finally:
        standin.close()
        sb.cleanup()


def probe_callback_server(url):
    """Record whether the login's callback server answers on another loopback
    address (it must bind 127.0.0.1 only) and on another path (it must not)."""
    import urllib.error
    import urllib.parse
    import urllib.request
    redirect = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["redirect_uri"][0]
    port = urllib.parse.urlsplit(redirect).port
    probes = {}
    try:
        socket.create_connection(("127.0.0.2", port), timeout=2).close()
        probes["127.0.0.2"] = "connected"
    except OSError as e:
        probes["127.0.0.2"] = type(e).__name__
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/favicon.ico" % port, timeout=5)
        probes["other path"] = 200
    except urllib.error.HTTPError as e:
        probes["other path"] = e.code
    with open(os.environ["FAKE_BROWSER_LOG"] + ".probes", "w") as f:
        json.dump(probes, f)


def fake_browser(url):
    """The BROWSER the tests hand the script: records how it was started, then
    acts as a person would (FAKE_BROWSER_ACTION)."""
    import urllib.error
    import urllib.request
    fds = {}
    for fd in (0, 1, 2):
        try:
            fds[fd] = os.readlink("/proc/self/fd/%d" % fd)
        except OSError:
            fds[fd] = None
    with open(os.environ["FAKE_BROWSER_LOG"], "a") as f:
        f.write(json.dumps({"url": url, "fds": fds, "sid": os.getsid(0), "pid": os.getpid()}) + "\n")
    action = os.environ.get("FAKE_BROWSER_ACTION", "follow")
    try:
        if action == "deny":
            urllib.request.urlopen(url + "&deny=1", timeout=10).read()
        elif action == "wrong-state":  # a forged or stale response reaches the callback
            class NoRedirect(urllib.request.HTTPRedirectHandler):
                def redirect_request(self, *args):
                    return None
            try:
                urllib.request.build_opener(NoRedirect).open(url, timeout=10)
            except urllib.error.HTTPError as e:
                location = e.headers["Location"]
            urllib.request.urlopen(location.replace("state=", "state=forged-"), timeout=10).read()
        elif action in ("follow", "probe"):
            if action == "probe":  # what else the callback server answers, before signing in
                probe_callback_server(url)
            page = urllib.request.urlopen(url, timeout=10).read().decode()
            with open(os.environ["FAKE_BROWSER_LOG"] + ".pages", "a") as f:
                f.write(json.dumps(page) + "\n")
    except urllib.error.HTTPError:
        pass
    time.sleep(float(os.environ.get("FAKE_BROWSER_LINGER") or 0))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["fake-browser"]:
        sys.exit(fake_browser(sys.argv[2]))
    if sys.argv[1:2] == ["demo"]:
        sys.exit(demo())
    if sys.argv[1:2] == ["bench"]:
        sys.exit(bench())
    unittest.main()
