"""The person at the browser: what a user (and other local clients) do
with a login page the script opens.

browse() approves a device code or follows a sign-in to the script's
callback server, or denies, forges, probes, drips and crowds around it.
Run as a program, this file is the BROWSER the subprocess tests hand the
script (Sandbox.browser): ``python /path/to/tests/browser.py URL`` logs how
it was started, then browses. It imports only the standard library, so that
it starts at once: a test polling on a fake clock does not wait for it to
compile the suite.
"""

import json
import os
import socket
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

#: This program, for BROWSER.
PROGRAM = os.path.abspath(__file__)

#: Idle clients for crowd-then-follow: more than the script's callback server
#: holds open (SERVER_MAX_CONNECTIONS, 64). The in-process FakeBrowser
#: passes the script's own number; this copy is for the stand-alone program,
#: which must not import the script.
CROWD = 64 + 8


def _callback_port(url):
    return urlsplit(parse_qs(urlsplit(url).query)["redirect_uri"][0]).port


def exchange(sock, data):
    """Send raw bytes on a connected socket; everything that comes back until
    the other side closes (or the socket's timeout), as text."""
    with sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError:
            pass
    return b"".join(chunks).decode("latin-1")


def _raw_request(port, data, wait=5):
    """Send raw bytes to the callback server; its whole answer as text."""
    return exchange(socket.create_connection(("127.0.0.1", port), timeout=wait), data)


def _drip(port, seconds):
    """A client that sends one byte every half second for `seconds`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            for byte in (b"GET /oauth/callback?code=x&state=y HTTP/1.1\r\n" * 10)[:int(seconds * 2)]:
                s.sendall(bytes([byte]))
                time.sleep(0.5)
    except OSError:
        pass


def _probe(url, seen):
    """What else the callback server answers: another loopback address (it
    must bind 127.0.0.1 only), another path, another method, garbage."""
    import urllib.error
    import urllib.request
    port = _callback_port(url)
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
    probes["POST"] = int(_raw_request(port, b"POST /oauth/callback HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
                         .split()[1])
    probes["garbage"] = int(_raw_request(port, b"\x00\x01garbage\r\n\r\n").split()[1])
    seen["probes"] = probes


def browse(url, action="follow", crowd=CROWD):
    """Act on a login page as a person would: follow it (sign in, approve),
    deny it, or misbehave around it. Returns what was seen. crowd: how many
    idle clients crowd-then-follow opens first."""
    import urllib.error
    import urllib.request
    seen = {}

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    def location(target):  # where /authorize sends the browser, without going there
        try:
            urllib.request.build_opener(NoRedirect).open(target, timeout=10)
        except urllib.error.HTTPError as e:
            return e.headers["Location"]

    try:
        if action == "deny":
            urllib.request.urlopen(url + "&deny=1", timeout=10).read()
        elif action == "deny-nasty":
            try:
                urllib.request.urlopen(location(url + "&deny=nasty"), timeout=10)
            except urllib.error.HTTPError as e:
                seen["page"] = e.read().decode()
        elif action == "wrong-state":  # a forged or stale response reaches the callback
            urllib.request.urlopen(location(url).replace("state=", "state=forged-"), timeout=10).read()
        elif action == "twice":
            port = _callback_port(url)
            second = socket.create_connection(("127.0.0.1", port), timeout=10)  # connected first, sends later
            time.sleep(0.3)
            target = location(url)
            seen["page"] = urllib.request.urlopen(target, timeout=10).read().decode()
            second.sendall(b"GET /oauth/callback?code=forged&%s HTTP/1.1\r\n\r\n" % target.split("&")[-1].encode())
            seen["second"] = second.recv(65536).decode("latin-1")
            second.close()
        elif action == "drip-forever":
            _drip(_callback_port(url), 4)
        elif action in ("follow", "probe", "stall-then-follow", "garbage-then-follow", "crowd-then-follow"):
            port = _callback_port(url) if "redirect_uri=" in url else None
            idle = None
            if action == "probe":
                _probe(url, seen)
            elif action == "stall-then-follow":
                idle = socket.create_connection(("127.0.0.1", port), timeout=10)  # a pre-connect, never used
                threading.Thread(target=_drip, args=(port, 6), daemon=True).start()
                time.sleep(0.3)
            elif action == "garbage-then-follow":
                seen["garbage"] = _raw_request(port, b"GARBAGE\r\n\r\n")
            elif action == "crowd-then-follow":  # more idle clients than the server holds open
                idlers = [socket.create_connection(("127.0.0.1", port), timeout=10)
                          for _ in range(crowd)]
                time.sleep(0.3)
            seen["page"] = urllib.request.urlopen(url, timeout=10).read().decode()
            for sock in ([idle] if idle else []) + (idlers if action == "crowd-then-follow" else []):
                sock.close()
    except (urllib.error.HTTPError, OSError) as e:
        seen["error"] = repr(e)
    return seen


def fake_browser(url):
    """The BROWSER the subprocess tests hand the script: records how it was
    started, then acts as a person would (FAKE_BROWSER_ACTION)."""
    fds = {}
    for fd in (0, 1, 2):
        try:
            fds[fd] = os.readlink("/proc/self/fd/%d" % fd)
        except OSError:
            fds[fd] = None
    with open(os.environ["FAKE_BROWSER_LOG"], "a") as f:
        f.write(json.dumps({"url": url, "fds": fds, "sid": os.getsid(0), "pid": os.getpid()}) + "\n")
    gate, waited = os.environ.get("FAKE_BROWSER_GATE"), 0
    while gate and not os.path.exists(gate) and waited < 6000:  # the person acts once the test says so (the
        # storm waits up to 300 s for that; this waits longer, and is killed with the test's sandbox if need be)
        time.sleep(0.1)
        waited += 1
    seen = browse(url, os.environ.get("FAKE_BROWSER_ACTION", "follow"))
    with open(os.environ["FAKE_BROWSER_LOG"] + ".seen", "a") as f:
        f.write(json.dumps(seen) + "\n")
    time.sleep(float(os.environ.get("FAKE_BROWSER_LINGER") or 0))
    return 0


if __name__ == "__main__":
    sys.exit(fake_browser(sys.argv[1]))
