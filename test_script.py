"""Tests for aws_sso_credential_process.py, grouped under the script's own
sections, then the tests of the whole: real processes, fuzzing, the SDKs.

Run with ``make test`` (or ``python -m unittest test_script``). Most tests run
the whole script in-process through ``main(argv, environ, stdout, stderr,
**seams)`` with a shared fake clock (sleeping is instant), in a temporary HOME
with every AWS_* variable scrubbed, against StandIn: a loopback server that
speaks the SSO portal and OIDC wire protocols as ../shared/SPEC.md describes.
The contract an SDK sees (exit codes and streams of a real process, file
locks across processes, the cache-hit imports, boto3 and botocore on the
other side) is tested with real subprocesses. Nothing touches the real AWS
or the real ~/.aws.

To add a test: find the class for the script section you changed, write the
user's situation with ``self.sb`` (write_config, write_token, call, run) and
assert what the user would see with ``self.ok`` / ``self.fails``.

Also ``python test_script.py demo`` (make demo), ``python test_script.py
bench`` (make bench) and ``FUZZ_EXAMPLES=1000 python -m unittest
test_script.TestFuzz`` (make fuzz).

This file holds the tests; what they stand on is in the tests/ package:
tests/standin.py (StandIn), tests/sandbox.py (Sandbox, SandboxTest, Clock,
FakeBrowser, BASE_CONFIG and the other config fixtures, read/write),
tests/fixtures.py (the unit tests' corpora, tables and builders),
tests/processes.py (the harnesses of the real-process tests, and the programs
they run), tests/endpoint.py (the endpoint's clients and harnesses),
tests/fuzz.py (TestFuzz's strategies and checks), tests/browser.py (the
person at the browser), tests/matrix.py (the SDK consumers, SdkMatrix,
docs/reference.md's tables, sdk-bench), tests/tools.py (demo, bench) and
tests/runner.py (the parallel runner, and this file's commands).
"""

import configparser
import datetime
import glob
import importlib.util
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
import urllib.request
import venv
from unittest import mock

import aws_sso_credential_process as acp
from tests import fuzz
from tests.endpoint import FETCH, RELATIVE_FORM, ExecHarness, InProcessEndpoint, Serving, http_get
from tests.fixtures import (INI_CORPUS, PRECEDENCE_CONFIG, PROXY_CASES, forward_references, function_lengths,
                            network_config, parse_both, token_state)
from tests.matrix import CONSUMERS, GoTimeoutHarness, consumer_named, fast_line, sdk_test_classes, trap_profiles
from tests.processes import (AWSCLI_LOGOUT_SWEEP, AWSCLI_REGISTRATION_KEYS, CLI_STYLE, SIGNAL_RECORDER, AwsCliHarness,
                             BackgroundJobHarness, FullDiskHarness, ImportHarness, InstallHarness, InterruptHarness,
                             LockHolderHarness, ReadmeHarness, ShellHarness, StormHarness, StreamHarness, have_debian_cli)
from tests.runner import main
from tests.sandbox import (APP_PROFILE, BASE_CONFIG, DEV_SESSION, HAVE_BOTOCORE, HERE, NATIVE_PROFILE, SCRIPT, Clock,
                           FakeBrowser, Result, SandboxTest, Terminal, needs_botocore, read, read_json, temp_dir,
                           read_lines, token_on_disk, utc, write)
from tests.standin import ACCOUNT, ROLE, START_URL, TEST_CA_PEM, UNRELATED_CA_PEM, StandIn

# What "login required" says for the fixture's profile sess: the script's own --login, then the AWS CLI's.
SESS_ADVICE = "--login --profile sess (or: aws sso login --sso-session dev)"


# ==========================================================================
# Constants and errors
# ==========================================================================

class TestErrors(unittest.TestCase):
    CLASSES = (acp.Error, acp.ConfigError, acp.LoginRequired, acp.LoginFailed, acp.AccessDenied,
               acp.ServiceError, acp.Busy, acp.CallerGone, acp.CommandError, acp.OutputError, acp.OidcError)

    def test_every_class_is_found_by_name(self):
        for cls in self.CLASSES:
            self.assertIs(acp.error_class(cls.__name__), cls)
        self.assertIsNone(acp.error_class("ValueError"))
        self.assertIsNone(acp.error_class("Bogus"))

    def test_each_user_facing_class_has_its_own_exit_code(self):
        codes = [cls.exit_code for cls in self.CLASSES if cls is not acp.OidcError]
        self.assertEqual(len(codes), len(set(codes)))
        self.assertEqual(acp.Error.exit_code, 70, "70 is for bugs only")


# ==========================================================================
# Small pure helpers: time, hashing, JSON, text, paths
# ==========================================================================

class TestTimestamps(unittest.TestCase):
    def test_every_form_the_sdks_write(self):
        expected = datetime.datetime(2026, 11, 25, 17, 43, 19, tzinfo=datetime.timezone.utc).timestamp()
        for text, extra in [("2026-11-25T17:43:19Z", 0), ("2026-11-25T17:43:19UTC", 0),
                            ("2026-11-25T17:43:19+00:00", 0), ("2026-11-25T17:43:19.000Z", 0),
                            ("2026-11-25T17:43:19.123456+00:00", 0.123456),
                            ("2026-11-25T19:43:19+02:00", 0), ("2026-11-25T12:13:19-0530", 0),
                            ("2026-11-25 17:43:19.5Z", 0.5), ("2026-11-25t17:43:19z", 0),
                            ("2026-11-25T17:43:19", 0), ("2026-11-25T17:43:19 GMT", 0)]:
            with self.subTest(text=text):
                self.assertAlmostEqual(acp.parse_time(text), expected + extra, places=5)

    def test_agrees_with_datetime_over_the_calendar(self):
        rng = random.Random(7)
        for _ in range(2000):
            epoch = rng.randint(0, 253402300799)
            text = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat()
            self.assertEqual(acp.parse_time(text), epoch, text)
            self.assertEqual(acp.format_time(epoch), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)))

    def test_rejects_garbage(self):
        self.assertEqual(acp.parse_time("2024-02-29T00:00:00Z"), 1709164800)
        for text in ["", "2026-11-25", "2026-13-01T00:00:00Z", "2026-11-25T24:00:00Z", "2026-02-31T00:00:00Z",
                     "2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
                     "2026-11-25T17:43:19+0", "2026-11-25T17:43:19.Z", "2026-11-25T17:43:19 EST",
                     "2026/11/25T17:43:19Z", "२०२६-11-25T17:43:19Z", 1795628599, None]:
            with self.subTest(text=text):
                with self.assertRaises(ValueError):
                    acp.parse_time(text)

    def test_only_times_every_sdk_can_parse(self):
        self.assertEqual(acp.parse_time("9999-12-31T23:59:59Z"), acp.MAX_EPOCH)
        for text in ["9999-12-31T23:59:59-01:00",  # year 10000 in UTC
                     "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z"]:
            with self.subTest(text=text):
                self.assertRaises(ValueError, acp.parse_time, text)

    def test_format_is_always_four_digit_years(self):
        for epoch, text in [(0, "1970-01-01T00:00:00Z"), (acp.MAX_EPOCH, "9999-12-31T23:59:59Z"),
                            (1795628599.9, "2026-11-25T17:43:19Z")]:
            with self.subTest(epoch=epoch):
                self.assertEqual(acp.format_time(epoch), text)
        for bad in (acp.MAX_EPOCH + 1, -1, float("inf"), float("nan")):
            self.assertRaises(ValueError, acp.format_time, bad)


class TestServiceNumbers(unittest.TestCase):
    def test_only_finite_numbers_in_range(self):
        self.assertEqual(acp.service_number(3600, "x", 1, 7200), 3600)
        self.assertEqual(acp.service_number(3600.9, "x", 1, 7200), 3600)
        for bad in (True, "3600", None, [], float("inf"), float("-inf"), float("nan"), 0, -5, 10 ** 400, 7201):
            with self.subTest(bad=bad):
                with self.assertRaises(ValueError) as cm:
                    acp.service_number(bad, "expiresIn", 1, 7200)
                self.assertEqual(str(cm.exception), "expiresIn is missing or out of range")

    def test_clamped_numbers(self):
        for value, expected in [(5, 5), (0, 1), (-3, 1), (10 ** 9, 60), (float("inf"), 60), (2.7, 2),
                                (float("nan"), 5), ("7", 5), (None, 5), (True, 5)]:
            self.assertEqual(acp.clamp_number(value, 5, 1, 60), expected, value)


class TestJson(unittest.TestCase):
    def test_matches_json_module(self):
        rng = random.Random(3)
        docs = [{"a": "x\u00e9\ud83d\ude00", "b": [1, -2.5e3, True, False, None], "c": {"d": "\"\\/"}},
                {}, [], "s", 0, {"expiresAt": "2026-11-25T17:43:19Z", "n": 12}]
        for doc in docs:
            for text in (json.dumps(doc), json.dumps(doc, indent=2), "  %s\n" % json.dumps(doc)):
                self.assertEqual(acp.json_loads(text), json.loads(text))
        for _ in range(300):
            text = json.dumps({"k%d" % i: rng.choice(["v", 1, [1, "x"], {"z": None}]) for i in range(5)})
            cut = text[:rng.randrange(len(text))]
            for candidate in (text, cut):
                try:
                    expected = json.loads(candidate)
                except ValueError:
                    self.assertRaises(ValueError, acp.json_loads, candidate)
                else:
                    self.assertEqual(acp.json_loads(candidate), expected)

    def test_rejects_what_json_rejects(self):
        for text in ["", "{", "{} {}", "{'a': 1}", "[1,]", "nul", "\"\x01\""]:
            with self.subTest(text=text):
                self.assertRaises(ValueError, acp.json_loads, text)

    def test_nesting_too_deep_is_a_value_error(self):
        for text in ["[" * 100000 + "]" * 100000, "{\"a\":" * 50000 + "1" + "}" * 50000, "[" * 100000,
                     "[" * 65 + "]" * 65]:
            with self.assertRaises(ValueError) as cm:
                acp.json_loads(text)
            self.assertNotIsInstance(cm.exception, RecursionError)
        deep_enough = "[" * 64 + "]" * 64
        self.assertEqual(acp.json_loads(deep_enough), json.loads(deep_enough))
        brackets_in_strings = json.dumps({"a": "[{" * 100, "b": [["\\\"["]]})
        self.assertEqual(acp.json_loads(brackets_in_strings), json.loads(brackets_in_strings))

    def test_deep_nesting_near_the_recursion_limit(self):
        # With most of the stack already used (an SDK's, a test runner's),
        # hitting the parser's recursion limit could crash CPython 3.8.
        def nested(n):
            if n:
                return nested(n - 1)
            return acp.json_loads("[" * 100000 + "]" * 100000)
        with self.assertRaises(ValueError):
            nested(sys.getrecursionlimit() - 100)

    def test_json_str_is_json_dumps(self):
        for s in ["plain", "q\"b\\s/", "\x00\x1f\n\t", "é\u2028😀"]:
            self.assertEqual(acp.json_str(s), json.dumps(s))


class TestText(unittest.TestCase):
    def test_control_characters_are_escaped(self):
        self.assertEqual(acp.printable("ok é 😀 /x"), "ok é 😀 /x")
        self.assertEqual(acp.printable("a\x1b[2Jb\rc\x07d\x9be\u202ef"), "a\\x1b[2Jb\\rc\\x07d\\x9be\\u202ef")
        self.assertEqual(acp.one_line("two\nlines\r\n and\ttabs\x1b]0;t\x07"), "two lines and tabs\\x1b]0;t\\x07")
        self.assertEqual(acp.quoted("a\x1bb"), "'a\\x1bb'")

    def test_clip(self):
        self.assertEqual(acp.clip("x" * 400, 10), "x" * 10 + "...")
        self.assertEqual(acp.clip("short"), "short")

    def test_token_text(self):
        for good in ("aoaAAAAAGW0", "a:b/c+d=", "x" * 5000):
            self.assertTrue(acp.is_token_text(good))
        for bad in ("", "two words", "line\r\nX-Injected: 1", "caf\u00e9", "\u20ac", "tab\t", None, 5, b"bytes"):
            self.assertFalse(acp.is_token_text(bad), bad)

    def test_utf8_text(self):
        self.assertEqual(acp.utf8_text("fine é", "x"), "fine é")
        with self.assertRaises(acp.ConfigError) as cm:
            acp.utf8_text("bad\udcff", "the value of --role-name")
        self.assertEqual(str(cm.exception), "the value of --role-name is not valid UTF-8 text")

    def test_hide_userinfo(self):
        for url, shown in [("http://user:pw@proxy:3128/x", "http://***@proxy:3128/x"),
                           ("http://proxy:3128", "http://proxy:3128")]:
            with self.subTest(url=url):
                self.assertEqual(acp.hide_userinfo(url), shown)


class TestPaths(unittest.TestCase):
    def test_variables_expand_as_os_path_expandvars_does(self):
        env = {"A": "/x", "B_1": "y", "EMPTY": "", "\u00e9": "no"}
        for path in ["$A/c", "${A}/c", "$A$B_1", "/tmp/a$$b", "$", "$$", "${", "${}", "${A", "$UNSET/c",
                     "${UNSET}x", "~/$A", "$A-$B_1.txt", "$EMPTY/c", "$\u00e9", "a$1b", "${B_1}${A}"]:
            with self.subTest(path=path):
                with mock.patch.dict(os.environ, env, clear=True):
                    expected = os.path.expandvars(path)
                self.assertEqual(acp.expand_vars(path, env), expected)


# ==========================================================================
# Files: bounded reads, atomic writes, no symlink games, the debug log
# ==========================================================================

class TestFiles(unittest.TestCase):
    def setUp(self):
        self.tmp = temp_dir(self)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def test_reads_only_regular_files_and_never_blocks(self):
        os.mkfifo(self.path("fifo"))  # opening it for reading would block without O_NONBLOCK
        os.mkdir(self.path("dir"))
        for path, kind in [(self.path("fifo"), "a FIFO"), (self.path("dir"), "a directory"), ("/dev/zero", "a device")]:
            with self.subTest(path=path):
                with self.assertRaises(acp.NotAFile) as cm:
                    acp.read_regular_file(path, 100)
                self.assertIn("is %s, not a file" % kind, str(cm.exception))

    def test_reads_are_capped(self):
        with open(self.path("big"), "wb") as f:
            f.write(b"x" * 101)
        with self.assertRaises(acp.NotAFile) as cm:
            acp.read_regular_file(self.path("big"), 100)
        self.assertIn("larger than 100 bytes", str(cm.exception))
        self.assertEqual(acp.read_regular_file(self.path("big"), 101), b"x" * 101)
        self.assertRaises(FileNotFoundError, acp.read_regular_file, self.path("missing"), 100)

    def test_atomic_write_leaves_one_private_file(self):
        target = self.path("entry.json")
        acp.write_file_atomic(target, "{\"a\": 1}")
        self.assertEqual(read(target), "{\"a\": 1}")
        self.assertEqual(stat.S_IMODE(os.stat(target).st_mode), 0o600)
        self.assertEqual(os.listdir(self.tmp), ["entry.json"])

    def test_a_link_at_the_target_is_replaced_not_followed(self):
        victim = self.path("victim")
        write(victim, "untouched")
        os.symlink(victim, self.path("entry.json"))
        acp.write_file_atomic(self.path("entry.json"), "new")
        self.assertFalse(os.path.islink(self.path("entry.json")))
        self.assertEqual(read(victim), "untouched")

    def test_stale_temp_files_are_swept_by_the_next_write(self):
        # What a writer killed mid-write leaves: a recognisable name, maybe credentials inside.
        stale = self.path("entry.json.4242.deadbeef" + acp.TEMP_SUFFIX)
        fresh = self.path("other.json.4343.cafebabe" + acp.TEMP_SUFFIX)
        foreign = self.path("tmpabc123.tmp")  # botocore's own temp name: not ours to remove
        for path in (stale, fresh, foreign):
            write(path, "{\"Credentials\": {\"SecretAccessKey\": \"s\"")
        old = time.time() - acp.STALE_TEMP_SECONDS - 5
        os.utime(stale, (old, old))
        os.utime(foreign, (old, old))
        acp.write_file_atomic(self.path("entry.json"), "{}")
        self.assertEqual(sorted(os.listdir(self.tmp)), sorted(["entry.json", os.path.basename(fresh), "tmpabc123.tmp"]))

    def test_a_failed_write_leaves_nothing(self):
        with mock.patch.object(os, "fsync", side_effect=OSError(28, "No space left on device")):
            self.assertRaises(OSError, acp.write_file_atomic, self.path("entry.json"), "{}")
        self.assertEqual(os.listdir(self.tmp), [])

    def test_private_files_never_follow_links(self):
        victim = self.path("victim")
        write(victim, "untouched", mode=0o644)
        link = self.path("x.json.lock")
        os.symlink(victim, link)
        self.assertRaises(OSError, acp.open_private, link, os.O_RDWR)  # without replace_link: an error
        fd = acp.open_private(link, os.O_RDWR, replace_link=True)
        os.write(fd, b"note")
        os.close(fd)
        self.assertFalse(os.path.islink(link))
        self.assertEqual(read(victim), "untouched")
        self.assertEqual(stat.S_IMODE(os.stat(victim).st_mode), 0o644, "the link's target was not chmod'ed")

    def test_private_files_get_mode_0600(self):
        loose = self.path("loose.lock")
        write(loose, "{}", mode=0o666)
        os.close(acp.open_private(loose, os.O_RDWR))
        self.assertEqual(stat.S_IMODE(os.stat(loose).st_mode), 0o600)
        os.mkfifo(self.path("fifo.lock"))
        self.assertRaises(acp.NotAFile, acp.open_private, self.path("fifo.lock"), os.O_RDWR)


class TestDebugLog(SandboxTest):
    LOG = (".aws", "sso", "aws-sso-credential-process-log.txt")

    def log_text(self):
        path = self.sb.path(*self.LOG)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        return read(path)

    def test_log_shows_decisions_and_no_secrets(self):
        token = self.sb.write_token("dev", refreshToken="refresh-secret-value", clientId="cid",
                                    clientSecret="client-secret-value")
        doc = self.ok(self.sb.call("--profile", "sess", "--debug"))
        self.ok(self.sb.call("--profile", "sess", env={"AWS_SSO_CREDENTIAL_PROCESS_DEBUG": "true"}))
        text = self.log_text()
        for expected in ("sso_session=dev (sso_session in profile 'sess')",
                         "region=us-east-1 (sso_region in sso-session 'dev')",
                         "token cache", "HTTP GET 127.0.0.1", "/federation/credentials?role_name=Admin",
                         "-> 200", "role cache hit", "portal %s" % self.standin.url):
            self.assertIn(expected, text)
        for secret in (token, "refresh-secret-value", "client-secret-value", doc["SecretAccessKey"],
                       doc["SessionToken"]):
            self.assertNotIn(secret, text)

    def test_errors_and_log_file_mode(self):
        path = self.sb.path(*self.LOG)
        os.makedirs(os.path.dirname(path))
        write(path, "an old world-readable log\n", mode=0o644)
        self.fails(self.sb.call("--profile", "sess", "--debug"), 1, "not logged in")
        self.assertIn("error (exit 1)", self.log_text())

    def test_unwritable_log_is_a_warning_not_a_failure(self):
        os.makedirs(self.sb.path(*self.LOG))  # a directory
        self.sb.write_token("dev")
        r = self.sb.call("--profile", "sess", "--debug")
        self.assertEqual((r.rc, json.loads(r.out)["Version"]), (0, 1))
        self.assertRegex(r.err, r"^aws-sso-credential-process: warning: cannot write the debug log .*\n$")

    def test_no_log_without_debug(self):
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess"))
        self.assertFalse(os.path.exists(self.sb.path(*self.LOG)))

    def test_a_linked_log_is_not_followed(self):
        victim = os.path.join(self.sb.root, "victim")
        with open(victim, "w") as f:
            f.write("x" * (2 << 20))  # over the size at which the log is truncated
        os.chmod(victim, 0o644)
        os.makedirs(self.sb.path(".aws", "sso"))
        os.symlink(victim, self.sb.path(*self.LOG))
        self.sb.write_token("dev")
        r = self.sb.call("--profile", "sess", "--debug")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("cannot write the debug log", r.err)
        self.assertIn("it is a symbolic link", r.err)
        self.assertEqual(os.path.getsize(victim), 2 << 20, "not appended to, not truncated")
        self.assertEqual(stat.S_IMODE(os.stat(victim).st_mode), 0o644, "not chmod'ed")

    def test_a_log_that_fills_up_is_dropped_with_a_warning(self):
        self.sb.write_token("dev")
        path = self.sb.path(*self.LOG)
        real_write = os.write

        def write(fd, data):  # the disk under the log is full
            try:
                target = os.readlink("/proc/self/fd/%d" % fd)
            except OSError:
                target = None
            if target == path:
                raise OSError(28, "No space left on device")
            return real_write(fd, data)

        with mock.patch.object(os, "write", side_effect=write):
            r = self.sb.call("--profile", "sess", "--debug")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(json.loads(r.out)["Version"], 1)
        self.assertRegex(r.err, r"^aws-sso-credential-process: warning: the debug log .* could not be written "
                                r"\(.*No space left on device\); it stops here\n$")

    def test_a_log_over_a_mebibyte_starts_afresh(self):
        path = self.sb.path(*self.LOG)
        os.makedirs(os.path.dirname(path))
        with open(path, "w") as f:
            f.write("old line\n" * 150000)  # over 1 MiB
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess", "--debug"))
        text = self.log_text()
        self.assertNotIn("old line", text)
        self.assertIn("role credentials cached", text)

    def test_log_lines_escape_what_the_network_sent(self):
        self.sb.write_token("dev")
        self.standin.fail("/federation/credentials", status=400, error="Evil\x1b]0;pwned\x07",
                          message="bad\x1b[2J\rrequest")
        self.fails(self.sb.call("--profile", "sess", "--debug"), 5, "Evil\\x1b]0;pwned\\x07", "bad\\x1b[2J request")
        text = self.log_text()
        self.assertNotIn("\x1b", text)
        self.assertNotIn("\x07", text)
        self.assertIn("bad\\x1b[2J request", text)


# ==========================================================================
# Configuration: arguments, the file, precedence, endpoints, proxies, errors
# ==========================================================================

class TestArgs(unittest.TestCase):
    def test_forms(self):
        self.assertEqual(acp.parse_args(["--profile", "p", "--region=eu-west-1", "--debug",
                                         "--account-id", "1", "--account-id", "2"]),
                         {"mode": "credentials", "profile": "p", "region": "eu-west-1", "debug": True,
                          "account_id": "2"})
        self.assertEqual(acp.parse_args(["--help", "--bogus"]), {"mode": "help"})
        self.assertEqual(acp.parse_args(["--profile", "p", "-h"]), {"mode": "help"})
        self.assertEqual(acp.parse_args(["--version", "--bogus"]), {"mode": "version"})
        self.assertEqual(acp.parse_args(["--exec", "--profile", "p", "--", "env", "--profile", "x"]),
                         {"mode": "exec", "profile": "p", "command": ["env", "--profile", "x"]})

    def test_errors(self):
        for argv, phrase in [(["--bogus"], "unrecognized argument '--bogus'"),
                             (["--profile"], "--profile needs a value"),
                             (["--region="], "--region needs a non-empty value"),
                             (["extra"], "unrecognized argument 'extra'"),
                             (["--debug=yes"], "unrecognized argument '--debug=yes'"),
                             (["--role-name", "Ad\udcffmin"], "the value of --role-name is not valid UTF-8"),
                             (["--bo\x1bgus"], "unrecognized argument '--bo\\x1bgus'")]:
            with self.subTest(argv=argv):
                with self.assertRaises(acp.ConfigError) as cm:
                    acp.parse_args(argv)
                self.assertIn(phrase, str(cm.exception))


class TestIniParser(unittest.TestCase):
    """The fast INI reader must agree with configparser (and botocore) exactly."""

    def test_corpus_matches_configparser(self):
        for text in INI_CORPUS:
            with self.subTest(text=text):
                fast, slow = parse_both(text)
                if fast != "fallback":
                    self.assertEqual(fast, slow)

    def test_fallback_cases_are_the_unusual_ones(self):
        fallbacks = [t for t in INI_CORPUS if parse_both(t)[0] == "fallback"]
        self.assertIn("[DEFAULT]\nregion = r\n[profile a]\nk = v\n", fallbacks)
        self.assertIn("[profile a]\nk = v\n[profile a]\nj = w\n", fallbacks)
        self.assertNotIn(INI_CORPUS[4], fallbacks)  # continuations stay on the fast path

    def test_random_files_match_configparser(self):
        rng = random.Random(11)
        shapes = ["[profile p%d]", "[sso-session s%d]", "[default]", "k%d = v", "K%d : v",
                  "  cont %d", "\tcont%d", "", "   ", "# c%d", "; c%d", "  # ic%d", "k%d =",
                  "x%d=a=b", "[services sv%d]", "sso =", "  endpoint_url = http://h%d"]
        for _ in range(1500):
            lines = [rng.choice(shapes).replace("%d", str(rng.randrange(3))) for _ in range(rng.randrange(12))]
            text = "\n".join(lines) + rng.choice(["", "\n"])
            fast, slow = parse_both(text)
            if fast != "fallback":
                self.assertEqual(fast, slow, text)

    @needs_botocore
    def test_profile_map_matches_botocore(self):
        from botocore.configloader import build_profile_map, raw_config_parse
        from botocore.exceptions import ConfigParseError
        tmp = temp_dir(self)
        refused = 0
        for i, text in enumerate(INI_CORPUS):
            path = os.path.join(tmp, "c%d" % i)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            with self.subTest(text=text):
                try:
                    expected = build_profile_map(raw_config_parse(path))
                except ConfigParseError:
                    self.assertRaises(acp.ConfigError, acp.load_config_file, path)
                    refused += 1
                    continue
                ours = acp.load_config_file(path)
                for kind in ("profiles", "sso_sessions", "services"):
                    normalised = {name: {k: acp.parse_nested(v, "x") if v.startswith("\n") else v
                                         for k, v in values.items()}
                                  for name, values in ours[kind].items()}
                    self.assertEqual(normalised, expected[kind])
        self.assertGreaterEqual(refused, 5, "the corpus has files botocore refuses")


class TestConfigFile(SandboxTest):
    def test_a_malformed_nested_block_refuses_the_file_as_botocore_does(self):
        self.sb.write_token("dev")
        self.sb.write_config(BASE_CONFIG.replace("[profile sess]\n", "[profile sess]\ns3 =\n  max_concurrency\n"))
        err = self.fails(self.sb.call("--profile", "sess"), 2, "cannot parse config file",
                         "[profile sess] s3", "the line 'max_concurrency' is not 'key = value'")
        self.assertIn(self.sb.path(".aws", "config"), err)
        # in any section, used or not, as botocore does
        self.sb.write_config(BASE_CONFIG + "\n[profile other]\nnested =\n  a = 1\n  b\n")
        self.fails(self.sb.call("--profile", "sess"), 2, "[profile other] nested", "the line 'b'")

    def test_special_files_at_the_config_path(self):
        self.sb.write_token("dev")
        config = os.path.join(self.sb.root, "config-fifo")
        os.mkfifo(config)  # reading this with open() would hang forever
        for path, phrase in [(config, "is a FIFO, not a file"), (self.sb.root, "is a directory, not a file"),
                             ("/dev/zero", "is a device, not a file")]:
            with self.subTest(path=path):
                self.fails(self.sb.call("--profile", "sess", env={"AWS_CONFIG_FILE": path}), 2,
                           "cannot read config file %s" % path, phrase)

    def test_old_mac_line_endings(self):
        self.sb.write_token("dev")
        with open(self.sb.path(".aws", "config"), "w", newline="") as f:
            f.write(textwrap.dedent(BASE_CONFIG).replace("\n", "\r"))
        self.ok(self.sb.call("--profile", "sess"))

    def test_a_huge_config_file_is_refused(self):
        with open(self.sb.path(".aws", "config"), "a") as f:
            f.write("# padding\n" * (acp.CONFIG_FILE_LIMIT // 10 + 1))
        self.fails(self.sb.call("--profile", "sess"), 2, "cannot read config file", "larger than")

    def test_config_file_location_and_syntax(self):
        self.sb.env["CONFDIR"] = os.path.join(self.sb.root, "elsewhere")
        self.sb.write_config("""
            [default]
            sso_session = nope
            [profile "with space"]
            SSO_Session: dev
            Sso_Account_Id = 111122223333
            SSO_ROLE_NAME = Admin
            [sso-session dev]
            sso_start_url = https://d-abc123.awsapps.com/start
            SSO_REGION = us-east-1
            [profile default]
            sso_session = dev
            sso_account_id = 111122223333
            sso_role_name = Admin
            """, path=os.path.join(self.sb.root, "elsewhere", "cfg"))
        self.sb.write_token("dev")
        for config_file in ("$CONFDIR/cfg", "${CONFDIR}/cfg", "~/../elsewhere/cfg"):
            with self.subTest(config_file=config_file):
                env = {"AWS_CONFIG_FILE": config_file}
                self.ok(self.sb.call("--profile", "with space", env=env))
                # [profile default] comes later in the file, so it replaces [default]
                self.ok(self.sb.call("--profile", "default", env=env))


class TestPrecedence(unittest.TestCase):
    """flag > environment variable > profile > [sso-session] section."""

    def setUp(self):
        self.tmp = temp_dir(self)
        self.config = os.path.join(self.tmp, "config")
        write(self.config, textwrap.dedent(PRECEDENCE_CONFIG))

    def resolve(self, argv, **env):
        environ = {"AWS_CONFIG_FILE": self.config, "HOME": self.tmp}
        environ.update(env)
        return acp.resolve_config(acp.parse_args(argv), environ)

    def test_each_level_wins_over_the_next(self):
        env = {"AWS_SSO_ACCOUNT_ID": "222222222222", "AWS_SSO_ROLE_NAME": "EnvRole",
               "AWS_SSO_START_URL": "https://env.awsapps.com/start", "AWS_SSO_REGION": "ap-south-1",
               "AWS_SSO_SESSION": "from-env"}
        flags = ["--account-id", "333333333333", "--role-name", "FlagRole", "--start-url",
                 "https://flag.awsapps.com/start", "--region", "ca-central-1", "--sso-session", "from-flag"]
        cfg = self.resolve(["--profile", "p"])
        self.assertEqual((cfg.account_id, cfg.role_name, cfg.sso_session, cfg.start_url, cfg.region),
                         ("111111111111", "ProfileRole", "from-profile",
                          "https://profile-session.awsapps.com/start", "eu-west-1"))
        cfg = self.resolve(["--profile", "p"], **env)
        self.assertEqual((cfg.account_id, cfg.role_name, cfg.sso_session, cfg.start_url, cfg.region),
                         ("222222222222", "EnvRole", "from-env", "https://env.awsapps.com/start",
                          "ap-south-1"))
        cfg = self.resolve(["--profile", "p"] + flags, **env)
        self.assertEqual((cfg.account_id, cfg.role_name, cfg.sso_session, cfg.start_url, cfg.region),
                         ("333333333333", "FlagRole", "from-flag", "https://flag.awsapps.com/start",
                          "ca-central-1"))
        self.assertEqual(cfg.origin["region"], "--region")

    def test_session_section_fills_what_is_left(self):
        cfg = self.resolve(["--profile", "p"], AWS_SSO_SESSION="from-env")
        self.assertEqual((cfg.start_url, cfg.region, cfg.origin["region"]),
                         ("https://env-session.awsapps.com/start", "eu-west-2", "sso_region in sso-session 'from-env'"))

    def test_profile_never_comes_from_the_environment(self):
        with self.assertRaises(acp.ConfigError) as cm:
            self.resolve([], AWS_PROFILE="p", AWS_DEFAULT_PROFILE="p")
        self.assertIn("no profile given: name the one with the SSO settings with --profile NAME (never taken "
                      "from AWS_PROFILE)", str(cm.exception))

    def test_flags_and_env_alone_need_no_config_file(self):
        cfg = acp.resolve_config(acp.parse_args(["--account-id", ACCOUNT, "--role-name", ROLE,
                                                  "--start-url", START_URL, "--region", "us-east-1"]),
                                 {"HOME": self.tmp, "AWS_CONFIG_FILE": "/nonexistent/config"})
        self.assertIsNone(cfg.sso_session)
        self.assertEqual(cfg.start_url, START_URL)

    def test_undecodable_environment_values(self):
        for env in ({"AWS_SSO_ROLE_NAME": "R\udcff"}, {"AWS_SSO_READ_TIMEOUT": "1\udcff"},
                    {"AWS_ENDPOINT_URL_SSO": "http://h\udcff"}):
            with self.subTest(env=env):
                with self.assertRaises(acp.ConfigError) as cm:
                    self.resolve(["--profile", "p"], **env)
                self.assertIn("%s is not valid UTF-8 text" % list(env)[0], str(cm.exception))


class TestRegistrationScopes(unittest.TestCase):
    """The registration's cache key reads scopes exactly as the AWS CLI does."""

    def scopes(self, config, argv=("--profile", "p")):
        tmp = temp_dir(self)
        write(os.path.join(tmp, "config"), textwrap.dedent(config))
        return acp.resolve_config(acp.parse_args(list(argv)),
                                  {"AWS_CONFIG_FILE": os.path.join(tmp, "config"), "HOME": tmp}).scopes

    SESSION = "[profile p]\nsso_session = s\nsso_account_id = 111122223333\nsso_role_name = R\n" \
              "[sso-session s]\nsso_start_url = u\nsso_region = us-east-1\n"

    def test_parsed_like_the_cli(self):
        self.assertEqual(self.scopes(self.SESSION + "sso_registration_scopes = sso:account:access , ,"
                                     "codewhisperer:completions,\n"),
                         ["sso:account:access", "codewhisperer:completions"])

    def test_present_but_blank_is_an_empty_list(self):
        self.assertEqual(self.scopes(self.SESSION + "sso_registration_scopes =\n"), [])
        self.assertEqual(self.scopes(self.SESSION + "sso_registration_scopes = , ,\n"), [])
        self.assertIsNone(self.scopes(self.SESSION))

    def test_only_the_sso_session_section_counts(self):
        in_profile = self.SESSION.replace("sso_role_name = R\n", "sso_role_name = R\nsso_registration_scopes = x\n")
        self.assertIsNone(self.scopes(in_profile))
        legacy = ("[profile p]\nsso_start_url = u\nsso_region = us-east-1\nsso_account_id = 111122223333\n"
                  "sso_role_name = R\nsso_registration_scopes = sso:account:access\n")
        self.assertIsNone(self.scopes(legacy), "the CLI never reads scopes for a legacy profile")


class TestEndpoints(unittest.TestCase):
    def endpoint(self, region, service="sso", profile=None, file=None, **env):
        cfg = network_config(region, profile, file, env)
        return cfg.portal_url if service == "sso" else cfg.oidc_url

    def test_partitions(self):
        for region, portal, oidc in [
                ("us-east-1", "https://portal.sso.us-east-1.amazonaws.com", "https://oidc.us-east-1.amazonaws.com"),
                ("cn-north-1", "https://portal.sso.cn-north-1.amazonaws.com.cn",
                 "https://oidc.cn-north-1.amazonaws.com.cn"),
                ("us-gov-west-1", "https://portal.sso.us-gov-west-1.amazonaws.com",
                 "https://oidc.us-gov-west-1.amazonaws.com"),
                ("eusc-de-east-1", "https://portal.sso.eusc-de-east-1.amazonaws.eu",
                 "https://oidc.eusc-de-east-1.amazonaws.eu"),
                ("us-iso-east-1", "https://portal.sso.us-iso-east-1.c2s.ic.gov",
                 "https://oidc.us-iso-east-1.c2s.ic.gov"),
                ("us-isob-east-1", "https://portal.sso.us-isob-east-1.sc2s.sgov.gov",
                 "https://oidc.us-isob-east-1.sc2s.sgov.gov"),
                ("aws-cn-global", "https://portal.sso.aws-cn-global.amazonaws.com.cn",
                 "https://oidc.aws-cn-global.amazonaws.com.cn"),
                ("aws-iso-b-global", "https://portal.sso.aws-iso-b-global.sc2s.sgov.gov",
                 "https://oidc.aws-iso-b-global.sc2s.sgov.gov"),
                ("mars-east-1", "https://portal.sso.mars-east-1.amazonaws.com",
                 "https://oidc.mars-east-1.amazonaws.com")]:
            self.assertEqual(self.endpoint(region), portal)
            self.assertEqual(self.endpoint(region, "sso-oidc"), oidc)

    @needs_botocore
    def test_partition_table_matches_botocore(self):
        import botocore
        with open(os.path.join(os.path.dirname(botocore.__file__), "data", "partitions.json")) as f:
            partitions = json.load(f)["partitions"]
        # Every partition botocore knows (an older one may know fewer, in another
        # order: the patterns never overlap, so the order does not matter).
        ours_by_id = {p[0]: p for p in acp.PARTITIONS}
        self.assertLessEqual({p["id"] for p in partitions}, set(ours_by_id))
        current = tuple(int(x) for x in botocore.__version__.split(".")[:2]) >= (1, 40)
        for theirs in partitions:
            ours = ours_by_id[theirs["id"]]
            self.assertEqual(ours[2], theirs["outputs"]["dnsSuffix"])
            if current:  # older releases (Python 3.8 and 3.9 stop there) had placeholder dual-stack names
                self.assertEqual(ours[3], theirs["outputs"]["dualStackDnsSuffix"])
            for region in theirs["regions"]:  # every region botocore lists by name
                self.assertEqual(acp.partition_of(region)[0], theirs["id"], region)

    @needs_botocore
    def test_matches_botocore_resolver(self):
        import botocore.session
        from botocore import UNSIGNED
        from botocore.config import Config
        session = botocore.session.Session()
        compared = 0
        for region in ["us-east-1", "eu-central-2", "cn-northwest-1", "us-gov-east-1", "eusc-de-east-1",
                       "us-isof-south-1", "eu-isoe-west-1", "aws-global", "aws-cn-global", "aws-us-gov-global",
                       "aws-iso-global", "aws-iso-b-global", "aws-iso-e-global", "aws-iso-f-global"]:
            for fips, dual in [(False, False), (True, False), (False, True), (True, True)]:
                with self.subTest(region=region, fips=fips, dual=dual):
                    for service in ("sso", "sso-oidc"):
                        try:
                            client = session.create_client(service, region_name=region, config=Config(
                                signature_version=UNSIGNED, use_fips_endpoint=fips,
                                use_dualstack_endpoint=dual))
                        except Exception:  # partitions without FIPS/dual-stack
                            continue
                        env = {"AWS_USE_FIPS_ENDPOINT": str(fips).lower(),
                               "AWS_USE_DUALSTACK_ENDPOINT": str(dual).lower()}
                        try:  # the endpoint botocore's rule set picks for each request
                            expected = client._ruleset_resolver.construct_endpoint(
                                operation_model=client.meta.service_model.operation_model(
                                    "GetRoleCredentials" if service == "sso" else "CreateToken"),
                                call_args={}, request_context={}).url
                        except Exception:
                            continue
                        self.assertEqual(self.endpoint(region, service, **env), expected)
                        compared += 1
        self.assertGreater(compared, 60, "botocore resolved too few endpoints to compare")

    def test_override_order(self):
        services = {"services": {"svc": {"sso": "\nendpoint_url = http://services-sso",
                                         "sso_oidc": "\nendpoint_url = http://services-oidc"}},
                    "profiles": {}, "sso_sessions": {}}
        profile = {"services": "svc", "endpoint_url": "http://profile-global"}
        full = dict(AWS_ENDPOINT_URL_SSO="http://env-sso/", AWS_ENDPOINT_URL="http://env-global")
        ignored = dict(profile, ignore_configured_endpoint_urls="true")
        default = "https://portal.sso.us-east-1.amazonaws.com"
        for service, kwargs, expected in [
                ("sso", dict(profile=profile, file=services, **full), "http://env-sso"),
                ("sso-oidc", dict(profile=profile, file=services, **full), "http://env-global"),
                ("sso", dict(profile=profile, file=services, AWS_ENDPOINT_URL="http://env-global"),
                 "http://env-global"),
                ("sso", dict(profile=profile, file=services), "http://services-sso"),
                ("sso-oidc", dict(profile=profile, file=services), "http://services-oidc"),
                ("sso", dict(profile={"endpoint_url": "http://profile-global"}), "http://profile-global"),
                ("sso", dict(profile=ignored, file=services, **full), default),
                ("sso", dict(profile=profile, file=services, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="TRUE", **full),
                 default),
                ("sso", dict(profile=ignored, file=services, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="false", **full),
                 "http://env-sso")]:
            with self.subTest(service=service, **kwargs):
                self.assertEqual(self.endpoint("us-east-1", service, **kwargs), expected)

    def test_bad_overrides(self):
        for kwargs, phrase in [
                (dict(profile={"services": "nope"}), "[services nope], which does not exist"),
                (dict(AWS_ENDPOINT_URL_SSO="ftp://x"), "must start with https:// or http://"),
                (dict(AWS_ENDPOINT_URL_SSO="http://x", AWS_USE_FIPS_ENDPOINT="true"), "FIPS"),
                (dict(AWS_USE_FIPS_ENDPOINT="maybe"), "must be true or false"),
                (dict(AWS_ENDPOINT_URL_SSO="http://127.0.0.1:abc"),
                 "'http://127.0.0.1:abc' (from AWS_ENDPOINT_URL_SSO) has a bad port (ports are 1-65535)"),
                (dict(AWS_ENDPOINT_URL_SSO="http://127.0.0.1:70000"), "has a bad port (ports are 1-65535)"),
                (dict(AWS_ENDPOINT_URL_SSO_OIDC="http://127.0.0.1:0"), "(from AWS_ENDPOINT_URL_SSO_OIDC) has a bad port"),
                (dict(AWS_ENDPOINT_URL="https://"), "has no valid host name"),
                (dict(AWS_ENDPOINT_URL="https://bad_host.example"), "has no valid host name"),
                (dict(AWS_ENDPOINT_URL="https://[::1"), "malformed IPv6"),
                (dict(AWS_ENDPOINT_URL="https://h/x?y=1"), "must not have a query"),
                (dict(AWS_ENDPOINT_URL="https://u:secret@h"), "'https://***@h' (from AWS_ENDPOINT_URL) must not hold"),
                (dict(AWS_ENDPOINT_URL="https://u:sec/ret@h"), "'https://***@h' (from AWS_ENDPOINT_URL)"),
                (dict(AWS_ENDPOINT_URL="https://h/caf\u00e9"), "has a path with spaces, control or non-ASCII"),
                (dict(AWS_ENDPOINT_URL="https://h/a b"), "has a path with spaces"),
                (dict(AWS_ENDPOINT_URL="https://h/a\x7fb"), "has a path with spaces"),
                (dict(AWS_ENDPOINT_URL="https://[:::]"), "malformed IPv6"),
                (dict(AWS_ENDPOINT_URL="https://[1:2:3]"), "malformed IPv6"),
                (dict(AWS_ENDPOINT_URL="https://[fe80::1%25eth0]"), "IPv6 zone ID"),
                (dict(profile={"services": "s"}, file={"services": {"s": {"sso": "\n  junk"}},
                                                       "profiles": {}, "sso_sessions": {}}),
                 "the line 'junk' is not 'key = value'")]:
            with self.subTest(kwargs=kwargs):
                with self.assertRaises(acp.ConfigError) as cm:
                    self.endpoint("us-east-1", **kwargs)
                self.assertIn(phrase, str(cm.exception))
                self.assertNotIn("secret", str(cm.exception))

    def test_good_overrides(self):
        for url in ("http://127.0.0.1:8080", "https://[::1]:443/", "https://sso.corp.example.com/prefix/",
                    "HTTPS://Portal.Example.COM", "https://h:", "https://[2001:db8::1]/a%20b"):
            self.assertEqual(self.endpoint("us-east-1", AWS_ENDPOINT_URL=url), url.rstrip("/"))


class TestBooleans(unittest.TestCase):
    """Settings botocore also reads are true exactly when botocore says so."""

    def fips(self, env=None, profile=None):
        return network_config("us-east-1", profile, None, env or {}).fips

    @needs_botocore
    def test_agrees_with_botocore(self):
        from botocore.utils import ensure_boolean
        for value in ("true", "TRUE", "True", "false", "False", ""):
            with self.subTest(value=value):
                self.assertEqual(self.fips({"AWS_USE_FIPS_ENDPOINT": value}), ensure_boolean(value))
                if value:
                    self.assertEqual(self.fips(profile={"use_fips_endpoint": value}), ensure_boolean(value))
        for value in ("1", "yes", "on", " true", "0"):  # botocore reads these as false: never true here
            with self.subTest(value=value):
                self.assertFalse(ensure_boolean(value))
                with self.assertRaises(acp.ConfigError) as cm:
                    self.fips({"AWS_USE_FIPS_ENDPOINT": value})
                self.assertIn("botocore and the AWS CLI would read it as false", str(cm.exception))

    def test_a_set_variable_wins_over_the_profile_even_when_empty(self):
        self.assertTrue(self.fips(profile={"use_fips_endpoint": "true"}))
        self.assertFalse(self.fips({"AWS_USE_FIPS_ENDPOINT": ""}, {"use_fips_endpoint": "true"}))
        self.assertFalse(self.fips({"AWS_USE_FIPS_ENDPOINT": "false"}, {"use_fips_endpoint": "true"}))

    def test_own_switches_stay_lenient(self):
        interactive = [s for s in acp.SETTINGS if s.attr == "interactive"][0]
        for value, expected in [("1", True), ("yes", True), ("on", True), ("0", False), ("off", False)]:
            self.assertEqual(acp.parse_setting(interactive, value, "AWS_SSO_INTERACTIVE_AUTH"), expected)


class TestProxies(SandboxTest):
    """Proxies are picked and bypassed by urllib's rules, as botocore picks them."""

    def test_agrees_with_urllib(self):
        for env, url in PROXY_CASES:
            with self.subTest(env=env, url=url):
                with mock.patch.dict(os.environ, env, clear=True):
                    proxies = urllib.request.getproxies_environment()
                    scheme, netloc = url.split("://")
                    bypass = urllib.request.proxy_bypass_environment(netloc, proxies)
                expected = None if bypass else proxies.get(scheme)
                if expected and not expected.startswith(("http:", "https:")):  # botocore's _fix_proxy_url
                    expected = "http:" + expected if expected.startswith("//") else "http://" + expected
                self.assertEqual(acp.proxy_for(scheme, netloc, env)[0], expected)

    def test_no_proxy_with_an_ipv6_literal_end_to_end(self):
        v6 = StandIn(host="::1")
        self.addCleanup(v6.close)
        v6.clock = self.sb.clock.now
        token = self.sb.write_token("dev", register=False)
        v6.add_token(token)
        env = {"AWS_ENDPOINT_URL_SSO": v6.url, "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "[::1]"}
        self.ok(self.sb.call("--profile", "sess", env=env))
        self.assertEqual(v6.count("/federation/credentials"), 1)

    def test_bad_proxy_settings_are_configuration_errors(self):
        self.sb.write_token("dev")
        for env, phrase in [({"HTTP_PROXY": "http://127.0.0.1:99999"},
                             "proxy URL 'http://127.0.0.1:99999' (from HTTP_PROXY) has a bad port"),
                            ({"http_proxy": "http://u:hunter2@proxy:port"},
                             "proxy URL 'http://***@proxy:port' (from http_proxy) has a bad port"),
                            ({"HTTP_PROXY": "https://proxy:3128"}, "only http:// proxies are supported"),
                            ({"HTTP_PROXY": "http://\udcff:hunter2@127.0.0.1:9"}, "HTTP_PROXY is not valid UTF-8"),
                            ({"HTTP_PROXY": "http://user:hunter2/x@127.0.0.1:9"}, "'http://***@127.0.0.1:9'"),
                            ({"HTTP_PROXY": "http://[:::]:3128"}, "has a malformed IPv6 address"),
                            ({"HTTP_PROXY": "http://[1:2:3]:3128"}, "has a malformed IPv6 address")]:
            with self.subTest(env=env):
                err = self.fails(self.sb.call("--profile", "sess", env=env), 2, phrase)
                self.assertNotIn("hunter2", err)
        self.assertEqual(self.standin.count(), 0)


class TestCheckedOnEveryCall(SandboxTest):
    """A configuration mistake shows on the first call, cache hit or not."""

    def test_on_a_cache_hit(self):
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(self.standin.count(), 1)
        for env, phrase in [({"AWS_USE_FIPS_ENDPOINT": "1"}, "AWS_USE_FIPS_ENDPOINT must be true or false"),
                            ({"AWS_CA_BUNDLE": "/nonexistent.pem"},
                             "cannot load the CA bundle /nonexistent.pem (from AWS_CA_BUNDLE): no such file"),
                            ({"AWS_ENDPOINT_URL_SSO_OIDC": "http://127.0.0.1:abc"}, "has a bad port"),
                            ({"HTTPS_PROXY": "http://proxy:0", "AWS_ENDPOINT_URL_SSO": None}, "has a bad port"),
                            ({"AWS_SSO_LOCK_TIMEOUT": "forever"}, "AWS_SSO_LOCK_TIMEOUT must be a number")]:
            with self.subTest(env=env):
                self.fails(self.sb.call("--profile", "sess", env=env), 2, phrase)
        self.assertEqual(self.standin.count(), 1, "nothing was fetched")

    def test_the_ca_bundle_check_is_a_stat(self):
        fifo = os.path.join(self.sb.root, "bundle")
        os.mkfifo(fifo)  # loading this as a bundle would hang
        self.sb.write_token("dev")
        self.fails(self.sb.call("--profile", "sess", env={"AWS_CA_BUNDLE": fifo}), 2, "no such file")


class TestConfigErrors(SandboxTest):
    def test_profile_not_found(self):
        self.fails(self.sb.call("--profile", "nope"), 2, "profile 'nope' not found in",
                   self.sb.path(".aws", "config"), "[profile nope]")
        os.remove(self.sb.path(".aws", "config"))
        self.fails(self.sb.call("--profile", "nope"), 2, "does not exist", "AWS_CONFIG_FILE")

    def test_sso_session_not_found(self):
        self.sb.write_config(BASE_CONFIG + "\n[profile orphan]\nsso_session = ghost\n"
                             "sso_account_id = 111122223333\nsso_role_name = Admin\n")
        self.fails(self.sb.call("--profile", "orphan"), 2, "sso-session 'ghost'", "not found", "[sso-session ghost]")
        self.fails(self.sb.call("--profile", "sess", "--sso-session", "ghost2"), 2, "sso-session 'ghost2'",
                   "--sso-session")

    def test_value_differs_between_profile_and_session(self):
        self.sb.write_config(BASE_CONFIG + "\n[profile clash]\nsso_session = dev\nsso_region = eu-west-1\n"
                             "sso_account_id = 111122223333\nsso_role_name = Admin\n"
                             "[profile same]\nsso_session = dev\nsso_region = us-east-1\n"
                             "sso_account_id = 111122223333\nsso_role_name = Admin\n")
        self.fails(self.sb.call("--profile", "clash"), 2, "sso_region differs between profile 'clash' "
                   "(eu-west-1) and [sso-session dev] (us-east-1)")
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "same"))

    def test_every_missing_setting_at_once(self):
        self.sb.write_config("[profile empty]\nregion = us-east-1\n"
                             "[profile half]\nsso_session = bare\n[sso-session bare]\nk = v\n")
        err = self.fails(self.sb.call("--profile", "empty"), 2)
        for piece in ("account ID (--account-id, AWS_SSO_ACCOUNT_ID or sso_account_id in [profile empty])",
                      "role name (--role-name, AWS_SSO_ROLE_NAME or sso_role_name in [profile empty])",
                      "start URL (--start-url, AWS_SSO_START_URL or sso_start_url in [profile empty])",
                      "SSO region (--region, AWS_SSO_REGION or sso_region in [profile empty])"):
            self.assertIn(piece, err)
        err = self.fails(self.sb.call("--profile", "half", "--account-id", ACCOUNT), 2)
        self.assertNotIn("account ID", err)
        self.assertIn("sso_start_url in [sso-session bare]", err)
        self.assertIn("sso_region in [sso-session bare]", err)
        self.fails(self.sb.call("--start-url", START_URL), 2,
                   "account ID (--account-id, AWS_SSO_ACCOUNT_ID or sso_account_id)")

    def test_what_is_most_likely_wrong_comes_before_the_list(self):
        # no --profile at all: name --profile and the profiles that could be meant
        self.fails(self.sb.call(), 2, "no profile given: name the one with the SSO settings with --profile NAME",
                   "%s has: " % self.sb.path(".aws", "config"), "legacy", "sess")
        self.sb.write_config("[default]\nregion = us-east-1\n")
        self.fails(self.sb.call(), 2, "no profile given", "or give --sso-session (or --start-url and --region)")
        # --profile names the profile holding the credential_process line (the README's own case)
        for line, phrase in [("%s --profile sess" % SCRIPT, "its line reads --profile sess: name that one "
                              "(--profile sess)"),
                             ("%s --interactive" % SCRIPT, ": --profile names the profile with sso_session "
                              "or sso_start_url")]:
            with self.subTest(line=line):
                self.sb.write_config(BASE_CONFIG + "[profile my-app]\ncredential_process = %s\n" % line)
                err = self.fails(self.sb.call("--profile", "my-app"), 2,
                                 "profile 'my-app' holds the credential_process line, not the SSO settings", phrase)
                self.assertNotIn("missing", err)

    def test_bad_values(self):
        self.fails(self.sb.call("--profile", "sess", "--account-id", "12345"), 2, "'12345'", "must be 12 digits")
        self.fails(self.sb.call("--profile", "sess", "--region", "us-east-1.evil.com/"), 2, "not a region name")
        for region in ("a" * 64, "-us-east-1", "us-east-1-", "us.east", "us_east_1"):
            self.fails(self.sb.call("--profile", "sess", "--region", region), 2, "not a region name")
        self.fails(self.sb.call("--profile", "sess", "--region", "a" * 63), 1, "not logged in")
        self.fails(self.sb.call("--profile", "sess", env={"AWS_SSO_CREDENTIAL_PROCESS_DEBUG": "sure"}), 2,
                   "AWS_SSO_CREDENTIAL_PROCESS_DEBUG must be true or false")
        self.fails(self.sb.call("--profile", "sess", env={"AWS_SSO_READ_TIMEOUT": "soon"}), 2,
                   "AWS_SSO_READ_TIMEOUT must be a number of seconds")
        self.fails(self.sb.call("--profile", "sess", env={"AWS_SSO_READ_TIMEOUT": "nan"}), 2,
                   "AWS_SSO_READ_TIMEOUT must be a number of seconds")
        self.fails(self.sb.call("--profile", "sess", "--role-name", "R\udcff"), 2,
                   "the value of --role-name is not valid UTF-8 text")

    def test_unparseable_config(self):
        self.sb.write_config(BASE_CONFIG + "\n[profile sess]\nregion = x\n")
        self.fails(self.sb.call("--profile", "sess"), 2, "cannot parse config file", "already exists")
        self.sb.write_config(BASE_CONFIG + "\n[profile x]\nthis line has no delimiter\n")
        self.fails(self.sb.call("--profile", "sess"), 2, "cannot parse config file")
        with open(self.sb.path(".aws", "config"), "wb") as f:
            f.write(b"[profile sess]\nsso_region = \xff\xfe\n")
        self.fails(self.sb.call("--profile", "sess"), 2, "cannot read config file")

    def test_bad_arguments(self):
        self.fails(self.sb.call("--profile"), 2, "--profile needs a value")
        self.fails(self.sb.call("--bogus"), 2, "unrecognized argument '--bogus'", "--help")
        self.fails(self.sb.call("--profile", "sess", "--interactive-please"), 2, "unrecognized")


# ==========================================================================
# On-disk caches shared with the AWS CLI
# ==========================================================================

class TestCacheKeys(unittest.TestCase):
    """SPEC.md section 11 test vectors, and agreement with botocore itself."""

    def cfg(self, session=None, start_url=START_URL, account=ACCOUNT, role=ROLE):
        cfg = acp.Config()
        cfg.sso_session, cfg.start_url, cfg.account_id, cfg.role_name = session, start_url, account, role
        return cfg

    def test_token_cache_file_names(self):
        vectors = [(self.cfg(), "40a89917e3175433e361b710a9d43528d7f1890a"),
                   (self.cfg(start_url=START_URL + "/"), "efc31dacc9f40d3b937b7214601a881f4c2500c4"),
                   (self.cfg(session="dev"), "34c6fceca75e456f25e7e99531e2425c6c1de443"),
                   (self.cfg(session="my-sso"), "0ad374308c5a4e22f723adf10145eafad7c4031c")]
        for cfg, key in vectors:
            self.assertEqual(acp.token_cache_key(cfg), key)

    def test_role_cache_keys(self):
        for session, key in [(None, "6ba1a5b49a2db9c919d9b0a8de4788d7f6cca24c"),
                             ("dev", "c43dd432db0bf8323a53ab1fcded2c422fe2bcd9")]:
            with self.subTest(session=session):
                self.assertEqual(acp.role_cache_key(self.cfg(session=session)), key)

    def test_registration_cache_keys(self):
        cfg = self.cfg()
        cfg.region = "us-east-1"
        for session, scopes, key in [("dev", ["sso:account:access"], "c6b2fc6aec0d9c2d2652036ffbe173a43a8ba2c3"),
                                     ("dev", None, "f84477c4544ffee122d4e7b0f5d942797620c4b1"),
                                     (None, None, "c7029af06842ab71c7d71a4f2d85fc584e0c5528")]:
            cfg.sso_session, cfg.scopes = session, scopes
            self.assertEqual(acp.registration_cache_key(cfg), key)

    @needs_botocore
    def test_keys_match_botocore_for_unusual_names(self):
        from botocore.credentials import SSOCredentialFetcher
        from botocore.utils import SSOTokenLoader
        loader = SSOTokenLoader(cache={})
        for session, url, role in [("dév ü", "https://x.awsapps.com/start#/", "Role/With\"Quote"),
                                   (None, "https://é.awsapps.com/start", "A:B")]:
            cfg = self.cfg(session=session, start_url=url, role=role)
            fetcher = SSOCredentialFetcher(url, "us-east-1", role, ACCOUNT, None, sso_session_name=session)
            self.assertEqual(acp.role_cache_key(cfg), fetcher._create_cache_key())
            self.assertEqual(acp.token_cache_key(cfg), loader._generate_cache_key(url, session_name=session))


class TestRoleCache(SandboxTest):
    def test_cache_is_reused_and_shared(self):
        self.sb.write_token("dev")
        first = self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(self.standin.count("/federation/credentials"), 1)
        second = self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(self.standin.count(), 1, "a cache hit must make no calls")
        self.assertEqual(first, second)
        # another profile with the same session, account and role shares the entry
        self.sb.write_config(BASE_CONFIG + "\n[profile twin]\nsso_session = dev\n"
                             "sso_account_id = 111122223333\nsso_role_name = Admin\n")
        self.assertEqual(self.ok(self.sb.call("--profile", "twin")), first)
        self.assertEqual(self.standin.count(), 1)
        # a different role does not
        self.ok(self.sb.call("--profile", "sess", "--role-name", "ReadOnly"))
        self.assertEqual(self.standin.count(), 2)

    def test_cache_file_format_and_modes(self):
        self.sb.write_token("dev")
        doc = self.ok(self.sb.call("--profile", "sess"))
        path = self.sb.role_path(session="dev")
        text = read(path)
        expected = json.dumps({"ProviderType": "sso", "Credentials": {
            "AccessKeyId": doc["AccessKeyId"], "SecretAccessKey": doc["SecretAccessKey"],
            "SessionToken": doc["SessionToken"], "Expiration": doc["Expiration"], "AccountId": ACCOUNT}})
        self.assertEqual(text, expected)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.path(".aws", "cli", "cache")).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.path(".aws", "cli")).st_mode), 0o700)
        self.assertEqual(self.sb.files(".aws", "cli", "cache"),
                         [os.path.basename(path), os.path.basename(path) + ".lock"], "no temp files left behind")
        self.assertEqual(stat.S_IMODE(os.stat(path + ".lock").st_mode), 0o600)

    def test_existing_directories_keep_their_mode(self):
        os.makedirs(self.sb.path(".aws", "cli", "cache"))
        os.chmod(self.sb.path(".aws", "cli", "cache"), 0o755)
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.path(".aws", "cli", "cache")).st_mode), 0o755)
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.role_path(session="dev")).st_mode), 0o600)

    def test_fifteen_minute_rule(self):
        self.sb.write_token("dev")
        path = self.sb.role_path(session="dev")
        self.sb.write_role_cache(path, ttl=16 * 60)
        self.assertEqual(self.ok(self.sb.call("--profile", "sess"))["AccessKeyId"], "ASIACACHED")
        self.assertEqual(self.standin.count(), 0)
        self.sb.write_role_cache(path, ttl=14 * 60)
        doc = self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(doc["AccessKeyId"], self.issued()["accessKeyId"])
        self.assertEqual(read_json(path)["Credentials"]["AccessKeyId"], doc["AccessKeyId"])

    def test_cached_expiration_in_other_formats(self):
        self.sb.write_token("dev")
        path = self.sb.role_path(session="dev")
        later = self.sb.clock.now() + 3600
        for text in (utc(later).replace("Z", "UTC"), utc(later).replace("Z", "+00:00"),
                     utc(later).replace("Z", ".250Z")):
            self.sb.write_role_cache(path, 0, expiration=text)
            doc = self.ok(self.sb.call("--profile", "sess"))
            self.assertEqual((doc["AccessKeyId"], doc["Expiration"]), ("ASIACACHED", utc(later)))
        self.assertEqual(self.standin.count(), 0)

    def test_a_cached_expiration_past_year_9999_is_never_printed(self):
        self.sb.write_token("dev")
        path = self.sb.role_path(session="dev")
        for text in ("9999-12-31T23:59:59-01:00", "10000-01-01T00:00:00Z", "9999-12-31T23:59:60Z"):
            with self.subTest(text=text):
                self.sb.write_role_cache(path, 0, expiration=text)
                doc = self.ok(self.sb.call("--profile", "sess"))
                self.assertNotEqual(doc["AccessKeyId"], "ASIACACHED", "an unparseable entry is a miss")
                self.assertTrue(doc["Expiration"].startswith(time.strftime("%Y", time.gmtime())[:2]))

    def test_force_refresh(self):
        self.sb.write_token("dev")
        self.sb.write_role_cache(self.sb.role_path(session="dev"), ttl=3600)
        doc = self.ok(self.sb.call("--profile", "sess", "--force-refresh"))
        self.assertNotEqual(doc["AccessKeyId"], "ASIACACHED")
        self.assertEqual(self.standin.count(), 1)
        self.assertEqual(self.ok(self.sb.call("--profile", "sess")), doc)

    def test_corrupt_role_cache_is_a_miss_and_gets_replaced(self):
        self.sb.write_token("dev")
        path = self.sb.role_path(session="dev")
        os.makedirs(os.path.dirname(path))
        for junk in ("", "{\"ProviderType\": \"sso\", \"Credentials\": {", "[]", "{\"Credentials\": 5}",
                     json.dumps({"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "S",
                                                 "SessionToken": "T", "Expiration": "soon"}}),
                     "[" * 100000 + "]" * 100000, "\xff\xfe"):
            with self.subTest(junk=junk[:40]):
                write(path, junk)
                doc = self.ok(self.sb.call("--profile", "sess"))
                self.assertEqual(read_json(path)["Credentials"]["AccessKeyId"], doc["AccessKeyId"])

    def test_special_files_at_the_cache_path(self):
        self.sb.write_token("dev")
        path = self.sb.role_path(session="dev")
        os.makedirs(os.path.dirname(path))
        os.mkfifo(path)  # a reader that blocked here would hang the SDK forever
        doc = self.ok(self.sb.call("--profile", "sess"))
        with open(path) as f:  # the FIFO was replaced by the new entry
            self.assertEqual(json.load(f)["Credentials"]["AccessKeyId"], doc["AccessKeyId"])
        os.remove(path)
        os.mkdir(path)  # a directory cannot be replaced: only the caching is lost
        self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(self.standin.count("/federation/credentials"), 2)

    def test_unwritable_cache_still_returns_credentials(self):
        os.makedirs(self.sb.path(".aws", "cli"))
        write(self.sb.path(".aws", "cli", "cache"), "a file where the directory should be")
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess"))

    def test_a_killed_writers_temp_file_is_removed_by_the_next_write(self):
        self.sb.write_token("dev")
        path = self.sb.role_path(session="dev")
        os.makedirs(os.path.dirname(path))
        leftover = "%s.999.0badf00d%s" % (path, acp.TEMP_SUFFIX)
        write(leftover, "{\"ProviderType\": \"sso\", \"Credentials\": {\"SecretAccessKey\": \"leaked")
        old = time.time() - 3600
        os.utime(leftover, (old, old))
        self.ok(self.sb.call("--profile", "sess"))
        self.assertFalse(os.path.exists(leftover))
        self.assertEqual(self.temp_files(), [])


# ==========================================================================
# Locks shared by every copy of this script, and the failure note
# ==========================================================================

class TestLocks(LockHolderHarness, SandboxTest):
    def assert_lets_go(self):
        seams, released = self.caller_leaves_after(3)
        sleeps = len(self.sb.clock.sleeps)
        r = self.sb.call("--profile", "sess", "-i", **seams)
        self.fails(r, 75, "the program that ran this one went away while it waited")
        self.assertEqual(released, [True], "its pipes let go of")
        self.assertLess(len(self.sb.clock.sleeps) - sleeps, 5, "at once, not after the wait")

    def test_a_waiter_on_the_role_lock_lets_go_of_a_caller_that_is_gone(self):
        self.sb.write_token("dev")
        self.hold(self.sb.role_path(session="dev") + ".lock")
        self.assert_lets_go()

    def test_a_waiter_on_another_process_login_lets_go_of_a_caller_that_is_gone(self):
        self.sb.write_token("dev", ttl=-10)  # a second SDK process while the first logs in
        self.hold(self.sb.token_path("dev") + ".lock")
        self.assert_lets_go()

    def test_a_retry_lets_go_of_a_caller_that_is_gone(self):
        self.sb.write_token("dev")
        self.standin.fail("/federation/credentials", status=500, times=3)
        self.assert_lets_go()

    def test_the_debug_log_says_it_waited_however_slow_the_machine(self):
        self.sb.write_token("dev")
        self.hold(self.sb.role_path(session="dev") + ".lock")
        clock = iter(range(0, 10 ** 6, 1))  # a second passes between any two looks at the clock
        r = self.sb.call("--profile", "sess", "--debug", env={"AWS_SSO_LOCK_TIMEOUT": "5"},
                         monotonic=lambda: next(clock))
        self.fails(r, 6, "timed out after")
        self.assertEqual(read(self.sb.path(*acp.LOG_FILE)).count("waiting for %s.lock" % self.sb.role_path(
            session="dev")), 1, "said once, however long the wait")

    def test_a_link_at_the_lock_path_is_not_followed(self):
        self.sb.write_token("dev")
        victim = os.path.join(self.sb.root, "victim")
        write(victim, "precious", mode=0o644)
        lock = self.sb.role_path(session="dev") + ".lock"
        os.makedirs(os.path.dirname(lock))
        os.symlink(victim, lock)
        self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(read(victim), "precious")
        self.assertEqual(stat.S_IMODE(os.stat(victim).st_mode), 0o644)
        self.assertFalse(os.path.islink(lock))
        self.assertEqual(stat.S_IMODE(os.stat(lock).st_mode), 0o600)

    def test_a_loose_lock_file_is_made_private(self):
        self.sb.write_token("dev")
        lock = self.sb.role_path(session="dev") + ".lock"
        os.makedirs(os.path.dirname(lock))
        write(lock, "{}", mode=0o666)
        self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(stat.S_IMODE(os.stat(lock).st_mode), 0o600)

    def test_something_else_at_the_lock_path_means_running_unlocked(self):
        self.sb.write_token("dev")
        lock = self.sb.role_path(session="dev") + ".lock"
        os.makedirs(os.path.dirname(lock))
        os.mkfifo(lock)
        r = self.sb.call("--profile", "sess", "--debug")
        self.ok(r)
        with open(self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt")) as f:
            self.assertIn("is a FIFO, not a file); going on without it", f.read())

    def note(self, lock_path):
        return read_json(lock_path)

    def test_the_note_is_redacted_like_stderr(self):
        # An endpoint that echoes the request back in its error message.
        self.sb.refreshable_token(ttl=-60)
        self.standin.fail("/token", status=400, error="InvalidRequestException",
                          message="bad request: {\"refreshToken\": \"refresh-1\", \"clientSecret\": \"csecret\"}")
        r = self.sb.call("--profile", "sess")
        self.fails(r, 1, "was rejected", "<redacted>")
        text = read(self.sb.token_path("dev") + ".lock")
        for secret in ("refresh-1", "csecret"):
            self.assertNotIn(secret, text)
            self.assertNotIn(secret, r.err)
        self.assertIn(r.err.strip().split(": ", 1)[1], self.note(self.sb.token_path("dev") + ".lock")
                      ["failure"]["message"])

    def test_a_replayed_failure_keeps_its_class_and_exit_code(self):
        lock_path = os.path.join(self.sb.root, "x.lock")
        cfg = acp.Config()
        for cls, message in [(acp.ConfigError, "bad CA bundle"), (acp.LoginFailed, "denied"),
                             (acp.OidcError, "SSO OIDC StartDeviceAuthorization failed (X)"),
                             (acp.Busy, "busy"), (acp.LoginRequired, "log in")]:
            with self.subTest(cls=cls):
                clock = Clock()
                ctx = acp.Context(cfg, now=clock.now, monotonic=clock.monotonic, sleep=clock.sleep)
                error = cls("op", "Code", "msg") if cls is acp.OidcError else cls(message)
                with acp.Lock(lock_path, ctx, "testing") as lock:
                    acp.FailureNote(lock, ctx).remember("login", error)
                with acp.Lock(lock_path, ctx, "testing") as lock:
                    with self.assertRaises(acp.Error) as cm:
                        acp.FailureNote(lock, ctx).replay("login")
                self.assertIs(type(cm.exception), cls)
                self.assertEqual(cm.exception.exit_code, cls.exit_code)
                self.assertTrue(str(cm.exception).startswith(str(error)))

    def test_a_note_that_cannot_be_written_is_only_lost(self):
        self.sb.write_token("dev")
        real_write = os.write

        def write(fd, data):  # the disk under the lock files is full
            try:
                target = os.readlink("/proc/self/fd/%d" % fd)
            except OSError:
                target = ""
            if target.endswith(".lock"):
                raise OSError(28, "No space left on device")
            return real_write(fd, data)

        with mock.patch.object(os, "write", side_effect=write):
            self.ok(self.sb.call("--profile", "sess"))

    def test_tampered_notes_are_ignored(self):
        lock_path = os.path.join(self.sb.root, "x.lock")
        ctx = acp.Context(acp.Config())
        future = time.time() + 3600  # a clock stepped back since, or a forged note
        for note in ("[1]", "{\"failure\": 5}", "{\"failure\": {\"key\": \"login\", \"kind\": \"Nope\", "
                     "\"message\": \"m\", \"at\": \"x\"}}", "[" * 100000,
                     json.dumps({"failure": {"key": "login", "kind": "Error", "message": "boom", "at": time.time()}}),
                     json.dumps({"failure": {"key": "login", "kind": "LoginFailed", "message": "m", "at": future}}),
                     json.dumps({"failure": {"key": "login", "kind": "LoginFailed", "message": "m", "at": 1e300}})):
            write(lock_path, note)
            with acp.Lock(lock_path, ctx, "testing") as lock:
                acp.FailureNote(lock, ctx).replay("login")  # nothing to replay, nothing raised


# ==========================================================================
# HTTP: TLS, proxies, bounded time and size, retries, no redirects
# ==========================================================================

class TestServiceErrors(SandboxTest):
    slow = 1

    def setUp(self):
        super().setUp()
        self.sb.write_token("dev")

    def run_sess(self, *args, **kwargs):
        return self.sb.call("--profile", "sess", *args, **kwargs)

    def test_401_means_login_required(self):
        self.standin.tokens.clear()  # logged out elsewhere
        self.fails(self.run_sess(), 1, "rejected", "UnauthorizedException", SESS_ADVICE)
        self.assertEqual(self.standin.count(), 1, "401 is not retried")

    def test_403_names_role_and_account(self):
        self.fails(self.sb.call("--profile", "sess", "--role-name", "Nope"), 4,
                   "no access to role Nope in account 111122223333", "ForbiddenException: No access")

    def test_404_is_access_denied(self):
        self.standin.fail("/federation/credentials", status=404, error="ResourceNotFoundException",
                          message="Could not find role")
        self.fails(self.run_sess(), 4, "no access to role Admin", "Could not find role")

    def test_other_4xx_is_a_service_error(self):
        self.standin.fail("/federation/credentials", status=400, error="InvalidRequestException", message="bad")
        self.fails(self.run_sess(), 5, "GetRoleCredentials failed (InvalidRequestException: bad)")

    def test_throttling_and_5xx_are_retried(self):
        self.standin.fail("/federation/credentials", status=429, error="TooManyRequestsException")
        self.standin.fail("/federation/credentials", status=503, error="ServiceUnavailable")
        self.ok(self.run_sess())
        self.assertEqual(self.standin.count(), 3)
        self.assertEqual(len(self.sb.clock.sleeps), 2, "a backoff before each retry")
        self.assertTrue(0 <= self.sb.clock.sleeps[0] <= 0.5 and 0 <= self.sb.clock.sleeps[1] <= 1.0)

    def test_gives_up_after_three_attempts(self):
        self.standin.fail("/federation/credentials", times=5, status=429, error="TooManyRequestsException",
                          message="Rate exceeded")
        self.fails(self.run_sess(), 5, "TooManyRequestsException", "Rate exceeded")
        self.assertEqual(self.standin.count(), 3)
        self.standin.faults.clear()
        self.standin.fail("/federation/credentials", times=5, status=500, error="InternalServerException")
        self.fails(self.run_sess(), 5, "InternalServerException")
        self.assertEqual(self.standin.count(), 6)

    def test_dropped_connection_is_retried(self):
        self.standin.fail("/federation/credentials", drop=True)
        self.ok(self.run_sess())
        self.assertEqual(self.standin.count(), 2)

    def test_read_timeout_is_retried_then_reported(self):
        self.standin.fail("/federation/credentials", delay=3)
        self.ok(self.run_sess(env={"AWS_SSO_READ_TIMEOUT": "0.3"}))
        self.assertEqual(self.standin.count(), 2)
        # Each delayed response would succeed after 3 s: failing proves every read was cut short.
        self.standin.fail("/federation/credentials", times=3, delay=3)
        self.fails(self.run_sess("--force-refresh", env={"AWS_SSO_READ_TIMEOUT": "0.3"}), 5, "timed out",
                   "AWS_SSO_READ_TIMEOUT")
        self.assertEqual(self.standin.count(), 5)

    def test_unreachable_endpoint(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.fails(self.run_sess(env={"AWS_ENDPOINT_URL_SSO": "http://127.0.0.1:%d" % port}), 5,
                   "cannot reach the SSO service at 127.0.0.1:%d: 3 attempts" % port)

    def test_redirect_is_not_followed(self):
        thief = StandIn()
        self.addCleanup(thief.close)
        self.standin.fail("/federation/credentials", redirect=thief.url + "/federation/credentials")
        self.fails(self.run_sess(), 5, "redirect", "not following it")
        self.assertEqual(thief.count(), 0, "the bearer token must not travel to another host")
        self.standin.fail("/federation/credentials", status=307, redirect=thief.url + "/x")
        self.fails(self.run_sess(), 5, "HTTP 307")
        self.assertEqual(thief.count(), 0)

    def test_garbage_response(self):
        for raw in (b"<html>oops</html>", b"{\"roleCredentials\": {\"accessKeyId\": \"A\"}}", b"",
                    b"[" * 100000 + b"]" * 100000, b"{\"roleCredentials\": [1]}", b"\xff\xfe{"):
            with self.subTest(raw=raw[:40]):
                self.standin.fail("/federation/credentials", raw=raw)
                self.fails(self.run_sess(), 5, "unexpected response")
        self.assertFalse(os.path.exists(self.sb.role_path(session="dev")), "nothing half-cached")

    def test_through_a_proxy_and_around_it(self):
        # The stand-in also answers absolute-URI requests, as a forward proxy.
        env = {"AWS_ENDPOINT_URL_SSO": "http://portal.sso.invalid", "HTTP_PROXY": self.standin.url}
        self.ok(self.run_sess(env=env))
        [call] = self.standin.calls_to("/federation/credentials")
        self.assertTrue(call.proxied)
        env = {"HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1"}
        self.ok(self.run_sess("--force-refresh", env=env))
        self.assertFalse(self.standin.calls_to("/federation/credentials")[-1].proxied)

    def test_endpoint_from_config_sections(self):
        self.sb.write_config(BASE_CONFIG + textwrap.dedent("""
            [profile via-services]
            sso_session = dev
            sso_account_id = 111122223333
            sso_role_name = Admin
            services = local
            [services local]
            sso =
              endpoint_url = %s
            sso_oidc =
              endpoint_url = %s
            [profile via-endpoint-url]
            sso_session = dev
            sso_account_id = 111122223333
            sso_role_name = ReadOnly
            endpoint_url = %s
            """ % (self.standin.url, self.standin.url, self.standin.url)))
        env = {"AWS_ENDPOINT_URL_SSO": None, "AWS_ENDPOINT_URL_SSO_OIDC": None}
        self.ok(self.sb.call("--profile", "via-services", env=env))
        self.ok(self.sb.call("--profile", "via-endpoint-url", env=env))
        self.ok(self.sb.call("--profile", "sess", "--role-name", "ReadOnly", "--account-id", "444455556666",
                             env=dict(env, AWS_ENDPOINT_URL=self.standin.url)))
        self.assertEqual(self.standin.count("/federation/credentials"), 3)

    def test_an_answer_that_is_not_http(self):
        self.standin.fail("/federation/credentials", times=3, drip=b"SSH-2.0-OpenSSH\r\n\r\n", every=0)
        self.fails(self.run_sess(), 5, "3 attempts, the last sent a malformed response (BadStatusLine)")

    def test_what_the_service_says_is_escaped_and_clipped(self):
        self.standin.fail("/federation/credentials", status=400, error="X\x1b[31mRed",
                          message="line one\r\nline two\x07" + "y" * 5000)
        err = self.fails(self.run_sess(), 5, "X\\x1b[31mRed", "line one line two\\x07")
        self.assertLess(len(err), 600, "a service cannot fill the terminal")


class TestHttpLimits(SandboxTest):
    """Answers are bounded in size and each attempt in time."""

    slow = 2

    def setUp(self):
        super().setUp()
        self.sb.write_token("dev")

    def test_a_huge_answer_is_refused_without_reading_it_all(self):
        self.standin.fail("/federation/credentials", stream=16384)  # 1 GiB, streamed
        self.fails(self.sb.call("--profile", "sess"), 5, "sent an answer larger than 1048576 bytes")
        self.assertEqual(self.standin.count(), 1, "not retried")
        self.standin.fail("/federation/credentials", stream=1, length=1 << 30)  # announced as 1 GiB
        self.fails(self.sb.call("--profile", "sess"), 5, "larger than 1048576 bytes")

    def test_a_drip_cannot_outlast_the_deadline(self):
        # Every byte arrives well within the read timeout, and the whole answer
        # would arrive (and succeed) after about 6 s; the 1 + 1 s deadline cuts
        # each attempt short instead.
        creds = {"roleCredentials": {"accessKeyId": "A", "secretAccessKey": "S", "sessionToken": "T",
                                     "expiration": int((time.time() + 3600) * 1000)}}
        body = json.dumps(creds).encode()
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        self.standin.fail("/federation/credentials", times=3, drip=answer, every=0.05)  # about 9 s in all
        env = {"AWS_SSO_READ_TIMEOUT": "0.5", "AWS_SSO_CONNECT_TIMEOUT": "0.1"}
        self.fails(self.sb.call("--profile", "sess", env=env), 5, "timed out", "0.6s for a whole answer")
        self.assertEqual(self.standin.count(), 3)

    def test_headers_dripped_forever_are_cut_off(self):
        self.standin.fail("/federation/credentials", times=3, drip=b"HTTP/1.1 200 OK\r\n" + b"X-Junk: y\r\n" * 50,
                          every=0.02)
        env = {"AWS_SSO_READ_TIMEOUT": "0.2", "AWS_SSO_CONNECT_TIMEOUT": "0.2"}
        self.fails(self.sb.call("--profile", "sess", env=env), 5, "timed out")

    def test_a_slow_name_lookup_counts_against_the_connect_timeout(self):
        real = socket.getaddrinfo

        def slow(host, *args, **kwargs):  # a resolver that answers after 0.6 s
            if host == "slow-dns.test":
                time.sleep(0.6)
                host = "127.0.0.1"
            return real(host, *args, **kwargs)

        env = {"AWS_ENDPOINT_URL_SSO": "http://slow-dns.test:%d" % self.standin.server.server_address[1],
               "AWS_SSO_CONNECT_TIMEOUT": "0.3"}
        with mock.patch.object(socket, "getaddrinfo", side_effect=slow):
            self.fails(self.sb.call("--profile", "sess", env=env), 5, "3 attempts, the last timed out (connect "
                       "timeout 0.3s")
            self.ok(self.sb.call("--profile", "sess", env=dict(env, AWS_SSO_CONNECT_TIMEOUT="2")))

    def test_a_corrupt_token_is_never_sent_nor_shown(self):
        for token in ("tok\r\nX-Injected: yes", "t\u00e9k\u20ac", "tok\x00en"):
            with self.subTest(token=token):
                self.sb.write_token("dev", accessToken=token)
                r = self.sb.call("--profile", "sess", "--debug")
                err = self.fails(r, 1, "is incomplete", "accessToken is missing or corrupt",
                                 "aws sso login --sso-session dev")
                self.assertNotIn("Injected", err)
                self.assertNotIn("\u20ac", err)
        log = read(self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt"))
        self.assertNotIn("Injected", log)
        self.assertEqual(self.standin.count(), 0)


class TestTls(SandboxTest):
    tls = True

    def setUp(self):
        super().setUp()
        self.sb.write_token("dev")
        self.ca = os.path.join(self.sb.root, "ca.pem")
        write(self.ca, TEST_CA_PEM)

    def test_ca_bundle_from_env_and_profile(self):
        self.ok(self.sb.call("--profile", "sess", env={"AWS_CA_BUNDLE": self.ca}))
        self.sb.write_config(BASE_CONFIG.replace("[profile sess]\n", "[profile sess]\nca_bundle = %s\n" % self.ca))
        self.ok(self.sb.call("--profile", "sess", "--force-refresh"))
        self.assertEqual(self.standin.count("/federation/credentials"), 2)

    def test_untrusted_certificate(self):
        self.fails(self.sb.call("--profile", "sess"), 5, "TLS certificate verification failed", "AWS_CA_BUNDLE")
        self.assertEqual(self.standin.count(), 0)

    def test_https_through_a_connect_proxy(self):
        proxy = StandIn()
        self.addCleanup(proxy.close)
        env = {"AWS_CA_BUNDLE": self.ca, "HTTPS_PROXY": "http://user:p%%40ss@127.0.0.1:%d"
               % proxy.server.server_address[1]}
        self.ok(self.sb.call("--profile", "sess", env=env))
        [connect] = proxy.calls
        self.assertEqual(connect.method, "CONNECT")
        self.assertEqual(connect.path, self.standin.url.split("//")[1])
        self.assertEqual(connect.headers["Proxy-Authorization"], "Basic dXNlcjpwQHNz")  # user:p@ss
        self.assertEqual(self.standin.count("/federation/credentials"), 1, "the request went through the tunnel")
        # the proxy saw only the tunnel, never the token
        self.assertNotIn("x-amz-sso_bearer_token", connect.headers)

    def test_a_bundle_that_does_not_vouch_for_the_server(self):
        other = os.path.join(self.sb.root, "other.pem")
        with open(other, "w") as f:  # a valid CA, but not the server's issuer
            f.write(UNRELATED_CA_PEM)
        self.fails(self.sb.call("--profile", "sess", env={"AWS_CA_BUNDLE": other}), 5,
                   "TLS certificate verification failed", "(unable to get local issuer certificate)",
                   "the CA bundle %s (AWS_CA_BUNDLE or ca_bundle) does not vouch for it" % other)

    def test_missing_or_broken_ca_bundle(self):
        self.fails(self.sb.call("--profile", "sess", env={"AWS_CA_BUNDLE": "/nonexistent.pem"}), 2,
                   "cannot load the CA bundle /nonexistent.pem (from AWS_CA_BUNDLE)")
        broken = os.path.join(self.sb.root, "broken.pem")
        write(broken, "not a certificate\n")
        self.fails(self.sb.call("--profile", "sess", env={"AWS_CA_BUNDLE": broken}), 2,
                   "cannot load the CA bundle %s" % broken)


# ==========================================================================
# SSO: the cached token and its refresh
# ==========================================================================

class TestTokens(SandboxTest):
    def test_every_timestamp_form(self):
        for form in ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00UTC", "2026-01-01T00:00:00+00:00",
                     "2026-01-01T00:00:00.123Z", "2026-01-01T00:00:00.123456+00:00"):
            with self.subTest(form=form):
                later = utc(self.sb.clock.now() + 3600)
                self.sb.write_token("dev", expiresAt=form.replace("2026-01-01T00:00:00", later[:-1]))
                self.ok(self.sb.call("--profile", "sess", "--force-refresh"))

    def test_missing_token(self):
        err = self.fails(self.sb.call("--profile", "sess"), 1, "not logged in", SESS_ADVICE, self.sb.token_path("dev"))
        # the script's own --login comes first, named as it was run, then the AWS CLI's
        self.assertIn("Run: %s %s --login" % (os.path.basename(sys.executable), SCRIPT), err)
        self.assertIn("add --interactive to its line", err)
        self.fails(self.sb.call("--profile", "legacy"), 1,
                   "--login --profile legacy (or: aws sso login --profile legacy)")
        self.fails(self.sb.call("--account-id", ACCOUNT, "--role-name", ROLE, "--start-url", START_URL,
                                "--region", "us-east-1"), 1, "sso_start_url = %s" % START_URL)

    def test_expired_token(self):
        self.sb.write_token("dev", ttl=-60)
        self.fails(self.sb.call("--profile", "sess"), 1, "expired at", "aws sso login --sso-session dev")
        self.assertEqual(self.standin.count(), 0, "an expired token is not sent")

    def test_unusable_token_files(self):
        for raw, phrase in [("", "not valid JSON"), ("{\"accessToken\": \"x\", \"expi", "not valid JSON"),
                            ("[1, 2]", "not valid JSON"), ("[" * 100000 + "]" * 100000, "not valid JSON"),
                            ("\xff\xfe", "not valid JSON"),
                            (json.dumps({"expiresAt": utc(time.time() + 3600)}), "incomplete"),
                            (json.dumps({"accessToken": "x"}), "incomplete"),
                            (json.dumps({"accessToken": "x", "expiresAt": 1795628599}), "incomplete"),
                            (json.dumps({"accessToken": "x", "expiresAt": "tomorrow"}), "incomplete"),
                            (json.dumps({"accessToken": "x", "expiresAt": "9999-12-31T23:59:59-01:00"}),
                             "incomplete"),
                            (json.dumps({"accessToken": ["x"], "expiresAt": utc(time.time() + 3600)}),
                             "incomplete")]:
            with self.subTest(raw=raw[:40]):
                self.sb.write_token("dev", raw=raw)
                self.fails(self.sb.call("--profile", "sess"), 1, phrase, "aws sso login --sso-session dev")
        self.assertEqual(self.standin.count(), 0)

    def test_unreadable_token_file(self):
        os.makedirs(self.sb.token_path("dev"))  # unreadable even for root
        self.fails(self.sb.call("--profile", "sess"), 1, "cannot read the cached SSO token",
                   "is a directory, not a file", "aws sso login --sso-session dev")
        os.rmdir(self.sb.token_path("dev"))
        os.mkfifo(self.sb.token_path("dev"))  # a reader that blocked here would hang the SDK forever
        self.fails(self.sb.call("--profile", "sess"), 1, "is a FIFO, not a file")
        os.remove(self.sb.token_path("dev"))
        os.symlink("/dev/zero", self.sb.token_path("dev"))  # endless: must not be read without bound
        self.fails(self.sb.call("--profile", "sess"), 1, "is a device, not a file")
        os.remove(self.sb.token_path("dev"))
        write(self.sb.token_path("dev"), " " * (acp.CACHE_FILE_LIMIT + 1))
        self.fails(self.sb.call("--profile", "sess"), 1, "larger than")

    def test_token_file_is_never_modified(self):
        self.sb.write_token("dev")
        path = self.sb.token_path("dev")

        def state():
            return read(path), os.stat(path).st_mtime_ns, stat.S_IMODE(os.stat(path).st_mode)
        before = state()
        self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(state(), before)

    def test_half_written_file_is_reread(self):
        # The AWS CLI rewrites the token file in place: a reader can see it cut short.
        path = self.sb.token_path("dev")
        whole = json.dumps({"accessToken": self.standin.add_token(), "expiresAt": utc(time.time() + 3600)})
        os.makedirs(os.path.dirname(path))
        write(path, whole[:17])
        sleeps = []

        def sleep(seconds):  # the concurrent writer finishes while we wait
            sleeps.append(seconds)
            write(path, whole)

        self.ok(self.sb.call("--profile", "sess", sleep=sleep))
        self.assertEqual(sleeps, [0.05])


class TestTokenState(unittest.TestCase):
    """What to do with a cached token, as botocore's SSOTokenProvider decides,
    for what each mode needs from it."""

    def test_table(self):
        U, F, N, A = acp.USABLE, acp.FRESH, acp.NEW, acp.ALIVE
        for kwargs, expected in [
                # (situation, what each need does: usable, fresh, new, alive)
                (dict(left=3600), ("use", "use", "login", "use")),
                (dict(left=900), ("use", "use", "login", "use")),
                (dict(left=899), ("use", "login", "login", "use")),
                (dict(left=1), ("use", "login", "login", "use")),
                (dict(left=0), ("login", "login", "login", "none")),
                (dict(left=899, refreshable=True), ("refresh", "refresh", "login", "refresh")),
                (dict(left=-5, refreshable=True), ("refresh", "refresh", "login", "refresh")),
                (dict(left=3600, refreshable=True), ("use", "use", "login", "use")),
                (dict(left=-5, refreshable=True, registration_left=-1), ("login", "login", "login", "none")),
                (dict(left=3600, rejected=True), ("login", "login", "login", "none")),
                (dict(left=3600, rejected=True, refreshable=True), ("refresh", "refresh", "login", "refresh"))]:
            for need, action in zip((U, F, N, A), expected):
                with self.subTest(need=need, **kwargs):
                    self.assertEqual(token_state(need=need, **kwargs)[0], action)

    def test_no_token(self):
        cfg = acp.Config()
        ctx = acp.Context(cfg, now=lambda: 1000000.0)
        why = acp.LoginRequired("not logged in")
        self.assertEqual(acp.token_action(ctx, None, why, acp.USABLE), ("login", why))
        self.assertEqual(acp.token_action(ctx, None, why, acp.ALIVE), ("none", why))

    def test_why_it_is_dead(self):
        self.assertEqual(token_state(3600, rejected=True)[1], "refused")
        self.assertIn("expired at", token_state(-5)[1])
        self.assertIn("its client registration expired at", token_state(-5, refreshable=True, registration_left=-1)[1])
        cfg = acp.Config()
        cfg.sso_session = "dev"
        ctx = acp.Context(cfg, now=lambda: 1000000.0)
        token = acp.Token({"accessToken": "tok", "refreshToken": "r", "clientId": "c",
                           "registrationExpiresAt": acp.format_time(2000000)}, 999000.0)  # no clientSecret
        action, why = acp.token_action(ctx, token, None, acp.USABLE)
        self.assertEqual(action, "login")
        self.assertIn("its refresh data (refreshToken, clientId, clientSecret, registrationExpiresAt) is incomplete",
                      str(why))


class TestRefresh(SandboxTest):
    def refreshable_token(self, ttl, registration_ttl=86400, **extra):
        return self.sb.refreshable_token(ttl, registration_ttl, **extra)

    def test_refreshes_within_fifteen_minutes_and_writes_back_like_botocore(self):
        registration = utc(self.sb.clock.now() + 86400)
        old = self.refreshable_token(ttl=10 * 60, startUrl="https://stale.example/start", somethingElse="dropped")
        self.ok(self.sb.call("--profile", "sess"))
        [call] = self.standin.calls_to("/token")
        self.assertEqual(call.body.decode(), '{"grantType": "refresh_token", "clientId": "cid", '
                                             '"clientSecret": "csecret", "refreshToken": "refresh-1"}')
        self.assertEqual(call.headers["Content-Type"], "application/json")
        text, doc = token_on_disk(self.sb)
        self.assertEqual(list(doc), ["startUrl", "region", "accessToken", "expiresAt", "clientId",
                                     "clientSecret", "registrationExpiresAt", "refreshToken"])
        self.assertEqual(text, json.dumps(doc), "json.dumps format, no trailing newline")
        self.assertEqual((doc["startUrl"], doc["region"], doc["clientId"], doc["clientSecret"],
                          doc["registrationExpiresAt"]), (START_URL, "us-east-1", "cid", "csecret", registration))
        self.assertNotEqual(doc["accessToken"], old)
        self.assertNotEqual(doc["refreshToken"], "refresh-1")
        self.assertRegex(doc["expiresAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertAlmostEqual(acp.parse_time(doc["expiresAt"]), time.time() + self.standin.token_ttl, delta=10)
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.token_path("dev")).st_mode), 0o600)
        [fetch] = self.standin.calls_to("/federation/credentials")
        self.assertEqual(fetch.headers["x-amz-sso_bearer_token"], doc["accessToken"])

    def test_no_refresh_while_more_than_fifteen_minutes_remain(self):
        self.refreshable_token(ttl=20 * 60)
        self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(self.standin.count("/token"), 0)

    def test_an_expired_token_is_refreshed(self):
        self.refreshable_token(ttl=-3600)
        self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(self.standin.grants(), ["refresh_token"])

    def test_legacy_token_with_refresh_data_is_refreshed_too(self):
        # what this script's own legacy login writes (it registers with sso:account:access)
        self.sb.refreshable_token(-60, name=START_URL)
        self.ok(self.sb.call("--profile", "legacy"))
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        self.assertEqual(token_on_disk(self.sb, START_URL)[1]["startUrl"], START_URL)

    def test_legacy_token_without_refresh_data_is_not_refreshed(self):
        self.sb.write_token(START_URL, ttl=10 * 60)
        self.ok(self.sb.call("--profile", "legacy"))
        self.assertEqual(self.standin.count("/token"), 0)

    def test_session_reached_its_maximum_duration(self):
        self.standin.session_end = time.time() - 1
        self.refreshable_token(ttl=-60)
        self.fails(self.sb.call("--profile", "sess"), 1, "has ended: it reached its maximum duration",
                   "InvalidGrantException", SESS_ADVICE, "--interactive")

    def test_registration_expired(self):
        self.refreshable_token(ttl=-60, registration_ttl=-60)
        self.fails(self.sb.call("--profile", "sess"), 1, "cannot be refreshed: its client registration expired",
                   SESS_ADVICE)
        self.assertEqual(self.standin.count("/token"), 0, "no refresh with an expired registration")

    def test_a_failing_service_is_not_a_verdict_on_the_login(self):
        self.refreshable_token(ttl=-60)
        for status, code in [(503, None), (500, "InternalServerException"), (429, "ThrottlingException")]:
            with self.subTest(status=status):
                self.standin.fail("/token", status=status, error=code, times=10)
                self.fails(self.sb.call("--profile", "sess", "--force-refresh"), 5, "the SSO OIDC service failed "
                           "while refreshing the token for sso-session 'dev'", "try again in a moment")
                self.sb.clock.sleep(120)  # past the minute a failed refresh is remembered

    def test_refresh_rejected(self):
        self.refreshable_token(ttl=-60)
        self.standin.clients["cid"] = "rotated"
        self.fails(self.sb.call("--profile", "sess"), 1, "was rejected", "InvalidClientException", SESS_ADVICE)

    def test_failed_refresh_keeps_the_valid_token_and_waits_a_minute(self):
        token = self.refreshable_token(ttl=10 * 60)
        self.standin.fail("/token", status=400, error="InvalidRequestException", message="try later")
        self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(self.standin.calls_to("/federation/credentials")[-1].headers["x-amz-sso_bearer_token"], token)
        self.ok(self.sb.call("--profile", "sess", "--force-refresh"))
        self.assertEqual(self.standin.count("/token"), 1, "no second attempt within 60 s")
        self.assertEqual(token_on_disk(self.sb)[1]["accessToken"], token)
        self.sb.clock.sleep(61)  # a minute later the refresh is tried again
        self.ok(self.sb.call("--profile", "sess", "--force-refresh"))
        self.assertEqual(self.standin.count("/token"), 2)

    def test_a_token_rotated_by_botocore_during_a_failed_refresh_is_used(self):
        self.refreshable_token(ttl=-60)
        rotated = []
        self.standin.fail("/token", status=400, error="InvalidRequestException", message="already used",
                          then=lambda: rotated.append(self.sb.write_token("dev", ttl=3600)))
        self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(self.standin.calls_to("/federation/credentials")[-1].headers["x-amz-sso_bearer_token"],
                         rotated[0])

    def test_a_refresh_helps_when_the_portal_rejects_the_token(self):
        token = self.refreshable_token(ttl=3 * 3600)
        del self.standin.tokens[token]  # revoked on the server
        self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        self.assertEqual(self.standin.count("/federation/credentials"), 2)

    def test_nonsense_in_a_refresh_answer_is_never_written(self):
        for answer in ({"accessToken": "new", "expiresIn": 10 ** 12}, {"accessToken": "new", "expiresIn": -5},
                       {"accessToken": "new", "expiresIn": "3600"}, {"accessToken": "new", "expiresIn": True},
                       {"accessToken": "new\r\nX: y", "expiresIn": 3600},
                       {"accessToken": "new", "expiresIn": 3600, "refreshToken": 5}):
            with self.subTest(answer=answer):
                self.refreshable_token(ttl=-60)
                before = token_on_disk(self.sb)[0]
                self.standin.fail("/token", raw=json.dumps(answer).encode())
                self.fails(self.sb.call("--profile", "sess"), 5, "CreateToken returned an unexpected response")
                self.assertEqual(token_on_disk(self.sb)[0], before)
                os.remove(self.sb.token_path("dev") + ".lock")  # forget the failed refresh
        for raw in (b'{"accessToken": "new", "expiresIn": Infinity}', b'{"accessToken": "new", "expiresIn": NaN}',
                    b'{"accessToken": "new", "expiresIn": 1e400}'):
            with self.subTest(raw=raw):
                self.refreshable_token(ttl=-60)
                self.standin.fail("/token", raw=raw)
                self.fails(self.sb.call("--profile", "sess"), 5, "expiresIn is missing or out of range")
                os.remove(self.sb.token_path("dev") + ".lock")

    def test_a_token_that_cannot_be_saved_still_serves_the_run(self):
        old = self.refreshable_token(ttl=-60)
        with mock.patch.object(acp, "write_file_atomic", side_effect=PermissionError(13, "Read-only")):
            doc = self.ok(self.sb.call("--profile", "sess"))
        self.assertEqual(doc["AccessKeyId"], self.issued()["accessKeyId"])
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        self.assertEqual(token_on_disk(self.sb)[1]["accessToken"], old, "the file was left alone")


# ==========================================================================
# SSO: role credentials
# ==========================================================================

class TestCredentials(SandboxTest):
    def test_sso_session_profile(self):
        token = self.sb.write_token("dev")
        doc = self.ok(self.sb.call("--profile", "sess"))
        issued = self.issued()
        self.assertEqual((doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"]),
                         (issued["accessKeyId"], issued["secretAccessKey"], issued["sessionToken"]))
        self.assertEqual(doc["Expiration"], utc(issued["expiration"] // 1000))
        self.assertEqual(doc["AccountId"], ACCOUNT)
        [call] = self.standin.calls_to("/federation/credentials")
        self.assertEqual(call.headers["x-amz-sso_bearer_token"], token)
        self.assertIn("x-amz-sso_bearer_token", call.headers.keys(), "sent lowercase, as botocore does")
        self.assertEqual(call.headers["Accept-Encoding"], "identity")
        self.assertEqual(list(call.query), ["role_name", "account_id"])
        self.assertEqual(call.query, {"role_name": ROLE, "account_id": ACCOUNT})
        self.assertNotIn("Content-Type", call.headers)
        self.assertNotIn("Authorization", call.headers)

    def test_legacy_profile(self):
        token = self.sb.write_token(START_URL)
        self.ok(self.sb.call("--profile", "legacy"))
        [call] = self.standin.calls_to("/federation/credentials")
        self.assertEqual(call.headers["x-amz-sso_bearer_token"], token)

    def test_legacy_start_url_is_hashed_exactly_as_written(self):
        self.sb.write_config(BASE_CONFIG.replace("start\nsso_region = us-east-1\nsso_account",
                                                 "start/\nsso_region = us-east-1\nsso_account"))
        self.sb.write_token(START_URL)  # the key of the URL without the slash
        self.fails(self.sb.call("--profile", "legacy"), 1, "aws sso login --profile legacy")
        self.sb.write_token(START_URL + "/")
        self.ok(self.sb.call("--profile", "legacy"))

    def test_flags_and_env_without_a_profile(self):
        self.sb.write_token(START_URL)
        self.ok(self.sb.call("--account-id", "444455556666", "--role-name", ROLE, "--start-url",
                             START_URL, env={"AWS_SSO_REGION": "us-east-1"}))
        [call] = self.standin.calls_to("/federation/credentials")
        self.assertEqual(call.query["account_id"], "444455556666")

    def test_flag_and_env_override_the_profile(self):
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess", "--role-name", "ReadOnly",
                             env={"AWS_SSO_ROLE_NAME": "Nope", "AWS_SSO_ACCOUNT_ID": "444455556666"}))
        [call] = self.standin.calls_to("/federation/credentials")
        self.assertEqual(call.query, {"role_name": "ReadOnly", "account_id": "444455556666"})

    def test_aws_profile_in_the_environment_is_ignored(self):
        self.sb.write_config(BASE_CONFIG + "\n[profile caller]\ncredential_process = whatever\n")
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess", env={"AWS_PROFILE": "caller", "AWS_DEFAULT_PROFILE": "caller"}))

    def test_nonsense_expirations_are_refused_and_never_cached(self):
        self.sb.write_token("dev")
        base = {"accessKeyId": "ASIAX", "secretAccessKey": "s", "sessionToken": "t"}
        for expiration in (10 ** 20, -1, "1795628599000", None, True, 253402300800 * 1000, [1]):
            with self.subTest(expiration=expiration):
                self.standin.fail("/federation/credentials",
                                  raw=json.dumps({"roleCredentials": dict(base, expiration=expiration)}).encode())
                self.fails(self.sb.call("--profile", "sess"), 5, "unexpected response",
                           "expiration is missing or out of range")
        for raw in (b'Infinity', b'NaN', b'1e400', b'-Infinity'):
            with self.subTest(raw=raw):
                self.standin.fail("/federation/credentials", raw=b'{"roleCredentials": {"accessKeyId": "A", '
                                  b'"secretAccessKey": "S", "sessionToken": "T", "expiration": %s}}' % raw)
                self.fails(self.sb.call("--profile", "sess"), 5, "expiration is missing or out of range")
        self.assertFalse(os.path.exists(self.sb.role_path(session="dev")))

    def test_credentials_already_expired_point_at_the_clock(self):
        self.sb.write_token("dev")
        past = {"accessKeyId": "A", "secretAccessKey": "S", "sessionToken": "T",
                "expiration": int((time.time() - 60) * 1000)}
        self.standin.fail("/federation/credentials", raw=json.dumps({"roleCredentials": past}).encode())
        self.fails(self.sb.call("--profile", "sess"), 5, "before now", "check this machine's clock")

    def test_the_latest_expiration_every_sdk_parses(self):
        self.sb.write_token("dev")
        creds = {"accessKeyId": "A", "secretAccessKey": "S", "sessionToken": "T",
                 "expiration": acp.MAX_EPOCH * 1000 + 999}
        self.standin.fail("/federation/credentials", raw=json.dumps({"roleCredentials": creds}).encode())
        self.assertEqual(self.ok(self.sb.call("--profile", "sess"))["Expiration"], "9999-12-31T23:59:59Z")


# ==========================================================================
# Interactive login: device code and authorization code with PKCE
# ==========================================================================

class TestLoginPieces(unittest.TestCase):
    def test_pkce_challenge_vector(self):
        self.assertEqual(acp.pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                         "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")

    def test_authorize_url(self):
        # SPEC.md 8: the verified example, parameter for parameter
        self.assertEqual(
            acp.authorize_url("https://oidc.us-east-1.amazonaws.com", "cid",
                              "http://127.0.0.1:43383/oauth/callback", "9dce65ff-ffcd-461f-8fed-877062b18c9b",
                              "FoKcWNqs_4KCOILH5LJy-76Qh-Rc3lAB1CwgB-WZggw", ["sso:account:access"]),
            "https://oidc.us-east-1.amazonaws.com/authorize?response_type=code&client_id=cid&redirect_uri="
            "http%3A%2F%2F127.0.0.1%3A43383%2Foauth%2Fcallback&state=9dce65ff-ffcd-461f-8fed-877062b18c9b&"
            "code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge="
            "FoKcWNqs_4KCOILH5LJy-76Qh-Rc3lAB1CwgB-WZggw")
        two = acp.authorize_url("https://o", "c", "r", "s", "x", ["sso:account:access", "codewhisperer:completions"])
        self.assertIn("&scopes=sso%3Aaccount%3Aaccess%20codewhisperer%3Acompletions&", two)
        # the path of a configured endpoint is kept, so /authorize sits beside /token
        self.assertTrue(acp.authorize_url("https://gw.example/sso-oidc", "c", "r", "s", "x", ["a"])
                        .startswith("https://gw.example/sso-oidc/authorize?"))

    def test_local_browser_detection(self):
        inside = os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv")
        for environ, expected in [({}, "in a container" if inside else "no display (DISPLAY is unset)"),
                                  ({"DISPLAY": ":0"}, "in a container" if inside else None),
                                  ({"DISPLAY": ":0", "container": "podman"}, "in a container"),
                                  ({"BROWSER": "firefox"}, None),
                                  ({"SSH_CONNECTION": "x"}, "in a container" if inside else "no display "
                                   "(DISPLAY is unset)")]:
            self.assertEqual(acp.no_local_browser(environ), expected, environ)

    def test_text_browsers_are_never_started(self):
        tmp = temp_dir(self)
        marker = os.path.join(tmp, "ran")
        for name in ("lynx", "w3m"):
            write(os.path.join(tmp, name), "#!/bin/sh\ntouch %s\n" % marker, mode=0o755)
        lines = []
        log = lambda msg, *args: lines.append(msg % args)  # noqa: E731
        browser = os.pathsep.join([os.path.join(tmp, "lynx") + " %s", os.path.join(tmp, "w3m")])
        self.assertFalse(acp.launch_browser("https://x/", {"BROWSER": browser}, log))
        time.sleep(0.2)
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(sum("text-mode browser" in line for line in lines), 2)

    def test_only_web_addresses_are_opened(self):
        tmp = temp_dir(self)
        marker = os.path.join(tmp, "ran")
        script = os.path.join(tmp, "browser")
        write(script, "#!/bin/sh\ntouch %s\n" % marker, mode=0o755)
        lines = []
        bad = ("javascript:alert(1)", "file:///etc/passwd", "-new-window http://x", "smb://host/share",
               "https://x/$(touch /tmp/pwned)", "https://x/`id`", "https://x/a;b", "https://x/a b", "https://x/\x1b")
        for url in bad:
            self.assertFalse(acp.launch_browser(url, {"BROWSER": script}, lambda m, *a: lines.append(m % a)))
        time.sleep(0.2)
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(sum("not a plain web address" in line for line in lines), len(bad))


class TestDeviceFlowSteps(SandboxTest):
    """The polling rules, with a frozen clock's recorded sleeps."""

    slow = 1

    def setUp(self):
        super().setUp()
        self.sb.clock.frozen = True

    def login(self, fault_script=(), approve_at=None, env=None, terminal=None, **standin):
        self.standin.auto_approve = approve_at
        for key, value in standin.items():
            setattr(self.standin, key, value)
        for fault in fault_script:
            self.standin.fail("/token", **fault)
        self.sb.clock.offset += 1  # each run starts after the last one's failure (it is not replayed)
        return self.sb.call("--profile", "legacy", "-i", "--no-browser", env=env, terminal=terminal or Terminal())

    def test_pending_then_slow_down_then_success(self):
        # One attempt before the prompt; then the interval before every poll, 5 s more after slow_down.
        r = self.login([{"status": 400, "error": "AuthorizationPendingException", "message": "pending"},
                        {"status": 400, "error": "SlowDownException", "message": "slow down"}], approve_at=1)
        self.ok(r)
        self.assertEqual(self.sb.clock.sleeps, [1, 6], "the 1 s interval, then 6 s after slow_down")
        self.assertEqual(self.standin.grants(), [acp.DEVICE_GRANT] * 3)

    def test_interval_from_the_service_and_cumulative_slow_down(self):
        r = self.login([{"status": 400, "error": "AuthorizationPendingException"},
                        {"status": 400, "error": "AuthorizationPendingException"},
                        {"status": 400, "error": "SlowDownException"},
                        {"status": 400, "error": "SlowDownException"},
                        {"status": 400, "error": "AuthorizationPendingException"}], approve_at=1, device_interval=3)
        self.ok(r)
        self.assertEqual(self.sb.clock.sleeps, [3, 3, 8, 13, 13])

    def test_absurd_intervals_are_clamped(self):
        for interval, expected in [(0, 1), (-7, 1), (10 ** 9, 60), ("5", 5), (None, 5), (2.5, 2)]:
            with self.subTest(interval=interval):
                self.sb.clock.sleeps.clear()
                for path in (self.sb.token_path(START_URL), self.sb.role_path(start_url=START_URL)):
                    if os.path.exists(path):
                        os.remove(path)
                self.ok(self.login(approve_at=3, device_interval=interval))
                self.assertEqual(self.sb.clock.sleeps, [expected, expected])

    def test_a_client_already_approved_needs_no_prompt(self):
        terminal = Terminal()
        self.ok(self.login(approve_at=1, terminal=terminal))
        self.assertEqual(self.sb.clock.sleeps, [])
        self.assertNotIn("enter the code", terminal.getvalue())
        self.assertIn("logged in to start URL", terminal.getvalue())

    def test_expired_and_denied(self):
        for fault, phrase in [({"status": 400, "error": "ExpiredTokenException"}, "login code expired"),
                              ({"status": 400, "error": "AccessDeniedException", "message": "no"},
                               "denied in the browser"),
                              ({"status": 400, "error": "InvalidClientException"}, "the device login failed")]:
            with self.subTest(fault=fault):
                r = self.login([{"status": 400, "error": "AuthorizationPendingException"}, fault])
                self.fails(r, 3, phrase)

    def test_gives_up_when_never_approved_without_sleeping_past_the_timeout(self):
        for timeout in ("30", "2.5"):
            with self.subTest(timeout=timeout):
                self.sb.clock.sleeps.clear()
                self.fails(self.login(env={"AWS_SSO_LOGIN_TIMEOUT": timeout}), 3,
                           "not approved in the browser within %ss" % timeout.split(".")[0])
                self.assertAlmostEqual(sum(self.sb.clock.sleeps), float(timeout), places=6)
                self.assertLessEqual(max(self.sb.clock.sleeps), 1)

    def test_the_device_code_lifetime_bounds_the_wait(self):
        self.fails(self.login(device_ttl=10 ** 6, device_interval=60, env={"AWS_SSO_LOGIN_TIMEOUT": "3600"}), 3,
                   "within 3600s")
        self.standin.faults.clear()
        self.sb.clock.sleeps.clear()
        # the stand-in says expired_token once 20 s have passed
        self.fails(self.login(device_ttl=20, device_interval=1), 3, "login code expired")
        self.assertLessEqual(sum(self.sb.clock.sleeps), 21)

    def test_what_the_service_shows_is_escaped(self):
        answer = {"deviceCode": "device-code-x", "userCode": "ABCD\x1b[2J-EFGH",
                  "verificationUri": "https://device.example/\x1b]8;;evil\x07x", "verificationUriComplete": "\r",
                  "expiresIn": 600, "interval": 1}
        self.standin.add_client()
        self.standin.fail("/device_authorization", raw=json.dumps(answer).encode())
        terminal = Terminal()
        self.fails(self.login(fault_script=[{"status": 400, "error": "AuthorizationPendingException"},
                                            {"status": 400, "error": "AccessDeniedException"}], terminal=terminal), 3)
        shown = terminal.getvalue()
        self.assertNotIn("\x1b", shown)
        self.assertNotIn("\r", shown)
        self.assertIn("ABCD\\x1b[2J-EFGH", shown)

    def test_a_caller_that_gave_up_gets_its_pipes_back_and_the_login_finishes(self):
        # Go SDK v2 kills the shell that runs the script after its timeout; the
        # script, handed to another parent, holds the SDK's pipes until it exits.
        parents, released = [4242], []
        self.standin.auto_approve = 4

        def parent():  # the shell is killed during the second wait
            if len(self.sb.clock.sleeps) >= 2:
                parents.append(1)
            return parents[-1]

        r = self.sb.call("--profile", "legacy", "-i", "--no-browser", terminal=Terminal(), parent=parent,
                         release=lambda: released.append(True))
        self.ok(r)
        self.assertEqual(released, [True], "released once, as soon as it was noticed")
        self.assertTrue(os.path.exists(self.sb.token_path(START_URL)), "the login was finished and saved")

    def test_a_caller_that_stays_is_never_released(self):
        released = []
        self.standin.auto_approve = 3
        self.ok(self.sb.call("--profile", "legacy", "-i", "--no-browser", terminal=Terminal(), parent=lambda: 4242,
                             release=lambda: released.append(True)))
        self.assertEqual(len(self.sb.clock.sleeps), 2)
        self.assertEqual(released, [])

    def test_malformed_device_answers(self):
        for answer in ({"deviceCode": "d"}, {"deviceCode": 5, "userCode": "U", "verificationUri": "https://x"},
                       {"deviceCode": "d\nx", "userCode": "U", "verificationUri": "https://x"}, [1]):
            with self.subTest(answer=answer):
                self.standin.fail("/device_authorization", raw=json.dumps(answer).encode())
                self.fails(self.login(), 5, "StartDeviceAuthorization returned an unexpected response")


class TestInteractiveLogin(SandboxTest):
    slow = 1

    def test_off_by_default_and_says_how_to_turn_it_on(self):
        browser = FakeBrowser()
        self.fails(self.sb.call("--profile", "sess", browser=browser), 1, SESS_ADVICE + "; to have the "
                   "credential call log in by itself when needed, add --interactive to its line")
        self.assertEqual(self.standin.count(), 0)
        self.assertEqual(browser.urls, [])

    def test_device_flow_end_to_end(self):
        def sleep(seconds):  # the fake clock waits for the person: the browser is a real, maybe slow, process
            self.sb.visits(1, wait=120, done=True)
            self.sb.clock.sleep(seconds)
        r = self.sb.call("--profile", "legacy", "-i", env=self.sb.browser(), browser="real", sleep=sleep)
        doc = self.ok(r, prompt=True)
        self.assertEqual(doc["AccessKeyId"], self.issued()["accessKeyId"])
        [visit] = self.sb.visits(1)
        self.assertTrue(visit["url"].startswith(self.standin.url + "/device?user_code="))
        # the browser was detached: none of our stdio, and its own session
        self.assertEqual(visit["fds"], {"0": "/dev/null", "1": "/dev/null", "2": "/dev/null"})
        self.assertNotEqual(visit["sid"], os.getsid(0))
        paths = [c.path for c in self.standin.calls if c.path != "/device"]
        self.assertEqual(paths[:3], ["/client/register", "/device_authorization", "/token"])
        self.assertEqual(paths[-1], "/federation/credentials")
        [register] = self.standin.calls_to("/client/register")
        body = json.loads(register.body)
        self.assertEqual(list(body), ["clientName", "clientType", "scopes"])
        self.assertTrue(body["clientName"].startswith("botocore-client-"))
        self.assertEqual(body["scopes"], ["sso:account:access"], "always registered for refresh tokens")
        [start] = self.standin.calls_to("/device_authorization")
        self.assertEqual(list(json.loads(start.body)), ["clientId", "clientSecret", "startUrl"])
        self.assertEqual(json.loads(start.body)["startUrl"], START_URL)
        # the token is cached under the start URL, in the CLI's format, with a refresh token
        text, token = token_on_disk(self.sb, START_URL)
        self.assertEqual(list(token), ["startUrl", "region", "accessToken", "expiresAt", "clientId",
                                       "clientSecret", "registrationExpiresAt", "refreshToken"])
        self.assertEqual(text, json.dumps(token))
        self.assertEqual(stat.S_IMODE(os.stat(self.sb.token_path(START_URL)).st_mode), 0o600)
        # the registration is cached under the CLI's legacy key, in its shape
        reg_path = self.sb.path(".aws", "sso", "cache", "c7029af06842ab71c7d71a4f2d85fc584e0c5528.json")
        registration = read_json(reg_path)
        self.assertEqual(list(registration), ["clientId", "clientSecret", "expiresAt", "scopes"])
        self.assertEqual(registration["expiresAt"], token["registrationExpiresAt"])
        # the prompt went to stderr (no terminal here); stdout held only the JSON
        self.assertIn("open %s/device and enter the code %s," % (self.standin.url, visit["url"].split("=")[1]), r.err)

    def test_prompt_goes_to_the_terminal_not_the_captured_streams(self):
        self.standin.auto_approve = 2
        terminal = Terminal()
        result = self.sb.call("--profile", "legacy", "--interactive", "--no-browser", terminal=terminal)
        self.ok(result)
        self.assertIn("open %s/device and enter the code" % self.standin.url, terminal.getvalue())
        self.assertIn("logged in to start URL %s" % START_URL, terminal.getvalue())
        self.assertEqual(result.err, "", "nothing on stderr: botocore would only show it after a failure")

    def test_prompt_falls_back_to_stderr(self):
        self.standin.auto_approve = 2
        r = self.sb.call("--profile", "legacy", "-i", "--no-browser")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("open %s/device and enter the code" % self.standin.url, r.err)
        self.assertIn("(open the link yourself)", r.err)
        self.assertEqual(json.loads(r.out)["Version"], 1)

    def test_no_terminal_and_no_browser_fails_fast(self):
        r = self.sb.call("--profile", "legacy", "-i")
        self.fails(r, 1, "cannot log in here", "no browser could be opened", "aws sso login --profile legacy",
                   prompt=True)
        self.assertEqual(self.standin.count("/token"), 1, "no polling that nobody can answer")

    @needs_botocore
    def test_pkce_end_to_end_and_botocore_uses_the_token(self):
        self.standin.token_ttl = 10 * 60  # so that botocore will want to refresh it
        browser = FakeBrowser()
        self.ok(self.sb.call("--profile", "sess", "--interactive", browser=browser), prompt=True)
        [authorize] = self.standin.calls_to("/authorize")
        self.assertEqual(list(authorize.query), ["response_type", "client_id", "redirect_uri", "state",
                                                 "code_challenge_method", "scopes", "code_challenge"])
        self.assertRegex(authorize.query["redirect_uri"], r"^http://127\.0\.0\.1:\d+/oauth/callback$")
        self.assertEqual(authorize.query["scopes"], "sso:account:access")
        [url] = browser.urls
        self.assertIn("redirect_uri=http%3A%2F%2F127.0.0.1%3A", url)
        self.assertIn("&scopes=sso%3Aaccount%3Aaccess&code_challenge=", url)
        [exchange] = [json.loads(c.body) for c in self.standin.calls_to("/token")]
        self.assertEqual(list(exchange), ["grantType", "clientId", "clientSecret", "redirectUri", "codeVerifier",
                                          "code"])
        self.assertEqual(exchange["redirectUri"], authorize.query["redirect_uri"])
        self.assertEqual(len(exchange["codeVerifier"]), 64)
        self.assertEqual(acp.pkce_challenge(exchange["codeVerifier"]), authorize.query["code_challenge"])
        [register] = self.standin.calls_to("/client/register")
        self.assertEqual(json.loads(register.body), {
            "clientName": "botocore-client-dev", "clientType": "public", "grantTypes": acp.PKCE_GRANTS,
            "redirectUris": ["http://127.0.0.1/oauth/callback"], "issuerUrl": START_URL,
            "scopes": ["sso:account:access"]})
        with open(self.sb.path(".aws", "sso", "cache", "c6b2fc6aec0d9c2d2652036ffbe173a43a8ba2c3.json")) as f:
            self.assertEqual(list(json.load(f)), ["clientId", "clientSecret", "expiresAt", "scopes", "grantTypes"])
        _, token = token_on_disk(self.sb)
        # botocore, natively, uses the token we wrote, and refreshes it with our registration
        self.sb.write_config(BASE_CONFIG + NATIVE_PROFILE % "ReadOnly")
        self.sb.boto3("native")
        self.assertEqual(self.standin.grants(), ["authorization_code", "refresh_token"])
        _, refreshed = token_on_disk(self.sb)
        self.assertNotEqual(refreshed["accessToken"], token["accessToken"])
        self.assertEqual((refreshed["clientId"], refreshed["registrationExpiresAt"]),
                         (token["clientId"], token["registrationExpiresAt"]))
        # and the CLI's registration is reused by a second login (CLI rules: 15 min left, auth-code grant)
        os.remove(self.sb.token_path("dev"))
        self.ok(self.sb.call("--profile", "sess", "-i", "--role-name", "ReadOnly", browser=FakeBrowser()), prompt=True)
        self.assertEqual(self.standin.count("/client/register"), 1)

    def test_callback_server_binds_loopback_only_and_serves_one_path(self):
        browser = FakeBrowser("probe")
        self.ok(self.sb.call("--profile", "sess", "-i", browser=browser), prompt=True)
        browser.wait()
        [seen] = browser.seen
        self.assertEqual(seen["probes"], {"127.0.0.2": "ConnectionRefusedError", "other path": 404,
                                          "POST": 405, "garbage": 400})
        self.assertIn("Signed in. You can close this tab", seen["page"])
        self.assertLess(len(seen["page"]), 300, "a short page")

    def test_registration_reuse_follows_the_cli_rules(self):
        self.ok(self.sb.call("--profile", "sess", "-i", browser=FakeBrowser()), prompt=True)
        self.assertEqual(self.standin.count("/client/register"), 1)
        # a PKCE registration is not used for the device flow, and vice versa (SPEC 3.3)
        os.remove(self.sb.token_path("dev"))
        self.ok(self.sb.call("--profile", "sess", "-i", "--use-device-code", "--force-refresh",
                             browser=FakeBrowser()), prompt=True)
        self.assertEqual(self.standin.count("/client/register"), 2)
        reg_path = self.sb.path(".aws", "sso", "cache", "c6b2fc6aec0d9c2d2652036ffbe173a43a8ba2c3.json")
        self.assertNotIn("grantTypes", read_json(reg_path))
        os.remove(self.sb.token_path("dev"))
        self.ok(self.sb.call("--profile", "sess", "-i", "--use-device-code", "--force-refresh",
                             browser=FakeBrowser()), prompt=True)
        self.assertEqual(self.standin.count("/client/register"), 2, "a live device registration is reused")
        # one with less than 15 minutes left is replaced
        registration = read_json(reg_path)
        registration["expiresAt"] = utc(self.sb.clock.now() + 10 * 60)
        with open(reg_path, "w") as f:
            json.dump(registration, f)
        os.remove(self.sb.token_path("dev"))
        self.ok(self.sb.call("--profile", "sess", "-i", "--use-device-code", "--force-refresh",
                             browser=FakeBrowser()), prompt=True)
        self.assertEqual(self.standin.count("/client/register"), 3)

    def test_broken_registration_answers_and_caches(self):
        self.standin.fail("/client/register", raw=json.dumps({"clientId": "c", "clientSecret": "s",
                                                               "clientSecretExpiresAt": 10 ** 13}).encode())
        self.fails(self.sb.call("--profile", "legacy", "-i", "--no-browser"), 5,
                   "RegisterClient returned an unexpected response", "clientSecretExpiresAt")
        reg_path = self.sb.path(".aws", "sso", "cache", "c7029af06842ab71c7d71a4f2d85fc584e0c5528.json")
        self.assertFalse(os.path.exists(reg_path), "nothing cached from a broken answer")
        os.makedirs(os.path.dirname(reg_path), exist_ok=True)
        for junk in ("[" * 100000, "{\"clientId\": \"c\"}", "{\"clientId\": \"c\", \"clientSecret\": \"s\", "
                     "\"expiresAt\": \"10000-01-01T00:00:00Z\"}"):
            with self.subTest(junk=junk[:30]):
                write(reg_path, junk)
                self.standin.auto_approve = 2
                self.ok(self.sb.call("--profile", "legacy", "-i", "--no-browser", "--force-refresh"), prompt=True)
                os.remove(self.sb.token_path(START_URL))

    def test_login_secrets_stay_out_of_the_log(self):
        self.ok(self.sb.call("--profile", "sess", "-i", "--debug", browser=FakeBrowser()), prompt=True)
        _, token = token_on_disk(self.sb)
        [exchange] = [json.loads(c.body) for c in self.standin.calls_to("/token")]
        log = read(self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt"))
        self.assertIn("interactive login for sso-session 'dev' with the PKCE flow", log)
        for secret in (token["accessToken"], token["refreshToken"], token["clientSecret"], exchange["code"],
                       exchange["codeVerifier"], self.issued()["secretAccessKey"], self.issued()["sessionToken"]):
            self.assertNotIn(secret, log)
        self.ok(self.sb.call("--profile", "legacy", "-i", "--debug", browser=FakeBrowser()), prompt=True)
        log = read(self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt"))
        device_code = [json.loads(c.body)["deviceCode"] for c in self.standin.calls_to("/token")
                       if json.loads(c.body)["grantType"] == acp.DEVICE_GRANT][0]
        self.assertNotIn(device_code, log)

    def test_wrong_state_is_rejected(self):
        r = self.sb.call("--profile", "sess", "-i", env={"AWS_SSO_LOGIN_TIMEOUT": "1"},
                         browser=FakeBrowser("wrong-state"))
        self.fails(r, 3, "no sign-in arrived from the browser within 1s",
                   "1 response(s) with the wrong state were ignored", prompt=True)
        self.assertEqual(self.standin.grants(), [], "the forged code was never exchanged")
        self.assertFalse(os.path.exists(self.sb.token_path("dev")))

    def test_sign_in_denied(self):
        self.fails(self.sb.call("--profile", "sess", "-i", browser=FakeBrowser("deny")), 3,
                   "sign-in failed (access_denied: User cancelled)", prompt=True)
        self.fails(self.sb.call("--profile", "legacy", "-i", browser=FakeBrowser("deny")), 3,
                   "denied in the browser", prompt=True)

    def test_the_code_exchange_fails(self):
        self.standin.fail("/token", status=400, error="InvalidGrantException", message="code already used")
        self.fails(self.sb.call("--profile", "sess", "-i", browser=FakeBrowser()), 3,
                   "exchanging the sign-in code for a token failed", "InvalidGrantException", prompt=True)
        self.assertFalse(os.path.exists(self.sb.token_path("dev")))

    def test_device_code_expires(self):
        self.standin.device_ttl = 1
        self.fails(self.sb.call("--profile", "legacy", "-i", "--no-browser"), 3, "login code expired", prompt=True)

    def test_flow_selection(self):
        cases = [  # (args, env, config addition, expected flow)
            (["--profile", "sess"], {}, "", "/authorize"),
            (["--profile", "sess", "--use-device-code"], {}, "", "/device_authorization"),
            (["--profile", "sess"], {"AWS_SSO_USE_DEVICE_CODE": "true"}, "", "/device_authorization"),
            (["--profile", "sess"], {}, "sso_use_device_code = true\n", "/device_authorization"),
            (["--profile", "legacy"], {}, "", "/device_authorization"),
        ]

        def forget_logins():
            for name in (START_URL, "dev"):
                if os.path.exists(self.sb.token_path(name)):
                    os.remove(self.sb.token_path(name))

        for args, env, extra, flow in cases:
            with self.subTest(args=args, env=env, extra=extra):
                self.sb.write_config(BASE_CONFIG.replace("sso_role_name = Admin\n\n[sso-session",
                                                         "sso_role_name = Admin\n%s\n[sso-session" % extra))
                forget_logins()
                before = self.standin.count(flow)
                self.ok(self.sb.call(*(args + ["-i", "--force-refresh"]), env=dict(env, BROWSER="x"),
                                     browser=FakeBrowser()), prompt=True)
                self.assertEqual(self.standin.count(flow), before + 1)
        # no display, no BROWSER: a redirect to this machine could not be received, so device code
        forget_logins()
        self.sb.write_config(BASE_CONFIG)
        self.standin.auto_approve = 2
        before = self.standin.count("/device_authorization")
        self.ok(self.sb.call("--profile", "sess", "-i", "--no-browser", "--role-name", "ReadOnly"), prompt=True)
        self.assertEqual(self.standin.count("/authorize"), 1)
        self.assertEqual(self.standin.count("/device_authorization"), before + 1)

    def test_enabling_and_disabling(self):
        self.standin.auto_approve = 2
        config = BASE_CONFIG.replace("[profile legacy]\n", "[profile legacy]\nsso_interactive_auth = true\n")
        self.sb.write_config(config)
        self.fails(self.sb.call("--profile", "legacy", "-n", "--no-browser"), 1, "not logged in")
        self.fails(self.sb.call("--profile", "legacy", "--noninteractive", "--no-browser",
                                env={"AWS_SSO_INTERACTIVE_AUTH": "true"}), 1, "not logged in")
        self.fails(self.sb.call("--profile", "legacy", "-i", "-n"), 2, "contradict")
        self.ok(self.sb.call("--profile", "legacy", "--no-browser"), prompt=True)  # from the profile
        os.remove(self.sb.token_path(START_URL))
        self.sb.write_config(BASE_CONFIG)
        # from the environment; a configured browser stays shut with AWS_SSO_DISABLE_BROWSER
        browser = FakeBrowser()
        env = dict(AWS_SSO_INTERACTIVE_AUTH="true", AWS_SSO_DISABLE_BROWSER="true")
        r = self.sb.call("--profile", "legacy", "--force-refresh", env=env, browser=browser)
        self.ok(r, prompt=True)
        self.assertIn("(open the link yourself)", r.err)
        self.assertEqual(self.standin.count("/device_authorization"), 2)
        self.assertEqual(browser.urls, [])

    def test_portal_rejects_a_valid_looking_token(self):
        token = self.sb.write_token(START_URL)
        del self.standin.tokens[token]
        self.standin.auto_approve = 2
        self.ok(self.sb.call("--profile", "legacy", "-i", "--no-browser"), prompt=True)
        self.assertEqual(self.standin.count("/federation/credentials"), 2)
        self.assertEqual(self.standin.count("/device_authorization"), 1)


class TestCallbackServer(SandboxTest):
    """The PKCE callback is served at once however other local clients behave."""

    slow = 1

    def login(self, action, timeout="3", wait=True):
        browser = FakeBrowser(action)
        r = self.sb.call("--profile", "sess", "-i", env={"AWS_SSO_LOGIN_TIMEOUT": timeout}, browser=browser)
        if wait:
            browser.wait()
        return r, browser

    def test_idle_and_dripping_connections_do_not_delay_the_callback(self):
        # A browser's speculative pre-connect sits idle; another client drips a
        # byte at a time. Served one connection at a time with a 10 s read
        # timeout, the 3 s login would fail.
        r, browser = self.login("stall-then-follow")
        self.ok(r, prompt=True)
        self.assertEqual(self.standin.grants(), ["authorization_code"])
        self.assertNotIn("Traceback", r.err)

    def test_a_crowd_of_idle_connections_cannot_shut_the_browser_out(self):
        r, _ = self.login("crowd-then-follow")
        self.ok(r, prompt=True)
        self.assertEqual(self.standin.grants(), ["authorization_code"])

    def test_a_second_callback_is_ignored(self):
        r, browser = self.login("twice")
        self.ok(r, prompt=True)
        [seen] = browser.seen
        self.assertIn("already been received", seen["second"])
        self.assertEqual(len(self.standin.grants()), 1, "one code exchanged: the first")

    def test_the_whole_login_is_bounded_whatever_the_clients_do(self):
        r, _ = self.login("drip-forever", timeout="1", wait=False)
        self.fails(r, 3, "no sign-in arrived from the browser within 1s", prompt=True)

    def test_a_bad_request_gets_a_short_error_and_no_traceback(self):
        r, browser = self.login("garbage-then-follow")
        self.ok(r, prompt=True)
        [seen] = browser.seen
        self.assertTrue(seen["garbage"].startswith("HTTP/1.1 400 "), seen["garbage"][:40])
        self.assertNotIn("Traceback", r.err)

    def test_what_the_identity_provider_says_is_escaped(self):
        r, browser = self.login("deny-nasty")
        err = self.fails(r, 3, "sign-in failed (access_denied: \\x1b[2JUser cancelled", prompt=True)
        self.assertNotIn("\x1b", r.err)
        [seen] = browser.seen
        self.assertNotIn("\x1b", seen["page"])
        self.assertNotIn("<script>", seen["page"])
        self.assertTrue(err)


# ==========================================================================
# Stand-alone modes: --login, --logout, --list, --check
# ==========================================================================

class TestLogin(SandboxTest):
    """--login: log in on purpose, with nothing on stdout."""

    def login(self, *args, terminal=None):
        self.standin.auto_approve = 1
        return self.sb.call("--login", "--profile", "sess", "--use-device-code", "--no-browser", *args,
                            terminal=terminal or Terminal())

    def test_logs_in_writes_the_cli_token_and_says_until_when(self):
        terminal = Terminal()
        r = self.login(terminal=terminal)
        self.assertEqual((r.rc, r.out, r.err), (0, "", ""), r)
        token = read_json(self.sb.token_path("dev"))
        self.assertEqual(list(token), ["startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret",
                                       "registrationExpiresAt", "refreshToken"])
        self.assertTrue(terminal.getvalue().endswith(
            "aws-sso-credential-process: logged in to sso-session 'dev'; valid until %s\n" % token["expiresAt"]))
        for secret in (token["accessToken"], token["refreshToken"], token["clientSecret"]):
            self.assertNotIn(secret, terminal.getvalue() + r.err)
        self.assertEqual(self.sb.files(".aws", "sso", "cache"), sorted(
            [os.path.basename(self.sb.token_path("dev")), os.path.basename(self.sb.token_path("dev")) + ".lock",
             acp.registration_cache_key(acp.resolve_config({"profile": "sess"}, self.sb.env)) + ".json"]))
        self.ok(self.sb.call("--profile", "sess"))  # and the credential call uses it

    def test_the_browser_flow_and_a_denied_login(self):
        browser = FakeBrowser()
        r = self.sb.call("--login", "--profile", "sess", browser=browser, terminal=Terminal())
        self.assertEqual((r.rc, r.out, r.err), (0, "", ""), r)
        self.assertEqual(self.standin.grants(), ["authorization_code"], "PKCE, as for an sso-session")
        self.assertEqual(len(browser.urls), 1)
        os.remove(self.sb.token_path("dev"))
        self.fails(self.sb.call("--login", "--profile", "sess", browser=FakeBrowser("deny"), terminal=Terminal()),
                   3, "denied")

    def test_a_valid_login_is_kept_unless_forced(self):
        old = self.sb.write_token("dev", ttl=3600)
        terminal = Terminal()
        r = self.login(terminal=terminal)
        self.assertEqual((r.rc, r.out), (0, ""))
        self.assertIn("already logged in to sso-session 'dev'; valid until %s (--force-refresh logs in again)"
                      % utc(self.sb.clock.now() + 3600), terminal.getvalue())
        self.assertEqual(self.standin.count("/device_authorization"), 0)
        r = self.login("--force-refresh")
        self.assertEqual((r.rc, r.out), (0, ""))
        self.assertEqual(self.standin.count("/device_authorization"), 1, "a new login")
        self.assertNotEqual(read_json(self.sb.token_path("dev"))["accessToken"], old)

    def test_a_refreshable_login_is_refreshed_without_a_browser(self):
        self.sb.refreshable_token(ttl=5 * 60)
        terminal = Terminal()
        r = self.login(terminal=terminal)
        self.assertEqual((r.rc, r.out), (0, ""))
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        self.assertIn("refreshed the login to sso-session 'dev'; valid until", terminal.getvalue())

    def test_a_login_about_to_end_is_replaced_not_reported(self):
        # Under 15 minutes left and nothing to refresh it with (a legacy
        # login), or a refresh the service refuses: --login logs in anew.
        for name, setup in (("legacy", lambda: self.sb.write_token(START_URL, ttl=600)),
                            ("refused", lambda: self.sb.write_token(  # a refresh token the service refuses
                                "dev", ttl=600, clientId=self.standin.add_client()[0], clientSecret="csecret",
                                refreshToken="revoked", registrationExpiresAt=utc(self.sb.clock.now() + 86400)))):
            with self.subTest(name):
                before = setup()
                self.standin.auto_approve = 1
                r = self.sb.call("--login", "--profile", "legacy" if name == "legacy" else "sess",
                                 "--use-device-code", "--no-browser", terminal=Terminal())
                self.assertEqual((r.rc, r.out), (0, ""), r)
                path = self.sb.token_path(START_URL if name == "legacy" else "dev")
                token = read_json(path)
                self.assertNotEqual(token["accessToken"], before)
                self.assertGreater(acp.parse_time(token["expiresAt"]), self.sb.clock.now() + 3600)
        self.assertEqual(self.standin.count("/device_authorization"), 2)

    def test_a_token_that_cannot_be_saved_is_an_error(self):
        os.makedirs(self.sb.token_path("dev"))  # a directory where the token goes
        r = self.login()
        self.fails(r, 2, "logged in (sso-session 'dev'), but the token cannot be saved in %s"
                   % self.sb.token_path("dev"), "check that directory's owner and free space")

    def test_without_a_terminal_it_says_it_on_stderr(self):
        self.standin.auto_approve = 1
        r = self.sb.call("--login", "--profile", "legacy", "--no-browser")
        self.assertEqual((r.rc, r.out), (0, ""))
        self.assertTrue(r.err.splitlines()[-1].startswith(
            "aws-sso-credential-process: logged in to start URL %s; valid until " % START_URL), r.err)

    def test_failures(self):
        self.fails(self.sb.call("--login", "--profile", "sess", "-n"), 2, "--login logs in: it cannot be --noninteractive")
        self.fails(self.sb.call("--login", "--start-url", "https://x/start\n[profile evil]", "--region", "us-east-1"),
                   2, "start URL 'https://x/start [profile evil]' (from --start-url) has spaces or control characters")
        self.fails(self.sb.call("--login", "--profile", "nosuch"), 2, "profile 'nosuch' not found")
        self.fails(self.sb.call("--login", "--sso-session", "dev", "--output", "json"), 2,
                   "--output goes only with --list, not with --login")
        self.standin.auto_approve = None
        self.standin.fail("/device_authorization", status=500, times=3)
        self.fails(self.sb.call("--login", "--profile", "sess", "--use-device-code", "--no-browser",
                                terminal=Terminal()), 5, "StartDeviceAuthorization")

    def test_no_account_or_role_needed(self):
        self.sb.write_config(DEV_SESSION)
        self.standin.auto_approve = 1
        r = self.sb.call("--login", "--sso-session", "dev", "--use-device-code", "--no-browser", terminal=Terminal())
        self.assertEqual((r.rc, r.out, r.err), (0, "", ""))
        self.assertTrue(os.path.exists(self.sb.token_path("dev")))


class TestLogout(SandboxTest):
    """--logout: the portal told, this login's files removed, others left."""

    def test_logs_out_and_removes_this_logins_files_only(self):
        token = self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess"))
        self.ok(self.sb.call("--profile", "sess", "--account-id", "444455556666", "--role-name", "ReadOnly"))
        self.sb.write_token(START_URL)  # the legacy login, another one
        self.ok(self.sb.call("--profile", "legacy"))
        cache = self.sb.path(".aws", "cli", "cache")
        with open(os.path.join(cache, "assume-role.json"), "w") as f:
            json.dump({"ProviderType": "assume-role"}, f)
        r = self.sb.call("--logout", "--profile", "sess")
        self.assertEqual((r.rc, r.out), (0, ""), r)
        self.assertEqual(r.err.splitlines()[0], "aws-sso-credential-process: logged out of sso-session 'dev' at the "
                                                "SSO portal")
        self.assertIn("to log in again: ", r.err.splitlines()[-1])
        self.assertTrue(r.err.splitlines()[-1].endswith(SESS_ADVICE), r.err)
        self.assertEqual(sorted(r.err.splitlines()[1:-1]), sorted(
            ["aws-sso-credential-process: removed %s" % p for p in (
                self.sb.token_path("dev"), self.sb.role_path(session="dev"),
                self.sb.role_path(session="dev", account="444455556666", role="ReadOnly"))]))
        self.assertNotIn(token, self.standin.tokens, "the portal no longer accepts it")
        self.assertEqual([n for n in self.sb.files(".aws", "cli", "cache") if not n.endswith(".lock")],
                         sorted(["assume-role.json", os.path.basename(self.sb.role_path(start_url=START_URL))]))
        self.assertTrue(os.path.exists(self.sb.token_path(START_URL)), "the other login stays")
        self.fails(self.sb.call("--profile", "sess"), 1, "not logged in")

    def test_roles_named_only_in_credential_process_lines_are_found(self):
        # The layout --list --output config writes: account and role as flags.
        self.sb.write_token("dev", ttl=-60)  # expired: no listing
        path = self.sb.role_path(session="dev", account="444455556666", role="Ops")
        self.sb.write_role_cache(path, ttl=3600)
        self.sb.write_config(BASE_CONFIG + "\n[profile ops]\ncredential_process = %s\n"
                             % self.sb.credential_process_line("--profile", "sess", "--account-id=444455556666",
                                                              "--role-name", "Ops"))
        r = self.sb.call("--logout", "--profile", "sess")
        self.assertEqual(r.rc, 0, r)
        self.assertFalse(os.path.exists(path))

    def test_roles_the_portal_lists_are_found_and_a_failed_listing_is_said(self):
        self.sb.write_token("dev")
        path = self.sb.role_path(session="dev", account="444455556666", role="ReadOnly")  # no profile names it
        self.sb.write_role_cache(path, ttl=3600)
        self.standin.fail("/assignment/roles", status=429, times=8)
        r = self.sb.call("--logout", "--profile", "sess")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("warning: listing the roles of this login failed", r.err)
        self.assertTrue(os.path.exists(path), "not found without the listing")
        self.sb.write_token("dev")
        r = self.sb.call("--logout", "--profile", "sess")
        self.assertEqual(r.rc, 0, r)
        self.assertFalse(os.path.exists(path), "found through ListAccounts and ListAccountRoles")

    def test_only_the_files_it_can_name_are_read(self):
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess"))
        cache = self.sb.path(".aws", "cli", "cache")
        for i in range(200):  # other tools' entries, and other logins' SSO entries: never opened
            self.sb.write_role_cache(os.path.join(cache, "unrelated-%d.json" % i), ttl=3600)
        kept = self.sb.role_path(session="other", account="444455556666", role="Admin")
        self.sb.write_role_cache(kept, ttl=3600)
        read = []
        real = acp.read_regular_file
        with mock.patch.object(acp, "read_regular_file", side_effect=lambda p, n: read.append(p) or real(p, n)):
            r = self.sb.call("--logout", "--profile", "sess")
        self.assertEqual(r.rc, 0, r)
        self.assertFalse([p for p in read if "unrelated" in p or p == kept], "read files it cannot name")
        self.assertEqual(len([n for n in os.listdir(cache) if n.endswith(".json")]), 201)
        self.assertFalse(os.path.exists(self.sb.role_path(session="dev")))

    def test_an_expired_refreshable_login_is_refreshed_to_be_logged_out(self):
        self.sb.refreshable_token(ttl=-60)
        r = self.sb.call("--logout", "--profile", "sess")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        self.assertIn("logged out of sso-session 'dev' at the SSO portal", r.err)
        self.assertFalse(os.path.exists(self.sb.token_path("dev")))

    def test_a_file_that_cannot_be_removed_is_said_after_what_was_done(self):
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess"))
        real = os.unlink
        with mock.patch.object(os, "unlink", side_effect=lambda p, *a, **k: real(p) if p.endswith(".json") and
                               "/cli/" in p else (_ for _ in ()).throw(PermissionError(13, "Permission denied"))):
            r = self.sb.call("--logout", "--profile", "sess")
        self.assertEqual((r.rc, r.out), (2, ""), r)
        lines = r.err.splitlines()
        self.assertEqual(lines[0], "aws-sso-credential-process: logged out of sso-session 'dev' at the SSO portal")
        self.assertEqual(lines[1], "aws-sso-credential-process: removed %s" % self.sb.role_path(session="dev"))
        self.assertTrue(lines[2].startswith("aws-sso-credential-process: cannot remove %s: " % self.sb.token_path(
            "dev")) and "run this as its owner" in lines[2], lines)

    def test_a_login_the_portal_forgot_is_still_removed(self):
        self.sb.write_token("dev", register=False)
        r = self.sb.call("--logout", "--profile", "sess")
        self.assertEqual((r.rc, r.out), (0, ""), r)
        self.assertIn("the SSO portal no longer knew the login for sso-session 'dev'", r.err)
        self.assertFalse(os.path.exists(self.sb.token_path("dev")))

    def test_an_expired_login_is_removed_without_a_call(self):
        # The role credentials are found through the config and the flags alone.
        self.sb.write_token("dev", ttl=-60)
        for account, role in ((ACCOUNT, ROLE), ("444455556666", "Ops")):
            self.sb.write_role_cache(self.sb.role_path(session="dev", account=account, role=role), ttl=3600)
        r = self.sb.call("--logout", "--profile", "sess", "--account-id", "444455556666", "--role-name", "Ops")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("had expired (and could not be refreshed); nothing to tell the portal", r.err)
        self.assertEqual(self.standin.count(), 0)
        self.assertFalse(os.path.exists(self.sb.token_path("dev")))
        self.assertEqual([n for n in self.sb.files(".aws", "cli", "cache") if not n.endswith(".lock")], [])

    def test_nothing_to_remove(self):
        r = self.sb.call("--logout", "--sso-session", "dev")
        self.assertEqual((r.rc, r.out), (0, ""))
        self.assertEqual(r.err.splitlines(), ["aws-sso-credential-process: no cached login or role credentials for "
                                              "sso-session 'dev'", "aws-sso-credential-process: to log in again: "
                                              "%s %s --login --sso-session dev (or: aws sso login --sso-session dev)"
                                              % (os.path.basename(sys.executable), SCRIPT)])

    def test_the_portal_failing_is_exit_5_after_removing_locally(self):
        self.sb.write_token("dev")
        self.standin.fail("/logout", status=503, times=3)
        r = self.sb.call("--logout", "--profile", "sess")
        self.assertEqual((r.rc, r.out), (5, ""))
        self.assertIn("removed %s" % self.sb.token_path("dev"), r.err)
        self.assertTrue(r.err.splitlines()[-1].startswith(
            "aws-sso-credential-process: removed the login here, but telling the SSO portal failed"), r.err)
        self.assertFalse(os.path.exists(self.sb.token_path("dev")))
        self.assertNotIn("to log in again", r.err, "only when it all went well")

    def test_an_unreachable_portal_during_the_refresh_is_exit_5_too(self):
        self.sb.refreshable_token(ttl=-60)  # expired, but its refresh token keeps the session alive
        self.standin.fail("/token", status=503, times=10)
        r = self.sb.call("--logout", "--profile", "sess")
        self.assertEqual((r.rc, r.out), (5, ""), r)
        self.assertTrue(r.err.splitlines()[-1].endswith("the session stays valid at the portal until it reaches its "
                                                        "maximum duration"), r.err)
        self.assertNotIn("nothing to tell the portal", r.err)
        self.assertFalse(os.path.exists(self.sb.token_path("dev")))


class TestList(SandboxTest):
    """--list: every account and role the login reaches, every page."""

    def test_table(self):
        self.sb.write_token("dev")
        r = self.sb.call("--list", "--profile", "sess")
        self.assertEqual((r.rc, r.err), (0, ""), r)
        self.assertEqual(r.out, "ACCOUNT ID    ACCOUNT NAME  ROLE\n"
                                "111122223333  Production    Admin\n"
                                "111122223333  Production    ReadOnly\n"
                                "444455556666  Sandbox       Admin\n"
                                "444455556666  Sandbox       ReadOnly\n")
        self.assertEqual(self.standin.count("/assignment/accounts"), 2, "page by page (a page holds one here)")
        self.assertEqual(self.standin.count("/assignment/roles"), 4)

    def test_json(self):
        self.sb.write_token("dev")
        r = self.sb.call("--list", "--sso-session", "dev", "--output", "json")
        self.assertEqual(r.rc, 0, r)
        got = json.loads(r.out)
        self.assertEqual([(x["accountId"], x["roleName"]) for x in got], sorted(self.standin.roles))
        self.assertEqual(got[0], {"accountId": ACCOUNT, "accountName": "Production",
                                  "emailAddress": "aws+%s@example.com" % ACCOUNT, "roleName": "Admin"})

    def test_a_listing_that_never_ends_is_stopped(self):
        self.sb.write_token("dev")
        self.standin.endless_pages = True  # a fresh nextToken on every page
        for argv in (("--list",), ("--logout",)):
            with self.subTest(argv=argv):
                before = self.standin.count("/assignment/accounts")
                r = self.sb.call(*argv, "--profile", "sess")
                if argv == ("--list",):
                    self.fails(r, 5, "ListAccounts went on past 1000 pages; stopped")
                else:  # --logout says so, and logs out all the same
                    self.assertEqual(r.rc, 0, r)
                    self.assertIn("warning: listing the roles of this login failed (ListAccounts went on past "
                                  "1000 pages", r.err)
                self.assertEqual(self.standin.count("/assignment/accounts") - before, acp.LIST_MAX_PAGES)
                self.sb.write_token("dev")

    def test_a_throttled_listing_has_a_deadline(self):
        self.sb.write_token("dev")
        self.standin.endless_pages = True
        for _ in range(200):  # every page throttled 7 times before it comes
            self.standin.fail("/assignment/accounts", times=7, status=429)
            self.standin.fail("/assignment/accounts", times=1, status=200, raw=json.dumps(
                {"accountList": [], "nextToken": "p%d" % _}).encode())
        started = self.sb.clock.offset
        r = self.sb.call("--list", "--profile", "sess", env={"AWS_SSO_LIST_TIMEOUT": "60"})
        self.fails(r, 5, "listing the accounts and roles took longer than 60s (AWS_SSO_LIST_TIMEOUT)")
        self.assertLessEqual(self.sb.clock.offset - started, 60 + acp.HTTP_BACKOFF_CAP, "no sleep past the deadline")
        self.assertGreater(self.sb.clock.offset - started, 55)

    @needs_botocore
    def test_config_works_under_boto3_as_printed(self):
        self.sb.write_token("dev")
        self.standin.account_names["444455556666"] = "Sand box [test] = \"x\"; #1"
        self.standin.roles.add(("444455556666", "Ops;touch'pwned'$(id)"))  # what a hostile portal could list
        r = self.sb.call("--list", "--profile", "sess", "--output", "config")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("[profile Sand-box-test-x-1.Ops-touch-pwned-id]\ncredential_process = %s %s --profile sess "
                      "--account-id 444455556666 --role-name 'Ops;touch'\"'\"'pwned'\"'\"'$(id)'\n"
                      % (shlex.quote(sys.executable), shlex.quote(SCRIPT)), r.out)
        self.assertIn("\n[profile Production.ReadOnly]\ncredential_process = %s %s --profile sess --account-id "
                      "111122223333 --role-name ReadOnly\n" % (shlex.quote(sys.executable), shlex.quote(SCRIPT)),
                      r.out)
        self.assertIn("[profile Sand-box-test-x-1.Admin]", r.out)
        self.sb.write_config(BASE_CONFIG + r.out)
        got = self.sb.boto3("Production.ReadOnly", "Sand-box-test-x-1.Admin", "Sand-box-test-x-1.Ops-touch-pwned-id")
        self.assertEqual(got["Production.ReadOnly"]["account"], ACCOUNT)
        self.assertEqual(got["Sand-box-test-x-1.Admin"]["account"], "444455556666")
        self.assertEqual(sorted(c["accessKeyId"] for c in self.standin.issued), sorted(v["key"] for v in got.values()))
        self.assertEqual(self.standin.calls_to("/federation/credentials")[-1].query["role_name"],
                         "Ops;touch'pwned'$(id)", "the role name reached the portal intact")
        self.assertNotIn("pwned", os.listdir(self.sb.root))

    def test_names_stay_apart_and_plain(self):
        for account_name, role, name in [("Prod / EU", "Admin", "Prod-EU.Admin"),
                                         ("\u00c9t\u00e9 \u2603", "Admin", "Ete.Admin"),
                                         ("\u5e73\u6210", "Admin", "111111111111.Admin"),
                                         ("--", "Ad min", "111111111111.Ad-min")]:
            with self.subTest(account_name=account_name, role=role):
                self.assertEqual(acp.profile_name(account_name, "1" * 12, role), name)
        self.sb.write_token("dev")
        self.standin.account_names["444455556666"] = "Production"
        r = self.sb.call("--list", "--sso-session", "dev", "--output", "config")
        names = [l for l in r.out.splitlines() if l.startswith("[profile ")]
        self.assertEqual(len(set(names)), 4, names)
        self.assertIn("[profile Production-444455556666.Admin]", names)
        # roles that clean to one name (IAM allows +=,.@), and a name the config has already
        self.standin.roles |= {(ACCOUNT, "Admin@"), (ACCOUNT, "Data+Eng"), (ACCOUNT, "Data-Eng")}
        self.sb.write_config(BASE_CONFIG + "\n[profile Production-111122223333.Admin]\nregion = eu-west-1\n")
        r = self.sb.call("--list", "--sso-session", "dev", "--output", "config")
        names = [l for l in r.out.splitlines() if l.startswith("[profile ")]
        self.assertEqual(len(set(names)), len(names), names)
        self.assertIn("[profile Production-111122223333.Admin-2]", names)
        self.assertIn("[profile Production-111122223333.Data-Eng-2]", names)
        self.assertIn("# [profile Production-111122223333.Admin] is in %s already: keep one of the two"
                      % self.sb.path(".aws", "config"), r.out)
        configparser.ConfigParser().read_string(r.out)  # no duplicate section

    def test_config_lines_keep_the_flags_that_overrode_the_profile(self):
        self.sb.write_config(BASE_CONFIG + "\n[sso-session other]\nsso_start_url = %s\nsso_region = us-east-1\n"
                             % START_URL)
        self.sb.write_token("other")
        r = self.sb.call("--list", "--profile", "sess", "--sso-session", "other", "--output", "config")
        self.assertEqual(r.rc, 0, r)
        self.assertIn(" --profile sess --sso-session other --account-id ", r.out)

    def test_an_expired_login_is_refreshed_first(self):
        self.sb.refreshable_token(ttl=-60)
        r = self.sb.call("--list", "--profile", "sess", "--output", "json")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        self.assertEqual(len(json.loads(r.out)), 4)

    def test_throttling_is_waited_out(self):
        self.sb.write_token("dev")
        self.standin.fail("/assignment/roles", status=429, error="TooManyRequestsException", times=5)
        r = self.sb.call("--list", "--profile", "sess", "--output", "json")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(json.loads(r.out)), 4)

    def test_failures(self):
        self.fails(self.sb.call("--list", "--profile", "sess"), 1, "not logged in")
        self.sb.write_token("dev")
        self.standin.fail("/assignment/accounts", status=500, times=8)
        self.fails(self.sb.call("--list", "--profile", "sess"), 5, "ListAccounts failed")
        self.fails(self.sb.call("--list", "--profile", "sess", "--output", "yaml"), 2,
                   "--output must be one of table, json, config, not 'yaml'")
        self.standin.fail("/assignment/accounts", headers=[("Content-Type", "application/json")],
                          raw=b'{"accountList": [{"accountId": "12; rm -rf /"}]}')
        self.fails(self.sb.call("--list", "--profile", "sess"), 5, "malformed accountId")
        self.standin.fail("/assignment/accounts", headers=[("Content-Type", "application/json")],
                          raw=b'{"accountList": [], "nextToken": "same"}', times=2)
        self.fails(self.sb.call("--list", "--profile", "sess"), 5, "a bad or repeated nextToken")


class TestCheck(SandboxTest):
    """--check: a diagnosis with a verdict, and never a secret."""

    def check(self, *args, **kwargs):
        return self.sb.call("--check", *args, **kwargs)

    def test_all_well(self):
        token = self.sb.refreshable_token(ttl=3600)
        self.ok(self.sb.call("--profile", "sess"))
        self.sb.write_config(BASE_CONFIG + APP_PROFILE % self.sb.credential_process_line("--profile", "sess"))
        r = self.check("--profile", "sess", "--online")
        self.assertEqual((r.rc, r.err), (0, ""), r)
        for line in ["  account ID         111122223333 (sso_account_id in profile 'sess')",
                     "  start URL          %s (sso_start_url in sso-session 'dev')" % START_URL,
                     "  interactive login  false (default)", "  lock timeout       600s (default)",
                     "  FIPS endpoint      false (default)", "  CA bundle          - (not set)",
                     "  portal             %s (AWS_ENDPOINT_URL_SSO)" % self.standin.url,
                     "  state              ready"]:
            self.assertIn(line + "\n", r.out)
        where = self.check("--profile", "sess", "--interactive", env=dict(AWS_SSO_LOGIN_TIMEOUT="30",
                                                                          AWS_USE_FIPS_ENDPOINT=""))
        for line in ["  interactive login  true (--interactive)", "  login timeout      30s (AWS_SSO_LOGIN_TIMEOUT)",
                     "  FIPS endpoint      false (AWS_USE_FIPS_ENDPOINT)"]:
            self.assertIn(line + "\n", where.out)
        self.assertIn("  refreshable        yes, registration valid until", r.out)
        self.assertIn("  state              cached until", r.out)
        self.assertIn("  portal             accepts the login and grants the role\n", r.out)
        self.assertIn("credential_process lines that run aws-sso-credential-process: fine\n", r.out)
        self.assertTrue(r.out.endswith("verdict: ready\n"))
        for secret in [token, "refresh-1", "csecret"] + [v for c in self.standin.issued for v in c.values()
                                                        if isinstance(v, str)]:
            self.assertNotIn(secret, r.out)

    def test_the_sdk_trap_and_broken_lines(self):
        self.sb.write_token("dev")
        line = self.sb.credential_process_line("--profile", "sess")
        self.sb.write_config(BASE_CONFIG + "\n" + trap_profiles(line) + textwrap.dedent("""\
            [profile half-legacy]
            credential_process = {line}
            sso_start_url = {url}
            [profile gone]
            credential_process = /nonexistent/python3 /nonexistent/aws_sso_credential_process.py --profile sess
            [profile tilde]
            credential_process = ~/bin/aws-sso-credential-process --profile sess
            [profile typo]
            credential_process = {python} {script} --profile sesss
            [profile other-tool]
            credential_process = /nonexistent/other-tool
            [profile relative]
            credential_process = aws-sso-credential-process --profile sess
            [profile unsplittable]
            credential_process = {python} "{script} --profile sess
            [profile a-directory]
            credential_process = {python} {here}/aws_sso_credential_process.py --profile=sess
            [profile equals-typo]
            credential_process = {python} {script} --profile=nosuch
            """).format(here=os.path.join(self.sb.root, "dir"), line=line, url=START_URL, python=sys.executable, script=SCRIPT))
        r = self.check("--profile", "sess")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("dir/aws_sso_credential_process.py, which does not exist", r.out)
        os.makedirs(os.path.join(self.sb.root, "dir", "aws_sso_credential_process.py"))
        r = self.check("--profile", "sess")
        problems = [l for l in r.out.splitlines() if l.startswith("  - ")]
        self.assertEqual(len(problems), 11, problems)
        self.assertIn("dir/aws_sso_credential_process.py, which is not a file", r.out)
        self.assertIn("profile 'equals-typo': its credential_process reads --profile nosuch", r.out)
        self.assertIn("profile 'relative': its credential_process runs aws-sso-credential-process, not an absolute "
                      "path", r.out)
        self.assertIn("profile 'unsplittable': its credential_process cannot be split", r.out)
        self.assertIn("profile 'both' has credential_process and sso_account_id, sso_role_name, sso_session: "
                      "botocore (boto3, the AWS CLI), JS SDK v2 and Ruby use their own SSO and never run "
                      "credential_process, the Go SDKs fail, only JS SDK v3 runs it; move the sso_* keys to a "
                      "profile of their own", r.out)
        self.assertIn("profile 'both-legacy' has credential_process and sso_account_id, sso_region, sso_role_name, "
                      "sso_start_url: botocore (boto3, the AWS CLI), JS SDK v2, Ruby and the Go SDKs use their own "
                      "SSO", r.out)
        self.assertIn("profile 'half-legacy' has credential_process and sso_start_url: SDKs disagree", r.out)
        self.assertIn("runs /nonexistent/python3, which does not exist", r.out)
        self.assertIn("runs /nonexistent/aws_sso_credential_process.py, which does not exist", r.out)
        self.assertIn("profile 'tilde': its credential_process has ~ or $", r.out)
        self.assertIn("reads --profile sesss, which is not in", r.out)
        self.assertNotIn("other-tool", r.out)
        self.assertTrue(r.out.splitlines()[-1].startswith("verdict: NOT READY (exit 2): profile 'a-directory': "))
        self.assertEqual(r.err, "aws-sso-credential-process: %s\n" % r.out.splitlines()[-1].split(": ", 1)[1]
                         .split(": ", 1)[1])

    def test_login_states(self):
        cases = [("missing", None, 1, "none: not logged in", "not logged in"),
                 ("expired", lambda: self.sb.write_token("dev", ttl=-60), 1, "cannot be used: log in again",
                  "expired at"),
                 ("refreshable", lambda: self.sb.refreshable_token(ttl=-60), 0, "the next call refreshes it", None),
                 ("short", lambda: self.sb.write_token("dev", ttl=330), 0,
                  "usable for 5m, not refreshable: log in again soon", None)]
        for name, setup, code, state, why in cases:
            with self.subTest(name):
                if os.path.exists(self.sb.token_path("dev")):
                    os.remove(self.sb.token_path("dev"))
                if setup:
                    setup()
                r = self.check("--profile", "sess")
                self.assertEqual(r.rc, code, r)
                self.assertIn("  state              %s\n" % state, r.out)
                if why:
                    self.assertIn(why, r.out.splitlines()[-1])
        self.assertEqual(self.standin.count(), 0, "without --online, no call")

    def test_online_asks_with_a_live_token_the_next_call_will_refresh(self):
        self.sb.refreshable_token(ttl=300)
        r = self.check("--profile", "sess", "--online")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("  state              the next call refreshes it\n", r.out)
        self.assertIn("  portal             accepts the login and grants the role\n", r.out)
        self.assertEqual(self.standin.grants(), [], "--check refreshes nothing")

    def test_online_refusals(self):
        self.sb.write_token("dev")
        r = self.check("--profile", "sess", "--role-name", "Nope", "--online")
        self.assertEqual(r.rc, 4, r)
        self.assertIn("  portal             refused: no access to role Nope", r.out)
        self.sb.write_token("dev", register=False)
        self.assertEqual(self.check("--profile", "sess", "--online").rc, 1)
        self.sb.write_token("dev", ttl=-60)
        r = self.check("--profile", "sess", "--online")
        self.assertEqual(r.rc, 1)
        self.assertIn("  portal             not asked: the login has expired\n", r.out)

    def test_a_broken_configuration_is_shown_as_far_as_it_resolved(self):
        self.sb.write_config(BASE_CONFIG + "\n[profile half]\nsso_session = dev\nsso_account_id = 12\n")
        r = self.check("--profile", "half")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("  start URL          %s (sso_start_url in sso-session 'dev')\n" % START_URL, r.out)
        self.assertIn("  role name          - (not set)\n", r.out)
        self.assertIn("verdict: NOT READY (exit 2): missing role name", r.out)
        self.assertNotIn("login:", r.out)

    def test_the_profile_that_runs_credential_process_is_pointed_away(self):
        self.sb.write_config(BASE_CONFIG + APP_PROFILE % self.sb.credential_process_line("--profile", "sess"))
        r = self.check("--profile", "app")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("verdict: NOT READY (exit 2): profile 'app' is the one that runs credential_process; check "
                      "the profile with the sso_* keys, the one its line names\n", r.out)


# ==========================================================================
# Install and uninstall: the command on PATH, with its bytecode compiled
# ==========================================================================

class TestInstall(InstallHarness, SandboxTest):
    """--install writes a launcher and the script with its bytecode; the
    launcher runs it isolated (-I -S) from that bytecode."""

    slow = 1

    @needs_botocore
    def test_install_and_run_boto3_through_the_printed_line(self):
        self.use_prefix(os.path.join(self.sb.root, "my prefix"))  # a space: the printed line quotes it
        r = self.install(env={"PATH": "/usr/bin:/bin"})
        self.assertEqual(r.rc, 0, r)
        [line] = [l.strip() for l in r.out.splitlines() if l.strip().startswith("credential_process = ")]
        self.assertEqual(line, "credential_process = '%s' --profile NAME" % self.launcher)
        self.assertIn("is not on PATH; the line below works anyway", r.err)
        self.assertEqual(self.tree(), self.INSTALLED)
        self.assertEqual(stat.S_IMODE(os.stat(self.launcher).st_mode), 0o755)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.share, "aws_sso_credential_process.py")).st_mode),
                         0o644)
        with open(SCRIPT, "rb") as a, open(os.path.join(self.share, "aws_sso_credential_process.py"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertEqual(self.launch("--version").out, "aws-sso-credential-process %s\n" % acp.__version__)
        self.sb.write_token("dev")
        self.sb.write_config(BASE_CONFIG + "\n[profile app]\n" + line.replace("NAME", "sess") + "\n")
        got = self.sb.boto3("app")["app"]
        self.assertEqual([got["key"], got["account"]], [self.issued()["accessKeyId"], ACCOUNT])
        r = self.install(env={"PATH": os.path.dirname(self.launcher)})
        self.assertEqual(r.err, "", "no PATH note when the bin directory is on PATH")

    def test_the_bytecode_is_used_and_checked_by_hash(self):
        self.assertEqual(self.install().rc, 0)
        module = os.path.join(self.share, "aws_sso_credential_process.py")
        with open(importlib.util.cache_from_source(module), "rb") as f:
            flags = int.from_bytes(f.read(8)[4:8], "little")
        self.assertEqual(flags, 0b11, "a checked-hash pyc (PEP 552): valid whatever the file times")
        p = subprocess.run([sys.executable, "-I", "-S", "-X", "importtime", "-c",
                            "import sys; sys.path[:0] = [%r]; import aws_sso_credential_process" % self.share],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0)
        mtime = os.stat(importlib.util.cache_from_source(module)).st_mtime_ns
        self.assertEqual(self.launch("--version").rc, 0)
        self.assertEqual(os.stat(importlib.util.cache_from_source(module)).st_mtime_ns, mtime, "not recompiled")

    def test_upgrade_while_twenty_processes_call_it(self):
        self.assertEqual(self.install().rc, 0)
        self.sb.write_token("dev")
        self.ok(self.launch("--profile", "sess"))
        newer = os.path.join(self.sb.root, "newer", "aws_sso_credential_process.py")
        os.makedirs(os.path.dirname(newer))
        with open(SCRIPT) as f, open(newer, "w") as g:
            g.write(f.read().replace('__version__ = "%s"' % acp.__version__, '__version__ = "99.0.0"'))
        loop = "for i in 1 2 3 4 5 6 7 8; do %s --profile sess > /dev/null || exit 1; done" % shlex.quote(self.launcher)
        callers = [subprocess.Popen(["sh", "-c", loop], env=self.sb.environ(), start_new_session=True)
                   for _ in range(20)]
        for _ in range(3):  # upgrade, and upgrade again, while they run
            self.assertEqual(self.install(script=newer).rc, 0)
        self.assertEqual([p.wait(120) for p in callers], [0] * 20, "a caller failed during the upgrade")
        self.assertEqual(self.launch("--version").out, "aws-sso-credential-process 99.0.0\n")
        self.assertEqual([n for n in self.tree() if n.endswith(".tmp")], [], "no staged file left")

    def test_uninstall_leaves_nothing_behind(self):
        before = self.tree()
        self.assertEqual(self.install().rc, 0)
        r = self.uninstall(self.launcher)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("removed:", r.out)
        self.assertEqual(self.tree(), before, "the directories --install made are gone too")
        self.assertFalse(os.path.exists(self.prefix), "the prefix it made, too")
        r = self.uninstall()
        self.assertEqual((r.rc, r.out),
                         (0, "nothing of aws-sso-credential-process was installed under %s\n" % self.prefix))

    def test_a_hash_bang_launcher_runs_the_bytecode_directly(self):
        self.assertEqual(self.install().rc, 0)
        with open(self.launcher) as f:
            first = f.readline()
        self.assertEqual(first, "#!%s -IS\n" % sys.executable, "the interpreter's path fits a #! line")
        self.sb.write_token("dev")
        self.ok(self.launch("--profile", "sess"))
        module = os.path.join(self.share, "aws_sso_credential_process.py")
        with open(module, "w") as f:  # the bytecode is the program: the source is not even read
            f.write("raise SystemExit('the source was run')\n")
        self.ok(self.launch("--profile", "sess"))
        pyc = importlib.util.cache_from_source(module)
        with open(pyc, "r+b") as f:  # bytecode of another Python: the source is compiled instead
            f.write(b"\0\0\0\0")
        r = self.launch("--profile", "sess")
        self.assertEqual((r.rc, r.err), (1, "the source was run\n"))

    def test_a_symlinked_directory_it_did_not_make_is_never_written_through(self):
        # ~/.local/share/aws-sso-credential-process pointing at a checkout, nothing installed
        checkout = os.path.join(self.sb.root, "checkout")
        os.makedirs(checkout)
        shutil.copy(SCRIPT, checkout)
        os.makedirs(os.path.dirname(self.share))
        os.symlink(checkout, self.share)
        r = self.uninstall()
        self.assertEqual((r.rc, r.out),
                         (0, "nothing of aws-sso-credential-process was installed under %s\n" % self.prefix))
        self.assertEqual(os.listdir(checkout), ["aws_sso_credential_process.py"], "the checkout is untouched")
        self.fails(self.install(), 2, "%s is a symbolic link, and --install writes only into a directory of its "
                                      "own" % self.share)
        self.assertEqual(os.listdir(checkout), ["aws_sso_credential_process.py"])
        self.assertEqual(self.tree(), ["share", "share/aws-sso-credential-process"], "nothing written")

    def test_a_file_it_did_not_write_is_neither_replaced_nor_removed(self):
        os.makedirs(self.share)
        mine = os.path.join(self.share, "aws_sso_credential_process.py")
        write(mine, "# my own checkout\n")
        self.fails(self.install(), 2, "%s exists and --install did not write it" % mine)
        os.remove(mine)
        self.assertEqual(self.install().rc, 0)
        with open(mine, "a") as f:  # edited after the install
            f.write("# a local change\n")
        r = self.launch("--uninstall", "--prefix", self.prefix)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("kept %s: it changed since --install wrote it\n" % mine, r.out)
        self.assertEqual(self.tree(), ["share", "share/aws-sso-credential-process",
                                       "share/aws-sso-credential-process/aws_sso_credential_process.py"])

    def test_an_install_killed_at_any_rename_leaves_nothing_the_next_run_cannot_clear(self):
        self.assert_killed_at_every_rename(upgrade=False)

    def test_an_upgrade_killed_at_any_rename_leaves_nothing_the_next_run_cannot_clear(self):
        self.assert_killed_at_every_rename(upgrade=True)

    def test_a_command_that_is_not_ours_is_never_replaced(self):
        # pip install --user aws-sso-credential-process (the PyPI tool) puts its own command there
        os.makedirs(os.path.dirname(self.launcher))
        write(self.launcher, "#!/usr/bin/python3\n# some other command\n")
        self.fails(self.install(), 2, "%s exists and --install did not write it; remove or rename it, or choose "
                                      "another --prefix" % self.launcher)
        self.assertEqual(self.tree(), ["bin", "bin/aws-sso-credential-process"], "nothing written")

    def test_the_original_tool_is_recognised_and_the_way_out_named(self):
        os.makedirs(os.path.dirname(self.launcher))
        with open(self.launcher, "w") as f:  # pip install --user aws-sso-credential-process
            f.write(self.ORIGINAL % "/usr/bin/python3")
        self.fails(self.install(), 2, "is the original aws-sso-credential-process (PyPI 0.x, installed with pip)",
                   "python3 -m pip uninstall aws-sso-credential-process",
                   "flags, AWS_SSO_* variables and sso_interactive_auth work unchanged")
        os.remove(self.launcher)
        venv_bin = os.path.join(self.sb.home, ".local", "pipx", "venvs", "aws-sso-credential-process", "bin")
        os.makedirs(venv_bin)
        with open(os.path.join(venv_bin, "aws-sso-credential-process"), "w") as f:
            f.write(self.ORIGINAL % os.path.join(venv_bin, "python"))
        os.symlink(os.path.join(venv_bin, "aws-sso-credential-process"), self.launcher)  # as pipx links it
        self.fails(self.install(), 2, "installed with pipx", "run `pipx uninstall aws-sso-credential-process`, "
                                                              "then --install again")
        self.assertEqual(self.tree(), ["bin", "bin/aws-sso-credential-process"], "nothing written")

    def test_uninstall_leaves_a_launcher_that_is_not_ours(self):
        os.makedirs(os.path.dirname(self.launcher))
        write(self.launcher, "#!/bin/sh\necho someone else's\n")
        self.assertEqual(self.uninstall().rc, 0)
        self.assertTrue(os.path.exists(self.launcher))

    def test_interpreter_paths_with_spaces_long_ones_and_ones_that_go(self):
        deep = os.path.join(self.sb.root, "a dir with spaces", *(["x" * 40] * 6))
        os.makedirs(deep)
        python = os.path.join(deep, "python3")
        os.symlink(sys.executable, python)
        self.assertGreater(len(python), 256, "longer than any #! line may be")
        self.assertEqual(self.install(python=python).rc, 0)
        self.sb.write_token("dev")
        self.ok(self.launch("--profile", "sess"))
        os.remove(python)  # the interpreter goes away (a virtualenv deleted, say)
        r = self.launch("--profile", "sess")
        self.assertEqual((r.rc, r.out), (2, ""))
        self.assertEqual(r.err, "aws-sso-credential-process: %s, the Python this was installed with, is gone; "
                                "install again with another: python3 \"%s/aws_sso_credential_process.py\" --install\n"
                         % (python, self.share))
        r = subprocess.run(["sh", "-c", "python3 \"%s/aws_sso_credential_process.py\" --install --prefix %s"
                            % (self.share, shlex.quote(self.prefix))], env=self.sb.environ(), capture_output=True)
        self.assertEqual(r.returncode, 0, r)
        self.ok(self.launch("--profile", "sess"))  # the command the message names mends it

    def test_a_hash_bang_interpreter_that_goes_is_named_by_check(self):
        python = os.path.join(self.sb.root, "py", "python3")  # short: the launcher is a #! line, no sh
        os.makedirs(os.path.dirname(python))
        os.symlink(sys.executable, python)
        self.assertEqual(self.install(python=python).rc, 0)
        self.assertTrue(read(self.launcher).startswith("#!%s " % python) or read(self.launcher).startswith(
            "#!%s\n" % python), read(self.launcher)[:200])
        self.sb.write_config(BASE_CONFIG + "[profile my-app]\ncredential_process = %s --profile sess\n"
                             % self.launcher)
        os.remove(python)
        r = subprocess.run(["sh", "-c", shlex.quote(self.launcher) + " --profile sess"], env=self.sb.environ(),
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 127, "the kernel finds no interpreter: reported as the command not found")
        r = self.sb.call("--check", "--profile", "sess")
        self.assertIn("whose Python %s is gone: install again with another, python3 %s --install"
                      % (python, os.path.join(self.share, "aws_sso_credential_process.py")), r.out)

    def test_a_virtualenv_interpreter_and_the_default_prefix(self):
        env_dir = os.path.join(self.sb.root, "my venv")
        venv.create(env_dir, with_pip=False, symlinks=True)
        python = os.path.join(env_dir, "bin", "python")
        self.use_prefix(os.path.join(self.sb.home, ".local"))
        p = subprocess.run([python, SCRIPT, "--install"], env=self.sb.environ(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, start_new_session=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("credential_process = %s --profile NAME\n" % self.launcher, p.stdout.decode())
        self.assertIn("python='%s'" % python, read(self.launcher), "the virtualenv's own path, not the one it links to")
        self.sb.write_token("dev")
        self.ok(self.launch("--profile", "sess"))
        r = self.launch("--uninstall")
        self.assertEqual((r.rc, r.err), (0, ""))
        self.assertEqual(self.tree(), [], "~/.local and all it made there are gone")

    def test_help_shows_the_installed_command(self):
        self.assertEqual(self.install().rc, 0)
        r = self.launch("--help")
        self.assertIn("Usage: %s [--profile NAME]" % self.launcher, r.out)
        self.assertIn("credential_process = %s --profile my-sso\n" % self.launcher, r.out)
        self.assertIn("Log in with `%s --login --profile my-sso`" % self.launcher, r.out)
        on_path = self.launch("--help", env={"PATH": os.path.dirname(self.launcher) + ":/usr/bin:/bin"})
        self.assertIn("Usage: aws-sso-credential-process [--profile NAME]", on_path.out)

    def test_list_from_the_installed_command_prints_lines_that_run_it(self):
        self.assertEqual(self.install().rc, 0)
        self.sb.write_token(START_URL)
        r = self.launch("--list", "--start-url", START_URL, "--region", "us-east-1", "--output", "config")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("\ncredential_process = %s --start-url %s --region us-east-1 --account-id 111122223333 "
                      "--role-name Admin\n" % (self.launcher, START_URL), r.out)
        self.sb.write_config(BASE_CONFIG + r.out)
        self.ok(self.launch(*shlex.split(r.out.split("credential_process = ")[1].splitlines()[0])[1:]))

    def test_a_read_only_install_run_by_another_user(self):
        # A container image: installed as root, run as nobody from a read-only filesystem.
        if os.geteuid() != 0 or not shutil.which("setpriv") or subprocess.run(
                ["unshare", "-m", "true"], stderr=subprocess.DEVNULL).returncode:
            self.skipTest("needs root, setpriv and unshare -m")
        if not os.access("/usr/bin/python3", os.X_OK):
            self.skipTest("needs a system /usr/bin/python3 that nobody may run")
        self.assertEqual(self.install(python="/usr/bin/python3").rc, 0)
        self.sb.write_token("dev")
        subprocess.run(["chown", "-R", "nobody", self.sb.home], check=True)
        os.chmod(self.sb.root, 0o755)
        before = self.tree()
        script = ("mount --bind %s %s && mount -o remount,ro,bind %s && setpriv --reuid=nobody --regid=nogroup "
                  "--clear-groups %s --profile sess" % ((shlex.quote(self.prefix),) * 3 + (shlex.quote(self.launcher),)))
        p = subprocess.run(["unshare", "-m", "sh", "-c", script], env=self.sb.environ(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, start_new_session=True)
        self.ok(Result(p.returncode, p.stdout.decode(), p.stderr.decode()))
        self.assertEqual(self.tree(), before, "nothing written to the install")

    def test_bad_uses(self):
        self.fails(self.sb.call("--install", "--profile", "x"), 2, "--install takes only --prefix, not --profile")
        self.fails(self.sb.call("--uninstall", "--debug"), 2, "--uninstall takes only --prefix, not --debug")
        self.fails(self.sb.call("--install", "-n"), 2, "--install takes only --prefix, not -n")
        self.fails(self.sb.call("--install", "--uninstall"), 2, "--install and --uninstall cannot be used together")
        self.fails(self.sb.call("--prefix", "/tmp"), 2,
                   "--prefix goes only with --install or --uninstall, not with the credential call")
        blocked = os.path.join(self.sb.root, "a-file")
        write(blocked, "not a directory")
        self.use_prefix(blocked)
        self.fails(self.install(), 2, "cannot install into %s" % blocked, "choose another --prefix")


# ==========================================================================
# The credentials endpoint: --exec and --serve
# ==========================================================================

class TestEndpoint(InProcessEndpoint, SandboxTest):
    """The endpoint itself, in-process: who it answers, and what."""

    def test_an_sdk_gets_the_credentials_once_fetched(self):
        self.sb.write_token("dev")
        ep = self.serve()
        self.assertRegex(ep.url, r"^http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]{43}$")
        self.assertEqual(len(ep.token), 43, "256 random bits")
        status, doc, _ = self.ask(ep)
        self.assertEqual(status, 200)
        issued = self.issued()
        self.assertEqual(doc, {"AccessKeyId": issued["accessKeyId"], "SecretAccessKey": issued["secretAccessKey"],
                               "Token": issued["sessionToken"], "AccountId": ACCOUNT,
                               "Expiration": acp.format_time(issued["expiration"] // 1000)})
        self.assertEqual(self.ask(ep)[1], doc, "the second from the shared role cache")
        self.assertEqual(self.standin.count("/federation/credentials"), 1)
        with open(self.sb.role_path(session="dev")) as f:
            self.assertEqual(json.load(f)["Credentials"]["AccessKeyId"], doc["AccessKeyId"], "shared with the CLI")

    def test_a_unix_socket_is_closed_to_others_from_the_moment_it_exists(self):
        directory = os.path.join(self.sb.root, "run")
        os.mkdir(directory, 0o700)
        path, old = os.path.join(directory, "aws.sock"), os.umask(0o022)
        try:
            ep = self.serve(unix_path=path)
        finally:
            os.umask(old)
        self.assertEqual(ep.server.address, path)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, "not left to the umask")
        self.assertEqual(os.umask(old), old, "the umask is given back")
        status, doc, _ = http_get(path, "/", [("Host", "localhost")])
        self.assertEqual((status, doc["Code"]), (401, "LoginRequired"), "it answers at once: no login here")
        with self.assertRaisesRegex(OSError, "in use"):  # something put there meanwhile stays
            acp.Server(lambda *a: None, print, unix_path=path)
        self.assertEqual(os.listdir(directory), ["aws.sock"])

    def test_everything_but_a_credentials_request_is_refused_saying_nothing_secret(self):
        self.sb.write_token("dev")
        ep = self.serve()
        good = [("Host", ep.host), ("Authorization", ep.token)]
        port = ep.server.address[1]
        for what, kwargs, status, code in [
                ("no token", dict(headers=[("Host", ep.host)]), 401, "Unauthorized"),
                ("a wrong token", dict(headers=[("Host", ep.host), ("Authorization", ep.token[:-1] + "x")]), 401,
                 "Unauthorized"),
                ("a Bearer token", dict(headers=[("Host", ep.host), ("Authorization", "Bearer " + ep.token)]), 401,
                 "Unauthorized"),
                ("another path", dict(target="/latest/meta-data"), 404, "NotFound"),
                ("the path and more", dict(target=ep.path + "x"), 404, "NotFound"),
                ("a name for Host (DNS rebinding)", dict(headers=[("Host", "evil.example:%d" % port)] + good[1:]),
                 403, "Forbidden"),
                ("localhost for Host", dict(headers=[("Host", "localhost:%d" % port)] + good[1:]), 403, "Forbidden"),
                ("another port", dict(headers=[("Host", "127.0.0.1:%d" % (port + 1))] + good[1:]), 403,
                 "Forbidden"),
                ("no Host", dict(headers=good[1:]), 403, "Forbidden"),
                ("Host twice", dict(headers=good + [("Host", ep.host)]), 403, "Forbidden"),
                ("a web page (Origin)", dict(headers=good + [("Origin", "https://evil.example")]), 403, "Forbidden"),
                ("a web page (Sec-Fetch-Mode)", dict(headers=good + [("Sec-Fetch-Mode", "no-cors")]), 403,
                 "Forbidden"),
                ("POST", dict(method="POST", headers=good + [("Content-Length", "0")]), 405, "MethodNotAllowed"),
                ("PUT", dict(method="PUT"), 405, "MethodNotAllowed"),
                ("a body", dict(headers=good + [("Content-Length", "5")], body=b"hello"), 400, "BadRequest"),
                ("chunked", dict(headers=good + [("Transfer-Encoding", "chunked")]), 400, "BadRequest")]:
            with self.subTest(what):
                got, doc, answer = self.ask(ep, **kwargs)
                self.assertEqual((got, doc and doc["Code"]), (status, code), answer)
                self.assertNotIn(ep.token, answer)
                self.assertNotIn(ep.path, answer)
        for what, raw in [("garbage", b"\x00\x01garbage\r\n\r\n"), ("no version", b"GET /\r\n\r\n"),
                          ("a header without a colon", ("GET %s HTTP/1.1\r\nHost %s\r\n\r\n" % (
                              ep.path, ep.host)).encode())]:
            with self.subTest(what):
                self.assertEqual(self.ask(ep, raw=raw)[0], 400)
        self.assertEqual(self.ask(ep, raw=b"GET / HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 20000 + b"\r\n\r\n")[0], None,
                         "a head over 16 KiB: no answer")
        self.assertEqual(self.standin.count("/federation/credentials"), 0, "none of them reached the portal")

    def test_slow_and_many_clients_do_not_hold_up_a_fetch(self):
        self.sb.write_token("dev")
        ep = self.serve()
        idle = [socket.create_connection(ep.server.address[:2]) for _ in range(acp.SERVER_MAX_CONNECTIONS + 5)]
        dripping = socket.create_connection(ep.server.address[:2])
        dripping.sendall(b"GET ")
        results = []

        def client():
            results.append(self.ask(ep)[0])
        threads = [threading.Thread(target=client) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for sock in idle + [dripping]:
            sock.close()
        self.assertEqual(results, [200] * 40)
        self.assertEqual(self.standin.count("/federation/credentials"), 1, "one fetch for all of them")

    def test_no_login_is_said_at_once(self):
        ep = self.serve()
        status, doc, _ = self.ask(ep)
        self.assertEqual((status, doc["Code"]), (401, "LoginRequired"))
        self.assertIn("aws-sso-credential-process: not logged in", doc["Message"])
        self.assertIn("aws sso login --sso-session dev", doc["Message"])
        self.assertEqual(self.sb.clock.sleeps, [], "no wait")
        self.ask(ep)
        said = self.ctx.stderr.getvalue().splitlines()
        self.assertEqual(len(said), 1, "said where the user sees it (some SDKs show no message), once")
        self.assertIn("the credentials endpoint answered an SDK: not logged in", said[0])

    def test_an_interactive_endpoint_logs_in_once_in_the_background(self):
        self.standin.auto_approve = None  # a person approves when the test says so
        ep = self.serve(interactive=True)
        answers = [self.ask(ep) for _ in range(5)]
        self.assertEqual({a[0] for a in answers}, {401})
        self.assertIn("logging in now on the terminal where aws-sso-credential-process runs", answers[0][1]["Message"])
        deadline = time.monotonic() + 20
        while self.standin.count("/device_authorization") < 1:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        with self.standin.lock:
            for device in self.standin.devices.values():
                device["status"] = "approved"
        while self.ask(ep)[0] != 200:
            self.assertLess(time.monotonic(), deadline, "the login in the background never finished: %s"
                            % self.ctx.stderr.getvalue())
            time.sleep(0.1)
        self.assertEqual(self.standin.count("/device_authorization"), 1, "one login for every request")

    def test_portal_failures_and_refreshes_go_through_the_usual_path(self):
        self.sb.refreshable_token(ttl=-60)  # expired, refreshable
        ep = self.serve()
        self.assertEqual(self.ask(ep)[0], 200)
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        os.remove(self.sb.role_path(session="dev"))
        self.standin.fail("/federation/credentials", status=500, times=3)
        status, doc, _ = self.ask(ep)
        self.assertEqual((status, doc["Code"]), (502, "ServiceError"))

    def test_credentials_near_their_end_are_fetched_again(self):
        self.sb.write_token("dev")
        self.sb.write_role_cache(self.sb.role_path(session="dev"), ttl=14 * 60)  # inside botocore's window
        ep = self.serve()
        status, doc, _ = self.ask(ep)
        self.assertEqual(status, 200)
        self.assertNotEqual(doc["AccessKeyId"], "ASIACACHED")
        self.assertGreater(acp.parse_time(doc["Expiration"]) - self.sb.clock.now(), 15 * 60)


class TestExec(ExecHarness, SandboxTest):
    """--exec -- CMD, as a real process."""

    slow = 1

    def test_the_command_gets_fresh_credentials_and_a_clean_environment(self):
        self.sb.write_token("dev")
        with open(self.sb.path(".aws", "config"), "a") as f:
            f.write("region = eu-west-3\n")  # the [profile legacy] section ends the base config
        r = self.exec_(sys.executable, "-c", FETCH, "7", args=("--profile", "legacy"),
                       env={"AWS_PROFILE": "other", "AWS_DEFAULT_PROFILE": "other", "AWS_ACCESS_KEY_ID": "AKIA",
                            "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t",
                            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x"})
        self.sb.write_token(START_URL)
        self.assertEqual(r.rc, 1, "the login is checked before the command runs")
        self.assertEqual(r.out, "")
        r = self.exec_(sys.executable, "-c", FETCH, "7", args=("--profile", "legacy"),
                       env={"AWS_PROFILE": "other", "AWS_DEFAULT_PROFILE": "other", "AWS_ACCESS_KEY_ID": "AKIA",
                            "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t",
                            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x"})
        self.assertEqual(r.rc, 7, "the command's own exit status")
        got = self.fetched(r)
        self.assertEqual((got["status"], got["doc"]["AccessKeyId"]), (200, self.issued()["accessKeyId"]))
        env = got["env"]
        for gone in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                     "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
            self.assertNotIn(gone, env)
        self.assertEqual((env["AWS_REGION"], env["AWS_DEFAULT_REGION"]), ("eu-west-3", "eu-west-3"))
        self.assertRegex(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], r"^http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]{43}$")
        self.assertNotIn("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", env, "the variable only (JS v3 warns with both)")
        self.assertEqual(env["AWS_SSO_CREDENTIAL_PROCESS_EXEC"],
                         env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].split("/")[2])
        self.assertFalse(any(env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] in a for a in got["argv"]), "not in argv")
        port = int(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].split(":")[2].split("/")[0])
        deadline = time.monotonic() + 10
        while True:  # the endpoint ends with the command, and takes the token file with it
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                break
            self.assertLess(time.monotonic(), deadline, "still serving after the command ended")
            time.sleep(0.1)

    def test_the_region_already_set_stays(self):
        self.sb.write_token("dev")
        r = self.exec_(sys.executable, "-c", FETCH, env={"AWS_REGION": "ap-south-1"})
        env = self.fetched(r)["env"]
        self.assertEqual((env["AWS_REGION"], env.get("AWS_DEFAULT_REGION")), ("ap-south-1", None))

    def test_the_token_is_in_no_file(self):
        self.sb.write_token("dev")
        before = set(os.listdir(tempfile.gettempdir()))
        r = self.exec_("sh", "-c", 'grep -rls "$AWS_CONTAINER_AUTHORIZATION_TOKEN" "$HOME" %s; true'
                       % shlex.quote(tempfile.gettempdir()))
        self.assertEqual((r.rc, r.out), (0, ""), "no file holds the token")
        self.assertEqual({n for n in set(os.listdir(tempfile.gettempdir())) - before
                          if n.startswith("aws-sso-credential-process")}, set(), "nothing left behind")

    def test_a_command_killed_by_a_signal_is_reported_as_a_shell_does(self):
        self.sb.write_token("dev")
        p = subprocess.run(["sh", "-c", '%s %s --exec --profile sess -- sh -c \'kill -TERM $$\'; echo "$?"'
                            % (shlex.quote(sys.executable), shlex.quote(SCRIPT))], env=self.sb.environ(),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.stdout, "143\n", p)

    def test_every_signal_reaches_the_command(self):
        self.sb.write_token("dev")
        names = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")
        log = os.path.join(self.sb.root, "signals")
        child = SIGNAL_RECORDER % (names, log, names, log)
        proc = self.sb.start("--exec", "--profile", "sess", "--", sys.executable, "-c", child)
        deadline = time.monotonic() + 30
        while not os.path.exists(log + ".ready"):
            self.assertLess(time.monotonic(), deadline, self.sb.finish(proc) if proc.poll() is not None else "")
            time.sleep(0.05)
        for name in names:
            os.kill(proc.pid, getattr(signal, name))
            time.sleep(0.1)
        r = self.sb.finish(proc)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(read(log).split(), list(names))

    def test_nesting_a_missing_command_and_no_login(self):
        self.sb.write_token("dev")
        self.fails(self.exec_("true", env={"AWS_SSO_CREDENTIAL_PROCESS_EXEC": "127.0.0.1:1234"}), 2,
                   "already inside an --exec (AWS_SSO_CREDENTIAL_PROCESS_EXEC is set, to its endpoint "
                   "127.0.0.1:1234); unset it to nest another")
        self.fails(self.exec_("no-such-command-here"), 127, "no-such-command-here: command not found")
        self.fails(self.exec_(self.sb.path(".aws", "config")), 126, "cannot be run")
        self.fails(self.sb.run("--exec", "--profile", "sess"), 2, "--exec needs the command to run, after --")
        self.fails(self.sb.run("--exec", "--profile", "sess", "--upstream", "unix:/x", "--", "true"), 2,
                   "--upstream takes its credentials from the socket; --profile go with a login")
        os.remove(self.sb.token_path("dev"))
        os.remove(self.sb.role_path(session="dev"))
        marker = os.path.join(self.sb.root, "ran")
        self.fails(self.exec_("touch", marker), 1, "not logged in")
        self.assertFalse(os.path.exists(marker), "the command never ran")

    def test_a_default_profile_with_credentials_is_pointed_out(self):
        self.sb.write_token("dev")
        with open(self.sb.path(".aws", "config"), "a") as f:
            f.write("\n[default]\nsso_session = dev\nsso_account_id = 111122223333\nsso_role_name = Admin\n")
        r = self.exec_("true")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("note: [default] has credentials (sso_account_id, sso_role_name, sso_session in %s): SDKs "
                      "other than JS v2 use them before the endpoint; move them to a named profile"
                      % self.sb.path(".aws", "config"), r.err)

    def test_a_pipeline_ends_when_the_command_does(self):
        self.sb.write_token("dev")
        started = time.monotonic()
        p = subprocess.run(["sh", "-c", "%s %s --exec --profile sess -- echo done | cat"
                            % (shlex.quote(sys.executable), shlex.quote(SCRIPT))], env=self.sb.environ(),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.stdout, "done\n")
        self.assertLess(time.monotonic() - started, 30, "the endpoint's process held the pipe")


class TestServe(Serving, SandboxTest):
    """--serve, as a real process: on 127.0.0.1, on a Unix socket, forwarded."""

    slow = 1

    def test_serve_prints_the_lines_and_stops_cleanly(self):
        self.sb.write_token("dev")
        proc, lines = self.start_serving("--profile", "sess")
        env = dict(l.split(" ", 1)[1].strip().split("=", 1) for l in lines)
        self.assertEqual(sorted(env), ["AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_CREDENTIALS_FULL_URI"])
        got = json.loads(subprocess.run([sys.executable, "-c", FETCH], env=self.sb.environ(env),
                                        capture_output=True, text=True, timeout=30).stdout)
        self.assertEqual((got["status"], got["doc"]["AccessKeyId"]), (200, self.issued()["accessKeyId"]))
        proc.terminate()
        r = self.sb.finish(proc)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.sb.run("--serve", "--profile", "sess", "--bind", "127.0.0.1", "--port", "x").rc, 2)

    def test_fish_lines(self):
        self.sb.write_token("dev")
        proc, lines = self.start_serving("--profile", "sess", "--format", "fish")
        self.assertTrue(all(l.startswith("set -gx AWS_CONTAINER_") for l in lines), lines)
        self.fails(self.sb.run("--serve", "--profile", "sess", "--format", "process"), 2, "--format must be one of")

    def test_a_socket_for_containers_and_the_forwarder_inside_them(self):
        self.sb.write_token("dev")
        path = os.path.join(self.socket_dir(), "aws.sock")
        proc, _ = self.start_serving("--profile", "sess", "--socket", path)
        self.wait_for_socket(path)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        status, doc, _ = http_get(path, "/", [("Host", "localhost")])
        self.assertEqual((status, doc["AccessKeyId"]), (200, self.issued()["accessKeyId"]))
        # the container's side: no ~/.aws, only the mounted socket
        bare = {"HOME": os.path.join(self.sb.root, "container-home"), "AWS_ENDPOINT_URL_SSO": None,
                "AWS_ENDPOINT_URL_SSO_OIDC": None}
        r = self.sb.run("--exec", "--upstream", "unix:" + path, "--", sys.executable, "-c", FETCH, env=bare)
        got = json.loads(r.out)
        self.assertEqual((r.rc, got["status"], got["doc"]["AccessKeyId"]), (0, 200, self.issued()["accessKeyId"]))
        self.assertEqual(self.standin.count("/federation/credentials"), 1, "the host's role cache serves both")
        os.remove(self.sb.role_path(session="dev"))
        os.remove(self.sb.token_path("dev"))
        r = self.sb.run("--exec", "--upstream", "unix:" + path, "--", "true", env=bare)
        self.fails(r, 1, "not logged in", "(from %s)" % path)
        proc.terminate()
        self.assertEqual(self.sb.finish(proc).rc, 0)
        self.assertFalse(os.path.exists(path), "the socket is removed at exit")
        self.fails(self.sb.run("--exec", "--upstream", "unix:" + path, "--", "true", env=bare), 5,
                   "cannot reach the credentials socket %s" % path)

    def test_a_socket_in_a_directory_others_can_enter_is_refused(self):
        self.sb.write_token("dev")
        open_dir = os.path.join(self.sb.root, "open")
        os.mkdir(open_dir, 0o755)
        self.fails(self.sb.run("--serve", "--profile", "sess", "--socket", os.path.join(open_dir, "s")), 2,
                   "its directory must be yours and closed to others (chmod 700")

    def test_the_relative_form_on_169_254_170_2_in_a_network_namespace(self):
        # Compose and old SDKs: the forwarder as a service at 169.254.170.2:80, the path the only secret.
        if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
            self.skipTest("needs root, unshare and ip (a private network namespace)")
        self.sb.write_token("dev")
        path = os.path.join(self.socket_dir(), "aws.sock")
        self.start_serving("--profile", "sess", "--socket", path)
        self.wait_for_socket(path)
        env = dict(PY=sys.executable, SCRIPT=SCRIPT, SOCK=path, FETCH=FETCH, HOME=os.path.join(self.sb.root, "c"))
        p = subprocess.run(["unshare", "-n", "sh", "-c", RELATIVE_FORM], cwd=self.sb.root, env=self.sb.environ(env),
                           capture_output=True, text=True, timeout=90)
        self.assertEqual(p.returncode, 0, (p, read(os.path.join(self.sb.root, "serve-err"))))
        with open(os.path.join(self.sb.root, "lines")) as f:
            self.assertRegex(f.read(), r"^export AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/[A-Za-z0-9_-]{43}\n$")
        got = json.loads(read(os.path.join(self.sb.root, "fetched")))
        self.assertEqual((got["status"], got["doc"]["AccessKeyId"]), (200, self.issued()["accessKeyId"]))
        self.assertEqual(json.loads(read(os.path.join(self.sb.root, "wrong-path")))["status"], 404)
        # a compose file's .env gives the sidecar and the apps one secret path
        got = json.loads(read(os.path.join(self.sb.root, "shared")))
        self.assertEqual(got["status"], 200, got)
        self.assertIn(got["env"]["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], read(os.path.join(self.sb.root,
                                                                                              "shared-lines")))
        self.assertEqual(read(os.path.join(self.sb.root, "short-rc")), "2\n")
        self.assertIn("is the endpoint's only secret", read(os.path.join(self.sb.root, "short-err")))


# ==========================================================================
# Output and command line: --format, the terminal, stdio, a full disk
# ==========================================================================

class TestCommandLine(SandboxTest):
    def test_version_and_help(self):
        r = self.sb.call("--version")
        self.assertEqual((r.rc, r.out, r.err), (0, "aws-sso-credential-process %s\n" % acp.__version__, ""))
        r = self.sb.run("--help")
        self.assertEqual((r.rc, r.err), (0, ""))
        command = "%s %s" % (os.path.basename(sys.executable), SCRIPT)
        self.assertEqual(r.out, acp.__doc__.replace("COMMAND", command).replace(
            "LINE", "%s %s" % (sys.executable, SCRIPT)))
        self.assertIn("Usage: %s [--profile NAME]" % command, r.out)
        self.assertIn("credential_process = %s %s --profile my-sso\n" % (sys.executable, SCRIPT), r.out)
        r = subprocess.run([sys.executable, "-OO", SCRIPT, "--help"], capture_output=True, text=True)  # no docstrings
        self.assertEqual((r.returncode, r.stdout), (0, "aws-sso-credential-process: --help needs the docstrings "
                                                       "that python -OO (or PYTHONOPTIMIZE=2) drops; run it without\n"))

    def test_every_flag_variable_and_key_is_documented(self):
        source = read(SCRIPT)
        readme = read(os.path.join(HERE, "docs", "reference.md"))  # the whole reference; README.md links to it
        env_vars = set(re.findall(r'"(AWS_[A-Z_]*[A-Z])"', source)) | {"AWS_ENDPOINT_URL_SSO_OIDC", "BROWSER"}
        flags = ({s.flag for s in acp.SETTINGS if s.flag} | set(acp.OPTIONS) | {"--help", "--version"}
                 | {mode.flag for mode in acp.MODES.values() if mode.flag})
        keys = {s.key for s in acp.SETTINGS if s.key} | {"sso_registration_scopes", "endpoint_url", "services",
                                                          "region"}
        self.assertGreater(len(env_vars), 15)
        self.assertGreater(len(keys), 10)
        for name in sorted(env_vars | flags):
            self.assertIn(name, acp.__doc__, "--help does not mention %s" % name)
        for name in sorted(env_vars | flags | keys):
            self.assertTrue("`%s" % name in readme, "docs/reference.md does not document %s" % name)
        for cls in TestErrors.CLASSES:
            self.assertTrue("| %d |" % cls.exit_code in readme, "docs/reference.md lacks exit code %d" % cls.exit_code)
            self.assertIn("%d " % cls.exit_code, acp.__doc__.split("Exit codes:")[1])

    def test_an_unexpected_error_is_exit_70_with_one_line(self):
        self.sb.write_token("dev")
        with mock.patch.object(acp, "format_output", side_effect=KeyError("boom")):
            r = self.sb.call("--profile", "sess")
        self.assertEqual((r.rc, r.out), (70, ""))
        self.assertEqual(r.err, "aws-sso-credential-process: unexpected error: KeyError: 'boom' "
                                "(run with --debug for details)\n")
        with mock.patch.object(acp, "format_output", side_effect=KeyError("boom")):
            r = self.sb.call("--profile", "sess", "--debug")
        self.assertIn("Traceback", r.err, "a traceback only with --debug")
        self.assertTrue(r.err.endswith("(see %s)\n" % self.sb.path(".aws", "sso",
                                                                    "aws-sso-credential-process-log.txt")))

    def test_interrupted(self):
        self.sb.write_token("dev")
        with mock.patch.object(acp, "get_credentials", side_effect=KeyboardInterrupt):
            r = self.sb.call("--profile", "sess")
        self.assertEqual((r.rc, r.out, r.err), (130, "", "aws-sso-credential-process: interrupted\n"))


class TestFirstHour(SandboxTest):
    """What a newcomer without the AWS CLI meets first: a typo, --login where
    there is no terminal, what --check says of the next login, an
    interpreter too old."""

    def test_a_mistyped_flag_names_the_closest(self):
        for typed, says in [("--profle", "(did you mean --profile?)"), ("--logn", "(did you mean --login?)"),
                            ("--intractive", "(did you mean --interactive?)"), ("--zzz", "(see --help)"),
                            ("--force-refesh", "(did you mean --force-refresh?)"), ("profile", "(see --help)")]:
            with self.subTest(typed=typed):
                r = self.sb.call(typed, "sess")
                self.assertEqual((r.rc, r.out), (2, ""), r)
                self.assertEqual(r.err, "aws-sso-credential-process: unrecognized argument '%s' %s\n" % (typed, says))

    def test_login_without_a_terminal_shows_the_link_on_stderr_and_waits(self):
        # docker run without -t, a CI step, ssh without -t: stderr is the person's channel
        self.standin.auto_approve = 3
        r = self.sb.call("--login", "--profile", "sess", "--use-device-code", "--no-browser", terminal=None)
        self.assertEqual((r.rc, r.out), (0, ""), r)
        [start] = self.standin.calls_to("/device_authorization")
        self.assertIn("open %s/device and enter the code" % self.standin.url, r.err)
        self.assertIn("logged in to sso-session 'dev'; valid until", r.err)
        self.assertGreaterEqual(self.standin.count("/token"), 3, "it waited for the approval")
        self.assertNotIn("--interactive", r.err)
        self.assertNotIn("no terminal", r.err)
        self.assertTrue(os.path.exists(self.sb.token_path("dev")))

    def test_check_names_the_next_login_and_why(self):
        self.sb.write_config(BASE_CONFIG + "[profile dc]\nsso_session = dev\nsso_account_id = %s\n"
                             "sso_role_name = %s\nsso_use_device_code = true\n" % (ACCOUNT, ROLE))
        inside = os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv")
        no_display = "device code (%s)" % ("in a container" if inside else "no display (DISPLAY is unset)")
        for args, env, says in [
                (["--profile", "legacy"], {"BROWSER": "x"}, "device code (a legacy profile: the browser redirect "
                                                            "needs an sso-session)"),
                (["--profile", "sess"], {}, no_display),
                (["--profile", "sess"], {"container": "docker", "DISPLAY": ":0"}, "device code (in a container)"),
                (["--profile", "sess"], {"BROWSER": "x"}, "browser sign-in (PKCE) (an sso-session, and a browser "
                                                          "here)"),
                (["--profile", "sess", "--use-device-code"], {"BROWSER": "x"}, "device code (--use-device-code "
                                                                               "asks for it)"),
                (["--profile", "dc"], {"BROWSER": "x"}, "device code (sso_use_device_code in profile 'dc' asks "
                                                        "for it)")]:
            with self.subTest(args=args, env=env):
                r = self.sb.call("--check", *args, env=env)
                self.assertIn("  next login         %s\n" % says, r.out)
                self.assertIn("  always device code %s (" % ("true" if "asks for it" in says else "false"), r.out)

    PYTHONS = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.[67].*/bin/python3")))

    @unittest.skipUnless(PYTHONS, "no Python 3.6 or 3.7 here (~/.pyenv/versions)")
    def test_an_interpreter_too_old_says_which_it_needs(self):
        for python in self.PYTHONS:
            for args in (["--profile", "sess"], ["--install", "--prefix", self.sb.path("prefix")], ["--help"]):
                with self.subTest(python=python, args=args):
                    r = subprocess.run([python, SCRIPT] + args, env=self.sb.environ(), capture_output=True,
                                       text=True)
                    version = os.path.basename(os.path.dirname(os.path.dirname(python)))[:3]
                    self.assertEqual((r.returncode, r.stdout, r.stderr), (2, "", "aws-sso-credential-process: "
                                     "needs Python 3.8 or newer, and %s is Python %s; run it with python3.8 or "
                                     "newer\n" % (python, version)))
        self.assertFalse(os.path.exists(self.sb.path("prefix")))


class TestExportFormats(ShellHarness, SandboxTest):
    """--format: the credentials as a shell's variables, for CI jobs and eval."""

    def test_each_shell_gets_exactly_the_credentials(self):
        self.sb.write_token("dev")
        shells = [(fmt, shell) for fmt in ("env", "env-no-export") for shell in ("sh", "bash")]
        if shutil.which("fish"):
            shells.append(("fish", "fish"))
        else:
            print("(fish is not installed: --format fish not run; make test-all installs it)", file=sys.stderr)
        for fmt, shell in shells:
            with self.subTest(fmt=fmt, shell=shell):
                self.assertEqual(self.in_shell(fmt, shell), self.expected(self.issued()))

    def test_no_value_breaks_out_of_its_quotes(self):
        self.sb.write_token("dev")
        shells = [("env", "sh"), ("env", "bash"), ("env-no-export", "sh")] + (
            [("fish", "fish")] if shutil.which("fish") else [])
        for fmt, shell in shells:
            with self.subTest(fmt=fmt, shell=shell):
                self.hostile_portal()
                got = self.in_shell(fmt, shell)
                self.assertEqual(got[:3], [self.HOSTILE[k] for k in ("accessKeyId", "secretAccessKey", "sessionToken")])
                self.assertEqual(os.listdir(self.sb.root).count("pwned"), 0, "nothing in a value ran")
                os.remove(self.sb.role_path(session="dev"))  # the next case fetches (hostile) credentials again

    def test_powershell_and_cmd(self):
        # Neither shell runs here: the forms are pinned as their quoting rules say.
        self.sb.write_token("dev")
        r = self.sb.call("--profile", "sess", "--format", "powershell")
        c = self.issued()
        self.assertEqual(r.out.splitlines()[:2], ['$Env:AWS_ACCESS_KEY_ID="%s"' % c["accessKeyId"],
                                                  '$Env:AWS_SECRET_ACCESS_KEY="%s"' % c["secretAccessKey"]])
        self.assertEqual(acp.shell_value("a'b$d`e", "powershell"), "'a''b$d`e'")
        r = self.sb.call("--profile", "sess", "--format", "windows-cmd")
        self.assertEqual(r.out.splitlines()[4], "set AWS_ACCOUNT_ID=%s" % ACCOUNT)
        os.remove(self.sb.role_path(session="dev"))
        self.hostile_portal()
        self.fails(self.sb.call("--profile", "sess", "--format", "windows-cmd"), 5,
                   "--format windows-cmd cannot write safely; use --format powershell or process")

    def test_control_and_non_ascii_characters_are_refused(self):
        # A newline would split a line for readers that go line by line
        # (PowerShell's Invoke-Expression, $GITHUB_ENV, docker --env-file).
        self.sb.write_token("dev")
        for value in ("line\nLD_PRELOAD=/tmp/x.so", "nul\x00", "caf\u00e9", "lone\ud800"):
            for fmt in ("env", "env-no-export", "powershell", "windows-cmd", "fish"):
                with self.subTest(value=value, fmt=fmt):
                    self.hostile_portal({"accessKeyId": "ASIAX", "secretAccessKey": value, "sessionToken": "t"})
                    self.fails(self.sb.call("--profile", "sess", "--format", fmt, "--force-refresh"), 5,
                               "control or non-ASCII characters, which --format %s cannot carry safely" % fmt)
        # the credential_process form carries any of them, escaped in its JSON
        self.hostile_portal(dict(self.HOSTILE, secretAccessKey="lone\ud800"))
        r = self.sb.run("--profile", "sess", "--force-refresh")
        self.assertEqual(self.ok(r)["SecretAccessKey"], "lone\ud800")

    def test_process_is_the_default_and_bad_uses(self):
        self.sb.write_token("dev")
        self.assertEqual(self.ok(self.sb.call("--profile", "sess", "--format", "process")),
                         self.ok(self.sb.call("--profile", "sess")))
        self.fails(self.sb.call("--profile", "sess", "--format", "yaml"), 2,
                   "--format must be one of process, env, env-no-export, powershell, windows-cmd, fish, not 'yaml'")
        self.fails(self.sb.call("--list", "--profile", "sess", "--format", "env"), 2,
                   "--format goes only with the credential call or --serve, not with --list")
        self.fails(self.sb.call("--profile", "sess", "--format"), 2, "--format needs a value")


class TestFailuresOnTheTerminal(SandboxTest):
    """Some SDKs never show a credential process's stderr: a failure the user
    must act on is also said on the controlling terminal."""

    def test_said_on_the_terminal_too(self):
        terminal = Terminal()
        r = self.sb.call("--profile", "sess", terminal=terminal)
        line = self.fails(r, 1, "not logged in")
        self.assertEqual(terminal.getvalue(), line + "\n")
        terminal = Terminal()
        self.fails(self.sb.call("--profile", "nosuch", terminal=terminal), 2)
        self.assertIn("profile 'nosuch' not found", terminal.getvalue())

    def test_not_for_what_needs_no_action(self):
        self.sb.write_token("dev")
        for error in (acp.Busy("waited"), acp.OutputError("stdout closed"), KeyboardInterrupt()):
            with self.subTest(error=error):
                terminal = Terminal()
                with mock.patch.object(acp, "get_credentials", side_effect=error):
                    r = self.sb.call("--profile", "sess", terminal=terminal)
                self.assertNotEqual(r.rc, 0)
                self.assertEqual(terminal.getvalue(), "")

    def test_once_when_stderr_is_the_terminal(self):
        result, terminal = self.sb.run_in_terminal("--profile", "sess", stderr_to_terminal=True)
        self.assertEqual(result.rc, 1)
        self.assertEqual(terminal.count("aws-sso-credential-process: not logged in"), 1, terminal)
        result, terminal = self.sb.run_in_terminal("--profile", "sess")  # stderr captured, as SDKs do
        self.assertEqual(terminal.count("aws-sso-credential-process: not logged in"), 1, terminal)
        self.assertIn("not logged in", result.err)


class TestBackgroundJobs(BackgroundJobHarness, SandboxTest):
    """`terraform plan > log 2>&1 &` under `stty tostop`: no terminal write may
    stop the script (SIGTTOU), or its caller would wait for ever."""

    def test_a_failure_from_a_background_job_under_tostop(self):
        log = os.path.join(self.sb.root, "log")
        self.assertEqual(self.run_in_background(log, "--profile", "sess"), "exit 1")
        self.assertIn("aws-sso-credential-process: not logged in", read(log), "the message still goes to stderr")
        self.assertEqual(self.run_in_background("tty", "--profile", "sess"), "exit 1", "stderr is the terminal")

    def test_a_login_prompt_from_a_background_job_under_tostop(self):
        log = os.path.join(self.sb.root, "log")
        self.standin.auto_approve = 2
        self.assertEqual(self.run_in_background(log, "--profile", "legacy", "-i", "--no-browser"), "exit 0")
        self.assertIn("enter the code", read(log), "the prompt went to stderr")


class TestStandardStreams(StreamHarness, SandboxTest):
    """stdout or stderr closed or full: the documented code, never a traceback."""

    def test_closed_or_full_stdout(self):
        self.sb.write_token("dev")
        for redirect in (">&- 2>\"$ERR\"", ">/dev/full 2>\"$ERR\""):
            with self.subTest(redirect=redirect):
                rc, err = self.run_with(redirect, "--profile", "sess")
                self.assertEqual(rc, 74)
                self.assertEqual(err, "aws-sso-credential-process: cannot write the credentials to stdout "
                                      "(it is closed or full)\n")
        rc, err = self.run_with(">&- 2>\"$ERR\"", "--version")
        self.assertEqual(rc, 74)

    def test_closed_stderr_keeps_the_real_exit_code(self):
        self.sb.write_token("dev")
        for args, code in [(("--profile", "nosuch"), 2), (("--profile", "legacy"), 1), (("--profile", "sess"), 0),
                           (("--bogus",), 2)]:
            with self.subTest(args=args):
                self.assertEqual(self.run_with(">/dev/null 2>&-", *args)[0], code)
                self.assertEqual(self.run_with(">/dev/null 2>/dev/full", *args)[0], code)
        self.assertEqual(self.run_with(">&- 2>&-", "--profile", "sess")[0], 74)

    def test_a_full_non_blocking_pipe_gets_the_whole_line(self):
        self.sb.write_token("dev")
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        filled = 0
        try:
            while True:  # the caller's pipe is full, and set non-blocking
                filled += os.write(write_end, b"x" * 4096)
        except BlockingIOError:
            pass
        p = subprocess.Popen([sys.executable, SCRIPT, "--profile", "sess"], env=self.sb.environ(),
                             stdout=write_end, stderr=subprocess.PIPE, cwd=self.sb.root, start_new_session=True)
        os.close(write_end)
        time.sleep(0.5)  # it is blocked on the full pipe now, not failing
        data = b""
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            data += chunk
        os.close(read_end)
        err = p.stderr.read().decode()
        p.stderr.close()
        self.assertEqual(p.wait(), 0, err)
        self.ok(Result(0, data[filled:].decode(), err))

    def test_a_broken_pipe(self):
        self.sb.write_token("dev")
        p = subprocess.Popen([sys.executable, SCRIPT, "--profile", "sess"], env=self.sb.environ(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.sb.root, start_new_session=True)
        p.stdout.close()  # the SDK went away
        err = p.stderr.read().decode()
        p.stderr.close()
        self.assertEqual(p.wait(), 74)
        self.assertNotIn("Traceback", err)
        self.assertNotIn("Exception ignored", err)


class TestDiskFull(FullDiskHarness, SandboxTest):
    """On a full disk only the caching is lost (a tiny tmpfs in a private mount namespace)."""

    def test_credentials_still_arrive(self):
        self.sb.write_token("dev")
        seen = self.on_a_full_disk()
        self.assertEqual(seen["rc"].strip(), "0", seen)
        doc = self.ok(Result(0, seen["out"], ""))
        self.assertEqual(doc["AccessKeyId"], self.issued()["accessKeyId"])
        self.assertNotIn("Traceback", seen["err"])
        self.assertNotIn(".tmp", seen["ls"], "no temporary file left on the full disk")


# ==========================================================================
# The contract an SDK sees: real processes
# ==========================================================================

class TestAsAnSdkRunsIt(SandboxTest):
    def test_success_and_failure(self):
        self.sb.write_token("dev")
        doc = self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(doc["AccessKeyId"], self.issued()["accessKeyId"])
        self.fails(self.sb.run("--profile", "legacy"), 1, "not logged in", "aws sso login --profile legacy")
        self.fails(self.sb.run("--profile", "nosuch"), 2, "profile 'nosuch' not found")

    def test_closed_standard_fds_are_never_reused_for_files(self):
        # With fd 2 closed, the first file opened would become "stderr".
        self.sb.write_token("dev")
        r = self.sb.run("--profile", "sess", "--debug", stderr=subprocess.DEVNULL, preexec_fn=lambda: os.close(2))
        self.ok(Result(r.rc, r.out, ""))
        self.assertNotIn("warning", read(self.sb.path(".aws", "sso", "aws-sso-credential-process-log.txt")))


class TestInterrupts(InterruptHarness, SandboxTest):
    """Ctrl-C at any moment: exit 130 and one line, never a traceback. (Before
    the interpreter has set up its own handler, SIGINT kills any Python
    program outright: that death by signal is allowed.)"""

    slow = 1

    def test_ctrl_c_while_waiting_is_exit_130_and_one_line(self):
        proc = self.sb.start("--profile", "legacy", "-i", "--no-browser")  # a device login nobody approves
        self.wait_until(lambda: self.standin.count("/device_authorization") >= 1)
        proc.send_signal(signal.SIGINT)
        r = self.sb.finish(proc)
        self.assertEqual(r.rc, 130, r)
        self.assertEqual(r.err.splitlines()[-1], "aws-sso-credential-process: interrupted", r)
        self.assertNotIn("Traceback", r.err)
        self.assertEqual(r.out, "")

    def test_ctrl_c_at_any_moment_of_the_installed_command(self):
        prefix = os.path.join(self.sb.root, "prefix")
        subprocess.run([self.INTERPRETER, self.script, "--install", "--prefix", prefix], env=self.sb.environ(),
                       capture_output=True, check=True)
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess"))  # later runs are cache hits: short, so every moment is hit
        seen = self.interrupt_at_random([os.path.join(prefix, "bin", "aws-sso-credential-process"),
                                         "--profile", "sess"])
        self.assertTrue(seen - {0}, "no run was interrupted: the test did not test")

    def test_ctrl_c_just_before_or_after_main_is_exit_130_too(self):
        handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTTOU))
        self.addCleanup(lambda: (signal.signal(signal.SIGINT, handlers[0]), signal.signal(signal.SIGTTOU, handlers[1])))
        for at in (1, 2):  # the Ctrl-C comes as run() swaps SIGINT's handler: before main(), after it
            swaps = []

            def swap(signum, handler):
                swaps.extend([handler] if signum == signal.SIGINT else [])
                if len(swaps) == at:
                    raise KeyboardInterrupt
            with self.subTest(at=at), mock.patch.object(acp, "main", return_value=0), \
                    mock.patch("_signal.signal", swap), \
                    mock.patch.object(acp, "_interrupted", side_effect=SystemExit(130)) as interrupted:
                with self.assertRaises(SystemExit) as left:  # not a KeyboardInterrupt and its traceback
                    acp.run()
                self.assertEqual((left.exception.code, interrupted.call_count, len(swaps)), (130, 1, at))

    def test_ctrl_c_at_any_moment_of_the_plain_form(self):
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess"))
        seen = self.interrupt_at_random([self.INTERPRETER, self.script, "--profile", "sess"])
        self.assertTrue(seen - {0}, "no run was interrupted: the test did not test")


class TestCacheHitImports(ImportHarness, SandboxTest):
    """The cache-hit path imports nothing beyond what it must, and skips the teardown."""

    HEAVY = ("urllib", "urllib.parse", "urllib.request", "ssl", "http", "http.client", "email", "webbrowser",
             "json", "re", "configparser", "argparse", "logging", "datetime", "hashlib", "threading",
             "socket", "errno", "shlex", "tempfile", "random", "string", "subprocess")

    def test_cache_hit_imports(self):
        self.sb.write_token("dev")
        self.ok(self.sb.run("--profile", "sess"))
        for mode in ([], ["-I", "-S"]):  # -I -S: site-packages loads nothing that could hide an import
            with self.subTest(mode=mode):
                _, bare = self.imported(*mode + ["-c", "pass"])
                p, ours = self.imported(*mode + [SCRIPT, "--profile", "sess"])
                self.assertEqual(p.returncode, 0)
                extra = ours - bare
                self.assertLessEqual(extra, {"_sha1", "_json", "atexit"}, sorted(extra))  # atexit: built in
                for heavy in self.HEAVY + ("os", "stat", "posixpath", "_collections_abc"):
                    self.assertNotIn(heavy, extra)

    def test_a_cache_hit_leaves_without_the_teardown_unless_there_is_work_for_it(self):
        self.sb.write_token("dev")
        self.ok(self.sb.run("--profile", "sess"))
        boot = ("import sys; sys.path[:0] = [%r]; import aws_sso_credential_process as m\n"
                "class Torn:\n    def __del__(self, write=__import__('posix').write): write(2, b' torn down')\n"
                "m.torn = Torn(); sys.stderr.write('pending')\n%s\nm.run()")
        for work, shows in [("", "pending"),
                            ("import atexit; atexit.register(sys.stderr.write, ' atexit')", "pending atexit"),
                            ("import threading; threading.Thread(target=lambda: (threading.main_thread().join(), "
                             "sys.stderr.write(' thread'))).start()", "pending thread")]:  # writes once main ends
            p = subprocess.run([sys.executable, "-I", "-S", "-c", boot % (HERE, work), "--profile", "sess"],
                               env=self.sb.env, capture_output=True, text=True, timeout=60)
            self.assertEqual((p.returncode, json.loads(p.stdout)["Version"]), (0, 1), p)
            self.assertEqual(p.stderr.replace(" torn down", ""), shows, "flushed, and the exit's work done")
            self.assertEqual(" torn down" in p.stderr, bool(work), "no teardown when it has nothing to do")
        p = subprocess.run([sys.executable, "-m", "cProfile", SCRIPT, "--version"], capture_output=True, text=True)
        self.assertIn("function calls", p.stdout, "a profiler gets to print its figures")

    def test_the_environment_reads_the_same_without_os(self):
        # Without os, the script decodes the C core's environment itself:
        # undecodable bytes and all, it must see what os.environ would.
        env = {k.encode(): v.encode() for k, v in self.sb.env.items()}
        env.update({b"AWS_PROFILE": b"caf\xc3\xa9", b"AWS_SSO_ROLE_NAME": b"bad\xff\xfe", b"X\xff": b"y"})
        code = ("import sys; sys.path.insert(0, %r); import aws_sso_credential_process as m; e = m.process_environ(); "
                "assert 'os' not in sys.modules; import os; print(e == dict(os.environ), ascii(e['AWS_PROFILE']), "
                "ascii(e['AWS_SSO_ROLE_NAME']))" % HERE)
        p = subprocess.run([sys.executable, "-I", "-S", "-c", code], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        self.assertEqual(p.stdout.decode().split(), ["True", "'caf\\xe9'", "'bad\\udcff\\udcfe'"])


@needs_botocore
class TestWithBotocore(SandboxTest):
    slow = 2

    def test_boto3_runs_the_script_as_credential_process(self):
        self.sb.write_token("dev")
        self.sb.write_config(BASE_CONFIG + APP_PROFILE % self.sb.credential_process_line("--profile", "sess"))
        got = self.sb.boto3("app")["app"]
        issued = self.issued()
        self.assertEqual(got["method"], "custom-process")
        self.assertEqual((got["key"], got["secret"], got["token"]),
                         (issued["accessKeyId"], issued["secretAccessKey"], issued["sessionToken"]))
        self.assertEqual(got["account"], ACCOUNT)
        self.assertTrue(got["expiry"].startswith(utc(issued["expiration"] // 1000)[:-1]))

    def test_failure_reaches_boto3_as_one_clear_line(self):
        self.sb.write_config(BASE_CONFIG + APP_PROFILE % self.sb.credential_process_line("--profile", "sess"))
        got = self.sb.python("""
            import json, boto3
            try:
                boto3.Session(profile_name="app").get_credentials().get_frozen_credentials()
            except Exception as e:
                print(json.dumps({"type": type(e).__name__, "msg": str(e)}))
            """)
        self.assertEqual(got["type"], "CredentialRetrievalError")
        self.assertIn("aws sso login --sso-session dev", got["msg"])

    def test_reads_a_token_botocore_refreshed(self):
        old = self.sb.refreshable_token(ttl=10 * 60)
        self.sb.write_config(BASE_CONFIG + NATIVE_PROFILE % "ReadOnly")
        self.sb.boto3("native")
        self.assertEqual(self.standin.count("/token"), 1, "botocore refreshed the token")
        written = read_json(self.sb.token_path("dev"))
        self.assertNotEqual(written["accessToken"], old)
        self.assertNotIn(old, self.standin.tokens, "the old token no longer works")
        self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(self.standin.calls_to("/federation/credentials")[-1].headers["x-amz-sso_bearer_token"],
                         written["accessToken"])

    def test_the_fast_form_from_the_readme(self):
        command = fast_line("sess")
        self.sb.write_token("dev")
        self.sb.write_config(BASE_CONFIG + APP_PROFILE % command)
        got = self.sb.boto3("app")["app"]
        self.assertEqual([got["key"], got["account"]], [self.issued()["accessKeyId"], ACCOUNT])
        # and by hand, through sh -c as the Go, Java and JS SDKs run it
        p = subprocess.run(["sh", "-c", command], env=self.sb.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, start_new_session=True)
        self.assertEqual(self.ok(Result(p.returncode, p.stdout.decode(), p.stderr.decode()))["AccessKeyId"], got["key"])

    def test_shares_the_cli_role_cache_both_ways(self):
        self.sb.write_token("dev")
        self.sb.write_config(BASE_CONFIG + NATIVE_PROFILE % "Admin")
        # the CLI first: we reuse its entry
        cli = self.sb.python(CLI_STYLE)
        self.assertEqual(self.standin.count("/federation/credentials"), 1)
        path = self.sb.role_path(session="dev")
        cli_file = read(path)
        doc = self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual([doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"]], cli)
        self.assertEqual(self.standin.count("/federation/credentials"), 1)
        # then us first: the CLI reuses ours, and the two files are byte-identical
        os.remove(path)
        doc = self.ok(self.sb.run("--profile", "sess"))
        self.assertEqual(self.standin.count("/federation/credentials"), 2)
        ours = read(path)
        self.assertEqual(self.sb.python(CLI_STYLE), [doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"]])
        self.assertEqual(self.standin.count("/federation/credentials"), 2)
        self.assertEqual(json.loads(ours).keys(), json.loads(cli_file).keys())
        self.assertEqual(ours, cli_file.replace(json.loads(cli_file)["Credentials"]["AccessKeyId"],
                                                doc["AccessKeyId"])
                         .replace(json.loads(cli_file)["Credentials"]["SecretAccessKey"], doc["SecretAccessKey"])
                         .replace(json.loads(cli_file)["Credentials"]["SessionToken"], doc["SessionToken"])
                         .replace(json.loads(cli_file)["Credentials"]["Expiration"], doc["Expiration"]))


@unittest.skipUnless(have_debian_cli(), "the AWS CLI v2 (Debian's awscli package) is not installed here; "
                                        "make test-all installs it")
class TestWithTheAwsCli(AwsCliHarness, SandboxTest):
    """The AWS CLI's own code (Debian's awscli 2.9), run on the files we write.
    It cannot be pointed at the stand-in, so nothing here makes a request."""

    slow = 2

    def test_sso_logout_sweeps_our_files(self):
        # `aws sso logout` (awscli/customizations/sso/logout.py): the real sweepers, with a
        # stand-in for the one network call (the portal's Logout) they would make.
        self.sb.write_token("dev")
        self.ok(self.sb.call("--profile", "sess"))
        self.ok(self.sb.call("--profile", "sess", "--role-name", "ReadOnly"))
        cache = self.sb.path(".aws", "cli", "cache")
        with open(os.path.join(cache, "assume-role-entry.json"), "w") as f:
            json.dump({"ProviderType": "assume-role", "Credentials": {}}, f)
        swept = self.cli(AWSCLI_LOGOUT_SWEEP)
        self.assertEqual(len(swept), 1, "the token was logged out once")
        self.assertEqual([n for n in self.sb.files(".aws", "cli", "cache") if not n.endswith(".json.lock")],
                         ["assume-role-entry.json"], "only our lock files stay, and they hold no credentials")
        self.assertFalse(os.path.exists(self.sb.token_path("dev")))

    def test_format_matches_aws_configure_export_credentials(self):
        # The CLI runs the script through credential_process and prints the
        # same credentials in its own forms: ours must be those lines exactly.
        self.sb.write_token("dev")
        self.sb.write_config(BASE_CONFIG + APP_PROFILE % self.sb.credential_process_line("--profile", "sess"))
        for fmt in ("env", "env-no-export", "powershell", "windows-cmd"):
            with self.subTest(fmt=fmt):
                p = subprocess.run(["/usr/bin/aws", "configure", "export-credentials", "--profile", "app",
                                    "--format", fmt], env=self.sb.environ(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=60, cwd=self.sb.root)
                self.assertEqual(p.returncode, 0, p.stderr.decode())
                ours = self.sb.call("--profile", "sess", "--format", fmt)
                self.assertEqual(ours.rc, 0, ours)
                self.assertEqual(ours.out.splitlines()[:4], p.stdout.decode().splitlines())
                self.assertEqual(ours.out.splitlines()[4:], [acp.FORMATS[fmt] % ("AWS_ACCOUNT_ID", (
                    '"%s"' if fmt == "powershell" else "%s") % ACCOUNT)])
        self.assertEqual(len(self.standin.issued), 1, "all from the one cached set")

    def test_registration_cache_key_and_scopes_agree_with_the_cli(self):
        configs = {"listed": "sso_registration_scopes = sso:account:access, codewhisperer:completions\n",
                   "blank": "sso_registration_scopes =\n", "absent": ""}
        paths = {}
        for name, extra in configs.items():
            paths[name] = self.sb.write_config(
                BASE_CONFIG.replace("sso_registration_scopes = sso:account:access\n", extra)
                + "\n[profile leg2]\nsso_start_url = %s\nsso_region = us-east-1\nsso_account_id = 111122223333\n"
                  "sso_role_name = Admin\nsso_registration_scopes = a, b\n" % START_URL,
                path=os.path.join(self.sb.root, name))
        cases = [(path, profile) for path in paths.values() for profile in ("sess", "leg2")]
        theirs = self.cli(AWSCLI_REGISTRATION_KEYS % (cases,))
        for (path, profile), expected in zip(cases, theirs):
            with self.subTest(path=os.path.basename(path), profile=profile):
                cfg = acp.resolve_config({"profile": profile}, self.sb.environ({"AWS_CONFIG_FILE": path}))
                self.assertEqual([acp.registration_cache_key(cfg), cfg.scopes], expected)
        self.assertEqual(len(theirs), 6)


class TestOneOfEach(StormHarness, SandboxTest):
    """Twenty processes at once, as an IDE or a test runner starts them."""

    slow = 3

    def test_one_refresh(self):
        self.sb.refreshable_token(ttl=-60)
        results = self.storm("--profile", "sess")
        keys = {self.ok(r)["AccessKeyId"] for r in results}
        self.assertEqual(self.standin.grants(), ["refresh_token"])
        self.assertEqual(self.standin.count("/federation/credentials"), 1)
        self.assertEqual(len(keys), 1)

    def test_one_login_one_tab(self):
        results = self.storm("--profile", "legacy", "-i", env=self.sb.browser())
        keys = {self.ok(r, prompt=True)["AccessKeyId"] for r in results}
        self.assertEqual(len(self.sb.visits()), 1, "one browser tab")
        self.assertEqual(self.standin.count("/device_authorization"), 1)
        self.assertEqual(self.standin.count("/client/register"), 1)
        self.assertEqual(self.standin.count("/federation/credentials"), 1)
        self.assertEqual(len(keys), 1)

    def test_one_pkce_login(self):
        results = self.storm("--profile", "sess", "-i", env=self.sb.browser())
        for r in results:
            self.ok(r, prompt=True)
        self.assertEqual(len(self.sb.visits()), 1)
        self.assertEqual(self.standin.count("/authorize"), 1)
        self.assertEqual(self.standin.grants(), ["authorization_code"])

    def test_one_failed_refresh(self):
        self.standin.session_end = time.time() - 1
        self.sb.refreshable_token(ttl=-60)
        for r in self.storm("--profile", "sess"):
            self.fails(r, 1, "has ended: it reached its maximum duration")
        self.assertEqual(self.standin.grants(), ["refresh_token"])

    def test_one_fetch(self):
        self.sb.write_token("dev")
        results = self.storm("--profile", "sess")
        self.assertEqual(len({self.ok(r)["AccessKeyId"] for r in results}), 1)
        self.assertEqual(self.standin.count("/federation/credentials"), 1)

    def test_one_denied_login_is_not_twenty(self):
        gate = self.sb.path("all-waiting")  # denied once every process is in: none starts after the denial
        results = self.storm("--profile", "legacy", "-i", "--debug", env=self.sb.browser("deny", gate=gate), gate=gate)
        for r in results:
            self.fails(r, 3, "denied in the browser", prompt=True)
        self.assertEqual(len(self.sb.visits()), 1)
        self.assertEqual(self.standin.count("/device_authorization"), 1)
        # a later run is not stuck with that answer
        self.standin.auto_approve = 2
        self.ok(self.sb.call("--profile", "legacy", "-i", "--no-browser"), prompt=True)

    def test_prompt_on_the_controlling_terminal(self):
        result, terminal = self.sb.run_in_terminal("--profile", "sess", "--interactive", env=self.sb.browser())
        self.ok(result)
        self.assertIn("open %s/authorize?" % self.standin.url, terminal)
        self.assertIn("logged in to sso-session 'dev'", terminal)
        self.assertEqual(result.err, "", "nothing on stderr: botocore would only show it after a failure")


class TestLockHolders(LockHolderHarness, SandboxTest):
    slow = 2

    def test_sigkilled_holder_does_not_block(self):
        holder = self.hold_login_lock()
        holder.kill()  # SIGKILL: no chance to clean up
        holder.communicate()
        self.standin.auto_approve = 2
        r = self.sb.call("--profile", "legacy", "-i", "--no-browser", env={"AWS_SSO_LOCK_TIMEOUT": "20"})
        self.ok(r, prompt=True)
        self.assertEqual(self.standin.count("/device_authorization"), 2)

    def test_a_second_process_lets_go_when_its_sdk_gives_up(self):
        # Go SDK v2 kills the `sh -c` it ran the command with, then waits for the pipes to close.
        holder = self.hold_login_lock()
        try:
            sdk = subprocess.Popen(["sh", "-c", "%s %s --profile legacy -i --no-browser --debug & echo $!; wait"
                                    % (shlex.quote(sys.executable), shlex.quote(SCRIPT))],
                                   env=self.sb.environ(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   start_new_session=True)
            pid = int(sdk.stdout.readline())
            log, deadline = acp.home_path(self.sb.environ(), acp.LOG_FILE), time.monotonic() + 120
            while "waiting for " not in (read(log) if os.path.exists(log) else ""):  # a slow start is no race
                self.assertLess(time.monotonic(), deadline, "the second process never waited on the lock")
                time.sleep(0.05)
            sdk.kill()  # the shell, not the script
            out, err = sdk.communicate(timeout=15)  # returns once every copy of the pipes is closed
            self.assertEqual(out, b"", "nothing delivered to a caller that is gone")
            self.wait_until(lambda: acp.process_gone(pid), "the waiter is still running", timeout=10)
            self.assertIsNone(holder.poll(), "the login itself goes on")
        finally:
            holder.kill()
            holder.communicate()

    def test_waiting_is_bounded(self):
        holder = self.hold_login_lock()
        try:
            r = self.sb.run("--profile", "legacy", "-i", "--no-browser", env={"AWS_SSO_LOCK_TIMEOUT": "0.3"})
            self.fails(r, 6, "timed out after 0s waiting for another aws-sso-credential-process (pid %d)"
                       % holder.pid, "AWS_SSO_LOCK_TIMEOUT")
        finally:
            holder.kill()
            holder.communicate()


class TestLayout(unittest.TestCase):
    """The shape a maintainer relies on: one reading direction (every function
    after what it calls), short functions, a main that only dispatches, and a
    test file that holds tests (its infrastructure lives in tests/)."""

    def test_every_function_comes_after_what_it_calls(self):
        self.assertEqual(forward_references(read(SCRIPT)), [], "forward references (caller, callee)")

    def test_functions_are_short_and_main_dispatches(self):
        lengths = function_lengths(read(SCRIPT))
        self.assertEqual({n: k for n, k in lengths.items() if k > 60}, {}, "functions over 60 lines")
        self.assertLessEqual(lengths["main"], 30)
        self.assertLessEqual(len(read(os.path.join(HERE, "test_script.py")).splitlines()), 4500)


class TestReadme(ReadmeHarness, SandboxTest):
    """README.md's user path, run as written, block after block, by a
    newcomer without the AWS CLI: a sandbox HOME, `python3` and the commands
    from PATH, the stand-in as the SSO service. What cannot run here is
    swapped, and only that: the download (the file is copied), pipx (a stand-in that
    removes the original's command), terraform (a program that fetches
    credentials as an SDK does), and the person who approves the login."""

    slow = 2

    def test_every_link_leads_somewhere(self):
        for page, path, anchor in self.links("README.md", "docs/reference.md", "docs/development.md"):
            with self.subTest(page=page, path=path, anchor=anchor):
                self.assertTrue(os.path.exists(path), path)
                if anchor:
                    self.assertIn(anchor, self.anchors(path))

    def test_the_readme_user_path_runs_as_written(self):
        kinds = [kind for kind, _ in self.blocks]
        self.assertEqual(kinds, ["sh", "sh", "ini", "sh", "sh", "sh", "sh", "sh", "sh"], "blocks added or removed: "
                         "give each a run here")
        # Install, over the original tool installed with pipx: --install names the way out, and it works
        launcher = os.path.join(self.sb.home, ".local", "bin", "aws-sso-credential-process")
        os.makedirs(os.path.dirname(launcher))
        with open(launcher, "w") as f:
            f.write(TestInstall.ORIGINAL % "/usr/bin/python3")
        shutil.copy(SCRIPT, self.work)  # downloaded
        r = self.sh("python3 aws_sso_credential_process.py --install", wanted=2)
        self.assertIn("is the original aws-sso-credential-process", r.stderr)
        r = self.sh("pipx uninstall")
        self.assertIn("credential_process = %s --profile" % launcher, r.stdout + r.stderr)
        share = os.path.join(self.sb.home, ".local", "share", "aws-sso-credential-process")
        self.assertIn("`python3 %s/aws_sso_credential_process.py --install`" % share.replace(self.sb.home, "~"),
                      self.readme, "Troubleshooting names the installed copy")
        self.assertTrue(os.path.exists(os.path.join(share, "aws_sso_credential_process.py")))
        # Configure: the config as written, with the path --install printed
        [config] = [t for kind, t in self.blocks if kind == "ini"]
        self.assertTrue(config.startswith("# ~/.aws/config\n"))
        self.sb.write_config(config.replace("/home/me", self.sb.home))
        # Log in: no terminal, no display: the link and code on stderr, then boto3 through my-app
        r = self.sh("aws-sso-credential-process --login")
        self.assertIn("enter the code", r.stderr)
        self.assertIn("logged in to sso-session 'corp'", r.stderr)
        if HAVE_BOTOCORE:
            self.assertEqual(self.sh("python3 -c").stdout.strip(), self.issued()["accessKeyId"])
        # Everyday use: the env lines set the credentials in the shell; --check is ready, --list, --logout
        [everyday] = [t for _, t in self.blocks if t.startswith("aws-sso-credential-process --check")]
        [line] = [t for t in everyday.splitlines() if t.startswith("eval")]
        self.assertEqual(subprocess.run(["sh", "-c", line + '\nprintf %s "$AWS_ACCESS_KEY_ID"'], env=self.env,
                                        capture_output=True, text=True).stdout, self.issued()["accessKeyId"])
        r = self.sh("aws-sso-credential-process --check")
        self.assertIn("verdict: ready\n", r.stdout)
        self.assertIn("111122223333", r.stdout.split("verdict: ready\n")[1], "--list lists the account")
        self.assertFalse(os.path.exists(self.sb.token_path("corp")), "--logout removed the login")
        # --exec: a long job gets credentials through the endpoint
        self.sh("aws-sso-credential-process --login")
        got = json.loads(self.sh("aws-sso-credential-process --exec").stdout)
        self.assertEqual((got["status"], got["doc"]["AccessKeyId"]), (200, self.issued()["accessKeyId"]))
        # --serve: prints the two variables, serves, stops on Ctrl-C
        [serve] = [t for kind, t in self.blocks if kind == "sh" and t.startswith("aws-sso-credential-process --serve")]
        proc = subprocess.Popen(["sh", "-c", "exec " + serve], cwd=self.work, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.communicate()))
        lines = read_lines(proc, 2)
        env = dict(line.split(" ", 1)[1].strip().split("=", 1) for line in lines)
        got = json.loads(subprocess.run([sys.executable, "-c", FETCH], env=self.sb.environ(env), capture_output=True,
                                        text=True, timeout=30).stdout)
        self.assertEqual(got["status"], 200)
        import signal
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        # More: the developer's two commands are make's (make test runs this very test)
        self.assertEqual([line.split("#")[0].strip() for line in self.blocks[-1][1].splitlines() if line.strip()],
                         ["make demo", "make test"])


# ==========================================================================
# Fuzzing: hostile input of every kind
# ==========================================================================

@unittest.skipIf(fuzz.hypothesis is None, "hypothesis is not installed here (make test installs it)")
class TestFuzz(fuzz.FuzzTest):
    """Hostile input of every kind (the strategies and FuzzTest.check, what
    must hold whatever the input, are in tests/fuzz.py)."""

    if fuzz.hypothesis is not None:
        @fuzz.fuzz_settings()
        @fuzz.given(lines=fuzz.CONFIG_LINES, profile=fuzz.PROFILES)
        def test_config_files(self, lines, profile):
            with self.sandbox("config files", config=None) as sb:
                with open(sb.write_config(""), "wb") as f:
                    f.write("\n".join(lines).encode("utf-8", "surrogatepass"))
                sb.write_token("dev")
                before = self.snapshot(sb)
                self.check(sb, sb.call("--profile", profile), before)

        @fuzz.fuzz_settings()
        @fuzz.given(target=fuzz.CACHE_TARGETS, content=fuzz.CACHE_CONTENTS, interactive=fuzz.INTERACTIVE)
        def test_cache_files(self, target, content, interactive):
            with self.sandbox("cache files") as sb:
                sb.write_token("dev", ttl=600, clientId="cid", clientSecret="csecret", refreshToken="r",
                               registrationExpiresAt=utc(time.time() + 86400))
                path = {"token": sb.token_path("dev"), "role": sb.role_path(session="dev"),
                        "registration": sb.path(".aws", "sso", "cache", "c6b2fc6aec0d9c2d2652036ffbe173a43a8ba2c3.json"),
                        "token lock": sb.token_path("dev") + ".lock",
                        "role lock": sb.role_path(session="dev") + ".lock"}[target]
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "wb") as f:
                    f.write(content)
                before = self.snapshot(sb)
                args = ["--profile", "sess"] + (["-i", "--use-device-code", "--no-browser"] if interactive else [])
                self.standin.auto_approve = 1
                self.check(sb, sb.call(*args, env={"AWS_SSO_LOGIN_TIMEOUT": "5"}, terminal=Terminal()), before)

        @fuzz.fuzz_settings()
        @fuzz.given(path=fuzz.HTTP_PATHS, status=fuzz.HTTP_STATUSES, error_type=fuzz.ERROR_TYPES, body=fuzz.HTTP_BODIES)
        def test_http_answers(self, path, status, error_type, body):
            with self.sandbox("HTTP answers") as sb:
                if path == "/token":  # a refresh
                    self.standin.add_client("cid", "csecret")
                    self.standin.add_refresh_token("refresh-1", "cid")
                    sb.write_token("dev", ttl=-60, clientId="cid", clientSecret="csecret", refreshToken="refresh-1",
                                   registrationExpiresAt=utc(time.time() + 86400))
                elif path.startswith(("/federation", "/assignment", "/logout")):
                    sb.write_token("dev")
                headers = [("Content-Type", "application/json")]
                if error_type is not None:
                    headers.append(("x-amzn-ErrorType", error_type.encode("utf-8", "replace").decode("latin-1")
                                    .replace("\r", "").replace("\n", "")))
                self.standin.fail(path, times=3, status=status, headers=headers, raw=body)
                before = self.snapshot(sb)
                args = ["--profile", "legacy" if path in ("/client/register", "/device_authorization") else "sess"]
                if path in ("/client/register", "/device_authorization"):
                    args += ["-i", "--no-browser"]
                    self.standin.auto_approve = 1
                mode = {"/assignment/accounts": "list", "/assignment/roles": "list", "/logout": "logout"}.get(path)
                if mode:
                    args.append("--" + mode)
                self.check(sb, sb.call(*args, env={"AWS_SSO_LOGIN_TIMEOUT": "5"}, terminal=Terminal()), before,
                           mode or "credentials")

        @fuzz.fuzz_settings()
        @fuzz.given(argv=fuzz.ARGV, env=fuzz.ENVIRON)
        def test_arguments_and_environment(self, argv, env):
            with self.sandbox("arguments and environment") as sb:
                sb.write_token("dev")
                env = {k: v.replace("\x00", "") for k, v in env.items()}  # an environment cannot hold NUL
                if "HOME" in env:
                    env["HOME"] = os.path.join(sb.root, "elsewhere")
                # --exec and --serve run for as long as their command, or until stopped: never in-process
                argv = ["--profile", "sess"] + [a.replace("\x00", "") for a in argv if a not in ("--exec", "--serve")]
                before = self.snapshot(sb)
                modes = [a[2:] for a in argv if a in ("--login", "--logout", "--list", "--check")]
                if any(a in ("-h", "--help", "--version") for a in argv[:argv.index("--") if "--" in argv else None]):
                    modes = ["help"]
                formatted = any(a.startswith("--format") for a in argv)
                self.check(sb, sb.call(*argv, env=dict(env, AWS_SSO_LOGIN_TIMEOUT="5"), terminal=Terminal()),
                           before, modes[-1] if modes else "format" if formatted else "credentials")


# ==========================================================================
# Under every real SDK (make sdk-test); the test tools a full run requires
# ==========================================================================

# One test class per consumer (TestSdkBoto3, TestSdkJs3, ...), each running
# SdkMatrix's tests; the consumers and the README table are in tests/matrix.py.
globals().update(sdk_test_classes(__name__))


class TestSdkJs2Config(SandboxTest):
    """Where JS SDK v2 looks for a credential_process line."""

    slow = 2

    def setUp(self):
        super().setUp()
        self.js2 = consumer_named("js2")
        if self.js2.missing():
            self.skipTest(self.js2.missing())
        self.sb.write_token("dev")
        self.line = self.sb.credential_process_line("--profile", "sess")

    def test_config_file_needs_aws_sdk_load_config(self):
        self.sb.write_config(BASE_CONFIG + APP_PROFILE % self.line)
        got = self.js2.run(self.sb, "chain", "app", env={"AWS_SDK_LOAD_CONFIG": None})
        self.assertFalse(got["ok"], got)
        self.assertIn("Could not load credentials from any providers", got["error"])
        self.assertTrue(self.js2.run(self.sb, "chain", "app")["ok"])  # AWS_SDK_LOAD_CONFIG=1
        self.assertFalse(self.js2.run(self.sb, "ini", "app")["ok"], "SharedIniFileCredentials never runs it")

    def test_credentials_file_needs_nothing(self):
        with open(self.sb.path(".aws", "credentials"), "w") as f:  # (AWS_SHARED_CREDENTIALS_FILE needs it too)
            f.write("[app]\ncredential_process = %s\n" % self.line)
        got = self.js2.run(self.sb, "chain", "app", env={"AWS_SDK_LOAD_CONFIG": None,
                                                         "AWS_SHARED_CREDENTIALS_FILE": None})
        self.assertTrue(got["ok"], got)


class TestSdkGoTimeouts(GoTimeoutHarness, SandboxTest):
    """The Go SDKs' one-minute limit on a credential process, shortened."""

    slow = 2

    def setUp(self):
        super().setUp()
        for key in ("go1", "go2"):
            why = consumer_named(key).missing()
            if why:
                self.skipTest(why)
        self.line = self.sb.credential_process_line("--profile", "legacy", "-i", "--use-device-code", "--no-browser")
        self.sb.write_config(BASE_CONFIG + "\n[profile app-login]\ncredential_process = %s\n" % self.line)

    def test_go_v2_kills_its_shell_and_gets_its_answer_at_once(self):
        seconds, answer = self.give_up("go2")
        self.assertFalse(answer["ok"])
        self.assertIn("timed out", answer["error"])
        self.assertLess(seconds, 30, "Go v2 waited for the orphaned script instead of giving up")
        self.approve_and_wait_for_the_login()

    def test_go_v1_gives_up_and_the_login_finishes_anyway(self):
        seconds, answer = self.give_up("go1")
        self.assertFalse(answer["ok"])
        self.assertIn("timed out", answer["error"])
        self.approve_and_wait_for_the_login()


class TestRequirements(unittest.TestCase):
    """With ACP_TEST_REQUIRE (make test-all and make fuzz set it), a missing
    test tool fails the run instead of quietly skipping its tests."""

    def test_required_tools_are_installed(self):
        available = {"botocore": HAVE_BOTOCORE, "hypothesis": fuzz.hypothesis is not None,
                     "awscli": have_debian_cli(), "fish": shutil.which("fish") is not None,
                     "sdk": not any(c.missing() for c in CONSUMERS)}
        for name in filter(None, os.environ.get("ACP_TEST_REQUIRE", "").split(",")):
            self.assertIn(name, available, "ACP_TEST_REQUIRE names an unknown tool")
            self.assertTrue(available[name], "%s is required here (ACP_TEST_REQUIRE) but not installed: %s" % (
                name, "; ".join(filter(None, (c.missing() for c in CONSUMERS))) if name == "sdk" else ""))


# ==========================================================================
# The entry point: make test (suite), make sdk-test (sdk-boto3, sdk-awscli,
# sdk-table, sdk-readme), make sdk-bench, make demo, make bench; the
# commands are tests/runner.py's main, the machinery for each is under tests/
# ==========================================================================

if __name__ == "__main__":
    main(sys.modules[__name__], sys.argv[1:])
