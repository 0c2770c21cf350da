"""The sandbox every test runs in: a temporary HOME, a scrubbed environment
pointed at a StandIn, and a Clock shared by the stand-in and every
in-process run (sleeping is instant).

Sandbox runs the script in-process (call: main() with seams) or as a real
process (run, start, run_in_terminal), writes configs and caches as the AWS
CLI would, and sets up fake browsers (FakeBrowser in-process, the
tests/browser.py program for real processes). SandboxTest is the base class:
a fresh StandIn and Sandbox per test, and ok / fails to assert what a user
would see; needs_botocore skips a test where boto3 is not installed.
Importing this module sets TZ far from UTC, for every test.
"""

import importlib.util
import io
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

import aws_sso_credential_process as acp

from .browser import PROGRAM as BROWSER_PROGRAM, browse
from .standin import ACCOUNT, ROLE, START_URL, StandIn

#: The checkout, and the script under test.
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(HERE, "aws_sso_credential_process.py")

#: The real consumer on the other side (make test installs it), and the tests that need it.
HAVE_BOTOCORE = importlib.util.find_spec("botocore") is not None
needs_botocore = unittest.skipUnless(HAVE_BOTOCORE, "boto3/botocore is not installed here (make test installs it)")

#: The sso-session of the fixture's profile sess (BASE_CONFIG adds its scopes).
DEV_SESSION = """
[sso-session dev]
sso_start_url = https://d-abc123.awsapps.com/start
sso_region = us-east-1
"""

#: The config every sandbox starts with: an sso-session profile and a legacy one.
BASE_CONFIG = """
[profile sess]
sso_session = dev
sso_account_id = 111122223333
sso_role_name = Admin
""" + DEV_SESSION + """sso_registration_scopes = sso:account:access

[profile legacy]
sso_start_url = https://d-abc123.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = Admin
"""

#: Profiles to add to BASE_CONFIG: one that runs a credential_process line
#: (% the line), and one botocore serves with its own SSO (% the role name).
APP_PROFILE = "\n[profile app]\ncredential_process = %s\n"
NATIVE_PROFILE = "\n[profile native]\nsso_session = dev\nsso_account_id = 111122223333\nsso_role_name = %s\n"


def utc(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def read(path):
    with open(path) as f:
        return f.read()


def read_json(path):
    return json.loads(read(path))


def write(path, text, mode=None):
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


def temp_dir(test):
    """A temporary directory, removed when the test ends."""
    path = tempfile.mkdtemp()
    test.addCleanup(shutil.rmtree, path)
    return path


def token_on_disk(sb, name="dev"):
    """The cached token of a sandbox: (the file's text, what it holds)."""
    text = read(sb.token_path(name))
    return text, json.loads(text)


class Clock:
    """The wall and monotonic clocks of an in-process run, shared with the
    stand-in: sleeping records the delay and moves both forward at once.
    A frozen clock moves only when something sleeps."""

    def __init__(self, frozen=False):
        self.offset = 0.0
        self.sleeps = []
        self.frozen, self.start = frozen, time.time()

    def now(self):
        return (self.start if self.frozen else time.time()) + self.offset

    def monotonic(self):
        return (0.0 if self.frozen else time.monotonic()) + self.offset

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.offset += max(seconds, 0)


# A zone far from UTC catches local-time mistakes, in-process and in children.
os.environ["TZ"] = "Asia/Kolkata"
time.tzset()


def scrubbed_environ():
    """os.environ without AWS_*, proxy, browser and display settings."""
    drop = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "REQUESTS_CA_BUNDLE",
            "CURL_CA_BUNDLE", "SSL_CERT_FILE", "BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION",
            "SSH_CLIENT", "SSH_TTY", "CONTAINER", "KUBERNETES_SERVICE_HOST", "REQUEST_METHOD")
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("AWS_") and k.upper() not in drop}
    env.update(TZ="Asia/Kolkata", PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    return env


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return "<rc=%r out=%r err=%r>" % (self.rc, self.out, self.err)


class Terminal(io.StringIO):
    """A controlling terminal for an in-process run: what was written to it."""

    def close(self):  # the script closes its terminal; keep the text readable
        pass

    def isatty(self):
        return True


class FakeBrowser:
    """An in-process browser: records each page it is asked to open, then, in
    a thread, acts as a person would (tests/browser.py)."""

    def __init__(self, action="follow", works=True):
        self.action, self.works = action, works
        self.urls, self.threads, self.seen = [], [], []

    def __call__(self, url):
        self.urls.append(url)
        if not self.works:
            return False
        if "/device" in url.split("?")[0]:  # approving a device code needs nothing from the script: now
            self.seen.append(self.browse(url))
        else:  # a sign-in redirects to the script's callback server: meanwhile
            thread = threading.Thread(target=lambda: self.seen.append(self.browse(url)), daemon=True)
            thread.start()
            self.threads.append(thread)
        return True

    def browse(self, url):
        return browse(url, self.action, crowd=acp.SERVER_MAX_CONNECTIONS + 8)

    def wait(self):
        for thread in self.threads:
            thread.join(10)


class Sandbox:
    """A temporary HOME, a scrubbed environment pointed at a StandIn, and a
    Clock shared by the stand-in and every in-process run."""

    def __init__(self, standin, config=BASE_CONFIG):
        self.standin = standin
        self.clock = Clock()
        standin.clock = self.clock.now
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

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

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
               "expiresAt": utc(self.clock.now() + ttl)}
        doc.update(fields)
        path = self.token_path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(raw if raw is not None else json.dumps(doc))
        return token

    def refreshable_token(self, ttl, registration_ttl=86400, name="dev", **extra):
        """A token with refresh data, as an sso-session login writes it."""
        self.standin.add_client("cid", "csecret")
        self.standin.add_refresh_token("refresh-1", "cid")
        return self.write_token(name, ttl=ttl, clientId="cid", clientSecret="csecret", refreshToken="refresh-1",
                                registrationExpiresAt=utc(self.clock.now() + registration_ttl), **extra)

    def write_role_cache(self, path, ttl, access_key="ASIACACHED", expiration=None):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        entry = {"ProviderType": "sso", "Credentials": {
            "AccessKeyId": access_key, "SecretAccessKey": "cached-secret",
            "SessionToken": "cached-session", "Expiration": expiration or utc(self.clock.now() + ttl),
            "AccountId": ACCOUNT}}
        with open(path, "w") as f:
            json.dump(entry, f)

    def environ(self, env=None):
        """The sandbox environment plus env; a None value removes a variable."""
        full_env = dict(self.env)
        full_env.update(env or {})
        return {k: v for k, v in full_env.items() if v is not None}

    def call(self, *args, env=None, terminal=None, browser=None, **seams):
        """Run the script in-process, as main() with this sandbox's clock; the
        browser (default: none can be opened) and terminal are seams too."""
        out, err = io.StringIO(), io.StringIO()
        environ = self.environ(env)
        if isinstance(browser, FakeBrowser):
            environ.setdefault("BROWSER", "fake")  # a browser here can take the redirect: PKCE stays PKCE
        if browser != "real":  # "real": the script's own launcher, with BROWSER from env
            seams.setdefault("open_browser", browser or (lambda url: False))
        for name in ("now", "monotonic", "sleep"):
            seams.setdefault(name, getattr(self.clock, name))
        rc = acp.main(list(args), environ, out, err, open_terminal=lambda: terminal, **seams)
        return Result(rc, out.getvalue(), err.getvalue())

    def files(self, *parts):
        """The names in a directory under HOME, sorted."""
        return sorted(os.listdir(self.path(*parts)))

    # ---- real processes, for the contract an SDK sees

    def run(self, *args, env=None, python=None, timeout=60, stdin=subprocess.DEVNULL, **popen):
        p = subprocess.run([python or sys.executable, SCRIPT] + list(args), env=self.environ(env),
                           stdin=stdin, stdout=popen.pop("stdout", subprocess.PIPE),
                           stderr=popen.pop("stderr", subprocess.PIPE), timeout=timeout, cwd=self.root,
                           start_new_session=True, **popen)
        return Result(p.returncode, (p.stdout or b"").decode(), (p.stderr or b"").decode())

    def python(self, code, env=None, timeout=120):
        """Run Python code (boto3 and friends) in the sandbox; returns its JSON output."""
        p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=self.environ(env),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, cwd=self.root, start_new_session=True)
        if p.returncode != 0:
            raise AssertionError("python failed (%d): %s" % (p.returncode, p.stderr.decode()))
        return json.loads(p.stdout.decode())

    def boto3(self, *profiles):
        """What boto3 gets for each profile, in a process of its own:
        {profile: {method, key, secret, token, account, expiry}}."""
        return self.python("""
            import json, boto3
            out = {}
            for name in %r:
                creds = boto3.Session(profile_name=name).get_credentials()
                c = creds.get_frozen_credentials()
                out[name] = {"method": creds.method, "key": c.access_key, "secret": c.secret_key, "token": c.token,
                             "account": getattr(c, "account_id", None), "expiry": creds._expiry_time.isoformat()}
            print(json.dumps(out))
            """ % (profiles,))

    def credential_process_line(self, *args):
        return " ".join(shlex.quote(a) for a in (sys.executable, SCRIPT) + args)

    def browser(self, action="follow", linger=0, gate=None):
        """Environment for a fake browser process: a person who opens the page
        and approves (follow), denies, ignores it, or sends a forged state;
        with a gate, only once that file exists."""
        self.visits_file = os.path.join(self.root, "browser-visits.jsonl")
        return {"BROWSER": "%s %s %%s" % (shlex.quote(sys.executable), shlex.quote(BROWSER_PROGRAM)),
                "FAKE_BROWSER_LOG": self.visits_file, "FAKE_BROWSER_ACTION": action,
                "FAKE_BROWSER_LINGER": str(linger), "FAKE_BROWSER_GATE": gate or ""}

    def visits(self, expected=None, wait=10, done=False):
        """The fake browser's visits (waiting up to `wait` s for `expected` of
        them); done: what it saw, once each visit has finished acting."""
        deadline = time.monotonic() + wait
        while True:
            try:
                with open(self.visits_file + (".seen" if done else "")) as f:
                    found = [json.loads(line) for line in f if line.strip()]
            except (AttributeError, OSError):
                found = []
            if expected is None or len(found) >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def start(self, *args, env=None, imported=False):
        """A process of the script; imported: in the README's fast form, which
        reuses the cached bytecode instead of compiling the script each time."""
        command = [sys.executable, SCRIPT]
        if imported:
            command = [sys.executable, "-c", "import sys; sys.path[:0] = [%r]; import aws_sso_credential_process "
                       "as m; sys.exit(m.main())" % HERE]
        return subprocess.Popen(command + list(args), env=self.environ(env), cwd=self.root,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)

    def finish(self, proc, timeout=60):
        out, err = proc.communicate(timeout=timeout)
        return Result(proc.returncode, (out or b"").decode(), (err or b"").decode())

    def start_in_terminal(self, command, env=None, stderr_to_terminal=False):
        """Start a command as a user at a terminal does: a new session whose
        controlling terminal is a pseudo-terminal, stdout and stderr piped (or
        stderr to the terminal). Returns (process, TerminalReader)."""
        import pty
        try:
            master, slave = pty.openpty()
        except OSError as e:
            raise unittest.SkipTest("no pseudo-terminal on this machine: %s" % e)
        name = os.ttyname(slave)

        def take_terminal():
            os.setsid()
            os.close(os.open(name, os.O_RDWR))

        proc = subprocess.Popen(command, env=env or self.environ(), cwd=self.root, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=slave if stderr_to_terminal else subprocess.PIPE,
                                preexec_fn=take_terminal)
        return proc, TerminalReader(master, slave, proc)

    def run_in_terminal(self, *args, env=None, timeout=60, stderr_to_terminal=False):
        """Run the script as an SDK in a terminal does; (Result, terminal text)."""
        proc, terminal = self.start_in_terminal([sys.executable, SCRIPT] + list(args), self.environ(env),
                                                stderr_to_terminal)
        result = self.finish(proc, timeout)
        terminal.close()
        return result, terminal.text()


class TerminalReader:
    """Everything written to a pseudo-terminal, read as it comes (the slave
    stays open here, so no hangup discards output the reader has not seen)."""

    def __init__(self, master, slave, proc):
        self._master, self._slave, self._proc = master, slave, proc
        self._chunks, self._done = [], threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self):
        import select
        while not self._done.is_set() or select.select([self._master], [], [], 0.2)[0]:
            if select.select([self._master], [], [], 0.2)[0]:
                try:
                    self._chunks.append(os.read(self._master, 4096))
                except OSError:
                    return
            elif self._done.is_set():
                return

    def text(self):
        return b"".join(self._chunks).decode(errors="replace")

    def close(self):
        """Stop reading once everything written is in (call after the process ended)."""
        self._done.set()
        self._thread.join(10)
        os.close(self._slave)
        os.close(self._master)


class SandboxTest(unittest.TestCase):
    """Base: a fresh StandIn and Sandbox per test. run_suite starts the tests
    of classes marked slow (waiting on real sockets and processes) first, the
    slowest (a higher number) earliest."""

    tls = False
    slow = 0

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
        self.assertTrue(error.isprintable(), "control characters reached stderr: %r" % error)
        for phrase in phrases:
            self.assertIn(phrase, error)
        return error

    def wait_until(self, done, message="", timeout=30):
        """Poll done() every 50 ms until it is true; fail after timeout seconds."""
        deadline = time.monotonic() + timeout
        while not done():
            self.assertLess(time.monotonic(), deadline, message)
            time.sleep(0.05)

    def assert_prompt_lines(self, lines):
        for line in lines:
            self.assertTrue(line.startswith(("aws-sso-credential-process: log in to ", "  ",
                                             "aws-sso-credential-process: logged in to ")), line)

    def issued(self, index=-1):
        return self.standin.issued[index]

    def temp_files(self):
        """Temporary files left anywhere under HOME."""
        return [os.path.join(d, n) for d, _, names in os.walk(self.sb.home) for n in names
                if n.endswith(".tmp")]


def read_lines(proc, count, wait=30):
    """The first `count` lines a running process prints on stdout (a server
    that prints its settings and goes on running), failing after `wait` s."""
    import select
    deadline, data, fd = time.monotonic() + wait, b"", proc.stdout.fileno()
    while data.count(b"\n") < count:
        if not select.select([fd], [], [], max(0, deadline - time.monotonic()))[0]:
            proc.kill()
            raise AssertionError("no %d lines in %ss: %r" % (count, wait, proc.communicate()))
        chunk = os.read(fd, 4096)
        if not chunk:
            raise AssertionError("it ended after %r: %r" % (data, proc.communicate()))
        data += chunk
    return data.decode().splitlines(True)
