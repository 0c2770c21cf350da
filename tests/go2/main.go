// A consumer for the SDK matrix in test_script.py: the AWS SDK for Go v2 as
// Debian packages it (golang-github-aws-aws-sdk-go-v2-dev), built in GOPATH mode.
//
//	go2 chain PROFILE       config.LoadDefaultConfig with the shared config profile
//	go2 sso PROFILE         the same (its own SSO support is in that chain)
//	go2 process PROFILE     the same, with processcreds' 60 s timeout shortened to
//	                        $SDK_TEST_PROCESS_TIMEOUT seconds (WithProcessCredentialOptions)
//	go2 time PROFILE [N]    N resolutions through "chain", each with a fresh config
//	go2 container -         "chain" with no profile, as under --exec: the container
//	                        provider (CredentialsEndpointProvider) answers
//	go2 watch - [SECONDS]   "container", then the config's Credentials (its
//	                        CredentialsCache) asked again every half second, as
//	                        signing a request does (the SDK refreshes when it
//	                        decides to), until the access key changes or SECONDS
//	                        (default 60) pass: the first answer plus "renewed",
//	                        "changedAt" (epoch seconds), "asks"
//
// PROFILE - is no profile. $SDK_TEST_ENDPOINT, if set, is every client's
// endpoint (so the SSO portal client's too): this version reads no
// AWS_ENDPOINT_URL_* variables. Every connection but to loopback is refused
// before it is made (169.254.170.2 only in a network namespace whose one
// interface is lo, as tests/netns.py makes). One JSON line on stdout, exit 0, whatever happened.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
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
func loopbackOnly() *awshttp.BuildableClient {
	ecs := loopbackAlone()
	return awshttp.NewBuildableClient().WithDialerOptions(func(d *net.Dialer) {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, _ := net.SplitHostPort(address)
			if ip := net.ParseIP(host); ip != nil && (ip.IsLoopback() || (ecs && host == "169.254.170.2")) {
				return nil
			}
			return fmt.Errorf("go2: refused a connection to %s (loopback only)", address)
		}
	})
}

func load(profile string) aws.Config {
	client := loopbackOnly()
	options := []func(*config.LoadOptions) error{config.WithHTTPClient(client),
		config.WithEndpointCredentialOptions(func(o *endpointcreds.Options) { o.HTTPClient = client })}
	if profile != "-" {
		options = append(options, config.WithSharedConfigProfile(profile))
	}
	if endpoint := os.Getenv("SDK_TEST_ENDPOINT"); endpoint != "" {
		options = append(options, config.WithEndpointResolverWithOptions(aws.EndpointResolverWithOptionsFunc(
			func(service, region string, _ ...interface{}) (aws.Endpoint, error) {
				return aws.Endpoint{URL: endpoint, SigningRegion: region}, nil
			})))
	}
	if seconds, err := strconv.ParseFloat(os.Getenv("SDK_TEST_PROCESS_TIMEOUT"), 64); err == nil {
		options = append(options, config.WithProcessCredentialOptions(func(o *processcreds.Options) {
			o.Timeout = time.Duration(seconds * float64(time.Second))
		}))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), options...)
	if err != nil {
		fail(err)
	}
	return cfg
}

func describe(provider aws.CredentialsProvider) map[string]interface{} {
	creds, err := provider.Retrieve(context.Background())
	if err != nil {
		fail(err)
	}
	var expiration interface{}
	if creds.CanExpire {
		expiration = creds.Expires.UTC().Format(time.RFC3339)
	}
	return map[string]interface{}{"ok": true, "provider": creds.Source, "accessKeyId": creds.AccessKeyID,
		"secretAccessKey": creds.SecretAccessKey, "sessionToken": creds.SessionToken,
		"expiration": expiration, "accountId": nil}
}

func watch(provider aws.CredentialsProvider, seconds float64) {
	answer := describe(provider)
	answer["renewed"], answer["changedAt"], answer["asks"] = nil, nil, 1
	deadline := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	for asks := 2; time.Now().Before(deadline); asks++ {
		time.Sleep(500 * time.Millisecond)
		answer["asks"] = asks
		if again := describe(provider); again["accessKeyId"] != answer["accessKeyId"] {
			answer["changedAt"] = float64(time.Now().UnixNano()) / 1e9
			answer["renewed"] = again
			break
		}
	}
	emit(answer)
}

func main() {
	mode, profile := os.Args[1], os.Args[2]
	switch mode {
	case "chain", "process", "sso": // its own SSO support is in the chain
		emit(describe(load(profile).Credentials))
	case "container":
		emit(describe(load("-").Credentials))
	case "watch":
		seconds := 60.0
		if len(os.Args) > 3 {
			seconds, _ = strconv.ParseFloat(os.Args[3], 64)
		}
		watch(load("-").Credentials, seconds)
	case "time":
		n := 10
		if len(os.Args) > 3 {
			n, _ = strconv.Atoi(os.Args[3])
		}
		ms := []float64{}
		for i := 0; i < n; i++ {
			started := time.Now()
			if _, err := load(profile).Credentials.Retrieve(context.Background()); err != nil {
				fail(err)
			}
			ms = append(ms, float64(time.Since(started).Microseconds())/1000)
		}
		emit(map[string]interface{}{"ok": true, "ms": ms})
	default:
		fail(fmt.Errorf("unknown mode %q", mode))
	}
}
