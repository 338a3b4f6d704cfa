/* Parsing of messages and MIME entities back into header fields and
 * decoded part trees, to check what the renderer wrote. */
#include "mime/parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/encword.h"
#include "mime/text.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

/* Same bound as the renderer: entities nest at most this deep. */
#define PARSE_DEPTH_MAX 34

static int parse_entity(const char *data, size_t len, unsigned depth,
    struct mime_entity *entity, char **error_r);

void
mime_entity_clear(struct mime_entity *entity)
{
	for (size_t i = 0; i < entity->field_count; i++) {
		free(entity->fields[i].name);
		free(entity->fields[i].value);
	}
	free(entity->fields);
	free(entity->type);
	free(entity->encoding);
	free(entity->body);
	for (size_t i = 0; i < entity->child_count; i++)
		mime_entity_clear(&entity->children[i]);
	free(entity->children);
	memset(entity, 0, sizeof(*entity));
}

const char *
mime_entity_field(const struct mime_entity *entity, const char *name)
{
	const char *value = NULL;

	for (size_t i = 0; i < entity->field_count; i++) {
		if (strcasecmp(entity->fields[i].name, name) == 0)
			value = entity->fields[i].value;
	}
	return value;
}

size_t
mime_entity_field_count(const struct mime_entity *entity, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < entity->field_count; i++)
		n += strcasecmp(entity->fields[i].name, name) == 0;
	return n;
}

/* Returns the length of the line at data[pos] without its CRLF, or
 * (size_t)-1 when it has a bare CR or LF. A last line without CRLF ends at
 * len, and *has_crlf_r is false for it. */
static size_t
parse_line(const char *data, size_t len, size_t pos, bool *has_crlf_r)
{
	for (size_t i = pos; i < len; i++) {
		if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n') {
			*has_crlf_r = true;
			return i - pos;
		}
		if (data[i] == '\r' || data[i] == '\n')
			return (size_t)-1;
	}
	*has_crlf_r = false;
	return len - pos;
}

static void
parse_add_field(struct mime_entity *entity, const char *line, size_t len,
    size_t colon)
{
	struct mime_field *f;

	entity->fields = xreallocarray(entity->fields, entity->field_count + 1,
	    sizeof(*entity->fields));
	f = &entity->fields[entity->field_count++];
	f->name = xstrndup(line, colon);
	f->value = xstrndup(line + colon + 1, len - colon - 1);
}

/* Appends a continuation line to the last field: unfolding removes only
 * the CRLF (RFC 5322 2.2.3). */
static void
parse_continue_field(struct mime_entity *entity, const char *line, size_t len)
{
	struct mime_field *f = &entity->fields[entity->field_count - 1];
	char *joined = xasprintf("%s%.*s", f->value, (int)len, line);

	free(f->value);
	f->value = joined;
}

/* Reads the header fields; sets *body_r to the offset after the empty
 * line that ends them. */
static int
parse_header(const char *data, size_t len, struct mime_entity *entity,
    size_t *body_r, char **error_r)
{
	size_t pos = 0;

	while (pos < len) {
		bool crlf;
		size_t n = parse_line(data, len, pos, &crlf), colon;
		const char *line = data + pos;

		if (n == (size_t)-1 || !crlf) {
			*error_r = xasprintf("header line at offset %zu %s", pos,
			    n == (size_t)-1 ? "has a bare CR or LF" :
			    "does not end in CRLF");
			return -1;
		}
		if (n == 0) {
			*body_r = pos + 2;
			return 0;
		}
		if (n > 998) {
			*error_r = xasprintf("header line at offset %zu has %zu "
			    "octets, more than 998", pos, n);
			return -1;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			if (entity->field_count == 0) {
				*error_r = xstrdup("the header starts with a "
				    "continuation line");
				return -1;
			}
			parse_continue_field(entity, line, n);
		} else {
			for (colon = 0; colon < n && line[colon] != ':' &&
			    line[colon] > 32 && line[colon] < 127; colon++)
				;
			if (colon == 0 || colon == n || line[colon] != ':') {
				*error_r = mime_text_error("invalid header line",
				    line, "expected \"Name: value\"");
				return -1;
			}
			parse_add_field(entity, line, n, colon);
		}
		pos += n + 2;
	}
	*error_r = xstrdup("no empty line after the header fields");
	return -1;
}

/* Skips white space and RFC 5322 comments in a structured value. */
static const char *
parse_skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '(')
			return p;

		int depth = 0;
		do {
			if (*p == '\0')
				return p;
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			p++;
		} while (depth > 0);
	}
}

/* Reads a token (RFC 2045) or, when allow_slash, "type/subtype". */
static const char *
parse_read_token(const char *p, bool allow_slash, struct strbuf *out)
{
	while (mime_text_is_token_char((unsigned char)*p) ||
	    (allow_slash && *p == '/'))
		strbuf_appendc(out, *p++);
	return p;
}

/* Reads a token or a quoted-string value; *quoted_r is set for the latter. */
static const char *
parse_read_value(const char *p, struct strbuf *out, bool *quoted_r)
{
	*quoted_r = *p == '"';
	if (!*quoted_r)
		return parse_read_token(p, false, out);
	for (p++; *p != '\0' && *p != '"'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		strbuf_appendc(out, *p);
	}
	return *p == '"' ? p + 1 : p;
}

char *
mime_parse_token(const char *value)
{
	struct strbuf token = STRBUF_INIT;

	parse_read_token(parse_skip_cfws(value), true, &token);
	for (size_t i = 0; i < token.len; i++) {
		if (token.data[i] >= 'A' && token.data[i] <= 'Z')
			token.data[i] = (char)(token.data[i] + 32);
	}
	return strbuf_detach(&token, NULL);
}

/* One piece of an RFC 2231 parameter: name*N or name*N*. */
struct parse_piece {
	long index;	/* -1 for the unnumbered form */
	bool extended;	/* "*" after the name or number */
	char *value;
	bool quoted;
};

/* Matches a parameter name against param: returns true and fills the
 * piece's index and extended flag for "param", "param*", "param*N" and
 * "param*N*". */
static bool
parse_param_name(const char *name, const char *param, struct parse_piece *piece)
{
	size_t n = strlen(param);
	const char *rest = name + n;

	if (strncasecmp(name, param, n) != 0)
		return false;
	piece->index = -1;
	piece->extended = false;
	if (*rest == '\0')
		return true;
	if (*rest != '*')
		return false;
	rest++;
	if (*rest >= '0' && *rest <= '9') {
		char *end;
		piece->index = strtol(rest, &end, 10);
		if (piece->index > 999)
			return false;
		rest = end;
		if (*rest == '*') {
			piece->extended = true;
			rest++;
		}
		return *rest == '\0';
	}
	piece->extended = true;
	return *rest == '\0';
}

static int
parse_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Appends an RFC 2231 extended value with its %XX escapes decoded. */
static int
parse_append_percent(struct strbuf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s != '%') {
			strbuf_appendc(out, *s);
			continue;
		}
		int hi = parse_hex(s[1]), lo = hi < 0 ? -1 : parse_hex(s[2]);
		if (lo < 0)
			return -1;
		strbuf_appendc(out, (char)(hi * 16 + lo));
		s += 2;
	}
	return 0;
}

static int
parse_piece_order(const void *a, const void *b)
{
	const struct parse_piece *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/* Joins RFC 2231 pieces (sorted by index, numbered from 0 without gaps)
 * and decodes them. The first extended piece gives charset'language'. */
static char *
parse_join_pieces(struct parse_piece *pieces, size_t count)
{
	struct strbuf out = STRBUF_INIT;
	bool ok = true;

	qsort(pieces, count, sizeof(*pieces), parse_piece_order);
	for (size_t i = 0; i < count && ok; i++) {
		const char *v = pieces[i].value;

		if (pieces[i].index != (long)i) {
			ok = false;
			break;
		}
		if (!pieces[i].extended) {
			strbuf_appends(&out, v);
			continue;
		}
		if (i == 0) {
			const char *q1 = strchr(v, '\''), *q2 = q1 ? strchr(q1 + 1, '\'') : NULL;
			size_t cs_len = q1 != NULL ? (size_t)(q1 - v) : 0;
			ok = q2 != NULL && ((cs_len == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
			    (cs_len == 8 && strncasecmp(v, "us-ascii", 8) == 0));
			if (ok)
				v = q2 + 1;
		}
		ok = ok && parse_append_percent(&out, v) == 0;
	}
	if (!ok || !mime_text_is_utf8(strbuf_str(&out), out.len) ||
	    strlen(strbuf_str(&out)) != out.len) {
		strbuf_free(&out);
		return NULL;
	}
	return strbuf_detach(&out, NULL);
}

/* Decodes the simple form: a quoted value may hold RFC 2047
 * encoded-words, as clients write them in Content-Type name=. */
static char *
parse_simple_value(const struct parse_piece *piece)
{
	struct strbuf out = STRBUF_INIT;

	if (piece->quoted && strstr(piece->value, "=?") != NULL)
		mime_encword_decode(piece->value, strlen(piece->value), &out);
	else
		strbuf_appends(&out, piece->value);
	if (strlen(strbuf_str(&out)) != out.len) {
		strbuf_free(&out);
		return NULL;
	}
	return strbuf_detach(&out, NULL);
}

char *
mime_parse_param(const char *value, const char *param)
{
	struct parse_piece *pieces = NULL, simple = { -1, false, NULL, false };
	struct strbuf name = STRBUF_INIT, v = STRBUF_INIT;
	size_t count = 0;
	const char *p = strchr(value, ';');
	char *result = NULL;

	while (p != NULL && *p == ';') {
		struct parse_piece piece;

		strbuf_reset(&name);
		strbuf_reset(&v);
		p = parse_read_token(parse_skip_cfws(p + 1), false, &name);
		p = parse_skip_cfws(p);
		if (*p != '=')
			break;
		p = parse_read_value(parse_skip_cfws(p + 1), &v, &piece.quoted);
		if (!piece.quoted && v.len == 0)
			break;
		p = parse_skip_cfws(p);
		if (!parse_param_name(strbuf_str(&name), param, &piece))
			continue;
		piece.value = xstrdup(strbuf_str(&v));
		if (piece.index < 0 && !piece.extended) {
			free(simple.value);
			simple = piece;
			continue;
		}
		if (piece.index < 0)
			piece.index = 0;
		pieces = xreallocarray(pieces, count + 1, sizeof(*pieces));
		pieces[count++] = piece;
	}
	/* RFC 2231 pieces take precedence over the simple form. */
	if (count > 0)
		result = parse_join_pieces(pieces, count);
	else if (simple.value != NULL)
		result = parse_simple_value(&simple);
	for (size_t i = 0; i < count; i++)
		free(pieces[i].value);
	free(pieces);
	free(simple.value);
	strbuf_free(&name);
	strbuf_free(&v);
	return result;
}

char *
mime_parse_text(const char *value)
{
	struct strbuf out = STRBUF_INIT;
	size_t start = 0, end = strlen(value);

	while (start < end && (value[start] == ' ' || value[start] == '\t'))
		start++;
	while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
		end--;
	mime_encword_decode(value + start, end - start, &out);
	return strbuf_detach(&out, NULL);
}

/* Transfer decoding. */

/* Each octet of the base64 alphabet (RFC 2045 6.8) maps to its value plus
 * one, so that the zero of every other entry means "not base64". A table
 * lookup has no branch to mispredict on random data. */
static const unsigned char parse_base64_table[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
	['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
	['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30,
	['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
	['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54,
	['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60,
	['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/* Decoded octets are collected in a block of this size and appended to the
 * output a block at a time: an append per octet cost more than the decoding
 * itself. */
#define PARSE_DECODE_BLOCK 4096

static int
parse_decode_base64(const char *data, size_t len, struct strbuf *out,
    char **error_r)
{
	char block[PARSE_DECODE_BLOCK];
	size_t used = 0;
	uint32_t acc = 0;
	int bits = 0, pad = 0;

	for (size_t i = 0; i < len; i++) {
		/* Complete groups of four base64 characters, which make up most
		 * of every line, are decoded together. Line ends, padding and
		 * invalid characters go through the loop below one at a time. */
		while (bits == 0 && pad == 0 && len - i >= 4 &&
		    sizeof(block) - used >= 3) {
			const unsigned char *chars = (const unsigned char *)data + i;
			unsigned char entry0 = parse_base64_table[chars[0]],
			    entry1 = parse_base64_table[chars[1]],
			    entry2 = parse_base64_table[chars[2]],
			    entry3 = parse_base64_table[chars[3]];

			if (entry0 == 0 || entry1 == 0 || entry2 == 0 || entry3 == 0)
				break;
			uint32_t group = (uint32_t)(entry0 - 1) << 18 |
			    (uint32_t)(entry1 - 1) << 12 | (uint32_t)(entry2 - 1) << 6 |
			    (uint32_t)(entry3 - 1);
			block[used++] = (char)(group >> 16);
			block[used++] = (char)(group >> 8 & 0xff);
			block[used++] = (char)(group & 0xff);
			i += 4;
		}
		if (used > sizeof(block) - 3) {
			strbuf_append(out, block, used);
			used = 0;
		}
		if (i == len)
			break;

		unsigned char entry = parse_base64_table[(unsigned char)data[i]];

		if (entry == 0 && (data[i] == '\r' || data[i] == '\n'))
			continue;
		if (entry == 0 && data[i] == '=') {
			pad++;
			continue;
		}
		if (entry == 0 || pad > 0) {
			*error_r = xasprintf("invalid base64 at offset %zu", i);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)(entry - 1);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			block[used++] = (char)((acc >> bits) & 0xff);
			if (used == sizeof(block)) {
				strbuf_append(out, block, used);
				used = 0;
			}
		}
	}
	if (used > 0)
		strbuf_append(out, block, used);
	if (pad > 2 || bits >= 6) {
		*error_r = xstrdup("base64 content ends in the middle of a group");
		return -1;
	}
	return 0;
}

/* Decodes quoted-printable. Text between escapes is appended a run at a
 * time. */
static int
parse_decode_qp(const char *data, size_t len, struct strbuf *out,
    char **error_r)
{
	size_t i = 0;

	while (i < len) {
		const char *escape = memchr(data + i, '=', len - i);
		size_t run = escape != NULL ? (size_t)(escape - data) - i : len - i;

		strbuf_append(out, data + i, run);
		i += run;
		if (i == len)
			break;
		if (i + 2 < len && data[i + 1] == '\r' && data[i + 2] == '\n') {
			i += 3;
			continue;
		}
		if (i + 1 == len) {
			/* A soft line break at the very end of the body. */
			break;
		}
		int hi = i + 2 < len ? parse_hex(data[i + 1]) : -1;
		int lo = hi >= 0 ? parse_hex(data[i + 2]) : -1;
		if (lo < 0) {
			*error_r = xasprintf("invalid quoted-printable escape at "
			    "offset %zu", i);
			return -1;
		}
		strbuf_appendc(out, (char)(hi * 16 + lo));
		i += 3;
	}
	return 0;
}

static size_t
parse_longest_line(const char *data, size_t len)
{
	size_t longest = 0, start = 0;

	while (start <= len) {
		const char *lf = memchr(data + start, '\n', len - start);
		size_t end = lf != NULL ? (size_t)(lf - data) : len;
		size_t n = end - start;

		if (n > 0 && data[end - 1] == '\r')
			n--;
		if (n > longest)
			longest = n;
		start = end + 1;
	}
	return longest;
}

static int
parse_leaf(const char *body, size_t len, struct mime_entity *entity,
    char **error_r)
{
	struct strbuf out = STRBUF_INIT;
	int ret = 0;

	entity->encoded_line_max = parse_longest_line(body, len);
	if (strcmp(entity->encoding, "base64") == 0)
		ret = parse_decode_base64(body, len, &out, error_r);
	else if (strcmp(entity->encoding, "quoted-printable") == 0)
		ret = parse_decode_qp(body, len, &out, error_r);
	else if (strcmp(entity->encoding, "7bit") == 0 ||
	    strcmp(entity->encoding, "8bit") == 0 ||
	    strcmp(entity->encoding, "binary") == 0)
		strbuf_append(&out, body, len);
	else {
		*error_r = mime_text_error("unknown Content-Transfer-Encoding",
		    entity->encoding, "expected 7bit, 8bit, binary, base64 or "
		    "quoted-printable");
		ret = -1;
	}
	if (ret < 0) {
		strbuf_free(&out);
		return -1;
	}
	entity->body_len = out.len;
	entity->body = (unsigned char *)strbuf_detach(&out, NULL);
	return 0;
}

/* Returns the offset of the boundary line "--boundary" that starts at a
 * line start at or after from, with *close_r set for "--boundary--" and
 * *next_r the offset after its CRLF; or (size_t)-1. */
static size_t
parse_find_delimiter(const char *body, size_t len, size_t from,
    const char *boundary, bool *close_r, size_t *next_r)
{
	size_t blen = strlen(boundary);
	size_t i = from;

	while (i + 2 + blen <= len) {
		bool line_start = i == 0 ||
		    (i >= 2 && body[i - 2] == '\r' && body[i - 1] == '\n');

		if (line_start && body[i] == '-' && body[i + 1] == '-' &&
		    memcmp(body + i + 2, boundary, blen) == 0) {
			size_t j = i + 2 + blen;

			*close_r = j + 2 <= len && body[j] == '-' && body[j + 1] == '-';
			if (*close_r)
				j += 2;
			while (j < len && (body[j] == ' ' || body[j] == '\t'))
				j++;
			if (j + 2 <= len && body[j] == '\r' && body[j + 1] == '\n') {
				*next_r = j + 2;
				return i;
			}
			if (j == len) {
				*next_r = j;
				return i;
			}
		}

		/* Only a line start can begin a delimiter. */
		const char *lf = memchr(body + i, '\n', len - i);
		if (lf == NULL)
			break;
		i = (size_t)(lf - body) + 1;
	}
	return (size_t)-1;
}

static int
parse_multipart(const char *body, size_t len, const char *boundary,
    unsigned depth, struct mime_entity *entity, char **error_r)
{
	bool close = false;
	size_t next, start, at;

	at = parse_find_delimiter(body, len, 0, boundary, &close, &next);
	if (at == (size_t)-1 || close) {
		*error_r = xasprintf("%s body has no part delimited by "
		    "\"--%s\"", entity->type, boundary);
		return -1;
	}
	while (!close) {
		struct mime_entity *child;

		start = next;
		at = parse_find_delimiter(body, len, start, boundary, &close, &next);
		if (at == (size_t)-1) {
			*error_r = xasprintf("%s body has no close delimiter "
			    "\"--%s--\"", entity->type, boundary);
			return -1;
		}
		entity->children = xreallocarray(entity->children,
		    entity->child_count + 1, sizeof(*entity->children));
		child = &entity->children[entity->child_count++];
		memset(child, 0, sizeof(*child));
		/* The CRLF before a delimiter belongs to the delimiter. */
		if (parse_entity(body + start, at >= start + 2 ? at - 2 - start : 0,
		    depth + 1, child, error_r) < 0)
			return -1;
	}
	return 0;
}

static int
parse_entity(const char *data, size_t len, unsigned depth,
    struct mime_entity *entity, char **error_r)
{
	const char *ctype, *cte;
	size_t body_start;
	char *boundary;
	int ret;

	if (depth > PARSE_DEPTH_MAX) {
		*error_r = xasprintf("entities nested deeper than %d levels",
		    PARSE_DEPTH_MAX);
		return -1;
	}
	if (parse_header(data, len, entity, &body_start, error_r) < 0)
		return -1;
	ctype = mime_entity_field(entity, "Content-Type");
	cte = mime_entity_field(entity, "Content-Transfer-Encoding");
	entity->type = ctype != NULL ? mime_parse_token(ctype) : xstrdup("text/plain");
	entity->encoding = cte != NULL ? mime_parse_token(cte) : xstrdup("7bit");
	if (strchr(entity->type, '/') == NULL) {
		*error_r = mime_text_error("invalid Content-Type", ctype,
		    "expected type/subtype");
		return -1;
	}
	if (strncmp(entity->type, "multipart/", 10) != 0)
		return parse_leaf(data + body_start, len - body_start, entity,
		    error_r);

	boundary = mime_parse_param(ctype, "boundary");
	if (boundary == NULL || *boundary == '\0') {
		free(boundary);
		*error_r = xasprintf("%s has no boundary parameter", entity->type);
		return -1;
	}
	ret = parse_multipart(data + body_start, len - body_start, boundary,
	    depth, entity, error_r);
	free(boundary);
	return ret;
}

int
mime_parse_entity(const char *data, size_t len, struct mime_entity *entity,
    char **error_r)
{
	memset(entity, 0, sizeof(*entity));
	if (parse_entity(data, len, 0, entity, error_r) < 0) {
		mime_entity_clear(entity);
		return -1;
	}
	return 0;
}
