#!/usr/bin/env python3
"""Benchmarks smimegw against the cryptographic limit and the command-line
tools, on the test environment (127.0.0.1 only), and prints the tables that
docs/BENCHMARKS.md is made from.

Each scenario runs smimegw with warm caches (one daemon, warmed up, then a
timed run) and with cold caches (a freshly started daemon per round, which
gets one message per CPU, each to recipients not looked up before). Then,
on the content that smimegw signed or encrypted and with the same
certificates, it runs (a) cmslimit, the CMS operations alone in-process,
(b) `openssl cms` per message and (c) `gpgsm` per message. The sign +
encrypt scenario also runs warm at several connection counts on daemons
with their default number of worker threads. Last, 10 000
requests of the sign + encrypt scenario go to one daemon whose RSS is
sampled every 1000. No step asserts a time: the targets are printed with
the measured values."""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import benchenv
from benchenv import BenchEnv, Counters, log, run
import peers

from harness import JMAP_USING  # noqa: E402 (benchenv sets the path)
from verifiers import content_type, multipart_parts, split_message  # noqa: E402

CORES = os.cpu_count() or 1
BOB = "bob@" + benchenv.DOMAIN
SUCCESS_TEXT = '"notCreated":null'
# The S2K iteration count of the second gpgsm run, the one that
# scripts/testenv sets. With it a signature took about 12 ms on the
# benchmark machine, against about 250 ms with gpg-agent's calibrated count.
GPGSM_FAST_S2K_COUNT = 65536


class Scenario:
    """One benchmark case: whether to sign, how many bench users to
    encrypt to (none: no encryption), and the sizes of the text body and
    of the attachment (0: none)."""

    def __init__(self, name, title, sign, recipients, body_size, attachment_size):
        self.name = name
        self.title = title
        self.sign = sign
        self.recipients = recipients  # bench users besides the sender
        self.body_size = body_size
        self.attachment_size = attachment_size


SCENARIOS = [
    Scenario("sign", "sign only", True, 0, 2048, 0),
    Scenario("encrypt-1", "encrypt, 1 recipient", False, 1, 2048, 0),
    Scenario("encrypt-10", "encrypt, 10 recipients", False, 10, 2048, 0),
    Scenario("encrypt-100", "encrypt, 100 recipients", False, 100, 2048, 0),
    Scenario("sign-encrypt-3", "sign + encrypt, 3 recipients, 10 KB body, 100 KB attachment",
             True, 3, 10 * 1024, 100 * 1024),
]
TARGET_SCENARIO = "sign-encrypt-3"


def body_text(size):
    """Return SIZE bytes of plain text in lines of 72 characters."""
    words = ("quarterly report figures budget meeting agenda review draft final "
             "summary project status update customer order invoice").split()
    rng = random.Random(size)
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choice(words) for _ in range(12))[:72]
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)[:size]


def request_body(account_id, scenario, recipients, blob_id):
    create = {
        "mailboxIds": {"drafts": True},
        "from": [{"name": "Alice Test", "email": benchenv.SIGNER}],
        "to": [{"email": email} for email in recipients] or [{"email": BOB}],
        "subject": f"Benchmark: {scenario.title}",
        "textBody": [{"partId": "t", "type": "text/plain"}],
        "bodyValues": {"t": {"value": body_text(scenario.body_size)}},
    }
    if blob_id is not None:
        create["attachments"] = [{"blobId": blob_id, "type": "application/octet-stream",
                                  "name": "figures.bin", "disposition": "attachment"}]
    args = {"accountId": account_id, "smimeSign": scenario.sign,
            "smimeEncrypt": bool(recipients), "create": {"m": create}}
    return json.dumps({"using": JMAP_USING,
                       "methodCalls": [["Email/set", args, "0"]]}).encode()


class Bench:
    """One run: the environment, the scenarios, the memory run and their
    results."""

    def __init__(self, options):
        self.options = options
        self.build = options.build
        self.work = options.work
        self.env = BenchEnv(self.work, self.build, options.bench_users, options.threads,
                            options.store_dir)
        self.gpgsm = None
        self.gpgsm_fast = None
        self.results = {"scenarios": {}, "machine": {}, "options": vars(options).copy()}
        self.attachment = random.Random(1).randbytes(100 * 1024)

    # -- helpers ----------------------------------------------------------

    def recipients(self, scenario, offset=0):
        users = self.env.bench_users[offset:offset + scenario.recipients]
        if len(users) < scenario.recipients:
            raise RuntimeError(f"{scenario.name} needs {offset + scenario.recipients} bench "
                               f"users; run with --bench-users {offset + scenario.recipients}")
        return [email for email, _ in users]

    def write_body(self, daemon, scenario, recipients, name):
        blob_id = daemon.upload(self.attachment[:scenario.attachment_size]) \
            if scenario.attachment_size else None
        path = os.path.join(self.work, f"{scenario.name}-{name}.json")
        body = request_body(daemon.account_id, scenario, recipients, blob_id)
        with open(path, "wb") as file:
            file.write(body)
        return path, body

    def loadgen(self, daemon, bodies, connections, extra):
        args = [os.path.join(self.build, "bench", "loadgen"), "--port",
                self.env.env["SMIMEGW_PORT"], "--token-file", self.env.token_file,
                "--connections", str(connections), "--expect", SUCCESS_TEXT] + extra
        for body in bodies:
            args += ["--body", body]
        proc = subprocess.run(args, capture_output=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"loadgen failed against {daemon.config}: "
                               f"{proc.stderr.decode(errors='replace')}")
        return json.loads(proc.stdout)

    # -- smimegw ----------------------------------------------------------

    def run_warm(self, scenario, connections=None, threads=None):
        """Run one daemon: a warm-up that fills the caches, then a timed
        run. connections and threads default to the options, and threads 0
        leaves the daemon's own default."""
        options = self.options
        connections = connections or options.connections
        daemon = self.env.start_daemon(threads)
        try:
            path, body = self.write_body(daemon, scenario, self.recipients(scenario), "warm")
            message = daemon.create(body)
            self.loadgen(daemon, [path], connections,
                         ["--requests", str(options.warmup_requests)])
            before, cpu = self.env.counters.snapshot(), daemon.cpu_times()
            result = self.loadgen(daemon, [path], connections,
                                  ["--seconds", str(options.seconds)])
            user, system = (after - first for after, first in zip(daemon.cpu_times(), cpu))
            messages = max(result["requests"], 1)
            result["cpu_user_ms"] = 1000 * user / messages
            result["cpu_system_ms"] = 1000 * system / messages
            result["cpu_ms"] = result["cpu_user_ms"] + result["cpu_system_ms"]
            result.update(Counters.per_message(before, self.env.counters.snapshot(),
                                               result["requests"]))
            result["peak_rss_kb"] = daemon.peak_rss_kb()
        finally:
            daemon.stop()
        return result, message

    def run_cold(self, scenario):
        """Run rounds of a freshly started daemon, with empty caches, that
        gets one message per CPU at once, each to recipients of its own.
        The sender's certificate and the signer are shared by the messages
        of a round."""
        options = self.options
        latencies, seconds, peak, messages = [], 0.0, 0, 0
        totals = {}

        for _ in range(options.cold_rounds):
            daemon = self.env.start_daemon()
            try:
                paths = [self.write_body(daemon, scenario,
                                         self.recipients(scenario, i * scenario.recipients),
                                         f"cold{i}")[0] for i in range(CORES)]
                before = self.env.counters.snapshot()
                result = self.loadgen(daemon, paths, CORES,
                                      ["--requests", str(CORES), "--latencies"])
                after = self.env.counters.snapshot()
                peak = max(peak, daemon.peak_rss_kb())
            finally:
                daemon.stop()

            for key in before:
                totals[key] = totals.get(key, 0) + after[key] - before[key]
            latencies += result["latencies_ms"]
            seconds += result["seconds"]
            messages += result["requests"]

        result = peers.summarize(latencies, seconds)
        result.update({key: value / messages for key, value in totals.items()})
        result["peak_rss_kb"] = peak
        return result

    def run_concurrency(self):
        """Run the target scenario warm on daemons with their default
        number of worker threads, at each of the --concurrency connection
        counts. The main table's 4 threads and connections leave the CPUs
        idle while requests wait for their fsync calls."""
        scenario = next(s for s in SCENARIOS if s.name == TARGET_SCENARIO)
        runs = []
        for connections in self.options.concurrency:
            log(f"{TARGET_SCENARIO}: smimegw, warm, {connections} connections, "
                "default threads")
            result, _ = self.run_warm(scenario, connections=connections, threads=0)
            result["connections"] = connections
            result.pop("latencies_ms", None)
            runs.append(result)
        return runs

    def run_memory(self):
        """MEMORY_REQUESTS requests of the target scenario on one daemon,
        with VmRSS sampled before them (after a warm-up) and every tenth."""
        options = self.options
        scenario = next(s for s in SCENARIOS if s.name == TARGET_SCENARIO)
        count = options.memory_requests
        daemon = self.env.start_daemon()
        try:
            path, _ = self.write_body(daemon, scenario, self.recipients(scenario), "memory")
            self.loadgen(daemon, [path], options.connections,
                         ["--requests", str(options.warmup_requests)])
            result = self.loadgen(daemon, [path], options.connections,
                                  ["--requests", str(count), "--rss-pid", str(daemon.pid),
                                   "--rss-every", str(max(count // 10, 1))])
            result["peak_rss_kb"] = daemon.peak_rss_kb()
        finally:
            daemon.stop()
        return result

    # -- peers ------------------------------------------------------------

    def content_of(self, message, scenario):
        """Write the entity that smimegw signed or encrypted in MESSAGE to a
        file: the first part of multipart/signed, after decrypting with the
        sender's key when the message is encrypted."""
        env = self.env.env
        entity = message
        headers, body = split_message(message)
        media, params = content_type(headers)
        if media == "application/pkcs7-mime":
            encrypted = os.path.join(self.work, f"{scenario.name}-message.eml")
            with open(encrypted, "wb") as file:
                file.write(message)
            entity = run(["openssl", "cms", "-decrypt", "-binary", "-in", encrypted,
                          "-recip", env["ALICE_CERT"], "-inkey", env["ALICE_KEY"]]).stdout
            headers, body = split_message(entity)
            media, params = content_type(headers)
        if media == "multipart/signed":
            entity = multipart_parts(body, params["boundary"])[0]
        path = os.path.join(self.work, f"{scenario.name}-content.eml")
        with open(path, "wb") as file:
            file.write(entity)
        return path

    def workload(self, scenario, content):
        env = self.env.env
        emails = self.recipients(scenario)
        certs = [pem for email, pem in self.env.bench_users if email in emails]
        if emails:
            emails = emails + [benchenv.SIGNER]
            certs = certs + [env["ALICE_CERT"]]
        signer = {"email": benchenv.SIGNER, "cert": env["ALICE_CERT"], "key": env["ALICE_KEY"],
                  "chain": env["INTERMEDIATE_CA_CERT"], "p12": env["ALICE_P12"],
                  "p12_password": env["ALICE_P12PASSWORD"]}
        return peers.Workload(content, scenario.sign, certs, emails, signer)

    def run_peers(self, scenario, message):
        options = self.options
        workload = self.workload(scenario, self.content_of(message, scenario))
        cmslimit = os.path.join(self.build, "bench", "cmslimit")
        return {
            "cmslimit": peers.cmslimit(cmslimit, workload, options.peer_seconds, self.work,
                                       CORES),
            "openssl": peers.openssl_cms(workload, options.peer_seconds, self.work, CORES),
            "gpgsm": self.gpgsm.run(workload, options.peer_seconds, self.work, CORES),
            "gpgsm_fast": self.gpgsm_fast.run(workload, options.peer_seconds, self.work, CORES),
            "content_bytes": os.path.getsize(workload.content),
        }

    # -- the run ----------------------------------------------------------

    def describe_machine(self):
        machine = self.results["machine"]
        machine["nproc"] = CORES
        lscpu = run(["lscpu"]).stdout.decode()
        machine["cpu"] = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                               if line.startswith("Model name")), "unknown")
        with open("/proc/meminfo", encoding="ascii") as file:
            machine["memory_kb"] = int(file.readline().split()[1])
        machine["openssl"] = run(["openssl", "version"]).stdout.decode().strip()
        machine["gpgsm"] = run(["gpgsm", "--version"]).stdout.decode().splitlines()[0]
        machine["busy_before_percent"] = benchenv.machine_busy_percent()
        self.machine_cpu_start = benchenv.machine_cpu_seconds()

    def run(self):
        self.describe_machine()
        busy = self.results["machine"]["busy_before_percent"]
        if busy > 10:
            log(f"warning: {busy:.0f}% of the CPUs were in use before the benchmark; "
                "other load lowers and scatters the results")
        self.env.start()
        env = self.env.env
        certs = ([pem for _, pem in self.env.bench_users]
                 + [env["ALICE_CERT"], env["INTERMEDIATE_CA_CERT"]])
        signer = {"email": benchenv.SIGNER, "p12": env["ALICE_P12"],
                  "p12_password": env["ALICE_P12PASSWORD"]}
        self.gpgsm = peers.Gpgsm(os.path.join(self.work, "gnupg"), env["ROOT_CA_CERT"], certs,
                                 signer)
        self.gpgsm_fast = peers.Gpgsm(os.path.join(self.work, "gnupg-s2k"),
                                      env["ROOT_CA_CERT"], certs, signer,
                                      s2k_count=GPGSM_FAST_S2K_COUNT)
        for scenario in SCENARIOS:
            if self.options.scenarios and scenario.name not in self.options.scenarios:
                continue
            log(f"{scenario.name}: smimegw, warm caches")
            warm, message = self.run_warm(scenario)
            log(f"{scenario.name}: smimegw, cold caches")
            cold = self.run_cold(scenario)
            log(f"{scenario.name}: cmslimit, openssl cms, gpgsm")
            self.results["scenarios"][scenario.name] = {
                "title": scenario.title, "warm": warm, "cold": cold,
                **self.run_peers(scenario, message)}
        if self.options.concurrency and TARGET_SCENARIO in self.results["scenarios"]:
            self.results["concurrency"] = self.run_concurrency()
        if self.options.memory_requests > 0:
            log(f"memory: {self.options.memory_requests} requests of {TARGET_SCENARIO}")
            self.results["memory"] = self.run_memory()

    def stop(self):
        """Stop everything, and record how much CPU time processes outside
        the benchmark used meanwhile: all CPU time in use since the start,
        minus this process's and its children's and the revocation
        servers'."""
        for gpgsm in (self.gpgsm, self.gpgsm_fast):
            if gpgsm is not None:
                gpgsm.stop()
        servers = self.env.server_cpu_seconds()
        self.env.stop()
        if getattr(self, "machine_cpu_start", None) is None:
            return
        used, total = (end - start for end, start in
                       zip(benchenv.machine_cpu_seconds(), self.machine_cpu_start))
        ours = sum(benchenv.cpu_times(os.getpid(), children=True)) + servers
        machine = self.results["machine"]
        machine["other_cpu_seconds"] = max(used - ours, 0.0)
        machine["cpu_seconds_available"] = total


# -- report ---------------------------------------------------------------


def verdict(met):
    return "met" if met else "missed"


def print_report(results):
    options = results["options"]
    machine = results["machine"]
    print(f"\nMachine: {machine['nproc']} CPUs ({machine['cpu']}), "
          f"{machine['memory_kb'] / 1048576:.1f} GiB; {machine['openssl']}; {machine['gpgsm']}")
    other = machine.get("other_cpu_seconds", 0.0)
    available = machine.get("cpu_seconds_available", 0.0)
    print(f"CPU in use before the run: {machine['busy_before_percent']:.0f}%; processes outside "
          f"the benchmark used {other:.0f} of {available:.0f} CPU seconds during it "
          f"({100 * other / available if available else 0:.0f}%)")
    store = options["store_dir"] or "the work folder"
    print(f"\nsmimegw ({options['threads']} worker threads, {options['connections']} "
          f"connections, store in {store}; cold: one message per CPU at once on a freshly "
          "started daemon)\n")
    print("| scenario | caches | msg/s | p50 ms | p95 ms | p99 ms | peak RSS MiB | "
          "CPU ms/msg (user + system) | LDAP searches/msg | LDAP binds/msg | "
          "OCSP requests/msg |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in results["scenarios"].items():
        for caches in ("warm", "cold"):
            r = s[caches]
            cpu = (f"{r['cpu_user_ms']:.2f} + {r['cpu_system_ms']:.2f}"
                   if "cpu_ms" in r else "-")
            print(f"| {name} | {caches} | {r['rate']:.0f} | {r['p50_ms']:.1f} | "
                  f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['peak_rss_kb'] / 1024:.1f} | "
                  f"{cpu} | {r['ldap_searches']:.2f} | {r['ldap_binds']:.2f} | "
                  f"{r['ocsp_requests']:.2f} |")
    print(f"\nPeers on the same content and certificates, {CORES} in parallel; "
          "ratio = smimegw warm msg/s / peer msg/s\n")
    print("| scenario | content bytes | smimegw msg/s | (a) CMS in-process msg/s | ratio | "
          "(b) openssl cms msg/s | ratio | (c) gpgsm msg/s | ratio | "
          f"(c) gpgsm, s2k-count {GPGSM_FAST_S2K_COUNT} msg/s | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, s in results["scenarios"].items():
        ours = s["warm"]["rate"]
        cells = [f"{s[p]['rate']:.1f} | {ours / s[p]['rate']:.2f}" if s[p]["rate"] else "0 | -"
                 for p in ("cmslimit", "openssl", "gpgsm", "gpgsm_fast")]
        print(f"| {name} | {s['content_bytes']} | {ours:.0f} | " + " | ".join(cells) + " |")

    concurrency = results.get("concurrency")
    if concurrency:
        print(f"\n{TARGET_SCENARIO}, warm, on daemons with their default number of worker "
              "threads\n")
        print("| connections | msg/s | p50 ms | p95 ms | p99 ms | CPU ms/msg (user + system) |")
        print("|---:|---:|---:|---:|---:|---:|")
        for r in concurrency:
            print(f"| {r['connections']} | {r['rate']:.0f} | {r['p50_ms']:.1f} | "
                  f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | "
                  f"{r['cpu_user_ms']:.2f} + {r['cpu_system_ms']:.2f} |")

    print("\nTargets")
    target = results["scenarios"].get(TARGET_SCENARIO)
    if target:
        runs = [(target["warm"]["rate"], f"{options['threads']} threads, "
                 f"{options['connections']} connections")]
        runs += [(r["rate"], f"default threads, {r['connections']} connections")
                 for r in concurrency or []]
        for ours, setting in runs:
            of_limit = ours / target["cmslimit"]["rate"]
            times_openssl = ours / target["openssl"]["rate"]
            print(f"- {TARGET_SCENARIO}, warm, {CORES} cores, {setting}: {of_limit:.0%} of (a), "
                  f"target at least 75%: {verdict(of_limit >= 0.75)}; {times_openssl:.1f} "
                  f"times (b), target at least 20: {verdict(times_openssl >= 20)}")
        ours_cpu, limit_cpu = target["warm"]["cpu_ms"], target["cmslimit"]["cpu_ms"]
        print(f"  CPU time per message, which other load disturbs less than rates: smimegw "
              f"{ours_cpu:.2f} ms, (a) {limit_cpu:.2f} ms, so (a) needs "
              f"{limit_cpu / ours_cpu:.0%} of smimegw's CPU time")
    else:
        print(f"- {TARGET_SCENARIO} did not run (see --scenarios), so the throughput targets "
              "are not judged")
    worst = max((s["cold"]["ldap_searches"] + s["cold"]["ldap_binds"], name)
                for name, s in results["scenarios"].items()) if results["scenarios"] else None
    if worst:
        print(f"- cold caches: at most {worst[0]:.2f} LDAP operations (searches and binds) per "
              f"message, in {worst[1]}; target at most 2 round trips per directory, one "
              f"directory here: {verdict(worst[0] <= 2)}")
    memory = results.get("memory")
    if not memory:
        print("- memory: not run (--memory-requests 0)")
    if memory:
        rss = [kb for kb in memory["rss_kb"] if kb >= 0]
        print(f"- memory: {memory['requests']} requests at {memory['rate']:.0f} msg/s, "
              f"{memory['errors']} errors; VmRSS {rss[0] / 1024:.1f} MiB after the warm-up, "
              f"{rss[-1] / 1024:.1f} MiB at the end, highest sample {max(rss) / 1024:.1f} MiB; "
              f"samples (MiB): {' '.join(f'{kb / 1024:.1f}' for kb in rss)}")
        # Flat: after the first tenth of the requests, which fills the
        # caches and the allocator's arenas, no sample is more than 1 MiB
        # higher than the one taken then.
        if len(rss) > 2:
            flat = max(rss[2:]) <= rss[1] + 1024
            print(f"  flat after the first {memory['requests'] // 10} requests (no later "
                  f"sample more than 1 MiB above {rss[1] / 1024:.1f} MiB): {verdict(flat)}")


def connection_counts(value):
    """Parse --concurrency: comma-separated positive integers, or 0."""
    try:
        counts = [int(n) for n in value.split(",")]
    except ValueError:
        counts = [-1]
    if any(n < 0 for n in counts):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated connection counts such as 4,8,16, or 0: {value!r}")
    return [n for n in counts if n > 0]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default="build",
                        help="build folder with smimegw, bench/loadgen and bench/cmslimit")
    parser.add_argument("--work", help="folder for the run (default: a new temporary "
                        "folder, removed at the end unless --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--seconds", type=float,
                        help="length of each timed smimegw run in seconds (default 8)")
    parser.add_argument("--peer-seconds", type=float,
                        help="length of each peer's run in seconds (default 4)")
    parser.add_argument("--cold-rounds", type=int,
                        help="daemon restarts per cold scenario (default 4)")
    parser.add_argument("--connections", type=int, default=2 * CORES,
                        help="keep-alive connections of the warm runs (default 2 per CPU)")
    parser.add_argument("--threads", type=int, default=4,
                        help="worker threads of the daemon, listen.threads (default 4)")
    parser.add_argument("--concurrency", default="4,8,16", type=connection_counts,
                        help="connection counts of the extra warm runs of "
                        f"{TARGET_SCENARIO} on daemons with their default number of "
                        "worker threads, made only when that scenario runs "
                        "(default 4,8,16; 0 skips them)")
    parser.add_argument("--store-dir",
                        help="folder for the daemons' stores (default: the work folder); "
                        "a tmpfs folder such as /dev/shm shows what the store's fsync "
                        "calls cost")
    parser.add_argument("--warmup-requests", type=int, default=50,
                        help="requests before each timed warm run (default 50)")
    parser.add_argument("--memory-requests", type=int,
                        help=f"requests of the memory run, always of {TARGET_SCENARIO} "
                        "whatever --scenarios says (default 10000; 0 skips it)")
    parser.add_argument("--bench-users", type=int, default=100 * CORES,
                        help="bench users added to the directory (default 100 per CPU)")
    parser.add_argument("--scenarios", type=lambda v: v.split(","),
                        help="comma-separated scenario names (default: all): "
                        + ", ".join(s.name for s in SCENARIOS))
    parser.add_argument("--quick", action="store_true",
                        help="short runs to check the setup: 2 s runs, 1 s peers, "
                        "2 cold rounds, 1000 memory requests, unless given")
    parser.add_argument("--output", help="also write all results as JSON to this file")
    options = parser.parse_args()
    # Defaults, and those of --quick, for the options not given.
    presets = {"seconds": (8, 2), "peer_seconds": (4, 1), "cold_rounds": (4, 2),
               "memory_requests": (10000, 1000)}
    for name, (full, quick) in presets.items():
        if getattr(options, name) is None:
            setattr(options, name, quick if options.quick else full)
    unknown = set(options.scenarios or []) - {s.name for s in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}; expected some of "
                     + ", ".join(s.name for s in SCENARIOS))
    options.build = os.path.abspath(options.build)
    if options.store_dir is not None:
        options.store_dir = os.path.abspath(options.store_dir)
    return options


def main():
    options = parse_args()
    created = options.work is None
    if created:
        options.work = tempfile.mkdtemp(prefix="smimegw-bench-")
    else:
        options.work = os.path.abspath(options.work)
        os.makedirs(options.work, exist_ok=True)
    started = time.monotonic()
    bench = Bench(options)
    try:
        bench.run()
    except BaseException:
        log(f"failed; the work folder is kept: {options.work}")
        raise
    finally:
        bench.stop()
    bench.results["seconds"] = time.monotonic() - started
    print_report(bench.results)
    print(f"\nTotal time: {bench.results['seconds']:.0f} s")
    if options.output:
        with open(options.output, "w", encoding="utf-8") as file:
            json.dump(bench.results, file, indent=2)
    if created and not options.keep:
        shutil.rmtree(options.work)
    else:
        log(f"work folder kept: {options.work}")


if __name__ == "__main__":
    sys.exit(main())
