/* Directory fsync calls shared by concurrent threads. A file renamed into a
 * directory survives a crash only after the directory is synced, and one
 * fsync of the directory covers every rename done before it started. */
#ifndef SMIMEGW_DIRSYNC_H
#define SMIMEGW_DIRSYNC_H

#include <stddef.h>

struct dirsync; /* thread-safe */

struct dirsync *dirsync_new(void);
/* Frees the state of every directory. NULL is ignored. No call may be in
 * progress. */
void dirsync_free(struct dirsync *ds);

/* Returns once an fsync of dir that started after this call began has
 * completed. While one thread syncs dir, others wait, and the next fsync
 * covers all of them. Returns 0, or -1 with *error_r allocated naming dir
 * and the reason. A failed fsync covers no request, so the next call
 * tries again. */
int dirsync_sync(struct dirsync *ds, const char *dir, char **error_r);

/* Number of fsync calls made so far, for tests and benchmarks. */
size_t dirsync_fsync_count(struct dirsync *ds);

#endif
