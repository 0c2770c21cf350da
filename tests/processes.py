"""Harnesses of the tests that run the script as real processes: each is a
mixin for a SandboxTest (it uses self.sb, self.standin and the assertions)
that keeps the driving out of the test methods.

InstallHarness (--install into a prefix, the launcher it writes),
ShellHarness (--format's output loaded in sh, bash and fish),
BackgroundJobHarness (a background job under stty tostop), StreamHarness
(stdout and stderr closed or full), FullDiskHarness (a tiny tmpfs in a
private mount namespace), InterruptHarness (Ctrl-C at random moments),
ImportHarness (the modules a run imports), StormHarness (twenty processes
at once), LockHolderHarness (locks held by another process, and a caller
that goes) and AwsCliHarness (the AWS CLI's own code, from Debian's awscli:
have_debian_cli). Then the programs these tests run in other processes and
interpreters (CLI_STYLE, AWSCLI_LOGOUT_SWEEP, AWSCLI_REGISTRATION_KEYS,
SIGNAL_RECORDER, INSTALL_KILLED_AT).
"""

import fcntl
import itertools
import json
import os
import pty
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import aws_sso_credential_process as acp

from .endpoint import FETCH
from .sandbox import HERE, SCRIPT, Result, read, write
from .standin import ACCOUNT


class InstallHarness:
    """--install and --uninstall into a prefix under the sandbox, and the launcher they write."""

    #: What an install leaves under its prefix.
    INSTALLED = ["bin", "bin/aws-sso-credential-process", "share", "share/aws-sso-credential-process",
                 "share/aws-sso-credential-process/__pycache__",
                 "share/aws-sso-credential-process/__pycache__/aws_sso_credential_process.%s.pyc"
                 % sys.implementation.cache_tag,
                 "share/aws-sso-credential-process/aws_sso_credential_process.py",
                 "share/aws-sso-credential-process/install-record.json"]

    #: The console script pip and pipx write for the original tool (PyPI 0.3.1).
    ORIGINAL = ("#!%s\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom aws_sso_credential_process."
                "aws_sso_credential_process import main\nif __name__ == '__main__':\n    sys.argv[0] = re.sub("
                "r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(main())\n")

    def setUp(self):
        super().setUp()
        self.use_prefix(os.path.join(self.sb.root, "prefix"))

    def use_prefix(self, prefix):
        self.prefix = prefix
        self.launcher = os.path.join(prefix, "bin", "aws-sso-credential-process")
        self.share = os.path.join(prefix, "share", "aws-sso-credential-process")

    def install(self, *args, python=None, script=SCRIPT, env=None):
        p = subprocess.run([python or sys.executable, script, "--install", "--prefix", self.prefix] + list(args),
                           env=self.sb.environ(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.sb.root,
                           start_new_session=True)
        return Result(p.returncode, p.stdout.decode(), p.stderr.decode())

    def uninstall(self, launcher=None):
        """--uninstall of the prefix, by the installed launcher or by SCRIPT."""
        p = subprocess.run(([launcher] if launcher else [sys.executable, SCRIPT]) + ["--uninstall", "--prefix",
                                                                                    self.prefix],
                           env=self.sb.environ(), capture_output=True, cwd=self.sb.root, start_new_session=True)
        return Result(p.returncode, p.stdout.decode(), p.stderr.decode())

    def install_killed_at(self, k):
        """--install killed (SIGKILL's status, 9) just before its k-th os.replace; 0 if it makes fewer."""
        return subprocess.run([sys.executable, "-c", INSTALL_KILLED_AT, str(k), "--install", "--prefix", self.prefix],
                              env=self.sb.environ(), capture_output=True).returncode

    def assert_killed_at_every_rename(self, upgrade):
        """An --install (or an upgrade) killed just before each os.replace it
        makes (the record, the bytecode, the script, the launcher, the record
        again), then after the last: the next --uninstall leaves nothing, the
        next --install a whole install."""
        for k in range(1, 10):
            with self.subTest(killed_at=k):
                shutil.rmtree(self.prefix, ignore_errors=True)
                if upgrade:
                    self.assertEqual(self.install().rc, 0)
                rc = self.install_killed_at(k)
                self.assertIn(rc, (0, 9))
                if rc == 0:  # no rename left to be killed at
                    self.assertGreater(k, 5)
                    break
                r = self.uninstall()
                self.assertEqual(r.rc, 0, r)
                self.assertEqual(self.tree(), [], "as if the install had never started: %s" % r.out)
                self.install_killed_at(k)
                self.assertEqual(self.install().rc, 0)
                self.assertEqual(self.tree(), self.INSTALLED, "as if it had finished")
                self.assertEqual(self.launch("--version").rc, 0)

    def launch(self, *args, env=None):
        p = subprocess.run([self.launcher] + list(args), env=self.sb.environ(env),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.sb.root, start_new_session=True)
        return Result(p.returncode, p.stdout.decode(), p.stderr.decode())

    def tree(self):
        return sorted(os.path.relpath(os.path.join(d, n), self.prefix)
                      for d, dirs, files in os.walk(self.prefix) for n in dirs + files)


class ShellHarness:
    """--format's output, loaded by a shell; a portal that hands out hostile credentials."""

    NAMES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION",
             "AWS_ACCOUNT_ID")
    #: What a hostile or broken portal could send: every shell's metacharacters.
    HOSTILE = {"accessKeyId": "ASIA'\"$(touch pwned)`touch pwned`",
               "secretAccessKey": "s'e\\c\"r$HOME;et %PATH% !x! ^&|<> {a,b} * \\'",
               "sessionToken": "tok'en$(id)\\' -- #"}

    def hostile_portal(self, creds=None):
        body = json.dumps({"roleCredentials": dict(creds or self.HOSTILE,
                                                   expiration=int((time.time() + 3600) * 1000))})
        self.standin.fail("/federation/credentials", headers=[("Content-Type", "application/json")],
                          raw=body.encode())

    def in_shell(self, fmt, shell):
        """Run --format fmt, load its output in shell, and return the variables it set."""
        r = self.sb.call("--profile", "sess", "--format", fmt)
        self.assertEqual((r.rc, r.err), (0, ""), r)
        script = os.path.join(self.sb.root, "creds." + fmt)
        with open(script, "w") as f:
            f.write(r.out)
        show = "%s -c 'import json, os; print(json.dumps([os.environ.get(n) for n in %s]))'" % (
            shlex.quote(sys.executable), json.dumps(self.NAMES))
        if shell == "fish":
            argv = ["fish", "--no-config", "-c", "source %s; and %s" % (shlex.quote(script), show)]
        else:
            argv = [shell, "-c", '. %s && export %s && %s' % (shlex.quote(script), " ".join(self.NAMES), show)]
        p = subprocess.run(argv, env=self.sb.env, cwd=self.sb.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        return json.loads(p.stdout.decode())

    def expected(self, creds):
        return [creds["accessKeyId"], creds["secretAccessKey"], creds["sessionToken"],
                acp.format_time(creds["expiration"] // 1000)[:-1] + "+00:00", ACCOUNT]


class BackgroundJobHarness:
    """The script as a background job of a terminal's session, under stty tostop."""

    script = SCRIPT  # the script under test (a test can point this at another copy)

    LEADER = textwrap.dedent("""\
        import os, sys, termios
        slave, stderr_to, python, script = sys.argv[1:5]
        os.setsid()
        tty = os.open(slave, os.O_RDWR)  # the session's controlling terminal
        attrs = termios.tcgetattr(tty)
        attrs[3] |= termios.TOSTOP
        termios.tcsetattr(tty, termios.TCSANOW, attrs)
        pid = os.fork()
        if pid == 0:  # a background job: a process group that is not the terminal's foreground one
            os.setpgid(0, 0)
            os.dup2(tty if stderr_to == "tty" else os.open(stderr_to, os.O_WRONLY | os.O_CREAT, 0o600), 2)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            os.execv(python, [python, script] + sys.argv[5:])
        _, status = os.waitpid(pid, os.WUNTRACED)
        if os.WIFSTOPPED(status):
            os.kill(pid, 9)
            print("stopped by signal %d" % os.WSTOPSIG(status))
        else:
            print("exit %d" % os.WEXITSTATUS(status))
        """)

    def run_in_background(self, stderr_to, *args):
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        name = os.ttyname(slave)
        os.close(slave)
        p = subprocess.run([sys.executable, "-c", self.LEADER, name, stderr_to, sys.executable, self.script]
                           + list(args),
                           env=self.sb.environ(), capture_output=True, text=True, timeout=60)
        return p.stdout.strip()


class StreamHarness:
    """The script under sh, its stdout and stderr redirected."""

    def run_with(self, redirect, *args):
        """Run the script under sh with these redirections ($ERR names a file
        for stderr); (exit code, what reached that file)."""
        err = os.path.join(self.sb.root, "stderr.txt")
        command = "%s %s %s %s" % (shlex.quote(sys.executable), shlex.quote(SCRIPT),
                                   " ".join(shlex.quote(a) for a in args), redirect)
        p = subprocess.run(["sh", "-c", command], env=self.sb.environ({"ERR": err}), cwd=self.sb.root,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        text = ""
        if os.path.exists(err):
            with open(err) as f:
                text = f.read()
            os.remove(err)
        return p.returncode, text


class FullDiskHarness:
    """The script on a full disk: HOME a 64 KiB tmpfs in a private mount namespace."""

    def setUp(self):
        super().setUp()
        if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"], stderr=subprocess.DEVNULL).returncode:
            self.skipTest("unshare -m is not available here (needs root or user namespaces)")

    def on_a_full_disk(self):
        """Copy the sandbox's config and token onto the full disk, run the
        script there (--profile sess --debug); what it left: out, err, rc and
        ls (the cache directories)."""
        config = read(self.sb.path(".aws", "config"))
        token = read(self.sb.token_path("dev"))
        script = textwrap.dedent("""
            set -e
            mount -t tmpfs -o size=64k tmpfs "$HOME"
            mkdir -p "$HOME/.aws/sso/cache"
            printf '%s' "$CONFIG" > "$HOME/.aws/config"
            printf '%s' "$TOKEN" > "$HOME/.aws/sso/cache/$TOKEN_NAME"
            head -c 1000000 /dev/zero > "$HOME/filler" 2>/dev/null || true
            set +e
            "$PYTHON" "$SCRIPT" --profile sess --debug > "$OUT" 2> "$ERR"
            echo $? > "$RC"
            ls -a "$HOME/.aws/cli/cache" "$HOME/.aws/sso/cache" > "$LS" 2>&1
            """)
        files = {name: os.path.join(self.sb.root, name) for name in ("out", "err", "rc", "ls")}
        env = self.sb.environ(dict(CONFIG=config, TOKEN=token, TOKEN_NAME=os.path.basename(self.sb.token_path("dev")),
                                   PYTHON=sys.executable, SCRIPT=SCRIPT, OUT=files["out"], ERR=files["err"],
                                   RC=files["rc"], LS=files["ls"]))
        p = subprocess.run(["unshare", "-m", "sh", "-c", script], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, start_new_session=True)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return {name: read(path) for name, path in files.items()}


class InterruptHarness:
    """SIGINT at random moments of many runs."""

    script = SCRIPT
    # The interpreter itself, not a wrapper around it (make test-slow's late
    # starter): the aim is at this project's run, not at a wrapper's sleep.
    INTERPRETER = getattr(sys, "_base_executable", None) or sys.executable

    def interrupt_at_random(self, command, tries=60):
        """SIGINT at a random moment of each of `tries` runs (within as long as
        a run takes: measured first, then shortened whenever a run ends first). Python compiles the file it runs (the
        plain form, or the launcher) before running a line of it, and a
        Ctrl-C meanwhile is Python's own traceback, at line 0.
        Before that, while the interpreter starts, a Ctrl-C kills it, or it
        says "KeyboardInterrupt", "Fatal Python error: init..." or shows a
        traceback of its own start-up (site, its frozen modules): those are
        the interpreter's, before any line of this project runs."""
        rng = random.Random(7)
        seen = set()
        started = time.monotonic()
        subprocess.run(command, env=self.sb.environ(), capture_output=True, check=True)
        took = time.monotonic() - started
        for i in range(tries):
            p = subprocess.Popen(command, env=self.sb.environ(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 start_new_session=True)
            time.sleep(rng.uniform(0, took))
            if p.poll() is not None:  # finished first: aim earlier (the machine's speed changes under load)
                took *= 0.7
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=30)
            out, err = out.decode(), err.decode()
            frames = re.findall(r'File "([^"]*)", line (\d+)', err)
            ours = [(f, n) for f, n in frames if f.endswith(("aws_sso_credential_process.py", "/aws-sso-credential-process"))]
            own_start = "KeyboardInterrupt" in err or err.startswith("Fatal Python error: init")
            if own_start and all(int(n) <= self.first_line(f) for f, n in ours):
                seen.add("the interpreter's own start")  # before this file's first line ran: no program can help
                if p.returncode == 0:
                    self.assertEqual(json.loads(out)["Version"], 1)
                continue
            seen.add(p.returncode)
            self.assertNotIn("Traceback", err, (i, out, err))
            self.assertIn(p.returncode, (0, 130, -signal.SIGINT), (i, out, err))
            if p.returncode == 130:
                self.assertEqual(err, "aws-sso-credential-process: interrupted\n", (i, out, err))
            if out:
                self.assertEqual(json.loads(out)["Version"], 1, "whole, or not at all")
        return seen

    @staticmethod
    def first_line(path):
        """The line of a file (the script, or the launcher) that takes Ctrl-C
        over: a KeyboardInterrupt raised before or on it is Python's own."""
        try:
            with open(path) as f:
                for number, line in enumerate(f, 1):
                    if "signal(2" in line:
                        return number
        except OSError:
            pass
        return 0


class ImportHarness:
    """What Python imports running the script (python -X importtime)."""

    def imported(self, *args):
        p = subprocess.run([sys.executable, "-X", "importtime"] + list(args), env=self.sb.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.sb.root, start_new_session=True)
        lines = p.stderr.decode().splitlines()
        return p, {line.split("|")[-1].strip() for line in lines if line.startswith("import time:")}


class StormHarness:
    """N processes of the script at once, in the README's fast form."""

    N = 20

    def storm(self, *args, env=None, gate=None):
        """Their results. gate: a file to create once all but one wait on
        the lock the other holds (read from the shared debug log, so --debug
        must be among args): what the one does next, all the others see."""
        procs = [self.sb.start(*args, env=env, imported=True) for _ in range(self.N)]
        if gate:
            log = acp.home_path(self.sb.environ(), acp.LOG_FILE)
            self.wait_until(lambda: len(set(re.findall(r"\[(\d+)\] waiting for ", read(log) if os.path.exists(log)
                                                       else ""))) >= self.N - 1, "they never all waited", timeout=300)
            write(gate, "")
        return [self.sb.finish(p, timeout=300) for p in procs]


class LockHolderHarness:
    """Locks held by someone else: another process of the script in a login
    (hold_login_lock), a lock taken here as one would hold it (hold), and a
    caller that goes away while the script waits (caller_leaves_after)."""

    def hold_login_lock(self):
        """Start a process that takes the token lock and waits on a login nobody approves."""
        holder = self.sb.start("--profile", "legacy", "-i", "--no-browser")
        self.wait_until(lambda: self.standin.count("/device_authorization") >= 1, "the holder never started its login")
        return holder

    def hold(self, path):
        """Take the lock at path, as another process in the middle of a login or a fetch holds it."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.addCleanup(os.close, fd)

    def caller_leaves_after(self, checks):
        """parent and release seams: the caller is there for `checks` looks, then gone."""
        looks, released = itertools.count(), []
        return dict(parent=lambda: 1000 if next(looks) < checks else 1, release=lambda: released.append(True)), \
            released


# ---- programs the tests run in other processes, and in other interpreters

#: Profile native's credentials through botocore set up as the AWS CLI v2
#: sets it up; prints [key, secret, token].
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

#: `aws sso logout` (awscli/customizations/sso/logout.py): the real sweepers on
#: the sandbox's caches, with a stand-in for the one network call (the
#: portal's Logout) they would make. Prints the tokens that call was given.
AWSCLI_LOGOUT_SWEEP = """
    import json, os
    from awscli.customizations.sso.logout import SSOCredentialSweeper, SSOTokenSweeper
    class Portal:  # the Logout call, recorded instead of sent
        calls = []
        def create_client(self, service, region_name):
            return self
        def logout(self, accessToken):
            Portal.calls.append(accessToken)
    home = os.environ["HOME"]
    SSOTokenSweeper(Portal()).delete_credentials(os.path.join(home, ".aws", "sso", "cache"))
    SSOCredentialSweeper().delete_credentials(os.path.join(home, ".aws", "cli", "cache"))
    print(json.dumps(Portal.calls))
    """

#: The AWS CLI's registration cache key and scopes for each (config file,
#: profile) in the list it is formatted with (%r); prints [[key, scopes], ...].
AWSCLI_REGISTRATION_KEYS = """
    import json, os
    from awscli.botocore.session import Session
    from awscli.botocore.utils import SSOTokenFetcher
    from awscli.customizations.sso.utils import BaseSSOCommand
    found = []
    for path, profile in %r:
        os.environ["AWS_CONFIG_FILE"] = path
        config = BaseSSOCommand(Session(profile=profile))._get_sso_config()
        fetcher = SSOTokenFetcher(config["sso_region"], client_creator=None)
        key = fetcher._registration_cache_key(config["sso_start_url"], config.get("session_name"),
                                              config.get("registration_scopes"))
        found.append([key, config.get("registration_scopes")])
    print(json.dumps(found))
    """

#: A command that records the signals it gets (% (names, log, names, log)):
#: it touches LOG.ready once its handlers are set, then writes the names to
#: LOG once it has them all (or after 30 s).
SIGNAL_RECORDER = textwrap.dedent("""\
    import signal, sys, time
    got = []
    for name in %r:
        signal.signal(getattr(signal, name), lambda n, f: got.append(signal.Signals(n).name))
    open(%r + ".ready", "w").close()
    deadline = time.monotonic() + 30
    while len(got) < len(%r) and time.monotonic() < deadline:
        time.sleep(0.02)
    open(%r, "w").write(" ".join(got))
    """)

#: The script's --install with the K-th os.replace (its first argument)
#: killed just before it happens (exit 9): an install killed at that rename.
INSTALL_KILLED_AT = ("import os, sys\nK = int(sys.argv.pop(1))\nreal, n = os.replace, [0]\n"
                     "def replace(a, b):\n    n[0] += 1\n    if n[0] == K:\n        os._exit(9)\n    return real(a, b)\n"
                     "os.replace = replace\nsys.argv[0] = %r\n"
                     "exec(compile(open(%r).read(), %r, 'exec'), {'__name__': '__main__', '__file__': %r})\n"
                     % ((SCRIPT,) * 4))


DEBIAN_CLI = "/usr/bin/python3"


def have_debian_cli():
    return os.path.exists(DEBIAN_CLI) and subprocess.run(
        [DEBIAN_CLI, "-c", "import awscli.customizations.sso.logout"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL).returncode == 0


class AwsCliHarness:
    """Python code run by the interpreter Debian's awscli is installed for."""

    def cli(self, code):
        p = subprocess.run([DEBIAN_CLI, "-c", textwrap.dedent(code)], env=self.sb.environ(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, cwd=self.sb.root)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return json.loads(p.stdout.decode())


class ReadmeHarness:
    """For TestReadme: README.md's blocks, and a newcomer's PATH with the
    few stand-ins it needs (an `aws` that fails loudly if the README sends the
    user to the AWS CLI, pipx, terraform as a program that fetches credentials
    as an SDK does); the person approves the code the login prints."""

    def setUp(self):
        super().setUp()
        self.readme = read(os.path.join(HERE, "README.md"))
        self.blocks = re.findall(r"```(sh|ini)\n(.*?)```", self.readme, re.S)
        self.bin = self.sb.path("tools")
        os.makedirs(self.bin)
        self.work = self.sb.path("download")
        os.makedirs(self.work)
        for name, text in [
                ("aws", "echo 'the README sent the user to the AWS CLI' >&2; exit 99"),
                ("pipx", "[ \"$*\" = 'uninstall aws-sso-credential-process' ] && rm \"$HOME/.local/bin/$2\""),
                ("terraform", "exec %s -c %s" % (shlex.quote(sys.executable), shlex.quote(FETCH)))]:
            with open(os.path.join(self.bin, name), "w") as f:
                f.write("#!/bin/sh\n%s\n" % text)
            os.chmod(os.path.join(self.bin, name), 0o755)
        path = os.pathsep.join([os.path.join(self.sb.home, ".local", "bin"), self.bin,
                                os.path.dirname(sys.executable), "/usr/bin", "/bin"])
        self.env = self.sb.environ({"PATH": path})
        self.standin.auto_approve = 2  # the person approves the code the login prints (polled once before)

    @staticmethod
    def links(*pages):
        """(page, path, anchor or "") of every Markdown link in pages."""
        for page in pages:
            for target, anchor in re.findall(r"\]\(([^)#]*)(?:#([^)]*))?\)", read(os.path.join(HERE, page))):
                yield page, os.path.normpath(os.path.join(HERE, os.path.dirname(page), target or
                                                          os.path.basename(page))), anchor

    @staticmethod
    def anchors(path):
        """The anchors GitHub makes for the headings of the Markdown file at path."""
        outside_code = "".join(read(path).split("```")[0::2])
        return ["".join(c for c in line.lstrip("#").strip().lower() if c.isalnum() or c in " -_").replace(" ", "-")
                for line in outside_code.splitlines() if line.startswith("#")]

    def sh(self, name, wanted=0):
        """Run the README's sh block that starts with `name`, as written."""
        [text] = [t for kind, t in self.blocks if kind == "sh" and t.startswith(name)]
        r = subprocess.run(["sh", "-ec", text], cwd=self.work, env=self.env, capture_output=True, text=True,
                           timeout=120, start_new_session=True)  # no terminal: a CI step, docker run without -t
        self.assertEqual(r.returncode, wanted, (text, r))
        self.assertNotIn("Traceback", r.stderr)
        return r

