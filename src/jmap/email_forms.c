/* The parsed forms of header fields (RFC 8621 4.1.2): which forms a field
 * may be set in, and the writing of one JSON value in a given form as a
 * folded header field. */
#define _GNU_SOURCE
#include "jmap/email_forms.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/header.h"
#include "util/xmalloc.h"

static const char *const email_forms_names[EMAIL_FORM_COUNT] = {
	"asRaw", "asText", "asAddresses", "asGroupedAddresses", "asMessageIds",
	"asDate", "asURLs",
};

#define F(form) (1u << (form))
#define FORMS_ADDRESS (F(EMAIL_FORM_RAW) | F(EMAIL_FORM_ADDRESSES) | \
	F(EMAIL_FORM_GROUPED))

/* The fields of RFC 5322 and RFC 2369 with the forms RFC 8621 allows for
 * them; any other field may be set in every form. rank orders the written
 * header: the fields of RFC 5322 3.6 first, then the rest as given. */
static const struct email_forms_field email_forms_known[] = {
	{ "Date", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_DATE), 0, EMAIL_ROLE_DATE, -1 },
	{ "From", FORMS_ADDRESS, 1, EMAIL_ROLE_ADDRESS, EMAIL_FROM },
	{ "Sender", FORMS_ADDRESS, 2, EMAIL_ROLE_ADDRESS, EMAIL_SENDER },
	{ "Reply-To", FORMS_ADDRESS, 3, EMAIL_ROLE_ADDRESS, EMAIL_REPLY_TO },
	{ "To", FORMS_ADDRESS, 4, EMAIL_ROLE_ADDRESS, EMAIL_TO },
	{ "Cc", FORMS_ADDRESS, 5, EMAIL_ROLE_ADDRESS, EMAIL_CC },
	{ "Bcc", FORMS_ADDRESS, 6, EMAIL_ROLE_ADDRESS, EMAIL_BCC },
	{ "Subject", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_TEXT), 7, EMAIL_ROLE_SUBJECT, -1 },
	{ "Message-ID", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_MESSAGE_IDS), 8,
	  EMAIL_ROLE_MESSAGE_ID, -1 },
	{ "In-Reply-To", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_MESSAGE_IDS), 9,
	  EMAIL_ROLE_IN_REPLY_TO, -1 },
	{ "References", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_MESSAGE_IDS), 10,
	  EMAIL_ROLE_REFERENCES, -1 },
	{ "Comments", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_TEXT), EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "Keywords", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_TEXT), EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "Resent-Date", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_DATE), EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "Resent-From", FORMS_ADDRESS, EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "Resent-Sender", FORMS_ADDRESS, EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "Resent-To", FORMS_ADDRESS, EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "Resent-Cc", FORMS_ADDRESS, EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "Resent-Bcc", FORMS_ADDRESS, EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "Resent-Message-ID", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_MESSAGE_IDS), EMAIL_FORMS_RANK_OTHER,
	  EMAIL_ROLE_NONE, -1 },
	{ "Return-Path", F(EMAIL_FORM_RAW), EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "Received", F(EMAIL_FORM_RAW), EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "List-Help", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_URLS), EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "List-Unsubscribe", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_URLS), EMAIL_FORMS_RANK_OTHER,
	  EMAIL_ROLE_NONE, -1 },
	{ "List-Subscribe", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_URLS), EMAIL_FORMS_RANK_OTHER,
	  EMAIL_ROLE_NONE, -1 },
	{ "List-Post", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_URLS), EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "List-Owner", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_URLS), EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1 },
	{ "List-Archive", F(EMAIL_FORM_RAW) | F(EMAIL_FORM_URLS), EMAIL_FORMS_RANK_OTHER,
	  EMAIL_ROLE_NONE, -1 },
};

static const struct email_forms_field email_forms_other = {
	NULL, (1u << EMAIL_FORM_COUNT) - 1, EMAIL_FORMS_RANK_OTHER, EMAIL_ROLE_NONE, -1
};

const char *
email_forms_name(enum email_form form)
{
	return email_forms_names[form];
}

int
email_forms_parse_name(const char *name, enum email_form *form_r)
{
	for (int f = 0; f < EMAIL_FORM_COUNT; f++) {
		if (strcmp(name, email_forms_names[f]) == 0) {
			*form_r = (enum email_form)f;
			return 0;
		}
	}
	return -1;
}

const struct email_forms_field *
email_forms_field(const char *name)
{
	for (size_t i = 0; i < sizeof(email_forms_known) / sizeof(email_forms_known[0]); i++) {
		if (strcasecmp(name, email_forms_known[i].name) == 0)
			return &email_forms_known[i];
	}
	return &email_forms_other;
}

char *
email_forms_list(unsigned mask)
{
	struct strbuf sb = STRBUF_INIT;

	for (int f = 0; f < EMAIL_FORM_COUNT; f++) {
		if (mask & (1u << f))
			strbuf_printf(&sb, "%s:%s", sb.len > 0 ? ", " : "", email_forms_names[f]);
	}
	return strbuf_detach(&sb, NULL);
}

void
email_forms_value_clear(struct email_forms_value *v)
{
	mime_address_list_free(v->addresses.items, v->addresses.count);
	for (size_t i = 0; i < v->group_count; i++)
		free(v->groups[i].name);
	free(v->groups);
	for (size_t i = 0; i < v->string_count; i++)
		free(v->strings[i]);
	free(v->strings);
	free(v->text);
	memset(v, 0, sizeof(*v));
}

static bool
email_forms_is_text(json_t *value, bool allow_line_breaks)
{
	const char *s = json_string_value(value);

	return s != NULL && strlen(s) == json_string_length(value) &&
	    (allow_line_breaks || strpbrk(s, "\r\n") == NULL);
}

/* String[] for asMessageIds and asURLs. */
static int
email_forms_strings(const char *prop, json_t *value, struct email_forms_value *out,
    json_t **error_r)
{
	size_t i;
	json_t *item;

	if (!json_is_array(value)) {
		*error_r = email_invalid_property(prop, "%s must be an array of strings", prop);
		return -1;
	}
	out->strings = xcalloc(json_array_size(value) + 1, sizeof(char *));
	json_array_foreach(value, i, item) {
		if (!email_forms_is_text(item, false)) {
			*error_r = email_invalid_property(prop,
			    "%s[%zu] must be a string without line breaks or NUL bytes", prop, i);
			return -1;
		}
		out->strings[out->string_count++] = xstrdup(json_string_value(item));
	}
	return 0;
}

/* EmailAddressGroup[] for asGroupedAddresses; the members also go into
 * out->addresses in order. */
static int
email_forms_groups(const char *prop, json_t *value, struct email_forms_value *out,
    json_t **error_r)
{
	size_t i;
	json_t *item;

	if (!json_is_array(value)) {
		*error_r = email_invalid_property(prop,
		    "%s must be an array of EmailAddressGroup objects", prop);
		return -1;
	}
	out->groups = xcalloc(json_array_size(value) + 1, sizeof(*out->groups));
	json_array_foreach(value, i, item) {
		json_t *name = json_object_get(item, "name");
		json_t *addrs = json_object_get(item, "addresses");
		struct email_address_list list = { 0 };
		char *where = xasprintf("%s[%zu].addresses", prop, i);
		int ret;

		if (!json_is_object(item) || json_object_size(item) !=
		    (size_t)(name != NULL) + (addrs != NULL) || addrs == NULL ||
		    (name != NULL && !json_is_null(name) && !email_forms_is_text(name, false))) {
			free(where);
			*error_r = email_invalid_property(prop,
			    "%s[%zu] must be an object with \"addresses\" and an optional string \"name\"",
			    prop, i);
			return -1;
		}
		ret = email_headers_addresses_json(where, addrs, &list, error_r);
		free(where);
		if (ret < 0) {
			mime_address_list_free(list.items, list.count);
			return -1;
		}
		struct mime_address_group *g = &out->groups[out->group_count++];
		g->name = json_is_string(name) ? xstrdup(json_string_value(name)) : NULL;
		g->count = list.count;
		out->addresses.items = xreallocarray(out->addresses.items,
		    out->addresses.count + list.count + 1, sizeof(struct mime_address));
		memcpy(out->addresses.items + out->addresses.count, list.items,
		    list.count * sizeof(struct mime_address));
		out->addresses.count += list.count;
		free(list.items);
	}
	/* The array moves while it grows, so the members are pointed to now. */
	size_t offset = 0;
	for (i = 0; i < out->group_count; i++) {
		out->groups[i].addrs = out->addresses.items + offset;
		offset += out->groups[i].count;
	}
	return 0;
}

int
email_forms_read(const char *prop, enum email_form form, json_t *value,
    struct email_forms_value *out, json_t **error_r)
{
	memset(out, 0, sizeof(*out));
	switch (form) {
	case EMAIL_FORM_RAW:
	case EMAIL_FORM_TEXT:
		if (!email_forms_is_text(value, form == EMAIL_FORM_RAW)) {
			*error_r = email_invalid_property(prop, form == EMAIL_FORM_RAW ?
			    "%s must be a string without NUL bytes" :
			    "%s must be a string without line breaks or NUL bytes", prop);
			return -1;
		}
		out->text = xstrdup(json_string_value(value));
		return 0;
	case EMAIL_FORM_ADDRESSES:
		return email_headers_addresses_json(prop, value, &out->addresses, error_r);
	case EMAIL_FORM_GROUPED:
		return email_forms_groups(prop, value, out, error_r);
	case EMAIL_FORM_MESSAGE_IDS:
	case EMAIL_FORM_URLS:
		return email_forms_strings(prop, value, out, error_r);
	case EMAIL_FORM_DATE:
		if (!json_is_string(value) || email_forms_parse_rfc3339(json_string_value(value),
		    &out->date, &out->date_offset) < 0) {
			*error_r = email_invalid_property(prop,
			    "%s \"%s\" is not an RFC 3339 date-time with a time zone offset", prop,
			    json_is_string(value) ? json_string_value(value) : "");
			return -1;
		}
		return 0;
	case EMAIL_FORM_COUNT:
		break;
	}
	abort();
}

bool
email_forms_is_empty(enum email_form form, const struct email_forms_value *v)
{
	switch (form) {
	case EMAIL_FORM_ADDRESSES:
		return v->addresses.count == 0;
	case EMAIL_FORM_GROUPED:
		return v->group_count == 0;
	case EMAIL_FORM_MESSAGE_IDS:
	case EMAIL_FORM_URLS:
		return v->string_count == 0;
	default:
		return false;
	}
}

int
email_forms_write(const char *name, enum email_form form,
    const struct email_forms_value *v, struct strbuf *out, char **error_r)
{
	switch (form) {
	case EMAIL_FORM_RAW:
		return mime_header_append_raw(out, name, v->text, error_r);
	case EMAIL_FORM_TEXT:
		return mime_header_append_text(out, name, v->text, error_r);
	case EMAIL_FORM_ADDRESSES:
		return mime_header_append_addresses(out, name, v->addresses.items,
		    v->addresses.count, error_r);
	case EMAIL_FORM_GROUPED:
		return mime_header_append_groups(out, name, v->groups, v->group_count,
		    error_r);
	case EMAIL_FORM_MESSAGE_IDS:
		return mime_header_append_msgids(out, name,
		    (const char *const *)v->strings, v->string_count, error_r);
	case EMAIL_FORM_DATE:
		mime_header_append_date(out, name, v->date, v->date_offset);
		return 0;
	case EMAIL_FORM_URLS:
		return mime_header_append_urls(out, name,
		    (const char *const *)v->strings, v->string_count, error_r);
	case EMAIL_FORM_COUNT:
		break;
	}
	abort();
}

int
email_forms_parse_rfc3339(const char *s, time_t *t_r, int *offset_r)
{
	struct tm tm = { 0 };
	int consumed = 0, oh = 0, om = 0;
	const char *p;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
	    consumed != 19)
		return -1;
	p = s + consumed;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1900)
		return -1;
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*offset_r = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
	    sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 && oh < 24 && om < 60) {
		*offset_r = (*p == '-' ? -1 : 1) * (oh * 60 + om);
	} else {
		return -1;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*t_r = timegm(&tm) - (time_t)*offset_r * 60;
	return 0;
}
