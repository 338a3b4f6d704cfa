#!/usr/bin/env python3
"""OCSP responder of the smimegw test environment.

An HTTP server on 127.0.0.1 that responds to RFC 6960 requests, POSTed to
/NAME or sent as GET /NAME/<url-encoded base64 request>, by running
`openssl ocsp -index ... -reqin ... -respout ...` for the CA called NAME.
(`openssl ocsp -port` would bind every interface.) Each request is logged
as one line: time, method, CA, the serial numbers asked about and the
certificate statuses answered, so that tests can count the requests."""

import argparse
import base64
import binascii
import http.server
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

MAX_REQUEST_SIZE = 64 * 1024


class CA:
    """The files that `openssl ocsp` needs to sign responses for one CA."""

    def __init__(self, spec):
        parts = spec.split(":")
        if len(parts) != 5:
            raise ValueError(f"--ca {spec!r}: expected NAME:INDEX:CA_CERT:SIGNER_CERT:SIGNER_KEY")
        self.name, self.index, self.cert, self.signer, self.key = parts


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "smimegw-test-ocsp/1"

    def do_POST(self):
        name = self.path.strip("/").split("/", 1)[0]
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length <= 0 or length > MAX_REQUEST_SIZE:
            self.fail(400, f"bad Content-Length {self.headers.get('Content-Length')!r}")
            return
        self.respond("POST", name, self.rfile.read(length))

    def do_GET(self):
        parts = self.path.lstrip("/").split("/", 1)
        if len(parts) != 2 or not parts[1]:
            self.fail(404, f"no request in {self.path!r}")
            return
        try:
            der = base64.b64decode(urllib.parse.unquote(parts[1]), validate=True)
        except (binascii.Error, ValueError) as err:
            self.fail(400, f"the GET request is not base64: {err}")
            return
        self.respond("GET", parts[0], der)

    def respond(self, method, name, der):
        ca = self.server.cas.get(name)
        if ca is None:
            self.fail(404, f"no CA called {name!r}")
            return
        with tempfile.TemporaryDirectory(prefix="ocsp-") as tmp:
            request, response = os.path.join(tmp, "req.der"), os.path.join(tmp, "resp.der")
            with open(request, "wb") as f:
                f.write(der)
            proc = subprocess.run(
                ["openssl", "ocsp", "-index", ca.index, "-CA", ca.cert,
                 "-rsigner", ca.signer, "-rkey", ca.key, "-reqin", request,
                 "-respout", response, "-ndays", str(self.server.ndays), "-text"],
                capture_output=True, text=True, check=False)
            if proc.returncode != 0 or not os.path.exists(response):
                self.fail(500, f"openssl ocsp failed: {proc.stderr.strip()}")
                return
            with open(response, "rb") as f:
                body = f.read()
        # The text shows the request and the response, so each serial twice.
        found = re.findall(r"Serial Number: ([0-9A-Fa-f]+)", proc.stdout)
        serials = ",".join(dict.fromkeys(serial.upper() for serial in found))
        statuses = ",".join(re.findall(r"Cert Status: (\w+)", proc.stdout))
        self.server.log(f"method={method} ca={name} serials={serials} "
                        f"status={statuses}")
        self.send_response(200)
        self.send_header("Content-Type", "application/ocsp-response")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def fail(self, status, reason):
        self.server.log(f"method={self.command} path={self.path[:80]} error=\"{reason}\"")
        self.send_error(status, reason)

    def log_message(self, format, *args):  # noqa: A002 - name fixed by the base class
        """Requests are logged by respond() and fail(), one line each."""


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port, cas, ndays, log_path):
        super().__init__(("127.0.0.1", port), Handler)
        self.cas = {ca.name: ca for ca in cas}
        self.ndays = ndays
        self.log_file = open(log_path, "a", buffering=1)
        self.log_lock = threading.Lock()

    def log(self, line):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.log_lock:
            self.log_file.write(f"{stamp} {line}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    parser.add_argument("--log", required=True, help="file that gets one line per request")
    parser.add_argument("--pid-file", help="file that gets the PID once the port is bound")
    parser.add_argument("--ca", action="append", required=True,
                        metavar="NAME:INDEX:CA_CERT:SIGNER_CERT:SIGNER_KEY",
                        help="a CA whose requests are served at /NAME (repeatable)")
    parser.add_argument("--next-update-days", type=int, default=1,
                        help="days from thisUpdate to nextUpdate in the responses")
    args = parser.parse_args()

    try:
        cas = [CA(spec) for spec in args.ca]
    except ValueError as err:
        parser.error(str(err))
    server = Server(args.port, cas, args.next_update_days, args.log)
    if args.pid_file:
        with open(args.pid_file + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(args.pid_file + ".tmp", args.pid_file)
    server.log(f"started port={args.port} cas={','.join(ca.name for ca in cas)}")
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
