"""JMAP requests over HTTP: request-level errors, Core/echo, Mailbox/get,
Email/set updates and destroys, and a store that survives a restart."""

import json
import unittest

import harness
from harness import ENV, JMAP_USING, Client


def alice():
    return Client(ENV["SMIMEGW_URL"], ENV["ALICE_EMAIL"], ENV["ALICE_PASSWORD"])


def plain_create(subject="Plain"):
    return {
        "mailboxIds": {"drafts": True},
        "from": [{"email": ENV["ALICE_EMAIL"]}],
        "to": [{"email": ENV["BOB_EMAIL"]}],
        "subject": subject,
        "textBody": [{"partId": "t", "type": "text/plain"}],
        "bodyValues": {"t": {"value": "plain text\n"}},
    }


class RequestTest(unittest.TestCase):
    def setUp(self):
        self.client = alice()

    def test_not_json_is_problem_400(self):
        resp = self.client.request("POST", "/jmap/api", b"{not json", "application/json")
        self.assertEqual(resp.status, 400)
        self.assertEqual(resp.headers["content-type"], "application/problem+json")
        self.assertEqual(resp.json()["type"], "urn:ietf:params:jmap:error:notJSON")

    def test_unknown_capability_is_problem_400(self):
        resp = self.client.api_raw({"using": ["urn:example:nope"], "methodCalls": []})
        self.assertEqual(resp.status, 400)
        self.assertEqual(resp.json()["type"], "urn:ietf:params:jmap:error:unknownCapability")
        self.assertIn("urn:example:nope", resp.json()["detail"])

    def test_core_echo_returns_arguments(self):
        responses = self.client.api([["Core/echo", {"hello": [1, "two"]}, "e"]])
        self.assertEqual(responses, [["Core/echo", {"hello": [1, "two"]}, "e"]])

    def test_unknown_method(self):
        responses = self.client.api([["Email/frobnicate", {}, "0"]])
        self.assertEqual(responses[0][0], "error")
        self.assertEqual(responses[0][1]["type"], "unknownMethod")

    def test_mailbox_get_has_drafts_and_sent(self):
        responses = self.client.api([["Mailbox/get", {"accountId": self.client.account_id,
                                                      "ids": None}, "0"]])
        roles = sorted(m["role"] for m in responses[0][1]["list"])
        self.assertEqual(roles, ["drafts", "sent"])

    def test_unknown_mailbox_is_invalid_properties(self):
        create = plain_create()
        create["mailboxIds"] = {"inbox-that-does-not-exist": True}
        result = self.client.email_set({"c": create})
        err = result["notCreated"]["c"]
        self.assertEqual(err["type"], "invalidProperties")
        self.assertEqual(err["properties"], ["mailboxIds"])

    def test_invalid_address_names_value(self):
        create = plain_create()
        create["to"] = [{"email": "not an address"}]
        err = self.client.email_set({"c": create})["notCreated"]["c"]
        self.assertEqual(err["type"], "invalidProperties")
        self.assertIn("not an address", err["description"])

    def test_creation_id_reference_in_get(self):
        args = {"accountId": self.client.account_id, "create": {"c": plain_create()}}
        get = {"accountId": self.client.account_id, "properties": ["subject"], "ids": ["#c"]}
        responses = self.client.api([["Email/set", args, "s"], ["Email/get", get, "g"]])
        self.assertEqual(responses[1][1]["list"][0]["subject"], "Plain")

    def test_result_reference_to_listed_ids(self):
        self.client.email_set({"c": plain_create("Listed")})
        first = {"accountId": self.client.account_id, "ids": None, "properties": ["id"]}
        second = {"accountId": self.client.account_id, "properties": ["subject"],
                  "#ids": {"resultOf": "a", "name": "Email/get", "path": "/list/*/id"}}
        responses = self.client.api([["Email/get", first, "a"], ["Email/get", second, "b"]])
        self.assertEqual(len(responses[1][1]["list"]), len(responses[0][1]["list"]))
        self.assertIn("Listed", [e["subject"] for e in responses[1][1]["list"]])

    def test_upload_over_limit_is_413(self):
        limit = self.client.session()["capabilities"]["urn:ietf:params:jmap:core"]["maxSizeUpload"]
        resp = self.client.request("POST", f"/jmap/upload/{self.client.account_id}/",
                                   b"x" * (limit + 1), "application/octet-stream")
        self.assertEqual(resp.status, 413)


class UpdateDestroyTest(unittest.TestCase):
    def setUp(self):
        self.client = alice()
        result = self.client.email_set({"c": plain_create("To update")})
        self.email_id = result["created"]["c"]["id"]

    def call(self, args):
        args["accountId"] = self.client.account_id
        return self.client.api([["Email/set", args, "0"]])[0][1]

    def get(self, props):
        responses = self.client.api([["Email/get", {"accountId": self.client.account_id,
                                                    "ids": [self.email_id],
                                                    "properties": props}, "0"]])
        return responses[0][1]

    def test_keyword_patch_and_move(self):
        result = self.call({"update": {self.email_id: {"keywords/$seen": True,
                                                       "mailboxIds": {"sent": True}}}})
        self.assertIn(self.email_id, result["updated"])
        email_obj = self.get(["keywords", "mailboxIds"])["list"][0]
        self.assertEqual(email_obj["keywords"], {"$seen": True})
        self.assertEqual(email_obj["mailboxIds"], {"sent": True})

    def test_destroy_removes_email(self):
        result = self.call({"destroy": [self.email_id]})
        self.assertEqual(result["destroyed"], [self.email_id])
        self.assertEqual(self.get(["id"])["notFound"], [self.email_id])

    def test_destroy_unknown_is_not_found(self):
        result = self.call({"destroy": ["Mnope"]})
        self.assertEqual(result["notDestroyed"]["Mnope"]["type"], "notFound")

    def test_state_changes_after_set(self):
        before = self.get(["id"])["state"]
        result = self.call({"update": {self.email_id: {"keywords/$flagged": True}}})
        self.assertEqual(result["oldState"], before)
        self.assertNotEqual(result["newState"], before)


class RestartTest(unittest.TestCase):
    def test_store_survives_restart(self):
        client = alice()
        result = client.email_set({"c": plain_create("Before restart")}, smimeSign=True)
        created = result["created"]["c"]
        harness.DAEMON.stop()
        harness.DAEMON.start()
        client = alice()
        responses = client.api([["Email/get", {"accountId": client.account_id,
                                               "ids": [created["id"]],
                                               "properties": ["subject", "blobId"]}, "0"]])
        self.assertEqual(responses[0][1]["list"][0]["subject"], "Before restart")
        resp = client.download(created["blobId"])
        self.assertEqual(resp.status, 200)
        self.assertEqual(len(resp.body), created["size"])


if __name__ == "__main__":
    unittest.main()
