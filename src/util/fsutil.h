/* File helpers shared by the store, the config loader and the keystore. */
#ifndef SMIMEGW_FSUTIL_H
#define SMIMEGW_FSUTIL_H

#include <stddef.h>

/* Reads a whole file into a NUL-terminated buffer owned by the caller.
 * Fails when the file is larger than max_size bytes. Returns 0, or -1 with
 * *error_r set to an allocated message naming the path. */
int fs_read_file(const char *path, size_t max_size, char **data_r, size_t *len_r,
    char **error_r);

/* Writes data to path atomically: a temporary file in the same directory is
 * written, fsync'ed and renamed over path, and the directory is fsync'ed.
 * On failure nothing remains at path that was not there before. mode is the
 * permission of the new file. Returns 0, or -1 with *error_r allocated. */
int fs_write_atomic(const char *path, const void *data, size_t len, int mode,
    char **error_r);

/* One piece of a file written by fs_write_atomic_parts. */
struct fs_part {
	const void *data;
	size_t len;
};

/* Like fs_write_atomic, with the file's content given as count pieces that
 * are written one after the other, so that callers need not join them. It
 * does not sync the directory, so the new name survives a crash only after
 * the caller has synced it (fs_fsync_dir or util/dirsync.h). */
int fs_write_atomic_parts(const char *path, const struct fs_part *parts,
    size_t count, int mode, char **error_r);

/* Syncs the directory dir, so that the names created in it or renamed into
 * it survive a crash. Returns 0, or -1 with *error_r allocated. */
int fs_fsync_dir(const char *dir, char **error_r);

/* Creates dir and its missing parents with the given mode. Returns 0 or -1
 * with *error_r allocated. */
int fs_mkdirs(const char *dir, int mode, char **error_r);

#endif
