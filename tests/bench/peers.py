"""What smimegw is compared with, on the content that smimegw signed or
encrypted and with the same certificates: (a) the same CMS operations in a
loop in-process (cmslimit), (b) `openssl cms -sign` piped into
`openssl cms -encrypt` per message, (c) GnuPG `gpgsm` per message."""

import json
import math
import os
import re
import subprocess
import threading
import time

from benchenv import run

# Upper bound on one tool run; a hung tool fails the benchmark.
TOOL_TIMEOUT = 120


class Workload:
    """One scenario's message as the peers see it: the content (the MIME
    entity that smimegw signed or encrypted), whether to sign, and the
    recipients' certificate files and addresses, the sender's own included
    as smimegw's encryptToSelf does."""

    def __init__(self, content, sign, recipient_certs, recipient_emails, signer):
        self.content = content
        self.sign = sign
        self.recipient_certs = recipient_certs
        self.recipient_emails = recipient_emails
        self.signer = signer  # dict: email, cert, key, chain, p12, p12_password


def percentile(values, p):
    """Nearest-rank percentile, as loadgen computes it."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def summarize(latencies_ms, seconds):
    return {"requests": len(latencies_ms), "seconds": seconds,
            "rate": len(latencies_ms) / seconds if seconds > 0 else 0.0,
            "p50_ms": percentile(latencies_ms, 50), "p95_ms": percentile(latencies_ms, 95),
            "p99_ms": percentile(latencies_ms, 99)}


def timed_workers(one_message, workers, seconds):
    """Run one_message(worker_index) in a loop on WORKERS threads until
    SECONDS have passed; return the summary of all runs. The messages in
    progress at the deadline are finished and counted."""
    latencies = [[] for _ in range(workers)]
    errors = []
    start = time.monotonic()
    deadline = start + seconds

    def loop(index):
        try:
            while time.monotonic() < deadline:
                begin = time.monotonic()
                one_message(index)
                latencies[index].append((time.monotonic() - begin) * 1000.0)
        except Exception as err:  # reported after the join
            errors.append(err)

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return summarize([ms for worker in latencies for ms in worker], time.monotonic() - start)


# -- (a) the cryptographic limit ------------------------------------------


def cmslimit(binary, workload, seconds, work, cores):
    """Run cmslimit as one process with CORES threads and as CORES
    processes of one thread; return both results and the better rate."""
    args = [binary, "--content", workload.content, "--seconds", str(seconds)]
    if workload.sign:
        args += ["--signer-cert", workload.signer["cert"], "--signer-key", workload.signer["key"],
                 "--chain", workload.signer["chain"]]
    if workload.recipient_certs:
        bundle = os.path.join(work, "cmslimit-recipients.pem")
        with open(bundle, "w", encoding="ascii") as out:
            for path in workload.recipient_certs:
                with open(path, encoding="ascii") as file:
                    out.write(file.read())
        args += ["--recipients", bundle]

    threads = json.loads(run(args + ["--threads", str(cores)]).stdout)
    threads["cpu_ms"] = 1000 * threads["cpu_seconds"] / max(threads["requests"], 1)
    procs = [subprocess.Popen(args + ["--threads", "1"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(cores)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=seconds + TOOL_TIMEOUT)
        if proc.returncode != 0:
            raise RuntimeError(f"cmslimit failed: {err.decode(errors='replace')}")
        results.append(json.loads(out))
    processes = {"requests": sum(r["requests"] for r in results),
                 "rate": sum(r["rate"] for r in results),
                 "cpu_ms": 1000 * sum(r["cpu_seconds"] for r in results)
                 / max(sum(r["requests"] for r in results), 1),
                 "p50_ms": max(r["p50_ms"] for r in results),
                 "p95_ms": max(r["p95_ms"] for r in results),
                 "p99_ms": max(r["p99_ms"] for r in results)}
    best = processes if processes["rate"] >= threads["rate"] else threads
    return dict(best, threads=threads, processes=processes)


# -- (b) openssl cms ------------------------------------------------------


def openssl_cms(workload, seconds, work, workers):
    """`openssl cms -sign` piped into `openssl cms -encrypt` per message,
    with the keys and certificates read from files, on WORKERS parallel
    workers, each writing the S/MIME output to a file of its own."""
    signer = workload.signer
    sign = ["openssl", "cms", "-sign", "-binary", "-md", "sha256", "-in", workload.content,
            "-signer", signer["cert"], "-inkey", signer["key"], "-certfile", signer["chain"]]
    encrypt = ["openssl", "cms", "-encrypt", "-binary", "-aes-256-cbc"]

    def one_message(index):
        out = os.path.join(work, f"openssl-out-{index}.eml")
        if workload.sign and workload.recipient_certs:
            first = subprocess.Popen(sign, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            second = subprocess.run(encrypt + ["-out", out] + workload.recipient_certs,
                                    stdin=first.stdout, capture_output=True,
                                    timeout=TOOL_TIMEOUT, check=False)
            first.stdout.close()
            if first.wait(timeout=TOOL_TIMEOUT) != 0 or second.returncode != 0:
                raise RuntimeError("openssl cms -sign | openssl cms -encrypt failed: "
                                   + second.stderr.decode(errors="replace"))
        elif workload.sign:
            run(sign + ["-out", out], timeout=TOOL_TIMEOUT)
        else:
            run(encrypt + ["-in", workload.content, "-out", out] + workload.recipient_certs,
                timeout=TOOL_TIMEOUT)

    return timed_workers(one_message, workers, seconds)


# -- (c) gpgsm ------------------------------------------------------------


class Gpgsm:
    """A GnuPG home with the signer's key and every certificate, used by
    `gpgsm --sign` piped into `gpgsm --encrypt` per message; its gpg-agent
    is stopped by stop(). By default gpg-agent protects the imported key
    with an S2K iteration count calibrated to take 100 ms (gpg-agent
    manual, --s2k-count), and a signature with it took about 250 ms on the
    benchmark machine. S2K_COUNT sets a fixed count instead."""

    def __init__(self, home, root_cert, certs, signer, s2k_count=None):
        self.home = home
        self.signer = signer
        self.env = dict(os.environ, GNUPGHOME=home, LC_ALL="C")
        self.env.pop("GPG_AGENT_INFO", None)
        os.makedirs(home, mode=0o700)
        with open(os.path.join(home, "gpg-agent.conf"), "w", encoding="ascii") as file:
            file.write("allow-loopback-pinentry\n")
            if s2k_count is not None:
                file.write(f"s2k-count {s2k_count}\n")
        with open(os.path.join(home, "gpgsm.conf"), "w", encoding="ascii") as file:
            file.write("disable-crl-checks\ndisable-dirmngr\nno-common-certs-import\n")
        fingerprint = run(["openssl", "x509", "-in", root_cert, "-noout", "-fingerprint",
                           "-sha1"]).stdout.decode().strip().split("=", 1)[1]
        with open(os.path.join(home, "trustlist.txt"), "w", encoding="ascii") as file:
            file.write(f"{fingerprint} S relax\n")
        run(["gpgsm", "--batch", "--import", root_cert] + certs, env=self.env)
        proc = run(["gpgsm", "--batch", "--pinentry-mode", "loopback", "--passphrase-fd", "0",
                    "--import", signer["p12"]], env=self.env,
                   input=signer["p12_password"].encode() + b"\n")
        if not re.search(rb"secret keys imported: *[1-9]", proc.stderr):
            raise RuntimeError(f"gpgsm did not import the key of {signer['p12']}: "
                               + proc.stderr.decode(errors="replace"))

    def run(self, workload, seconds, work, workers):
        """Sign and encrypt per message. gpgsm 2.2.40 rejects --sign
        --encrypt in one run ("this command has not yet been implemented"),
        so a message is `gpgsm --sign` (opaque SignedData) piped into
        `gpgsm --encrypt`. Sign only is `gpgsm --detach-sign`."""
        base = ["gpgsm", "--batch", "--yes"]
        sign = base + ["--pinentry-mode", "loopback", "--passphrase-fd", "0",
                       "--local-user", self.signer["email"]]
        encrypt = base + ["--encrypt"]
        for email in workload.recipient_emails:
            encrypt += ["--recipient", email]
        password = self.signer["p12_password"].encode() + b"\n"

        def one_message(index):
            out = os.path.join(work, f"gpgsm-out-{index}.p7m")
            if workload.sign and workload.recipient_emails:
                first = subprocess.Popen(sign + ["--sign", workload.content],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, env=self.env)
                second = subprocess.Popen(encrypt + ["--output", out], stdin=first.stdout,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          env=self.env)
                first.stdout.close()
                first.stdin.write(password)
                first.stdin.close()
                _, second_err = second.communicate(timeout=TOOL_TIMEOUT)
                first_err = first.stderr.read()
                first.stderr.close()
                if first.wait(timeout=TOOL_TIMEOUT) != 0 or second.returncode != 0:
                    raise RuntimeError("gpgsm --sign | gpgsm --encrypt failed: "
                                       + (first_err + second_err).decode(errors="replace"))
            elif workload.sign:
                run(sign + ["--detach-sign", "--output", out, workload.content], env=self.env,
                    input=password, timeout=TOOL_TIMEOUT)
            else:
                run(encrypt + ["--output", out, workload.content], env=self.env,
                    timeout=TOOL_TIMEOUT)

        return timed_workers(one_message, workers, seconds)

    def stop(self):
        subprocess.run(["gpgconf", "--kill", "all"], env=self.env, capture_output=True,
                       check=False)
