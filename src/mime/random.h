/* Random tokens for Message-IDs and multipart boundaries. */
#ifndef SMIMEGW_MIME_RANDOM_H
#define SMIMEGW_MIME_RANDOM_H

#include <stddef.h>

#include "util/strbuf.h"

/* Appends 2 * bytes lower-case hex digits from OpenSSL's RAND_bytes. Aborts
 * the process when the generator fails, as for running out of memory, since
 * no caller can do without unpredictable values. */
void mime_random_hex(struct strbuf *out, size_t bytes);

#endif
