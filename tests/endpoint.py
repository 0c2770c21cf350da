"""The credentials endpoint's clients, for the --exec and --serve tests:
FETCH (what an SDK does with the container-credentials variables, as a
program), http_get (one raw request to an endpoint, on TCP or a Unix
socket), RELATIVE_FORM (the forwarder on 169.254.170.2 inside a network
namespace, as a shell script), and the harnesses of TestEndpoint (an
Endpoint served in-process), TestServe (--serve as a real process) and
TestExec (--exec as a real process).
"""

import io
import json
import os
import socket
import textwrap
import threading

import aws_sso_credential_process as acp

from .browser import exchange
from .sandbox import read_lines

#: What an SDK does with the container-credentials variables, on the standard
#: library: fetch FULL_URI (or 169.254.170.2 + RELATIVE_URI) with the token
#: from the file (else the variable), and print the status, the answer and
#: the AWS_* environment it was given.
FETCH = textwrap.dedent("""\
    import json, os, sys, urllib.error, urllib.request
    env = os.environ
    uri = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or (
        "http://169.254.170.2" + env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/"))
    headers = {}
    if env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"):
        with open(env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]) as f:
            headers["Authorization"] = f.read()
    elif env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"):
        headers["Authorization"] = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        status, doc = 200, json.load(opener.open(urllib.request.Request(uri, headers=headers), timeout=10))
    except urllib.error.HTTPError as e:
        status, doc = e.code, json.load(e)
    print(json.dumps({"status": status, "doc": doc, "env": {k: v for k, v in env.items() if k.startswith("AWS_")},
                      "argv": open("/proc/self/cmdline").read().split("\\0")}))
    sys.exit(int(sys.argv[1]) if sys.argv[1:] else 0)
    """)


def http_get(address, target, headers=(), method="GET", body=b"", raw=None, timeout=10):
    """(status, parsed JSON body or None, raw answer) of one request to an endpoint."""
    data = raw if raw is not None else ("%s %s HTTP/1.1\r\n%s\r\n" % (method, target, "".join(
        "%s: %s\r\n" % h for h in headers))).encode("latin-1") + body
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address)
    else:
        sock = socket.create_connection(address, timeout=timeout)
    answer = exchange(sock, data)
    if not answer:
        return None, None, ""
    head, _, payload = answer.partition("\r\n\r\n")
    try:
        doc = json.loads(payload)
    except ValueError:
        doc = None
    return int(head.split()[1]), doc, answer


#: Run with `unshare -n sh -c` in the sandbox's root (PY, SCRIPT, SOCK: the
#: --serve --socket of the host, FETCH): the forwarder serves the relative form
#: at 169.254.170.2 and FETCH reaches it with the path it printed (fetched), with
#: no path (wrong-path) and with a path the user chose (shared, shared-lines);
#: a path too short to be a secret is refused (short-rc, short-err).
RELATIVE_FORM = textwrap.dedent("""\
    ip link set lo up && ip addr add 169.254.170.2/32 dev lo || exit 99
    "$PY" "$SCRIPT" --serve --upstream "unix:$SOCK" --bind 169.254.170.2 > lines 2> serve-err &
    server=$!
    for i in $(seq 100); do [ -s lines ] && break; sleep 0.1; done
    . ./lines
    "$PY" -c "$FETCH" > fetched
    unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
    "$PY" -c "$FETCH" > wrong-path
    kill $server; wait $server
    secret=/$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=$secret "$PY" "$SCRIPT" --serve --upstream "unix:$SOCK" \\
        --bind 169.254.170.2 > shared-lines 2>> serve-err &
    server=$!
    for i in $(seq 100); do [ -s shared-lines ] && break; sleep 0.1; done
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=$secret "$PY" -c "$FETCH" > shared
    kill $server; wait $server
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/short "$PY" "$SCRIPT" --serve --upstream "unix:$SOCK" \\
        --bind 169.254.170.2 2> short-err; echo $? > short-rc
    """)


class InProcessEndpoint:
    """For a SandboxTest: an Endpoint served in-process, and requests to it."""

    def serve(self, interactive=False, **endpoint):
        ctx = acp.Context(acp.Config(self.sb.environ()), now=self.sb.clock.now, monotonic=self.sb.clock.monotonic,
                          sleep=self.sb.clock.sleep, stderr=io.StringIO(), open_terminal=lambda: None,
                          open_browser=lambda url: False)
        ctx.watching, ctx.attended = False, True  # as run_serve has them
        ctx.configure({"mode": "serve", "profile": "sess"})
        ctx.cfg.interactive = False
        ep = acp.Endpoint(ctx, acp.local_source(ctx, interactive), **endpoint)
        threading.Thread(target=ep.server.serve_forever, daemon=True).start()
        self.addCleanup(ep.server.close)
        self.addCleanup(ep.server.shutdown)
        self.ctx = ctx
        return ep

    def ask(self, ep, **kwargs):
        headers = kwargs.pop("headers", None)
        if headers is None:
            headers = [("Host", ep.host), ("Authorization", ep.token)]
        return http_get(ep.server.address, kwargs.pop("target", ep.path), headers, **kwargs)


class Serving:
    """For a SandboxTest: --serve as a real process."""

    def start_serving(self, *args, env=None):
        proc = self.sb.start("--serve", *args, env=env)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.communicate()))
        return proc, [] if "--socket" in args else read_lines(proc, 2)

    def wait_for_socket(self, path):
        """Until the server at path accepts connections (bound, it refuses them for a moment before it listens)."""
        def accepts():
            with socket.socket(socket.AF_UNIX) as s:
                return s.connect_ex(path) == 0
        self.wait_until(accepts, "no socket at %s" % path)

    def socket_dir(self):
        directory = os.path.join(self.sb.root, "run")
        os.mkdir(directory, 0o700)
        return directory


class ExecHarness:
    """For a SandboxTest: --exec -- COMMAND as a real process, and what FETCH printed."""

    def exec_(self, *command, env=None, args=("--profile", "sess"), timeout=60):
        return self.sb.run("--exec", *args, "--", *command, env=env, timeout=timeout)

    def fetched(self, r):
        self.assertTrue(r.out, r)
        return json.loads(r.out.splitlines()[-1])
