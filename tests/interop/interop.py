"""Helpers of the interoperability tests: smimegw daemons started with other
S/MIME options than the test environment's, and the Bouncy Castle checker
(BcCheck.java), compiled once and run once over many files.

Only the Python standard library is used. The Bouncy Castle jars come from
the Debian packages libbcprov-java, libbcpkix-java and libbcutil-java.
"""

import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))

BC_JARS = ("/usr/share/java/bcprov.jar", "/usr/share/java/bcpkix.jar",
           "/usr/share/java/bcutil.jar")

# Seconds for compiling and running the checker.
BC_TIMEOUT = 300


def variant_config(base_config_path, name, port, smime=None, bearer_tokens=None):
    """Write a copy of the daemon configuration beside the original and
    return its path. The copy has its own port, store and log file, the
    given smime options and the extra bearer tokens. Relative paths resolve
    against the configuration's folder, so the keystore and trust files are
    shared."""
    with open(base_config_path, encoding="utf-8") as file:
        config = json.load(file)
    config["listen"]["port"] = port
    config["store"] = {"path": f"store-{name}"}
    config["logFile"] = f"smimegw-{name}.log"
    if smime:
        config["smime"].update(smime)
    if bearer_tokens:
        config["auth"].setdefault("bearerTokens", []).extend(bearer_tokens)
    path = os.path.join(os.path.dirname(base_config_path), f"smimegw-{name}.json")
    with open(path, "w", encoding="utf-8") as file:
        json.dump(config, file, indent=2)
    return path


class BcChecker:
    """Compiles BcCheck.java into workdir and runs it over a manifest.

    Add jobs with decrypt() and verify(), then call run() once; it returns
    {job id: (ok, details or reason, output path)}.
    """

    def __init__(self, workdir):
        self.workdir = workdir
        self.classes = os.path.join(workdir, "classes")
        self.jobs = []
        missing = [jar for jar in BC_JARS if not os.path.exists(jar)]
        if missing:
            raise RuntimeError(f"Bouncy Castle is not installed ({', '.join(missing)} missing; "
                               "Debian package libbcpkix-java)")
        os.makedirs(self.classes, exist_ok=True)
        self._run(["javac", "-cp", ":".join(BC_JARS), "-d", self.classes,
                   os.path.join(HERE, "BcCheck.java")], "compiling BcCheck.java")

    @staticmethod
    def _run(args, what):
        try:
            proc = subprocess.run(args, capture_output=True, timeout=BC_TIMEOUT, check=False)
        except FileNotFoundError as err:
            raise RuntimeError(f"{what} failed: {args[0]} not found (Debian package "
                               "default-jdk-headless)") from err
        if proc.returncode != 0:
            raise RuntimeError(f"{what} failed with exit status {proc.returncode}:\n"
                               f"{proc.stderr.decode(errors='replace')}")
        return proc

    def _write(self, name, data):
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as file:
            file.write(data)
        return path

    def decrypt(self, job_id, der, cert, key):
        """Queue decrypting DER bytes with the PEM certificate and key files."""
        source = self._write(f"{job_id}.p7m", der)
        out = os.path.join(self.workdir, f"{job_id}.out")
        self.jobs.append(("decrypt", job_id, source, cert, key, out))

    def verify(self, job_id, der, content, root):
        """Queue verifying SignedData DER bytes, with detached content bytes
        or None, against the PEM root certificate file."""
        source = self._write(f"{job_id}.p7s", der)
        content_path = "-" if content is None else self._write(f"{job_id}.content", content)
        out = os.path.join(self.workdir, f"{job_id}.out")
        self.jobs.append(("verify", job_id, source, content_path, root, out))

    def run(self):
        manifest = os.path.join(self.workdir, "manifest.tsv")
        results_path = os.path.join(self.workdir, "results.tsv")
        with open(manifest, "w", encoding="utf-8") as file:
            for job in self.jobs:
                file.write("\t".join(job) + "\n")
        classpath = ":".join(BC_JARS + (self.classes,))
        self._run(["java", "-cp", classpath, "BcCheck", manifest, results_path],
                  "running BcCheck")
        outputs = {job[1]: job[-1] for job in self.jobs}
        results = {}
        with open(results_path, encoding="utf-8") as file:
            for line in file:
                job_id, status, text = (line.rstrip("\n").split("\t", 2) + ["", ""])[:3]
                results[job_id] = (status == "OK", text, outputs.get(job_id))
        missing = [job[1] for job in self.jobs if job[1] not in results]
        if missing:
            raise RuntimeError(f"BcCheck wrote no result for {', '.join(missing[:5])}")
        return results
