/* Writing the header of a message built from an Email create. */
#define _GNU_SOURCE
#include "jmap/email.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mime/header.h"
#include "util/xmalloc.h"

static const char *const email_headers_field_names[EMAIL_FIELD_COUNT] = {
	"From", "Sender", "To", "Cc", "Bcc", "Reply-To"
};
static const char *const email_headers_field_props[EMAIL_FIELD_COUNT] = {
	"from", "sender", "to", "cc", "bcc", "replyTo"
};

static bool
email_headers_has_extra(const struct email_draft *draft, const char *name)
{
	for (size_t i = 0; i < draft->extra_count; i++) {
		if (strcasecmp(draft->extra[i].name, name) == 0)
			return true;
	}
	return false;
}

/* Converts a mime/ error message into an invalidProperties SetError. */
static json_t *
email_headers_error(const char *prop, char *error)
{
	json_t *err = email_invalid_property(prop, "%s: %s", prop, error);

	free(error);
	return err;
}

static int
email_headers_write_fields(const struct email_draft *draft, bool write_bcc,
    struct strbuf *out, json_t **error_r)
{
	static const enum email_field order[] = {
		EMAIL_FROM, EMAIL_SENDER, EMAIL_REPLY_TO, EMAIL_TO, EMAIL_CC, EMAIL_BCC
	};
	char *error = NULL;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum email_field f = order[i];
		if (f == EMAIL_BCC && !write_bcc)
			continue;
		for (size_t k = 0; k < draft->field_count[f]; k++) {
			const struct email_address_list *list = &draft->fields[f][k];
			if (list->count == 0)
				continue;
			if (mime_header_append_addresses(out, email_headers_field_names[f],
			    list->items, list->count, &error) < 0) {
				*error_r = email_headers_error(email_headers_field_props[f], error);
				return -1;
			}
		}
	}
	return 0;
}

/* Returns the domain of the first From address, for Message-ID values. */
static const char *
email_headers_from_domain(const struct email_draft *draft)
{
	const char *at;

	if (draft->field_count[EMAIL_FROM] == 0 || draft->fields[EMAIL_FROM][0].count == 0)
		return "smimegw.invalid";
	at = strrchr(draft->fields[EMAIL_FROM][0].items[0].email, '@');
	return at != NULL && at[1] != '\0' && at[1] != '[' ? at + 1 : "smimegw.invalid";
}

int
email_write_headers(const struct email_draft *draft, bool write_bcc,
    const char *msgid_domain, struct strbuf *out, char **message_id_r,
    json_t **error_r)
{
	char *error = NULL;

	*message_id_r = NULL;
	if (!email_headers_has_extra(draft, "Date")) {
		time_t t = draft->has_sent_at ? draft->sent_at : time(NULL);
		mime_header_append_date(out, "Date", t, draft->has_sent_at ? draft->sent_at_offset : 0);
	}
	if (email_headers_write_fields(draft, write_bcc, out, error_r) < 0)
		return -1;
	if (draft->subject != NULL &&
	    mime_header_append_text(out, "Subject", draft->subject, &error) < 0) {
		*error_r = email_headers_error("subject", error);
		return -1;
	}
	if (draft->message_id_count > 0) {
		*message_id_r = xstrdup(draft->message_ids[0]);
		if (mime_header_append_msgids(out, "Message-ID",
		    (const char *const *)draft->message_ids, draft->message_id_count, &error) < 0) {
			*error_r = email_headers_error("messageId", error);
			return -1;
		}
	} else if (!email_headers_has_extra(draft, "Message-ID")) {
		const char *ids[1];
		*message_id_r = mime_header_new_msgid(msgid_domain != NULL ? msgid_domain :
		    email_headers_from_domain(draft));
		ids[0] = *message_id_r;
		if (mime_header_append_msgids(out, "Message-ID", ids, 1, &error) < 0) {
			*error_r = email_headers_error("messageId", error);
			return -1;
		}
	}
	if (draft->in_reply_to_count > 0 && mime_header_append_msgids(out, "In-Reply-To",
	    (const char *const *)draft->in_reply_to, draft->in_reply_to_count, &error) < 0) {
		*error_r = email_headers_error("inReplyTo", error);
		return -1;
	}
	if (draft->reference_count > 0 && mime_header_append_msgids(out, "References",
	    (const char *const *)draft->references, draft->reference_count, &error) < 0) {
		*error_r = email_headers_error("references", error);
		return -1;
	}
	for (size_t i = 0; i < draft->extra_count; i++) {
		const struct email_extra_header *h = &draft->extra[i];
		int ret = h->raw ? mime_header_append_raw(out, h->name, h->value, &error) :
		    mime_header_append_text(out, h->name, h->value, &error);
		if (ret < 0) {
			char *prop = xasprintf("header:%s", h->name);
			*error_r = email_headers_error(prop, error);
			free(prop);
			return -1;
		}
	}
	strbuf_appends(out, "MIME-Version: 1.0\r\n");
	return 0;
}
