"""The smimegw demonstration behind `make demo`: a test company directory in
a real slapd, the daemon, one Email/set that signs and encrypts a message,
the message opened with GnuPG's gpgsm, and a refusal for a recipient whose
only certificate has expired. Everything started is stopped at the end."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

import harness  # noqa: E402
from verifiers import Verifiers, content_type, split_message  # noqa: E402


def step(text):
    print(f"\n==> {text}", flush=True)


def show(obj):
    print(json.dumps(obj, indent=2, ensure_ascii=False), flush=True)


def person(env, name):
    return {"name": name.capitalize(), "email": env[f"{name}_EMAIL"]}


def run_demo(env, binary):
    alice = harness.Client(env["SMIMEGW_URL"], env["ALICE_EMAIL"], env["ALICE_PASSWORD"])
    session = alice.session()
    step(f"Alice ({env['ALICE_EMAIL']}) logs in; the session advertises:")
    show(sorted(session["capabilities"]))

    step("Alice uploads an attachment")
    blob = alice.upload("Budget 2027: approved\n".encode(), "text/plain")
    show(blob)

    subject = "Vertraulich: Prüfbericht für Q4 — ready"
    request = {
        "accountId": alice.account_id,
        "smimeSign": True,
        "smimeEncrypt": True,
        "create": {"m1": {
            "mailboxIds": {"drafts": True},
            "from": [person(env, "ALICE")],
            "to": [person(env, "BOB"), person(env, "DAVE")],
            "subject": subject,
            "textBody": [{"partId": "t", "type": "text/plain"}],
            "bodyValues": {"t": {"value": "Hello Bob, hello Dave,\n\nthe report is attached.\n"}},
            "attachments": [{"blobId": blob["blobId"], "type": "text/plain",
                             "name": "budget.txt"}],
        }},
    }
    step("Email/set with smimeSign and smimeEncrypt to Bob and Dave")
    show(request)
    result = alice.email_set(request["create"], smimeSign=True, smimeEncrypt=True)
    step("JMAP response")
    show(result)
    created = result["created"]["m1"]

    message = alice.download(created["blobId"]).body
    headers, _ = split_message(message)
    step(f"Downloaded the message ({len(message)} bytes); its header:")
    print(headers.decode(), flush=True)

    verifiers = Verifiers(env, tempfile.mkdtemp(prefix="gpgsm-", dir=env["WORKDIR"]))
    try:
        step("Bob decrypts it with gpgsm")
        signed = verifiers.gpgsm_decrypt(message, "BOB")
        print(f"decrypted: {content_type(split_message(signed)[0])[0]}, {len(signed)} bytes",
              flush=True)
        step("gpgsm verifies Alice's signature")
        inner = verifiers.gpgsm_verify(signed)
        print("signature: good (GOODSIG and VALIDSIG from gpgsm)")
        print("signed content:")
        print(inner.decode(errors="replace"), flush=True)
    finally:
        verifiers.close()

    step(f"Email/set encrypting to {env['EXPIRED_EMAIL']}, whose only certificate has expired")
    refused = alice.email_set({"m2": {
        "mailboxIds": {"drafts": True},
        "from": [person(env, "ALICE")],
        "to": [person(env, "EXPIRED")],
        "subject": "This must not be sent unencrypted",
        "textBody": [{"partId": "t", "type": "text/plain"}],
        "bodyValues": {"t": {"value": "secret\n"}},
    }}, smimeEncrypt=True)
    show(refused)

    step(f"smimegw lookup {env['EXPIRED_EMAIL']} {env['DAVE_EMAIL']}: why one is refused "
         "and the other usable")
    subprocess.run([binary, "lookup", "--config", env["SMIMEGW_CONFIG"],
                    env["EXPIRED_EMAIL"], env["DAVE_EMAIL"]], check=False)


def main():
    builddir = sys.argv[1] if len(sys.argv) > 1 else "build"
    binary = os.path.join(TOP, builddir, "smimegw")
    workdir = tempfile.mkdtemp(prefix="smimegw-demo-")
    testenv = os.path.join(TOP, "scripts", "testenv")
    daemon = None
    ok = False
    try:
        step("Starting the test directory (slapd on 127.0.0.1) and the test PKI")
        subprocess.run([testenv, "start", workdir], check=True)
        env = harness.load_env(os.path.join(workdir, "testenv.env"))
        env["WORKDIR"] = workdir
        step(f"Starting smimegw at {env['SMIMEGW_URL']}")
        daemon = harness.Daemon(binary, env["SMIMEGW_CONFIG"], env["SMIMEGW_URL"],
                                os.path.join(workdir, "smimegw.stdout"))
        daemon.start()
        run_demo(env, binary)
        ok = True
    finally:
        step("Stopping smimegw and the test environment (slapd, OCSP and CRL servers)")
        if daemon is not None:
            daemon.stop()
            print("smimegw stopped")
        subprocess.run([testenv, "stop", workdir], check=False)
        if ok:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"demo failed; its files are kept in {workdir}")
    print("\ndemo finished" if ok else "\ndemo FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
