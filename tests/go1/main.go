// A consumer for the SDK matrix in test_script.py: the AWS SDK for Go v1 as
// Debian packages it (golang-github-aws-aws-sdk-go-dev), built in GOPATH mode.
//
//	go1 chain PROFILE       credentials from a session for PROFILE, shared config enabled
//	go1 sso PROFILE         the same (its own SSO support is in that chain)
//	go1 process -           processcreds.NewCredentialsTimeout($SDK_TEST_PROCESS_COMMAND,
//	                        $SDK_TEST_PROCESS_TIMEOUT seconds): the provider the session
//	                        builds for credential_process, with its 60 s limit shortened
//	go1 time PROFILE [N]    N resolutions through "chain", each with a fresh session
//
// $SDK_TEST_ENDPOINT, if set, is the endpoint of every client the session makes
// (so the SSO portal client too): v1 reads no AWS_ENDPOINT_URL_* variables.
// One JSON line on stdout, exit 0, whatever happened.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
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

func sessionCredentials(profile string) *credentials.Credentials {
	cfg := aws.Config{}
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

func report(creds *credentials.Credentials) {
	value, err := creds.Get()
	if err != nil {
		fail(err)
	}
	var expiration interface{}
	if at, err := creds.ExpiresAt(); err == nil {
		expiration = at.UTC().Format(time.RFC3339)
	}
	emit(map[string]interface{}{"ok": true, "provider": value.ProviderName, "accessKeyId": value.AccessKeyID,
		"secretAccessKey": value.SecretAccessKey, "sessionToken": value.SessionToken,
		"expiration": expiration, "accountId": nil})
}

func main() {
	mode, profile := os.Args[1], os.Args[2]
	switch mode {
	case "chain", "sso": // the session reads SSO profiles itself (legacy ones: this version predates sso-session)
		report(sessionCredentials(profile))
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
