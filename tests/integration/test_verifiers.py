"""Self-test of verifiers.py: S/MIME messages made with the openssl command
line must pass openssl cms, gpgsm and NSS cmsutil, and tampered, untrusted or
misaddressed ones must raise VerifyError.

Uses the test environment named by TESTENV_ENV (the path of a testenv.env),
or starts its own with scripts/testenv and stops it at the end. Run it with
`python3 -m unittest tests.integration.test_verifiers` or
`python3 tests/integration/test_verifiers.py` from the top of the tree.
"""

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from verifiers import (  # noqa: E402
    OID_ENVELOPED_DATA, OID_SIGNED_DATA, Verifiers, VerifyError, cms_content_type,
    content_type, detached_parts, find_smime_entity, multipart_parts, pkcs7_der,
    read_testenv, split_message)

TESTENV = os.path.join(TOP, "scripts", "testenv")
TESTENV_TIMEOUT = 300

CONTENT = (b"Content-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: 7bit\r\n"
           b"\r\n"
           b"Hello Bob,\r\n"
           b"the numbers are in.\r\n")

TOP_HEADERS = (b"From: Alice <alice@corp.example>\r\n"
               b"To: Bob <bob@corp.example>\r\n"
               b"Subject: Quarterly report\r\n"
               b"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
               b"Message-ID: <verifiers-selftest@corp.example>\r\n")

ENV = {}
VERIFIERS = None
STATE = {"testenv_dir": None, "scratch": None}


def setUpModule():
    global VERIFIERS
    try:
        env_path = os.environ.get("TESTENV_ENV")
        if not env_path:
            testenv_dir = tempfile.mkdtemp(prefix="verifiers-testenv-")
            STATE["testenv_dir"] = testenv_dir
            subprocess.run([TESTENV, "start", testenv_dir], check=True,
                           timeout=TESTENV_TIMEOUT)
            env_path = os.path.join(testenv_dir, "testenv.env")
        ENV.update(read_testenv(env_path))
        STATE["scratch"] = tempfile.mkdtemp(prefix="verifiers-selftest-")
        VERIFIERS = Verifiers(ENV, os.path.join(STATE["scratch"], "verifiers"))
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    try:
        if VERIFIERS is not None:
            VERIFIERS.close()
    finally:
        if STATE["testenv_dir"] is not None:
            subprocess.run([TESTENV, "stop", STATE["testenv_dir"]], check=True,
                           timeout=TESTENV_TIMEOUT)
            shutil.rmtree(STATE["testenv_dir"], ignore_errors=True)
            STATE["testenv_dir"] = None
        if STATE["scratch"] is not None:
            shutil.rmtree(STATE["scratch"], ignore_errors=True)
            STATE["scratch"] = None


# ---------------------------------------------------------------------------
# Building messages with the openssl command line


def openssl_cms(args, data):
    """Run `openssl cms -binary -crlfeol ARGS` on DATA and return its S/MIME output."""
    proc = subprocess.run(["openssl", "cms", "-binary", "-crlfeol"] + args, input=data,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
                          check=False)
    if proc.returncode != 0:
        raise AssertionError(f"openssl cms {' '.join(args)} failed: "
                             f"{proc.stderr.decode('utf-8', 'replace')}")
    return proc.stdout


def as_message(entity):
    """Put RFC 5322 header fields in front of an S/MIME entity."""
    return TOP_HEADERS + entity


def signed_entity(user="ALICE", opaque=False, certfile="INTERMEDIATE_CA_CERT",
                  content=CONTENT):
    args = ["-sign", "-md", "sha256", "-signer", ENV[f"{user}_CERT"],
            "-inkey", ENV[f"{user}_KEY"]]
    if certfile:
        args += ["-certfile", ENV[certfile]]
    if opaque:
        args.append("-nodetach")
    return openssl_cms(args, content)


def encrypted_entity(content, *users):
    return openssl_cms(["-encrypt", "-aes256"] + [ENV[f"{user}_CERT"] for user in users],
                       content)


def replace_in_pkcs7(message, old, new):
    """Return MESSAGE with OLD replaced by NEW inside its base64 DER body."""
    headers, _ = split_message(message)
    der = pkcs7_der(message)
    if old not in der:
        raise AssertionError(f"{old!r} is not in the DER")
    encoded = base64.encodebytes(der.replace(old, new, 1)).replace(b"\n", b"\r\n")
    return headers + b"\r\n\r\n" + encoded


def processes_mentioning(text):
    """Return the command lines of running processes that contain TEXT."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                cmdline = file.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{pid}: {cmdline}")
    return found


# ---------------------------------------------------------------------------
# MIME helpers, without any tool


class SplitMessageTest(unittest.TestCase):
    def test_split_message_at_first_empty_line(self):
        headers, body = split_message(b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore\r\n")
        self.assertEqual(headers, b"A: 1\r\nB: 2")
        self.assertEqual(body, b"body\r\n\r\nmore\r\n")

    def test_split_message_without_header_fields(self):
        self.assertEqual(split_message(b"\r\nbody"), (b"", b"body"))

    def test_split_message_without_body(self):
        self.assertEqual(split_message(b"A: 1\r\n"), (b"A: 1", b""))


class ContentTypeTest(unittest.TestCase):
    def test_content_type_folded_and_quoted(self):
        headers = (b"Subject: x\r\n"
                   b"content-TYPE: Multipart/Signed;\r\n"
                   b"\tprotocol=\"application/pkcs7-signature\"; MICALG=sha-256;\r\n"
                   b" boundary=\"a;b \\\"c\\\"\" (a comment)")
        media_type, params = content_type(headers)
        self.assertEqual(media_type, "multipart/signed")
        self.assertEqual(params["protocol"], "application/pkcs7-signature")
        self.assertEqual(params["micalg"], "sha-256")
        self.assertEqual(params["boundary"], 'a;b "c"')

    def test_content_type_first_field_wins(self):
        headers = b"Content-Type: text/html\r\nContent-Type: text/plain"
        self.assertEqual(content_type(headers)[0], "text/html")

    def test_content_type_default(self):
        self.assertEqual(content_type(b"Subject: x"), ("text/plain", {"charset": "us-ascii"}))

    def test_content_type_unquoted_params(self):
        media_type, params = content_type(
            b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data;name=smime.p7m")
        self.assertEqual(media_type, "application/pkcs7-mime")
        self.assertEqual(params, {"smime-type": "enveloped-data", "name": "smime.p7m"})


SIGNATURE_PART = (b"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
                  b"Content-Transfer-Encoding: base64\r\n"
                  b"\r\n"
                  b"MAMCAQE=\r\n")


def multipart_signed(first_part, boundary=b"b1", preamble=b"preamble\r\n", padding=b""):
    return (b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n"
            b" micalg=sha-256; boundary=\"" + boundary + b"\"\r\n"
            b"\r\n" + preamble
            + b"--" + boundary + padding + b"\r\n" + first_part
            + b"\r\n--" + boundary + b"\r\n" + SIGNATURE_PART
            + b"\r\n--" + boundary + b"--" + padding + b"\r\n"
            + b"epilogue\r\n")


class DetachedPartsTest(unittest.TestCase):
    def test_detached_parts_exact_first_part(self):
        content, der = detached_parts(multipart_signed(CONTENT))
        self.assertEqual(content, CONTENT)
        self.assertEqual(der, bytes.fromhex("3003020101"))

    def test_detached_parts_without_final_crlf(self):
        part = b"Content-Type: text/plain\r\n\r\nno line end"
        self.assertEqual(detached_parts(multipart_signed(part))[0], part)

    def test_detached_parts_boundary_at_start(self):
        entity = multipart_signed(CONTENT, preamble=b"")
        self.assertEqual(detached_parts(entity)[0], CONTENT)

    def test_detached_parts_transport_padding(self):
        entity = multipart_signed(CONTENT, padding=b" \t ")
        self.assertEqual(detached_parts(entity)[0], CONTENT)

    def test_detached_parts_longer_boundary_line_is_content(self):
        part = b"Content-Type: text/plain\r\n\r\n--b1x is not a delimiter\r\n"
        self.assertEqual(detached_parts(multipart_signed(part))[0], part)

    def test_detached_parts_missing_close_delimiter(self):
        entity = multipart_signed(CONTENT).replace(b"--b1--", b"--b2--")
        with self.assertRaises(VerifyError):
            detached_parts(entity)

    def test_detached_parts_wrong_protocol(self):
        entity = multipart_signed(CONTENT).replace(b"protocol=\"application/pkcs7-signature\"",
                                                   b"protocol=\"application/pgp-signature\"")
        with self.assertRaises(VerifyError):
            detached_parts(entity)

    def test_detached_parts_three_parts(self):
        entity = multipart_signed(CONTENT).replace(
            b"\r\n--b1--", b"\r\n--b1\r\n\r\nextra\r\n--b1--")
        with self.assertRaises(VerifyError):
            detached_parts(entity)

    def test_multipart_parts_empty_part(self):
        self.assertEqual(multipart_parts(b"--x\r\n\r\n--x\r\nA\r\n--x--\r\n", "x"), [b"", b"A"])


class Pkcs7DerTest(unittest.TestCase):
    def test_pkcs7_der_decodes_base64(self):
        entity = (b"Content-Type: application/x-pkcs7-mime; smime-type=enveloped-data\r\n"
                  b"Content-Transfer-Encoding: BASE64\r\n\r\nMAMC\r\nAQE=\r\n")
        self.assertEqual(pkcs7_der(entity), bytes.fromhex("3003020101"))

    def test_pkcs7_der_wrong_media_type(self):
        with self.assertRaises(VerifyError):
            pkcs7_der(b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                      b"MAMCAQE=\r\n")

    def test_pkcs7_der_invalid_base64(self):
        with self.assertRaises(VerifyError):
            pkcs7_der(b"Content-Type: application/pkcs7-mime\r\n"
                      b"Content-Transfer-Encoding: base64\r\n\r\nMAMC*QE=\r\n")

    def test_pkcs7_der_not_base64(self):
        with self.assertRaises(VerifyError):
            pkcs7_der(b"Content-Type: application/pkcs7-mime\r\n\r\n0\x03\x02\x01\x01")

    def test_find_smime_entity_in_multipart_mixed(self):
        inner = multipart_signed(CONTENT)
        message = (TOP_HEADERS + b"Content-Type: multipart/mixed; boundary=m\r\n\r\n"
                   b"--m\r\nContent-Type: text/plain\r\n\r\nintro\r\n"
                   b"--m\r\n" + inner + b"\r\n--m--\r\n")
        self.assertEqual(find_smime_entity(message), inner)


# ---------------------------------------------------------------------------
# The tools


class ToolTestCase(unittest.TestCase):
    def verify_functions(self):
        return (VERIFIERS.openssl_verify, VERIFIERS.gpgsm_verify, VERIFIERS.nss_verify)

    def decrypt_functions(self):
        return (VERIFIERS.openssl_decrypt, VERIFIERS.gpgsm_decrypt, VERIFIERS.nss_decrypt)

    def assert_all_verify(self, message, expected=CONTENT):
        for verify in self.verify_functions():
            with self.subTest(tool=verify.__name__):
                self.assertEqual(verify(message), expected)

    def assert_all_reject(self, message, verify_functions=None):
        for verify in verify_functions or self.verify_functions():
            with self.subTest(tool=verify.__name__):
                with self.assertRaises(VerifyError):
                    verify(message)


class VerifyTest(ToolTestCase):
    def test_detached_signature_verifies(self):
        message = as_message(signed_entity())
        self.assertEqual(content_type(split_message(message)[0])[0], "multipart/signed")
        self.assertEqual(cms_content_type(detached_parts(message)[1]), OID_SIGNED_DATA)
        self.assertEqual(detached_parts(message)[0], CONTENT)
        self.assert_all_verify(message)

    def test_opaque_signature_verifies(self):
        message = as_message(signed_entity(opaque=True))
        self.assertEqual(content_type(split_message(message)[0])[1]["smime-type"],
                         "signed-data")
        self.assert_all_verify(message)

    def test_detached_signature_without_top_headers_verifies(self):
        self.assert_all_verify(signed_entity())

    def test_tampered_detached_content_raises(self):
        message = as_message(signed_entity())
        tampered = message.replace(b"numbers are in", b"numbers are IN", 1)
        self.assertNotEqual(tampered, message)
        self.assert_all_reject(tampered)

    def test_detached_content_with_lf_raises(self):
        message = as_message(signed_entity())
        tampered = message.replace(b"Hello Bob,\r\n", b"Hello Bob,\n", 1)
        self.assertNotEqual(tampered, message)
        self.assert_all_reject(tampered)

    def test_tampered_opaque_content_raises(self):
        message = as_message(signed_entity(opaque=True))
        self.assert_all_reject(replace_in_pkcs7(message, b"numbers are in", b"numbers are IN"))

    def test_untrusted_signer_raises(self):
        self.assert_all_reject(as_message(signed_entity("UNTRUSTED", certfile=None)))

    def test_expired_signer_raises(self):
        self.assert_all_reject(as_message(signed_entity("EXPIRED")))

    def test_missing_intermediate_raises(self):
        # gpgsm is left out because it finds the intermediate CA in its
        # keybox, stored there by earlier verifications.
        self.assert_all_reject(as_message(signed_entity(certfile=None)),
                               (VERIFIERS.openssl_verify, VERIFIERS.nss_verify))

    def test_certs_only_raises(self):
        proc = subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", ENV["ALICE_CERT"],
                               "-certfile", ENV["INTERMEDIATE_CA_CERT"], "-outform", "DER"],
                              stdout=subprocess.PIPE, check=True, timeout=60)
        message = (TOP_HEADERS
                   + b"Content-Type: application/pkcs7-mime; smime-type=certs-only\r\n"
                   + b"Content-Transfer-Encoding: base64\r\n\r\n"
                   + base64.encodebytes(proc.stdout).replace(b"\n", b"\r\n"))
        self.assert_all_reject(message)

    def test_encrypted_message_raises_in_verify(self):
        self.assert_all_reject(as_message(encrypted_entity(CONTENT, "BOB")))


class DecryptTest(ToolTestCase):
    def test_decrypt_returns_content(self):
        message = as_message(encrypted_entity(CONTENT, "BOB"))
        self.assertEqual(cms_content_type(pkcs7_der(message)), OID_ENVELOPED_DATA)
        for decrypt in self.decrypt_functions():
            with self.subTest(tool=decrypt.__name__):
                self.assertEqual(decrypt(message, "BOB"), CONTENT)

    def test_decrypt_each_recipient(self):
        message = as_message(encrypted_entity(CONTENT, "BOB", "ALICE"))
        for decrypt in self.decrypt_functions():
            for user in ("ALICE", "BOB"):
                with self.subTest(tool=decrypt.__name__, user=user):
                    self.assertEqual(decrypt(message, user), CONTENT)

    def test_decrypt_other_recipient_raises(self):
        message = as_message(encrypted_entity(CONTENT, "BOB"))
        for decrypt in self.decrypt_functions():
            with self.subTest(tool=decrypt.__name__):
                with self.assertRaises(VerifyError):
                    decrypt(message, "ALICE")

    def test_decrypt_signed_message_raises(self):
        message = as_message(signed_entity(opaque=True))
        for decrypt in self.decrypt_functions():
            with self.subTest(tool=decrypt.__name__):
                with self.assertRaises(VerifyError):
                    decrypt(message, "ALICE")

    def test_signed_then_encrypted_opens(self):
        signed = signed_entity()
        message = as_message(encrypted_entity(signed, "BOB"))
        for decrypt, verify in zip(self.decrypt_functions(), self.verify_functions()):
            with self.subTest(tool=decrypt.__name__):
                inner = decrypt(message, "BOB")
                self.assertEqual(inner, signed)
                self.assertEqual(verify(inner), CONTENT)


class CloseTest(unittest.TestCase):
    def test_close_stops_gpg_agent(self):
        workdir = os.path.join(STATE["scratch"], "close-test")
        verifiers = Verifiers(ENV, workdir)
        try:
            verifiers.gpgsm_verify(as_message(signed_entity()))
            self.assertNotEqual(processes_mentioning(workdir), [],
                                "gpg-agent was expected to run before close()")
        finally:
            verifiers.close()
        self.assertEqual(processes_mentioning(workdir), [])


if __name__ == "__main__":
    unittest.main()
