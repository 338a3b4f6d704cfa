/* Base64 and quoted-printable body encoders (RFC 2045 sections 6.7 and
 * 6.8) with CRLF line ends and lines of at most 76 characters. */
#include "mime/part.h"

#include <stdbool.h>
#include <string.h>

#include "util/hex.h"

#define ENCODE_LINE_MAX 76

/* Each line is filled in a local buffer and appended whole, because an
 * append per group of four characters costs more than the encoding. */
void
mime_encode_base64(const unsigned char *data, size_t len, struct strbuf *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char line[ENCODE_LINE_MAX + 2];
	size_t i, line_len = 0, encoded = (len + 2) / 3 * 4;

	strbuf_reserve(out, encoded + 2 * (encoded / ENCODE_LINE_MAX + 1));
	for (i = 0; i < len; i += 3) {
		size_t n = len - i < 3 ? len - i : 3;
		unsigned long v = (unsigned long)data[i] << 16;

		if (n > 1)
			v |= (unsigned long)data[i + 1] << 8;
		if (n > 2)
			v |= data[i + 2];
		line[line_len++] = alphabet[(v >> 18) & 63];
		line[line_len++] = alphabet[(v >> 12) & 63];
		line[line_len++] = n > 1 ? alphabet[(v >> 6) & 63] : '=';
		line[line_len++] = n > 2 ? alphabet[v & 63] : '=';
		if (line_len == ENCODE_LINE_MAX || i + 3 >= len) {
			line[line_len++] = '\r';
			line[line_len++] = '\n';
			strbuf_append(out, line, line_len);
			line_len = 0;
		}
	}
}

static bool
encode_is_crlf(const unsigned char *data, size_t len, size_t i)
{
	return i + 1 < len && data[i] == '\r' && data[i + 1] == '\n';
}

/* Returns whether data[i] may be written as itself. White space may not end
 * a line, and an "F" that starts a line of "From " is encoded so that an mbox
 * writer cannot change the line to ">From " under a signature. */
static bool
encode_qp_is_literal(const unsigned char *data, size_t len, size_t i,
    size_t line_len)
{
	unsigned char c = data[i];

	if (c == ' ' || c == '\t')
		return i + 1 < len && !encode_is_crlf(data, len, i + 1);
	if (c < 33 || c > 126 || c == '=')
		return false;
	if (c == 'F' && line_len == 0 && len - i >= 5 &&
	    memcmp(data + i, "From ", 5) == 0)
		return false;
	return true;
}

void
mime_encode_qp(const unsigned char *data, size_t len, struct strbuf *out)
{
	size_t i = 0, line_len = 0;

	while (i < len) {
		bool literal, last_on_line;
		size_t width;

		if (encode_is_crlf(data, len, i)) {
			strbuf_append(out, "\r\n", 2);
			line_len = 0;
			i += 2;
			continue;
		}
		literal = encode_qp_is_literal(data, len, i, line_len);
		width = literal ? 1 : 3;

		/* Soft line break: "=" at the end, so at most 75 characters
		 * before it, unless a hard line break follows this character.
		 * The end of the data counts as a soft break (see below). */
		last_on_line = encode_is_crlf(data, len, i + 1);
		if (line_len + width > ENCODE_LINE_MAX - 1 &&
		    !(last_on_line && line_len + width <= ENCODE_LINE_MAX)) {
			strbuf_append(out, "=\r\n", 3);
			line_len = 0;
			literal = encode_qp_is_literal(data, len, i, line_len);
			width = literal ? 1 : 3;
		}

		if (literal) {
			strbuf_appendc(out, (char)data[i]);
		} else {
			hex_append_escape(out, '=', data[i], true);
		}
		line_len += width;
		i++;
	}

	/* Text without a final line break ends in a soft line break, so the
	 * output still ends in CRLF and decodes to the same bytes. */
	if (len > 0 && !(len >= 2 && data[len - 2] == '\r' &&
	    data[len - 1] == '\n'))
		strbuf_append(out, "=\r\n", 3);
}
