/* Helpers shared by the signing and encryption halves of smime/. They are not
 * part of the module's interface. */
#ifndef SMIMEGW_SMIME_INTERNAL_H
#define SMIMEGW_SMIME_INTERNAL_H

#include <stddef.h>

#include <openssl/cms.h>
#include <openssl/x509.h>

#include "smime/smime.h"
#include "util/strbuf.h"

/* Returns "<operation> failed: <text of the first queued OpenSSL error>" and
 * clears the calling thread's OpenSSL error queue. The caller frees it. */
char *smime_openssl_error(const char *operation);

/* Finishes cms over entity_len bytes of entity with CMS_final. Returns 0, or
 * -1 with *error_r allocated. */
int smime_cms_final(CMS_ContentInfo *cms, const char *entity, size_t entity_len,
    unsigned int flags, char **error_r);

/* Returns the certificate subject in RFC 2253 form with UTF-8 left
 * unescaped, allocated. */
char *smime_cert_subject(X509 *cert);

/* Checks that entity is non-empty 7-bit text without NUL, with CRLF line
 * ends only and lines of at most 998 octets (RFC 5322 2.1.1), so that no
 * transport has a reason to alter the bytes that get signed. It must also
 * fit the int lengths of OpenSSL's memory BIOs. Returns 0, or -1 with
 * *error_r allocated. */
int smime_check_entity(const char *entity, size_t entity_len, char **error_r);

/* Encodes cms as DER. Returns 0 with *der_r allocated by OpenSSL (free with
 * OPENSSL_free), or -1 with *error_r allocated. */
int smime_cms_to_der(CMS_ContentInfo *cms, unsigned char **der_r,
    size_t *der_len_r, char **error_r);

/* Appends data as base64 in lines of 76 characters, each ending in CRLF. */
void smime_append_base64(struct strbuf *out, const unsigned char *data,
    size_t len);

/* Appends an application/pkcs7-mime entity with the given smime-type whose
 * body is der in base64. */
void smime_append_pkcs7_mime(struct strbuf *out, const char *smime_type,
    const unsigned char *der, size_t der_len);

#endif
