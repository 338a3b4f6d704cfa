/* Email creation shared by Email/set and its helpers: the create object
 * parsed into a draft, the MIME message built from it, and the S/MIME step. */
#ifndef SMIMEGW_JMAP_EMAIL_H
#define SMIMEGW_JMAP_EMAIL_H

#include <stdbool.h>
#include <stddef.h>

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

/* A header:NAME field given in raw or text form. */
struct email_extra_header {
	char *name;
	char *value;
	bool raw;	/* :asRaw (written as given) rather than :asText */
};

/* The parsed create object. Address fields may occur several times only
 * through header:NAME:asAddresses:all, so each field is a list of lists. */
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
	struct email_extra_header *extra;
	size_t extra_count;

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

/* Parses the create object into draft, fetching uploaded blobs for
 * attachments. On an invalid create, returns -1 with *error_r set to a
 * SetError object (invalidProperties with "properties", blobNotFound,
 * invalidEmail...). */
int email_draft_parse(struct jmap_context *ctx, json_t *create,
    struct email_draft *draft, json_t **error_r);

/* Writes the message header fields of draft (From ... References, header:NAME
 * fields, Date and Message-ID when absent, MIME-Version) into out. Bcc is
 * written only when write_bcc is set. On failure returns -1 with *error_r a
 * SetError. The Message-ID used is returned in *message_id_r (allocated). */
int email_write_headers(const struct email_draft *draft, bool write_bcc,
    const char *msgid_domain, struct strbuf *out, char **message_id_r,
    json_t **error_r);

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
