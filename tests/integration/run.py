"""Runs the integration tests: starts the test environment (slapd and the
test PKI) and the smimegw daemon, runs every tests/integration/test_*.py,
stops what it started and writes "PASSED FAILED" to the --result file."""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import harness  # noqa: E402


def leftover_processes(workdir):
    """Return (pid, command line) of processes whose command line names
    workdir: anything the test environment started and did not stop."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if workdir in cmdline:
            found.append((int(entry), cmdline))
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--result", required=True, help="file that receives 'PASSED FAILED'")
    parser.add_argument("--keep", action="store_true", help="keep the test folder")
    parser.add_argument("pattern", nargs="?", default="test_*.py")
    args = parser.parse_args()

    binary = os.environ.get("SMIMEGW_BIN", os.path.join(TOP, "build", "smimegw"))
    workdir = tempfile.mkdtemp(prefix="smimegw-it-")
    testenv = os.path.join(TOP, "scripts", "testenv")
    passed = failed = 0
    daemon = None
    try:
        subprocess.run([testenv, "start", workdir], check=True)
        env_path = os.path.join(workdir, "testenv.env")
        harness.ENV.update(harness.load_env(env_path))
        os.environ["TESTENV_ENV"] = env_path
        harness.ENV["SMIMEGW_BIN"] = binary
        harness.ENV["WORKDIR"] = workdir
        daemon = harness.Daemon(binary, harness.ENV["SMIMEGW_CONFIG"],
                                harness.ENV["SMIMEGW_URL"],
                                os.path.join(workdir, "smimegw.stdout"))
        daemon.start()
        harness.DAEMON = daemon

        suite = unittest.defaultTestLoader.discover(HERE, pattern=args.pattern, top_level_dir=HERE)
        # The log scan goes last so that it reads the logs of every test.
        import test_hardening
        suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(
            test_hardening.SecretsInLogsTest))
        result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
        failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
        passed = result.testsRun - failed - len(result.skipped)
        if result.skipped:
            print(f"integration: {len(result.skipped)} skipped, counted as neither passed nor failed")
    except Exception as err:  # the environment itself failed: count it
        print(f"integration: setting up the test environment failed: {err}")
        failed += 1
    finally:
        if daemon is not None:
            try:
                daemon.stop()
            except RuntimeError as err:
                print(f"integration: {err}")
                failed += 1
        subprocess.run([testenv, "stop", workdir], check=False)
        for pid, cmdline in leftover_processes(workdir):
            print(f"integration: process {pid} was left running: {cmdline}")
            failed += 1
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        log = os.path.join(workdir, "smimegw.log")
        if failed and os.path.exists(log):
            print("---- last lines of smimegw.log ----")
            with open(log, errors="replace") as f:
                print("".join(f.readlines()[-40:]))
        if args.keep or failed:
            print(f"integration: test folder kept at {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"integration: {passed} passed, {failed} failed")
    with open(args.result, "w") as f:
        f.write(f"{passed} {failed}\n")


if __name__ == "__main__":
    main()
