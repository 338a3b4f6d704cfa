"""Revocation checking against the test environment's OCSP responder, CRL
server and directory: revoked recipients, CAs and signers, CRLs over HTTP
and LDAP, responder outages under hard-fail and soft-fail, a responder
that is not authorised, and the cache. Tests that need another policy, or
an empty cache, start their own daemon from a copy of the configuration."""

import json
import os
import re
import subprocess
import time
import unittest

import harness
from harness import ENV, Client

TESTENV = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts", "testenv")


def address(name):
    return {"name": name.capitalize(), "email": ENV[f"{name}_EMAIL"]}


def text_create(to, sender="ALICE"):
    return {
        "mailboxIds": {"drafts": True},
        "from": [address(sender)],
        "to": to,
        "subject": "Revocation check",
        "textBody": [{"partId": "t", "type": "text/plain"}],
        "bodyValues": {"t": {"value": "Hello,\nthe numbers are in.\n"}},
    }


def serial_of(name):
    """Return the serial number of NAME's certificate in upper-case hex, as
    the responder logs it."""
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", ENV[f"{name}_CERT"]],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1].upper()


def intermediate_serial():
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in",
                          ENV["INTERMEDIATE_CA_CERT"]],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1].upper()


def read(path):
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return f.read()


def ocsp_requests(serial):
    """Return the responder's log lines about serial."""
    return [line for line in read(ENV["OCSP_LOG"]).splitlines()
            if re.search(rf"serials=(\S*,)?{serial}(,|\s)", line)]


def crl_downloads(name):
    return [line for line in read(ENV["CRL_LOG"]).splitlines()
            if f"path=/{name}.crl status=200" in line]


def testenv(command):
    subprocess.run([TESTENV, command, ENV["WORKDIR"]], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class DerivedDaemon:
    """A second smimegw on its own port, store and log file, with the test
    environment's configuration changed by revocation (merged into the
    "revocation" section) and directory (merged into the directory, where
    None removes an option)."""

    def __init__(self, name, revocation=None, directory=None):
        with open(ENV["SMIMEGW_CONFIG"]) as f:
            config = json.load(f)
        port = harness.free_port()
        config["listen"]["port"] = port
        config["store"] = {"path": f"store-{name}"}
        config["logFile"] = f"smimegw-{name}.log"
        config.setdefault("revocation", {}).update(revocation or {})
        for key, value in (directory or {}).items():
            if value is None:
                config["directories"][0].pop(key, None)
            else:
                config["directories"][0][key] = value
        self.log_path = os.path.join(ENV["WORKDIR"], f"smimegw-{name}.log")
        self.config_path = os.path.join(ENV["WORKDIR"], f"smimegw-{name}.json")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)
        self.url = f"http://127.0.0.1:{port}"
        self.daemon = harness.Daemon(ENV["SMIMEGW_BIN"], self.config_path, self.url,
                                     os.path.join(ENV["WORKDIR"], f"smimegw-{name}.stdout"))

    def start(self):
        self.daemon.start()
        return self

    def stop(self):
        self.daemon.stop()

    def client(self, name="ALICE"):
        return Client(self.url, ENV[f"{name}_EMAIL"], ENV[f"{name}_PASSWORD"])

    def log(self):
        return read(self.log_path)


class RevocationTestCase(unittest.TestCase):
    url = None  # the test environment's daemon unless a class sets one

    def client(self, name="ALICE"):
        return Client(self.url or ENV["SMIMEGW_URL"], ENV[f"{name}_EMAIL"],
                      ENV[f"{name}_PASSWORD"])

    def create(self, to, sender="ALICE", **smime):
        """Send one create; return (created entry or None, SetError or None)."""
        result = self.client(sender).email_set({"c1": text_create(to, sender)}, **smime)
        return ((result.get("created") or {}).get("c1"),
                (result.get("notCreated") or {}).get("c1"))

    def assert_created(self, to, sender="ALICE", **smime):
        created, error = self.create(to, sender, **smime)
        self.assertIsNone(error)
        self.assertIsNotNone(created)
        return created

    def assert_revoked(self, name):
        created, error = self.create([address(name)], smimeEncrypt=True)
        self.assertIsNone(created)
        self.assertEqual(error["type"], "validEncryptionKeyNotFound")
        self.assertEqual(error["invalidRecipients"],
                         [{"email": ENV[f"{name}_EMAIL"], "reason": "revoked"}])
        return error


class RevokedTest(RevocationTestCase):
    """The environment's daemon: policy ocsp-then-crl, hard-fail."""

    def test_good_via_ocsp(self):
        self.assert_created([address("BOB")], smimeEncrypt=True)
        lines = ocsp_requests(serial_of("BOB"))
        self.assertTrue(lines, "the responder was never asked about BOB")
        self.assertIn("ca=intermediate", lines[-1])
        self.assertIn("status=good", lines[-1])

    def test_revoked_via_ocsp(self):
        self.assert_revoked("REVOKED")
        lines = ocsp_requests(serial_of("REVOKED"))
        self.assertTrue(lines, "the responder was never asked about REVOKED")
        self.assertIn("status=revoked", lines[-1])
        log = read(os.path.join(ENV["WORKDIR"], "smimegw.log"))
        self.assertRegex(log, rf"reason keyCompromise, according to OCSP responder "
                              rf"{re.escape(ENV['OCSP_URL'])}/intermediate")

    def test_revoked_via_ldap_cdp(self):
        self.assert_revoked("LDAPCRL_REVOKED")
        self.assertEqual(ocsp_requests(serial_of("LDAPCRL_REVOKED")), [])
        log = read(os.path.join(ENV["WORKDIR"], "smimegw.log"))
        self.assertIn(f"according to CRL {ENV['LDAP_CRL_URL']}", log)

    def test_revoked_intermediate(self):
        error = self.assert_revoked("UNDER_REVOKED_CA")
        self.assertIn(ENV["UNDER_REVOKED_CA_EMAIL"], error["description"])
        lines = ocsp_requests(serial_of("UNDER_REVOKED_CA"))
        self.assertEqual(lines, [], "the leaf is not asked about once its CA is revoked")

    def test_revoked_among_good_recipients(self):
        created, error = self.create([address("BOB"), address("REVOKED")], smimeEncrypt=True)
        self.assertIsNone(created)
        self.assertEqual(error["type"], "validEncryptionKeyNotFound")
        self.assertEqual(error["invalidRecipients"],
                         [{"email": ENV["REVOKED_EMAIL"], "reason": "revoked"}])

    def test_revoked_signer_blocks_sign(self):
        created, error = self.create([address("BOB")], sender="REVOKED", smimeSign=True)
        self.assertIsNone(created)
        self.assertEqual(error["type"], "signedSenderNotAllowed")
        self.assertIn("revoked", error["description"])
        self.assertIn("keyCompromise", error["description"])
        self.assertIn(serial_of("REVOKED"), error["description"])

    def test_lookup_shows_revoked(self):
        proc = subprocess.run([ENV["SMIMEGW_BIN"], "lookup", "--config", ENV["SMIMEGW_CONFIG"],
                               ENV["REVOKED_EMAIL"]], capture_output=True, text=True,
                              check=False)
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("verdict=revoked", proc.stdout)

    def test_second_request_from_cache(self):
        serial = serial_of("CAROL")
        self.assert_created([address("CAROL")], smimeEncrypt=True)
        before = len(ocsp_requests(serial))
        self.assertGreaterEqual(before, 1)
        self.assert_created([address("CAROL")], smimeEncrypt=True)
        self.assert_created([address("CAROL")], smimeSign=True, smimeEncrypt=True)
        self.assertEqual(len(ocsp_requests(serial)), before)


class CrlPolicyTest(RevocationTestCase):
    """policy crl: no OCSP, CRLs over HTTP."""

    @classmethod
    def setUpClass(cls):
        cls.derived = DerivedDaemon("crl", {"policy": "crl"}).start()
        cls.url = cls.derived.url

    @classmethod
    def tearDownClass(cls):
        cls.derived.stop()

    def test_revoked_via_crl_over_http(self):
        ocsp_before = len(ocsp_requests(serial_of("REVOKED")))
        self.assert_revoked("REVOKED")
        self.assertEqual(len(ocsp_requests(serial_of("REVOKED"))), ocsp_before)
        self.assertTrue(crl_downloads("intermediate"))
        self.assertIn(f"according to CRL {ENV['CRL_URL']}/intermediate.crl",
                      self.derived.log())

    def test_good_via_crl_over_http(self):
        self.assert_created([address("BOB")], smimeEncrypt=True)


class OcspPostTest(RevocationTestCase):
    """ocspGet false: every request is POSTed."""

    @classmethod
    def setUpClass(cls):
        cls.derived = DerivedDaemon("post", {"ocspGet": False}).start()
        cls.url = cls.derived.url

    @classmethod
    def tearDownClass(cls):
        cls.derived.stop()

    def test_good_via_ocsp_post(self):
        self.assert_created([address("DAVE")], smimeEncrypt=True)
        lines = ocsp_requests(serial_of("DAVE"))
        self.assertTrue(lines)
        self.assertIn("method=POST", lines[-1])


class OcspDownTest(RevocationTestCase):
    """The OCSP responder is stopped: the CRLs give the status instead."""

    @classmethod
    def setUpClass(cls):
        testenv("ocsp-stop")
        try:
            cls.derived = DerivedDaemon("ocsp-down").start()
        except Exception:
            testenv("ocsp-start")
            raise
        cls.url = cls.derived.url

    @classmethod
    def tearDownClass(cls):
        try:
            cls.derived.stop()
        finally:
            testenv("ocsp-start")

    def test_good_via_crl_fallback(self):
        downloads = len(crl_downloads("intermediate"))
        self.assert_created([address("BOB")], smimeEncrypt=True)
        self.assertGreater(len(crl_downloads("intermediate")), downloads)
        log = self.derived.log()
        self.assertRegex(log, rf"OCSP responder {re.escape(ENV['OCSP_URL'])}/intermediate: "
                              rf"connecting to 127\.0\.0\.1 port \d+ failed: Connection refused")
        self.assertIn(f"according to CRL {ENV['CRL_URL']}/intermediate.crl", log)

    def test_revoked_via_crl_fallback(self):
        self.assert_revoked("REVOKED")


class CrlFromDirectoryTest(RevocationTestCase):
    """policy crl with the CRL server stopped: the CRLs in the CA entries of
    the directory (caBase) give the status."""

    @classmethod
    def setUpClass(cls):
        testenv("crl-stop")
        try:
            cls.derived = DerivedDaemon("ca-entry", {"policy": "crl"}).start()
        except Exception:
            testenv("crl-start")
            raise
        cls.url = cls.derived.url

    @classmethod
    def tearDownClass(cls):
        try:
            cls.derived.stop()
        finally:
            testenv("crl-start")

    def test_good_from_ca_entry(self):
        self.assert_created([address("BOB")], smimeEncrypt=True)
        log = self.derived.log()
        self.assertIn(f"CRL {ENV['CRL_URL']}/intermediate.crl: connecting to", log)
        self.assertIn("according to the CRL in the CA entry of directory corp", log)

    def test_revoked_from_ca_entry(self):
        self.assert_revoked("REVOKED")


class DirectoryPolicyTest(RevocationTestCase):
    """A directory's own policy overrides the global one: none here."""

    @classmethod
    def setUpClass(cls):
        cls.derived = DerivedDaemon("no-revocation", directory={
            "revocation": {"policy": "none"}}).start()
        cls.url = cls.derived.url

    @classmethod
    def tearDownClass(cls):
        cls.derived.stop()

    def test_directory_policy_none(self):
        """Without revocation checks REVOKED's certificate is used, while
        signing still follows the global policy."""
        self.assert_created([address("REVOKED")], smimeEncrypt=True)
        created, error = self.create([address("BOB")], sender="REVOKED", smimeSign=True)
        self.assertIsNone(created)
        self.assertEqual(error["type"], "signedSenderNotAllowed")


class OutageTest(RevocationTestCase):
    """The OCSP responder and the CRL server are both stopped, and the
    daemons do not search the directory's CA entries for CRLs."""

    @classmethod
    def setUpClass(cls):
        testenv("ocsp-stop")
        testenv("crl-stop")
        cls.hard = cls.soft = None
        try:
            cls.hard = DerivedDaemon("hard-fail", {"unknownStatus": "hard-fail"},
                                     {"caBase": None}).start()
            cls.soft = DerivedDaemon("soft-fail", {"unknownStatus": "soft-fail"},
                                     {"caBase": None}).start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            for derived in (cls.hard, cls.soft):
                if derived is not None:
                    derived.stop()
        finally:
            testenv("ocsp-start")
            testenv("crl-start")

    def test_hard_fail_is_retryable(self):
        self.url = self.hard.url
        created, error = self.create([address("BOB")], smimeEncrypt=True)
        self.assertIsNone(created)
        self.assertEqual(error["type"], "serverUnavailable")
        self.assertNotIn("invalidRecipients", error)
        self.assertIn(f"{ENV['OCSP_URL']}/root", error["description"])
        self.assertIn(f"{ENV['CRL_URL']}/root.crl", error["description"])
        self.assertIn("retry", error["description"])

    def test_hard_fail_blocks_signing(self):
        self.url = self.hard.url
        created, error = self.create([address("BOB")], smimeSign=True)
        self.assertIsNone(created)
        self.assertEqual(error["type"], "serverUnavailable")
        self.assertIn(ENV["OCSP_URL"], error["description"])

    def test_hard_fail_keeps_permanent_errors(self):
        self.url = self.hard.url
        created, error = self.create([address("EXPIRED"), address("BOB")], smimeEncrypt=True)
        self.assertIsNone(created)
        self.assertEqual(error["type"], "validEncryptionKeyNotFound")
        self.assertEqual(error["invalidRecipients"],
                         [{"email": ENV["EXPIRED_EMAIL"], "reason": "expired"}])

    def test_soft_fail_creates_and_warns(self):
        self.url = self.soft.url
        self.assert_created([address("BOB")], smimeEncrypt=True)
        warnings = [line for line in self.soft.log().splitlines()
                    if "accepted by soft-fail" in line and ENV["BOB_EMAIL"] in line]
        self.assertTrue(warnings, "no soft-fail warning for BOB in the log")
        self.assertIn("WARN", warnings[-1].upper())
        self.assertIn(f"serial={intermediate_serial()}", warnings[-1])
        self.assertIn(f"{ENV['CRL_URL']}/root.crl", warnings[-1])

    def test_soft_fail_keeps_revoked(self):
        """Soft-fail accepts only an unknown status: LDAPCRL_REVOKED, whose
        CRL is in the directory, stays revoked while HTTP is down."""
        self.url = self.soft.url
        self.assert_revoked("LDAPCRL_REVOKED")


class UnauthorisedResponderTest(RevocationTestCase):
    """Every OCSP request goes to a responder that signs with a certificate
    lacking id-kp-OCSPSigning; its "good" must not count."""

    @classmethod
    def setUpClass(cls):
        cls.rogue_url = f"{ENV['OCSP_URL']}/rogue-intermediate"
        cls.derived = DerivedDaemon("rogue", {"policy": "ocsp",
                                              "ocspResponder": cls.rogue_url}).start()
        cls.url = cls.derived.url

    @classmethod
    def tearDownClass(cls):
        cls.derived.stop()

    def test_unauthorised_signer_rejected(self):
        serial = serial_of("BOB")
        created, error = self.create([address("BOB")], smimeEncrypt=True)
        self.assertIsNone(created)
        self.assertEqual(error["type"], "serverUnavailable")
        self.assertIn(self.rogue_url, error["description"])
        rogue = [line for line in ocsp_requests(serial) if "ca=rogue-intermediate" in line]
        self.assertTrue(rogue, "the rogue responder was not asked about BOB")
        self.assertIn("status=good", rogue[-1])
        self.assertIn("lacks id-kp-OCSPSigning", self.derived.log())


class HangingResponderTest(RevocationTestCase):
    """An OCSP responder that accepts the connection and never answers: the
    request timeout bounds the wait, and the create fails with a retryable
    error instead of hanging or claiming that the recipient has no valid
    certificate."""

    @classmethod
    def setUpClass(cls):
        from test_hardening import Blackhole

        cls.blackhole = Blackhole()
        cls.responder = f"http://127.0.0.1:{cls.blackhole.port}/ocsp"
        try:
            cls.derived = DerivedDaemon("ocsp-hang", {
                "policy": "ocsp", "unknownStatus": "hard-fail", "timeoutSeconds": 1,
                "ocspResponder": cls.responder}).start()
        except Exception:
            cls.blackhole.close()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.derived.stop()
        finally:
            cls.blackhole.close()

    def test_hanging_responder_is_retryable(self):
        self.url = self.derived.url
        created, error = self.create([address("BOB")], smimeEncrypt=True)
        self.assertIsNone(created)
        self.assertEqual(error["type"], "serverUnavailable")
        self.assertNotIn("invalidRecipients", error)
        self.assertIn(self.responder, error["description"])
        self.assertGreater(len(self.blackhole.connections), 0,
                           "the daemon never connected to the hanging responder")

    def test_daemon_serves_after_timeout(self):
        self.url = self.derived.url
        self.create([address("BOB")], smimeEncrypt=True)
        created, error = self.create([address("BOB")])
        self.assertIsNone(error)
        self.assertIsNotNone(created)


if __name__ == "__main__":
    unittest.main()
