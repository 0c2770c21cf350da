"""The relative form of the container-credentials endpoint, for the SDK matrix:
a private network namespace whose loopback also holds 169.254.170.2 (the
one address AWS_CONTAINER_CREDENTIALS_RELATIVE_URI reaches, on port 80), as a
container's network would, and the socket forwarder pair that serves it:

    host:       aws_sso_credential_process.py --serve --socket DIR/sock --profile P
    namespace:  aws_sso_credential_process.py --serve --upstream unix:DIR/sock --bind 169.254.170.2
    namespace:  the consumer, with AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=<the path printed>

The namespace is new and empty (`unshare -n`, as root): nothing in it
reaches the host's network, and nothing sent to 169.254.170.2 in it leaves
it; the Unix socket is the one way through, as a socket mounted into a
container would be. Processes join it with nsenter.
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from .sandbox import SCRIPT

ECS_ADDRESS = "169.254.170.2"
TOOLS = ("unshare", "nsenter", "ip")
_SEARCH = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin", "/usr/bin", "/bin"])


def tool(name):
    return shutil.which(name, path=_SEARCH)


class Namespace:
    """A network namespace held open by a process of its own (until close),
    its loopback up with 169.254.170.2 on it."""

    def __init__(self):
        setup = "%s link set lo up && %s addr add %s/32 dev lo && echo ready && exec cat" % (
            tool("ip"), tool("ip"), ECS_ADDRESS)
        self.holder = subprocess.Popen([tool("unshare"), "--net", "sh", "-c", setup], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        if self.holder.stdout.readline().strip() != b"ready":
            self.close()
            raise OSError("cannot make a network namespace: %s" % self.holder.stderr.read().decode(
                errors="replace").strip())
        self.net = "/proc/%d/ns/net" % self.holder.pid

    def argv(self, command):
        """The command, to run inside the namespace."""
        return [tool("nsenter"), "--net=" + self.net, "--"] + list(command)

    def close(self):
        if self.holder.poll() is None:
            self.holder.stdin.close()
            try:
                self.holder.wait(10)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait()
        for stream in (self.holder.stdout, self.holder.stderr):
            stream.close()


def missing():
    """Why the relative form cannot be tried here, or None."""
    if not sys.platform.startswith("linux"):
        return "the relative form needs a Linux network namespace"
    if os.geteuid() != 0:
        return "the relative form needs root (a network namespace with 169.254.170.2 on its loopback)"
    absent = [name for name in TOOLS if tool(name) is None]
    if absent:
        return "the relative form needs %s (util-linux, iproute2)" % " and ".join(absent)
    try:
        Namespace().close()
    except OSError as e:
        return str(e)
    return None


def stop(proc):
    """Stop a --serve (SIGTERM); (its exit status, what it wrote on stderr)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return proc.returncode, err.decode(errors="replace")


class Forwarder:
    """The forwarder pair: --serve --socket on the host (its SSO login here),
    --serve --upstream in the namespace on 169.254.170.2:80; `relative_uri`
    is what the inner one printed."""

    def __init__(self, sb, namespace, *login):
        self.procs = []
        self.dir = tempfile.mkdtemp(prefix="sock-", dir=sb.root)  # 0700, ours
        self.socket = os.path.join(self.dir, "sock")
        try:
            outer = self._start(sb, [sys.executable, SCRIPT, "--serve", "--socket", self.socket] + list(login))
            deadline = time.monotonic() + 30
            while not os.path.exists(self.socket):
                if outer.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("--serve --socket did not start: %r" % (outer.communicate(timeout=10),))
                time.sleep(0.05)
            inner = self._start(sb, namespace.argv([sys.executable, SCRIPT, "--serve", "--upstream",
                                                    "unix:" + self.socket, "--bind", ECS_ADDRESS]))
            line = inner.stdout.readline().decode()
            if not line.startswith("export AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="):
                raise AssertionError("--serve --bind %s said %r, then %r" % (ECS_ADDRESS, line, stop(inner)))
            self.relative_uri = shlex.split(line.split("=", 1)[1])[0]
        except BaseException:
            self.close()
            raise

    def _start(self, sb, command):
        proc = subprocess.Popen(command, env=sb.environ(), cwd=sb.root, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.procs.append(proc)
        return proc

    def close(self):
        """Stop both servers; what each said, inner first."""
        said = [stop(p) for p in reversed(self.procs)]
        shutil.rmtree(self.dir, ignore_errors=True)
        return said
