/* The S/MIME step of an Email create: who signs, whether the account may
 * sign as that address, every recipient's certificate, and only then the
 * signing and encryption themselves. */
#define _GNU_SOURCE
#include "jmap/email.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "certs/keystore.h"
#include "certs/resolve.h"
#include "certs/validate.h"
#include "config.h"
#include "jmap/server.h"
#include "smime/smime.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Recipients of one encryption with their certificates. */
struct email_recipients {
	char **emails;
	size_t count;
	STACK_OF(X509) *certs;
};

/* Finds the signing address: the first address of the last Sender field,
 * else of the last From field. More than one address in that field, or more
 * than one such field, is invalidEmail (draft-ietf-jmap-smime-sender-
 * extensions, section 4). */
static int
email_smime_signer_address(const struct email_draft *draft, const char **email_r,
    json_t **error_r)
{
	enum email_field f = draft->field_count[EMAIL_SENDER] > 0 ? EMAIL_SENDER : EMAIL_FROM;
	const char *name = f == EMAIL_SENDER ? "Sender" : "From";
	const struct email_address_list *list;

	if (draft->field_count[f] == 0 || draft->fields[f][0].count == 0) {
		*error_r = email_set_error("invalidEmail",
		    "smimeSign needs a From or Sender address to sign as");
		return -1;
	}
	if (draft->field_count[f] > 1) {
		*error_r = email_set_error("invalidEmail",
		    "smimeSign: the message has %zu %s header fields; exactly one selects the signer",
		    draft->field_count[f], name);
		return -1;
	}
	list = &draft->fields[f][0];
	if (list->count > 1) {
		*error_r = email_set_error("invalidEmail",
		    "smimeSign: the %s header field has %zu addresses; add a Sender field with the one address that signs",
		    name, list->count);
		return -1;
	}
	*email_r = list->items[0].email;
	return 0;
}

/* Returns the address whose certificate keeps the stored copy readable: the
 * first address of the last Sender field, else of the last From field. */
static const char *
email_smime_self_address(const struct email_draft *draft)
{
	enum email_field f = draft->field_count[EMAIL_SENDER] > 0 ? EMAIL_SENDER : EMAIL_FROM;
	size_t n = draft->field_count[f];

	if (n == 0 || draft->fields[f][n - 1].count == 0)
		return NULL;
	return draft->fields[f][n - 1].items[0].email;
}

static bool
email_smime_may_sign(const struct jmap_account *account, const char *email)
{
	for (size_t i = 0; i < account->sender_count; i++) {
		if (mime_address_equal(account->senders[i], email, true))
			return true;
	}
	return false;
}

/* Checks the signing certificate of id, its chain and their revocation
 * status. A revoked or otherwise invalid certificate is
 * signedSenderNotAllowed; a revocation status that could not be obtained
 * under hard-fail is serverUnavailable, so that the client retries. */
static int
email_smime_check_signing_cert(struct jmap_context *ctx, const char *email,
    const struct signing_identity *id, json_t **error_r)
{
	struct cert_resolution res;
	int ret = -1;

	cert_resolver_check_signer(ctx->server->resolver, id->cert, id->chain, email,
	    time(NULL), &res);
	switch (res.status) {
	case RESOLVE_OK:
		if (res.unknown_serial != NULL)
			log_warn("smime revocation unknown, accepted by soft-fail request=%s "
			    "signer=%s serial=%s reason=\"%s\"", ctx->request_id, email,
			    res.unknown_serial, res.unknown_detail);
		ret = 0;
		break;
	case RESOLVE_NO_VALID:
		log_warn("smime sign rejected request=%s signer=%s reason=%s detail=\"%s\"",
		    ctx->request_id, email, cert_reason_name(res.reason),
		    res.detail != NULL ? res.detail : "");
		*error_r = email_set_error("signedSenderNotAllowed",
		    "the signing certificate for %s is not usable: %s (%s)", email,
		    cert_reason_text(res.reason), res.detail != NULL ? res.detail : "");
		break;
	case RESOLVE_UNAVAILABLE:
		log_warn("smime sign unavailable request=%s signer=%s detail=\"%s\"",
		    ctx->request_id, email, res.detail != NULL ? res.detail : "");
		*error_r = email_set_error("serverUnavailable",
		    "the revocation status of the signing certificate for %s could not be "
		    "obtained, retry later: %s", email, res.detail != NULL ? res.detail : "");
		break;
	}
	cert_resolution_clear(&res);
	return ret;
}

/* Checks that the account may sign as email and that a usable key and
 * certificate exist; fills signer (borrowing the identity's key). */
static int
email_smime_check_signer(struct jmap_context *ctx, const char *email,
    struct smime_signer *signer, json_t **error_r)
{
	const struct signing_identity *id = NULL;

	if (!email_smime_may_sign(ctx->account, email)) {
		*error_r = email_set_error("signedSenderNotAllowed",
		    "account %s is not authorised to sign as %s", ctx->account->login, email);
		return -1;
	}
	if (ctx->server->keystore != NULL)
		id = keystore_find(ctx->server->keystore, email);
	if (id == NULL) {
		*error_r = email_set_error("signedSenderNotAllowed",
		    "no signing key and certificate is configured for %s", email);
		return -1;
	}
	if (email_smime_check_signing_cert(ctx, email, id, error_r) < 0)
		return -1;
	signer->key = id->key;
	signer->cert = id->cert;
	signer->chain = id->chain;
	signer->encryption_cert = NULL;
	return 0;
}

static void
email_recipients_add(struct email_recipients *r, const char *email)
{
	r->emails = xreallocarray(r->emails, r->count + 1, sizeof(char *));
	r->emails[r->count++] = xstrdup(email);
}

/* An address with its position, for sorting without losing the order. */
struct email_recipient_key {
	char *folded;	/* the address in lower case */
	size_t index;
};

static int
email_recipient_key_compare(const void *a, const void *b)
{
	const struct email_recipient_key *x = a, *y = b;
	int c = strcmp(x->folded, y->folded);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Removes repeated addresses (compared ignoring case), keeping the first
 * of each in its place. Sorting keeps this O(n log n): a message may have
 * thousands of recipients, and comparing each with every other took
 * seconds. */
static void
email_recipients_dedup(struct email_recipients *r)
{
	struct email_recipient_key *keys = xcalloc(r->count + 1, sizeof(*keys));
	bool *repeated = xcalloc(r->count + 1, sizeof(*repeated));
	size_t kept = 0;

	for (size_t i = 0; i < r->count; i++) {
		keys[i].folded = xstrdup(r->emails[i]);
		for (char *p = keys[i].folded; *p != '\0'; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		keys[i].index = i;
	}
	qsort(keys, r->count, sizeof(*keys), email_recipient_key_compare);
	for (size_t i = 1; i < r->count; i++) {
		if (mime_address_equal(r->emails[keys[i - 1].index], r->emails[keys[i].index], true))
			repeated[keys[i].index] = true;
	}
	for (size_t i = 0; i < r->count; i++) {
		free(keys[i].folded);
		if (repeated[i])
			free(r->emails[i]);
		else
			r->emails[kept++] = r->emails[i];
	}
	r->count = kept;
	free(keys);
	free(repeated);
}

static void
email_recipients_clear(struct email_recipients *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->emails[i]);
	free(r->emails);
	sk_X509_pop_free(r->certs, X509_free);
	memset(r, 0, sizeof(*r));
}

/* Collects the To, Cc and Bcc addresses, and the sender when the
 * configuration encrypts to self. */
static int
email_smime_collect_recipients(struct jmap_context *ctx,
    const struct email_draft *draft, struct email_recipients *r, json_t **error_r)
{
	static const enum email_field fields[] = { EMAIL_TO, EMAIL_CC, EMAIL_BCC };
	const char *self;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		enum email_field f = fields[i];
		for (size_t k = 0; k < draft->field_count[f]; k++) {
			for (size_t j = 0; j < draft->fields[f][k].count; j++)
				email_recipients_add(r, draft->fields[f][k].items[j].email);
		}
	}
	if (r->count == 0) {
		*error_r = email_invalid_property("to",
		    "smimeEncrypt needs at least one recipient in to, cc or bcc");
		return -1;
	}
	if (!ctx->server->config->encrypt_to_self) {
		email_recipients_dedup(r);
		return 0;
	}
	self = email_smime_self_address(draft);
	if (self == NULL) {
		*error_r = email_invalid_property("from",
		    "smimeEncrypt encrypts to the sender as well, so the message needs a From address");
		return -1;
	}
	email_recipients_add(r, self);
	email_recipients_dedup(r);
	return 0;
}

/* Adds the outcome of one recipient to the certificates or to the invalid
 * and unavailable lists. */
static void
email_smime_take_resolution(struct jmap_context *ctx, struct email_recipients *r,
    const char *email, const struct cert_resolution *res, json_t *invalid,
    struct strbuf *invalid_text, struct strbuf *unavailable_text)
{
	if (res->status == RESOLVE_OK) {
		X509_up_ref(res->cert);
		sk_X509_push(r->certs, res->cert);
		if (res->unknown_serial != NULL)
			log_warn("smime revocation unknown, accepted by soft-fail "
			    "request=%s recipient=%s serial=%s reason=\"%s\"",
			    ctx->request_id, email, res->unknown_serial, res->unknown_detail);
	} else if (res->status == RESOLVE_NO_VALID) {
		log_info("smime encrypt rejected request=%s recipient=%s reason=%s detail=\"%s\"",
		    ctx->request_id, email, cert_reason_name(res->reason),
		    res->detail != NULL ? res->detail : "");
		json_array_append_new(invalid, json_pack("{ss ss}", "email", email,
		    "reason", cert_reason_name(res->reason)));
		/* A revoked issuing CA is reported as "revoked" too, so the
		 * detail names the revoked certificate of the chain. */
		strbuf_printf(invalid_text, "%s%s (%s)", invalid_text->len > 0 ? "; " : "",
		    email, res->reason == CERT_REVOKED && res->detail != NULL ? res->detail :
		    cert_reason_text(res->reason));
	} else {
		log_warn("smime encrypt unavailable request=%s recipient=%s detail=\"%s\"",
		    ctx->request_id, email, res->detail != NULL ? res->detail : "");
		strbuf_printf(unavailable_text, "%s%s: %s", unavailable_text->len > 0 ? "; " : "",
		    email, res->detail != NULL ? res->detail :
		    "directory or revocation service unavailable");
	}
}

/* Resolves a certificate for every recipient, with one directory search
 * per directory for all of them. Nothing is encrypted unless all succeed.
 * A permanent failure of any recipient gives validEncryptionKeyNotFound
 * naming each; otherwise an unreachable directory or an unobtainable
 * revocation status gives serverUnavailable, so that clients retry. */
static int
email_smime_resolve_recipients(struct jmap_context *ctx, struct email_recipients *r,
    json_t **error_r)
{
	json_t *invalid = json_array();
	struct strbuf invalid_text = STRBUF_INIT, unavailable_text = STRBUF_INIT;
	struct cert_resolution *results = xcalloc(r->count + 1, sizeof(*results));
	int ret = 0;

	r->certs = sk_X509_new_null();
	cert_resolve_many(ctx->server->resolver, r->emails, r->count, CERT_PURPOSE_ENCRYPT,
	    time(NULL), results);
	for (size_t i = 0; i < r->count; i++) {
		email_smime_take_resolution(ctx, r, r->emails[i], &results[i], invalid,
		    &invalid_text, &unavailable_text);
		cert_resolution_clear(&results[i]);
	}
	free(results);
	if (json_array_size(invalid) > 0) {
		*error_r = email_set_error("validEncryptionKeyNotFound",
		    "no valid encryption certificate for: %s%s%s", strbuf_str(&invalid_text),
		    unavailable_text.len > 0 ? "; not checked because a directory or revocation "
		    "service is unavailable: " : "",
		    strbuf_str(&unavailable_text));
		json_object_set(*error_r, "invalidRecipients", invalid);
		ret = -1;
	} else if (unavailable_text.len > 0) {
		*error_r = email_set_error("serverUnavailable",
		    "certificate lookup or revocation check failed, retry later: %s",
		    strbuf_str(&unavailable_text));
		ret = -1;
	}
	json_decref(invalid);
	strbuf_free(&invalid_text);
	strbuf_free(&unavailable_text);
	return ret;
}

int
email_smime_apply(struct jmap_context *ctx, const struct email_draft *draft,
    bool sign, bool opaque, bool encrypt, struct strbuf *entity, json_t **error_r)
{
	const struct smime_options *options = &ctx->server->config->smime;
	struct smime_signer signer = { 0 };
	struct email_recipients recipients = { 0 };
	struct strbuf out = STRBUF_INIT;
	const char *signer_email = NULL;
	char *error = NULL;
	int ret = -1;

	if (sign && (email_smime_signer_address(draft, &signer_email, error_r) < 0 ||
	    email_smime_check_signer(ctx, signer_email, &signer, error_r) < 0))
		return -1;
	if (encrypt && (email_smime_collect_recipients(ctx, draft, &recipients, error_r) < 0 ||
	    email_smime_resolve_recipients(ctx, &recipients, error_r) < 0))
		goto out;

	if (sign) {
		if (smime_sign(&signer, entity->data, entity->len, opaque, options, &out, &error) < 0)
			goto fail;
		strbuf_free(entity);
		*entity = out;
		memset(&out, 0, sizeof(out));
		log_info("smime signed request=%s signer=%s form=%s", ctx->request_id,
		    signer_email, opaque ? "opaque" : "detached");
	}
	if (encrypt) {
		if (smime_encrypt(recipients.certs, entity->data, entity->len, options, &out, &error) < 0)
			goto fail;
		strbuf_free(entity);
		*entity = out;
		memset(&out, 0, sizeof(out));
		log_info("smime encrypted request=%s recipients=%zu", ctx->request_id, recipients.count);
	}
	ret = 0;
	goto out;
fail:
	log_error("smime failed request=%s error=\"%s\"", ctx->request_id, error);
	*error_r = email_set_error("serverFail", "S/MIME processing failed: %s", error);
	free(error);
out:
	strbuf_free(&out);
	email_recipients_clear(&recipients);
	return ret;
}
