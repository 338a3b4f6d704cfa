/* Unit tests of http/: the failed-login rate limit per client address, and
 * account ids. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "http/auth.h"
#include "http/ratelimit.h"

/* 3 failures per 60 seconds, 4 addresses tracked. */
static struct ratelimit *
test_limit(void)
{
	return ratelimit_new(3, 60, 4);
}

START_TEST(ratelimit_locks_after_max_failures)
{
	struct ratelimit *limit = test_limit();

	ck_assert_uint_eq(ratelimit_check(limit, "192.0.2.1", 1000), 0);
	ck_assert(!ratelimit_fail(limit, "192.0.2.1", 1000));
	ck_assert(!ratelimit_fail(limit, "192.0.2.1", 1010));
	ck_assert_uint_eq(ratelimit_check(limit, "192.0.2.1", 1010), 0);
	ck_assert(ratelimit_fail(limit, "192.0.2.1", 1020));
	/* Locked until the window that started at 1000 ends at 1060. */
	ck_assert_uint_eq(ratelimit_check(limit, "192.0.2.1", 1020), 40);
	ck_assert_uint_eq(ratelimit_check(limit, "192.0.2.1", 1059), 1);
	ratelimit_free(limit);
}
END_TEST

START_TEST(ratelimit_unlocks_after_window)
{
	struct ratelimit *limit = test_limit();

	for (int i = 0; i < 3; i++)
		ratelimit_fail(limit, "192.0.2.1", 1000);
	ck_assert_uint_gt(ratelimit_check(limit, "192.0.2.1", 1000), 0);
	ck_assert_uint_eq(ratelimit_check(limit, "192.0.2.1", 1060), 0);
	/* A failure after the window starts a new count. */
	ck_assert(!ratelimit_fail(limit, "192.0.2.1", 1061));
	ck_assert_uint_eq(ratelimit_check(limit, "192.0.2.1", 1061), 0);
	ratelimit_free(limit);
}
END_TEST

START_TEST(ratelimit_addresses_independent)
{
	struct ratelimit *limit = test_limit();

	for (int i = 0; i < 3; i++)
		ratelimit_fail(limit, "192.0.2.1", 1000);
	ck_assert_uint_gt(ratelimit_check(limit, "192.0.2.1", 1000), 0);
	ck_assert_uint_eq(ratelimit_check(limit, "192.0.2.2", 1000), 0);
	ck_assert_uint_eq(ratelimit_check(limit, "2001:db8::1", 1000), 0);
	ratelimit_free(limit);
}
END_TEST

START_TEST(ratelimit_clock_going_back_resets)
{
	struct ratelimit *limit = test_limit();

	for (int i = 0; i < 3; i++)
		ratelimit_fail(limit, "192.0.2.1", 1000);
	/* A clock set back must not lock an address for longer than a window. */
	ck_assert_uint_eq(ratelimit_check(limit, "192.0.2.1", 900), 0);
	ratelimit_free(limit);
}
END_TEST

START_TEST(ratelimit_full_table_replaces_oldest)
{
	struct ratelimit *limit = test_limit();
	char address[32];

	for (int i = 0; i < 3; i++)
		ratelimit_fail(limit, "192.0.2.1", 1000);
	/* Four more addresses fill the table of 4 and push out the oldest,
	 * so memory stays bounded. The others keep their counts. */
	for (int i = 0; i < 4; i++) {
		snprintf(address, sizeof(address), "198.51.100.%d", i);
		for (int k = 0; k < 3; k++)
			ratelimit_fail(limit, address, 1001 + i);
	}
	ck_assert_uint_eq(ratelimit_check(limit, "192.0.2.1", 1010), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(address, sizeof(address), "198.51.100.%d", i);
		ck_assert_msg(ratelimit_check(limit, address, 1010) > 0, "%s", address);
	}
	ratelimit_free(limit);
}
END_TEST

START_TEST(ratelimit_expired_entry_reused)
{
	struct ratelimit *limit = test_limit();
	char address[32];

	for (int i = 0; i < 4; i++) {
		snprintf(address, sizeof(address), "198.51.100.%d", i);
		ratelimit_fail(limit, address, 1000);
	}
	/* After the window every entry is free again, so a new address gets
	 * one and is locked after 3 failures in the new window. */
	for (int k = 0; k < 3; k++)
		ratelimit_fail(limit, "192.0.2.9", 2000);
	ck_assert_uint_eq(ratelimit_check(limit, "192.0.2.9", 2000), 60);
	ratelimit_free(limit);
}
END_TEST

/* The id names the account's folder in the store, so it must never change:
 * "A" and the first 12 octets of SHA-256("alice@corp.example") in hex. */
START_TEST(account_id_fixed_and_case_blind)
{
	char *id = auth_account_id("alice@corp.example");
	char *upper = auth_account_id("Alice@CORP.example");

	ck_assert_str_eq(id, "A169009fb11749df0226aeb61");
	ck_assert_str_eq(upper, id);
	free(upper);
	free(id);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("ratelimit");
	TCase *ids = tcase_create("account_id");

	tcase_add_test(tc, ratelimit_locks_after_max_failures);
	tcase_add_test(tc, ratelimit_unlocks_after_window);
	tcase_add_test(tc, ratelimit_addresses_independent);
	tcase_add_test(tc, ratelimit_clock_going_back_resets);
	tcase_add_test(tc, ratelimit_full_table_replaces_oldest);
	tcase_add_test(tc, ratelimit_expired_entry_reused);
	suite_add_tcase(s, tc);
	tcase_add_test(ids, account_id_fixed_and_case_blind);
	suite_add_tcase(s, ids);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(http_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
