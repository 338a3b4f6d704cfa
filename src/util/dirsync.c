/* Shared directory fsync calls. One thread syncs a directory on behalf of
 * every thread that requested it before the fsync began. */
#include "util/dirsync.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/fsutil.h"
#include "util/strmap.h"
#include "util/xmalloc.h"

/* One directory. Requests are numbered, and done is the highest request
 * number that a completed fsync covers. */
struct dirsync_dir {
	uint64_t requested;
	uint64_t done;
	bool running;
};

struct dirsync {
	pthread_mutex_t lock;
	pthread_cond_t finished;
	struct strmap *dirs;	/* path -> struct dirsync_dir */
	size_t fsync_count;
};

struct dirsync *
dirsync_new(void)
{
	struct dirsync *ds = xcalloc(1, sizeof(*ds));

	pthread_mutex_init(&ds->lock, NULL);
	pthread_cond_init(&ds->finished, NULL);
	ds->dirs = strmap_new();
	return ds;
}

void
dirsync_free(struct dirsync *ds)
{
	if (ds == NULL)
		return;
	strmap_free(ds->dirs, free);
	pthread_cond_destroy(&ds->finished);
	pthread_mutex_destroy(&ds->lock);
	free(ds);
}

/* Returns the entry of path, adding it on first use. Called with the lock
 * held. */
static struct dirsync_dir *
dirsync_dir_get(struct dirsync *ds, const char *path)
{
	struct dirsync_dir *dir = strmap_get(ds->dirs, path);

	if (dir == NULL) {
		dir = xcalloc(1, sizeof(*dir));
		strmap_add(ds->dirs, path, dir);
	}
	return dir;
}

int
dirsync_sync(struct dirsync *ds, const char *path, char **error_r)
{
	struct dirsync_dir *dir;
	uint64_t request;
	int ret = 0;

	pthread_mutex_lock(&ds->lock);
	dir = dirsync_dir_get(ds, path);
	request = ++dir->requested;
	while (dir->done < request) {
		if (dir->running) {
			pthread_cond_wait(&ds->finished, &ds->lock);
			continue;
		}

		/* This fsync starts after every request numbered up to covered,
		 * so it covers them all. */
		uint64_t covered = dir->requested;

		dir->running = true;
		ds->fsync_count++;
		pthread_mutex_unlock(&ds->lock);
		ret = fs_fsync_dir(path, error_r);
		pthread_mutex_lock(&ds->lock);
		dir->running = false;
		pthread_cond_broadcast(&ds->finished);
		if (ret < 0)
			break;
		if (covered > dir->done)
			dir->done = covered;
	}
	pthread_mutex_unlock(&ds->lock);
	return ret;
}

size_t
dirsync_fsync_count(struct dirsync *ds)
{
	size_t count;

	pthread_mutex_lock(&ds->lock);
	count = ds->fsync_count;
	pthread_mutex_unlock(&ds->lock);
	return count;
}
