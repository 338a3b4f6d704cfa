/* Content-Type and Content-Disposition parameters: tokens, quoted-strings,
 * RFC 2231 extended values with continuations and RFC 2047 fallbacks. */
#include "mime/param.h"

#include <string.h>

#include "mime/encword.h"
#include "mime/text.h"
#include "util/hex.h"
#include "util/strbuf.h"

static bool
param_is_printable_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((*s < 0x20 && *s != '\t') || *s >= 0x7f || *s < 0)
			return false;
	}
	return true;
}

/* Writes name="value" or name=value as one word. */
static void
param_append_plain(struct mime_fold *fold, const char *name,
    const char *value, bool last)
{
	struct strbuf word = STRBUF_INIT;
	const char *p;

	strbuf_printf(&word, "%s=", name);
	if (mime_text_is_token(value)) {
		strbuf_appends(&word, value);
	} else {
		strbuf_appendc(&word, '"');
		for (p = value; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				strbuf_appendc(&word, '\\');
			strbuf_appendc(&word, *p);
		}
		strbuf_appendc(&word, '"');
	}
	if (!last)
		strbuf_appendc(&word, ';');
	mime_fold_append(fold, " ", 1, word.data, word.len);
	strbuf_free(&word);
}

static size_t
param_plain_len(const char *name, const char *value, bool last)
{
	size_t len = strlen(name) + 3 + (last ? 0 : 1);

	for (; *value != '\0'; value++)
		len += *value == '"' || *value == '\\' ? 2 : 1;
	return len;
}

/* RFC 2231 attribute-char: token characters except "*", "'" and "%". */
static bool
param_is_attribute_char(unsigned char c)
{
	return mime_text_is_token_char(c) && c != '*' && c != '\'' && c != '%';
}

/* Appends the percent-encoded form of the character at s[0]. */
static size_t
param_percent_encode_char(const unsigned char *s, size_t len,
    struct strbuf *out)
{
	size_t n = mime_text_utf8_len(s, len), i;

	if (n == 0)
		n = 1;
	for (i = 0; i < n; i++) {
		if (param_is_attribute_char(s[i]))
			strbuf_appendc(out, (char)s[i]);
		else
			hex_append_escape(out, '%', s[i], true);
	}
	return n;
}

/* Writes name*=utf-8''value, or name*0*=utf-8''...; name*1*=... when one
 * line is not enough. Segments end on character boundaries. */
static void
param_append_rfc2231(struct mime_fold *fold, const char *name,
    const char *value, bool last)
{
	const unsigned char *v = (const unsigned char *)value;
	struct strbuf encoded = STRBUF_INIT, word = STRBUF_INIT;
	size_t len = strlen(value), pos = 0, segment = 0, taken;

	while (pos < len)
		pos += param_percent_encode_char(v + pos, len - pos, &encoded);
	strbuf_printf(&word, "%s*=utf-8''%s%s", name, encoded.data,
	    last ? "" : ";");
	if (word.len + 1 <= MIME_FOLD_LINE_MAX) {
		mime_fold_append(fold, " ", 1, word.data, word.len);
		goto out;
	}

	pos = 0;
	while (pos < len) {
		strbuf_reset(&word);
		if (segment == 0)
			strbuf_printf(&word, "%s*0*=utf-8''", name);
		else
			strbuf_printf(&word, "%s*%zu*=", name, segment);
		for (taken = 0; pos < len; taken++) {
			size_t mark = word.len;
			size_t n = param_percent_encode_char(v + pos, len - pos,
			    &word);

			/* Keep room for the space before and ";" after. */
			if (taken > 0 && word.len + 2 > MIME_FOLD_LINE_MAX) {
				word.len = mark;
				word.data[mark] = '\0';
				break;
			}
			pos += n;
		}
		if (pos < len || !last)
			strbuf_appendc(&word, ';');
		mime_fold_append(fold, " ", 1, word.data, word.len);
		segment++;
	}
out:
	strbuf_free(&encoded);
	strbuf_free(&word);
}

void
mime_param_append(struct mime_fold *fold, const char *name,
    const char *value, enum mime_param_style style, bool last)
{
	if (style == MIME_PARAM_PLAIN || (param_is_printable_ascii(value) &&
	    param_plain_len(name, value, last) + 1 <= MIME_FOLD_LINE_MAX)) {
		param_append_plain(fold, name, value, last);
	} else if (style == MIME_PARAM_RFC2231) {
		param_append_rfc2231(fold, name, value, last);
	} else {
		struct strbuf prefix = STRBUF_INIT;

		strbuf_printf(&prefix, "%s=\"", name);
		mime_encword_append(fold, " ", 1, value, strlen(value),
		    prefix.data, last ? "\"" : "\";");
		strbuf_free(&prefix);
	}
}
