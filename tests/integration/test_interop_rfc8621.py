"""Email/set creates as a standard JMAP client sends them (RFC 8621 4.6).
The tests cover bodyStructure, header:NAME in every form, the SetErrors for
invalid creates, createdIds, "#creationId" references and result
references. They run against the daemon, and Python's email package and
openssl read the messages back."""

import email
import email.policy
import tempfile
import unittest

from harness import ENV, Client
from verifiers import Verifiers, content_type, split_message

VERIFIERS = None


def setUpModule():
    global VERIFIERS
    VERIFIERS = Verifiers(ENV, tempfile.mkdtemp(prefix="verifiers-", dir=ENV["WORKDIR"]))


def tearDownModule():
    VERIFIERS.close()


def addr(user, name=None):
    return {"name": name, "email": ENV[f"{user}_EMAIL"]}


def base(**extra):
    create = {"mailboxIds": {"drafts": True}, "from": [addr("ALICE", "Alice")],
              "to": [addr("BOB", "Bob")]}
    create.update(extra)
    return create


class CreateTestCase(unittest.TestCase):
    def setUp(self):
        self.alice = Client(ENV["SMIMEGW_URL"], ENV["ALICE_EMAIL"], ENV["ALICE_PASSWORD"])

    def created(self, create, **smime):
        result = self.alice.email_set({"c1": create}, **smime)
        self.assertIn("c1", result.get("created") or {}, result.get("notCreated"))
        return result["created"]["c1"]

    def message(self, create, **smime):
        created = self.created(create, **smime)
        resp = self.alice.download(created["blobId"])
        self.assertEqual(resp.status, 200)
        return resp.body

    def error(self, create):
        result = self.alice.email_set({"c1": create})
        self.assertIsNone(result.get("created"), "the create was expected to fail")
        return result["notCreated"]["c1"]


class BodyStructureTest(CreateTestCase):
    def test_nested_structure_reads_back(self):
        blob = self.alice.upload(b"\x00\x01\x02binary\xff" * 30)["blobId"]
        create = base(subject="tree", bodyStructure={
            "type": "multipart/mixed", "subParts": [
                {"type": "multipart/alternative", "subParts": [
                    {"partId": "t", "type": "text/plain", "language": ["en"]},
                    {"type": "multipart/related", "subParts": [
                        {"partId": "h", "type": "text/html"},
                        {"blobId": blob, "type": "image/png", "cid": "img@x",
                         "disposition": "inline"}]}]},
                {"blobId": blob, "type": "application/octet-stream", "name": "data.bin",
                 "header:Content-Description:asText": "Données"}]},
            bodyValues={"t": {"value": "plain text\n"}, "h": {"value": "<img src=cid:img@x>"}})
        parsed = email.message_from_bytes(self.message(create), policy=email.policy.default)
        types = [part.get_content_type() for part in parsed.walk()]
        self.assertEqual(types, ["multipart/mixed", "multipart/alternative", "text/plain",
                                 "multipart/related", "text/html", "image/png",
                                 "application/octet-stream"])
        leaves = [p for p in parsed.walk() if not p.is_multipart()]
        self.assertEqual(leaves[0]["Content-Language"], "en")
        self.assertEqual(leaves[2]["Content-ID"], "<img@x>")
        self.assertEqual(leaves[3].get_content(), b"\x00\x01\x02binary\xff" * 30)
        self.assertEqual(leaves[3].get_filename(), "data.bin")
        self.assertEqual(str(leaves[3]["Content-Description"]), "Données")

    def test_signed_body_structure_verifies(self):
        create = base(bodyStructure={"partId": "c", "type": "text/calendar"},
                      bodyValues={"c": {"value": "BEGIN:VCALENDAR\nEND:VCALENDAR\n"}})
        message = self.message(create, smimeSign=True)
        inner = VERIFIERS.openssl_verify(message)
        self.assertEqual(content_type(split_message(inner)[0])[0], "text/calendar")
        self.assertIn(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", inner)

    def test_email_get_returns_body_structure(self):
        create = base(bodyStructure={"type": "multipart/alternative", "subParts": [
            {"partId": "t", "type": "text/plain"}, {"partId": "h", "type": "text/html"}]},
            bodyValues={"t": {"value": "a"}, "h": {"value": "<p>a</p>"}})
        created = self.created(create)
        responses = self.alice.api([["Email/get", {"accountId": self.alice.account_id,
                                                   "ids": [created["id"]],
                                                   "properties": ["bodyStructure"]}, "0"]])
        structure = responses[0][1]["list"][0]["bodyStructure"]
        self.assertEqual(structure["type"], "multipart/alternative")
        self.assertEqual([p["type"] for p in structure["subParts"]], ["text/plain", "text/html"])


class HeaderFormsTest(CreateTestCase):
    def test_every_form_is_written(self):
        create = base(**{
            "header:X-Text:asText": "Grüße",
            "header:X-Raw": " raw value",
            "header:X-Addresses:asAddresses": [addr("CAROL", "Carol, C.")],
            "header:X-Group:asGroupedAddresses": [{"name": "Team", "addresses": [addr("DAVE")]}],
            "header:X-Ids:asMessageIds": ["a@example.com", "b@example.com"],
            "header:X-Date:asDate": "2024-03-01T10:00:00-05:00",
            "header:List-Unsubscribe:asURLs": ["mailto:leave@example.com"],
            "header:X-All:asText:all": ["one", "two"],
            "textBody": [{"partId": "t"}], "bodyValues": {"t": {"value": "x"}}})
        parsed = email.message_from_bytes(self.message(create), policy=email.policy.default)
        self.assertEqual(str(parsed["X-Text"]), "Grüße")
        self.assertEqual(parsed["X-Raw"], "raw value")
        self.assertIn('"Carol, C." <', parsed["X-Addresses"])
        self.assertEqual(parsed["X-Group"], f"Team: {ENV['DAVE_EMAIL']};")
        self.assertEqual(parsed["X-Ids"], "<a@example.com> <b@example.com>")
        self.assertEqual(parsed["X-Date"], "Fri, 1 Mar 2024 10:00:00 -0500")
        self.assertEqual(parsed["List-Unsubscribe"], "<mailto:leave@example.com>")
        self.assertEqual(parsed.get_all("X-All"), ["one", "two"])

    def test_convenience_and_header_property_conflict(self):
        err = self.error(base(**{"header:To:asAddresses": [addr("CAROL")]}))
        self.assertEqual(err["type"], "invalidProperties")
        self.assertEqual(sorted(err["properties"]), ["header:To:asAddresses", "to"])

    def test_same_field_in_two_forms_conflicts(self):
        err = self.error(base(**{"header:X-A:asText": "a", "header:x-a:asRaw": " b"}))
        self.assertEqual(err["type"], "invalidProperties")
        self.assertEqual(sorted(err["properties"]), ["header:X-A:asText", "header:x-a:asRaw"])

    def test_forbidden_form_is_invalid(self):
        err = self.error(base(**{"header:Subject:asAddresses": [addr("CAROL")]}))
        self.assertEqual(err["type"], "invalidProperties")
        self.assertEqual(err["properties"], ["header:Subject:asAddresses"])

    def test_raw_from_selects_signer(self):
        create = base(**{"header:From": f" Alice <{ENV['ALICE_EMAIL']}>",
                         "textBody": [{"partId": "t"}], "bodyValues": {"t": {"value": "x"}}})
        del create["from"]
        inner = VERIFIERS.openssl_verify(self.message(create, smimeSign=True))
        self.assertIn(b"x", inner)


class CreateErrorsTest(CreateTestCase):
    def test_missing_blobs_are_all_named(self):
        err = self.error(base(attachments=[{"blobId": "Gmissing1"}, {"blobId": "Gmissing2"}]))
        self.assertEqual(err["type"], "blobNotFound")
        self.assertEqual(sorted(err["notFound"]), ["Gmissing1", "Gmissing2"])

    def test_body_structure_with_text_body_is_invalid(self):
        err = self.error(base(bodyStructure={"partId": "t"}, textBody=[{"partId": "t"}],
                              bodyValues={"t": {"value": "x"}}))
        self.assertEqual(err["type"], "invalidProperties")
        self.assertEqual(sorted(err["properties"]), ["bodyStructure", "textBody"])

    def test_headers_property_is_invalid(self):
        err = self.error(base(headers=[{"name": "X-A", "value": "b"}]))
        self.assertEqual(err["properties"], ["headers"])

    def test_server_set_property_is_invalid(self):
        err = self.error(base(size=3))
        self.assertEqual(err["properties"], ["size"])

    def test_content_transfer_encoding_in_part_is_invalid(self):
        err = self.error(base(bodyStructure={"type": "multipart/mixed", "subParts": [
            {"partId": "t", "header:Content-Transfer-Encoding": " base64"}]},
            bodyValues={"t": {"value": "x"}}))
        self.assertEqual(err["properties"],
                         ["bodyStructure/subParts/0/header:Content-Transfer-Encoding"])


class ReferencesTest(CreateTestCase):
    def call(self, calls, created_ids=None):
        request = {"using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
                   "methodCalls": calls}
        if created_ids is not None:
            request["createdIds"] = created_ids
        resp = self.alice.api_raw(request)
        self.assertEqual(resp.status, 200, resp.body)
        return resp.json()

    def test_creation_ids_and_result_references(self):
        account = self.alice.account_id
        first = base(subject="original", textBody=[{"partId": "t"}],
                     bodyValues={"t": {"value": "x"}})
        forward = base(subject="forward", attachments=[
            {"blobId": "#orig", "type": "message/rfc822", "name": "original.eml"}])
        response = self.call([
            ["Email/set", {"accountId": account, "create": {"orig": first}}, "0"],
            ["Email/set", {"accountId": account, "create": {"fwd": forward}}, "1"],
            ["Email/get", {"accountId": account, "ids": ["#fwd"], "properties": ["id"]}, "2"],
            ["Email/get", {"accountId": account, "#ids": {
                "resultOf": "2", "name": "Email/get", "path": "/list/*/id"},
                "properties": ["subject", "hasAttachment"]}, "3"],
            ["Email/set", {"accountId": account, "update": {"#fwd": {"keywords/$seen": True}},
                           "destroy": ["#orig"]}, "4"],
        ], created_ids={})
        names = [r[0] for r in response["methodResponses"]]
        self.assertEqual(names, ["Email/set", "Email/set", "Email/get", "Email/get", "Email/set"])
        created = response["createdIds"]
        self.assertEqual(sorted(created), ["fwd", "orig"])
        got = response["methodResponses"][3][1]["list"]
        self.assertEqual(got, [{"id": created["fwd"], "subject": "forward",
                                "hasAttachment": True}])
        last = response["methodResponses"][4][1]
        self.assertEqual(last["updated"], {created["fwd"]: None})
        self.assertEqual(last["destroyed"], [created["orig"]])

        blob = response["methodResponses"][1][1]["created"]["fwd"]["blobId"]
        parsed = email.message_from_bytes(self.alice.download(blob).body,
                                          policy=email.policy.default)
        attached = [p for p in parsed.walk() if p.get_content_type() == "message/rfc822"]
        self.assertEqual(len(attached), 1)
        self.assertEqual(str(attached[0].get_content()["Subject"]), "original")

    def test_created_ids_from_an_earlier_request(self):
        account = self.alice.account_id
        created = self.created(base(subject="earlier"))
        response = self.call([["Email/get", {"accountId": account, "ids": ["#old"],
                                             "properties": ["subject"]}, "0"]],
                             created_ids={"old": created["id"]})
        self.assertEqual(response["methodResponses"][0][1]["list"][0]["subject"], "earlier")
        self.assertEqual(response["createdIds"], {"old": created["id"]})
