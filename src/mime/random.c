/* Random hex tokens for Message-IDs and multipart boundaries. */
#include "mime/random.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>

void
mime_random_hex(struct strbuf *out, size_t bytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[32];
	size_t i;

	while (bytes > 0) {
		size_t n = bytes < sizeof(buf) ? bytes : sizeof(buf);

		if (RAND_bytes(buf, (int)n) != 1) {
			fprintf(stderr, "smimegw: RAND_bytes failed\n");
			abort();
		}
		for (i = 0; i < n; i++) {
			strbuf_appendc(out, hex[buf[i] >> 4]);
			strbuf_appendc(out, hex[buf[i] & 15]);
		}
		bytes -= n;
	}
}
