/* Unit tests of http/: the failed-login rate limit per client address, and
 * account ids. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Fails address 3 times at now, which locks it in test_limit(). */
static void
test_lock(struct ratelimit *limit, const char *address, time_t now)
{
	for (int k = 0; k < 3; k++)
		ratelimit_fail(limit, address, now);
}

START_TEST(ratelimit_restart_no_longer_oldest)
{
	struct ratelimit *limit = test_limit();

	test_lock(limit, "192.0.2.1", 1000);
	test_lock(limit, "198.51.100.1", 1010);
	test_lock(limit, "198.51.100.2", 1011);
	test_lock(limit, "198.51.100.3", 1012);
	/* The window of 192.0.2.1 has ended, so these failures start a new
	 * one and 198.51.100.1 becomes the entry whose window started first. */
	test_lock(limit, "192.0.2.1", 1061);
	ratelimit_fail(limit, "203.0.113.1", 1062);

	ck_assert_uint_eq(ratelimit_check(limit, "192.0.2.1", 1062), 59);
	ck_assert_uint_eq(ratelimit_check(limit, "198.51.100.1", 1062), 0);
	ck_assert_uint_gt(ratelimit_check(limit, "198.51.100.2", 1062), 0);
	ck_assert_uint_gt(ratelimit_check(limit, "198.51.100.3", 1062), 0);
	ratelimit_free(limit);
}
END_TEST

START_TEST(ratelimit_address_truncated_at_45_bytes)
{
	struct ratelimit *limit = test_limit();
	/* 45 bytes, then a suffix that the limiter ignores. */
	const char *prefix = "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff:123456";
	char first[64], second[64], other[64];

	ck_assert_uint_eq(strlen(prefix), 45);
	snprintf(first, sizeof(first), "%s1", prefix);
	snprintf(second, sizeof(second), "%s2", prefix);
	/* Differs from prefix in its 45th byte. */
	snprintf(other, sizeof(other), "%.44sX", prefix);

	ratelimit_fail(limit, first, 1000);
	ratelimit_fail(limit, second, 1000);
	ck_assert(ratelimit_fail(limit, prefix, 1000));
	ck_assert_uint_eq(ratelimit_check(limit, first, 1000), 60);
	ck_assert_uint_eq(ratelimit_check(limit, second, 1000), 60);
	ck_assert_uint_eq(ratelimit_check(limit, other, 1000), 0);
	ratelimit_free(limit);
}
END_TEST

START_TEST(ratelimit_many_addresses_evict_first)
{
	struct ratelimit *limit = ratelimit_new(3, 86400, 4096);
	char address[32];

	/* Address i locks at second 1000 + i, so the first 5000 - 4096 = 904
	 * are the oldest and make room for the last ones. */
	for (int i = 0; i < 5000; i++) {
		snprintf(address, sizeof(address), "10.0.%d.%d", i / 256, i % 256);
		for (int k = 0; k < 3; k++)
			ratelimit_fail(limit, address, 1000 + i);
	}
	for (int i = 0; i < 5000; i++) {
		unsigned wait;

		snprintf(address, sizeof(address), "10.0.%d.%d", i / 256, i % 256);
		wait = ratelimit_check(limit, address, 6000);
		if (i < 904)
			ck_assert_msg(wait == 0, "%s is locked for %u s", address, wait);
		else
			ck_assert_msg(wait > 0, "%s is not locked", address);
	}
	ratelimit_free(limit);
}
END_TEST

/* Under AddressSanitizer the leak check fails this test when an entry of
 * the full table, or the table itself, is not freed. */
START_TEST(ratelimit_free_full_table)
{
	struct ratelimit *limit = ratelimit_new(3, 60, 64);
	char address[32];

	for (int i = 0; i < 100; i++) {
		snprintf(address, sizeof(address), "10.0.0.%d", i);
		ratelimit_fail(limit, address, 1000 + i / 4);
	}
	ratelimit_free(limit);
	ratelimit_free(NULL);
}
END_TEST

START_TEST(ratelimit_future_window_replaced_first)
{
	struct ratelimit *limit = test_limit();

	test_lock(limit, "198.51.100.1", 1000);
	test_lock(limit, "198.51.100.2", 1010);
	test_lock(limit, "198.51.100.3", 1020);
	test_lock(limit, "198.51.100.4", 1030);
	/* The clock went back to 1025, so the window of 198.51.100.4 starts in
	 * the future and counts as expired. Its entry makes room, not the one
	 * of 198.51.100.1, although that window started first. */
	test_lock(limit, "203.0.113.1", 1025);

	ck_assert_uint_eq(ratelimit_check(limit, "198.51.100.1", 1025), 35);
	ck_assert_uint_eq(ratelimit_check(limit, "203.0.113.1", 1025), 60);
	ck_assert_uint_eq(ratelimit_check(limit, "198.51.100.4", 1030), 0);
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
	tcase_add_test(tc, ratelimit_restart_no_longer_oldest);
	tcase_add_test(tc, ratelimit_address_truncated_at_45_bytes);
	tcase_add_test(tc, ratelimit_many_addresses_evict_first);
	tcase_add_test(tc, ratelimit_free_full_table);
	tcase_add_test(tc, ratelimit_future_window_replaced_first);
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
