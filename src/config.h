/* The daemon's JSON configuration file, documented option by option in
 * schemas/config.schema.json. Relative paths are resolved against the folder
 * of the configuration file. */
#ifndef SMIMEGW_CONFIG_H
#define SMIMEGW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "certs/directory.h"
#include "certs/revocation.h"
#include "http/server.h"
#include "jmap/jmap.h"
#include "smime/smime.h"
#include "util/log.h"

struct config_bearer {
	char *token;		/* read from tokenFile, never logged */
	char *account;		/* the account's primary address */
	char **senders;		/* addresses it may sign as */
	size_t sender_count;
};

/* Extra sender addresses an account may sign as, beyond its own. */
struct config_sender_grant {
	char *account;		/* login address of the account */
	char **senders;
	size_t sender_count;
};

struct config {
	char *path;

	char *listen_address;
	unsigned listen_port;
	unsigned threads;
	char *public_url;	/* base of the session URLs, no trailing slash */

	enum log_level log_level;
	char *log_file;		/* NULL: stderr */

	char *store_path;
	char *keystore_path;	/* NULL: no signing keys */

	char **trust_anchors;
	size_t trust_anchor_count;
	char **intermediates;
	size_t intermediate_count;
	size_t chain_cache_size;	/* verified chains kept */
	int chain_cache_ttl;		/* seconds a verified chain is reused (0: never) */

	struct directory_config *directories;
	size_t directory_count;

	struct revocation_config revocation;
	struct revocation_policy revocation_policy;
	/* One per directory: its own "revocation" options, else revocation_policy. */
	struct revocation_policy *directory_revocation;

	char *auth_directory;	/* name of the directory for Basic logins, or NULL */
	char *auth_filter;	/* "(|(mail=%s)(uid=%s))" */
	struct config_bearer *bearers;
	size_t bearer_count;
	struct config_sender_grant *grants;
	size_t grant_count;
	struct http_login_limit login_limit;

	struct smime_options smime;
	bool encrypt_to_self;
	bool write_bcc;
	char *message_id_domain;	/* right side of generated Message-IDs */

	struct jmap_limits limits;
};

/* Loads and checks the configuration file at path. Unknown options, wrong
 * types and invalid values are errors naming the option. Returns 0, or -1
 * with *error_r allocated. */
int config_load(const char *path, struct config **config_r, char **error_r);

void config_free(struct config *config);

/* Returns the directory configuration named name, or NULL. */
const struct directory_config *config_find_directory(const struct config *config,
    const char *name);

#endif
