"""Hardening tests. They send the bad-input corpus of tests/data/bad and
check the limits of the session object. They inject faults: a stopped
directory, a full or read-only store and SIGTERM under load. They create
messages concurrently for several accounts, and check the security
properties: authentication everywhere, failed-login limits, account
isolation, key file modes and logs free of secrets."""

import base64
import copy
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid

import harness
from harness import ENV, JMAP_USING, Client
from verifiers import Verifiers, content_type, split_message

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS_DIR = os.path.join(os.path.dirname(HERE), "data", "bad")
PROBLEM_PREFIX = "urn:ietf:params:jmap:error:"
# Users of the test environment that have a signing key in the keystore.
SIGNERS = ("ALICE", "BOB", "CAROL")

VERIFIERS = None


def setUpModule():
    global VERIFIERS
    VERIFIERS = Verifiers(ENV, tempfile.mkdtemp(prefix="verifiers-", dir=ENV["WORKDIR"]))


def tearDownModule():
    VERIFIERS.close()


def client_for(name, url=None):
    return Client(url or ENV["SMIMEGW_URL"], ENV[f"{name}_EMAIL"], ENV[f"{name}_PASSWORD"])


def service_client(url=None):
    return Client(url or ENV["SMIMEGW_URL"], token=ENV["SERVICE_TOKEN"])


def address(name):
    return {"name": name.capitalize(), "email": ENV[f"{name}_EMAIL"]}


def base_create(sender="ALICE", to=("BOB",), subject="Hardening", body="Hardening test\n"):
    return {
        "mailboxIds": {"drafts": True},
        "from": [address(sender)],
        "to": [address(name) for name in to],
        "subject": subject,
        "textBody": [{"partId": "t", "type": "text/plain"}],
        "bodyValues": {"t": {"value": body}},
    }


def health(url=None):
    """Return the HTTP status of GET /health, or None when no response came."""
    try:
        with urllib.request.urlopen((url or ENV["SMIMEGW_URL"]) + "/health", timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, ConnectionError, socket.timeout):
        return None


def signer_emails(signed_message):
    """Return the addresses of the certificate that signed signed_message
    (a multipart/signed or opaque signed message), read with openssl."""
    scratch = tempfile.mkdtemp(prefix="signer-", dir=ENV["WORKDIR"])
    try:
        source = os.path.join(scratch, "message.eml")
        signer = os.path.join(scratch, "signer.pem")
        with open(source, "wb") as f:
            f.write(signed_message)
        subprocess.run(["openssl", "cms", "-verify", "-noverify", "-inform", "SMIME",
                        "-in", source, "-signer", signer, "-out", os.devnull],
                       check=True, capture_output=True)
        out = subprocess.run(["openssl", "x509", "-in", signer, "-noout", "-email"],
                             check=True, capture_output=True, text=True).stdout
        return {line.strip().lower() for line in out.splitlines() if line.strip()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def wait_for(predicate, timeout, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def quick_request(port, method, path, body=None, authorization=None, timeout=1.0,
                  source="127.0.0.1"):
    """Send one request to 127.0.0.1:port from the address source and return
    a harness.Response, or None when no response came within timeout
    seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if authorization is not None:
            headers["Authorization"] = authorization
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return harness.Response(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                                resp.read())
    except (socket.timeout, ConnectionError):
        return None
    finally:
        conn.close()


class DerivedDaemon:
    """A second smimegw on the test environment, with changed options and
    its own port, store and log, started and stopped by the tests.

    The configuration is written beside the environment's own, so that its
    relative paths (keystore, trust anchors, token file) keep working.
    wrapper is a command that runs the daemon's command line given as
    "$@", e.g. to run it in a private mount namespace."""

    def __init__(self, name, change=None, wrapper=None):
        self.name = name
        top = os.path.dirname(ENV["SMIMEGW_CONFIG"])
        self.relative_dir = os.path.join("hardening", name)
        self.dir = os.path.join(top, self.relative_dir)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir, mode=0o700)
        with open(ENV["SMIMEGW_CONFIG"]) as f:
            self.config = json.load(f)
        self.port = harness.free_port()
        self.config["listen"]["port"] = self.port
        self.config["store"]["path"] = os.path.join(self.relative_dir, "store")
        self.config["logFile"] = os.path.join(self.relative_dir, "smimegw.log")
        if change is not None:
            change(self.config)
        self.config_path = os.path.join(top, f"hardening-{name}.json")
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=1)
        self.url = f"http://127.0.0.1:{self.port}"
        self.store = os.path.join(self.dir, "store")
        self.log = os.path.join(self.dir, "smimegw.log")
        self.output = os.path.join(self.dir, "smimegw.stdout")
        self.wrapper = wrapper or []
        self.proc = None

    def command(self):
        return self.wrapper + [ENV["SMIMEGW_BIN"], "serve", "--config", self.config_path]

    def start(self, expect_failure=False):
        with open(self.output, "ab") as out:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=out)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                if expect_failure:
                    return self.proc.returncode
                raise AssertionError(f"smimegw {self.name} exited with status "
                                     f"{self.proc.returncode}: {self.read_output()}")
            if health(self.url) == 200:
                if expect_failure:
                    self.stop()
                    raise AssertionError(f"smimegw {self.name} started although it should not")
                return 0
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"smimegw {self.name} did not answer /health within 20 seconds")

    def stop(self, timeout=30):
        """Send SIGTERM and return the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"smimegw {self.name} did not stop within {timeout} s of SIGTERM")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def read_output(self):
        text = ""
        for path in (self.output, self.log):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text += f.read()
        return text


class Blackhole:
    """A TCP server on 127.0.0.1 that accepts connections and never sends a
    byte, like a directory server that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.connections:
            conn.close()


# -- the bad-input corpus ---------------------------------------------------


class CorpusContext:
    """Values that corpus cases refer to as ${NAME}: the account ids of
    ALICE (who sends the cases) and BOB, a blob of each, and the test
    environment's variables."""

    def __init__(self):
        self.alice = client_for("ALICE")
        self.bob = client_for("BOB")
        self.values = dict(ENV)
        self.values["ACCOUNT"] = self.alice.account_id
        self.values["OTHER_ACCOUNT"] = self.bob.account_id
        self.values["OWN_BLOB"] = self.alice.upload(b"alice's blob", "text/plain")["blobId"]
        self.values["OTHER_BLOB"] = self.bob.upload(b"bob's private blob", "text/plain")["blobId"]

    def text(self, value, index=None):
        if index is not None:
            value = value.replace("{i}", str(index))
        return re.sub(r"\$\{([A-Z_]+)\}", lambda m: self.values[m.group(1)], value)

    def expand(self, value, index=None):
        """Expand the generators of tests/data/bad/README.md in value."""
        if isinstance(value, str):
            return self.text(value, index)
        if isinstance(value, list):
            return [self.expand(item, index) for item in value]
        if not isinstance(value, dict):
            return value
        if "$create" in value:
            create = base_create()
            create.update(self.expand(value["$create"], index))
            for prop in value.get("$without", []):
                create.pop(prop, None)
            return create
        if "$repeat" in value:
            return [self.expand(value["$repeat"], i) for i in range(value["count"])]
        if "$object" in value:
            (key, template), = value["$object"].items()
            return {self.text(key, i): self.expand(template, i) for i in range(value["count"])}
        if "$text" in value:
            return value.get("prefix", "") + value["$text"] * value["count"]
        if "$nest" in value:
            spec = value["$nest"]
            node = self.expand(spec["leaf"], index)
            for _ in range(spec["depth"]):
                parent = self.expand(spec["node"], index)
                parent[spec["key"]] = [node]
                node = parent
            return node
        return {self.text(k, index): self.expand(v, index) for k, v in value.items()}

    def send(self, case):
        """Send the case's request and return the Response."""
        if "http" in case:
            spec = case["http"]
            body = spec.get("body")
            return self.alice.request(spec["method"], self.text(spec["path"]),
                                      body.encode() if body is not None else None,
                                      spec.get("contentType"))
        if "raw" in case:
            body = case["raw"].encode()
        elif "rawBase64" in case:
            body = base64.b64decode(case["rawBase64"])
        elif "rawRepeat" in case:
            spec = case["rawRepeat"]
            body = (spec["prefix"] * spec["count"] + spec["suffix"] * spec["count"]).encode()
        elif "request" in case:
            body = deep_dumps(self.expand(case["request"]))
        else:
            request = {"using": case.get("using", JMAP_USING),
                       "methodCalls": self.expand(case["calls"])}
            body = deep_dumps(request)
        return self.alice.request("POST", "/jmap/api", body, "application/json")


def deep_dumps(value):
    """Serialize value, which may nest deeper than Python's default
    recursion limit allows json to encode."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20000))
    try:
        return json.dumps(value).encode()
    finally:
        sys.setrecursionlimit(limit)


def error_text(obj):
    """Return the parts of an error object that name values: description or
    detail, properties, notFound and limit."""
    parts = [obj.get("description") or "", obj.get("detail") or "", obj.get("limit") or ""]
    for key in ("properties", "notFound"):
        parts.extend(str(item) for item in obj.get(key) or [])
    return "\n".join(parts)


class BadInputCorpusTest(unittest.TestCase):
    """One test per file of tests/data/bad: the request gets the expected
    HTTP status and JMAP error, the error names the offending value, and
    GET /health still returns 200 afterwards."""

    context = None

    @classmethod
    def setUpClass(cls):
        cls.context = CorpusContext()

    def check_mentions(self, case, text):
        for mention in case["expect"].get("mentions", []):
            mention = self.context.text(mention)
            self.assertIn(mention, text, f"the error does not name {mention!r}")

    def check_problem(self, expect, resp):
        self.assertEqual(resp.headers.get("content-type"), "application/problem+json")
        problem = resp.json()
        self.assertEqual(problem["type"], PROBLEM_PREFIX + expect["problem"], problem)
        self.assertEqual(problem["status"], resp.status)
        if "limit" in expect:
            self.assertEqual(problem.get("limit"), expect["limit"])
        return error_text(problem)

    def check_response(self, expect, resp):
        responses = resp.json()["methodResponses"]
        if "methodError" in expect:
            name, args, _ = responses[expect.get("call", 0)]
            self.assertEqual(name, "error", args)
            self.assertEqual(args["type"], expect["methodError"], args)
            return error_text(args)
        name, args, _ = responses[0]
        self.assertNotEqual(name, "error", args)
        texts = []
        for creation_id, error_type in expect.get("setError", {}).items():
            self.assertNotIn(creation_id, args.get("created") or {})
            error = (args.get("notCreated") or {}).get(creation_id)
            self.assertIsNotNone(error, f"{creation_id} was not rejected: {args}")
            self.assertEqual(error["type"], error_type, error)
            texts.append(error_text(error))
        for creation_id in expect.get("created", []):
            self.assertIn(creation_id, args.get("created") or {}, args.get("notCreated"))
        for item in expect.get("notFound", []):
            self.assertIn(item, args.get("notFound") or [], args)
            texts.append(item)
        return "\n".join(texts)

    def run_case(self, path):
        with open(path) as f:
            case = json.load(f)
        expect = case["expect"]
        resp = self.context.send(case)
        self.assertEqual(resp.status, expect.get("status", 200), resp.body[:2000])
        if "problem" in expect:
            text = self.check_problem(expect, resp)
        elif any(key in expect for key in ("methodError", "setError", "created", "notFound")):
            text = self.check_response(expect, resp)
        else:
            text = resp.body.decode("utf-8", "replace")
        self.check_mentions(case, text)
        self.assertEqual(health(), 200, "the daemon stopped answering /health")
        self.assertIsNone(harness.DAEMON.proc.poll(), "the daemon exited")


def _add_corpus_tests():
    for path in sorted(glob.glob(os.path.join(CORPUS_DIR, "*.json"))):
        name = os.path.splitext(os.path.basename(path))[0].replace("-", "_")

        def test(self, path=path):
            self.run_case(path)
        test.__doc__ = f"tests/data/bad/{os.path.basename(path)}"
        setattr(BadInputCorpusTest, f"test_{name}", test)


_add_corpus_tests()


# -- limits -------------------------------------------------------------------


class LimitTest(unittest.TestCase):
    """The limits of the core capability and the header limits, over HTTP."""

    def setUp(self):
        self.client = client_for("ALICE")
        self.core = self.client.session()["capabilities"]["urn:ietf:params:jmap:core"]

    def assert_limit_problem(self, resp, status, limit):
        self.assertEqual(resp.status, status, resp.body[:500])
        problem = resp.json()
        self.assertEqual(problem["type"], PROBLEM_PREFIX + "limit")
        self.assertEqual(problem["limit"], limit)
        self.assertEqual(health(), 200)

    def test_request_over_max_size_is_413(self):
        size = self.core["maxSizeRequest"] + 1
        body = b'{"using":[],"methodCalls":[]}'
        resp = self.client.request("POST", "/jmap/api", body + b" " * (size - len(body)),
                                   "application/json")
        self.assert_limit_problem(resp, 413, "maxSizeRequest")

    def test_request_at_max_size_is_processed(self):
        size = self.core["maxSizeRequest"]
        body = b'{"using":["urn:ietf:params:jmap:core"],"methodCalls":[]}'
        resp = self.client.request("POST", "/jmap/api", body + b" " * (size - len(body)),
                                   "application/json")
        self.assertEqual(resp.status, 200, resp.body[:500])

    def test_upload_over_max_size_is_413(self):
        size = self.core["maxSizeUpload"] + 1
        resp = self.client.request("POST", f"/jmap/upload/{self.client.account_id}/",
                                   b"u" * size, "application/octet-stream")
        self.assert_limit_problem(resp, 413, "maxSizeUpload")

    def test_calls_at_max_are_processed(self):
        count = self.core["maxCallsInRequest"]
        responses = self.client.api([["Core/echo", {"n": i}, f"c{i}"] for i in range(count)])
        self.assertEqual(len(responses), count)

    def test_calls_over_max_are_limit(self):
        count = self.core["maxCallsInRequest"] + 1
        resp = self.client.api_raw({"using": JMAP_USING, "methodCalls":
                                    [["Core/echo", {}, f"c{i}"] for i in range(count)]})
        self.assert_limit_problem(resp, 400, "maxCallsInRequest")

    def test_objects_in_set_at_max_are_processed(self):
        count = self.core["maxObjectsInSet"]
        result = self.client.email_set({f"c{i}": base_create(subject=f"limit {i}")
                                        for i in range(count)})
        self.assertEqual(len(result["created"]), count, result.get("notCreated"))

    def test_objects_in_set_over_max_rejected(self):
        count = self.core["maxObjectsInSet"] + 1
        args = {"accountId": self.client.account_id,
                "create": {f"c{i}": base_create() for i in range(count)}}
        name, error, _ = self.client.api([["Email/set", args, "0"]])[0]
        self.assertEqual(name, "error")
        self.assertEqual(error["type"], "requestTooLarge")
        self.assertIn("maxObjectsInSet", error["description"])

    def test_too_many_header_fields_is_431(self):
        headers = {f"X-Field-{i}": "v" for i in range(150)}
        resp = self.client.request("GET", "/.well-known/jmap", headers=headers)
        self.assertEqual(resp.status, 431)
        self.assertEqual(health(), 200)

    def test_huge_header_field_is_431(self):
        resp = self.client.request("GET", "/.well-known/jmap", headers={"X-Huge": "h" * 100000})
        self.assertEqual(resp.status, 431)
        self.assertEqual(health(), 200)

    def test_announced_body_over_limit_is_413(self):
        """A Content-Length over the limit gets 413: the server discards the
        body from its first byte instead of buffering it."""
        conn = http.client.HTTPConnection("127.0.0.1", int(ENV["SMIMEGW_PORT"]), timeout=30)
        try:
            conn.putrequest("POST", "/jmap/api")
            conn.putheader("Authorization", self.client.authorization)
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(self.core["maxSizeRequest"] + 1))
            conn.endheaders()
            conn.send(b"{" * (self.core["maxSizeRequest"] + 1))
            resp = conn.getresponse()
            self.assertEqual(resp.status, 413)
            self.assertEqual(json.loads(resp.read())["limit"], "maxSizeRequest")
        finally:
            conn.close()


class ConcurrencyLimitTest(unittest.TestCase):
    """maxConcurrentRequests and maxConcurrentUpload on a daemon that allows
    one of each and whose directory accepts connections but never answers,
    so that a Basic login holds its slot until the directory timeout."""

    TIMEOUT = 3

    @classmethod
    def setUpClass(cls):
        cls.blackhole = Blackhole()

        def change(config):
            config["limits"] = {"maxConcurrentRequests": 1, "maxConcurrentUpload": 1}
            directory = config["directories"][0]
            directory["uris"] = [f"ldap://127.0.0.1:{cls.blackhole.port}/"]
            directory["timeoutSeconds"] = cls.TIMEOUT
        cls.daemon = DerivedDaemon("concurrency", change)
        cls.daemon.start()

    @classmethod
    def tearDownClass(cls):
        try:
            status = cls.daemon.stop()
        finally:
            cls.blackhole.close()
        if status != 0:
            raise AssertionError(f"smimegw exited with {status}: {cls.daemon.read_output()[-2000:]}")

    def start_stuck_request(self, method, path, body, results):
        """Starts a request with Basic credentials, which hangs in the
        directory, and stores its Response in results."""
        client = client_for("ALICE", self.daemon.url)

        def run():
            results.append(client.request(method, path, body, "application/json"))
        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def poll_for_429(self, client, method, path, body, thread):
        """Send requests until one gets 429 or the stuck request ends.

        libmicrohttpd may accept a connection on the worker thread that
        the stuck request blocks, and that connection then waits for it,
        so each attempt gives up after a second."""
        time.sleep(0.3)
        while thread.is_alive():
            resp = quick_request(self.daemon.port, method, path, body, client.authorization)
            if resp is not None and resp.status == 429:
                return resp
            time.sleep(0.05)
        return None

    def test_concurrent_requests_over_limit_are_429(self):
        service = service_client(self.daemon.url)
        account = service.account_id
        results = []
        started = time.time()
        thread = self.start_stuck_request("POST", "/jmap/api",
                                          b'{"using":[],"methodCalls":[]}', results)
        resp = self.poll_for_429(service, "POST", "/jmap/api", json.dumps(
            {"using": JMAP_USING, "methodCalls": [["Core/echo", {}, "0"]]}).encode(), thread)
        self.assertIsNotNone(resp, "no request got 429 while the only slot was taken")
        problem = resp.json()
        self.assertEqual(problem["type"], PROBLEM_PREFIX + "limit")
        self.assertEqual(problem["limit"], "maxConcurrentRequests")
        self.assertIn("retry-after", resp.headers)
        # Uploads have their own slots.
        upload = service.request("POST", f"/jmap/upload/{account}/", b"x", "text/plain")
        self.assertEqual(upload.status, 201, upload.body)
        thread.join()
        # The directory that never answers gives a retryable error within
        # its timeout, and the slot is free again.
        self.assertEqual(results[0].status, 503)
        self.assertEqual(results[0].json()["type"], PROBLEM_PREFIX + "serverUnavailable")
        self.assertLess(time.time() - started, self.TIMEOUT * 3 + 5)
        self.assertEqual(service.api([["Core/echo", {"a": 1}, "0"]])[0][1], {"a": 1})

    def test_concurrent_uploads_over_limit_are_429(self):
        service = service_client(self.daemon.url)
        account = service.account_id
        results = []
        thread = self.start_stuck_request("POST", f"/jmap/upload/{account}/", b"stuck", results)
        resp = self.poll_for_429(service, "POST", f"/jmap/upload/{account}/", b"second",
                                 thread)
        self.assertIsNotNone(resp, "no upload got 429 while the only slot was taken")
        self.assertEqual(resp.json()["limit"], "maxConcurrentUpload")
        thread.join()
        self.assertEqual(results[0].status, 503)
        upload = service.request("POST", f"/jmap/upload/{account}/", b"third", "text/plain")
        self.assertEqual(upload.status, 201, upload.body)
