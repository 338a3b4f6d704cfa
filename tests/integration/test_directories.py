"""Certificate lookups in two real directories: domain routing, failover,
StartTLS and ldaps://, certificate formats, several certificates and
entries per address, filter injection, one search for many recipients,
the lookup cache, address matching and the lookup command's output.

The partner slapd of the test environment logs every operation, so the
searches it served are counted on the server side."""

import json
import os
import re
import subprocess
import threading
import time
import unittest
import uuid

import harness
from harness import ENV, Client

TESTENV = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "scripts", "testenv")


def read(path):
    if not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return f.read()


def serial_of(path):
    out = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in", path],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1].upper()


def partner_searches(marker):
    """Return the filters of the partner slapd's searches that contain
    marker, with the number of entries each returned."""
    ops = {}
    found = []
    for line in read(ENV["LDAP2_LOG"]).splitlines():
        m = re.search(r"(conn=\d+ op=\d+) SRCH base=\"[^\"]*\" .*filter=\"(.*)\"$", line)
        if m and marker in m.group(2):
            ops[m.group(1)] = m.group(2)
            continue
        m = re.search(r"(conn=\d+ op=\d+) SEARCH RESULT .*err=(\d+).*nentries=(\d+)", line)
        if m and m.group(1) in ops:
            found.append((ops.pop(m.group(1)), int(m.group(2)), int(m.group(3))))
    return found


def load_config():
    with open(ENV["SMIMEGW_CONFIG"]) as f:
        return json.load(f)


def partner_of(config):
    return next(d for d in config["directories"] if d["name"] == "partner")


def write_config(name, config):
    """Write config beside the test environment's, so that its relative
    paths still resolve, and return its path."""
    path = os.path.join(ENV["WORKDIR"], f"smimegw-{name}.json")
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return path


def partner_config(name, **changes):
    """Return the path of a configuration whose partner directory has the
    options in changes (None removes one)."""
    config = load_config()
    partner = partner_of(config)
    for key, value in changes.items():
        if value is None:
            partner.pop(key, None)
        else:
            partner[key] = value
    return write_config(name, config)


def lookup(*addresses, config=None, json_output=False):
    """Run smimegw lookup; return (exit status, stdout, stderr)."""
    args = [ENV["SMIMEGW_BIN"], "lookup", "--config", config or ENV["SMIMEGW_CONFIG"]]
    if json_output:
        args.append("--json")
    proc = subprocess.run(args + list(addresses), capture_output=True, text=True,
                          timeout=120, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def lookup_json(test, *addresses, config=None, expect=None):
    status, out, err = lookup(*addresses, config=config, json_output=True)
    if expect is not None:
        test.assertEqual(status, expect, out + err)
    report = json.loads(out)
    test.assertEqual(report["exitStatus"], status)
    return {a["address"]: a for a in report["addresses"]}


def dead_uri():
    return f"ldap://127.0.0.1:{harness.free_port()}/"


def text_create(to, sender="ALICE", subject="Directory test"):
    return {
        "mailboxIds": {"drafts": True},
        "from": [{"email": ENV[f"{sender}_EMAIL"]}],
        "to": [{"email": address} for address in to],
        "subject": subject,
        "textBody": [{"partId": "t", "type": "text/plain"}],
        "bodyValues": {"t": {"value": "Hello,\nthe numbers are in.\n"}},
    }


def client(name="ALICE", url=None):
    return Client(url or ENV["SMIMEGW_URL"], ENV[f"{name}_EMAIL"], ENV[f"{name}_PASSWORD"])


def openssl_decrypt(message, name):
    """Decrypt message with NAME's certificate and key; return the content."""
    proc = subprocess.run(["openssl", "cms", "-decrypt", "-inform", "SMIME",
                           "-recip", ENV[f"{name}_CERT"], "-inkey", ENV[f"{name}_KEY"]],
                          input=message, capture_output=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"openssl cms -decrypt as {name} failed: {proc.stderr!r}")
    return proc.stdout


class RoutingTest(unittest.TestCase):
    """corp.example goes to the corp directory, partner.example and the
    internationalised domain to the partner directory over StartTLS."""

    def test_message_to_both_domains(self):
        alice = client()
        result = alice.email_set({"c": text_create([ENV["BOB_EMAIL"], ENV["ERIN_EMAIL"],
                                                    ENV["FRANK_EMAIL"]])},
                                 smimeEncrypt=True)
        self.assertIn("c", result.get("created") or {}, result.get("notCreated"))
        message = alice.download(result["created"]["c"]["blobId"]).body
        for name in ("BOB", "ERIN", "FRANK", "ALICE"):
            self.assertIn(b"the numbers are in", openssl_decrypt(message, name))

    def test_each_address_from_its_directory(self):
        reports = lookup_json(self, ENV["ALICE_EMAIL"], ENV["ERIN_EMAIL"], expect=0)
        self.assertEqual(reports[ENV["ALICE_EMAIL"]]["candidates"][0]["directory"], "corp")
        self.assertEqual(reports[ENV["ERIN_EMAIL"]]["candidates"][0]["directory"], "partner")

    def test_unserved_domain_has_no_directory(self):
        reports = lookup_json(self, "someone@elsewhere.example", expect=1)
        report = reports["someone@elsewhere.example"]
        self.assertEqual(report["reason"], "noCertificate")
        self.assertIn("no directory is configured", report["detail"])

    def test_idn_domain_in_every_form(self):
        forms = [f"jose@{ENV['IDN_DOMAIN']}", f"jose@{ENV['IDN_DOMAIN_ASCII']}",
                 f"JOSE@{ENV['IDN_DOMAIN'].upper()}"]
        reports = lookup_json(self, *forms, expect=0)
        serial = serial_of(ENV["JOSE_CERT"])
        for form in forms:
            self.assertEqual(reports[form]["status"], "usable", reports[form])
            self.assertEqual(reports[form]["candidates"][0]["serial"], serial)

    def test_idn_recipient_in_jmap(self):
        alice = client()
        result = alice.email_set({"c": text_create([f"jose@{ENV['IDN_DOMAIN']}"])},
                                 smimeEncrypt=True)
        self.assertIn("c", result.get("created") or {}, result.get("notCreated"))
        message = alice.download(result["created"]["c"]["blobId"]).body
        self.assertIn(b"the numbers are in", openssl_decrypt(message, "JOSE"))

    def test_intermediate_from_ca_entry(self):
        # The partner CA is neither in trust.intermediates nor in ERIN's
        # entry: only the partner directory's CA entry has it.
        reports = lookup_json(self, ENV["ERIN_EMAIL"], expect=0)
        chosen = reports[ENV["ERIN_EMAIL"]]["candidates"][0]
        self.assertEqual(chosen["verdict"], "ok")
        self.assertIn("CA entries of directory partner", chosen["detail"])
        config = load_config()
        partner_of(config).pop("caBase")
        reports = lookup_json(self, ENV["ERIN_EMAIL"],
                              config=write_config("no-cabase", config), expect=1)
        self.assertEqual(reports[ENV["ERIN_EMAIL"]]["reason"], "untrusted")


class FailoverTest(unittest.TestCase):
    def test_dead_uri_then_live_one(self):
        dead = dead_uri()
        config = partner_config("failover", uris=[dead, ENV["LDAP2_URI"]])
        reports = lookup_json(self, ENV["ERIN_EMAIL"], ENV["FRANK_EMAIL"], config=config,
                              expect=0)
        self.assertEqual(reports[ENV["ERIN_EMAIL"]]["status"], "usable")

    def test_only_dead_uris_is_unavailable(self):
        dead = dead_uri()
        config = partner_config("dead", uris=[dead])
        reports = lookup_json(self, ENV["ERIN_EMAIL"], config=config, expect=2)
        report = reports[ENV["ERIN_EMAIL"]]
        self.assertEqual(report["status"], "unavailable")
        self.assertIn(dead, report["detail"])
        self.assertNotEqual(report["reason"], "ok")


class TlsTest(unittest.TestCase):
    def test_starttls_with_test_ca(self):
        config = partner_config("starttls", uris=[ENV["LDAP2_URI"]], startTls=True,
                                caFile=ENV["LDAP_TLS_CA_CERT"])
        lookup_json(self, ENV["ERIN_EMAIL"], config=config, expect=0)

    def test_ldaps_with_test_ca(self):
        config = partner_config("ldaps", uris=[ENV["LDAP2_LDAPS_URI"]], startTls=False,
                                caFile=ENV["LDAP_TLS_CA_CERT"])
        lookup_json(self, ENV["ERIN_EMAIL"], config=config, expect=0)

    def test_wrong_ca_is_refused(self):
        for name, uri, starttls in (("ldaps-wrong-ca", ENV["LDAP2_LDAPS_URI"], False),
                                    ("starttls-wrong-ca", ENV["LDAP2_URI"], True)):
            with self.subTest(uri=uri):
                config = partner_config(name, uris=[uri], startTls=starttls,
                                        caFile=ENV["UNTRUSTED_ROOT_CERT"])
                reports = lookup_json(self, ENV["ERIN_EMAIL"], config=config, expect=2)
                report = reports[ENV["ERIN_EMAIL"]]
                self.assertEqual(report["status"], "unavailable")
                self.assertIn("TLS", report["detail"])


class FormatsTest(unittest.TestCase):
    """DER (ALICE, BOB's userCertificate;binary), PEM (ERIN), PKCS#7 with
    the chain (CAROL, FRANK) and an entry with all three (FRANK)."""

    def test_every_value_form(self):
        names = ("ALICE", "BOB", "CAROL", "ERIN", "FRANK")
        reports = lookup_json(self, *(ENV[f"{n}_EMAIL"] for n in names), expect=0)
        for name in names:
            report = reports[ENV[f"{name}_EMAIL"]]
            chosen = [c for c in report["candidates"] if c["chosen"]]
            self.assertEqual(len(chosen), 1, report)
            self.assertEqual(chosen[0]["serial"], serial_of(ENV[f"{name}_CERT"]), name)
        self.assertEqual(reports[ENV["BOB_EMAIL"]]["candidates"][0]["attribute"],
                         "userCertificate;binary")

    def test_entry_with_several_certificates(self):
        report = lookup_json(self, ENV["FRANK_EMAIL"], expect=0)[ENV["FRANK_EMAIL"]]
        verdicts = sorted((c["attribute"], c["verdict"]) for c in report["candidates"])
        self.assertEqual(verdicts, [("userCertificate;binary", "expired"),
                                    ("userSMIMECertificate", "keyUsage"),
                                    ("userSMIMECertificate", "ok")])
        self.assertEqual(sum(c["chosen"] for c in report["candidates"]), 1)


class SeveralEntriesTest(unittest.TestCase):
    """twin@partner.example is the mail of two entries; the second entry's
    certificate is issued to twin-b@partner.example."""

    def test_only_certificates_naming_the_address(self):
        twin = ENV["TWIN_A_EMAIL"]
        report = lookup_json(self, twin, expect=0)[twin]
        self.assertEqual(len(report["candidates"]), 1, report)
        self.assertEqual(report["candidates"][0]["dn"], ENV["TWIN_A_DN"])
        self.assertEqual(report["candidates"][0]["serial"], serial_of(ENV["TWIN_A_CERT"]))

    def test_other_entry_keeps_its_own(self):
        own = ENV["TWIN_B_OWN_EMAIL"]
        reports = lookup_json(self, ENV["TWIN_A_EMAIL"], own, expect=0)
        self.assertEqual(reports[own]["candidates"][0]["dn"], ENV["TWIN_B_DN"])
        self.assertEqual(reports[ENV["TWIN_A_EMAIL"]]["candidates"][0]["dn"], ENV["TWIN_A_DN"])


class InjectionTest(unittest.TestCase):
    """Filter metacharacters in addresses are escaped (RFC 4515), so they
    match nothing, and they are no error of the server."""

    def test_wildcard_and_filter_in_jmap(self):
        alice = client()
        for bad in ("*@corp.example", '"a*)(mail=*"@corp.example', "*@partner.example"):
            with self.subTest(address=bad):
                result = alice.email_set({"c": text_create([bad])}, smimeEncrypt=True)
                error = result["notCreated"]["c"]
                self.assertEqual(error["type"], "validEncryptionKeyNotFound", error)
                self.assertEqual(error["invalidRecipients"],
                                 [{"email": bad, "reason": "noCertificate"}])

    def test_nul_byte_in_jmap(self):
        alice = client()
        body = json.dumps({"using": harness.JMAP_USING, "methodCalls": [
            ["Email/set", {"accountId": alice.account_id, "smimeEncrypt": True,
                           "create": {"c": text_create(["a\u0000b@corp.example"])}}, "0"]]})
        resp = alice.request("POST", "/jmap/api", body.encode(), "application/json")
        self.assertEqual(resp.status, 200, resp.body)
        name, result, _ = resp.json()["methodResponses"][0]
        # Rejected as input before any lookup: the client's error, which
        # names the place of the NUL, not a failure of the server.
        self.assertEqual(name, "error", result)
        self.assertEqual(result["type"], "invalidArguments")
        self.assertIn("/create/c/to/0/email", result["description"])

    def test_wildcard_escaped_on_the_server(self):
        marker = uuid.uuid4().hex[:8]
        bad = [f"*{marker}@partner.example", f'"a*)(mail=*{marker}"@partner.example']
        status, out, err = lookup(*bad)
        self.assertEqual(status, 1, out + err)
        self.assertEqual(out.count("no valid certificate"), 2, out)
        searches = partner_searches(marker)
        self.assertEqual(len(searches), 1, searches)
        search_filter, result, entries = searches[0]
        self.assertEqual((result, entries), (0, 0), search_filter)
        self.assertNotIn("*", search_filter)


class BatchTest(unittest.TestCase):
    """200 recipients cost one search per 50 addresses."""

    def addresses(self, marker):
        known = [ENV[f"{n}_EMAIL"] for n in ("ERIN", "FRANK", "TWIN_A", "JOSE", "MIXED")]
        unknown = [f"bulk-{marker}-{i}@partner.example" for i in range(195)]
        return known, unknown

    def test_jmap_create_with_200_recipients(self):
        marker = uuid.uuid4().hex[:8]
        known, unknown = self.addresses(marker)
        alice = client()
        result = alice.email_set({"c": text_create(unknown[:100] + known + unknown[100:])},
                                 smimeEncrypt=True)
        error = result["notCreated"]["c"]
        self.assertEqual(error["type"], "validEncryptionKeyNotFound")
        self.assertEqual(sorted(r["email"] for r in error["invalidRecipients"]),
                         sorted(unknown))
        self.assertTrue(all(r["reason"] == "noCertificate" for r in error["invalidRecipients"]))
        searches = partner_searches(f"bulk-{marker}-")
        self.assertGreaterEqual(len(searches), 4, searches)
        self.assertLessEqual(len(searches), 5, [f[:80] for f, _, _ in searches])

    def test_lookup_with_200_addresses(self):
        marker = uuid.uuid4().hex[:8]
        known, unknown = self.addresses(marker)
        reports = lookup_json(self, *(known + unknown), expect=1)
        for address in known:
            self.assertEqual(reports[address]["status"], "usable", reports[address])
        for address in unknown:
            self.assertEqual(reports[address]["reason"], "noCertificate")
        searches = partner_searches(f"bulk-{marker}-")
        # Four chunks of at most 50 addresses: the known ones share them.
        self.assertEqual(len(searches), 4, [f[:80] for f, _, _ in searches])
        self.assertEqual(sum(entries for _, _, entries in searches), len(known) + 1)

    def test_size_limit_splits_the_search(self):
        marker = uuid.uuid4().hex[:8]
        config = partner_config("sizelimit3", sizeLimit=3)
        known = [ENV[f"{n}_EMAIL"] for n in ("ERIN", "FRANK", "JOSE", "MIXED")]
        extra = f"split-{marker}@partner.example"
        reports = lookup_json(self, *known, extra, config=config, expect=1)
        for address in known:
            self.assertEqual(reports[address]["status"], "usable", reports[address])
        self.assertEqual(reports[extra]["reason"], "noCertificate")
        self.assertGreater(len(partner_searches(marker)), 1)


class LimitAndReferralTest(unittest.TestCase):
    """A size limit or a referral is "unavailable", never "no certificate"."""

    def test_size_limit_on_one_address(self):
        config = partner_config("sizelimit1", sizeLimit=1)
        twin = ENV["TWIN_A_EMAIL"]
        report = lookup_json(self, twin, config=config, expect=2)[twin]
        self.assertEqual(report["status"], "unavailable")
        self.assertIn("Size limit exceeded", report["detail"])

    def test_referral(self):
        config = partner_config("referral", base="ou=people,dc=elsewhere,dc=example")
        report = lookup_json(self, ENV["ERIN_EMAIL"], config=config,
                             expect=2)[ENV["ERIN_EMAIL"]]
        self.assertEqual(report["status"], "unavailable")
        self.assertIn("Referral", report["detail"])

    def test_unavailable_directory_in_jmap(self):
        # The second directory serves the domain but cannot be reached.
        config = load_config()
        partner_of(config)["uris"] = [dead_uri()]
        port = harness.free_port()
        config["listen"]["port"] = port
        config["store"] = {"path": "store-deadpartner"}
        config["logFile"] = "smimegw-deadpartner.log"
        path = write_config("deadpartner", config)
        daemon = harness.Daemon(ENV["SMIMEGW_BIN"], path, f"http://127.0.0.1:{port}",
                                os.path.join(ENV["WORKDIR"], "smimegw-deadpartner.stdout"))
        daemon.start()
        try:
            alice = client(url=daemon.url)
            result = alice.email_set({"c": text_create([ENV["BOB_EMAIL"], ENV["ERIN_EMAIL"]])},
                                     smimeEncrypt=True)
            error = result["notCreated"]["c"]
            self.assertEqual(error["type"], "serverUnavailable", error)
            self.assertIn(ENV["ERIN_EMAIL"], error["description"])
            self.assertIn("partner", error["description"])
            result = alice.email_set({"c": text_create([ENV["ERIN_EMAIL"], "nobody@corp.example"])},
                                     smimeEncrypt=True)
            error = result["notCreated"]["c"]
            self.assertEqual(error["type"], "validEncryptionKeyNotFound", error)
            self.assertEqual(error["invalidRecipients"],
                             [{"email": "nobody@corp.example", "reason": "noCertificate"}])
            self.assertIn(ENV["ERIN_EMAIL"], error["description"])
        finally:
            daemon.stop()


class CacheTest(unittest.TestCase):
    """A daemon whose partner directory keeps found results for 300 s and
    not-found results for 2 s."""

    @classmethod
    def setUpClass(cls):
        config = load_config()
        partner = partner_of(config)
        partner["cacheTtlSeconds"] = 300
        partner["negativeCacheTtlSeconds"] = 2
        port = harness.free_port()
        config["listen"]["port"] = port
        config["store"] = {"path": "store-cache"}
        config["logFile"] = "smimegw-cache.log"
        path = write_config("cache", config)
        cls.daemon = harness.Daemon(ENV["SMIMEGW_BIN"], path, f"http://127.0.0.1:{port}",
                                    os.path.join(ENV["WORKDIR"], "smimegw-cache.stdout"))
        cls.daemon.start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()

    def send(self, recipients):
        return client(url=self.daemon.url).email_set({"c": text_create(recipients)},
                                                      smimeEncrypt=True)

    def test_found_result_is_reused(self):
        marker = uuid.uuid4().hex[:8]
        # The marker address makes each search recognisable in the log.
        probe = f"cache-{marker}@partner.example"
        self.send([ENV["ERIN_EMAIL"], probe])
        first = partner_searches(marker)
        self.assertEqual(len(first), 1)
        self.assertIn(ENV["ERIN_EMAIL"], first[0][0])
        time.sleep(2.5)
        self.send([ENV["ERIN_EMAIL"], probe])
        second = partner_searches(marker)
        self.assertEqual(len(second), 2)
        # The not-found probe expired and was searched again, ERIN was not.
        self.assertNotIn(ENV["ERIN_EMAIL"], second[1][0])
        result = self.send([ENV["ERIN_EMAIL"]])
        self.assertIn("c", result.get("created") or {}, result.get("notCreated"))

    def test_not_found_result_is_reused(self):
        marker = uuid.uuid4().hex[:8]
        probe = f"neg-{marker}@partner.example"
        for _ in range(3):
            result = self.send([probe])
            self.assertEqual(result["notCreated"]["c"]["type"], "validEncryptionKeyNotFound")
        self.assertEqual(len(partner_searches(marker)), 1)


    def test_parallel_requests_share_one_search(self):
        marker = uuid.uuid4().hex[:8]
        probe = f"parallel-{marker}@partner.example"
        results = []

        def run():
            results.append(self.send([ENV["FRANK_EMAIL"], probe]))
        threads = [threading.Thread(target=run) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(len(results), 8)
        for result in results:
            error = result["notCreated"]["c"]
            self.assertEqual(error["invalidRecipients"],
                             [{"email": probe, "reason": "noCertificate"}])
        # Requests that came while the search ran waited for it; later ones
        # found the not-found result in the cache.
        self.assertEqual(len(partner_searches(marker)), 1)


class MatchingTest(unittest.TestCase):
    """MIXED's mail and certificate are Mixed.Case@partner.example."""

    def test_local_part_ignores_case_by_default(self):
        reports = lookup_json(self, "mixed.case@partner.example",
                              "MIXED.CASE@Partner.Example", expect=0)
        for report in reports.values():
            self.assertEqual(report["candidates"][0]["dn"], ENV["MIXED_DN"])

    def test_case_sensitive_local_part(self):
        config = partner_config("case", caseSensitiveLocalPart=True)
        reports = lookup_json(self, "mixed.case@partner.example", ENV["MIXED_EMAIL"],
                              "Mixed.Case@PARTNER.example", config=config, expect=1)
        self.assertEqual(reports["mixed.case@partner.example"]["reason"], "noCertificate")
        self.assertEqual(reports[ENV["MIXED_EMAIL"]]["status"], "usable")
        self.assertEqual(reports["Mixed.Case@PARTNER.example"]["status"], "usable")


class LookupOutputTest(unittest.TestCase):
    """smimegw lookup for a good, an expired and an unknown address."""

    def test_text_output(self):
        good, expired, unknown = ENV["ALICE_EMAIL"], ENV["EXPIRED_EMAIL"], "nobody@corp.example"
        status, out, err = lookup(good, expired, unknown)
        self.assertEqual(status, 1, out + err)
        self.assertIn(f"{good}: usable\n", out)
        self.assertIn(f"{expired}: no valid certificate\n", out)
        self.assertIn(f"{unknown}: no valid certificate\n", out)
        self.assertIn("* candidate: directory=corp dn=" + ENV["ALICE_DN"], out)
        self.assertIn("verdict=expired", out)
        self.assertIn(f"serial={serial_of(ENV['ALICE_CERT'])} key=RSA", out)
        self.assertIn("issuer=CN=smimegw Test Intermediate CA", out)
        self.assertIn(f"reason: no certificate for {unknown} was found", out)
        self.assertEqual(err, "")
        status, out, _ = lookup(good)
        self.assertEqual(status, 0, out)

    def test_json_output(self):
        good, expired, unknown = ENV["ALICE_EMAIL"], ENV["EXPIRED_EMAIL"], "nobody@corp.example"
        reports = lookup_json(self, good, expired, unknown, expect=1)
        self.assertEqual(list(reports), [good, expired, unknown])
        g = reports[good]
        self.assertEqual((g["status"], g["reason"]), ("usable", "ok"))
        candidate = g["candidates"][0]
        self.assertEqual(candidate["serial"], serial_of(ENV["ALICE_CERT"]))
        self.assertEqual(candidate["keyType"], "RSA")
        self.assertEqual(candidate["dn"], ENV["ALICE_DN"])
        self.assertEqual(candidate["directory"], "corp")
        self.assertIn("CN=Alice", candidate["subject"])
        self.assertIn("Intermediate CA", candidate["issuer"])
        self.assertRegex(candidate["notBefore"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertTrue(candidate["chosen"])
        self.assertIn("chose serial", g["detail"])
        e = reports[expired]
        self.assertEqual((e["status"], e["reason"]), ("noValidCertificate", "expired"))
        self.assertEqual(e["candidates"][0]["verdict"], "expired")
        self.assertFalse(e["candidates"][0]["chosen"])
        u = reports[unknown]
        self.assertEqual((u["status"], u["reason"], u["candidates"]),
                         ("noValidCertificate", "noCertificate", []))

    def test_exit_status_two(self):
        status, out, _ = lookup(ENV["ALICE_EMAIL"], "not an address", json_output=True)
        self.assertEqual(status, 2)
        self.assertEqual(json.loads(out)["addresses"][1]["status"], "invalidAddress")
        config = partner_config("dead-json", uris=[dead_uri()])
        lookup_json(self, ENV["ALICE_EMAIL"], ENV["ERIN_EMAIL"], config=config, expect=2)
        status, out, err = lookup(ENV["ALICE_EMAIL"], config="/nonexistent/smimegw.json")
        self.assertEqual(status, 2)
        self.assertIn("/nonexistent/smimegw.json", err)
