/* HTTP authentication: Basic credentials checked by an LDAP bind of the
 * user's directory entry, or a static bearer token from the configuration.
 * Either yields the JMAP account of the caller. */
#ifndef SMIMEGW_HTTP_AUTH_H
#define SMIMEGW_HTTP_AUTH_H

#include "jmap/jmap.h"

struct config;
struct directory;
struct auth;

enum auth_result { AUTH_OK, AUTH_DENIED, AUTH_UNAVAILABLE };

/* Borrows config and dir (dir may be NULL: Basic logins are then denied). */
struct auth *auth_new(const struct config *config, struct directory *dir);
void auth_free(struct auth *auth);

/* Checks an Authorization header value (NULL when absent). On AUTH_OK
 * *account_r is a new account (free with auth_account_free). On
 * AUTH_DENIED or AUTH_UNAVAILABLE *error_r is an allocated reason for the
 * log, which never contains the password or token. */
enum auth_result auth_check(struct auth *auth, const char *authorization,
    struct jmap_account **account_r, char **error_r);

/* Returns the account id for a primary address: "A" and 24 hex digits of
 * the SHA-256 of the lower-cased address. Allocated. */
char *auth_account_id(const char *email);

void auth_account_free(struct jmap_account *account);

#endif
