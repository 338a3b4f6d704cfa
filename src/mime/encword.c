/* RFC 2047 encoded-words: the encoder used for non-ASCII header text and the
 * decoder used when parsing display names. */
#include "mime/encword.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "mime/text.h"
#include "util/hex.h"

static const char encword_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Q encoding (RFC 2047 section 4.2) written with the characters that
 * section 5 rule (3) allows in a phrase, so one encoder serves unstructured
 * text, display names and parameter values. */
static bool
encword_q_is_literal(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

static size_t
encword_q_len(unsigned char c)
{
	return encword_q_is_literal(c) || c == ' ' ? 1 : 3;
}

static size_t
encword_b_len(size_t bytes)
{
	return (bytes + 2) / 3 * 4;
}

/* Returns the end of the longest run of whole characters from pos whose
 * encoding fits in max_enc characters. */
static size_t
encword_take(const unsigned char *text, size_t pos, size_t len, bool q,
    size_t max_enc)
{
	size_t end = pos, enc = 0;

	while (end < len) {
		size_t n = mime_text_utf8_len(text + end, len - end);
		size_t add = 0, i;

		if (n == 0)
			n = 1;	/* callers pass valid UTF-8; stay safe anyway */
		if (q) {
			for (i = 0; i < n; i++)
				add += encword_q_len(text[end + i]);
			if (enc + add > max_enc)
				break;
			enc += add;
		} else if (encword_b_len(end + n - pos) > max_enc) {
			break;
		}
		end += n;
	}
	return end;
}

static size_t
encword_enc_len(const unsigned char *text, size_t start, size_t end, bool q)
{
	size_t enc = 0, i;

	if (!q)
		return encword_b_len(end - start);
	for (i = start; i < end; i++)
		enc += encword_q_len(text[i]);
	return enc;
}

static void
encword_append_encoded(struct strbuf *sb, const unsigned char *text,
    size_t start, size_t end, bool q)
{
	size_t i;

	strbuf_appends(sb, q ? "=?utf-8?Q?" : "=?utf-8?B?");
	if (q) {
		for (i = start; i < end; i++) {
			if (text[i] == ' ') {
				strbuf_appendc(sb, '_');
			} else if (encword_q_is_literal(text[i])) {
				strbuf_appendc(sb, (char)text[i]);
			} else {
				hex_append_escape(sb, '=', text[i], true);
			}
		}
	} else {
		for (i = start; i < end; i += 3) {
			size_t n = end - i < 3 ? end - i : 3;
			unsigned long v = (unsigned long)text[i] << 16;

			if (n > 1)
				v |= (unsigned long)text[i + 1] << 8;
			if (n > 2)
				v |= text[i + 2];
			strbuf_appendc(sb, encword_b64[(v >> 18) & 63]);
			strbuf_appendc(sb, encword_b64[(v >> 12) & 63]);
			strbuf_appendc(sb,
			    n > 1 ? encword_b64[(v >> 6) & 63] : '=');
			strbuf_appendc(sb, n > 2 ? encword_b64[v & 63] : '=');
		}
	}
	strbuf_appends(sb, "?=");
}

/* Returns the number of characters the next word may have: what is left on
 * the current line if a short encoded-word still fits there, else a fresh
 * line (the word then folds). */
static size_t
encword_line_cap(const struct mime_fold *fold, size_t sep_len, size_t fixed)
{
	size_t room = mime_fold_room(fold, sep_len);

	/* fixed covers prefix, suffix and overhead; 12 fits any character. */
	if (room >= fixed + 12)
		return room;
	return MIME_FOLD_LINE_MAX - sep_len;
}

void
mime_encword_append(struct mime_fold *fold, const char *sep, size_t sep_len,
    const char *text, size_t len, const char *prefix, const char *suffix)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t pre_len = strlen(prefix), suf_len = strlen(suffix);
	struct strbuf word = STRBUF_INIT;
	size_t pos = 0;
	bool q;

	q = encword_enc_len(p, 0, len, true) <= encword_b_len(len);
	while (pos < len) {
		size_t cap, max_enc, end;

		cap = encword_line_cap(fold, sep_len,
		    pre_len + suf_len + MIME_ENCWORD_OVERHEAD);
		cap = cap > pre_len + MIME_ENCWORD_OVERHEAD ?
		    cap - pre_len - MIME_ENCWORD_OVERHEAD : 0;
		max_enc = MIME_ENCWORD_MAX - MIME_ENCWORD_OVERHEAD;
		if (cap < max_enc)
			max_enc = cap;
		end = encword_take(p, pos, len, q, max_enc);

		/* The last encoded-word carries the suffix too; leave its last
		 * characters to a further word when both do not fit. */
		if (end == len && suf_len > 0 &&
		    encword_enc_len(p, pos, end, q) + suf_len > cap) {
			size_t shorter = encword_take(p, pos, len, q,
			    cap > suf_len ? cap - suf_len : 0);

			if (shorter > pos)
				end = shorter;
		}
		if (end == pos) {
			size_t n = mime_text_utf8_len(p + pos, len - pos);

			end = pos + (n > 0 ? n : 1);
		}

		strbuf_reset(&word);
		strbuf_appends(&word, prefix);
		encword_append_encoded(&word, p, pos, end, q);
		if (end == len)
			strbuf_appends(&word, suffix);
		mime_fold_append(fold, sep, sep_len, word.data, word.len);

		pos = end;
		prefix = "";
		pre_len = 0;
		sep = " ";
		sep_len = 1;
	}
	strbuf_free(&word);
}

/* Decoding. */

struct encword {
	char charset[64];	/* without an RFC 2231 "*language" suffix */
	bool q;
	const char *data;	/* encoded text */
	size_t data_len;
	size_t len;		/* length of the whole encoded-word */
};

struct encword_decoder {
	struct strbuf *out;
	struct strbuf bytes;	/* decoded octets not yet converted */
	char charset[64];	/* charset of bytes */
	struct strbuf space;	/* white space after an encoded-word */
	bool after_encword;
};

/* Parses "=?charset?encoding?text?=" at the start of s. */
static bool
encword_parse(const char *s, size_t len, struct encword *ew)
{
	size_t i = 2, cs_start = 2, cs_len;
	const char *star;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return false;
	while (i < len && s[i] != '?' &&
	    mime_text_is_token_char((unsigned char)s[i]))
		i++;
	if (i >= len || s[i] != '?' || i == cs_start)
		return false;
	cs_len = i - cs_start;
	star = memchr(s + cs_start, '*', cs_len);
	if (star != NULL)
		cs_len = (size_t)(star - (s + cs_start));
	if (cs_len == 0 || cs_len >= sizeof(ew->charset))
		return false;
	memcpy(ew->charset, s + cs_start, cs_len);
	ew->charset[cs_len] = '\0';

	if (i + 3 > len || s[i + 2] != '?')
		return false;
	if (s[i + 1] == 'Q' || s[i + 1] == 'q')
		ew->q = true;
	else if (s[i + 1] == 'B' || s[i + 1] == 'b')
		ew->q = false;
	else
		return false;
	i += 3;
	ew->data = s + i;
	while (i < len && s[i] != '?' && s[i] > ' ' && s[i] < 0x7f)
		i++;
	if (i + 1 >= len || s[i] != '?' || s[i + 1] != '=')
		return false;
	ew->data_len = (size_t)(s + i - ew->data);
	ew->len = i + 2;
	return true;
}

size_t
mime_encword_scan(const char *s, size_t len)
{
	struct encword ew;

	return encword_parse(s, len, &ew) ? ew.len : 0;
}

static int
encword_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool
encword_decode_q(const struct encword *ew, struct strbuf *out)
{
	size_t i;

	for (i = 0; i < ew->data_len; i++) {
		char c = ew->data[i];

		if (c == '_') {
			strbuf_appendc(out, ' ');
		} else if (c == '=') {
			int hi, lo;

			if (i + 2 >= ew->data_len)
				return false;
			hi = encword_hex_value(ew->data[i + 1]);
			lo = encword_hex_value(ew->data[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			strbuf_appendc(out, (char)(hi << 4 | lo));
			i += 2;
		} else {
			strbuf_appendc(out, c);
		}
	}
	return true;
}

static int
encword_b64_value(char c)
{
	const char *p = strchr(encword_b64, c);

	return c != '\0' && p != NULL ? (int)(p - encword_b64) : -1;
}

/* Decodes base64, accepting a missing final padding. */
static bool
encword_decode_b(const struct encword *ew, struct strbuf *out)
{
	unsigned long v = 0;
	size_t i, bits = 0, pad = 0;

	for (i = 0; i < ew->data_len; i++) {
		int d;

		if (ew->data[i] == '=') {
			pad++;
			continue;
		}
		d = encword_b64_value(ew->data[i]);
		if (d < 0 || pad > 0)
			return false;
		v = (v << 6) | (unsigned long)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			strbuf_appendc(out, (char)((v >> bits) & 0xff));
		}
	}
	return pad <= 2 && bits < 6;
}

static bool
encword_charset_is(const char *charset, const char *const *names)
{
	for (; *names != NULL; names++) {
		if (strcasecmp(charset, *names) == 0)
			return true;
	}
	return false;
}

static const char *const encword_utf8_names[] = { "utf-8", "utf8", NULL };
static const char *const encword_ascii_names[] = { "us-ascii", "ascii", NULL };
static const char *const encword_latin1_names[] = { "iso-8859-1",
	"iso_8859-1", "latin1", "l1", NULL };

static bool
encword_charset_known(const char *charset)
{
	iconv_t cd;

	if (encword_charset_is(charset, encword_utf8_names) ||
	    encword_charset_is(charset, encword_ascii_names) ||
	    encword_charset_is(charset, encword_latin1_names))
		return true;
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return false;
	iconv_close(cd);
	return true;
}

/* Appends UTF-8 bytes, with U+FFFD for each invalid byte. */
static void
encword_append_utf8(struct strbuf *out, const unsigned char *s, size_t len,
    bool ascii_only)
{
	size_t i = 0;

	while (i < len) {
		size_t n = mime_text_utf8_len(s + i, len - i);

		if (n == 0 || (ascii_only && s[i] >= 0x80)) {
			mime_text_append_utf8(out, 0xfffd);
			i++;
			continue;
		}
		strbuf_append(out, s + i, n);
		i += n;
	}
}

/* Appends what returns a stateful encoding such as ISO-2022-JP to its
 * initial state. */
static void
encword_iconv_reset(iconv_t cd, struct strbuf *out)
{
	char buf[16], *o = buf;
	size_t o_left = sizeof(buf);

	if (iconv(cd, NULL, NULL, &o, &o_left) != (size_t)-1)
		strbuf_append(out, buf, sizeof(buf) - o_left);
}

static void
encword_append_iconv(struct strbuf *out, const char *charset,
    const unsigned char *s, size_t len)
{
	iconv_t cd = iconv_open("UTF-8", charset);
	char *in = (char *)s;
	size_t in_left = len;

	if (cd == (iconv_t)-1) {
		encword_append_utf8(out, s, len, true);
		return;
	}
	while (in_left > 0) {
		char buf[256], *o = buf;
		size_t o_left = sizeof(buf);
		size_t rc = iconv(cd, &in, &in_left, &o, &o_left);

		strbuf_append(out, buf, sizeof(buf) - o_left);
		if (rc == (size_t)-1 && errno != E2BIG) {
			/* An invalid or truncated sequence: skip one byte. */
			mime_text_append_utf8(out, 0xfffd);
			in++;
			in_left--;
		}
	}
	encword_iconv_reset(cd, out);
	iconv_close(cd);
}

static void
encword_flush_bytes(struct encword_decoder *dec)
{
	const unsigned char *b = (const unsigned char *)dec->bytes.data;
	size_t i;

	if (dec->bytes.len == 0)
		return;
	if (encword_charset_is(dec->charset, encword_utf8_names)) {
		encword_append_utf8(dec->out, b, dec->bytes.len, false);
	} else if (encword_charset_is(dec->charset, encword_ascii_names)) {
		encword_append_utf8(dec->out, b, dec->bytes.len, true);
	} else if (encword_charset_is(dec->charset, encword_latin1_names)) {
		for (i = 0; i < dec->bytes.len; i++)
			mime_text_append_utf8(dec->out, b[i]);
	} else {
		encword_append_iconv(dec->out, dec->charset, b, dec->bytes.len);
	}
	strbuf_reset(&dec->bytes);
}

/* Adds one encoded-word; returns false when it is kept as plain text. */
static bool
encword_decode_one(struct encword_decoder *dec, const struct encword *ew)
{
	struct strbuf decoded = STRBUF_INIT;
	bool ok;

	if (!encword_charset_known(ew->charset))
		return false;
	ok = ew->q ? encword_decode_q(ew, &decoded) :
	    encword_decode_b(ew, &decoded);
	if (!ok) {
		strbuf_free(&decoded);
		return false;
	}
	if (strcasecmp(dec->charset, ew->charset) != 0) {
		encword_flush_bytes(dec);
		memcpy(dec->charset, ew->charset, sizeof(dec->charset));
	}
	strbuf_append(&dec->bytes, decoded.data, decoded.len);
	strbuf_free(&decoded);

	/* White space between two encoded-words is not part of the text. */
	strbuf_reset(&dec->space);
	dec->after_encword = true;
	return true;
}

static void
encword_end_run(struct encword_decoder *dec)
{
	encword_flush_bytes(dec);
	strbuf_append(dec->out, dec->space.data, dec->space.len);
	strbuf_reset(&dec->space);
	dec->after_encword = false;
}

void
mime_encword_decode(const char *text, size_t len, struct strbuf *out)
{
	struct encword_decoder dec = { out, STRBUF_INIT, "", STRBUF_INIT,
		false };
	struct encword ew;
	size_t i = 0;

	while (i < len) {
		char c = text[i];

		if (c == '=' && encword_parse(text + i, len - i, &ew) &&
		    encword_decode_one(&dec, &ew)) {
			i += ew.len;
			continue;
		}
		if (dec.after_encword &&
		    (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
			strbuf_appendc(&dec.space, c);
			i++;
			continue;
		}
		encword_end_run(&dec);
		strbuf_appendc(out, c);
		i++;
	}
	encword_end_run(&dec);
	strbuf_free(&dec.bytes);
	strbuf_free(&dec.space);
}
