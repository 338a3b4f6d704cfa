/* libFuzzer target: the parser of certificate attribute values from LDAP
 * (DER or PEM certificates, PKCS#7 SignedData in DER, BER or PEM). */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "certs/certvalue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	char *error = NULL;
	int ret;

	ret = certvalue_parse(data, size, certs, &error);
	/* The contract of certvalue.h: success adds at least one certificate
	 * and sets no message; failure adds none and sets one. */
	if (ret == 0 && (sk_X509_num(certs) == 0 || error != NULL))
		abort();
	if (ret < 0 && (sk_X509_num(certs) != 0 || error == NULL))
		abort();
	free(error);
	sk_X509_pop_free(certs, X509_free);
	return 0;
}
