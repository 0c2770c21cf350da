#!/usr/bin/env python3
"""aws-sso-credential-process: AWS IAM Identity Center (AWS SSO) credentials
for any SDK or tool, through the standard credential_process hook.

Usage: aws_sso_credential_process.py [--profile NAME] [options]

Wire it into ~/.aws/config, keeping the sso_* keys out of the profile that
has credential_process (SDKs with their own SSO support would skip it):

    [profile my-app]
    credential_process = /usr/bin/python3 /path/to/aws_sso_credential_process.py --profile my-sso

    [profile my-sso]
    sso_session = my-sso
    sso_account_id = 111122223333
    sso_role_name = Admin

    [sso-session my-sso]
    sso_start_url = https://d-1234567890.awsapps.com/start
    sso_region = us-east-1

It reads the SSO login that `aws sso login` cached in ~/.aws/sso/cache
(refreshing it when it can), exchanges it for role credentials, caches them
in ~/.aws/cli/cache exactly as the AWS CLI v2 does, and prints them as
credential_process JSON on stdout. With --interactive it logs in itself.

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
  --version             print the version and exit
  -h, --help            print this help and exit

Also honoured: AWS_CONFIG_FILE, AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL_SSO_OIDC,
AWS_ENDPOINT_URL, [services] sections and endpoint_url,
AWS_IGNORE_CONFIGURED_ENDPOINT_URLS / ignore_configured_endpoint_urls,
AWS_USE_FIPS_ENDPOINT / use_fips_endpoint, AWS_USE_DUALSTACK_ENDPOINT /
use_dualstack_endpoint, AWS_CA_BUNDLE / ca_bundle, HTTPS_PROXY / HTTP_PROXY /
NO_PROXY, BROWSER, sso_registration_scopes, and these limits in seconds:
AWS_SSO_CONNECT_TIMEOUT (5), AWS_SSO_READ_TIMEOUT (15), AWS_SSO_LOGIN_TIMEOUT
(600) and AWS_SSO_LOCK_TIMEOUT (600).

Exit codes: 0 success, 1 login required, 2 usage or configuration error,
3 login failed, 4 no access to the account or role, 5 SSO service or network
failure, 6 timed out waiting for another process's login, 70 unexpected
error, 130 interrupted.

Needs only the Python standard library (3.8 or newer). Apache License 2.0.
"""

# The cache-hit path (the common call: an SDK refreshing credentials) is run
# thousands of times a day, so at module level this file imports only modules
# that the interpreter has already loaded at start-up. json, re, configparser,
# argparse, hashlib, urllib and ssl cost more than the rest of a cache hit put
# together; they are imported inside the functions that need them.
import os
import sys
import time

__version__ = "1.0.0"

PROG = "aws-sso-credential-process"

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

#: (attribute, flag, environment variable, config key, what it is, type).
#: One table drives argument parsing, precedence and "missing" errors.
SETTINGS = (
    ("account_id", "--account-id", "AWS_SSO_ACCOUNT_ID", "sso_account_id", "account ID", str),
    ("role_name", "--role-name", "AWS_SSO_ROLE_NAME", "sso_role_name", "role name", str),
    ("start_url", "--start-url", "AWS_SSO_START_URL", "sso_start_url", "start URL", str),
    ("region", "--region", "AWS_SSO_REGION", "sso_region", "SSO region", str),
    ("sso_session", "--sso-session", "AWS_SSO_SESSION", "sso_session", "sso-session", str),
    ("interactive", "--interactive", "AWS_SSO_INTERACTIVE_AUTH", "sso_interactive_auth", "", bool),
    ("use_device_code", "--use-device-code", "AWS_SSO_USE_DEVICE_CODE", "sso_use_device_code", "", bool),
    ("no_browser", "--no-browser", "AWS_SSO_DISABLE_BROWSER", None, "", bool),
)

#: The other flags: argv word -> (option, value it sets, or None if it takes one).
FLAGS = {"--profile": ("profile", None), "--force-refresh": ("force_refresh", True),
         "--debug": ("debug", True), "-i": ("interactive", True),
         "--noninteractive": ("interactive", False), "-n": ("interactive", False)}

#: Role credentials with less than this left are not reused. botocore's
#: CachedCredentialFetcher uses the same 15 minutes, and below it botocore
#: re-runs credential_process on every credential access.
ROLE_CACHE_MIN_SECONDS = 15 * 60

#: A token file the AWS CLI is rewriting in place (its writes are not
#: atomic) is re-read for this long before it counts as missing.
TOKEN_READ_RETRY_SECONDS = 0.5

#: Refresh a refreshable token, or treat a registration as used up, once less
#: than this remains: botocore's SSOTokenProvider and the CLI use 15 minutes.
TOKEN_REFRESH_WINDOW = 15 * 60

#: After a refresh with a refresh token fails, no process tries that refresh
#: token again for this long: while the old token lasts it is used, after
#: that the failure is reported (botocore throttles to one attempt a minute).
REFRESH_RETRY_SECONDS = 60

#: Default bounds (seconds) on waiting for a lock and for a browser login.
DEFAULT_LOCK_TIMEOUT = 600.0
DEFAULT_LOGIN_TIMEOUT = 600.0

#: OIDC constants shared with the AWS CLI v2 (SPEC.md sections 3, 4 and 8).
DEFAULT_SCOPES = ["sso:account:access"]
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PKCE_GRANTS = ["authorization_code", "refresh_token"]
PKCE_REDIRECT = "http://127.0.0.1/oauth/callback"  # registered without the port (RFC 8252)
PKCE_VERIFIER_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

#: Browsers that would take over the terminal the SDK is running in.
TEXT_BROWSERS = frozenset(("lynx", "links", "links2", "elinks", "w3m", "www-browser", "browsh",
                           "netrik", "retawq", "edbrowse", "carbonyl"))

#: HTTP: attempts per call, backoff cap and base, default timeouts.
HTTP_ATTEMPTS = 3
HTTP_BACKOFF_BASE = 0.5
HTTP_BACKOFF_CAP = 4.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 15.0

#: Partitions in botocore's partitions.json order: (name, region regex, DNS
#: suffix, dual-stack DNS suffix). Regions matching none are in "aws".
PARTITIONS = (
    ("aws", r"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$", "amazonaws.com", "api.aws"),
    ("aws-cn", r"^cn\-\w+\-\d+$", "amazonaws.com.cn", "api.amazonwebservices.com.cn"),
    ("aws-eusc", r"^eusc\-(de)\-\w+\-\d+$", "amazonaws.eu", "api.amazonwebservices.eu"),
    ("aws-iso", r"^us\-iso\-\w+\-\d+$", "c2s.ic.gov", "api.aws.ic.gov"),
    ("aws-iso-b", r"^us\-isob\-\w+\-\d+$", "sc2s.sgov.gov", "api.aws.scloud"),
    ("aws-iso-e", r"^eu\-isoe\-\w+\-\d+$", "cloud.adc-e.uk", "api.cloud-aws.adc-e.uk"),
    ("aws-iso-f", r"^us\-isof\-\w+\-\d+$", "csp.hci.ic.gov", "api.aws.hci.ic.gov"),
    ("aws-us-gov", r"^us\-gov\-\w+\-\d+$", "amazonaws.com", "api.aws"),
)

LOG_FILE = ("~", ".aws", "sso", "aws-sso-credential-process-log.txt")
TOKEN_CACHE_DIR = ("~", ".aws", "sso", "cache")
ROLE_CACHE_DIR = ("~", ".aws", "cli", "cache")

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
    """The SSO service failed or could not be reached."""

    exit_code = 5


class Busy(Error):
    """Another process held the lock (logging in or refreshing) for too long."""

    exit_code = 6


class OidcError(ServiceError):
    """An error answer from the OIDC service, with the code botocore would see."""

    def __init__(self, operation, code, message):
        self.code = code
        self.detail = "%s: %s" % (code, message) if message else code
        ServiceError.__init__(self, "SSO OIDC %s failed (%s)" % (operation, self.detail))


# --------------------------------------------------------------------------
# Small pure helpers: time, hashing, JSON, paths, logging
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
    zone is taken as UTC. Raises ValueError for anything else.
    """
    if not isinstance(text, str):
        raise ValueError("timestamp is not a string")
    s = text.strip()
    if len(s) < 19 or s[4] != "-" or s[7] != "-" or s[10] not in "Tt " \
            or s[13] != ":" or s[16] != ":":
        raise ValueError("not a timestamp: %r" % text)
    day = _days_from_civil(_num(s[0:4], 1, 9999), _num(s[5:7], 1, 12), _num(s[8:10], 1, 31))
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
    return day * 86400 + seconds + fraction - offset


def format_time(epoch):
    """``YYYY-MM-DDTHH:MM:SSZ``, the one format every SDK parses."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def sha1_hex(text):
    """Lowercase hex SHA-1 of the UTF-8 text: how the AWS CLI names cache files."""
    try:  # the builtin module costs a tenth of hashlib's OpenSSL import
        from _sha1 import sha1
    except ImportError:  # pragma: no cover - builds without _sha1
        from hashlib import sha1
    return sha1(text.encode("utf-8")).hexdigest()


def json_loads(text):
    """Parse JSON text; ValueError if it is not exactly one JSON document.

    The json package imports re at import time, which alone costs about half
    of a bare interpreter start; its C scanner does the same work without it.
    """
    try:
        from _json import make_scanner
    except ImportError:  # pragma: no cover - CPython always has _json
        import json
        return json.loads(text)

    class _Context:  # the attributes json.JSONDecoder hands the scanner
        strict = True
        object_hook = object_pairs_hook = None
        parse_float, parse_int = float, int
        parse_constant = {"NaN": float("nan"), "Infinity": float("inf"),
                          "-Infinity": float("-inf")}.__getitem__

    s = text.strip(" \t\n\r")  # JSON's whitespace
    try:
        value, end = make_scanner(_Context)(s, 0)
        if end == len(s):
            return value
    except Exception:  # StopIteration, or errors the C scanner reports oddly
        pass           # when json.decoder is not loaded
    import json
    return json.loads(s)  # not valid JSON: let json say precisely why


def json_str(value):
    """A JSON string literal, byte-identical to json.dumps()."""
    try:
        from _json import encode_basestring_ascii
    except ImportError:  # pragma: no cover
        import json
        return json.dumps(value)
    return encode_basestring_ascii(value)


def parse_bool(value, name):
    """true/false (also 1/0, yes/no, on/off) from an env var or config key."""
    v = value.strip().lower()
    if v in ("true", "1", "yes", "on"):
        return True
    if v in ("false", "0", "no", "off", ""):
        return False
    raise ConfigError("%s must be true or false, not %r" % (name, value))


def parse_seconds(environ, env, default):
    """A positive number of seconds (at most an hour) from an env var, or the default."""
    value = environ.get(env)
    if not value:
        return default
    try:
        seconds = float(value)
        if not 0 < seconds <= 3600:
            raise ValueError(value)
    except ValueError:
        raise ConfigError("%s must be a number of seconds, not %r" % (env, value))
    return seconds


def home_dir(environ):
    """The home directory as the AWS CLI sees it (os.path.expanduser rules)."""
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        if environ.get("USERPROFILE"):
            return environ["USERPROFILE"]
        if environ.get("HOMEPATH"):
            return environ.get("HOMEDRIVE", "") + environ["HOMEPATH"]
    elif "HOME" in environ:
        return environ["HOME"].rstrip("/") or "/"
    return os.path.expanduser("~")


def expand_path(path, environ):
    """``$VAR``/``${VAR}`` then ``~`` expansion, as botocore does for AWS_CONFIG_FILE
    (unknown variables are left as they are, as os.path.expandvars leaves them)."""
    if "$" in path:
        from string import Template
        path = Template(path).safe_substitute(environ)
    if path == "~" or path.startswith("~/") or (os.name == "nt" and path.startswith("~\\")):
        return home_dir(environ) + path[1:]
    return os.path.expanduser(path)


def one_line(text):
    """Collapse whitespace so a message stays on one stderr line."""
    return " ".join(str(text).split())


class Log:
    """The --debug log: append-only, mode 0600, secrets redacted.

    Every value passed to :meth:`secret` is replaced by ``<redacted>`` in
    every line written, whatever the message that carries it. When debug is
    off, calls cost one attribute check.
    """

    def __init__(self, path=None):
        self._fd = self.path = self.problem = None
        self._secrets = set()
        if path:
            try:
                make_dirs(os.path.dirname(path))
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            except OSError as e:  # --debug must not be the reason credentials fail
                self.problem = "cannot write the debug log %s: %s" % (path, one_line(e))
                return
            if hasattr(os, "fchmod"):  # older tools left this file 0644
                os.fchmod(fd, 0o600)
            if os.fstat(fd).st_size > 1 << 20:  # keep it bounded
                os.ftruncate(fd, 0)
            self._fd, self.path = fd, path

    @property
    def enabled(self):
        return self._fd is not None

    def secret(self, *values):
        for v in values:
            if isinstance(v, str) and len(v) >= 4:
                self._secrets.add(v)

    def redact(self, text):
        for s in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(s, "<redacted>")
        return text

    def __call__(self, msg, *args):
        if self._fd is None:
            return
        line = msg % args if args else msg
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        line = "%s [%d] %s\n" % (stamp, os.getpid(), self.redact(line))
        os.write(self._fd, line.encode("utf-8", "replace"))


# --------------------------------------------------------------------------
# Configuration: arguments, the config file, precedence
# --------------------------------------------------------------------------


def parse_args(argv):
    """Parse argv into a dict of options; ConfigError on anything unknown.

    Hand-written rather than argparse to keep argparse (and the re and
    gettext it pulls in) off the cache-hit path. ``--flag value`` and
    ``--flag=value`` both work; a repeated flag keeps its last value.
    """
    table = dict(FLAGS)
    for attr, flag, _env, _key, _what, kind in SETTINGS:
        table[flag] = (attr, True if kind is bool else None)
    opts = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            return {"help": True}
        if arg == "--version":
            return {"version": True}
        name, eq, value = arg.partition("=")
        option, fixed = table.get(name, (None, None))
        if option is None or (fixed is not None and eq):
            raise ConfigError("unrecognized argument %r (see --help)" % arg)
        if fixed is not None:
            if opts.get(option, fixed) != fixed:
                raise ConfigError("--interactive (-i) and --noninteractive (-n) contradict each other")
            opts[option] = fixed
            continue
        if not eq:
            if not args:
                raise ConfigError("%s needs a value (see --help)" % name)
            value = args.pop(0)
        if not value.strip():
            raise ConfigError("%s needs a non-empty value" % name)
        opts[option] = value.strip()
    return opts


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
            if value[-1] != "]" or not name or "]" in name or "[" in name \
                    or name == "DEFAULT" or name in sections:
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


def _section_name(header, prefix):
    """NAME from ``[prefix NAME]`` (quotes allowed), or None, as botocore does."""
    if not header.startswith(prefix):
        return None
    # shlex only when the header needs it: str.split gives the same answer
    # for plain ASCII names and saves the import.
    if header.isascii() and not any(c in header for c in "\"'\\\x0b\x0c\x1c\x1d\x1e\x1f"):
        parts = header.split()
    else:
        import shlex
        try:
            parts = shlex.split(header)
        except ValueError:
            return None
    return parts[1] if len(parts) == 2 else None


def load_config_file(path):
    """``{"profiles", "sso_sessions", "services"}`` maps as botocore builds them.

    A missing file gives empty maps, as in botocore.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        text = ""
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError("cannot read config file %s: %s" % (path, one_line(e)))
    try:
        raw = _ini_fast(text)
    except _IniFallback:
        raw = _ini_configparser(text, path)
    config = {"profiles": {}, "sso_sessions": {}, "services": {}}
    for header, values in raw.items():
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


def parse_nested(value, where):
    """The indented ``key = value`` block under a [services] key."""
    nested = {}
    for line in value.splitlines():
        line = line.strip()
        if line:
            key, eq, val = line.partition("=")
            if not eq:
                raise ConfigError("cannot parse %s: %r is not 'key = value'" % (where, line))
            nested[key.strip()] = val.strip()
    return nested


class Config:
    """The resolved settings for one run, and where each came from."""

    account_id = role_name = start_url = region = sso_session = profile = scopes = None
    interactive = use_device_code = no_browser = force_refresh = False
    timeouts = (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT)
    lock_timeout, login_timeout = DEFAULT_LOCK_TIMEOUT, DEFAULT_LOGIN_TIMEOUT

    def __init__(self, environ=None):
        self.environ = {} if environ is None else environ
        self.origin = {}  # attribute -> "--flag", "ENV_VAR" or "profile 'x'"
        self.profile_section = {}
        self.session_section = {}
        self.file = {"profiles": {}, "sso_sessions": {}, "services": {}}
        self.config_path = None

    def setting(self, key, env):
        """A value from the environment, else the profile (for non-SSO keys)."""
        value = self.environ.get(env)
        if value:
            return value, env
        if key in self.profile_section:
            return self.profile_section[key], "%s in profile %r" % (key, self.profile)
        return None, None

    def flag(self, key, env):
        value, origin = self.setting(key, env)
        return parse_bool(value, origin) if value is not None else False

    def set(self, attr, value, origin, kind):
        setattr(self, attr, parse_bool(value, origin) if kind is bool else value)
        self.origin[attr] = origin

    def describe(self):
        """One line for the debug log: every setting and its source."""
        return ", ".join("%s=%s (%s)" % (a, getattr(self, a), self.origin[a])
                         for a in (s[0] for s in SETTINGS) if a in self.origin)


def resolve_config(opts, environ):
    """Settings from flags, then env vars, then the profile, then its sso-session."""
    cfg = Config(environ)
    cfg.force_refresh = bool(opts.get("force_refresh"))
    cfg.profile = opts.get("profile")
    cfg.config_path = expand_path(environ.get("AWS_CONFIG_FILE") or "~/.aws/config", environ)
    cfg.timeouts = (parse_seconds(environ, "AWS_SSO_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
                    parse_seconds(environ, "AWS_SSO_READ_TIMEOUT", DEFAULT_READ_TIMEOUT))
    cfg.lock_timeout = parse_seconds(environ, "AWS_SSO_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT)
    cfg.login_timeout = parse_seconds(environ, "AWS_SSO_LOGIN_TIMEOUT", DEFAULT_LOGIN_TIMEOUT)

    for attr, flag, env, _key, _what, kind in SETTINGS:
        if attr in opts:
            cfg.set(attr, opts[attr], flag if opts[attr] is not False else "--noninteractive", str)
        elif environ.get(env, "").strip():
            cfg.set(attr, environ[env].strip(), env, kind)

    if cfg.profile is not None or cfg.sso_session is not None:
        cfg.file = load_config_file(cfg.config_path)
    if cfg.profile is not None:
        if cfg.profile not in cfg.file["profiles"]:
            where = cfg.config_path if os.path.isfile(cfg.config_path) else \
                "%s (the file does not exist; set AWS_CONFIG_FILE if it lives elsewhere)" % cfg.config_path
            raise ConfigError("profile %r not found in %s; add a [profile %s] section or fix --profile"
                              % (cfg.profile, where, cfg.profile))
        cfg.profile_section = cfg.file["profiles"][cfg.profile]
        _fill(cfg, cfg.profile_section, "profile %r" % cfg.profile)

    if cfg.sso_session is not None:
        session = cfg.file["sso_sessions"].get(cfg.sso_session)
        if session is None:
            raise ConfigError("sso-session %r (from %s) not found in %s; add a [sso-session %s] section"
                              % (cfg.sso_session, cfg.origin["sso_session"], cfg.config_path,
                                 cfg.sso_session))
        for key, value in session.items():  # botocore refuses these too
            if key in cfg.profile_section and cfg.profile_section[key] != value:
                raise ConfigError(
                    "%s differs between profile %r (%s) and [sso-session %s] (%s); "
                    "remove it from the profile or make the two equal"
                    % (key, cfg.profile, cfg.profile_section[key], cfg.sso_session, value))
        cfg.session_section = session
        _fill(cfg, session, "sso-session %r" % cfg.sso_session)

    missing = []
    for attr, flag, env, key, what, _kind in SETTINGS[:4]:
        if getattr(cfg, attr) is None:
            where = key
            if cfg.sso_session is not None and attr in ("start_url", "region"):
                where = "%s in [sso-session %s]" % (key, cfg.sso_session)
            elif cfg.profile is not None:
                where = "%s in [profile %s]" % (key, cfg.profile)
            missing.append("%s (%s, %s or %s)" % (what, flag, env, where))
    if missing:
        raise ConfigError("missing %s" % "; ".join(missing))

    if len(cfg.account_id) != 12 or not _DIGITS.issuperset(cfg.account_id):
        raise ConfigError("account ID %r (from %s) must be 12 digits"
                          % (cfg.account_id, cfg.origin["account_id"]))
    if not cfg.region or not all(c.isalnum() and c.isascii() or c == "-" for c in cfg.region):
        raise ConfigError("SSO region %r (from %s) is not a region name like us-east-1"
                          % (cfg.region, cfg.origin["region"]))
    # Comma-separated, blanks dropped, as the AWS CLI parses it (only logins use it).
    scopes = cfg.profile_section.get("sso_registration_scopes") or \
        cfg.session_section.get("sso_registration_scopes") or ""
    cfg.scopes = [x.strip() for x in scopes.split(",") if x.strip()] or None
    return cfg


def _fill(cfg, section, where):
    """Settings not given yet, from one config section."""
    for attr, _flag, _env, key, _what, kind in SETTINGS:
        if attr not in cfg.origin and key and section.get(key):
            cfg.set(attr, section[key], "%s in %s" % (key, where) if kind is bool else where, kind)


def login_command(cfg):
    """The exact command that creates the login this configuration reads."""
    if cfg.sso_session is not None:
        return "aws sso login --sso-session %s" % cfg.sso_session
    if cfg.profile is not None:
        return "aws sso login --profile %s" % cfg.profile
    return "aws sso login --profile NAME (a profile with sso_start_url = %s)" % cfg.start_url


def login_advice(cfg):
    """How to fix "login required": the command, and --interactive if it is off."""
    if cfg.interactive:
        return "Run: %s" % login_command(cfg)
    return "Run: %s (or let this script log in: --interactive)" % login_command(cfg)


# --------------------------------------------------------------------------
# On-disk caches shared with the AWS CLI
# --------------------------------------------------------------------------


def cache_path(directory, key, environ):
    return os.path.join(home_dir(environ), *directory[1:] + (key + ".json",))


def token_cache_key(cfg):
    """~/.aws/sso/cache/<key>.json: SHA-1 of the session name, or of the start
    URL exactly as written for legacy profiles (botocore SSOTokenLoader)."""
    return sha1_hex(cfg.sso_session if cfg.sso_session is not None else cfg.start_url)


def role_cache_key(cfg):
    """~/.aws/cli/cache/<key>.json, as botocore's SSOCredentialFetcher names it:
    SHA-1 of compact, key-sorted JSON of account, role and session or URL."""
    if cfg.sso_session is not None:
        fields = (("accountId", cfg.account_id), ("roleName", cfg.role_name),
                  ("sessionName", cfg.sso_session))
    else:
        fields = (("accountId", cfg.account_id), ("roleName", cfg.role_name),
                  ("startUrl", cfg.start_url))
    return sha1_hex("{%s}" % ",".join("%s:%s" % (json_str(k), json_str(v)) for k, v in fields))


def read_json_file(path):
    """The parsed JSON object in path, or None if missing or unreadable."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        value = json_loads(data.decode("utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def make_dirs(path):
    """Create path and missing parents with mode 0700 (existing ones untouched)."""
    if not path or os.path.isdir(path):
        return
    make_dirs(os.path.dirname(path))
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return
    os.chmod(path, 0o700)  # regardless of umask


def write_file_atomic(path, text):
    """Write text to path via a 0600 temp file in the same directory and a rename,
    so that no reader (us, the CLI, an SDK) ever sees a partial file."""
    import tempfile
    directory = os.path.dirname(path)
    make_dirs(directory)
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")  # as botocore names them
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def cached_role_credentials(path, now, log):
    """Role credentials from the CLI's cache if more than 15 minutes remain."""
    entry = read_json_file(path)
    if entry is None:
        log("role cache miss: %s is missing or not JSON", path)
        return None
    creds = entry.get("Credentials")
    try:
        keys = ("AccessKeyId", "SecretAccessKey", "SessionToken")
        if not all(isinstance(creds[k], str) and creds[k] for k in keys):
            raise ValueError("incomplete")
        expires = parse_time(creds["Expiration"])
    except (TypeError, KeyError, ValueError) as e:
        log("role cache miss: %s has an unusable entry (%s)", path, e)
        return None
    log.secret(creds["SecretAccessKey"], creds["SessionToken"])
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
    try:
        write_file_atomic(path, json.dumps(entry))
        log("role credentials cached in %s", path)
    except OSError as e:  # a read-only home must not cost the user the credentials
        log("could not write role cache %s: %s", path, e)


def registration_cache_key(cfg):
    """~/.aws/sso/cache/<key>.json for the OIDC client registration: SHA-1 of
    key-sorted JSON with default separators (the AWS CLI v2's own key)."""
    import json
    return sha1_hex(json.dumps({"tool": "botocore", "startUrl": cfg.start_url, "region": cfg.region,
                                "scopes": cfg.scopes, "session_name": cfg.sso_session}, sort_keys=True))


def _try_lock(fd):
    """Take an exclusive lock on fd without blocking; False if another holds it."""
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
    entry it guards (``<entry>.json.lock``, mode 0600).

    fcntl.flock on POSIX, msvcrt.locking on Windows: the kernel drops the lock
    when its holder exits or is killed, so a SIGKILLed holder never blocks the
    next run. Waiting is bounded by AWS_SSO_LOCK_TIMEOUT. The file carries a
    small JSON note, the holder's pid and its last failure, so that processes
    running alongside a failed refresh, login or fetch report that failure
    instead of repeating it (one denied login must not become twenty tabs).
    `aws sso logout` and the SDKs ignore these files. Where no lock file can
    be made (a read-only home), it runs unlocked.
    """

    def __init__(self, path, ctx, doing):
        self.path, self._ctx, self._doing = path, ctx, doing
        self._fd = None
        self._note = {}

    def __enter__(self):
        try:
            make_dirs(os.path.dirname(self.path))
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            self._ctx.log("cannot create lock %s (%s); going on without it", self.path, e)
            return self
        started = time.monotonic()
        try:
            while not _try_lock(fd):
                waited = time.monotonic() - started
                if waited >= self._ctx.cfg.lock_timeout:
                    raise Busy("timed out after %ds waiting for another aws-sso-credential-process (pid %s) "
                               "that is %s; retry, or raise AWS_SSO_LOCK_TIMEOUT"
                               % (waited, self._read(fd).get("pid", "?"), self._doing))
                if waited < 0.05:
                    self._ctx.log("waiting for %s (pid %s is %s)", self.path, self._read(fd).get("pid", "?"),
                                  self._doing)
                time.sleep(0.05)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._ctx.log("locked %s after %.3fs", self.path, time.monotonic() - started)
        self._note = self._read(fd)
        self._note["pid"] = os.getpid()
        self._save()
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    @staticmethod
    def _read(fd):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            note = json_loads(os.read(fd, 1 << 16).decode("utf-8") or "{}")
        except (OSError, ValueError):
            note = {}
        return note if isinstance(note, dict) else {}

    def _save(self):
        import json
        if self._fd is not None:
            os.lseek(self._fd, 0, os.SEEK_SET)
            os.ftruncate(self._fd, 0)
            os.write(self._fd, json.dumps(self._note).encode("utf-8"))

    def _failure(self, key):
        """(error rebuilt from the note, its wall-clock time) if it is about key."""
        failure = self._note.get("failure")
        try:
            if failure["key"] == key:
                cls = {c.__name__: c for c in (LoginRequired, LoginFailed, AccessDenied, Busy)}.get(
                    failure["kind"], ServiceError)
                return cls(failure["message"]), float(failure["at"])
        except (TypeError, KeyError, ValueError):
            pass
        return None, None

    def recent_failure(self, key, within):
        """The error recorded for key less than `within` seconds ago, or None."""
        error, at = self._failure(key)
        if error is not None and 0 <= self._ctx.now() - at < within:
            error.args = ("%s (from an attempt %ds ago; the next one is due in %ds)"
                          % (error, self._ctx.now() - at, within - (self._ctx.now() - at)),)
            return error
        return None

    def concurrent_failure(self, key):
        """The failure at key of a process that ran while this one did (since
        it started), or None: N processes started together see one login fail,
        not N logins. A run started after the failure tries afresh."""
        error, at = self._failure(key)
        if error is not None and at >= self._ctx.started:
            error.args = ("%s (the same error another process met moments ago)" % error,)
            return error
        return None

    def replay(self, key):
        error = self.concurrent_failure(key)
        if error is not None:
            raise error

    def remember(self, key, error):
        self._note["failure"] = {"key": key, "at": self._ctx.now(), "kind": type(error).__name__,
                                 "message": str(error)}
        self._save()

    def forget(self):
        if self._note.pop("failure", None):
            self._save()


# --------------------------------------------------------------------------
# HTTP: endpoints, TLS, proxies, timeouts, retries, no redirects
# --------------------------------------------------------------------------


def service_endpoint(cfg, service):
    """Base URL for 'sso' (the portal) or 'sso-oidc', in botocore's order:
    AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's [services]
    section, the profile's endpoint_url, then the partition's default host."""
    snake = service.replace("-", "_")
    ignore, _ = cfg.setting("ignore_configured_endpoint_urls", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
    url = origin = None
    if not (ignore and parse_bool(ignore, "ignore_configured_endpoint_urls")):
        for env in ("AWS_ENDPOINT_URL_" + snake.upper(), "AWS_ENDPOINT_URL"):
            if cfg.environ.get(env):
                url, origin = cfg.environ[env], env
                break
        if url is None and "services" in cfg.profile_section:
            name = cfg.profile_section["services"]
            block = cfg.file["services"].get(name)
            if not block:
                raise ConfigError("profile %r refers to [services %s], which does not exist in %s"
                                  % (cfg.profile, name, cfg.config_path))
            nested = block.get(snake, "")
            if nested:
                url = parse_nested(nested, "[services %s] %s" % (name, snake)).get("endpoint_url")
                origin = "[services %s]" % name
        if url is None and cfg.profile_section.get("endpoint_url"):
            url, origin = cfg.profile_section["endpoint_url"], "endpoint_url in profile %r" % cfg.profile
    fips = cfg.flag("use_fips_endpoint", "AWS_USE_FIPS_ENDPOINT")
    dualstack = cfg.flag("use_dualstack_endpoint", "AWS_USE_DUALSTACK_ENDPOINT")
    if url is not None:
        if fips or dualstack:
            raise ConfigError("a custom endpoint (%s) cannot be combined with FIPS or dual-stack endpoints"
                              % origin)
        if not url.startswith(("https://", "http://")):
            raise ConfigError("endpoint URL %r (from %s) must start with https:// or http://" % (url, origin))
        return url.rstrip("/")
    import re
    name, suffix, dual_suffix = PARTITIONS[0][0], PARTITIONS[0][2], PARTITIONS[0][3]
    for partition, pattern, dns, dual in PARTITIONS:
        if re.match(pattern, cfg.region):
            name, suffix, dual_suffix = partition, dns, dual
            break
    host = {"sso": "portal.sso", "sso-oidc": "oidc"}[service]
    if fips and (dualstack or name != "aws-us-gov"):  # GovCloud's plain host is FIPS already
        host += "-fips"
    if dualstack:
        suffix = dual_suffix
    return "https://%s.%s.%s" % (host, cfg.region, suffix)


def proxy_for(scheme, netloc, environ):
    """The proxy URL for scheme://netloc from the *_proxy environment variables,
    by urllib's rules (lowercase names win; NO_PROXY lists hosts and domain
    suffixes, ``*`` means all), or None."""
    names = {}
    for key, value in environ.items():
        lower = key.lower()
        if value and lower in (scheme + "_proxy", "no_proxy") and (lower not in names or key == lower):
            names[lower] = value
    proxy = names.get(scheme + "_proxy")
    if not proxy:
        return None
    no_proxy = names.get("no_proxy", "").strip()
    if no_proxy == "*":
        return None
    netloc = netloc.lower()
    host = netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc
    for name in no_proxy.split(","):
        name = name.strip().lstrip(".").lower()
        if name and (name in (host, netloc) or host.endswith("." + name) or netloc.endswith("." + name)):
            return None
    return proxy if "://" in proxy else "http://" + proxy


class Http:
    """Unsigned JSON calls to the SSO endpoints, built on http.client.

    Never follows a redirect (the bearer token must not reach another host),
    retries throttling, 5xx and connection failures with capped, jittered
    exponential backoff, bounds both the connect and every read, and sends
    header names exactly as botocore does (urllib would re-case them).
    """

    def __init__(self, cfg, log, sleep=time.sleep):
        self._cfg = cfg
        self._log = log
        self._sleep = sleep
        self._tls = None
        self.connect_timeout, self.read_timeout = cfg.timeouts

    def _tls_context(self):
        import ssl
        if self._tls is None:
            ca_bundle, origin = self._cfg.setting("ca_bundle", "AWS_CA_BUNDLE")
            try:
                self._tls = ssl.create_default_context(cafile=ca_bundle or None)
            except (OSError, ssl.SSLError) as e:
                raise ConfigError("cannot load the CA bundle %s (from %s): %s"
                                  % (ca_bundle, origin, one_line(e)))
        return self._tls

    def _connection(self, scheme, netloc, target):
        """An unopened connection for the URL, through a proxy if one applies,
        and the request target to send on it."""
        import http.client
        from urllib.parse import unquote, urlsplit

        read_timeout = self.read_timeout

        def bounded(base):
            class Connection(base):
                def connect(self):
                    super().connect()  # TCP, proxy CONNECT and TLS under the connect timeout
                    self.sock.settimeout(read_timeout)
            return Connection

        proxy = proxy_for(scheme, netloc, self._cfg.environ)
        extra = {}
        if proxy:
            p = urlsplit(proxy)
            if p.username is not None:
                import base64
                cred = "%s:%s" % (unquote(p.username), unquote(p.password or ""))
                extra["Proxy-Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
            via = p.hostname, p.port or 80  # urllib's default for a proxy URL without a port
            self._log("via proxy %s:%s", *via)
        if scheme == "https":
            conn = bounded(http.client.HTTPSConnection)(*(via if proxy else (netloc, None)),
                                                       timeout=self.connect_timeout,
                                                       context=self._tls_context())
            if proxy:
                conn.set_tunnel(netloc, headers=extra)
            return conn, target, {}
        conn = bounded(http.client.HTTPConnection)(*(via if proxy else (netloc, None)),
                                                  timeout=self.connect_timeout)
        return conn, ("http://%s%s" % (netloc, target) if proxy else target), extra

    def request(self, method, url, headers=None, body=None):
        """(status, headers, parsed JSON body or None) after at most 3 attempts."""
        import http.client
        import random
        import socket

        scheme, _, rest = url.partition("://")
        netloc, slash, target = rest.partition("/")
        target = slash + target or "/"
        what = "%s %s%s" % (method, netloc, target)
        headers = dict(headers or {})
        headers["User-Agent"] = "%s/%s Python/%d.%d" % (PROG, __version__, *sys.version_info[:2])
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(1, HTTP_ATTEMPTS + 1):
            started = time.monotonic()
            conn, path, extra = self._connection(scheme, netloc, target)
            try:
                conn.request(method, path, body=body, headers=dict(headers, **extra))
                resp = conn.getresponse()
                status, rheaders, data = resp.status, resp.headers, resp.read()
            except (OSError, http.client.HTTPException) as e:
                self._log("HTTP %s attempt %d failed after %.3fs: %r", what, attempt,
                          time.monotonic() - started, e)
                if "CERTIFICATE_VERIFY_FAILED" in str(e):
                    raise ServiceError(
                        "TLS certificate verification failed for %s; if a proxy or TLS inspection is in "
                        "use, point AWS_CA_BUNDLE (or ca_bundle in the profile) at its CA bundle" % netloc)
                if attempt == HTTP_ATTEMPTS:
                    if isinstance(e, socket.timeout):
                        why = "timed out (connect timeout %gs, read timeout %gs: AWS_SSO_CONNECT_TIMEOUT, " \
                              "AWS_SSO_READ_TIMEOUT)" % (self.connect_timeout, self.read_timeout)
                    elif isinstance(e, http.client.HTTPException):
                        why = "sent a malformed response (%s)" % type(e).__name__
                    else:
                        why = "failed: %s" % one_line(e)
                    raise ServiceError("cannot reach the SSO service at %s: %d attempts, the last %s"
                                       % (netloc, attempt, why))
            else:
                self._log("HTTP %s attempt %d -> %d in %.3fs (request id %s)", what, attempt, status,
                          time.monotonic() - started, rheaders.get("x-amzn-RequestId", "-"))
                if 300 <= status < 400:
                    raise ServiceError(
                        "the SSO service at %s answered with a redirect (HTTP %d to %s); not following it, "
                        "so the token is not sent elsewhere. Check AWS_ENDPOINT_URL_SSO, endpoint_url and "
                        "proxy settings" % (netloc, status, rheaders.get("Location", "?")))
                if not (status == 429 or status >= 500) or attempt == HTTP_ATTEMPTS:
                    return status, rheaders, self._parse(data)
            finally:
                conn.close()
            delay = random.uniform(0, min(HTTP_BACKOFF_CAP, HTTP_BACKOFF_BASE * 2 ** (attempt - 1)))
            self._log("retrying in %.2fs", delay)
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

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
    return str(value).split(":")[0].rsplit("#", 1)[-1]


def error_message(body):
    if isinstance(body, dict):
        for key in ("message", "Message", "error_description"):
            if isinstance(body.get(key), str) and body[key]:
                return one_line(body[key])
    return ""


# --------------------------------------------------------------------------
# SSO: the cached token, refresh, role credentials
# --------------------------------------------------------------------------


class Context:
    """What varies between runs: settings, environment, clock, sleep, log,
    stderr, the browser opener and HTTP. Tests pass their own."""

    def __init__(self, cfg, log, now=time.time, sleep=time.sleep, stderr=None, open_browser=None):
        self.cfg = cfg
        self.environ = cfg.environ
        self.log = log
        self.now = now
        self.sleep = sleep
        self.stderr = sys.stderr if stderr is None else stderr
        self.open_browser = open_browser or (lambda url: launch_browser(url, self.environ, self.log))
        self.started = now()
        self._http = None

    @property
    def http(self):
        if self._http is None:
            self._http = Http(self.cfg, self.log, self.sleep)
        return self._http


def _who(cfg):
    return "sso-session %r" % cfg.sso_session if cfg.sso_session is not None else "start URL %s" % cfg.start_url


def read_token(cfg, ctx, path):
    """(token, None) from the cache, or (None, LoginRequired saying why not)."""
    deadline = time.monotonic() + TOKEN_READ_RETRY_SECONDS
    while True:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            ctx.log("token cache miss: %s does not exist", path)
            return None, LoginRequired("not logged in: no cached SSO token for %s (%s). %s"
                                       % (_who(cfg), path, login_advice(cfg)))
        except OSError as e:
            return None, LoginRequired("cannot read the cached SSO token %s (%s). %s"
                                       % (path, one_line(e), login_advice(cfg)))
        try:
            token = json_loads(data.decode("utf-8"))
            if not isinstance(token, dict):
                raise ValueError("not an object")
            break
        except (UnicodeDecodeError, ValueError) as e:
            # The AWS CLI truncates and rewrites this file in place; give a
            # concurrent login a moment to finish before calling it broken.
            if time.monotonic() >= deadline:
                ctx.log("token file %s unreadable: %s", path, e)
                return None, LoginRequired("the cached SSO token %s is not valid JSON. %s"
                                           % (path, login_advice(cfg)))
            ctx.log("token file %s unreadable (%s), re-reading", path, e)
            ctx.sleep(0.05)
    ctx.log.secret(token.get("accessToken"), token.get("refreshToken"), token.get("clientSecret"))
    try:
        if not isinstance(token.get("accessToken"), str) or not token["accessToken"]:
            raise ValueError("no accessToken")
        token["_expires"] = parse_time(token.get("expiresAt"))
    except ValueError as e:
        ctx.log("token file %s unusable: %s", path, e)
        return None, LoginRequired("the cached SSO token %s is incomplete (%s). %s"
                                   % (path, e, login_advice(cfg)))
    ctx.log("token cache %s for %s expires %s%s", path, _who(cfg), format_time(token["_expires"]),
            ", refreshable" if refreshable(token, ctx.now()) else "")
    return token, None


def refreshable(token, now):
    """Whether the token file has what a refresh needs, with a live registration."""
    try:
        return all(isinstance(token[k], str) and token[k] for k in
                   ("refreshToken", "clientId", "clientSecret")) \
            and parse_time(token["registrationExpiresAt"]) > now
    except (KeyError, ValueError):
        return False


def token_document(cfg, now, response, client):
    """A token cache entry in the AWS CLI's field order (SPEC.md 2.2)."""
    try:
        doc = {"startUrl": cfg.start_url, "region": cfg.region, "accessToken": response["accessToken"],
               "expiresAt": format_time(now + int(response["expiresIn"])), "clientId": client["clientId"],
               "clientSecret": client["clientSecret"], "registrationExpiresAt": client["expiresAt"]}
        if not isinstance(doc["accessToken"], str) or not doc["accessToken"]:
            raise ValueError("empty accessToken")
    except (TypeError, KeyError, ValueError) as e:
        raise ServiceError("SSO OIDC CreateToken returned an unexpected response (%s)" % one_line(e))
    if response.get("refreshToken"):
        doc["refreshToken"] = response["refreshToken"]
    return doc


def save_token(path, doc, ctx):
    """Write the token where the AWS CLI and botocore read it; return it ready for use."""
    import json
    ctx.log.secret(doc["accessToken"], doc.get("refreshToken"))
    try:
        write_file_atomic(path, json.dumps(doc))
        ctx.log("token written to %s, expires %s", path, doc["expiresAt"])
    except OSError as e:  # a read-only cache: the token still serves this run
        ctx.log("could not write the token to %s (%s); using it for this run only", path, e)
    return dict(doc, _expires=parse_time(doc["expiresAt"]))


def oidc_call(cfg, ctx, operation, path, body):
    """One unsigned SSO OIDC call (POST JSON); the answer, or OidcError."""
    import json
    status, headers, data = ctx.http.request("POST", service_endpoint(cfg, "sso-oidc") + path,
                                             body=json.dumps(body).encode("utf-8"))
    if status == 200 and isinstance(data, dict):
        return data
    raise OidcError(operation, error_code(headers, data) or "HTTP %d" % status, error_message(data))


def refresh(cfg, ctx, path, token):
    """The refresh_token grant, written back as botocore writes it: a new
    document with startUrl and region from the config, the registration
    copied, and refreshToken only if the service sent one."""
    ctx.log("refreshing the token for %s (expires %s)", _who(cfg), format_time(token["_expires"]))
    try:
        answer = oidc_call(cfg, ctx, "CreateToken", "/token", {
            "grantType": "refresh_token", "clientId": token["clientId"],
            "clientSecret": token["clientSecret"], "refreshToken": token["refreshToken"]})
    except OidcError as e:
        if e.code in ("InvalidGrantException", "ExpiredTokenException"):
            raise LoginRequired("the SSO session for %s has ended: it reached its maximum duration or was "
                                "revoked, so the refresh token was refused (%s). %s"
                                % (_who(cfg), e.detail, login_advice(cfg)))
        raise LoginRequired("refreshing the SSO token for %s was rejected (%s). %s"
                            % (_who(cfg), e.detail, login_advice(cfg)))
    client = {"clientId": token["clientId"], "clientSecret": token["clientSecret"],
              "expiresAt": token["registrationExpiresAt"]}
    return save_token(path, token_document(cfg, ctx.now(), answer, client), ctx)


def _expired(cfg, token, now):
    """LoginRequired for a token that can no longer be used, saying which case it is."""
    if token.get("refreshToken") and not refreshable(token, now):
        try:
            registration = format_time(parse_time(token["registrationExpiresAt"]))
        except (KeyError, ValueError):
            registration = "an unknown time"
        return LoginRequired("the SSO login for %s expired at %s and cannot be refreshed: its client "
                             "registration expired at %s. %s"
                             % (_who(cfg), format_time(token["_expires"]), registration, login_advice(cfg)))
    return LoginRequired("the SSO login for %s expired at %s. %s"
                         % (_who(cfg), format_time(token["_expires"]), login_advice(cfg)))


def get_token(cfg, ctx, rejected=None):
    """An access token to present to the portal.

    The cached token while more than 15 minutes remain; else a refreshed one
    if the token carries refresh data (botocore's rule); else the old one
    while it lasts; else, with --interactive, a new login. Refreshing and
    logging in happen under a lock next to the token file, re-reading the file
    once it is ours, so that any number of processes cause one refresh or one
    login. `rejected` is (token, LoginRequired) when the portal has just
    refused a token that looked valid.
    """
    path = cache_path(TOKEN_CACHE_DIR, token_cache_key(cfg), ctx.environ)
    bad = rejected[0]["accessToken"] if rejected else None

    def alive(token):
        """Present, not the one the portal refused, and not expired."""
        return token is not None and token["accessToken"] != bad and token["_expires"] > ctx.now()

    def verdict(token):
        """'fresh', 'usable' (alive, and no refresh possible), or None."""
        if not alive(token):
            return None
        if token["_expires"] - ctx.now() >= TOKEN_REFRESH_WINDOW:
            return "fresh"
        return None if refreshable(token, ctx.now()) else "usable"

    def unusable(token, why):
        """Why the token cannot be used: missing, refused by the portal, or expired."""
        if token is None:
            return why
        if token["accessToken"] == bad:
            return rejected[1]
        return _expired(cfg, token, ctx.now())

    token, why = read_token(cfg, ctx, path)
    if verdict(token):
        return token
    if not cfg.interactive and not (token is not None and refreshable(token, ctx.now())):
        raise unusable(token, why)

    with Lock(path + ".lock", ctx, "refreshing or logging in to %s" % _who(cfg)) as lock:
        token, why = read_token(cfg, ctx, path)  # another process may have done it meanwhile
        if verdict(token):
            ctx.log("using the token another process refreshed or logged in for")
            return token
        valid = alive(token)
        if token is not None and refreshable(token, ctx.now()):
            key = "refresh:" + sha1_hex(token["refreshToken"])
            why = lock.recent_failure(key, REFRESH_RETRY_SECONDS)  # at most one attempt a minute
            if why is not None and valid:
                ctx.log("a refresh failed less than %ds ago; using the current token", REFRESH_RETRY_SECONDS)
                return token
            if why is None:
                try:
                    fresh = refresh(cfg, ctx, path, token)
                    lock.forget()
                    return fresh
                except Error as e:
                    ctx.log("refresh failed: %s", e)
                    lock.remember(key, e)
                    again, _ = read_token(cfg, ctx, path)  # botocore may have rotated it under us
                    if verdict(again) and again["accessToken"] != token["accessToken"]:
                        return again
                    if valid:
                        return token
                    why = e
            if not isinstance(why, LoginRequired):
                raise why  # the service failed: a login would fail the same way
        elif valid:
            return token
        else:
            why = unusable(token, why)
        if not cfg.interactive:
            raise why
        lock.replay("login")
        try:
            token = login(cfg, ctx, path)
        except Error as e:
            lock.remember("login", e)
            raise
        lock.forget()
        return token


def fetch_role_credentials(cfg, ctx, token):
    """GetRoleCredentials: GET /federation/credentials on the SSO portal."""
    from urllib.parse import urlencode
    base = service_endpoint(cfg, "sso")
    ctx.log("portal endpoint %s", base)
    query = urlencode((("role_name", cfg.role_name), ("account_id", cfg.account_id)))
    status, headers, body = ctx.http.request(
        "GET", "%s/federation/credentials?%s" % (base, query),
        headers={"x-amz-sso_bearer_token": token["accessToken"]})
    code, message = error_code(headers, body), error_message(body)
    detail = " (%s: %s)" % (code or "HTTP %d" % status, message) if message else \
        " (%s)" % (code or "HTTP %d" % status)
    if status == 401 or code == "UnauthorizedException":
        raise LoginRequired("the SSO portal rejected the cached login for %s%s; it was revoked, "
                            "logged out or expired early. %s" % (_who(cfg), detail, login_advice(cfg)))
    if status in (403, 404) or code in ("ForbiddenException", "AccessDeniedException",
                                        "ResourceNotFoundException"):
        raise AccessDenied("no access to role %s in account %s%s; check the account ID and role name "
                           "(sso_account_id, sso_role_name) against the roles the portal shows you"
                           % (cfg.role_name, cfg.account_id, detail))
    if status != 200:
        raise ServiceError("GetRoleCredentials failed%s" % detail)
    try:
        rc = body["roleCredentials"]
        creds = {"AccessKeyId": rc["accessKeyId"], "SecretAccessKey": rc["secretAccessKey"],
                 "SessionToken": rc["sessionToken"], "Expiration": int(rc["expiration"]) // 1000}
        if not all(isinstance(creds[k], str) and creds[k] for k in
                   ("AccessKeyId", "SecretAccessKey", "SessionToken")):
            raise ValueError("empty field")
    except (TypeError, KeyError, ValueError) as e:
        raise ServiceError("GetRoleCredentials returned an unexpected response (%s)" % one_line(e))
    ctx.log.secret(creds["SecretAccessKey"], creds["SessionToken"])
    ctx.log("role credentials for %s/%s expire %s", cfg.account_id, cfg.role_name,
            format_time(creds["Expiration"]))
    return creds


def get_credentials(cfg, ctx):
    """Role credentials for cfg: from the shared cache, else from the portal.

    The fetch runs under a lock next to the cache entry and the cache is read
    again once the lock is ours, so that parallel processes make one call.
    """
    path = cache_path(ROLE_CACHE_DIR, role_cache_key(cfg), ctx.environ)
    if not cfg.force_refresh:
        creds = cached_role_credentials(path, ctx.now(), ctx.log)
        if creds is not None:
            return creds
    else:
        ctx.log("--force-refresh: not reading %s", path)
    token = get_token(cfg, ctx)
    with Lock(path + ".lock", ctx, "fetching role credentials") as lock:
        if not cfg.force_refresh:
            creds = cached_role_credentials(path, ctx.now(), ctx.log)
            if creds is not None:
                return creds
        key = "fetch:" + sha1_hex(token["accessToken"])
        lock.replay(key)
        try:
            try:
                creds = fetch_role_credentials(cfg, ctx, token)
            except LoginRequired as e:  # refused although it looked valid: refresh or log in
                if not (cfg.interactive or refreshable(token, ctx.now())):
                    raise
                token = get_token(cfg, ctx, rejected=(token, e))
                creds = fetch_role_credentials(cfg, ctx, token)
        except Error as e:
            lock.remember(key, e)
            raise
        store_role_credentials(path, creds, cfg.account_id, ctx.log)
    return creds


# --------------------------------------------------------------------------
# Interactive login: device code and authorization code with PKCE
# --------------------------------------------------------------------------


def local_browser_possible(environ):
    """Whether a browser here can receive a loopback redirect. Not over SSH
    (without X forwarding), not on Linux without a display, not in a
    container. A BROWSER setting is taken at its word."""
    if environ.get("BROWSER"):
        return True
    ssh = any(environ.get(k) for k in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"))
    if os.name == "nt" or sys.platform == "darwin":  # pragma: no cover - not Linux
        return not ssh
    if environ.get("container") or environ.get("KUBERNETES_SERVICE_HOST") \
            or os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"):
        return False
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def launch_browser(url, environ, log):
    """Open url in a graphical browser, detached: its own session and no
    inherited stdin/stdout/stderr (a browser holding the SDK's stdout pipe
    would make the SDK wait for the browser to exit). Honours BROWSER
    (os.pathsep-separated commands, %s for the URL) and never starts a
    text-mode browser, which would take over the SDK's terminal."""
    import shlex
    import subprocess
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
                             stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True)
        except OSError as e:
            log("could not start %s: %s", command[0], e)
            continue
        log("opened the login page with %s", command[0])
        return True
    return False


class Prompt:
    """Where login instructions go. SDKs capture a credential process's
    stdout and stderr (botocore and the JS SDK show stderr only after it
    fails), so the controlling terminal comes first: /dev/tty, or CONOUT$ on
    Windows. Without one, stderr. Never stdout."""

    def __init__(self, ctx):
        self._tty = None
        try:
            self._tty = open("CONOUT$" if os.name == "nt" else "/dev/tty", "w")
        except OSError:
            pass
        self.out = self._tty or ctx.stderr
        self.visible = self._tty is not None or _isatty(ctx.stderr)
        ctx.log("login prompt goes to %s", "the terminal" if self._tty else "stderr")

    def say(self, text):
        self.out.write(text + "\n")
        self.out.flush()

    def close(self):
        if self._tty is not None:
            self._tty.close()


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def show_login_page(cfg, ctx, prompt, url, lines):
    """Print the instructions, open the browser (unless --no-browser), and
    make sure a person can actually see one of them."""
    opened = False if cfg.no_browser else ctx.open_browser(url)
    prompt.say("%s: log in to %s%s" % (PROG, _who(cfg),
                                       " (%s)" % cfg.start_url if cfg.sso_session is not None else ""))
    for line in lines:
        prompt.say("  " + line)
    prompt.say("  " + ("(opened in your browser; if it did not appear, open the link yourself)" if opened
                       else "(open the link yourself)"))
    if not (opened or prompt.visible or cfg.no_browser):
        raise LoginRequired("cannot log in here: there is no terminal to show the login link on and no "
                            "browser could be opened. Run `%s` in a terminal, or run this script there "
                            "with --interactive" % login_command(cfg))


def client_registration(cfg, ctx, pkce):
    """The OIDC client, reused from the AWS CLI's registration cache by its
    rules (15 minutes left; auth-code grants for PKCE only), else registered
    with at least sso:account:access so that refresh tokens are issued."""
    import json
    path = cache_path(TOKEN_CACHE_DIR, registration_cache_key(cfg), ctx.environ)
    cached = read_json_file(path)
    try:
        grants = cached.get("grantTypes") or []
        if isinstance(cached["clientId"], str) and isinstance(cached["clientSecret"], str) \
                and parse_time(cached["expiresAt"]) - ctx.now() >= TOKEN_REFRESH_WINDOW \
                and ("authorization_code" in grants) == pkce:
            ctx.log.secret(cached["clientSecret"])
            ctx.log("reusing the client registration in %s", path)
            return cached
    except (AttributeError, TypeError, KeyError, ValueError):
        pass
    scopes = cfg.scopes or DEFAULT_SCOPES
    body = {"clientName": "botocore-client-%s" % (cfg.sso_session if cfg.sso_session is not None
                                                  else int(ctx.now())),
            "clientType": "public"}
    if pkce:
        body.update(grantTypes=PKCE_GRANTS, redirectUris=[PKCE_REDIRECT], issuerUrl=cfg.start_url)
    body["scopes"] = scopes
    answer = oidc_call(cfg, ctx, "RegisterClient", "/client/register", body)
    try:
        registration = {"clientId": answer["clientId"], "clientSecret": answer["clientSecret"],
                        "expiresAt": format_time(int(answer["clientSecretExpiresAt"])), "scopes": scopes}
    except (TypeError, KeyError, ValueError) as e:
        raise ServiceError("SSO OIDC RegisterClient returned an unexpected response (%s)" % one_line(e))
    if pkce:
        registration["grantTypes"] = PKCE_GRANTS
    ctx.log.secret(registration["clientSecret"])
    try:
        write_file_atomic(path, json.dumps(registration))
        ctx.log("registered client, cached in %s", path)
    except OSError as e:
        ctx.log("could not cache the registration in %s: %s", path, e)
    return registration


def device_login(cfg, ctx, client, prompt):
    """RFC 8628 device authorization, polled as the AWS CLI polls it."""
    auth = oidc_call(cfg, ctx, "StartDeviceAuthorization", "/device_authorization", {
        "clientId": client["clientId"], "clientSecret": client["clientSecret"], "startUrl": cfg.start_url})
    try:
        ctx.log.secret(auth["deviceCode"])
        body = {"grantType": DEVICE_GRANT, "clientId": client["clientId"],
                "clientSecret": client["clientSecret"], "deviceCode": auth["deviceCode"]}
        lines = ["open %s and enter the code %s," % (auth["verificationUri"], auth["userCode"]),
                 "or open %s" % auth["verificationUriComplete"]]
        page = auth["verificationUriComplete"]
        interval = int(auth.get("interval") or 5)  # RFC 8628 3.2: 5 s unless told otherwise
        give_up = ctx.now() + min(int(auth.get("expiresIn") or 600) + 30, cfg.login_timeout)
    except (TypeError, KeyError, ValueError) as e:
        raise ServiceError("SSO OIDC StartDeviceAuthorization returned an unexpected response (%s)"
                           % one_line(e))
    shown = False
    while True:
        try:
            return oidc_call(cfg, ctx, "CreateToken", "/token", body)
        except OidcError as e:
            if e.code == "SlowDownException":  # RFC 8628 3.5: five seconds more, for good
                interval += 5
            elif e.code == "ExpiredTokenException":
                raise LoginFailed("the login code expired before it was approved in the browser; "
                                  "run again to start a new login")
            elif e.code == "AccessDeniedException":
                raise LoginFailed("the login was denied in the browser (%s)" % e)
            elif e.code != "AuthorizationPendingException":
                raise LoginFailed("the device login failed: %s" % e)
        if not shown:  # one attempt first, in case the client is already authorized
            show_login_page(cfg, ctx, prompt, page, lines)
            shown = True
            continue
        if ctx.now() >= give_up:
            raise LoginFailed("the login was not approved in the browser within %ds" % (give_up - ctx.now()))
        ctx.log("authorization pending; polling again in %ds", interval)
        ctx.sleep(interval)


def pkce_challenge(verifier):
    """S256: base64url(SHA-256(verifier)) without padding (RFC 7636 4.2)."""
    import base64
    import hashlib
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


def pkce_login(cfg, ctx, client, prompt):
    """The authorization-code flow with PKCE (RFC 7636, S256), the AWS CLI's
    default for sso-session configs, with a redirect to a one-shot server
    that listens on 127.0.0.1 only."""
    import secrets
    import uuid
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import parse_qs, quote

    verifier = "".join(secrets.choice(PKCE_VERIFIER_CHARS) for _ in range(64))
    challenge = pkce_challenge(verifier)
    state = str(uuid.uuid4())
    result = {"wrong_state": 0}

    class Callback(BaseHTTPRequestHandler):
        timeout = 10  # a connection that never sends a request cannot stall the login

        def do_GET(self):
            path, _, query = self.path.partition("?")
            params = {k: v[0] for k, v in parse_qs(query).items()}
            ctx.log.secret(params.get("code"))
            if path != "/oauth/callback":
                return self._page(404, "Not found.")
            if params.get("state") != state:
                result["wrong_state"] += 1
                return self._page(400, "This sign-in response does not belong to the login in progress "
                                       "(its state does not match), so it was ignored.")
            if "error" in params:
                result["error"] = "%s%s" % (params["error"], (": " + params["error_description"])
                                            if params.get("error_description") else "")
                return self._page(400, "Sign-in failed: %s. You can close this tab." % result["error"])
            if not params.get("code"):
                return self._page(400, "The sign-in response has no authorization code.")
            result["code"] = params["code"]
            self._page(200, "Signed in. You can close this tab and return to your application.")

        def _page(self, status, text):
            import html
            body = ("<!doctype html><title>%s</title><p>%s</p>" % (PROG, html.escape(text))).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            ctx.log("callback: %s %s", self.command, self.path.partition("?")[0])

    try:
        server = HTTPServer(("127.0.0.1", 0), Callback)
    except OSError as e:
        raise LoginFailed("cannot listen on 127.0.0.1 for the browser's redirect (%s); use --use-device-code"
                          % one_line(e))
    try:
        redirect = "http://127.0.0.1:%d/oauth/callback" % server.server_address[1]
        base = service_endpoint(cfg, "sso-oidc")
        params = (("response_type", "code"), ("client_id", client["clientId"]), ("redirect_uri", redirect),
                  ("state", state), ("code_challenge_method", "S256"),
                  ("scopes", " ".join(cfg.scopes or DEFAULT_SCOPES)))
        url = "%s//%s/authorize?%s&code_challenge=%s" % (
            base.split("/")[0], base.split("/")[2],
            "&".join("%s=%s" % (k, quote(v, safe="-_.~")) for k, v in params), challenge)
        show_login_page(cfg, ctx, prompt, url, ["open %s" % url])
        deadline = time.monotonic() + cfg.login_timeout
        while "code" not in result and "error" not in result:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LoginFailed("no sign-in arrived from the browser within %ds%s; run again, or use "
                                  "--use-device-code if the browser is on another machine"
                                  % (cfg.login_timeout, " (%d response(s) with the wrong state were "
                                                        "ignored)" % result["wrong_state"]
                                                        if result["wrong_state"] else ""))
            server.timeout = min(left, 1.0)
            server.handle_request()
    finally:
        server.server_close()
    if "error" in result:
        raise LoginFailed("the browser sign-in failed (%s)" % result["error"])
    ctx.log.secret(result["code"], verifier)
    try:
        return oidc_call(cfg, ctx, "CreateToken", "/token", {
            "grantType": "authorization_code", "clientId": client["clientId"],
            "clientSecret": client["clientSecret"], "redirectUri": redirect, "codeVerifier": verifier,
            "code": result["code"]})
    except OidcError as e:
        raise LoginFailed("exchanging the sign-in code for a token failed: %s" % e)


def login(cfg, ctx, path):
    """Log in in the browser and cache the token exactly as `aws sso login` does."""
    device = cfg.use_device_code or cfg.sso_session is None or not local_browser_possible(ctx.environ)
    ctx.log("interactive login for %s with the %s flow", _who(cfg), "device code" if device else "PKCE")
    prompt = Prompt(ctx)
    try:
        client = client_registration(cfg, ctx, pkce=not device)
        answer = (device_login if device else pkce_login)(cfg, ctx, client, prompt)
        token = save_token(path, token_document(cfg, ctx.now(), answer, client), ctx)
        prompt.say("%s: logged in to %s" % (PROG, _who(cfg)))
    finally:
        prompt.close()
    return token


# --------------------------------------------------------------------------
# Output and command line
# --------------------------------------------------------------------------


def format_output(creds, account_id):
    """The credential_process document: one line of JSON, Version the number 1."""
    fields = (("AccessKeyId", creds["AccessKeyId"]), ("SecretAccessKey", creds["SecretAccessKey"]),
              ("SessionToken", creds["SessionToken"]), ("Expiration", format_time(creds["Expiration"])),
              ("AccountId", account_id))
    return '{"Version":1,%s}\n' % ",".join("%s:%s" % (json_str(k), json_str(v)) for k, v in fields)


def _debug_requested(opts, environ):
    if opts.get("debug"):
        return True
    value = environ.get("AWS_SSO_CREDENTIAL_PROCESS_DEBUG")
    return bool(value) and parse_bool(value, "AWS_SSO_CREDENTIAL_PROCESS_DEBUG")


def main(argv=None, environ=None, stdout=None, stderr=None):
    """Run the command line; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    log, debug = Log(), False
    try:
        opts = parse_args(argv)
        if opts.get("help"):
            stdout.write(__doc__ or "See README.md.\n")  # python -OO drops docstrings
            return 0
        if opts.get("version"):
            stdout.write("%s %s\n" % (PROG, __version__))
            return 0
        debug = _debug_requested(opts, environ)
        if debug:
            log = Log(os.path.join(home_dir(environ), *LOG_FILE[1:]))
            if log.problem:
                stderr.write("%s: warning: %s\n" % (PROG, log.problem))
            log("%s %s, Python %s, argv %s", PROG, __version__, sys.version.split()[0], argv)
        cfg = resolve_config(opts, environ)
        log("config file %s; %s", cfg.config_path, cfg.describe())
        creds = get_credentials(cfg, Context(cfg, log, stderr=stderr))
        output = format_output(creds, cfg.account_id)
    except Error as e:
        log("error (exit %d): %s", e.exit_code, e)
        stderr.write("%s: %s\n" % (PROG, log.redact(one_line(e))))
        return e.exit_code
    except KeyboardInterrupt:
        stderr.write("%s: interrupted\n" % PROG)
        return 130
    except Exception as e:
        import traceback
        log("unexpected error:\n%s", traceback.format_exc())
        if debug:
            stderr.write(log.redact(traceback.format_exc()))
        hint = ("see %s" % log.path) if log.enabled else "run with --debug for details"
        stderr.write("%s: unexpected error: %s: %s (%s)\n"
                     % (PROG, type(e).__name__, log.redact(one_line(e)), hint))
        return 70
    stdout.write(output)
    stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
