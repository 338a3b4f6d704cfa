/* libFuzzer target: an Email/set create object through the message
 * builder: email_draft_parse, email_write_headers, mime_part_render and the
 * read-back check of email_verify_message, as Email/set runs them before
 * S/MIME. Inputs are JSON create objects. A blob uploaded at start-up, in
 * a store under $TMPDIR, has the id that attachments may name. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jmap/email.h"
#include "jmap/server.h"
#include "mime/part.h"
#include "store/store.h"
#include "util/log.h"
#include "util/strbuf.h"

static char fuzz_account_id[] = "A1";
static char fuzz_login[] = "fuzz@example.com";
static struct jmap_server fuzz_server;
static json_t *fuzz_using;

static const struct jmap_account fuzz_account = {
	.id = fuzz_account_id,
	.login = fuzz_login,
	.name = fuzz_login,
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmpdir = getenv("TMPDIR");
	char *root, *error = NULL, *blob_id = NULL;

	(void)argc;
	(void)argv;
	log_set_level(LOG_LEVEL_ERROR);
	if (asprintf(&root, "%s/fuzz_email.XXXXXX",
	    tmpdir != NULL && *tmpdir != '\0' ? tmpdir : "/tmp") < 0)
		abort();
	if (mkdtemp(root) == NULL || store_open(root, &fuzz_server.store, &error) < 0 ||
	    store_blob_put(fuzz_server.store, fuzz_account_id, "attachment\r\n", 12,
	    "text/plain", &blob_id, &error) < 0) {
		fprintf(stderr, "fuzz_email: setting up the store in %s failed: %s\n", root,
		    error != NULL ? error : "mkdtemp failed");
		exit(1);
	}
	/* The seeds name this blob by its id, "G" and the SHA-256 of the
	 * content, which is the same in every run. */
	fprintf(stderr, "fuzz_email: store %s, blob %s\n", root, blob_id);
	free(blob_id);
	free(root);
	fuzz_using = json_pack("[s, s, s]", JMAP_CAP_CORE, JMAP_CAP_MAIL, JMAP_CAP_SMIME);
	return 0;
}

/* Returns true when a "name" member anywhere in value is a string with a
 * control character other than tab. */
static bool
fuzz_has_control_name(json_t *value)
{
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_array(value)) {
		json_array_foreach(value, i, item) {
			if (fuzz_has_control_name(item))
				return true;
		}
	} else if (json_is_object(value)) {
		json_object_foreach(value, key, item) {
			const char *s = json_string_value(item);

			if (strcmp(key, "name") == 0 && s != NULL) {
				for (; *s != '\0'; s++) {
					if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
						return true;
				}
			}
			if (fuzz_has_control_name(item))
				return true;
		}
	}
	return false;
}

/* Returns true when a "header:" property of create has a string value,
 * or an array item, with a folding CRLF. */
static bool
fuzz_has_raw_fold(json_t *create)
{
	const char *key;
	json_t *value, *item;
	size_t i;

	json_object_foreach(create, key, value) {
		if (strncmp(key, "header:", 7) != 0)
			continue;
		if (json_is_string(value) && strstr(json_string_value(value), "\r\n") != NULL)
			return true;
		json_array_foreach(value, i, item) {
			if (json_is_string(item) && strstr(json_string_value(item), "\r\n") != NULL)
				return true;
		}
	}
	return false;
}

/* Builds the message of draft as Email/set does and aborts when it does
 * not read back as requested. */
static void
fuzz_build(const struct email_draft *draft, json_t *create)
{
	struct strbuf header = STRBUF_INIT, entity = STRBUF_INIT;
	char *message_id, *error = NULL;

	message_id = email_write_headers(draft, false, "fuzz.example", &header);
	if (mime_part_render(draft->body, &entity, &error) == 0) {
		size_t header_len = header.len;

		strbuf_append(&header, entity.data, entity.len);
		/* TODO: two known mismatches make Email/set return serverFail:
		 * a display name with a control character other than tab, and
		 * a folded raw value with white space before the CRLF (" a \r\n b"
		 * reads back as "a b"). Drop these exceptions once they are fixed. */
		if (email_verify_message(draft, false, header.data, header.len, header_len,
		    &error) < 0 && !fuzz_has_control_name(create) && !fuzz_has_raw_fold(create)) {
			fprintf(stderr, "fuzz_email: the message does not read back: %s\n", error);
			abort();
		}
	}
	free(error);
	free(message_id);
	strbuf_free(&header);
	strbuf_free(&entity);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jmap_context ctx = {
		.server = &fuzz_server,
		.account = &fuzz_account,
		.request_id = "fuzz",
		.using = fuzz_using,
	};
	struct email_draft draft;
	json_t *create, *error = NULL;

	create = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (create == NULL)
		return 0;
	ctx.created_ids = json_object();
	if (email_draft_parse(&ctx, create, &draft, &error) == 0)
		fuzz_build(&draft, create);
	else if (!json_is_string(json_object_get(error, "type")))
		abort();
	email_draft_clear(&draft);
	json_decref(error);
	json_decref(ctx.created_ids);
	json_decref(create);
	return 0;
}
