/* On-disk store of blobs, Email records and Email state per account; every
 * write is atomic (fs_write_atomic_parts and a folder fsync), so a crash
 * leaves old or new files only. */
#include "store/store.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/dirsync.h"
#include "util/fsutil.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

#define STORE_ID_MAX_LEN 255
#define STORE_TYPE_MAX_LEN 255
#define STORE_EMAIL_MAX_SIZE ((size_t)16 * 1024 * 1024)
#define STORE_STATE_MAX_SIZE 64
#define STORE_DEFAULT_TYPE "application/octet-stream"
/* Content of <root>/format. Format 1, which had no format file, kept each
 * blob's content unchanged and its media type in a separate
 * "<blobId>.type" file. Such blobs are still read, so a store of format 1
 * gets the format file when it is first opened. */
#define STORE_FORMAT "smimegw store format 2\n"
/* fs_write_atomic names its temporary files "<final name>.tmp.XXXXXX". Valid
 * ids contain no '.', so no final name contains this marker. */
#define STORE_TMP_MARKER ".tmp."

/* How many state values a write of the state file reserves. The file contains
 * the highest value that may have been handed out, so after a crash the
 * state goes on above every value seen before, and only one change in
 * STORE_STATE_RESERVE writes the file. store_close writes the exact value. */
#define STORE_STATE_RESERVE 1024

/* The Email state of one account, loaded from its state file on first use. */
struct store_state {
	uint64_t value;		/* the latest value handed out */
	uint64_t reserved;	/* the value in the state file */
	bool writing;		/* a thread is writing the file */
};

static int store_state_write(struct store *store, const char *account_id,
    uint64_t value, char **error_r);

struct store {
	char *root;
	int lock_fd;
	/* Protects states. state_written is signalled when a state file
	 * write ends. */
	pthread_mutex_t state_lock;
	pthread_cond_t state_written;
	struct strmap *states;	/* account id -> struct store_state */
	/* Shares the fsync calls of folders among concurrent writes. */
	struct dirsync *dirsync;
};

bool
store_id_valid(const char *id)
{
	size_t len = 0;

	if (id == NULL)
		return false;
	for (const char *p = id; *p != '\0'; p++, len++) {
		char c = *p;
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-';

		if (!ok || len >= STORE_ID_MAX_LEN)
			return false;
	}
	return len > 0;
}

/* Returns a message for an invalid id. The id is quoted with non-printable
 * bytes escaped and is cut after 64 bytes, so the message is safe to log. */
static char *
store_id_error(const char *what, const char *id)
{
	struct strbuf quoted = STRBUF_INIT;
	size_t i;

	if (id == NULL)
		return xasprintf("missing %s", what);
	for (i = 0; id[i] != '\0' && i < 64; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			strbuf_printf(&quoted, "\\x%02x", c);
		else
			strbuf_appendc(&quoted, (char)c);
	}
	if (id[i] != '\0')
		strbuf_appends(&quoted, "...");

	char *msg = xasprintf("invalid %s \"%s\": expected 1 to %d characters "
	    "of A-Z, a-z, 0-9, '_' or '-'", what, strbuf_str(&quoted),
	    STORE_ID_MAX_LEN);
	strbuf_free(&quoted);
	return msg;
}

static int
store_check_ids(const char *account_id, const char *item, const char *item_id,
    char **error_r)
{
	if (!store_id_valid(account_id)) {
		*error_r = store_id_error("account id", account_id);
		return -1;
	}
	if (item != NULL && !store_id_valid(item_id)) {
		*error_r = store_id_error(item, item_id);
		return -1;
	}
	return 0;
}

static char *
store_account_dir(const struct store *store, const char *account_id)
{
	return xasprintf("%s/accounts/%s", store->root, account_id);
}

/* Reads path like fs_read_file, but returns STORE_NOT_FOUND without a
 * message for a missing file. fs_read_file does not pass errno on, so stat
 * confirms the missing file afterwards. A file removed between the two calls
 * is then also reported as not found. */
static enum store_status
store_read(const char *path, size_t max_size, char **data_r, size_t *len_r,
    char **error_r)
{
	struct stat st;
	char *error = NULL;

	if (fs_read_file(path, max_size, data_r, len_r, &error) == 0)
		return STORE_OK;
	if (stat(path, &st) < 0 && errno == ENOENT) {
		free(error);
		return STORE_NOT_FOUND;
	}
	*error_r = error;
	return STORE_ERROR;
}

/* Writes path atomically, creating its folder when needed, and returns once
 * the new name survives a crash. */
static int
store_write(struct store *store, const char *path, const struct fs_part *parts,
    size_t count, char **error_r)
{
	char *dir = xstrdup(path);
	int ret;

	*strrchr(dir, '/') = '\0';
	ret = fs_mkdirs(dir, 0700, error_r);
	if (ret == 0)
		ret = fs_write_atomic_parts(path, parts, count, 0600, error_r);
	if (ret == 0)
		ret = dirsync_sync(store->dirsync, dir, error_r);
	free(dir);
	return ret;
}

/* Removes the temporary files that an interrupted fs_write_atomic left in
 * dir. When subdirs_r is not NULL, it also appends to *subdirs_r the names of
 * the subdirectories that are valid ids. A missing dir counts as empty. */
static int
store_clean_dir(const char *dir, char ***subdirs_r, size_t *count_r,
    char **error_r)
{
	DIR *d = opendir(dir);
	struct dirent *entry;
	int ret = 0;

	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		*error_r = xasprintf("opendir(%s) failed: %s", dir, strerror(errno));
		return -1;
	}
	while (errno = 0, (entry = readdir(d)) != NULL) {
		char *path = xasprintf("%s/%s", dir, entry->d_name);
		struct stat st;

		if (lstat(path, &st) < 0) {
			/* Removed since readdir: nothing to clean. */
			free(path);
			continue;
		}
		if (S_ISREG(st.st_mode) &&
		    strstr(entry->d_name, STORE_TMP_MARKER) != NULL &&
		    unlink(path) < 0 && errno != ENOENT) {
			*error_r = xasprintf("removing the temporary file %s failed: "
			    "%s", path, strerror(errno));
			free(path);
			ret = -1;
			break;
		}
		if (subdirs_r != NULL && S_ISDIR(st.st_mode) &&
		    store_id_valid(entry->d_name)) {
			*subdirs_r = xreallocarray(*subdirs_r, *count_r + 1,
			    sizeof(**subdirs_r));
			(*subdirs_r)[(*count_r)++] = xstrdup(entry->d_name);
		}
		free(path);
	}
	if (ret == 0 && errno != 0) {
		*error_r = xasprintf("readdir(%s) failed: %s", dir, strerror(errno));
		ret = -1;
	}
	closedir(d);
	return ret;
}

/* Removes temporary files in the root, in accounts/, in each account folder
 * and in its blobs/ and emails/ folders. */
static int
store_clean_tmp(const char *root, char **error_r)
{
	char *accounts = xasprintf("%s/accounts", root);
	char **ids = NULL;
	size_t count = 0;
	int ret = 0;

	if (store_clean_dir(root, NULL, NULL, error_r) < 0 ||
	    store_clean_dir(accounts, &ids, &count, error_r) < 0)
		ret = -1;
	for (size_t i = 0; ret == 0 && i < count; i++) {
		static const char *const subdirs[] = { "", "/blobs", "/emails" };

		for (size_t j = 0; ret == 0 && j < 3; j++) {
			char *dir = xasprintf("%s/%s%s", accounts, ids[i], subdirs[j]);

			ret = store_clean_dir(dir, NULL, NULL, error_r);
			free(dir);
		}
	}
	store_ids_free(ids, count);
	free(accounts);
	return ret;
}

/* Takes a write lock on <root>/lock, held until store_close. */
static int
store_lock_root(const char *root, int *fd_r, char **error_r)
{
	char *path = xasprintf("%s/lock", root);
	struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		*error_r = xasprintf("open(%s) failed: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	if (fcntl(fd, F_SETLK, &lock) < 0) {
		int err = errno;

		if ((err == EACCES || err == EAGAIN) &&
		    fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK)
			*error_r = xasprintf("store %s is in use by process %ld (lock "
			    "on %s)", root, (long)lock.l_pid, path);
		else
			*error_r = xasprintf("locking %s failed: %s", path,
			    strerror(err));
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	*fd_r = fd;
	return 0;
}

/* Creates and removes a file in root. access() would only check the
 * permission bits, which root bypasses, instead of trying a real write. */
static int
store_check_writable(const char *root, char **error_r)
{
	char *probe = xasprintf("%s/writable" STORE_TMP_MARKER "XXXXXX", root);
	int fd = mkstemp(probe);

	if (fd < 0) {
		*error_r = xasprintf("store %s is not writable: creating %s failed: "
		    "%s", root, probe, strerror(errno));
		free(probe);
		return -1;
	}
	close(fd);
	unlink(probe);
	free(probe);
	return 0;
}

/* Checks <root>/format, or writes it into a store that has none: a new
 * store, or one of format 1, whose blobs this version reads. */
static int
store_check_format(const char *root, char **error_r)
{
	char *path = xasprintf("%s/format", root), *text = NULL;
	enum store_status status;
	size_t len = 0;
	int ret = -1;

	status = store_read(path, 256, &text, &len, error_r);
	if (status == STORE_OK) {
		if (len == strlen(STORE_FORMAT) && memcmp(text, STORE_FORMAT, len) == 0)
			ret = 0;
		else
			*error_r = xasprintf("%s does not contain \"%.*s\": another version "
			    "of smimegw wrote the store, or the file is damaged; run the "
			    "version that wrote it, or set store.path to another folder",
			    path, (int)strlen(STORE_FORMAT) - 1, STORE_FORMAT);
	} else if (status == STORE_NOT_FOUND) {
		ret = fs_write_atomic(path, STORE_FORMAT, strlen(STORE_FORMAT), 0600,
		    error_r);
	}
	free(text);
	free(path);
	return ret;
}

int
store_open(const char *path, struct store **store_r, char **error_r)
{
	struct store *store;
	char *accounts;
	int lock_fd;

	if (path == NULL || *path == '\0') {
		*error_r = xstrdup("missing store path");
		return -1;
	}
	accounts = xasprintf("%s/accounts", path);
	if (fs_mkdirs(accounts, 0700, error_r) < 0) {
		free(accounts);
		return -1;
	}
	free(accounts);
	if (store_lock_root(path, &lock_fd, error_r) < 0)
		return -1;
	if (store_clean_tmp(path, error_r) < 0 ||
	    store_check_writable(path, error_r) < 0 ||
	    store_check_format(path, error_r) < 0) {
		close(lock_fd);
		return -1;
	}

	store = xcalloc(1, sizeof(*store));
	store->root = xstrdup(path);
	store->lock_fd = lock_fd;
	pthread_mutex_init(&store->state_lock, NULL);
	pthread_cond_init(&store->state_written, NULL);
	store->states = strmap_new();
	store->dirsync = dirsync_new();
	*store_r = store;
	return 0;
}

/* Replaces the reserved value in the state file of account_id by the
 * counter, for store_close. */
static void
store_state_write_exact(const char *account_id, void *value, void *arg)
{
	struct store_state *state = value;
	char *error = NULL;

	if (state->value != state->reserved &&
	    store_state_write(arg, account_id, state->value, &error) < 0) {
		log_error("store email state write failed account=%s: %s", account_id,
		    error);
		free(error);
	}
}

void
store_close(struct store *store)
{
	if (store == NULL)
		return;
	strmap_foreach(store->states, store_state_write_exact, store);
	strmap_free(store->states, free);
	pthread_cond_destroy(&store->state_written);
	dirsync_free(store->dirsync);
	pthread_mutex_destroy(&store->state_lock);
	close(store->lock_fd);
	free(store->root);
	free(store);
}

static bool
store_type_valid(const char *type, size_t len)
{
	if (len == 0 || len > STORE_TYPE_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)type[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

#define STORE_BLOB_ID_SIZE (1 + 2 * EVP_MAX_MD_SIZE + 1)

/* Writes "G" and the hex SHA-256 of data into blob_id. */
static int
store_blob_id_of(const void *data, size_t len, char blob_id[STORE_BLOB_ID_SIZE])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;

	if (EVP_Digest(data, len, digest, &digest_len, EVP_sha256(), NULL) != 1)
		return -1;
	blob_id[0] = 'G';
	hex_encode(blob_id + 1, digest, digest_len, false);
	return 0;
}

/* Reads the media type line at the start of the blob file that fd has open
 * into type (STORE_TYPE_MAX_LEN + 1 octets), and sets *header_len_r to the
 * length of that line including its LF. */
static enum store_status
store_blob_read_header(int fd, const char *path, char *type, size_t *header_len_r,
    char **error_r)
{
	char buf[STORE_TYPE_MAX_LEN + 1];
	size_t len = 0;
	char *lf;

	while (len < sizeof(buf)) {
		ssize_t n = pread(fd, buf + len, sizeof(buf) - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = xasprintf("read(%s) failed: %s", path, strerror(errno));
			return STORE_ERROR;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	lf = memchr(buf, '\n', len);
	if (lf == NULL || !store_type_valid(buf, (size_t)(lf - buf))) {
		*error_r = xasprintf("%s does not start with a valid media type and a "
		    "line feed", path);
		return STORE_ERROR;
	}
	memcpy(type, buf, (size_t)(lf - buf));
	type[lf - buf] = '\0';
	*header_len_r = (size_t)(lf - buf) + 1;
	return STORE_OK;
}

/* Reads "<path>.type", the media type of a blob written in format 1, into
 * type (STORE_TYPE_MAX_LEN + 1 octets). STORE_NOT_FOUND for a blob of the
 * current format. */
static enum store_status
store_blob_read_legacy_type(const char *path, char *type, char **error_r)
{
	char *type_path = xasprintf("%s.type", path), *text = NULL;
	enum store_status status;
	size_t len = 0;

	status = store_read(type_path, STORE_TYPE_MAX_LEN, &text, &len, error_r);
	if (status == STORE_OK) {
		if (store_type_valid(text, len) && strlen(text) == len) {
			memcpy(type, text, len + 1);
		} else {
			*error_r = xasprintf("%s does not contain a valid media type",
			    type_path);
			status = STORE_ERROR;
		}
	}
	free(text);
	free(type_path);
	return status;
}

/* Opens the blob file at path and reads its media type: the first line, or
 * for a blob of format 1 the type file beside it (*legacy_r true, unless
 * legacy_r is NULL). On STORE_OK, *fd_r is open, *header_len_r is where the
 * content starts and *size_r is its size. */
static enum store_status
store_blob_open(const char *path, int *fd_r, char *type, size_t *header_len_r,
    size_t *size_r, bool *legacy_r, char **error_r)
{
	enum store_status status;
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return STORE_NOT_FOUND;
		*error_r = xasprintf("open(%s) failed: %s", path, strerror(errno));
		return STORE_ERROR;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*error_r = xasprintf("%s is not a regular file", path);
		close(fd);
		return STORE_ERROR;
	}
	status = store_blob_read_legacy_type(path, type, error_r);
	if (legacy_r != NULL)
		*legacy_r = status == STORE_OK;
	if (status == STORE_OK)
		*header_len_r = 0;
	else if (status == STORE_NOT_FOUND)
		status = store_blob_read_header(fd, path, type, header_len_r, error_r);
	if (status != STORE_OK) {
		close(fd);
		return status;
	}
	*size_r = (size_t)st.st_size - *header_len_r;
	*fd_r = fd;
	return STORE_OK;
}

/* Checks the ids and *type, setting a NULL *type to the default. */
static int
store_blob_check(const char *account_id, const char **type, char **error_r)
{
	if (store_check_ids(account_id, NULL, NULL, error_r) < 0)
		return -1;
	if (*type == NULL)
		*type = STORE_DEFAULT_TYPE;
	if (!store_type_valid(*type, strlen(*type))) {
		*error_r = xasprintf("invalid media type for a blob of account %s: "
		    "expected 1 to %d bytes without control characters",
		    account_id, STORE_TYPE_MAX_LEN);
		return -1;
	}
	return 0;
}

/* Writes the blob file at path: type, LF, content. */
static int
store_blob_write(struct store *store, const char *path, const char *type,
    const void *data, size_t len, char **error_r)
{
	struct fs_part parts[] = {
		{ type, strlen(type) }, { "\n", 1 }, { data, len },
	};

	return store_write(store, path, parts, 3, error_r);
}

int
store_blob_put(struct store *store, const char *account_id, const void *data,
    size_t len, const char *type, char **blob_id_r, char **error_r)
{
	char blob_id[STORE_BLOB_ID_SIZE], old_type[STORE_TYPE_MAX_LEN + 1];
	char *path = NULL, *error = NULL;
	size_t header_len, old_size;
	enum store_status status;
	bool legacy = false;
	int ret = -1, fd;

	if (store_blob_check(account_id, &type, error_r) < 0)
		return -1;
	if (store_blob_id_of(data, len, blob_id) < 0) {
		*error_r = xstrdup("computing the SHA-256 of a blob failed");
		return -1;
	}

	path = xasprintf("%s/accounts/%s/blobs/%s", store->root, account_id, blob_id);
	/* The id is the content's hash, so an existing blob of the same type
	 * needs no write. A damaged one is replaced. */
	status = store_blob_open(path, &fd, old_type, &header_len, &old_size, &legacy,
	    &error);
	if (status == STORE_OK) {
		close(fd);
		if (old_size == len && strcmp(old_type, type) == 0) {
			*blob_id_r = xstrdup(blob_id);
			ret = 0;
			goto out;
		}
	}
	free(error);

	if (status == STORE_OK && legacy && old_size == len) {
		/* A blob of format 1 keeps its layout: only its type file is
		 * replaced, which leaves no moment where the two disagree. */
		char *type_path = xasprintf("%s.type", path);
		struct fs_part part = { type, strlen(type) };

		ret = store_write(store, type_path, &part, 1, error_r);
		free(type_path);
		if (ret < 0)
			goto out;
	} else {
		/* A damaged blob of format 1 is replaced by one of the current
		 * format. Its type file goes first, so that a crash in between
		 * leaves a blob that fails to read, not one read wrongly. */
		char *type_path = xasprintf("%s.type", path);
		int removed = legacy && unlink(type_path) < 0 && errno != ENOENT ? -1 : 0;

		if (removed < 0)
			*error_r = xasprintf("unlink(%s) failed: %s", type_path, strerror(errno));
		free(type_path);
		if (removed < 0 ||
		    store_blob_write(store, path, type, data, len, error_r) < 0)
			goto out;
	}
	*blob_id_r = xstrdup(blob_id);
	ret = 0;
out:
	free(path);
	return ret;
}

int
store_blob_add(struct store *store, const char *account_id, const void *data,
    size_t len, const char *type, char **blob_id_r, char **error_r)
{
	char *path, *blob_id;
	int ret;

	if (store_blob_check(account_id, &type, error_r) < 0)
		return -1;
	blob_id = store_new_id('B');
	path = xasprintf("%s/accounts/%s/blobs/%s", store->root, account_id, blob_id);
	ret = store_blob_write(store, path, type, data, len, error_r);
	free(path);
	if (ret < 0) {
		free(blob_id);
		return -1;
	}
	*blob_id_r = blob_id;
	return 0;
}

enum store_status
store_blob_get(struct store *store, const char *account_id,
    const char *blob_id, char **data_r, size_t *len_r, char **type_r,
    char **error_r)
{
	char type[STORE_TYPE_MAX_LEN + 1], *path, *data;
	size_t header_len, size, done = 0;
	enum store_status status;
	int fd;

	if (!store_id_valid(account_id) || !store_id_valid(blob_id))
		return STORE_NOT_FOUND;
	path = xasprintf("%s/accounts/%s/blobs/%s", store->root, account_id,
	    blob_id);
	status = store_blob_open(path, &fd, type, &header_len, &size, NULL, error_r);
	if (status != STORE_OK) {
		free(path);
		return status;
	}

	data = xmalloc(size + 1);
	while (done < size) {
		ssize_t n = pread(fd, data + done, size - done,
		    (off_t)(header_len + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = xasprintf("read(%s) failed: %s", path,
			    n == 0 ? "file shrank while reading" : strerror(errno));
			status = STORE_ERROR;
			break;
		}
		done += (size_t)n;
	}
	close(fd);
	free(path);
	if (status != STORE_OK) {
		free(data);
		return status;
	}
	data[size] = '\0';
	*data_r = data;
	*len_r = size;
	*type_r = xstrdup(type);
	return STORE_OK;
}

enum store_status
store_blob_size(struct store *store, const char *account_id,
    const char *blob_id, size_t *size_r)
{
	char type[STORE_TYPE_MAX_LEN + 1], *path, *error = NULL;
	enum store_status status;
	size_t header_len;
	int fd;

	if (!store_id_valid(account_id) || !store_id_valid(blob_id))
		return STORE_NOT_FOUND;
	path = xasprintf("%s/accounts/%s/blobs/%s", store->root, account_id,
	    blob_id);
	status = store_blob_open(path, &fd, type, &header_len, size_r, NULL, &error);
	if (status == STORE_OK)
		close(fd);
	else if (status == STORE_ERROR)
		log_error("store blob size failed account=%s blob=%s: %s", account_id,
		    blob_id, error);
	free(error);
	free(path);
	return status;
}

enum store_status
store_blob_delete(struct store *store, const char *account_id,
    const char *blob_id, char **error_r)
{
	enum store_status status = STORE_OK;
	char *dir, *path, *type_path;

	if (!store_id_valid(account_id) || !store_id_valid(blob_id))
		return STORE_NOT_FOUND;
	dir = xasprintf("%s/accounts/%s/blobs", store->root, account_id);
	path = xasprintf("%s/%s", dir, blob_id);
	type_path = xasprintf("%s.type", path);
	if (unlink(path) < 0) {
		if (errno == ENOENT) {
			status = STORE_NOT_FOUND;
		} else {
			*error_r = xasprintf("unlink(%s) failed: %s", path, strerror(errno));
			status = STORE_ERROR;
		}
	}
	/* The type file of a blob of format 1 goes after the blob. */
	if (status != STORE_ERROR && unlink(type_path) < 0 && errno != ENOENT) {
		*error_r = xasprintf("unlink(%s) failed: %s", type_path, strerror(errno));
		status = STORE_ERROR;
	}
	if (status == STORE_OK && dirsync_sync(store->dirsync, dir, error_r) < 0)
		status = STORE_ERROR;
	free(type_path);
	free(path);
	free(dir);
	return status;
}

static char *
store_email_path(const struct store *store, const char *account_id,
    const char *email_id)
{
	return xasprintf("%s/accounts/%s/emails/%s.json", store->root,
	    account_id, email_id);
}

int
store_email_put(struct store *store, const char *account_id,
    const char *email_id, json_t *record, char **error_r)
{
	char *path, *text;
	size_t len;
	int ret;

	if (store_check_ids(account_id, "email id", email_id, error_r) < 0)
		return -1;
	if (!json_is_object(record)) {
		*error_r = xasprintf("record of email %s is not a JSON object",
		    email_id);
		return -1;
	}
	text = json_dumps(record, JSON_COMPACT);
	if (text == NULL) {
		*error_r = xasprintf("serializing the record of email %s failed",
		    email_id);
		return -1;
	}
	len = strlen(text);
	if (len > STORE_EMAIL_MAX_SIZE) {
		*error_r = xasprintf("record of email %s is %zu bytes, more than "
		    "the maximum of %zu", email_id, len, STORE_EMAIL_MAX_SIZE);
		free(text);
		return -1;
	}

	path = store_email_path(store, account_id, email_id);
	struct fs_part part = { text, len };

	ret = store_write(store, path, &part, 1, error_r);
	free(path);
	free(text);
	return ret;
}

enum store_status
store_email_get(struct store *store, const char *account_id,
    const char *email_id, json_t **record_r, char **error_r)
{
	enum store_status status;
	json_error_t jerr;
	json_t *record;
	char *path, *text = NULL;
	size_t len = 0;

	if (!store_id_valid(account_id) || !store_id_valid(email_id))
		return STORE_NOT_FOUND;
	path = store_email_path(store, account_id, email_id);
	status = store_read(path, STORE_EMAIL_MAX_SIZE, &text, &len, error_r);
	if (status != STORE_OK)
		goto out;

	record = json_loadb(text, len, 0, &jerr);
	if (record == NULL) {
		*error_r = xasprintf("parsing %s failed: line %d: %s", path,
		    jerr.line, jerr.text);
		status = STORE_ERROR;
		goto out;
	}
	if (!json_is_object(record)) {
		*error_r = xasprintf("%s does not contain a JSON object", path);
		json_decref(record);
		status = STORE_ERROR;
		goto out;
	}
	*record_r = record;
out:
	free(text);
	free(path);
	return status;
}

enum store_status
store_email_delete(struct store *store, const char *account_id,
    const char *email_id, char **error_r)
{
	enum store_status status = STORE_OK;
	char *dir, *path;

	if (!store_id_valid(account_id) || !store_id_valid(email_id))
		return STORE_NOT_FOUND;
	dir = xasprintf("%s/accounts/%s/emails", store->root, account_id);
	path = store_email_path(store, account_id, email_id);
	if (unlink(path) < 0) {
		if (errno == ENOENT) {
			status = STORE_NOT_FOUND;
		} else {
			*error_r = xasprintf("unlink(%s) failed: %s", path,
			    strerror(errno));
			status = STORE_ERROR;
		}
	} else if (dirsync_sync(store->dirsync, dir, error_r) < 0) {
		status = STORE_ERROR;
	}
	free(path);
	free(dir);
	return status;
}

static int
store_compare_ids(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the email id of a directory entry "<id>.json", or NULL. */
static char *
store_email_entry_id(const char *name)
{
	size_t len = strlen(name);
	size_t suffix_len = strlen(".json");
	char *id;

	if (len <= suffix_len || strcmp(name + len - suffix_len, ".json") != 0)
		return NULL;
	id = xstrndup(name, len - suffix_len);
	if (!store_id_valid(id)) {
		free(id);
		return NULL;
	}
	return id;
}

int
store_email_list(struct store *store, const char *account_id, char ***ids_r,
    size_t *count_r, char **error_r)
{
	struct dirent *entry;
	char **ids = NULL;
	size_t count = 0;
	char *dir;
	DIR *d;

	if (store_check_ids(account_id, NULL, NULL, error_r) < 0)
		return -1;
	dir = xasprintf("%s/accounts/%s/emails", store->root, account_id);
	d = opendir(dir);
	if (d == NULL && errno != ENOENT) {
		*error_r = xasprintf("opendir(%s) failed: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	while (d != NULL && (errno = 0, entry = readdir(d)) != NULL) {
		char *id = store_email_entry_id(entry->d_name);

		if (id == NULL)
			continue;
		ids = xreallocarray(ids, count + 1, sizeof(*ids));
		ids[count++] = id;
	}
	if (d != NULL && errno != 0) {
		*error_r = xasprintf("readdir(%s) failed: %s", dir, strerror(errno));
		closedir(d);
		store_ids_free(ids, count);
		free(dir);
		return -1;
	}
	if (d != NULL)
		closedir(d);
	free(dir);

	if (count > 1)
		qsort(ids, count, sizeof(*ids), store_compare_ids);
	*ids_r = ids;
	*count_r = count;
	return 0;
}

void
store_ids_free(char **ids, size_t count)
{
	if (ids == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free(ids[i]);
	free(ids);
}

char *
store_new_id(char prefix)
{
	unsigned char bytes[12];
	char *id = xmalloc(1 + 2 * sizeof(bytes) + 1);

	assert(store_id_valid((char[]){ prefix, '\0' }));
	if (RAND_bytes(bytes, (int)sizeof(bytes)) != 1) {
		log_error("store RAND_bytes failed, cannot create ids");
		abort();
	}
	id[0] = prefix;
	hex_encode(id + 1, bytes, sizeof(bytes), false);
	return id;
}

/* Reads the counter of a state file; a missing file is state 0. */
static int
store_state_read(const char *path, uint64_t *value_r, char **error_r)
{
	enum store_status status;
	char *text = NULL, *end;
	size_t len = 0;

	status = store_read(path, STORE_STATE_MAX_SIZE, &text, &len, error_r);
	if (status == STORE_NOT_FOUND) {
		*value_r = 0;
		return 0;
	}
	if (status != STORE_OK)
		return -1;

	errno = 0;
	unsigned long long value = strtoull(text, &end, 10);
	if (len == 0 || text[0] < '0' || text[0] > '9' || *end != '\0' ||
	    (size_t)(end - text) != len || errno != 0 || value >= UINT64_MAX) {
		*error_r = xasprintf("%s does not contain a valid state counter",
		    path);
		free(text);
		return -1;
	}
	free(text);
	*value_r = (uint64_t)value;
	return 0;
}

/* Returns the state of account_id, reading its state file on first use.
 * Called with state_lock held. */
static struct store_state *
store_state_get(struct store *store, const char *account_id, char **error_r)
{
	struct store_state *state = strmap_get(store->states, account_id);
	uint64_t value;
	char *path;
	int ret;

	if (state != NULL)
		return state;
	path = xasprintf("%s/accounts/%s/state", store->root, account_id);
	ret = store_state_read(path, &value, error_r);
	free(path);
	if (ret < 0)
		return NULL;
	state = xcalloc(1, sizeof(*state));
	state->value = value;
	state->reserved = value;
	strmap_add(store->states, account_id, state);
	return state;
}

char *
store_email_state(struct store *store, const char *account_id)
{
	struct store_state *state;
	char *error = NULL, *text = NULL;

	if (!store_id_valid(account_id)) {
		error = store_id_error("account id", account_id);
		log_error("store email state read failed: %s", error);
		free(error);
		return NULL;
	}
	pthread_mutex_lock(&store->state_lock);
	state = store_state_get(store, account_id, &error);
	if (state != NULL)
		text = xasprintf("%llu", (unsigned long long)state->value);
	pthread_mutex_unlock(&store->state_lock);
	if (state == NULL) {
		log_error("store email state read failed account=%s: %s", account_id,
		    error);
		free(error);
	}
	return text;
}

/* Writes value to the state file of account_id. Called without state_lock. */
static int
store_state_write(struct store *store, const char *account_id, uint64_t value,
    char **error_r)
{
	char *dir = store_account_dir(store, account_id);
	char *path = xasprintf("%s/state", dir);
	char *text = xasprintf("%llu", (unsigned long long)value);
	struct fs_part part = { text, strlen(text) };
	int ret = store_write(store, path, &part, 1, error_r);

	free(text);
	free(path);
	free(dir);
	return ret;
}

/* A bump writes the state file only when its value is above the reserved
 * one, and then returns after the file contains a new reservation. Meanwhile
 * other bumps of the account wait for that write instead of starting their
 * own. */
int
store_email_state_bump(struct store *store, const char *account_id,
    char **state_r, char **error_r)
{
	struct store_state *state;
	uint64_t target;
	int ret = -1;

	if (store_check_ids(account_id, NULL, NULL, error_r) < 0)
		return -1;

	pthread_mutex_lock(&store->state_lock);
	state = store_state_get(store, account_id, error_r);
	if (state == NULL)
		goto out;
	target = ++state->value;
	while (state->reserved < target) {
		if (state->writing) {
			pthread_cond_wait(&store->state_written, &store->state_lock);
			continue;
		}

		uint64_t reserve = state->value + STORE_STATE_RESERVE;
		int written;

		state->writing = true;
		pthread_mutex_unlock(&store->state_lock);
		written = store_state_write(store, account_id, reserve, error_r);
		pthread_mutex_lock(&store->state_lock);
		state->writing = false;
		pthread_cond_broadcast(&store->state_written);
		if (written < 0)
			goto out;
		if (reserve > state->reserved)
			state->reserved = reserve;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&store->state_lock);
	if (ret == 0 && state_r != NULL)
		*state_r = xasprintf("%llu", (unsigned long long)target);
	return ret;
}
