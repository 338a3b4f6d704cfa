"""The benchmark's environment: the test environment of scripts/testenv with
slapd restarted to log every operation, extra users with RSA certificates
for the large recipient lists, and smimegw daemons started and stopped by
their PID."""

import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(PROJECT_DIR, "tests", "integration"))

from harness import load_env  # noqa: E402

DOMAIN = "corp.example"
SIGNER = "alice@" + DOMAIN
# Bearer token of the benchmark's client, acting as SIGNER: a service that
# delegates signing, so that no request costs an LDAP bind.
BENCH_TOKEN = "bench-" + hashlib.sha256(b"smimegw benchmark").hexdigest()[:32]
START_TIMEOUT = 20
# RSA keys shared among the bench users.
BENCH_KEYS = 16
STOP_TIMEOUT = 30

# openssl ca configuration for the bench users' certificates: like the test
# environment's smime_rsa certificates, with the address copied from the
# subject into subjectAltName so that one `openssl ca` run issues them all.
CA_CONFIG = """\
[ ca ]
default_ca = bench_ca

[ bench_ca ]
dir = {state}
database = $dir/index.txt
serial = $dir/serial
new_certs_dir = {newcerts}
default_md = sha256
policy = policy_any
preserve = yes
email_in_dn = yes
unique_subject = no
copy_extensions = none

[ policy_any ]
organizationName = optional
commonName = supplied
emailAddress = supplied

[ bench_smime ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:copy
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = OCSP;URI:{ocsp_url}/intermediate
crlDistributionPoints = URI:{crl_url}/intermediate.crl
"""


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(args, **kwargs):
    """Run a command; raise RuntimeError with its output when it fails."""
    proc = subprocess.run(args, capture_output=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed (status {proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace').strip()[-2000:]}")
    return proc


def read_status_kb(pid, field):
    """Return a field of /proc/PID/status (VmRSS, VmHWM) in kB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as file:
        for line in file:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def filesystem_type(path):
    """Return the type of the file system that contains path, as stat -f
    prints it ("ext2/ext3" for ext4, "tmpfs", ...)."""
    return run(["stat", "-f", "-c", "%T", path]).stdout.decode().strip()


def cpu_times(pid, children=False):
    """Return the user and the system CPU time of PID in seconds, with
    those of its waited-for children when CHILDREN is set."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    user, system = int(fields[11]), int(fields[12])
    if children:
        user, system = user + int(fields[13]), system + int(fields[14])
    return user / ticks, system / ticks


def machine_cpu_seconds():
    """Return the CPU time in use and in total of all CPUs since boot, in
    seconds, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as file:
        values = [int(v) for v in file.readline().split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    total = sum(values[:8])
    return (total - values[3] - values[4]) / ticks, total / ticks


def machine_busy_percent(seconds=1.0):
    """Return the share of all CPUs in use over SECONDS, from /proc/stat."""
    def sample():
        with open("/proc/stat", encoding="ascii") as file:
            values = [int(v) for v in file.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values), idle

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    if total1 == total0:
        return 0.0
    return 100.0 * (1 - (idle1 - idle0) / (total1 - total0))


class Counters:
    """Operations seen by the directory and the revocation servers: LDAP
    searches and binds from slapd's stats log, OCSP and CRL requests from
    the servers' request logs (one line each)."""

    def __init__(self, slapd_log, ocsp_log, crl_log):
        self.slapd_log = slapd_log
        self.ocsp_log = ocsp_log
        self.crl_log = crl_log

    @staticmethod
    def _lines(path, needle=None):
        try:
            with open(path, "rb") as file:
                if needle is None:
                    return sum(1 for _ in file)
                return sum(1 for line in file if needle in line)
        except FileNotFoundError:
            return 0

    def snapshot(self):
        # slapd writes its log line after it has sent the result.
        time.sleep(0.2)
        return {
            "ldap_searches": self._lines(self.slapd_log, b" SRCH base="),
            "ldap_binds": self._lines(self.slapd_log, b" BIND dn="),
            "ocsp_requests": self._lines(self.ocsp_log),
            "crl_requests": self._lines(self.crl_log),
        }

    @staticmethod
    def per_message(before, after, messages):
        return {key: (after[key] - before[key]) / messages if messages else 0.0
                for key in before}


class BenchEnv:
    """The test environment in WORK/env plus the bench users."""

    def __init__(self, work, build, bench_users, daemon_threads, store_dir=None):
        self.work = work
        self.store_dir = store_dir or work
        self.daemon_threads = daemon_threads
        self.build = build
        self.bench_user_count = bench_users
        self.env_dir = os.path.join(work, "env")
        self.env = {}
        self.slapd = None
        self.counters = None
        self.bench_users = []  # (email, PEM path)
        self.daemon_serial = 0
        # On disk, the daemons' stores stay until the end of the run. On
        # some file systems, removing thousands of files slows the file
        # creations that follow: ext4 without a journal skips the inodes
        # freed in the last minutes when it allocates one. That would charge
        # one scenario's clean-up to the next. A store in memory (tmpfs) is
        # removed when its daemon stops, because with the stores of a whole
        # run kept there, later runs spent four times as much system CPU
        # time per message.
        self.stores = []
        self.stores_in_memory = filesystem_type(self.store_dir) == "tmpfs"

    # -- start and stop ---------------------------------------------------

    def start(self):
        testenv = os.path.join(PROJECT_DIR, "scripts", "testenv")
        log(f"starting the test environment in {self.env_dir}")
        run([testenv, "start", self.env_dir])
        self.env = load_env(os.path.join(self.env_dir, "testenv.env"))
        self._restart_slapd_with_stats()
        self.counters = Counters(os.path.join(self.work, "slapd-stats.log"),
                                 self.env["OCSP_LOG"], self.env["CRL_LOG"])
        self._add_bench_users()
        token_file = os.path.join(self.work, "bench.token")
        with open(token_file, "w", encoding="ascii") as file:
            file.write(BENCH_TOKEN)
        os.chmod(token_file, 0o600)
        self.token_file = token_file

    def server_cpu_seconds(self):
        """Return the CPU time of the OCSP responder and the CRL server,
        which testenv started, with their request handlers'."""
        total = 0.0
        for name in ("OCSP_PID_FILE", "CRL_PID_FILE"):
            try:
                with open(self.env[name], encoding="ascii") as file:
                    total += sum(cpu_times(int(file.read().strip()), children=True))
            except (KeyError, OSError, ValueError):
                pass
        return total

    def stop(self):
        for store in self.stores:
            shutil.rmtree(store, ignore_errors=True)
        if self.slapd is not None and self.slapd.poll() is None:
            self.slapd.send_signal(signal.SIGTERM)
            try:
                self.slapd.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.slapd.kill()
                self.slapd.wait()
        if self.env:
            testenv = os.path.join(PROJECT_DIR, "scripts", "testenv")
            subprocess.run([testenv, "stop", self.env_dir], capture_output=True, check=False)

    def _restart_slapd_with_stats(self):
        """Stop the slapd that testenv started and start it again on the same
        port and database in the foreground with `-d stats`, which logs every
        operation to stderr, captured in WORK/slapd-stats.log."""
        pid_file = self.env["SLAPD_PID_FILE"]
        with open(pid_file, encoding="ascii") as file:
            pid = int(file.read().strip())
        conf = os.path.join(self.env_dir, "slapd", "slapd.conf")
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            if conf.encode() not in file.read().split(b"\0"):
                raise RuntimeError(f"pid {pid} in {pid_file} is not this environment's slapd")

        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + STOP_TIMEOUT
        while os.path.exists(f"/proc/{pid}"):
            if time.time() > deadline:
                raise RuntimeError(f"slapd (pid {pid}) did not stop within {STOP_TIMEOUT} s")
            time.sleep(0.05)

        slapd = shutil.which("slapd") or "/usr/sbin/slapd"
        with open(os.path.join(self.work, "slapd-stats.log"), "wb") as stats:
            self.slapd = subprocess.Popen([slapd, "-f", conf, "-h", self.env["LDAP_URI"],
                                           "-d", "stats"], stdout=stats, stderr=stats,
                                          stdin=subprocess.DEVNULL)

        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            probe = subprocess.run(["ldapsearch", "-x", "-H", self.env["LDAP_URI"], "-b",
                                    self.env["LDAP_BASE"], "-s", "base", "-LLL", "dn"],
                                   capture_output=True, check=False)
            if probe.returncode == 0:
                return
            if self.slapd.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("slapd with -d stats did not start; see slapd-stats.log")

    # -- bench users ------------------------------------------------------

    def _add_bench_users(self):
        """Issue RSA-2048 certificates for benchNNN@corp.example from the
        intermediate CA, recorded in its OCSP index so the responder answers
        good, and add the users to the directory. Generating hundreds of
        RSA keys would take half a minute, so BENCH_KEYS keys are shared
        among the users: encrypting to a certificate costs the same whichever
        key it holds."""
        count = self.bench_user_count
        pki = os.path.join(self.work, "benchpki")
        newcerts = os.path.join(pki, "newcerts")
        os.makedirs(newcerts, mode=0o700)
        log(f"issuing {count} bench users' certificates")
        names = [f"bench{i:03d}" for i in range(1, count + 1)]
        keys = [os.path.join(pki, f"key{i:02d}.key") for i in range(min(BENCH_KEYS, count))]

        def generate_key(path):
            run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                 "-out", path])

        def request(index):
            name = names[index]
            run(["openssl", "req", "-new", "-batch", "-key", keys[index % len(keys)],
                 "-subj", f"/O=smimegw Test/CN=Bench {name[5:]}/emailAddress={name}@{DOMAIN}",
                 "-out", os.path.join(pki, name + ".csr")])

        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            list(pool.map(generate_key, keys))
            list(pool.map(request, range(count)))

        config = os.path.join(pki, "ca.cnf")
        state = os.path.join(self.env["PKI_DIR"], "ca", "intermediate")
        with open(config, "w", encoding="ascii") as file:
            file.write(CA_CONFIG.format(state=state, newcerts=newcerts,
                                        ocsp_url=self.env["OCSP_URL"],
                                        crl_url=self.env["CRL_URL"]))
        run(["openssl", "ca", "-batch", "-config", config, "-extensions", "bench_smime",
             "-cert", self.env["INTERMEDIATE_CA_CERT"], "-keyfile", self.env["INTERMEDIATE_CA_KEY"],
             "-days", "30", "-notext", "-out", os.path.join(pki, "last.pem"), "-infiles"]
            + [os.path.join(pki, name + ".csr") for name in names])
        # openssl ca writes each certificate to new_certs_dir as SERIAL.pem
        # and a line "V expiry  serial unknown subject" to the index.
        pems = {}
        with open(os.path.join(state, "index.txt"), encoding="utf-8") as file:
            for line in file:
                fields = line.rstrip("\n").split("\t")
                match = re.search(r"emailAddress=(bench\d+)@", fields[-1])
                if match and os.path.exists(os.path.join(newcerts, fields[3] + ".pem")):
                    with open(os.path.join(newcerts, fields[3] + ".pem"), encoding="ascii") as pem:
                        pems[match.group(1)] = pem.read()
        if len(pems) != count:
            raise RuntimeError(f"openssl ca issued {len(pems)} certificates, expected {count}")

        ldif_lines = []
        for name in names:
            pem = pems[name]
            pem_path = os.path.join(pki, name + ".pem")
            der_path = os.path.join(pki, name + ".der")
            with open(pem_path, "w", encoding="ascii") as file:
                file.write(pem)
            with open(der_path, "wb") as file:
                file.write(ssl.PEM_cert_to_DER_cert(pem))
            ldif_lines += [f"dn: uid={name},{self.env['LDAP_PEOPLE_BASE']}",
                           "objectClass: inetOrgPerson", f"uid: {name}",
                           f"cn: Bench {name[5:]}", "sn: Bench", f"mail: {name}@{DOMAIN}",
                           f"userSMIMECertificate:< file://{der_path}", ""]
            self.bench_users.append((f"{name}@{DOMAIN}", pem_path))
        ldif = os.path.join(pki, "users.ldif")
        with open(ldif, "w", encoding="ascii") as file:
            file.write("\n".join(ldif_lines))
        password_file = os.path.join(pki, "admin.pass")
        with open(password_file, "w", encoding="ascii") as file:
            file.write(self.env["LDAP_ADMIN_PASSWORD"])
        run(["ldapadd", "-x", "-H", self.env["LDAP_URI"], "-D", self.env["LDAP_ADMIN_DN"],
             "-y", password_file, "-f", ldif])

    # -- daemons ----------------------------------------------------------

    def daemon_config(self, path, store, log_file, threads):
        """Write a copy of the test environment's daemon configuration for
        benchmarking: threads worker threads (0: the daemon's default), log
        level info into log_file, the store in store, the benchmark's bearer
        token and the default cache settings."""
        with open(self.env["SMIMEGW_CONFIG"], encoding="utf-8") as file:
            config = json.load(file)
        base = self.env_dir

        def absolute(value):
            return value if os.path.isabs(value) else os.path.join(base, value)

        if threads:
            config["listen"]["threads"] = threads
        else:
            config["listen"].pop("threads", None)
        config["logLevel"] = "info"
        config["logFile"] = log_file
        config["store"]["path"] = store
        config["keystore"]["path"] = absolute(config["keystore"]["path"])
        config["trust"]["anchors"] = [absolute(p) for p in config["trust"]["anchors"]]
        config["trust"]["intermediates"] = [absolute(p)
                                            for p in config["trust"].get("intermediates", [])]
        config["auth"]["bearerTokens"] = [{"tokenFile": self.token_file, "account": SIGNER,
                                           "senders": [SIGNER]}]
        # The tests turn the directory caches off and set small batches and
        # size limits; the benchmark measures the defaults.
        for directory in config["directories"]:
            for key in ("cacheTtlSeconds", "negativeCacheTtlSeconds", "cacheSize",
                        "batchSize", "sizeLimit"):
                directory.pop(key, None)
        with open(path, "w", encoding="utf-8") as file:
            json.dump(config, file, indent=2)

    def start_daemon(self, threads=None):
        """Start a daemon with a new store. threads is as in daemon_config,
        or None for the number given to the constructor."""
        self.daemon_serial += 1
        name = f"daemon{self.daemon_serial:03d}"
        store = os.path.join(self.store_dir, name + "-store")
        self.stores.append(store)
        config = os.path.join(self.work, name + ".json")
        self.daemon_config(config, store, os.path.join(self.work, "smimegw.log"),
                           self.daemon_threads if threads is None else threads)
        daemon = Daemon(os.path.join(self.build, "smimegw"), config, self.env["SMIMEGW_URL"],
                        store, os.path.join(self.work, name + ".err"),
                        remove_store=self.stores_in_memory)
        daemon.start()
        return daemon


class Daemon:
    """One smimegw process with a store of its own, stopped by its PID."""

    def __init__(self, binary, config, url, store, error_file, remove_store=False):
        self.binary = binary
        self.remove_store = remove_store
        self.error_file = error_file
        self.config = config
        self.url = url
        self.store = store
        self.proc = None
        self.account_id = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        with open(self.error_file, "wb") as errors:
            self.proc = subprocess.Popen([self.binary, "serve", "--config", self.config],
                                         stdin=subprocess.DEVNULL, stdout=errors,
                                         stderr=errors)
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"smimegw exited with status {self.proc.returncode}; "
                                   f"see {self.error_file}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("smimegw did not answer /health")
        session = json.loads(self.request("GET", "/.well-known/jmap"))
        self.account_id = session["primaryAccounts"]["urn:ietf:params:jmap:mail"]

    def request(self, method, path, body=None, content_type="application/json"):
        req = urllib.request.Request(self.url + path, data=body, method=method)
        req.add_header("Authorization", "Bearer " + BENCH_TOKEN)
        if body is not None:
            req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.read()

    def upload(self, data):
        answer = self.request("POST", f"/jmap/upload/{self.account_id}/", data,
                              "application/octet-stream")
        return json.loads(answer)["blobId"]

    def create(self, body):
        """Send one request body; return the stored message's bytes."""
        answer = json.loads(self.request("POST", "/jmap/api", body))
        name, result, _ = answer["methodResponses"][0]
        created = result.get("created") or {}
        if name != "Email/set" or len(created) != 1:
            raise RuntimeError(f"Email/set failed: {json.dumps(answer)[:2000]}")
        blob_id = next(iter(created.values()))["blobId"]
        return self.request("GET", f"/jmap/download/{self.account_id}/{blob_id}/m.eml")

    def peak_rss_kb(self):
        return read_status_kb(self.pid, "VmHWM")

    def rss_kb(self):
        return read_status_kb(self.pid, "VmRSS")

    def cpu_times(self):
        return cpu_times(self.pid)

    def stop(self):
        """Stop with SIGTERM, and remove the store if remove_store was
        given (otherwise BenchEnv.stop does)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.remove_store:
            shutil.rmtree(self.store, ignore_errors=True)

