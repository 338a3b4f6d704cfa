/* Unit tests of configuration loading: defaults, path resolution and the
 * rejection of every kind of invalid option with a message naming it. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util/xmalloc.h"

static char config_dir[] = "/tmp/check_config.XXXXXX";

static void
config_setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(config_dir));
}

static void
config_teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", config_dir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	strcpy(config_dir, "/tmp/check_config.XXXXXX");
}

static char *
config_write(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", config_dir, name);
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Writes a secret file readable by its owner only. */
static char *
config_write_secret(const char *name, const char *text)
{
	char *path = config_write(name, text);

	ck_assert_int_eq(chmod(path, 0600), 0);
	return path;
}

/* Loads text as a configuration; returns the config or NULL with *error_r. */
static struct config *
config_from_text(const char *text, char **error_r)
{
	char *path = config_write("smimegw.json", text);
	struct config *c = NULL;

	*error_r = NULL;
	if (config_load(path, &c, error_r) < 0)
		c = NULL;
	free(path);
	return c;
}

#define MINIMAL "{\"trust\": {\"anchors\": [\"root.pem\"]}}"

START_TEST(config_minimal_uses_defaults)
{
	char *error;
	struct config *c = config_from_text(MINIMAL, &error);
	char *anchor = xasprintf("%s/root.pem", config_dir);
	char *store = xasprintf("%s/store", config_dir);

	ck_assert_msg(c != NULL, "%s", error);
	ck_assert_str_eq(c->listen_address, "127.0.0.1");
	ck_assert_uint_eq(c->listen_port, 8080);
	ck_assert_uint_eq(c->threads, 16);
	ck_assert_str_eq(c->public_url, "http://127.0.0.1:8080");
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
	ck_assert_ptr_null(c->log_file);
	ck_assert_str_eq(c->trust_anchors[0], anchor);
	ck_assert_uint_eq(c->chain_cache_size, 10000);
	ck_assert_int_eq(c->chain_cache_ttl, 3600);
	ck_assert_str_eq(c->store_path, store);
	ck_assert_ptr_null(c->keystore_path);
	ck_assert_int_eq(c->smime.digest, SMIME_DIGEST_SHA256);
	ck_assert_int_eq(c->smime.cipher, SMIME_CIPHER_AES256_CBC);
	ck_assert(!c->smime.rsa_oaep);
	ck_assert(c->encrypt_to_self);
	ck_assert(!c->write_bcc);
	ck_assert_uint_eq(c->limits.max_objects_in_set, 100);
	ck_assert_uint_eq(c->directory_count, 0);
	ck_assert_str_eq(c->auth_filter, "(|(mail=%s)(uid=%s))");
	ck_assert_uint_eq(c->login_limit.max_failures, 20);
	ck_assert_uint_eq(c->login_limit.window_seconds, 60);
	ck_assert_uint_eq(c->login_limit.tracked_addresses, 1024);
	free(anchor);
	free(store);
	config_free(c);
}
END_TEST

START_TEST(config_directory_defaults_and_values)
{
	char *error;
	char *pw = config_write_secret("bind.pw", "s3cret\n");
	struct config *c = config_from_text("{\"trust\": {\"anchors\": [\"/abs/root.pem\"]},"
	    "\"directories\": [{\"name\": \"corp\", \"uris\": [\"ldap://127.0.0.1:389/\"],"
	    "\"base\": \"dc=corp\", \"scope\": \"one\", \"domains\": [\"corp.example\"],"
	    "\"bind\": {\"method\": \"simple\", \"dn\": \"cn=gw\", \"passwordFile\": \"bind.pw\"}}],"
	    "\"auth\": {\"ldap\": {\"directory\": \"corp\"}}}", &error);

	ck_assert_msg(c != NULL, "%s", error);
	ck_assert_str_eq(c->trust_anchors[0], "/abs/root.pem");
	ck_assert_uint_eq(c->directory_count, 1);
	const struct directory_config *d = config_find_directory(c, "corp");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->filter, "(mail=%s)");
	ck_assert_int_eq(d->scope, LDAP_SCOPE_ONELEVEL);
	ck_assert_uint_eq(d->attribute_count, 3);
	ck_assert_str_eq(d->attributes[0], "userSMIMECertificate;binary");
	ck_assert_int_eq(d->conn.bind_method, LDAPCONN_BIND_SIMPLE);
	ck_assert_str_eq(d->conn.bind_password, "s3cret");
	ck_assert_int_eq(d->conn.timeout_seconds, 5);
	ck_assert_str_eq(d->domains[0], "corp.example");
	ck_assert_int_eq(d->batch_size, 200);
	ck_assert_int_eq(d->size_limit, 500);
	ck_assert_int_eq(d->cache_ttl, 300);
	ck_assert_int_eq(d->negative_cache_ttl, 60);
	ck_assert_uint_eq(d->cache_size, 10000);
	ck_assert(!d->case_sensitive_local_part);
	ck_assert_str_eq(c->auth_directory, "corp");
	ck_assert_ptr_null(config_find_directory(c, "other"));
	free(pw);
	config_free(c);
}
END_TEST

/* Each invalid configuration and a fragment its error message must name. */
static const struct {
	const char *text;
	const char *expected;
} config_invalid_cases[] = {
	{ "not json", "invalid JSON" },
	{ "[1]", "must be a JSON object" },
	{ "{}", "trust.anchors" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"colour\": 1}", "unknown option \"colour\"" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"listen\": {\"port\": 70000}}", "listen.port" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"listen\": {\"port\": \"80\"}}", "listen.port" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"listen\": {\"prot\": 80}}", "listen.prot" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"logLevel\": \"loud\"}", "logLevel" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"smime\": {\"cipher\": \"des\"}}", "smime.cipher" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"smime\": {\"digest\": \"md5\"}}", "smime.digest" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"smime\": {\"encryptToSelf\": 1}}", "smime.encryptToSelf" },
	{ "{\"trust\": {\"anchors\": []}}", "trust.anchors" },
	{ "{\"trust\": {\"anchors\": [\"r\"], \"chainCacheTtl\": 60}}",
	  "unknown option \"trust.chainCacheTtl\"" },
	{ "{\"trust\": {\"anchors\": [\"r\"], \"chainCacheSize\": 0}}",
	  "\"trust.chainCacheSize\" must be an integer from 1 to 1000000" },
	{ "{\"trust\": {\"anchors\": [\"r\"], \"chainCacheSize\": 1000001}}",
	  "\"trust.chainCacheSize\" must be an integer from 1 to 1000000" },
	{ "{\"trust\": {\"anchors\": [\"r\"], \"chainCacheSize\": \"10\"}}",
	  "\"trust.chainCacheSize\" must be an integer from 1 to 1000000" },
	{ "{\"trust\": {\"anchors\": [\"r\"], \"chainCacheTtlSeconds\": -1}}",
	  "\"trust.chainCacheTtlSeconds\" must be an integer from 0 to 86400" },
	{ "{\"trust\": {\"anchors\": [\"r\"], \"chainCacheTtlSeconds\": 86401}}",
	  "\"trust.chainCacheTtlSeconds\" must be an integer from 0 to 86400" },
	{ "{\"trust\": {\"anchors\": [\"r\"], \"chainCacheTtlSeconds\": 1.5}}",
	  "\"trust.chainCacheTtlSeconds\" must be an integer from 0 to 86400" },
	{ "{\"trust\": {\"anchors\": [\"r\"], \"chainCacheTtlSeconds\": null}}",
	  "\"trust.chainCacheTtlSeconds\" must be an integer from 0 to 86400" },
	{ "{\"trust\": {\"anchors\": [\"r\"], \"intermediates\": null}}",
	  "\"trust.intermediates\" must be an array of strings" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"listen\": null}", "\"listen\" must be an object" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"logLevel\": null}", "logLevel\" must be" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"smime\": {\"encryptToSelf\": null}}",
	  "\"smime.encryptToSelf\" must be true or false" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"directories\": [{\"name\": \"d\", \"uris\": [\"ldap://x/\"], \"base\": \"dc=x\", \"revocation\": null}]}",
	  "\"directories[0].revocation\" must be an object" },
	{ "{\"trust\": {\"anchors\": [\"\"]}}", "trust.anchors[0]" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"directories\": {}}", "directories" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"directories\": [{\"name\": \"d\", \"uris\": [\"ldap://x/\"]}]}",
	  "directories[0].base" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"directories\": [{\"name\": \"d\", \"base\": \"dc=x\"}]}",
	  "directories[0].uris" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"directories\": [{\"name\": \"d\", \"uris\": [\"ldap://x/\"], \"base\": \"dc=x\", \"filter\": \"(mail=x)\"}]}",
	  "directories[0].filter" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"directories\": [{\"name\": \"d\", \"uris\": [\"ldap://x/\"], \"base\": \"dc=x\", \"scope\": \"deep\"}]}",
	  "directories[0].scope" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"directories\": [{\"name\": \"d\", \"uris\": [\"ldap://x/\"], \"base\": \"dc=x\", \"bind\": {\"method\": \"simple\"}}]}",
	  "directories[0].bind" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"directories\": [{\"name\": \"d\", \"uris\": [\"ldap://x/\"], \"base\": \"dc=x\"},"
	  "{\"name\": \"d\", \"uris\": [\"ldap://y/\"], \"base\": \"dc=y\"}]}", "used twice" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"directories\": [{\"name\": \"d\", \"uris\": [\"ldap://x/\"], \"base\": \"dc=x\", \"batchSize\": 0}]}",
	  "directories[0].batchSize" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"directories\": [{\"name\": \"d\", \"uris\": [\"ldap://x/\"], \"base\": \"dc=x\", \"cacheTtlSeconds\": -1}]}",
	  "directories[0].cacheTtlSeconds" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"directories\": [{\"name\": \"d\", \"uris\": [\"ldap://x/\"], \"base\": \"dc=x\", \"domains\": [\"\u2603\u0301--x.example\"]}]}",
	  "directories[0].domains[0]" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"ldap\": {\"directory\": \"nope\"}}}", "auth.ldap.directory" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"bearerTokens\": [{\"tokenFile\": \"missing\", \"account\": \"a@b\"}]}}",
	  "auth.bearerTokens[0]" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": null}}",
	  "\"auth.loginLimit\" must be an object" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": 20}}",
	  "\"auth.loginLimit\" must be an object" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": {\"maxFailure\": 5}}}",
	  "unknown option \"auth.loginLimit.maxFailure\"" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": {\"maxFailures\": 0}}}",
	  "\"auth.loginLimit.maxFailures\" must be an integer from 1 to 1000000" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": {\"maxFailures\": 1000001}}}",
	  "\"auth.loginLimit.maxFailures\" must be an integer from 1 to 1000000" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": {\"maxFailures\": \"20\"}}}",
	  "\"auth.loginLimit.maxFailures\" must be an integer from 1 to 1000000" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": {\"maxFailures\": null}}}",
	  "\"auth.loginLimit.maxFailures\" must be an integer from 1 to 1000000" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": {\"windowSeconds\": 0}}}",
	  "\"auth.loginLimit.windowSeconds\" must be an integer from 1 to 86400" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": {\"windowSeconds\": 86401}}}",
	  "\"auth.loginLimit.windowSeconds\" must be an integer from 1 to 86400" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": {\"windowSeconds\": 1.5}}}",
	  "\"auth.loginLimit.windowSeconds\" must be an integer from 1 to 86400" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": {\"trackedAddresses\": 0}}}",
	  "\"auth.loginLimit.trackedAddresses\" must be an integer from 1 to 1000000" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": {\"trackedAddresses\": 1000001}}}",
	  "\"auth.loginLimit.trackedAddresses\" must be an integer from 1 to 1000000" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": {\"loginLimit\": {\"trackedAddresses\": true}}}",
	  "\"auth.loginLimit.trackedAddresses\" must be an integer from 1 to 1000000" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"trust\": {\"anchors\": [\"s\"]}}", "duplicate" },
	{ "{\"trust\": {\"anchors\": [\"r\"]}, \"limits\": {\"maxObjectsInSet\": 0}}", "limits.maxObjectsInSet" },
};

START_TEST(config_invalid_is_rejected)
{
	char *error = NULL;
	struct config *c = config_from_text(config_invalid_cases[_i].text, &error);

	ck_assert_msg(c == NULL, "accepted: %s", config_invalid_cases[_i].text);
	ck_assert_ptr_nonnull(error);
	ck_assert_msg(strstr(error, config_invalid_cases[_i].expected) != NULL,
	    "error \"%s\" does not name \"%s\"", error, config_invalid_cases[_i].expected);
	free(error);
}
END_TEST

START_TEST(config_directory_cache_options)
{
	char *error = NULL;
	struct config *c = config_from_text("{\"trust\": {\"anchors\": [\"r\"]},"
	    "\"directories\": [{\"name\": \"d\", \"uris\": [\"ldap://x/\"], \"base\": \"dc=x\","
	    "\"batchSize\": 7, \"cacheTtlSeconds\": 0, \"negativeCacheTtlSeconds\": 5,"
	    "\"cacheSize\": 3, \"caseSensitiveLocalPart\": true,"
	    "\"domains\": [\"b\u00fccher.example\"]}]}", &error);

	ck_assert_msg(c != NULL, "%s", error);
	ck_assert_int_eq(c->directories[0].batch_size, 7);
	ck_assert_int_eq(c->directories[0].cache_ttl, 0);
	ck_assert_int_eq(c->directories[0].negative_cache_ttl, 5);
	ck_assert_uint_eq(c->directories[0].cache_size, 3);
	ck_assert(c->directories[0].case_sensitive_local_part);
	config_free(c);
}
END_TEST

START_TEST(config_trust_chain_cache_options)
{
	char *error = NULL;
	struct config *c = config_from_text("{\"trust\": {\"anchors\": [\"r\"],"
	    "\"chainCacheSize\": 1, \"chainCacheTtlSeconds\": 0}}", &error);

	ck_assert_msg(c != NULL, "%s", error);
	ck_assert_uint_eq(c->chain_cache_size, 1);
	ck_assert_int_eq(c->chain_cache_ttl, 0);
	config_free(c);

	c = config_from_text("{\"trust\": {\"anchors\": [\"r\"],"
	    "\"chainCacheSize\": 1000000, \"chainCacheTtlSeconds\": 86400}}", &error);
	ck_assert_msg(c != NULL, "%s", error);
	ck_assert_uint_eq(c->chain_cache_size, 1000000);
	ck_assert_int_eq(c->chain_cache_ttl, 86400);
	config_free(c);
}
END_TEST

START_TEST(config_auth_login_limit_options)
{
	char *error = NULL;
	struct config *c = config_from_text("{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": "
	    "{\"loginLimit\": {\"maxFailures\": 1, \"windowSeconds\": 1, "
	    "\"trackedAddresses\": 1}}}", &error);

	ck_assert_msg(c != NULL, "%s", error);
	ck_assert_uint_eq(c->login_limit.max_failures, 1);
	ck_assert_uint_eq(c->login_limit.window_seconds, 1);
	ck_assert_uint_eq(c->login_limit.tracked_addresses, 1);
	config_free(c);

	c = config_from_text("{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": "
	    "{\"loginLimit\": {\"maxFailures\": 1000000, \"windowSeconds\": 86400, "
	    "\"trackedAddresses\": 1000000}}}", &error);
	ck_assert_msg(c != NULL, "%s", error);
	ck_assert_uint_eq(c->login_limit.max_failures, 1000000);
	ck_assert_uint_eq(c->login_limit.window_seconds, 86400);
	ck_assert_uint_eq(c->login_limit.tracked_addresses, 1000000);
	config_free(c);

	/* One option set, the others keep their defaults. */
	c = config_from_text("{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": "
	    "{\"loginLimit\": {\"maxFailures\": 200}}}", &error);
	ck_assert_msg(c != NULL, "%s", error);
	ck_assert_uint_eq(c->login_limit.max_failures, 200);
	ck_assert_uint_eq(c->login_limit.window_seconds, 60);
	ck_assert_uint_eq(c->login_limit.tracked_addresses, 1024);
	config_free(c);
}
END_TEST

START_TEST(config_short_bearer_token_rejected)
{
	char *error = NULL;
	char *token = config_write_secret("t", "short\n");
	struct config *c = config_from_text("{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": "
	    "{\"bearerTokens\": [{\"tokenFile\": \"t\", \"account\": \"a@b\"}]}}", &error);

	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(error, "shorter than 16"));
	ck_assert_ptr_null(strstr(error, "short\n"));
	free(error);
	free(token);
}
END_TEST

START_TEST(config_group_readable_secret_rejected)
{
	char *error = NULL;
	char *token = config_write("t", "0123456789abcdef0123\n");
	struct config *c;

	ck_assert_int_eq(chmod(token, 0640), 0);
	c = config_from_text("{\"trust\": {\"anchors\": [\"r\"]}, \"auth\": "
	    "{\"bearerTokens\": [{\"tokenFile\": \"t\", \"account\": \"a@b\"}]}}", &error);
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(error, "mode 0640"));
	ck_assert_ptr_nonnull(strstr(error, "auth.bearerTokens[0]"));
	ck_assert_ptr_null(strstr(error, "0123456789abcdef"));
	free(error);
	free(token);
}
END_TEST

START_TEST(config_missing_file_names_path)
{
	struct config *c = NULL;
	char *error = NULL;

	ck_assert_int_eq(config_load("/nonexistent/smimegw.json", &c, &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "/nonexistent/smimegw.json"));
	free(error);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");

	tcase_add_checked_fixture(tc, config_setup, config_teardown);
	tcase_add_test(tc, config_minimal_uses_defaults);
	tcase_add_test(tc, config_directory_defaults_and_values);
	tcase_add_loop_test(tc, config_invalid_is_rejected, 0,
	    (int)(sizeof(config_invalid_cases) / sizeof(config_invalid_cases[0])));
	tcase_add_test(tc, config_directory_cache_options);
	tcase_add_test(tc, config_trust_chain_cache_options);
	tcase_add_test(tc, config_auth_login_limit_options);
	tcase_add_test(tc, config_short_bearer_token_rejected);
	tcase_add_test(tc, config_group_readable_secret_rejected);
	tcase_add_test(tc, config_missing_file_names_path);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
