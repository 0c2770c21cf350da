"""make test's runner: the suite in parallel, in forked workers; and
test_script.py's command line (main).

run_suite takes the module that holds the TestCase classes (test_script.py
passes itself) and runs the methods of classes marked slow one by one and
first, the slowest (a higher ``slow``) earliest, then the other classes
whole; it prints failures in full and skips with their reasons.
"""

import functools
import io
import sys
import time
import unittest


def _run_tests(module, name):
    """Run a test class or method of the module (by its name in sys.modules)
    in this (forked) worker; (name, counts, report, skip reasons)."""
    stream = io.StringIO()
    suite = unittest.defaultTestLoader.loadTestsFromName(name, sys.modules[module])
    result = unittest.TextTestRunner(stream=stream, verbosity=0).run(suite)
    counts = (result.testsRun, len(result.failures) + len(result.errors), len(result.skipped))
    skipped = sorted({reason for _, reason in result.skipped})
    return name, counts, stream.getvalue() if counts[1] else "", skipped


def run_suite(module, jobs, names=()):
    """Every test in the module (or in the classes named), in `jobs` forked
    workers (most of the suite waits on sockets, processes and timeouts, so
    more workers than cores pay off): the methods of slow classes one by one
    and first, then whole classes. Prints failures in full and skips with
    their reasons; returns the exit code."""
    import multiprocessing
    loader = unittest.defaultTestLoader
    classes = [obj for obj in vars(module).values() if isinstance(obj, type) and issubclass(obj, unittest.TestCase)
               and obj.__name__.startswith("Test") and loader.getTestCaseNames(obj)
               and (not names or obj.__name__ in names)]
    slow = sorted((c for c in classes if getattr(c, "slow", 0)), key=lambda c: -c.slow)
    tasks = ["%s.%s" % (c.__name__, m) for c in slow for m in loader.getTestCaseNames(c)]
    tasks += [c.__name__ for c in classes if not getattr(c, "slow", 0)]
    started = time.monotonic()
    ran = failed = skipped = 0
    reasons = set()
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        run = functools.partial(_run_tests, module.__name__)
        for name, (n, bad, skip), report, why in pool.imap_unordered(run, tasks):
            ran, failed, skipped = ran + n, failed + bad, skipped + skip
            reasons.update(why)
            sys.stdout.write("F" if bad else "s" if skip else ".")
            sys.stdout.flush()
            if report:
                print("\n=== %s\n%s" % (name, report))
    print("\nRan %d tests in %d classes in %.1fs with %d workers: %s" % (
        ran, len(classes), time.monotonic() - started, jobs,
        "%d FAILED" % failed if failed else "OK" + (" (%d skipped)" % skipped if skipped else "")))
    for reason in sorted(reasons):
        print("skipped: %s" % reason)
    return 1 if failed or not ran else 0


def main(module, argv):
    """test_script.py's commands (argv without the program): suite [JOBS
    [CLASS...]] (make test), sdk-boto3 and sdk-awscli MODE PROFILE (the
    drivers' protocol), sdk-table and sdk-readme (make sdk-test, make
    sdk-readme), sdk-bench [--readme], demo, bench, fake-browser URL; with
    none of these, unittest's own command line. Exits."""
    from .browser import fake_browser
    from .matrix import sdk_awscli, sdk_bench, sdk_boto3, sdk_table
    from .tools import bench, demo
    if argv[:1] == ["fake-browser"]:
        sys.exit(fake_browser(argv[1]))
    if argv[:1] == ["demo"]:
        sys.exit(demo())
    if argv[:1] == ["bench"]:
        sys.exit(bench())
    if argv[:1] == ["suite"]:
        sys.exit(run_suite(module, int(argv[1]) if argv[1:] else 8, argv[2:]))
    if argv[:1] == ["sdk-boto3"]:
        sys.exit(sdk_boto3(*argv[1:3]))
    if argv[:1] == ["sdk-awscli"]:
        sys.exit(sdk_awscli(*argv[1:3]))
    if argv[:1] == ["sdk-bench"]:
        sys.exit(sdk_bench(update="--readme" in argv))
    if argv[:1] in (["sdk-table"], ["sdk-readme"]):
        sys.exit(sdk_table(update=argv[0] == "sdk-readme"))
    unittest.main(module=module)
