"""Shared pieces of the integration tests: the test environment's variables,
a running smimegw daemon, and a small JMAP client over HTTP."""

import base64
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

JMAP_USING = [
    "urn:ietf:params:jmap:core",
    "urn:ietf:params:jmap:mail",
    "urn:ietf:params:jmap:smime-advanced",
]


def load_env(path):
    """Return the variables that scripts/testenv wrote to testenv.env."""
    out = subprocess.run(
        ["bash", "-c", 'set -a; source "$1"; env -0', "load_env", path],
        check=True, capture_output=True,
    ).stdout
    env = {}
    for item in out.split(b"\0"):
        if b"=" in item:
            key, value = item.split(b"=", 1)
            env[key.decode()] = value.decode()
    return env


# The environment of the current run, set by run.py before the tests load.
ENV = {}


class Response:
    """An HTTP response: status, headers (lower-case names) and body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


class Client:
    """A JMAP client authenticated with Basic credentials or a bearer token."""

    def __init__(self, base_url, user=None, password=None, token=None):
        self.base_url = base_url.rstrip("/")
        if token is not None:
            self.authorization = "Bearer " + token
        elif user is not None:
            raw = f"{user}:{password}".encode()
            self.authorization = "Basic " + base64.b64encode(raw).decode()
        else:
            self.authorization = None
        self._session = None

    def request(self, method, path, body=None, content_type=None, headers=None):
        url = path if path.startswith("http") else self.base_url + path
        req = urllib.request.Request(url, data=body, method=method)
        if self.authorization:
            req.add_header("Authorization", self.authorization)
        if content_type:
            req.add_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()},
                                resp.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, {k.lower(): v for k, v in err.headers.items()},
                            err.read())

    def session(self):
        if self._session is None:
            resp = self.request("GET", "/.well-known/jmap")
            if resp.status != 200:
                raise AssertionError(f"session request failed: {resp.status} {resp.body!r}")
            self._session = resp.json()
        return self._session

    @property
    def account_id(self):
        return self.session()["primaryAccounts"]["urn:ietf:params:jmap:mail"]

    def api_raw(self, request_object):
        body = json.dumps(request_object).encode()
        return self.request("POST", "/jmap/api", body, "application/json")

    def api(self, calls, using=None):
        """Send method calls; return the methodResponses list."""
        resp = self.api_raw({"using": using or JMAP_USING, "methodCalls": calls})
        if resp.status != 200:
            raise AssertionError(f"API request failed: {resp.status} {resp.body!r}")
        return resp.json()["methodResponses"]

    def upload(self, data, content_type="application/octet-stream", account_id=None):
        resp = self.request("POST", f"/jmap/upload/{account_id or self.account_id}/",
                            data, content_type)
        if resp.status != 201:
            raise AssertionError(f"upload failed: {resp.status} {resp.body!r}")
        return resp.json()

    def download(self, blob_id, name="message.eml", account_id=None):
        return self.request("GET",
                            f"/jmap/download/{account_id or self.account_id}/{blob_id}/{name}")

    def email_set(self, create, **smime):
        """Send one Email/set with the given creates and S/MIME arguments;
        return its response arguments."""
        args = {"accountId": self.account_id, "create": create}
        args.update(smime)
        responses = self.api([["Email/set", args, "0"]])
        name, result, _ = responses[0]
        if name != "Email/set":
            raise AssertionError(f"Email/set returned {name}: {result}")
        return result


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A smimegw process started for the tests and stopped by its PID."""

    def __init__(self, binary, config, url, log_path):
        self.binary = binary
        self.config = config
        self.url = url
        self.log_path = log_path
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "serve", "--config", self.config],
                                     stdout=log, stderr=log)
        log.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"smimegw exited with status {self.proc.returncode}; "
                                   f"see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise RuntimeError("smimegw did not answer /health within 20 seconds")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("smimegw did not stop within 30 seconds of SIGTERM")
        if self.proc.returncode != 0:
            # A sanitizer build reports leaks and errors through the exit status.
            raise RuntimeError(f"smimegw exited with status {self.proc.returncode} after "
                               f"SIGTERM; see {self.log_path}")
