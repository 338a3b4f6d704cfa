/* MIME part trees and their rendering into 7-bit-safe entities (RFC 2045,
 * RFC 2046, RFC 2183). */
#define _GNU_SOURCE /* memmem */
#include "mime/part.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/fold.h"
#include "mime/header.h"
#include "mime/param.h"
#include "mime/random.h"
#include "mime/text.h"
#include "util/hex.h"
#include "util/xmalloc.h"

/* Parts come from client requests, so nesting is bounded to keep the
 * recursion's stack use small. */
#define PART_DEPTH_MAX 32
#define PART_ENCODED_LINE_MAX 76
#define PART_BOUNDARY_RANDOM_BYTES 12
#define PART_BOUNDARY_TRIES 8

struct mime_part *
mime_part_new(const char *type)
{
	struct mime_part *part = xcalloc(1, sizeof(*part));

	part->type = xstrdup(type);
	return part;
}

struct mime_part *
mime_part_add_child(struct mime_part *parent, const char *type)
{
	struct mime_part *child;

	parent->children = xreallocarray(parent->children,
	    parent->child_count + 1, sizeof(*parent->children));
	child = &parent->children[parent->child_count++];
	memset(child, 0, sizeof(*child));
	child->type = xstrdup(type);
	return child;
}

void
mime_part_set_body(struct mime_part *part, const void *body, size_t len)
{
	free(part->body);
	part->body = xmalloc(len);
	if (len > 0)
		memcpy(part->body, body, len);
	part->body_len = len;
}

void
mime_part_clear(struct mime_part *part)
{
	size_t i;

	free(part->type);
	free(part->charset);
	free(part->disposition);
	free(part->filename);
	free(part->cid);
	free(part->language);
	free(part->location);
	for (i = 0; i < part->extra_header_count; i++) {
		free(part->extra_headers[i].name);
		free(part->extra_headers[i].value);
	}
	free(part->extra_headers);
	free(part->body);
	for (i = 0; i < part->child_count; i++)
		mime_part_clear(&part->children[i]);
	free(part->children);
	memset(part, 0, sizeof(*part));
}

void
mime_part_free(struct mime_part *part)
{
	if (part == NULL)
		return;
	mime_part_clear(part);
	free(part);
}

static bool
part_type_has_prefix(const char *type, const char *prefix)
{
	return strncasecmp(type, prefix, strlen(prefix)) == 0;
}

/* Returns whether CR and LF are single bytes in charset, so that line ends
 * can be normalised without decoding. */
static bool
part_charset_is_ascii_compatible(const char *charset)
{
	static const char *const wide[] = { "utf-16", "utf16", "utf-32",
		"utf32", "ucs-2", "ucs2", "ucs-4", "ucs4", NULL };
	size_t i;

	for (i = 0; wide[i] != NULL; i++) {
		if (part_type_has_prefix(charset, wide[i]))
			return false;
	}
	return true;
}

/* RFC 2046 section 5.2: these message subtypes allow only 7bit, 8bit or
 * binary as transfer encoding. */
static bool
part_is_identity_message(const char *type)
{
	return strcasecmp(type, "message/rfc822") == 0 ||
	    strcasecmp(type, "message/partial") == 0 ||
	    strcasecmp(type, "message/external-body") == 0;
}

static const char *
part_charset(const struct mime_part *part)
{
	return part->charset != NULL ? part->charset : "utf-8";
}

/* Validation. */

static int
part_check_type(const char *type, char **error_r)
{
	const char *slash;
	char *major;
	bool ok;

	if (type == NULL) {
		*error_r = xstrdup("missing content type");
		return -1;
	}
	slash = strchr(type, '/');
	if (slash == NULL || !mime_text_is_token(slash + 1)) {
		*error_r = mime_text_error("invalid content type", type,
		    "expected type/subtype");
		return -1;
	}
	major = xstrndup(type, (size_t)(slash - type));
	ok = mime_text_is_token(major);
	free(major);
	if (!ok) {
		*error_r = mime_text_error("invalid content type", type,
		    "expected type/subtype");
		return -1;
	}
	return 0;
}

static int
part_check_token(const char *label, const char *value, char **error_r)
{
	if (value != NULL && !mime_text_is_token(value)) {
		*error_r = mime_text_error(label, value,
		    "not an RFC 2045 token");
		return -1;
	}
	return 0;
}

static int
part_check_filename(const char *filename, char **error_r)
{
	const char *p;

	if (filename == NULL)
		return 0;
	if (!mime_text_is_utf8(filename, strlen(filename))) {
		*error_r = mime_text_error("invalid file name", filename,
		    "invalid UTF-8");
		return -1;
	}
	for (p = filename; *p != '\0'; p++) {
		if ((*p > 0 && *p < 0x20) || *p == 0x7f) {
			*error_r = mime_text_error("invalid file name",
			    filename, "contains a control character");
			return -1;
		}
	}
	return 0;
}

/* Content-ID = msg-id (RFC 2045 section 7); "@" is not required, because
 * clients name inline images without one. */
static int
part_check_cid(const char *cid, char **error_r)
{
	const char *p;

	if (cid == NULL)
		return 0;
	for (p = cid; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>')
			break;
	}
	if (*cid == '\0' || *p != '\0') {
		*error_r = mime_text_error("invalid Content-ID", cid,
		    "expected printable US-ASCII without spaces, \"<\" or "
		    "\">\"");
		return -1;
	}
	return 0;
}

static bool
part_is_language_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/* Content-Language (RFC 3282): language tags separated by commas. */
static int
part_check_language(const char *language, char **error_r)
{
	const char *p = language, *start;

	if (language == NULL)
		return 0;
	for (;;) {
		while (*p == ' ')
			p++;
		start = p;
		while (part_is_language_char(*p))
			p++;
		if (p == start)
			break;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 0;
		if (*p != ',')
			break;
		p++;
	}
	*error_r = mime_text_error("invalid Content-Language", language,
	    "expected language tags separated by commas");
	return -1;
}

static int
part_check_location(const char *location, char **error_r)
{
	const char *p;

	if (location == NULL)
		return 0;
	if (*location == '\0' ||
	    !mime_text_is_utf8(location, strlen(location))) {
		*error_r = mime_text_error("invalid Content-Location", location,
		    "empty or invalid UTF-8");
		return -1;
	}
	for (p = location; *p != '\0'; p++) {
		if ((*p > 0 && *p < 0x20) || *p == 0x7f) {
			*error_r = mime_text_error("invalid Content-Location",
			    location, "contains a control character");
			return -1;
		}
	}
	return 0;
}

/* Extra fields may not repeat a field that the renderer writes, and must be
 * US-ASCII so that the entity stays 7-bit. */
static int
part_check_extra_header(const struct mime_part *part,
    const struct mime_param *header, char **error_r)
{
	const char *name = header->name;
	const char *p;
	bool written;

	if (mime_header_check_name(name, error_r) < 0)
		return -1;
	written = strcasecmp(name, "Content-Type") == 0 ||
	    strcasecmp(name, "Content-Transfer-Encoding") == 0 ||
	    (strcasecmp(name, "Content-Disposition") == 0 &&
	    (part->disposition != NULL || part->filename != NULL)) ||
	    (strcasecmp(name, "Content-ID") == 0 && part->cid != NULL) ||
	    (strcasecmp(name, "Content-Language") == 0 &&
	    part->language != NULL) ||
	    (strcasecmp(name, "Content-Location") == 0 &&
	    part->location != NULL);
	if (written) {
		*error_r = xasprintf("header field %s is given twice for a "
		    "body part", name);
		return -1;
	}
	for (p = header->value != NULL ? header->value : ""; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80) {
			char *label = xasprintf("invalid %s value", name);

			*error_r = mime_text_error(label, header->value,
			    "8-bit characters are not allowed in a body part");
			free(label);
			return -1;
		}
	}
	return 0;
}

int
mime_part_check_fields(const struct mime_part *part, char **error_r)
{
	size_t i;

	if (part_check_type(part->type, error_r) < 0 ||
	    part_check_token("invalid charset", part->charset, error_r) < 0 ||
	    part_check_token("invalid disposition", part->disposition,
	    error_r) < 0 ||
	    part_check_filename(part->filename, error_r) < 0 ||
	    part_check_cid(part->cid, error_r) < 0 ||
	    part_check_language(part->language, error_r) < 0 ||
	    part_check_location(part->location, error_r) < 0)
		return -1;
	for (i = 0; i < part->extra_header_count; i++) {
		if (part_check_extra_header(part, &part->extra_headers[i],
		    error_r) < 0)
			return -1;
	}
	return 0;
}

static int
part_check(const struct mime_part *part, char **error_r)
{
	if (mime_part_check_fields(part, error_r) < 0)
		return -1;
	if (part_type_has_prefix(part->type, "multipart/")) {
		if (part->child_count == 0) {
			*error_r = xasprintf("%s part has no body parts",
			    part->type);
			return -1;
		}
		if (part->body_len > 0) {
			*error_r = xasprintf("%s part has content of its own",
			    part->type);
			return -1;
		}
	} else if (part->child_count > 0) {
		*error_r = xasprintf("%s part cannot have body parts",
		    part->type);
		return -1;
	}
	return 0;
}

/* Leaf content. */

/* Appends data with every bare CR and bare LF turned into CRLF. */
static void
part_normalise_line_ends(const unsigned char *data, size_t len,
    struct strbuf *out)
{
	size_t i = 0;

	strbuf_reserve(out, len + len / 32);
	while (i < len) {
		size_t run = i;

		/* Copy the octets up to the next line end in one go. */
		while (run < len && data[run] != '\r' && data[run] != '\n')
			run++;
		strbuf_append(out, data + i, run - i);
		if (run == len)
			break;
		strbuf_append(out, "\r\n", 2);
		i = run + (data[run] == '\r' && run + 1 < len &&
		    data[run + 1] == '\n' ? 2 : 1);
	}
}

/* Returns whether CRLF text can go as 7bit under a signature. It must be
 * printable US-ASCII and tabs, in lines of at most 76 characters, with no
 * white space at a line end and no line starting with "From ". */
static bool
part_is_plain_7bit(const char *text, size_t len)
{
	size_t i, line_start = 0;

	for (i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)text[i] : '\r';

		if (c == '\r') {
			if (i < len && (i + 1 >= len || text[i + 1] != '\n'))
				return false;
			if (i - line_start > PART_ENCODED_LINE_MAX)
				return false;
			if (i > line_start && (text[i - 1] == ' ' ||
			    text[i - 1] == '\t'))
				return false;
			if (i - line_start >= 5 &&
			    memcmp(text + line_start, "From ", 5) == 0)
				return false;
			i++;
			line_start = i + 1;
			continue;
		}
		if ((c < 0x20 && c != '\t') || c >= 0x7f)
			return false;
	}
	return true;
}

/* Returns whether CRLF content is 7bit data as RFC 2045 section 2.7 defines
 * it: no NUL, no 8-bit byte, no bare CR or LF, lines of at most 998. It
 * must also have no white space at a line end, because relays may strip
 * that from signed content. */
static bool
part_is_7bit_data(const char *text, size_t len)
{
	size_t i, line_len = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\r' && i + 1 < len && text[i + 1] == '\n') {
			if (i > 0 && line_len > 0 &&
			    (text[i - 1] == ' ' || text[i - 1] == '\t'))
				return false;
			line_len = 0;
			i++;
			continue;
		}
		if (c == 0 || c >= 0x80 || c == '\r' || c == '\n' ||
		    ++line_len > MIME_FOLD_HARD_MAX)
			return false;
	}
	return true;
}

static size_t
part_base64_len(size_t len)
{
	size_t chars = (len + 2) / 3 * 4;

	return chars + 2 * ((chars + PART_ENCODED_LINE_MAX - 1) /
	    PART_ENCODED_LINE_MAX);
}

/* Text goes as 7bit when it can. Otherwise mostly-ASCII text goes as
 * quoted-printable, which stays readable, and other text as base64: the
 * cut is quoted-printable being more than a quarter longer than base64. */
static const char *
part_encode_text(const unsigned char *data, size_t len, struct strbuf *body)
{
	struct strbuf text = STRBUF_INIT, qp = STRBUF_INIT;
	const char *encoding;

	part_normalise_line_ends(data, len, &text);
	if (part_is_plain_7bit(strbuf_str(&text), text.len)) {
		strbuf_append(body, text.data, text.len);
		encoding = "7bit";
	} else {
		mime_encode_qp((const unsigned char *)text.data, text.len, &qp);
		if (qp.len <= part_base64_len(text.len) / 4 * 5) {
			strbuf_append(body, qp.data, qp.len);
			encoding = "quoted-printable";
		} else {
			mime_encode_base64((const unsigned char *)text.data,
			    text.len, body);
			encoding = "base64";
		}
	}
	strbuf_free(&text);
	strbuf_free(&qp);
	return encoding;
}

/* Encodes the content of a leaf into body; returns the transfer encoding. */
static const char *
part_encode_leaf(const struct mime_part *part, struct strbuf *body)
{
	struct strbuf message = STRBUF_INIT;
	const unsigned char *data = part->body;
	size_t len = part->body_len;

	if (part_type_has_prefix(part->type, "text/") &&
	    part_charset_is_ascii_compatible(part_charset(part)))
		return part_encode_text(data, len, body);

	if (part_is_identity_message(part->type)) {
		part_normalise_line_ends(data, len, &message);
		if (part_is_7bit_data(strbuf_str(&message), message.len)) {
			strbuf_append(body, message.data, message.len);
			strbuf_free(&message);
			return "7bit";
		}
		/* NOTE: RFC 2046 allows only 7bit, 8bit or binary here. A
		 * signed entity must be 7-bit and keep its white space, so a
		 * message with 8-bit content or white space at a line end
		 * goes as base64, which common clients decode. Its line ends
		 * are CRLF, as when it goes as 7bit. */
		mime_encode_base64((const unsigned char *)strbuf_str(&message),
		    message.len, body);
		strbuf_free(&message);
		return "base64";
	}
	mime_encode_base64(data, len, body);
	return "base64";
}

/* Header fields. */

/* Appends the value before the parameters, with ";" when some follow. */
static void
part_fold_value(struct mime_fold *fold, const char *value, bool params)
{
	char *word = xasprintf("%s%s", value, params ? ";" : "");

	mime_fold_word(fold, word);
	free(word);
}

static int
part_write_content_type(const struct mime_part *part, const char *boundary,
    struct strbuf *out, char **error_r)
{
	const char *charset = NULL;
	struct mime_fold fold;
	size_t params, written = 0;

	if (part_type_has_prefix(part->type, "text/"))
		charset = part_charset(part);
	else if (boundary == NULL)
		charset = part->charset;
	params = (charset != NULL) + (boundary != NULL) +
	    (part->filename != NULL);

	mime_fold_begin(&fold, out, "Content-Type");
	part_fold_value(&fold, part->type, params > 0);
	if (charset != NULL)
		mime_param_append(&fold, "charset", charset, MIME_PARAM_PLAIN,
		    ++written == params);
	if (boundary != NULL)
		mime_param_append(&fold, "boundary", boundary,
		    MIME_PARAM_PLAIN, ++written == params);

	/* name= is for clients that ignore Content-Disposition. */
	if (part->filename != NULL)
		mime_param_append(&fold, "name", part->filename,
		    MIME_PARAM_RFC2047, ++written == params);
	return mime_fold_end(&fold, error_r);
}

static int
part_write_disposition(const struct mime_part *part, struct strbuf *out,
    char **error_r)
{
	struct mime_fold fold;

	if (part->disposition == NULL && part->filename == NULL)
		return 0;
	mime_fold_begin(&fold, out, "Content-Disposition");
	part_fold_value(&fold, part->disposition != NULL ?
	    part->disposition : "attachment", part->filename != NULL);
	if (part->filename != NULL)
		mime_param_append(&fold, "filename", part->filename,
		    MIME_PARAM_RFC2231, true);
	return mime_fold_end(&fold, error_r);
}

static int
part_write_language(const char *language, struct strbuf *out,
    char **error_r)
{
	struct strbuf tag = STRBUF_INIT;
	struct mime_fold fold;
	const char *p = language;

	mime_fold_begin(&fold, out, "Content-Language");
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		strbuf_reset(&tag);
		while (part_is_language_char(*p))
			strbuf_appendc(&tag, *p++);
		while (*p == ' ')
			p++;
		if (*p == ',')
			strbuf_appendc(&tag, ',');
		mime_fold_append(&fold, " ", 1, tag.data, tag.len);
	}
	strbuf_free(&tag);
	return mime_fold_end(&fold, error_r);
}

/* Writes the URI with spaces and non-ASCII octets percent-encoded, which is
 * the RFC 3987 mapping from an IRI to a URI. */
static int
part_write_location(const char *location, struct strbuf *out,
    char **error_r)
{
	struct strbuf uri = STRBUF_INIT;
	struct mime_fold fold;
	const unsigned char *p;
	int ret;

	for (p = (const unsigned char *)location; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f)
			hex_append_escape(&uri, '%', *p, true);
		else
			strbuf_appendc(&uri, (char)*p);
	}
	mime_fold_begin(&fold, out, "Content-Location");
	mime_fold_append(&fold, " ", 1, uri.data, uri.len);
	ret = mime_fold_end(&fold, error_r);
	strbuf_free(&uri);
	return ret;
}

static int
part_write_simple(const char *name, const char *value, struct strbuf *out,
    char **error_r)
{
	struct mime_fold fold;

	mime_fold_begin(&fold, out, name);
	mime_fold_word(&fold, value);
	return mime_fold_end(&fold, error_r);
}

/* Writes the header fields and the empty line that ends them. */
static int
part_write_headers(const struct mime_part *part, const char *encoding,
    const char *boundary, struct strbuf *out, char **error_r)
{
	char *cid;
	size_t i;
	int ret;

	if (part_write_content_type(part, boundary, out, error_r) < 0)
		return -1;
	if (encoding != NULL && part_write_simple("Content-Transfer-Encoding",
	    encoding, out, error_r) < 0)
		return -1;
	if (part_write_disposition(part, out, error_r) < 0)
		return -1;
	if (part->cid != NULL) {
		cid = xasprintf("<%s>", part->cid);
		ret = part_write_simple("Content-ID", cid, out, error_r);
		free(cid);
		if (ret < 0)
			return -1;
	}
	if (part->language != NULL &&
	    part_write_language(part->language, out, error_r) < 0)
		return -1;
	if (part->location != NULL &&
	    part_write_location(part->location, out, error_r) < 0)
		return -1;
	for (i = 0; i < part->extra_header_count; i++) {
		if (mime_header_append_raw(out, part->extra_headers[i].name,
		    part->extra_headers[i].value, error_r) < 0)
			return -1;
	}
	strbuf_append(out, "\r\n", 2);
	return 0;
}

/* Rendering. */

static int part_render(const struct mime_part *part, struct strbuf *out,
    unsigned depth, char **error_r);

/* Picks "=_" and 24 random hex digits that occur in no rendered child. The
 * "=_" cannot occur in quoted-printable or base64 output. */
static char *
part_new_boundary(const struct strbuf *children, size_t count)
{
	struct strbuf boundary = STRBUF_INIT;
	unsigned tries;
	size_t i;

	for (tries = 0; tries < PART_BOUNDARY_TRIES; tries++) {
		strbuf_reset(&boundary);
		strbuf_appends(&boundary, "=_");
		mime_random_hex(&boundary, PART_BOUNDARY_RANDOM_BYTES);
		for (i = 0; i < count; i++) {
			if (memmem(children[i].data, children[i].len, boundary.data,
			    boundary.len) != NULL)
				break;
		}
		if (i == count)
			return strbuf_detach(&boundary, NULL);
	}
	strbuf_free(&boundary);
	return NULL;
}

static int
part_render_multipart(const struct mime_part *part, struct strbuf *out,
    unsigned depth, char **error_r)
{
	struct strbuf *children;
	char *boundary = NULL;
	size_t i;
	int ret = -1;

	children = xcalloc(part->child_count, sizeof(*children));
	for (i = 0; i < part->child_count; i++) {
		if (part_render(&part->children[i], &children[i], depth + 1,
		    error_r) < 0)
			goto out;
	}
	boundary = part_new_boundary(children, part->child_count);
	if (boundary == NULL) {
		*error_r = xasprintf("no free boundary found for %s part",
		    part->type);
		goto out;
	}

	/* An empty preamble, a delimiter line before each body part and
	 * the close delimiter with an empty epilogue (RFC 2046 5.1.1). */
	if (part_write_headers(part, NULL, boundary, out, error_r) < 0)
		goto out;
	for (i = 0; i < part->child_count; i++) {
		strbuf_printf(out, "%s--%s\r\n", i == 0 ? "" : "\r\n",
		    boundary);
		strbuf_append(out, children[i].data, children[i].len);
	}
	strbuf_printf(out, "\r\n--%s--\r\n", boundary);
	ret = 0;
out:
	for (i = 0; i < part->child_count; i++)
		strbuf_free(&children[i]);
	free(children);
	free(boundary);
	return ret;
}

static int
part_render_leaf(const struct mime_part *part, struct strbuf *out,
    char **error_r)
{
	struct strbuf body = STRBUF_INIT;
	const char *encoding;
	int ret = -1;

	encoding = part_encode_leaf(part, &body);
	if (part_write_headers(part, encoding, NULL, out, error_r) == 0) {
		strbuf_append(out, body.data, body.len);
		ret = 0;
	}
	strbuf_free(&body);
	return ret;
}

static int
part_render(const struct mime_part *part, struct strbuf *out, unsigned depth,
    char **error_r)
{
	if (depth > PART_DEPTH_MAX) {
		*error_r = xasprintf("body parts nested deeper than %d levels",
		    PART_DEPTH_MAX);
		return -1;
	}
	if (part_check(part, error_r) < 0)
		return -1;
	if (part_type_has_prefix(part->type, "multipart/"))
		return part_render_multipart(part, out, depth, error_r);
	return part_render_leaf(part, out, error_r);
}

int
mime_part_render(const struct mime_part *part, struct strbuf *out,
    char **error_r)
{
	size_t start = out->len;

	if (part_render(part, out, 0, error_r) < 0) {
		out->len = start;
		if (out->data != NULL)
			out->data[start] = '\0';
		return -1;
	}
	return 0;
}
