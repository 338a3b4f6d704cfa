/* Authentication of HTTP requests: Basic through an LDAP bind, or bearer
 * tokens from the configuration. */
#define _GNU_SOURCE
#include "http/auth.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "certs/directory.h"
#include "config.h"
#include "util/hex.h"
#include "util/ldapconn.h"
#include "util/xmalloc.h"

#define AUTH_MAX_CREDENTIALS 1024

struct auth {
	const struct config *config;
	struct directory *dir;
};

struct auth *
auth_new(const struct config *config, struct directory *dir)
{
	struct auth *auth = xcalloc(1, sizeof(*auth));

	auth->config = config;
	auth->dir = dir;
	return auth;
}

void
auth_free(struct auth *auth)
{
	free(auth);
}

char *
auth_account_id(const char *email)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char *lower = xstrdup(email);
	char *id = xmalloc(1 + 24 + 1);

	for (char *p = lower; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	SHA256((const unsigned char *)lower, strlen(lower), digest);
	free(lower);
	id[0] = 'A';
	hex_encode(id + 1, digest, 12, false);
	return id;
}

void
auth_account_free(struct jmap_account *account)
{
	if (account == NULL)
		return;
	free(account->id);
	free(account->login);
	free(account->name);
	for (size_t i = 0; i < account->email_count; i++)
		free(account->emails[i]);
	free(account->emails);
	for (size_t i = 0; i < account->sender_count; i++)
		free(account->senders[i]);
	free(account->senders);
	free(account);
}

static void
auth_add_sender(struct jmap_account *account, const char *email)
{
	for (size_t i = 0; i < account->sender_count; i++) {
		if (strcasecmp(account->senders[i], email) == 0)
			return;
	}
	account->senders = xreallocarray(account->senders, account->sender_count + 1,
	    sizeof(char *));
	account->senders[account->sender_count++] = xstrdup(email);
}

/* Adds the senders that the "senders" option grants to any of the
 * account's addresses. */
static void
auth_add_grants(const struct config *config, struct jmap_account *account)
{
	for (size_t i = 0; i < config->grant_count; i++) {
		const struct config_sender_grant *g = &config->grants[i];
		for (size_t j = 0; j < account->email_count; j++) {
			if (strcasecmp(g->account, account->emails[j]) != 0)
				continue;
			for (size_t k = 0; k < g->sender_count; k++)
				auth_add_sender(account, g->senders[k]);
		}
	}
}

static struct jmap_account *
auth_account_new(const char *login, char **emails, size_t email_count)
{
	struct jmap_account *account = xcalloc(1, sizeof(*account));

	account->login = xstrdup(login);
	account->name = xstrdup(emails[0]);
	account->id = auth_account_id(emails[0]);
	account->emails = xcalloc(email_count, sizeof(char *));
	for (size_t i = 0; i < email_count; i++)
		account->emails[account->email_count++] = xstrdup(emails[i]);
	return account;
}

static enum auth_result
auth_check_bearer(struct auth *auth, const char *token,
    struct jmap_account **account_r, char **error_r)
{
	size_t len = strlen(token);

	for (size_t i = 0; i < auth->config->bearer_count; i++) {
		const struct config_bearer *b = &auth->config->bearers[i];
		if (b->token == NULL || strlen(b->token) != len ||
		    CRYPTO_memcmp(b->token, token, len) != 0)
			continue;

		char *emails[1] = { b->account };
		struct jmap_account *account = auth_account_new(b->account, emails, 1);
		for (size_t k = 0; k < b->sender_count; k++)
			auth_add_sender(account, b->senders[k]);
		*account_r = account;
		return AUTH_OK;
	}
	*error_r = xstrdup("unknown bearer token");
	return AUTH_DENIED;
}

/* Decodes the base64 "user:password" of a Basic header into user and
 * password (allocated). Returns -1 when malformed. */
static int
auth_decode_basic(const char *b64, char **user_r, char **password_r)
{
	size_t len = strlen(b64);
	unsigned char *raw;
	int n;
	char *colon;

	if (len == 0 || len > AUTH_MAX_CREDENTIALS || len % 4 != 0)
		return -1;
	raw = xmalloc(len);
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);
	if (n < 0) {
		free(raw);
		return -1;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (len >= 1 && b64[len - 1] == '=')
		n--;
	if (len >= 2 && b64[len - 2] == '=')
		n--;
	colon = memchr(raw, ':', (size_t)n);
	if (colon == NULL || memchr(raw, '\0', (size_t)n) != NULL) {
		explicit_bzero(raw, len);
		free(raw);
		return -1;
	}
	*user_r = xstrndup((char *)raw, (size_t)(colon - (char *)raw));
	*password_r = xstrndup(colon + 1, (size_t)n - (size_t)(colon + 1 - (char *)raw));
	explicit_bzero(raw, len);
	free(raw);
	return 0;
}

static enum auth_result
auth_check_basic(struct auth *auth, const char *b64,
    struct jmap_account **account_r, char **error_r)
{
	char *user = NULL, *password = NULL, *dn = NULL, **mails = NULL;
	size_t mail_count = 0;
	enum auth_result result = AUTH_DENIED;
	int ret;

	if (auth_decode_basic(b64, &user, &password) < 0) {
		*error_r = xstrdup("malformed Basic credentials");
		return AUTH_DENIED;
	}
	if (auth->dir == NULL) {
		*error_r = xasprintf("user=%s: no directory is configured for Basic logins", user);
		goto out;
	}
	if (user[0] == '\0' || password[0] == '\0') {
		*error_r = xasprintf("user=%s: empty user name or password", user);
		goto out;
	}
	ret = directory_find_user(auth->dir, auth->config->auth_filter, user, &dn,
	    &mails, &mail_count, error_r);
	if (ret < 0) {
		result = AUTH_UNAVAILABLE;
		goto out;
	}
	if (ret == 0 || mail_count == 0) {
		*error_r = xasprintf("user=%s: no single directory entry with a mail address", user);
		goto out;
	}
	ret = ldapconn_check_password(directory_conn_config(auth->dir), dn, password, error_r);
	if (ret < 0) {
		result = AUTH_UNAVAILABLE;
		goto out;
	}
	if (ret == 0) {
		*error_r = xasprintf("user=%s dn=%s: invalid credentials", user, dn);
		goto out;
	}
	*account_r = auth_account_new(user, mails, mail_count);
	for (size_t i = 0; i < mail_count; i++)
		auth_add_sender(*account_r, mails[i]);
	auth_add_grants(auth->config, *account_r);
	result = AUTH_OK;
out:
	free(user);
	if (password != NULL) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	free(dn);
	for (size_t i = 0; i < mail_count; i++)
		free(mails[i]);
	free(mails);
	return result;
}

enum auth_result
auth_check(struct auth *auth, const char *authorization,
    struct jmap_account **account_r, char **error_r)
{
	*account_r = NULL;
	if (authorization == NULL) {
		*error_r = xstrdup("no Authorization header");
		return AUTH_DENIED;
	}
	if (strncasecmp(authorization, "Basic ", 6) == 0)
		return auth_check_basic(auth, authorization + 6, account_r, error_r);
	if (strncasecmp(authorization, "Bearer ", 7) == 0)
		return auth_check_bearer(auth, authorization + 7, account_r, error_r);
	*error_r = xstrdup("unsupported authorization scheme");
	return AUTH_DENIED;
}
