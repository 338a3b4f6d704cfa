/* Unit tests of store/: blobs, Email records, state, ids, crash leftovers
 * and concurrent writers, each against a fresh store in a temporary folder. */
#define _GNU_SOURCE
#include <check.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "util/fsutil.h"
#include "util/xmalloc.h"

static char *test_root;
static struct store *test_store;

static void
setup(void)
{
	const char *tmpdir = getenv("TMPDIR");
	char *error = NULL;

	test_root = xasprintf("%s/check_store.XXXXXX",
	    tmpdir != NULL && *tmpdir != '\0' ? tmpdir : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(test_root));
	ck_assert_msg(store_open(test_root, &test_store, &error) == 0, "%s",
	    error);
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
make_writable(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D)
		chmod(path, st->st_mode | S_IRWXU);
	return 0;
}

static void
teardown(void)
{
	store_close(test_store);
	test_store = NULL;
	nftw(test_root, make_writable, 16, FTW_PHYS);
	nftw(test_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(test_root);
	test_root = NULL;
}

static int tmp_file_count;

static int
count_tmp(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	if (flag == FTW_F && strstr(path + ftw->base, ".tmp.") != NULL)
		tmp_file_count++;
	return 0;
}

/* Returns the number of temporary files anywhere under the test root. */
static int
count_tmp_files(void)
{
	tmp_file_count = 0;
	ck_assert_int_eq(nftw(test_root, count_tmp, 16, FTW_PHYS), 0);
	return tmp_file_count;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "fopen(%s): %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

START_TEST(store_blob_roundtrip_nul_bytes)
{
	static const char content[] = "a\0b\0\0c\r\n\0";
	char *id = NULL, *data = NULL, *type = NULL, *error = NULL;
	size_t len = 0, size = 0;

	ck_assert_msg(store_blob_put(test_store, "alice", content,
	    sizeof(content), "message/rfc822", &id, &error) == 0, "%s", error);
	ck_assert_int_eq(store_blob_get(test_store, "alice", id, &data, &len,
	    &type, &error), STORE_OK);
	ck_assert_uint_eq(len, sizeof(content));
	ck_assert_mem_eq(data, content, sizeof(content));
	ck_assert_int_eq(data[len], '\0');
	ck_assert_str_eq(type, "message/rfc822");
	ck_assert_int_eq(store_blob_size(test_store, "alice", id, &size),
	    STORE_OK);
	ck_assert_uint_eq(size, sizeof(content));
	free(id);
	free(data);
	free(type);
}
END_TEST

START_TEST(store_blob_empty_content)
{
	char *id = NULL, *data = NULL, *type = NULL, *error = NULL;
	size_t len = 1;

	ck_assert_msg(store_blob_put(test_store, "alice", "", 0, NULL, &id,
	    &error) == 0, "%s", error);
	/* SHA-256 of the empty string. */
	ck_assert_str_eq(id, "Ge3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
	    "a495991b7852b855");
	ck_assert_int_eq(store_blob_get(test_store, "alice", id, &data, &len,
	    &type, &error), STORE_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(type, "application/octet-stream");
	free(id);
	free(data);
	free(type);
}
END_TEST

START_TEST(store_blob_same_content_same_id)
{
	char *id1 = NULL, *id2 = NULL, *id3 = NULL, *type = NULL;
	char *data = NULL, *error = NULL;
	size_t len;

	ck_assert_int_eq(store_blob_put(test_store, "alice", "abc", 3,
	    "text/plain", &id1, &error), 0);
	ck_assert_int_eq(store_blob_put(test_store, "alice", "abc", 3,
	    "text/html", &id2, &error), 0);
	ck_assert_int_eq(store_blob_put(test_store, "alice", "abd", 3,
	    "text/plain", &id3, &error), 0);
	ck_assert_str_eq(id1, "Gba7816bf8f01cfea414140de5dae2223b00361a396177a9c"
	    "b410ff61f20015ad");
	ck_assert_str_eq(id1, id2);
	ck_assert_str_ne(id1, id3);
	/* Storing the same content again replaces the type. */
	ck_assert_int_eq(store_blob_get(test_store, "alice", id1, &data, &len,
	    &type, &error), STORE_OK);
	ck_assert_str_eq(type, "text/html");
	free(id1);
	free(id2);
	free(id3);
	free(data);
	free(type);
}
END_TEST

/* store_blob_add gives the same content a new random id each time. */
START_TEST(store_blob_add_new_ids)
{
	char *id1 = NULL, *id2 = NULL, *data = NULL, *type = NULL, *error = NULL;
	size_t len;

	ck_assert_msg(store_blob_add(test_store, "alice", "msg", 3, "message/rfc822",
	    &id1, &error) == 0, "%s", error);
	ck_assert_int_eq(store_blob_add(test_store, "alice", "msg", 3, "message/rfc822",
	    &id2, &error), 0);
	ck_assert_uint_eq(strlen(id1), 25);
	ck_assert_int_eq(id1[0], 'B');
	ck_assert_str_ne(id1, id2);
	ck_assert_int_eq(store_blob_get(test_store, "alice", id1, &data, &len, &type,
	    &error), STORE_OK);
	ck_assert_uint_eq(len, 3);
	ck_assert_str_eq(data, "msg");
	ck_assert_str_eq(type, "message/rfc822");
	free(data);
	free(type);
	free(id2);
	id2 = NULL;
	ck_assert_int_eq(store_blob_add(test_store, "alice", "x", 1, "text/plain\r\n",
	    &id2, &error), -1);
	ck_assert_ptr_null(id2);
	ck_assert_ptr_nonnull(strstr(error, "invalid media type"));
	free(error);
	free(id1);
}
END_TEST

START_TEST(store_blob_other_account_not_found)
{
	char *id = NULL, *data = NULL, *type = NULL, *error = NULL;
	size_t len, size;

	ck_assert_int_eq(store_blob_put(test_store, "alice", "secret", 6, NULL,
	    &id, &error), 0);
	ck_assert_int_eq(store_blob_get(test_store, "bob", id, &data, &len,
	    &type, &error), STORE_NOT_FOUND);
	ck_assert_int_eq(store_blob_size(test_store, "bob", id, &size),
	    STORE_NOT_FOUND);
	ck_assert_ptr_null(data);
	ck_assert_ptr_null(error);
	free(id);
}
END_TEST

START_TEST(store_blob_delete_removes_blob)
{
	char *id = NULL, *error = NULL;
	size_t size;

	ck_assert_int_eq(store_blob_put(test_store, "alice", "gone", 4, "text/plain",
	    &id, &error), 0);
	ck_assert_int_eq(store_blob_delete(test_store, "bob", id, &error), STORE_NOT_FOUND);
	ck_assert_int_eq(store_blob_delete(test_store, "alice", id, &error), STORE_OK);
	ck_assert_ptr_null(error);
	ck_assert_int_eq(store_blob_size(test_store, "alice", id, &size), STORE_NOT_FOUND);
	ck_assert_int_eq(store_blob_delete(test_store, "alice", id, &error), STORE_NOT_FOUND);
	ck_assert_int_eq(store_blob_delete(test_store, "alice", "../x", &error),
	    STORE_NOT_FOUND);
	free(id);
}
END_TEST

/* The same content and type again leaves the blob file untouched. Another
 * type replaces it, and another account gets its own file. */
START_TEST(store_blob_put_same_content)
{
	char *id = NULL, *error = NULL, *path, *bob_path;
	struct stat before, after;

	ck_assert_int_eq(store_blob_put(test_store, "alice", "once", 4, "text/plain",
	    &id, &error), 0);
	path = xasprintf("%s/accounts/alice/blobs/%s", test_root, id);
	ck_assert_int_eq(stat(path, &before), 0);
	free(id);

	ck_assert_int_eq(store_blob_put(test_store, "alice", "once", 4, "text/plain",
	    &id, &error), 0);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_uint_eq(before.st_ino, after.st_ino);
	free(id);

	ck_assert_int_eq(store_blob_put(test_store, "alice", "once", 4, "text/html",
	    &id, &error), 0);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_uint_ne(before.st_ino, after.st_ino);

	bob_path = xasprintf("%s/accounts/bob/blobs/%s", test_root, id);
	free(id);
	ck_assert(!file_exists(bob_path));
	ck_assert_int_eq(store_blob_put(test_store, "bob", "once", 4, "text/plain",
	    &id, &error), 0);
	ck_assert(file_exists(bob_path));
	free(id);
	free(bob_path);
	free(path);
}
END_TEST


START_TEST(store_blob_unknown_id_not_found)
{
	char *data = NULL, *type = NULL, *error = NULL;
	size_t len, size;

	ck_assert_int_eq(store_blob_get(test_store, "alice", "Gabc", &data, &len,
	    &type, &error), STORE_NOT_FOUND);
	ck_assert_int_eq(store_blob_size(test_store, "alice", "Gabc", &size),
	    STORE_NOT_FOUND);
	ck_assert_ptr_null(error);
}
END_TEST

/* A blob file that does not start with a media type line is an error, not
 * an empty or untyped blob. Storing the content again repairs it. */
static const char *const damaged_blob_files[] = {
	"", "no line feed", "\ncontent", "text/plain\r\ncontent",
};

START_TEST(store_blob_damaged_header)
{
	char *id = NULL, *data = NULL, *type = NULL, *error = NULL, *path;
	size_t len, size;

	ck_assert_int_eq(store_blob_put(test_store, "alice", "x", 1, "text/plain",
	    &id, &error), 0);
	path = xasprintf("%s/accounts/alice/blobs/%s", test_root, id);
	write_file(path, damaged_blob_files[_i]);
	ck_assert_int_eq(store_blob_get(test_store, "alice", id, &data, &len,
	    &type, &error), STORE_ERROR);
	ck_assert_msg(strstr(error, "does not start with a valid media type") != NULL,
	    "%s", error);
	free(error);
	error = NULL;
	ck_assert_int_eq(store_blob_size(test_store, "alice", id, &size), STORE_ERROR);
	free(id);

	ck_assert_int_eq(store_blob_put(test_store, "alice", "x", 1, "text/plain",
	    &id, &error), 0);
	ck_assert_int_eq(store_blob_get(test_store, "alice", id, &data, &len,
	    &type, &error), STORE_OK);
	ck_assert_str_eq(type, "text/plain");
	ck_assert_uint_eq(len, 1);
	free(path);
	free(id);
	free(data);
	free(type);
}
END_TEST

/* A new store gets a format file, and so does a store of format 1, which
 * has accounts but no format file. A store with another format is not
 * opened. */
START_TEST(store_format_file)
{
	struct store *other = NULL;
	char *path, *error = NULL, *text = NULL, *account;
	size_t len;

	path = xasprintf("%s/format", test_root);
	ck_assert_int_eq(fs_read_file(path, 100, &text, &len, &error), 0);
	ck_assert_str_eq(text, "smimegw store format 2\n");
	free(text);
	store_close(test_store);
	test_store = NULL;

	write_file(path, "smimegw store format 3\n");
	ck_assert_int_eq(store_open(test_root, &other, &error), -1);
	ck_assert_msg(strstr(error, "another version of smimegw wrote the store") != NULL,
	    "%s", error);
	ck_assert_msg(strstr(error, "store.path") != NULL, "%s", error);
	free(error);
	error = NULL;

	ck_assert_int_eq(unlink(path), 0);
	account = xasprintf("%s/accounts/alice", test_root);
	ck_assert_int_eq(mkdir(account, 0700), 0);
	ck_assert_msg(store_open(test_root, &other, &error) == 0, "%s", error);
	store_close(other);
	ck_assert_int_eq(fs_read_file(path, 100, &text, &len, &error), 0);
	ck_assert_str_eq(text, "smimegw store format 2\n");
	free(text);
	free(account);
	free(path);
}
END_TEST

/* Blobs of format 1 (the content unchanged, the type in "<id>.type") are
 * read, keep their layout when their type changes, and are deleted with
 * their type file. */
START_TEST(store_blob_format1_read)
{
	char *dir, *blob, *type_path, *id = NULL, *data = NULL, *type = NULL;
	char *error = NULL, *text = NULL;
	const char *blob_id = "G0123";
	size_t len, size;

	dir = xasprintf("%s/accounts/alice/blobs", test_root);
	ck_assert_int_eq(fs_mkdirs(dir, 0700, &error), 0);
	blob = xasprintf("%s/%s", dir, blob_id);
	type_path = xasprintf("%s.type", blob);
	write_file(blob, "text/x\nnot a type line");
	write_file(type_path, "image/png");

	ck_assert_int_eq(store_blob_get(test_store, "alice", blob_id, &data, &len, &type,
	    &error), STORE_OK);
	ck_assert_str_eq(type, "image/png");
	ck_assert_str_eq(data, "text/x\nnot a type line");
	free(data);
	free(type);
	ck_assert_int_eq(store_blob_size(test_store, "alice", blob_id, &size), STORE_OK);
	ck_assert_uint_eq(size, 22);

	write_file(type_path, "bad\ttype");
	ck_assert_int_eq(store_blob_get(test_store, "alice", blob_id, &data, &len, &type,
	    &error), STORE_ERROR);
	ck_assert_msg(strstr(error, ".type does not contain a valid media type") != NULL,
	    "%s", error);
	free(error);
	error = NULL;
	write_file(type_path, "image/png");

	/* A format 1 blob under its content's id, which bob's copy gives. */
	ck_assert_int_eq(store_blob_put(test_store, "bob", "old\r\n", 5, NULL, &id,
	    &error), 0);
	free(type_path);
	free(blob);
	blob = xasprintf("%s/%s", dir, id);
	type_path = xasprintf("%s.type", blob);
	write_file(blob, "old\r\n");
	write_file(type_path, "text/plain");
	free(id);
	ck_assert_int_eq(store_blob_put(test_store, "alice", "old\r\n", 5, "text/plain",
	    &id, &error), 0);
	free(id);
	ck_assert_int_eq(fs_read_file(type_path, 100, &text, &len, &error), 0);
	ck_assert_str_eq(text, "text/plain");
	free(text);
	text = NULL;
	ck_assert_int_eq(store_blob_put(test_store, "alice", "old\r\n", 5, "text/html",
	    &id, &error), 0);
	ck_assert_int_eq(fs_read_file(blob, 100, &text, &len, &error), 0);
	ck_assert_str_eq(text, "old\r\n");
	free(text);
	text = NULL;
	ck_assert_int_eq(fs_read_file(type_path, 100, &text, &len, &error), 0);
	ck_assert_str_eq(text, "text/html");
	ck_assert_int_eq(store_blob_get(test_store, "alice", id, &data, &len, &type,
	    &error), STORE_OK);
	ck_assert_str_eq(type, "text/html");
	ck_assert_uint_eq(len, 5);
	free(data);
	free(type);

	ck_assert_int_eq(store_blob_delete(test_store, "alice", id, &error), STORE_OK);
	ck_assert(!file_exists(blob));
	ck_assert(!file_exists(type_path));
	free(id);
	free(text);
	free(type_path);
	free(blob);
	free(dir);
}
END_TEST

static const char *const invalid_types[] = {
	"", "text/plain\r\nX-Injected: 1", "text/plain\t", "a\x7f",
};

START_TEST(store_blob_invalid_type_rejected)
{
	char *id = NULL, *error = NULL;

	ck_assert_int_eq(store_blob_put(test_store, "alice", "x", 1,
	    invalid_types[_i], &id, &error), -1);
	ck_assert_ptr_null(id);
	ck_assert_ptr_nonnull(strstr(error, "invalid media type"));
	free(error);
}
END_TEST

static const char *const invalid_ids[] = {
	"../x", "", "a/b", "a.b", ".", "..", "a b", "a\nb", "é", "x/../../y",
	NULL, /* replaced by 256 characters in make_invalid_id */
};

static char *
make_invalid_id(int i)
{
	if (invalid_ids[i] != NULL)
		return xstrdup(invalid_ids[i]);

	char *id = xmalloc(257);
	memset(id, 'a', 256);
	id[256] = '\0';
	return id;
}

START_TEST(store_id_invalid_rejected)
{
	char *bad = make_invalid_id(_i);
	char *id = NULL, *data = NULL, *type = NULL, *error = NULL;
	char **ids = NULL;
	size_t len, count;
	json_t *record = json_object();

	ck_assert(!store_id_valid(bad));

	/* Reads: not found, without a message. */
	ck_assert_int_eq(store_blob_get(test_store, bad, "Gabc", &data, &len,
	    &type, &error), STORE_NOT_FOUND);
	ck_assert_int_eq(store_blob_get(test_store, "alice", bad, &data, &len,
	    &type, &error), STORE_NOT_FOUND);
	ck_assert_int_eq(store_blob_size(test_store, "alice", bad, &len),
	    STORE_NOT_FOUND);
	ck_assert_int_eq(store_email_get(test_store, bad, "M1", &record, &error),
	    STORE_NOT_FOUND);
	ck_assert_int_eq(store_email_get(test_store, "alice", bad, &record,
	    &error), STORE_NOT_FOUND);
	ck_assert_int_eq(store_email_delete(test_store, "alice", bad, &error),
	    STORE_NOT_FOUND);
	ck_assert_ptr_null(error);
	ck_assert_ptr_null(store_email_state(test_store, bad));

	/* Writes: an error naming the id. */
	ck_assert_int_eq(store_blob_put(test_store, bad, "x", 1, NULL, &id,
	    &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "invalid account id"));
	free(error);
	error = NULL;
	ck_assert_int_eq(store_email_put(test_store, "alice", bad, record,
	    &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "invalid email id"));
	free(error);
	error = NULL;
	ck_assert_int_eq(store_email_put(test_store, bad, "M1", record, &error),
	    -1);
	free(error);
	error = NULL;
	ck_assert_int_eq(store_email_list(test_store, bad, &ids, &count, &error),
	    -1);
	free(error);
	error = NULL;
	ck_assert_int_eq(store_email_state_bump(test_store, bad, NULL, &error),
	    -1);
	free(error);

	ck_assert_ptr_null(id);
	ck_assert_int_eq(count_tmp_files(), 0);
	json_decref(record);
	free(bad);
}
END_TEST

START_TEST(store_id_invalid_never_escapes)
{
	char *id = NULL, *error = NULL;
	char *outside = xasprintf("%s/x", test_root);

	ck_assert_int_eq(store_blob_put(test_store, "../../x", "x", 1, NULL, &id,
	    &error), -1);
	free(error);
	ck_assert(!file_exists(outside));
	free(outside);
}
END_TEST

START_TEST(store_id_valid_accepted)
{
	char *max = xmalloc(256);

	memset(max, 'Z', 255);
	max[255] = '\0';
	ck_assert(store_id_valid("a"));
	ck_assert(store_id_valid("Az09_-"));
	ck_assert(store_id_valid(max));
	free(max);
}
END_TEST

START_TEST(store_new_id_format)
{
	char *a = store_new_id('M');
	char *b = store_new_id('M');

	ck_assert_uint_eq(strlen(a), 25);
	ck_assert_int_eq(a[0], 'M');
	ck_assert_uint_eq(strspn(a + 1, "0123456789abcdef"), 24);
	ck_assert(store_id_valid(a));
	ck_assert_str_ne(a, b);
	free(a);
	free(b);
}
END_TEST

START_TEST(store_email_put_get_replace)
{
	json_t *record = json_pack("{s:s, s:i, s:[s]}", "blobId", "Gab",
	    "size", 42, "keywords", "$seen");
	json_t *got = NULL;
	char *error = NULL;

	ck_assert_msg(store_email_put(test_store, "alice", "M1", record,
	    &error) == 0, "%s", error);
	ck_assert_int_eq(store_email_get(test_store, "alice", "M1", &got,
	    &error), STORE_OK);
	ck_assert(json_equal(got, record));
	json_decref(got);

	json_object_set_new(record, "size", json_integer(43));
	ck_assert_int_eq(store_email_put(test_store, "alice", "M1", record,
	    &error), 0);
	ck_assert_int_eq(store_email_get(test_store, "alice", "M1", &got,
	    &error), STORE_OK);
	ck_assert_int_eq(json_integer_value(json_object_get(got, "size")), 43);
	json_decref(got);

	ck_assert_int_eq(store_email_get(test_store, "bob", "M1", &got, &error),
	    STORE_NOT_FOUND);
	ck_assert_int_eq(store_email_get(test_store, "alice", "M2", &got,
	    &error), STORE_NOT_FOUND);
	ck_assert_ptr_null(error);
	json_decref(record);
}
END_TEST

START_TEST(store_email_put_non_object_rejected)
{
	json_t *array = json_array();
	char *error = NULL;

	ck_assert_int_eq(store_email_put(test_store, "alice", "M1", array,
	    &error), -1);
	ck_assert_ptr_nonnull(strstr(error, "not a JSON object"));
	free(error);
	json_decref(array);
}
END_TEST

START_TEST(store_email_get_corrupt_record)
{
	json_t *record = json_object(), *got = NULL;
	char *error = NULL, *path;

	ck_assert_int_eq(store_email_put(test_store, "alice", "M1", record,
	    &error), 0);
	path = xasprintf("%s/accounts/alice/emails/M1.json", test_root);
	write_file(path, "{\"truncated\": ");
	ck_assert_int_eq(store_email_get(test_store, "alice", "M1", &got,
	    &error), STORE_ERROR);
	ck_assert_ptr_nonnull(strstr(error, path));
	free(error);
	error = NULL;

	write_file(path, "[1]");
	ck_assert_int_eq(store_email_get(test_store, "alice", "M1", &got,
	    &error), STORE_ERROR);
	ck_assert_ptr_nonnull(strstr(error, "not contain a JSON object"));
	free(error);
	free(path);
	json_decref(record);
}
END_TEST

START_TEST(store_email_delete_and_list)
{
	static const char *const puts[] = { "Mb", "Ma", "Mc", "M-0", "M_9" };
	static const char *const sorted[] = { "M-0", "M_9", "Ma", "Mb", "Mc" };
	json_t *record = json_object(), *got = NULL;
	char **ids = NULL, *error = NULL, *blob_id = NULL;
	size_t count = 99, size;

	ck_assert_int_eq(store_email_list(test_store, "alice", &ids, &count,
	    &error), 0);
	ck_assert_uint_eq(count, 0);
	store_ids_free(ids, count);

	for (size_t i = 0; i < 5; i++)
		ck_assert_int_eq(store_email_put(test_store, "alice", puts[i],
		    record, &error), 0);
	ck_assert_int_eq(store_email_list(test_store, "alice", &ids, &count,
	    &error), 0);
	ck_assert_uint_eq(count, 5);
	for (size_t i = 0; i < 5; i++)
		ck_assert_str_eq(ids[i], sorted[i]);
	store_ids_free(ids, count);

	ck_assert_int_eq(store_blob_put(test_store, "alice", "msg", 3, NULL,
	    &blob_id, &error), 0);
	ck_assert_int_eq(store_email_delete(test_store, "alice", "Mb", &error),
	    STORE_OK);
	ck_assert_int_eq(store_email_delete(test_store, "alice", "Mb", &error),
	    STORE_NOT_FOUND);
	ck_assert_int_eq(store_email_get(test_store, "alice", "Mb", &got,
	    &error), STORE_NOT_FOUND);
	/* Deleting an email leaves the blobs alone. */
	ck_assert_int_eq(store_blob_size(test_store, "alice", blob_id, &size),
	    STORE_OK);

	ck_assert_int_eq(store_email_list(test_store, "alice", &ids, &count,
	    &error), 0);
	ck_assert_uint_eq(count, 4);
	ck_assert_str_eq(ids[2], "Ma");
	ck_assert_str_eq(ids[3], "Mc");
	store_ids_free(ids, count);
	ck_assert_ptr_null(error);
	free(blob_id);
	json_decref(record);
}
END_TEST

START_TEST(store_state_bump_persists)
{
	char *state, *error = NULL;

	state = store_email_state(test_store, "alice");
	ck_assert_str_eq(state, "0");
	free(state);
	ck_assert_int_eq(store_email_state_bump(test_store, "alice", &state,
	    &error), 0);
	ck_assert_str_eq(state, "1");
	free(state);
	ck_assert_int_eq(store_email_state_bump(test_store, "alice", NULL,
	    &error), 0);

	store_close(test_store);
	test_store = NULL;
	ck_assert_int_eq(store_open(test_root, &test_store, &error), 0);

	state = store_email_state(test_store, "alice");
	ck_assert_str_eq(state, "2");
	free(state);
	ck_assert_int_eq(store_email_state_bump(test_store, "alice", &state,
	    &error), 0);
	ck_assert_str_eq(state, "3");
	free(state);
	state = store_email_state(test_store, "bob");
	ck_assert_str_eq(state, "0");
	free(state);
}
END_TEST

/* A daemon that ends without store_close leaves the reserved value in the
 * state file, so the next one never hands out a state seen before. */
START_TEST(store_state_after_crash_is_higher)
{
	char *state, *error = NULL;
	pid_t pid;
	int status;

	store_close(test_store);
	test_store = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct store *child = NULL;
		char *child_error = NULL, *value = NULL;

		if (store_open(test_root, &child, &child_error) < 0 ||
		    store_email_state_bump(child, "alice", NULL, &child_error) < 0 ||
		    store_email_state_bump(child, "alice", &value, &child_error) < 0 ||
		    strcmp(value, "2") != 0)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);

	ck_assert_int_eq(store_open(test_root, &test_store, &error), 0);
	state = store_email_state(test_store, "alice");
	ck_assert_ptr_nonnull(state);
	ck_assert_int_gt(atol(state), 2);
	free(state);
	ck_assert_int_eq(store_email_state_bump(test_store, "alice", &state, &error), 0);
	ck_assert_int_gt(atol(state), 3);
	free(state);
}
END_TEST

START_TEST(store_state_corrupt_file)
{
	char *state = NULL, *error = NULL, *path;

	ck_assert_int_eq(store_email_state_bump(test_store, "alice", NULL,
	    &error), 0);
	path = xasprintf("%s/accounts/alice/state", test_root);
	/* The store reads a state file once and writes it on closing, so the
	 * damage is done while it is closed. */
	store_close(test_store);
	test_store = NULL;
	write_file(path, "12x");
	ck_assert_int_eq(store_open(test_root, &test_store, &error), 0);
	ck_assert_ptr_null(store_email_state(test_store, "alice"));
	ck_assert_int_eq(store_email_state_bump(test_store, "alice", &state,
	    &error), -1);
	ck_assert_ptr_nonnull(strstr(error, path));
	ck_assert_ptr_null(state);
	free(error);
	free(path);
}
END_TEST

/* Root ignores permission bits, so a read-only directory only makes a write
 * fail for other users. This case is registered only when not running as
 * root; store_put_blocked_dir_fails covers a failing write for everyone. */
START_TEST(store_put_readonly_dir_fails)
{
	char *id = NULL, *error = NULL, *dir;
	json_t *record = json_object();

	ck_assert_int_eq(store_blob_put(test_store, "alice", "a", 1, NULL, &id,
	    &error), 0);
	free(id);
	id = NULL;
	ck_assert_int_eq(store_email_put(test_store, "alice", "M1", record,
	    &error), 0);

	dir = xasprintf("%s/accounts/alice/blobs", test_root);
	ck_assert_int_eq(chmod(dir, 0500), 0);
	ck_assert_int_eq(store_blob_put(test_store, "alice", "b", 1, NULL, &id,
	    &error), -1);
	ck_assert_ptr_null(id);
	ck_assert_msg(strstr(error, dir) != NULL, "%s", error);
	ck_assert_msg(strstr(error, strerror(EACCES)) != NULL, "%s", error);
	free(error);
	error = NULL;
	free(dir);

	dir = xasprintf("%s/accounts/alice/emails", test_root);
	ck_assert_int_eq(chmod(dir, 0500), 0);
	ck_assert_int_eq(store_email_put(test_store, "alice", "M1", record,
	    &error), -1);
	ck_assert_msg(strstr(error, strerror(EACCES)) != NULL, "%s", error);
	free(error);
	free(dir);

	ck_assert_int_eq(count_tmp_files(), 0);
	json_decref(record);
}
END_TEST

START_TEST(store_open_readonly_root_fails)
{
	char *error = NULL;
	struct store *store = NULL;

	store_close(test_store);
	test_store = NULL;
	ck_assert_int_eq(chmod(test_root, 0500), 0);
	ck_assert_int_eq(store_open(test_root, &store, &error), -1);
	ck_assert_ptr_null(store);
	ck_assert_msg(strstr(error, test_root) != NULL, "%s", error);
	free(error);
	ck_assert_int_eq(count_tmp_files(), 0);
}
END_TEST

/* A regular file where the blobs and emails folders belong makes every write
 * below it fail, for root too. */
START_TEST(store_put_blocked_dir_fails)
{
	char *id = NULL, *error = NULL, *path;
	json_t *record = json_object();

	path = xasprintf("%s/accounts/alice", test_root);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	free(path);
	path = xasprintf("%s/accounts/alice/blobs", test_root);
	write_file(path, "");
	ck_assert_int_eq(store_blob_put(test_store, "alice", "b", 1, NULL, &id,
	    &error), -1);
	ck_assert_ptr_null(id);
	ck_assert_msg(strstr(error, path) != NULL, "%s", error);
	ck_assert_msg(strstr(error, strerror(ENOTDIR)) != NULL, "%s", error);
	free(error);
	error = NULL;
	free(path);

	path = xasprintf("%s/accounts/alice/emails", test_root);
	write_file(path, "");
	ck_assert_int_eq(store_email_put(test_store, "alice", "M1", record,
	    &error), -1);
	ck_assert_msg(strstr(error, path) != NULL, "%s", error);
	free(error);
	error = NULL;
	free(path);

	ck_assert_int_eq(store_email_list(test_store, "alice", &(char **){ NULL },
	    &(size_t){ 0 }, &error), -1);
	ck_assert_ptr_nonnull(error);
	free(error);

	ck_assert_int_eq(count_tmp_files(), 0);
	json_decref(record);
}
END_TEST

START_TEST(store_tmp_files_ignored_and_cleaned)
{
	json_t *record = json_object();
	char *id = NULL, *error = NULL, **ids = NULL;
	size_t count = 0;
	char *leftovers[5];

	ck_assert_int_eq(store_email_put(test_store, "alice", "M1", record,
	    &error), 0);
	ck_assert_int_eq(store_blob_put(test_store, "alice", "x", 1, NULL, &id,
	    &error), 0);
	leftovers[0] = xasprintf("%s/accounts/alice/emails/M2.json.tmp.Ab12Cd",
	    test_root);
	leftovers[1] = xasprintf("%s/accounts/alice/blobs/%s.tmp.Ab12Cd",
	    test_root, id);
	leftovers[2] = xasprintf("%s/accounts/alice/state.tmp.Ab12Cd", test_root);
	leftovers[3] = xasprintf("%s/writable.tmp.Ab12Cd", test_root);
	leftovers[4] = xasprintf("%s/accounts/alice/emails/M3.json.tmp.Ab12Cd",
	    test_root);
	for (size_t i = 0; i < 5; i++)
		write_file(leftovers[i], "{\"half\":");

	ck_assert_int_eq(store_email_list(test_store, "alice", &ids, &count,
	    &error), 0);
	ck_assert_uint_eq(count, 1);
	ck_assert_str_eq(ids[0], "M1");
	store_ids_free(ids, count);

	store_close(test_store);
	test_store = NULL;
	ck_assert_int_eq(store_open(test_root, &test_store, &error), 0);
	for (size_t i = 0; i < 5; i++) {
		ck_assert_msg(!file_exists(leftovers[i]), "%s is still there",
		    leftovers[i]);
		free(leftovers[i]);
	}
	ck_assert_int_eq(count_tmp_files(), 0);
	ck_assert_int_eq(store_blob_size(test_store, "alice", id, &count),
	    STORE_OK);
	json_decref(record);
	ck_assert_int_eq(store_email_get(test_store, "alice", "M1", &record,
	    &error), STORE_OK);
	json_decref(record);
	free(id);
}
END_TEST

START_TEST(store_open_locked_by_other_process)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct store *store = NULL;
		char *error = NULL;

		if (store_open(test_root, &store, &error) == 0)
			_exit(1);
		_exit(strstr(error, "in use by process") != NULL ? 0 : 2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

#define THREADS 8
#define PUTS_PER_THREAD 40

struct worker {
	int index;
	int failures;
	char *blob_ids[PUTS_PER_THREAD];
	long states[PUTS_PER_THREAD];
};

static void *
worker_run(void *arg)
{
	struct worker *worker = arg;

	for (int i = 0; i < PUTS_PER_THREAD; i++) {
		char *content = xasprintf("content %d.%d", worker->index, i);
		char *email_id = xasprintf("M%d_%d", worker->index, i);
		json_t *record = json_pack("{s:i, s:i}", "thread", worker->index,
		    "n", i);
		char *error = NULL, *state = NULL;

		if (store_blob_put(test_store, "alice", content, strlen(content),
		    "text/plain", &worker->blob_ids[i], &error) < 0 ||
		    store_email_put(test_store, "alice", email_id, record,
		    &error) < 0 ||
		    store_email_state_bump(test_store, "alice", &state, &error) < 0) {
			fprintf(stderr, "worker %d: %s\n", worker->index, error);
			free(error);
			worker->failures++;
		}
		worker->states[i] = state != NULL ? atol(state) : -1;
		free(state);
		json_decref(record);
		free(email_id);
		free(content);
	}
	return NULL;
}

START_TEST(store_concurrent_puts_all_land)
{
	struct worker workers[THREADS] = { 0 };
	pthread_t threads[THREADS];
	char **ids = NULL, *error = NULL, *state;
	size_t count = 0;

	for (int t = 0; t < THREADS; t++) {
		workers[t].index = t;
		ck_assert_int_eq(pthread_create(&threads[t], NULL, worker_run,
		    &workers[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		ck_assert_int_eq(pthread_join(threads[t], NULL), 0);

	for (int t = 0; t < THREADS; t++) {
		ck_assert_int_eq(workers[t].failures, 0);
		for (int i = 0; i < PUTS_PER_THREAD; i++) {
			char *expected = xasprintf("content %d.%d", t, i);
			char *data = NULL, *type = NULL;
			size_t len = 0;

			ck_assert_int_eq(store_blob_get(test_store, "alice",
			    workers[t].blob_ids[i], &data, &len, &type, &error),
			    STORE_OK);
			ck_assert_str_eq(data, expected);
			free(data);
			free(type);
			free(expected);
			free(workers[t].blob_ids[i]);
		}
	}
	ck_assert_int_eq(store_email_list(test_store, "alice", &ids, &count,
	    &error), 0);
	ck_assert_uint_eq(count, THREADS * PUTS_PER_THREAD);
	store_ids_free(ids, count);

	state = store_email_state(test_store, "alice");
	ck_assert_int_eq(atol(state), THREADS * PUTS_PER_THREAD);
	free(state);
	ck_assert_int_eq(count_tmp_files(), 0);

	/* Every bump got its own value, although bumps share writes. */
	bool seen[THREADS * PUTS_PER_THREAD + 1] = { false };
	for (int t = 0; t < THREADS; t++) {
		for (int i = 0; i < PUTS_PER_THREAD; i++) {
			long value = workers[t].states[i];

			ck_assert_int_ge(value, 1);
			ck_assert_int_le(value, THREADS * PUTS_PER_THREAD);
			ck_assert_msg(!seen[value], "state %ld returned twice", value);
			seen[value] = true;
		}
	}

	store_close(test_store);
	test_store = NULL;
	ck_assert_int_eq(store_open(test_root, &test_store, &error), 0);
	state = store_email_state(test_store, "alice");
	ck_assert_int_eq(atol(state), THREADS * PUTS_PER_THREAD);
	free(state);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, store_blob_roundtrip_nul_bytes);
	tcase_add_test(tc, store_blob_empty_content);
	tcase_add_test(tc, store_blob_same_content_same_id);
	tcase_add_test(tc, store_blob_delete_removes_blob);
	tcase_add_test(tc, store_blob_other_account_not_found);
	tcase_add_test(tc, store_blob_unknown_id_not_found);
	tcase_add_loop_test(tc, store_blob_damaged_header, 0,
	    sizeof(damaged_blob_files) / sizeof(damaged_blob_files[0]));
	tcase_add_test(tc, store_blob_put_same_content);
	tcase_add_test(tc, store_blob_add_new_ids);
	tcase_add_test(tc, store_format_file);
	tcase_add_test(tc, store_blob_format1_read);
	tcase_add_loop_test(tc, store_blob_invalid_type_rejected, 0,
	    (int)(sizeof(invalid_types) / sizeof(invalid_types[0])));
	tcase_add_loop_test(tc, store_id_invalid_rejected, 0,
	    (int)(sizeof(invalid_ids) / sizeof(invalid_ids[0])));
	tcase_add_test(tc, store_id_invalid_never_escapes);
	tcase_add_test(tc, store_id_valid_accepted);
	tcase_add_test(tc, store_new_id_format);
	tcase_add_test(tc, store_email_put_get_replace);
	tcase_add_test(tc, store_email_put_non_object_rejected);
	tcase_add_test(tc, store_email_get_corrupt_record);
	tcase_add_test(tc, store_email_delete_and_list);
	tcase_add_test(tc, store_state_bump_persists);
	tcase_add_test(tc, store_state_corrupt_file);
	tcase_add_test(tc, store_state_after_crash_is_higher);
	tcase_add_test(tc, store_put_blocked_dir_fails);
	tcase_add_test(tc, store_tmp_files_ignored_and_cleaned);
	tcase_add_test(tc, store_open_locked_by_other_process);
	tcase_add_test(tc, store_concurrent_puts_all_land);
	if (geteuid() != 0) {
		tcase_add_test(tc, store_put_readonly_dir_fails);
		tcase_add_test(tc, store_open_readonly_root_fails);
	} else {
		printf("NOTE: running as root, which ignores permission bits: "
		    "store_put_readonly_dir_fails and "
		    "store_open_readonly_root_fails are not run\n");
	}
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *runner = srunner_create(store_suite());
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
