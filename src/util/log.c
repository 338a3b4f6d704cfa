/* Logging to stderr or a file, one line per event with a UTC timestamp. */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Longest message written; longer ones are cut and end in "...". */
#define LOG_MAX_MESSAGE 8192

static enum log_level log_min_level = LOG_LEVEL_INFO;
static FILE *log_file;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const log_level_names[] = { "debug", "info", "warn", "error" };

void
log_set_level(enum log_level level)
{
	log_min_level = level;
}

int
log_level_parse(const char *name, enum log_level *level_r)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcmp(name, log_level_names[i]) == 0) {
			*level_r = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int
log_open_file(const char *path)
{
	FILE *f = fopen(path, "a");

	if (f == NULL)
		return -1;
	setvbuf(f, NULL, _IOLBF, 0);
	pthread_mutex_lock(&log_lock);
	if (log_file != NULL)
		fclose(log_file);
	log_file = f;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

int
log_enabled(enum log_level level)
{
	return level >= log_min_level;
}

/* Writes text to out with every control character (C0 and DEL) as \xNN,
 * so that a value from a request can neither end the line nor forge
 * another one. Bytes of 0x80 and above (UTF-8) are kept. */
static void
log_write_escaped(FILE *out, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char stamp[32], message[LOG_MAX_MESSAGE];
	struct tm tm;
	time_t now;
	va_list ap;
	int len;

	if (!log_enabled(level))
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	va_start(ap, fmt);
	len = vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (len < 0)
		snprintf(message, sizeof(message), "(log message format failed: %s)", fmt);
	else if ((size_t)len >= sizeof(message))
		memcpy(message + sizeof(message) - 4, "...", 4);

	pthread_mutex_lock(&log_lock);
	FILE *out = log_file != NULL ? log_file : stderr;
	fprintf(out, "%s %s ", stamp, log_level_names[level]);
	log_write_escaped(out, message);
	fputc('\n', out);
	fflush(out);
	pthread_mutex_unlock(&log_lock);
}
