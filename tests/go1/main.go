// A consumer for the SDK matrix in test_script.py: the AWS SDK for Go v1 as
// Debian packages it (golang-github-aws-aws-sdk-go-dev), built in GOPATH mode.
//
//	go1 chain PROFILE       credentials from a session for PROFILE, shared config enabled
//	go1 sso PROFILE         the same (its own SSO support is in that chain)
//	go1 process -           processcreds.NewCredentialsTimeout($SDK_TEST_PROCESS_COMMAND,
//	                        $SDK_TEST_PROCESS_TIMEOUT seconds): the provider the session
//	                        builds for credential_process, with its 60 s limit shortened
//	go1 time PROFILE [N]    N resolutions through "chain", each with a fresh session
//	go1 container -         "chain" with no profile, as under --exec: the container
//	                        provider (CredentialsEndpointProvider) answers
//	go1 watch - [SECONDS]   "container", then the session's Credentials asked again
//	                        every half second (Get, as signing a request does; the SDK
//	                        refreshes when it decides to) until the access key
//	                        changes or SECONDS (default 60) pass: the first answer
//	                        plus "renewed", "changedAt" (epoch seconds), "asks"
//
// PROFILE - is no profile. $SDK_TEST_ENDPOINT, if set, is the endpoint of every
// client the session makes (so the SSO portal client too): v1 reads no
// AWS_ENDPOINT_URL_* variables. Every connection but to loopback is refused
// before it is made (169.254.170.2 only in a network namespace whose one
// interface is lo, as tests/netns.py makes). One JSON line on stdout, exit 0, whatever happened.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/credentials/processcreds"
	"github.com/aws/aws-sdk-go/aws/session"
)

func emit(v map[string]interface{}) {
	out, _ := json.Marshal(v)
	fmt.Println(string(out))
	os.Exit(0)
}

func fail(err error) {
	emit(map[string]interface{}{"ok": false, "error": err.Error(), "name": fmt.Sprintf("%T", err)})
}

// loopbackAlone tells whether this process's network namespace has no
// interface but lo (as the one tests/netns.py makes, 169.254.170.2 on its
// loopback): nothing sent from it can leave.
func loopbackAlone() bool {
	dev, err := os.ReadFile("/proc/self/net/dev")
	if err != nil {
		return false
	}
	names := []string{}
	for _, line := range strings.Split(string(dev), "\n")[2:] {
		if name := strings.TrimSpace(strings.SplitN(line, ":", 2)[0]); name != "" {
			names = append(names, name)
		}
	}
	return len(names) == 1 && names[0] == "lo"
}

// loopbackOnly is an HTTP client that refuses every connection but to loopback
// (and to 169.254.170.2 in a network namespace with no interface but lo).
func loopbackOnly() *http.Client {
	ecs := loopbackAlone()
	dialer := &net.Dialer{Timeout: 30 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, _ := net.SplitHostPort(address)
		if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || (ecs && host == "169.254.170.2")) {
			return nil
		}
		return fmt.Errorf("go1: refused a connection to %s (loopback only)", address)
	}}
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, DialContext: dialer.DialContext}}
}

func sessionCredentials(profile string) *credentials.Credentials {
	if profile == "-" {
		profile = ""
	}
	cfg := aws.Config{HTTPClient: loopbackOnly()}
	if endpoint := os.Getenv("SDK_TEST_ENDPOINT"); endpoint != "" {
		cfg.Endpoint = aws.String(endpoint)
	}
	sess, err := session.NewSessionWithOptions(session.Options{
		Profile: profile, SharedConfigState: session.SharedConfigEnable, Config: cfg})
	if err != nil {
		fail(err)
	}
	return sess.Config.Credentials
}

func describe(creds *credentials.Credentials) map[string]interface{} {
	value, err := creds.Get()
	if err != nil {
		fail(err)
	}
	var expiration interface{}
	if at, err := creds.ExpiresAt(); err == nil {
		expiration = at.UTC().Format(time.RFC3339)
	}
	return map[string]interface{}{"ok": true, "provider": value.ProviderName, "accessKeyId": value.AccessKeyID,
		"secretAccessKey": value.SecretAccessKey, "sessionToken": value.SessionToken,
		"expiration": expiration, "accountId": nil}
}

func report(creds *credentials.Credentials) {
	emit(describe(creds))
}

func watch(creds *credentials.Credentials, seconds float64) {
	answer := describe(creds)
	answer["renewed"], answer["changedAt"], answer["asks"] = nil, nil, 1
	deadline := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	for asks := 2; time.Now().Before(deadline); asks++ {
		time.Sleep(500 * time.Millisecond)
		answer["asks"] = asks
		value, err := creds.Get()
		if err != nil {
			fail(err)
		}
		if value.AccessKeyID != answer["accessKeyId"] {
			answer["changedAt"] = float64(time.Now().UnixNano()) / 1e9
			answer["renewed"] = describe(creds)
			break
		}
	}
	emit(answer)
}

func main() {
	mode, profile := os.Args[1], os.Args[2]
	switch mode {
	case "chain", "sso": // the session reads SSO profiles itself (legacy ones: this version predates sso-session)
		report(sessionCredentials(profile))
	case "container":
		report(sessionCredentials("-"))
	case "watch":
		seconds := 60.0
		if len(os.Args) > 3 {
			seconds, _ = strconv.ParseFloat(os.Args[3], 64)
		}
		watch(sessionCredentials("-"), seconds)
	case "process":
		seconds, _ := strconv.ParseFloat(os.Getenv("SDK_TEST_PROCESS_TIMEOUT"), 64)
		report(processcreds.NewCredentialsTimeout(os.Getenv("SDK_TEST_PROCESS_COMMAND"),
			time.Duration(seconds*float64(time.Second))))
	case "time":
		n := 10
		if len(os.Args) > 3 {
			n, _ = strconv.Atoi(os.Args[3])
		}
		ms := []float64{}
		for i := 0; i < n; i++ {
			started := time.Now()
			if _, err := sessionCredentials(profile).Get(); err != nil {
				fail(err)
			}
			ms = append(ms, float64(time.Since(started).Microseconds())/1000)
		}
		emit(map[string]interface{}{"ok": true, "ms": ms})
	default:
		fail(fmt.Errorf("unknown mode %q", mode))
	}
}
