# frozen_string_literal: true

# Ruby SDK (aws-sdk-core 3.x) side of the SDK compatibility matrix.
#
#   ruby tests/sdk.rb <mode> <profile> [n | seconds]
#
#   profile  a profile name, or - for none (the default chain)
#   chain    what an application gets by default: a client constructed with
#            `profile:` (Aws::STS::Client.new(profile:, region:)), whose
#            credentials option is Aws::CredentialProviderChain.new(config).resolve.
#            Constructing the client also resolves its token_provider
#            (Aws::TokenProviderChain), as every client construction does.
#   process  Aws::ProcessCredentials.new(Aws.shared_config.credential_process(profile:))
#   sso      Aws.shared_config.sso_credentials_from_config(profile:), the SDK's
#            native SSO (Aws::SSOCredentials, with Aws::SSOTokenProvider for
#            sso-session profiles)
#   time     "chain" n times (default 10), a new client and provider each time
#   container "chain" with no profile, as under --exec: 3.168 has a container
#            provider (Aws::ECSCredentials) only for
#            AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, at 169.254.170.2:80
#   watch    "container", then the same provider asked again every half
#            second (#credentials, which refreshes when it decides to, as
#            signing a request does) until the access key changes or
#            `seconds` (default 60) pass
#
# One JSON line on stdout, exit code 0 whatever happened:
#   {"ok": true, "provider": ..., "accessKeyId": ..., "secretAccessKey": ...,
#    "sessionToken": ..., "expiration": ISO 8601 or null, "accountId": ... or null}
#   {"ok": false, "error": <message as the SDK raises it>, "name": <exception class>}
#   {"ok": true, "ms": [...]}                                  (time)
#   watch: the first answer plus "renewed" (the second credentials, or null),
#   "changedAt" (epoch seconds when the new key was first seen), "asks"
#
# Nothing reaches the real AWS: this SDK version ignores AWS_ENDPOINT_URL_SSO
# and AWS_ENDPOINT_URL_SSO_OIDC, so the SSO portal, SSO OIDC (and STS) clients
# are pointed at SDK_TEST_ENDPOINT in code, through Aws.config, in every mode
# (a closed loopback port when it is unset); the instance metadata service,
# last in the chain, is disabled; any other connection but to loopback is
# refused before it is made (169.254.170.2 only in a network namespace whose
# one interface is lo, as tests/netns.py makes).

require 'json'
require 'net/http'
require 'time'

OUT = $stdout.dup
$stdout.reopen($stderr) # anything else that writes to stdout lands on stderr

def emit(obj)
  OUT.write(JSON.generate(obj) + "\n")
  OUT.flush
  exit!(0) # no at_exit hooks, no waiting on the SDK's background refresh threads
end

# A failure of the driver itself (bad arguments, a profile without what the mode needs).
class DriverError < StandardError; end

# Whether this process's network namespace has no interface but lo (as the
# one tests/netns.py makes, 169.254.170.2 on its loopback): nothing sent from
# it can leave.
def loopback_alone?
  File.readlines('/proc/self/net/dev').drop(2).map { |line| line.split(':').first.strip }.reject(&:empty?) == ['lo']
rescue SystemCallError
  false
end

# Loopback only, for every Net::HTTP connection the SDK makes.
module LoopbackOnly
  ECS_ALLOWED = loopback_alone?

  def connect
    host = address.to_s.delete('[]')
    unless host == 'localhost' || host == '::1' || host.match?(/\A127\.\d+\.\d+\.\d+\z/) ||
           (ECS_ALLOWED && host == '169.254.170.2')
      warn "sdk.rb: refused a connection to #{host} (loopback only)"
      raise Errno::ECONNREFUSED, "sdk.rb: refused a connection to #{host} (loopback only)"
    end
    super
  end
end
Net::HTTP.prepend(LoopbackOnly)

def iso8601(value)
  time = case value
         when nil then return nil
         when Time then value
         when Integer then Time.at(Rational(value, 1000)) # the SSO API's epoch milliseconds, as SSOCredentials keeps them
         when Numeric then Time.at(value)
         else Time.parse(value.to_s)
         end
  time.utc.iso8601(time.subsec.zero? ? 0 : 3)
end

def describe(provider)
  raise Aws::Errors::MissingCredentialsError if provider.nil?

  creds = provider.credentials # refreshes first if near expiry, as signing does
  raise Aws::Errors::MissingCredentialsError unless creds&.set?

  # The expiry of these very credentials: #expiration would refresh (run the
  # process, call the portal) once more when they are within 5 minutes of it.
  expiration = provider.instance_variable_get(:@expiration)
  account = creds.respond_to?(:account_id) ? creds.account_id : nil
  { ok: true, provider: provider.class.name, accessKeyId: creds.access_key_id,
    secretAccessKey: creds.secret_access_key, sessionToken: creds.session_token,
    expiration: iso8601(expiration), accountId: account }
end

def chain_provider(profile)
  options = { region: 'us-east-1' }
  options[:profile] = profile unless profile.nil? || profile == '-'
  Aws::STS::Client.new(**options).config.credentials
end

def watch(provider, seconds)
  answer = describe(provider).merge(renewed: nil, changedAt: nil, asks: 1)
  deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
  while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
    sleep 0.5
    answer[:asks] += 1
    next if provider.credentials.access_key_id == answer[:accessKeyId]

    answer[:changedAt] = Time.now.to_f
    answer[:renewed] = describe(provider)
    break
  end
  answer
end

def process_provider(profile)
  line = Aws.shared_config.credential_process(profile: profile)
  raise DriverError, "profile #{profile} has no credential_process" unless line

  Aws::ProcessCredentials.new(line)
end

def sso_provider(profile)
  provider = Aws.shared_config.sso_credentials_from_config(profile: profile)
  raise DriverError, "profile #{profile} has no sso_account_id/sso_role_name" unless provider

  provider
end

def time_chain(profile, n)
  (1..n).map do
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    provider = chain_provider(profile)
    creds = provider&.credentials
    raise Aws::Errors::MissingCredentialsError unless creds&.set?

    ((Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1000).round(3)
  end
end

begin
  mode, profile, count = ARGV
  raise DriverError, 'usage: ruby tests/sdk.rb chain|process|sso|time|container|watch <profile>|- [n|seconds]' unless profile

  ENV['AWS_EC2_METADATA_DISABLED'] = 'true'
  require 'aws-sdk-core'
  endpoint = ENV['SDK_TEST_ENDPOINT'] || 'http://127.0.0.1:9'
  Aws.config[:sso] = { endpoint: endpoint }
  Aws.config[:ssooidc] = { endpoint: endpoint }
  Aws.config[:sts] = { endpoint: endpoint }

  case mode
  when 'chain' then emit(describe(chain_provider(profile)))
  when 'process' then emit(describe(process_provider(profile)))
  when 'sso' then emit(describe(sso_provider(profile)))
  when 'container' then emit(describe(chain_provider(nil)))
  when 'watch' then emit(watch(chain_provider(nil), Float(count || 60)))
  when 'time'
    n = Integer(count || 10)
    raise DriverError, 'n must be positive' unless n.positive?

    emit(ok: true, ms: time_chain(profile, n))
  else raise DriverError, "unknown mode #{mode.inspect}"
  end
rescue Exception => e # rubocop:disable Lint/RescueException
  emit(ok: false, error: e.message.to_s.dup.force_encoding(Encoding::UTF_8).scrub, name: e.class.name)
end
