"""Authentication and account isolation against the real directory."""

import unittest

import harness
from harness import ENV, Client


def client_for(name, password=None, login=None):
    return Client(ENV["SMIMEGW_URL"], login or ENV[f"{name}_EMAIL"],
                  password if password is not None else ENV[f"{name}_PASSWORD"])


class AuthTest(unittest.TestCase):
    def test_health_needs_no_credentials(self):
        resp = Client(ENV["SMIMEGW_URL"]).request("GET", "/health")
        self.assertEqual(resp.status, 200)

    def test_session_without_credentials_is_401(self):
        resp = Client(ENV["SMIMEGW_URL"]).request("GET", "/.well-known/jmap")
        self.assertEqual(resp.status, 401)
        self.assertIn("basic", resp.headers.get("www-authenticate", "").lower())

    def test_wrong_password_is_401(self):
        resp = client_for("ALICE", password="not-the-password").request("GET", "/.well-known/jmap")
        self.assertEqual(resp.status, 401)

    def test_unknown_user_is_401(self):
        client = Client(ENV["SMIMEGW_URL"], "nobody@corp.example", "x")
        self.assertEqual(client.request("GET", "/.well-known/jmap").status, 401)

    def test_api_without_credentials_is_401(self):
        resp = Client(ENV["SMIMEGW_URL"]).api_raw({"using": [], "methodCalls": []})
        self.assertEqual(resp.status, 401)

    def test_login_by_uid_gives_same_account(self):
        by_mail = client_for("ALICE")
        by_uid = client_for("ALICE", login=ENV["ALICE_EMAIL"].split("@")[0])
        self.assertEqual(by_mail.account_id, by_uid.account_id)

    def test_session_advertises_smime_capability(self):
        session = client_for("ALICE").session()
        cap = "urn:ietf:params:jmap:smime-advanced"
        self.assertEqual(session["capabilities"][cap], {})
        account = session["accounts"][session["primaryAccounts"]["urn:ietf:params:jmap:mail"]]
        self.assertEqual(account["accountCapabilities"][cap], {})
        self.assertEqual(len(session["accounts"]), 1)
        self.assertTrue(session["apiUrl"].startswith(ENV["SMIMEGW_URL"]))

    def test_bearer_token_authenticates(self):
        client = Client(ENV["SMIMEGW_URL"], token=ENV["SERVICE_TOKEN"])
        self.assertEqual(client.request("GET", "/.well-known/jmap").status, 200)

    def test_wrong_bearer_token_is_401(self):
        client = Client(ENV["SMIMEGW_URL"], token="x" * 40)
        self.assertEqual(client.request("GET", "/.well-known/jmap").status, 401)


class IsolationTest(unittest.TestCase):
    def setUp(self):
        self.alice = client_for("ALICE")
        self.bob = client_for("BOB")
        self.blob = self.alice.upload(b"alice's private attachment", "text/plain")

    def test_owner_downloads_own_blob(self):
        resp = self.alice.download(self.blob["blobId"], "a.txt")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.body, b"alice's private attachment")

    def test_other_account_id_in_url_is_rejected(self):
        resp = self.bob.download(self.blob["blobId"], "a.txt", account_id=self.alice.account_id)
        self.assertEqual(resp.status, 404)
        self.assertNotIn(b"private", resp.body)

    def test_other_accounts_blob_not_found(self):
        resp = self.bob.download(self.blob["blobId"], "a.txt")
        self.assertEqual(resp.status, 404)
        self.assertNotIn(b"private", resp.body)

    def test_upload_to_other_account_rejected(self):
        resp = self.bob.request("POST", f"/jmap/upload/{self.alice.account_id}/", b"x",
                                "text/plain")
        self.assertEqual(resp.status, 404)

    def test_api_with_other_account_id_is_account_not_found(self):
        responses = self.bob.api([["Email/get", {"accountId": self.alice.account_id,
                                                 "ids": None}, "0"]])
        self.assertEqual(responses[0][0], "error")
        self.assertEqual(responses[0][1]["type"], "accountNotFound")


if __name__ == "__main__":
    unittest.main()
