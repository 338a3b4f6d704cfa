"""Checks S/MIME messages made by smimegw with three independent
implementations: OpenSSL `openssl cms`, GnuPG `gpgsm` and NSS `cmsutil`.

Each check takes a complete RFC 5322 message (bytes with CRLF line ends)
and finds the S/MIME entity in it. It returns the decrypted or verified inner
MIME entity (its header fields and body), or raises VerifyError naming the
tool, the command and the tool's stderr. Only the Python standard library is
used, and the tools must be on PATH (Debian: openssl, gpgsm, libnss3-tools).
"""

import base64
import binascii
import hashlib
import os
import re
import shlex
import shutil
import ssl
import subprocess
import tempfile

# Seconds one tool run may take before it is killed and the check fails.
TOOL_TIMEOUT = 60

SMIME_MIME_TYPES = ("application/pkcs7-mime", "application/x-pkcs7-mime")
SIGNATURE_TYPES = ("application/pkcs7-signature", "application/x-pkcs7-signature")

# CMS content types (RFC 5652, RFC 5083), as dotted object identifiers.
OID_SIGNED_DATA = "1.2.840.113549.1.7.2"
OID_ENVELOPED_DATA = "1.2.840.113549.1.7.3"
OID_AUTH_ENVELOPED_DATA = "1.2.840.113549.1.9.16.1.23"

# Key of the GnuPG home and NSS database that hold no private key.
VERIFY_STORE = "verify"


class VerifyError(Exception):
    """A message that a tool could not decrypt or verify, or that is not
    well-formed S/MIME."""


def read_testenv(path):
    """Parse the `export NAME=value` lines of a testenv.env file into a dict."""
    env = {}
    with open(path, encoding="utf-8") as file:
        for line in file:
            words = shlex.split(line, comments=True)
            if len(words) == 2 and words[0] == "export" and "=" in words[1]:
                name, value = words[1].split("=", 1)
                env[name] = value
    return env


# ---------------------------------------------------------------------------
# MIME helpers


def split_message(message):
    """Split a message or MIME entity at the first CRLF CRLF.

    Returns (header block without its last CRLF, body). An entity that starts
    with CRLF has no header fields, and one without an empty line has no body.
    """
    if message.startswith(b"\r\n"):
        return b"", message[2:]
    end = message.find(b"\r\n\r\n")
    if end < 0:
        return message[:-2] if message.endswith(b"\r\n") else message, b""
    return message[:end], message[end + 4:]


def _header_fields(headers):
    """Yield (lowercase name, value) for each field of an unfolded header block."""
    unfolded = re.sub(rb"\r\n(?=[ \t])", b"", headers)
    for line in unfolded.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if colon:
            yield name.strip().decode("latin-1").lower(), value.decode("latin-1").strip()


def header_value(headers, name):
    """Return the unfolded value of the first header field NAME, or None."""
    name = name.lower()
    for field, value in _header_fields(headers):
        if field == name:
            return value
    return None


def _skip_comment(text, pos):
    """Return the index after the RFC 5322 comment that starts at text[pos]."""
    depth = 0
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    return pos


def _read_word(text, pos, stops):
    """Read a token or quoted-string at text[pos] and return (word, next index)."""
    if pos < len(text) and text[pos] == '"':
        word = []
        pos += 1
        while pos < len(text) and text[pos] != '"':
            if text[pos] == "\\" and pos + 1 < len(text):
                pos += 1
            word.append(text[pos])
            pos += 1
        return "".join(word), pos + 1
    start = pos
    while pos < len(text) and text[pos] not in stops and not text[pos].isspace():
        pos += 1
    return text[start:pos], pos


def content_type(headers):
    """Parse the Content-Type field of a header block (RFC 2045).

    Returns (media type in lowercase, {parameter name in lowercase: value}).
    Folded lines, quoted strings and comments are handled, but RFC 2231
    parameter continuations are not. Without the field the RFC 2045 default
    text/plain; charset=us-ascii is returned.
    """
    value = header_value(headers, "content-type")
    if value is None:
        return "text/plain", {"charset": "us-ascii"}

    pos = 0
    media = []
    while pos < len(value) and value[pos] != ";":
        if value[pos] == "(":
            pos = _skip_comment(value, pos)
            continue
        if not value[pos].isspace():
            media.append(value[pos])
        pos += 1

    params = {}
    while pos < len(value):
        char = value[pos]
        if char == ";" or char.isspace():
            pos += 1
            continue
        if char == "(":
            pos = _skip_comment(value, pos)
            continue
        name, pos = _read_word(value, pos, "=;")
        while pos < len(value) and value[pos].isspace():
            pos += 1
        if pos >= len(value) or value[pos] != "=":
            continue
        pos += 1
        while pos < len(value) and value[pos].isspace():
            pos += 1
        param_value, pos = _read_word(value, pos, ";(")
        params.setdefault(name.lower(), param_value)
    return "".join(media).lower(), params


def _delimiter_at(body, start, dash_boundary):
    """Classify the line at body[start:] as a multipart boundary line.

    Returns (is_close_delimiter, index after the line's CRLF) when the line is
    `--boundary` or `--boundary--` plus optional transport padding, else None.
    """
    after = start + len(dash_boundary)
    line_end = body.find(b"\r\n", after)
    if line_end < 0:
        line_end = len(body)
    rest = body[after:line_end]
    if rest.startswith(b"--"):
        return True, min(line_end + 2, len(body))
    if rest.strip(b" \t") == b"":
        return False, min(line_end + 2, len(body))
    return None


def multipart_parts(body, boundary):
    """Split a multipart body (RFC 2046) into the exact bytes of its parts.

    A part ends before the CRLF that precedes the next boundary line, because
    that CRLF belongs to the delimiter. Raises VerifyError when the close
    delimiter is missing.
    """
    dash_boundary = b"--" + boundary.encode("latin-1")
    parts = []
    part_start = None
    search_from = 0

    if body.startswith(dash_boundary):
        found = _delimiter_at(body, 0, dash_boundary)
        if found is not None:
            closing, part_start = found
            if closing:
                return parts
            search_from = part_start

    while True:
        crlf = body.find(b"\r\n" + dash_boundary, search_from)
        if crlf < 0:
            raise VerifyError(f"mime: multipart body has no close delimiter --{boundary}--")
        found = _delimiter_at(body, crlf + 2, dash_boundary)
        if found is None:
            search_from = crlf + 2
            continue
        closing, next_start = found
        if part_start is not None:
            parts.append(body[part_start:crlf])
        if closing:
            return parts
        part_start = next_start
        search_from = next_start


def _decode_base64_body(entity, media_type):
    headers, body = split_message(entity)
    encoding = (header_value(headers, "content-transfer-encoding") or "7bit").lower()
    if encoding != "base64":
        raise VerifyError(f"mime: {media_type} has Content-Transfer-Encoding {encoding}, "
                          "expected base64")
    compact = re.sub(rb"[ \t\r\n]", b"", body)
    try:
        return base64.b64decode(compact, validate=True)
    except binascii.Error as err:
        raise VerifyError(f"mime: {media_type} has an invalid base64 body: {err}") from err


def pkcs7_der(entity):
    """Decode the base64 body of an application/pkcs7-mime entity to DER.

    application/pkcs7-signature entities (and the x- forms of both) are
    accepted too. Raises VerifyError for other media types or bad base64.
    """
    media_type, _ = content_type(split_message(entity)[0])
    if media_type not in SMIME_MIME_TYPES + SIGNATURE_TYPES:
        raise VerifyError(f"mime: Content-Type is {media_type}, expected one of "
                          f"{', '.join(SMIME_MIME_TYPES + SIGNATURE_TYPES)}")
    return _decode_base64_body(entity, media_type)


def detached_parts(entity):
    """Split a multipart/signed entity (RFC 1847, RFC 5751).

    Returns (the exact bytes of the first body part as signed: from after the
    CRLF of the first boundary line to before the CRLF that precedes the next
    boundary line, the DER of the signature part).
    """
    headers, body = split_message(entity)
    media_type, params = content_type(headers)
    if media_type != "multipart/signed":
        raise VerifyError(f"mime: Content-Type is {media_type}, expected multipart/signed")
    protocol = params.get("protocol", "").lower()
    if protocol not in SIGNATURE_TYPES:
        raise VerifyError(f"mime: multipart/signed protocol is {protocol or 'missing'}, "
                          "expected application/pkcs7-signature")
    boundary = params.get("boundary")
    if not boundary:
        raise VerifyError("mime: multipart/signed has no boundary parameter")

    parts = multipart_parts(body, boundary)
    if len(parts) != 2:
        raise VerifyError(f"mime: multipart/signed has {len(parts)} body parts, expected 2")
    signature_type, _ = content_type(split_message(parts[1])[0])
    if signature_type not in SIGNATURE_TYPES:
        raise VerifyError(f"mime: second part of multipart/signed is {signature_type}, "
                          "expected application/pkcs7-signature")
    return parts[0], _decode_base64_body(parts[1], signature_type)


def find_smime_entity(message):
    """Return the S/MIME entity of a message: the message itself when its
    Content-Type is multipart/signed or application/pkcs7-mime, else the
    first such part found depth-first in its multipart parts."""
    headers, body = split_message(message)
    media_type, params = content_type(headers)
    if media_type == "multipart/signed" or media_type in SMIME_MIME_TYPES:
        return message
    if media_type.startswith("multipart/") and params.get("boundary"):
        for part in multipart_parts(body, params["boundary"]):
            try:
                return find_smime_entity(part)
            except VerifyError:
                continue
    raise VerifyError(f"mime: no multipart/signed or application/pkcs7-mime entity in the "
                      f"message (Content-Type {media_type})")


def _der_length(der, pos):
    """Read the DER length at der[pos] and return (length, index after it)."""
    first = der[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4 or pos + 1 + count > len(der):
        raise ValueError("unsupported DER length")
    return int.from_bytes(der[pos + 1:pos + 1 + count], "big"), pos + 1 + count


def cms_content_type(der):
    """Return the contentType of a DER CMS ContentInfo as a dotted OID."""
    try:
        if der[0] != 0x30:
            raise ValueError("not a SEQUENCE")
        _, pos = _der_length(der, 1)
        if der[pos] != 0x06:
            raise ValueError("no OBJECT IDENTIFIER")
        length, pos = _der_length(der, pos + 1)
        encoded = der[pos:pos + length]
    except (IndexError, ValueError) as err:
        raise VerifyError(f"cms: not a DER ContentInfo: {err}") from err

    arcs = []
    value = 0
    for byte in encoded:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        raise VerifyError("cms: empty contentType")
    first = min(arcs[0] // 40, 2)
    return ".".join(str(arc) for arc in [first, arcs[0] - 40 * first] + arcs[1:])


def _expect_cms_type(der, expected, purpose):
    found = cms_content_type(der)
    if found not in expected:
        raise VerifyError(f"cms: contentType is {found}, expected {' or '.join(expected)} "
                          f"to {purpose}")


def _sha1_fingerprint(pem_path):
    """Return the SHA-1 fingerprint of the first certificate in a PEM file,
    in the colon form that GnuPG's trustlist.txt uses."""
    with open(pem_path, encoding="ascii") as file:
        pem = file.read()
    match = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", pem, re.S)
    if match is None:
        raise VerifyError(f"setup: no certificate in {pem_path}")
    digest = hashlib.sha1(ssl.PEM_cert_to_DER_cert(match.group(0))).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


# ---------------------------------------------------------------------------
# The verifiers


class Verifiers:
    """Runs openssl cms, gpgsm and cmsutil on smimegw's output.

    env contains the testenv variables: ROOT_CA_CERT (the only trust anchor),
    and for each user NAME the files NAME_CERT, NAME_KEY, NAME_P12 and
    NAME_P12PASS. workdir must be a private folder. GnuPG homes and NSS
    databases are created in it on first use, one per user who decrypts plus
    one without private keys for verification, so that decrypting as a user
    succeeds only with that user's key. Call close() to stop the gpg-agents.
    """

    def __init__(self, env, workdir):
        self.env = dict(env)
        self.workdir = workdir
        self.timeout = TOOL_TIMEOUT
        self._gnupg_homes = {}
        self._nss_dbs = {}
        os.makedirs(workdir, mode=0o700, exist_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Stop the gpg-agent of every GnuPG home this object created.

        Raises VerifyError when gpgconf fails, after trying every home.
        """
        failures = []
        for home in self._gnupg_homes.values():
            proc = self._stop_gpg_agent(home)
            if proc.returncode != 0:
                failures.append(self._describe("gpgsm", proc, "gpgconf --kill all failed"))
        self._gnupg_homes.clear()
        if failures:
            raise VerifyError("\n".join(failures))

    # -- running tools ------------------------------------------------------

    def _start(self, args, tool, *, env=None, stdin=None):
        try:
            return subprocess.run(args, input=stdin,
                                  stdin=None if stdin is not None else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=env, timeout=self.timeout, check=False)
        except FileNotFoundError as err:
            raise VerifyError(f"{tool}: {args[0]} not found (Debian packages: openssl, "
                              "gpgsm, libnss3-tools)") from err
        except subprocess.TimeoutExpired as err:
            stderr = (err.stderr or b"").decode("utf-8", "replace")
            raise VerifyError(f"{tool}: timed out after {self.timeout} s: "
                              f"{shlex.join(args)}\nstderr:\n{stderr}") from err

    @staticmethod
    def _describe(tool, proc, reason):
        stdout = proc.stdout.decode("utf-8", "replace")
        stderr = proc.stderr.decode("utf-8", "replace")
        text = (f"{tool}: {reason} (exit status {proc.returncode}): "
                f"{shlex.join(proc.args)}\nstderr:\n{stderr}")
        if stdout.strip():
            text += f"\nstdout:\n{stdout}"
        return text

    def _run(self, args, tool, *, env=None, stdin=None, reason="command failed"):
        """Run a tool and raise VerifyError unless it exits with status 0."""
        proc = self._start(args, tool, env=env, stdin=stdin)
        if proc.returncode != 0:
            raise VerifyError(self._describe(tool, proc, reason))
        return proc

    def _scratch(self):
        return tempfile.mkdtemp(prefix="call-", dir=self.workdir)

    @staticmethod
    def _write(folder, name, data):
        path = os.path.join(folder, name)
        with open(path, "wb") as file:
            file.write(data)
        return path

    @staticmethod
    def _read(path):
        with open(path, "rb") as file:
            return file.read()

    def _user_value(self, user, suffix):
        name = f"{user.upper()}_{suffix}"
        if not self.env.get(name):
            raise VerifyError(f"setup: {name} is missing from the test environment")
        return self.env[name]

    def _root_cert(self):
        if not self.env.get("ROOT_CA_CERT"):
            raise VerifyError("setup: ROOT_CA_CERT is missing from the test environment")
        return self.env["ROOT_CA_CERT"]

    # -- openssl cms --------------------------------------------------------

    def openssl_decrypt(self, message, user):
        """Decrypt with `openssl cms -decrypt` and USER's certificate and key.

        openssl parses the MIME structure itself. -recip makes it use only
        the RecipientInfo for USER's certificate, so a message that is not
        encrypted to USER raises.
        """
        entity = find_smime_entity(message)
        _expect_cms_type(pkcs7_der(entity), (OID_ENVELOPED_DATA, OID_AUTH_ENVELOPED_DATA),
                         "decrypt")
        scratch = self._scratch()
        try:
            source = self._write(scratch, "message.eml", entity)
            output = os.path.join(scratch, "content")
            self._run(["openssl", "cms", "-decrypt", "-inform", "SMIME", "-in", source,
                       "-recip", self._user_value(user, "CERT"),
                       "-inkey", self._user_value(user, "KEY"),
                       "-binary", "-out", output], "openssl")
            return self._read(output)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def openssl_verify(self, message):
        """Verify with `openssl cms -verify`, trusting only ROOT_CA_CERT.

        The intermediate CA must come from the CMS certificates. For
        multipart/signed, openssl's own MIME parser extracts the content and
        it must equal detached_parts()'s first part.

        Without -binary, openssl 3.0 turns every line end into CRLF before
        hashing, so content whose CRLFs became LFs would still verify. With
        -binary alone, its MIME parser joins the lines of the first part with
        LF and leaves the CR of the CRLF before the boundary in the content.
        -binary -crlfeol hashes the part's bytes as they are.
        """
        entity = find_smime_entity(message)
        media_type, _ = content_type(split_message(entity)[0])
        if media_type == "multipart/signed":
            content, signature = detached_parts(entity)
        else:
            content, signature = None, pkcs7_der(entity)
        _expect_cms_type(signature, (OID_SIGNED_DATA,), "verify")

        scratch = self._scratch()
        try:
            source = self._write(scratch, "message.eml", entity)
            output = os.path.join(scratch, "content")
            self._run(["openssl", "cms", "-verify", "-inform", "SMIME", "-in", source,
                       "-CAfile", self._root_cert(), "-no-CApath", "-no-CAstore",
                       "-purpose", "smimesign", "-binary", "-crlfeol", "-out", output],
                      "openssl", reason="verification failed")
            verified = self._read(output)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

        if content is not None and verified != content:
            raise VerifyError("openssl: the signed content that openssl extracted "
                              f"({len(verified)} bytes) differs from the first part of "
                              f"multipart/signed ({len(content)} bytes)")
        return verified

    # -- GnuPG gpgsm --------------------------------------------------------

    @staticmethod
    def _gnupg_env(home):
        env = dict(os.environ)
        env["GNUPGHOME"] = home
        env["LC_ALL"] = "C"
        env.pop("GPG_AGENT_INFO", None)
        return env

    def _gnupg_home(self, user):
        """Return the GnuPG home for USER (VERIFY_STORE: no private key),
        creating it on first use. A home that fails to set up is removed, so
        the next call tries again."""
        key = user.upper() if user != VERIFY_STORE else VERIFY_STORE
        if key in self._gnupg_homes:
            return self._gnupg_homes[key]

        home = os.path.join(self.workdir, f"gnupg-{key.lower()}")
        # NOTE: without /run/user/UID, gpg-agent puts its sockets in the home,
        # and a socket path longer than about 107 bytes makes it fail to start.
        os.makedirs(home, mode=0o700)
        try:
            self._set_up_gnupg_home(home, key)
        except BaseException:
            self._stop_gpg_agent(home)
            shutil.rmtree(home, ignore_errors=True)
            raise
        self._gnupg_homes[key] = home
        return home

    def _set_up_gnupg_home(self, home, key):
        """Trust ROOT_CA_CERT, turn off CRL checks and dirmngr, allow
        loopback pinentry, and for a user import their PKCS#12.

        A user's home also gets the certificates of all test users, so that
        gpgsm reports a RecipientInfo for another user as NO_SECKEY, which
        gpgsm_decrypt accepts. For a certificate missing from its keybox,
        gpgsm 2.2.40 logs "failed to find the certificate" and no status.
        """
        with open(os.path.join(home, "gpg-agent.conf"), "w", encoding="ascii") as file:
            file.write("allow-loopback-pinentry\n")
        with open(os.path.join(home, "gpgsm.conf"), "w", encoding="ascii") as file:
            file.write("disable-crl-checks\ndisable-dirmngr\nno-common-certs-import\n")
        with open(os.path.join(home, "trustlist.txt"), "w", encoding="ascii") as file:
            file.write(f"{_sha1_fingerprint(self._root_cert())} S relax\n")

        env = self._gnupg_env(home)
        self._run(["gpgsm", "--batch", "--import", self._root_cert()], "gpgsm", env=env,
                  reason="importing ROOT_CA_CERT failed")
        if key == VERIFY_STORE:
            return
        self._run(["gpgsm", "--batch", "--import"] + self._user_certificates(), "gpgsm",
                  env=env, reason="importing the certificates of the test users failed")
        p12 = self._user_value(key, "P12")
        passphrase = self._read(self._user_value(key, "P12PASS")).strip()
        proc = self._run(["gpgsm", "--batch", "--pinentry-mode", "loopback",
                          "--passphrase-fd", "0", "--import", p12], "gpgsm", env=env,
                         stdin=passphrase + b"\n", reason=f"importing {p12} failed")
        if not re.search(rb"secret keys imported: *[1-9]", proc.stderr):
            raise VerifyError(self._describe("gpgsm", proc,
                                             f"no secret key imported from {p12}"))

    def _user_certificates(self):
        """Return the certificate files of the test users: NAME_CERT and
        NAME_..._CERT for every NAME that has NAME_EMAIL in env."""
        users = [name[:-len("_EMAIL")] for name in self.env if name.endswith("_EMAIL")]
        paths = set()
        for name, path in self.env.items():
            if name.endswith("_CERT") and os.path.isfile(path) and any(
                    name == f"{user}_CERT" or name.startswith(f"{user}_") for user in users):
                paths.add(path)
        return sorted(paths)

    def _stop_gpg_agent(self, home):
        """Run `gpgconf --kill all` for HOME and return the finished process."""
        return self._start(["gpgconf", "--kill", "all"], "gpgsm", env=self._gnupg_env(home))

    @staticmethod
    def _status_lines(stdout):
        """Return the keywords and arguments of `[GNUPG:]` status lines."""
        lines = []
        for line in stdout.decode("utf-8", "replace").splitlines():
            if line.startswith("[GNUPG:] "):
                words = line[len("[GNUPG:] "):].split()
                if words:
                    lines.append(words)
        return lines

    def gpgsm_decrypt(self, message, user):
        """Decrypt with `gpgsm --decrypt` in a GnuPG home that contains only
        USER's key.

        Success needs the DECRYPTION_OKAY status without DECRYPTION_FAILED,
        and exit status 0 with one exception. gpgsm 2.2.40 tries the
        RecipientInfos in order. For each one before USER's that names a
        certificate without a secret key, it logs "No secret key" as an
        error, so it exits with status 2 after a successful decryption. That
        exit status is accepted when NO_SECKEY status lines explain it and
        stderr contains no other error.
        """
        entity = find_smime_entity(message)
        der = pkcs7_der(entity)
        _expect_cms_type(der, (OID_ENVELOPED_DATA, OID_AUTH_ENVELOPED_DATA), "decrypt")
        home = self._gnupg_home(user)
        passphrase = self._read(self._user_value(user, "P12PASS")).strip()

        scratch = self._scratch()
        try:
            source = self._write(scratch, "message.p7m", der)
            output = os.path.join(scratch, "content")
            proc = self._start(["gpgsm", "--batch", "--status-fd", "1",
                                "--pinentry-mode", "loopback", "--passphrase-fd", "0",
                                "--output", output, "--decrypt", source], "gpgsm",
                               env=self._gnupg_env(home), stdin=passphrase + b"\n")
            keywords = {words[0] for words in self._status_lines(proc.stdout)}
            if "DECRYPTION_OKAY" not in keywords or "DECRYPTION_FAILED" in keywords:
                raise VerifyError(self._describe("gpgsm", proc, "decryption failed"))
            if proc.returncode != 0 and not self._only_other_recipients(proc, keywords):
                raise VerifyError(self._describe("gpgsm", proc, "decryption reported errors"))
            return self._read(output)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    @staticmethod
    def _only_other_recipients(proc, keywords):
        """Tell whether gpgsm's errors all come from RecipientInfos for
        certificates without a secret key."""
        if proc.returncode != 2 or "NO_SECKEY" not in keywords:
            return False
        for line in proc.stderr.decode("utf-8", "replace").splitlines():
            if not (line.startswith("gpgsm: encrypted to ")
                    or line.endswith(": No secret key")):
                return False
        return True

    def gpgsm_verify(self, message):
        """Verify with `gpgsm --verify`, trusting only ROOT_CA_CERT.

        GOODSIG and VALIDSIG alone do not mean a valid signature. gpgsm
        2.2.40 prints both for a signer whose chain ends at an unknown CA,
        adding TRUST_UNDEFINED. For an expired signer certificate it prints
        EXPKEYSIG, VALIDSIG and TRUST_FULLY and exits with status 0.
        So each NEWSIG must be followed by GOODSIG, VALIDSIG and TRUST_FULLY,
        no error status may appear, and the exit status must be 0.

        NOTE: gpgsm keeps the certificates of every signature it verified in
        its keybox, so a later CMS without the intermediate CA still
        verifies, and it does not require the emailProtection extended key
        usage. openssl_verify and nss_verify reject both.
        """
        entity = find_smime_entity(message)
        media_type, _ = content_type(split_message(entity)[0])
        if media_type == "multipart/signed":
            content, signature = detached_parts(entity)
        else:
            content, signature = None, pkcs7_der(entity)
        _expect_cms_type(signature, (OID_SIGNED_DATA,), "verify")
        home = self._gnupg_home(VERIFY_STORE)

        scratch = self._scratch()
        try:
            sig_path = self._write(scratch, "signature.p7s", signature)
            output = os.path.join(scratch, "content")
            args = ["gpgsm", "--batch", "--status-fd", "1"]
            if content is not None:
                args += ["--verify", sig_path, self._write(scratch, "content", content)]
            else:
                args += ["--output", output, "--verify", sig_path]
            proc = self._run(args, "gpgsm", env=self._gnupg_env(home),
                             reason="verification failed")
            self._check_gpgsm_signatures(proc)
            return content if content is not None else self._read(output)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _check_gpgsm_signatures(self, proc):
        counts = {}
        for words in self._status_lines(proc.stdout):
            counts[words[0]] = counts.get(words[0], 0) + 1
        bad = [keyword for keyword in ("BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG",
                                       "REVKEYSIG", "TRUST_UNDEFINED", "TRUST_NEVER",
                                       "TRUST_MARGINAL") if keyword in counts]
        if bad:
            raise VerifyError(self._describe("gpgsm", proc,
                                             f"status {', '.join(bad)} reported"))
        signatures = max(counts.get("NEWSIG", 0), 1)
        trusted = counts.get("TRUST_FULLY", 0) + counts.get("TRUST_ULTIMATE", 0)
        for keyword, count in (("GOODSIG", counts.get("GOODSIG", 0)),
                               ("VALIDSIG", counts.get("VALIDSIG", 0)),
                               ("TRUST_FULLY", trusted)):
            if count != signatures:
                raise VerifyError(self._describe(
                    "gpgsm", proc, f"{count} {keyword} status lines for {signatures} "
                    "signatures"))

    # -- NSS cmsutil --------------------------------------------------------

    def _nss_db(self, user):
        """Return the `sql:` NSS database for USER (VERIFY_STORE: no private
        key), creating it on first use with ROOT_CA_CERT trusted for e-mail
        (CT,C,C) and USER's PKCS#12 imported."""
        key = user.upper() if user != VERIFY_STORE else VERIFY_STORE
        if key in self._nss_dbs:
            return self._nss_dbs[key]

        folder = os.path.join(self.workdir, f"nss-{key.lower()}")
        os.makedirs(folder, mode=0o700)
        database = f"sql:{folder}"
        try:
            self._run(["certutil", "-N", "-d", database, "--empty-password"], "nss",
                      reason="creating the NSS database failed")
            self._run(["certutil", "-A", "-d", database, "-n", "smimegw test root",
                       "-t", "CT,C,C", "-a", "-i", self._root_cert()], "nss",
                      reason="adding ROOT_CA_CERT failed")
            if key != VERIFY_STORE:
                p12 = self._user_value(key, "P12")
                self._run(["pk12util", "-i", p12, "-d", database,
                           "-w", self._user_value(key, "P12PASS")], "nss",
                          reason=f"importing {p12} failed")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._nss_dbs[key] = database
        return database

    def nss_decrypt(self, message, user):
        """Decrypt with `cmsutil -D` in an NSS database that contains only
        USER's key."""
        entity = find_smime_entity(message)
        der = pkcs7_der(entity)
        _expect_cms_type(der, (OID_ENVELOPED_DATA, OID_AUTH_ENVELOPED_DATA), "decrypt")
        database = self._nss_db(user)

        scratch = self._scratch()
        try:
            source = self._write(scratch, "message.p7m", der)
            output = os.path.join(scratch, "content")
            self._run(["cmsutil", "-D", "-i", source, "-d", database, "-o", output], "nss",
                      reason="decryption failed")
            return self._read(output)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def nss_verify(self, message):
        """Verify with `cmsutil -D` (certificate usage certUsageEmailSigner),
        trusting only ROOT_CA_CERT.

        cmsutil 3.87 reports a bad signature in one of two ways, so it runs
        twice. Without -h it prints "signer N status = STATUS" to stderr and
        exits with status 1 when a signature fails, but for a SignedData
        without SignerInfos it only verifies the certificates and exits with
        0 if they are valid. With `-h 0` it prints
        "nsigners=N; ... signerJ.status=STATUS;" and exits with 0 even for a
        DigestMismatch. The check needs exit status 0 from the first run and,
        from the second, nsigners of at least 1 and every status
        GoodSignature.
        """
        entity = find_smime_entity(message)
        media_type, _ = content_type(split_message(entity)[0])
        if media_type == "multipart/signed":
            content, signature = detached_parts(entity)
        else:
            content, signature = None, pkcs7_der(entity)
        _expect_cms_type(signature, (OID_SIGNED_DATA,), "verify")
        database = self._nss_db(VERIFY_STORE)

        scratch = self._scratch()
        try:
            base = ["cmsutil", "-D", "-i", self._write(scratch, "signature.p7s", signature),
                    "-d", database]
            if content is not None:
                base += ["-c", self._write(scratch, "content", content)]
            output = os.path.join(scratch, "content.out")
            self._run(base + ["-o", output], "nss", reason="verification failed")
            verified = self._read(output)

            summary_path = os.path.join(scratch, "summary")
            proc = self._run(base + ["-h", "0", "-n", "-o", summary_path], "nss",
                             reason="verification failed")
            self._check_nss_signers(proc, self._read(summary_path))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

        if content is not None and verified != content:
            raise VerifyError("nss: cmsutil output differs from the detached content")
        return verified

    def _check_nss_signers(self, proc, summary):
        text = summary.decode("utf-8", "replace")
        signers = re.search(r"nsigners=(\d+);", text)
        statuses = re.findall(r"signer(\d+)\.status=(\w+);", text)
        count = int(signers.group(1)) if signers else 0
        problem = None
        if count < 1:
            problem = "no signer"
        elif len(statuses) != count:
            problem = f"{len(statuses)} signer statuses for nsigners={count}"
        else:
            bad = [f"signer{index}.status={status}" for index, status in statuses
                   if status != "GoodSignature"]
            if bad:
                problem = ", ".join(bad)
        if problem is not None:
            raise VerifyError(self._describe("nss", proc, f"signature not good: {problem}")
                              + f"\ncmsutil -h 0 output:\n{text}")
