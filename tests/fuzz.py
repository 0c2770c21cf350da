"""The fuzz harness behind test_script.TestFuzz: hypothesis's settings, the
strategies that make hostile input of every kind (config files, cache files,
HTTP answers, arguments and environments), and FuzzTest, the base class that
runs each case in a fresh sandbox and checks what must hold whatever the
input (FuzzTest.check). hypothesis is optional: without it, ``hypothesis``
here is None and the strategies are not defined.

FUZZ_EXAMPLES sets the cases per kind (make fuzz: 1000); FUZZ_REPORT names a
file that gets the cases run per kind and the exit codes seen.
"""

import json
import os
import unittest

import aws_sso_credential_process as acp

from .sandbox import BASE_CONFIG, Sandbox
from .standin import StandIn

try:
    import hypothesis
    from hypothesis import HealthCheck, given, settings, strategies as st
except ImportError:  # pragma: no cover - make test installs it
    hypothesis = given = None

#: Cases per kind: a few dozen inside make test, FUZZ_EXAMPLES=1000 in make fuzz.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 40)
FUZZ_COUNTS = {}  # kind -> cases run
FUZZ_CODES = {}   # exit code -> cases


def fuzz_settings():
    return settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=False,
                    suppress_health_check=list(HealthCheck))


def _json_text(value):
    return json.dumps(value, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


if hypothesis is not None:
    # Text with what breaks parsers and terminals: controls, surrogates, quotes, brackets, newlines.
    NASTY = st.text(st.sampled_from(list("aZ09 -_:/.=[]{}\"'\\#;%$~@,\t\r\n\x00\x1b\x07\u00e9\u202e\udcff"
                                         "\U0001F600")) | st.characters(), max_size=40)
    JSON_SCALAR = (st.none() | st.booleans() | st.integers(min_value=-10 ** 30, max_value=10 ** 30)
                   | st.floats(allow_nan=True, allow_infinity=True) | NASTY
                   | st.sampled_from(["2026-11-25T17:43:19Z", "9999-12-31T23:59:59-01:00", "", "sso"]))
    JSON = st.recursive(JSON_SCALAR, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.sampled_from(
                            ["accessToken", "expiresAt", "refreshToken", "clientId", "clientSecret",
                             "registrationExpiresAt", "Credentials", "AccessKeyId", "SecretAccessKey",
                             "SessionToken", "Expiration", "ProviderType", "roleCredentials", "accessKeyId",
                             "secretAccessKey", "sessionToken", "expiration", "expiresIn", "deviceCode",
                             "userCode", "verificationUri", "interval", "failure", "pid", "message", "code",
                             "x"]), inner, max_size=6), max_leaves=12)

    # test_config_files: the lines of a config file, and the profile asked for.
    CONFIG_LINES = st.lists(st.one_of(
        st.sampled_from(["[profile sess]", "[sso-session dev]", "[default]", "[services s]", "[profile \"a b\"]",
                         "[DEFAULT]", "[profile sess", "sso =", "  endpoint_url = http://127.0.0.1:1",
                         "  junk", "services = s", "sso_session = dev", "use_fips_endpoint = 1"]),
        st.tuples(st.sampled_from(["sso_start_url", "sso_region", "sso_account_id", "sso_role_name",
                                   "sso_session", "endpoint_url", "ca_bundle", "use_fips_endpoint",
                                   "use_dualstack_endpoint", "sso_registration_scopes", "sso_interactive_auth",
                                   "ignore_configured_endpoint_urls", "services", "x"]),
                  st.sampled_from([" = ", "=", ": ", " =\n  "]), NASTY).map("".join),
        NASTY), max_size=25)
    PROFILES = st.sampled_from(["sess", "default", "a b", "legacy", "dev"])

    # test_cache_files: which file, what is in it, and whether the run may log in.
    CACHE_TARGETS = st.sampled_from(["token", "role", "registration", "token lock", "role lock"])
    INTERACTIVE = st.booleans()
    CACHE_CONTENTS = (JSON.map(_json_text) | st.binary(max_size=200)
                      | st.sampled_from([b"[" * 100000, b"{\"a\":" * 30000, b"\xff\xfe"]))

    # test_http_answers: the endpoint that misbehaves, and how.
    HTTP_PATHS = st.sampled_from(["/federation/credentials", "/token", "/client/register", "/device_authorization",
                                  "/assignment/accounts", "/assignment/roles", "/logout"])
    HTTP_STATUSES = st.sampled_from([200, 200, 200, 400, 401, 403, 404, 429, 500, 503, 302, 204])
    ERROR_TYPES = st.none() | NASTY | st.sampled_from(["UnauthorizedException", "SlowDownException",
                                                       "AuthorizationPendingException", "InvalidGrantException"])
    HTTP_BODIES = JSON.map(_json_text) | st.binary(max_size=100) | st.sampled_from([b"[" * 100000])

    # test_arguments_and_environment: any argv, and a few of the variables the script reads.
    ARGV = st.lists(st.sampled_from(["--profile", "--account-id", "--role-name", "--start-url", "--region",
                                     "--sso-session", "-i", "-n", "--force-refresh", "--no-browser",
                                     "--use-device-code", "--debug", "--region=", "--bogus", "sess",
                                     "--login", "--logout", "--list", "--check", "--online", "--format",
                                     "--output", "env", "json", "config", "fish", "windows-cmd",
                                     "--format=powershell", "--port", "--bind", "--socket",
                                     "--upstream", "unix:/nonexistent", "--", "--help", "--version"])
                    | NASTY, max_size=8)
    ENVIRON = st.dictionaries(st.sampled_from(
        ["AWS_SSO_ACCOUNT_ID", "AWS_SSO_ROLE_NAME", "AWS_SSO_START_URL", "AWS_SSO_REGION",
         "AWS_SSO_SESSION", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL",
         "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_CA_BUNDLE", "HTTPS_PROXY",
         "HTTP_PROXY", "NO_PROXY", "AWS_SSO_READ_TIMEOUT", "AWS_SSO_LOCK_TIMEOUT",
         "AWS_SSO_CREDENTIAL_PROCESS_DEBUG", "AWS_SSO_INTERACTIVE_AUTH", "AWS_SSO_LIST_TIMEOUT",
         "HOME"]),
        NASTY | st.sampled_from(["http://127.0.0.1:abc", "http://[::1]:99999", "1", "true", "nan"]),
        max_size=4)


class FuzzTest(unittest.TestCase):
    """Whatever the input: never exit 70 or a traceback, nothing on stdout
    unless it succeeded, cache files either untouched or valid, and no
    temporary file left behind."""

    slow = 1

    @classmethod
    def setUpClass(cls):
        cls.standin = StandIn()

    @classmethod
    def tearDownClass(cls):
        cls.standin.close()
        if os.environ.get("FUZZ_REPORT"):
            with open(os.environ["FUZZ_REPORT"], "a") as f:
                for kind, n in sorted(FUZZ_COUNTS.items()):
                    f.write("%s: %d cases\n" % (kind, n))
                f.write("exit codes: %s\n" % ", ".join("%d: %d" % kv for kv in sorted(FUZZ_CODES.items())))

    def sandbox(self, kind, config=BASE_CONFIG):
        """A fresh sandbox for one case (use it in a with block)."""
        FUZZ_COUNTS[kind] = FUZZ_COUNTS.get(kind, 0) + 1
        self.standin.faults.clear()
        return Sandbox(self.standin, config=config)

    def snapshot(self, sb):
        files = {}
        for d, _, names in os.walk(sb.home):
            for n in names:
                with open(os.path.join(d, n), "rb") as f:
                    files[os.path.join(d, n)] = f.read()
        return files

    def check(self, sb, r, before, mode="credentials"):
        """mode: what the run was (the modes' stdout differs: --check reports
        whatever its verdict; --list and --format print other forms)."""
        FUZZ_CODES[r.rc] = FUZZ_CODES.get(r.rc, 0) + 1
        self.assertIn(r.rc, (0, 1, 2, 3, 4, 5, 6), r)
        self.assertNotIn("Traceback", r.err)
        if mode == "check" and r.out:
            self.assertTrue(r.out.splitlines()[-1].startswith("verdict: "), r)
            self.assertTrue(all(line.isprintable() for line in r.out.splitlines()), r)
        if r.rc == 0 and mode == "credentials":
            doc = json.loads(r.out)
            self.assertEqual(doc["Version"], 1)
            self.assertRegex(doc["Expiration"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        elif r.rc == 0:
            self.assertTrue(all(line.isprintable() for line in r.out.splitlines()), r)
        else:
            if mode != "check":
                self.assertEqual(r.out, "", r)
            last = r.err.splitlines()[-1]
            self.assertTrue(last.startswith("aws-sso-credential-process: "), r)
            self.assertTrue(last.isprintable(), r)
        after = self.snapshot(sb)
        for path, data in after.items():
            self.assertFalse(path.endswith(".tmp"), "temporary file left: %s" % path)
            if data != before.get(path) and path.endswith(".json"):  # written by the script: valid
                doc = json.loads(data.decode())
                if "Credentials" in doc:
                    acp.parse_time(doc["Credentials"]["Expiration"])
                if "accessToken" in doc:
                    self.assertTrue(acp.is_token_text(doc["accessToken"]))
                    acp.parse_time(doc["expiresAt"])
