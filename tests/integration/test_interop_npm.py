"""End-to-end test with a real JMAP client library from the npm registry.
jmap-jam drives a daemon through session discovery, upload, Email/set with
smimeSign and smimeEncrypt, Email/get with a creation id and a result
reference, and the download of the message. Then openssl decrypts and
verifies the message.

The packages are installed with `npm ci` from tests/interop/npm (pinned in
package-lock.json) into this run's folder, so the test needs node, npm and
the npm registry. When any of them is missing the test fails; it is never
skipped.
"""

import email
import email.policy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
NPM_DIR = os.path.join(os.path.dirname(HERE), "interop", "npm")
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "interop"))

import harness  # noqa: E402
import interop  # noqa: E402
from harness import ENV  # noqa: E402
from verifiers import Verifiers, content_type, split_message  # noqa: E402

NPM_TIMEOUT = 300
NODE_TIMEOUT = 120
SMIME = "urn:ietf:params:jmap:smime-advanced"


def run(args, cwd, env=None, timeout=NPM_TIMEOUT):
    try:
        proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, timeout=timeout,
                              check=False)
    except FileNotFoundError as err:
        raise AssertionError(f"{args[0]} not found: install node and npm (Debian packages "
                             "nodejs, npm)") from err
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed with exit status {proc.returncode}:\n"
                             f"{proc.stdout.decode(errors='replace')}\n"
                             f"{proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode()


class JmapJamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="npm-", dir=ENV["WORKDIR"])
        project = os.path.join(cls.workdir, "project")
        os.makedirs(project)
        for name in ("package.json", "package-lock.json", "e2e.mjs"):
            shutil.copy(os.path.join(NPM_DIR, name), project)
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], project)

        # jmap-jam authenticates with a bearer token, so the daemon gets one
        # for Alice's account.
        token = "npm-" + os.urandom(16).hex()
        token_file = os.path.join(ENV["TESTENV_DIR"], "npm.token")
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(token)
        port = harness.free_port()
        config = interop.variant_config(ENV["SMIMEGW_CONFIG"], "npm", port, bearer_tokens=[
            {"tokenFile": "npm.token", "account": ENV["ALICE_EMAIL"],
             "senders": [ENV["ALICE_EMAIL"]]}])
        url = f"http://127.0.0.1:{port}"
        daemon = harness.Daemon(ENV["SMIMEGW_BIN"], config, url,
                                os.path.join(ENV["WORKDIR"], "smimegw-npm.stdout"))
        daemon.start()
        try:
            env = dict(os.environ, SMIMEGW_URL=url, SMIMEGW_TOKEN=token,
                       FROM_EMAIL=ENV["ALICE_EMAIL"], TO_EMAIL=ENV["BOB_EMAIL"],
                       OUT_DIR=cls.workdir)
            output = run(["node", "e2e.mjs"], project, env=env, timeout=NODE_TIMEOUT)
        finally:
            daemon.stop()
        cls.result = json.loads(output.strip().splitlines()[-1])

    def test_session_discovery(self):
        session = self.result["session"]
        self.assertIn(SMIME, session["capabilities"])
        self.assertEqual(session["capabilities"][SMIME], {})
        account = session["accounts"][self.result["accountId"]]
        self.assertIn(SMIME, account["accountCapabilities"])
        self.assertIn("{blobId}", session["downloadUrl"])

    def test_upload(self):
        self.assertEqual(self.result["upload"]["size"], 512)
        self.assertEqual(self.result["upload"]["accountId"], self.result["accountId"])

    def test_email_set_created(self):
        created = self.result["created"]
        self.assertIsNotNone(created, self.result["set"].get("notCreated"))
        for prop in ("id", "blobId", "threadId", "size"):
            self.assertIn(prop, created)

    def test_email_get_by_creation_id_and_reference(self):
        got = self.result["get"]["list"]
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["id"], self.result["created"]["id"])
        self.assertEqual(got[0]["subject"], "Signed and encrypted by jmap-jam – Grüße")
        self.assertEqual(got[0]["to"], [{"name": "Bob, B.", "email": ENV["BOB_EMAIL"]}])
        self.assertEqual(got[0]["size"], self.result["created"]["size"])
        self.assertTrue(got[0]["hasAttachment"])
        self.assertEqual(got[0]["bodyStructure"]["type"], "application/pkcs7-mime")

    def test_download_decrypts_and_verifies(self):
        with open(self.result["downloaded"], "rb") as file:
            message = file.read()
        self.assertEqual(len(message), self.result["created"]["size"])
        self.assertEqual(content_type(split_message(message)[0])[0], "application/pkcs7-mime")
        with Verifiers(ENV, os.path.join(self.workdir, "verifiers")) as verifiers:
            signed = verifiers.openssl_decrypt(message, "BOB")
            inner = verifiers.openssl_verify(signed)
        parsed = email.message_from_bytes(inner, policy=email.policy.default)
        parts = [part for part in parsed.walk() if not part.is_multipart()]
        self.assertEqual([part.get_content_type() for part in parts],
                         ["text/plain", "application/octet-stream"])
        self.assertIn("this came through jmap-jam.", parts[0].get_content())
        with open(os.path.join(self.workdir, "attachment.bin"), "rb") as file:
            self.assertEqual(parts[1].get_content(), file.read())
        self.assertEqual(parts[1].get_filename(), "bytes.bin")
