/* A strict parser for the messages and entities that this project writes:
 * header fields, Content-Type parameters (RFC 2045, RFC 2231, RFC 2047),
 * multipart bodies (RFC 2046) and the base64 and quoted-printable transfer
 * encodings. It reads a message back to check what was built; it is not a
 * tolerant parser for mail from elsewhere. */
#ifndef SMIMEGW_MIME_PARSE_H
#define SMIMEGW_MIME_PARSE_H

#include <stdbool.h>
#include <stddef.h>

struct mime_field {
	char *name;	/* as written */
	char *value;	/* raw value after the colon, folding removed */
};

struct mime_entity {
	struct mime_field *fields;
	size_t field_count;

	char *type;		/* lower case "type/subtype"; "text/plain"
				 * when there is no Content-Type field */
	char *encoding;		/* lower case transfer encoding; "7bit"
				 * when there is no such field */
	/* Leaf content after transfer decoding; multipart entities have
	 * none. Line ends stay as they are in the message. */
	unsigned char *body;
	size_t body_len;
	size_t encoded_line_max;	/* longest line of the encoded body */

	struct mime_entity *children;	/* multipart only */
	size_t child_count;
};

/* Parses data (len bytes) as a message or entity: header fields ending at
 * the first empty line, then the body. Every line must end in CRLF.
 * Multipart bodies are split at their boundary and each part is parsed in
 * turn; message/rfc822 bodies are not entered. On success fills *entity
 * and returns 0; on failure returns -1 with *error_r an allocated message
 * naming what is wrong and where, and *entity empty. Free with
 * mime_entity_clear. */
int mime_parse_entity(const char *data, size_t len, struct mime_entity *entity,
    char **error_r);

void mime_entity_clear(struct mime_entity *entity);

/* Returns the raw value of the last field named name (case-insensitive),
 * or NULL. */
const char *mime_entity_field(const struct mime_entity *entity,
    const char *name);

/* Returns how many fields are named name (case-insensitive). */
size_t mime_entity_field_count(const struct mime_entity *entity,
    const char *name);

/* Returns the value of parameter param of a structured field value such as
 * a Content-Type or Content-Disposition value, decoded to UTF-8: RFC 2231
 * continuations and charsets (utf-8, us-ascii) and RFC 2047 encoded-words
 * in quoted values. Returns an allocated string, or NULL when the
 * parameter is absent or cannot be decoded. */
char *mime_parse_param(const char *value, const char *param);

/* Returns the first token of a structured field value in lower case, such
 * as "attachment" for "attachment; filename=a.txt", allocated. */
char *mime_parse_token(const char *value);

/* Returns an unstructured value (Subject) as UTF-8: leading and trailing
 * white space removed and RFC 2047 encoded-words decoded. Allocated. */
char *mime_parse_text(const char *value);

#endif
