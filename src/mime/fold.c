/* Folding of one header field value into lines of at most 78 characters
 * where white space allows (RFC 5322 section 2.2.3). */
#include "mime/fold.h"

#include <string.h>

#include "util/xmalloc.h"

void
mime_fold_begin(struct mime_fold *fold, struct strbuf *out, const char *name)
{
	fold->out = out;
	fold->name = name;
	fold->start = out->len;
	fold->too_long = false;
	strbuf_appends(out, name);
	strbuf_appendc(out, ':');
	fold->line_len = strlen(name) + 1;
	if (fold->line_len > MIME_FOLD_HARD_MAX)
		fold->too_long = true;
}

void
mime_fold_append(struct mime_fold *fold, const char *sep, size_t sep_len,
    const char *word, size_t word_len)
{
	if (sep_len > 0 &&
	    fold->line_len + sep_len + word_len > MIME_FOLD_LINE_MAX) {
		strbuf_append(fold->out, "\r\n", 2);
		fold->line_len = 0;
	}
	strbuf_append(fold->out, sep, sep_len);
	strbuf_append(fold->out, word, word_len);
	fold->line_len += sep_len + word_len;
	if (fold->line_len > MIME_FOLD_HARD_MAX)
		fold->too_long = true;
}

void
mime_fold_word(struct mime_fold *fold, const char *word)
{
	mime_fold_append(fold, " ", 1, word, strlen(word));
}

size_t
mime_fold_room(const struct mime_fold *fold, size_t sep_len)
{
	size_t used = fold->line_len + sep_len;

	return used >= MIME_FOLD_LINE_MAX ? 0 : MIME_FOLD_LINE_MAX - used;
}

int
mime_fold_end(struct mime_fold *fold, char **error_r)
{
	if (fold->too_long) {
		mime_fold_abort(fold);
		*error_r = xasprintf("header field %s cannot be folded into "
		    "lines of at most %d octets", fold->name,
		    MIME_FOLD_HARD_MAX);
		return -1;
	}
	strbuf_append(fold->out, "\r\n", 2);
	return 0;
}

void
mime_fold_abort(struct mime_fold *fold)
{
	fold->out->len = fold->start;
	if (fold->out->data != NULL)
		fold->out->data[fold->start] = '\0';
}
