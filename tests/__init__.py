"""What test_script.py's tests stand on: the stand-in SSO service
(standin), the temporary HOME and in-process runs, with the config fixtures
and file helpers (sandbox), the unit tests' corpora, tables and builders
(fixtures), the harnesses of the real-process tests and the programs they
run (processes), the credentials endpoint's clients and harnesses
(endpoint), the fuzz harness and its strategies (fuzz), the person at the
browser (browser, which also runs stand-alone as the fake BROWSER), the
real SDKs as consumers (matrix), a network namespace for the endpoint's
relative form (netns), make demo and make bench (tools), and the parallel
runner with test_script.py's commands (runner). The tests themselves are
in test_script.py, the suite's entry point; the SDK drivers (sdk.js,
sdk.rb, go1/, go2/, and sdk.py for boto3 and the AWS CLI) live here too.
"""

import signal

# A suite started with Ctrl-C ignored (`&` from a script, some CI wrappers)
# would hand that to every process the tests start, and the tests of Ctrl-C
# could interrupt nothing. A handler set here is reset to the default by exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
