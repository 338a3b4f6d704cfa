/* UTF-8 and character-class helpers for the mime/ module, and the quoting of
 * offending values in its error messages. */
#include "mime/text.h"

#include <string.h>

#include "util/xmalloc.h"

#define MIME_TEXT_ERROR_VALUE_MAX 64

size_t
mime_text_utf8_len(const unsigned char *s, size_t len)
{
	uint32_t cp;
	size_t n, i;

	if (len == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}

	/* Reject overlong forms, surrogates and code points past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000))
		return 0;
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

bool
mime_text_is_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n = mime_text_utf8_len(p + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

void
mime_text_append_utf8(struct strbuf *out, uint32_t cp)
{
	if (cp < 0x80) {
		strbuf_appendc(out, (char)cp);
	} else if (cp < 0x800) {
		strbuf_appendc(out, (char)(0xc0 | (cp >> 6)));
		strbuf_appendc(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_appendc(out, (char)(0xe0 | (cp >> 12)));
		strbuf_appendc(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_appendc(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_appendc(out, (char)(0xf0 | (cp >> 18)));
		strbuf_appendc(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_appendc(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_appendc(out, (char)(0x80 | (cp & 0x3f)));
	}
}

bool
mime_text_is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

bool
mime_text_is_token_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

bool
mime_text_is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!mime_text_is_token_char((unsigned char)*s))
			return false;
	}
	return true;
}

/* Appends s with control characters, quotes, backslashes and invalid UTF-8
 * escaped, stopping before max bytes of input; returns true if cut. */
static bool
mime_text_append_escaped(struct strbuf *out, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0;

	while (i < len) {
		size_t n = mime_text_utf8_len(p + i, len - i);

		if (i + (n == 0 ? 1 : n) > max)
			return true;
		if (n == 0 || p[i] < 0x20 || p[i] == 0x7f) {
			if (p[i] == '\r')
				strbuf_appends(out, "\\r");
			else if (p[i] == '\n')
				strbuf_appends(out, "\\n");
			else if (p[i] == '\t')
				strbuf_appends(out, "\\t");
			else
				strbuf_printf(out, "\\x%02x", p[i]);
			i++;
			continue;
		}
		if (p[i] == '"' || p[i] == '\\')
			strbuf_appendc(out, '\\');
		strbuf_append(out, p + i, n);
		i += n;
	}
	return false;
}

char *
mime_text_error(const char *label, const char *value, const char *reason)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_printf(&sb, "%s \"", label);
	if (mime_text_append_escaped(&sb, value, MIME_TEXT_ERROR_VALUE_MAX))
		strbuf_appends(&sb, "...");
	strbuf_printf(&sb, "\": %s", reason);
	return strbuf_detach(&sb, NULL);
}
