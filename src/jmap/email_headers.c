/* Header fields of an Email create: the convenience and header:NAME
 * properties of the Email and its body parts (RFC 8621 4.1.2, 4.1.3, 4.6),
 * the rule that each field is given once, and the writing of the message
 * header. */
#define _GNU_SOURCE
#include "jmap/email.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jmap/email_forms.h"
#include "mime/date.h"
#include "mime/header.h"
#include "mime/parse.h"
#include "util/xmalloc.h"

/* Rank of Message-ID in the written header (see email_forms.c). */
#define EMAIL_HEADERS_MESSAGE_ID_RANK 8

/* A "header:NAME[:asFORM][:all]" property split into its parts. */
struct email_header_spec {
	char *name;
	enum email_form form;
	bool all;
};

/* The convenience properties and the field and form each stands for. */
static const struct {
	const char *prop;
	const char *name;
	enum email_form form;
} email_headers_convenience[] = {
	{ "from", "From", EMAIL_FORM_ADDRESSES },
	{ "sender", "Sender", EMAIL_FORM_ADDRESSES },
	{ "to", "To", EMAIL_FORM_ADDRESSES },
	{ "cc", "Cc", EMAIL_FORM_ADDRESSES },
	{ "bcc", "Bcc", EMAIL_FORM_ADDRESSES },
	{ "replyTo", "Reply-To", EMAIL_FORM_ADDRESSES },
	{ "subject", "Subject", EMAIL_FORM_TEXT },
	{ "sentAt", "Date", EMAIL_FORM_DATE },
	{ "messageId", "Message-ID", EMAIL_FORM_MESSAGE_IDS },
	{ "inReplyTo", "In-Reply-To", EMAIL_FORM_MESSAGE_IDS },
	{ "references", "References", EMAIL_FORM_MESSAGE_IDS },
};

/* Fields a body part writes from its own properties. */
static const char *const email_headers_part_fields[] = {
	"Content-Type", "Content-Transfer-Encoding", "Content-Disposition",
	"Content-ID", "Content-Language", "Content-Location", "MIME-Version",
};

/* Returns true when s contains a C0 control character other than tab, or
 * DEL: such characters cannot be written into a header field and read back
 * unchanged. */
static bool
email_headers_has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return true;
	}
	return false;
}

int
email_headers_addresses_json(const char *prop, json_t *value,
    struct email_address_list *out, json_t **error_r)
{
	size_t i;
	json_t *item;

	if (!json_is_array(value)) {
		*error_r = email_invalid_property(prop,
		    "%s must be an array of EmailAddress objects", prop);
		return -1;
	}
	out->items = xcalloc(json_array_size(value) + 1, sizeof(*out->items));
	json_array_foreach(value, i, item) {
		json_t *name = json_object_get(item, "name");
		json_t *email = json_object_get(item, "email");
		const char *n;

		if (!json_is_object(item) || !json_is_string(email) ||
		    json_object_size(item) != 1 + (size_t)(name != NULL) ||
		    (name != NULL && !json_is_null(name) && !json_is_string(name))) {
			*error_r = email_invalid_property(prop,
			    "%s[%zu] must be an object with a string \"email\" and an optional string \"name\"",
			    prop, i);
			return -1;
		}
		if (strlen(json_string_value(email)) != json_string_length(email) ||
		    !mime_address_is_valid(json_string_value(email))) {
			*error_r = email_invalid_property(prop,
			    "%s[%zu].email \"%s\" is not a valid email address", prop, i,
			    json_string_value(email));
			return -1;
		}
		n = json_is_string(name) ? json_string_value(name) : NULL;
		if (n != NULL && (strlen(n) != json_string_length(name) ||
		    email_headers_has_control(n))) {
			*error_r = email_invalid_property(prop,
			    "%s[%zu].name contains a control character (line break, NUL or other)",
			    prop, i);
			return -1;
		}
		/* A parser drops the white space around a display name, so it
		 * is dropped here too and the message reads back the same. */
		if (n != NULL) {
			size_t len;
			n += strspn(n, " \t");
			for (len = strlen(n); len > 0 && (n[len - 1] == ' ' || n[len - 1] == '\t'); len--)
				;
			out->items[out->count].name = len > 0 ? xstrndup(n, len) : NULL;
		}
		out->items[out->count].email = xstrdup(json_string_value(email));
		out->count++;
	}
	return 0;
}

static void
email_headers_spec_clear(struct email_header_spec *spec)
{
	free(spec->name);
	spec->name = NULL;
}

/* Splits "header:NAME[:asFORM][:all]"; the form defaults to asRaw. */
static int
email_headers_parse_spec(const char *path, const char *prop,
    struct email_header_spec *spec, json_t **error_r)
{
	const char *rest = prop + strlen("header:");
	const char *colon = strchr(rest, ':');
	char *error = NULL;

	spec->name = xstrndup(rest, colon != NULL ? (size_t)(colon - rest) : strlen(rest));
	spec->form = EMAIL_FORM_RAW;
	spec->all = false;
	if (mime_header_check_name(spec->name, &error) < 0) {
		*error_r = email_invalid_property(path, "%s is not a valid header property: %s",
		    path, error);
		free(error);
		return -1;
	}
	while (colon != NULL) {
		const char *word = colon + 1;
		colon = strchr(word, ':');
		char *token = xstrndup(word, colon != NULL ? (size_t)(colon - word) : strlen(word));
		bool ok;

		if (strcmp(token, "all") == 0) {
			ok = !spec->all && colon == NULL;
			spec->all = true;
		} else {
			ok = !spec->all && strncmp(token, "as", 2) == 0 &&
			    email_forms_parse_name(token, &spec->form) == 0;
		}
		free(token);
		if (!ok) {
			*error_r = email_invalid_property(path,
			    "%s is not a valid header property: expected header:NAME, an optional "
			    ":asRaw, :asText, :asAddresses, :asGroupedAddresses, :asMessageIds, "
			    ":asDate or :asURLs, then an optional :all", path);
			return -1;
		}
	}
	return 0;
}

/* Records that path sets field name; a second property for the same field,
 * in any form, is invalidProperties naming both (RFC 8621 4.6). */
static int
email_headers_claim(json_t *seen, const char *name, const char *path,
    json_t **error_r)
{
	char *key = xstrdup(name);
	json_t *other;

	for (char *p = key; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	other = json_object_get(seen, key);
	if (other != NULL) {
		*error_r = email_invalid_property(json_string_value(other),
		    "%s and %s both set the header field %s; give each field once, in one form",
		    json_string_value(other), path, name);
		json_array_append_new(json_object_get(*error_r, "properties"), json_string(path));
		free(key);
		return -1;
	}
	json_object_set_new(seen, key, json_string(path));
	free(key);
	return 0;
}

static int
email_headers_check_form(const char *path, const char *name,
    const struct email_forms_field *info, enum email_form form, json_t **error_r)
{
	char *allowed;

	if (info->forms & (1u << form))
		return 0;
	allowed = email_forms_list(info->forms);
	*error_r = email_invalid_property(path,
	    "%s: the header field %s cannot be set in the form :%s; allowed: %s", path,
	    name, email_forms_name(form), allowed);
	free(allowed);
	return -1;
}

/* Returns the raw value with the CRLFs of folding removed. */
static char *
email_headers_unfold(const char *raw)
{
	struct strbuf sb = STRBUF_INIT;

	for (const char *p = raw; *p != '\0'; p++) {
		if (*p != '\r' && *p != '\n')
			strbuf_appendc(&sb, *p);
	}
	return strbuf_detach(&sb, NULL);
}

static void
email_headers_add_list(struct email_draft *draft, enum email_field f,
    struct email_address_list *list)
{
	draft->fields[f] = xreallocarray(draft->fields[f], draft->field_count[f] + 1,
	    sizeof(*draft->fields[f]));
	draft->fields[f][draft->field_count[f]++] = *list;
	memset(list, 0, sizeof(*list));
}

/* Reads the msg-ids "<a@b> <c@d>" of a raw value, comments allowed
 * between them. */
static int
email_headers_raw_msgids(const char *raw, char ***ids_r, size_t *count_r)
{
	const char *p = raw;

	while (*p != '\0') {
		if (*p == ' ' || *p == '\t' || *p == ',') {
			p++;
			continue;
		}
		if (*p == '(') {
			const char *end = strchr(p, ')');
			if (end == NULL)
				return -1;
			p = end + 1;
			continue;
		}
		const char *close = strchr(p, '>');
		if (*p != '<' || close == NULL || close == p + 1)
			return -1;
		*ids_r = xreallocarray(*ids_r, *count_r + 1, sizeof(char *));
		(*ids_r)[(*count_r)++] = xstrndup(p + 1, (size_t)(close - p - 1));
		p = close + 1;
	}
	return *count_r > 0 ? 0 : -1;
}

static void
email_headers_set_ids(char ***ids, size_t *count, const struct email_forms_value *v)
{
	for (size_t i = 0; i < *count; i++)
		free((*ids)[i]);
	free(*ids);
	*ids = xcalloc(v->string_count + 1, sizeof(char *));
	for (*count = 0; *count < v->string_count; (*count)++)
		(*ids)[*count] = xstrdup(v->strings[*count]);
}

/* Fills the typed members of draft from a field given in a raw form. */
static int
email_headers_role_raw(struct email_draft *draft, const char *path,
    const struct email_forms_field *info, const char *raw, json_t **error_r)
{
	char *text = email_headers_unfold(raw), *error = NULL, ***ids;
	struct email_address_list list = { 0 };
	size_t *count;
	int ret = 0;

	switch (info->role) {
	case EMAIL_ROLE_ADDRESS:
		if (mime_address_list_parse(text, &list.items, &list.count, &error) < 0) {
			*error_r = email_invalid_property(path, "%s: %s", path, error);
			free(error);
			ret = -1;
		} else if (list.count > 0) {
			email_headers_add_list(draft, (enum email_field)info->field, &list);
		}
		mime_address_list_free(list.items, list.count);
		break;
	case EMAIL_ROLE_SUBJECT:
		free(draft->subject);
		draft->subject = mime_parse_text(text);
		break;
	case EMAIL_ROLE_DATE:
		draft->has_sent_at = mime_date_parse(text, &draft->sent_at,
		    &draft->sent_at_offset) == 0;
		if (!draft->has_sent_at) {
			*error_r = email_invalid_property(path,
			    "%s \"%s\" is not an RFC 5322 date-time", path, text);
			ret = -1;
		}
		break;
	case EMAIL_ROLE_MESSAGE_ID:
	case EMAIL_ROLE_IN_REPLY_TO:
	case EMAIL_ROLE_REFERENCES:
		ids = info->role == EMAIL_ROLE_MESSAGE_ID ? &draft->message_ids :
		    info->role == EMAIL_ROLE_IN_REPLY_TO ? &draft->in_reply_to : &draft->references;
		count = info->role == EMAIL_ROLE_MESSAGE_ID ? &draft->message_id_count :
		    info->role == EMAIL_ROLE_IN_REPLY_TO ? &draft->in_reply_to_count :
		    &draft->reference_count;
		for (size_t i = 0; i < *count; i++)
			free((*ids)[i]);
		free(*ids);
		*ids = NULL;
		*count = 0;
		if (email_headers_raw_msgids(text, ids, count) < 0) {
			*error_r = email_invalid_property(path,
			    "%s \"%s\" is not a list of <msg-id> values", path, text);
			ret = -1;
		}
		break;
	case EMAIL_ROLE_NONE:
		break;
	}
	free(text);
	return ret;
}

/* Fills the typed members of draft from a field given in a parsed form. */
static void
email_headers_role(struct email_draft *draft, const struct email_forms_field *info,
    struct email_forms_value *v)
{
	switch (info->role) {
	case EMAIL_ROLE_ADDRESS:
		if (v->addresses.count > 0)
			email_headers_add_list(draft, (enum email_field)info->field,
			    &v->addresses);
		break;
	case EMAIL_ROLE_SUBJECT:
		free(draft->subject);
		draft->subject = xstrdup(v->text);
		break;
	case EMAIL_ROLE_DATE:
		draft->has_sent_at = true;
		draft->sent_at = v->date;
		draft->sent_at_offset = v->date_offset;
		break;
	case EMAIL_ROLE_MESSAGE_ID:
		email_headers_set_ids(&draft->message_ids, &draft->message_id_count, v);
		break;
	case EMAIL_ROLE_IN_REPLY_TO:
		email_headers_set_ids(&draft->in_reply_to, &draft->in_reply_to_count, v);
		break;
	case EMAIL_ROLE_REFERENCES:
		email_headers_set_ids(&draft->references, &draft->reference_count, v);
		break;
	case EMAIL_ROLE_NONE:
		break;
	}
}

/* Reads one instance of a field and appends it to out. *written_r is
 * false when the value writes no field, such as an empty list. */
static int
email_headers_render(const char *path, const char *name, enum email_form form,
    json_t *value, struct email_forms_value *v, struct strbuf *out,
    bool *written_r, json_t **error_r)
{
	char *error = NULL;

	*written_r = false;
	if (email_forms_read(path, form, value, v, error_r) < 0)
		return -1;
	if (email_forms_is_empty(form, v))
		return 0;
	if (email_forms_write(name, form, v, out, &error) < 0) {
		*error_r = email_invalid_property(path, "%s: %s", path, error);
		free(error);
		return -1;
	}
	*written_r = true;
	return 0;
}

/* Returns the instances of a header property's value: the array items
 * for :all, else the value itself. */
static int
email_headers_instances(const char *path, const struct email_header_spec *spec,
    json_t *value, json_t **list_r, json_t **error_r)
{
	if (!spec->all) {
		*list_r = json_is_null(value) ? json_array() : json_pack("[O]", value);
		return 0;
	}
	if (!json_is_array(value) && !json_is_null(value)) {
		*error_r = email_invalid_property(path,
		    "%s must be an array with one value per header field", path);
		return -1;
	}
	*list_r = json_is_null(value) ? json_array() : json_incref(value);
	return 0;
}

/* Renders every instance of a top-level field into draft->headers. */
static int
email_headers_add(struct email_draft *draft, const char *path,
    const struct email_header_spec *spec, json_t *value, json_t **error_r)
{
	const struct email_forms_field *info = email_forms_field(spec->name);
	const char *name = info->name != NULL ? info->name : spec->name;
	json_t *instances = NULL, *item;
	size_t i;
	int ret = -1;

	if (strncasecmp(name, "Content-", 8) == 0 || strcasecmp(name, "MIME-Version") == 0) {
		*error_r = email_invalid_property(path,
		    "%s: Content-* fields belong to body parts and MIME-Version is set by the server",
		    path);
		return -1;
	}
	if (email_headers_check_form(path, name, info, spec->form, error_r) < 0 ||
	    email_headers_claim(draft->header_props, name, path, error_r) < 0 ||
	    email_headers_instances(path, spec, value, &instances, error_r) < 0)
		return -1;

	json_array_foreach(instances, i, item) {
		struct email_forms_value v;
		struct strbuf field = STRBUF_INIT;
		bool written;

		if (email_headers_render(path, name, spec->form, item, &v, &field, &written,
		    error_r) < 0 || (written && spec->form == EMAIL_FORM_RAW &&
		    email_headers_role_raw(draft, path, info, v.text, error_r) < 0)) {
			email_forms_value_clear(&v);
			strbuf_free(&field);
			goto out;
		}
		if (written && spec->form != EMAIL_FORM_RAW)
			email_headers_role(draft, info, &v);
		email_forms_value_clear(&v);
		if (!written)
			continue;
		draft->headers = xreallocarray(draft->headers, draft->header_count + 1,
		    sizeof(*draft->headers));
		draft->headers[draft->header_count].name = xstrdup(name);
		draft->headers[draft->header_count].text = strbuf_detach(&field, NULL);
		draft->headers[draft->header_count].rank = info->rank;
		draft->header_count++;
	}
	ret = 0;
out:
	json_decref(instances);
	return ret;
}

int
email_headers_parse_prop(struct email_draft *draft, const char *where,
    const char *prop, json_t *value, json_t **error_r)
{
	struct email_header_spec spec = { NULL, EMAIL_FORM_RAW, false };
	char *path = where != NULL ? xasprintf("%s/%s", where, prop) : xstrdup(prop);
	int ret = -1;

	if (strncmp(prop, "header:", 7) == 0) {
		if (email_headers_parse_spec(path, prop, &spec, error_r) < 0)
			goto out;
	} else {
		for (size_t i = 0; i < sizeof(email_headers_convenience) /
		    sizeof(email_headers_convenience[0]) && spec.name == NULL; i++) {
			if (strcmp(prop, email_headers_convenience[i].prop) == 0) {
				spec.name = xstrdup(email_headers_convenience[i].name);
				spec.form = email_headers_convenience[i].form;
			}
		}
		if (spec.name == NULL || where != NULL) {
			ret = 0;
			goto out;
		}
	}
	if (draft->header_props == NULL)
		draft->header_props = json_object();
	if (email_headers_add(draft, path, &spec, value, error_r) == 0)
		ret = 1;
out:
	email_headers_spec_clear(&spec);
	free(path);
	return ret;
}

/* Adds a rendered field "Name: value\r\n" to part as an extra field. */
static void
email_headers_add_to_part(struct mime_part *part, const char *name,
    const struct strbuf *field)
{
	size_t start = strlen(name) + 1, end = field->len - 2;
	struct mime_param *h;

	part->extra_headers = xreallocarray(part->extra_headers,
	    part->extra_header_count + 1, sizeof(*part->extra_headers));
	h = &part->extra_headers[part->extra_header_count++];
	h->name = xstrdup(name);
	h->value = xstrndup(field->data + start, end - start);
}

int
email_headers_parse_part_prop(const char *where, const char *prop,
    json_t *value, json_t *seen, struct mime_part *part, json_t **error_r)
{
	struct email_header_spec spec = { NULL, EMAIL_FORM_RAW, false };
	char *path = xasprintf("%s/%s", where, prop);
	const struct email_forms_field *info;
	const char *name;
	json_t *instances = NULL, *item;
	size_t i;
	int ret = -1;

	if (email_headers_parse_spec(path, prop, &spec, error_r) < 0)
		goto out;
	info = email_forms_field(spec.name);
	name = info->name != NULL ? info->name : spec.name;
	for (i = 0; i < sizeof(email_headers_part_fields) / sizeof(email_headers_part_fields[0]); i++) {
		if (strcasecmp(name, email_headers_part_fields[i]) == 0) {
			*error_r = email_invalid_property(path,
			    "%s: %s is written from the part's type, charset, disposition, name, cid, "
			    "language and location properties", path, email_headers_part_fields[i]);
			goto out;
		}
	}
	if (email_headers_check_form(path, name, info, spec.form, error_r) < 0 ||
	    email_headers_claim(seen, name, path, error_r) < 0 ||
	    email_headers_instances(path, &spec, value, &instances, error_r) < 0)
		goto out;
	json_array_foreach(instances, i, item) {
		struct email_forms_value v;
		struct strbuf field = STRBUF_INIT;
		bool written;
		int r = email_headers_render(path, name, spec.form, item, &v, &field, &written,
		    error_r);

		if (r == 0 && written)
			email_headers_add_to_part(part, name, &field);
		email_forms_value_clear(&v);
		strbuf_free(&field);
		if (r < 0)
			goto out;
	}
	ret = 0;
out:
	json_decref(instances);
	email_headers_spec_clear(&spec);
	free(path);
	return ret;
}

static bool
email_headers_written(const struct email_draft *draft, const char *name)
{
	for (size_t i = 0; i < draft->header_count; i++) {
		if (strcasecmp(draft->headers[i].name, name) == 0)
			return true;
	}
	return false;
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

char *
email_write_headers(const struct email_draft *draft, bool write_bcc,
    const char *msgid_domain, struct strbuf *out)
{
	bool need_msgid = !email_headers_written(draft, "Message-ID");
	char *generated = NULL;

	if (!email_headers_written(draft, "Date"))
		mime_header_append_date(out, "Date", time(NULL), 0);
	if (need_msgid)
		generated = mime_header_new_msgid(msgid_domain != NULL ? msgid_domain :
		    email_headers_from_domain(draft));

	/* Fields in rank order, and in the order given within a rank. */
	for (int rank = 0; rank <= EMAIL_FORMS_RANK_OTHER; rank++) {
		if (rank == EMAIL_HEADERS_MESSAGE_ID_RANK && need_msgid) {
			const char *ids[1] = { generated };
			char *error = NULL;
			if (mime_header_append_msgids(out, "Message-ID", ids, 1, &error) < 0)
				abort();	/* a generated id is always valid */
		}
		for (size_t i = 0; i < draft->header_count; i++) {
			const struct email_header *h = &draft->headers[i];
			if (h->rank != rank || (!write_bcc && strcasecmp(h->name, "Bcc") == 0))
				continue;
			strbuf_appends(out, h->text);
		}
	}
	strbuf_appends(out, "MIME-Version: 1.0\r\n");
	if (generated != NULL)
		return generated;
	return draft->message_id_count > 0 ? xstrdup(draft->message_ids[0]) : NULL;
}
