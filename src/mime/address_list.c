/* Parsing of RFC 5322 address-lists (section 3.4, with the obsolete forms of
 * section 4.4 that real headers still carry) into mailboxes. */
#include "mime/address.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/encword.h"
#include "mime/text.h"
#include "util/strbuf.h"
#include "util/xmalloc.h"

enum alist_kind {
	ALIST_ATOM,	/* 1*atext, or a whole encoded-word */
	ALIST_QUOTED,	/* quoted-string, text without quotes and escapes */
	ALIST_LITERAL,	/* domain-literal including the brackets */
	ALIST_SPECIAL,	/* one of , : ; < > @ . */
	ALIST_END,
};

struct alist_token {
	enum alist_kind kind;
	struct strbuf text;
	bool space_before;	/* white space or a comment precedes it */
	char *comment_after;	/* first comment right after it, or NULL */
};

struct alist_parser {
	const char *input;
	struct alist_token *tokens;
	size_t count, cap, pos;
	struct mime_address *list;
	size_t list_count, list_cap;
	char *error;
};

static int
alist_fail(struct alist_parser *p, const char *reason)
{
	if (p->error == NULL)
		p->error = mime_text_error("invalid address list", p->input,
		    reason);
	return -1;
}

static struct alist_token *
alist_push(struct alist_parser *p, enum alist_kind kind, bool space_before)
{
	struct alist_token *t;

	if (p->count == p->cap) {
		p->cap = p->cap > 0 ? p->cap * 2 : 16;
		p->tokens = xreallocarray(p->tokens, p->cap,
		    sizeof(*p->tokens));
	}
	t = &p->tokens[p->count++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->space_before = space_before;
	return t;
}

/* Scans a comment starting at s[0] == '(' (nested comments and
 * quoted-pairs allowed); returns its length, or 0 when unterminated. */
static size_t
alist_scan_comment(const char *s, struct strbuf *text)
{
	size_t i = 1, depth = 1;

	while (s[i] != '\0') {
		if (s[i] == '\\' && s[i + 1] != '\0') {
			strbuf_appendc(text, s[i + 1]);
			i += 2;
			continue;
		}
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
		strbuf_appendc(text, s[i]);
		i++;
	}
	return 0;
}

/* Scans a quoted-string at s[0] == '"' into text, unfolding it; returns its
 * length, or 0 when unterminated. */
static size_t
alist_scan_quoted(const char *s, struct strbuf *text)
{
	size_t i = 1;

	strbuf_append(text, "", 0);
	while (s[i] != '\0' && s[i] != '"') {
		if (s[i] == '\\' && s[i + 1] != '\0')
			i++;
		else if (s[i] == '\r' || s[i] == '\n') {
			i++;
			continue;
		}
		strbuf_appendc(text, s[i]);
		i++;
	}
	return s[i] == '"' ? i + 1 : 0;
}

static size_t
alist_scan_literal(const char *s, struct strbuf *text)
{
	size_t i = 1;

	strbuf_appendc(text, '[');
	while (s[i] != '\0' && s[i] != ']') {
		if (s[i] == '\\' && s[i + 1] != '\0')
			i++;
		if (s[i] != '\r' && s[i] != '\n' && s[i] != ' ' && s[i] != '\t')
			strbuf_appendc(text, s[i]);
		i++;
	}
	if (s[i] != ']')
		return 0;
	strbuf_appendc(text, ']');
	return i + 1;
}

static size_t
alist_scan_atom(const char *s, size_t len)
{
	size_t i;

	/* An encoded-word is one atom even when its text has "." or ",". */
	i = mime_encword_scan(s, len);
	if (i > 0)
		return i;
	while (mime_text_is_atext((unsigned char)s[i]))
		i++;
	return i;
}

static int
alist_unexpected_char(struct alist_parser *p, unsigned char c)
{
	char reason[64];

	if (c < 0x20 || c == 0x7f)
		snprintf(reason, sizeof(reason),
		    "unexpected control character 0x%02x", c);
	else
		snprintf(reason, sizeof(reason), "unexpected character \"%c\"",
		    c);
	return alist_fail(p, reason);
}

/* Skips the comment at s[0] == '(' and returns its length, or 0 when it is
 * unterminated. The first comment after a token is kept on that token for
 * the mailbox name fallback. */
static size_t
alist_take_comment(struct alist_parser *p, const char *s)
{
	struct strbuf comment = STRBUF_INIT;
	struct alist_token *last = p->count > 0 ? &p->tokens[p->count - 1] :
	    NULL;
	size_t n;

	n = alist_scan_comment(s, &comment);
	if (n > 0 && last != NULL && last->comment_after == NULL)
		last->comment_after = strbuf_detach(&comment, NULL);
	strbuf_free(&comment);
	return n;
}

/* Splits the input into tokens; comments count as white space. */
static int
alist_tokenize(struct alist_parser *p)
{
	const char *s = p->input;
	size_t len = strlen(s), i = 0, n;
	bool space = false;

	while (s[i] != '\0') {
		struct alist_token *t;
		char c = s[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = true;
			i++;
			continue;
		}
		if (c == '(') {
			n = alist_take_comment(p, s + i);
			if (n == 0)
				return alist_fail(p,
				    "missing \")\" after comment");
			space = true;
			i += n;
			continue;
		}

		if (c == '"') {
			t = alist_push(p, ALIST_QUOTED, space);
			n = alist_scan_quoted(s + i, &t->text);
			if (n == 0)
				return alist_fail(p, "missing closing quote");
		} else if (c == '[') {
			t = alist_push(p, ALIST_LITERAL, space);
			n = alist_scan_literal(s + i, &t->text);
			if (n == 0)
				return alist_fail(p,
				    "missing \"]\" after domain literal");
		} else if (strchr(",:;<>@.", c) != NULL) {
			t = alist_push(p, ALIST_SPECIAL, space);
			strbuf_appendc(&t->text, c);
			n = 1;
		} else {
			n = alist_scan_atom(s + i, len - i);
			if (n == 0)
				return alist_unexpected_char(p,
				    (unsigned char)c);
			t = alist_push(p, ALIST_ATOM, space);
			strbuf_append(&t->text, s + i, n);
		}
		space = false;
		i += n;
	}
	alist_push(p, ALIST_END, space);
	return 0;
}

static const struct alist_token *
alist_peek(const struct alist_parser *p)
{
	return &p->tokens[p->pos];
}

static bool
alist_is(const struct alist_parser *p, char special)
{
	const struct alist_token *t = alist_peek(p);

	return t->kind == ALIST_SPECIAL && t->text.data[0] == special;
}

static bool
alist_is_dot_atom(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
		if (s[i] != '.' && !mime_text_is_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* local-part = word *("." word), which also covers dot-atom and
 * quoted-string; the result is a dot-atom whenever it can be one. */
static int
alist_parse_local_part(struct alist_parser *p, struct strbuf *email)
{
	struct strbuf local = STRBUF_INIT;
	size_t i;

	for (;;) {
		const struct alist_token *t = alist_peek(p);

		if (t->kind != ALIST_ATOM && t->kind != ALIST_QUOTED) {
			strbuf_free(&local);
			return alist_fail(p, "missing local part before \"@\"");
		}
		strbuf_append(&local, t->text.data, t->text.len);
		p->pos++;
		if (!alist_is(p, '.'))
			break;
		strbuf_appendc(&local, '.');
		p->pos++;
	}

	if (alist_is_dot_atom(strbuf_str(&local), local.len)) {
		strbuf_append(email, local.data, local.len);
	} else {
		strbuf_appendc(email, '"');
		for (i = 0; i < local.len; i++) {
			if (local.data[i] == '"' || local.data[i] == '\\')
				strbuf_appendc(email, '\\');
			strbuf_appendc(email, local.data[i]);
		}
		strbuf_appendc(email, '"');
	}
	strbuf_free(&local);
	return 0;
}

/* addr-spec = local-part "@" domain; returns the checked address. */
static char *
alist_parse_addr_spec(struct alist_parser *p)
{
	struct strbuf email = STRBUF_INIT;
	size_t mark;
	char *error;

	if (alist_parse_local_part(p, &email) < 0)
		goto fail;
	if (!alist_is(p, '@')) {
		alist_fail(p, "missing \"@\" in address");
		goto fail;
	}
	strbuf_appendc(&email, '@');
	p->pos++;

	/* Take atoms and dots as they come, so that the address check names
	 * what is wrong with them. */
	mark = email.len;
	if (alist_peek(p)->kind == ALIST_LITERAL) {
		strbuf_append(&email, alist_peek(p)->text.data,
		    alist_peek(p)->text.len);
		p->pos++;
	} else {
		while (alist_peek(p)->kind == ALIST_ATOM || alist_is(p, '.')) {
			strbuf_append(&email, alist_peek(p)->text.data,
			    alist_peek(p)->text.len);
			p->pos++;
		}
	}
	if (email.len == mark) {
		alist_fail(p, "missing domain after \"@\"");
		goto fail;
	}

	if (mime_address_check(email.data, &error) < 0) {
		if (p->error == NULL)
			p->error = error;
		else
			free(error);
		goto fail;
	}
	return strbuf_detach(&email, NULL);
fail:
	strbuf_free(&email);
	return NULL;
}

/* Decodes encoded-words, replaces control characters with U+FFFD and trims
 * white space; returns NULL for an empty name. */
static char *
alist_finish_name(const char *raw, size_t len)
{
	struct strbuf decoded = STRBUF_INIT, name = STRBUF_INIT;
	size_t i, start = 0, end;

	mime_encword_decode(raw, len, &decoded);
	end = decoded.len;
	while (start < end && (decoded.data[start] == ' ' ||
	    decoded.data[start] == '\t'))
		start++;
	while (end > start && (decoded.data[end - 1] == ' ' ||
	    decoded.data[end - 1] == '\t'))
		end--;
	for (i = start; i < end; i++) {
		unsigned char c = (unsigned char)decoded.data[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			mime_text_append_utf8(&name, 0xfffd);
		else
			strbuf_appendc(&name, (char)c);
	}
	strbuf_free(&decoded);
	if (name.len == 0) {
		strbuf_free(&name);
		return NULL;
	}
	return strbuf_detach(&name, NULL);
}

/* Joins the phrase tokens [start, end) with single spaces where white space
 * separated them, then decodes the result. */
static char *
alist_phrase_name(const struct alist_parser *p, size_t start, size_t end)
{
	struct strbuf raw = STRBUF_INIT;
	char *name;
	size_t i;

	for (i = start; i < end; i++) {
		const struct alist_token *t = &p->tokens[i];

		if (i > start && t->space_before)
			strbuf_appendc(&raw, ' ');
		strbuf_append(&raw, t->text.data, t->text.len);
	}
	name = alist_finish_name(strbuf_str(&raw), raw.len);
	strbuf_free(&raw);
	return name;
}

static void
alist_add(struct alist_parser *p, char *name, char *email)
{
	if (p->list_count == p->list_cap) {
		p->list_cap = p->list_cap ? p->list_cap * 2 : 4;
		p->list = xreallocarray(p->list, p->list_cap, sizeof(*p->list));
	}
	p->list[p->list_count].name = name;
	p->list[p->list_count].email = email;
	p->list_count++;
}

/* angle-addr = "<" [obs-route] addr-spec ">", after a phrase
 * [start, end) that is the display name. */
static int
alist_parse_angle_addr(struct alist_parser *p, size_t start, size_t end)
{
	char *email;

	p->pos++;
	if (alist_is(p, '@')) {
		/* obs-route: "@domain,@domain:" before the address */
		while (!alist_is(p, ':')) {
			if (alist_peek(p)->kind == ALIST_END)
				return alist_fail(p,
				    "missing \":\" after route");
			p->pos++;
		}
		p->pos++;
	}
	if (alist_is(p, '>'))
		return alist_fail(p, "empty angle brackets");
	email = alist_parse_addr_spec(p);
	if (email == NULL)
		return -1;
	if (!alist_is(p, '>')) {
		free(email);
		return alist_fail(p, "missing \">\" after address");
	}
	p->pos++;
	alist_add(p, alist_phrase_name(p, start, end), email);
	return 0;
}

/* A bare addr-spec; a comment right after it is the name (RFC 8621
 * section 4.1.2.3). */
static int
alist_parse_bare_addr_spec(struct alist_parser *p)
{
	const char *comment;
	char *email;

	email = alist_parse_addr_spec(p);
	if (email == NULL)
		return -1;
	comment = p->tokens[p->pos - 1].comment_after;
	alist_add(p, comment != NULL ?
	    alist_finish_name(comment, strlen(comment)) : NULL, email);
	return 0;
}

static int alist_parse_address(struct alist_parser *p, bool allow_group);

/* group-list after "display-name :", up to and including ";". */
static int
alist_parse_group_list(struct alist_parser *p)
{
	for (;;) {
		if (alist_peek(p)->kind == ALIST_END)
			return alist_fail(p,
			    "missing \";\" at the end of a group");
		if (alist_is(p, ';')) {
			p->pos++;
			return 0;
		}
		if (alist_is(p, ',')) {
			p->pos++;
			continue;
		}
		if (alist_parse_address(p, false) < 0)
			return -1;
		if (!alist_is(p, ',') && !alist_is(p, ';') &&
		    alist_peek(p)->kind != ALIST_END)
			return alist_fail(p, "missing \",\" between addresses");
	}
}

/* address = mailbox / group; a mailbox is a name-addr or an addr-spec. */
static int
alist_parse_address(struct alist_parser *p, bool allow_group)
{
	size_t start = p->pos, end;

	while (alist_peek(p)->kind == ALIST_ATOM ||
	    alist_peek(p)->kind == ALIST_QUOTED || alist_is(p, '.'))
		p->pos++;
	end = p->pos;

	if (alist_is(p, ':')) {
		if (!allow_group)
			return alist_fail(p, "group inside a group");
		if (end == start)
			return alist_fail(p, "group without a name");
		p->pos++;
		return alist_parse_group_list(p);
	}
	if (alist_is(p, '<'))
		return alist_parse_angle_addr(p, start, end);
	if (end == start && alist_peek(p)->kind == ALIST_SPECIAL) {
		char reason[32];

		snprintf(reason, sizeof(reason), "unexpected \"%c\"",
		    alist_peek(p)->text.data[0]);
		return alist_fail(p, reason);
	}
	p->pos = start;
	return alist_parse_bare_addr_spec(p);
}

static int
alist_parse_list(struct alist_parser *p)
{
	while (alist_peek(p)->kind != ALIST_END) {
		if (alist_is(p, ',')) {
			p->pos++;
			continue;
		}
		if (alist_parse_address(p, true) < 0)
			return -1;
		if (alist_peek(p)->kind == ALIST_END)
			break;
		if (!alist_is(p, ','))
			return alist_fail(p, "missing \",\" between addresses");
		p->pos++;
	}
	return 0;
}

int
mime_address_list_parse(const char *text, struct mime_address **list_r,
    size_t *count_r, char **error_r)
{
	struct alist_parser p;
	size_t i;
	int ret = -1;

	memset(&p, 0, sizeof(p));
	p.input = text != NULL ? text : "";
	if (!mime_text_is_utf8(p.input, strlen(p.input)))
		alist_fail(&p, "invalid UTF-8");
	else if (alist_tokenize(&p) == 0 && alist_parse_list(&p) == 0)
		ret = 0;

	for (i = 0; i < p.count; i++) {
		strbuf_free(&p.tokens[i].text);
		free(p.tokens[i].comment_after);
	}
	free(p.tokens);
	if (ret < 0) {
		mime_address_list_free(p.list, p.list_count);
		*error_r = p.error;
		return -1;
	}
	*list_r = p.list;
	*count_r = p.list_count;
	return 0;
}

void
mime_address_list_free(struct mime_address *list, size_t count)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < count; i++) {
		free(list[i].name);
		free(list[i].email);
	}
	free(list);
}
