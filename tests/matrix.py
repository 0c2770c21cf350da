"""The SDK matrix (make sdk-test, make sdk-bench): the script under every
real consumer of credential_process.

A Consumer runs one SDK's driver (tests/sdk.js for the JS SDKs, tests/sdk.rb,
tests/go1 and tests/go2, and for boto3 and the AWS CLI sdk_boto3 and
sdk_awscli below, which test_script.py runs as subcommands), all speaking one
protocol: a JSON answer on the last line. SdkMatrix holds what every consumer
is tested for; test_script.py mixes it into one TestCase per consumer. Each
test records a cell of README.md's table (record), which sdk_table checks
and sdk-readme writes; sdk_bench times a cache hit through each consumer.
"""

import json
import os
import shlex
import subprocess
import sys
import textwrap
import time

import aws_sso_credential_process as acp

from .sandbox import BASE_CONFIG, HERE, SCRIPT, Sandbox, Terminal, read, utc
from .standin import ACCOUNT, START_URL, StandIn

#: The suite's entry point, whose sdk-boto3 and sdk-awscli subcommands are
#: the boto3 and AWS CLI drivers.
TESTS = os.path.join(HERE, "test_script.py")
#: Where make sdk-test put the built and installed consumers (Go drivers,
#: node_modules); unset, the matrix is skipped (make test stays quick).
SDK_HOME = os.environ.get("ACP_SDK_MATRIX")
#: Where the matrix records what it saw, for the README's table.
SDK_RESULTS = os.environ.get("ACP_SDK_RESULTS")


class Consumer:
    """One real consumer of credential_process: how to run its driver (the
    protocol in tests/sdk.js), what it can do, and whether it is here."""

    def __init__(self, key, name, argv, env=None, native=(), refreshes=False, probe=None):
        self.key, self.name, self.argv, self.env = key, name, argv, env or {}
        self.native = native          # the kinds of SSO profile it reads itself: "sso-session", "legacy"
        self.refreshes = refreshes    # it refreshes sso-session tokens itself
        self.probe = probe            # a command that fails when the consumer is not installed

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

    def run(self, sb, mode, profile, *extra, env=None, timeout=120):
        """The driver's JSON answer, with the script's debug log counting its runs."""
        p = subprocess.run(self.argv + [mode, profile] + list(extra), env=self.environ(sb, env), stdin=subprocess.DEVNULL,
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


#: The consumers, in the README table's order.
CONSUMERS = [
    Consumer("boto3", "boto3 / botocore (PyPI)", [sys.executable, TESTS, "sdk-boto3"],
             native=("sso-session", "legacy"), refreshes=True, probe=[sys.executable, "-c", "import boto3"]),
    Consumer("awscli", "AWS CLI v2 (Debian 2.9)", [sys.executable, TESTS, "sdk-awscli"], native=("role cache",),
             refreshes=None, probe=["/usr/bin/aws", "--version"]),
    Consumer("js3", "JS SDK v3 (npm)", ["node", os.path.join(HERE, "tests", "sdk.js"), "v3"], env=_node_env(),
             native=("sso-session", "legacy"), refreshes=True,
             probe=["node", "-e", "require('@aws-sdk/credential-providers'); require('@aws-sdk/client-sts')"]),
    Consumer("js2", "JS SDK v2 (npm)", ["node", os.path.join(HERE, "tests", "sdk.js"), "v2"],
             env=dict(_node_env(), AWS_SDK_LOAD_CONFIG="1"), native=("sso-session", "legacy"), refreshes=True,
             probe=["node", "-e", "require('aws-sdk')"]),
    Consumer("go1", "Go SDK v1 (Debian 1.44)", [os.path.join(SDK_HOME or "", "go1")], native=("legacy",),
             probe=[os.path.join(SDK_HOME or "", "go1"), "time", "-", "0"]),
    Consumer("go2", "Go SDK v2 (Debian 1.17)", [os.path.join(SDK_HOME or "", "go2")], native=("legacy",),
             probe=[os.path.join(SDK_HOME or "", "go2"), "time", "-", "0"]),
    Consumer("ruby", "Ruby aws-sdk-core (Debian 3.168)", ["ruby", os.path.join(HERE, "tests", "sdk.rb")],
             native=("sso-session", "legacy"), refreshes=True, probe=["ruby", "-e", "require 'aws-sdk-core'"]),
]

#: The README table: (key, column header). Each cell is what a test saw.
MATRIX_COLUMNS = [
    ("process", "credential_process: credentials and expiry"),
    ("account", "uses `AccountId`"),
    ("runs", "script runs per lookup"),
    ("layout", "README layout with the installed command works"),
    ("fast", "README fast line works"),
    ("prompt", "device-code prompt on the terminal while it waits"),
    ("failure", "the script's message on exit 1"),
    ("both", "profile with `credential_process` and `sso_session` + account + role"),
    ("both_legacy", "... and legacy `sso_*` keys"),
    ("bare", "... and only `sso_session`"),
    ("native", "its own SSO uses the script's token"),
    ("refresh", "the script uses a token it refreshed"),
]


def record(consumer, key, value):
    """Write one cell of the README table (the forked workers share a file)."""
    if SDK_RESULTS:
        with open(SDK_RESULTS, "a") as f:
            f.write(json.dumps([consumer.key, key, value]) + "\n")


def matrix_table(results_path):
    """The README's Markdown table from the recorded cells."""
    cells = {}
    with open(results_path) as f:
        for line in f:
            key, column, value = json.loads(line)
            cells[(key, column)] = value
    rows = ["| consumer | %s |" % " | ".join(h for _, h in MATRIX_COLUMNS),
            "|---|" + "---|" * len(MATRIX_COLUMNS)]
    for c in CONSUMERS:
        rows.append("| %s | %s |" % (c.name, " | ".join(str(cells.get((c.key, k), "?")) for k, _ in MATRIX_COLUMNS)))
    return "\n".join(rows) + "\n"


README_MATRIX = ("<!-- sdk-matrix: made by make sdk-test from what the suite saw; do not edit by hand -->\n",
                 "<!-- /sdk-matrix -->\n")


def sdk_table(update=False):
    """Compare the README's matrix with the one the suite recorded (or put it in)."""
    table = matrix_table(SDK_RESULTS)
    with open(os.path.join(HERE, "README.md")) as f:
        readme = f.read()
    start, end = readme.index(README_MATRIX[0]) + len(README_MATRIX[0]), readme.index(README_MATRIX[1])
    if readme[start:end] == table:
        print("sdk-test: README.md's table matches what the suite saw")
        return 0
    if update:
        with open(os.path.join(HERE, "README.md"), "w") as f:
            f.write(readme[:start] + table + readme[end:])
        print("sdk-test: README.md's table updated")
        return 0
    print("sdk-test: README.md's table differs from what the suite saw (make sdk-readme updates it):\n" + table)
    return 1


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
            self.sb.write_config(BASE_CONFIG + "\n[profile native]\nsso_session = dev\n"
                                 "sso_account_id = 111122223333\nsso_role_name = Admin\n")
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


def clip_error(text):
    """An SDK's error message, short enough for a table cell."""
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= 80 else text[:77] + "..."


def sdk_boto3(mode, profile, n="10"):
    """boto3 in the SDK drivers' protocol (tests/sdk.js): a Session for the
    profile and its credentials; "sso" is the same (botocore reads SSO
    profiles itself, and honours AWS_ENDPOINT_URL_SSO*)."""
    try:
        import boto3
        if mode == "time":
            ms = []
            for _ in range(int(n)):
                started = time.perf_counter()
                boto3.Session(profile_name=profile).get_credentials().get_frozen_credentials()
                ms.append((time.perf_counter() - started) * 1000)
            print(json.dumps({"ok": True, "ms": ms}))
            return 0
        creds = boto3.Session(profile_name=profile).get_credentials()
        if creds is None:
            raise RuntimeError("no credentials")
        frozen = creds.get_frozen_credentials()
        expiry = getattr(creds, "_expiry_time", None)
        answer = {"ok": True, "provider": creds.method, "accessKeyId": frozen.access_key,
                  "secretAccessKey": frozen.secret_key, "sessionToken": frozen.token,
                  "expiration": expiry.isoformat() if expiry else None,
                  "accountId": getattr(frozen, "account_id", None)}
    except Exception as e:
        answer = {"ok": False, "error": str(e), "name": type(e).__name__}
    print(json.dumps(answer))
    return 0


def sdk_awscli(mode, profile, n="10"):
    """The AWS CLI v2 (Debian's) in the drivers' protocol: `aws configure
    export-credentials`. It honours no AWS_ENDPOINT_URL_* variable, so every
    HTTPS request it might make goes to a closed local proxy: it can only
    answer from the role cache, or by running credential_process."""
    env = dict(os.environ, HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="", AWS_EC2_METADATA_DISABLED="true")
    if mode == "time":  # each lookup is a whole `aws` run
        ms = []
        for _ in range(int(n)):
            started = time.perf_counter()
            subprocess.run(["/usr/bin/aws", "configure", "export-credentials", "--profile", profile], env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            ms.append((time.perf_counter() - started) * 1000)
        print(json.dumps({"ok": True, "ms": ms}))
        return 0
    p = subprocess.run(["/usr/bin/aws", "configure", "export-credentials", "--profile", profile, "--format",
                        "process"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode:
        answer = {"ok": False, "error": p.stderr.decode(errors="replace").strip(), "name": "exit %d" % p.returncode}
    else:
        doc = json.loads(p.stdout.decode())
        answer = {"ok": True, "provider": None, "accessKeyId": doc["AccessKeyId"],
                  "secretAccessKey": doc["SecretAccessKey"], "sessionToken": doc.get("SessionToken"),
                  "expiration": doc.get("Expiration"), "accountId": doc.get("AccountId")}
    print(json.dumps(answer))
    return 0


def fast_line(profile):
    """The README's fast credential_process line, for this checkout."""
    with open(os.path.join(HERE, "README.md")) as f:
        [line] = [l.strip() for l in f if l.strip().startswith("credential_process = ") and "sys.path[:0]" in l]
    return (line.split("=", 1)[1].strip().replace("/usr/bin/python3", sys.executable)
            .replace("/home/me/lib/aws-sso-credential-process", HERE)
            .replace("--profile my-sso", "--profile %s" % profile))


README_FIGURES = ("<!-- sdk-figures: made by make sdk-bench; do not edit by hand -->\n", "<!-- /sdk-figures -->\n")


def sdk_bench(rounds=10, update=False):
    """Per consumer, the cost of one credential lookup on a cache hit: through
    the script (the plain line, the installed command, the fast line) next to
    the consumer's own SSO support, medians of `rounds` lookups measured
    inside the consumer."""
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
        rows = []
        for c in CONSUMERS:
            if c.missing():
                print("(%s: %s)" % (c.key, c.missing()))
                continue
            own = "sess" if "sso-session" in c.native or "role cache" in c.native else "legacy"
            cells = []
            for profile in ("app", "app-installed", "app-fast", own):
                got = c.run(sb, "time", profile, str(rounds), env={"AWS_SSO_CREDENTIAL_PROCESS_DEBUG": None})
                if not got.get("ok"):
                    raise SystemExit("%s %s: %s" % (c.key, profile, got))
                cells.append("%.0f ms" % statistics.median(got["ms"]))
            rows.append("| %s | %s (%s) |" % (" | ".join([c.name] + cells[:-1]), cells[-1], {
                "sess": "sso-session", "legacy": "legacy"}[own] + (", role cache" if c.key == "awscli" else "")))
        table = ("| consumer | plain line | installed command | fast line | its own SSO |\n"
                 "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
        print(table)
        if update:
            with open(os.path.join(HERE, "README.md")) as f:
                readme = f.read()
            start = readme.index(README_FIGURES[0]) + len(README_FIGURES[0])
            with open(os.path.join(HERE, "README.md"), "w") as f:
                f.write(readme[:start] + table + readme[readme.index(README_FIGURES[1]):])
        return 0
    finally:
        standin.close()
        sb.cleanup()
