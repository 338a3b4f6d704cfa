/* Random hex tokens for Message-IDs and multipart boundaries. */
#include "mime/random.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/hex.h"

void
mime_random_hex(struct strbuf *out, size_t bytes)
{
	unsigned char buf[32];
	char text[2 * sizeof(buf) + 1];

	while (bytes > 0) {
		size_t n = bytes < sizeof(buf) ? bytes : sizeof(buf);

		if (RAND_bytes(buf, (int)n) != 1) {
			fprintf(stderr, "smimegw: RAND_bytes failed\n");
			abort();
		}
		hex_encode(text, buf, n, false);
		strbuf_append(out, text, 2 * n);
		bytes -= n;
	}
}
