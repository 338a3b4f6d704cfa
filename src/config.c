/* Loading of the JSON configuration file: every option is checked for its
 * type and range, and unknown options are rejected so that typos surface. */
#define _GNU_SOURCE
#include "config.h"

#include <ldap.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "certs/mailaddr.h"
#include "certs/validate.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

#define CONFIG_MAX_FILE_SIZE (1024 * 1024)
#define CONFIG_MAX_SECRET_SIZE 4096

/* Parsing state: the folder for relative paths and the first error. */
struct config_parser {
	char *dir;
	char *error;
};

static void
config_fail(struct config_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
config_fail(struct config_parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->error != NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&p->error, fmt, ap) < 0)
		abort();
	va_end(ap);
}

/* Rejects members of obj other than the NULL-terminated allowed names. */
static void
config_check_keys(struct config_parser *p, const char *where, json_t *obj,
    const char *const *allowed)
{
	const char *key;
	json_t *value;

	json_object_foreach(obj, key, value) {
		size_t i;
		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(key, allowed[i]) == 0)
				break;
		}
		if (allowed[i] == NULL)
			config_fail(p, "unknown option \"%s%s%s\"", where,
			    *where != '\0' ? "." : "", key);
	}
	(void)value;
}

static json_t *
config_object(struct config_parser *p, json_t *parent, const char *where,
    const char *key)
{
	json_t *v = json_object_get(parent, key);

	if (v == NULL)
		return NULL;
	if (!json_is_object(v)) {
		config_fail(p, "option \"%s%s%s\" must be an object", where,
		    *where != '\0' ? "." : "", key);
		return NULL;
	}
	return v;
}

static char *
config_string(struct config_parser *p, json_t *parent, const char *where,
    const char *key, const char *def)
{
	json_t *v = json_object_get(parent, key);

	if (v == NULL)
		return xstrdup(def);
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		config_fail(p, "option \"%s%s%s\" must be a non-empty string",
		    where, *where != '\0' ? "." : "", key);
		return xstrdup(def);
	}
	return xstrdup(json_string_value(v));
}

static char *
config_path(struct config_parser *p, json_t *parent, const char *where,
    const char *key, const char *def)
{
	char *s = config_string(p, parent, where, key, def);
	char *abs;

	if (s == NULL || s[0] == '/')
		return s;
	abs = xasprintf("%s/%s", p->dir, s);
	free(s);
	return abs;
}

static bool
config_bool(struct config_parser *p, json_t *parent, const char *where,
    const char *key, bool def)
{
	json_t *v = json_object_get(parent, key);

	if (v == NULL)
		return def;
	if (!json_is_boolean(v)) {
		config_fail(p, "option \"%s%s%s\" must be true or false", where,
		    *where != '\0' ? "." : "", key);
		return def;
	}
	return json_is_true(v);
}

static long long
config_int(struct config_parser *p, json_t *parent, const char *where,
    const char *key, long long def, long long min, long long max)
{
	json_t *v = json_object_get(parent, key);

	if (v == NULL)
		return def;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		config_fail(p, "option \"%s%s%s\" must be an integer from %lld to %lld",
		    where, *where != '\0' ? "." : "", key, min, max);
		return def;
	}
	return json_integer_value(v);
}

/* Reads an array of non-empty strings; paths are made absolute when
 * is_path is set. */
static char **
config_strings(struct config_parser *p, json_t *parent, const char *where,
    const char *key, bool is_path, size_t *count_r)
{
	json_t *arr = json_object_get(parent, key);
	char **out;
	size_t i;
	json_t *v;

	*count_r = 0;
	if (arr == NULL)
		return NULL;
	if (!json_is_array(arr)) {
		config_fail(p, "option \"%s%s%s\" must be an array of strings",
		    where, *where != '\0' ? "." : "", key);
		return NULL;
	}
	out = xcalloc(json_array_size(arr) + 1, sizeof(*out));
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0) {
			config_fail(p, "option \"%s.%s[%zu]\" must be a non-empty string",
			    where, key, i);
			continue;
		}
		const char *s = json_string_value(v);
		out[(*count_r)++] = is_path && s[0] != '/' ?
		    xasprintf("%s/%s", p->dir, s) : xstrdup(s);
	}
	return out;
}

static void
config_strings_free(char **strings, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(strings[i]);
	free(strings);
}

/* Reads a secret from a file, stripping one trailing newline. The file must
 * not be accessible to group or others, like the keystore's files. */
static char *
config_secret_file(struct config_parser *p, const char *where, const char *path)
{
	struct stat st;
	char *data, *error;
	size_t len;

	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
		config_fail(p, "option \"%s\": %s has mode %04o; a secret must be readable by its owner only (chmod 600)",
		    where, path, (unsigned)(st.st_mode & 07777));
		return NULL;
	}
	if (fs_read_file(path, CONFIG_MAX_SECRET_SIZE, &data, &len, &error) < 0) {
		config_fail(p, "option \"%s\": %s", where, error);
		free(error);
		return NULL;
	}
	if (len > 0 && data[len - 1] == '\n')
		data[--len] = '\0';
	if (len > 0 && data[len - 1] == '\r')
		data[--len] = '\0';
	if (len == 0 || strlen(data) != len) {
		config_fail(p, "option \"%s\": %s is empty or contains a NUL byte",
		    where, path);
		free(data);
		return NULL;
	}
	return data;
}

static const char *const config_directory_keys[] = {
	"name", "uris", "startTls", "caFile", "tlsCertFile", "tlsKeyFile", "bind",
	"base", "scope", "filter",
	"attributes", "timeoutSeconds", "sizeLimit", "domains", "caBase", "caFilter",
	"revocation", "batchSize", "cacheTtlSeconds", "negativeCacheTtlSeconds", "cacheSize",
	"caseSensitiveLocalPart", NULL
};
static const char *const config_bind_keys[] = {
	"method", "dn", "passwordFile", NULL
};
static const char *const config_default_attributes[] = {
	"userSMIMECertificate;binary", "userSMIMECertificate", "userCertificate;binary",
};

static void
config_parse_bind(struct config_parser *p, json_t *dir, const char *where,
    struct ldapconn_config *conn)
{
	json_t *bind = config_object(p, dir, where, "bind");
	char *method, *password_file;

	conn->bind_method = LDAPCONN_BIND_ANONYMOUS;
	if (bind == NULL)
		return;
	config_check_keys(p, where, bind, config_bind_keys);
	method = config_string(p, bind, where, "method", "anonymous");
	if (strcmp(method, "simple") == 0) {
		conn->bind_method = LDAPCONN_BIND_SIMPLE;
		conn->bind_dn = config_string(p, bind, where, "dn", NULL);
		password_file = config_path(p, bind, where, "passwordFile", NULL);
		if (conn->bind_dn == NULL || password_file == NULL)
			config_fail(p, "option \"%s.bind\": method simple needs dn and passwordFile",
			    where);
		else
			conn->bind_password = config_secret_file(p, where, password_file);
		free(password_file);
	} else if (strcmp(method, "sasl-external") == 0) {
		conn->bind_method = LDAPCONN_BIND_SASL_EXTERNAL;
		if (conn->tls_cert_file == NULL)
			config_fail(p, "option \"%s.bind\": method sasl-external needs tlsCertFile and tlsKeyFile",
			    where);
	} else if (strcmp(method, "anonymous") != 0) {
		config_fail(p, "option \"%s.bind.method\" is \"%s\"; expected anonymous, simple or sasl-external",
		    where, method);
	}
	free(method);
}

static int
config_parse_scope(struct config_parser *p, json_t *dir, const char *where)
{
	char *scope = config_string(p, dir, where, "scope", "sub");
	int ret = LDAP_SCOPE_SUBTREE;

	if (strcmp(scope, "base") == 0)
		ret = LDAP_SCOPE_BASE;
	else if (strcmp(scope, "one") == 0)
		ret = LDAP_SCOPE_ONELEVEL;
	else if (strcmp(scope, "sub") != 0)
		config_fail(p, "option \"%s.scope\" is \"%s\"; expected base, one or sub",
		    where, scope);
	free(scope);
	return ret;
}

static void
config_parse_directory(struct config_parser *p, json_t *dir, size_t index,
    struct directory_config *out)
{
	char where[64];

	snprintf(where, sizeof(where), "directories[%zu]", index);
	if (!json_is_object(dir)) {
		config_fail(p, "option \"%s\" must be an object", where);
		return;
	}
	config_check_keys(p, where, dir, config_directory_keys);
	out->name = config_string(p, dir, where, "name", NULL);
	out->conn.uris = config_strings(p, dir, where, "uris", false, &out->conn.uri_count);
	out->conn.starttls = config_bool(p, dir, where, "startTls", false);
	out->conn.ca_file = config_path(p, dir, where, "caFile", NULL);
	out->conn.tls_cert_file = config_path(p, dir, where, "tlsCertFile", NULL);
	out->conn.tls_key_file = config_path(p, dir, where, "tlsKeyFile", NULL);
	if ((out->conn.tls_cert_file == NULL) != (out->conn.tls_key_file == NULL))
		config_fail(p, "option \"%s\": tlsCertFile and tlsKeyFile go together", where);
	out->conn.timeout_seconds = (int)config_int(p, dir, where, "timeoutSeconds", 5, 1, 300);
	config_parse_bind(p, dir, where, &out->conn);
	out->base = config_string(p, dir, where, "base", NULL);
	out->scope = config_parse_scope(p, dir, where);
	out->filter = config_string(p, dir, where, "filter", "(mail=%s)");
	out->attributes = config_strings(p, dir, where, "attributes", false,
	    &out->attribute_count);
	if (out->attribute_count == 0) {
		size_t n = sizeof(config_default_attributes) / sizeof(config_default_attributes[0]);
		free(out->attributes);
		out->attributes = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n; i++)
			out->attributes[i] = xstrdup(config_default_attributes[i]);
		out->attribute_count = n;
	}
	out->size_limit = (int)config_int(p, dir, where, "sizeLimit",
	    DIRECTORY_DEFAULT_SIZE_LIMIT, 1, 100000);
	out->domains = config_strings(p, dir, where, "domains", false, &out->domain_count);
	out->ca_base = config_string(p, dir, where, "caBase", NULL);
	out->ca_filter = config_string(p, dir, where, "caFilter", NULL);
	out->batch_size = (int)config_int(p, dir, where, "batchSize",
	    DIRECTORY_DEFAULT_BATCH_SIZE, 1, 1000);
	out->cache_ttl = (int)config_int(p, dir, where, "cacheTtlSeconds", 300, 0, 86400);
	out->negative_cache_ttl = (int)config_int(p, dir, where, "negativeCacheTtlSeconds",
	    60, 0, 86400);
	out->cache_size = (size_t)config_int(p, dir, where, "cacheSize",
	    DIRECTORY_DEFAULT_CACHE_SIZE, 1, 1000000);
	out->case_sensitive_local_part = config_bool(p, dir, where, "caseSensitiveLocalPart",
	    false);
	for (size_t i = 0; i < out->domain_count; i++) {
		char *error = NULL, *ascii = mailaddr_domain_ascii(out->domains[i], &error);

		if (ascii == NULL)
			config_fail(p, "option \"%s.domains[%zu]\": %s", where, i, error);
		free(ascii);
		free(error);
	}

	if (out->name == NULL)
		config_fail(p, "option \"%s.name\" is missing", where);
	if (out->conn.uri_count == 0)
		config_fail(p, "option \"%s.uris\" is missing or empty", where);
	if (out->base == NULL)
		config_fail(p, "option \"%s.base\" is missing", where);
	if (strstr(out->filter, "%s") == NULL)
		config_fail(p, "option \"%s.filter\" (\"%s\") must contain %%s for the address",
		    where, out->filter);
	if (out->ca_filter != NULL && strstr(out->ca_filter, "%s") == NULL)
		config_fail(p, "option \"%s.caFilter\" (\"%s\") must contain %%s for the "
		    "issuer's common name", where, out->ca_filter);
}

static const char *const config_top_keys[] = {
	"listen", "publicUrl", "logLevel", "logFile", "store", "keystore", "trust",
	"directories", "auth", "senders", "smime", "limits", "messageIdDomain",
	"revocation", NULL
};

/* Reads "policy" and "unknownStatus" of obj into out, with def for what is
 * absent. */
static void
config_parse_revocation_policy(struct config_parser *p, json_t *obj, const char *where,
    const struct revocation_policy *def, struct revocation_policy *out)
{
	char *method = config_string(p, obj, where, "policy",
	    revocation_method_name(def->method));
	char *unknown = config_string(p, obj, where, "unknownStatus",
	    def->soft_fail ? "soft-fail" : "hard-fail");

	*out = *def;
	if (revocation_method_parse(method, &out->method) < 0)
		config_fail(p, "option \"%s.policy\" is \"%s\"; expected ocsp-then-crl, "
		    "ocsp, crl or none", where, method);
	if (strcmp(unknown, "soft-fail") == 0)
		out->soft_fail = true;
	else if (strcmp(unknown, "hard-fail") == 0)
		out->soft_fail = false;
	else
		config_fail(p, "option \"%s.unknownStatus\" is \"%s\"; expected hard-fail "
		    "or soft-fail", where, unknown);
	free(method);
	free(unknown);
}

static void
config_parse_revocation(struct config_parser *p, json_t *root, struct config *c)
{
	static const char *const keys[] = {
		"policy", "unknownStatus", "ocspResponder", "ocspGet", "nonceRequired",
		"clockSkewSeconds", "maxAgeSeconds", "timeoutSeconds", "maxCrlSize",
		"ocspCacheSize", "crlCacheSize", NULL
	};
	const struct revocation_policy def = { REVOCATION_OCSP_THEN_CRL, false };
	json_t *r = config_object(p, root, "", "revocation");
	json_t *empty = json_object();
	struct revocation_config *rc = &c->revocation;

	if (r == NULL)
		r = empty;
	config_check_keys(p, "revocation", r, keys);
	config_parse_revocation_policy(p, r, "revocation", &def, &c->revocation_policy);
	revocation_config_defaults(rc);
	rc->ocsp_responder = config_string(p, r, "revocation", "ocspResponder", NULL);
	if (rc->ocsp_responder != NULL && strncmp(rc->ocsp_responder, "http://", 7) != 0)
		config_fail(p, "option \"revocation.ocspResponder\" (\"%s\") must be an "
		    "http:// URL", rc->ocsp_responder);
	rc->ocsp_get = config_bool(p, r, "revocation", "ocspGet", rc->ocsp_get);
	rc->ocsp_nonce_required = config_bool(p, r, "revocation", "nonceRequired",
	    rc->ocsp_nonce_required);
	rc->clock_skew = (int)config_int(p, r, "revocation", "clockSkewSeconds",
	    rc->clock_skew, 0, 86400);
	rc->max_age = (int)config_int(p, r, "revocation", "maxAgeSeconds", rc->max_age,
	    0, 30 * 86400);
	rc->timeout = (int)config_int(p, r, "revocation", "timeoutSeconds", rc->timeout,
	    1, 300);
	rc->max_crl_size = (size_t)config_int(p, r, "revocation", "maxCrlSize",
	    (long long)rc->max_crl_size, 1024, 1LL << 30);
	rc->ocsp_cache_size = (size_t)config_int(p, r, "revocation", "ocspCacheSize",
	    (long long)rc->ocsp_cache_size, 1, 1000000);
	rc->crl_cache_size = (size_t)config_int(p, r, "revocation", "crlCacheSize",
	    (long long)rc->crl_cache_size, 1, 10000);
	json_decref(empty);
}

/* Reads the "revocation" object of every directory, once the global policy
 * is known. */
static void
config_parse_directory_revocation(struct config_parser *p, json_t *dirs,
    struct config *c)
{
	static const char *const keys[] = { "policy", "unknownStatus", NULL };

	c->directory_revocation = xcalloc(c->directory_count + 1,
	    sizeof(*c->directory_revocation));
	for (size_t i = 0; i < c->directory_count; i++) {
		json_t *d = json_array_get(dirs, i);
		json_t *r = json_is_object(d) ? json_object_get(d, "revocation") : NULL;
		char where[64];

		c->directory_revocation[i] = c->revocation_policy;
		if (r == NULL)
			continue;
		snprintf(where, sizeof(where), "directories[%zu].revocation", i);
		if (!json_is_object(r)) {
			config_fail(p, "option \"%s\" must be an object", where);
			continue;
		}
		config_check_keys(p, where, r, keys);
		config_parse_revocation_policy(p, r, where, &c->revocation_policy,
		    &c->directory_revocation[i]);
	}
}

/* Reads "auth.loginLimit"; auth may be NULL. */
static void
config_parse_login_limit(struct config_parser *p, json_t *auth, struct config *c)
{
	static const char *const keys[] = {
		"maxFailures", "windowSeconds", "trackedAddresses", NULL
	};
	json_t *l = config_object(p, auth, "auth", "loginLimit");
	struct http_login_limit *out = &c->login_limit;

	if (l != NULL)
		config_check_keys(p, "auth.loginLimit", l, keys);
	out->max_failures = (unsigned)config_int(p, l, "auth.loginLimit", "maxFailures",
	    HTTP_LOGIN_DEFAULT_MAX_FAILURES, 1, 1000000);
	out->window_seconds = (unsigned)config_int(p, l, "auth.loginLimit",
	    "windowSeconds", HTTP_LOGIN_DEFAULT_WINDOW_SECONDS, 1, 86400);
	out->tracked_addresses = (size_t)config_int(p, l, "auth.loginLimit",
	    "trackedAddresses", HTTP_LOGIN_DEFAULT_TRACKED_ADDRESSES, 1, 1000000);
}

static void
config_parse_auth(struct config_parser *p, json_t *root, struct config *c)
{
	static const char *const auth_keys[] = {
		"ldap", "bearerTokens", "loginLimit", NULL
	};
	static const char *const ldap_keys[] = { "directory", "filter", NULL };
	static const char *const bearer_keys[] = { "tokenFile", "account", "senders", NULL };
	json_t *auth = config_object(p, root, "", "auth");
	json_t *ldap, *bearers, *b;
	size_t i;

	c->auth_filter = xstrdup("(|(mail=%s)(uid=%s))");
	config_parse_login_limit(p, auth, c);
	if (auth == NULL)
		return;
	config_check_keys(p, "auth", auth, auth_keys);
	ldap = config_object(p, auth, "auth", "ldap");
	if (ldap != NULL) {
		config_check_keys(p, "auth.ldap", ldap, ldap_keys);
		c->auth_directory = config_string(p, ldap, "auth.ldap", "directory", NULL);
		free(c->auth_filter);
		c->auth_filter = config_string(p, ldap, "auth.ldap", "filter",
		    "(|(mail=%s)(uid=%s))");
		if (c->auth_directory != NULL &&
		    config_find_directory(c, c->auth_directory) == NULL)
			config_fail(p, "option \"auth.ldap.directory\" names \"%s\", which is not in \"directories\"",
			    c->auth_directory);
	}
	bearers = json_object_get(auth, "bearerTokens");
	if (bearers == NULL)
		return;
	if (!json_is_array(bearers)) {
		config_fail(p, "option \"auth.bearerTokens\" must be an array");
		return;
	}
	c->bearers = xcalloc(json_array_size(bearers) + 1, sizeof(*c->bearers));
	json_array_foreach(bearers, i, b) {
		char where[64];
		struct config_bearer *out = &c->bearers[c->bearer_count++];

		snprintf(where, sizeof(where), "auth.bearerTokens[%zu]", i);
		if (!json_is_object(b)) {
			config_fail(p, "option \"%s\" must be an object", where);
			continue;
		}
		config_check_keys(p, where, b, bearer_keys);
		char *file = config_path(p, b, where, "tokenFile", NULL);
		out->account = config_string(p, b, where, "account", NULL);
		out->senders = config_strings(p, b, where, "senders", false, &out->sender_count);
		if (file == NULL || out->account == NULL) {
			config_fail(p, "option \"%s\" needs tokenFile and account", where);
		} else {
			out->token = config_secret_file(p, where, file);
			if (out->token != NULL && strlen(out->token) < 16)
				config_fail(p, "option \"%s.tokenFile\": the token in %s is shorter than 16 characters",
				    where, file);
		}
		free(file);
	}
}

static void
config_parse_senders(struct config_parser *p, json_t *root, struct config *c)
{
	json_t *senders = config_object(p, root, "", "senders");
	const char *account;
	json_t *list;

	if (senders == NULL)
		return;
	c->grants = xcalloc(json_object_size(senders) + 1, sizeof(*c->grants));
	json_object_foreach(senders, account, list) {
		struct config_sender_grant *g = &c->grants[c->grant_count++];
		json_t *wrapper = json_pack("{sO}", "list", list);

		g->account = xstrdup(account);
		g->senders = config_strings(p, wrapper, "senders", "list", false,
		    &g->sender_count);
		json_decref(wrapper);
	}
}

static void
config_parse_smime(struct config_parser *p, json_t *root, struct config *c)
{
	static const char *const keys[] = {
		"digest", "cipher", "rsaOaep", "signatureAlgorithm", "encryptToSelf",
		"writeBcc", NULL
	};
	json_t *s = config_object(p, root, "", "smime");
	json_t *empty = json_object();
	char *digest, *cipher, *signature;

	if (s == NULL)
		s = empty;
	config_check_keys(p, "smime", s, keys);
	digest = config_string(p, s, "smime", "digest", "sha256");
	cipher = config_string(p, s, "smime", "cipher", "aes-256-cbc");
	if (smime_digest_parse(digest, &c->smime.digest) < 0)
		config_fail(p, "option \"smime.digest\" is \"%s\"; expected sha256, sha384 or sha512",
		    digest);
	if (smime_cipher_parse(cipher, &c->smime.cipher) < 0)
		config_fail(p, "option \"smime.cipher\" is \"%s\"; expected aes-256-cbc, aes-128-cbc, aes-128-gcm or aes-256-gcm",
		    cipher);
	c->smime.rsa_oaep = config_bool(p, s, "smime", "rsaOaep", false);
	signature = config_string(p, s, "smime", "signatureAlgorithm", "rsa-pkcs1");
	if (smime_signature_parse(signature, &c->smime.signature) < 0)
		config_fail(p, "option \"smime.signatureAlgorithm\" is \"%s\"; expected rsa-pkcs1 or rsa-pss",
		    signature);
	free(signature);
	c->encrypt_to_self = config_bool(p, s, "smime", "encryptToSelf", true);
	c->write_bcc = config_bool(p, s, "smime", "writeBcc", false);
	free(digest);
	free(cipher);
	json_decref(empty);
}

static void
config_parse_limits(struct config_parser *p, json_t *root, struct config *c)
{
	static const char *const keys[] = {
		"maxSizeUpload", "maxConcurrentUpload", "maxSizeRequest",
		"maxConcurrentRequests", "maxCallsInRequest", "maxObjectsInGet",
		"maxObjectsInSet", NULL
	};
	json_t *l = config_object(p, root, "", "limits");
	json_t *empty = json_object();
	struct jmap_limits *lim = &c->limits;

	if (l == NULL)
		l = empty;
	config_check_keys(p, "limits", l, keys);
	lim->max_size_upload = (size_t)config_int(p, l, "limits", "maxSizeUpload",
	    50 * 1024 * 1024, 1024, 1LL << 32);
	lim->max_concurrent_upload = (size_t)config_int(p, l, "limits",
	    "maxConcurrentUpload", 4, 1, 1024);
	lim->max_size_request = (size_t)config_int(p, l, "limits", "maxSizeRequest",
	    10 * 1024 * 1024, 1024, 1LL << 30);
	lim->max_concurrent_requests = (size_t)config_int(p, l, "limits",
	    "maxConcurrentRequests", 16, 1, 1024);
	lim->max_calls_in_request = (size_t)config_int(p, l, "limits",
	    "maxCallsInRequest", 16, 1, 1024);
	lim->max_objects_in_get = (size_t)config_int(p, l, "limits", "maxObjectsInGet",
	    500, 1, 100000);
	lim->max_objects_in_set = (size_t)config_int(p, l, "limits", "maxObjectsInSet",
	    100, 1, 100000);
	json_decref(empty);
}

static void
config_parse_listen(struct config_parser *p, json_t *root, struct config *c)
{
	static const char *const keys[] = { "address", "port", "threads", NULL };
	json_t *l = config_object(p, root, "", "listen");
	json_t *empty = json_object();

	if (l == NULL)
		l = empty;
	config_check_keys(p, "listen", l, keys);
	c->listen_address = config_string(p, l, "listen", "address", "127.0.0.1");
	c->listen_port = (unsigned)config_int(p, l, "listen", "port", 8080, 1, 65535);
	/* A request keeps its thread while it waits for LDAP, OCSP and the
	 * disk, so there are as many threads as concurrent API requests. */
	c->threads = (unsigned)config_int(p, l, "listen", "threads", 16, 1, 256);
	json_decref(empty);
}

/* Reads {"path": ...} sections such as "store" and "keystore". */
static char *
config_parse_path_section(struct config_parser *p, json_t *root, const char *key,
    const char *def)
{
	static const char *const keys[] = { "path", NULL };
	json_t *s = config_object(p, root, "", key);

	if (s == NULL)
		return def == NULL ? NULL : xasprintf("%s/%s", p->dir, def);
	config_check_keys(p, key, s, keys);
	return config_path(p, s, key, "path", def);
}

static void
config_parse_trust(struct config_parser *p, json_t *root, struct config *c)
{
	static const char *const keys[] = {
		"anchors", "intermediates", "chainCacheSize", "chainCacheTtlSeconds", NULL
	};
	json_t *trust = config_object(p, root, "", "trust");

	if (trust != NULL) {
		config_check_keys(p, "trust", trust, keys);
		c->trust_anchors = config_strings(p, trust, "trust", "anchors", true,
		    &c->trust_anchor_count);
		c->intermediates = config_strings(p, trust, "trust", "intermediates", true,
		    &c->intermediate_count);
	}
	if (c->trust_anchor_count == 0)
		config_fail(p, "option \"trust.anchors\" is missing: list at least one CA certificate file");

	/* Without a "trust" object, trust is NULL and config_int returns the
	 * defaults. */
	c->chain_cache_size = (size_t)config_int(p, trust, "trust", "chainCacheSize",
	    CERT_CHAIN_CACHE_DEFAULT_SIZE, 1, 1000000);
	c->chain_cache_ttl = (int)config_int(p, trust, "trust", "chainCacheTtlSeconds",
	    CERT_CHAIN_CACHE_DEFAULT_TTL, 0, 86400);
}

static void
config_parse_root(struct config_parser *p, json_t *root, struct config *c)
{
	json_t *dirs, *d;
	char *level;
	size_t i;

	config_check_keys(p, "", root, config_top_keys);
	config_parse_listen(p, root, c);
	c->public_url = config_string(p, root, "", "publicUrl", NULL);
	if (c->public_url == NULL)
		c->public_url = xasprintf("http://%s:%u", c->listen_address, c->listen_port);
	while (strlen(c->public_url) > 0 && c->public_url[strlen(c->public_url) - 1] == '/')
		c->public_url[strlen(c->public_url) - 1] = '\0';
	level = config_string(p, root, "", "logLevel", "info");
	if (log_level_parse(level, &c->log_level) < 0)
		config_fail(p, "option \"logLevel\" is \"%s\"; expected debug, info, warn or error",
		    level);
	free(level);
	c->log_file = config_path(p, root, "", "logFile", NULL);
	c->message_id_domain = config_string(p, root, "", "messageIdDomain", NULL);
	c->store_path = config_parse_path_section(p, root, "store", "store");
	c->keystore_path = config_parse_path_section(p, root, "keystore", NULL);

	config_parse_trust(p, root, c);

	dirs = json_object_get(root, "directories");
	if (dirs != NULL && !json_is_array(dirs))
		config_fail(p, "option \"directories\" must be an array");
	else if (dirs != NULL) {
		c->directories = xcalloc(json_array_size(dirs) + 1, sizeof(*c->directories));
		json_array_foreach(dirs, i, d)
			config_parse_directory(p, d, i, &c->directories[c->directory_count++]);
	}
	config_parse_revocation(p, root, c);
	config_parse_directory_revocation(p, dirs, c);
	for (i = 0; i < c->directory_count; i++) {
		for (size_t j = 0; j < i; j++) {
			if (c->directories[i].name != NULL && c->directories[j].name != NULL &&
			    strcmp(c->directories[i].name, c->directories[j].name) == 0)
				config_fail(p, "option \"directories[%zu].name\": \"%s\" is used twice",
				    i, c->directories[i].name);
		}
	}
	config_parse_auth(p, root, c);
	config_parse_senders(p, root, c);
	config_parse_smime(p, root, c);
	config_parse_limits(p, root, c);
}

int
config_load(const char *path, struct config **config_r, char **error_r)
{
	struct config_parser p = { 0 };
	struct config *c;
	json_error_t jerr;
	json_t *root;
	char *data, *error, *slash;
	size_t len;

	if (fs_read_file(path, CONFIG_MAX_FILE_SIZE, &data, &len, &error) < 0) {
		*error_r = xasprintf("reading the configuration failed: %s", error);
		free(error);
		return -1;
	}
	root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (root == NULL || !json_is_object(root)) {
		*error_r = root == NULL ?
		    xasprintf("%s:%d:%d: invalid JSON: %s", path, jerr.line, jerr.column, jerr.text) :
		    xasprintf("%s: the configuration must be a JSON object", path);
		json_decref(root);
		return -1;
	}

	p.dir = xstrdup(path);
	slash = strrchr(p.dir, '/');
	if (slash == NULL) {
		free(p.dir);
		p.dir = xstrdup(".");
	} else if (slash == p.dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(path);
	config_parse_root(&p, root, c);
	json_decref(root);
	free(p.dir);
	if (p.error != NULL) {
		*error_r = xasprintf("%s: %s", path, p.error);
		free(p.error);
		config_free(c);
		return -1;
	}
	*config_r = c;
	return 0;
}

const struct directory_config *
config_find_directory(const struct config *config, const char *name)
{
	for (size_t i = 0; i < config->directory_count; i++) {
		if (config->directories[i].name != NULL &&
		    strcmp(config->directories[i].name, name) == 0)
			return &config->directories[i];
	}
	return NULL;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->listen_address);
	free(c->public_url);
	free(c->log_file);
	free(c->store_path);
	free(c->keystore_path);
	free(c->message_id_domain);
	config_strings_free(c->trust_anchors, c->trust_anchor_count);
	config_strings_free(c->intermediates, c->intermediate_count);
	for (size_t i = 0; i < c->directory_count; i++)
		directory_config_clear(&c->directories[i]);
	free(c->directories);
	free(c->directory_revocation);
	free(c->revocation.ocsp_responder);
	free(c->auth_directory);
	free(c->auth_filter);
	for (size_t i = 0; i < c->bearer_count; i++) {
		if (c->bearers[i].token != NULL) {
			explicit_bzero(c->bearers[i].token, strlen(c->bearers[i].token));
			free(c->bearers[i].token);
		}
		free(c->bearers[i].account);
		config_strings_free(c->bearers[i].senders, c->bearers[i].sender_count);
	}
	free(c->bearers);
	for (size_t i = 0; i < c->grant_count; i++) {
		free(c->grants[i].account);
		config_strings_free(c->grants[i].senders, c->grants[i].sender_count);
	}
	free(c->grants);
	free(c);
}
