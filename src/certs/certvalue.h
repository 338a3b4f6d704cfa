/* Parsing of certificate attribute values: the forms directories store in
 * userSMIMECertificate, userCertificate and CA entries. */
#ifndef SMIMEGW_CERTVALUE_H
#define SMIMEGW_CERTVALUE_H

#include <stddef.h>

#include <openssl/x509.h>

/* Parses data as a DER certificate, one or more PEM blocks (CERTIFICATE,
 * X509 CERTIFICATE or PKCS7), or a PKCS#7 SignedData in DER or BER (the
 * degenerate certs-only form of RFC 2798 userSMIMECertificate). Appends
 * every certificate found, in order and up-ref'd, to out and returns 0.
 * Returns -1 with *error_r allocated when nothing could be parsed or the
 * value contains no certificate; out is then unchanged. */
int certvalue_parse(const unsigned char *data, size_t len, STACK_OF(X509) *out,
    char **error_r);

#endif
