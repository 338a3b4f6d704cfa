#!/usr/bin/env python3
"""CRL server of the smimegw test environment.

An HTTP server on 127.0.0.1 that serves the *.crl files of one folder
(GET /NAME.crl, application/pkix-crl) and logs one line per request, so
that tests can count the downloads."""

import argparse
import http.server
import os
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "smimegw-test-crl/1"

    def do_GET(self):
        name = self.path.lstrip("/")
        path = os.path.join(self.server.folder, name)
        if "/" in name or not name.endswith(".crl") or not os.path.isfile(path):
            self.server.log(f"path={self.path[:80]} status=404")
            self.send_error(404, "no such CRL")
            return
        with open(path, "rb") as f:
            body = f.read()
        self.server.log(f"path={self.path} status=200 size={len(body)}")
        self.send_response(200)
        self.send_header("Content-Type", "application/pkix-crl")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - name fixed by the base class
        """Requests are logged by do_GET, one line each."""


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port, folder, log_path):
        super().__init__(("127.0.0.1", port), Handler)
        self.folder = folder
        self.log_file = open(log_path, "a", buffering=1)
        self.log_lock = threading.Lock()

    def log(self, line):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with self.log_lock:
            self.log_file.write(f"{stamp} {line}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    parser.add_argument("--dir", required=True, help="folder with the .crl files")
    parser.add_argument("--log", required=True, help="file that gets one line per request")
    parser.add_argument("--pid-file", help="file that gets the PID once the port is bound")
    args = parser.parse_args()

    server = Server(args.port, os.path.abspath(args.dir), args.log)
    if args.pid_file:
        with open(args.pid_file + ".tmp", "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(args.pid_file + ".tmp", args.pid_file)
    server.log(f"started port={args.port} dir={args.dir}")
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    sys.exit(main())
