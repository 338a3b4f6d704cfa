/* Option parsing and the MIME and error helpers that S/MIME signing and
 * encryption share. */
#include "smime/smime.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "smime/smime_internal.h"
#include "util/octets.h"
#include "util/xmalloc.h"

/* RFC 5322 2.1.1: a line is at most 998 octets, excluding the CRLF. */
#define SMIME_MAX_LINE 998

/* Octets per base64 line: 57 octets encode to 76 characters. */
#define SMIME_BASE64_CHUNK 57

static const struct {
	const char *name;
	enum smime_cipher cipher;
} smime_cipher_names[] = {
	{ "aes-256-cbc", SMIME_CIPHER_AES256_CBC },
	{ "aes-128-cbc", SMIME_CIPHER_AES128_CBC },
	{ "aes-128-gcm", SMIME_CIPHER_AES128_GCM },
	{ "aes-256-gcm", SMIME_CIPHER_AES256_GCM },
};

static const struct {
	const char *name;
	enum smime_digest digest;
} smime_digest_names[] = {
	{ "sha256", SMIME_DIGEST_SHA256 },
	{ "sha384", SMIME_DIGEST_SHA384 },
	{ "sha512", SMIME_DIGEST_SHA512 },
};

static const struct {
	const char *name;
	enum smime_signature signature;
} smime_signature_names[] = {
	{ "rsa-pkcs1", SMIME_SIGNATURE_RSA_PKCS1 },
	{ "rsa-pss", SMIME_SIGNATURE_RSA_PSS },
};

int
smime_cipher_parse(const char *name, enum smime_cipher *cipher_r)
{
	size_t count = sizeof(smime_cipher_names) / sizeof(smime_cipher_names[0]);

	for (size_t i = 0; i < count; i++) {
		if (strcmp(name, smime_cipher_names[i].name) == 0) {
			*cipher_r = smime_cipher_names[i].cipher;
			return 0;
		}
	}
	return -1;
}

int
smime_digest_parse(const char *name, enum smime_digest *digest_r)
{
	size_t count = sizeof(smime_digest_names) / sizeof(smime_digest_names[0]);

	for (size_t i = 0; i < count; i++) {
		if (strcmp(name, smime_digest_names[i].name) == 0) {
			*digest_r = smime_digest_names[i].digest;
			return 0;
		}
	}
	return -1;
}

int
smime_signature_parse(const char *name, enum smime_signature *signature_r)
{
	size_t count = sizeof(smime_signature_names) / sizeof(smime_signature_names[0]);

	for (size_t i = 0; i < count; i++) {
		if (strcmp(name, smime_signature_names[i].name) == 0) {
			*signature_r = smime_signature_names[i].signature;
			return 0;
		}
	}
	return -1;
}

char *
smime_openssl_error(const char *operation)
{
	unsigned long code = ERR_get_error();
	char text[256];

	if (code == 0) {
		snprintf(text, sizeof(text), "no OpenSSL error was reported");
	} else {
		ERR_error_string_n(code, text, sizeof(text));
	}
	ERR_clear_error();
	return xasprintf("%s failed: %s", operation, text);
}

char *
smime_cert_subject(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	char *subject;

	if (bio == NULL)
		return xstrdup("(subject unavailable)");
	/* RFC 2253 form, but with UTF-8 kept as it is instead of escaped. */
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
		XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
		BIO_free(bio);
		ERR_clear_error();
		return xstrdup("(subject unavailable)");
	}
	len = BIO_get_mem_data(bio, &data);
	subject = xstrndup(data, len > 0 ? (size_t)len : 0);
	BIO_free(bio);
	return subject;
}

/* Returns whether every line of entity is 7-bit text without NUL, ends in
 * CRLF (the last line may end without one) and has at most SMIME_MAX_LINE
 * octets before it. This is the fast path of smime_check_entity, and
 * smime_entity_error names the first fault of an entity it rejects. */
static bool
smime_entity_is_clean(const char *entity, size_t entity_len)
{
	const unsigned char *p = (const unsigned char *)entity;
	size_t start = 0;

	while (start < entity_len) {
		const unsigned char *lf = memchr(p + start, '\n', entity_len - start);
		size_t end = lf != NULL ? (size_t)(lf - p) : entity_len;
		size_t content_end = end;

		if (lf != NULL) {
			if (end == 0 || p[end - 1] != '\r')
				return false;
			content_end = end - 1;
		}
		if (content_end - start > SMIME_MAX_LINE ||
		    !octets_are_7bit_without_cr(p + start, content_end - start))
			return false;
		start = end + 1;
	}
	return true;
}

/* Finds the first fault of an entity that smime_entity_is_clean rejected.
 * Returns -1 with *error_r naming the line and offset, or 0. */
static int
smime_entity_error(const char *entity, size_t entity_len, char **error_r)
{
	size_t line = 1;
	size_t line_start = 0;

	for (size_t i = 0; i < entity_len; i++) {
		unsigned char c = (unsigned char)entity[i];

		if (c == 0 || c > 127) {
			*error_r = xasprintf("entity line %zu: byte 0x%02x at offset %zu "
			    "is not 7-bit text", line, c, i);
			return -1;
		}
		if (c == '\r' && (i + 1 == entity_len || entity[i + 1] != '\n')) {
			*error_r = xasprintf("entity line %zu: CR without LF at offset %zu",
			    line, i);
			return -1;
		}
		if (c == '\n' && (i == 0 || entity[i - 1] != '\r')) {
			*error_r = xasprintf("entity line %zu: LF without CR at offset %zu",
			    line, i);
			return -1;
		}
		if (c == '\n') {
			line++;
			line_start = i + 1;
		} else if (c != '\r' && i - line_start >= SMIME_MAX_LINE) {
			*error_r = xasprintf("entity line %zu is longer than %d octets",
			    line, SMIME_MAX_LINE);
			return -1;
		}
	}
	return 0;
}

int
smime_check_entity(const char *entity, size_t entity_len, char **error_r)
{
	if (entity == NULL || entity_len == 0) {
		*error_r = xstrdup("entity is empty");
		return -1;
	}
	if (entity_len > INT_MAX) {
		*error_r = xasprintf("entity of %zu octets is larger than the "
		    "maximum of %d", entity_len, INT_MAX);
		return -1;
	}
	if (smime_entity_is_clean(entity, entity_len))
		return 0;
	return smime_entity_error(entity, entity_len, error_r);
}

int
smime_cms_to_der(CMS_ContentInfo *cms, unsigned char **der_r,
    size_t *der_len_r, char **error_r)
{
	unsigned char *der = NULL;
	int len = i2d_CMS_ContentInfo(cms, &der);

	if (len <= 0) {
		*error_r = smime_openssl_error("i2d_CMS_ContentInfo");
		return -1;
	}
	*der_r = der;
	*der_len_r = (size_t)len;
	return 0;
}

void
smime_append_base64(struct strbuf *out, const unsigned char *data, size_t len)
{
	unsigned char line[4 * SMIME_BASE64_CHUNK / 3 + 1];
	size_t lines = (len + SMIME_BASE64_CHUNK - 1) / SMIME_BASE64_CHUNK;

	strbuf_reserve(out, lines * (4 * SMIME_BASE64_CHUNK / 3 + 2));
	for (size_t offset = 0; offset < len; offset += SMIME_BASE64_CHUNK) {
		size_t chunk = len - offset;

		if (chunk > SMIME_BASE64_CHUNK)
			chunk = SMIME_BASE64_CHUNK;
		int n = EVP_EncodeBlock(line, data + offset, (int)chunk);
		strbuf_append(out, line, (size_t)n);
		strbuf_appends(out, "\r\n");
	}
}

void
smime_append_pkcs7_mime(struct strbuf *out, const char *smime_type,
    const unsigned char *der, size_t der_len)
{
	/* The name parameter goes on a folded line because the longest
	 * smime-type would push a single line past 78 characters. */
	strbuf_printf(out, "Content-Type: application/pkcs7-mime; "
	    "smime-type=%s;\r\n name=\"smime.p7m\"\r\n", smime_type);
	strbuf_appends(out, "Content-Transfer-Encoding: base64\r\n");
	strbuf_appends(out, "Content-Disposition: attachment; "
	    "filename=\"smime.p7m\"\r\n");
	strbuf_appends(out, "\r\n");
	smime_append_base64(out, der, der_len);
}

int
smime_cms_final(CMS_ContentInfo *cms, const char *entity, size_t entity_len,
    unsigned int flags, char **error_r)
{
	BIO *content = BIO_new_mem_buf(entity, (int)entity_len);
	int ret = 0;

	if (content == NULL || !CMS_final(cms, content, NULL, flags)) {
		*error_r = smime_openssl_error("CMS_final");
		ret = -1;
	}
	BIO_free(content);
	return ret;
}
