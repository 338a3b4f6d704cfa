/* Hexadecimal encoding with a table, which is much faster than a printf
 * per octet in the code that builds cache keys and ids for every message. */
#include "util/hex.h"

#include "util/strbuf.h"

char *
hex_encode(char *out, const unsigned char *in, size_t len, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		*out++ = digits[in[i] >> 4];
		*out++ = digits[in[i] & 15];
	}
	*out = '\0';
	return out;
}

void
hex_append_escape(struct strbuf *out, char prefix, unsigned char octet,
    bool upper)
{
	char escape[4];

	escape[0] = prefix;
	hex_encode(escape + 1, &octet, 1, upper);
	strbuf_append(out, escape, 3);
}
