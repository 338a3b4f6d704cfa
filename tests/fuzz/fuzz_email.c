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

/* Builds the message of draft as Email/set does and aborts when it does
 * not read back as requested. */
static void
fuzz_build(const struct email_draft *draft)
{
	struct strbuf header = STRBUF_INIT, entity = STRBUF_INIT;
	char *message_id, *error = NULL;

	message_id = email_write_headers(draft, false, "fuzz.example", &header);
	if (mime_part_render(draft->body, &entity, &error) == 0) {
		size_t header_len = header.len;

		strbuf_append(&header, entity.data, entity.len);
		if (email_verify_message(draft, false, header.data, header.len, header_len,
		    &error) < 0) {
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
		fuzz_build(&draft);
	else if (!json_is_string(json_object_get(error, "type")))
		abort();
	email_draft_clear(&draft);
	json_decref(error);
	json_decref(ctx.created_ids);
	json_decref(create);
	return 0;
}
