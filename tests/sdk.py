"""boto3 and AWS CLI v2 side of the SDK matrix, in the protocol of
tests/sdk.js (it imports nothing of this project, so that a change under
way in the script or the suite never breaks a driver run):

    python tests/sdk.py boto3|awscli <mode> <profile> [n | seconds]

  profile    a profile name, or - for none (the default chain)
  chain      what an application gets for the profile. boto3:
             boto3.Session(profile_name=...).get_credentials(); the AWS CLI:
             `aws configure export-credentials --format process`
  sso        the same (botocore reads SSO profiles itself, and honours
             AWS_ENDPOINT_URL_SSO*; the offline AWS CLI can only answer from
             the role cache)
  container  "chain" with no profile, as under --exec; provider names which
             provider answered (boto3: Credentials.method, "container-role"
             for the container provider; the AWS CLI: the Type column of
             `aws configure list`)
  time       "chain" n times (default 10), timed one by one: boto3 a new
             Session each time (so a new provider, which fetches again); the
             AWS CLI a whole `aws` run each time
  bench      "time" for each of the comma-separated profiles (- for none), in
             one process, interleaved round by round: {"ok": true, "ms":
             {profile: [...]}}
  watch      "container", then the same credentials object asked again every
             half second, as an application's requests ask it (the SDK
             decides when to refresh), until the access key changes or
             `seconds` pass. `aws` commands are short-lived, so for the AWS
             CLI this is its own botocore (awscli.botocore, the session
             `aws` builds) in one /usr/bin/python3 process.

One JSON line on stdout, exit 0 whatever happened: as in tests/sdk.js, and
for watch also "renewed" (the second credentials, or null), "changedAt"
(epoch seconds when the second key was first seen) and "asks".

Nothing reaches the real AWS: boto3's connections are refused unless they go
to loopback (or to 169.254.170.2 in a network namespace with no interface but
lo, as tests/netns.py makes); every HTTPS request of the AWS CLI goes to a closed
local proxy (it honours no AWS_ENDPOINT_URL_* variable), so it answers only
from the role cache, by running credential_process, or from a container
endpoint (which it reaches without a proxy).
"""

import json
import os
import subprocess
import sys
import time

AWS = "/usr/bin/aws"
ECS_ADDRESS = "169.254.170.2"
#: The AWS CLI's environment: HTTPS through a closed port, no IMDS.
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "", "AWS_EC2_METADATA_DISABLED": "true"}


def loopback_alone():
    """Whether this process's network namespace has no interface but lo (as
    the one tests/netns.py makes, 169.254.170.2 on its loopback): nothing
    sent from it can leave."""
    try:
        with open("/proc/self/net/dev") as f:
            return [line.split(":")[0].strip() for line in f.readlines()[2:]] == ["lo"]
    except OSError:
        return False


def loopback_only():
    """Refuse, before it is made, any TCP connection but to loopback (and to
    169.254.170.2 in a network namespace whose only interface is lo)."""
    import ipaddress
    import socket
    real = socket.socket.connect
    ecs = loopback_alone()

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0].split("%")[0]
            try:
                ok = ipaddress.ip_address(host).is_loopback
            except ValueError:
                ok = False
            if not ok and not (ecs and host == ECS_ADDRESS):
                raise ConnectionRefusedError("tests/sdk.py: refused a connection to %s (loopback only)" % host)
        return real(self, address)
    socket.socket.connect = connect


def describe(creds, provider):
    if creds is None:
        raise RuntimeError("no credentials")
    frozen = creds.get_frozen_credentials()
    expiry = getattr(creds, "_expiry_time", None)
    return {"ok": True, "provider": provider, "accessKeyId": frozen.access_key, "secretAccessKey": frozen.secret_key,
            "sessionToken": frozen.token, "expiration": expiry.isoformat() if expiry else None,
            "accountId": getattr(frozen, "account_id", None)}


def watch(creds, provider, seconds):
    """Ask the same credentials object until its access key changes."""
    answer = describe(creds, provider)
    answer.update(renewed=None, changedAt=None, asks=1)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        answer["asks"] += 1
        if creds.get_frozen_credentials().access_key != answer["accessKeyId"]:
            answer["changedAt"] = time.time()
            answer["renewed"] = describe(creds, provider)
            break
    return answer


def boto3_driver(mode, profile, n):
    import boto3

    def lookup(name):
        started = time.perf_counter()
        creds = boto3.Session(profile_name=None if name == "-" else name).get_credentials()
        if creds is None:
            raise RuntimeError("no credentials")
        creds.get_frozen_credentials()
        return (time.perf_counter() - started) * 1000

    if mode == "time":
        return {"ok": True, "ms": [lookup(profile) for _ in range(int(n or 10))]}
    if mode == "bench":
        names = profile.split(",")
        ms = {name: [] for name in names}
        for _ in range(int(n or 10)):
            for name in names:
                ms[name].append(lookup(name))
        return {"ok": True, "ms": ms}
    name = None if profile == "-" else profile
    if mode in ("container", "watch"):
        name = None
    creds = boto3.Session(profile_name=name).get_credentials()
    if mode == "watch":
        return watch(creds, creds and creds.method, float(n or 60))
    return describe(creds, creds and creds.method)


def awscli_session_driver(mode, profile, n):
    """The AWS CLI's own botocore, in this (Debian /usr/bin/python3) process."""
    os.environ.update(OFFLINE)
    import awscli.clidriver
    session = awscli.clidriver.create_clidriver().session
    creds = session.get_credentials()
    if mode == "watch":
        return watch(creds, creds and creds.method, float(n or 60))
    return describe(creds, creds and creds.method)


def aws(*args):
    env = dict(os.environ, **OFFLINE)
    return subprocess.run([AWS] + list(args), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)


def awscli_driver(mode, profile, n):
    which = [] if profile == "-" or mode in ("container", "watch") else ["--profile", profile]
    if mode == "watch":
        p = subprocess.run(["/usr/bin/python3", os.path.abspath(__file__), "awscli-session", mode, "-", n or "60"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        return json.loads(p.stdout.decode().strip().splitlines()[-1])
    if mode == "time":  # each lookup is a whole `aws` run
        ms = []
        for _ in range(int(n or 10)):
            started = time.perf_counter()
            p = aws("configure", "export-credentials", *which)
            if p.returncode:
                raise RuntimeError(p.stderr.decode(errors="replace").strip())
            ms.append((time.perf_counter() - started) * 1000)
        return {"ok": True, "ms": ms}
    p = aws("configure", "export-credentials", *which, "--format", "process")
    if p.returncode:
        return {"ok": False, "error": p.stderr.decode(errors="replace").strip(), "name": "exit %d" % p.returncode}
    doc = json.loads(p.stdout.decode())
    provider = None
    if mode == "container":  # the Type column of the access_key line
        listed = aws("configure", "list").stdout.decode().splitlines()
        provider = ([line.split()[2] for line in listed if line.split()[:1] == ["access_key"]] or [None])[0]
    return {"ok": True, "provider": provider, "accessKeyId": doc["AccessKeyId"],
            "secretAccessKey": doc["SecretAccessKey"], "sessionToken": doc.get("SessionToken"),
            "expiration": doc.get("Expiration"), "accountId": doc.get("AccountId")}


DRIVERS = {"boto3": boto3_driver, "awscli": awscli_driver, "awscli-session": awscli_session_driver}
MODES = ("chain", "sso", "container", "time", "bench", "watch")


def main(argv):
    """Run one driver; print its one JSON line; 0."""
    if len(argv) not in (3, 4) or argv[0] not in DRIVERS or argv[1] not in MODES:
        answer = {"ok": False, "error": "usage: tests/sdk.py boto3|awscli %s PROFILE|- [N|SECONDS]"
                  % "|".join(MODES), "name": "UsageError"}
    else:
        loopback_only()
        try:
            answer = DRIVERS[argv[0]](argv[1], argv[2], argv[3] if len(argv) > 3 else None)
        except Exception as e:
            answer = {"ok": False, "error": str(e), "name": type(e).__name__}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.path.pop(0)  # not tests/: nothing here should shadow what the SDKs import
    sys.exit(main(sys.argv[1:]))
