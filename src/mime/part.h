/* A MIME body part tree and its rendering into a 7-bit-safe entity (RFC 2045,
 * RFC 2046, RFC 2183). Short-line printable ASCII text goes as 7bit, other
 * text as quoted-printable or base64 chosen from its content, and every
 * other leaf as base64. Body lines are at most 76 characters and header
 * lines at most 78 where white space allows. All line ends are CRLF, and no
 * line ends in white space: a message/rfc822 part goes as 7bit with its
 * lines as given only when none does. The rendered entity is what smime/
 * signs or encrypts, byte for byte. */
#ifndef SMIMEGW_MIME_PART_H
#define SMIMEGW_MIME_PART_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

struct mime_param {
	char *name;
	char *value;
};

struct mime_part {
	char *type;		/* "text/plain", "multipart/mixed"; lower case */
	char *charset;		/* text leaves: NULL means "utf-8" */
	char *disposition;	/* "attachment", "inline" or NULL; a filename
				 * without it gets "attachment" */
	char *filename;		/* UTF-8 file name or NULL; RFC 2231 when
				 * needed, and Content-Type name= (RFC 2047) */
	char *cid;		/* Content-ID without angle brackets, or NULL */
	char *language;		/* Content-Language value, or NULL */
	char *location;		/* Content-Location value, or NULL */
	/* Other fields: name and raw value, US-ASCII only (see
	 * mime_header_append_raw). */
	struct mime_param *extra_headers;
	size_t extra_header_count;

	/* Leaf content, decoded. For text/ types in a charset where CR and LF
	 * are single bytes (all but UTF-16, UTF-32, UCS-2 and UCS-4) and for
	 * message/rfc822, bare CR and LF become CRLF when rendered. */
	unsigned char *body;
	size_t body_len;

	struct mime_part *children;	/* multipart only */
	size_t child_count;
};

/* Returns a zeroed part with an allocated copy of type. */
struct mime_part *mime_part_new(const char *type);
/* Appends a new zeroed child with the given type and returns it; the pointer
 * stays valid until the next append to the same parent. */
struct mime_part *mime_part_add_child(struct mime_part *parent, const char *type);
/* Takes a copy of body. */
void mime_part_set_body(struct mime_part *part, const void *body, size_t len);
/* Frees what part owns and part itself; NULL is ignored. */
void mime_part_free(struct mime_part *part);
/* Frees what part owns but not part (for parts embedded in an array). */
void mime_part_clear(struct mime_part *part);

/* Renders part as an entity: its Content-* header fields, an empty line, and
 * the encoded body (multipart bodies with fresh random boundaries that do not
 * occur in the content, an empty preamble and the close delimiter). No
 * MIME-Version field is written. Appends to out and returns 0, or -1 with
 * *error_r an allocated message and out unchanged (invalid type, charset or
 * header value, an extra field that repeats one the renderer writes, a
 * multipart without children or nesting deeper than 32 levels). */
int mime_part_render(const struct mime_part *part, struct strbuf *out,
    char **error_r);

/* Checks the fields of part alone, as mime_part_render would: the type,
 * charset, disposition, file name, Content-ID, Content-Language,
 * Content-Location and extra fields, but not its children. Returns 0, or
 * -1 with *error_r an allocated message naming the value. */
int mime_part_check_fields(const struct mime_part *part, char **error_r);

/* Encoders used by the renderer, exposed for tests. Both append CRLF line
 * ends and keep lines at most 76 characters, and their output ends in CRLF
 * unless it is empty. mime_encode_qp treats input as text with CRLF line
 * ends. It encodes bare CR and LF, white space at a line end and the "F" of
 * a line starting with "From ". When the input does not end in CRLF, its
 * output ends with a soft line break. */
void mime_encode_base64(const unsigned char *data, size_t len, struct strbuf *out);
void mime_encode_qp(const unsigned char *data, size_t len, struct strbuf *out);

#endif
