/* Email creation shared by Email/set and its helpers: the create object
 * parsed into a draft, the MIME message built from it, and the S/MIME step. */
#ifndef SMIMEGW_JMAP_EMAIL_H
#define SMIMEGW_JMAP_EMAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "jmap/jmap.h"
#include "mime/address.h"
#include "mime/part.h"
#include "util/strbuf.h"

struct email_address_list {
	struct mime_address *items;
	size_t count;
};

/* One address header field, in the order fields are written. */
enum email_field {
	EMAIL_FROM, EMAIL_SENDER, EMAIL_TO, EMAIL_CC, EMAIL_BCC, EMAIL_REPLY_TO,
	EMAIL_FIELD_COUNT
};

/* A header field of the message, written out when the create is parsed:
 * from a convenience property (from, subject, sentAt...) or a header:NAME
 * property. */
struct email_header {
	char *name;	/* field name, canonical capitalisation for the
			 * fields RFC 5322 defines, else as given */
	char *text;	/* the complete folded field "Name: value\r\n" */
	int rank;	/* sort key: RFC 5322 fields first, in a fixed order */
};

/* The parsed create object. Address fields may occur several times only
 * through header:NAME:asAddresses:all and the like, so each field is a
 * list of lists. The typed members repeat the values of headers[] for the
 * signer and recipient checks and the stored Email record. */
struct email_draft {
	struct email_address_list *fields[EMAIL_FIELD_COUNT];
	size_t field_count[EMAIL_FIELD_COUNT];

	char *subject;
	bool has_sent_at;
	time_t sent_at;
	int sent_at_offset;	/* minutes east of UTC */
	char **message_ids;
	size_t message_id_count;
	char **in_reply_to;
	size_t in_reply_to_count;
	char **references;
	size_t reference_count;

	struct email_header *headers;
	size_t header_count;
	/* Lower-case field name -> the property that set it, so that a field
	 * given twice in different forms is rejected. */
	json_t *header_props;

	json_t *mailbox_ids;	/* object id -> true */
	json_t *keywords;	/* object keyword -> true */
	struct mime_part *body;	/* the body entity, before S/MIME */
	bool has_attachment;
	char *preview;

	/* Per-create overrides of the Email/set arguments; -1 = not given. */
	int smime_sign;
	int smime_sign_opaque;
	int smime_encrypt;
};

void email_draft_clear(struct email_draft *draft);

/* Parses the create object (RFC 8621 4.6) into draft, fetching uploaded
 * blobs for body parts. On an invalid create, returns -1 with *error_r set
 * to a SetError object (invalidProperties with "properties", blobNotFound,
 * invalidEmail...). */
int email_draft_parse(struct jmap_context *ctx, json_t *create,
    struct email_draft *draft, json_t **error_r);

/* Handles one header property of a create. It is a convenience property
 * (from, sender, to, cc, bcc, replyTo, subject, sentAt, messageId,
 * inReplyTo, references) or "header:NAME[:asFORM][:all]" of the Email. It
 * may also be a header:NAME property of the root part of bodyStructure,
 * whose fields are the message's; where is then "bodyStructure", else
 * NULL. Renders the field into draft->headers and fills the typed members.
 * Returns 1 when prop was handled, 0 when it is not a header property, and
 * -1 with *error_r an invalidProperties SetError. */
int email_headers_parse_prop(struct email_draft *draft, const char *where,
    const char *prop, json_t *value, json_t **error_r);

/* Handles a "header:NAME..." property of a nested EmailBodyPart at where
 * (such as "bodyStructure/subParts/0"): renders the field and adds it to
 * part's extra header fields. seen maps the part's lower-case field names
 * to the property that set them and is updated. Fields that the part's own
 * properties write (Content-Type, Content-Disposition...) and
 * Content-Transfer-Encoding are rejected. Returns 0, or -1 with *error_r
 * an invalidProperties SetError. */
int email_headers_parse_part_prop(const char *where, const char *prop,
    json_t *value, json_t *seen, struct mime_part *part, json_t **error_r);

/* Parses an EmailAddress[] value into out (which the caller clears with
 * mime_address_list_free even on failure). Display names lose their
 * leading and trailing white space. Returns 0, or -1 with *error_r an
 * invalidProperties SetError naming prop. */
int email_headers_addresses_json(const char *prop, json_t *value,
    struct email_address_list *out, json_t **error_r);

/* Parses textBody, htmlBody and attachments, or bodyStructure, with
 * bodyValues, into draft->body, and sets draft->preview and
 * draft->has_attachment. Returns 0, or -1 with *error_r a SetError. */
int email_body_parse(struct jmap_context *ctx, json_t *create,
    struct email_draft *draft, json_t **error_r);

/* Parses the message (header followed by the body entity) back and checks
 * it against draft. Every line must end in CRLF and have at most 998
 * octets. The entity must be 7-bit without white space at line ends, and
 * encoded bodies must have lines of at most 76 characters. The address
 * fields (Bcc only when written) and the subject must read back as
 * requested, and so must the body parts: types, file names, dispositions,
 * content ids, charsets and content. Returns 0, or -1 with *error_r an
 * allocated message naming the first difference. */
int email_verify_message(const struct email_draft *draft, bool bcc_written,
    const char *message, size_t message_len, size_t header_len,
    char **error_r);

/* Appends the message header fields of draft to out. Date comes first,
 * the current time when the create gave none. The fields follow in the
 * order of RFC 5322 3.6: From, Sender, Reply-To, To, Cc, Bcc (only when
 * write_bcc is set), Subject, Message-ID, In-Reply-To and References. A
 * Message-ID is generated under msgid_domain, else the From domain, when
 * the create gave none. The other fields follow as given, then
 * MIME-Version. Returns the first Message-ID value, allocated. */
char *email_write_headers(const struct email_draft *draft, bool write_bcc,
    const char *msgid_domain, struct strbuf *out);

/* The S/MIME step of one create: checks the signer and every recipient
 * before anything is signed or encrypted, then signs and/or encrypts entity
 * in place. Returns 0, or -1 with *error_r a SetError (invalidEmail,
 * signedSenderNotAllowed, validEncryptionKeyNotFound, serverUnavailable,
 * serverFail). */
int email_smime_apply(struct jmap_context *ctx, const struct email_draft *draft,
    bool sign, bool opaque, bool encrypt, struct strbuf *entity,
    json_t **error_r);

/* Returns a SetError object {"type": type, "description": ...}. */
json_t *email_set_error(const char *type, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Returns an invalidProperties SetError naming property. */
json_t *email_invalid_property(const char *property, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
