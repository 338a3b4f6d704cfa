/* Certificate attribute values: DER or PEM certificates and PKCS#7
 * certs-only SignedData, as LDAP directories store them. */
#define _GNU_SOURCE
#include "certs/certvalue.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include "certs/sslerr.h"
#include "util/xmalloc.h"

/* Appends the certificates of a SignedData to found. Returns 0, or -1 with
 * *error_r when p7 is not a SignedData or contains no certificate. */
static int
certvalue_take_pkcs7(PKCS7 *p7, STACK_OF(X509) *found, char **error_r)
{
	STACK_OF(X509) *certs;

	if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL) {
		*error_r = xstrdup("PKCS#7 value is not a SignedData");
		return -1;
	}
	certs = p7->d.sign->cert;
	if (certs == NULL || sk_X509_num(certs) == 0) {
		*error_r = xstrdup("PKCS#7 SignedData contains no certificate");
		return -1;
	}
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		X509_up_ref(x);
		sk_X509_push(found, x);
	}
	return 0;
}

/* Parses the whole of data as one DER certificate or one DER/BER
 * PKCS#7. Returns 1 when it is one, 0 when it is neither, -1 with *error_r
 * when it is a PKCS#7 without certificates. */
static int
certvalue_parse_der(const unsigned char *data, size_t len, STACK_OF(X509) *found,
    char **error_r)
{
	const unsigned char *p = data;
	X509 *x;
	PKCS7 *p7;
	int ret;

	x = d2i_X509(NULL, &p, (long)len);
	if (x != NULL && p == data + len) {
		sk_X509_push(found, x);
		return 1;
	}
	X509_free(x);

	p = data;
	p7 = d2i_PKCS7(NULL, &p, (long)len);
	if (p7 == NULL || p != data + len) {
		PKCS7_free(p7);
		ERR_clear_error();
		return 0;
	}
	ret = certvalue_take_pkcs7(p7, found, error_r) == 0 ? 1 : -1;
	PKCS7_free(p7);
	return ret;
}

/* Parses one PEM block's DER content by its label. Labels of blocks with no
 * certificate (a key, a CRL) are skipped. Returns 0 or -1 with *error_r. */
static int
certvalue_parse_pem_block(const char *label, const unsigned char *der, long der_len,
    STACK_OF(X509) *found, char **error_r)
{
	const unsigned char *p = der;

	if (strcmp(label, PEM_STRING_X509) == 0 || strcmp(label, PEM_STRING_X509_OLD) == 0 ||
	    strcmp(label, PEM_STRING_X509_TRUSTED) == 0) {
		X509 *x = strcmp(label, PEM_STRING_X509_TRUSTED) == 0 ?
		    d2i_X509_AUX(NULL, &p, der_len) : d2i_X509(NULL, &p, der_len);
		if (x == NULL) {
			char *ssl = sslerr_pop();
			*error_r = xasprintf("invalid PEM %s: %s", label, ssl);
			free(ssl);
			return -1;
		}
		sk_X509_push(found, x);
		return 0;
	}
	if (strcmp(label, PEM_STRING_PKCS7) == 0 || strcmp(label, PEM_STRING_PKCS7_SIGNED) == 0) {
		PKCS7 *p7 = d2i_PKCS7(NULL, &p, der_len);
		int ret;

		if (p7 == NULL) {
			char *ssl = sslerr_pop();
			*error_r = xasprintf("invalid PEM %s: %s", label, ssl);
			free(ssl);
			return -1;
		}
		ret = certvalue_take_pkcs7(p7, found, error_r);
		PKCS7_free(p7);
		return ret;
	}
	return 0;
}

static int
certvalue_parse_pem(const unsigned char *data, size_t len, STACK_OF(X509) *found,
    char **error_r)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	int ret = 0;

	if (bio == NULL) {
		*error_r = sslerr_pop();
		return -1;
	}
	for (;;) {
		char *label = NULL, *header = NULL;
		unsigned char *der = NULL;
		long der_len = 0;

		if (PEM_read_bio(bio, &label, &header, &der, &der_len) != 1) {
			unsigned long err = ERR_peek_last_error();

			/* Running out of blocks ends the loop; any other error
			 * is a damaged block. */
			if (ERR_GET_LIB(err) != ERR_LIB_PEM ||
			    ERR_GET_REASON(err) != PEM_R_NO_START_LINE) {
				char *ssl = sslerr_pop();
				*error_r = xasprintf("invalid PEM block: %s", ssl);
				free(ssl);
				ret = -1;
			}
			ERR_clear_error();
			break;
		}
		ret = certvalue_parse_pem_block(label, der, der_len, found, error_r);
		OPENSSL_free(label);
		OPENSSL_free(header);
		OPENSSL_free(der);
		if (ret < 0)
			break;
	}
	BIO_free(bio);
	return ret;
}

int
certvalue_parse(const unsigned char *data, size_t len, STACK_OF(X509) *out,
    char **error_r)
{
	STACK_OF(X509) *found = sk_X509_new_null();
	int ret = -1;
	int der;

	if (found == NULL)
		abort();
	if (len == 0) {
		*error_r = xstrdup("empty value");
		goto out;
	}
	if (len > INT_MAX) {
		*error_r = xasprintf("value of %zu bytes is too large", len);
		goto out;
	}

	der = certvalue_parse_der(data, len, found, error_r);
	if (der < 0)
		goto out;
	if (der == 0) {
		if (memmem(data, len, "-----BEGIN ", 11) == NULL) {
			*error_r = xstrdup("not a DER or PEM certificate or a PKCS#7 "
			    "SignedData");
			goto out;
		}
		if (certvalue_parse_pem(data, len, found, error_r) < 0)
			goto out;
		if (sk_X509_num(found) == 0) {
			*error_r = xstrdup("PEM value contains no certificate");
			goto out;
		}
	}

	for (int i = 0; i < sk_X509_num(found); i++) {
		X509 *x = sk_X509_value(found, i);

		X509_up_ref(x);
		sk_X509_push(out, x);
	}
	ret = 0;
out:
	sk_X509_pop_free(found, X509_free);
	ERR_clear_error();
	return ret;
}
