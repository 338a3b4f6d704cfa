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

    def stop_expecting_success(self):
        """Stop with SIGTERM and raise AssertionError, with the end of the
        daemon's output, unless it exits with 0."""
        status = self.stop()
        if status != 0:
            raise AssertionError(f"smimegw exited with {status}: {self.read_output()[-2000:]}")

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
    one of each and whose directory accepts connections but never responds,
    so that a Basic login keeps its slot until the directory timeout."""

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
            cls.daemon.stop_expecting_success()
        finally:
            cls.blackhole.close()

    def start_stuck_request(self, method, path, body, results):
        """Start a request with Basic credentials, which hangs in the
        directory, and append its Response to results."""
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
        # The directory that never responds gives a retryable error within
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


# -- security -----------------------------------------------------------------


class AuthenticationTest(unittest.TestCase):
    """Every endpoint but GET /health needs credentials."""

    ENDPOINTS = [
        ("GET", "/.well-known/jmap"),
        ("POST", "/jmap/api"),
        ("GET", "/jmap/api"),
        ("POST", "/jmap/upload/Aanything/"),
        ("GET", "/jmap/download/Aanything/Gblob/name"),
        ("GET", "/jmap/eventsource?types=*&closeafter=no&ping=0"),
        ("POST", "/health"),
        ("GET", "/"),
        ("GET", "/no/such/path"),
        ("DELETE", "/jmap/api"),
        ("PUT", "/jmap/upload/Aanything/"),
        ("OPTIONS", "/jmap/api"),
    ]

    def test_endpoints_need_credentials(self):
        anonymous = Client(ENV["SMIMEGW_URL"])
        for method, path in self.ENDPOINTS:
            with self.subTest(method=method, path=path):
                body = b"{}" if method in ("POST", "PUT") else None
                resp = anonymous.request(method, path, body, "application/json" if body else None)
                self.assertEqual(resp.status, 401, resp.body[:300])
                self.assertIn("basic", resp.headers.get("www-authenticate", "").lower())

    def test_health_needs_no_credentials(self):
        self.assertEqual(health(), 200)



class FailedLoginTest(unittest.TestCase):
    """Failed logins are logged with the user and the client address but
    without the password, and after 20 failures within a minute (the
    defaults of auth.loginLimit) an address gets 429 until the minute ends.
    A daemon of its own keeps the lock away from the other tests, which all
    come from 127.0.0.1."""

    MAX_FAILURES = 20

    @classmethod
    def setUpClass(cls):
        cls.daemon = DerivedDaemon("failed-logins")
        cls.daemon.start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop_expecting_success()

    def basic(self, user, password):
        raw = f"{user}:{password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def test_failures_logged_and_rate_limited(self):
        wrong = "Wrong-" + uuid.uuid4().hex
        good = self.basic(ENV["ALICE_EMAIL"], ENV["ALICE_PASSWORD"])
        bad = self.basic(ENV["ALICE_EMAIL"], wrong)
        port = self.daemon.port

        self.assertEqual(quick_request(port, "GET", "/.well-known/jmap", authorization=good,
                                       timeout=30).status, 200)
        for i in range(self.MAX_FAILURES):
            resp = quick_request(port, "GET", "/.well-known/jmap", authorization=bad, timeout=30)
            self.assertEqual(resp.status, 401, f"attempt {i + 1}")

        # The address is locked, even for the right password...
        resp = quick_request(port, "GET", "/.well-known/jmap", authorization=good, timeout=30)
        self.assertEqual(resp.status, 429)
        retry_after = int(resp.headers["retry-after"])
        self.assertGreater(retry_after, 0)
        self.assertLessEqual(retry_after, 60)
        token = "Bearer " + ENV["SERVICE_TOKEN"]
        self.assertEqual(quick_request(port, "GET", "/.well-known/jmap", authorization=token,
                                       timeout=30).status, 429)
        # ...but not for requests without credentials, nor for another address.
        self.assertEqual(quick_request(port, "GET", "/.well-known/jmap", timeout=30).status, 401)
        self.assertEqual(quick_request(port, "GET", "/health", timeout=30).status, 200)
        other = quick_request(port, "GET", "/.well-known/jmap", authorization=good, timeout=30,
                              source="127.0.0.2")
        self.assertEqual(other.status, 200)

        log = self.daemon.read_output()
        failures = [line for line in log.splitlines()
                    if "authentication failed" in line and "address=127.0.0.1" in line]
        self.assertEqual(len(failures), self.MAX_FAILURES)
        for line in failures:
            self.assertIn(f"user={ENV['ALICE_EMAIL']}", line)
            self.assertIn("invalid credentials", line)
        self.assertIn("logins locked address=127.0.0.1", log)
        for secret in (wrong, ENV["ALICE_PASSWORD"], bad.split()[1], good.split()[1]):
            self.assertNotIn(secret, log)

    def test_malformed_credentials_are_401(self):
        for value in ("Basic", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(),
                      "Basic " + base64.b64encode(b"a\x00b:c").decode(), "Bearer",
                      "Bearer " + "x" * 5000, "Digest username=alice", "Basic " + "A" * 5000,
                      "Basic " + base64.b64encode(b"line\nbreak:x").decode()):
            with self.subTest(authorization=value[:40]):
                resp = quick_request(self.daemon.port, "GET", "/.well-known/jmap",
                                     authorization=value, timeout=30, source="127.0.0.4")
                self.assertIsNotNone(resp)
                self.assertEqual(resp.status, 401)
        self.assertEqual(health(self.daemon.url), 200)
        self.assertNotIn("line\nbreak", self.daemon.read_output())

    def test_bearer_failures_logged_without_token(self):
        token = "tok-" + uuid.uuid4().hex
        resp = quick_request(self.daemon.port, "GET", "/.well-known/jmap",
                             authorization="Bearer " + token, timeout=30, source="127.0.0.3")
        self.assertEqual(resp.status, 401)
        log = self.daemon.read_output()
        self.assertIn("unknown bearer token", log)
        self.assertNotIn(token, log)


class LoginLimitOptionTest(unittest.TestCase):
    """auth.loginLimit replaces the defaults that FailedLoginTest checks. Its
    daemon locks an address after 3 failures for a window of 4 seconds, and
    its table has room for one address, so a failure from a second address
    ends the lock of the first."""

    MAX_FAILURES = 3
    WINDOW_SECONDS = 4

    @classmethod
    def setUpClass(cls):
        limit = {"maxFailures": cls.MAX_FAILURES, "windowSeconds": cls.WINDOW_SECONDS,
                 "trackedAddresses": 1}
        cls.daemon = DerivedDaemon("login-limit",
                                   lambda c: c.setdefault("auth", {}).update(loginLimit=limit))
        cls.daemon.start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop_expecting_success()

    def login(self, password, source):
        raw = f"{ENV['ALICE_EMAIL']}:{password}".encode()
        resp = quick_request(self.daemon.port, "GET", "/.well-known/jmap",
                             authorization="Basic " + base64.b64encode(raw).decode(),
                             timeout=30, source=source)
        self.assertIsNotNone(resp, f"no response to a login from {source}")
        return resp

    def lock(self, source):
        for i in range(self.MAX_FAILURES):
            resp = self.login("Wrong-" + uuid.uuid4().hex, source)
            self.assertEqual(resp.status, 401, f"attempt {i + 1} from {source}")

    def test_lock_after_max_failures_until_window_ends(self):
        source = "127.0.0.5"
        self.lock(source)

        resp = self.login(ENV["ALICE_PASSWORD"], source)
        self.assertEqual(resp.status, 429)
        retry_after = int(resp.headers["retry-after"])
        self.assertGreater(retry_after, 0)
        self.assertLessEqual(retry_after, self.WINDOW_SECONDS)
        self.assertIn(f"logins locked address={source} failures={self.MAX_FAILURES} "
                      f"window_seconds={self.WINDOW_SECONDS}", self.daemon.read_output())

        # The daemon counts whole seconds, so one more second is sure to end
        # the window.
        time.sleep(retry_after + 1)
        self.assertEqual(self.login(ENV["ALICE_PASSWORD"], source).status, 200)

    def test_full_table_drops_locked_address(self):
        locked, other = "127.0.0.6", "127.0.0.7"
        self.lock(locked)
        self.assertEqual(self.login(ENV["ALICE_PASSWORD"], locked).status, 429)

        self.assertEqual(self.login("Wrong-" + uuid.uuid4().hex, other).status, 401)
        self.assertEqual(self.login(ENV["ALICE_PASSWORD"], locked).status, 200)


class IsolationTest(unittest.TestCase):
    """An account can neither sign as another account's address nor read
    its blobs or Emails."""

    @classmethod
    def setUpClass(cls):
        cls.alice = client_for("ALICE")
        cls.bob = client_for("BOB")
        result = cls.bob.email_set({"b": base_create("BOB", ("ALICE",), "Bob's secret",
                                                     "for Alice only\n")}, smimeSign=True)
        cls.bob_email = result["created"]["b"]
        cls.bob_blob = cls.bob.upload(b"bob's upload", "text/plain")["blobId"]

    def create_error(self, client, create, **smime):
        result = client.email_set({"c": create}, **smime)
        self.assertIsNone(result.get("created"), "the create was expected to fail")
        return result["notCreated"]["c"]

    def test_sign_as_other_from(self):
        error = self.create_error(self.alice, base_create("BOB"), smimeSign=True)
        self.assertEqual(error["type"], "signedSenderNotAllowed")
        self.assertIn(ENV["BOB_EMAIL"], error["description"])

    def test_sign_as_other_sender(self):
        create = base_create("ALICE")
        create["sender"] = [address("BOB")]
        error = self.create_error(self.alice, create, smimeSign=True)
        self.assertEqual(error["type"], "signedSenderNotAllowed")

    def test_sign_as_other_through_header_form(self):
        create = base_create("ALICE")
        del create["from"]
        create["header:From:asAddresses"] = [{"email": ENV["BOB_EMAIL"]}]
        error = self.create_error(self.alice, create, smimeSign=True)
        self.assertEqual(error["type"], "signedSenderNotAllowed")

    def test_sign_as_other_through_raw_sender(self):
        create = base_create("ALICE")
        create["header:Sender:asRaw"] = f" Bob <{ENV['BOB_EMAIL']}>"
        error = self.create_error(self.alice, create, smimeSign=True)
        self.assertEqual(error["type"], "signedSenderNotAllowed")

    def test_sign_as_other_per_create(self):
        create = base_create("BOB")
        create["smimeSign"] = True
        error = self.create_error(self.alice, create)
        self.assertEqual(error["type"], "signedSenderNotAllowed")

    def test_service_account_signs_as_nobody(self):
        for name in ("ALICE", "BOB"):
            with self.subTest(sender=name):
                error = self.create_error(service_client(), base_create(name), smimeSign=True)
                self.assertEqual(error["type"], "signedSenderNotAllowed")

    def test_other_email_not_found(self):
        responses = self.alice.api([["Email/get", {"accountId": self.alice.account_id,
                                                   "ids": [self.bob_email["id"]]}, "0"]])
        self.assertEqual(responses[0][1]["list"], [])
        self.assertEqual(responses[0][1]["notFound"], [self.bob_email["id"]])

    def test_other_email_not_in_listing(self):
        responses = self.alice.api([["Email/get", {"accountId": self.alice.account_id,
                                                   "ids": None, "properties": ["id"]}, "0"]])
        ids = {email["id"] for email in responses[0][1]["list"]}
        self.assertNotIn(self.bob_email["id"], ids)

    def test_other_email_cannot_change(self):
        email_id = self.bob_email["id"]
        args = {"accountId": self.alice.account_id, "destroy": [email_id],
                "update": {email_id: {"keywords/$seen": True}}}
        result = self.alice.api([["Email/set", args, "0"]])[0][1]
        self.assertEqual(result["notDestroyed"][email_id]["type"], "notFound")
        self.assertEqual(result["notUpdated"][email_id]["type"], "notFound")
        responses = self.bob.api([["Email/get", {"accountId": self.bob.account_id,
                                                 "ids": [email_id],
                                                 "properties": ["keywords"]}, "0"]])
        self.assertEqual(responses[0][1]["list"][0]["keywords"], {})

    def test_other_message_blob_not_downloadable(self):
        blob = self.bob_email["blobId"]
        self.assertEqual(self.alice.download(blob).status, 404)
        self.assertEqual(self.alice.download(blob, account_id=self.bob.account_id).status, 404)
        self.assertEqual(self.bob.download(blob).status, 200)

    def test_other_upload_not_attachable(self):
        create = base_create("ALICE")
        create["attachments"] = [{"blobId": self.bob_blob, "type": "text/plain"}]
        error = self.create_error(self.alice, create)
        self.assertEqual(error["type"], "blobNotFound")
        self.assertIn(self.bob_blob, error["notFound"])


class KeyFileModeTest(unittest.TestCase):
    """A keystore folder or key file that group or others may read stops
    the daemon at start-up with a message naming the file."""

    CASES = [
        ("p12", lambda keystore: os.path.join(keystore, ENV["ALICE_EMAIL"] + ".p12"), 0o640),
        ("passphrase", lambda keystore: os.path.join(keystore, ENV["ALICE_EMAIL"] + ".pass"), 0o604),
        ("pem-key", lambda keystore: os.path.join(keystore, ENV["BOB_EMAIL"] + ".key"), 0o644),
        ("folder", lambda keystore: keystore, 0o755),
    ]

    def test_readable_key_files_stop_startup(self):
        for label, target, mode in self.CASES:
            with self.subTest(case=label):
                name = f"keymode-{label}"
                keystore = os.path.join(ENV["TESTENV_DIR"], "hardening", name + "-keys")
                shutil.rmtree(keystore, ignore_errors=True)
                shutil.copytree(ENV["SMIMEGW_KEYSTORE"], keystore)
                path = target(keystore)
                os.chmod(path, mode)

                def change(config, keystore=keystore):
                    config["keystore"]["path"] = keystore
                daemon = DerivedDaemon(name, change)
                status = daemon.start(expect_failure=True)
                self.assertNotEqual(status, 0)
                output = daemon.read_output()
                self.assertIn(path, output)
                self.assertIn(f"{mode:04o}", output)
                self.assertIsNone(health(daemon.url))

    def test_private_key_files_start(self):
        keystore = os.path.join(ENV["TESTENV_DIR"], "hardening", "keymode-ok-keys")
        shutil.rmtree(keystore, ignore_errors=True)
        shutil.copytree(ENV["SMIMEGW_KEYSTORE"], keystore)
        # A certificate is public: only key material must be private.
        daemon = DerivedDaemon("keymode-ok", lambda c: c["keystore"].update(path=keystore))
        daemon.start()
        self.assertEqual(daemon.stop(), 0)


# -- faults -------------------------------------------------------------------


def slapd_pid():
    with open(ENV["SLAPD_PID_FILE"]) as f:
        return int(f.read().strip())


def ldap_answers():
    proc = subprocess.run(["ldapsearch", "-x", "-H", ENV["LDAP_URI"], "-o", "nettimeout=2",
                           "-l", "2", "-b", ENV["LDAP_BASE"], "-s", "base", "-LLL", "dn"],
                          capture_output=True)
    return proc.returncode == 0


class DirectoryFaultTest(unittest.TestCase):
    """slapd stops in the middle of a run: logins and certificate lookups
    fail with retryable errors, other work goes on, and once slapd is back
    on its port everything works again without a restart of smimegw."""

    def stop_slapd(self):
        pid = slapd_pid()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            self.slapd_command = [arg.decode() for arg in f.read().split(b"\0") if arg]
        self.assertIn(ENV["TESTENV_DIR"], " ".join(self.slapd_command))
        os.kill(pid, signal.SIGTERM)
        self.assertTrue(wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 15),
                        "slapd did not stop")

    def start_slapd(self):
        # slapd forks into the background and writes its PID file, which
        # scripts/testenv stop uses.
        subprocess.run(self.slapd_command, check=True, capture_output=True)
        self.assertTrue(wait_for(ldap_answers, 15), "slapd did not come back")

    def tearDown(self):
        if not ldap_answers():
            self.start_slapd()

    def test_slapd_stopped_and_restarted(self):
        alice = client_for("ALICE")
        service = service_client()
        alice.session()
        service.session()
        self.stop_slapd()

        resp = alice.request("GET", "/.well-known/jmap")
        self.assertEqual(resp.status, 503)
        self.assertEqual(resp.json()["type"], PROBLEM_PREFIX + "serverUnavailable")

        create = base_create(to=("BOB",))
        create["from"] = [{"email": ENV["SERVICE_ACCOUNT"]}]
        result = service.email_set({"enc": create}, smimeEncrypt=True)
        error = result["notCreated"]["enc"]
        self.assertEqual(error["type"], "serverUnavailable")
        self.assertIn("corp", error["description"])
        self.assertNotIn("invalidRecipients", error)
        # Work that needs no directory goes on.
        result = service.email_set({"plain": create})
        self.assertIn("plain", result["created"] or {}, result.get("notCreated"))
        self.assertEqual(health(), 200)

        self.start_slapd()
        resp = alice.request("GET", "/.well-known/jmap")
        self.assertEqual(resp.status, 200, resp.body)
        result = alice.email_set({"c": base_create(to=("BOB",))}, smimeSign=True,
                                 smimeEncrypt=True)
        self.assertIn("c", result["created"] or {}, result.get("notCreated"))
        message = alice.download(result["created"]["c"]["blobId"]).body
        signed = VERIFIERS.openssl_decrypt(message, "BOB")
        self.assertIn(b"Hardening test", VERIFIERS.openssl_verify(signed))


def store_files(store):
    """Return every file path under store."""
    found = []
    for root, _, names in os.walk(store):
        found.extend(os.path.join(root, name) for name in names)
    return found


def check_store_consistent(test, store):
    """Check that no temporary file remains under store and that every
    Email record parses and has its message blob, which parses as a message
    of the recorded size and type. Returns {accountId: {emailId: record}}."""
    records = {}
    for path in store_files(store):
        test.assertNotIn(".tmp.", os.path.basename(path), f"temporary file left: {path}")
    for account_dir in glob.glob(os.path.join(store, "accounts", "*")):
        account = os.path.basename(account_dir)
        records[account] = {}
        for path in glob.glob(os.path.join(account_dir, "emails", "*.json")):
            with open(path) as f:
                record = json.load(f)
            email_id = os.path.basename(path)[:-len(".json")]
            test.assertEqual(record["id"], email_id)
            blob = os.path.join(account_dir, "blobs", record["blobId"])
            test.assertTrue(os.path.isfile(blob), f"{path}: blob {record['blobId']} is missing")
            with open(blob, "rb") as f:
                media_type, _, data = f.read().partition(b"\n")
            # A blob file starts with its media type and a line feed.
            test.assertEqual(media_type, b"message/rfc822", blob)
            test.assertEqual(len(data), record["size"], blob)
            headers, body = split_message(data)
            test.assertTrue(headers and body, f"{blob} is not a message")
            test.assertIn(b"MIME-Version: 1.0", headers)
            records[account][email_id] = record
    return records


NAMESPACE_STORE_SCRIPT = 'mount -t tmpfs -o size=4m,mode=0700 smimegw-test "$0" && exec "$@"'


def private_mounts_supported(folder):
    """Return True when this process may mount a tmpfs in a private mount
    namespace (root with CAP_SYS_ADMIN, as on the CI machines)."""
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return False
    os.makedirs(folder, exist_ok=True)
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                           'mount -t tmpfs -o size=64k probe "$0"', folder],
                          capture_output=True)
    return proc.returncode == 0


class StoreFaultTest(unittest.TestCase):
    """The store's file system is full, then read-only. The daemon runs in
    a private mount namespace with its store on a 4 MiB tmpfs, so that
    nothing outside the test changes. The test reaches the store through
    /proc/PID/root. Creates and uploads fail with serverFail, nothing
    partial stays behind, earlier messages stay readable, and once there is
    room again creates work without a restart."""

    def setUp(self):
        probe = os.path.join(ENV["TESTENV_DIR"], "hardening", "mount-probe")
        if not private_mounts_supported(probe):
            self.skipTest("mounting a tmpfs in a private mount namespace is not permitted")
        self.daemon = DerivedDaemon("store-fault")
        os.makedirs(self.daemon.store, mode=0o700)
        self.daemon.wrapper = ["unshare", "--mount", "--propagation", "private", "--",
                               "sh", "-c", NAMESPACE_STORE_SCRIPT, self.daemon.store]
        self.daemon.start()
        self.view = f"/proc/{self.daemon.proc.pid}/root{self.daemon.store}"
        self.alice = client_for("ALICE", self.daemon.url)

    def tearDown(self):
        status = self.daemon.stop()
        self.assertEqual(status, 0, self.daemon.read_output()[-3000:])

    def create(self, subject):
        return self.alice.email_set({"c": base_create(subject=subject, body=subject + "\n")},
                                    smimeSign=True)

    def assert_create_fails(self, subject):
        result = self.create(subject)
        self.assertIsNone(result.get("created"))
        self.assertEqual(result["notCreated"]["c"]["type"], "serverFail")
        resp = self.alice.request("POST", f"/jmap/upload/{self.alice.account_id}/",
                                  os.urandom(2048), "application/octet-stream")
        self.assertEqual(resp.status, 500)
        self.assertEqual(resp.json()["type"], PROBLEM_PREFIX + "serverFail")
        self.assertEqual(health(self.daemon.url), 200)

    def assert_earlier_intact(self, earlier):
        records = check_store_consistent(self, self.view)
        self.assertEqual(set(records.get(self.alice.account_id, {})), set(earlier))
        for email_id, created in earlier.items():
            resp = self.alice.download(created["blobId"])
            self.assertEqual(resp.status, 200)
            self.assertEqual(len(resp.body), created["size"])

    def fill(self):
        filler = os.path.join(self.view, "filler")
        chunk = b"\0" * 65536
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(chunk)
                    f.flush()
            except OSError:
                pass
        return filler

    def test_full_then_read_only(self):
        earlier = {}
        for i in range(2):
            result = self.create(f"before the fault {i}")
            created = result["created"]["c"]
            earlier[created["id"]] = created
        self.assertTrue(os.path.isdir(os.path.join(self.view, "accounts")))

        filler = self.fill()
        self.assert_create_fails("on a full disk")
        self.assert_earlier_intact(earlier)
        os.unlink(filler)
        result = self.create("after the disk has room again")
        self.assertIn("c", result["created"] or {}, result.get("notCreated"))
        earlier[result["created"]["c"]["id"]] = result["created"]["c"]

        # The store keeps its lock file open for writing, so the tmpfs
        # cannot be remounted read-only. A read-only bind mount over the
        # accounts folder makes every write below it fail with EROFS.
        namespace = ["nsenter", f"--mount=/proc/{self.daemon.proc.pid}/ns/mnt", "--"]
        accounts = os.path.join(self.daemon.store, "accounts")
        subprocess.run(namespace + ["mount", "--bind", accounts, accounts], check=True)
        subprocess.run(namespace + ["mount", "-o", "remount,bind,ro", accounts], check=True)
        try:
            self.assert_create_fails("on a read-only store")
            self.assert_earlier_intact(earlier)
        finally:
            subprocess.run(namespace + ["umount", accounts], check=True)
        result = self.create("after the store is writable again")
        self.assertIn("c", result["created"] or {}, result.get("notCreated"))
        log = self.daemon.read_output()
        self.assertIn("No space left on device", log)
        self.assertIn("Read-only file system", log)


def other_signers(name):
    return tuple(other for other in SIGNERS if other != name)


def signed_encrypted_calls(name, tag, count):
    """Return count creates from name to the other signers, keyed by
    creation id, for an Email/set that signs and encrypts them."""
    return {f"c{j}": base_create(name, other_signers(name), f"{tag} {j}", f"{tag} {j} body\n")
            for j in range(count)}


class ShutdownTest(unittest.TestCase):
    """SIGTERM while creates are running: every request either completes
    or fails on the connection, the daemon exits with status 0, and the
    store contains every message it reported created, each complete, and
    nothing half-written."""

    def test_sigterm_under_load(self):
        daemon = DerivedDaemon("sigterm")
        daemon.start()
        clients = {name: client_for(name, daemon.url) for name in SIGNERS}
        for client in clients.values():
            client.session()
        outcomes = []
        lock = threading.Lock()

        def run(index):
            name = SIGNERS[index % len(SIGNERS)]
            client = clients[name]
            args = {"accountId": client.account_id, "smimeSign": True, "smimeEncrypt": True,
                    "create": signed_encrypted_calls(name, f"sigterm {index}", 3)}
            try:
                resp = client.api_raw({"using": JMAP_USING,
                                       "methodCalls": [["Email/set", args, "0"]]})
                outcome = (name, resp)
            except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as err:
                outcome = (name, err)
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(48)]
        for thread in threads:
            thread.start()
        self.assertTrue(wait_for(lambda: "email created" in daemon.read_output(), 30),
                        "no create finished before SIGTERM")
        started = time.time()
        status = daemon.stop(timeout=30)
        stop_seconds = time.time() - started
        for thread in threads:
            thread.join(60)
        self.assertEqual(status, 0, daemon.read_output()[-3000:])
        self.assertLess(stop_seconds, 25)
        self.assertIn("waiting for requests in progress", daemon.read_output(),
                      "SIGTERM came when no request was in progress")

        reported = {}
        for name, outcome in outcomes:
            if isinstance(outcome, Exception):
                continue
            self.assertEqual(outcome.status, 200, outcome.body[:500])
            _, args, _ = outcome.json()["methodResponses"][0]
            self.assertFalse(args.get("notCreated"), args.get("notCreated"))
            for created in args["created"].values():
                reported[created["id"]] = (name, created)
        self.assertGreater(len(reported), 0, "no request finished")

        records = check_store_consistent(self, daemon.store)
        for email_id, (name, created) in reported.items():
            account = clients[name].account_id
            self.assertIn(email_id, records.get(account, {}), f"{email_id} of {name} is lost")
            self.assertEqual(records[account][email_id]["blobId"], created["blobId"])

        # After a restart every reported message is there and opens.
        daemon.start()
        try:
            for email_id, (name, created) in sorted(reported.items())[:6]:
                client = client_for(name, daemon.url)
                message = client.download(created["blobId"]).body
                recipient = other_signers(name)[0]
                signed = VERIFIERS.openssl_decrypt(message, recipient)
                self.assertIn(b"body", VERIFIERS.openssl_verify(signed))
        finally:
            self.assertEqual(daemon.stop(), 0)


class ConcurrentCreateTest(unittest.TestCase):
    """32 clients create signed and encrypted messages at the same time,
    for the three accounts that have signing keys. Afterwards every message
    exists once, in its own account only, opens for its recipients and is
    signed by its account's address."""

    CLIENTS = 32
    PER_CLIENT = 2

    def test_parallel_signed_encrypted_creates(self):
        run_tag = uuid.uuid4().hex[:8]
        clients = {name: client_for(name) for name in SIGNERS}
        for client in clients.values():
            client.session()
        results = [None] * self.CLIENTS
        barrier = threading.Barrier(self.CLIENTS)

        def run(index):
            name = SIGNERS[index % len(SIGNERS)]
            client = client_for(name)
            client._session = clients[name].session()
            create = signed_encrypted_calls(name, f"concurrent {run_tag} {index}", self.PER_CLIENT)
            barrier.wait()
            try:
                results[index] = (name, client.email_set(create, smimeSign=True,
                                                         smimeEncrypt=True))
            except AssertionError as err:
                results[index] = (name, err)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(self.CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)

        expected = {}
        for index, (name, result) in enumerate(results):
            self.assertIsInstance(result, dict, f"client {index}: {result}")
            self.assertFalse(result.get("notCreated"), result.get("notCreated"))
            self.assertEqual(len(result["created"]), self.PER_CLIENT)
            for creation_id, created in result["created"].items():
                subject = f"concurrent {run_tag} {index} {creation_id[1:]}"
                expected[created["id"]] = (name, subject, created)
        self.assertEqual(len(expected), self.CLIENTS * self.PER_CLIENT)

        listings = {}
        for name, client in clients.items():
            responses = client.api([["Email/get", {"accountId": client.account_id, "ids": None,
                                                   "properties": ["id", "subject", "blobId"]},
                                     "0"]])
            listings[name] = [email for email in responses[0][1]["list"]
                              if run_tag in (email.get("subject") or "")]
        for name, emails in listings.items():
            ids = [email["id"] for email in emails]
            self.assertEqual(len(ids), len(set(ids)), f"{name} lists an Email twice")
            for email in emails:
                owner, subject, _ = expected[email["id"]]
                self.assertEqual(owner, name, f"{email['id']} of {owner} is in {name}'s account")
                self.assertEqual(email["subject"], subject)
        self.assertEqual(sum(len(emails) for emails in listings.values()), len(expected))

        for email_id, (name, subject, created) in expected.items():
            with self.subTest(email=email_id, owner=name):
                owner = clients[name]
                stranger = clients[other_signers(name)[0]]
                self.assertEqual(stranger.download(created["blobId"]).status, 404)
                message = owner.download(created["blobId"]).body
                self.assertEqual(len(message), created["size"])
                signed = VERIFIERS.openssl_decrypt(message, other_signers(name)[1])
                self.assertIn(subject.encode() + b" body", VERIFIERS.openssl_verify(signed))
                self.assertEqual(signer_emails(signed), {ENV[f"{name}_EMAIL"]})


# -- logs -----------------------------------------------------------------------


def environment_secrets():
    """Return (label, value) for every secret of the test environment that
    the logs must not contain: passwords, passphrases, the service token,
    the Authorization header values and lines of PEM private keys."""
    secrets = []
    for key, value in ENV.items():
        if (key.endswith("PASSWORD") or key == "SERVICE_TOKEN") and value:
            secrets.append((key, value))
    for key, value in ENV.items():
        if key.endswith("_EMAIL") and ENV.get(key[:-len("EMAIL")] + "PASSWORD"):
            password = ENV[key[:-len("EMAIL")] + "PASSWORD"]
            for user in (value, value.split("@")[0]):
                header = base64.b64encode(f"{user}:{password}".encode()).decode()
                secrets.append((f"Basic credentials of {user}", header))
    for path in glob.glob(os.path.join(ENV["SMIMEGW_KEYSTORE"], "*.pass")):
        with open(path) as f:
            secrets.append((path, f.read().strip()))
    key_files = glob.glob(os.path.join(ENV["PKI_DIR"], "*.key")) + \
        glob.glob(os.path.join(ENV["SMIMEGW_KEYSTORE"], "*.key"))
    for path in key_files:
        with open(path) as f:
            lines = [line.strip() for line in f if line.strip() and "-----" not in line]
        secrets.extend((path, line) for line in lines if len(line) >= 40)
    secrets.append(("PEM private key marker", "PRIVATE KEY-----"))
    return secrets


def daemon_logs():
    """Return the paths of the log and output files of every smimegw that
    the integration run has started so far."""
    top = ENV["TESTENV_DIR"]
    paths = []
    for root, _, names in os.walk(top):
        paths.extend(os.path.join(root, name) for name in names
                     if name in ("smimegw.log", "smimegw.stdout"))
    return paths


class SecretsInLogsTest(unittest.TestCase):
    """The daemons' logs of the whole run contain no secret. run.py runs it
    after all other tests (see load_tests)."""

    def test_logs_contain_no_secret(self):
        paths = daemon_logs()
        self.assertIn(os.path.join(ENV["TESTENV_DIR"], "smimegw.log"), paths)
        secrets = environment_secrets()
        self.assertGreater(len(secrets), 20)
        for path in paths:
            with open(path, errors="replace") as f:
                text = f.read()
            for label, secret in secrets:
                self.assertNotIn(secret, text, f"{path} contains {label}")


def load_tests(loader, standard_tests, pattern):
    """Leave SecretsInLogsTest out: run.py runs it after every module, so
    that it scans the logs of the whole run."""
    suite = unittest.TestSuite()
    for test_class in (obj for obj in globals().values()
                       if isinstance(obj, type) and issubclass(obj, unittest.TestCase)):
        if test_class is not SecretsInLogsTest:
            suite.addTests(loader.loadTestsFromTestCase(test_class))
    return suite
