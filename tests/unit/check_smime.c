/* Unit tests for smime/: every output is parsed back and checked with the
 * OpenSSL CMS API against a PKI made in memory. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "smime/smime.h"
#include "smime_fixtures.h"
#include "util/strbuf.h"

static struct fixture_pki pki;

static const char entity_text[] =
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "\r\n"
    "this line ends in a space \r\n"
    "From the start of a line, with =3D and a dot below:\r\n"
    ".\r\n"
    "Gr=C3=BC=C3=9Fe\r\n";

static const char entity_unterminated[] =
    "Content-Type: text/plain\r\n"
    "\r\n"
    "no line break at the end";

static const char signed_header[] =
    "Content-Type: multipart/signed; "
    "protocol=\"application/pkcs7-signature\";\r\n"
    " micalg=";

static const char signature_part_header[] =
    "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
    "\r\n";

static void
setup_pki(void)
{
	ck_assert_msg(fixture_pki_init(&pki), "making the test PKI failed");
}

static void
teardown_pki(void)
{
	fixture_pki_free(&pki);
}

/* Returns the offset of needle in data at or after from, or -1. */
static long
find_bytes(const char *data, size_t len, size_t from, const char *needle)
{
	size_t needle_len = strlen(needle);

	for (size_t i = from; i + needle_len <= len; i++) {
		if (memcmp(data + i, needle, needle_len) == 0)
			return (long)i;
	}
	return -1;
}

/* Every line ends in CRLF and has at most 78 characters, and every byte is
 * 7-bit and not NUL. */
static void
assert_mime_lines(const struct strbuf *out)
{
	size_t line = 1, start = 0;

	ck_assert_uint_ge(out->len, 2);
	ck_assert_msg(memcmp(out->data + out->len - 2, "\r\n", 2) == 0,
	    "output does not end with CRLF");
	for (size_t i = 0; i < out->len; i++) {
		unsigned char c = (unsigned char)out->data[i];

		ck_assert_msg(c != 0 && c < 128, "line %zu: byte 0x%02x is not 7-bit",
		    line, c);
		if (c == '\r')
			ck_assert_msg(i + 1 < out->len && out->data[i + 1] == '\n',
			    "line %zu: CR without LF", line);
		if (c != '\n')
			continue;
		ck_assert_msg(i > 0 && out->data[i - 1] == '\r',
		    "line %zu: LF without CR", line);
		ck_assert_msg(i - 1 - start <= 78, "line %zu has %zu characters",
		    line, i - 1 - start);
		line++;
		start = i + 1;
	}
}

static void
assert_prefix(const struct strbuf *out, const char *prefix)
{
	size_t len = strlen(prefix);

	ck_assert_msg(out->len >= len && memcmp(out->data, prefix, len) == 0,
	    "output starts with \"%.*s\", expected \"%s\"",
	    (int)(out->len < len ? out->len : len), out->data, prefix);
}

/* Decodes base64 text with line breaks and returns the number of octets. */
static size_t
decode_base64(const char *text, size_t len, unsigned char **der_r)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char *der = malloc(len + 1);
	int n = 0, tail = 0;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_nonnull(der);
	EVP_DecodeInit(ctx);
	ck_assert_int_ge(EVP_DecodeUpdate(ctx, der, &n,
			     (const unsigned char *)text, (int)len), 0);
	ck_assert_int_eq(EVP_DecodeFinal(ctx, der + n, &tail), 1);
	EVP_ENCODE_CTX_free(ctx);
	*der_r = der;
	return (size_t)(n + tail);
}

struct signed_parts {
	const char *content;
	size_t content_len;
	unsigned char *signature;	/* DER, malloc'ed */
	size_t signature_len;
};

/* Splits a multipart/signed output at its boundary and checks the header
 * fields of the whole and of the signature part. */
static void
split_signed(const struct strbuf *out, const char *micalg,
    struct signed_parts *parts)
{
	char expected[128], delimiter[160], close[160], boundary[100];
	long first, second, end;

	snprintf(expected, sizeof(expected), "%s%s; boundary=\"", signed_header,
	    micalg);
	assert_prefix(out, expected);

	const char *start = out->data + strlen(expected);
	const char *quote = strchr(start, '"');
	ck_assert_ptr_nonnull(quote);
	ck_assert_int_lt(quote - start, (long)sizeof(boundary));
	snprintf(boundary, sizeof(boundary), "%.*s", (int)(quote - start), start);
	/* "=_smime_" and 16 random octets as lower-case hex digits. */
	ck_assert_uint_eq(strlen(boundary), 8 + 32);
	ck_assert_msg(strncmp(boundary, "=_smime_", 8) == 0,
	    "boundary \"%s\" does not start with =_smime_", boundary);
	ck_assert_msg(strspn(boundary + 8, "0123456789abcdef") == 32,
	    "boundary \"%s\" does not end in 32 hex digits", boundary);
	ck_assert_msg(strncmp(quote, "\"\r\n\r\n", 5) == 0,
	    "the boundary parameter does not end the header");

	snprintf(delimiter, sizeof(delimiter), "\r\n--%s\r\n", boundary);
	snprintf(close, sizeof(close), "\r\n--%s--\r\n", boundary);
	first = find_bytes(out->data, out->len, 0, delimiter);
	ck_assert_int_ge(first, 0);
	second = find_bytes(out->data, out->len, (size_t)first + 1, delimiter);
	ck_assert_int_gt(second, first);
	end = find_bytes(out->data, out->len, (size_t)second + 1, close);
	ck_assert_int_eq(end + (long)strlen(close), (long)out->len);

	parts->content = out->data + first + strlen(delimiter);
	parts->content_len = (size_t)(second - first) - strlen(delimiter);

	const char *sig = out->data + second + strlen(delimiter);
	size_t header_len = strlen(signature_part_header);
	ck_assert_msg(strncmp(sig, signature_part_header, header_len) == 0,
	    "signature part header is \"%.*s\"", (int)header_len, sig);
	sig += header_len;
	parts->signature_len = decode_base64(sig,
	    (size_t)(out->data + end - sig), &parts->signature);
}

static CMS_ContentInfo *
read_smime(const char *data, size_t len, BIO **content_r)
{
	BIO *in = BIO_new_mem_buf(data, (int)len);
	CMS_ContentInfo *cms;

	ck_assert_ptr_nonnull(in);
	cms = SMIME_read_CMS(in, content_r);
	BIO_free(in);
	ck_assert_msg(cms != NULL, "SMIME_read_CMS failed: %s",
	    ERR_error_string(ERR_get_error(), NULL));
	return cms;
}

/* Verifies cms against the test root; on success stores the signed content
 * in content. Returns CMS_verify's result. */
static int
verify_cms(CMS_ContentInfo *cms, BIO *detached, struct strbuf *content)
{
	BIO *out = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ok;

	ck_assert_ptr_nonnull(out);
	ok = CMS_verify(cms, NULL, pki.store, detached, out, CMS_BINARY);
	len = BIO_get_mem_data(out, &data);
	if (ok == 1)
		strbuf_append(content, data, (size_t)len);
	BIO_free(out);
	ERR_clear_error();
	return ok;
}

static void
assert_capabilities(CMS_SignerInfo *si)
{
	int index = CMS_signed_get_attr_by_NID(si, NID_SMIMECapabilities, -1);
	ck_assert_int_ge(index, 0);
	ASN1_TYPE *value = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, index), 0);
	ck_assert_ptr_nonnull(value);
	ck_assert_int_eq(value->type, V_ASN1_SEQUENCE);

	const unsigned char *p = value->value.sequence->data;
	X509_ALGORS *algs = d2i_X509_ALGORS(NULL, &p, value->value.sequence->length);
	ck_assert_ptr_nonnull(algs);
	ck_assert_int_ge(sk_X509_ALGOR_num(algs), 2);
	ck_assert_int_eq(OBJ_obj2nid(sk_X509_ALGOR_value(algs, 0)->algorithm),
	    NID_aes_256_cbc);
	ck_assert_int_eq(OBJ_obj2nid(sk_X509_ALGOR_value(algs, 1)->algorithm),
	    NID_aes_128_cbc);
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
}

/* The SMIMEEncryptionKeyPreference value must be [0] IssuerAndSerialNumber
 * naming expected. */
static void
assert_key_preference(CMS_SignerInfo *si, X509 *expected)
{
	int index = CMS_signed_get_attr_by_NID(si, NID_id_smime_aa_encrypKeyPref, -1);
	ck_assert_int_ge(index, 0);
	ASN1_TYPE *value = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, index), 0);
	ck_assert_ptr_nonnull(value);
	ck_assert_int_eq(value->type, V_ASN1_OTHER);

	const unsigned char *p = value->value.asn1_string->data;
	const unsigned char *end = p + value->value.asn1_string->length;
	long len;
	int tag, xclass;
	int rc = ASN1_get_object(&p, &len, &tag, &xclass, end - p);
	ck_assert_int_eq(rc, V_ASN1_CONSTRUCTED);
	ck_assert_int_eq(tag, 0);
	ck_assert_int_eq(xclass, V_ASN1_CONTEXT_SPECIFIC);
	ck_assert_msg(p + len == end, "the [0] value does not fill the attribute");

	X509_NAME *issuer = d2i_X509_NAME(NULL, &p, end - p);
	ck_assert_ptr_nonnull(issuer);
	ASN1_INTEGER *serial = d2i_ASN1_INTEGER(NULL, &p, end - p);
	ck_assert_ptr_nonnull(serial);
	ck_assert_msg(p == end, "octets follow the serial number");
	ck_assert_int_eq(X509_NAME_cmp(issuer, X509_get_issuer_name(expected)), 0);
	ck_assert_int_eq(ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(expected)), 0);
	X509_NAME_free(issuer);
	ASN1_INTEGER_free(serial);
}

static void
assert_signer_info(CMS_ContentInfo *cms, X509 *key_cert, int digest_nid,
    int signature_nid)
{
	STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(cms);
	ck_assert_int_eq(sk_CMS_SignerInfo_num(infos), 1);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(infos, 0);
	X509_ALGOR *digest_alg;

	X509_ALGOR *signature_alg;

	CMS_SignerInfo_get0_algs(si, NULL, NULL, &digest_alg, &signature_alg);
	ck_assert_int_eq(OBJ_obj2nid(digest_alg->algorithm), digest_nid);
	if (signature_nid != 0)
		ck_assert_int_eq(OBJ_obj2nid(signature_alg->algorithm), signature_nid);
	if (signature_nid == NID_rsassaPss) {
		/* The parameters name the digest and a salt of its length. */
		RSA_PSS_PARAMS *params = ASN1_TYPE_unpack_sequence(
		    ASN1_ITEM_rptr(RSA_PSS_PARAMS), signature_alg->parameter);
		ck_assert_ptr_nonnull(params);
		ck_assert_ptr_nonnull(params->hashAlgorithm);
		ck_assert_int_eq(OBJ_obj2nid(params->hashAlgorithm->algorithm), digest_nid);
		ck_assert_ptr_nonnull(params->saltLength);
		ck_assert_int_eq(ASN1_INTEGER_get(params->saltLength),
		    EVP_MD_get_size(EVP_get_digestbynid(digest_nid)));
		RSA_PSS_PARAMS_free(params);
	}
	ck_assert_int_ge(CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1), 0);
	ck_assert_int_ge(CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest, -1), 0);
	ck_assert_int_ge(CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1), 0);
	assert_capabilities(si);
	assert_key_preference(si, key_cert);
}

enum signer_name { SIGNER_ALICE, SIGNER_CAROL, SIGNER_CAROL_REVERSED };

/* Alice's chain repeats her own certificate and the root, which smime_sign
 * must drop. Carol's chain is the intermediate that verification needs. */
static void
make_signer(enum signer_name name, struct smime_signer *signer)
{
	*signer = (struct smime_signer){ 0 };
	signer->chain = sk_X509_new_null();
	ck_assert_ptr_nonnull(signer->chain);
	if (name == SIGNER_ALICE) {
		signer->key = pki.alice.key;
		signer->cert = pki.alice.cert;
		sk_X509_push(signer->chain, pki.alice.cert);
		sk_X509_push(signer->chain, pki.root.cert);
		sk_X509_push(signer->chain, pki.root.cert);
	} else {
		signer->key = pki.carol.key;
		signer->cert = pki.carol.cert;
		/* The reversed chain lists the root before the intermediate,
		 * as a PEM file may. */
		if (name == SIGNER_CAROL_REVERSED)
			sk_X509_push(signer->chain, pki.root.cert);
		sk_X509_push(signer->chain, pki.intermediate.cert);
	}
}

static const struct sign_case {
	const char *name;
	enum signer_name signer;
	bool opaque;
	enum smime_digest digest;
	const char *micalg;
	int digest_nid;
	const char *entity;
	enum smime_signature signature;
	int signature_nid;	/* 0: not checked */
} sign_cases[] = {
	{ "detached RSA", SIGNER_ALICE, false, SMIME_DIGEST_SHA256, "sha-256",
	    NID_sha256, entity_text, SMIME_SIGNATURE_RSA_PKCS1, 0 },
	{ "detached ECDSA", SIGNER_CAROL, false, SMIME_DIGEST_SHA256, "sha-256",
	    NID_sha256, entity_text, SMIME_SIGNATURE_RSA_PKCS1, 0 },
	{ "detached RSA SHA-384", SIGNER_ALICE, false, SMIME_DIGEST_SHA384,
	    "sha-384", NID_sha384, entity_text, SMIME_SIGNATURE_RSA_PKCS1, 0 },
	{ "detached ECDSA SHA-512", SIGNER_CAROL, false, SMIME_DIGEST_SHA512,
	    "sha-512", NID_sha512, entity_text, SMIME_SIGNATURE_RSA_PKCS1, 0 },
	{ "detached unterminated", SIGNER_ALICE, false, SMIME_DIGEST_SHA256,
	    "sha-256", NID_sha256, entity_unterminated, SMIME_SIGNATURE_RSA_PKCS1, 0 },
	{ "opaque RSA", SIGNER_ALICE, true, SMIME_DIGEST_SHA256, "sha-256",
	    NID_sha256, entity_text, SMIME_SIGNATURE_RSA_PKCS1, 0 },
	{ "opaque ECDSA", SIGNER_CAROL, true, SMIME_DIGEST_SHA384, "sha-384",
	    NID_sha384, entity_text, SMIME_SIGNATURE_RSA_PKCS1, 0 },
	{ "detached RSA PKCS#1", SIGNER_ALICE, false, SMIME_DIGEST_SHA256, "sha-256",
	    NID_sha256, entity_text, SMIME_SIGNATURE_RSA_PKCS1, NID_rsaEncryption },
	{ "detached RSA-PSS", SIGNER_ALICE, false, SMIME_DIGEST_SHA256, "sha-256",
	    NID_sha256, entity_text, SMIME_SIGNATURE_RSA_PSS, NID_rsassaPss },
	{ "opaque RSA-PSS SHA-512", SIGNER_ALICE, true, SMIME_DIGEST_SHA512, "sha-512",
	    NID_sha512, entity_text, SMIME_SIGNATURE_RSA_PSS, NID_rsassaPss },
	{ "detached ECDSA ignores PSS", SIGNER_CAROL, false, SMIME_DIGEST_SHA256, "sha-256",
	    NID_sha256, entity_text, SMIME_SIGNATURE_RSA_PSS, 0 },
	{ "detached ECDSA reversed chain", SIGNER_CAROL_REVERSED, false, SMIME_DIGEST_SHA256,
	    "sha-256", NID_sha256, entity_text, SMIME_SIGNATURE_RSA_PKCS1, 0 },
};

static void
check_signed_output(const struct sign_case *tc, const struct strbuf *out,
    X509 *signer_cert, X509 *key_cert)
{
	struct strbuf content = STRBUF_INIT;
	CMS_ContentInfo *cms;
	BIO *detached = NULL;

	assert_mime_lines(out);
	if (tc->opaque) {
		assert_prefix(out, "Content-Type: application/pkcs7-mime; "
		    "smime-type=signed-data;\r\n name=\"smime.p7m\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n"
		    "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n"
		    "\r\n");
	} else {
		struct signed_parts parts;

		split_signed(out, tc->micalg, &parts);
		ck_assert_uint_eq(parts.content_len, strlen(tc->entity));
		ck_assert(memcmp(parts.content, tc->entity, parts.content_len) == 0);

		const unsigned char *p = parts.signature;
		CMS_ContentInfo *sig = d2i_CMS_ContentInfo(NULL, &p,
		    (long)parts.signature_len);
		ck_assert_ptr_nonnull(sig);
		BIO *bio = BIO_new_mem_buf(parts.content, (int)parts.content_len);
		ck_assert_int_eq(verify_cms(sig, bio, &content), 1);
		ck_assert_str_eq(strbuf_str(&content), tc->entity);
		strbuf_reset(&content);
		BIO_free(bio);
		CMS_ContentInfo_free(sig);
		free(parts.signature);
	}

	cms = read_smime(out->data, out->len, &detached);
	ck_assert_int_eq(OBJ_obj2nid(CMS_get0_type(cms)), NID_pkcs7_signed);
	ck_assert_int_eq(CMS_is_detached(cms), !tc->opaque);
	ck_assert_int_eq(verify_cms(cms, detached, &content), 1);
	ck_assert_uint_eq(content.len, strlen(tc->entity));
	ck_assert(memcmp(content.data, tc->entity, content.len) == 0);

	/* The certificates are a SET OF, so DER puts them in any order. */
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	ck_assert_int_eq(sk_X509_num(certs), tc->signer == SIGNER_CAROL_REVERSED ? 3 : 2);
	ck_assert_msg(X509_cmp(sk_X509_value(certs, 0), signer_cert) == 0 ||
	    X509_cmp(sk_X509_value(certs, 1), signer_cert) == 0,
	    "the signer certificate is missing");
	sk_X509_pop_free(certs, X509_free);

	assert_signer_info(cms, key_cert, tc->digest_nid, tc->signature_nid);
	CMS_ContentInfo_free(cms);
	BIO_free(detached);
	strbuf_free(&content);
}

START_TEST(sign_cases_verify)
{
	const struct sign_case *tc = &sign_cases[_i];
	struct smime_options options = { .digest = tc->digest,
		.signature = tc->signature };
	struct smime_signer signer;
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	make_signer(tc->signer, &signer);
	int rc = smime_sign(&signer, tc->entity, strlen(tc->entity), tc->opaque,
	    &options, &out, &error);
	ck_assert_msg(rc == 0, "%s: smime_sign failed: %s", tc->name, error);

	check_signed_output(tc, &out, signer.cert, signer.cert);
	sk_X509_free(signer.chain);
	strbuf_free(&out);
}
END_TEST

START_TEST(sign_key_preference_names_encryption_cert)
{
	struct smime_signer signer;
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	make_signer(SIGNER_ALICE, &signer);
	signer.encryption_cert = pki.bob.cert;
	ck_assert_int_eq(smime_sign(&signer, entity_text, strlen(entity_text),
			     false, NULL, &out, &error), 0);
	check_signed_output(&sign_cases[0], &out, pki.alice.cert, pki.bob.cert);
	sk_X509_free(signer.chain);
	strbuf_free(&out);
}
END_TEST

START_TEST(sign_detached_tampered_content_fails)
{
	struct smime_signer signer;
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;
	BIO *detached = NULL;
	struct strbuf content = STRBUF_INIT;

	make_signer(SIGNER_ALICE, &signer);
	ck_assert_int_eq(smime_sign(&signer, entity_text, strlen(entity_text),
			     false, NULL, &out, &error), 0);

	long at = find_bytes(out.data, out.len, 0, "Hello Bob");
	ck_assert_int_gt(at, 0);
	out.data[at] = 'h';

	CMS_ContentInfo *cms = read_smime(out.data, out.len, &detached);
	ck_assert_int_eq(verify_cms(cms, detached, &content), 0);
	CMS_ContentInfo_free(cms);
	BIO_free(detached);
	sk_X509_free(signer.chain);
	strbuf_free(&out);
	strbuf_free(&content);
}
END_TEST

START_TEST(sign_wrong_key_reports_openssl_error)
{
	struct smime_signer signer = { .key = pki.bob.key, .cert = pki.alice.cert };
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_int_eq(smime_sign(&signer, entity_text, strlen(entity_text),
			     false, NULL, &out, &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, "CMS_add1_signer failed: ") == error,
	    "error is \"%s\"", error);
	ck_assert_msg(strstr(error, "key values mismatch") != NULL,
	    "error is \"%s\"", error);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	free(error);
}
END_TEST

START_TEST(sign_missing_key_rejected)
{
	struct smime_signer signer = { .cert = pki.alice.cert };
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_int_eq(smime_sign(&signer, entity_text, strlen(entity_text),
			     false, NULL, &out, &error), -1);
	ck_assert_str_eq(error, "signer key or certificate is missing");
	free(error);
}
END_TEST

static const struct entity_case {
	const char *name;
	const char *entity;
	size_t len;
	const char *error;
} bad_entity_cases[] = {
	{ "empty", "", 0, "entity is empty" },
	{ "bare LF", "Content-Type: text/plain\n\r\nx\r\n", 30,
	    "entity line 1: LF without CR at offset 24" },
	{ "bare CR", "Content-Type: text/plain\r\r\n\r\nx\r\n", 31,
	    "entity line 1: CR without LF at offset 24" },
	{ "8-bit", "Content-Type: text/plain\r\n\r\n\xc3\xa9\r\n", 32,
	    "entity line 3: byte 0xc3 at offset 28 is not 7-bit text" },
	{ "NUL", "Content-Type: text/plain\r\n\r\na\0b\r\n", 33,
	    "entity line 3: byte 0x00 at offset 29 is not 7-bit text" },
};

START_TEST(sign_bad_entity_rejected)
{
	const struct entity_case *tc = &bad_entity_cases[_i];
	struct smime_signer signer = { .key = pki.alice.key, .cert = pki.alice.cert };
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_int_eq(smime_sign(&signer, tc->entity, tc->len, false, NULL,
			     &out, &error), -1);
	ck_assert_msg(strcmp(error, tc->error) == 0, "%s: error is \"%s\"",
	    tc->name, error);
	ck_assert_uint_eq(out.len, 0);
	free(error);
}
END_TEST

/* A fault at any position of a longer line is found, whether it falls in
 * the part of the line that is tested eight octets at a time or in the
 * rest, and named with its offset. */
START_TEST(sign_fault_in_long_line_rejected)
{
	static const struct {
		char octet;
		const char *error;	/* printf format with the offset */
	} faults[] = {
		{ '\0', "entity line 3: byte 0x00 at offset %d is not 7-bit text" },
		{ '\x80', "entity line 3: byte 0x80 at offset %d is not 7-bit text" },
		{ '\xff', "entity line 3: byte 0xff at offset %d is not 7-bit text" },
		{ '\r', "entity line 3: CR without LF at offset %d" },
		{ '\n', "entity line 3: LF without CR at offset %d" },
	};
	static const char header[] = "Content-Type: text/plain\r\n\r\n";
	struct smime_signer signer = { .key = pki.alice.key, .cert = pki.alice.cert };
	char entity[sizeof(header) - 1 + 40 + 2];
	char expected[128];

	for (size_t f = 0; f < sizeof(faults) / sizeof(faults[0]); f++) {
		for (int pos = 0; pos < 40; pos++) {
			struct strbuf out = STRBUF_INIT;
			char *error = NULL;
			int offset = (int)sizeof(header) - 1 + pos;

			memcpy(entity, header, sizeof(header) - 1);
			memset(entity + sizeof(header) - 1, 'a', 40);
			memcpy(entity + sizeof(entity) - 2, "\r\n", 2);
			entity[offset] = faults[f].octet;
			snprintf(expected, sizeof(expected), faults[f].error, offset);
			ck_assert_int_eq(smime_sign(&signer, entity, sizeof(entity), false, NULL,
					     &out, &error), -1);
			ck_assert_msg(strcmp(error, expected) == 0, "error is \"%s\", expected \"%s\"",
			    error, expected);
			free(error);
			strbuf_free(&out);
		}
	}
}
END_TEST

START_TEST(sign_long_line_rejected)
{
	struct smime_signer signer = { .key = pki.alice.key, .cert = pki.alice.cert };
	struct strbuf entity = STRBUF_INIT;
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	strbuf_appends(&entity, "Content-Type: text/plain\r\n\r\n");
	for (int i = 0; i < 998; i++)
		strbuf_appendc(&entity, 'a');
	strbuf_appends(&entity, "\r\n");
	ck_assert_int_eq(smime_sign(&signer, entity.data, entity.len, false, NULL,
			     &out, &error), 0);

	strbuf_reset(&out);
	strbuf_appends(&entity, "b");
	for (int i = 0; i < 998; i++)
		strbuf_appendc(&entity, 'a');
	strbuf_appends(&entity, "\r\n");
	ck_assert_int_eq(smime_sign(&signer, entity.data, entity.len, false, NULL,
			     &out, &error), -1);
	ck_assert_str_eq(error, "entity line 4 is longer than 998 octets");
	free(error);
	strbuf_free(&entity);
	strbuf_free(&out);
}
END_TEST

enum {
	RECIPIENT_ALICE = 1 << 0,
	RECIPIENT_BOB = 1 << 1,
	RECIPIENT_CAROL = 1 << 2,
};

static const struct encrypt_case {
	const char *name;
	enum smime_cipher cipher;
	bool rsa_oaep;
	unsigned recipients;
	const char *smime_type;
	int content_type_nid;
	const char *cipher_name;
} encrypt_cases[] = {
	{ "RSA AES-256-CBC", SMIME_CIPHER_AES256_CBC, false, RECIPIENT_ALICE,
	    "enveloped-data", NID_pkcs7_enveloped, "aes-256-cbc" },
	{ "RSA AES-128-CBC", SMIME_CIPHER_AES128_CBC, false, RECIPIENT_ALICE,
	    "enveloped-data", NID_pkcs7_enveloped, "aes-128-cbc" },
	{ "RSA AES-256-GCM", SMIME_CIPHER_AES256_GCM, false, RECIPIENT_ALICE,
	    "authEnveloped-data", NID_id_smime_ct_authEnvelopedData, "aes-256-gcm" },
	{ "RSA AES-128-GCM", SMIME_CIPHER_AES128_GCM, false, RECIPIENT_ALICE,
	    "authEnveloped-data", NID_id_smime_ct_authEnvelopedData, "aes-128-gcm" },
	{ "RSA-OAEP", SMIME_CIPHER_AES256_CBC, true, RECIPIENT_ALICE,
	    "enveloped-data", NID_pkcs7_enveloped, "aes-256-cbc" },
	{ "ECDH AES-256-CBC", SMIME_CIPHER_AES256_CBC, false, RECIPIENT_CAROL,
	    "enveloped-data", NID_pkcs7_enveloped, "aes-256-cbc" },
	{ "ECDH AES-128-GCM", SMIME_CIPHER_AES128_GCM, false, RECIPIENT_CAROL,
	    "authEnveloped-data", NID_id_smime_ct_authEnvelopedData, "aes-128-gcm" },
	{ "two RSA recipients", SMIME_CIPHER_AES256_CBC, false,
	    RECIPIENT_ALICE | RECIPIENT_BOB, "enveloped-data",
	    NID_pkcs7_enveloped, "aes-256-cbc" },
	{ "RSA-OAEP and ECDH", SMIME_CIPHER_AES256_GCM, true,
	    RECIPIENT_ALICE | RECIPIENT_CAROL, "authEnveloped-data",
	    NID_id_smime_ct_authEnvelopedData, "aes-256-gcm" },
};

static const struct fixture_identity *
recipient_identity(unsigned bit)
{
	switch (bit) {
	case RECIPIENT_ALICE:
		return &pki.alice;
	case RECIPIENT_BOB:
		return &pki.bob;
	default:
		return &pki.carol;
	}
}

/* Decrypts cms as id and returns CMS_decrypt's result, with the plaintext in
 * plain. */
static int
decrypt_cms(CMS_ContentInfo *cms, const struct fixture_identity *id,
    struct strbuf *plain)
{
	BIO *out = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int ok;

	ck_assert_ptr_nonnull(out);
	ok = CMS_decrypt(cms, id->key, id->cert, NULL, out, CMS_BINARY);
	len = BIO_get_mem_data(out, &data);
	if (ok == 1)
		strbuf_append(plain, data, (size_t)len);
	BIO_free(out);
	ERR_clear_error();
	return ok;
}

/* Checks the key transport or key agreement algorithm of every
 * RecipientInfo. */
static void
assert_recipient_infos(CMS_ContentInfo *cms, const struct encrypt_case *tc)
{
	STACK_OF(CMS_RecipientInfo) *infos = CMS_get0_RecipientInfos(cms);
	int expected = 0;

	for (unsigned bit = 1; bit <= RECIPIENT_CAROL; bit <<= 1)
		expected += (tc->recipients & bit) != 0;

	ck_assert_int_eq(sk_CMS_RecipientInfo_num(infos), expected);
	for (int i = 0; i < expected; i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(infos, i);
		X509_ALGOR *alg = NULL;

		if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS) {
			ck_assert_int_eq(CMS_RecipientInfo_ktri_get0_algs(ri, NULL,
					     NULL, &alg), 1);
			ck_assert_int_eq(OBJ_obj2nid(alg->algorithm),
			    tc->rsa_oaep ? NID_rsaesOaep : NID_rsaEncryption);
		} else {
			ck_assert_int_eq(CMS_RecipientInfo_type(ri), CMS_RECIPINFO_AGREE);
			ck_assert_int_eq(CMS_RecipientInfo_kari_get0_alg(ri, &alg, NULL), 1);
			ck_assert_int_eq(OBJ_obj2nid(alg->algorithm),
			    NID_dhSinglePass_stdDH_sha256kdf_scheme);
		}
	}
}

/* Checks the content-encryption algorithm in OpenSSL's printed form of
 * cms, which is the only public way to reach it. */
static void
assert_printed(CMS_ContentInfo *cms, const char *text)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;

	ck_assert_ptr_nonnull(bio);
	ck_assert_int_eq(CMS_ContentInfo_print_ctx(bio, cms, 0, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	ck_assert_msg(find_bytes(data, (size_t)len, 0, text) >= 0,
	    "\"%s\" not found in the printed CMS structure", text);
	BIO_free(bio);
}

START_TEST(encrypt_cases_decrypt)
{
	const struct encrypt_case *tc = &encrypt_cases[_i];
	struct smime_options options = { .cipher = tc->cipher,
		.rsa_oaep = tc->rsa_oaep };
	STACK_OF(X509) *recipients = sk_X509_new_null();
	struct strbuf out = STRBUF_INIT;
	char header[256], algorithm[64];
	char *error = NULL;

	for (unsigned bit = 1; bit <= RECIPIENT_CAROL; bit <<= 1) {
		if (tc->recipients & bit)
			sk_X509_push(recipients, recipient_identity(bit)->cert);
	}
	int rc = smime_encrypt(recipients, entity_text, strlen(entity_text),
	    &options, &out, &error);
	ck_assert_msg(rc == 0, "%s: smime_encrypt failed: %s", tc->name, error);

	assert_mime_lines(&out);
	snprintf(header, sizeof(header), "Content-Type: application/pkcs7-mime; "
	    "smime-type=%s;\r\n name=\"smime.p7m\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n",
	    tc->smime_type);
	assert_prefix(&out, header);

	CMS_ContentInfo *cms = read_smime(out.data, out.len, NULL);
	ck_assert_int_eq(OBJ_obj2nid(CMS_get0_type(cms)), tc->content_type_nid);
	snprintf(algorithm, sizeof(algorithm), "algorithm: %s (", tc->cipher_name);
	assert_printed(cms, algorithm);
	assert_recipient_infos(cms, tc);

	for (unsigned bit = 1; bit <= RECIPIENT_CAROL; bit <<= 1) {
		struct strbuf plain = STRBUF_INIT;
		int ok = decrypt_cms(cms, recipient_identity(bit), &plain);

		if (tc->recipients & bit) {
			ck_assert_msg(ok == 1, "%s: recipient %u cannot decrypt",
			    tc->name, bit);
			ck_assert_uint_eq(plain.len, strlen(entity_text));
			ck_assert(memcmp(plain.data, entity_text, plain.len) == 0);
		} else {
			ck_assert_msg(ok == 0, "%s: non-recipient %u decrypted",
			    tc->name, bit);
		}
		strbuf_free(&plain);
	}
	CMS_ContentInfo_free(cms);
	sk_X509_free(recipients);
	strbuf_free(&out);
}
END_TEST

START_TEST(encrypt_oaep_uses_sha256)
{
	struct smime_options options = { .rsa_oaep = true };
	STACK_OF(X509) *recipients = sk_X509_new_null();
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;
	X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *oid;
	const void *value;
	int type;

	sk_X509_push(recipients, pki.alice.cert);
	ck_assert_int_eq(smime_encrypt(recipients, entity_text,
			     strlen(entity_text), &options, &out, &error), 0);
	CMS_ContentInfo *cms = read_smime(out.data, out.len, NULL);
	CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(
	    CMS_get0_RecipientInfos(cms), 0);
	ck_assert_int_eq(CMS_RecipientInfo_ktri_get0_algs(ri, NULL, NULL, &alg), 1);
	X509_ALGOR_get0(&oid, &type, &value, alg);
	ck_assert_int_eq(OBJ_obj2nid(oid), NID_rsaesOaep);
	ck_assert_int_eq(type, V_ASN1_SEQUENCE);

	const ASN1_STRING *params_der = value;
	const unsigned char *p = ASN1_STRING_get0_data(params_der);
	RSA_OAEP_PARAMS *params = d2i_RSA_OAEP_PARAMS(NULL, &p,
	    ASN1_STRING_length(params_der));
	ck_assert_ptr_nonnull(params);
	ck_assert_ptr_nonnull(params->hashFunc);
	ck_assert_int_eq(OBJ_obj2nid(params->hashFunc->algorithm), NID_sha256);
	ck_assert_ptr_nonnull(params->maskGenFunc);
	ck_assert_int_eq(OBJ_obj2nid(params->maskGenFunc->algorithm), NID_mgf1);

	const ASN1_TYPE *mgf_param = params->maskGenFunc->parameter;
	ck_assert_int_eq(mgf_param->type, V_ASN1_SEQUENCE);
	p = mgf_param->value.sequence->data;
	X509_ALGOR *mgf_hash = d2i_X509_ALGOR(NULL, &p,
	    mgf_param->value.sequence->length);
	ck_assert_ptr_nonnull(mgf_hash);
	ck_assert_int_eq(OBJ_obj2nid(mgf_hash->algorithm), NID_sha256);

	X509_ALGOR_free(mgf_hash);
	RSA_OAEP_PARAMS_free(params);
	CMS_ContentInfo_free(cms);
	sk_X509_free(recipients);
	strbuf_free(&out);
}
END_TEST

START_TEST(encrypt_signed_message)
{
	struct smime_signer signer;
	STACK_OF(X509) *recipients = sk_X509_new_null();
	struct strbuf signed_out = STRBUF_INIT, out = STRBUF_INIT;
	struct strbuf plain = STRBUF_INIT, content = STRBUF_INIT;
	char *error = NULL;
	BIO *detached = NULL;

	make_signer(SIGNER_ALICE, &signer);
	ck_assert_int_eq(smime_sign(&signer, entity_text, strlen(entity_text),
			     false, NULL, &signed_out, &error), 0);
	sk_X509_push(recipients, pki.bob.cert);
	sk_X509_push(recipients, pki.alice.cert);
	ck_assert_int_eq(smime_encrypt(recipients, signed_out.data, signed_out.len,
			     NULL, &out, &error), 0);
	assert_mime_lines(&out);

	CMS_ContentInfo *cms = read_smime(out.data, out.len, NULL);
	ck_assert_int_eq(decrypt_cms(cms, &pki.bob, &plain), 1);
	ck_assert_uint_eq(plain.len, signed_out.len);
	ck_assert(memcmp(plain.data, signed_out.data, plain.len) == 0);
	CMS_ContentInfo_free(cms);

	cms = read_smime(plain.data, plain.len, &detached);
	ck_assert_int_eq(verify_cms(cms, detached, &content), 1);
	ck_assert_str_eq(strbuf_str(&content), entity_text);
	CMS_ContentInfo_free(cms);
	BIO_free(detached);
	sk_X509_free(signer.chain);
	sk_X509_free(recipients);
	strbuf_free(&signed_out);
	strbuf_free(&out);
	strbuf_free(&plain);
	strbuf_free(&content);
}
END_TEST

START_TEST(encrypt_no_recipients_rejected)
{
	STACK_OF(X509) *recipients = sk_X509_new_null();
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	ck_assert_int_eq(smime_encrypt(recipients, entity_text,
			     strlen(entity_text), NULL, &out, &error), -1);
	ck_assert_str_eq(error, "no recipient certificates to encrypt for");
	free(error);
	error = NULL;
	ck_assert_int_eq(smime_encrypt(NULL, entity_text, strlen(entity_text),
			     NULL, &out, &error), -1);
	ck_assert_str_eq(error, "no recipient certificates to encrypt for");
	ck_assert_uint_eq(out.len, 0);
	free(error);
	sk_X509_free(recipients);
}
END_TEST

START_TEST(encrypt_ed25519_recipient_rejected)
{
	STACK_OF(X509) *recipients = sk_X509_new_null();
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	sk_X509_push(recipients, pki.alice.cert);
	sk_X509_push(recipients, pki.dave.cert);
	ck_assert_int_eq(smime_encrypt(recipients, entity_text,
			     strlen(entity_text), NULL, &out, &error), -1);
	ck_assert_str_eq(error, "recipient certificate CN=Dave,O=smimegw test has "
	    "a ED25519 key, but only RSA and EC keys can receive encrypted mail");
	ck_assert_uint_eq(out.len, 0);
	free(error);
	sk_X509_free(recipients);
}
END_TEST

START_TEST(encrypt_bad_entity_rejected)
{
	STACK_OF(X509) *recipients = sk_X509_new_null();
	struct strbuf out = STRBUF_INIT;
	char *error = NULL;

	sk_X509_push(recipients, pki.alice.cert);
	ck_assert_int_eq(smime_encrypt(recipients, "a\nb", 3, NULL, &out, &error),
	    -1);
	ck_assert_str_eq(error, "entity line 1: LF without CR at offset 1");
	free(error);
	sk_X509_free(recipients);
}
END_TEST

#define THREAD_COUNT 4
#define THREAD_ROUNDS 5

struct thread_result {
	int failures;		/* rounds whose output did not decrypt or verify */
	char *error;		/* first error from smime_sign or smime_encrypt */
};

/* Signs, encrypts, decrypts and verifies in a loop. Failures are counted
 * rather than asserted because Check's asserts work only in the test's own
 * thread. The helpers called here assert only that allocations succeed. */
static void *
thread_sign_encrypt(void *arg)
{
	struct thread_result *result = arg;
	struct smime_signer signer = { .key = pki.carol.key, .cert = pki.carol.cert };
	STACK_OF(X509) *recipients = sk_X509_new_null();
	STACK_OF(X509) *chain = sk_X509_new_null();

	sk_X509_push(chain, pki.intermediate.cert);
	signer.chain = chain;
	sk_X509_push(recipients, pki.alice.cert);
	sk_X509_push(recipients, pki.carol.cert);
	for (int round = 0; round < THREAD_ROUNDS && result->error == NULL; round++) {
		struct strbuf signed_out = STRBUF_INIT, out = STRBUF_INIT;
		struct strbuf plain = STRBUF_INIT, content = STRBUF_INIT;
		BIO *detached = NULL;

		if (smime_sign(&signer, entity_text, strlen(entity_text), false, NULL,
			&signed_out, &result->error) < 0 ||
		    smime_encrypt(recipients, signed_out.data, signed_out.len, NULL,
			&out, &result->error) < 0)
			break;

		BIO *in = BIO_new_mem_buf(out.data, (int)out.len);
		CMS_ContentInfo *cms = SMIME_read_CMS(in, NULL);
		bool ok = cms != NULL && decrypt_cms(cms, &pki.carol, &plain) == 1;
		BIO_free(in);
		CMS_ContentInfo_free(cms);

		in = BIO_new_mem_buf(plain.data, (int)plain.len);
		cms = ok ? SMIME_read_CMS(in, &detached) : NULL;
		ok = cms != NULL && verify_cms(cms, detached, &content) == 1 &&
		    strcmp(strbuf_str(&content), entity_text) == 0;
		result->failures += !ok;
		CMS_ContentInfo_free(cms);
		BIO_free(detached);
		BIO_free(in);
		strbuf_free(&signed_out);
		strbuf_free(&out);
		strbuf_free(&plain);
		strbuf_free(&content);
	}
	sk_X509_free(recipients);
	sk_X509_free(chain);
	return NULL;
}

START_TEST(encrypt_signed_concurrent_threads)
{
	pthread_t threads[THREAD_COUNT];
	struct thread_result results[THREAD_COUNT] = { 0 };

	for (int i = 0; i < THREAD_COUNT; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL,
				     thread_sign_encrypt, &results[i]), 0);
	for (int i = 0; i < THREAD_COUNT; i++)
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
	for (int i = 0; i < THREAD_COUNT; i++) {
		ck_assert_msg(results[i].error == NULL, "thread %d: %s", i,
		    results[i].error);
		ck_assert_int_eq(results[i].failures, 0);
	}
}
END_TEST

static const struct {
	const char *name;
	int ok;
	enum smime_cipher cipher;
} cipher_names[] = {
	{ "aes-256-cbc", 0, SMIME_CIPHER_AES256_CBC },
	{ "aes-128-cbc", 0, SMIME_CIPHER_AES128_CBC },
	{ "aes-128-gcm", 0, SMIME_CIPHER_AES128_GCM },
	{ "aes-256-gcm", 0, SMIME_CIPHER_AES256_GCM },
	{ "AES-256-CBC", -1, 0 },
	{ "des-ede3-cbc", -1, 0 },
	{ "", -1, 0 },
};

START_TEST(cipher_parse_names)
{
	enum smime_cipher cipher = SMIME_CIPHER_AES256_CBC;

	ck_assert_int_eq(smime_cipher_parse(cipher_names[_i].name, &cipher),
	    cipher_names[_i].ok);
	if (cipher_names[_i].ok == 0)
		ck_assert_int_eq(cipher, cipher_names[_i].cipher);
}
END_TEST

static const struct {
	const char *name;
	int ok;
	enum smime_digest digest;
} digest_names[] = {
	{ "sha256", 0, SMIME_DIGEST_SHA256 },
	{ "sha384", 0, SMIME_DIGEST_SHA384 },
	{ "sha512", 0, SMIME_DIGEST_SHA512 },
	{ "sha-256", -1, 0 },
	{ "sha1", -1, 0 },
	{ "md5", -1, 0 },
};

START_TEST(digest_parse_names)
{
	enum smime_digest digest = SMIME_DIGEST_SHA256;

	ck_assert_int_eq(smime_digest_parse(digest_names[_i].name, &digest),
	    digest_names[_i].ok);
	if (digest_names[_i].ok == 0)
		ck_assert_int_eq(digest, digest_names[_i].digest);
}
END_TEST

static const struct {
	const char *name;
	int ok;
	enum smime_signature signature;
} signature_names[] = {
	{ "rsa-pkcs1", 0, SMIME_SIGNATURE_RSA_PKCS1 },
	{ "rsa-pss", 0, SMIME_SIGNATURE_RSA_PSS },
	{ "RSA-PSS", -1, 0 },
	{ "pss", -1, 0 },
	{ "ecdsa", -1, 0 },
};

START_TEST(signature_parse_names)
{
	enum smime_signature signature = SMIME_SIGNATURE_RSA_PKCS1;

	ck_assert_int_eq(smime_signature_parse(signature_names[_i].name, &signature),
	    signature_names[_i].ok);
	if (signature_names[_i].ok == 0)
		ck_assert_int_eq(signature, signature_names[_i].signature);
}
END_TEST

#define COUNT(table) (int)(sizeof(table) / sizeof((table)[0]))

static Suite *
smime_suite(void)
{
	Suite *s = suite_create("smime");
	TCase *parse = tcase_create("parse");
	TCase *sign = tcase_create("sign");
	TCase *encrypt = tcase_create("encrypt");

	tcase_add_loop_test(parse, cipher_parse_names, 0, COUNT(cipher_names));
	tcase_add_loop_test(parse, digest_parse_names, 0, COUNT(digest_names));
	tcase_add_loop_test(parse, signature_parse_names, 0, COUNT(signature_names));
	suite_add_tcase(s, parse);

	tcase_add_unchecked_fixture(sign, setup_pki, teardown_pki);
	tcase_set_timeout(sign, 60);
	tcase_add_loop_test(sign, sign_cases_verify, 0, COUNT(sign_cases));
	tcase_add_test(sign, sign_key_preference_names_encryption_cert);
	tcase_add_test(sign, sign_detached_tampered_content_fails);
	tcase_add_test(sign, sign_wrong_key_reports_openssl_error);
	tcase_add_test(sign, sign_missing_key_rejected);
	tcase_add_loop_test(sign, sign_bad_entity_rejected, 0, COUNT(bad_entity_cases));
	tcase_add_test(sign, sign_long_line_rejected);
	tcase_add_test(sign, sign_fault_in_long_line_rejected);
	suite_add_tcase(s, sign);

	tcase_add_unchecked_fixture(encrypt, setup_pki, teardown_pki);
	tcase_set_timeout(encrypt, 60);
	tcase_add_loop_test(encrypt, encrypt_cases_decrypt, 0, COUNT(encrypt_cases));
	tcase_add_test(encrypt, encrypt_oaep_uses_sha256);
	tcase_add_test(encrypt, encrypt_signed_message);
	tcase_add_test(encrypt, encrypt_signed_concurrent_threads);
	tcase_add_test(encrypt, encrypt_no_recipients_rejected);
	tcase_add_test(encrypt, encrypt_ed25519_recipient_rejected);
	tcase_add_test(encrypt, encrypt_bad_entity_rejected);
	suite_add_tcase(s, encrypt);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(smime_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
