"""The interoperability matrix of Email/set creates through the gateway.
It takes every combination of signing form (none, multipart/signed,
opaque), signer key (RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA), content
encryption (none, AES-128/256 CBC and GCM), RSA key transport (PKCS#1
v1.5, OAEP) and recipient key (RSA, EC). Each has four kinds of content:
plain text, HTML and text, binary attachments with NUL bytes, and
non-ASCII subject and names.

Every output is opened by each independent implementation that supports
the combination (openssl cms, GnuPG gpgsm, NSS cmsutil, Bouncy Castle) and
read back with Python's email package against the request. The suite prints
a table of which implementation checked which cell; a cell that an
implementation cannot read is marked n/a and never counted as checked.

The algorithm options are daemon settings, so each combination of cipher,
key transport and RSA signature scheme gets its own daemon, started from a
copy of the test environment's configuration.
"""

import email
import email.policy
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "interop"))

import harness  # noqa: E402
import interop  # noqa: E402
from harness import ENV, Client  # noqa: E402
from verifiers import (  # noqa: E402
    Verifiers, VerifyError, content_type, detached_parts, find_smime_entity, pkcs7_der,
    split_message)

SIGNINGS = [("none", None), ("detached", "rsa"), ("detached", "rsa-pss"),
            ("detached", "ecdsa"), ("opaque", "rsa"), ("opaque", "rsa-pss"),
            ("opaque", "ecdsa")]
CIPHERS = ["aes-256-cbc", "aes-128-cbc", "aes-128-gcm", "aes-256-gcm"]
TRANSPORTS = ["rsa-pkcs1", "rsa-oaep"]
RECIPIENTS = ["rsa", "ec"]
CONTENTS = ["text", "html", "attachments", "intl"]
TOOLS = ["openssl", "gpgsm", "nss", "bc"]

# Object identifiers that Bouncy Castle reports for each choice.
CIPHER_OIDS = {"aes-256-cbc": "2.16.840.1.101.3.4.1.42", "aes-128-cbc": "2.16.840.1.101.3.4.1.2",
               "aes-128-gcm": "2.16.840.1.101.3.4.1.6", "aes-256-gcm": "2.16.840.1.101.3.4.1.46"}
KEY_TRANSPORT_OIDS = {"rsa-pkcs1": "1.2.840.113549.1.1.1", "rsa-oaep": "1.2.840.113549.1.1.7"}
ECDH_OID = "1.3.132.1.11.1"  # dhSinglePass-stdDH-sha256kdf-scheme
SIGNATURE_OIDS = {"rsa": "1.2.840.113549.1.1.1", "rsa-pss": "1.2.840.113549.1.1.10",
                  "ecdsa": "1.2.840.10045.4.3.2"}

BINARY = bytes(range(256)) + b"\x00\x00\r\n\x00From \x00" * 40
IMAGE = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)


class Cell:
    """One combination of the matrix and what happened to it."""

    def __init__(self, number, sign, signer, cipher, transport, recipient, content):
        self.id = f"c{number:03d}"
        self.sign, self.signer = sign, signer
        self.cipher, self.transport, self.recipient = cipher, transport, recipient
        self.content = content
        self.sender = "CAROL" if signer == "ecdsa" else "ALICE"
        self.reader = "BOB" if recipient == "rsa" else "CAROL"
        self.message = None
        self.leaves = []                # (media type, file name, content)
        self.error = None               # the create failed or a check crashed
        self.results = {tool: {} for tool in TOOLS}   # tool -> {"decrypt": ..., "verify": ...}
        self.readback = None            # None, "ok" or the difference
        self.inner = None

    @property
    def encrypted(self):
        return self.cipher is not None

    @property
    def variant(self):
        """The daemon settings this cell needs."""
        return (self.cipher or "aes-256-cbc", self.transport or "rsa-pkcs1",
                "rsa-pss" if self.signer == "rsa-pss" else "rsa-pkcs1")

    def describe(self):
        enc = f"{self.cipher} {self.transport if self.recipient == 'rsa' or self.sender == 'ALICE' else '-'}" \
            if self.encrypted else "plain"
        return (f"{self.sign:8} {self.signer or '-':7} {enc:22} "
                f"{(self.recipient or '-') if self.encrypted else '-':3} {self.content:11}")

    def mark(self, tool, step, outcome):
        self.results[tool][step] = outcome


def build_cells():
    cells = []
    for sign, signer in SIGNINGS:
        sender = "CAROL" if signer == "ecdsa" else "ALICE"
        encryptions = [(None, None, None)]
        for cipher in CIPHERS:
            for transport in TRANSPORTS:
                for recipient in RECIPIENTS:
                    # OAEP changes nothing when no recipient has an RSA key.
                    if transport == "rsa-oaep" and recipient == "ec" and sender == "CAROL":
                        continue
                    encryptions.append((cipher, transport, recipient))
        for cipher, transport, recipient in encryptions:
            for content in CONTENTS:
                cells.append(Cell(len(cells) + 1, sign, signer, cipher, transport, recipient,
                                  content))
    return cells


CELLS = build_cells()


def person(user, intl):
    names = {"ALICE": "Alice", "BOB": "Bob", "CAROL": "Carol"}
    intl_names = {"ALICE": "Älice Ünïcode, Jr.", "BOB": "Bøb \"the builder\" Smith",
                  "CAROL": "Карол Łódź"}
    return {"name": (intl_names if intl else names)[user], "email": ENV[f"{user}_EMAIL"]}


def build_create(cell, blobs):
    """Return the Email create for a cell and the leaves it must read back
    as: (media type, file name, content bytes or text)."""
    intl = cell.content == "intl"
    to = [person(cell.reader if cell.encrypted else "BOB", intl)]
    create = {
        "mailboxIds": {"drafts": True},
        "from": [person(cell.sender, intl)],
        "to": to,
        "subject": (f"Квартальный отчёт – Grüße {cell.id} ✓" if intl
                    else f"Quarterly report {cell.id}"),
        "textBody": [{"partId": "t", "type": "text/plain"}],
        "bodyValues": {"t": {"value": (
            f"Hello,\nthe numbers for {cell.id} are in.\nFrom now on:  \n" + "x" * 200 + "\n"
            if not intl else f"Grüße aus Köln, {cell.id}.\nЦифры готовы. 数字\n")}},
    }
    leaves = [("text/plain", None, create["bodyValues"]["t"]["value"])]
    if cell.content == "html":
        create["htmlBody"] = [{"partId": "h", "type": "text/html"}]
        create["bodyValues"]["h"] = {"value": f"<p>The numbers for <b>{cell.id}</b> are in.</p>"}
        leaves.append(("text/html", None, create["bodyValues"]["h"]["value"]))
    if cell.content == "attachments":
        create["attachments"] = [
            {"blobId": blobs["binary"], "type": "application/octet-stream",
             "name": "report data, final.bin"},
            {"blobId": blobs["image"], "type": "image/png", "name": "chart.png"},
        ]
        leaves += [("application/octet-stream", "report data, final.bin", BINARY),
                   ("image/png", "chart.png", IMAGE)]
    return create, leaves


# ---------------------------------------------------------------------------
# Creating the messages


def start_variant(variant, index):
    """Start a daemon for variant (cipher, transport, signature) and return
    it with its URL, or (None, the test environment's URL) for the
    settings the test environment has."""
    if variant == ("aes-256-cbc", "rsa-pkcs1", "rsa-pkcs1"):
        return None, ENV["SMIMEGW_URL"]
    cipher, transport, signature = variant
    port = harness.free_port()
    config = interop.variant_config(ENV["SMIMEGW_CONFIG"], f"interop-{index}", port, {
        "cipher": cipher, "rsaOaep": transport == "rsa-oaep",
        "signatureAlgorithm": signature})
    url = f"http://127.0.0.1:{port}"
    daemon = harness.Daemon(ENV["SMIMEGW_BIN"], config, url,
                            os.path.join(ENV["WORKDIR"], f"smimegw-interop-{index}.stdout"))
    daemon.start()
    return daemon, url


def create_cells(url, cells):
    """Create every cell with one Email/set per sender and S/MIME form."""
    clients = {}
    groups = {}
    for cell in cells:
        groups.setdefault((cell.sender, cell.sign, cell.encrypted), []).append(cell)
    for (sender, sign, encrypted), group in groups.items():
        if sender not in clients:
            client = Client(url, ENV[f"{sender}_EMAIL"], ENV[f"{sender}_PASSWORD"])
            blobs = {"binary": client.upload(BINARY)["blobId"],
                     "image": client.upload(IMAGE, "image/png")["blobId"]}
            clients[sender] = (client, blobs)
        client, blobs = clients[sender]
        creates = {}
        for cell in group:
            creates[cell.id], cell.leaves = build_create(cell, blobs)
        result = client.email_set(creates, smimeSign=sign != "none",
                                  smimeSignOpaque=sign == "opaque", smimeEncrypt=encrypted)
        for cell in group:
            created = (result.get("created") or {}).get(cell.id)
            if created is None:
                cell.error = f"create failed: {(result.get('notCreated') or {}).get(cell.id)}"
                continue
            resp = client.download(created["blobId"])
            if resp.status != 200 or len(resp.body) != created["size"]:
                cell.error = f"download failed: HTTP {resp.status}"
                continue
            cell.message = resp.body


def create_all():
    variants = {}
    for cell in CELLS:
        variants.setdefault(cell.variant, []).append(cell)
    for index, (variant, cells) in enumerate(sorted(variants.items())):
        daemon, url = start_variant(variant, index)
        try:
            create_cells(url, cells)
        finally:
            if daemon is not None:
                daemon.stop()


# ---------------------------------------------------------------------------
# Checking them


def gpgsm_reads(cell):
    """gpgsm 2.2 decrypts RSA PKCS#1 v1.5 key transport with AES-CBC only."""
    return cell.cipher.endswith("-cbc") and cell.transport == "rsa-pkcs1" and cell.reader == "BOB"


def nss_reads(cell):
    """NSS 3.87 cmsutil decrypts like gpgsm, and rejects a whole
    EnvelopedData as bad DER when any RecipientInfo uses ECDH, which the
    sender's own copy adds for an EC sender."""
    return gpgsm_reads(cell) and cell.sender == "ALICE"


def run_tool(cell, tool, step, function, *args):
    """Run one check; record "ok" or the failure and return the result."""
    try:
        result = function(*args)
    except VerifyError as err:
        cell.mark(tool, step, f"FAIL: {err}")
        return None
    cell.mark(tool, step, "ok")
    return result


def check_decryption(cell, verifiers, bc):
    """Decrypt with every implementation that reads the cell; return the
    inner entity from openssl."""
    der = pkcs7_der(find_smime_entity(cell.message))
    bc.decrypt(f"{cell.id}-d", der, ENV[f"{cell.reader}_CERT"], ENV[f"{cell.reader}_KEY"])
    inner = run_tool(cell, "openssl", "decrypt", verifiers.openssl_decrypt, cell.message,
                     cell.reader)
    others = [("gpgsm", gpgsm_reads(cell), verifiers.gpgsm_decrypt),
              ("nss", nss_reads(cell), verifiers.nss_decrypt)]
    for tool, applicable, function in others:
        if not applicable:
            cell.mark(tool, "decrypt", "n/a")
            continue
        out = run_tool(cell, tool, "decrypt", function, cell.message, cell.reader)
        if out is not None and inner is not None and out != inner:
            cell.mark(tool, "decrypt", "FAIL: output differs from openssl's")
    return inner


def check_signature(cell, entity, verifiers, bc):
    """Verify entity with every implementation that reads the signature;
    return the signed content."""
    smime_entity = find_smime_entity(entity)
    media_type, _ = content_type(split_message(smime_entity)[0])
    if media_type == "multipart/signed":
        content, signature = detached_parts(smime_entity)
    else:
        content, signature = None, pkcs7_der(smime_entity)
    bc.verify(f"{cell.id}-v", signature, content, ENV["ROOT_CA_CERT"])
    signed = run_tool(cell, "openssl", "verify", verifiers.openssl_verify, entity)
    if cell.signer == "rsa-pss":
        # gpgsm 2.2.40 reports BADSIG for RSASSA-PSS signatures that
        # openssl makes too.
        cell.mark("gpgsm", "verify", "n/a")
    else:
        run_tool(cell, "gpgsm", "verify", verifiers.gpgsm_verify, entity)
    run_tool(cell, "nss", "verify", verifiers.nss_verify, entity)
    return signed


def expected_type(cell):
    if cell.encrypted:
        return "application/pkcs7-mime", ("authEnveloped-data" if cell.cipher.endswith("gcm")
                                          else "enveloped-data")
    if cell.sign == "detached":
        return "multipart/signed", None
    if cell.sign == "opaque":
        return "application/pkcs7-mime", "signed-data"
    return None, None


def check_cell(cell, verifiers, bc):
    want_type, want_smime = expected_type(cell)
    outer_type, params = content_type(split_message(cell.message)[0])
    if want_type is not None and (outer_type != want_type or
                                  params.get("smime-type") != want_smime and want_smime):
        cell.error = f"the message is {outer_type} {params}, expected {want_type} {want_smime}"
        return
    entity = cell.message
    if cell.encrypted:
        entity = check_decryption(cell, verifiers, bc)
        if entity is None:
            return
    if cell.sign != "none":
        entity = check_signature(cell, entity, verifiers, bc)
        if entity is None:
            return
    cell.inner = entity


# ---------------------------------------------------------------------------
# Reading back


def normalise(text):
    return text.replace("\r\n", "\n")


def read_back(cell):
    """Compare the outer header and the innermost entity with the request;
    return None or the first difference."""
    outer = email.message_from_bytes(split_message(cell.message)[0] + b"\r\n\r\n",
                                     policy=email.policy.default)
    intl = cell.content == "intl"
    want_to = person(cell.reader if cell.encrypted else "BOB", intl)
    want_from = person(cell.sender, intl)
    for field, want in (("From", want_from), ("To", want_to)):
        addresses = outer[field].addresses if outer[field] is not None else ()
        if [(a.display_name, a.addr_spec) for a in addresses] != [(want["name"], want["email"])]:
            return f"{field} reads back as {outer[field]!r}"
    subject = f"Квартальный отчёт – Grüße {cell.id} ✓" if intl else f"Quarterly report {cell.id}"
    if str(outer["Subject"]) != subject:
        return f"Subject reads back as {outer['Subject']!r}"

    inner = email.message_from_bytes(cell.inner, policy=email.policy.default)
    leaves = [part for part in inner.walk() if not part.is_multipart()]
    if len(leaves) != len(cell.leaves):
        return f"{len(leaves)} body parts, expected {len(cell.leaves)}"
    for part, (media_type, filename, want) in zip(leaves, cell.leaves):
        if part.get_content_type() != media_type or part.get_filename() != filename:
            return f"part {part.get_content_type()} {part.get_filename()!r} where " \
                   f"{media_type} {filename!r} was requested"
        got = part.get_content()
        if isinstance(want, str) and normalise(got) != normalise(want):
            return f"{media_type} content differs: {got[:60]!r}"
        if isinstance(want, bytes) and got != want:
            return f"{media_type} content differs ({len(got)} octets, expected {len(want)})"
        if part.get("Content-Transfer-Encoding", "7bit") not in ("7bit", "quoted-printable",
                                                                  "base64"):
            return f"{media_type} goes as {part['Content-Transfer-Encoding']}"
    return None


def merge_bc(cell, results):
    """Record Bouncy Castle's results and compare its algorithms and output
    with the request and with openssl's."""
    steps = []
    if cell.encrypted:
        steps.append(("decrypt", f"{cell.id}-d"))
    if cell.sign != "none":
        steps.append(("verify", f"{cell.id}-v"))
    for step, job in steps:
        if job not in results:
            continue
        ok, details, out = results[job]
        if not ok:
            cell.mark("bc", step, f"FAIL: {details}")
            continue
        problem = bc_details_problem(cell, step, details)
        if problem is None and step == "verify" and cell.inner is not None:
            with open(out, "rb") as file:
                if file.read() != cell.inner:
                    problem = "signed content differs from openssl's"
        cell.mark("bc", step, "ok" if problem is None else f"FAIL: {problem}")


def bc_details_problem(cell, step, details):
    fields = dict(item.split("=", 1) for item in details.split() if "=" in item)
    if step == "decrypt":
        if fields.get("content") != CIPHER_OIDS[cell.cipher]:
            return f"content encryption {fields.get('content')}, expected {cell.cipher}"
        key = ECDH_OID if cell.reader == "CAROL" else KEY_TRANSPORT_OIDS[cell.transport]
        if fields.get("key") != key:
            return f"key encryption {fields.get('key')}, expected {key}"
        return None
    if fields.get("sig") != SIGNATURE_OIDS[cell.signer]:
        return f"signature algorithm {fields.get('sig')}, expected {cell.signer}"
    return None


def summary(outcomes):
    """One table entry: D and V for decrypted and verified, "n/a" when the
    implementation reads neither, FAIL when any step failed."""
    if not outcomes:
        return "-"
    if any(o.startswith("FAIL") for o in outcomes.values()):
        return "FAIL"
    text = "".join(letter for step, letter in (("decrypt", "D"), ("verify", "V"))
                   if outcomes.get(step) == "ok")
    return text or "n/a"


def print_table():
    lines = ["", "Interoperability matrix (D: decrypted, V: signature verified, "
             "n/a: the implementation cannot read this combination, -: nothing to check)",
             f"{'cell':5} {'signing':8} {'signer':7} {'encryption':22} {'rcp':3} "
             f"{'content':11} " + " ".join(f"{tool:7}" for tool in TOOLS) + " read-back"]
    checked = {tool: 0 for tool in TOOLS}
    for cell in CELLS:
        entries = [summary(cell.results[tool]) for tool in TOOLS]
        for tool, entry in zip(TOOLS, entries):
            if entry not in ("-", "n/a", "FAIL"):
                checked[tool] += 1
        status = cell.error or ("ok" if cell.readback is None else f"FAIL: {cell.readback}")
        lines.append(f"{cell.id:5} {cell.describe()} " +
                     " ".join(f"{entry:7}" for entry in entries) + f" {status[:60]}")
    lines.append("cells checked: " + ", ".join(f"{tool} {checked[tool]}" for tool in TOOLS) +
                 f" of {len(CELLS)}")
    print("\n".join(lines), flush=True)
    return checked


class InteropMatrixTest(unittest.TestCase):
    """One test per cell, and one on the coverage of each implementation."""

    checked = {}

    @classmethod
    def setUpClass(cls):
        workdir = tempfile.mkdtemp(prefix="interop-", dir=ENV["WORKDIR"])
        bc = interop.BcChecker(os.path.join(workdir, "bc"))
        create_all()
        with Verifiers(ENV, os.path.join(workdir, "verifiers")) as verifiers:
            for cell in CELLS:
                if cell.message is None:
                    continue
                try:
                    check_cell(cell, verifiers, bc)
                except VerifyError as err:
                    cell.error = f"malformed S/MIME: {err}"
        results = bc.run()
        for cell in CELLS:
            if cell.message is not None and cell.error is None:
                merge_bc(cell, results)
            if cell.inner is not None:
                cell.readback = read_back(cell)
        cls.checked = print_table()

    def check(self, cell):
        self.assertIsNone(cell.error, cell.error)
        for tool in TOOLS:
            for step, outcome in cell.results[tool].items():
                self.assertFalse(outcome.startswith("FAIL"), f"{tool} {step}: {outcome}")
        if cell.encrypted:
            self.assertEqual(cell.results["openssl"].get("decrypt"), "ok")
            self.assertEqual(cell.results["bc"].get("decrypt"), "ok")
        if cell.sign != "none":
            self.assertEqual(cell.results["openssl"].get("verify"), "ok")
            self.assertEqual(cell.results["bc"].get("verify"), "ok")
        self.assertIsNotNone(cell.inner, "nothing was read back")
        self.assertIsNone(cell.readback, cell.readback)

    def test_every_implementation_checked_cells(self):
        # gpgsm and NSS read only RSA PKCS#1 v1.5 with AES-CBC for
        # decryption, but every signature but RSASSA-PSS in gpgsm.
        for tool in TOOLS:
            self.assertGreaterEqual(self.checked.get(tool, 0), 100, tool)


def _add_cell_tests():
    for cell in CELLS:
        def test(self, cell=cell):
            self.check(cell)
        name = (f"test_{cell.id}_{cell.sign}_{cell.signer or 'unsigned'}_"
                f"{cell.cipher or 'plain'}_{cell.transport or ''}_{cell.recipient or ''}_"
                f"{cell.content}").replace("-", "_").replace("__", "_")
        setattr(InteropMatrixTest, name, test)


_add_cell_tests()
