/* Unit tests of util/: log lines stay one line whatever the message holds,
 * and long messages are cut. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
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

static Suite *
util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("log");

	tcase_add_loop_test(tc, log_escape_table, 0,
	    (int)(sizeof(escape_cases) / sizeof(escape_cases[0])));
	tcase_add_test(tc, log_long_message_cut);
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
