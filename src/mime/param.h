/* Content-Type and Content-Disposition parameters (RFC 2045 section 5.1,
 * RFC 2231, RFC 2183), written into a folded header field. */
#ifndef SMIMEGW_MIME_PARAM_H
#define SMIMEGW_MIME_PARAM_H

#include <stdbool.h>

#include "mime/fold.h"

enum mime_param_style {
	MIME_PARAM_PLAIN,	/* token or quoted-string; printable ASCII */
	MIME_PARAM_RFC2231,	/* UTF-8: name*=utf-8''..., continued */
	MIME_PARAM_RFC2047,	/* UTF-8: name="=?utf-8?...?=", old clients */
};

/* Appends the parameter name=value (name a token, value valid UTF-8) after
 * a space where the field may fold, followed by ";" unless last is set.
 * Printable ASCII that fits on one line is always written as a token or a
 * quoted-string; other values use the given style, and MIME_PARAM_PLAIN
 * values must be printable ASCII. */
void mime_param_append(struct mime_fold *fold, const char *name,
    const char *value, enum mime_param_style style, bool last);

#endif
