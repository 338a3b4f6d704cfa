/* The services that JMAP methods use, shared by all request threads. */
#ifndef SMIMEGW_JMAP_SERVER_H
#define SMIMEGW_JMAP_SERVER_H

#include <jansson.h>

#include "jmap/jmap.h"

struct config;
struct store;
struct cert_resolver;
struct cert_trust;
struct keystore;

struct jmap_server {
	const struct config *config;
	struct store *store;
	struct cert_resolver *resolver;
	struct cert_trust *trust;
	struct keystore *keystore;
	struct jmap_limits limits;
	char *base_url;		/* "http://127.0.0.1:8080", no trailing slash */
	char *session_state;	/* changes when the session object would */
};

/* Returns the Session object (RFC 8620 2) for account: capabilities with the
 * limits, the smime-advanced capability, the one account, primaryAccounts,
 * and the api, upload, download and event source URLs. */
json_t *jmap_session_object(const struct jmap_server *server,
    const struct jmap_account *account);

#endif
