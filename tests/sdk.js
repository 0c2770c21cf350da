"use strict";
// JavaScript SDK side of the SDK compatibility matrix: AWS SDK for JavaScript
// v3 (@aws-sdk/credential-providers, @aws-sdk/client-sts) and v2 (aws-sdk),
// found through NODE_PATH.
//
//   node tests/sdk.js v3|v2 <mode> <profile> [n | seconds]
//
//   profile  a profile name, or - for none (the default chain, as under --exec)
//   chain    what an application gets by default for the profile.
//            v3: new STSClient({profile}).config.credentials(), the client's
//            default chain (@aws-sdk/credential-provider-node).
//            v2: AWS_PROFILE=<profile> (set before the SDK loads, as v2 reads
//            it then), then AWS.config.getCredentials(): the credentials the
//            global config found when it loaded, else the default
//            AWS.CredentialProviderChain. AWS_SDK_LOAD_CONFIG is left as the
//            caller set it.
//   ini      v3 fromIni({profile});     v2 new AWS.SharedIniFileCredentials({profile})
//   process  v3 fromProcess({profile}); v2 new AWS.ProcessCredentials({profile})
//   sso      v3 fromSSO({profile});     v2 new AWS.SsoCredentials({profile})
//   time     "chain" n times (default 10), a new client/config and provider
//            each time (v2: the parsed-file cache cleared too)
//   bench    v3: "time" for each of the comma-separated profiles (- for none),
//            in one process, interleaved round by round: {"ok": true, "ms":
//            {profile: [...]}}
//   container "chain" with no profile (v2: no AWS_PROFILE), as under --exec:
//            the container provider (v3 fromHttp, v2 ECSCredentials) answers
//   watch    "container", then the same provider asked again every half
//            second, as an application's requests ask it (v3: the client's
//            config.credentials(); v2: AWS.config.getCredentials()), the SDK
//            deciding when to refresh, until the access key changes or
//            `seconds` (default 60) pass
//
// One JSON line on stdout, exit code 0 whatever happened:
//   {"ok": true, "provider": ..., "accessKeyId": ..., "secretAccessKey": ...,
//    "sessionToken": ..., "expiration": ISO 8601 or null, "accountId": ... or null}
//   {"ok": false, "error": <err.message as the SDK surfaces it>, "name": <err.name>}
//   {"ok": true, "ms": [...]}                                          (time)
//   watch: the first answer plus "renewed" (the second credentials, or
//   null), "changedAt" (epoch seconds when the new key was first seen), "asks"
// provider: v3 the from* function named by the credentials' $source
// features (fromProcess, fromSSO, ...); v2 the credentials' class name.
//
// Nothing reaches the real AWS. v3 honours AWS_ENDPOINT_URL_SSO and
// AWS_ENDPOINT_URL_SSO_OIDC, which the caller sets. v2 ignores them, so its
// SSO portal, SSO OIDC and STS clients are pointed at SDK_TEST_ENDPOINT in
// code, in every mode (a closed loopback port when it is unset). The instance
// metadata service, last in both chains, is disabled, and any connection to a
// host other than loopback fails before it is made (169.254.170.2 is let
// through only in a network namespace whose one interface is lo, as
// tests/netns.py makes).

const fs = require("fs");
const net = require("net");

const realStdoutWrite = process.stdout.write.bind(process.stdout);
let emitted = false;

function emit(obj) {
  if (emitted) return;
  emitted = true;
  realStdoutWrite(JSON.stringify(obj) + "\n", () => process.exit(0));
}

function failure(err) {
  if (err === null || typeof err !== "object") {
    return { ok: false, error: String(err), name: "Error" };
  }
  return { ok: false, error: err.message === undefined ? String(err) : String(err.message),
           name: String(err.name || (err.constructor && err.constructor.name) || "Error") };
}

// Anything else that writes to stdout (console.log included) lands on stderr.
process.stdout.write = process.stderr.write.bind(process.stderr);
process.exitCode = 0;
process.on("uncaughtException", (err) => emit(failure(err)));
process.on("unhandledRejection", (err) => emit(failure(err)));
process.on("exit", () => { process.exitCode = 0; });

// Whether this process's network namespace has no interface but lo (as the
// one tests/netns.py makes, 169.254.170.2 on its loopback): nothing sent from
// it can leave.
function loopbackAlone() {
  try {
    const names = fs.readFileSync("/proc/self/net/dev", "utf8").split("\n").slice(2)
      .filter((line) => line.trim()).map((line) => line.split(":")[0].trim());
    return names.length === 1 && names[0] === "lo";
  } catch (err) {
    return false;
  }
}
const ECS_ALLOWED = loopbackAlone();

// Loopback only: every TCP/TLS connection the SDKs make goes through here.
function isLoopback(host) {
  host = String(host || "localhost").replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host) ||
    /^::ffff:127\.\d+\.\d+\.\d+$/.test(host) || (ECS_ALLOWED && host === "169.254.170.2");
}
const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  const a = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  let host, port, path;
  if (a[0] !== null && typeof a[0] === "object") {
    ({ host, port, path } = a[0]);
  } else if (typeof a[0] === "string" && !/^\d+$/.test(a[0])) {
    path = a[0];
  } else {
    port = a[0];
    host = typeof a[1] === "string" ? a[1] : undefined;
  }
  if (!path && !isLoopback(host)) {
    const err = new Error("sdk.js: refused a connection to " + host + ":" + port + " (loopback only)");
    process.nextTick(() => this.destroy(err));
    return this;
  }
  return realConnect.apply(this, args);
};
process.env.AWS_EC2_METADATA_DISABLED = "true";

const USAGE = "usage: node tests/sdk.js v3|v2 chain|ini|process|sso|time|bench|container|watch <profile>|- [n|seconds]";
const MODES = ["chain", "ini", "process", "sso", "time", "bench", "container", "watch"];

function iso(value) {
  if (value === undefined || value === null) return null;
  const date = value instanceof Date ? value : new Date(value);
  return isNaN(date.getTime()) ? String(value) : date.toISOString();
}

function describe(provider, creds) {
  if (!creds || !creds.accessKeyId) throw new Error("sdk.js: no credentials");
  return {
    ok: true,
    provider,
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey === undefined ? null : creds.secretAccessKey,
    sessionToken: creds.sessionToken === undefined ? null : creds.sessionToken,
    expiration: iso(creds.expiration !== undefined ? creds.expiration : creds.expireTime),
    accountId: creds.accountId === undefined ? null : creds.accountId,
  };
}

function elapsed(started) {
  return Math.round(Number(process.hrtime.bigint() - started) / 1e3) / 1e3;
}

// ---- v3

// The provider that produced v3 credentials, from the features it recorded.
const V3_FEATURES = [
  ["CREDENTIALS_SSO", "fromSSO"], ["CREDENTIALS_SSO_LEGACY", "fromSSO"],
  ["CREDENTIALS_PROCESS", "fromProcess"], ["CREDENTIALS_LOGIN", "fromLoginCredentials"],
  ["CREDENTIALS_ENV_VARS_STS_WEB_ID_TOKEN", "fromTokenFile"],
  ["CREDENTIALS_PROFILE_STS_WEB_ID_TOKEN", "fromTokenFile"],
  ["CREDENTIALS_STS_ASSUME_ROLE_WEB_ID", "fromTokenFile"],
  ["CREDENTIALS_ENV_VARS", "fromEnv"], ["CREDENTIALS_HTTP", "fromHttp"],
  ["CREDENTIALS_IMDS", "fromInstanceMetadata"], ["CREDENTIALS_STS_ASSUME_ROLE", "fromIni"],
  ["CREDENTIALS_PROFILE", "fromIni"],
];

function v3ProviderName(creds) {
  const source = (creds && creds.$source) || {};
  const hit = V3_FEATURES.find(([feature]) => feature in source);
  return hit ? hit[1] : null;
}

// The same credentials provider asked every half second until the key changes.
async function watch(get, name, seconds) {
  const first = await get();
  const answer = Object.assign(describe(name(first), first), { renewed: null, changedAt: null, asks: 1 });
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    answer.asks += 1;
    const creds = await get();
    if (creds.accessKeyId !== answer.accessKeyId) {
      answer.changedAt = Date.now() / 1000;
      answer.renewed = describe(name(creds), creds);
      break;
    }
  }
  return answer;
}

// Lookups for each profile, one new client or config each, round by round.
async function interleaved(names, n, lookup) {
  const ms = Object.fromEntries(names.map((name) => [name, []]));
  for (let i = 0; i < n; i++) {
    for (const name of names) {
      const started = process.hrtime.bigint();
      describe(null, await lookup(name));
      ms[name].push(elapsed(started));
    }
  }
  return { ok: true, ms };
}

async function v3(mode, profile, n) {
  const { STSClient } = require("@aws-sdk/client-sts");
  const { fromIni, fromProcess, fromSSO } = require("@aws-sdk/credential-providers");
  const options = profile === "-" || mode === "container" || mode === "watch" ? {} : { profile };
  const chain = () => new STSClient(options).config.credentials();
  const resolve = {
    chain,
    container: chain,
    ini: () => fromIni({ profile })(),
    process: () => fromProcess({ profile })(),
    sso: () => fromSSO({ profile })(),
  };
  if (mode === "time") {
    const ms = [];
    for (let i = 0; i < n; i++) {
      const started = process.hrtime.bigint();
      describe(null, await chain());
      ms.push(elapsed(started));
    }
    return { ok: true, ms };
  }
  if (mode === "bench") {
    return interleaved(profile.split(","), n, (name) => new STSClient(name === "-" ? {} : { profile: name })
      .config.credentials());
  }
  if (mode === "watch") {
    const client = new STSClient(options);
    return watch(() => client.config.credentials(), v3ProviderName, n);
  }
  const creds = await resolve[mode]();
  return describe(v3ProviderName(creds), creds);
}

// ---- v2

function v2Load(mode, profile) {
  if ((mode === "chain" || mode === "time") && profile !== "-") process.env.AWS_PROFILE = profile;
  process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
  const AWS = require("aws-sdk");
  const endpoint = process.env.SDK_TEST_ENDPOINT || "http://127.0.0.1:9";
  AWS.config.update({ sso: { endpoint }, ssooidc: { endpoint }, sts: { endpoint } });
  return AWS;
}

function v2Get(creds) {
  return new Promise((resolve, reject) => {
    creds.get((err) => (err ? reject(err) : resolve(creds)));
  });
}

function v2Chain(config) {
  return new Promise((resolve, reject) => {
    config.getCredentials((err, creds) => (err ? reject(err) : resolve(creds)));
  });
}

async function v2(mode, profile, n) {
  if (mode === "bench") throw new Error("sdk.js: bench is for v3 only (v2 reads AWS_PROFILE once)");
  const AWS = v2Load(mode, profile);
  const make = {
    ini: () => new AWS.SharedIniFileCredentials({ profile }),
    process: () => new AWS.ProcessCredentials({ profile }),
    sso: () => new AWS.SsoCredentials({ profile }),
  };
  if (mode === "time") {
    const ms = [];
    for (let i = 0; i < n; i++) {
      const started = process.hrtime.bigint();
      AWS.util.iniLoader.clearCachedFiles();
      describe(null, await v2Chain(new AWS.Config()));
      ms.push(elapsed(started));
    }
    return { ok: true, ms };
  }
  if (mode === "watch") return watch(() => v2Chain(AWS.config), (creds) => creds.constructor.name, n);
  const creds = mode === "chain" || mode === "container" ? await v2Chain(AWS.config) : await v2Get(make[mode]());
  return describe(creds.constructor.name, creds);
}

async function main(argv) {
  const [sdk, mode, profile, count] = argv;
  if (!["v3", "v2"].includes(sdk) || !MODES.includes(mode) || !profile || argv.length > 4) {
    return { ok: false, error: USAGE, name: "UsageError" };
  }
  let n = mode === "watch" ? 60 : 10;
  if (count !== undefined) {
    n = Number(count);
    if (!Number.isInteger(n) || n < 1) return { ok: false, error: USAGE, name: "UsageError" };
  }
  return sdk === "v3" ? v3(mode, profile, n) : v2(mode, profile, n);
}

main(process.argv.slice(2)).then(emit, (err) => emit(failure(err)));
