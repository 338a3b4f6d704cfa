/* Writing of folded header fields: unstructured text, mailbox lists,
 * msg-id lists, dates and raw values (RFC 5322, RFC 2047, RFC 6532). */
#include "mime/header.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mime/encword.h"
#include "mime/fold.h"
#include "mime/random.h"
#include "mime/text.h"
#include "util/xmalloc.h"

/* White space longer than this around a word is moved into encoded-words,
 * so that a folded line keeps room for the word after it. */
#define HEADER_SPACE_MAX 40

struct header_word {
	size_t space, space_len;	/* white space before the word */
	size_t start, len;
	bool encode;
};

static int
header_value_error(const char *name, const char *value, const char *reason,
    char **error_r)
{
	char *label = xasprintf("invalid %s value", name);

	*error_r = mime_text_error(label, value, reason);
	free(label);
	return -1;
}

static bool
header_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

int
mime_header_check_name(const char *name, char **error_r)
{
	const char *p;

	if (name == NULL || *name == '\0') {
		*error_r = xstrdup("empty header field name");
		return -1;
	}
	for (p = name; *p != '\0'; p++) {
		/* ftext = %d33-57 / %d59-126 */
		if (*p < 33 || *p > 126 || *p == ':') {
			*error_r = mime_text_error("invalid header field name",
			    name, "only printable US-ASCII except \":\" is "
			    "allowed");
			return -1;
		}
	}
	return 0;
}

/* Rejects CR, LF and invalid UTF-8, which no header value may contain. */
static int
header_check_text(const char *name, const char *value, char **error_r)
{
	if (strpbrk(value, "\r\n") != NULL)
		return header_value_error(name, value, "contains CR or LF",
		    error_r);
	if (!mime_text_is_utf8(value, strlen(value)))
		return header_value_error(name, value, "invalid UTF-8",
		    error_r);
	return 0;
}

/* A word is written as an encoded-word when it is not plain printable
 * ASCII, could be taken for an encoded-word, or cannot fit on a line. */
static bool
header_word_needs_encoding(const char *word, size_t len, size_t space_len)
{
	size_t i;

	if (space_len + len > MIME_FOLD_LINE_MAX)
		return true;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)word[i];

		if (c < 0x20 || c >= 0x7f)
			return true;
		if (c == '=' && i + 1 < len && word[i + 1] == '?')
			return true;
	}
	return false;
}

/* Splits value[0, len) into words and the white space before each. */
static struct header_word *
header_split_words(const char *value, size_t len, size_t *count_r)
{
	struct header_word *words = NULL;
	size_t count = 0, cap = 0, i = 0;

	while (i < len) {
		struct header_word w;

		w.space = i;
		while (i < len && header_is_wsp(value[i]))
			i++;
		w.space_len = i - w.space;
		w.start = i;
		while (i < len && !header_is_wsp(value[i]))
			i++;
		w.len = i - w.start;
		w.encode = header_word_needs_encoding(value + w.start, w.len,
		    count == 0 ? 1 : w.space_len);
		if (w.space_len > HEADER_SPACE_MAX) {
			w.encode = true;
			if (count > 0)
				words[count - 1].encode = true;
		}
		if (count == cap) {
			cap = cap > 0 ? cap * 2 : 16;
			words = xreallocarray(words, cap, sizeof(*words));
		}
		words[count++] = w;
	}
	*count_r = count;
	return words;
}

/* Writes the words; each run of words to encode becomes one group of
 * encoded-words that includes the white space inside the run. */
static void
header_write_words(struct mime_fold *fold, const char *value,
    const struct header_word *words, size_t count)
{
	size_t i = 0, j;

	while (i < count) {
		const char *sep = i == 0 ? " " : value + words[i].space;
		size_t sep_len = i == 0 ? 1 : words[i].space_len;
		size_t end;

		if (!words[i].encode) {
			mime_fold_append(fold, sep, sep_len,
			    value + words[i].start, words[i].len);
			i++;
			continue;
		}
		for (j = i; j + 1 < count && words[j + 1].encode; j++)
			;
		end = words[j].start + words[j].len;
		mime_encword_append(fold, sep, sep_len, value + words[i].start,
		    end - words[i].start, "", "");
		i = j + 1;
	}
}

int
mime_header_append_text(struct strbuf *out, const char *name,
    const char *value, char **error_r)
{
	struct header_word *words;
	struct mime_fold fold;
	size_t start, end, count;

	if (mime_header_check_name(name, error_r) < 0)
		return -1;
	if (value == NULL)
		value = "";
	if (header_check_text(name, value, error_r) < 0)
		return -1;

	/* Leading and trailing white space carries no meaning and would
	 * leave a line ending in white space. */
	start = 0;
	end = strlen(value);
	while (start < end && header_is_wsp(value[start]))
		start++;
	while (end > start && header_is_wsp(value[end - 1]))
		end--;

	words = header_split_words(value + start, end - start, &count);
	mime_fold_begin(&fold, out, name);
	header_write_words(&fold, value + start, words, count);
	free(words);
	return mime_fold_end(&fold, error_r);
}

enum header_name_form { HEADER_NAME_ATOMS, HEADER_NAME_QUOTED,
	HEADER_NAME_ENCODED };

/* Chooses how a display name is written: as atoms when it is atext words
 * separated by single spaces, as a quoted-string when it is other printable
 * ASCII that fits on a line, and as encoded-words otherwise. */
static enum header_name_form
header_name_form(const char *name)
{
	size_t len = strlen(name), quoted_len = 2, word_len = 0, i;
	bool atoms = true;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c < 0x20 && c != '\t') || c >= 0x7f)
			return HEADER_NAME_ENCODED;
		if (c == '=' && name[i + 1] == '?')
			return HEADER_NAME_ENCODED;
		quoted_len += c == '"' || c == '\\' ? 2 : 1;
		if (c == ' ' && i > 0 && i + 1 < len && name[i + 1] != ' ') {
			word_len = 0;
			continue;
		}
		word_len++;
		if (!mime_text_is_atext(c) || word_len + 1 > MIME_FOLD_LINE_MAX)
			atoms = false;
	}
	if (atoms)
		return HEADER_NAME_ATOMS;
	if (quoted_len + 1 <= MIME_FOLD_LINE_MAX)
		return HEADER_NAME_QUOTED;
	return HEADER_NAME_ENCODED;
}

static void
header_write_name(struct mime_fold *fold, const char *name)
{
	struct strbuf quoted = STRBUF_INIT;
	const char *p, *space;

	switch (header_name_form(name)) {
	case HEADER_NAME_ATOMS:
		for (p = name; *p != '\0'; p = space) {
			space = strchr(p, ' ');
			if (space == NULL)
				space = p + strlen(p);
			mime_fold_append(fold, " ", 1, p, (size_t)(space - p));
			if (*space == ' ')
				space++;
		}
		break;
	case HEADER_NAME_QUOTED:
		strbuf_appendc(&quoted, '"');
		for (p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				strbuf_appendc(&quoted, '\\');
			strbuf_appendc(&quoted, *p);
		}
		strbuf_appendc(&quoted, '"');
		mime_fold_append(fold, " ", 1, quoted.data, quoted.len);
		strbuf_free(&quoted);
		break;
	case HEADER_NAME_ENCODED:
		mime_encword_append(fold, " ", 1, name, strlen(name), "", "");
		break;
	}
}

static int
header_check_mailbox(const char *name, const struct mime_address *addr,
    char **error_r)
{
	char *label;
	int ret = 0;

	if (mime_address_check(addr->email, error_r) < 0)
		return -1;
	if (addr->name == NULL)
		return 0;
	label = xasprintf("invalid display name in %s", name);
	if (strpbrk(addr->name, "\r\n") != NULL) {
		*error_r = mime_text_error(label, addr->name,
		    "contains CR or LF");
		ret = -1;
	} else if (!mime_text_is_utf8(addr->name, strlen(addr->name))) {
		*error_r = mime_text_error(label, addr->name, "invalid UTF-8");
		ret = -1;
	}
	free(label);
	return ret;
}

static int
header_check_mailboxes(const char *name, const struct mime_address *addrs,
    size_t count, char **error_r)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (header_check_mailbox(name, &addrs[i], error_r) < 0)
			return -1;
	}
	return 0;
}

/* Writes one mailbox followed by trailer ("," between mailboxes, ";" at
 * the end of a group). It may fold between the words of its display name
 * and before its address; the trailer sticks to the address. */
static void
header_write_mailbox(struct mime_fold *fold, const struct mime_address *addr,
    const char *trailer, struct strbuf *word)
{
	strbuf_reset(word);
	if (addr->name != NULL && addr->name[0] != '\0') {
		header_write_name(fold, addr->name);
		strbuf_printf(word, "<%s>", addr->email);
	} else {
		strbuf_appends(word, addr->email);
	}
	strbuf_appends(word, trailer);
	mime_fold_append(fold, " ", 1, word->data, word->len);
}

int
mime_header_append_addresses(struct strbuf *out, const char *name,
    const struct mime_address *addrs, size_t count, char **error_r)
{
	struct strbuf word = STRBUF_INIT;
	struct mime_fold fold;
	size_t i;

	if (mime_header_check_name(name, error_r) < 0)
		return -1;
	if (count == 0) {
		*error_r = xasprintf("no addresses for header field %s", name);
		return -1;
	}
	if (header_check_mailboxes(name, addrs, count, error_r) < 0)
		return -1;

	mime_fold_begin(&fold, out, name);
	for (i = 0; i < count; i++)
		header_write_mailbox(&fold, &addrs[i], i + 1 < count ? "," : "",
		    &word);
	strbuf_free(&word);
	return mime_fold_end(&fold, error_r);
}

static int
header_check_groups(const char *name, const struct mime_address_group *groups,
    size_t count, char **error_r)
{
	struct mime_address group_name = { NULL, "group@invalid" };
	size_t i, members = 0;

	for (i = 0; i < count; i++) {
		if (groups[i].name != NULL) {
			group_name.name = groups[i].name;
			if (groups[i].name[0] == '\0') {
				*error_r = xasprintf("empty group name in header "
				    "field %s", name);
				return -1;
			}
			if (header_check_mailbox(name, &group_name, error_r) < 0)
				return -1;
		}
		if (header_check_mailboxes(name, groups[i].addrs,
		    groups[i].count, error_r) < 0)
			return -1;
		members += groups[i].name != NULL ? 1 : groups[i].count;
	}
	if (members == 0) {
		*error_r = xasprintf("no addresses or groups for header field "
		    "%s", name);
		return -1;
	}
	return 0;
}

int
mime_header_append_groups(struct strbuf *out, const char *name,
    const struct mime_address_group *groups, size_t count, char **error_r)
{
	struct strbuf word = STRBUF_INIT;
	struct mime_fold fold;
	bool first = true;
	size_t i, j;

	if (mime_header_check_name(name, error_r) < 0 ||
	    header_check_groups(name, groups, count, error_r) < 0)
		return -1;

	/* Each item after the first is preceded by "," glued to the end of
	 * the previous one, so the separators never start a line. */
	mime_fold_begin(&fold, out, name);
	for (i = 0; i < count; i++) {
		const struct mime_address_group *g = &groups[i];

		if (g->name == NULL) {
			for (j = 0; j < g->count; j++) {
				if (!first)
					mime_fold_append(&fold, "", 0, ",", 1);
				header_write_mailbox(&fold, &g->addrs[j], "",
				    &word);
				first = false;
			}
			continue;
		}
		if (!first)
			mime_fold_append(&fold, "", 0, ",", 1);
		header_write_name(&fold, g->name);
		if (g->count == 0)
			mime_fold_append(&fold, "", 0, ":;", 2);
		else
			mime_fold_append(&fold, "", 0, ":", 1);
		for (j = 0; j < g->count; j++)
			header_write_mailbox(&fold, &g->addrs[j],
			    j + 1 < g->count ? "," : ";", &word);
		first = false;
	}
	strbuf_free(&word);
	return mime_fold_end(&fold, error_r);
}

/* Returns what is wrong with a URL of a List-* field, or NULL. */
static const char *
header_url_problem(const char *url)
{
	const char *p;

	if (url == NULL || *url == '\0')
		return "empty URL";
	for (p = url; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f)
			return "white space, control or non-ASCII character "
			    "(percent-encode it)";
		if (*p == '<' || *p == '>')
			return "\"<\" or \">\" in the URL";
	}
	if (strchr(url, ':') == NULL)
		return "no scheme such as \"mailto:\" or \"https:\"";
	return NULL;
}

int
mime_header_append_urls(struct strbuf *out, const char *name,
    const char *const *urls, size_t count, char **error_r)
{
	struct strbuf word = STRBUF_INIT;
	struct mime_fold fold;
	const char *problem;
	size_t i;

	if (mime_header_check_name(name, error_r) < 0)
		return -1;
	if (count == 0) {
		*error_r = xasprintf("no URLs for header field %s", name);
		return -1;
	}
	for (i = 0; i < count; i++) {
		problem = header_url_problem(urls[i]);
		if (problem != NULL) {
			*error_r = mime_text_error("invalid URL",
			    urls[i] != NULL ? urls[i] : "", problem);
			return -1;
		}
	}

	mime_fold_begin(&fold, out, name);
	for (i = 0; i < count; i++) {
		strbuf_reset(&word);
		strbuf_printf(&word, "<%s>%s", urls[i], i + 1 < count ? "," : "");
		mime_fold_append(&fold, " ", 1, word.data, word.len);
	}
	strbuf_free(&word);
	return mime_fold_end(&fold, error_r);
}

/* Returns what is wrong with a msg-id given without brackets, or NULL.
 * Both sides of the "@" take atext and dots, a looser dot-atom-text that
 * admits the stray dots of real-world ids, and id-right may be a
 * no-fold-literal "[...]". */
static const char *
header_msgid_problem(const char *id)
{
	const char *at, *p;

	if (id == NULL || *id == '\0')
		return "empty message id";
	if (!mime_text_is_utf8(id, strlen(id)))
		return "invalid UTF-8";
	at = strchr(id, '@');
	if (at == NULL)
		return "missing \"@\"";
	if (at == id)
		return "empty part before \"@\"";
	for (p = id; p < at; p++) {
		if (*p != '.' && !mime_text_is_atext((unsigned char)*p))
			return "invalid character before \"@\"";
	}
	p = at + 1;
	if (*p == '\0')
		return "empty part after \"@\"";
	if (*p == '[') {
		for (p++; *p != ']'; p++) {
			if (*p <= 0x20 || *p == 0x7f || *p == '[' || *p == '\\')
				return "invalid domain literal after \"@\"";
		}
		return p[1] == '\0' ? NULL : "characters after \"]\"";
	}
	for (; *p != '\0'; p++) {
		if (*p != '.' && !mime_text_is_atext((unsigned char)*p))
			return "invalid character after \"@\"";
	}
	return NULL;
}

int
mime_header_append_msgids(struct strbuf *out, const char *name,
    const char *const *ids, size_t count, char **error_r)
{
	struct strbuf word = STRBUF_INIT;
	struct mime_fold fold;
	const char *problem;
	size_t i;

	if (mime_header_check_name(name, error_r) < 0)
		return -1;
	if (count == 0) {
		*error_r = xasprintf("no message ids for header field %s",
		    name);
		return -1;
	}
	for (i = 0; i < count; i++) {
		problem = header_msgid_problem(ids[i]);
		if (problem != NULL) {
			*error_r = mime_text_error("invalid message id",
			    ids[i] != NULL ? ids[i] : "", problem);
			return -1;
		}
	}

	mime_fold_begin(&fold, out, name);
	for (i = 0; i < count; i++) {
		strbuf_reset(&word);
		strbuf_printf(&word, "<%s>", ids[i]);
		mime_fold_append(&fold, " ", 1, word.data, word.len);
	}
	strbuf_free(&word);
	return mime_fold_end(&fold, error_r);
}

void
mime_header_append_date(struct strbuf *out, const char *name, time_t t,
    int utc_offset_minutes)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
		"May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct strbuf value = STRBUF_INIT;
	struct mime_fold fold;
	struct tm tm;
	time_t local;
	int offset = utc_offset_minutes;
	char *error = NULL;

	/* zone = ("+" / "-") 4DIGIT, so hours stop at 99 */
	if (offset <= -100 * 60 || offset >= 100 * 60)
		offset = 0;
	local = t + (time_t)offset * 60;
	if (gmtime_r(&local, &tm) == NULL) {
		local = 0;
		offset = 0;
		gmtime_r(&local, &tm);
	}
	strbuf_printf(&value, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    offset < 0 ? '-' : '+', abs(offset) / 60, abs(offset) % 60);

	mime_fold_begin(&fold, out, name);
	mime_fold_append(&fold, " ", 1, value.data, value.len);
	if (mime_fold_end(&fold, &error) < 0)
		free(error);	/* only a name of about 950 octets gets here */
	strbuf_free(&value);
}

/* Checks a raw value: CR only in CRLF followed by white space, no bare LF,
 * no other control character except tab, every continuation line with
 * something besides white space, and every line at most 998 octets. */
static const char *
header_raw_problem(const char *name, const char *value)
{
	size_t line_len = strlen(name) + 1, i;
	bool content = true;

	for (i = 0; value[i] != '\0'; i++) {
		unsigned char c = (unsigned char)value[i];

		if (c == '\r') {
			if (value[i + 1] != '\n' ||
			    !header_is_wsp(value[i + 2]))
				return "CR or LF that is not folding";
			if (!content)
				return "folded line with only white space";
			i++;
			line_len = 0;
			content = false;
			continue;
		}
		if (c == '\n')
			return "CR or LF that is not folding";
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return "contains a control character";
		if (!header_is_wsp((char)c))
			content = true;
		if (++line_len > MIME_FOLD_HARD_MAX)
			return "line longer than 998 octets";
	}
	if (!content)
		return "folded line with only white space";
	return NULL;
}

int
mime_header_append_raw(struct strbuf *out, const char *name,
    const char *value, char **error_r)
{
	const char *problem;
	size_t i, line_start;

	if (mime_header_check_name(name, error_r) < 0)
		return -1;
	if (value == NULL)
		value = "";
	if (!mime_text_is_utf8(value, strlen(value)))
		return header_value_error(name, value, "invalid UTF-8",
		    error_r);
	problem = header_raw_problem(name, value);
	if (problem != NULL)
		return header_value_error(name, value, problem, error_r);

	/* White space at the end of a line would not survive every transport
	 * and means nothing in a header field, so it is dropped. */
	strbuf_appends(out, name);
	strbuf_appendc(out, ':');
	line_start = out->len;
	for (i = 0; value[i] != '\0'; i++) {
		if (value[i] == '\r') {
			while (out->len > line_start &&
			    header_is_wsp(out->data[out->len - 1]))
				out->len--;
			strbuf_append(out, "\r\n", 2);
			i++;
			line_start = out->len;
			continue;
		}
		strbuf_appendc(out, value[i]);
	}
	while (out->len > line_start && header_is_wsp(out->data[out->len - 1]))
		out->len--;
	strbuf_append(out, "\r\n", 2);
	return 0;
}

char *
mime_header_new_msgid(const char *domain)
{
	struct strbuf id = STRBUF_INIT;
	char *probe;

	mime_random_hex(&id, 16);
	strbuf_appendc(&id, '@');

	/* The domain must keep the id valid; fall back to a name reserved to
	 * never resolve (RFC 2606). */
	probe = xasprintf("x@%s", domain != NULL ? domain : "");
	if (domain != NULL && header_msgid_problem(probe) == NULL)
		strbuf_appends(&id, domain);
	else
		strbuf_appends(&id, "smimegw.invalid");
	free(probe);
	return strbuf_detach(&id, NULL);
}
