/* A writer for one header field that folds its value (RFC 5322 section
 * 2.2.3). Words are appended with the white space that precedes them. A CRLF
 * goes before that white space when the word would take the line past 78
 * characters. Lines longer than 998 octets make the field fail. */
#ifndef SMIMEGW_MIME_FOLD_H
#define SMIMEGW_MIME_FOLD_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

#define MIME_FOLD_LINE_MAX 78
#define MIME_FOLD_HARD_MAX 998

struct mime_fold {
	struct strbuf *out;
	const char *name;	/* field name, for error messages */
	size_t start;		/* out->len before the field began */
	size_t line_len;	/* octets on the current line */
	bool too_long;		/* a line passed MIME_FOLD_HARD_MAX */
};

/* Starts the field by appending "Name:" to out. */
void mime_fold_begin(struct mime_fold *fold, struct strbuf *out,
    const char *name);

/* Appends sep (white space only, may be empty) and then word. When sep is
 * not empty and the line would pass MIME_FOLD_LINE_MAX, a CRLF is written
 * before sep. */
void mime_fold_append(struct mime_fold *fold, const char *sep, size_t sep_len,
    const char *word, size_t word_len);

/* Shorthand for mime_fold_append with a single space before a C string. */
void mime_fold_word(struct mime_fold *fold, const char *word);

/* Returns how many octets a word may have to go on the current line after
 * sep_len octets of white space, or 0 when nothing fits. */
size_t mime_fold_room(const struct mime_fold *fold, size_t sep_len);

/* Ends the field with CRLF and returns 0. If a line passed
 * MIME_FOLD_HARD_MAX, removes the whole field from out and returns -1 with
 * *error_r allocated. */
int mime_fold_end(struct mime_fold *fold, char **error_r);

/* Removes the field written so far from out, for callers that fail midway. */
void mime_fold_abort(struct mime_fold *fold);

#endif
