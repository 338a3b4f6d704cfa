/* The parsed forms of header fields in Email creates (RFC 8621 4.1.2):
 * which forms each field allows, reading a JSON value in a form and
 * writing it as a header field. Internal to jmap/email_*.c. */
#ifndef SMIMEGW_JMAP_EMAIL_FORMS_H
#define SMIMEGW_JMAP_EMAIL_FORMS_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "jmap/email.h"
#include "mime/header.h"
#include "util/strbuf.h"

enum email_form {
	EMAIL_FORM_RAW, EMAIL_FORM_TEXT, EMAIL_FORM_ADDRESSES, EMAIL_FORM_GROUPED,
	EMAIL_FORM_MESSAGE_IDS, EMAIL_FORM_DATE, EMAIL_FORM_URLS, EMAIL_FORM_COUNT
};

/* The typed member of a draft that a field fills. */
enum email_role {
	EMAIL_ROLE_NONE, EMAIL_ROLE_ADDRESS, EMAIL_ROLE_SUBJECT, EMAIL_ROLE_DATE,
	EMAIL_ROLE_MESSAGE_ID, EMAIL_ROLE_IN_REPLY_TO, EMAIL_ROLE_REFERENCES
};

/* Rank of the fields that RFC 5322 3.6 does not order: the last. */
#define EMAIL_FORMS_RANK_OTHER 11

struct email_forms_field {
	const char *name;	/* canonical name; NULL for other fields */
	unsigned forms;		/* bit (1 << form) per allowed form */
	int rank;		/* position in the written header */
	enum email_role role;
	int field;		/* enum email_field for EMAIL_ROLE_ADDRESS */
};

/* One header field value read from JSON in some form. */
struct email_forms_value {
	char *text;				/* asRaw, asText */
	struct email_address_list addresses;	/* asAddresses, and the
						 * members of asGroupedAddresses */
	struct mime_address_group *groups;	/* asGroupedAddresses */
	size_t group_count;
	char **strings;				/* asMessageIds, asURLs */
	size_t string_count;
	time_t date;				/* asDate */
	int date_offset;			/* minutes east of UTC */
};

/* Returns "asRaw"... for form. */
const char *email_forms_name(enum email_form form);

/* Parses "asRaw"... into *form_r; returns 0, or -1 for an unknown name. */
int email_forms_parse_name(const char *name, enum email_form *form_r);

/* Returns the rules for field name (case-insensitive). Never NULL: fields
 * that RFC 5322 and RFC 2369 do not define allow every form. */
const struct email_forms_field *email_forms_field(const char *name);

/* Returns the names of the forms in mask separated by ", ", allocated. */
char *email_forms_list(unsigned mask);

/* Reads value in form into *out, which the caller clears with
 * email_forms_value_clear even on failure. Returns 0, or -1 with *error_r
 * an invalidProperties SetError naming prop. */
int email_forms_read(const char *prop, enum email_form form, json_t *value,
    struct email_forms_value *out, json_t **error_r);

void email_forms_value_clear(struct email_forms_value *value);

/* Returns true for a value that writes no field: an empty list of
 * addresses, groups, message ids or URLs. */
bool email_forms_is_empty(enum email_form form, const struct email_forms_value *v);

/* Appends the field "name: value" in form to out. Returns 0, or -1 with
 * *error_r an allocated message from mime/header.h. */
int email_forms_write(const char *name, enum email_form form,
    const struct email_forms_value *v, struct strbuf *out, char **error_r);

/* Parses an RFC 3339 date-time with a time zone offset, such as
 * "2024-05-01T09:30:00+02:00". Returns 0, or -1. */
int email_forms_parse_rfc3339(const char *s, time_t *t_r, int *offset_r);

#endif
