/* File helpers: bounded reads, atomic writes, directory creation. */
#define _GNU_SOURCE
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xmalloc.h"

int
fs_read_file(const char *path, size_t max_size, char **data_r, size_t *len_r,
    char **error_r)
{
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = xasprintf("open(%s) failed: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*error_r = xasprintf("%s is not a regular file", path);
		goto fail;
	}
	if ((size_t)st.st_size > max_size) {
		*error_r = xasprintf("%s is larger than %zu bytes", path, max_size);
		goto fail;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = xasprintf("read(%s) failed: %s", path,
			    n == 0 ? "file shrank while reading" : strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	data[len] = '\0';
	close(fd);
	*data_r = data;
	if (len_r != NULL)
		*len_r = len;
	return 0;
fail:
	free(data);
	close(fd);
	return -1;
}

/* Syncs the directory dir. Returns 0, or -1 with errno set. */
static int
fs_fsync_path(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

int
fs_fsync_dir(const char *dir, char **error_r)
{
	if (fs_fsync_path(dir) < 0) {
		*error_r = xasprintf("fsync(%s) failed: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
fs_fsync_dir_of(const char *path)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int ret;

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	ret = fs_fsync_path(dir);
	free(dir);
	return ret;
}

int
fs_write_atomic(const char *path, const void *data, size_t len, int mode,
    char **error_r)
{
	struct fs_part part = { data, len };

	if (fs_write_atomic_parts(path, &part, 1, mode, error_r) < 0)
		return -1;
	if (fs_fsync_dir_of(path) < 0) {
		*error_r = xasprintf("fsync of the directory of %s failed: %s",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Writes len octets of data to fd, retrying short writes. */
static int
fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int
fs_write_atomic_parts(const char *path, const struct fs_part *parts,
    size_t count, int mode, char **error_r)
{
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		*error_r = xasprintf("creating a temporary file for %s failed: %s",
		    path, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fchmod(fd, (mode_t)mode) < 0)
		goto fail;
	for (size_t i = 0; i < count; i++) {
		if (fs_write_all(fd, parts[i].data, parts[i].len) < 0)
			goto fail;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return 0;
fail:
	*error_r = xasprintf("writing %s failed: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

int
fs_mkdirs(const char *dir, int mode, char **error_r)
{
	struct stat st;
	char *path;
	int ret = 0;

	/* The common case, an existing folder, costs one call. */
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	path = xstrdup(dir);
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(path, (mode_t)mode) < 0 && errno != EEXIST) {
			*error_r = xasprintf("mkdir(%s) failed: %s", path, strerror(errno));
			ret = -1;
			break;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(path);
	return ret;
}
