"""make demo and make bench, on the test machinery.

demo: boto3 gets credentials through the script from a local StandIn, then
five processes log in at once through a fake browser. bench: the cost of a
cache hit, next to a bare interpreter, the installed launcher and the older
tools (aws-sso-credential-process 0.3.1, aws-sso-util) if installed. Both run
through test_script.py (``python test_script.py demo`` / ``bench``).
"""

import os
import random
import shutil
import subprocess
import sys
import textwrap
import time

import aws_sso_credential_process as acp

from .sandbox import HERE, SCRIPT, Sandbox
from .standin import START_URL, StandIn


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


def _timed(commands, env, rounds):
    """{name: [seconds, ...]} over `rounds` interleaved runs of each command."""
    times = {name: [] for name, _ in commands}
    rng = random.Random(1)
    for _ in range(rounds):
        order = list(commands)
        rng.shuffle(order)  # interleaved, so drift hits every command alike
        for name, cmd in order:
            started = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - started)
    return times


def _peak_rss(commands, env):
    """{name: peak RSS in MB} through GNU time (a child forked from this,
    larger, process would report this process's size as its own)."""
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    rss = {}
    for name, cmd in commands if gnu_time else ():
        peaks = []
        for _ in range(5):
            p = subprocess.run([gnu_time, "-f", "%M"] + cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            peaks.append(int(p.stderr.decode().split()[-1]))
        rss[name] = max(peaks) / 1024
    return rss


def _cache_hit_table(sb, python, label, rounds, extra=()):
    """The cache-hit table for one interpreter: the bare interpreter, the
    forms of the line, the installed launcher (installed with this one)."""
    import statistics
    boot = "import sys; sys.path.insert(0, %r); import aws_sso_credential_process as m; m.run()" % HERE
    prefix = os.path.join(sb.root, "prefix-" + label)
    p = subprocess.run([python, SCRIPT, "--install", "--prefix", prefix], env=sb.env, capture_output=True)
    if p.returncode != 0:
        raise SystemExit("--install failed: %s" % p.stderr.decode())
    commands = [
        ("python3 -c pass (bare interpreter)", [python, "-c", "pass"]),
        ("python3 -I -S -c pass", [python, "-I", "-S", "-c", "pass"]),
        ("python3 aws_sso_credential_process.py", [python, SCRIPT, "--profile", "bench"]),
        ("python3 -I -S -c 'import ...' (cached bytecode)", [python, "-I", "-S", "-c", boot, "--profile", "bench"]),
        ("installed launcher (--install)", [os.path.join(prefix, "bin", "aws-sso-credential-process"),
                                            "--profile", "bench"]),
    ] + list(extra)
    for name, cmd in commands[2:]:  # warm: every command a cache hit on the same entry
        p = subprocess.run(cmd, env=sb.env, capture_output=True)
        if p.returncode != 0:
            raise SystemExit("%s failed: %s" % (name, p.stderr.decode()))
    calls = sb.standin.count()
    times, rss = _timed(commands, sb.env, rounds), _peak_rss(commands, sb.env)
    if sb.standin.count() != calls:
        raise SystemExit("the timed runs were not all cache hits")
    bare, floor = (statistics.median(times[commands[i][0]]) for i in (0, 1))
    with open(os.path.join(prefix, "bin", "aws-sso-credential-process")) as f:
        form = "#!" if f.readline().startswith("#!" + python) else "sh"
    print("Cache hit, %s interpreter %s (Python %s), %d interleaved runs each; the launcher is its %s form\n"
          % (label, python, sys.version.split()[0], rounds, form))
    print("%-50s %9s %9s %8s %9s %9s" % ("command", "median", "min", "ratio", "vs -I -S", "peak RSS"))
    for name, _ in commands:
        med = statistics.median(times[name])
        print("%-50s %7.1fms %7.1fms %7.2fx %8.2fx %7s" % (
            name, med * 1000, min(times[name]) * 1000, med / bare, med / floor,
            "%.1fMB" % rss[name] if name in rss else "n/a"))
    print()


def _mode_costs(sb, python, rounds=3):
    """What --logout and --check cost against the size of what they are
    not about: 100,000 unrelated files in the role cache; 20,000 profiles."""
    import statistics
    cache = sb.path(".aws", "cli", "cache")
    os.makedirs(cache, exist_ok=True)

    def median_run(*args):
        took, out = [], b""
        for _ in range(rounds):
            sb.write_token(START_URL)
            started = time.perf_counter()
            p = subprocess.run([python, SCRIPT] + list(args), env=sb.env, capture_output=True)
            took.append(time.perf_counter() - started)
            out = p.stdout + p.stderr
        return statistics.median(took), len(out)

    base, _ = median_run("--logout", "--profile", "bench")
    for i in range(100000):
        with open(os.path.join(cache, "unrelated-%06d.json" % i), "w") as f:
            f.write('{"ProviderType": "sso", "Credentials": {"AccountId": "999999999999"}}')
    crowded, _ = median_run("--logout", "--profile", "bench")
    config = sb.path(".aws", "config")
    with open(config) as f:
        plain = f.read()
    small, small_out = median_run("--check", "--profile", "bench")
    with open(config, "a") as f:
        for i in range(20000):
            f.write("\n[profile app%d]\ncredential_process = /usr/bin/python3 /opt/aws_sso_credential_process.py "
                    "--profile sess%d\nsso_session = nowhere\n" % (i, i))
    big, big_out = median_run("--check", "--profile", "bench")
    with open(config, "w") as f:
        f.write(plain)
    print("Modes against what they are not about (%s, median of %d):\n" % (python, rounds))
    print("  --logout, empty role cache            %7.0f ms" % (base * 1000))
    print("  --logout, 100,000 unrelated entries   %7.0f ms (it reads none of them)" % (crowded * 1000))
    print("  --check, one profile                  %7.0f ms, %d bytes of report" % (small * 1000, small_out))
    print("  --check, 20,000 more profiles (60,000 problems) %7.0f ms, %d bytes of report"
          % (big * 1000, big_out))


def bench(rounds=40):
    """Cache-hit cost side by side, as ratios, with the base interpreter and
    with this virtualenv's; then the modes' cost against what they are not
    about."""
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
        base = getattr(sys, "_base_executable", None) or os.path.join(sys.base_prefix, "bin", "python3")
        bindir = os.path.dirname(sys.executable)
        older = []
        for name, exe in (("aws-sso-credential-process 0.3.1", "aws-sso-credential-process"),
                          ("aws-sso-util credential-process", "aws-sso-util")):
            path = os.path.join(bindir, exe)
            if os.path.exists(path):
                older.append((name, [sys.executable, path] + (["credential-process"] if exe == "aws-sso-util"
                                                              else []) + ["--profile", "bench"]))
            else:
                print("(%s is not installed next to %s; skipped)" % (exe, sys.executable))
        if sys.prefix != sys.base_prefix:  # a virtualenv: the base interpreter first
            _cache_hit_table(sb, base, "base", rounds)
        _cache_hit_table(sb, sys.executable, "virtualenv" if sys.prefix != sys.base_prefix else "base", rounds,
                         older)
        print("ratio = median / median of the bare interpreter (python3 -c pass); vs -I -S = median / median of "
              "python3 -I -S -c pass; portal calls during the timed runs: 0\n")
        _mode_costs(sb, base)
        return 0
    finally:
        standin.close()
        sb.cleanup()
