/* Unit tests of the certs module and the LDAP filter helpers. The test PKI
 * (root CA, intermediate, leaves with RSA, EC and Ed25519 keys, and the
 * broken cases) is generated in-process with the OpenSSL API. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "certs/certvalue.h"
#include "certs/chaincache.h"
#include "certs/directory.h"
#include "certs/directory_internal.h"
#include "certs/keystore.h"
#include "certs/mailaddr.h"
#include "certs/resolve.h"
#include "certs/validate.h"
#include "util/ldapconn.h"
#include "util/xmalloc.h"

#define DAY (24 * 60 * 60)

/* For the helpers that build the PKI before the test runner starts, where
 * the Check assertions cannot report. Inside a test an abort still fails
 * the test. */
#define require(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: %s failed\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

static time_t test_now;
static char test_dir[] = "/tmp/check_certs.XXXXXX";

static EVP_PKEY *key_rsa, *key_ec, *key_ed, *key_root, *key_int, *key_other;
static X509 *cert_root, *cert_int, *cert_other_root, *cert_expired_int;
static struct cert_trust *trust_root_only, *trust_with_bundle;

/* What a generated certificate looks like; times are days from test_now. */
struct cert_spec {
	const char *cn;
	const char *san;		/* "email:a@b,DNS:x" or NULL */
	const char *subject_email;	/* emailAddress in the subject, or NULL */
	long not_before_days;
	long not_after_days;
	const char *key_usage;		/* X509v3 config value, or NULL */
	const char *ext_key_usage;
	bool ca;
};

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	require(ext != NULL);
	require((X509_add_ext(cert, ext, -1)) == 1);
	X509_EXTENSION_free(ext);
}

/* Returns a certificate for key as described by s, signed by issuer_key
 * (self-signed when issuer is NULL). */
static X509 *
make_cert(const struct cert_spec *s, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);

	require((x) != NULL);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_time_adj_ex(X509_getm_notBefore(x), (int)s->not_before_days, 0, &test_now);
	X509_time_adj_ex(X509_getm_notAfter(x), (int)s->not_after_days, 0, &test_now);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Example Org", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)s->cn, -1, -1, 0);
	if (s->subject_email != NULL)
		X509_NAME_add_entry_by_NID(name, NID_pkcs9_emailAddress, MBSTRING_ASC,
		    (const unsigned char *)s->subject_email, -1, -1, 0);
	X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);

	X509 *signer = issuer != NULL ? issuer : x;
	add_ext(x, signer, NID_basic_constraints, s->ca ? "critical,CA:TRUE" : "CA:FALSE");
	add_ext(x, signer, NID_subject_key_identifier, "hash");
	add_ext(x, signer, NID_authority_key_identifier, "keyid");
	if (s->key_usage != NULL)
		add_ext(x, signer, NID_key_usage, s->key_usage);
	if (s->ext_key_usage != NULL)
		add_ext(x, signer, NID_ext_key_usage, s->ext_key_usage);
	if (s->san != NULL)
		add_ext(x, signer, NID_subject_alt_name, s->san);

	require((X509_sign(x, issuer_key != NULL ? issuer_key : key,
	    EVP_sha256())) > 0);
	return x;
}

static X509 *
make_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
    long not_before_days, long not_after_days)
{
	struct cert_spec s = { cn, NULL, NULL, not_before_days, not_after_days,
	    "critical,keyCertSign,cRLSign", NULL, true };

	return make_cert(&s, key, issuer, issuer_key);
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "wb");
	require(f != NULL);
	require((fwrite(data, 1, len, f)) == len);
	require((fclose(f)) == 0);
	require((chmod(path, mode)) == 0);
}

/* Returns the PEM of certs (NULL-terminated list), allocated. */
static char *
pem_of(X509 *const *certs, size_t *len_r)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	char *copy;

	for (size_t i = 0; certs[i] != NULL; i++)
		require((PEM_write_bio_X509(bio, certs[i])) == 1);
	len = BIO_get_mem_data(bio, &data);
	copy = xstrndup(data, (size_t)len);
	if (len_r != NULL)
		*len_r = (size_t)len;
	BIO_free(bio);
	return copy;
}

static void
write_pem(const char *path, X509 *const *certs)
{
	size_t len;
	char *pem = pem_of(certs, &len);

	write_file(path, pem, len, 0600);
	free(pem);
}

/* Builds the test PKI and two trust configurations: the root alone, and
 * the root with the intermediate in the configured bundle. */
static void
pki_setup(void)
{
	char *root_path, *int_path, *error = NULL;

	test_now = time(NULL);
	require((mkdtemp(test_dir)) != NULL);
	key_rsa = EVP_RSA_gen(2048);
	key_root = EVP_RSA_gen(2048);
	key_ec = EVP_EC_gen("P-256");
	key_int = EVP_EC_gen("P-256");
	key_other = EVP_EC_gen("P-256");
	key_ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	require(key_rsa && key_root && key_ec && key_int && key_other && key_ed);

	cert_root = make_ca("Example Root CA", key_root, NULL, NULL, -1000, 3000);
	cert_int = make_ca("Example Mail CA", key_int, cert_root, key_root, -500, 2000);
	cert_other_root = make_ca("Other Root CA", key_other, NULL, NULL, -1000, 3000);
	cert_expired_int = make_ca("Example Old Mail CA", key_int, cert_root, key_root,
	    -900, -1);

	root_path = xasprintf("%s/root.pem", test_dir);
	int_path = xasprintf("%s/intermediates.pem", test_dir);
	write_pem(root_path, (X509 *[]){ cert_root, NULL });
	write_pem(int_path, (X509 *[]){ cert_int, NULL });
	require((cert_trust_load(&root_path, 1, NULL, 0, CERT_CHAIN_CACHE_DEFAULT_SIZE,
	    CERT_CHAIN_CACHE_DEFAULT_TTL, &trust_root_only, &error)) == 0);
	require((cert_trust_load(&root_path, 1, &int_path, 1, CERT_CHAIN_CACHE_DEFAULT_SIZE,
	    CERT_CHAIN_CACHE_DEFAULT_TTL, &trust_with_bundle, &error)) == 0);
	free(root_path);
	free(int_path);
}

static void
pki_teardown(void)
{
	char *cmd;

	cert_trust_free(trust_root_only);
	cert_trust_free(trust_with_bundle);
	X509_free(cert_root);
	X509_free(cert_int);
	X509_free(cert_other_root);
	X509_free(cert_expired_int);
	EVP_PKEY_free(key_rsa);
	EVP_PKEY_free(key_root);
	EVP_PKEY_free(key_ec);
	EVP_PKEY_free(key_int);
	EVP_PKEY_free(key_other);
	EVP_PKEY_free(key_ed);
	cmd = xasprintf("rm -rf '%s'", test_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "removing %s failed\n", test_dir);
	free(cmd);
}

/* ---- cert_validate ---- */

enum test_key { TK_RSA, TK_EC, TK_ED25519 };
enum test_issuer { TI_INTERMEDIATE, TI_ROOT, TI_OTHER_ROOT, TI_EXPIRED_INTERMEDIATE };

#define KU_RSA_ENC "critical,digitalSignature,keyEncipherment"
#define KU_EC_ENC "critical,digitalSignature,keyAgreement"
#define EKU_MAIL "emailProtection"
#define ALICE "alice@example.com"
#define SAN_ALICE "email:" ALICE

static const struct validate_case {
	const char *name;
	struct cert_spec spec;
	enum test_key key;
	enum test_issuer issuer;
	bool entry_has_intermediate;	/* intermediate passed as untrusted */
	bool bundle;			/* trust with the intermediate bundle */
	const char *email;
	enum cert_purpose purpose;
	enum cert_reason want;
} validate_cases[] = {
	{ "rsa valid", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC, EKU_MAIL, false },
	    TK_RSA, TI_INTERMEDIATE, true, false, ALICE, CERT_PURPOSE_ENCRYPT, CERT_OK },
	{ "ec valid", { "a", SAN_ALICE, NULL, -10, 365, KU_EC_ENC, EKU_MAIL, false },
	    TK_EC, TI_INTERMEDIATE, true, false, ALICE, CERT_PURPOSE_ENCRYPT, CERT_OK },
	{ "ec sign valid", { "a", SAN_ALICE, NULL, -10, 365, "digitalSignature",
	    EKU_MAIL, false }, TK_EC, TI_INTERMEDIATE, true, false, ALICE,
	    CERT_PURPOSE_SIGN, CERT_OK },
	{ "expired", { "a", SAN_ALICE, NULL, -400, -1, KU_RSA_ENC, EKU_MAIL, false },
	    TK_RSA, TI_INTERMEDIATE, true, false, ALICE, CERT_PURPOSE_ENCRYPT,
	    CERT_EXPIRED },
	{ "not yet valid", { "a", SAN_ALICE, NULL, 2, 400, KU_RSA_ENC, EKU_MAIL, false },
	    TK_RSA, TI_INTERMEDIATE, true, false, ALICE, CERT_PURPOSE_ENCRYPT,
	    CERT_NOT_YET_VALID },
	{ "rsa ku sign only encrypt", { "a", SAN_ALICE, NULL, -10, 365,
	    "critical,digitalSignature", EKU_MAIL, false }, TK_RSA, TI_INTERMEDIATE, true,
	    false, ALICE, CERT_PURPOSE_ENCRYPT, CERT_KEY_USAGE },
	{ "rsa ku sign only sign", { "a", SAN_ALICE, NULL, -10, 365,
	    "critical,digitalSignature", EKU_MAIL, false }, TK_RSA, TI_INTERMEDIATE, true,
	    false, ALICE, CERT_PURPOSE_SIGN, CERT_OK },
	{ "rsa ku nonrepudiation sign", { "a", SAN_ALICE, NULL, -10, 365,
	    "critical,nonRepudiation", EKU_MAIL, false }, TK_RSA, TI_INTERMEDIATE, true,
	    false, ALICE, CERT_PURPOSE_SIGN, CERT_OK },
	{ "rsa ku encrypt only sign", { "a", SAN_ALICE, NULL, -10, 365,
	    "critical,keyEncipherment", EKU_MAIL, false }, TK_RSA, TI_INTERMEDIATE, true,
	    false, ALICE, CERT_PURPOSE_SIGN, CERT_KEY_USAGE },
	{ "ec ku keyencipherment", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC,
	    EKU_MAIL, false }, TK_EC, TI_INTERMEDIATE, true, false, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_KEY_USAGE },
	{ "ku absent", { "a", SAN_ALICE, NULL, -10, 365, NULL, EKU_MAIL, false },
	    TK_RSA, TI_INTERMEDIATE, true, false, ALICE, CERT_PURPOSE_ENCRYPT, CERT_OK },
	{ "eku server auth", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC,
	    "serverAuth,clientAuth", false }, TK_RSA, TI_INTERMEDIATE, true, false, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_NO_EMAIL_PROTECTION },
	{ "eku absent", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC, NULL, false },
	    TK_RSA, TI_INTERMEDIATE, true, false, ALICE, CERT_PURPOSE_ENCRYPT, CERT_OK },
	{ "eku any", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC,
	    "anyExtendedKeyUsage", false }, TK_RSA, TI_INTERMEDIATE, true, false, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_OK },
	{ "address only in subject", { "a", NULL, ALICE, -10, 365, KU_RSA_ENC, EKU_MAIL,
	    false }, TK_RSA, TI_INTERMEDIATE, true, false, ALICE, CERT_PURPOSE_ENCRYPT,
	    CERT_OK },
	{ "subject ignored with san", { "a", "email:other@example.com", ALICE, -10, 365,
	    KU_RSA_ENC, EKU_MAIL, false }, TK_RSA, TI_INTERMEDIATE, true, false, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_ADDRESS_MISMATCH },
	{ "subject used with dns san", { "a", "DNS:example.com", ALICE, -10, 365,
	    KU_RSA_ENC, EKU_MAIL, false }, TK_RSA, TI_INTERMEDIATE, true, false, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_OK },
	{ "address mismatch", { "a", "email:bob@example.com", NULL, -10, 365,
	    KU_RSA_ENC, EKU_MAIL, false }, TK_RSA, TI_INTERMEDIATE, true, false, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_ADDRESS_MISMATCH },
	{ "address second san", { "a", "email:bob@example.com,email:" ALICE, NULL, -10,
	    365, KU_RSA_ENC, EKU_MAIL, false }, TK_RSA, TI_INTERMEDIATE, true, false,
	    ALICE, CERT_PURPOSE_ENCRYPT, CERT_OK },
	{ "address case", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC, EKU_MAIL,
	    false }, TK_RSA, TI_INTERMEDIATE, true, false, "Alice@EXAMPLE.com",
	    CERT_PURPOSE_ENCRYPT, CERT_OK },
	{ "address suffix only", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC, EKU_MAIL,
	    false }, TK_RSA, TI_INTERMEDIATE, true, false, "lice@example.com",
	    CERT_PURPOSE_ENCRYPT, CERT_ADDRESS_MISMATCH },
	{ "no address", { "a", NULL, NULL, -10, 365, KU_RSA_ENC, EKU_MAIL, false },
	    TK_RSA, TI_INTERMEDIATE, true, false, ALICE, CERT_PURPOSE_ENCRYPT,
	    CERT_ADDRESS_MISMATCH },
	{ "address not checked", { "a", NULL, NULL, -10, 365, KU_RSA_ENC, EKU_MAIL,
	    false }, TK_RSA, TI_INTERMEDIATE, true, false, NULL, CERT_PURPOSE_ENCRYPT,
	    CERT_OK },
	{ "untrusted root", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC, EKU_MAIL,
	    false }, TK_RSA, TI_OTHER_ROOT, false, false, ALICE, CERT_PURPOSE_ENCRYPT,
	    CERT_UNTRUSTED },
	{ "intermediate missing", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC,
	    EKU_MAIL, false }, TK_RSA, TI_INTERMEDIATE, false, false, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_UNTRUSTED },
	{ "intermediate from bundle", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC,
	    EKU_MAIL, false }, TK_RSA, TI_INTERMEDIATE, false, true, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_OK },
	{ "issued by root", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC, EKU_MAIL,
	    false }, TK_RSA, TI_ROOT, false, false, ALICE, CERT_PURPOSE_ENCRYPT, CERT_OK },
	{ "intermediate expired", { "a", SAN_ALICE, NULL, -10, 365, KU_RSA_ENC,
	    EKU_MAIL, false }, TK_RSA, TI_EXPIRED_INTERMEDIATE, true, false, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_EXPIRED },
	{ "expired and untrusted", { "a", SAN_ALICE, NULL, -400, -1, KU_RSA_ENC,
	    EKU_MAIL, false }, TK_RSA, TI_OTHER_ROOT, false, false, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_EXPIRED },
	{ "not yet valid and untrusted", { "a", SAN_ALICE, NULL, 2, 400, KU_RSA_ENC,
	    EKU_MAIL, false }, TK_RSA, TI_OTHER_ROOT, false, false, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_NOT_YET_VALID },
	{ "ed25519 key", { "a", SAN_ALICE, NULL, -10, 365, "critical,digitalSignature",
	    EKU_MAIL, false }, TK_ED25519, TI_INTERMEDIATE, true, false, ALICE,
	    CERT_PURPOSE_SIGN, CERT_UNSUPPORTED_KEY },
	{ "ca as leaf", { "a", SAN_ALICE, NULL, -10, 365, "critical,keyCertSign",
	    EKU_MAIL, true }, TK_RSA, TI_INTERMEDIATE, true, false, ALICE,
	    CERT_PURPOSE_ENCRYPT, CERT_KEY_USAGE },
};

static X509 *
make_case_cert(const struct validate_case *c)
{
	EVP_PKEY *key = key_ed;

	if (c->key == TK_RSA)
		key = key_rsa;
	else if (c->key == TK_EC)
		key = key_ec;

	switch (c->issuer) {
	case TI_ROOT:
		return make_cert(&c->spec, key, cert_root, key_root);
	case TI_OTHER_ROOT:
		return make_cert(&c->spec, key, cert_other_root, key_other);
	case TI_EXPIRED_INTERMEDIATE:
		return make_cert(&c->spec, key, cert_expired_int, key_int);
	case TI_INTERMEDIATE:
	default:
		return make_cert(&c->spec, key, cert_int, key_int);
	}
}

START_TEST(validate_table)
{
	const struct validate_case *c = &validate_cases[_i];
	X509 *cert = make_case_cert(c);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509 *intermediate = c->issuer == TI_EXPIRED_INTERMEDIATE ? cert_expired_int :
	    cert_int;
	char *detail = NULL;
	enum cert_reason got;

	if (c->entry_has_intermediate)
		sk_X509_push(untrusted, intermediate);
	got = cert_validate(c->bundle ? trust_with_bundle : trust_root_only, cert,
	    untrusted, c->email, c->purpose, test_now, &detail);
	ck_assert_msg(got == c->want, "case \"%s\": got %s (%s), expected %s", c->name,
	    cert_reason_name(got), detail, cert_reason_name(c->want));
	ck_assert_msg(detail != NULL && detail[0] != '\0', "case \"%s\": no detail",
	    c->name);
	free(detail);
	sk_X509_free(untrusted);
	X509_free(cert);
}
END_TEST

static X509 *
make_valid_leaf(EVP_PKEY *key, long not_before_days, long not_after_days)
{
	struct cert_spec s = { "Alice", SAN_ALICE, NULL, not_before_days, not_after_days,
	    KU_RSA_ENC, EKU_MAIL, false };

	return make_cert(&s, key, cert_int, key_int);
}

START_TEST(validate_expired_detail)
{
	X509 *cert = make_valid_leaf(key_rsa, -400, -1);
	char *detail = NULL;

	ck_assert_int_eq(cert_validate(trust_root_only, cert, NULL, ALICE,
	    CERT_PURPOSE_ENCRYPT, test_now, &detail), CERT_EXPIRED);
	ck_assert_ptr_nonnull(strstr(detail, "notAfter "));
	ck_assert_ptr_nonnull(strstr(detail, "Z is in the past"));
	free(detail);
	X509_free(cert);
}
END_TEST

START_TEST(validate_mismatch_detail)
{
	struct cert_spec s = { "Bob", "email:bob@example.com", NULL, -1, 30, KU_RSA_ENC,
	    EKU_MAIL, false };
	X509 *cert = make_cert(&s, key_rsa, cert_root, key_root);
	char *detail = NULL;

	ck_assert_int_eq(cert_validate(trust_root_only, cert, NULL, ALICE,
	    CERT_PURPOSE_ENCRYPT, test_now, &detail), CERT_ADDRESS_MISMATCH);
	ck_assert_ptr_nonnull(strstr(detail, ALICE));
	ck_assert_ptr_nonnull(strstr(detail, "bob@example.com"));
	free(detail);
	X509_free(cert);
}
END_TEST

START_TEST(validate_null_cert)
{
	char *detail = NULL;

	ck_assert_int_eq(cert_validate(trust_root_only, NULL, NULL, ALICE,
	    CERT_PURPOSE_ENCRYPT, test_now, &detail), CERT_NONE);
	free(detail);
	ck_assert_int_eq(cert_validate(trust_root_only, NULL, NULL, ALICE,
	    CERT_PURPOSE_ENCRYPT, test_now, NULL), CERT_NONE);
}
END_TEST

START_TEST(validate_chain_returned)
{
	X509 *cert = make_valid_leaf(key_rsa, -1, 30);
	STACK_OF(X509) *chain = NULL;

	ck_assert_int_eq(cert_validate_chain(trust_with_bundle, cert, NULL, ALICE,
	    CERT_PURPOSE_ENCRYPT, test_now, &chain, NULL), CERT_OK);
	ck_assert_ptr_nonnull(chain);
	ck_assert_int_eq(sk_X509_num(chain), 2);
	ck_assert_int_eq(X509_cmp(sk_X509_value(chain, 0), cert_int), 0);
	ck_assert_int_eq(X509_cmp(sk_X509_value(chain, 1), cert_root), 0);
	sk_X509_pop_free(chain, X509_free);
	X509_free(cert);
}
END_TEST

START_TEST(validate_time_is_parameter)
{
	X509 *cert = make_valid_leaf(key_rsa, -1, 30);

	ck_assert_int_eq(cert_validate(trust_root_only, cert, NULL, ALICE,
	    CERT_PURPOSE_ENCRYPT, test_now + 31 * DAY, NULL), CERT_EXPIRED);
	ck_assert_int_eq(cert_validate(trust_root_only, cert, NULL, ALICE,
	    CERT_PURPOSE_ENCRYPT, test_now - 2 * DAY, NULL), CERT_NOT_YET_VALID);
	X509_free(cert);
}
END_TEST

/* ---- the cache of verified chains ---- */

/* Returns a new trust store of the root alone, with an empty chain cache of
 * at most size chains kept for at most ttl seconds. */
static struct cert_trust *
load_root_trust_bounded(size_t size, int ttl)
{
	char *root_path = xasprintf("%s/root.pem", test_dir);
	struct cert_trust *trust = NULL;
	char *error = NULL;

	ck_assert_int_eq(cert_trust_load(&root_path, 1, NULL, 0, size, ttl, &trust,
	    &error), 0);
	free(root_path);
	return trust;
}

/* Returns a new trust store of the root alone, with an empty chain cache of
 * the default bounds. */
static struct cert_trust *
load_root_trust(void)
{
	return load_root_trust_bounded(CERT_CHAIN_CACHE_DEFAULT_SIZE,
	    CERT_CHAIN_CACHE_DEFAULT_TTL);
}

/* Returns an intermediate CA issued by the root for key_int, valid from
 * not_before to not_after seconds from test_now. */
static X509 *
make_int_between(long not_before, long not_after)
{
	X509 *ca = make_ca("Example Short Mail CA", key_int, cert_root, key_root, 0, 1);

	X509_time_adj_ex(X509_getm_notBefore(ca), 0, not_before, &test_now);
	X509_time_adj_ex(X509_getm_notAfter(ca), 0, not_after, &test_now);
	require((X509_sign(ca, key_root, EVP_sha256())) > 0);
	return ca;
}

/* Validates cert against trust with untrusted at now, for ALICE. */
static enum cert_reason
validate_at(struct cert_trust *trust, X509 *cert, STACK_OF(X509) *untrusted,
    time_t now)
{
	return cert_validate(trust, cert, untrusted, ALICE, CERT_PURPOSE_ENCRYPT, now,
	    NULL);
}

static void
assert_chain_stats(struct cert_trust *trust, uint64_t hits, uint64_t misses)
{
	struct chaincache_stats st;

	cert_trust_get_chain_stats(trust, &st);
	ck_assert_uint_eq(st.hits, hits);
	ck_assert_uint_eq(st.misses, misses);
}

START_TEST(chain_cache_reuses_verdict)
{
	struct cert_trust *trust = load_root_trust();
	X509 *cert = make_valid_leaf(key_rsa, -1, 30);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	STACK_OF(X509) *chain = NULL;
	char *detail = NULL;

	sk_X509_push(untrusted, cert_int);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now), CERT_OK);
	assert_chain_stats(trust, 0, 1);

	/* The second validation takes the chain from the cache, and the
	 * chain and detail are those of a verification. */
	ck_assert_int_eq(cert_validate_chain(trust, cert, untrusted, ALICE,
	    CERT_PURPOSE_ENCRYPT, test_now + 60, &chain, &detail), CERT_OK);
	assert_chain_stats(trust, 1, 1);
	ck_assert_int_eq(sk_X509_num(chain), 2);
	ck_assert_int_eq(X509_cmp(sk_X509_value(chain, 0), cert_int), 0);
	ck_assert_int_eq(X509_cmp(sk_X509_value(chain, 1), cert_root), 0);
	ck_assert_ptr_nonnull(strstr(detail, "valid until "));

	/* The checks after the chain still run on every call. */
	ck_assert_int_eq(cert_validate(trust, cert, untrusted, "bob@example.com",
	    CERT_PURPOSE_ENCRYPT, test_now, NULL), CERT_ADDRESS_MISMATCH);
	ck_assert_int_eq(cert_validate(trust, cert, untrusted, ALICE,
	    CERT_PURPOSE_SIGN, test_now, NULL), CERT_OK);
	assert_chain_stats(trust, 3, 1);

	free(detail);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_free(untrusted);
	X509_free(cert);
	cert_trust_free(trust);
}
END_TEST

/* A verdict is reused only with the same extra certificates in the same
 * order. */
START_TEST(chain_cache_keyed_by_untrusted)
{
	struct cert_trust *trust = load_root_trust();
	X509 *cert = make_valid_leaf(key_rsa, -1, 30);
	STACK_OF(X509) *with_int = sk_X509_new_null();
	STACK_OF(X509) *with_two = sk_X509_new_null();
	STACK_OF(X509) *reversed = sk_X509_new_null();
	STACK_OF(X509) *empty = sk_X509_new_null();

	sk_X509_push(with_int, cert_int);
	sk_X509_push(with_two, cert_int);
	sk_X509_push(with_two, cert_other_root);
	sk_X509_push(reversed, cert_other_root);
	sk_X509_push(reversed, cert_int);

	ck_assert_int_eq(validate_at(trust, cert, with_int, test_now), CERT_OK);
	ck_assert_int_eq(validate_at(trust, cert, NULL, test_now), CERT_UNTRUSTED);
	ck_assert_int_eq(validate_at(trust, cert, empty, test_now), CERT_UNTRUSTED);
	assert_chain_stats(trust, 0, 3);
	ck_assert_int_eq(validate_at(trust, cert, with_two, test_now), CERT_OK);
	ck_assert_int_eq(validate_at(trust, cert, reversed, test_now), CERT_OK);
	assert_chain_stats(trust, 0, 5);
	ck_assert_int_eq(validate_at(trust, cert, with_two, test_now), CERT_OK);
	ck_assert_int_eq(validate_at(trust, cert, with_int, test_now), CERT_OK);
	assert_chain_stats(trust, 2, 5);

	sk_X509_free(with_int);
	sk_X509_free(with_two);
	sk_X509_free(reversed);
	sk_X509_free(empty);
	X509_free(cert);
	cert_trust_free(trust);
}
END_TEST

/* Each trust store has its own cache, so a chain verified with one set of
 * anchors is not reused with another. */
START_TEST(chain_cache_per_trust)
{
	struct cert_trust *trust = load_root_trust();
	struct cert_trust *other = NULL;
	char *other_path = xasprintf("%s/other-root.pem", test_dir);
	X509 *cert = make_valid_leaf(key_rsa, -1, 30);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	char *error = NULL;

	write_pem(other_path, (X509 *[]){ cert_other_root, NULL });
	ck_assert_int_eq(cert_trust_load(&other_path, 1, NULL, 0,
	    CERT_CHAIN_CACHE_DEFAULT_SIZE, CERT_CHAIN_CACHE_DEFAULT_TTL, &other, &error), 0);
	sk_X509_push(untrusted, cert_int);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now), CERT_OK);
	ck_assert_int_eq(validate_at(other, cert, untrusted, test_now), CERT_UNTRUSTED);
	assert_chain_stats(other, 0, 1);

	sk_X509_free(untrusted);
	X509_free(cert);
	cert_trust_free(other);
	cert_trust_free(trust);
	free(other_path);
}
END_TEST

START_TEST(chain_cache_failure_not_kept)
{
	struct cert_trust *trust = load_root_trust();
	X509 *cert = make_valid_leaf(key_rsa, -1, 30);
	char *detail = NULL;

	ck_assert_int_eq(validate_at(trust, cert, NULL, test_now), CERT_UNTRUSTED);
	ck_assert_int_eq(cert_validate(trust, cert, NULL, ALICE, CERT_PURPOSE_ENCRYPT,
	    test_now, &detail), CERT_UNTRUSTED);
	ck_assert_ptr_nonnull(strstr(detail, "chain depth"));
	assert_chain_stats(trust, 0, 2);
	free(detail);
	X509_free(cert);
	cert_trust_free(trust);
}
END_TEST

/* A verdict ends at the notAfter of its intermediate, here 30 minutes
 * away, before the TTL of an hour. */
START_TEST(chain_cache_ends_at_chain_not_after)
{
	struct cert_trust *trust = load_root_trust();
	X509 *ca = make_int_between(-DAY, 1800);
	struct cert_spec s = { "Alice", SAN_ALICE, NULL, -1, 30, KU_RSA_ENC, EKU_MAIL,
	    false };
	X509 *cert = make_cert(&s, key_rsa, ca, key_int);
	STACK_OF(X509) *untrusted = sk_X509_new_null();

	sk_X509_push(untrusted, ca);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now), CERT_OK);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now + 1799), CERT_OK);
	assert_chain_stats(trust, 1, 1);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now + 1800),
	    CERT_EXPIRED);
	assert_chain_stats(trust, 1, 2);

	sk_X509_free(untrusted);
	X509_free(cert);
	X509_free(ca);
	cert_trust_free(trust);
}
END_TEST

START_TEST(chain_cache_ends_after_ttl)
{
	struct cert_trust *trust = load_root_trust();
	X509 *cert = make_valid_leaf(key_rsa, -1, 30);
	STACK_OF(X509) *untrusted = sk_X509_new_null();

	sk_X509_push(untrusted, cert_int);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now), CERT_OK);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now + 3599), CERT_OK);
	assert_chain_stats(trust, 1, 1);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now + 3600), CERT_OK);
	assert_chain_stats(trust, 1, 2);
	/* The new verification starts a new hour. */
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now + 7000), CERT_OK);
	assert_chain_stats(trust, 2, 2);

	sk_X509_free(untrusted);
	X509_free(cert);
	cert_trust_free(trust);
}
END_TEST

static void
assert_chain_entries(struct cert_trust *trust, size_t entries)
{
	struct chaincache_stats st;

	cert_trust_get_chain_stats(trust, &st);
	ck_assert_uint_eq(st.entries, entries);
}

/* The TTL given to cert_trust_load replaces the default hour. */
START_TEST(chain_cache_ttl_from_trust)
{
	struct cert_trust *trust = load_root_trust_bounded(CERT_CHAIN_CACHE_DEFAULT_SIZE, 60);
	X509 *cert = make_valid_leaf(key_rsa, -1, 30);
	STACK_OF(X509) *untrusted = sk_X509_new_null();

	sk_X509_push(untrusted, cert_int);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now), CERT_OK);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now + 59), CERT_OK);
	assert_chain_stats(trust, 1, 1);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now + 60), CERT_OK);
	assert_chain_stats(trust, 1, 2);

	sk_X509_free(untrusted);
	X509_free(cert);
	cert_trust_free(trust);
}
END_TEST

/* A TTL of 0 keeps no chain, so every validation verifies again. */
START_TEST(chain_cache_ttl_zero_verifies_again)
{
	struct cert_trust *trust = load_root_trust_bounded(CERT_CHAIN_CACHE_DEFAULT_SIZE, 0);
	X509 *cert = make_valid_leaf(key_rsa, -1, 30);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	STACK_OF(X509) *chain = NULL;

	sk_X509_push(untrusted, cert_int);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now), CERT_OK);
	ck_assert_int_eq(cert_validate_chain(trust, cert, untrusted, ALICE,
	    CERT_PURPOSE_ENCRYPT, test_now, &chain, NULL), CERT_OK);
	ck_assert_int_eq(sk_X509_num(chain), 2);
	assert_chain_stats(trust, 0, 2);
	assert_chain_entries(trust, 0);

	sk_X509_pop_free(chain, X509_free);
	sk_X509_free(untrusted);
	X509_free(cert);
	cert_trust_free(trust);
}
END_TEST

/* The size given to cert_trust_load bounds the chains kept. With room for
 * one, a second certificate drops the chain of the first. */
START_TEST(chain_cache_size_from_trust)
{
	struct cert_trust *trust = load_root_trust_bounded(1, CERT_CHAIN_CACHE_DEFAULT_TTL);
	X509 *first = make_valid_leaf(key_rsa, -1, 30);
	X509 *second = make_valid_leaf(key_rsa, -2, 30);
	STACK_OF(X509) *untrusted = sk_X509_new_null();

	sk_X509_push(untrusted, cert_int);
	ck_assert_int_eq(validate_at(trust, first, untrusted, test_now), CERT_OK);
	ck_assert_int_eq(validate_at(trust, second, untrusted, test_now), CERT_OK);
	ck_assert_int_eq(validate_at(trust, first, untrusted, test_now), CERT_OK);
	assert_chain_stats(trust, 0, 3);
	assert_chain_entries(trust, 1);
	ck_assert_int_eq(validate_at(trust, first, untrusted, test_now), CERT_OK);
	assert_chain_stats(trust, 1, 3);

	sk_X509_free(untrusted);
	X509_free(first);
	X509_free(second);
	cert_trust_free(trust);
}
END_TEST

/* A verdict does not hold before the latest notBefore of its chain, even
 * where the leaf itself is valid. */
START_TEST(chain_cache_not_before_chain)
{
	struct cert_trust *trust = load_root_trust();
	X509 *ca = make_int_between(-DAY, 100 * DAY);
	struct cert_spec s = { "Alice", SAN_ALICE, NULL, -10, 30, KU_RSA_ENC, EKU_MAIL,
	    false };
	X509 *cert = make_cert(&s, key_rsa, ca, key_int);
	STACK_OF(X509) *untrusted = sk_X509_new_null();

	sk_X509_push(untrusted, ca);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now), CERT_OK);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now - 2 * DAY),
	    CERT_NOT_YET_VALID);
	assert_chain_stats(trust, 0, 2);
	ck_assert_int_eq(validate_at(trust, cert, untrusted, test_now + 60), CERT_OK);
	assert_chain_stats(trust, 1, 2);

	sk_X509_free(untrusted);
	X509_free(cert);
	X509_free(ca);
	cert_trust_free(trust);
}
END_TEST

struct validate_thread {
	struct cert_trust *trust;
	X509 *cert;
	STACK_OF(X509) *untrusted;
	enum cert_reason reason;
};

static void *
validate_thread_run(void *arg)
{
	struct validate_thread *t = arg;
	STACK_OF(X509) *chain = NULL;

	t->reason = cert_validate_chain(t->trust, t->cert, t->untrusted, ALICE,
	    CERT_PURPOSE_ENCRYPT, test_now, &chain, NULL);
	if (sk_X509_num(chain) != 2)
		t->reason = CERT_INVALID;
	sk_X509_pop_free(chain, X509_free);
	return NULL;
}

/* Threads that validate the same certificate at once verify its chain
 * once: the others wait for that verification. */
START_TEST(chain_cache_threads_verify_once)
{
	struct cert_trust *trust = load_root_trust();
	X509 *cert = make_valid_leaf(key_rsa, -1, 30);
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	struct validate_thread t[8];
	pthread_t threads[8];

	sk_X509_push(untrusted, cert_int);
	for (int i = 0; i < 8; i++) {
		t[i] = (struct validate_thread){ trust, cert, untrusted, CERT_NONE };
		ck_assert_int_eq(pthread_create(&threads[i], NULL, validate_thread_run,
		    &t[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(threads[i], NULL);
		ck_assert_int_eq(t[i].reason, CERT_OK);
	}
	assert_chain_stats(trust, 7, 1);

	sk_X509_free(untrusted);
	X509_free(cert);
	cert_trust_free(trust);
}
END_TEST

START_TEST(chaincache_key_forms)
{
	struct chaincache *c = chaincache_new(4, 3600);
	STACK_OF(X509) *empty = sk_X509_new_null();
	STACK_OF(X509) *one = sk_X509_new_null();
	char *bare = chaincache_key(c, cert_int, NULL);
	char *with_empty = chaincache_key(c, cert_int, empty);
	char *with_one, *other;

	sk_X509_push(one, cert_root);
	with_one = chaincache_key(c, cert_int, one);
	other = chaincache_key(c, cert_root, one);
	ck_assert_uint_eq(strlen(bare), 64 + 1 + 64);
	ck_assert_int_eq(bare[64], '/');
	ck_assert_str_eq(bare, with_empty);
	ck_assert_str_ne(bare, with_one);
	ck_assert_int_eq(strncmp(bare, with_one, 65), 0);
	ck_assert_str_ne(with_one, other);
	ck_assert_str_eq(with_one + 64, other + 64);

	free(bare);
	free(with_empty);
	free(with_one);
	free(other);
	sk_X509_free(empty);
	sk_X509_free(one);
	chaincache_free(c);
}
END_TEST

/* The cache keeps at most its size in keys and drops the least recently
 * used key first. */
START_TEST(chaincache_bounded)
{
	struct chaincache *c = chaincache_new(2, 3600);
	STACK_OF(X509) *chain = sk_X509_new_null();
	STACK_OF(X509) *got = NULL;
	struct chaincache_stats st;
	X509 *leaf = make_valid_leaf(key_rsa, -1, 30);
	const char *keys[] = { "a", "b", "c" };

	sk_X509_push(chain, cert_int);
	sk_X509_push(chain, cert_root);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(chaincache_get(c, keys[i], test_now, &got), CHAINCACHE_VERIFY);
		chaincache_put(c, keys[i], leaf, chain, test_now);
	}
	chaincache_get_stats(c, &st);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_int_eq(chaincache_get(c, "c", test_now, &got), CHAINCACHE_HIT);
	ck_assert_int_eq(sk_X509_num(got), 2);
	ck_assert_ptr_eq(sk_X509_value(got, 0), cert_int);
	sk_X509_pop_free(got, X509_free);
	ck_assert_int_eq(chaincache_get(c, "a", test_now, &got), CHAINCACHE_VERIFY);
	chaincache_put(c, "a", leaf, NULL, test_now);
	ck_assert_int_eq(chaincache_get(c, "a", test_now, &got), CHAINCACHE_VERIFY);
	chaincache_put(c, "a", leaf, NULL, test_now);
	chaincache_get_stats(c, &st);
	ck_assert_uint_eq(st.hits, 1);
	ck_assert_uint_eq(st.misses, 5);
	ck_assert_uint_le(st.entries, 2);

	X509_free(leaf);
	sk_X509_free(chain);
	chaincache_free(c);
}
END_TEST

/* A cache with a TTL of 0 assigns no verification and keeps no key. */
START_TEST(chaincache_ttl_zero_keeps_nothing)
{
	struct chaincache *c = chaincache_new(4, 0);
	STACK_OF(X509) *got = NULL;
	struct chaincache_stats st;

	ck_assert_int_eq(chaincache_get(c, "a", test_now, &got), CHAINCACHE_VERIFY_ONLY);
	ck_assert_int_eq(chaincache_get(c, "a", test_now, &got), CHAINCACHE_VERIFY_ONLY);
	ck_assert_ptr_null(got);
	chaincache_get_stats(c, &st);
	ck_assert_uint_eq(st.hits, 0);
	ck_assert_uint_eq(st.misses, 2);
	ck_assert_uint_eq(st.entries, 0);

	chaincache_free(c);
}
END_TEST

START_TEST(reason_names)
{
	static const char *const names[] = { "ok", "noCertificate", "expired",
	    "notYetValid", "keyUsage", "noEmailProtection", "untrusted",
	    "addressMismatch", "revoked", "unsupportedKey", "invalid" };

	for (int r = CERT_OK; r <= CERT_INVALID; r++) {
		ck_assert_str_eq(cert_reason_name((enum cert_reason)r), names[r]);
		ck_assert_ptr_nonnull(cert_reason_text((enum cert_reason)r));
	}
	ck_assert_str_eq(cert_reason_text(CERT_EXPIRED), "the certificate has expired");
}
END_TEST

START_TEST(trust_load_errors)
{
	char *missing = xasprintf("%s/missing.pem", test_dir);
	char *garbage = xasprintf("%s/garbage.pem", test_dir);
	struct cert_trust *trust = NULL;
	char *error = NULL;

	ck_assert_int_eq(cert_trust_load(&missing, 1, NULL, 0, 1, 0, &trust, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, missing));
	free(error);
	error = NULL;

	write_file(garbage, "not a certificate\n", 18, 0644);
	ck_assert_int_eq(cert_trust_load(NULL, 0, &garbage, 1, 1, 0, &trust, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, garbage));
	free(error);
	free(missing);
	free(garbage);
}
END_TEST

/* ---- certvalue_parse ---- */

static unsigned char *
der_of(X509 *cert, size_t *len_r)
{
	unsigned char *der = NULL;
	int len = i2d_X509(cert, &der);

	ck_assert_int_gt(len, 0);
	*len_r = (size_t)len;
	return der;
}

/* Returns a degenerate certs-only SignedData containing certs. */
static PKCS7 *
make_certs_only(X509 *const *certs)
{
	PKCS7 *p7 = PKCS7_new();

	ck_assert_int_eq(PKCS7_set_type(p7, NID_pkcs7_signed), 1);
	ck_assert_int_eq(PKCS7_content_new(p7, NID_pkcs7_data), 1);
	for (size_t i = 0; certs[i] != NULL; i++)
		ck_assert_int_eq(PKCS7_add_certificate(p7, certs[i]), 1);
	return p7;
}

static unsigned char *
pkcs7_der(X509 *const *certs, size_t *len_r)
{
	PKCS7 *p7 = make_certs_only(certs);
	unsigned char *der = NULL;
	int len = i2d_PKCS7(p7, &der);

	ck_assert_int_gt(len, 0);
	PKCS7_free(p7);
	*len_r = (size_t)len;
	return der;
}

static void
assert_parsed(STACK_OF(X509) *out, X509 *const *want)
{
	size_t n = 0;

	while (want[n] != NULL)
		n++;
	ck_assert_int_eq(sk_X509_num(out), (int)n);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(X509_cmp(sk_X509_value(out, (int)i), want[i]), 0);
}

START_TEST(certvalue_der)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	size_t len;
	unsigned char *der = der_of(cert_int, &len);
	char *error = NULL;

	ck_assert_int_eq(certvalue_parse(der, len, out, &error), 0);
	assert_parsed(out, (X509 *[]){ cert_int, NULL });
	OPENSSL_free(der);
	sk_X509_pop_free(out, X509_free);
}
END_TEST

START_TEST(certvalue_pem_two)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	size_t len;
	char *pem = pem_of((X509 *[]){ cert_int, cert_root, NULL }, &len);
	char *text = xasprintf("Certificate:\n    Data: (text before the block)\n%s", pem);
	char *error = NULL;

	ck_assert_int_eq(certvalue_parse((unsigned char *)text, strlen(text), out,
	    &error), 0);
	assert_parsed(out, (X509 *[]){ cert_int, cert_root, NULL });
	free(pem);
	free(text);
	sk_X509_pop_free(out, X509_free);
}
END_TEST

START_TEST(certvalue_appends)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	size_t len;
	unsigned char *der = der_of(cert_int, &len);
	char *error = NULL;

	sk_X509_push(out, X509_dup(cert_root));
	ck_assert_int_eq(certvalue_parse(der, len, out, &error), 0);
	assert_parsed(out, (X509 *[]){ cert_root, cert_int, NULL });
	OPENSSL_free(der);
	sk_X509_pop_free(out, X509_free);
}
END_TEST

START_TEST(certvalue_pkcs7_der)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	size_t len;
	unsigned char *der = pkcs7_der((X509 *[]){ cert_int, cert_root, NULL }, &len);
	char *error = NULL;

	ck_assert_int_eq(certvalue_parse(der, len, out, &error), 0);
	ck_assert_int_eq(sk_X509_num(out), 2);
	OPENSSL_free(der);
	sk_X509_pop_free(out, X509_free);
}
END_TEST

/* The same SignedData with the outer SEQUENCE in BER indefinite-length
 * form, as some directories store it. */
START_TEST(certvalue_pkcs7_ber)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	size_t len, header, content_len, ber_len;
	unsigned char *der = pkcs7_der((X509 *[]){ cert_int, NULL }, &len);
	unsigned char *ber;
	char *error = NULL;

	ck_assert_int_eq(der[0], 0x30);
	ck_assert_int_eq(der[1] & 0x80, 0x80);
	header = 2 + (size_t)(der[1] & 0x7f);
	content_len = len - header;
	ber_len = 2 + content_len + 2;
	ber = xmalloc(ber_len);
	ber[0] = 0x30;
	ber[1] = 0x80;
	memcpy(ber + 2, der + header, content_len);
	ber[ber_len - 2] = 0;
	ber[ber_len - 1] = 0;

	ck_assert_msg(certvalue_parse(ber, ber_len, out, &error) == 0, "%s", error);
	assert_parsed(out, (X509 *[]){ cert_int, NULL });
	free(ber);
	OPENSSL_free(der);
	sk_X509_pop_free(out, X509_free);
}
END_TEST

START_TEST(certvalue_pkcs7_pem)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	PKCS7 *p7 = make_certs_only((X509 *[]){ cert_root, NULL });
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *error = NULL;
	long len;

	ck_assert_int_eq(PEM_write_bio_PKCS7(bio, p7), 1);
	len = BIO_get_mem_data(bio, &data);
	ck_assert_int_eq(certvalue_parse((unsigned char *)data, (size_t)len, out,
	    &error), 0);
	assert_parsed(out, (X509 *[]){ cert_root, NULL });
	BIO_free(bio);
	PKCS7_free(p7);
	sk_X509_pop_free(out, X509_free);
}
END_TEST

static const struct {
	const char *name;
	const char *data;
	size_t len;
} certvalue_bad_cases[] = {
	{ "empty", "", 0 },
	{ "garbage", "hello, world", 12 },
	{ "binary garbage", "\x30\x82\x01\x00\x02\x01", 6 },
	{ "pem without certificate",
	    "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n", 42 },
	{ "damaged pem certificate",
	    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 58 },
	{ "unterminated pem", "-----BEGIN CERTIFICATE-----\nAAAA\n", 33 },
};

START_TEST(certvalue_bad)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	char *error = NULL;

	ck_assert_msg(certvalue_parse((const unsigned char *)certvalue_bad_cases[_i].data,
	    certvalue_bad_cases[_i].len, out, &error) == -1, "case \"%s\" parsed",
	    certvalue_bad_cases[_i].name);
	ck_assert_ptr_nonnull(error);
	ck_assert_int_eq(sk_X509_num(out), 0);
	free(error);
	sk_X509_free(out);
}
END_TEST

START_TEST(certvalue_truncated_der)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	size_t len;
	unsigned char *der = der_of(cert_int, &len);
	char *error = NULL;

	ck_assert_int_eq(certvalue_parse(der, len - 1, out, &error), -1);
	ck_assert_int_eq(sk_X509_num(out), 0);
	free(error);
	OPENSSL_free(der);
	sk_X509_free(out);
}
END_TEST

START_TEST(certvalue_pkcs7_empty)
{
	STACK_OF(X509) *out = sk_X509_new_null();
	size_t len;
	unsigned char *der = pkcs7_der((X509 *[]){ NULL }, &len);
	char *error = NULL;

	ck_assert_int_eq(certvalue_parse(der, len, out, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "no certificate"));
	free(error);
	OPENSSL_free(der);
	sk_X509_free(out);
}
END_TEST

/* ---- LDAP filters ---- */

static const struct {
	const char *value;
	size_t len;
	const char *want;
} escape_cases[] = {
	{ "alice@example.com", 17, "alice@example.com" },
	{ "a*b", 3, "a\\2ab" },
	{ "(x)", 3, "\\28x\\29" },
	{ "a\\b", 3, "a\\5cb" },
	{ "a\0b", 3, "a\\00b" },
	{ "j\xc3\xbcrgen@example.com", 19, "j\xc3\xbcrgen@example.com" },
	{ "*)(uid=*", 8, "\\2a\\29\\28uid=\\2a" },
	{ "", 0, "" },
};

START_TEST(filter_escape_table)
{
	char *got = ldapconn_filter_escape(escape_cases[_i].value, escape_cases[_i].len);

	ck_assert_str_eq(got, escape_cases[_i].want);
	free(got);
}
END_TEST

static const struct {
	const char *template;
	const char *value;
	const char *want;
} build_cases[] = {
	{ "(mail=%s)", "alice@example.com", "(mail=alice@example.com)" },
	{ "(mail=%s)", "a*", "(mail=a\\2a)" },
	{ "(|(mail=%s)(uid=%s))", "x)", "(|(mail=x\\29)(uid=x\\29))" },
	{ "(&(cn=100%%)(mail=%s))", "a", "(&(cn=100%)(mail=a))" },
	{ "(mail=%d)", "a", "(mail=%d)" },
	{ "(mail=x)%", "a", "(mail=x)%" },
};

START_TEST(filter_build_table)
{
	char *got = ldapconn_filter_build(build_cases[_i].template, build_cases[_i].value);

	ck_assert_str_eq(got, build_cases[_i].want);
	free(got);
}
END_TEST

/* ---- lookup forms of addresses ---- */

static const struct {
	const char *email;
	bool fold;
	const char *want;	/* NULL: rejected */
} mailaddr_cases[] = {
	{ "Bob@Corp.Example", true, "bob@corp.example" },
	{ "Bob@Corp.Example", false, "Bob@corp.example" },
	{ "erin@B\xc3\x9c" "CHER.example", true, "erin@xn--bcher-kva.example" },
	{ "erin@b\xc3\xbc" "cher.example", false, "erin@xn--bcher-kva.example" },
	{ "erin@XN--BCHER-KVA.example", true, "erin@xn--bcher-kva.example" },
	{ "\"a@b\"@corp.example", true, "\"a@b\"@corp.example" },
	{ "J\xc3\x9cRGEN@corp.example", true, "j\xc3\x9crgen@corp.example" },
	{ "no-at-sign", true, NULL },
	{ "@corp.example", true, NULL },
	{ "bob@", true, NULL },
	{ "bob@\xff.example", true, NULL },
	{ "bob@\xcc\x81x.example", true, NULL },
};

START_TEST(mailaddr_normalize_table)
{
	char *error = NULL;
	char *got = mailaddr_normalize(mailaddr_cases[_i].email, mailaddr_cases[_i].fold,
	    &error);

	if (mailaddr_cases[_i].want == NULL) {
		ck_assert_ptr_null(got);
		ck_assert_ptr_nonnull(error);
		free(error);
		return;
	}
	ck_assert_msg(got != NULL, "%s", error);
	ck_assert_str_eq(got, mailaddr_cases[_i].want);
	free(got);
}
END_TEST

START_TEST(mailaddr_unicode_form_of_alabels)
{
	char *u = mailaddr_unicode_form("erin@xn--bcher-kva.example");

	ck_assert_str_eq(u, "erin@b\xc3\xbc" "cher.example");
	free(u);
	u = mailaddr_unicode_form("erin@mail.xn--bcher-kva.example");
	ck_assert_str_eq(u, "erin@mail.b\xc3\xbc" "cher.example");
	free(u);
	ck_assert_ptr_null(mailaddr_unicode_form("bob@corp.example"));
	ck_assert_ptr_null(mailaddr_unicode_form("bob@xn--.example"));
	ck_assert_ptr_null(mailaddr_unicode_form("no-at-sign"));
}
END_TEST

/* ---- choice among candidates ---- */

static struct cert_verdict
make_verdict(long not_before_days, long not_after_days, enum cert_reason reason)
{
	struct cert_verdict v;

	memset(&v, 0, sizeof(v));
	v.candidate.cert = make_valid_leaf(key_ec, not_before_days, not_after_days);
	v.reason = reason;
	return v;
}

static void
free_verdicts(struct cert_verdict *v, size_t count)
{
	for (size_t i = 0; i < count; i++)
		X509_free(v[i].candidate.cert);
}

START_TEST(choose_latest_not_before)
{
	struct cert_verdict v[] = { make_verdict(-30, 300, CERT_OK),
	    make_verdict(-10, 100, CERT_OK), make_verdict(-20, 400, CERT_OK) };
	size_t index = 99;

	ck_assert(cert_choose(v, 3, true, &index));
	ck_assert_uint_eq(index, 1);
	free_verdicts(v, 3);
}
END_TEST

START_TEST(choose_tie_latest_not_after)
{
	struct cert_verdict v[] = { make_verdict(-10, 100, CERT_OK),
	    make_verdict(-10, 200, CERT_OK), make_verdict(-10, 150, CERT_OK) };
	size_t index = 99;

	ck_assert(cert_choose(v, 3, true, &index));
	ck_assert_uint_eq(index, 1);
	free_verdicts(v, 3);
}
END_TEST

START_TEST(choose_valid_only)
{
	struct cert_verdict v[] = { make_verdict(-30, 300, CERT_OK),
	    make_verdict(-1, 100, CERT_KEY_USAGE), make_verdict(-20, 400, CERT_OK) };
	size_t index = 99;

	ck_assert(cert_choose(v, 3, true, &index));
	ck_assert_uint_eq(index, 2);
	ck_assert(cert_choose(v, 3, false, &index));
	ck_assert_uint_eq(index, 1);
	free_verdicts(v, 3);
}
END_TEST

START_TEST(choose_none_valid)
{
	struct cert_verdict v[] = { make_verdict(-30, 300, CERT_EXPIRED) };
	size_t index = 99;

	ck_assert(!cert_choose(v, 1, true, &index));
	ck_assert(!cert_choose(v, 0, false, &index));
	ck_assert_uint_eq(index, 99);
	free_verdicts(v, 1);
}
END_TEST

/* ---- directories without a server ---- */

static char *closed_uri[] = { "ldap://127.0.0.1:1/" };
static char *domains[] = { "example.com", "Example.ORG" };

static struct directory *
make_directory(size_t domain_count)
{
	struct directory_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "corp";
	cfg.conn.uris = closed_uri;
	cfg.conn.uri_count = 1;
	cfg.conn.timeout_seconds = 2;
	cfg.base = "dc=example,dc=com";
	cfg.scope = LDAP_SCOPE_SUBTREE;
	cfg.domains = domains;
	cfg.domain_count = domain_count;
	return directory_new(&cfg);
}

START_TEST(directory_serves_domains)
{
	struct directory *dir = make_directory(2);
	struct directory *all = make_directory(0);

	ck_assert(directory_serves(dir, "alice@example.com"));
	ck_assert(directory_serves(dir, "alice@EXAMPLE.com"));
	ck_assert(directory_serves(dir, "bob@example.org"));
	ck_assert(!directory_serves(dir, "alice@sub.example.com"));
	ck_assert(!directory_serves(dir, "alice@example.net"));
	ck_assert(!directory_serves(dir, "no-domain"));
	ck_assert(directory_serves(all, "anyone@anywhere.test"));
	ck_assert_str_eq(directory_name(dir), "corp");
	ck_assert_str_eq(directory_conn_config(dir)->uris[0], closed_uri[0]);
	directory_free(dir);
	directory_free(all);
}
END_TEST

START_TEST(directory_serves_idn_domains)
{
	struct directory_config cfg;
	char *idn_domains[] = { "B\xc3\x9c" "CHER.example", "xn--zca.example" };
	struct directory *dir;

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "idn";
	cfg.conn.uris = closed_uri;
	cfg.conn.uri_count = 1;
	cfg.base = "dc=example";
	cfg.domains = idn_domains;
	cfg.domain_count = 2;
	dir = directory_new(&cfg);
	ck_assert(directory_serves(dir, "erin@b\xc3\xbc" "cher.example"));
	ck_assert(directory_serves(dir, "erin@xn--bcher-kva.EXAMPLE"));
	ck_assert(directory_serves(dir, "erin@\xc3\x9f.example"));
	ck_assert(!directory_serves(dir, "erin@bucher.example"));
	ck_assert(!directory_serves(dir, "erin@\xff.example"));
	directory_free(dir);
}
END_TEST

/* Filter templates and the equality assertions that map entries of a
 * combined search back to addresses: attribute, prefix and suffix. */
static const struct {
	const char *filter;
	size_t count;
	const char *first[3];
	const char *second[3];
} assertion_cases[] = {
	{ "(mail=%s)", 1, { "mail", "", "" }, { NULL, NULL, NULL } },
	{ "(&(objectClass=person)(mail=%s))", 1, { "mail", "", "" }, { NULL, NULL, NULL } },
	{ "(|(mail=%s)(proxyAddresses=smtp:%s))", 2, { "mail", "", "" },
	  { "proxyAddresses", "smtp:", "" } },
	{ "(uid=%s@legacy)", 1, { "uid", "", "@legacy" }, { NULL, NULL, NULL } },
	{ "(mail=*%s)", 0, { NULL, NULL, NULL }, { NULL, NULL, NULL } },
	{ "(mail~=%s)", 0, { NULL, NULL, NULL }, { NULL, NULL, NULL } },
	{ "(mail:caseExactMatch:=%s)", 0, { NULL, NULL, NULL }, { NULL, NULL, NULL } },
	{ "(|(cn=100%%)(mail=%s))", 1, { "mail", "", "" }, { NULL, NULL, NULL } },
	{ "(mail=\\2a%s)", 0, { NULL, NULL, NULL }, { NULL, NULL, NULL } },
};

START_TEST(directory_filter_assertions)
{
	struct directory *dir;
	struct directory_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "corp";
	cfg.conn.uris = closed_uri;
	cfg.conn.uri_count = 1;
	cfg.base = "dc=example";
	cfg.filter = (char *)assertion_cases[_i].filter;
	dir = directory_new(&cfg);
	ck_assert_uint_eq(dir->assertion_count, assertion_cases[_i].count);
	for (size_t k = 0; k < dir->assertion_count; k++) {
		const char *const *want = k == 0 ? assertion_cases[_i].first :
		    assertion_cases[_i].second;

		ck_assert_str_eq(dir->assertions[k].attr, want[0]);
		ck_assert_str_eq(dir->assertions[k].prefix, want[1]);
		ck_assert_str_eq(dir->assertions[k].suffix, want[2]);
	}
	/* The certificate attributes come first, then the assertions' own. */
	ck_assert_str_eq(dir->search_attrs[0], "userSMIMECertificate;binary");
	if (dir->assertion_count > 0)
		ck_assert_str_eq(dir->search_attrs[3], assertion_cases[_i].first[0]);
	directory_free(dir);
}
END_TEST

START_TEST(directory_unreachable)
{
	struct directory *dir = make_directory(0);
	struct cert_candidates out = { NULL, 0 };
	char *error = NULL;

	ck_assert_int_eq(directory_lookup(dir, ALICE, &out, &error), LOOKUP_UNAVAILABLE);
	ck_assert_ptr_nonnull(strstr(error, "corp"));
	ck_assert_ptr_nonnull(strstr(error, closed_uri[0]));
	ck_assert_uint_eq(out.count, 0);
	free(error);
	directory_free(dir);
}
END_TEST

START_TEST(resolve_unavailable)
{
	struct directory *dir = make_directory(0);
	struct cert_resolver *r = cert_resolver_new(&dir, 1, trust_root_only);
	struct cert_resolution res;

	ck_assert_int_eq(cert_resolve(r, ALICE, CERT_PURPOSE_ENCRYPT, test_now, &res), 0);
	ck_assert_int_eq(res.status, RESOLVE_UNAVAILABLE);
	ck_assert_ptr_null(res.cert);
	ck_assert_ptr_nonnull(strstr(res.detail, "corp"));
	cert_resolution_clear(&res);
	cert_resolver_free(r);
	directory_free(dir);
}
END_TEST

START_TEST(resolve_many_unavailable_and_invalid)
{
	struct directory *dir = make_directory(0);
	struct cert_resolver *r = cert_resolver_new(&dir, 1, trust_root_only);
	char *emails[] = { ALICE, "bob@example.com", "no-at-sign", "Bob@EXAMPLE.com" };
	struct cert_resolution res[4];

	ck_assert_int_eq(cert_resolve_many(r, emails, 4, CERT_PURPOSE_ENCRYPT, test_now,
	    res), 0);
	for (size_t i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		ck_assert_int_eq(res[i].status, RESOLVE_UNAVAILABLE);
		ck_assert_ptr_nonnull(strstr(res[i].detail, closed_uri[0]));
	}
	ck_assert_int_eq(res[2].status, RESOLVE_NO_VALID);
	ck_assert_int_eq(res[2].reason, CERT_NONE);
	ck_assert_ptr_nonnull(strstr(res[2].detail, "no-at-sign"));
	for (size_t i = 0; i < 4; i++)
		cert_resolution_clear(&res[i]);
	cert_resolver_free(r);
	directory_free(dir);
}
END_TEST

START_TEST(resolve_no_directory)
{
	struct directory *dir = make_directory(2);
	struct cert_resolver *r = cert_resolver_new(&dir, 1, trust_root_only);
	struct cert_resolution res;

	ck_assert_int_eq(cert_resolve(r, "carol@example.net", CERT_PURPOSE_ENCRYPT,
	    test_now, &res), 0);
	ck_assert_int_eq(res.status, RESOLVE_NO_VALID);
	ck_assert_int_eq(res.reason, CERT_NONE);
	ck_assert_uint_eq(res.verdict_count, 0);
	ck_assert_ptr_nonnull(res.detail);
	cert_resolution_clear(&res);
	cert_resolver_free(r);
	directory_free(dir);
}
END_TEST

START_TEST(password_empty_rejected)
{
	struct directory *dir = make_directory(0);
	char *error = NULL;

	/* No connection is attempted, so the closed port does not matter. */
	ck_assert_int_eq(ldapconn_check_password(directory_conn_config(dir),
	    "uid=alice,dc=example,dc=com", "", &error), 0);
	ck_assert_int_eq(ldapconn_check_password(directory_conn_config(dir), "",
	    "secret", &error), 0);
	ck_assert_ptr_null(error);
	ck_assert_int_eq(ldapconn_check_password(directory_conn_config(dir),
	    "uid=alice,dc=example,dc=com", "secret", &error), -1);
	ck_assert_ptr_nonnull(error);
	free(error);
	directory_free(dir);
}
END_TEST

/* ---- keystore ---- */

static char *
keystore_dir(const char *name)
{
	char *dir = xasprintf("%s/%s", test_dir, name);

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	return dir;
}

static void
write_key(const char *dir, const char *name, EVP_PKEY *key, const char *passphrase,
    mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;

	ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, key,
	    passphrase != NULL ? EVP_aes_256_cbc() : NULL,
	    (const unsigned char *)passphrase, passphrase != NULL ?
	    (int)strlen(passphrase) : 0, NULL, NULL), 1);
	len = BIO_get_mem_data(bio, &data);
	write_file(path, data, (size_t)len, mode);
	BIO_free(bio);
	free(path);
}

static void
write_certs(const char *dir, const char *name, X509 *const *certs)
{
	char *path = xasprintf("%s/%s", dir, name);

	write_pem(path, certs);
	free(path);
}

static void
write_text(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);

	write_file(path, text, strlen(text), mode);
	free(path);
}

static void
write_p12(const char *dir, const char *name, const char *passphrase, EVP_PKEY *key,
    X509 *cert, X509 *ca)
{
	STACK_OF(X509) *cas = sk_X509_new_null();
	char *path = xasprintf("%s/%s", dir, name);
	unsigned char *der = NULL;
	PKCS12 *p12;
	int len;

	sk_X509_push(cas, ca);
	p12 = PKCS12_create(passphrase, "signing key", key, cert, cas, 0, 0, 0, 0, 0);
	ck_assert_ptr_nonnull(p12);
	len = i2d_PKCS12(p12, &der);
	ck_assert_int_gt(len, 0);
	write_file(path, der, (size_t)len, 0600);
	OPENSSL_free(der);
	PKCS12_free(p12);
	sk_X509_free(cas);
	free(path);
}

START_TEST(keystore_pem_and_p12)
{
	char *dir = keystore_dir("ks-good");
	X509 *alice = make_valid_leaf(key_rsa, -1, 300);
	X509 *bob = make_valid_leaf(key_ec, -1, 300);
	X509 *carol = make_valid_leaf(key_ec, -1, 300);
	const struct signing_identity *id;
	struct keystore *ks = NULL;
	char *error = NULL;

	write_key(dir, "alice@example.com.key", key_rsa, NULL, 0600);
	write_certs(dir, "alice@example.com.pem", (X509 *[]){ alice, cert_int, NULL });
	write_p12(dir, "bob@example.com.p12", "s3cret pass", key_ec, bob, cert_int);
	write_text(dir, "bob@example.com.pass", "s3cret pass\n", 0600);
	write_key(dir, "carol@example.com.key", key_ec, "carol pass", 0600);
	write_text(dir, "carol@example.com.pass", "carol pass\r\n", 0600);
	write_certs(dir, "carol@example.com.pem", (X509 *[]){ carol, NULL });
	write_text(dir, "README", "not an identity\n", 0644);

	ck_assert_msg(keystore_load(dir, &ks, &error) == 0, "%s", error);
	ck_assert_uint_eq(keystore_count(ks), 3);

	id = keystore_find(ks, "ALICE@example.com");
	ck_assert_ptr_nonnull(id);
	ck_assert_str_eq(id->email, "alice@example.com");
	ck_assert_int_eq(X509_cmp(id->cert, alice), 0);
	ck_assert_int_eq(EVP_PKEY_eq(id->key, key_rsa), 1);
	ck_assert_int_eq(sk_X509_num(id->chain), 1);
	ck_assert_int_eq(X509_cmp(sk_X509_value(id->chain, 0), cert_int), 0);

	id = keystore_find(ks, "bob@example.com");
	ck_assert_ptr_nonnull(id);
	ck_assert_int_eq(X509_cmp(id->cert, bob), 0);
	ck_assert_int_eq(EVP_PKEY_eq(id->key, key_ec), 1);
	ck_assert_int_eq(sk_X509_num(id->chain), 1);

	id = keystore_find(ks, "carol@example.com");
	ck_assert_ptr_nonnull(id);
	ck_assert_int_eq(sk_X509_num(id->chain), 0);

	ck_assert_ptr_null(keystore_find(ks, "dave@example.com"));
	keystore_free(ks);
	X509_free(alice);
	X509_free(bob);
	X509_free(carol);
	free(dir);
}
END_TEST

START_TEST(keystore_empty_dir)
{
	char *dir = keystore_dir("ks-empty");
	struct keystore *ks = NULL;
	char *error = NULL;

	ck_assert_int_eq(keystore_load(dir, &ks, &error), 0);
	ck_assert_uint_eq(keystore_count(ks), 0);
	ck_assert_ptr_null(keystore_find(ks, ALICE));
	keystore_free(ks);
	free(dir);
}
END_TEST

/* Loads dir, which must fail with an error containing want and not
 * containing secret. */
static void
assert_keystore_rejected(const char *dir, const char *want, const char *secret)
{
	struct keystore *ks = NULL;
	char *error = NULL;

	ck_assert_int_eq(keystore_load(dir, &ks, &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, want) != NULL, "error \"%s\" lacks \"%s\"", error,
	    want);
	if (secret != NULL)
		ck_assert_msg(strstr(error, secret) == NULL, "error \"%s\" shows a secret",
		    error);
	free(error);
}

START_TEST(keystore_world_readable_key)
{
	char *dir = keystore_dir("ks-mode");
	X509 *alice = make_valid_leaf(key_rsa, -1, 300);

	write_key(dir, "alice@example.com.key", key_rsa, NULL, 0644);
	write_certs(dir, "alice@example.com.pem", (X509 *[]){ alice, NULL });
	assert_keystore_rejected(dir, "alice@example.com.key has mode 0644", NULL);
	X509_free(alice);
	free(dir);
}
END_TEST

START_TEST(keystore_group_writable_dir)
{
	char *dir = keystore_dir("ks-dirmode");

	ck_assert_int_eq(chmod(dir, 0770), 0);
	assert_keystore_rejected(dir, "mode 0770", NULL);
	free(dir);
}
END_TEST

START_TEST(keystore_mismatched_key)
{
	char *dir = keystore_dir("ks-mismatch");
	X509 *alice = make_valid_leaf(key_rsa, -1, 300);

	write_key(dir, "alice@example.com.key", key_ec, NULL, 0600);
	write_certs(dir, "alice@example.com.pem", (X509 *[]){ alice, NULL });
	assert_keystore_rejected(dir, "does not match", "PRIVATE KEY");
	X509_free(alice);
	free(dir);
}
END_TEST

START_TEST(keystore_wrong_passphrase)
{
	char *dir = keystore_dir("ks-pass");
	X509 *bob = make_valid_leaf(key_ec, -1, 300);

	write_p12(dir, "bob@example.com.p12", "right pass", key_ec, bob, cert_int);
	write_text(dir, "bob@example.com.pass", "wrong pass\n", 0600);
	assert_keystore_rejected(dir, "bob@example.com.p12", "wrong pass");
	X509_free(bob);
	free(dir);
}
END_TEST

START_TEST(keystore_missing_companion)
{
	char *dir = keystore_dir("ks-missing");
	char *dir2 = keystore_dir("ks-missing-pem");
	X509 *bob = make_valid_leaf(key_ec, -1, 300);

	write_p12(dir, "bob@example.com.p12", "pass", key_ec, bob, cert_int);
	assert_keystore_rejected(dir, "bob@example.com.pass", NULL);
	write_key(dir2, "bob@example.com.key", key_ec, NULL, 0600);
	assert_keystore_rejected(dir2, "bob@example.com.pem", NULL);
	X509_free(bob);
	free(dir);
	free(dir2);
}
END_TEST

START_TEST(keystore_duplicate_address)
{
	char *dir = keystore_dir("ks-dup");
	X509 *bob = make_valid_leaf(key_ec, -1, 300);

	write_p12(dir, "bob@example.com.p12", "pass", key_ec, bob, cert_int);
	write_text(dir, "bob@example.com.pass", "pass", 0600);
	write_key(dir, "Bob@example.com.key", key_ec, NULL, 0600);
	write_certs(dir, "Bob@example.com.pem", (X509 *[]){ bob, NULL });
	assert_keystore_rejected(dir, "more than one key", NULL);
	X509_free(bob);
	free(dir);
}
END_TEST

START_TEST(keystore_encrypted_key_without_pass)
{
	char *dir = keystore_dir("ks-encrypted");
	X509 *alice = make_valid_leaf(key_rsa, -1, 300);

	write_key(dir, "alice@example.com.key", key_rsa, "key pass", 0600);
	write_certs(dir, "alice@example.com.pem", (X509 *[]){ alice, NULL });
	assert_keystore_rejected(dir, "needs a .pass file", "key pass");
	X509_free(alice);
	free(dir);
}
END_TEST

static Suite *
certs_suite(void)
{
	Suite *s = suite_create("certs");
	TCase *tc;

	tc = tcase_create("validate");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, validate_table, 0,
	    (int)(sizeof(validate_cases) / sizeof(validate_cases[0])));
	tcase_add_test(tc, validate_expired_detail);
	tcase_add_test(tc, validate_mismatch_detail);
	tcase_add_test(tc, validate_null_cert);
	tcase_add_test(tc, validate_chain_returned);
	tcase_add_test(tc, validate_time_is_parameter);
	tcase_add_test(tc, reason_names);
	tcase_add_test(tc, trust_load_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("chaincache");
	tcase_add_test(tc, chain_cache_reuses_verdict);
	tcase_add_test(tc, chain_cache_keyed_by_untrusted);
	tcase_add_test(tc, chain_cache_per_trust);
	tcase_add_test(tc, chain_cache_failure_not_kept);
	tcase_add_test(tc, chain_cache_ends_at_chain_not_after);
	tcase_add_test(tc, chain_cache_ends_after_ttl);
	tcase_add_test(tc, chain_cache_ttl_from_trust);
	tcase_add_test(tc, chain_cache_ttl_zero_verifies_again);
	tcase_add_test(tc, chain_cache_size_from_trust);
	tcase_add_test(tc, chain_cache_not_before_chain);
	tcase_add_test(tc, chain_cache_threads_verify_once);
	tcase_add_test(tc, chaincache_key_forms);
	tcase_add_test(tc, chaincache_bounded);
	tcase_add_test(tc, chaincache_ttl_zero_keeps_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("certvalue");
	tcase_add_test(tc, certvalue_der);
	tcase_add_test(tc, certvalue_pem_two);
	tcase_add_test(tc, certvalue_appends);
	tcase_add_test(tc, certvalue_pkcs7_der);
	tcase_add_test(tc, certvalue_pkcs7_ber);
	tcase_add_test(tc, certvalue_pkcs7_pem);
	tcase_add_loop_test(tc, certvalue_bad, 0,
	    (int)(sizeof(certvalue_bad_cases) / sizeof(certvalue_bad_cases[0])));
	tcase_add_test(tc, certvalue_truncated_der);
	tcase_add_test(tc, certvalue_pkcs7_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("filter");
	tcase_add_loop_test(tc, filter_escape_table, 0,
	    (int)(sizeof(escape_cases) / sizeof(escape_cases[0])));
	tcase_add_loop_test(tc, filter_build_table, 0,
	    (int)(sizeof(build_cases) / sizeof(build_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("mailaddr");
	tcase_add_loop_test(tc, mailaddr_normalize_table, 0,
	    (int)(sizeof(mailaddr_cases) / sizeof(mailaddr_cases[0])));
	tcase_add_test(tc, mailaddr_unicode_form_of_alabels);
	suite_add_tcase(s, tc);

	tc = tcase_create("choose");
	tcase_add_test(tc, choose_latest_not_before);
	tcase_add_test(tc, choose_tie_latest_not_after);
	tcase_add_test(tc, choose_valid_only);
	tcase_add_test(tc, choose_none_valid);
	suite_add_tcase(s, tc);

	tc = tcase_create("directory");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, directory_serves_domains);
	tcase_add_test(tc, directory_serves_idn_domains);
	tcase_add_loop_test(tc, directory_filter_assertions, 0,
	    (int)(sizeof(assertion_cases) / sizeof(assertion_cases[0])));
	tcase_add_test(tc, directory_unreachable);
	tcase_add_test(tc, resolve_unavailable);
	tcase_add_test(tc, resolve_many_unavailable_and_invalid);
	tcase_add_test(tc, resolve_no_directory);
	tcase_add_test(tc, password_empty_rejected);
	suite_add_tcase(s, tc);

	tc = tcase_create("keystore");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, keystore_pem_and_p12);
	tcase_add_test(tc, keystore_empty_dir);
	tcase_add_test(tc, keystore_world_readable_key);
	tcase_add_test(tc, keystore_group_writable_dir);
	tcase_add_test(tc, keystore_mismatched_key);
	tcase_add_test(tc, keystore_wrong_passphrase);
	tcase_add_test(tc, keystore_missing_companion);
	tcase_add_test(tc, keystore_duplicate_address);
	tcase_add_test(tc, keystore_encrypted_key_without_pass);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* The PKI is built once; forked test processes inherit it. */
	pki_setup();
	sr = srunner_create(certs_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pki_teardown();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
