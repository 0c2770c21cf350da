// A consumer for the SDK matrix in test_script.py: the AWS SDK for Go v2 as
// Debian packages it (golang-github-aws-aws-sdk-go-v2-dev), built in GOPATH mode.
//
//	go2 chain PROFILE       config.LoadDefaultConfig with the shared config profile
//	go2 sso PROFILE         the same (its own SSO support is in that chain)
//	go2 process PROFILE     the same, with processcreds' 60 s timeout shortened to
//	                        $SDK_TEST_PROCESS_TIMEOUT seconds (WithProcessCredentialOptions)
//	go2 time PROFILE [N]    N resolutions through "chain", each with a fresh config
//
// $SDK_TEST_ENDPOINT, if set, is every client's endpoint (so the SSO portal
// client's too): this version reads no AWS_ENDPOINT_URL_* variables.
// One JSON line on stdout, exit 0, whatever happened.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
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

func load(profile string) aws.Config {
	options := []func(*config.LoadOptions) error{config.WithSharedConfigProfile(profile)}
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

func main() {
	mode, profile := os.Args[1], os.Args[2]
	switch mode {
	case "chain", "process", "sso": // its own SSO support is in the chain
		creds, err := load(profile).Credentials.Retrieve(context.Background())
		if err != nil {
			fail(err)
		}
		var expiration interface{}
		if creds.CanExpire {
			expiration = creds.Expires.UTC().Format(time.RFC3339)
		}
		emit(map[string]interface{}{"ok": true, "provider": creds.Source, "accessKeyId": creds.AccessKeyID,
			"secretAccessKey": creds.SecretAccessKey, "sessionToken": creds.SessionToken,
			"expiration": expiration, "accountId": nil})
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
