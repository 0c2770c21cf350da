"""The SDK matrix (make sdk-test, make sdk-bench): the script under every
real consumer of credential_process, and of the endpoint --exec and --serve
serve.

A Consumer runs one SDK's driver (tests/sdk.js for the JS SDKs, tests/sdk.rb,
tests/go1 and tests/go2, tests/sdk.py for boto3 and the AWS CLI), all
speaking one protocol: a JSON answer on the last line. SdkMatrix holds what
every consumer is tested for; test_script.py mixes it into one TestCase per
consumer. Each test records a cell of one of docs/reference.md's two tables (record):
credential_process (MATRIX_COLUMNS) and the endpoint (ENDPOINT_COLUMNS; its
relative form runs in a network namespace, tests/netns.py), which sdk_table
checks and sdk-readme writes. sdk_bench times a cache hit through each
consumer, and an endpoint lookup next to it.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap
import time

import aws_sso_credential_process as acp

from . import netns
from .sandbox import BASE_CONFIG, HERE, NATIVE_PROFILE, SCRIPT, Sandbox, SandboxTest, Terminal, read, utc
from .sdk import main as sdk_py
from .standin import ACCOUNT, START_URL, StandIn

#: The boto3 and AWS CLI driver (it imports nothing of the project's).
SDK_PY = os.path.join(HERE, "tests", "sdk.py")
#: Where make sdk-test put the built and installed consumers (Go drivers,
#: node_modules); unset, the matrix is skipped (make test stays quick).
SDK_HOME = os.environ.get("ACP_SDK_MATRIX")
#: Where the matrix records what it saw, for docs/reference.md's tables.
SDK_RESULTS = os.environ.get("ACP_SDK_RESULTS")


class Consumer:
    """One real consumer of credential_process: how to run its driver (the
    protocol in tests/sdk.js), what it can do, and whether it is here."""

    def __init__(self, key, name, argv, env=None, native=(), refreshes=False, probe=None, container=None,
                 window=300, full_uri=True):
        self.key, self.name, self.argv, self.env = key, name, argv, env or {}
        self.native = native          # the kinds of SSO profile it reads itself: "sso-session", "legacy"
        self.refreshes = refreshes    # it refreshes sso-session tokens itself
        self.probe = probe            # a command that fails when the consumer is not installed
        self.container = container    # the name its driver gives the container provider
        self.window = window          # it fetches endpoint credentials again this many seconds before expiry
        self.full_uri = full_uri      # it reads AWS_CONTAINER_CREDENTIALS_FULL_URI (else only the relative form)

    def missing(self):
        """Why it cannot run here, or None."""
        if SDK_HOME is None:
            return "the SDK matrix runs with make sdk-test"
        if self.probe is None:
            return None
        env = dict(os.environ, **{k: v for k, v in self.env.items() if not k.startswith("AWS_")})
        try:
            p = subprocess.run(self.probe, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, env=env)
        except OSError as e:
            return "%s is not installed (%s)" % (self.name, e)
        return None if p.returncode == 0 else "%s is not installed (%s failed)" % (self.name, " ".join(self.probe))

    def run(self, sb, mode, profile, *extra, env=None, timeout=120, prefix=()):
        """The driver's JSON answer, with the script's debug log counting its
        runs; prefix: what runs the driver (--exec, nsenter)."""
        p = subprocess.run(list(prefix) + self.argv + [mode, profile] + list(extra), env=self.environ(sb, env),
                           stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, cwd=sb.root,
                           start_new_session=True)
        try:
            answer = json.loads(p.stdout.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise AssertionError("%s driver said: %r %r" % (self.key, p.stdout, p.stderr))
        answer["stderr"] = p.stderr.decode(errors="replace")
        return answer

    def environ(self, sb, env=None):
        full = dict(self.env, SDK_TEST_ENDPOINT=sb.standin.url, AWS_SHARED_CREDENTIALS_FILE=sb.path("credentials"),
                    AWS_SSO_CREDENTIAL_PROCESS_DEBUG="true", AWS_EC2_METADATA_DISABLED="true")
        full.update(env or {})
        return sb.environ(full)


def _node_env():
    return {"NODE_PATH": os.path.join(SDK_HOME or "", "node_modules"), "NODE_NO_WARNINGS": "1"}


#: The consumers, in the tables' order.
CONSUMERS = [
    Consumer("boto3", "boto3 / botocore (PyPI)", [sys.executable, SDK_PY, "boto3"],
             native=("sso-session", "legacy"), refreshes=True, probe=[sys.executable, "-c", "import boto3"],
             container="container-role", window=15 * 60),
    Consumer("awscli", "AWS CLI v2 (Debian 2.9)", [sys.executable, SDK_PY, "awscli"], native=("role cache",),
             refreshes=None, probe=["/usr/bin/aws", "--version"], container="container-role", window=15 * 60),
    Consumer("js3", "JS SDK v3 (npm)", ["node", os.path.join(HERE, "tests", "sdk.js"), "v3"], env=_node_env(),
             native=("sso-session", "legacy"), refreshes=True,
             probe=["node", "-e", "require('@aws-sdk/credential-providers'); require('@aws-sdk/client-sts')"],
             container="fromHttp"),
    Consumer("js2", "JS SDK v2 (npm)", ["node", os.path.join(HERE, "tests", "sdk.js"), "v2"],
             env=dict(_node_env(), AWS_SDK_LOAD_CONFIG="1"), native=("sso-session", "legacy"), refreshes=True,
             probe=["node", "-e", "require('aws-sdk')"], container="RemoteCredentials", window=15),
    Consumer("go1", "Go SDK v1 (Debian 1.44)", [os.path.join(SDK_HOME or "", "go1")], native=("legacy",),
             probe=[os.path.join(SDK_HOME or "", "go1"), "time", "-", "0"], container="CredentialsEndpointProvider"),
    Consumer("go2", "Go SDK v2 (Debian 1.17)", [os.path.join(SDK_HOME or "", "go2")], native=("legacy",),
             probe=[os.path.join(SDK_HOME or "", "go2"), "time", "-", "0"], container="CredentialsEndpointProvider"),
    Consumer("ruby", "Ruby aws-sdk-core (Debian 3.168)", ["ruby", os.path.join(HERE, "tests", "sdk.rb")],
             native=("sso-session", "legacy"), refreshes=True, probe=["ruby", "-e", "require 'aws-sdk-core'"],
             container="Aws::ECSCredentials", full_uri=False),
]

#: The SDK table: (key, column header). Each cell is what a test saw.
MATRIX_COLUMNS = [
    ("process", "credential_process: credentials and expiry"),
    ("account", "uses `AccountId`"),
    ("runs", "script runs per lookup"),
    ("layout", "README layout with the installed command works"),
    ("fast", "the fast line works"),
    ("prompt", "device-code prompt on the terminal while it waits"),
    ("failure", "the script's message on exit 1"),
    ("both", "profile with `credential_process` and `sso_session` + account + role"),
    ("both_legacy", "... and legacy `sso_*` keys"),
    ("bare", "... and only `sso_session`"),
    ("native", "its own SSO uses the script's token"),
    ("refresh", "the script uses a token it refreshed"),
    ("original", "the original tool's quickstart config, as written"),
]

#: The original aws-sso-credential-process's (PyPI 0.3) quickstart profile,
#: as its README gives it: credential_process in the profile that holds the
#: legacy sso_* keys, running the command from PATH with that same profile.
ORIGINAL_QUICKSTART = """
[profile my-sso-profile]

credential_process = aws-sso-credential-process --profile my-sso-profile

region = us-east-2
output = yaml

sso_start_url = https://something.awsapps.com/start
sso_region = us-east-2
sso_account_id = 123456789012
sso_role_name = MyLeastPrivilegeRole
"""


#: The endpoint's table: (key, column header), as MATRIX_COLUMNS.
ENDPOINT_COLUMNS = [
    ("exec", "`--exec`: `AWS_CONTAINER_CREDENTIALS_FULL_URI` on 127.0.0.1, with a token"),
    ("relative", "`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (169.254.170.2:80) through a socket forwarder"),
    ("renewed", "a long-running process gets new credentials, without a restart"),
    ("default", "a `[default]` profile with credentials besides: it uses"),
    ("gone", "the script's message when the login is gone (`--serve`)"),
]


def record(consumer, key, value):
    """Write one cell of a table (the forked workers share a file)."""
    if SDK_RESULTS:
        with open(SDK_RESULTS, "a") as f:
            f.write(json.dumps([consumer.key, key, value]) + "\n")


def matrix_table(results_path, columns=MATRIX_COLUMNS):
    """A Markdown table from the recorded cells."""
    cells = {}
    with open(results_path) as f:
        for line in f:
            key, column, value = json.loads(line)
            cells[(key, column)] = value
    rows = ["| consumer | %s |" % " | ".join(h for _, h in columns),
            "|---|" + "---|" * len(columns)]
    for c in CONSUMERS:
        rows.append("| %s | %s |" % (c.name, " | ".join(str(cells.get((c.key, k), "?")) for k, _ in columns)))
    return "\n".join(rows) + "\n"


README_MATRIX = ("<!-- sdk-matrix: made by make sdk-test from what the suite saw; do not edit by hand -->\n",
                 "<!-- /sdk-matrix -->\n")
README_ENDPOINT = ("<!-- sdk-endpoint: made by make sdk-test from what the suite saw; do not edit by hand -->\n",
                   "<!-- /sdk-endpoint -->\n")
#: The document that holds the generated tables and figures.
TABLES_DOC = os.path.join(HERE, "docs", "reference.md")
#: Its generated tables: (markers, columns, what it is called).
README_TABLES = [(README_MATRIX, MATRIX_COLUMNS, "table"), (README_ENDPOINT, ENDPOINT_COLUMNS, "endpoint table")]


def sdk_table(update=False):
    """Compare docs/reference.md's tables with those the suite recorded (or put them in)."""
    with open(TABLES_DOC) as f:
        readme = f.read()
    status, updated = 0, readme
    for (begin, end), columns, name in README_TABLES:
        table = matrix_table(SDK_RESULTS, columns)
        if begin not in updated or end not in updated:
            print("sdk-test: docs/reference.md has no %s (its markers: %s ... %s)" % (name, begin.strip(), end.strip()))
            status = 1
            continue
        start, stop = updated.index(begin) + len(begin), updated.index(end)
        if updated[start:stop] == table:
            print("sdk-test: docs/reference.md's %s matches what the suite saw" % name)
        elif update:
            updated = updated[:start] + table + updated[stop:]
            print("sdk-test: docs/reference.md's %s updated" % name)
        else:
            print("sdk-test: docs/reference.md's %s differs from what the suite saw (make sdk-readme updates it):\n%s"
                  % (name, table))
            status = 1
    if updated != readme:
        with open(TABLES_DOC, "w") as f:
            f.write(updated)
    return status


def trap_profiles(line, legacy_line=None):
    """The SDK trap, in a config: credential_process in a profile that also
    has sso_* keys, which many SDKs answer with their own SSO instead of
    running the line. Profile `both` has an sso-session's keys, `both-legacy`
    the legacy ones; `line` runs the script in both (`legacy_line`, if given,
    in both-legacy)."""
    return textwrap.dedent("""\
        [profile both]
        credential_process = {line}
        sso_session = dev
        sso_account_id = 111122223333
        sso_role_name = Admin
        [profile both-legacy]
        credential_process = {legacy}
        sso_start_url = {url}
        sso_region = us-east-1
        sso_account_id = 111122223333
        sso_role_name = Admin
        """).format(line=line, legacy=legacy_line or line, url=START_URL)


class SdkMatrix:
    """What one real consumer does with the script: mixed into one TestCase
    per consumer in test_script.py (so that unittest never runs it without one)."""

    consumer = None
    slow = 2

    def setUp(self):
        super().setUp()
        why = self.consumer.missing()
        if why:
            self.skipTest(why)
        line = self.sb.credential_process_line
        app, legacy = line("--profile", "sess"), line("--profile", "legacy")
        login = line("--profile", "legacy", "--interactive", "--use-device-code", "--no-browser")
        self.sb.write_config(BASE_CONFIG + textwrap.dedent("""
            [profile app]
            credential_process = {app}
            [profile app-legacy]
            credential_process = {legacy}
            [profile app-login]
            credential_process = {login}
            """).format(app=app, legacy=legacy, login=login) + trap_profiles(app, legacy) + textwrap.dedent("""\
            [profile bare]
            credential_process = {legacy}
            sso_session = dev
            """).format(legacy=legacy))

    def run_consumer(self, profile, mode="chain", **kwargs):
        return self.consumer.run(self.sb, mode, profile, **kwargs)

    def script_runs(self):
        """How many times the script has run so far (from its debug log)."""
        try:
            with open(self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt")) as f:
                return sum(", argv [" in line for line in f)
        except FileNotFoundError:
            return 0

    def assert_issued(self, got, index=-1):
        issued = self.issued(index)
        self.assertTrue(got["ok"], got)
        self.assertEqual((got["accessKeyId"], got["secretAccessKey"], got["sessionToken"]),
                         (issued["accessKeyId"], issued["secretAccessKey"], issued["sessionToken"]))
        self.assertIsNotNone(got["expiration"], "an expiry, so the SDK refreshes in time")
        self.assertEqual(acp.parse_time(got["expiration"]) // 1, issued["expiration"] // 1000)

    def test_credential_process(self):
        self.sb.write_token("dev")
        self.sb.write_token(START_URL)
        got = self.run_consumer("app")
        self.assert_issued(got)
        runs = self.script_runs()
        self.assert_issued(self.run_consumer("app-legacy"))
        record(self.consumer, "process", "yes")
        record(self.consumer, "runs", runs)
        record(self.consumer, "account", "yes" if got["accountId"] == ACCOUNT else "no")
        self.assertIn(got["accountId"], (ACCOUNT, None))

    def test_the_readme_fast_line(self):
        with open(self.sb.path(".aws", "config"), "a") as f:
            f.write("[profile app-fast]\ncredential_process = %s\n" % fast_line("sess"))
        self.sb.write_token("dev")
        self.assert_issued(self.run_consumer("app-fast"))
        record(self.consumer, "fast", "yes")

    def test_the_readme_layout(self):
        with open(os.path.join(HERE, "README.md")) as f:
            readme = f.read()
        block = readme.split("```ini\n# ~/.aws/config\n", 1)[1].split("```", 1)[0]
        prefix = os.path.join(self.sb.root, "my prefix")  # a space, for the SDKs that run it through sh -c
        p = subprocess.run([sys.executable, SCRIPT, "--install", "--prefix", prefix], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr)
        launcher = os.path.join(prefix, "bin", "aws-sso-credential-process")
        self.assertIn("/home/me/.local/bin/aws-sso-credential-process --profile my-sso", block)
        block = (block.replace("/home/me/.local/bin/aws-sso-credential-process", shlex.quote(launcher))
                 .replace("https://d-1234567890.awsapps.com/start", START_URL))
        self.sb.write_config(block)
        self.sb.write_token("corp")
        self.assert_issued(self.run_consumer("my-app"))
        record(self.consumer, "layout", "yes")

    def test_the_login_prompt_reaches_the_terminal_while_the_sdk_waits(self):
        proc, terminal = self.sb.start_in_terminal(self.consumer.argv + ["chain", "app-login"],
                                                   env=self.consumer.environ(self.sb))
        try:
            deadline = time.monotonic() + 60
            while "enter the code " not in terminal.text():
                self.assertIsNone(proc.poll(), "the consumer ended without waiting: %s" % terminal.text())
                self.assertLess(time.monotonic(), deadline, terminal.text())
                time.sleep(0.05)
            code = terminal.text().split("enter the code ", 1)[1].split(",", 1)[0]
            self.assertIsNone(proc.poll(), "the SDK is still waiting while the code is shown")
            import urllib.request
            urllib.request.urlopen("%s/device?user_code=%s" % (self.standin.url, code), timeout=10).read()
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            terminal.close()
        self.assert_issued(json.loads(out.decode().strip().splitlines()[-1]))
        self.assertIn("logged in to start URL", terminal.text())
        record(self.consumer, "prompt", "yes")

    def test_the_scripts_message_when_it_fails(self):
        # Seen somewhere by the user: in the SDK's error, in the stderr it
        # passes through, or on the terminal, where the script writes it too.
        got = self.run_consumer("app")
        self.assertFalse(got["ok"], got)
        message = "aws-sso-credential-process: not logged in"
        proc, terminal = self.sb.start_in_terminal(self.consumer.argv + ["chain", "app"],
                                                   env=self.consumer.environ(self.sb))
        proc.communicate(timeout=120)
        terminal.close()
        self.assertIn(message, terminal.text(), "a user at a terminal sees why")
        if message in got["error"]:
            where = "in the SDK's error"
        elif message in got["stderr"]:
            where = "on stderr (passed through)"
        else:
            where = "only on the terminal (the SDK's error: %s)" % clip_error(got["error"])
        record(self.consumer, "failure", where)

    def both(self, profile):
        """What a profile with credential_process and sso_* keys does here:
        everything either path needs is in place (tokens, and the role cache
        an offline AWS CLI can answer from)."""
        self.sb.write_token("dev")
        self.sb.write_token(START_URL)
        self.ok(self.sb.call("--profile", "sess"))
        self.ok(self.sb.call("--profile", "legacy"))
        before = self.script_runs()
        got = self.run_consumer(profile)
        if not got["ok"]:
            return "fails (%s)" % clip_error(got["error"])
        return "runs the script" if self.script_runs() > before else "its own SSO"

    def test_a_profile_with_both(self):
        record(self.consumer, "both", self.both("both"))

    def test_a_legacy_profile_with_both(self):
        record(self.consumer, "both_legacy", self.both("both-legacy"))

    def test_the_original_tools_quickstart_config(self):
        # Someone coming from the original tool keeps their config and installs this command in its place.
        prefix = os.path.join(self.sb.root, "prefix")
        p = subprocess.run([sys.executable, SCRIPT, "--install", "--prefix", prefix], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.sb.write_config(ORIGINAL_QUICKSTART)
        self.standin.roles.add(("123456789012", "MyLeastPrivilegeRole"))
        self.sb.write_token("https://something.awsapps.com/start")
        path = os.path.join(prefix, "bin") + ":" + self.sb.env.get("PATH", "/usr/bin:/bin")
        before = self.script_runs()
        got = self.run_consumer("my-sso-profile", env={"PATH": path, "AWS_SDK_LOAD_CONFIG": "1"})
        shared = ""
        if not got["ok"] and self.consumer.key == "awscli":  # offline, it answers only from the role cache
            self.ok(self.sb.call("--profile", "my-sso-profile"))
            before = self.script_runs()
            got = self.run_consumer("my-sso-profile", env={"PATH": path})
            shared = " (from the role cache the script filled: it cannot reach the stand-in)"
        self.assert_issued(got)
        record(self.consumer, "original", ("works: runs the script" if self.script_runs() > before else
                                           "works: its own SSO") + shared)

    def test_a_profile_with_only_an_sso_session_besides(self):
        # credential_process plus `sso_session = dev`, and no token for dev
        self.sb.write_token(START_URL)
        got = self.run_consumer("bare")
        if got["ok"]:
            self.assert_issued(got)
            record(self.consumer, "bare", "runs the script")
        else:
            record(self.consumer, "bare", "fails (%s)" % clip_error(got["error"]))

    def test_its_own_sso_uses_the_scripts_token(self):
        if not self.consumer.native:
            record(self.consumer, "native", "no SSO of its own")
            return
        if self.consumer.native == ("role cache",):  # the AWS CLI: offline, it can only share the cache
            self.sb.write_token("dev")
            self.sb.write_config(BASE_CONFIG + NATIVE_PROFILE % "Admin")
            ours = self.ok(self.sb.call("--profile", "sess"))
            got = self.run_consumer("native")
            self.assertTrue(got["ok"], got)
            self.assertEqual(got["accessKeyId"], ours["AccessKeyId"], "from the role cache the script wrote")
            record(self.consumer, "native", "shares the role cache")
            return
        kinds = []
        for kind, profile, token_name in [("sso-session", "sess", "dev"), ("legacy", "legacy", START_URL)]:
            with self.subTest(kind=kind):
                if kind not in self.consumer.native:
                    continue
                self.standin.auto_approve = 2  # the script logs in, as it would for the user
                self.ok(self.sb.call("--profile", profile, "-i", "--no-browser", "--use-device-code",
                                     terminal=Terminal()))
                token = json.loads(read(self.sb.token_path(token_name)))["accessToken"]
                got = self.run_consumer(profile, mode="sso")
                self.assertTrue(got["ok"], got)
                self.assertEqual(self.standin.calls_to("/federation/credentials")[-1]
                                 .headers["x-amz-sso_bearer_token"], token)
                if kind == "sso-session":  # and a token the script refreshed
                    doc = json.loads(read(self.sb.token_path(token_name)))
                    doc["expiresAt"] = utc(self.sb.clock.now() + 10 * 60)
                    with open(self.sb.token_path(token_name), "w") as f:
                        json.dump(doc, f)
                    self.ok(self.sb.call("--profile", profile, "--force-refresh"))
                    refreshed = json.loads(read(self.sb.token_path(token_name)))["accessToken"]
                    self.assertNotEqual(refreshed, token, "the script refreshed it")
                    self.assertTrue(self.run_consumer(profile, mode="sso")["ok"])
                    self.assertEqual(self.standin.calls_to("/federation/credentials")[-1]
                                     .headers["x-amz-sso_bearer_token"], refreshed)
                kinds.append(kind)
        record(self.consumer, "native", " and ".join(kinds))

    def test_the_script_uses_a_token_it_refreshed(self):
        if self.consumer.refreshes is None:
            record(self.consumer, "refresh", "not verified (it cannot be pointed at the stand-in)")
            return
        if not self.consumer.refreshes:
            record(self.consumer, "refresh", "it refreshes no token")
            return
        self.sb.refreshable_token(ttl=4 * 60)  # inside every SDK's refresh window
        got = self.run_consumer("sess", mode="sso")
        self.assertTrue(got["ok"], got)
        self.assertEqual(self.standin.grants(), ["refresh_token"], "the SDK refreshed the token")
        refreshed = json.loads(read(self.sb.token_path("dev")))["accessToken"]
        self.ok(self.sb.call("--profile", "sess", "--force-refresh"))
        self.assertEqual(self.standin.grants(), ["refresh_token"], "the script needed no refresh")
        self.assertEqual(self.standin.calls_to("/federation/credentials")[-1].headers["x-amz-sso_bearer_token"],
                         refreshed)
        record(self.consumer, "refresh", "yes")

    # ---- the endpoint (--exec, --serve): each SDK's container provider

    def exec_prefix(self):
        """What runs the driver under --exec, for the sso-session profile."""
        return [sys.executable, SCRIPT, "--exec", "--profile", "sess", "--"]

    def namespace(self):
        """A network namespace for the relative form (tests/netns.py), closed
        at cleanup. Skips where none can be made, but fails under make
        sdk-test (ACP_TEST_REQUIRE names sdk), which runs as root in CI."""
        why = netns.missing()
        if why:
            if "sdk" in os.environ.get("ACP_TEST_REQUIRE", "").split(","):
                self.fail("%s: make sdk-test needs the relative form (ACP_TEST_REQUIRE)" % why)
            self.skipTest(why)
        namespace = netns.Namespace()
        self.addCleanup(namespace.close)
        return namespace

    def relative_form(self):
        """(prefix, env) that run a driver in a new network namespace with the
        forwarder pair serving 169.254.170.2 (tests/netns.py)."""
        namespace = self.namespace()
        forwarder = netns.Forwarder(self.sb, namespace, "--profile", "sess")
        self.addCleanup(forwarder.close)
        return namespace.argv([]), {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": forwarder.relative_uri}

    def its_endpoint(self):
        """(prefix, env, how): --exec for a consumer that reads the full URI,
        else the relative form (its only way)."""
        if self.consumer.full_uri:
            return self.exec_prefix(), None, ""
        return self.relative_form() + (" (relative form)",)

    def issued_as(self, key):
        """(index, credentials) of what the stand-in issued with this access key."""
        found = [(i, c) for i, c in enumerate(self.standin.issued) if c["accessKeyId"] == key]
        self.assertEqual(len(found), 1, "the stand-in issued %s once" % key)
        return found[0]

    def from_the_endpoint(self, got):
        """Assert the consumer's container provider answered with credentials
        the stand-in issued; notes on what else it showed (its expiry, its
        messages on stderr)."""
        self.assertTrue(got["ok"], got)
        self.assertEqual(got["provider"], self.consumer.container, "its container provider answered: %s" % got)
        _, issued = self.issued_as(got["accessKeyId"])
        self.assertEqual((got["secretAccessKey"], got["sessionToken"]),
                         (issued["secretAccessKey"], issued["sessionToken"]))
        notes = []
        if got["expiration"] is None:
            notes.append("no expiry shown")
        else:
            early = issued["expiration"] // 1000 - acp.parse_time(got["expiration"]) // 1
            self.assertGreaterEqual(early, 0, got)
            if early:
                notes.append("expiry shown %s early" % lead_text(early))
        said = [line for line in got["stderr"].splitlines() if line.strip() and not line.startswith(acp.PROG + ":")]
        if said:
            notes.append("on stderr: %s" % clip_error(said[0]))
        return notes

    def test_exec(self):
        self.sb.write_token("dev")
        # AWS_PROFILE, as a user's shell may have it (--exec takes it out)
        got = self.consumer.run(self.sb, "container", "-", prefix=self.exec_prefix(), env={"AWS_PROFILE": "app"})
        if not self.consumer.full_uri:
            self.assertFalse(got["ok"], "%s reads AWS_CONTAINER_CREDENTIALS_FULL_URI: set full_uri" % self.consumer.key)
            record(self.consumer, "exec", "not supported: it reads only the relative URI (its error: %s)"
                   % clip_error(got["error"]))
            return
        notes = self.from_the_endpoint(got)
        record(self.consumer, "exec", "; ".join(["yes (`%s`)" % got["provider"]] + notes))

    def test_the_relative_form_through_a_socket_forwarder(self):
        self.sb.write_token("dev")
        prefix, env = self.relative_form()
        got = self.consumer.run(self.sb, "container", "-", prefix=prefix, env=env)
        notes = self.from_the_endpoint(got)
        record(self.consumer, "relative", "; ".join(["yes (`%s`)" % got["provider"]] + notes))

    def test_a_long_running_process_gets_renewed_credentials(self):
        # Role credentials that enter the SDK's refresh window RENEWAL_MARGIN
        # seconds after they are issued; the driver asks its provider until
        # the key changes, and the SDK decides when to fetch again.
        self.sb.write_token("dev")
        window = self.consumer.window
        self.standin.role_ttl = window + RENEWAL_MARGIN
        prefix, env, how = self.its_endpoint()
        seconds = RENEWAL_MARGIN + 40
        got = self.consumer.run(self.sb, "watch", "-", str(seconds), prefix=prefix, env=env, timeout=seconds + 60)
        self.from_the_endpoint(got)
        self.assertIsNotNone(got["renewed"], "the same key for %d s: %s" % (seconds, got))
        first, issued = self.issued_as(got["accessKeyId"])
        second, _ = self.issued_as(got["renewed"]["accessKeyId"])
        self.assertLess(first, second, "newer credentials")
        lead = issued["expiration"] / 1000 - got["changedAt"]
        self.assertLess(abs(lead - window), 5, "it fetched again %.1f s before expiry, not %d s: its window is "
                        "not Consumer.window" % (lead, window))
        record(self.consumer, "renewed", "yes, %s before expiry%s" % (lead_text(window), how))

    def test_a_default_profile_with_credentials_besides(self):
        self.sb.write_token("dev")
        self.sb.write_token(START_URL)
        with open(self.sb.path(".aws", "config"), "a") as f:
            f.write("[default]\ncredential_process = %s\n" % self.sb.credential_process_line("--profile", "legacy"))
        self.ok(self.sb.call("--profile", "legacy"))  # [default] answers from the role cache, in a namespace too
        prefix, env, how = self.its_endpoint()
        got = self.consumer.run(self.sb, "container", "-", prefix=prefix, env=env)
        if self.consumer.full_uri:
            self.assertIn(acp.PROG + ": note: [default] has credentials", got["stderr"], "--exec says so")
        if not got["ok"]:
            record(self.consumer, "default", "fails (%s)" % clip_error(got["error"]))
        elif got["provider"] == self.consumer.container:
            self.from_the_endpoint(got)
            record(self.consumer, "default", "the endpoint" + how)
        else:
            record(self.consumer, "default", "`[default]` (`%s`)%s" % (got["provider"], how))

    def test_the_scripts_message_through_the_endpoint(self):
        # --serve's lines in the consumer's environment (or the relative form,
        # for Ruby), then the login and the role cache gone: the endpoint
        # answers 401 with {"Code", "Message"}; where does the user see it?
        self.sb.write_token("dev")
        if self.consumer.full_uri:
            serve = subprocess.Popen([sys.executable, SCRIPT, "--serve", "--profile", "sess"], env=self.sb.environ(),
                                     cwd=self.sb.root, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
            self.addCleanup(netns.stop, serve)
            prefix, env, how = (), {}, ""
            while "AWS_CONTAINER_AUTHORIZATION_TOKEN" not in env:
                line = serve.stdout.readline().decode()
                if not line.startswith("export AWS_CONTAINER_"):
                    self.fail("--serve said %r, then %r" % (line, netns.stop(serve)))
                name, value = line[len("export "):].split("=", 1)
                env[name] = shlex.split(value)[0]
        else:
            prefix, env, how = self.its_endpoint()
        os.remove(self.sb.token_path("dev"))
        shutil.rmtree(self.sb.path(".aws", "cli", "cache"))
        if self.consumer.full_uri:  # what the endpoint answers, as an SDK asks
            import http.client
            import urllib.error
            import urllib.request
            request = urllib.request.Request(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], headers={
                "Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
            try:
                urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10)
                self.fail("the endpoint answered 200 without a login")
            except urllib.error.HTTPError as e:
                self.assertIn(e.code, (401, 403), "LoginRequired")
            except (http.client.HTTPException, OSError) as e:
                record(self.consumer, "gone", "no answer from the endpoint (%s)" % clip_error(e))
                return
        got = self.consumer.run(self.sb, "container", "-", prefix=prefix, env=env)
        self.assertFalse(got["ok"], got)
        message = acp.PROG + ": not logged in"
        if message in got["error"]:
            where = "in the SDK's error"
        elif message in got["stderr"]:
            where = "on stderr"
        else:
            where = "not shown (the SDK's error: %s)" % clip_error(got["error"])
        record(self.consumer, "gone", where + how)


def sdk_test_classes(module):
    """One TestCase per consumer (TestSdkBoto3, TestSdkJs3, ...), each running
    SdkMatrix's tests, by name, for the namespace of the module named."""
    return {"TestSdk" + c.key.capitalize(): type("TestSdk" + c.key.capitalize(), (SdkMatrix, SandboxTest),
                                                 {"consumer": c, "__module__": module}) for c in CONSUMERS}


def consumer_named(key):
    return [c for c in CONSUMERS if c.key == key][0]


class GoTimeoutHarness:
    """For TestSdkGoTimeouts: a Go consumer that gives up on a credential
    process waiting for a login (self.line runs it), and the login finishing
    after it did."""

    def give_up(self, key):
        """Run the consumer with a 2 s process timeout while a login waits;
        (seconds until it answered, its answer)."""
        consumer = consumer_named(key)
        env = consumer.environ(self.sb, {"SDK_TEST_PROCESS_TIMEOUT": "2", "SDK_TEST_PROCESS_COMMAND": self.line,
                                         "AWS_SSO_LOGIN_TIMEOUT": "60"})
        started = time.monotonic()
        p = subprocess.Popen(consumer.argv + ["process", "app-login"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=self.sb.root,
                             start_new_session=True)
        answer = json.loads(p.stdout.readline().decode())
        p.stdout.close()
        p.wait(60)
        return time.monotonic() - started, answer

    def approve_and_wait_for_the_login(self):
        deadline = time.monotonic() + 30
        while not self.standin.devices:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        [device] = list(self.standin.devices.values())
        device["status"] = "approved"
        while not os.path.exists(self.sb.token_path(START_URL)):
            self.assertLess(time.monotonic(), deadline, "the login did not finish in the background")
            time.sleep(0.05)
        # and the next run needs no login
        self.ok(self.sb.call("--profile", "legacy"))
        self.assertEqual(self.standin.count("/device_authorization"), 1)


#: Seconds from the issue of role credentials to the SDK's refresh window.
RENEWAL_MARGIN = 20


def lead_text(seconds):
    """A time before expiry, for a table cell: whole minutes, or seconds to the 5."""
    return "%d min" % round(seconds / 60) if seconds >= 90 else "%d s" % (5 * round(seconds / 5))


def clip_error(text):
    """An SDK's error message, short enough for a table cell."""
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= 80 else text[:77] + "..."


def sdk_boto3(mode, profile, n=None):
    """boto3 in the drivers' protocol (tests/sdk.py; test_script.py's sdk-boto3)."""
    return sdk_py(["boto3", mode, profile] + ([n] if n else []))


def sdk_awscli(mode, profile, n=None):
    """The AWS CLI v2 (Debian's) in the drivers' protocol (tests/sdk.py; test_script.py's sdk-awscli)."""
    return sdk_py(["awscli", mode, profile] + ([n] if n else []))


def fast_line(profile):
    """The reference's fast credential_process line, for this checkout."""
    with open(TABLES_DOC) as f:
        [line] = [l.strip() for l in f if l.strip().startswith("credential_process = ") and "sys.path[:0]" in l]
    return (line.split("=", 1)[1].strip().replace("/usr/bin/python3", sys.executable)
            .replace("/home/me/lib/aws-sso-credential-process", HERE)
            .replace("--profile my-sso", "--profile %s" % profile))


#: The drivers with a bench mode: the endpoint and credential_process lookups in one process.
BENCH_IN_ONE_PROCESS = ("boto3", "js3")

README_FIGURES = ("<!-- sdk-figures: made by make sdk-bench; do not edit by hand -->\n", "<!-- /sdk-figures -->\n")


def sdk_bench(rounds=10, update=False):
    """Per consumer, the cost of one credential lookup on a cache hit: through
    the script (the plain line, the installed command, the fast line) next to
    the consumer's own SSO support, medians of `rounds` lookups measured
    inside the consumer; and, where the consumer reads the full URI, a lookup
    through --exec's endpoint (a new provider each time, so the SDK fetches;
    the endpoint answers from the same warm role cache), printed in a second
    table with its ratio to the credential_process lookups."""
    import statistics
    standin = StandIn()
    sb = Sandbox(standin, config=None)
    try:
        prefix = os.path.join(sb.root, "prefix")
        subprocess.run([sys.executable, SCRIPT, "--install", "--prefix", prefix], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        installed = "%s --profile sess" % os.path.join(prefix, "bin", "aws-sso-credential-process")
        sb.write_config(BASE_CONFIG + "\n[profile app]\ncredential_process = %s\n[profile app-installed]\n"
                        "credential_process = %s\n[profile app-fast]\ncredential_process = %s\n"
                        % (sb.credential_process_line("--profile", "sess"), installed, fast_line("sess")))
        sb.write_token("dev")
        sb.write_token(START_URL)
        for profile in ("sess", "legacy"):  # the role cache, warm
            subprocess.run([sys.executable, SCRIPT, "--profile", profile], env=sb.environ(), check=True,
                           stdout=subprocess.DEVNULL)
        rows, endpoint_rows = [], []
        under_exec = (sys.executable, SCRIPT, "--exec", "--profile", "sess", "--")
        for c in CONSUMERS:
            if c.missing():
                print("(%s: %s)" % (c.key, c.missing()))
                continue
            own = "sess" if "sso-session" in c.native or "role cache" in c.native else "legacy"
            lines = ("app", "app-installed", "app-fast")
            medians = {}
            for profile in lines + (own,):
                got = c.run(sb, "time", profile, str(rounds), env={"AWS_SSO_CREDENTIAL_PROCESS_DEBUG": None})
                if not got.get("ok"):
                    raise SystemExit("%s %s: %s" % (c.key, profile, got))
                medians[profile] = statistics.median(got["ms"])
            kind = {"sess": "sso-session", "legacy": "legacy"}[own] + (", role cache" if c.key == "awscli" else "")
            rows.append("| %s | %s (%s) |" % (" | ".join([c.name] + ["%.0f ms" % medians[p] for p in lines]),
                                             "%.0f ms" % medians[own], kind))
            if not c.full_uri:
                continue
            # The endpoint: under --exec, the default chain with no profile
            # (a new provider each lookup); next to the same lookups as above,
            # in the same process and interleaved where the driver can.
            names = ("-",) + lines + (own,)
            if c.key in BENCH_IN_ONE_PROCESS:
                got = c.run(sb, "bench", ",".join(names), str(2 * rounds), prefix=under_exec,
                            env={"AWS_SSO_CREDENTIAL_PROCESS_DEBUG": None})
                if not got.get("ok"):
                    raise SystemExit("%s bench: %s" % (c.key, got))
                measured = {name: statistics.median(got["ms"][name]) for name in names}
                how = "one process, interleaved, %d each" % (2 * rounds)
            else:
                got = c.run(sb, "time", "-", str(rounds), prefix=under_exec,
                            env={"AWS_SSO_CREDENTIAL_PROCESS_DEBUG": None})
                if not got.get("ok"):
                    raise SystemExit("%s endpoint: %s" % (c.key, got))
                measured = dict(medians, **{"-": statistics.median(got["ms"])})
                how = "a run per column, %d each" % rounds
            endpoint_rows.append("| %s | %.1f ms | %s | %s (%s) | %.2f | %.2f | %s |" % (
                c.name, measured["-"], " | ".join("%.1f ms" % measured[p] for p in lines), "%.1f ms" % measured[own],
                kind, measured["-"] / measured["app"], measured["-"] / min(measured[p] for p in lines), how))
        table = ("| consumer | plain line | installed command | fast line | its own SSO |\n"
                 "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
        print(table)
        print("A lookup through --exec's endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI, the default chain with a new "
              "provider each time) next to credential_process lookups and the SDK's own SSO (target: the endpoint at "
              "most half a credential_process lookup):\n")
        print("| consumer | endpoint | plain line | installed command | fast line | its own SSO | endpoint / plain "
              "line | endpoint / fastest line | measured |\n|---|---|---|---|---|---|---|---|---|\n"
              + "\n".join(endpoint_rows) + "\n")
        if update:
            with open(TABLES_DOC) as f:
                readme = f.read()
            start = readme.index(README_FIGURES[0]) + len(README_FIGURES[0])
            with open(TABLES_DOC, "w") as f:
                f.write(readme[:start] + table + readme[readme.index(README_FIGURES[1]):])
        return 0
    finally:
        standin.close()
        sb.cleanup()
