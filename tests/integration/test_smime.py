"""Email/set with smimeSign, smimeSignOpaque and smimeEncrypt against the real
directory, with every result opened by openssl cms, gpgsm and NSS cmsutil."""

import email
import email.header
import email.policy
import os
import subprocess
import tempfile
import unittest

import harness
from harness import ENV, Client
from verifiers import (Verifiers, VerifyError, content_type, find_smime_entity, pkcs7_der,
                       split_message)

VERIFIERS = None


def setUpModule():
    global VERIFIERS
    VERIFIERS = Verifiers(ENV, tempfile.mkdtemp(prefix="verifiers-", dir=ENV["WORKDIR"]))


def tearDownModule():
    VERIFIERS.close()


def client_for(name):
    return Client(ENV["SMIMEGW_URL"], ENV[f"{name}_EMAIL"], ENV[f"{name}_PASSWORD"])


def address(name):
    return {"name": name.capitalize(), "email": ENV[f"{name}_EMAIL"]}


def text_create(to, subject="Quarterly report", body="Hello Bob,\nthe numbers are in.\n",
                **extra):
    create = {
        "mailboxIds": {"drafts": True},
        "from": [address("ALICE")],
        "to": to,
        "subject": subject,
        "textBody": [{"partId": "t", "type": "text/plain"}],
        "bodyValues": {"t": {"value": body}},
    }
    create.update(extra)
    return create


class SmimeTestCase(unittest.TestCase):
    def setUp(self):
        self.alice = client_for("ALICE")

    def create_ok(self, create, **smime):
        result = self.alice.email_set({"c1": create}, **smime)
        self.assertIn("c1", result.get("created") or {}, result.get("notCreated"))
        created = result["created"]["c1"]
        resp = self.alice.download(created["blobId"])
        self.assertEqual(resp.status, 200)
        self.assertEqual(len(resp.body), created["size"])
        return resp.body

    def create_error(self, create, **smime):
        result = self.alice.email_set({"c1": create}, **smime)
        self.assertIsNone(result.get("created"), "the create was expected to fail")
        return result["notCreated"]["c1"]


class SignEncryptTest(SmimeTestCase):
    def test_sign_encrypt_opens_in_all_verifiers(self):
        message = self.create_ok(text_create([address("BOB")]), smimeSign=True,
                                 smimeEncrypt=True)
        headers, _ = split_message(message)
        self.assertEqual(content_type(headers)[0], "application/pkcs7-mime")
        self.assertEqual(content_type(headers)[1].get("smime-type"), "enveloped-data")
        for decrypt, verify in ((VERIFIERS.openssl_decrypt, VERIFIERS.openssl_verify),
                                (VERIFIERS.gpgsm_decrypt, VERIFIERS.gpgsm_verify),
                                (VERIFIERS.nss_decrypt, VERIFIERS.nss_verify)):
            with self.subTest(tool=decrypt.__name__):
                signed = decrypt(message, "BOB")
                self.assertEqual(content_type(split_message(signed)[0])[0], "multipart/signed")
                inner = verify(signed)
                self.assertIn(b"the numbers are in.", inner)

    def test_sender_can_read_own_copy(self):
        message = self.create_ok(text_create([address("BOB")]), smimeEncrypt=True)
        inner = VERIFIERS.openssl_decrypt(message, "ALICE")
        self.assertIn(b"the numbers are in.", inner)

    def test_all_recipients_can_decrypt(self):
        to = [address("BOB"), address("DAVE")]
        message = self.create_ok(text_create(to, cc=[address("CAROL")]), smimeEncrypt=True)
        for user in ("BOB", "DAVE", "CAROL", "ALICE"):
            with self.subTest(user=user):
                self.assertIn(b"the numbers are in.", VERIFIERS.openssl_decrypt(message, user))

    def test_repeated_recipient_gets_one_key(self):
        bob_upper = {"email": ENV["BOB_EMAIL"].upper()}
        create = text_create([address("BOB"), bob_upper], cc=[address("BOB")])
        message = self.create_ok(create, smimeEncrypt=True)
        der = pkcs7_der(find_smime_entity(message))
        out = subprocess.run(["openssl", "cms", "-cmsout", "-print", "-inform", "DER"],
                             input=der, capture_output=True, check=True).stdout
        # Bob once and Alice (encrypt-to-self) once.
        self.assertEqual(out.count(b"d.ktri:"), 2)
        self.assertIn(b"the numbers are in.", VERIFIERS.openssl_decrypt(message, "BOB"))

    def test_bcc_recipient_can_decrypt_but_is_not_in_header(self):
        create = text_create([address("BOB")], bcc=[address("DAVE")])
        message = self.create_ok(create, smimeEncrypt=True)
        headers, _ = split_message(message)
        self.assertNotIn(ENV["DAVE_EMAIL"].encode(), headers)
        self.assertIn(b"the numbers are in.", VERIFIERS.openssl_decrypt(message, "DAVE"))


class SignTest(SmimeTestCase):
    def test_detached_signature_verifies_everywhere(self):
        message = self.create_ok(text_create([address("BOB")]), smimeSign=True)
        ctype, params = content_type(split_message(message)[0])
        self.assertEqual(ctype, "multipart/signed")
        self.assertEqual(params.get("protocol"), "application/pkcs7-signature")
        self.assertEqual(params.get("micalg"), "sha-256")
        for verify in (VERIFIERS.openssl_verify, VERIFIERS.gpgsm_verify, VERIFIERS.nss_verify):
            with self.subTest(tool=verify.__name__):
                self.assertIn(b"the numbers are in.", verify(message))

    def test_opaque_signature_verifies_everywhere(self):
        message = self.create_ok(text_create([address("BOB")]), smimeSign=True,
                                 smimeSignOpaque=True)
        ctype, params = content_type(split_message(message)[0])
        self.assertEqual(ctype, "application/pkcs7-mime")
        self.assertEqual(params.get("smime-type"), "signed-data")
        for verify in (VERIFIERS.openssl_verify, VERIFIERS.gpgsm_verify, VERIFIERS.nss_verify):
            with self.subTest(tool=verify.__name__):
                self.assertIn(b"the numbers are in.", verify(message))

    def test_tampered_signed_body_fails_verification(self):
        message = self.create_ok(text_create([address("BOB")]), smimeSign=True)
        tampered = message.replace(b"numbers are in", b"numbers are IN", 1)
        self.assertNotEqual(tampered, message)
        with self.assertRaises(VerifyError):
            VERIFIERS.openssl_verify(tampered)

    def test_opaque_flag_alone_does_not_sign(self):
        message = self.create_ok(text_create([address("BOB")]), smimeSignOpaque=True)
        self.assertEqual(content_type(split_message(message)[0])[0], "text/plain")

    def test_per_create_property_overrides_argument(self):
        create = text_create([address("BOB")], smimeSign=False)
        message = self.create_ok(create, smimeSign=True)
        self.assertEqual(content_type(split_message(message)[0])[0], "text/plain")


class EncryptOnlyTest(SmimeTestCase):
    def test_encrypt_only_decrypts_everywhere(self):
        message = self.create_ok(text_create([address("BOB")]), smimeEncrypt=True)
        for decrypt in (VERIFIERS.openssl_decrypt, VERIFIERS.gpgsm_decrypt,
                        VERIFIERS.nss_decrypt):
            with self.subTest(tool=decrypt.__name__):
                inner = decrypt(message, "BOB")
                self.assertEqual(content_type(split_message(inner)[0])[0], "text/plain")
                self.assertIn(b"the numbers are in.", inner)

    def test_ec_recipient_decrypts_with_openssl(self):
        message = self.create_ok(text_create([address("CAROL")]), smimeEncrypt=True)
        self.assertIn(b"the numbers are in.", VERIFIERS.openssl_decrypt(message, "CAROL"))

    def test_address_only_in_subject_is_accepted(self):
        message = self.create_ok(text_create([address("SUBJECTONLY")]), smimeEncrypt=True)
        self.assertIn(b"the numbers are in.",
                      VERIFIERS.openssl_decrypt(message, "SUBJECTONLY"))

    def test_user_with_several_certificates_uses_valid_one(self):
        message = self.create_ok(text_create([address("DAVE")]), smimeEncrypt=True)
        self.assertIn(b"the numbers are in.", VERIFIERS.openssl_decrypt(message, "DAVE"))


class RefusalTest(SmimeTestCase):
    BROKEN = {
        "EXPIRED": "expired",
        "NOTYETVALID": "notYetValid",
        "WRONGUSAGE": "keyUsage",
        "NOEKU": "noEmailProtection",
        "UNTRUSTED": "untrusted",
        "MISMATCH": "addressMismatch",
        "NOCERT": "noCertificate",
    }

    def email_count(self):
        responses = self.alice.api([["Email/get", {"accountId": self.alice.account_id,
                                                   "ids": None, "properties": ["id"]}, "0"]])
        return len(responses[0][1]["list"])

    def test_each_broken_certificate_is_refused(self):
        for name, reason in self.BROKEN.items():
            with self.subTest(user=name):
                before = self.email_count()
                err = self.create_error(text_create([address(name)]), smimeEncrypt=True)
                self.assertEqual(err["type"], "validEncryptionKeyNotFound")
                self.assertIn(ENV[f"{name}_EMAIL"], err["description"])
                self.assertEqual(err["invalidRecipients"],
                                 [{"email": ENV[f"{name}_EMAIL"], "reason": reason}])
                self.assertEqual(self.email_count(), before)

    def test_unknown_address_is_no_certificate(self):
        err = self.create_error(text_create([{"email": "nobody@corp.example"}]),
                                smimeEncrypt=True)
        self.assertEqual(err["type"], "validEncryptionKeyNotFound")
        self.assertEqual(err["invalidRecipients"][0]["reason"], "noCertificate")

    def test_all_failing_recipients_are_named(self):
        to = [address("BOB"), address("EXPIRED"), address("NOCERT")]
        err = self.create_error(text_create(to), smimeSign=True, smimeEncrypt=True)
        self.assertEqual(err["type"], "validEncryptionKeyNotFound")
        emails = sorted(r["email"] for r in err["invalidRecipients"])
        self.assertEqual(emails, sorted([ENV["EXPIRED_EMAIL"], ENV["NOCERT_EMAIL"]]))
        self.assertNotIn(ENV["BOB_EMAIL"], err["description"])

    def test_other_creates_in_same_call_succeed(self):
        result = self.alice.email_set({
            "good": text_create([address("BOB")]),
            "bad": text_create([address("EXPIRED")]),
        }, smimeEncrypt=True)
        self.assertIn("good", result["created"])
        self.assertEqual(result["notCreated"]["bad"]["type"], "validEncryptionKeyNotFound")

    def test_two_from_addresses_is_invalid_email(self):
        create = text_create([address("BOB")], **{"from": [address("ALICE"), address("BOB")]})
        err = self.create_error(create, smimeSign=True)
        self.assertEqual(err["type"], "invalidEmail")
        self.assertIn("From", err["description"])

    def test_two_sender_fields_is_invalid_email(self):
        create = text_create([address("BOB")])
        create["header:Sender:asAddresses:all"] = [[address("ALICE")], [address("ALICE")]]
        err = self.create_error(create, smimeSign=True)
        self.assertEqual(err["type"], "invalidEmail")
        self.assertIn("Sender", err["description"])

    def test_signing_as_other_user_is_not_allowed(self):
        create = text_create([address("ALICE")], **{"from": [address("BOB")]})
        err = self.create_error(create, smimeSign=True)
        self.assertEqual(err["type"], "signedSenderNotAllowed")
        self.assertIn(ENV["BOB_EMAIL"], err["description"])

    def test_sender_field_selects_signer(self):
        create = text_create([address("BOB")], sender=[address("BOB")])
        err = self.create_error(create, smimeSign=True)
        self.assertEqual(err["type"], "signedSenderNotAllowed")

    def test_signer_without_key_is_not_allowed(self):
        dave = Client(ENV["SMIMEGW_URL"], ENV["DAVE_EMAIL"], ENV["DAVE_PASSWORD"])
        create = text_create([address("BOB")], **{"from": [address("DAVE")]})
        result = dave.email_set({"c1": create}, smimeSign=True)
        err = result["notCreated"]["c1"]
        self.assertEqual(err["type"], "signedSenderNotAllowed")
        self.assertIn("no signing key", err["description"])

    def test_smime_arguments_need_capability(self):
        args = {"accountId": self.alice.account_id, "create": {"c1": text_create([address("BOB")])},
                "smimeSign": True}
        using = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"]
        responses = self.alice.api([["Email/set", args, "0"]], using=using)
        self.assertEqual(responses[0][0], "error")
        self.assertEqual(responses[0][1]["type"], "invalidArguments")
        self.assertIn("smimeSign", responses[0][1]["description"])

    def test_non_boolean_smime_argument_is_invalid(self):
        args = {"accountId": self.alice.account_id, "create": {}, "smimeEncrypt": "yes"}
        responses = self.alice.api([["Email/set", args, "0"]])
        self.assertEqual(responses[0][1]["type"], "invalidArguments")


class MessageContentTest(SmimeTestCase):
    def test_attachment_and_non_ascii_subject_survive(self):
        payload = bytes(range(256)) * 8
        blob = self.alice.upload(payload, "application/octet-stream")
        subject = "Überweisung für März — 予算"
        create = text_create([address("BOB")], subject=subject, attachments=[
            {"blobId": blob["blobId"], "type": "application/octet-stream",
             "name": "données.bin", "disposition": "attachment"}])
        message = self.create_ok(create, smimeSign=True, smimeEncrypt=True)

        headers, _ = split_message(message)
        self.assertTrue(all(b < 0x80 for b in headers), "header must be 7-bit")
        parsed = email.message_from_bytes(message, policy=email.policy.default)
        self.assertEqual(str(parsed["Subject"]), subject)
        self.assertTrue(all(len(line) <= 78 for line in headers.split(b"\r\n")))

        inner = VERIFIERS.openssl_verify(VERIFIERS.openssl_decrypt(message, "BOB"))
        part = email.message_from_bytes(inner, policy=email.policy.default)
        attachments = list(part.iter_attachments())
        self.assertEqual(len(attachments), 1)
        self.assertEqual(attachments[0].get_filename(), "données.bin")
        self.assertEqual(attachments[0].get_content(), payload)

    def test_missing_blob_is_blob_not_found(self):
        create = text_create([address("BOB")], attachments=[{"blobId": "G" + "0" * 64,
                                                             "type": "text/plain"}])
        err = self.create_error(create, smimeEncrypt=True)
        self.assertEqual(err["type"], "blobNotFound")

    def test_created_email_is_readable_with_email_get(self):
        result = self.alice.email_set({"c1": text_create([address("BOB")])}, smimeSign=True)
        created = result["created"]["c1"]
        responses = self.alice.api([["Email/get", {"accountId": self.alice.account_id,
                                                   "ids": [created["id"]]}, "0"]])
        email_obj = responses[0][1]["list"][0]
        self.assertEqual(email_obj["blobId"], created["blobId"])
        self.assertEqual(email_obj["subject"], "Quarterly report")
        self.assertEqual(email_obj["to"], [address("BOB")])
        self.assertEqual(email_obj["mailboxIds"], {"drafts": True})


if __name__ == "__main__":
    unittest.main()
