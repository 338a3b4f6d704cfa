/* Unit tests of util/. Log lines stay one line whatever the message
 * contains, and long messages are cut. Also tested: shared folder fsync
 * calls, atomic writes in pieces, hexadecimal encoding, the string hash
 * table and the 7-bit checks of octets. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/dirsync.h"
#include "util/fsutil.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/octets.h"
#include "util/strbuf.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

static char test_log_path[] = "/tmp/check_util.XXXXXX";

/* Logs message at info level to a fresh file and returns the file's
 * content (allocated). */
static char *
test_log_line(const char *message)
{
	char *data = NULL, *error = NULL;
	size_t len;
	int fd;

	memcpy(test_log_path + strlen(test_log_path) - 6, "XXXXXX", 6);
	fd = mkstemp(test_log_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(log_open_file(test_log_path), 0);
	log_info("test value=\"%s\"", message);
	ck_assert_msg(fs_read_file(test_log_path, 1 << 20, &data, &len, &error) == 0,
	    "%s", error);
	unlink(test_log_path);
	return data;
}

/* Returns the part of a log line after "info ". */
static const char *
test_log_message(const char *line)
{
	const char *p = strstr(line, " info ");

	ck_assert_ptr_nonnull(p);
	return p + 6;
}

struct escape_case {
	const char *name;
	const char *message;
	const char *expected;	/* the logged text after "info " */
};

static const struct escape_case escape_cases[] = {
	{ "plain", "alice@corp.example", "test value=\"alice@corp.example\"\n" },
	{ "newline", "a\nwarn forged", "test value=\"a\\x0awarn forged\"\n" },
	{ "carriage return", "a\rb", "test value=\"a\\x0db\"\n" },
	{ "escape and delete", "\x1b[31m\x7f", "test value=\"\\x1b[31m\\x7f\"\n" },
	{ "tab", "a\tb", "test value=\"a\\x09b\"\n" },
	{ "utf-8 kept", "caf\xc3\xa9", "test value=\"caf\xc3\xa9\"\n" },
};

START_TEST(log_escape_table)
{
	const struct escape_case *c = &escape_cases[_i];
	char *data = test_log_line(c->message);

	ck_assert_msg(strcmp(test_log_message(data), c->expected) == 0,
	    "%s: logged %s", c->name, data);
	ck_assert_ptr_eq(strchr(data, '\n'), data + strlen(data) - 1);
	free(data);
}
END_TEST

START_TEST(log_long_message_cut)
{
	char *message = xmalloc(20001);
	char *data;
	size_t len;

	memset(message, 'x', 20000);
	message[20000] = '\0';
	data = test_log_line(message);
	len = strlen(data);
	ck_assert_uint_lt(len, 8300);
	ck_assert_str_eq(data + len - 4, "...\n");
	ck_assert_ptr_eq(strchr(data, '\n'), data + len - 1);
	free(data);
	free(message);
}
END_TEST

/* Calls made one after the other each sync the folder: a request that
 * arrives after an fsync has started is never taken as covered by it. */
START_TEST(dirsync_sequential_calls)
{
	struct dirsync *ds = dirsync_new();
	char *error = NULL;

	for (int i = 0; i < 3; i++)
		ck_assert_msg(dirsync_sync(ds, "/tmp", &error) == 0, "%s", error);
	ck_assert_uint_eq(dirsync_fsync_count(ds), 3);
	ck_assert_msg(dirsync_sync(ds, ".", &error) == 0, "%s", error);
	ck_assert_uint_eq(dirsync_fsync_count(ds), 4);
	dirsync_free(ds);
}
END_TEST

START_TEST(dirsync_missing_folder_fails)
{
	struct dirsync *ds = dirsync_new();
	char *error = NULL;

	ck_assert_int_eq(dirsync_sync(ds, "/nonexistent/smimegw-test", &error), -1);
	ck_assert_msg(strstr(error, "fsync(/nonexistent/smimegw-test) failed") != NULL,
	    "%s", error);
	free(error);
	error = NULL;
	/* The failure covered no request, so the next call tries again. */
	ck_assert_int_eq(dirsync_sync(ds, "/nonexistent/smimegw-test", &error), -1);
	free(error);
	ck_assert_uint_eq(dirsync_fsync_count(ds), 2);
	dirsync_free(ds);
}
END_TEST

#define DIRSYNC_THREADS 8
#define DIRSYNC_CALLS 50

static void *
dirsync_worker(void *arg)
{
	struct dirsync *ds = arg;
	char *error = NULL;
	long failures = 0;

	for (int i = 0; i < DIRSYNC_CALLS; i++) {
		if (dirsync_sync(ds, "/tmp", &error) < 0) {
			fprintf(stderr, "dirsync: %s\n", error);
			free(error);
			failures++;
		}
	}
	return (void *)failures;
}

/* Concurrent calls all succeed, with at most one fsync each. */
START_TEST(dirsync_concurrent_calls)
{
	struct dirsync *ds = dirsync_new();
	pthread_t threads[DIRSYNC_THREADS];

	for (int t = 0; t < DIRSYNC_THREADS; t++)
		ck_assert_int_eq(pthread_create(&threads[t], NULL, dirsync_worker, ds), 0);
	for (int t = 0; t < DIRSYNC_THREADS; t++) {
		void *failures;

		ck_assert_int_eq(pthread_join(threads[t], &failures), 0);
		ck_assert_ptr_null(failures);
	}
	ck_assert_uint_ge(dirsync_fsync_count(ds), 1);
	ck_assert_uint_le(dirsync_fsync_count(ds), DIRSYNC_THREADS * DIRSYNC_CALLS);
	dirsync_free(ds);
}
END_TEST

/* The pieces end up one after the other in the file, which replaces an
 * existing one. */
START_TEST(fs_write_atomic_parts_joins)
{
	char dir[] = "/tmp/check_util.XXXXXX", *path, *data = NULL, *error = NULL;
	struct fs_part parts[] = { { "text/plain", 10 }, { "\n", 1 }, { "", 0 },
	    { "body\0x", 6 } };
	size_t len;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = xasprintf("%s/file", dir);
	ck_assert_int_eq(fs_write_atomic(path, "old", 3, 0600, &error), 0);
	ck_assert_msg(fs_write_atomic_parts(path, parts, 4, 0600, &error) == 0, "%s",
	    error);
	ck_assert_int_eq(fs_read_file(path, 100, &data, &len, &error), 0);
	ck_assert_uint_eq(len, 17);
	ck_assert(memcmp(data, "text/plain\nbody\0x", 17) == 0);
	free(data);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	free(path);
}
END_TEST

/* Both cases, every nibble value, and the returned end where the NUL is. */
START_TEST(hex_encode_cases)
{
	const unsigned char octets[] = { 0x00, 0x1f, 0xa5, 0xff };
	char out[2 * sizeof(octets) + 1];
	char *end;

	end = hex_encode(out, octets, sizeof(octets), false);
	ck_assert_str_eq(out, "001fa5ff");
	ck_assert_ptr_eq(end, out + 8);
	end = hex_encode(out, octets, sizeof(octets), true);
	ck_assert_str_eq(out, "001FA5FF");
	ck_assert_ptr_eq(end, out + 8);
	end = hex_encode(out, octets, 0, false);
	ck_assert_str_eq(out, "");
	ck_assert_ptr_eq(end, out);
}
END_TEST

struct hex_escape_case {
	char prefix;
	unsigned char octet;
	bool upper;
	const char *expected;	/* the whole buffer, which starts as "ab" */
};

static const struct hex_escape_case hex_escape_cases[] = {
	{ '=', 0x3d, true, "ab=3D" },
	{ '%', 0xc3, true, "ab%C3" },
	{ '%', 0x20, true, "ab%20" },
	{ '\\', 0x2a, false, "ab\\2a" },
	{ '\\', 0x00, false, "ab\\00" },
	{ '=', 0xff, true, "ab=FF" },
	{ '=', 0xff, false, "ab=ff" },
};

/* The escape is appended after the existing content, in the requested case. */
START_TEST(hex_append_escape_table)
{
	const struct hex_escape_case *c = &hex_escape_cases[_i];
	struct strbuf sb = STRBUF_INIT;

	strbuf_appends(&sb, "ab");
	hex_append_escape(&sb, c->prefix, c->octet, c->upper);
	ck_assert_str_eq(strbuf_str(&sb), c->expected);
	ck_assert_uint_eq(sb.len, strlen(c->expected));
	strbuf_free(&sb);
}
END_TEST

struct octets_case {
	const char *name;
	unsigned char octet;
	bool is_7bit;			/* expected from octets_are_7bit */
	bool is_7bit_without_cr;	/* from octets_are_7bit_without_cr */
};

/* Each class of octet, and the octets next to NUL, CR and 0x80 that a wrong
 * mask or a borrow between octets could mistake for them. */
static const struct octets_case octets_cases[] = {
	{ "letter", 'a', true, true },
	{ "NUL", 0x00, false, false },
	{ "0x01", 0x01, true, true },
	{ "LF", '\n', true, true },
	{ "0x0c", 0x0c, true, true },
	{ "CR", '\r', true, false },
	{ "0x0e", 0x0e, true, true },
	{ "DEL", 0x7f, true, true },
	{ "0x80", 0x80, false, false },
	{ "CR with high bit", 0x8d, false, false },
	{ "0xff", 0xff, false, false },
};

#define OCTETS_MAX_LEN 24

/* The octet is placed at every position of buffers of 1 to 24 octets,
 * which covers the start, the middle and the end of both the eight-octet
 * words and the shorter rest, at an aligned and an unaligned address. */
START_TEST(octets_class_at_each_position)
{
	const struct octets_case *c = &octets_cases[_i];
	unsigned char buffer[OCTETS_MAX_LEN + 1];

	for (size_t offset = 0; offset <= 1; offset++) {
		unsigned char *p = buffer + offset;

		for (size_t len = 1; len <= OCTETS_MAX_LEN; len++) {
			for (size_t pos = 0; pos < len; pos++) {
				bool is_7bit, is_7bit_without_cr;

				memset(p, 'a', len);
				p[pos] = c->octet;
				is_7bit = octets_are_7bit(p, len);
				is_7bit_without_cr = octets_are_7bit_without_cr(p, len);
				ck_assert_msg(is_7bit == c->is_7bit,
				    "%s at %zu of %zu octets, offset %zu: "
				    "octets_are_7bit returned %d", c->name, pos, len,
				    offset, is_7bit);
				ck_assert_msg(is_7bit_without_cr == c->is_7bit_without_cr,
				    "%s at %zu of %zu octets, offset %zu: "
				    "octets_are_7bit_without_cr returned %d", c->name, pos,
				    len, offset, is_7bit_without_cr);
			}
		}
	}
}
END_TEST

/* Only the len octets are tested, so a fault just past them is not seen.
 * An empty run is 7-bit. */
START_TEST(octets_length_bounds)
{
	const unsigned char text[] = "abcdefghijklmnopq\x80\r";

	ck_assert(octets_are_7bit(text, 0));
	ck_assert(octets_are_7bit_without_cr(text, 0));
	ck_assert(octets_are_7bit(text, 17));
	ck_assert(octets_are_7bit_without_cr(text, 17));
	ck_assert(!octets_are_7bit(text, 18));
	ck_assert(!octets_are_7bit_without_cr(text, 18));
	ck_assert(octets_are_7bit(text + 18, 1));
	ck_assert(!octets_are_7bit_without_cr(text + 18, 1));
}
END_TEST

static int strmap_freed;

static void
strmap_test_free(void *value)
{
	strmap_freed++;
	free(value);
}

static void
strmap_test_sum(const char *key, void *value, void *arg)
{
	ck_assert_int_eq(strtol(key + 1, NULL, 10), *(int *)value);
	*(long *)arg += *(int *)value;
}

/* 1000 keys make the table grow several times; each keeps its value. */
START_TEST(strmap_grows_and_keeps_values)
{
	struct strmap *map = strmap_new();
	long sum = 0;

	for (int i = 0; i < 1000; i++) {
		char key[16];
		int *value = malloc(sizeof(*value));

		*value = i;
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_ptr_null(strmap_get(map, key));
		strmap_add(map, key, value);
	}
	for (int i = 0; i < 1000; i++) {
		char key[16];
		int *value;

		snprintf(key, sizeof(key), "k%d", i);
		value = strmap_get(map, key);
		ck_assert_ptr_nonnull(value);
		ck_assert_int_eq(*value, i);
	}
	ck_assert_ptr_null(strmap_get(map, "k1000"));
	ck_assert_ptr_null(strmap_get(map, ""));
	strmap_foreach(map, strmap_test_sum, &sum);
	ck_assert_int_eq(sum, 999L * 1000 / 2);
	strmap_freed = 0;
	strmap_free(map, strmap_test_free);
	ck_assert_int_eq(strmap_freed, 1000);
}
END_TEST

static int *
strmap_test_value(int i)
{
	int *value = malloc(sizeof(*value));

	*value = i;
	return value;
}

static void
strmap_test_count(const char *key, void *value, void *arg)
{
	(void)key;
	(void)value;
	(*(int *)arg)++;
}

START_TEST(strmap_remove_present_and_absent)
{
	struct strmap *map = strmap_new();
	int *a = strmap_test_value(1), *b = strmap_test_value(2);
	int entries = 0;

	strmap_add(map, "a", a);
	strmap_add(map, "b", b);
	ck_assert_ptr_null(strmap_remove(map, "c"));
	ck_assert_ptr_null(strmap_remove(map, ""));
	ck_assert_ptr_eq(strmap_remove(map, "a"), a);
	ck_assert_ptr_null(strmap_get(map, "a"));
	ck_assert_ptr_null(strmap_remove(map, "a"));
	ck_assert_ptr_eq(strmap_get(map, "b"), b);
	strmap_foreach(map, strmap_test_count, &entries);
	ck_assert_int_eq(entries, 1);
	free(a);
	strmap_freed = 0;
	strmap_free(map, strmap_test_free);
	ck_assert_int_eq(strmap_freed, 1);
}
END_TEST

START_TEST(strmap_remove_then_add_again)
{
	struct strmap *map = strmap_new();
	int *first = strmap_test_value(1), *second = strmap_test_value(2);
	int entries = 0;

	strmap_add(map, "k", first);
	ck_assert_ptr_eq(strmap_remove(map, "k"), first);
	free(first);
	ck_assert_ptr_null(strmap_get(map, "k"));
	strmap_add(map, "k", second);
	ck_assert_ptr_eq(strmap_get(map, "k"), second);
	strmap_foreach(map, strmap_test_count, &entries);
	ck_assert_int_eq(entries, 1);
	strmap_freed = 0;
	strmap_free(map, strmap_test_free);
	ck_assert_int_eq(strmap_freed, 1);
}
END_TEST

/* 1000 keys in 1024 buckets leave about a quarter of the buckets with
 * chains of two to four entries, so removing every even key also unlinks
 * entries that are not at the head of their chain. */
START_TEST(strmap_remove_among_many)
{
	struct strmap *map = strmap_new();
	long sum = 0;

	for (int i = 0; i < 1000; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k%d", i);
		strmap_add(map, key, strmap_test_value(i));
	}
	for (int i = 0; i < 1000; i += 2) {
		char key[16];
		int *value;

		snprintf(key, sizeof(key), "k%d", i);
		value = strmap_remove(map, key);
		ck_assert_ptr_nonnull(value);
		ck_assert_int_eq(*value, i);
		free(value);
	}
	for (int i = 0; i < 1000; i++) {
		char key[16];
		int *value;

		snprintf(key, sizeof(key), "k%d", i);
		value = strmap_get(map, key);
		if (i % 2 == 0) {
			ck_assert_ptr_null(value);
		} else {
			ck_assert_ptr_nonnull(value);
			ck_assert_int_eq(*value, i);
		}
	}
	strmap_foreach(map, strmap_test_sum, &sum);
	ck_assert_int_eq(sum, 500L * 500);
	strmap_freed = 0;
	strmap_free(map, strmap_test_free);
	ck_assert_int_eq(strmap_freed, 500);
}
END_TEST

static Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("log");

	tcase_add_loop_test(tc, log_escape_table, 0,
	    (int)(sizeof(escape_cases) / sizeof(escape_cases[0])));
	tcase_add_test(tc, log_long_message_cut);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, dirsync_sequential_calls);
	tcase_add_test(tc, dirsync_missing_folder_fails);
	tcase_add_test(tc, dirsync_concurrent_calls);
	tcase_add_test(tc, fs_write_atomic_parts_joins);
	tcase_add_test(tc, hex_encode_cases);
	tcase_add_loop_test(tc, hex_append_escape_table, 0,
	    (int)(sizeof(hex_escape_cases) / sizeof(hex_escape_cases[0])));
	tcase_add_test(tc, strmap_grows_and_keeps_values);
	tcase_add_test(tc, strmap_remove_present_and_absent);
	tcase_add_test(tc, strmap_remove_then_add_again);
	tcase_add_test(tc, strmap_remove_among_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("octets");
	tcase_add_loop_test(tc, octets_class_at_each_position, 0,
	    (int)(sizeof(octets_cases) / sizeof(octets_cases[0])));
	tcase_add_test(tc, octets_length_bounds);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(util_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
