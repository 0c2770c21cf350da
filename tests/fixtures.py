"""Fixtures and builders for the tests of the script's pieces, the ones that
run without a sandbox: INI_CORPUS and parse_both (the fast INI reader next
to configparser), PRECEDENCE_CONFIG (a session at each level of
precedence), PROXY_CASES (environments and URLs whose proxy urllib picks),
network_config (a Config resolved from a profile, a file and an
environment, endpoints and all) and token_state (what token_action decides
for a token in a given state).
"""

import configparser

import aws_sso_credential_process as acp

from .standin import START_URL

#: Config files the fast INI reader must read as configparser does, or hand
#: over to it (its fallback), and that botocore reads or refuses likewise.
INI_CORPUS = [
    "[default]\nregion = us-east-1\n",
    "[profile a]\nSSO_Region : eu-west-1\nsso_start_url=https://x/start # not a comment\n",
    "# c\n; c\n[profile a]\n  # indented comment\nk = v\n\n\n[profile b]\nk=\n",
    "[services s]\nsso =\n  endpoint_url = http://127.0.0.1:1\n\n  other = 2\nsso_oidc =\n"
    "  endpoint_url = http://127.0.0.1:2\n",
    "[profile a]\nk = line1\n  line2\n\n  line3\n\n\n",
    "[profile a]\nk = v\n\t tabbed continuation\nj = w\n",
    "[profile \"with space\"]\nk = v\n[profile 'single q']\nk = w\n",
    "[profile a b c]\nk = v\n[profilex]\nk = v\n[profiles p]\nk = v\n",
    "[default]\nk = 1\n[profile default]\nk = 2\n",
    "[profile default]\nk = 2\n[default]\nk = 1\n",
    "[sso-session s]\nsso_start_url = u\n[sso-sessionx]\nk = v\n",
    "[profile a]\nk = v = w : x\nz: y = q\n",
    "[profile a]\n  k = indented first option\n  j = second\n",
    "[DEFAULT]\nregion = r\n[profile a]\nk = v\n",
    "[profile a]\nk = v\n[profile a]\nj = w\n",
    "[profile a]\nk = v\nK = w\n",
    "k = v\n[profile a]\n",
    "[profile a]\njust a line\n",
    "[profile a]\n= no name\n",
    "[profile a] trailing\nk = v\n",
    "[a]]\nk = v\n",
    "[]\nk = v\n",
    "\r\n[profile a]\r\nk = v\r\n",
    "[profile a]\rk = v\rj = w\r[profile b]\rk = x\r",
    "[profile \"unbalanced]\nk = v\n",
    "[profile a]\nk = v\n[profile \u00e9]\nk = w\n",
    "[profile a]\ns3 =\n  not key value\n",
    "[sso-session s]\nnested =\n  a = 1\n  broken\n",
    "",
]


def parse_both(text):
    """(fast result or 'fallback', configparser result or an exception class)."""
    try:
        fast = acp._ini_fast(text)
    except acp._IniFallback:
        fast = "fallback"
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text)
        slow = {s: {k: parser.get(s, k) for k in parser.options(s)} for s in parser.sections()}
    except configparser.Error as e:
        slow = type(e)
    return fast, slow


#: Profile p and a session for each level that can name one: the profile, the
#: environment (AWS_SSO_SESSION=from-env) and the flag (--sso-session from-flag).
PRECEDENCE_CONFIG = """
[profile p]
sso_session = from-profile
sso_account_id = 111111111111
sso_role_name = ProfileRole

[sso-session from-profile]
sso_start_url = https://profile-session.awsapps.com/start
sso_region = eu-west-1

[sso-session from-env]
sso_start_url = https://env-session.awsapps.com/start
sso_region = eu-west-2

[sso-session from-flag]
sso_start_url = https://flag-session.awsapps.com/start
sso_region = eu-west-3
"""

#: Proxy settings and the URL asked for: urllib's getproxies_environment and
#: proxy_bypass_environment decide what botocore (and the script) use.
PROXY_CASES = [  # (environment, URL)
    ({"HTTPS_PROXY": "http://p:3128"}, "https://portal.sso.us-east-1.amazonaws.com"),
    ({"https_proxy": "http://p:1", "HTTPS_PROXY": "http://p:2"}, "https://h.example"),
    ({"https_proxy": "", "HTTPS_PROXY": "http://p:2"}, "https://h.example"),
    ({"HTTPS_PROXY": "http://p:2", "NO_PROXY": "example"}, "https://h.example"),
    ({"HTTPS_PROXY": "http://p:2", "NO_PROXY": ".example"}, "https://h.example"),
    ({"HTTPS_PROXY": "http://p:2", "NO_PROXY": "xample"}, "https://h.example"),
    ({"HTTPS_PROXY": "http://p:2", "NO_PROXY": "*"}, "https://h.example"),
    ({"HTTPS_PROXY": "http://p:2", "NO_PROXY": "h.example:8443"}, "https://h.example:8443"),
    ({"HTTPS_PROXY": "http://p:2", "NO_PROXY": "h.example:443"}, "https://h.example"),
    ({"HTTPS_PROXY": "http://p:2", "NO_PROXY": "[::1]"}, "https://[::1]:8443"),
    ({"HTTPS_PROXY": "http://p:2", "NO_PROXY": "[::1]"}, "https://[::1]"),
    ({"HTTPS_PROXY": "http://p:2", "NO_PROXY": "::1"}, "https://[::1]:8443"),
    ({"HTTPS_PROXY": "http://p:2", "no_proxy": "", "NO_PROXY": "h.example"}, "https://h.example"),
    ({"HTTP_PROXY": "http://p:2", "REQUEST_METHOD": "GET"}, "http://h.example"),
    ({"http_proxy": "http://p:2", "REQUEST_METHOD": "GET"}, "http://h.example"),
    ({"HTTP_PROXY": "p:2"}, "http://h.example"),
    ({"HTTP_PROXY": "//p:2"}, "http://h.example"),
    ({"HTTPS_PROXY": "http://p:2", "NO_PROXY": " H.Example , other"}, "https://h.example"),
    ({"HTTPS_PROXY": "http://p:1", "HTTPS_proxy": ""}, "https://h.example"),
    ({"HTTPS_PROXY": "http://p:2", "NO_PROXY": "example.com", "No_proxy": ""}, "https://h.example.com"),
    ({"HTTPS_Proxy": "http://p:3", "hTTPS_proxy": "http://p:4"}, "https://h.example"),
]


def network_config(region, profile=None, file=None, env=None):
    """A Config for profile p, resolved from its keys (profile), the rest of
    the config file (file: its profiles, sso_sessions and services) and the
    environment, as far as its endpoints, proxies and FIPS/dual-stack."""
    cfg = acp.Config(env)
    cfg.profile = "p"
    file = dict(file or {"profiles": {}, "sso_sessions": {}, "services": {}})
    file["profiles"] = {"p": profile or {}}
    acp.resolve_settings(cfg, {"region": region}, file)
    acp.resolve_network(cfg)
    return cfg


def token_state(left, refreshable=False, registration_left=3600, rejected=False, need=acp.USABLE):
    """(action, why) for a token with `left` seconds to live at a fixed now, as
    token_action decides for a mode that needs `need`."""
    cfg = acp.Config()
    cfg.sso_session, cfg.start_url = "dev", START_URL
    ctx = acp.Context(cfg, now=lambda: 1000000.0)
    doc = {"accessToken": "tok"}
    if refreshable:
        doc.update(refreshToken="r", clientId="c", clientSecret="s",
                   registrationExpiresAt=acp.format_time(1000000 + registration_left))
    token = acp.Token(doc, 1000000.0 + left)
    refused = ("tok", acp.LoginRequired("refused")) if rejected else None
    action, why = acp.token_action(ctx, token, None, need, refused)
    return action, str(why) if why else None


def forward_references(source):
    """[(caller, callee)] for every top-level function or class of source
    that names a top-level name defined further down."""
    import ast
    tree, top = ast.parse(source), {}
    for node in tree.body:
        names = [node.name] if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else [
            t.id for t in getattr(node, "targets", ()) if isinstance(t, ast.Name)]
        for name in names:
            top.setdefault(name, node.lineno)
    return sorted({(node.name, x.id) for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))
                   for x in ast.walk(node) if isinstance(x, ast.Name) and isinstance(x.ctx, ast.Load)
                   and top.get(x.id, 0) > node.lineno})


def function_lengths(source):
    """{name: lines} of every function in source, methods and nested ones too."""
    import ast
    return {x.name: x.end_lineno - x.lineno + 1 for x in ast.walk(ast.parse(source)) if isinstance(x, ast.FunctionDef)}
