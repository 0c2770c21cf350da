#!/usr/bin/env python3
"""aws-sso-credential-process: AWS IAM Identity Center (AWS SSO) credentials
for any SDK or tool, through the standard credential_process hook.

Usage: COMMAND [--profile NAME] [options] [--format FORM]
       COMMAND --login | --logout | --list | --check [--profile NAME] [options]
       COMMAND --exec [--profile NAME] [options] -- CMD [ARGS...]
       COMMAND --serve [--profile NAME] [options] [--bind ADDR] [--port N] [--socket PATH]
       COMMAND --install | --uninstall [--prefix DIR]

Wire it into ~/.aws/config, keeping the sso_* keys out of the profile that
has credential_process (SDKs with their own SSO support would skip it):

    [profile my-app]
    credential_process = LINE --profile my-sso

    [profile my-sso]
    sso_session = my-sso
    sso_account_id = 111122223333
    sso_role_name = Admin

    [sso-session my-sso]
    sso_start_url = https://d-1234567890.awsapps.com/start
    sso_region = us-east-1

Log in with `COMMAND --login --profile my-sso` (or `aws sso login`). It reads
the SSO login cached in ~/.aws/sso/cache (refreshing it when it can),
exchanges it for role credentials, caches them in ~/.aws/cli/cache exactly
as the AWS CLI v2 does, and prints them as credential_process JSON on
stdout. With --interactive it logs in itself when the login has expired.

Options (flag > environment variable > profile > [sso-session] section):
  --profile NAME        profile to read settings from (never taken from
                        AWS_PROFILE, which names the calling profile)
  --account-id ID       AWS_SSO_ACCOUNT_ID  / sso_account_id
  --role-name NAME      AWS_SSO_ROLE_NAME   / sso_role_name
  --start-url URL       AWS_SSO_START_URL   / sso_start_url
  --region REGION       AWS_SSO_REGION      / sso_region
  --sso-session NAME    AWS_SSO_SESSION     / sso_session
  -i, --interactive     log in when needed: AWS_SSO_INTERACTIVE_AUTH=true /
                        sso_interactive_auth = true (off by default)
  -n, --noninteractive  never log in, whatever the environment or profile say
  --use-device-code     log in with a device code instead of a browser
                        redirect: AWS_SSO_USE_DEVICE_CODE / sso_use_device_code
  --no-browser          only print the login link and code:
                        AWS_SSO_DISABLE_BROWSER=true
  --force-refresh       ignore cached role credentials and fetch new ones
  --debug               log to ~/.aws/sso/aws-sso-credential-process-log.txt
                        (secrets redacted) and show tracebacks; also
                        AWS_SSO_CREDENTIAL_PROCESS_DEBUG=true
  --format FORM         process (the default: credential_process JSON), env,
                        env-no-export, powershell, windows-cmd or fish: shell
                        lines setting AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                        AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION and
                        AWS_ACCOUNT_ID (secrets: for eval, never for logs)
  --version             print the version and exit
  -h, --help            print this help and exit

Modes (each takes the settings above):
  --login               log in now (PKCE or device code), unless the cached
                        login has 15 minutes or more left; --force-refresh
                        logs in anyway. Talks on the terminal or stderr
  --logout              log out at the portal, then remove the cached login and
                        the role credentials cached from it
  --list [--output table|json|config]
                        the accounts and roles the login reaches; config: a
                        ~/.aws/config profile for each, running this command
  --check [--online]    diagnose the profile: settings and where each came
                        from, the login, the role cache, credential_process
                        lines that SDKs would skip or fail on; --online also
                        asks the portal. Exit 0 if all is well
  --exec -- CMD [ARGS]  run CMD with fresh credentials for as long as it runs:
                        a private endpoint on 127.0.0.1 that every SDK reads
                        (AWS_CONTAINER_CREDENTIALS_FULL_URI with
                        AWS_CONTAINER_AUTHORIZATION_TOKEN); AWS_PROFILE,
                        AWS_DEFAULT_PROFILE, the key variables (and
                        AWS_SECURITY_TOKEN), another endpoint's variables
                        (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE...) are taken
                        out of its environment;
                        AWS_REGION and AWS_DEFAULT_REGION come from the
                        profile's region. Exit status: CMD's. Not inside
                        another --exec (AWS_SSO_CREDENTIAL_PROCESS_EXEC set)
  --serve               the same endpoint in the foreground until stopped,
                        after printing the variables to set (in --format's
                        shell: env by default). --bind ADDR (127.0.0.1; on
                        169.254.170.2 the relative form,
                        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, port 80),
                        --port N (a free one), --socket PATH (a Unix socket,
                        0600, for containers that mount it)
  --upstream unix:PATH  (--exec, --serve) take the credentials from the socket
                        of a --serve --socket instead of a login here
  --install [--prefix DIR]    install the command aws-sso-credential-process in
                        DIR/bin (default ~/.local/bin), the script and its
                        compiled bytecode in DIR/share/aws-sso-credential-process,
                        and print the credential_process line to use
  --uninstall [--prefix DIR]  remove what --install wrote (nothing changed since)

Also honoured: AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_ENDPOINT_URL_SSO,
AWS_ENDPOINT_URL_SSO_OIDC, AWS_ENDPOINT_URL, [services] sections and
endpoint_url, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS /
ignore_configured_endpoint_urls, AWS_USE_FIPS_ENDPOINT / use_fips_endpoint,
AWS_USE_DUALSTACK_ENDPOINT / use_dualstack_endpoint, AWS_CA_BUNDLE /
ca_bundle, HTTPS_PROXY / HTTP_PROXY / NO_PROXY, BROWSER,
sso_registration_scopes, and these limits in seconds: AWS_SSO_CONNECT_TIMEOUT
(5), AWS_SSO_READ_TIMEOUT (15), AWS_SSO_LOGIN_TIMEOUT (600),
AWS_SSO_LOCK_TIMEOUT (600) and AWS_SSO_LIST_TIMEOUT (300).

Exit codes: 0 success, 1 login required, 2 usage or configuration error,
3 login failed, 4 no access to the account or role, 5 SSO service or network
failure, 6 timed out waiting for another process's login, 70 unexpected
error (a bug), 74 the output could not be written to stdout, 75 the program
that ran it went away while it waited, 126 / 127 --exec's command cannot
be run / was not found, 130 interrupted.

Needs only the Python standard library (3.8 or newer). Apache License 2.0.
"""

import sys

if sys.version_info < (3, 8):  # 3.7 ran by chance, untested; 3.6 failed with exit 70: one line and exit 2
    sys.stderr.write("aws-sso-credential-process: needs Python 3.8 or newer, and %s is Python %d.%d; run it "
                     "with python3.8 or newer\n" % ((sys.executable or "this",) + tuple(sys.version_info[:2])))
    sys.exit(2)

# From here on, Ctrl-C ends the run with one line and exit 130, never a
# traceback (run() then hands it to main() as KeyboardInterrupt). Before
# this line the interpreter is still starting (and, for a file run directly,
# compiling it): a Ctrl-C then is the interpreter's own, beyond any program.
# Only when this file runs as a program (directly, or from the launcher or a
# -c line), and not where Ctrl-C is ignored (nohup, a background job).
if (__name__ == "__main__" or sys.argv[:1] == ["-c"]) and __import__("_signal").getsignal(2) is not __import__(
        "_signal").SIG_IGN:
    __import__("_signal").signal(2, lambda *_: (sys.modules.get("posix", sys.modules.get("nt")).write(
        2, b"aws-sso-credential-process: interrupted\n"), sys.modules.get("posix", sys.modules.get("nt"))._exit(130)))

# The cache-hit path (the common call: an SDK refreshing credentials) is run
# thousands of times a day, so at module level this file imports only what
# an interpreter has loaded before it runs a line: sys, time and the C core
# of os (posix; nt on Windows). json, re, configparser, argparse, hashlib,
# urllib, ssl and threading cost more than the rest of a cache hit put
# together, and so does os itself in an isolated interpreter (-I -S, as the
# installed command runs): its _collections_abc import alone takes most of a
# millisecond. So the few calls a cache hit makes go to the C core, and every
# function that needs more imports os (or the others) itself; pyflakes flags
# one that forgets. A test checks that a cache hit loads none of them.
import time

try:
    import posix as _posix
except ImportError:  # pragma: no cover - Windows
    import nt as _posix


def _interrupted(signum=None, frame=None):
    """Ctrl-C outside main(): one line and exit 130, never a traceback."""
    _posix.write(2, b"aws-sso-credential-process: interrupted\n")
    _posix._exit(130)

_WINDOWS = sys.platform == "win32"

__version__ = "1.2.0"

PROG = "aws-sso-credential-process"


# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------


class Setting:
    """One row of the settings table: a setting's label, every place it can
    come from (its flag, its environment variable, its config key), the rule
    that parses it and its default. The table drives argument parsing,
    precedence (resolve_settings), --check's report, the debug log and the
    "missing" error.

    Rules: "text" (stripped; empty means unset), "switch" (this script's own
    true/false, also 1/0, yes/no, on/off), "boolean" (a setting botocore
    reads too, parsed by botocore's rule so the two never disagree), and
    "seconds" (a positive number up to 3600). `session`: the key is also
    read from the profile's [sso-session] section (the SSO settings are;
    botocore reads the endpoint and TLS ones from the profile only).
    `required`: "always", or "role" (only where role credentials are fetched).
    """

    __slots__ = ("attr", "label", "flag", "env", "key", "rule", "default", "session", "required")

    def __init__(self, attr, label, flag=None, env=None, key=None, rule="text", default=None, session=True,
                 required=None):
        self.attr, self.label, self.flag, self.env, self.key = attr, label, flag, env, key
        self.rule, self.default, self.session, self.required = rule, default, session, required


#: Every setting, in the order --check reports them. Precedence: flag >
#: environment variable > the --profile section > its [sso-session] > default.
SETTINGS = (
    Setting("account_id", "account ID", "--account-id", "AWS_SSO_ACCOUNT_ID", "sso_account_id", required="role"),
    Setting("role_name", "role name", "--role-name", "AWS_SSO_ROLE_NAME", "sso_role_name", required="role"),
    Setting("start_url", "start URL", "--start-url", "AWS_SSO_START_URL", "sso_start_url", required="always"),
    Setting("region", "SSO region", "--region", "AWS_SSO_REGION", "sso_region", required="always"),
    Setting("sso_session", "sso-session", "--sso-session", "AWS_SSO_SESSION", "sso_session"),
    Setting("interactive", "interactive login", "--interactive", "AWS_SSO_INTERACTIVE_AUTH", "sso_interactive_auth",
            "switch", False),
    Setting("use_device_code", "always device code", "--use-device-code", "AWS_SSO_USE_DEVICE_CODE",
            "sso_use_device_code", "switch", False),
    Setting("no_browser", "no browser", "--no-browser", "AWS_SSO_DISABLE_BROWSER", rule="switch", default=False),
    Setting("debug", "debug log", "--debug", "AWS_SSO_CREDENTIAL_PROCESS_DEBUG", rule="switch", default=False),
    Setting("connect_timeout", "connect timeout", env="AWS_SSO_CONNECT_TIMEOUT", rule="seconds", default=5.0),
    Setting("read_timeout", "read timeout", env="AWS_SSO_READ_TIMEOUT", rule="seconds", default=15.0),
    Setting("login_timeout", "login timeout", env="AWS_SSO_LOGIN_TIMEOUT", rule="seconds", default=600.0),
    Setting("lock_timeout", "lock timeout", env="AWS_SSO_LOCK_TIMEOUT", rule="seconds", default=600.0),
    Setting("list_timeout", "listing timeout", env="AWS_SSO_LIST_TIMEOUT", rule="seconds", default=300.0),
    Setting("fips", "FIPS endpoint", None, "AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint", "boolean", False, False),
    Setting("dualstack", "dual-stack", None, "AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint",
            "boolean", False, False),
    Setting("ignore_configured_endpoints", "ignore endpoints", None, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
            "ignore_configured_endpoint_urls", "boolean", False, False),
    Setting("ca_bundle", "CA bundle", None, "AWS_CA_BUNDLE", "ca_bundle", session=False),
)

#: The command-line words that are not settings: word -> (option, the value
#: it sets, or None when the next word is its value).
OPTIONS = {"--profile": ("profile", None), "--force-refresh": ("force_refresh", True), "-i": ("interactive", True),
           "--noninteractive": ("interactive", False), "-n": ("interactive", False),
           "--format": ("format", None), "--output": ("output", None), "--online": ("online", True),
           "--prefix": ("prefix", None), "--bind": ("bind", None), "--port": ("port", None),
           "--socket": ("socket", None), "--upstream": ("upstream", None)}

#: --format: the forms of `aws configure export-credentials`, each as the
#: line for one variable (its value already quoted for that shell).
FORMATS = {"process": None, "env": "export %s=%s", "env-no-export": "%s=%s", "powershell": "$Env:%s=%s",
           "windows-cmd": "set %s=%s", "fish": "set -gx %s %s"}
#: --check lists this many problems with credential_process lines at most
#: (a config with thousands of profiles would flood the terminal).
CHECK_SHOWN_PROBLEMS = 20

#: --output of --list.
LIST_OUTPUTS = ("table", "json", "config")

#: What --install writes: the launcher's name, and (under PREFIX/share) the
#: directory that holds the script and its bytecode.
LAUNCHER = "aws-sso-credential-process"
#: The first line after the launcher's shebang: how --uninstall knows its own.
LAUNCHER_MARK = "# aws-sso-credential-process launcher, written by --install"
#: What --install wrote (each file's SHA-256) and the directories it made,
#: kept beside the script for --uninstall.
INSTALL_RECORD = "install-record.json"

#: Role credentials with less than this left are not reused. botocore's
#: CachedCredentialFetcher uses the same 15 minutes, and below it botocore
#: re-runs credential_process on every credential access.
ROLE_CACHE_MIN_SECONDS = 15 * 60

#: A token file the AWS CLI is rewriting in place (its writes are not
#: atomic) is re-read for this long before it counts as broken.
TOKEN_READ_RETRY_SECONDS = 0.5

#: Refresh a refreshable token, or treat a registration as used up, once less
#: than this remains: botocore's SSOTokenProvider and the CLI use 15 minutes.
TOKEN_REFRESH_WINDOW = 15 * 60

#: After a refresh with a refresh token fails, no process tries that refresh
#: token again for this long: while the old token lasts it is used, after
#: that the failure is reported (botocore throttles to one attempt a minute).
REFRESH_RETRY_SECONDS = 60

#: The last second every SDK can parse (a five-digit year breaks them all).
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z

#: Files this script reads are capped: a config file at 4 MiB, a cache file
#: or an HTTP answer at 1 MiB (real ones are a few hundred bytes).
#: JSON nested deeper than this is refused (the files and answers read here
#: nest three deep at most).
JSON_MAX_DEPTH = 64
CONFIG_FILE_LIMIT = 4 << 20
CACHE_FILE_LIMIT = 1 << 20
HTTP_BODY_LIMIT = 1 << 20

#: Temporary files are named <target>.<pid>.<random><TEMP_SUFFIX>; one left
#: by a writer that was killed is removed by the next write in its directory
#: once it is this old.
TEMP_SUFFIX = ".aws-sso-credential-process.tmp"
STALE_TEMP_SECONDS = 60

#: OIDC as the AWS CLI v2 speaks it: the scope without which the service
#: issues no refresh token, the device-code grant's URN (RFC 8628), the
#: grants a PKCE client registers, and its redirect URI.
DEFAULT_SCOPES = ["sso:account:access"]
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PKCE_GRANTS = ["authorization_code", "refresh_token"]
PKCE_REDIRECT = "http://127.0.0.1/oauth/callback"  # registered without the port (RFC 8252)
PKCE_VERIFIER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

#: Failures the user must act on (log in, fix the configuration, retry the
#: login, check the role, the network): also said on the controlling terminal.
ACT_ON_EXIT_CODES = (1, 2, 3, 4, 5)

#: RFC 8628 3.2 and 3.5: poll every 5 s unless told otherwise, 5 s slower
#: after each slow_down. An interval outside 1-60 s is clamped into it.
DEVICE_INTERVAL, DEVICE_INTERVAL_MIN, DEVICE_INTERVAL_MAX = 5, 1, 60

#: This script's HTTP servers (the PKCE callback, the credentials endpoint):
#: every connection must deliver its request's head, at most
#: SERVER_HEAD_LIMIT bytes, within SERVER_CONNECTION_SECONDS (an idle
#: pre-connect or a byte-a-second drip holds only itself); beyond
#: SERVER_MAX_CONNECTIONS open at once, a new one pushes out the oldest that
#: has not sent its request yet (so idle clients can never crowd out a
#: browser or an SDK, nor cut one that is being answered).
SERVER_CONNECTION_SECONDS = 5.0
SERVER_MAX_CONNECTIONS = 64
SERVER_HEAD_LIMIT = 16384

#: Browsers that would take over the terminal the SDK is running in.
TEXT_BROWSERS = frozenset(("lynx", "links", "links2", "elinks", "w3m", "www-browser", "browsh",
                           "netrik", "retawq", "edbrowse", "carbonyl"))

#: HTTP: attempts per call, backoff cap and base.
HTTP_ATTEMPTS = 3
#: --list and --logout page through every account: they wait out throttling
#: longer (8 attempts, about 20 s of backoff at most). A paged listing (the
#: accounts, one account's roles) stops with exit 5 past LIST_MAX_PAGES
#: pages (100,000 accounts at 100 a page), and the whole listing of a run
#: past AWS_SSO_LIST_TIMEOUT seconds (list_timeout, 300 by default).
LIST_ATTEMPTS = 8
LIST_MAX_PAGES = 1000
HTTP_BACKOFF_BASE = 0.5
HTTP_BACKOFF_CAP = 4.0

#: Partitions in botocore's partitions.json order: (name, region pattern,
#: DNS suffix, dual-stack DNS suffix, regions listed by name). As in
#: botocore's endpoint rules, a region listed by name belongs to that
#: partition first; otherwise the first pattern that matches wins, and a
#: region matching none is in "aws". A pattern is the region's dash-separated
#: words: a tuple of allowed words, or "w" (a word) or "d" (digits).
PARTITIONS = (
    ("aws", (("us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"), "w", "d"),
     "amazonaws.com", "api.aws", ("aws-global",)),
    ("aws-cn", (("cn",), "w", "d"), "amazonaws.com.cn", "api.amazonwebservices.com.cn", ("aws-cn-global",)),
    ("aws-eusc", (("eusc",), ("de",), "w", "d"), "amazonaws.eu", "api.amazonwebservices.eu", ()),
    ("aws-iso", (("us",), ("iso",), "w", "d"), "c2s.ic.gov", "api.aws.ic.gov", ("aws-iso-global",)),
    ("aws-iso-b", (("us",), ("isob",), "w", "d"), "sc2s.sgov.gov", "api.aws.scloud", ("aws-iso-b-global",)),
    ("aws-iso-e", (("eu",), ("isoe",), "w", "d"), "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk",
     ("aws-iso-e-global",)),
    ("aws-iso-f", (("us",), ("isof",), "w", "d"), "csp.hci.ic.gov", "api.aws.hci.ic.gov", ("aws-iso-f-global",)),
    ("aws-us-gov", (("us",), ("gov",), "w", "d"), "amazonaws.com", "api.aws", ("aws-us-gov-global",)),
)

LOG_FILE = (".aws", "sso", "aws-sso-credential-process-log.txt")
TOKEN_CACHE_DIR = (".aws", "sso", "cache")
ROLE_CACHE_DIR = (".aws", "cli", "cache")


# --------------------------------------------------------------------------
# Errors: one class per failure a user can act on, each with its exit code
# --------------------------------------------------------------------------


class Error(Exception):
    """A failure explained to the user in one line on stderr."""

    exit_code = 70


class ConfigError(Error):
    """Bad arguments or configuration."""

    exit_code = 2


class LoginRequired(Error):
    """No usable SSO login: the user must log in."""

    exit_code = 1


class LoginFailed(Error):
    """An interactive login was attempted and did not complete."""

    exit_code = 3


class AccessDenied(Error):
    """The login works but gives no access to this account and role."""

    exit_code = 4


class ServiceError(Error):
    """The SSO service failed, could not be reached, or answered nonsense."""

    exit_code = 5


class Busy(Error):
    """Another process held the lock (logging in or refreshing) for too long."""

    exit_code = 6


class CallerGone(Error):
    """The program that ran this one went away while it waited for a lock, a
    retry or another process's login: there is no one to deliver to."""

    exit_code = 75


class CommandError(Error):
    """--exec: the command cannot be found or run (127 or 126, as a shell says)."""

    exit_code = 127

    def __init__(self, message, exit_code):
        Error.__init__(self, message)
        self.exit_code = exit_code


class OutputError(Error):
    """stdout is closed or full: the credentials cannot be delivered."""

    exit_code = 74


class OidcError(ServiceError):
    """An error answer from the OIDC service, with the code botocore would see."""

    def __init__(self, operation, code, message):
        self.code = code
        self.detail = "%s: %s" % (code, message) if message else code
        ServiceError.__init__(self, "SSO OIDC %s failed (%s)" % (operation, self.detail))


def error_class(name):
    """The Error subclass with this name, or None (for failure notes)."""
    classes = [Error]
    while classes:
        cls = classes.pop()
        if cls.__name__ == name:
            return cls
        classes.extend(cls.__subclasses__())
    return None


# --------------------------------------------------------------------------
# Small pure helpers: time, hashing, JSON, text, paths
# --------------------------------------------------------------------------


_DIGITS = frozenset("0123456789")


def _num(text, lo, hi):
    if not text or not _DIGITS.issuperset(text):
        raise ValueError("not a number: %r" % text)
    value = int(text)
    if not lo <= value <= hi:
        raise ValueError("out of range: %r" % text)
    return value


def _days_from_civil(y, m, d):
    # Howard Hinnant's days_from_civil: days since 1970-01-01, proleptic
    # Gregorian. Spares importing datetime (and calendar) on the hot path.
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_time(text):
    """Epoch seconds from an RFC 3339 / ISO 8601 UTC-or-offset timestamp.

    Accepts every form the SDKs write: ``Z``, ``UTC``/``GMT``, ``+00:00``,
    ``+0000``, fractional seconds, ``T`` or a space. A timestamp without a
    zone is taken as UTC. Raises ValueError for anything else, and for a
    time outside 1970 to 9999-12-31T23:59:59Z (what every SDK can parse).
    """
    if not isinstance(text, str):
        raise ValueError("timestamp is not a string")
    s = text.strip()
    if (len(s) < 19 or s[4] != "-" or s[7] != "-" or s[10] not in "Tt "
            or s[13] != ":" or s[16] != ":"):
        raise ValueError("not a timestamp: %r" % text)
    year, month = _num(s[0:4], 1, 9999), _num(s[5:7], 1, 12)
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    day = _days_from_civil(year, month, _num(s[8:10], 1, (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30,
                                                          31, 30, 31)[month - 1]))
    seconds = _num(s[11:13], 0, 23) * 3600 + _num(s[14:16], 0, 59) * 60 + _num(s[17:19], 0, 60)
    rest = s[19:]
    fraction = 0.0
    if rest[:1] in (".", ","):
        end = 1
        while end < len(rest) and rest[end] in _DIGITS:
            end += 1
        if end == 1:
            raise ValueError("bad fraction: %r" % text)
        fraction = float("0." + rest[1:end])
        rest = rest[end:]
    rest = rest.strip()
    if rest in ("", "Z", "z", "UTC", "GMT"):
        offset = 0
    elif rest[:1] in ("+", "-") and (len(rest) in (3, 5) or (len(rest) == 6 and rest[3] == ":")):
        minutes = _num(rest[1:3], 0, 23) * 60 + (_num(rest[-2:], 0, 59) if len(rest) > 3 else 0)
        offset = (-60 if rest[0] == "-" else 60) * minutes
    else:
        raise ValueError("bad zone: %r" % text)
    epoch = day * 86400 + seconds + fraction - offset
    if not 0 <= epoch <= MAX_EPOCH:
        raise ValueError("out of range: %r" % text)
    return epoch


def format_time(epoch):
    """``YYYY-MM-DDTHH:MM:SSZ``, the one format every SDK parses; ValueError
    for a time it cannot express."""
    if not 0 <= epoch <= MAX_EPOCH:  # also false for NaN
        raise ValueError("time out of range: %r" % (epoch,))
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % time.gmtime(int(epoch))[:6]


def service_number(value, what, lo, hi):
    """A finite number from a service answer within [lo, hi], as an int;
    ValueError (naming `what`, never the value) for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ValueError("%s is missing or out of range" % what)
    return int(value)


def sha1_hex(text):
    """Lowercase hex SHA-1 of the UTF-8 text: how the AWS CLI names cache files."""
    try:  # the builtin module costs a tenth of hashlib's OpenSSL import
        from _sha1 import sha1
    except ImportError:  # pragma: no cover - builds without _sha1
        from hashlib import sha1
    return sha1(text.encode("utf-8")).hexdigest()


def _json_depth(s):
    """How deeply the arrays and objects in JSON text nest (strings skipped).
    Checked before parsing: the parser's own limit is the interpreter's
    recursion limit, and hitting it with a deep stack can crash CPython 3.8."""
    depth = deepest = 0
    in_string = escaped = False
    for c in s:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


class _JsonScanner:
    """The attributes json.JSONDecoder hands the C scanner."""

    strict = True
    object_hook = object_pairs_hook = None
    parse_float, parse_int = float, int
    parse_constant = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.__getitem__


def json_loads(text):
    """Parse JSON text; ValueError if it is not exactly one JSON document
    or nests more than JSON_MAX_DEPTH deep.

    The json package imports re at import time, which alone costs about half
    of a bare interpreter start; its C scanner does the same work without it.
    """
    s = text.strip(" \t\n\r")  # JSON's whitespace
    if s.count("[") + s.count("{") > JSON_MAX_DEPTH and _json_depth(s) > JSON_MAX_DEPTH:
        raise ValueError("JSON nested more than %d deep" % JSON_MAX_DEPTH)
    try:
        from _json import make_scanner
    except ImportError:  # pragma: no cover - CPython always has _json
        import json
        return json.loads(text)
    try:
        value, end = make_scanner(_JsonScanner)(s, 0)
        if end == len(s):
            return value
    except (StopIteration, ValueError, SystemError):
        # StopIteration: no JSON value where the text starts. The scanner
        # builds its other errors from json.decoder, which this script never
        # loads itself; where that is not loaded, some versions raise
        # SystemError instead. Either way, json says precisely what is wrong.
        pass
    import json
    return json.loads(s)  # raises: the text is not exactly one JSON document


def json_str(value):
    """A JSON string literal, byte-identical to json.dumps()."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return '"%s"' % value  # what json.dumps writes for plain ASCII, without loading _json
    try:
        from _json import encode_basestring_ascii
    except ImportError:  # pragma: no cover
        import json
        return json.dumps(value)
    return encode_basestring_ascii(value)


def _left(seconds):
    """A duration for people: 7h 59m, 12m, 30s."""
    seconds = int(seconds)
    if seconds >= 3600:
        return "%dh %02dm" % (seconds // 3600, seconds % 3600 // 60)
    return "%dm" % (seconds // 60) if seconds >= 60 else "%ds" % seconds


def printable(text):
    """text with every non-printable character escaped (ESC as \\x1b, CR as
    \\r...), so that nothing from the network or a file can move the cursor,
    ring the bell or rewrite a line on the user's terminal or in a log."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def one_line(text):
    """One printable line: whitespace collapsed, control characters escaped."""
    return printable(" ".join(str(text).split()))


def quoted(value):
    """A value shown in a message: in quotes, on one line, controls escaped."""
    return "'%s'" % one_line(value)


def clip(text, limit=300):
    """At most `limit` characters of one line of text (service messages)."""
    text = one_line(text)
    return text if len(text) <= limit else text[:limit] + "..."


def is_token_text(value):
    """Whether value looks like a token, key or client ID: printable ASCII
    without spaces. Anything else is corrupt and must never be sent (it would
    break the request, or smuggle headers into it)."""
    return isinstance(value, str) and value.isascii() and value.isprintable() and " " not in value and value != ""


def utf8_text(value, where):
    """value, if it is valid text; ConfigError naming where it came from if
    it holds bytes that are not UTF-8 (argv and environ carry them escaped)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError("%s is not valid UTF-8 text" % where)
    return value


def process_environ():
    """The process's environment, as str: os.environ if os is loaded anyway,
    else decoded from the C core's bytes exactly as os decodes it."""
    if "os" in sys.modules or _WINDOWS:
        import os
        return os.environ
    encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    return dict((k.decode(encoding, errors), v.decode(encoding, errors)) for k, v in _posix.environ.items())


def home_dir(environ):
    """The home directory as the AWS CLI sees it (os.path.expanduser rules)."""
    if _WINDOWS:  # pragma: no cover - exercised on Windows only
        if environ.get("USERPROFILE"):
            return environ["USERPROFILE"]
        if environ.get("HOMEPATH"):
            return environ.get("HOMEDRIVE", "") + environ["HOMEPATH"]
    elif "HOME" in environ:
        return environ["HOME"].rstrip("/") or "/"
    import os
    return os.path.expanduser("~")  # pragma: no cover - tests always set HOME


def join_path(base, *parts):
    """os.path.join for relative parts, without importing os on POSIX."""
    if _WINDOWS:  # pragma: no cover - Windows
        import os
        return os.path.join(base, *parts)
    return "/".join((base.rstrip("/"),) + parts) if base.rstrip("/") else "/" + "/".join(parts)


def home_path(environ, parts, name=None):
    """A path under the home directory: parts, then name if given."""
    return join_path(home_dir(environ), *(parts + ((name,) if name else ())))


def expand_vars(path, environ):
    """os.path.expandvars (POSIX rules) over the given environment: ``$NAME``
    (ASCII letters, digits, _) and ``${NAME}`` are replaced when set and left
    as they are otherwise; nothing else (``$$`` included) changes."""
    out, i = [], 0
    while i < len(path):
        if path[i] == "$":
            if path[i + 1:i + 2] == "{":
                end = path.find("}", i + 2)
                name, after = (path[i + 2:end], end + 1) if end >= 0 else (None, i + 1)
            else:
                end = i + 1
                while end < len(path) and path[end].isascii() and (path[end].isalnum() or path[end] == "_"):
                    end += 1
                name, after = path[i + 1:end], end
            if name and name in environ:
                out.append(environ[name])
                i = after
                continue
        out.append(path[i])
        i += 1
    return "".join(out)


def expand_path(path, environ):
    """``$VAR``/``${VAR}`` then ``~`` expansion, as botocore does for AWS_CONFIG_FILE."""
    if "$" in path:
        path = expand_vars(path, environ)
    if path == "~" or path.startswith("~/") or (_WINDOWS and path.startswith("~\\")):
        return home_dir(environ) + path[1:]
    if not path.startswith("~"):
        return path
    import os
    return os.path.expanduser(path)  # ~user


# --------------------------------------------------------------------------
# Files and streams: bounded reads, atomic writes, no symlink games, the debug log
# --------------------------------------------------------------------------


#: Flags for every file this script opens: never become the controlling
#: terminal, never leak into the browser it starts, never block on a FIFO.
_OPEN_FLAGS = (getattr(_posix, "O_CLOEXEC", 0) | getattr(_posix, "O_NOCTTY", 0) | getattr(_posix, "O_NONBLOCK", 0)
               | getattr(_posix, "O_BINARY", 0))
#: ... and for files it writes: never follow a symbolic link.
_NOFOLLOW = getattr(_posix, "O_NOFOLLOW", 0)


class NotAFile(OSError):
    """A path that holds something other than a regular file of sane size."""


def _kind(mode):
    import stat
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "not a regular file"  # pragma: no cover - no other kinds on Linux


def read_regular_file(path, limit):
    """The bytes of path. FileNotFoundError if it is missing; NotAFile if it
    is a directory, FIFO, socket or device (opened without blocking, never
    read) or larger than limit; other OSErrors as they come."""
    fd = _posix.open(path, _posix.O_RDONLY | _OPEN_FLAGS)
    try:
        st = _posix.fstat(fd)
        if st.st_mode & 0o170000 != 0o100000:  # stat.S_ISREG, without importing stat
            raise NotAFile("%s is %s, not a file" % (path, _kind(st.st_mode)))
        chunks, size = [], 0
        while True:
            chunk = _posix.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise NotAFile("%s is larger than %d bytes" % (path, limit))
            chunks.append(chunk)
    finally:
        _posix.close(fd)


def is_file(path):
    """os.path.isfile, without importing os: a stat (following links)."""
    try:
        return _posix.stat(path).st_mode & 0o170000 == 0o100000
    except (OSError, ValueError):
        return False


def read_json_file(path, limit=CACHE_FILE_LIMIT):
    """The JSON object in a cache file; OSError or ValueError saying why not."""
    value = json_loads(read_regular_file(path, limit).decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def make_dirs(path):
    """Create path and missing parents with mode 0700 (existing ones untouched)."""
    import os
    if not path or os.path.isdir(path):
        return
    make_dirs(os.path.dirname(path))
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return
    os.chmod(path, 0o700)  # regardless of umask


def open_private(path, flags, replace_link=False):
    """Open (creating it 0600) a file this script owns: never through a
    symbolic link (with replace_link, one found there is removed, never its
    target; otherwise it is an error), and only a regular file, whose mode is
    tightened to 0600 if it was looser."""
    import os
    import stat
    for attempt in (1, 2):
        try:
            fd = os.open(path, flags | os.O_CREAT | _OPEN_FLAGS | _NOFOLLOW, 0o600)
            break
        except OSError:
            if attempt == 2 or not replace_link or not os.path.islink(path):
                raise
            os.unlink(path)  # a planted link: remove the link itself, then create our file
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotAFile("%s is %s, not a file" % (path, _kind(st.st_mode)))
    if st.st_mode & 0o077 and hasattr(os, "fchmod"):
        try:
            os.fchmod(fd, 0o600)
        except OSError:  # pragma: no cover - someone else's file: leave it
            pass
    return fd


def sweep_temp_files(directory):
    """Remove temporary files this script left in directory more than a
    minute ago (a writer killed mid-write leaves one, possibly holding
    credentials, that nothing else would ever remove)."""
    import os
    cutoff = time.time() - STALE_TEMP_SECONDS
    try:
        names = [n for n in os.listdir(directory) if n.endswith(TEMP_SUFFIX)]
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        try:
            if os.lstat(path).st_mtime < cutoff:
                os.unlink(path)
        except OSError:
            pass


def replace_file(path, data, mode=0o600):
    """Write bytes to path through a temporary file in the same directory
    (0600 while written, created exclusively, never through a link), flushed,
    given its mode and renamed over path, so that no reader (us, the CLI, an
    SDK, a process starting the installed command) ever sees a partial file."""
    import os
    tmp = "%s.%d.%s%s" % (path, os.getpid(), os.urandom(4).hex(), TEMP_SUFFIX)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _OPEN_FLAGS | _NOFOLLOW, 0o600)
    try:
        try:
            while data:
                data = data[os.write(fd, data):]
            os.fsync(fd)
            if mode != 0o600 and hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_file_atomic(path, text):
    """A cache file: its directory made (0700) and swept of stale temporary
    files, then text written by replace_file with mode 0600."""
    import os
    directory = os.path.dirname(path)
    make_dirs(directory)
    sweep_temp_files(directory)
    replace_file(path, text.encode("utf-8"))


def _remove(path, removed):
    import os
    try:
        os.unlink(path)
        removed.append(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise ConfigError("cannot remove %s: %s (run this as its owner)" % (path, one_line(e)))


def write_stream(stream, text):
    """Write and flush; False if the stream is missing, closed or full. A
    failed standard stream is pointed at /dev/null, so that the interpreter's
    own flush at exit cannot print a traceback about it."""
    try:
        if hasattr(_posix, "set_blocking"):  # a caller's non-blocking pipe must not get half a line
            try:
                _posix.set_blocking(stream.fileno(), True)
            except (OSError, ValueError, AttributeError):
                pass
        try:
            stream.write(text)
        except UnicodeEncodeError:  # a lone surrogate, or a locale that lacks a character: escaped, not lost
            encoding = getattr(stream, "encoding", None) or "utf-8"
            stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
        stream.flush()
        return True
    except (OSError, ValueError, AttributeError):
        import os
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass
        return False


class Log:
    """The --debug log (append-only, mode 0600) and the redaction shared by
    everything the user can see.

    Every value passed to :meth:`hide` is replaced by ``<redacted>`` in every
    log line, error message and failure note, whatever text carries it. When
    debug is off, a log call costs one attribute check. A log that cannot be
    opened or written is dropped with a warning, never a failure.
    """

    LIMIT = 1 << 20  # truncated when it grows past 1 MiB

    def __init__(self, path=None):
        self._fd = self.path = self.problem = None
        self._hidden = set()
        if path:
            import os
            try:
                make_dirs(os.path.dirname(path))
                fd = open_private(path, os.O_WRONLY | os.O_APPEND)
            except OSError as e:
                why = "it is a symbolic link" if os.path.islink(path) else one_line(e)
                self.problem = "cannot write the debug log %s: %s" % (path, why)
                return
            try:
                if os.fstat(fd).st_size > self.LIMIT:
                    os.ftruncate(fd, 0)
            except OSError:  # pragma: no cover - fstat on an open file
                pass
            self._fd, self.path = fd, path

    @property
    def enabled(self):
        return self._fd is not None

    def hide(self, *values):
        """Redact these values (and their JSON-escaped forms) wherever they appear."""
        for v in values:
            if isinstance(v, str) and len(v) >= 4:
                self._hidden.add(v)
                escaped = json_str(v)[1:-1]
                if escaped != v:
                    self._hidden.add(escaped)

    def redact(self, text):
        for s in sorted(self._hidden, key=len, reverse=True):
            text = text.replace(s, "<redacted>")
        return text

    def public(self, text):
        """The one line the user may see: secrets redacted, controls escaped."""
        return one_line(self.redact(str(text)))

    def __call__(self, msg, *args):
        fd = self._fd  # once: a callback-server thread may log while main closes the log
        if fd is None:
            return
        import os
        text = self.redact(msg % args if args else msg)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = "%s [%d] %s\n" % (stamp, os.getpid(), "\n".join(printable(x) for x in text.split("\n")))
        try:
            os.write(fd, line.encode("utf-8", "replace"))
        except OSError as e:  # a full disk: stop logging, go on working
            self.close()
            self.problem = "the debug log %s could not be written (%s); it stops here" % (self.path, one_line(e))

    def close(self):
        if self._fd is not None:
            try:
                _posix.close(self._fd)
            except OSError:  # pragma: no cover
                pass
            self._fd = None


# --------------------------------------------------------------------------
# Configuration: the config file, URLs and proxies, endpoints, precedence
# --------------------------------------------------------------------------


class _IniFallback(Exception):
    """The fast INI reader met something only configparser gets exactly right."""


def _ini_fast(text):
    """Read an INI file the way configparser.RawConfigParser does.

    Covers what AWS config files contain: sections, ``=``/``:`` options,
    whole-line ``#``/``;`` comments, indented continuation lines and blank
    lines inside values. Errors, ``[DEFAULT]`` and unusual section headers
    raise _IniFallback so that configparser itself decides (and words the
    error). test_script.py checks the two agree on a corpus of files.
    """
    sections = {}
    section = option = None
    indent_level = 0
    for raw in text.split("\n"):
        value = raw.strip()
        if not value or value[0] in "#;":
            if not value and option is not None:
                section[option].append("")
            continue
        indent = len(raw) - len(raw.lstrip())
        if option is not None and indent > indent_level:
            section[option].append(value)
            continue
        indent_level = indent
        if value[0] == "[":
            name = value[1:-1]
            if (value[-1] != "]" or not name or "]" in name or "[" in name
                    or name == "DEFAULT" or name in sections):
                raise _IniFallback()
            section = sections[name] = {}
            option = None
            continue
        if section is None:
            raise _IniFallback()
        cut = min(i for i in (value.find("="), value.find(":"), len(value)) if i >= 0)
        key = value[:cut].rstrip().lower()
        if cut == len(value) or not key or key in section:
            raise _IniFallback()
        option = key
        section[key] = [value[cut + 1:].strip()]
    return dict((name, dict((k, "\n".join(v).rstrip()) for k, v in opts.items()))
                for name, opts in sections.items())


def _ini_configparser(text, path):
    import configparser
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=path)
    except configparser.Error as e:
        raise ConfigError("cannot parse config file %s: %s" % (path, one_line(e)))
    return dict((s, dict((k, parser.get(s, k)) for k in parser.options(s)))
                for s in parser.sections())


def shell_split(text):
    """shlex.split(text), as botocore splits section headers and
    credential_process lines; ValueError for an unclosed quote. Plain ASCII
    text without quotes, backslashes or the whitespace only str.split knows
    splits the same with str.split, which costs neither the import nor
    shlex's 40 µs a line (seconds, over a large config)."""
    if text.isascii() and not any(c in text for c in "\"'\\\x0b\x0c\x1c\x1d\x1e\x1f"):
        return text.split()
    import shlex
    return shlex.split(text)


def line_options(line):
    """The --flag values in a credential_process line (both --flag value and
    --flag=value), as botocore would split it; {} if it cannot be split."""
    try:
        argv = shell_split(line)
    except ValueError:
        return {}
    found = {}
    for i, arg in enumerate(argv):
        name, eq, value = arg.partition("=")
        if name.startswith("--") and (eq or i + 1 < len(argv)):
            found[name] = value if eq else argv[i + 1]
    return found


def _section_name(header, prefix):
    """NAME from ``[prefix NAME]`` (quotes allowed), or None, as botocore does."""
    if not header.startswith(prefix):
        return None
    try:
        parts = shell_split(header)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 else None


def parse_nested(value, where):
    """The indented ``key = value`` block of a value that starts on the next
    line (a [services] entry), as botocore parses it; ConfigError naming the
    line that is not ``key = value``."""
    nested = {}
    for line in value.splitlines():
        line = line.strip()
        if line:
            key, eq, val = line.partition("=")
            if not eq:
                raise ConfigError("cannot parse %s: the line %s is not 'key = value' (botocore and the AWS CLI "
                                  "refuse the whole file too)" % (where, quoted(line)))
            nested[key.strip()] = val.strip()
    return nested


def load_config_file(path):
    """``{"profiles", "sso_sessions", "services"}`` maps as botocore builds them.

    A missing file gives empty maps, as in botocore. Like botocore, refuses a
    file in which any value that starts on the next line is not a block of
    ``key = value`` lines.
    """
    try:  # universal newlines, as botocore's open() reads the file
        text = read_regular_file(path, CONFIG_FILE_LIMIT).decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except FileNotFoundError:
        text = ""
    except NotADirectoryError:  # a file where a directory of the path should be
        text = ""
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError("cannot read config file %s: %s" % (path, one_line(e)))
    try:
        raw = _ini_fast(text)
    except _IniFallback:
        raw = _ini_configparser(text, path)
    config = {"profiles": {}, "sso_sessions": {}, "services": {}}
    for header, values in raw.items():
        for key, value in values.items():
            if value.startswith("\n"):
                parse_nested(value, "config file %s, [%s] %s" % (path, header, key))
        for prefix, kind in (("profile", "profiles"), ("sso-session", "sso_sessions"),
                             ("services", "services")):
            if header.startswith(prefix):
                name = _section_name(header, prefix)
                if name is not None:
                    config[kind][name] = values
                break
        else:
            if header == "default":  # a later [profile default] replaces it, and vice versa
                config["profiles"]["default"] = values
    return config


def url_origin(url):
    """``scheme://host[:port]`` of a URL, the host and port as written (what
    botocore matches NO_PROXY against, and what the proxy table is keyed by)."""
    scheme, _, rest = url.partition("://")
    return "%s://%s" % (scheme.lower(), rest.partition("/")[0])


def hide_userinfo(url):
    """url with everything before its last @ (a user name and password, even
    one holding a / or a #) replaced by ***, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    return "%s%s***@%s" % (scheme, sep, rest.rpartition("@")[2])


def _is_ipv6(text):
    import _socket  # only for a URL with an IPv6 literal; the C module imports nothing else
    try:
        _socket.inet_pton(_socket.AF_INET6, text)
    except (OSError, ValueError):
        return False
    return True


def _is_hostname(host, strict):
    """A DNS name (labels of letters, digits and hyphens) or an IPv4 address;
    underscores too unless strict (botocore's endpoint check refuses them)."""
    name = host[:-1] if host.endswith(".") else host
    allowed = "-" if strict else "-_"
    return 0 < len(name) <= 255 and all(
        0 < len(label) <= 63 and label[0] != "-" and label[-1] != "-"
        and all(c.isascii() and (c.isalnum() or c in allowed) for c in label)
        for label in name.split("."))


def split_url(url, strict=False):
    """(scheme, host, port or None, userinfo or None, path) of an http(s)
    URL, or ValueError saying what is wrong with it. strict: the host must be
    a DNS name or an IP address, as botocore requires of an endpoint."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in ("http", "https"):
        raise ValueError("must start with https:// or http://")
    if "?" in rest or "#" in rest:
        raise ValueError("must not have a query or a fragment")
    netloc, slash, path = rest.partition("/")
    if not all(c.isascii() and c.isprintable() and c != " " for c in path):
        raise ValueError("has a path with spaces, control or non-ASCII characters (percent-encode them)")
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        host, bracket, after = hostport.partition("]")
        host += bracket
        if "%" in host:
            raise ValueError("has an IPv6 zone ID, which is not supported")
        if not bracket or not _is_ipv6(host[1:-1]) or (after and after[0] != ":"):
            raise ValueError("has a malformed IPv6 address")
        port = after[1:] if after else None
    else:
        host, colon, port = hostport.partition(":")
        port = port if colon else None
        if not _is_hostname(host, strict):
            raise ValueError("has no valid host name")
    if port and (not _DIGITS.issuperset(port) or not 0 < int(port) <= 65535):
        raise ValueError("has a bad port (ports are 1-65535)")  # not echoed: it may be half a password
    return scheme, host.lower(), int(port) if port else None, userinfo if at else None, slash + path


def check_proxy(proxy):
    """ValueError unless the proxy URL is one this script can use."""
    scheme, _, _, _, _ = split_url(proxy)
    if scheme != "http":
        raise ValueError("is an https:// proxy; only http:// proxies are supported (HTTPS still goes "
                         "through them in a CONNECT tunnel)")


def _bypass_proxy(netloc, no_proxy):
    """urllib.request.proxy_bypass_environment for host:port netloc."""
    if no_proxy == "*":
        return True
    host = netloc.lower()
    head, colon, port = host.rpartition(":")
    hostonly = head if colon and port and _DIGITS.issuperset(port) else host
    for name in no_proxy.split(","):
        name = name.strip().lstrip(".").lower()
        if name and (name in (hostonly, host) or hostonly.endswith("." + name) or host.endswith("." + name)):
            return True
    return False


def proxy_for(scheme, netloc, environ):
    """(proxy URL, variable it came from) for scheme://netloc, by urllib's
    rules as botocore applies them, or (None, None): <scheme>_proxy in any
    case, a name ending in a lowercase "_proxy" winning (and unsetting it when
    empty); HTTP_PROXY ignored under CGI (REQUEST_METHOD set); NO_PROXY a
    list of hosts and domain suffixes matched with and without the port,
    ``*`` meaning all. A URL without a scheme gets http:// as botocore gives it."""
    found = {}
    # only the names that end in _proxy, in any case (lowering every name of
    # a large environment was the cache hit's costliest step)
    candidates = [(k, v) for k, v in environ.items() if len(k) > 6 and k[-6] == "_" and k[-5:].lower() == "proxy"]
    for second_pass in (False, True):
        for key, value in candidates:
            lower = key.lower()
            if lower not in (scheme + "_proxy", "no_proxy") or (second_pass and key[-6:] != "_proxy"):
                continue
            if value:
                found[lower] = (utf8_text(value, key), key)
            elif second_pass:
                found.pop(lower, None)
        if not second_pass and "REQUEST_METHOD" in environ and scheme == "http":
            found.pop("http_proxy", None)
    proxy, origin = found.get(scheme + "_proxy", (None, None))
    if not proxy or _bypass_proxy(netloc, found.get("no_proxy", ("", None))[0]):
        return None, None
    if not proxy.startswith(("http:", "https:")):
        proxy = "http:" + proxy if proxy.startswith("//") else "http://" + proxy
    return proxy, origin


def partition_of(region):
    """The PARTITIONS row of a region, as botocore's aws.partition rule picks it."""
    for partition in PARTITIONS:
        if region in partition[4]:
            return partition
    words = region.split("-")
    for partition in PARTITIONS:
        pattern = partition[1]
        if len(words) == len(pattern) and all(
                word in rule if isinstance(rule, tuple) else word.isdigit() if rule == "d" else word != ""
                for word, rule in zip(words, pattern)):
            return partition
    return PARTITIONS[0]


def parse_setting(setting, value, origin):
    """A setting's value from text (a flag's value, a variable, a config key)
    by its rule, or a switch flag's True/False; ConfigError naming where a
    bad value came from."""
    if isinstance(value, bool):
        return value
    value = utf8_text(value, origin)
    if setting.rule == "switch":
        v = value.strip().lower()
        if v in ("true", "1", "yes", "on", "false", "0", "no", "off", ""):
            return v in ("true", "1", "yes", "on")
        raise ConfigError("%s must be true or false, not %s" % (origin, quoted(value)))
    if setting.rule == "boolean":  # exactly true/false in any case: botocore takes anything else as false
        if value.lower() in ("true", "false", ""):
            return value.lower() == "true"
        raise ConfigError("%s must be true or false, not %s (botocore and the AWS CLI would read it as false)"
                          % (origin, quoted(value)))
    if setting.rule == "seconds":
        try:
            seconds = float(value)
            if 0 < seconds <= 3600:  # also false for nan
                return seconds
        except ValueError:
            pass
        raise ConfigError("%s must be a number of seconds up to 3600, not %s" % (origin, quoted(value)))
    return value


def setting_from_environ(setting, environ):
    """A setting's environment variable, or None. botocore's rule for its own
    booleans: set, even to "", the variable wins, its value not stripped;
    this script's own variables are stripped, and empty means unset."""
    if setting.env is None:
        return None
    if setting.rule == "boolean":
        return environ.get(setting.env)
    return (environ.get(setting.env) or "").strip() or None


class Config:
    """Every setting of one run, resolved once, and where each came from."""

    profile = scopes = portal_url = oidc_url = config_path = None
    force_refresh = False

    def __init__(self, environ=None):
        self.environ = {} if environ is None else environ
        for s in SETTINGS:
            setattr(self, s.attr, s.default)
        self.origin = {}  # attribute -> "--flag", "ENV_VAR", "key in profile 'x'" or "key in sso-session 'y'"
        self.profile_section = {}
        self.session_section = {}
        self.file = {"profiles": {}, "sso_sessions": {}, "services": {}}
        self.proxies = {}  # "scheme://host:port" of an endpoint -> (proxy URL, where it came from)

    def env(self, name):
        """An environment variable's value, stripped; None if unset or empty."""
        value = (self.environ.get(name) or "").strip()
        return utf8_text(value, name) if value else None

    def set(self, setting, value, origin):
        setattr(self, setting.attr, parse_setting(setting, value, origin))
        self.origin[setting.attr] = origin

    def describe(self):
        """One line for the debug log: every setting given, and its source."""
        return ", ".join("%s=%s (%s)" % (s.attr, getattr(self, s.attr), self.origin[s.attr])
                         for s in SETTINGS if s.attr in self.origin)


def configured_endpoint(cfg, service):
    """(URL, where from) of an endpoint override for 'sso' or 'sso-oidc', in
    botocore's order: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the
    profile's [services] section, the profile's endpoint_url; or (None, None)."""
    snake = service.replace("-", "_")
    for env in ("AWS_ENDPOINT_URL_" + snake.upper(), "AWS_ENDPOINT_URL"):
        if cfg.env(env) is not None:
            return cfg.env(env), env
    if "services" in cfg.profile_section:
        name = cfg.profile_section["services"]
        block = cfg.file["services"].get(name)
        if not block:
            raise ConfigError("profile %r refers to [services %s], which does not exist in %s"
                              % (cfg.profile, name, cfg.config_path))
        nested = block.get(snake, "")
        url = parse_nested(nested, "[services %s] %s" % (name, snake)).get("endpoint_url") if nested else None
        if url:
            return url, "[services %s]" % name
    if cfg.profile_section.get("endpoint_url"):
        return cfg.profile_section["endpoint_url"], "endpoint_url in profile %r" % cfg.profile
    return None, None


def service_endpoint(cfg, service):
    """(base URL, where from) for 'sso' (the portal) or 'sso-oidc': the
    configured override (checked), else (None for where from) the
    partition's host for the region, FIPS and dual-stack."""
    url, origin = (None, None) if cfg.ignore_configured_endpoints else configured_endpoint(cfg, service)
    if url is not None:
        if cfg.fips or cfg.dualstack:
            raise ConfigError("a custom endpoint (%s) cannot be combined with FIPS or dual-stack endpoints"
                              % origin)
        try:
            _, _, _, userinfo, _ = split_url(url, strict=True)
            if userinfo is not None:
                raise ValueError("must not hold a user name or password")
        except ValueError as e:
            raise ConfigError("endpoint URL %s (from %s) %s" % (quoted(hide_userinfo(url)), origin, e))
        return url.rstrip("/"), origin
    name, _, suffix, dual_suffix, _ = partition_of(cfg.region)
    host = {"sso": "portal.sso", "sso-oidc": "oidc"}[service]
    if cfg.fips and (cfg.dualstack or name != "aws-us-gov"):  # GovCloud's plain host is FIPS already
        host += "-fips"
    return "https://%s.%s.%s" % (host, cfg.region, dual_suffix if cfg.dualstack else suffix), None


def _fill(cfg, section, where, session=False):
    """Settings not given yet, from one config section."""
    for s in SETTINGS:
        if s.attr not in cfg.origin and s.key and section.get(s.key) and (s.session or not session):
            cfg.set(s, section[s.key], "%s in %s" % (s.key, where))


def resolve_settings(cfg, opts, file=None):
    """The SETTINGS table, in precedence order, and the config sections it
    needs: from the config file, or `file` (a parsed one, for tests)."""
    for s in SETTINGS:
        if s.attr in opts:
            cfg.set(s, opts[s.attr], s.flag if opts[s.attr] is not False else "--noninteractive")
        elif setting_from_environ(s, cfg.environ) is not None:
            cfg.set(s, setting_from_environ(s, cfg.environ), s.env)
    if cfg.profile is not None or cfg.sso_session is not None:
        cfg.file = file if file is not None else load_config_file(cfg.config_path)
    if cfg.profile is not None:
        if cfg.profile not in cfg.file["profiles"]:
            where = (cfg.config_path if is_file(cfg.config_path) else
                     "%s (the file does not exist; set AWS_CONFIG_FILE if it lives elsewhere)" % cfg.config_path)
            raise ConfigError("profile %r not found in %s; add a [profile %s] section or fix --profile"
                              % (cfg.profile, where, cfg.profile))
        cfg.profile_section = cfg.file["profiles"][cfg.profile]
        _fill(cfg, cfg.profile_section, "profile %r" % cfg.profile)
    if cfg.sso_session is not None:
        session = cfg.file["sso_sessions"].get(cfg.sso_session)
        if session is None:
            raise ConfigError("sso-session %r (from %s) not found in %s; add a [sso-session %s] section"
                              % (cfg.sso_session, cfg.origin["sso_session"], cfg.config_path, cfg.sso_session))
        for key, value in session.items():  # botocore refuses these too
            if key in cfg.profile_section and cfg.profile_section[key] != value:
                raise ConfigError(
                    "%s differs between profile %r (%s) and [sso-session %s] (%s); "
                    "remove it from the profile or make the two equal"
                    % (key, cfg.profile, cfg.profile_section[key], cfg.sso_session, value))
        cfg.session_section = session
        _fill(cfg, session, "sso-session %r" % cfg.sso_session, session=True)


def _why_missing(cfg):
    """When settings are missing, what is most likely wrong, or None: no
    --profile at all, or a --profile that holds a credential_process line
    instead of the SSO settings."""
    section = cfg.profile_section
    if cfg.profile is not None and section.get("credential_process") and not any(
            k.startswith("sso_") for k in section):
        target = line_options(section["credential_process"]).get("--profile")
        return ("profile %r holds the credential_process line, not the SSO settings%s" % (
            cfg.profile, "; its line reads --profile %s: name that one (--profile %s)" % (target, target)
            if target else ": --profile names the profile with sso_session or sso_start_url"))
    if cfg.profile is None and not any(a in cfg.origin for a in ("account_id", "role_name", "start_url", "region",
                                                                 "sso_session")):
        if not cfg.file["profiles"]:
            try:
                cfg.file = load_config_file(cfg.config_path)
            except ConfigError:
                pass
        named = sorted(n for n, p in cfg.file["profiles"].items() if p.get("sso_session") or p.get("sso_start_url"))
        return ("no profile given: name the one with the SSO settings with --profile NAME (never taken from "
                "AWS_PROFILE)%s" % ("; %s has: %s" % (cfg.config_path, ", ".join(named[:10]) + (
                    ", ..." if len(named) > 10 else "")) if named else "; or give --sso-session (or --start-url "
                "and --region), --account-id and --role-name"))
    return None


def _check_settings(cfg, need_role=True):
    """Every required setting present (all missing ones named at once), and
    account and region well-formed."""
    missing = []
    for s in SETTINGS:
        if getattr(cfg, s.attr) is None and (s.required == "always" or s.required == "role" and need_role):
            where = s.key
            if cfg.sso_session is not None and s.attr in ("start_url", "region"):
                where = "%s in [sso-session %s]" % (s.key, cfg.sso_session)
            elif cfg.profile is not None:
                where = "%s in [profile %s]" % (s.key, cfg.profile)
            missing.append("%s (%s, %s or %s)" % (s.label, s.flag, s.env, where))
    if missing:
        raise ConfigError(_why_missing(cfg) or "missing %s" % "; ".join(missing))
    if cfg.start_url is not None and not is_token_text(cfg.start_url):
        raise ConfigError("start URL %s (from %s) has spaces or control characters; write it as the portal "
                          "shows it, like https://d-1234567890.awsapps.com/start"
                          % (quoted(cfg.start_url), cfg.origin["start_url"]))
    if cfg.account_id is not None and (len(cfg.account_id) != 12 or not _DIGITS.issuperset(cfg.account_id)):
        raise ConfigError("account ID %s (from %s) must be 12 digits"
                          % (quoted(cfg.account_id), cfg.origin["account_id"]))
    if not _is_hostname(cfg.region, strict=True) or "." in cfg.region:  # botocore's rule: one DNS label
        raise ConfigError("SSO region %s (from %s) is not a region name like us-east-1"
                          % (quoted(cfg.region), cfg.origin["region"]))


def registration_scopes(cfg):
    """The scopes in the OIDC registration's cache key, exactly as the AWS
    CLI reads them: only from the [sso-session] section (a legacy profile's
    are never read), comma-separated with blanks dropped, so that a key that
    is present but empty gives [] and an absent one None."""
    if cfg.sso_session is None or "sso_registration_scopes" not in cfg.session_section:
        return None
    raw = cfg.session_section["sso_registration_scopes"]
    return [x.strip() for x in raw.split(",") if x.strip()]


def resolve_network(cfg):
    """Endpoints (botocore's order and partitions), the CA bundle and the
    proxy for each endpoint, all checked now so that a mistake shows on the
    first call rather than the first one that misses the cache."""
    cfg.portal_url, cfg.origin["portal"] = service_endpoint(cfg, "sso")
    cfg.oidc_url, cfg.origin["OIDC"] = service_endpoint(cfg, "sso-oidc")
    if cfg.ca_bundle is not None and not is_file(cfg.ca_bundle):
        raise ConfigError("cannot load the CA bundle %s (from %s): no such file"
                          % (cfg.ca_bundle, cfg.origin["ca_bundle"]))
    for url in (cfg.portal_url, cfg.oidc_url):
        origin_url = url_origin(url)
        proxy, origin = proxy_for(origin_url.partition("://")[0], origin_url.partition("://")[2], cfg.environ)
        if proxy is not None:
            try:
                check_proxy(proxy)
            except ValueError as e:
                raise ConfigError("proxy URL %s (from %s) %s" % (quoted(hide_userinfo(proxy)), origin, e))
            cfg.proxies[origin_url] = (proxy, origin)


def resolve_config(opts, environ, need_role=True):
    """Every setting of the run, resolved and checked up front, the same way
    on every call (a cache hit included): flags, then environment variables,
    then the profile, then its sso-session (SETTINGS); then endpoints, TLS and proxies.
    Without need_role (the modes that only log in, out or list), an account
    and role are optional. A ConfigError carries the Config as resolved so
    far, for --check to show."""
    cfg = Config(environ)
    cfg.force_refresh = bool(opts.get("force_refresh"))
    cfg.profile = opts.get("profile")
    cfg.config_path = expand_path(environ.get("AWS_CONFIG_FILE") or "~/.aws/config", environ)
    try:
        resolve_settings(cfg, opts)
        _check_settings(cfg, need_role)
        cfg.scopes = registration_scopes(cfg)
        resolve_network(cfg)
    except ConfigError as e:
        e.cfg = cfg
        raise
    return cfg


def launcher_head(path):
    """The first 4 KB of path if it is a launcher --install wrote, else None."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
    except OSError:
        return None
    return head if LAUNCHER_MARK[2:] in head else None


def is_our_launcher(path):
    return launcher_head(path) is not None


def installed_script(prefix):
    """Where --install puts the script under a prefix."""
    import os
    return os.path.join(prefix, "share", PROG, "aws_sso_credential_process.py")


def invoked_as():
    """The command as it was run: the launcher --install wrote (by its name
    alone when PATH finds it there), or the Python and this file."""
    import os
    import shlex
    import shutil
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "-c"
    if is_our_launcher(argv0):
        found = shutil.which(os.path.basename(argv0))
        return os.path.basename(argv0) if found and os.path.samefile(found, argv0) else shlex.quote(argv0)
    here = os.path.abspath(__file__)
    shown = argv0 if argv0 != "-c" and os.path.abspath(argv0) == here else here
    return "%s %s" % (os.path.basename(sys.executable or "python3"), shlex.quote(shown))


def who(cfg):
    """What the login is for, as messages name it."""
    return "sso-session %r" % cfg.sso_session if cfg.sso_session is not None else "start URL %s" % cfg.start_url


def aws_login_command(cfg):
    """The AWS CLI command that creates the login this configuration reads."""
    if cfg.sso_session is not None:
        return "aws sso login --sso-session %s" % cfg.sso_session
    if cfg.profile is not None:
        return "aws sso login --profile %s" % cfg.profile
    return "aws sso login --profile NAME (a profile with sso_start_url = %s)" % cfg.start_url


def login_command(cfg):
    """This command's own --login for the login this configuration reads,
    named as it was run (the installed command, or the Python and file)."""
    import shlex
    selects = (("--profile", cfg.profile) if cfg.profile is not None else ("--sso-session", cfg.sso_session)
               if cfg.sso_session is not None else ("--start-url", cfg.start_url or "URL", "--region",
                                                     cfg.region or "REGION"))
    return "%s --login %s" % (invoked_as(), " ".join(shlex.quote(w) for w in selects))


def login_advice(cfg):
    """How to fix "login required": this command's --login, the AWS CLI's
    command, and --interactive if it is off."""
    return "Run: %s (or: %s)%s" % (login_command(cfg), aws_login_command(cfg), "" if cfg.interactive else (
        "; to have the credential call log in by itself when needed, add --interactive to its line"))


# --------------------------------------------------------------------------
# On-disk caches shared with the AWS CLI
# --------------------------------------------------------------------------


def token_cache_key(cfg):
    """~/.aws/sso/cache/<key>.json: SHA-1 of the session name, or of the start
    URL exactly as written for legacy profiles (botocore SSOTokenLoader)."""
    return sha1_hex(cfg.sso_session if cfg.sso_session is not None else cfg.start_url)


def role_cache_key(cfg, account_id=None, role_name=None):
    """~/.aws/cli/cache/<key>.json, as botocore's SSOCredentialFetcher names it:
    SHA-1 of compact, key-sorted JSON of account, role and session or URL
    (the account and role are cfg's unless given)."""
    fields = (("accountId", account_id or cfg.account_id), ("roleName", role_name or cfg.role_name),
              ("sessionName", cfg.sso_session) if cfg.sso_session is not None else ("startUrl", cfg.start_url))
    return sha1_hex("{%s}" % ",".join("%s:%s" % (json_str(k), json_str(v)) for k, v in fields))


def role_cache_path(cfg, account_id=None, role_name=None):
    return home_path(cfg.environ, ROLE_CACHE_DIR, role_cache_key(cfg, account_id, role_name) + ".json")


def registration_cache_key(cfg):
    """~/.aws/sso/cache/<key>.json for the OIDC client registration: SHA-1 of
    key-sorted JSON with default separators (the AWS CLI v2's own key)."""
    import json
    return sha1_hex(json.dumps({"tool": "botocore", "startUrl": cfg.start_url, "region": cfg.region,
                                "scopes": cfg.scopes, "session_name": cfg.sso_session}, sort_keys=True))


def save_file(path, text, log, what):
    """Write a cache file; a failure (read-only or full disk) costs only the
    caching, never the run: it is logged and the run goes on. Returns the
    failure (an OSError), or None."""
    try:
        write_file_atomic(path, text)
    except OSError as e:
        log("could not cache the %s in %s (%s); going on without", what, path, e)
        return e
    log("%s cached in %s", what, path)
    return None


def cached_role_credentials(path, now, log):
    """Role credentials from the CLI's cache if more than 15 minutes remain."""
    try:
        entry = read_json_file(path)
        creds = entry["Credentials"]
        keys = ("AccessKeyId", "SecretAccessKey", "SessionToken")
        if not all(isinstance(creds[k], str) and creds[k] for k in keys):
            raise ValueError("incomplete")
        expires = parse_time(creds["Expiration"])
    except FileNotFoundError:
        log("role cache miss: %s does not exist", path)
        return None
    except (OSError, ValueError, TypeError, KeyError) as e:
        log("role cache miss: %s is unusable (%s)", path, e)
        return None
    log.hide(creds["SecretAccessKey"], creds["SessionToken"])
    left = expires - now
    if left < ROLE_CACHE_MIN_SECONDS:
        log("role cache stale: %s expires in %ds (< %ds)", path, left, ROLE_CACHE_MIN_SECONDS)
        return None
    log("role cache hit: %s, expires %s", path, format_time(expires))
    return {"AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"],
            "SessionToken": creds["SessionToken"], "Expiration": expires}


def store_role_credentials(path, creds, account_id, log):
    """Write role credentials in the AWS CLI's format, so that the CLI and this
    script reuse each other's entries and `aws sso logout` clears them."""
    import json
    entry = {"ProviderType": "sso", "Credentials": {
        "AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"],
        "SessionToken": creds["SessionToken"], "Expiration": format_time(creds["Expiration"]),
        "AccountId": account_id}}
    save_file(path, json.dumps(entry), log, "role credentials")


# --------------------------------------------------------------------------
# Locks shared by every copy of this script, and the failure note
# --------------------------------------------------------------------------


def _try_lock(fd):
    """Take an exclusive lock on fd without blocking; False if another holds it."""
    import os
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt
        os.lseek(fd, 1 << 30, os.SEEK_SET)  # a byte far past the note, which stays readable
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # pragma: no cover - a filesystem without locks: carry on unlocked
        return True
    return True


def _unlock(fd):
    import os
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt
        os.lseek(fd, 1 << 30, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)


class Lock:
    """A lock shared by every copy of this script, in a file next to the cache
    entry it guards (``<entry>.json.lock``, mode 0600, never followed through
    a symbolic link).

    fcntl.flock on POSIX, msvcrt.locking on Windows: the kernel drops the lock
    when its holder exits or is killed, so a SIGKILLed holder never blocks the
    next run. Waiting is bounded by AWS_SSO_LOCK_TIMEOUT. The file holds a
    small JSON note: the holder's pid (named when a wait times out) and what
    FailureNote keeps there. Where no lock file can be made (a read-only home,
    something that is not a file at its path), it runs unlocked.
    """

    def __init__(self, path, ctx, doing):
        self.path, self._ctx, self._doing = path, ctx, doing
        self._fd = None

    def __enter__(self):
        import os
        ctx = self._ctx
        try:
            make_dirs(os.path.dirname(self.path))
            fd = open_private(self.path, os.O_RDWR, replace_link=True)
        except OSError as e:
            ctx.log("cannot use the lock %s (%s); going on without it", self.path, e)
            return self
        started, said = ctx.monotonic(), False
        try:
            while not _try_lock(fd):
                waited = ctx.monotonic() - started
                holder = self._read(fd).get("pid", "?")
                if waited >= ctx.cfg.lock_timeout:
                    raise Busy("timed out after %ds waiting for another aws-sso-credential-process (pid %s) "
                               "that is %s; retry, or raise AWS_SSO_LOCK_TIMEOUT" % (waited, holder, self._doing))
                if not said:  # once, however slow the machine
                    ctx.log("waiting for %s (pid %s is %s)", self.path, holder, self._doing)
                    said = True
                ctx.sleep(0.05)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        ctx.log("locked %s after %.3fs", self.path, ctx.monotonic() - started)
        self.write_note(dict(self.read_note(), pid=os.getpid()))
        return self

    def __exit__(self, *exc):
        import os
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    @staticmethod
    def _read(fd):
        import os
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            note = json_loads(os.read(fd, 1 << 16).decode("utf-8") or "{}")
        except (OSError, ValueError):
            note = {}
        return note if isinstance(note, dict) else {}

    def read_note(self):
        """The note in the lock file ({} when unlocked, empty or unreadable)."""
        return self._read(self._fd) if self._fd is not None else {}

    def write_note(self, note):
        """Replace the note; a failure (a full disk) only loses the note."""
        import os
        import json
        if self._fd is None:
            return
        try:
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.ftruncate(self._fd, 0)
            os.write(self._fd, json.dumps(note).encode("utf-8"))
        except OSError as e:
            self._ctx.log("could not write the note in %s: %s", self.path, e)


class FailureNote:
    """The last failure of a refresh, login or fetch, kept in the lock file so
    that processes running alongside it report it instead of repeating it (one
    denied login must not become twenty browser tabs), and so that a refresh
    token is tried at most once a minute.

    The note holds the error's class by name and its message exactly as the
    user saw it on stderr (secrets redacted), so a replayed error has the
    same exit code and says the same thing.
    """

    def __init__(self, lock, ctx):
        self._lock, self._ctx = lock, ctx

    def _load(self, key):
        """(error rebuilt from the note, its wall-clock time) if it is about key."""
        failure = self._lock.read_note().get("failure")
        try:
            cls = error_class(failure["kind"])
            at = float(failure["at"])
            if (failure["key"] == key and cls is not None and cls.exit_code != Error.exit_code
                    and at <= self._ctx.now()):  # only what a run here could have written
                error = Error.__new__(cls)  # the message as it was shown, whatever cls.__init__ takes
                Error.__init__(error, str(failure["message"]))
                return error, at
        except (TypeError, KeyError, ValueError):
            pass
        return None, None

    def recent(self, key, within):
        """The error recorded for key less than `within` seconds ago, or None."""
        error, at = self._load(key)
        age = self._ctx.now() - at if error is not None else -1
        if 0 <= age < within:
            error.args = ("%s (from an attempt %ds ago; the next one is due in %ds)" % (error, age, within - age),)
            return error
        return None

    def replay(self, key):
        """Raise the failure at key of a process that ran while this one did
        (since it started): N processes started together see one login fail,
        not N logins. A run started after the failure tries afresh."""
        error, at = self._load(key)
        if error is not None and at >= self._ctx.started:
            error.args = ("%s (the same error another process met moments ago)" % error,)
            raise error

    def remember(self, key, error):
        self._lock.write_note(dict(self._lock.read_note(), failure={
            "key": key, "at": self._ctx.now(), "kind": type(error).__name__,
            "message": self._ctx.log.public(error)}))

    def forget(self):
        note = self._lock.read_note()
        if note.pop("failure", None) is not None:
            self._lock.write_note(note)


# --------------------------------------------------------------------------
# HTTP: TLS, proxies, bounded time and size, retries, no redirects
# --------------------------------------------------------------------------


class _Expired(Exception):
    """An attempt ran past its overall deadline."""


class _TooLarge(Exception):
    """An answer over HTTP_BODY_LIMIT."""


class _OutOfTime(Exception):
    """A retry would go past the caller's deadline (Http.request's `until`)."""


def _connect_within(address, timeout, source_address=None):
    """socket.create_connection with the name lookup bounded by the timeout as
    well (getaddrinfo cannot be interrupted: a slow one is left to finish in a
    thread of its own), and a host name that cannot be encoded an OSError."""
    import socket
    import threading
    host, port = address
    found = []

    def resolve():
        try:
            found.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except (OSError, UnicodeError) as e:
            found.append(OSError("cannot look up %s: %s" % (host, one_line(e))))

    thread = threading.Thread(target=resolve, daemon=True)
    thread.start()
    thread.join(timeout)
    if not found:
        raise socket.timeout("looking up %s took more than %gs" % (host, timeout))
    if isinstance(found[0], OSError):
        raise found[0]
    error = OSError("no address for %s" % host)
    for family, kind, proto, _, sockaddr in found[0]:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            if source_address:  # pragma: no cover - http.client passes none here
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as e:
            error = e
            sock.close()
    raise error


class Http:
    """Unsigned JSON calls to the SSO endpoints, built on http.client, from
    plain values resolved once (resolve_network).

    Never follows a redirect (the bearer token must not reach another host),
    retries throttling, 5xx and connection failures with capped, jittered
    exponential backoff, bounds the connect, every read and each attempt as a
    whole (connect + read timeout: a server dripping a byte at a time cannot
    hold it longer), refuses answers over 1 MiB, and sends header names
    exactly as botocore does (urllib would re-case them).
    """

    def __init__(self, cfg, log, sleep=time.sleep, monotonic=time.monotonic):
        self.connect_timeout, self.read_timeout = cfg.connect_timeout, cfg.read_timeout
        self.deadline = cfg.connect_timeout + cfg.read_timeout
        self._ca_bundle, self._proxies = cfg.ca_bundle, cfg.proxies
        self._log, self._sleep, self._monotonic = log, sleep, monotonic
        self._tls = None

    def _tls_context(self):
        import ssl
        if self._tls is None:
            try:
                self._tls = ssl.create_default_context(cafile=self._ca_bundle)
            except (OSError, ssl.SSLError) as e:
                raise ConfigError("cannot load the CA bundle %s (AWS_CA_BUNDLE or ca_bundle): %s"
                                  % (self._ca_bundle, one_line(e)))
        return self._tls

    def _connection(self, origin, target):
        """An unopened connection for scheme://netloc (through its proxy if one
        applies) and the request target and extra headers to send on it."""
        import http.client
        scheme, _, netloc = origin.partition("://")
        proxy, _ = self._proxies.get(origin, (None, None))
        extra, address = {}, (netloc, None)
        if proxy:
            from urllib.parse import unquote, urlsplit
            p = urlsplit(proxy)
            if p.username is not None:
                import base64
                cred = "%s:%s" % (unquote(p.username), unquote(p.password or ""))
                extra["Proxy-Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
            address = p.hostname, p.port or 80  # urllib's default for a proxy URL without a port
            self._log("via proxy %s:%s", *address)
        if scheme == "https":
            conn = http.client.HTTPSConnection(*address, timeout=self.connect_timeout, context=self._tls_context())
            if proxy:
                conn.set_tunnel(netloc, headers=extra)
            extra = {}
        else:
            conn = http.client.HTTPConnection(*address, timeout=self.connect_timeout)
            target = "http://%s%s" % (netloc, target) if proxy else target
        conn._create_connection = _connect_within  # the name lookup is bounded too
        return conn, target, extra

    def _attempt(self, method, origin, target, headers, body):
        """One request and its whole answer, within the overall deadline."""
        import http.client
        import socket
        import threading
        conn, path, extra = self._connection(origin, target)
        expired = []

        def expire():  # cut the connection, whatever read it is blocked in
            expired.append(True)
            sock = conn.sock
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):  # not connected yet (connect checks), or closed
                pass

        timer = threading.Timer(self.deadline, expire)
        timer.daemon = True
        timer.start()
        try:
            conn.connect()  # TCP, a proxy's CONNECT and TLS, under the connect timeout
            if expired:  # connecting outlasted the whole attempt's deadline
                raise _Expired()
            conn.sock.settimeout(self.read_timeout)
            conn.request(method, path, body=body, headers=dict(headers, **extra))
            resp = conn.getresponse()
            length = (resp.getheader("Content-Length") or "").strip()
            if length and _DIGITS.issuperset(length) and int(length) > HTTP_BODY_LIMIT:
                raise _TooLarge()  # not even read
            data = resp.read(HTTP_BODY_LIMIT + 1)
            if len(data) > HTTP_BODY_LIMIT:
                raise _TooLarge()
            if expired:  # cut short by the deadline: whatever was read is incomplete
                raise _Expired()
            return resp.status, resp.headers, data
        except (OSError, http.client.HTTPException):
            if expired:
                raise _Expired()
            raise
        finally:
            timer.cancel()
            timer.join()
            conn.close()

    def request(self, method, url, headers=None, body=None, attempts=HTTP_ATTEMPTS, until=None):
        """(status, headers, parsed JSON body or None) after at most
        `attempts`, none of them started after `until` (on the monotonic
        clock it was given)."""
        import http.client
        import random
        import socket

        origin = url_origin(url)
        target = url[len(origin):] or "/"
        netloc = origin.partition("://")[2]
        what = "%s %s%s" % (method, netloc, target)
        headers = dict(headers or {})
        headers["User-Agent"] = "%s/%s Python/%d.%d" % (PROG, __version__, *sys.version_info[:2])
        if body:
            headers["Content-Type"] = "application/json"
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            delay = random.uniform(0, min(HTTP_BACKOFF_CAP, HTTP_BACKOFF_BASE * 2 ** (attempt - 1)))
            late = attempt < attempts and until is not None and self._monotonic() + delay >= until
            last = attempt == attempts or late
            try:
                status, rheaders, data = self._attempt(method, origin, target, headers, body)
            except _TooLarge:
                raise ServiceError("the SSO service at %s sent an answer larger than %d bytes; refused"
                                   % (netloc, HTTP_BODY_LIMIT))
            except (OSError, http.client.HTTPException, _Expired) as e:
                self._log("HTTP %s attempt %d failed after %.3fs: %r", what, attempt,
                          time.monotonic() - started, e)
                if "CERTIFICATE_VERIFY_FAILED" in str(e):
                    raise ServiceError("TLS certificate verification failed for %s (%s); %s" % (
                        netloc, clip(getattr(e, "verify_message", None) or e, 120),
                        "the CA bundle %s (AWS_CA_BUNDLE or ca_bundle) does not vouch for it" % self._ca_bundle
                        if self._ca_bundle else "if a proxy or TLS inspection is in use, point AWS_CA_BUNDLE "
                        "(or ca_bundle in the profile) at its CA bundle"))
                if late:
                    raise _OutOfTime()
                if last:
                    raise ServiceError("cannot reach the SSO service at %s: %d attempts, the last %s"
                                       % (netloc, attempt, self._why(e, socket, http.client)))
            except ValueError as e:  # http.client refusing what it was given (after OSError: TLS errors are both)
                raise ServiceError("cannot send a request to %s (%s)" % (netloc, one_line(e)))
            else:
                self._log("HTTP %s attempt %d -> %d in %.3fs (request id %s)", what, attempt, status,
                          time.monotonic() - started, clip(rheaders.get("x-amzn-RequestId", "-"), 80))
                if 300 <= status < 400:
                    raise ServiceError(
                        "the SSO service at %s answered with a redirect (HTTP %d to %s); not following it, "
                        "so the token is not sent elsewhere. Check AWS_ENDPOINT_URL_SSO, endpoint_url and "
                        "proxy settings" % (netloc, status, clip(rheaders.get("Location", "?"), 200)))
                if not (status == 429 or status >= 500) or attempt == attempts:
                    return status, rheaders, self._parse(data)
                if late:
                    raise _OutOfTime()
            self._log("retrying in %.2fs", delay)
            self._sleep(delay)

    def _why(self, error, socket, client):
        if isinstance(error, (_Expired, socket.timeout)):
            return ("timed out (connect timeout %gs, read timeout %gs, %gs for a whole answer: "
                    "AWS_SSO_CONNECT_TIMEOUT, AWS_SSO_READ_TIMEOUT)"
                    % (self.connect_timeout, self.read_timeout, self.deadline))
        if isinstance(error, client.HTTPException):
            return "sent a malformed response (%s)" % type(error).__name__
        return "failed: %s" % one_line(error)

    @staticmethod
    def _parse(data):
        try:
            return json_loads(data.decode("utf-8")) if data else None
        except (UnicodeDecodeError, ValueError):
            return None


def error_code(headers, body):
    """The error name botocore would see: x-amzn-ErrorType (cut at ':' and after
    '#'), else the body's code/Code/__type."""
    value = headers.get("x-amzn-ErrorType") or ""
    if not value and isinstance(body, dict):
        value = body.get("code") or body.get("Code") or body.get("__type") or ""
    return clip(str(value).split(":")[0].rsplit("#", 1)[-1], 100)


def error_message(body):
    """The service's message for an error (at most one short line)."""
    if isinstance(body, dict):
        for key in ("message", "Message", "error_description"):
            if isinstance(body.get(key), str) and body[key]:
                return clip(body[key])
    return ""


# --------------------------------------------------------------------------
# A small HTTP server: the PKCE callback and the credentials endpoint
# --------------------------------------------------------------------------


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            405: "Method Not Allowed", 421: "Misdirected Request", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}


def read_request(conn):
    """(method, target, headers) of the request on a connection, header
    names lowercased (one sent twice is kept as None: ambiguous); None if
    its head does not arrive within SERVER_CONNECTION_SECONDS or is larger
    than SERVER_HEAD_LIMIT; ("", "", {}) if it is not an HTTP request."""
    deadline = time.monotonic() + SERVER_CONNECTION_SECONDS
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or len(data) > SERVER_HEAD_LIMIT:
            return None
        conn.settimeout(left)
        try:
            chunk = conn.recv(4096)
        except OSError:  # timed out, or reset
            return None
        if not chunk:
            return None
        data += chunk
    head = data.replace(b"\r\n", b"\n").partition(b"\n\n")[0]
    if len(head) > SERVER_HEAD_LIMIT:
        return None
    lines = head.decode("latin-1").split("\n")
    parts, headers = lines[0].split(), {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or any(c.isspace() or not c.isprintable() for c in name):
            return "", "", {}
        name = name.lower()
        headers[name] = None if name in headers else value.strip()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return "", "", {}
    return parts[0], parts[1], headers


class Server:
    """A small threaded HTTP server, on a TCP address or a Unix socket path:
    every connection gets a thread, its request (read_request), one answer
    from respond(method, target, headers) -> (status, content type, body
    bytes), and is closed. Beyond SERVER_MAX_CONNECTIONS open at once, the
    oldest that is still sending its request is cut. An exception in respond
    costs its connection a 500 and a line in the debug log, never a traceback
    on the terminal. A Unix socket is 0600 from the start, and never bound
    over a file already there.

    socketserver accepts, threads and shuts down; http.server's request
    handler is not used: it parses headers with email.parser, bounds each
    read rather than the whole request (a client dripping a byte a second
    would hold its connection for ever), and writes to stderr."""

    def __init__(self, respond, log, address=("127.0.0.1", 0), unix_path=None):
        import os
        import socketserver
        import threading
        self.respond, self.log = respond, log
        self._lock, self._open, self._reading = threading.Lock(), [], set()
        outer = self

        class Base(socketserver.ThreadingMixIn,
                   socketserver.UnixStreamServer if unix_path else socketserver.TCPServer):
            daemon_threads = True
            request_queue_size = SERVER_MAX_CONNECTIONS
            allow_reuse_address = not unix_path  # a restart binds the port again at once (TIME_WAIT)

            def process_request(self, conn, client):
                outer._track(conn)
                try:
                    super().process_request(conn, client)
                except RuntimeError:  # no more threads: this client is dropped
                    self.shutdown_request(conn)

            def finish_request(self, conn, client):
                outer._serve(conn)

            def shutdown_request(self, conn):
                outer._untrack(conn)
                super().shutdown_request(conn)

            def handle_error(self, conn, client):  # a client that went away, say
                outer.log("connection dropped: %s", one_line(sys.exc_info()[1]))

            def server_bind(self):  # a socket is 0600 from the moment it exists, whatever the umask
                old = os.umask(0o177) if unix_path else None
                try:
                    super().server_bind()
                finally:
                    if old is not None:
                        os.umask(old)

        self._server = Base(unix_path or address, None)
        self.address = self._server.server_address

    def _track(self, conn):
        import socket
        with self._lock:
            self._open.append(conn)
            self._reading.add(conn)
            oldest = None
            if len(self._open) > SERVER_MAX_CONNECTIONS:
                oldest = next((c for c in self._open if c in self._reading), self._open[0])
                self._open.remove(oldest)
        if oldest is not None:
            try:
                oldest.shutdown(socket.SHUT_RDWR)  # ends the read its thread is blocked in
            except OSError:
                pass

    def _untrack(self, conn):
        with self._lock:
            self._reading.discard(conn)
            if conn in self._open:
                self._open.remove(conn)

    def _serve(self, conn):
        request = read_request(conn)
        with self._lock:
            self._reading.discard(conn)
        if request is None:
            return
        if not request[0]:
            status, kind, body = 400, "text/plain", b"Bad request.\n"
        else:
            try:
                status, kind, body = self.respond(*request)
            except Exception as e:
                self.log("answering %s %s failed: %r", request[0], request[1].partition("?")[0], e)
                status, kind, body = 500, "text/plain", b"Internal error.\n"
        conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nCache-Control: no-store\r\n"
                     b"Connection: close\r\n\r\n%s" % (status, _REASONS.get(status, "Error").encode(), kind.encode(),
                                                         len(body), body))

    def handle(self, timeout):
        """Accept at most one connection, waiting up to timeout seconds for it."""
        self._server.timeout = timeout
        self._server.handle_request()

    def serve_forever(self):
        self._server.serve_forever(0.2)

    def shutdown(self):
        """Stop serve_forever (from another thread)."""
        self._server.shutdown()

    def close(self):
        self._server.server_close()


# --------------------------------------------------------------------------
# The world outside: the terminal, the browser, the caller, and the run's Context
# --------------------------------------------------------------------------


def no_local_browser(environ):
    """Why no browser here can receive a loopback redirect, or None if one
    can: not over SSH (without X forwarding), not on Linux without a display,
    not in a container. A BROWSER setting is taken at its word."""
    import os
    if environ.get("BROWSER"):
        return None
    ssh = any(environ.get(k) for k in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"))
    if os.name == "nt" or sys.platform == "darwin":  # pragma: no cover - not Linux
        return "over SSH" if ssh else None
    if (environ.get("container") or environ.get("KUBERNETES_SERVICE_HOST")
            or os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv")):
        return "in a container"
    return None if environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY") else "no display (DISPLAY is unset)"


def login_flow(cfg, environ):
    """(device code?, why): the flow a login uses, as the AWS CLI picks it:
    PKCE in the browser for an sso-session where a browser can take the
    redirect, else the device code."""
    if cfg.use_device_code:
        return True, "%s asks for it" % cfg.origin.get("use_device_code", "--use-device-code")
    if cfg.sso_session is None:
        return True, "a legacy profile: the browser redirect needs an sso-session"
    why = no_local_browser(environ)
    return (True, why) if why else (False, "an sso-session, and a browser here")


def launch_browser(url, environ, log):
    """Open an http(s) url in a graphical browser, detached: its own session
    and no inherited stdin/stdout/stderr (a browser holding the SDK's stdout
    pipe would make the SDK wait for the browser to exit). Honours BROWSER
    (os.pathsep-separated commands, %s for the URL) and never starts a
    text-mode browser, which would take over the SDK's terminal."""
    import os
    import shlex
    import subprocess
    if (not url.lower().startswith(("https://", "http://")) or not is_token_text(url)
            or any(c in url for c in "'\"`$\\<>;|")):  # nothing a shell in BROWSER would act on
        log("not opening %s: not a plain web address", url)
        return False
    commands = []
    for entry in environ.get("BROWSER", "").split(os.pathsep):
        try:
            words = shlex.split(entry)
        except ValueError:
            continue
        if words:
            commands.append([w.replace("%s", url) for w in words] if "%s" in entry else words + [url])
    if not commands:
        if os.name == "nt":  # pragma: no cover - Windows
            os.startfile(url)
            return True
        if sys.platform == "darwin":  # pragma: no cover - macOS
            commands = [["open", url]]
        elif environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"):
            commands = [["xdg-open", url], ["gio", "open", url]]
    for command in commands:
        if os.path.basename(command[0]) in TEXT_BROWSERS:
            log("not using %s: a text-mode browser would take over the terminal", command[0])
            continue
        try:
            subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True,
                             env=dict(environ))
        except (OSError, ValueError) as e:
            log("could not start %s: %s", command[0], e)
            continue
        log("opened the login page with %s", command[0])
        return True
    return False


def open_controlling_terminal():
    """The controlling terminal, for writing (CONOUT$ on Windows), or None."""
    import os
    try:
        return open("CONOUT$" if os.name == "nt" else "/dev/tty", "w")
    except OSError:
        return None


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def terminal_takes(stream):
    """Whether this process may write to the terminal `stream` is: it is in
    the terminal's foreground process group, or the terminal lets background
    jobs write (no `stty tostop`). A background job that writes under tostop
    would be stopped by SIGTTOU (run() ignores it, so the write would go
    through; this keeps the background quiet, as its user asked)."""
    try:
        fd = stream.fileno()
        if _posix.tcgetpgrp(fd) == _posix.getpgrp():
            return True
        import termios
        return not termios.tcgetattr(fd)[3] & termios.TOSTOP
    except (OSError, ValueError, AttributeError, ImportError):  # not a real terminal (a test's), or Windows
        return True


def open_terminal_to_write(open_terminal):
    """The controlling terminal (open_terminal()), if this process may write to it; else None."""
    tty = open_terminal()
    if tty is not None and not terminal_takes(tty):
        try:
            tty.close()
        except OSError:  # pragma: no cover
            pass
        return None
    return tty


def tell_terminal(open_terminal, stderr, line):
    """Say line on the controlling terminal too, unless stderr is a terminal
    already: several SDKs (the JS SDKs' default chains, JS v2's
    ProcessCredentials) never show a credential process's stderr."""
    if _isatty(stderr):
        return
    tty = open_terminal_to_write(open_terminal)
    if tty is None:
        return
    try:
        tty.write(line)
        tty.flush()
    except (OSError, ValueError):
        pass
    finally:
        try:
            tty.close()
        except OSError:  # pragma: no cover
            pass


def release_standard_streams():
    """Point fds 0-2 at /dev/null: a reader of this process's stdout or
    stderr sees them close, and later writes go nowhere."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
    except OSError:  # pragma: no cover - /dev/null always opens
        return
    for fd in (0, 1, 2):
        try:
            os.dup2(devnull, fd)
        except OSError:  # pragma: no cover
            pass
    os.close(devnull)


class Context:
    """What a run touches outside its own code: its settings (cfg: resolved
    by configure(), an empty Config until then), the debug log, stdout and
    stderr, the wall clock and the monotonic one, sleeping, the terminal,
    the browser, HTTP, and its caller (the parent pid, and letting go of the
    caller's pipes). main() passes the real ones; a test passes its own
    through main's keyword arguments and runs the whole script in-process."""

    def __init__(self, cfg, log=None, stderr=None, stdout=None, now=None, monotonic=None, sleep=None,
                 open_terminal=None, open_browser=None, http=None, parent=None, release=None):
        self.cfg, self.environ = cfg, cfg.environ
        self.log = Log() if log is None else log
        self.stdout = sys.stdout if stdout is None else stdout
        self.stderr = sys.stderr if stderr is None else stderr
        self.now = now or time.time
        self.monotonic = monotonic or time.monotonic
        self._sleep = sleep
        self.open_terminal = open_terminal or open_controlling_terminal
        self.open_browser = open_browser or (lambda url: launch_browser(url, self.environ, self.log))
        self.started = self.now()
        self._http = http
        self.parent = parent or _posix.getppid
        self.release = release or release_standard_streams
        self._caller = self.parent()
        self.caller_gone = self.logging_in = self.debug = False
        self.attended = False  # stderr is read by a person (--login, --serve): a login prompt there is seen
        self.watching = True  # an endpoint serves no caller: it turns this off

    def configure(self, opts, need_role=True):
        """The run's settings, resolved and checked (resolve_config)."""
        self.cfg = resolve_config(opts, self.environ, need_role)
        self.log("%s: config file %s; %s; portal %s, OIDC %s", opts.get("mode"), self.cfg.config_path,
                 self.cfg.describe(), self.cfg.portal_url, self.cfg.oidc_url)
        return self.cfg

    @property
    def http(self):
        if self._http is None:
            self._http = Http(self.cfg, self.log, self.sleep, self.monotonic)
        return self._http

    def sleep(self, seconds):
        """Sleep (on a test's clock, or in slices of a quarter second at
        most), watching the caller before, during and after."""
        self.watch_caller()
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            end = time.monotonic() + seconds
            while True:
                left = end - time.monotonic()  # once: a negative length would make sleep() raise
                if left <= 0:
                    break
                time.sleep(min(left, 0.25))
                self.watch_caller()
        self.watch_caller()

    def watch_caller(self):
        """In every wait: once the process that started this one is gone (an
        SDK that gave up killed its shell, say, and this process was handed
        to another parent), let go of the caller's pipes at once, since the
        SDK waits for them to close. A login goes on, so that the next run
        needs none; any other wait ends (CallerGone)."""
        if not self.watching:
            return
        if not self.caller_gone and self.parent() != self._caller:
            self.caller_gone = True
            self.log("the caller (pid %s) is gone: releasing its pipes", self._caller)
            self.release()
        if self.caller_gone and not self.logging_in:
            raise CallerGone("the program that ran this one went away while it waited; nothing to deliver")

    def output(self, text, what):
        """Write the run's output to stdout; OutputError naming `what` if it cannot."""
        if text and not write_stream(self.stdout, text):
            raise OutputError("cannot write the %s to stdout (it is closed or full)" % what)

    def close(self):
        if self.log.problem:
            write_stream(self.stderr, "%s: warning: %s\n" % (PROG, self.log.problem))
        self.log.close()


# --------------------------------------------------------------------------
# SSO: the cached token and its refresh
# --------------------------------------------------------------------------


def token_path(ctx):
    return home_path(ctx.environ, TOKEN_CACHE_DIR, token_cache_key(ctx.cfg) + ".json")


class Token:
    """An SSO access token: the document as the AWS CLI caches it (`doc`,
    exactly the file's fields, written back whole), and what this run knows
    of it: when it expires, how it came to this run (None: from the cache;
    "refreshed", "logged in", or "another process" when another process
    renewed it while this one waited for the lock), and why it could not be
    saved (an OSError), if it could not. botocore's SSOTokenProvider keeps
    the same line between the file's format and its own decisions."""

    __slots__ = ("doc", "expires", "how", "unsaved")

    def __init__(self, doc, expires, how=None, unsaved=None):
        self.doc, self.expires, self.how, self.unsaved = doc, expires, how, unsaved

    @property
    def access_token(self):
        return self.doc["accessToken"]

    def refreshable(self, now):
        """Whether it carries what a refresh needs, with a live registration."""
        try:
            return (all(is_token_text(self.doc.get(k)) for k in ("refreshToken", "clientId", "clientSecret"))
                    and parse_time(self.doc.get("registrationExpiresAt")) > now)
        except ValueError:
            return False


def read_token(ctx, path):
    """(Token, None) from the cache, or (None, LoginRequired saying why not)."""
    cfg = ctx.cfg
    deadline = ctx.monotonic() + TOKEN_READ_RETRY_SECONDS
    while True:
        try:
            doc = read_json_file(path)
            break
        except FileNotFoundError:
            ctx.log("token cache miss: %s does not exist", path)
            return None, LoginRequired("not logged in: no cached SSO token for %s (%s). %s"
                                       % (who(cfg), path, login_advice(cfg)))
        except OSError as e:
            return None, LoginRequired("cannot read the cached SSO token %s (%s). %s"
                                       % (path, one_line(e), login_advice(cfg)))
        except ValueError as e:
            # The AWS CLI truncates and rewrites this file in place; give a
            # concurrent login a moment to finish before calling it broken.
            if ctx.monotonic() >= deadline:
                ctx.log("token file %s unreadable: %s", path, e)
                return None, LoginRequired("the cached SSO token %s is not valid JSON. %s"
                                           % (path, login_advice(cfg)))
            ctx.log("token file %s unreadable (%s), re-reading", path, e)
            ctx.sleep(0.05)
    ctx.log.hide(doc.get("accessToken"), doc.get("refreshToken"), doc.get("clientSecret"))
    try:
        if not is_token_text(doc.get("accessToken")):
            raise ValueError("its accessToken is missing or corrupt")
        token = Token(doc, parse_time(doc.get("expiresAt")))
    except ValueError as e:
        ctx.log("token file %s unusable: %s", path, e)
        return None, LoginRequired("the cached SSO token %s is incomplete (%s). %s"
                                   % (path, one_line(e), login_advice(cfg)))
    ctx.log("token cache %s for %s expires %s%s", path, who(cfg), format_time(token.expires),
            ", refreshable" if token.refreshable(ctx.now()) else "")
    return token, None


def expired_error(cfg, token, now):
    """LoginRequired for a token that can no longer be used, saying which case it is."""
    if token.doc.get("refreshToken") and not token.refreshable(now):
        try:
            registration = parse_time(token.doc.get("registrationExpiresAt"))
        except ValueError:
            registration = None
        why = ("its client registration expired at %s" % format_time(registration)
               if registration is not None and registration <= now else
               "its refresh data (refreshToken, clientId, clientSecret, registrationExpiresAt) is incomplete")
        return LoginRequired("the SSO login for %s expired at %s and cannot be refreshed: %s. %s"
                             % (who(cfg), format_time(token.expires), why, login_advice(cfg)))
    return LoginRequired("the SSO login for %s expired at %s. %s"
                         % (who(cfg), format_time(token.expires), login_advice(cfg)))


#: What a mode needs from the token pipeline (obtain_token):
#:   USABLE  a token the portal takes now: the cached one while 15 minutes
#:           or more remain, else a refreshed one, else the cached one while
#:           it lasts, else (with --interactive) a new login: the credential
#:           call, --list and the endpoint.
#:   FRESH   15 minutes or more left: cached, refreshed or a new login (--login).
#:   NEW     a new login, whatever the cache holds (--login --force-refresh).
#:   ALIVE   an unexpired token, refreshed if it can be, never a login; None
#:           when there is none (--logout).
USABLE, FRESH, NEW, ALIVE = "usable", "fresh", "new", "alive"


def token_action(ctx, token, why, need, rejected=None):
    """(action, why) for a cached token, decided as botocore's
    SSOTokenProvider decides it, for what the caller needs: "use" it,
    "refresh" it (it has refresh data, and less than 15 minutes left or the
    portal refused it), "login", or "none" (ALIVE, and nothing is alive);
    with "login" and "none", the LoginRequired that says why. `rejected` is
    (access token, LoginRequired) when the portal has just refused a token
    that looked valid."""
    if token is None:
        return ("none" if need == ALIVE else "login"), why
    if need == NEW:
        return "login", None
    now = ctx.now()
    refused = rejected is not None and token.access_token == rejected[0]
    left = token.expires - now
    if not refused and left >= TOKEN_REFRESH_WINDOW:
        return "use", None
    if token.refreshable(now):
        return "refresh", None
    if not refused and left > 0 and need != FRESH:
        return "use", None
    return ("none" if need == ALIVE else "login"), rejected[1] if refused else expired_error(ctx.cfg, token, now)


def token_document(cfg, now, response, client):
    """A token cache entry in the AWS CLI's field order (startUrl, region,
    accessToken, expiresAt, clientId, clientSecret, registrationExpiresAt,
    refreshToken), from a CreateToken answer checked field by field."""
    try:
        if not is_token_text(response.get("accessToken")):
            raise ValueError("accessToken is missing or malformed")
        expires_in = service_number(response.get("expiresIn"), "expiresIn", 1, 10 * 366 * 86400)
        doc = {"startUrl": cfg.start_url, "region": cfg.region, "accessToken": response["accessToken"],
               "expiresAt": format_time(now + expires_in), "clientId": client["clientId"],
               "clientSecret": client["clientSecret"], "registrationExpiresAt": client["expiresAt"]}
        if response.get("refreshToken") is not None:
            if not is_token_text(response["refreshToken"]):
                raise ValueError("refreshToken is malformed")
            doc["refreshToken"] = response["refreshToken"]
    except (AttributeError, ValueError) as e:
        raise ServiceError("SSO OIDC CreateToken returned an unexpected response (%s)" % one_line(e))
    return doc


def token_status(ctx, token, action):
    """token_action's verdict for a credential call, in words (--check)."""
    if action == "use":
        left = token.expires - ctx.now()
        return "ready" if left >= TOKEN_REFRESH_WINDOW else (
            "usable for %s, not refreshable: log in again soon" % _left(left))
    if action == "refresh":
        return "the next call refreshes it"
    return "none: not logged in" if token is None else "cannot be used: log in again"


def save_token(ctx, path, doc, how):
    """Write the token where the AWS CLI and botocore read it; the Token, with
    how it came ("refreshed" or "logged in"), serves this run even if it
    could not be saved."""
    import json
    ctx.log.hide(doc["accessToken"], doc.get("refreshToken"))
    failure = save_file(path, json.dumps(doc), ctx.log, "token (expires %s)" % doc["expiresAt"])
    return Token(doc, parse_time(doc["expiresAt"]), how, failure)


#: OIDC error codes that say the service failed, not that it refused.
SERVICE_SIDE_CODES = ("InternalServerException", "ServiceUnavailableException", "ThrottlingException")


def oidc_call(ctx, operation, path, body):
    """One unsigned SSO OIDC call (POST JSON); the answer, or OidcError."""
    import json
    status, headers, data = ctx.http.request("POST", ctx.cfg.oidc_url + path, body=json.dumps(body).encode("utf-8"))
    if status == 200:
        if isinstance(data, dict):
            return data
        raise ServiceError("SSO OIDC %s returned an unexpected response (not a JSON object)" % operation)
    raise OidcError(operation, error_code(headers, data) or "HTTP %d" % status, error_message(data))


def refresh(ctx, path, token):
    """The refresh_token grant, written back as botocore writes it: a new
    document with startUrl and region from the config, the registration
    copied, and refreshToken only if the service sent one."""
    cfg = ctx.cfg
    doc = token.doc
    ctx.log("refreshing the token for %s (expires %s)", who(cfg), format_time(token.expires))
    try:
        answer = oidc_call(ctx, "CreateToken", "/token", {
            "grantType": "refresh_token", "clientId": doc["clientId"],
            "clientSecret": doc["clientSecret"], "refreshToken": doc["refreshToken"]})
    except OidcError as e:
        if e.code in ("InvalidGrantException", "ExpiredTokenException"):
            raise LoginRequired("the SSO session for %s has ended: it reached its maximum duration or was "
                                "revoked, so the refresh token was refused (%s). %s"
                                % (who(cfg), e.detail, login_advice(cfg)))
        if e.code.startswith(("HTTP 5", "HTTP 429")) or e.code in SERVICE_SIDE_CODES:  # not a verdict on the login
            raise ServiceError("the SSO OIDC service failed while refreshing the token for %s (%s); the login "
                               "itself may be fine: try again in a moment" % (who(cfg), e.detail))
        raise LoginRequired("refreshing the SSO token for %s was rejected (%s). %s"
                            % (who(cfg), e.detail, login_advice(cfg)))
    client = {"clientId": doc["clientId"], "clientSecret": doc["clientSecret"],
              "expiresAt": doc["registrationExpiresAt"]}
    return save_token(ctx, path, token_document(cfg, ctx.now(), answer, client), "refreshed")


def refresh_once(ctx, path, token, note):
    """(refreshed Token, None) or (None, why not), under the token's lock. A
    given refresh token is tried at most once a minute across all processes;
    a refresh that fails because another program (botocore) rotated the
    token meanwhile takes the token it wrote."""
    key = "refresh:" + sha1_hex(token.doc["refreshToken"])
    why = note.recent(key, REFRESH_RETRY_SECONDS)
    if why is not None:
        return None, why
    try:
        fresh = refresh(ctx, path, token)
    except Error as e:
        ctx.log("refresh failed: %s", e)
        note.remember(key, e)
        again, _ = read_token(ctx, path)
        if (again is not None and again.access_token != token.access_token
                and again.expires - ctx.now() >= TOKEN_REFRESH_WINDOW):
            again.how = "another process"
            return again, None
        return None, e
    note.forget()
    return fresh, None


# --------------------------------------------------------------------------
# Interactive login: device code and authorization code with PKCE
# --------------------------------------------------------------------------


class Prompt:
    """Where login instructions go. SDKs capture a credential process's
    stdout and stderr (botocore and the JS SDK show stderr only after it
    fails), so the controlling terminal comes first: /dev/tty, or CONOUT$ on
    Windows. Without one (or once it stops taking writes), stderr. Never
    stdout. Every line is escaped: the URLs and codes come from the network."""

    def __init__(self, ctx):
        self._ctx = ctx
        self._tty = open_terminal_to_write(ctx.open_terminal)
        self.visible = self._tty is not None or _isatty(ctx.stderr) or ctx.attended
        ctx.log("login prompt goes to %s", "the terminal" if self._tty else "stderr")

    def say(self, text):
        line = printable(text) + "\n"
        for stream in (self._tty, self._ctx.stderr):
            if stream is None:
                continue
            try:
                stream.write(line)
                stream.flush()
                return
            except (OSError, ValueError, AttributeError):
                if stream is self._tty:
                    self._tty = None

    def close(self):
        if self._tty is not None:
            try:
                self._tty.close()
            except OSError:  # pragma: no cover - a terminal that went away
                pass


def show_login_page(ctx, prompt, url, lines):
    """Print the instructions, open the browser (unless --no-browser), and
    make sure a person can actually see one of them."""
    cfg = ctx.cfg
    opened = False if cfg.no_browser else ctx.open_browser(url)
    prompt.say("%s: log in to %s%s" % (PROG, who(cfg), " (%s)" % cfg.start_url if cfg.sso_session is not None else ""))
    for line in lines:
        prompt.say("  " + line)
    prompt.say("  " + ("(opened in your browser; if it did not appear, open the link yourself)" if opened
                       else "(open the link yourself)"))
    if not (opened or prompt.visible or cfg.no_browser):
        raise LoginRequired("cannot log in here: there is no terminal to show the login link on and no "
                            "browser could be opened. Run this in a terminal: %s (or: %s)"
                            % (login_command(cfg), aws_login_command(cfg)))


def cached_registration(ctx, path, pkce):
    """A cached registration the AWS CLI would reuse for this flow, or None."""
    try:
        cached = read_json_file(path)
        grants = cached.get("grantTypes") or []
        if not (is_token_text(cached["clientId"]) and is_token_text(cached["clientSecret"])
                and isinstance(grants, list)):
            raise ValueError("malformed")
        expires = parse_time(cached["expiresAt"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as e:
        ctx.log("client registration %s unusable: %s", path, e)
        return None
    ctx.log.hide(cached["clientSecret"])
    if expires - ctx.now() < TOKEN_REFRESH_WINDOW or ("authorization_code" in grants) != pkce:
        return None
    ctx.log("reusing the client registration in %s", path)
    return dict(cached, expiresAt=format_time(expires))


def client_registration(ctx, pkce):
    """The OIDC client, reused from the AWS CLI's registration cache by its
    rules (15 minutes left; auth-code grants for PKCE only), else registered
    with at least sso:account:access so that refresh tokens are issued."""
    import json
    cfg = ctx.cfg
    path = home_path(ctx.environ, TOKEN_CACHE_DIR, registration_cache_key(cfg) + ".json")
    cached = cached_registration(ctx, path, pkce)
    if cached is not None:
        return cached
    scopes = cfg.scopes or DEFAULT_SCOPES
    body = {"clientName": "botocore-client-%s" % (cfg.sso_session if cfg.sso_session is not None
                                                  else int(ctx.now())),
            "clientType": "public"}
    if pkce:
        body.update(grantTypes=PKCE_GRANTS, redirectUris=[PKCE_REDIRECT], issuerUrl=cfg.start_url)
    body["scopes"] = scopes
    answer = oidc_call(ctx, "RegisterClient", "/client/register", body)
    try:
        if not (is_token_text(answer.get("clientId")) and is_token_text(answer.get("clientSecret"))):
            raise ValueError("clientId or clientSecret is missing or malformed")
        expires = service_number(answer.get("clientSecretExpiresAt"), "clientSecretExpiresAt", 1, MAX_EPOCH)
        registration = {"clientId": answer["clientId"], "clientSecret": answer["clientSecret"],
                        "expiresAt": format_time(expires), "scopes": scopes}
    except (AttributeError, ValueError) as e:
        raise ServiceError("SSO OIDC RegisterClient returned an unexpected response (%s)" % one_line(e))
    if pkce:
        registration["grantTypes"] = PKCE_GRANTS
    ctx.log.hide(registration["clientSecret"])
    save_file(path, json.dumps(registration), ctx.log, "client registration")
    return registration


def clamp_number(value, default, lo, hi):
    """A number from a service answer clamped into [lo, hi]; the default when
    it is missing or not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return default
    return int(min(max(value, lo), hi))


def _device_poll(ctx, body):
    """One CreateToken attempt: the answer, "pending" or "slow_down"; a
    LoginFailed for every final no."""
    try:
        return oidc_call(ctx, "CreateToken", "/token", body)
    except OidcError as e:
        if e.code == "AuthorizationPendingException":
            return "pending"
        if e.code == "SlowDownException":
            return "slow_down"
        if e.code == "ExpiredTokenException":
            raise LoginFailed("the login code expired before it was approved in the browser; "
                              "run again to start a new login")
        if e.code == "AccessDeniedException":
            raise LoginFailed("the login was denied in the browser (%s); if that was a mistake, run again and "
                              "allow it" % e)
        raise LoginFailed("the device login failed: %s" % e)


def device_login(ctx, client, prompt):
    """RFC 8628 device authorization: one attempt before showing the code (in
    case the client is already authorized), then the interval between every
    two polls, 5 s more after each slow_down, never past the login timeout."""
    cfg = ctx.cfg
    auth = oidc_call(ctx, "StartDeviceAuthorization", "/device_authorization", {
        "clientId": client["clientId"], "clientSecret": client["clientSecret"], "startUrl": cfg.start_url})
    try:
        if not is_token_text(auth.get("deviceCode")):
            raise ValueError("deviceCode is missing or malformed")
        ctx.log.hide(auth["deviceCode"])
        for key in ("userCode", "verificationUri"):
            if not isinstance(auth.get(key), str) or not auth[key].strip():
                raise ValueError("%s is missing" % key)
    except (AttributeError, ValueError) as e:
        raise ServiceError("SSO OIDC StartDeviceAuthorization returned an unexpected response (%s)" % one_line(e))
    page = auth.get("verificationUriComplete") if isinstance(auth.get("verificationUriComplete"), str) else None
    lines = ["open %s and enter the code %s," % (auth["verificationUri"], auth["userCode"])]
    lines += ["or open %s" % page] if page else []
    interval = clamp_number(auth.get("interval"), DEVICE_INTERVAL, DEVICE_INTERVAL_MIN, DEVICE_INTERVAL_MAX)
    budget = min(clamp_number(auth.get("expiresIn"), 600, 1, 86400) + 30, cfg.login_timeout)
    deadline = ctx.monotonic() + budget
    body = {"grantType": DEVICE_GRANT, "clientId": client["clientId"],
            "clientSecret": client["clientSecret"], "deviceCode": auth["deviceCode"]}
    answer = _device_poll(ctx, body)
    if isinstance(answer, dict):
        return answer
    show_login_page(ctx, prompt, page or auth["verificationUri"], lines)
    while True:
        if answer == "slow_down":  # RFC 8628 3.5: five seconds more, for good
            interval = min(interval + 5, DEVICE_INTERVAL_MAX)
        left = deadline - ctx.monotonic()
        if left <= interval:
            ctx.sleep(max(left, 0))
            raise LoginFailed("the login was not approved in the browser within %ds; run again to start a new "
                              "login" % budget)
        ctx.log("authorization pending; polling again in %ds", interval)
        ctx.sleep(interval)
        answer = _device_poll(ctx, body)
        if isinstance(answer, dict):
            return answer


def pkce_challenge(verifier):
    """S256: base64url(SHA-256(verifier)) without padding (RFC 7636 4.2)."""
    import base64
    import hashlib
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


def authorize_url(oidc_url, client_id, redirect_uri, state, challenge, scopes):
    """The sign-in URL of a PKCE login: <OIDC endpoint>/authorize with the
    AWS CLI's parameters, order and encoding. The path of a
    configured endpoint is kept (the AWS CLI keeps only scheme://host:port),
    so that /authorize is reached wherever /token is."""
    from urllib.parse import quote
    params = (("response_type", "code"), ("client_id", client_id), ("redirect_uri", redirect_uri),
              ("state", state), ("code_challenge_method", "S256"), ("scopes", " ".join(scopes)))
    return "%s/authorize?%s&code_challenge=%s" % (
        oidc_url, "&".join("%s=%s" % (k, quote(v, safe="-_.~")) for k, v in params), challenge)


class CallbackServer:
    """The loopback end of a PKCE sign-in: a Server on 127.0.0.1 (never
    another interface) that serves GET /oauth/callback, checking the
    login's state. However other local clients behave, the callback is
    served at once (see Server); anything else gets a short error page, the
    first sign-in response wins and later ones are ignored, and the whole
    wait is bounded by the login timeout."""

    def __init__(self, ctx, state):
        import threading
        self._ctx, self._state = ctx, state
        self.result = None  # ("code", code) or ("error", what the identity provider said)
        self.wrong_state = 0
        self._lock = threading.Lock()
        self.server = Server(self._answer, ctx.log)
        self.redirect_uri = "http://127.0.0.1:%d/oauth/callback" % self.server.address[1]

    def wait(self, seconds):
        """The sign-in response, or LoginFailed if none arrives in time."""
        deadline = self._ctx.monotonic() + seconds
        try:
            while self.result is None:
                self._ctx.watch_caller()
                if self._ctx.monotonic() >= deadline:
                    raise LoginFailed("no sign-in arrived from the browser within %ds%s; run again, or use "
                                      "--use-device-code if the browser is on another machine"
                                      % (seconds, " (%d response(s) with the wrong state were ignored)"
                                         % self.wrong_state if self.wrong_state else ""))
                self.server.handle(0.1)
        finally:
            self.server.close()
        return self.result

    def close(self):
        self.server.close()

    def _answer(self, method, target, headers):
        """The page for a request; the first good sign-in response is the result."""
        status, text = self._decide(method, target)
        import html
        return status, "text/html; charset=utf-8", (
            "<!doctype html><title>%s</title><p>%s</p>" % (PROG, html.escape(printable(text)))).encode()

    def _decide(self, method, target):
        from urllib.parse import parse_qs
        path, _, query = target.partition("?")
        self._ctx.log("callback: %s %s", method, path)
        if method != "GET":
            return 405, "Only the sign-in redirect is served here."
        if path != "/oauth/callback":
            return 404, "Not found."
        params = {k: v[0] for k, v in parse_qs(query).items()}
        self._ctx.log.hide(params.get("code"))
        with self._lock:
            if self.result is not None:
                return 200, "This sign-in has already been received; you can close this tab."
            if params.get("state") != self._state:
                self.wrong_state += 1
                return 400, ("This sign-in response does not belong to the login in progress (its state does "
                             "not match), so it was ignored.")
            if "error" in params:
                error = clip("%s%s" % (params["error"], ": " + params["error_description"]
                                       if params.get("error_description") else ""), 200)
                self.result = ("error", error)
                return 400, "Sign-in failed: %s. You can close this tab." % error
            if not params.get("code"):
                return 400, "The sign-in response has no authorization code."
            self.result = ("code", params["code"])
        return 200, "Signed in. You can close this tab and return to your application."


def pkce_login(ctx, client, prompt):
    """The authorization-code flow with PKCE (RFC 7636, S256), the AWS CLI's
    default for sso-session configs, redirected to a CallbackServer."""
    import secrets
    import uuid
    cfg = ctx.cfg
    verifier = "".join(secrets.choice(PKCE_VERIFIER_CHARS) for _ in range(64))
    state = str(uuid.uuid4())
    ctx.log.hide(verifier)
    try:
        server = CallbackServer(ctx, state)
    except OSError as e:
        raise LoginFailed("cannot listen on 127.0.0.1 for the browser's redirect (%s); use --use-device-code"
                          % one_line(e))
    try:
        url = authorize_url(cfg.oidc_url, client["clientId"], server.redirect_uri, state,
                            pkce_challenge(verifier), cfg.scopes or DEFAULT_SCOPES)
        show_login_page(ctx, prompt, url, ["open %s" % url])
        kind, value = server.wait(cfg.login_timeout)
    finally:
        server.close()
    if kind == "error":
        raise LoginFailed("the browser sign-in failed (%s)" % value)
    try:
        return oidc_call(ctx, "CreateToken", "/token", {
            "grantType": "authorization_code", "clientId": client["clientId"],
            "clientSecret": client["clientSecret"], "redirectUri": server.redirect_uri, "codeVerifier": verifier,
            "code": value})
    except OidcError as e:
        raise LoginFailed("exchanging the sign-in code for a token failed: %s" % e)


def login(ctx, path):
    """Log in in the browser and cache the token exactly as `aws sso login` does."""
    cfg = ctx.cfg
    device, why = login_flow(cfg, ctx.environ)
    ctx.log("interactive login for %s with the %s flow (%s)", who(cfg), "device code" if device else "PKCE", why)
    prompt = Prompt(ctx)
    ctx.logging_in = True
    try:
        client = client_registration(ctx, pkce=not device)
        answer = (device_login if device else pkce_login)(ctx, client, prompt)
        token = save_token(ctx, path, token_document(cfg, ctx.now(), answer, client), "logged in")
        prompt.say("%s: logged in to %s; valid until %s%s" % (PROG, who(cfg), token.doc["expiresAt"], (
            "; but the token cannot be saved in %s (%s): it serves this run only" % (path, one_line(
                token.unsaved))) if token.unsaved else ""))
    finally:
        ctx.logging_in = False
        prompt.close()
    return token


# --------------------------------------------------------------------------
# The token pipeline: every mode gets its token here
# --------------------------------------------------------------------------


def may_log_in(cfg, need):
    return need in (FRESH, NEW) or need == USABLE and cfg.interactive


def _renew(ctx, path, lock, before, need, rejected):
    """obtain_token's work under the lock: the file read again (another
    process may have renewed it meanwhile), then a refresh, a fallback to
    the current token if that fails and it will do, or a login."""
    note = FailureNote(lock, ctx)
    token, why = read_token(ctx, path)
    action, why = token_action(ctx, token, why, need, rejected)
    if action == "use":
        if before is None or token.access_token != before.access_token:
            token.how = "another process"
        return token
    if action == "refresh":
        renewed, why = refresh_once(ctx, path, token, note)
        if renewed is not None:
            return renewed
        if need in (USABLE, ALIVE) and token.expires > ctx.now() and not (
                rejected and token.access_token == rejected[0]):
            ctx.log("the refresh failed (%s); using the current token while it lasts", why)
            return token
        if not isinstance(why, LoginRequired):
            raise why  # the service failed: a login would fail the same way
        action = "none" if need == ALIVE else "login"
    if action == "none":
        return None
    if not may_log_in(ctx.cfg, need):
        raise why
    note.replay("login")
    try:
        token = login(ctx, path)
    except Error as e:
        note.remember("login", e)
        raise
    note.forget()
    return token


def obtain_token(ctx, need=USABLE, rejected=None):
    """The one way every mode gets its token, for what it needs (USABLE,
    FRESH, NEW or ALIVE): the cached one if it will do, else a refresh or a
    login under a lock next to the token file, which is read again once the
    lock is ours, so that any number of processes cause one refresh or one
    login and the others use what it wrote."""
    path = token_path(ctx)
    token, why = read_token(ctx, path)
    action, why = token_action(ctx, token, why, need, rejected)
    if action == "use":
        return token
    if action == "none":
        return None
    if action == "login" and not may_log_in(ctx.cfg, need):
        raise why
    with Lock(path + ".lock", ctx, "refreshing or logging in to %s" % who(ctx.cfg)) as lock:
        return _renew(ctx, path, lock, token, need, rejected)


# --------------------------------------------------------------------------
# SSO: role credentials
# --------------------------------------------------------------------------


#: The SSO portal's operations (service sso, API 2019-06-10): method and path.
PORTAL_OPERATIONS = {"GetRoleCredentials": ("GET", "/federation/credentials"),
                     "ListAccounts": ("GET", "/assignment/accounts"),
                     "ListAccountRoles": ("GET", "/assignment/roles"), "Logout": ("POST", "/logout")}


def portal_call(ctx, token, operation, query=(), denied=None, attempts=HTTP_ATTEMPTS, until=None):
    """One call to the SSO portal with the token; the JSON answer of a 200.
    401: LoginRequired; 403/404: AccessDenied(denied), if given; otherwise
    any other status: ServiceError naming the operation."""
    from urllib.parse import urlencode
    cfg = ctx.cfg
    method, path = PORTAL_OPERATIONS[operation]
    url = "%s%s%s" % (cfg.portal_url, path, "?" + urlencode(query) if query else "")
    status, headers, body = ctx.http.request(method, url, headers={"x-amz-sso_bearer_token": token.access_token},
                                             body=b"" if method == "POST" else None, attempts=attempts,
                                             until=until)
    code, message = error_code(headers, body), error_message(body)
    detail = (" (%s: %s)" % (code or "HTTP %d" % status, message) if message
              else " (%s)" % (code or "HTTP %d" % status))
    if status == 401 or code == "UnauthorizedException":
        raise LoginRequired("the SSO portal rejected the cached login for %s%s; it was revoked, "
                            "logged out or expired early. %s" % (who(cfg), detail, login_advice(cfg)))
    if denied and (status in (403, 404) or code in ("ForbiddenException", "AccessDeniedException",
                                                    "ResourceNotFoundException")):
        raise AccessDenied(denied + detail)
    if status != 200:
        raise ServiceError("%s failed%s" % (operation, detail))
    if not isinstance(body, dict) and operation != "Logout":  # Logout answers with an empty body
        raise ServiceError("%s returned an unexpected response (not a JSON object)" % operation)
    return body


def role_credentials(ctx, body):
    """The credentials in a GetRoleCredentials answer, checked field by field."""
    try:
        rc = body["roleCredentials"]
        creds = {"AccessKeyId": rc["accessKeyId"], "SecretAccessKey": rc["secretAccessKey"],
                 "SessionToken": rc["sessionToken"]}
        if not all(isinstance(v, str) and v for v in creds.values()):
            raise ValueError("a credential is missing or empty")
        creds["Expiration"] = service_number(rc.get("expiration"), "expiration", 0, MAX_EPOCH * 1000 + 999) // 1000
    except (TypeError, KeyError, AttributeError, ValueError) as e:
        raise ServiceError("GetRoleCredentials returned an unexpected response (%s)" % one_line(e))
    ctx.log.hide(creds["SecretAccessKey"], creds["SessionToken"])
    if creds["Expiration"] <= ctx.now():
        raise ServiceError("GetRoleCredentials returned credentials that expired at %s, before now (%s); "
                           "check this machine's clock" % (format_time(creds["Expiration"]),
                                                           format_time(ctx.now())))
    ctx.log("role credentials for %s/%s expire %s", ctx.cfg.account_id, ctx.cfg.role_name,
            format_time(creds["Expiration"]))
    return creds


def fetch_role_credentials(ctx, token):
    """GetRoleCredentials: GET /federation/credentials on the SSO portal."""
    cfg = ctx.cfg
    ctx.log("portal endpoint %s", cfg.portal_url)
    body = portal_call(ctx, token, "GetRoleCredentials",
                       (("role_name", cfg.role_name), ("account_id", cfg.account_id)),
                       denied="no access to role %s in account %s; check the account ID and role name "
                              "(sso_account_id, sso_role_name) against the roles --list --profile NAME shows"
                              % (cfg.role_name, cfg.account_id))
    return role_credentials(ctx, body)


def get_credentials(ctx):
    """Role credentials for the run: from the shared cache, else from the portal.

    The fetch runs under a lock next to the cache entry and the cache is read
    again once the lock is ours, so that parallel processes make one call.
    """
    cfg = ctx.cfg
    path = role_cache_path(cfg)
    if not cfg.force_refresh:
        creds = cached_role_credentials(path, ctx.now(), ctx.log)
        if creds is not None:
            return creds
    else:
        ctx.log("--force-refresh: not reading %s", path)
    token = obtain_token(ctx)
    with Lock(path + ".lock", ctx, "fetching role credentials") as lock:
        if not cfg.force_refresh:
            creds = cached_role_credentials(path, ctx.now(), ctx.log)
            if creds is not None:
                return creds
        note = FailureNote(lock, ctx)
        key = "fetch:" + sha1_hex(token.access_token)
        note.replay(key)
        try:
            try:
                creds = fetch_role_credentials(ctx, token)
            except LoginRequired as e:  # refused although it looked valid: refresh or log in
                if not (cfg.interactive or token.refreshable(ctx.now())):
                    raise
                token = obtain_token(ctx, rejected=(token.access_token, e))
                creds = fetch_role_credentials(ctx, token)
        except Error as e:
            note.remember(key, e)
            raise
        store_role_credentials(path, creds, cfg.account_id, ctx.log)
    return creds


# --------------------------------------------------------------------------
# Output: the credential_process document and the shell forms
# --------------------------------------------------------------------------


def format_output(creds, account_id):
    """The credential_process document: one line of JSON, Version the number 1."""
    fields = (("AccessKeyId", creds["AccessKeyId"]), ("SecretAccessKey", creds["SecretAccessKey"]),
              ("SessionToken", creds["SessionToken"]), ("Expiration", format_time(creds["Expiration"])),
              ("AccountId", account_id))
    return '{"Version":1,%s}\n' % ",".join("%s:%s" % (json_str(k), json_str(v)) for k, v in fields)


#: Characters every --format shell takes unquoted (credentials from AWS use
#: only these: base64 and its padding); a value with any other is quoted.
_PLAIN_VALUE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=._:-")


def shell_value(value, fmt):
    """value as one literal word in fmt's shell: as the AWS CLI writes it
    when that is safe, else quoted so that nothing in it is interpreted."""
    plain = value != "" and _PLAIN_VALUE.issuperset(value)
    if not (value.isascii() and value.isprintable()):  # a line-by-line reader would split or drop it
        raise ServiceError("the credentials hold control or non-ASCII characters, which --format %s cannot carry "
                           "safely; use --format process" % fmt)
    if fmt in ("env", "env-no-export"):  # POSIX sh: in single quotes only ' is special
        return value if plain else "'%s'" % value.replace("'", "'\\''")
    if fmt == "fish":  # in fish's single quotes, only \ and ' are escapes
        return '"%s"' % value if plain else "'%s'" % value.replace("\\", "\\\\").replace("'", "\\'")
    if fmt == "powershell":  # in single quotes nothing expands, and '' is a quote
        return '"%s"' % value if plain else "'%s'" % value.replace("'", "''")
    # windows-cmd: set NAME=VALUE takes the rest of the line; cmd has no
    # quoting that holds every character, so anything but plain text is refused.
    if plain:
        return value
    raise ServiceError("the credentials hold characters that --format windows-cmd cannot write safely; "
                       "use --format powershell or process")


def shell_lines(pairs, fmt):
    """Lines setting (variable, value) pairs in fmt's shell."""
    return "".join(FORMATS[fmt] % (name, shell_value(value, fmt)) + "\n" for name, value in pairs)


def format_credentials(creds, account_id, fmt):
    """The credentials in a --format form. process: the credential_process
    document; the others: the AWS CLI's export-credentials lines (expiry with
    +00:00, as it prints it), then AWS_ACCOUNT_ID."""
    if fmt == "process":
        return format_output(creds, account_id)
    return shell_lines((("AWS_ACCESS_KEY_ID", creds["AccessKeyId"]),
                        ("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"]),
                        ("AWS_SESSION_TOKEN", creds["SessionToken"]),
                        ("AWS_CREDENTIAL_EXPIRATION", format_time(creds["Expiration"])[:-1] + "+00:00"),
                        ("AWS_ACCOUNT_ID", account_id)), fmt)


# --------------------------------------------------------------------------
# Install and uninstall: the command on PATH, with its bytecode compiled
# --------------------------------------------------------------------------


class InstallPaths:
    """Where --install writes under a prefix (--prefix, or ~/.local): the
    launcher in PREFIX/bin; the script, its bytecode and the record of what
    was written in PREFIX/share/aws-sso-credential-process."""

    def __init__(self, opts, environ):
        import os
        prefix = expand_path(opts["prefix"], environ) if opts.get("prefix") else home_path(environ, (".local",))
        self.prefix = os.path.abspath(prefix)
        self.bin = os.path.join(self.prefix, "bin")
        self.module = installed_script(self.prefix)
        self.share = os.path.dirname(self.module)
        self.pycache = os.path.join(self.share, "__pycache__")
        self.record = os.path.join(self.share, INSTALL_RECORD)
        self.launcher = os.path.join(self.bin, LAUNCHER + (".cmd" if os.name == "nt" else ""))
        # The directories --install makes if missing, outermost first.
        self.dirs = (self.prefix, self.bin, os.path.dirname(self.share), self.share, self.pycache)


def the_original(path):
    """How the original aws-sso-credential-process (PyPI 0.x, the command of
    the same name) was installed at path: "pipx", "pip" or None if it is not
    that. pip writes a console script importing its module; pipx links it
    from its own virtualenv."""
    import os
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(4096)
    except OSError:
        return None
    if "from aws_sso_credential_process.aws_sso_credential_process import" not in text:
        return None
    return "pipx" if "/pipx/" in os.path.realpath(path).replace(os.sep, "/") else "pip"


def _bytecode_loader(share, cache_tag):
    """The launcher's Python: run the bytecode --install compiled, directly
    and as __main__, without the import system's search (a millisecond of
    every call); with another Python (another version), or without the
    bytecode, compile the source in memory. `share` is a Python expression
    for the directory that holds them."""
    return ("import _signal; _signal.getsignal(2) is _signal.SIG_IGN or _signal.signal(2, lambda *_: ("
            "__import__('posix').write(2, b'%s: interrupted\\n'), __import__('posix')._exit(130)))\n"
            "import sys\n"
            "d = %s\n%s"
            "f = d + '/aws_sso_credential_process.py'\n"
            "try:\n"
            "    b = open(d + '/__pycache__/aws_sso_credential_process.%s.pyc', 'rb').read()\n"
            "    if b[:4] != sys.modules['_frozen_importlib_external'].MAGIC_NUMBER:\n"
            "        raise ValueError('bytecode of another Python')\n"
            "    c = __import__('marshal').loads(memoryview(b)[16:])\n"
            "except (OSError, ValueError, EOFError, TypeError, KeyError, AttributeError):\n"
            "    c = compile(open(f, 'rb').read(), f, 'exec')\n"
            "exec(c, {'__name__': '__main__', '__file__': f})\n"
            % (PROG, share, "sys.argv[0] = sys.argv.pop(1)\n" if share.startswith("sys.argv") else "", cache_tag))


def launcher_text(python, share, cache_tag):
    """The launcher. A #! line to the interpreter, isolated and without site
    (-IS), when its path fits one (ASCII, no spaces, short enough for every
    kernel); else a POSIX sh script that execs it and can say, when that
    Python is gone, what to do. Either way it runs _bytecode_loader."""
    head = "%s (%s %s)\n" % (LAUNCHER_MARK, PROG, __version__)
    line = "#!%s -IS" % python
    if python.isascii() and not any(c.isspace() for c in python) and len(line) <= 127:
        return "%s\n%s%s" % (line, head, _bytecode_loader(repr(share), cache_tag))

    def q(text):
        return "'%s'" % text.replace("'", "'\\''")
    return ("#!/bin/sh\n%spython=%s\nshare=%s\n"
            "[ -x \"$python\" ] || { printf '%%s\\n' \"%s: $python, the Python this was installed with, is gone; "
            "install again with another: python3 \\\"$share/aws_sso_credential_process.py\\\" --install\" >&2; "
            "exit 2; }\n"
            "exec \"$python\" -I -S -c %s \"$share\" \"$0\" \"$@\"\n"
            % (head, q(python), q(share), PROG, q(_bytecode_loader("sys.argv.pop(1)", cache_tag))))


def launcher_cmd_text(python, share):  # pragma: no cover - written on Windows only, untested there
    """The Windows launcher: a .cmd file doing what the sh one does."""
    return ("@echo off\r\nrem %s (%s %s)\r\n"
            "if not exist \"%s\" (echo %s: %s, the Python this was installed with, is gone; install again "
            "1>&2 & exit /b 2)\r\n"
            "\"%s\" -I -S -c \"import sys; sys.path[:0] = [sys.argv.pop(1)]; import aws_sso_credential_process "
            "as m; m.run()\" \"%s\" %%*\r\n"
            % (LAUNCHER_MARK[2:], PROG, __version__, python, PROG, python, python, share))


def this_command():
    """How a credential_process line runs this script: the launcher --install
    wrote, when this is the copy it installed, else this Python and this file."""
    import os
    import shlex
    here = os.path.abspath(__file__)
    share = os.path.dirname(here)
    if os.path.basename(share) == PROG and os.path.basename(os.path.dirname(share)) == "share":
        launcher = os.path.join(os.path.dirname(os.path.dirname(share)), "bin", LAUNCHER)
        if is_our_launcher(launcher):
            return shlex.quote(launcher)
    return "%s %s" % (shlex.quote(os.path.abspath(sys.executable or "python3")), shlex.quote(here))


def runs_this_script(line):
    return "aws_sso_credential_process" in line or LAUNCHER in line


def _sha256(path):
    """The SHA-256 of a regular file (never through a link), or None."""
    import hashlib
    try:
        return hashlib.sha256(read_regular_file(path, 16 << 20)).hexdigest()
    except (OSError, ValueError):
        return None


def _mtime(path):
    import os
    try:
        return os.lstat(path).st_mtime
    except OSError:
        return 0


def read_install_record(paths):
    """The record --install keeps of what it wrote: {"files": {path: [SHA-256,
    ...]}, "made": [directories it created]}; empty if there is none (an
    install by 1.1 or older, or nothing installed) or it is unreadable."""
    import os
    record = {"files": {}, "made": []}
    if os.path.islink(paths.share):
        return record
    try:  # the record, or one an interrupted run wrote whole but did not get to rename
        names = [n for n in os.listdir(paths.share) if n.startswith(INSTALL_RECORD + ".") and n.endswith(
            TEMP_SUFFIX)] if not os.path.lexists(paths.record) else []
    except OSError:
        names = []
    for path in [paths.record] + sorted((os.path.join(paths.share, n) for n in names), key=_mtime, reverse=True):
        try:
            found = read_json_file(path)
            if isinstance(found.get("files"), dict) and isinstance(found.get("made"), list):
                return found
        except (OSError, ValueError):
            pass
    return record


def _owned(path, record, legacy):
    """Whether the file at path is one --install wrote: recorded with this
    content, or (legacy: installed before records were kept, as the
    launcher in bin shows) the script or its bytecode."""
    import os
    if os.path.islink(path) or not os.path.lexists(path):
        return False
    if path in record["files"]:
        return _sha256(path) in record["files"][path]
    return legacy


def _legacy_install(paths):
    """Whether our launcher in bin runs the copy in this share directory (an
    install made before records were kept)."""
    import os
    if not is_our_launcher(paths.launcher) or os.path.islink(paths.share):
        return False
    with open(paths.launcher, encoding="utf-8", errors="replace") as f:
        return paths.share in f.read(4096)


def sweep_install_temps(paths):
    """Temporary files an interrupted --install or --uninstall left (named
    <target>.<pid>[.<random>].aws-sso-credential-process.tmp), once the
    process that wrote them is gone; the names removed."""
    import os
    removed = []
    for directory in (paths.bin, paths.share, paths.pycache):
        if os.path.islink(directory):
            continue
        try:
            names = [n for n in os.listdir(directory) if n.endswith(TEMP_SUFFIX)]
        except OSError:
            continue
        for name in names:
            pid = name[:-len(TEMP_SUFFIX)].split(".")
            pid = next((int(w) for w in reversed(pid) if w.isdigit()), None) if len(pid) > 1 else None
            try:
                if pid is not None:
                    os.kill(pid, 0)
                    continue  # its writer still runs
            except ProcessLookupError:
                pass
            except OSError:  # another user's process: alive
                continue
            _remove(os.path.join(directory, name), removed)
    return removed


def _refuse_foreign(paths, record, legacy, source):
    """ConfigError if installing would write through a link or over a file
    --install did not write."""
    import os
    for directory in (paths.share, paths.pycache):
        if os.path.islink(directory):
            raise ConfigError("%s is a symbolic link, and --install writes only into a directory of its own; "
                              "remove the link or choose another --prefix" % directory)
    how = the_original(paths.launcher)
    if how is not None:
        undo = ("pipx uninstall aws-sso-credential-process" if how == "pipx" else
                "python3 -m pip uninstall aws-sso-credential-process (with the Python that installed it)")
        raise ConfigError("%s is the original aws-sso-credential-process (PyPI 0.x, installed with %s); replace "
                          "it: run `%s`, then --install again. Its flags, AWS_SSO_* variables and "
                          "sso_interactive_auth work unchanged here" % (paths.launcher, how, undo))
    if os.path.lexists(paths.launcher) and not is_our_launcher(paths.launcher):
        raise ConfigError("%s exists and --install did not write it; remove or rename it, or choose another "
                          "--prefix" % paths.launcher)
    if (os.path.lexists(paths.module) and not _owned(paths.module, record, legacy)
            and _sha256(paths.module) != __import__("hashlib").sha256(source).hexdigest()):
        raise ConfigError("%s exists and --install did not write it; move it away or choose another --prefix"
                          % paths.module)


def _make_dirs(paths, record):
    """The install's directories, each one made here added to the record."""
    import os
    for directory in paths.dirs:
        missing = []
        while not os.path.isdir(directory) and directory != os.path.dirname(directory):
            missing.append(directory)
            directory = os.path.dirname(directory)
        for directory in reversed(missing):
            os.mkdir(directory, 0o755)
            if directory not in record["made"]:
                record["made"].append(directory)


def _write_record(paths, record):
    import json
    replace_file(paths.record, json.dumps(record, indent=1, sort_keys=True).encode("utf-8"), 0o644)


def _installed_message(ctx, paths, python):
    """What --install prints: what it wrote and the line to use (and, on
    stderr, whether the command is on PATH)."""
    import os
    import shlex
    on_path = paths.bin in [os.path.abspath(p) for p in ctx.environ.get("PATH", "").split(os.pathsep) if p]
    if not on_path:
        write_stream(ctx.stderr, "%s: note: %s is not on PATH; the line below works anyway, with the full path\n"
                     % (PROG, paths.bin))
    return ("installed %s %s for %s:\n  %s\n  %s\nuse it in ~/.aws/config (the full path: SDKs expand no ~, "
            "and IDEs often start without ~/.local/bin on PATH):\n  credential_process = %s --profile NAME\n"
            % (PROG, __version__, python, paths.launcher, paths.module, shlex.quote(paths.launcher)))


def install(ctx, opts):
    """--install: the script and its bytecode (for the Python running this)
    under PREFIX/share, the launcher in PREFIX/bin, and a record of each
    file's hash and the directories made; then the line to use. Every file
    is staged beside its target and renamed over it (bytecode, script,
    launcher), and the record lists both the old and the new content while
    that happens, so that an interrupted install leaves only files the next
    --install or --uninstall knows as its own."""
    import os
    import hashlib
    import py_compile
    from importlib.util import cache_from_source
    paths = InstallPaths(opts, ctx.environ)
    python = os.path.abspath(sys.executable or "")
    if not sys.executable or not os.path.isfile(python):
        raise ConfigError("cannot tell which Python is running this (sys.executable is %r)" % sys.executable)
    with open(os.path.abspath(__file__), "rb") as f:
        source = f.read()
    record, legacy = read_install_record(paths), _legacy_install(paths)
    _refuse_foreign(paths, record, legacy, source)
    pyc = cache_from_source(paths.module)
    try:
        sweep_install_temps(paths)
        _make_dirs(paths, record)
        _write_record(paths, record)  # the directories it made, before anything else
        staged, staged_pyc = ("%s.%d%s" % (path, os.getpid(), TEMP_SUFFIX) for path in (paths.module, pyc))
        try:
            replace_file(staged, source, 0o644)
            py_compile.compile(staged, cfile=staged_pyc, dfile=paths.module, doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
            os.chmod(staged_pyc, 0o644)
            text = (launcher_cmd_text(python, paths.share) if os.name == "nt" else
                    launcher_text(python, paths.share, sys.implementation.cache_tag)).encode("utf-8")
            new = {paths.module: _sha256(staged), pyc: _sha256(staged_pyc),
                   paths.launcher: hashlib.sha256(text).hexdigest()}
            files = record["files"]
            for path, digest in new.items():  # old and new content, while the renames run
                files[path] = sorted(set([digest] + [d for d in files.get(path, []) if d == _sha256(path)]))
            _write_record(paths, record)
            os.replace(staged_pyc, pyc)  # bytecode first: the launcher runs it without looking at the script
            os.replace(staged, paths.module)
            replace_file(paths.launcher, text, 0o755)
        finally:
            for leftover in (staged, staged_pyc):
                if os.path.exists(leftover):
                    os.unlink(leftover)
        record["files"] = {path: [d for d in digests if d == _sha256(path)]
                           for path, digests in record["files"].items() if _sha256(path) in digests}
        _write_record(paths, record)
    except (OSError, py_compile.PyCompileError) as e:
        raise ConfigError("cannot install into %s: %s (choose another --prefix, or run as its owner)"
                          % (paths.prefix, one_line(e)))
    return _installed_message(ctx, paths, python)


def uninstall(ctx, opts):
    """--uninstall: the files --install wrote, each only if it still holds
    what was written (the record's hashes; the launcher by its mark), the
    temporary files of an interrupted run, then the directories --install
    made, if they are left empty. Nothing is removed through a link."""
    import os
    paths = InstallPaths(opts, ctx.environ)
    record, legacy = read_install_record(paths), _legacy_install(paths)
    removed, kept = [], []
    candidates = set(record["files"]) | {paths.module, paths.launcher}
    if legacy and os.path.isdir(paths.pycache) and not os.path.islink(paths.pycache):
        candidates |= {os.path.join(paths.pycache, n) for n in os.listdir(paths.pycache)
                       if n.startswith("aws_sso_credential_process.") and n.endswith(".pyc")}
    for path in sorted(candidates):
        ours = is_our_launcher(path) if path == paths.launcher else _owned(path, record, legacy)
        if ours:
            _remove(path, removed)
        elif os.path.lexists(path) and path in record["files"]:
            kept.append(path)
    removed += sweep_install_temps(paths)
    if not os.path.islink(paths.share) and os.path.lexists(paths.record):
        _remove(paths.record, removed)
    for directory in sorted(set(record["made"]) | ({paths.pycache, paths.share} if legacy or record["made"]
                                                    else set()), key=len, reverse=True):
        try:
            if not os.path.islink(directory):
                os.rmdir(directory)
        except OSError:  # missing, or something else lives there: left alone
            pass
    out = ("removed:\n%s\n" % "\n".join("  " + p for p in removed) if removed
           else "nothing of %s was installed under %s\n" % (PROG, paths.prefix))
    return out + "".join("kept %s: it changed since --install wrote it\n" % p for p in kept)


# --------------------------------------------------------------------------
# Stand-alone modes: --login, --logout, --list, --check
# --------------------------------------------------------------------------


def say(ctx, line):
    """A line for the person at the terminal (or stderr), never stdout."""
    prompt = Prompt(ctx)
    try:
        prompt.say("%s: %s" % (PROG, line))
    finally:
        prompt.close()


def run_login(ctx, opts):
    """--login: a login valid for 15 minutes or more, made now if needed: a
    refresh when the token allows one, else the browser or device-code login
    (with --force-refresh, always a new login). Says how it went on the
    terminal (or stderr); nothing on stdout."""
    if opts.get("interactive") is False:
        raise ConfigError("--login logs in: it cannot be --noninteractive")
    cfg = ctx.configure(opts, need_role=False)
    ctx.attended = True  # the person who asked for a login reads stderr, whatever it is
    token = obtain_token(ctx, NEW if cfg.force_refresh else FRESH)
    if token.unsaved:
        raise ConfigError("%s (%s), but the token cannot be saved in %s: %s; check that directory's owner "
                          "and free space (sudo aws sso login leaves it owned by root)"
                          % (token.how, who(cfg), token_path(ctx), one_line(token.unsaved)))
    line = {None: "already logged in to %s; valid until %s (--force-refresh logs in again)",
            "refreshed": "refreshed the login to %s; valid until %s",
            "another process": "logged in to %s (by another process meanwhile); valid until %s"}.get(token.how)
    if line:  # after a login, login() has said its own
        say(ctx, line % (who(cfg), format_time(token.expires)))
    return ""


def portal_pages(ctx, token, operation, key, query=(), until=None):
    """The items of a paged portal listing, every page, waiting out
    throttling; ServiceError past LIST_MAX_PAGES pages, a repeated
    nextToken, or the listing's deadline (until, on ctx.monotonic())."""
    seen, next_token = set(), None
    while True:
        try:
            if until is not None and ctx.monotonic() >= until:
                raise _OutOfTime()
            body = portal_call(ctx, token, operation, query + ((("next_token", next_token),) if next_token else ())
                               + (("max_result", "100"),), attempts=LIST_ATTEMPTS, until=until)
        except _OutOfTime:
            raise ServiceError("listing the accounts and roles took longer than %gs (AWS_SSO_LIST_TIMEOUT); "
                               "stopped at %s; retry later, or raise AWS_SSO_LIST_TIMEOUT"
                               % (ctx.cfg.list_timeout, operation))
        items = body.get(key)
        if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
            raise ServiceError("%s returned an unexpected response (no %s)" % (operation, key))
        yield from items
        next_token = body.get("nextToken")
        if not next_token:
            return
        if not is_token_text(next_token) or next_token in seen:  # a service going round in circles
            raise ServiceError("%s returned a bad or repeated nextToken" % operation)
        if len(seen) + 1 >= LIST_MAX_PAGES:
            raise ServiceError("%s went on past %d pages; stopped (the SSO portal keeps sending more)"
                               % (operation, LIST_MAX_PAGES))
        seen.add(next_token)


def _listed(item, key, check):
    """A field of a listed account or role, checked."""
    value = item.get(key)
    if not isinstance(value, str) or not check(value):
        raise ServiceError("the SSO portal listed a malformed %s (%s)" % (key, clip(repr(value), 80)))
    return value


def is_account_id(value):
    return len(value) == 12 and _DIGITS.issuperset(value)


def list_roles(ctx, token):
    """Every account and role the token reaches: ListAccounts, then
    ListAccountRoles for each; names as the portal gave them. The whole
    listing is bounded by AWS_SSO_LIST_TIMEOUT."""
    found, until = [], ctx.monotonic() + ctx.cfg.list_timeout
    for account in portal_pages(ctx, token, "ListAccounts", "accountList", until=until):
        account_id = _listed(account, "accountId", is_account_id)
        for role in portal_pages(ctx, token, "ListAccountRoles", "roleList", (("account_id", account_id),), until):
            role_name = _listed(role, "roleName", is_token_text)
            found.append({"accountId": account_id, "roleName": role_name, **{
                key: _listed(account, key, lambda v: True) if account.get(key) is not None else ""
                for key in ("accountName", "emailAddress")}})
    found.sort(key=lambda r: (r["accountName"].lower(), r["accountId"], r["roleName"]))
    return found


def profile_name(account_name, account_id, role_name, with_id=False):
    """A profile name from an account and role: ASCII letters (accents
    dropped), digits, '.', '_' and '-' only, so that it is safe in an INI
    header and in a shell; with_id, the account ID follows its name."""
    import unicodedata

    def clean(text):
        text = unicodedata.normalize("NFKD", text)
        out = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "" if unicodedata.combining(c)
                      else "-" for c in text)
        while "--" in out:
            out = out.replace("--", "-")
        return out.strip("-.")
    account = clean(account_name)
    account = account + "-" + account_id if account and with_id else account or account_id
    return "%s.%s" % (account, clean(role_name) or "role")


def unique_profile_names(roles):
    """profile_name for each role, kept apart: where two accounts share a
    name the account ID goes in, and where cleaning makes two roles alike
    (Data+Eng, Data-Eng) a counter follows."""
    names = [profile_name(r["accountName"], r["accountId"], r["roleName"]) for r in roles]
    taken, unique = set(), []
    for role, name in zip(roles, names):
        if names.count(name) > 1:
            name = profile_name(role["accountName"], role["accountId"], role["roleName"], with_id=True)
        base, n = name, 2
        while name in taken:
            name, n = "%s-%d" % (base, n), n + 1
        taken.add(name)
        unique.append(name)
    return unique


def run_list(ctx, opts):
    """--list: the accounts and roles the login reaches, as a table, JSON, or
    ~/.aws/config sections in the README's layout."""
    import json
    import shlex
    cfg = ctx.configure(opts, need_role=False)
    roles = list_roles(ctx, obtain_token(ctx))
    output = opts.get("output", "table")
    if output == "json":
        return json.dumps(roles, indent=2) + "\n"
    if output == "config":
        # The lines read the login this listing read: its --profile and the
        # flags that overrode it, or else what the environment gave.
        source = (("--profile", cfg.profile) if cfg.profile is not None else ()) + tuple(
            word for s in SETTINGS if s.attr in opts and s.rule == "text" and s.attr not in ("account_id", "role_name")
            for word in (s.flag, opts[s.attr]))
        if not source:
            source = (("--sso-session", cfg.sso_session) if cfg.sso_session is not None
                      else ("--start-url", cfg.start_url, "--region", cfg.region))
        names = unique_profile_names(roles)
        lines = ["# The accounts and roles %s reaches, listed by %s %s on %s." % (
            printable(who(cfg)), PROG, __version__, format_time(ctx.now()))]
        for role, name in zip(roles, names):
            lines.append("")
            if name in cfg.file["profiles"]:
                lines.append("# [profile %s] is in %s already: keep one of the two" % (name, printable(
                    cfg.config_path)))
            lines += ["[profile %s]" % name, "credential_process = %s %s" % (this_command(), " ".join(
                shlex.quote(word) for word in source + ("--account-id", role["accountId"],
                                                         "--role-name", role["roleName"])))]
        return "\n".join(lines) + "\n"
    rows = [("ACCOUNT ID", "ACCOUNT NAME", "ROLE")] + [
        (r["accountId"], printable(clip(r["accountName"], 60)), r["roleName"]) for r in roles]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return "".join("%s  %s  %s\n" % (row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2]) for row in rows)


def _known_roles(cfg):
    """(account, role) pairs the configuration names anywhere: sso_account_id
    and sso_role_name in profiles, --account-id and --role-name in the
    credential_process lines that run this script, and the run's own."""
    pairs = {(cfg.account_id, cfg.role_name)}
    for section in cfg.file["profiles"].values():
        pairs.add((section.get("sso_account_id"), section.get("sso_role_name")))
        line = section.get("credential_process") or ""
        if runs_this_script(line):
            flags = line_options(line)
            named = cfg.file["profiles"].get(flags.get("--profile"), {})
            pairs.add((flags.get("--account-id", named.get("sso_account_id")),
                       flags.get("--role-name", named.get("sso_role_name"))))
    return {(a, r) for a, r in pairs if a and r}


def _remove_role_entries(cfg, pairs, removed):
    """The role cache entries this login made for these (account, role)
    pairs: found by key, read only to check they are SSO entries."""
    for account_id, role_name in sorted(pairs):
        role_path = role_cache_path(cfg, account_id, role_name)
        try:
            if read_json_file(role_path).get("ProviderType") != "sso":
                continue
        except (OSError, ValueError, AttributeError):
            continue
        _remove(role_path, removed)


def run_logout(ctx, opts):
    """--logout: the portal's Logout for the cached token (refreshed first if
    it has expired but can be, since its refresh token keeps the session
    alive), then that token file and the role credentials cached from this
    login, found by key (never by reading the whole cache): every account and
    role the config names, and every one the portal lists for this login.
    Other files stay."""
    import os
    cfg = ctx.configure(opts, need_role=False)
    path = token_path(ctx)
    cached, _ = read_token(ctx, path)
    try:
        token, failure = (obtain_token(ctx, ALIVE) if cached is not None else None), None
    except Error as e:  # LoginRequired: the login ended; anything else: the portal may still hold it
        ctx.log("refreshing before the logout failed: %s", e)
        token, failure = None, (None if isinstance(e, LoginRequired) else e)
    said, removed, pairs = [], [], _known_roles(cfg)
    if token is not None:
        try:
            pairs |= {(r["accountId"], r["roleName"]) for r in list_roles(ctx, token)}
        except Error as e:
            said.append("warning: listing the roles of this login failed (%s); role credentials of this login "
                        "for roles the config does not name may remain in %s" % (
                            ctx.log.public(e), home_path(cfg.environ, ROLE_CACHE_DIR)))
        try:
            portal_call(ctx, token, "Logout")
            said.append("logged out of %s at the SSO portal" % who(cfg))
        except LoginRequired:
            said.append("the SSO portal no longer knew the login for %s" % who(cfg))
        except Error as e:
            failure = e
    elif cached is not None and failure is None:
        said.append("the login for %s had expired (and could not be refreshed); nothing to tell the portal"
                    % who(cfg))
    try:
        _remove_role_entries(cfg, pairs, removed)
        if os.path.lexists(path):
            _remove(path, removed)
    finally:
        said += ["removed %s" % p for p in removed]
        if not removed and failure is None and not said:
            said.append("no cached login or role credentials for %s" % who(cfg))
        write_stream(ctx.stderr, "".join("%s: %s\n" % (PROG, printable(line)) for line in said))
    if failure is None:
        write_stream(ctx.stderr, "%s: %s\n" % (PROG, printable("to log in again: %s (or: %s)" % (
            login_command(cfg), aws_login_command(cfg)))))
    else:
        raise type(failure)("removed the login here, but telling the SSO portal failed (%s); the session "
                            "stays valid at the portal until %s" % (ctx.log.public(failure), (
                                "it expires, at %s" % format_time(token.expires) if token
                                else "it reaches its maximum duration")))
    return ""


#: What a profile holding both credential_process and sso_* keys does under
#: each SDK, as the SDK matrix saw it (docs/reference.md, "Under each
#: SDK"), by the kind of SSO keys it holds; other mixes were not measured.
SDK_TRAPS = {
    "sso-session": "botocore (boto3, the AWS CLI), JS SDK v2 and Ruby use their own SSO and never run "
                   "credential_process, the Go SDKs fail, only JS SDK v3 runs it",
    "legacy": "botocore (boto3, the AWS CLI), JS SDK v2, Ruby and the Go SDKs use their own SSO and never run "
              "credential_process, only JS SDK v3 runs it",
    "bare": "Ruby fails on it (it builds an SSO token provider for the sso_session and needs that login)",
    "other": "SDKs disagree on such a profile (some run credential_process, some use their own SSO, some fail)",
}


def _trap(section):
    """Which SDK_TRAPS case a credential_process profile is, or None."""
    keys = {k for k in section if k.startswith("sso_") and section[k]}
    role = {"sso_account_id", "sso_role_name"}
    if keys == {"sso_session"}:
        return "bare"
    if "sso_session" in keys and role <= keys and "sso_start_url" not in keys:
        return "sso-session"
    if {"sso_start_url", "sso_region"} | role <= keys and "sso_session" not in keys:
        return "legacy"
    return "other" if keys else None


def _runnable(path, executable, seen):
    """Why path cannot be run by an SDK (None if it can); `seen` remembers
    the answer for each path, since many profiles share one line."""
    import os
    head = launcher_head(path) if (path, executable) not in seen and executable else None
    if head is not None:
        first = head.split("\n", 1)[0]
        python = first[2:].split()[0] if first.startswith("#!") and first[2:].split() else None
        if python and python != "/bin/sh" and not os.path.exists(python):
            seen[path, executable] = ("whose Python %s is gone: install again with another, python3 %s --install"
                                      % (python, installed_script(os.path.dirname(os.path.dirname(path)))))
    if (path, executable) not in seen:
        seen[path, executable] = (
            "not an absolute path: SDKs and IDEs run it with their own PATH and directory"
            if not os.path.isabs(path) else None if os.path.isfile(path) and (
                not executable or os.access(path, os.X_OK)) else
            "which is not executable" if os.path.isfile(path) else
            "which is not a file" if os.path.exists(path) else "which does not exist")
    return seen[path, executable]


def check_credential_processes(cfg):
    """Problems (ConfigError) with the profiles whose credential_process runs
    this script: SSO keys beside it, and a line an SDK cannot run."""
    problems, seen = [], {}
    for name, section in sorted(cfg.file["profiles"].items()):
        line = section.get("credential_process") or ""
        if not runs_this_script(line):
            continue
        trap = _trap(section)
        if trap:
            problems.append(ConfigError("profile %r has credential_process and %s: %s; move the sso_* keys to "
                                        "a profile of their own" % (name, ", ".join(
                                            sorted(k for k in section if k.startswith("sso_"))), SDK_TRAPS[trap])))
        if "~" in line or "$" in line:
            problems.append(ConfigError("profile %r: its credential_process has ~ or $: botocore expands "
                                        "neither; write absolute paths" % name))
            continue
        try:
            argv = shell_split(line)
        except ValueError as e:
            problems.append(ConfigError("profile %r: its credential_process cannot be split (%s)" % (name, e)))
            continue
        for path in argv[:1] + [a for a in argv[1:2] if a.endswith(".py")]:
            why = _runnable(path, path is argv[0], seen)
            if why:
                problems.append(ConfigError("profile %r: its credential_process runs %s, %s" % (name, path, why)))
        target = line_options(line).get("--profile")
        if target is not None and target not in cfg.file["profiles"]:
            problems.append(ConfigError("profile %r: its credential_process reads --profile %s, which is "
                                        "not in %s" % (name, target, cfg.config_path)))
    return problems


def _settings_report(cfg):
    """--check's lines for every setting: its value and where it came from."""
    out = ["configuration: %s" % cfg.config_path]
    for s in SETTINGS:
        value = getattr(cfg, s.attr)
        shown = ("true" if value else "false") if isinstance(value, bool) else "%gs" % value if isinstance(
            value, float) else printable(value) if value else "-"
        out.append("  %-18s %s (%s)" % (s.label, shown, cfg.origin.get(s.attr) or (
            "default" if s.default is not None else "not set")))
    for label, url in (("portal", cfg.portal_url), ("OIDC", cfg.oidc_url)) if cfg.oidc_url else ():
        out.append("  %-18s %s (%s)" % (label, hide_userinfo(url), cfg.origin.get(label) or "the region's"))
    return out


def _login_report(ctx, opts, problems):
    """--check's lines on the login, the role cache and, --online, the portal."""
    now, path = ctx.now(), token_path(ctx)
    token, why = read_token(ctx, path)
    action, why = token_action(ctx, token, why, USABLE)
    device, because = login_flow(ctx.cfg, ctx.environ)
    out = ["login: %s" % path, "  %-18s %s (%s)" % ("next login", "device code" if device else
                                                   "browser sign-in (PKCE)", because)]
    if token is not None:
        left = token.expires - now
        out.append("  %-18s %s" % ("valid until", format_time(token.expires) + (
            " (%s left)" % _left(left) if left > 0 else " (expired)")))
        out.append("  %-18s %s" % ("refreshable", "yes, registration valid until %s" % format_time(
            parse_time(token.doc["registrationExpiresAt"])) if token.refreshable(now) else "no"))
    out.append("  %-18s %s" % ("state", token_status(ctx, token, action)))
    if why is not None:
        problems.append(why)
    role_path = role_cache_path(ctx.cfg)
    creds = cached_role_credentials(role_path, now, ctx.log)
    out.append("role credentials: %s" % role_path)
    out.append("  %-18s %s" % ("state", "cached until %s" % format_time(creds["Expiration"]) if creds else
                               "none fresh cached: the next call fetches them"))
    if opts.get("online"):
        if token is not None and token.expires > now:
            try:
                fetch_role_credentials(ctx, token)
                out.append("  %-18s %s" % ("portal", "accepts the login and grants the role"))
            except Error as e:
                out.append("  %-18s %s" % ("portal", "refused: %s" % ctx.log.public(e)))
                problems.append(e)
        else:
            out.append("  %-18s %s" % ("portal", "not asked: the login has expired"))
    return out


def _lines_report(ctx, cfg, problems):
    """--check's lines on the credential_process lines in the config file."""
    if not (cfg.file["profiles"] or is_file(cfg.config_path or "")):
        return []
    try:
        if not cfg.file["profiles"]:
            cfg.file = load_config_file(cfg.config_path)
        traps = check_credential_processes(cfg)
    except ConfigError as e:
        traps = [] if problems else [e]
    problems += traps
    shown = traps[:CHECK_SHOWN_PROBLEMS]
    return (["credential_process lines that run %s: %s" % (PROG, "fine" if not traps else
                                                            "%d problem(s)" % len(traps))]
            + ["  - %s" % ctx.log.public(e) for e in shown]
            + (["  ... and %d more; fix those above and run --check again" % (len(traps) - len(shown))]
               if len(traps) > len(shown) else []))


def run_check(ctx, opts):
    """--check: a diagnosis of one profile, never a secret: the settings and
    where each came from, the login and role cache, with --online the
    portal's verdict on the login, and the credential_process lines in the
    config. Prints the report, then fails with the first problem's exit
    code, if there is one."""
    problems = []
    try:
        cfg = ctx.configure(opts)
    except ConfigError as e:
        cfg = ctx.cfg = getattr(e, "cfg", None) or ctx.cfg
        problems.append(e)
    if runs_this_script(cfg.profile_section.get("credential_process") or "") and not _trap(cfg.profile_section):
        problems.insert(0, ConfigError("profile %r is the one that runs credential_process; check the profile "
                                       "with the sso_* keys, the one its line names" % cfg.profile))
    out = _settings_report(cfg)
    if not problems:
        out += _login_report(ctx, opts, problems)
    out += _lines_report(ctx, cfg, problems)
    out.append("verdict: NOT READY (exit %d): %s" % (problems[0].exit_code, ctx.log.public(problems[0]))
               if problems else "verdict: ready")
    ctx.output("".join(printable(line) + "\n" for line in out), "report")
    if problems:
        raise problems[0]
    return ""


# --------------------------------------------------------------------------
# The credentials endpoint: --exec and --serve
# --------------------------------------------------------------------------


#: The container-credentials endpoint every SDK reads: a secret path and an
#: authorization token of 256 random bits each, new for every endpoint.
#: 169.254.170.2:80 is the one address the relative form
#: (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) reaches; old SDKs send no token
#: there, so on it the path is the only secret.
ENDPOINT_SECRET_BYTES = 32
ECS_ADDRESS = "169.254.170.2"
#: Set in the environment of a command --exec runs (its value: the
#: endpoint's address), so that an --exec inside it is refused unless asked.
EXEC_MARKER = "AWS_SSO_CREDENTIAL_PROCESS_EXEC"
#: What --exec takes out of the command's environment: anything an SDK would
#: prefer to the endpoint (a profile, static keys, another endpoint).
EXEC_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
              "AWS_SECURITY_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
              "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
              "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
#: An error's HTTP status on the endpoint, by its class (the body says which).
ENDPOINT_STATUS = {"LoginRequired": 401, "LoginFailed": 401, "AccessDenied": 403, "ConfigError": 500,
                   "ServiceError": 502, "OidcError": 502, "Busy": 503, "CallerGone": 503}
#: Headers that only browsers send: a request carrying one came from a web page.
BROWSER_HEADERS = ("origin", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user", "referer")


def _answer(status, code, message):
    import json
    return status, "application/json", json.dumps({"Code": code, "Message": message}).encode()


def _is_ip_host(host):
    """Whether a Host header names an IP address (with a port or not), not a
    name: a DNS-rebinding page can only send a name."""
    name = host.rpartition("]")[0][1:] if host.startswith("[") else host.rpartition(":")[0] or host
    parts = name.split(".")
    return _is_ipv6(name) if host.startswith("[") else len(parts) == 4 and all(
        p.isdigit() and p.isascii() and int(p) < 256 for p in parts)


class Endpoint:
    """The container-credentials endpoint: GET <secret path> with the token
    in Authorization (compared in constant time; not asked on a Unix socket,
    which its file mode guards, nor on 169.254.170.2, where the path is the
    secret), and a Host that is the address served (an IP address, as a
    DNS-rebinding page cannot send). Requests from web pages (Origin,
    Sec-Fetch-*), other methods, bodies and anything else get a 4xx with
    {"Code", "Message"} and nothing secret. Credentials come from `source`
    (the SSO login, or another endpoint's socket), one fetch at a time."""

    def __init__(self, ctx, source, address=("127.0.0.1", 0), unix_path=None, path=None):
        import secrets
        import threading
        self.ctx, self.source = ctx, source
        self.path = path or "/" + secrets.token_urlsafe(ENDPOINT_SECRET_BYTES)
        self.token = secrets.token_urlsafe(ENDPOINT_SECRET_BYTES)
        ctx.log.hide(self.path[1:], self.token)
        self.server = Server(self.respond, ctx.log, address, unix_path)
        self.unix = unix_path is not None
        host, port = (None, None) if self.unix else self.server.address[:2]
        self.need_token = not self.unix and host != ECS_ADDRESS
        self.host = None if self.unix else (("[%s]" % host if ":" in host else host) + (
            "" if port == 80 else ":%d" % port))
        self.url = None if self.unix else "http://%s%s" % (self.host, self.path)
        self._one = threading.Lock()
        self._said = {}  # message -> when it was last said on the terminal

    def refusal(self, method, target, headers):
        """The answer to a request that is not a credentials fetch, or None."""
        import hmac
        if method != "GET":
            return _answer(405, "MethodNotAllowed", "only GET is served here")
        if any(h in headers for h in BROWSER_HEADERS) or any(h.startswith("sec-fetch-") for h in headers):
            return _answer(403, "Forbidden", "requests from web pages are refused")
        if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
            return _answer(400, "BadRequest", "a credentials request has no body")
        host = headers.get("host") or ""
        if not self.unix and (not _is_ip_host(host) or (
                self.host.partition(":")[0] not in ("0.0.0.0", "[::]") and host.lower() != self.host)):
            return _answer(403, "Forbidden", "the Host header does not name this endpoint")
        if not self.unix and not hmac.compare_digest(target.partition("?")[0].encode("latin-1"),
                                                     self.path.encode()):
            return _answer(404, "NotFound", "no such path")
        if self.need_token and not hmac.compare_digest((headers.get("authorization") or "").encode("latin-1"),
                                                       self.token.encode()):
            return _answer(401, "Unauthorized", "the authorization token is missing or wrong")
        return None

    def respond(self, method, target, headers):
        refusal = self.refusal(method, target, headers)
        if refusal is not None:
            self.ctx.log("endpoint: refused %s (%d)", method, refusal[0])
            return refusal
        with self._one:
            try:
                document = self.source()
            except Error as e:
                self.ctx.log("endpoint: %s", e)
                self.tell(e)
                return _answer(ENDPOINT_STATUS.get(type(e).__name__, 500), type(e).__name__,
                               "%s: %s" % (PROG, self.ctx.log.public(e)))
        return 200, "application/json", document

    def tell(self, error):
        """Say a failure the user must act on where they can see it (the
        terminal, else the serving process's stderr): several SDKs show only
        "no credentials". Once a minute for the same message."""
        message = self.ctx.log.public(error)
        now = self.ctx.now()
        if error.exit_code in ACT_ON_EXIT_CODES and now - self._said.get(message, -1e9) >= REFRESH_RETRY_SECONDS:
            self._said[message] = now
            say(self.ctx, "the credentials endpoint answered an SDK: %s" % message)


def endpoint_document(creds, account_id):
    """The container-credentials answer: four strings every SDK reads (JS v3
    refuses the document unless all four are strings), and AccountId."""
    import json
    return json.dumps({"AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"],
                       "Token": creds["SessionToken"], "Expiration": format_time(creds["Expiration"]),
                       "AccountId": account_id}).encode()


class BackgroundLogin:
    """--interactive behind an endpoint: a login the SDK cannot wait for
    (it gives up after 1-5 s), run once in a thread of its own, its prompt on
    the terminal (or stderr) of the process that serves; requests meanwhile
    are answered at once, saying so. A login that failed is not tried again
    for a minute: requests meanwhile get its error."""

    def __init__(self, ctx):
        import threading
        self.ctx, self._lock, self.running, self.failed = ctx, threading.Lock(), False, None

    def start(self):
        """Start the login, unless it runs or failed less than a minute ago
        (then: that failure, an Error)."""
        import threading
        with self._lock:
            if self.failed is not None and self.ctx.now() - self.failed[0] < REFRESH_RETRY_SECONDS:
                return self.failed[1]
            if not self.running:
                self.running, self.failed = True, None
                threading.Thread(target=self._run, daemon=True).start()
        return None

    def _run(self):
        try:
            obtain_token(self.ctx, FRESH)
        except Error as e:
            self.failed = (self.ctx.now(), e)
            say(self.ctx, "the login for the credentials endpoint failed: %s" % self.ctx.log.public(e))
        finally:
            self.running = False


def local_source(ctx, interactive):
    """The endpoint's credentials from the SSO login, by the credential
    call's own path (the role cache, the token refresh, the locks); a login,
    if one is needed and allowed, in the background (BackgroundLogin)."""
    import copy
    login = None
    if interactive:
        login_ctx = copy.copy(ctx)
        login_ctx.cfg = copy.copy(ctx.cfg)
        login_ctx.cfg.interactive = True
        login = BackgroundLogin(login_ctx)

    def fetch():
        ctx.started = ctx.now()  # failures other processes met replay only during this fetch
        try:
            return endpoint_document(get_credentials(ctx), ctx.cfg.account_id)
        except LoginRequired as e:
            if login is None:
                raise
            failed = login.start()
            if failed is not None:
                raise failed
            raise LoginRequired("%s; logging in now on the terminal where %s runs: retry in a moment"
                                % (str(e).split(". Run:")[0], PROG))
    return fetch


def upstream_source(ctx, socket_path):
    """The endpoint's credentials from another endpoint's Unix socket (a
    --serve --socket on the host): its answer, error or not, passed on."""
    import http.client
    import socket

    class UnixConnection(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(self.timeout)
            self.sock.connect(socket_path)

    def fetch():
        conn = UnixConnection("localhost", timeout=ctx.cfg.read_timeout)
        try:
            conn.request("GET", "/", headers={"Host": "localhost"})
            resp = conn.getresponse()
            body = resp.read(HTTP_BODY_LIMIT + 1)
        except (OSError, http.client.HTTPException) as e:
            raise ServiceError("cannot reach the credentials socket %s: %s" % (socket_path, one_line(e)))
        finally:
            conn.close()
        if resp.status != 200:
            try:
                answer = json_loads(body.decode("utf-8"))
                cls, message = error_class(answer["Code"]) or ServiceError, str(answer["Message"])
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                cls, message = ServiceError, "HTTP %d" % resp.status
            error = Error.__new__(cls)  # the upstream's error, as it said it
            Error.__init__(error, "%s (from %s)" % (clip(message[len(PROG) + 2:] if message.startswith(
                PROG + ": ") else message, 500), socket_path))
            raise error
        return body
    return fetch


def _endpoint_source(ctx, opts):
    """Where an endpoint's credentials come from: --upstream unix:PATH, or
    the SSO login the settings name (checked now, by fetching once, so that
    a missing login fails at once with its usual message)."""
    upstream = opts.get("upstream")
    if upstream is not None:
        given = [s.flag for s in SETTINGS if s.attr in opts and s.attr != "debug"] + (
            ["--profile"] if "profile" in opts else [])
        if given:
            raise ConfigError("--upstream takes its credentials from the socket; %s go with a login of this "
                              "machine's own" % " and ".join(given))
        if not upstream.startswith("unix:") or len(upstream) == 5:
            raise ConfigError("--upstream must be unix:PATH (the socket of a --serve --socket), not %s"
                              % quoted(upstream))
        source = upstream_source(ctx, upstream[5:])
        source()
        return source
    cfg = ctx.configure(opts)
    interactive, cfg.interactive = cfg.interactive, False
    source = local_source(ctx, interactive)
    try:
        source()
    except LoginRequired:
        if not interactive:
            raise
        cfg.interactive = True  # log in now, in the foreground, before serving
        get_credentials(ctx)
        cfg.interactive = False
    return source


def _default_profile_note(ctx):
    """A line on stderr when [default] in the config or credentials file
    holds credentials: most SDKs take it before the endpoint."""
    if ctx.cfg.config_path is None:
        return
    found = []
    for path, section in ((ctx.cfg.config_path, ctx.cfg.file["profiles"].get("default") or {}), (
            expand_path(ctx.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials", ctx.environ),
            None)):
        if section is None:
            try:
                section = _ini_fast(read_regular_file(path, CONFIG_FILE_LIMIT).decode("utf-8")).get("default", {})
            except (OSError, ValueError, _IniFallback):
                section = {}
        keys = sorted(k for k in section if k.startswith(("sso_", "aws_access_key_id", "credential_process",
                                                          "role_arn", "web_identity")))
        if keys:
            found.append("%s in %s" % (", ".join(keys), path))
    if found:
        write_stream(ctx.stderr, "%s: note: [default] has credentials (%s): SDKs other than JS v2 use them before "
                     "the endpoint; move them to a named profile\n" % (PROG, "; ".join(found)))


def endpoint_variables(endpoint):
    """The variables that point an SDK at the endpoint: the full URI and the
    token, or, on 169.254.170.2, the relative URI every SDK reads. The token
    goes in AWS_CONTAINER_AUTHORIZATION_TOKEN, not a file: every SDK
    measured reads the variable, the AWS CLI 2.9 and Debian's Go SDKs read
    nothing else, and JS SDK v3 warns on stderr at every fetch when both are
    set."""
    if not endpoint.need_token:
        return [("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", endpoint.path)]
    return [("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", endpoint.token)]


def _serve_until_stopped(endpoint, stop):
    """Serve in a thread until stop() returns True (polled), then shut down."""
    import threading
    thread = threading.Thread(target=endpoint.server.serve_forever, daemon=True)
    thread.start()
    try:
        while not stop():
            time.sleep(0.25)
    finally:
        endpoint.server.shutdown()
        endpoint.server.close()


def _shared_path(ctx):
    """On 169.254.170.2, the secret path the apps beside it were given: the
    relative URI in this process's own environment (a compose file's .env),
    if it is there; it must be 128 random bits at least."""
    path = ctx.environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    if path is None:
        return None
    if not (path.startswith("/") and len(path) >= 23 and all(
            c.isascii() and (c.isalnum() or c in "-_") for c in path[1:])):
        raise ConfigError("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is the endpoint's only secret on %s: make it "
                          "/ and 22 or more random letters, digits, - or _ (e.g. / and the output of "
                          "`openssl rand -hex 32`)" % ECS_ADDRESS)
    return path


def _socket_path(path):
    """--socket's path, in a directory only its owner can enter or list."""
    import os
    path = os.path.abspath(path)
    st = os.stat(os.path.dirname(path))
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise ConfigError("--socket %s: its directory must be yours and closed to others (chmod 700 %s)"
                          % (path, os.path.dirname(path)))
    if os.path.lexists(path):
        raise ConfigError("--socket %s: something is there already; remove it or choose another path" % path)
    return path


def run_serve(ctx, opts):
    """--serve: the endpoint in the foreground until interrupted (Ctrl-C or
    SIGTERM: exit 0), after printing the lines that point an SDK at it."""
    import _signal
    ctx.watching, ctx.attended = False, True  # in the foreground: its stderr is the user's
    source = _endpoint_source(ctx, opts)
    socket_path = opts.get("socket")
    address = (opts.get("bind", "127.0.0.1"), int(opts.get("port", 80 if opts.get("bind") == ECS_ADDRESS else 0)))
    try:
        endpoint = Endpoint(ctx, source, address, socket_path and _socket_path(socket_path),
                            _shared_path(ctx) if address[0] == ECS_ADDRESS else None)
    except OSError as e:
        raise ConfigError("cannot serve on %s: %s" % (socket_path or "%s port %d" % address, one_line(e)))
    stopped = []
    try:
        _signal.signal(_signal.SIGTERM, lambda *a: stopped.append(True))
        if endpoint.unix:
            say(ctx, "serving credentials on %s; where it is mounted, run: %s --exec --upstream unix:PATH -- "
                     "COMMAND" % (endpoint.server.address, LAUNCHER))
        else:
            ctx.output(shell_lines(endpoint_variables(endpoint), opts.get("format", "env")), "lines")
            say(ctx, "serving credentials at %s until interrupted" % endpoint.url.replace(endpoint.path, "/..."))
        try:
            _serve_until_stopped(endpoint, lambda: stopped)
        except KeyboardInterrupt:
            pass
    finally:
        if endpoint.unix:
            _remove(endpoint.server.address, [])
    return 0


def _exec_environment(ctx, endpoint):
    """The command's environment: the endpoint's variables in, whatever an
    SDK would prefer to them out (EXEC_UNSET), the profile's region where the
    environment names none (the endpoint carries no region)."""
    env = {k: v for k, v in ctx.environ.items() if k not in EXEC_UNSET}
    env.update(endpoint_variables(endpoint))
    env[EXEC_MARKER] = endpoint.host
    region = ctx.cfg.profile_section.get("region") if ctx.cfg.profile_section else None
    if region and not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")):
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region
    return env


def _find_command(command, env):
    """The program to run, found on the command's PATH; like a shell, exit
    127 when there is none and 126 when it cannot be run."""
    import os
    import shutil
    found = shutil.which(command[0], path=env.get("PATH", os.defpath)) if os.sep not in command[0] else (
        command[0] if os.access(command[0], os.X_OK) and os.path.isfile(command[0]) else None)
    if found is None:
        cannot = os.sep in command[0] and os.path.exists(command[0])
        raise CommandError("%s: %s" % (command[0], "cannot be run (not an executable file)" if cannot else
                                       "command not found"), 126 if cannot else 127)
    return found


def process_gone(pid):
    """Whether a process has ended: gone, or a zombie its parent has not
    reaped yet (a parent that waits for the pipes this process would hold
    reaps it only later)."""
    import os
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] in (b"Z", b"X")
    except FileNotFoundError:
        return True
    except (OSError, IndexError):  # pragma: no cover - no /proc (macOS)
        pass
    try:  # pragma: no cover
        os.kill(pid, 0)
    except ProcessLookupError:  # pragma: no cover
        return True
    except OSError:  # pragma: no cover - another user's: alive
        pass
    return False  # pragma: no cover


def _serve_while(endpoint, pid):
    """The endpoint's process, forked off before the command is exec'd in
    its place: in a process group of its own (the terminal's Ctrl-C and
    Ctrl-Z go to the command alone), holding none of the command's standard
    streams (a pipeline, or a caller reading its output, ends when the
    command does), serving until the command's process ends."""
    import os
    try:
        os.setpgid(0, 0)
        release_standard_streams()
        _serve_until_stopped(endpoint, lambda: process_gone(pid))
    finally:
        os._exit(0)


def run_exec(ctx, opts):
    """--exec -- COMMAND: run COMMAND with the endpoint (127.0.0.1, a free
    port, a new path and token) for as long as it runs. The endpoint is
    served from a process forked off, and COMMAND is exec'd in this one: it
    keeps this process, so every signal reaches it and its exit status is
    the exit status (128+N after signal N, as a shell reports it)."""
    import os
    command = opts["command"]
    if ctx.environ.get(EXEC_MARKER):
        raise ConfigError("already inside an --exec (%s is set, to its endpoint %s); unset it to nest another"
                          % (EXEC_MARKER, ctx.environ[EXEC_MARKER]))
    ctx.watching = False
    source = _endpoint_source(ctx, opts)
    endpoint = Endpoint(ctx, source)
    env = _exec_environment(ctx, endpoint)
    program = _find_command(command, env)
    if ctx.cfg.config_path is not None:
        _default_profile_note(ctx)
    pid = os.getpid()
    for stream in (ctx.stdout, ctx.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    import warnings
    with warnings.catch_warnings():  # Python 3.12 warns of any thread left, such as a finished lookup's
        warnings.simplefilter("ignore", DeprecationWarning)
        middle = os.fork()
    if middle == 0:  # pragma: no cover - runs in the forked processes (coverage follows no fork)
        if os.fork() == 0:
            _serve_while(endpoint, pid)
        os._exit(0)
    os.waitpid(middle, 0)  # the server is a grandchild: the command gets no child it did not start
    endpoint.server.close()
    import _signal
    if hasattr(_signal, "SIGTTOU"):  # run() ignores it; the command gets it back (Ctrl-C: exec resets it)
        _signal.signal(_signal.SIGTTOU, _signal.SIG_DFL)
    try:
        os.execve(program, command, env)
    except OSError as e:
        raise CommandError("%s: cannot be run (%s)" % (command[0], one_line(e)), 126)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def run_credentials(ctx, opts):
    """The credential call: role credentials in the --format form."""
    cfg = ctx.configure(opts)
    return format_credentials(get_credentials(ctx), cfg.account_id, opts.get("format", "process"))


def show_help(ctx, opts):
    """--help: the module's docstring, with the command as it was run, and
    the credential_process line that runs this copy (the installed command,
    if this is the copy --install wrote)."""
    if not __doc__:  # python -OO drops docstrings
        return "%s: --help needs the docstrings that python -OO (or PYTHONOPTIMIZE=2) drops; run it without\n" % PROG
    return __doc__.replace("COMMAND", invoked_as()).replace("LINE", this_command())


class Mode:
    """One row of MODES: the flag that selects the mode (None for the
    credential call), the options it takes besides the settings, --profile
    and --debug (which settings=False modes do not take), the function that
    runs it, run(ctx, opts), returning what goes to stdout (or an exit code),
    and what that output is called in an error."""

    __slots__ = ("flag", "options", "run", "output", "settings")

    def __init__(self, flag, options, runner, output="output", settings=True):
        self.flag, self.options, self.run, self.output, self.settings = flag, options, runner, output, settings


#: Every mode: adding one is a row here and a run function.
MODES = {
    "credentials": Mode(None, ("force_refresh", "format"), run_credentials, "credentials"),
    "login": Mode("--login", ("force_refresh",), run_login),
    "logout": Mode("--logout", (), run_logout),
    "list": Mode("--list", ("output",), run_list, "listing"),
    "check": Mode("--check", ("online",), run_check, "report"),
    "exec": Mode("--exec", ("upstream", "command"), run_exec),
    "serve": Mode("--serve", ("upstream", "bind", "port", "socket", "format"), run_serve, "lines"),
    "install": Mode("--install", ("prefix",), install, settings=False),
    "uninstall": Mode("--uninstall", ("prefix",), uninstall, settings=False),
    "help": Mode("--help", (), show_help, "help", settings=False),
    "version": Mode("--version", (), lambda ctx, opts: "%s %s\n" % (PROG, __version__), "version", settings=False),
}


def _mode_options(mode):
    """The options a mode takes."""
    common = tuple(s.attr for s in SETTINGS if s.flag) + ("profile",) if MODES[mode].settings else ()
    return ("mode",) + MODES[mode].options + common


def _option_table():
    """Every command-line word: word -> (option, the value it sets, or None
    when the next word is its value)."""
    table = dict(OPTIONS)
    for s in SETTINGS:
        if s.flag:
            table[s.flag] = (s.attr, True if s.rule == "switch" else None)
    for mode, row in MODES.items():
        if row.flag:
            table[row.flag] = ("mode", mode)
    table["-h"] = table["--help"]
    return table


def _check_mode_options(opts, typed):
    """ConfigError for an option the chosen mode does not take, or a bad choice."""
    mode = opts["mode"]
    allowed = _mode_options(mode)
    for option in opts:
        if option not in allowed:
            word = typed[option]
            if not MODES[mode].settings:
                raise ConfigError("%s takes only %s, not %s" % (MODES[mode].flag, " ".join(
                    "--" + o for o in MODES[mode].options) or "itself", word))
            users = [MODES[m].flag or "the credential call" for m in MODES if option in MODES[m].options]
            raise ConfigError("%s goes only with %s, not with %s"
                              % (word, " or ".join(users), MODES[mode].flag or "the credential call"))
    for option, choices in (("format", [f for f in FORMATS if f != "process" or mode != "serve"]),
                            ("output", LIST_OUTPUTS)):
        if option in opts and opts[option] not in choices:
            raise ConfigError("--%s must be one of %s, not %s" % (option, ", ".join(choices), quoted(opts[option])))
    if mode == "exec" and not opts.get("command"):
        raise ConfigError("--exec needs the command to run, after --: --exec [options] -- COMMAND [ARGS...]")
    if "port" in opts and not (opts["port"].isdigit() and opts["port"].isascii() and int(opts["port"]) < 65536):
        raise ConfigError("--port must be a port number (0-65535; 0: any free one), not %s" % quoted(opts["port"]))
    if "socket" in opts and ("bind" in opts or "port" in opts):
        raise ConfigError("--socket serves on a Unix socket: it takes no --bind or --port")


def parse_args(argv):
    """Parse argv into a dict of options, "mode" always among them;
    ConfigError on anything unknown.

    Hand-written rather than argparse to keep argparse (and the re and
    gettext it pulls in) off the cache-hit path. ``--flag value`` and
    ``--flag=value`` both work; a repeated flag keeps its last value;
    --help and --version win over everything else.
    """
    table, opts, typed = _option_table(), {}, {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help", "--version"):
            return {"mode": table[arg][1]}
        if arg == "--":  # the command --exec runs, and its arguments
            opts["command"], typed["command"] = args, "-- COMMAND"
            break
        name, eq, value = arg.partition("=")
        option, fixed = table.get(name, (None, None))
        if option is None or (fixed is not None and eq):
            import difflib
            close = difflib.get_close_matches(name, list(table), 1, 0.75) if name.startswith("-") else []
            raise ConfigError("unrecognized argument %s (%s)" % (quoted(arg), "did you mean %s?" % close[0] if close
                                                                 else "see --help"))
        typed[option] = name
        if fixed is not None:
            if opts.get(option, fixed) != fixed:
                if option == "mode":
                    raise ConfigError("%s and %s cannot be used together" % (MODES[opts["mode"]].flag, name))
                raise ConfigError("--interactive (-i) and --noninteractive (-n) contradict each other")
            opts[option] = fixed
            continue
        if not eq:
            if not args:
                raise ConfigError("%s needs a value (see --help)" % name)
            value = args.pop(0)
        if not value.strip():
            raise ConfigError("%s needs a non-empty value" % name)
        opts[option] = utf8_text(value.strip(), "the value of %s" % name)
    opts.setdefault("mode", "credentials")
    _check_mode_options(opts, typed)
    return opts


def _debug_requested(opts, environ):
    """--debug, or its variable: read before the configuration, so that
    resolving the configuration is logged too."""
    if "debug" in opts:
        return True
    setting = [s for s in SETTINGS if s.attr == "debug"][0]
    value = setting_from_environ(setting, environ)
    return value is not None and parse_setting(setting, value, setting.env)


def open_debug_log(argv, environ, stderr):
    """The --debug log (a warning on stderr if it cannot be written)."""
    log = Log(home_path(environ, LOG_FILE))
    if log.problem:
        write_stream(stderr, "%s: warning: %s\n" % (PROG, log.problem))
        log.problem = None
    log("%s %s, Python %s, argv %s", PROG, __version__, sys.version.split()[0], argv)
    return log


def report_error(ctx, error):
    """A failure the user can act on: one line on stderr (and on the
    terminal, if they must act on it); its exit code."""
    ctx.log("error (exit %d): %s", error.exit_code, error)
    line = "%s: %s\n" % (PROG, ctx.log.public(error))
    write_stream(ctx.stderr, line)
    if error.exit_code in ACT_ON_EXIT_CODES:
        tell_terminal(ctx.open_terminal, ctx.stderr, line)
    return error.exit_code


def report_bug(ctx, error):
    """An unexpected exception: one line (the traceback too with --debug); exit 70."""
    import traceback
    ctx.log("unexpected error:\n%s", traceback.format_exc())
    if ctx.debug:
        write_stream(ctx.stderr, ctx.log.redact(traceback.format_exc()))
    hint = ("see %s" % ctx.log.path) if ctx.log.enabled else "run with --debug for details"
    write_stream(ctx.stderr, "%s: unexpected error: %s: %s (%s)\n" % (PROG, type(error).__name__,
                                                                    ctx.log.public(error), hint))
    return 70


def main(argv=None, environ=None, stdout=None, stderr=None, **seams):
    """Run the command line; returns the exit code. `seams` are Context's
    keyword arguments (now, monotonic, sleep, open_terminal, open_browser,
    http, parent, release), for tests that run the whole script in-process."""
    argv = sys.argv[1:] if argv is None else argv
    ctx = Context(Config(process_environ() if environ is None else environ), None, stderr, stdout, **seams)
    try:
        opts = parse_args(argv)
        mode = MODES[opts["mode"]]
        if mode.settings and _debug_requested(opts, ctx.environ):
            ctx.debug, ctx.log = True, open_debug_log(argv, ctx.environ, ctx.stderr)
        output = mode.run(ctx, opts)
        if isinstance(output, int):
            return output
        ctx.output(output, mode.output)
    except Error as e:
        return report_error(ctx, e)
    except KeyboardInterrupt:
        write_stream(ctx.stderr, "%s: interrupted\n" % PROG)
        return 130
    except Exception as e:
        return report_bug(ctx, e)
    finally:
        ctx.close()
    return 0


def _hold_standard_fds():
    """Occupy any of fds 0-2 that the caller left closed with /dev/null, so
    that no file this script opens becomes its stdout or stderr."""
    for fd in (0, 1, 2):
        try:
            _posix.fstat(fd)
        except OSError:
            try:
                _posix.open("nul" if _WINDOWS else "/dev/null", _posix.O_RDWR)  # the lowest free fd: this one
            except OSError:  # pragma: no cover
                pass


def _leave(code):
    """Exit with code. When the interpreter's own exit has nothing to do but
    free what the run made (no thread was started, no atexit callback was
    registered, no profiler or debugger runs: a credential call), leave at
    once instead: the teardown is about 1.5 ms of a 10 ms cache hit. Every
    file this script writes is closed before main() returns, and stdout and
    stderr are flushed here."""
    import atexit
    monitoring = getattr(sys, "monitoring", None)  # where cProfile and others hook in from Python 3.12
    if ("threading" not in sys.modules and not getattr(atexit, "_ncallbacks", lambda: 1)()
            and sys.getprofile() is None and sys.gettrace() is None
            and not (monitoring and any(monitoring.get_tool(tool) for tool in range(6)))):
        try:
            for stream in (sys.stdout, sys.stderr):
                stream and stream.flush()
        except (OSError, ValueError):
            pass  # the interpreter's exit deals with it, as it always did
        else:
            _posix._exit(code)
    sys.exit(code)


def run():
    """The program's entry point (the script run directly, and the
    launcher): exit with main()'s code. Inside main(), Ctrl-C is a
    KeyboardInterrupt (cleaned up, exit 130); before and after it, exit 130
    at once. SIGTTOU is ignored, so that no write to a terminal (an error or
    a login prompt from a background job under `stty tostop`) can stop this
    process: the write goes through instead."""
    import _signal
    _hold_standard_fds()
    if hasattr(_signal, "SIGTTOU"):
        _signal.signal(_signal.SIGTTOU, _signal.SIG_IGN)
    interruptible = _signal.getsignal(_signal.SIGINT) is not _signal.SIG_IGN
    try:  # both handler swaps inside: a Ctrl-C on either side of main() is caught here
        if interruptible:
            _signal.signal(_signal.SIGINT, _signal.default_int_handler)
        code = main()
        if interruptible:
            _signal.signal(_signal.SIGINT, _interrupted)
    except KeyboardInterrupt:  # just before or after main(), or a second one while it handled the first
        _interrupted()
    _leave(code)


if __name__ == "__main__":
    run()
