/* Logging: one line per event, "LEVEL message key=value ...", to stderr or a
 * file. Callers never pass keys, passphrases, message bodies or
 * Authorization headers. Control characters in a message are written as
 * \xNN, so every event stays one line, and messages longer than 8 KiB are
 * cut. Safe to call from several threads. */
#ifndef SMIMEGW_LOG_H
#define SMIMEGW_LOG_H

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };

void log_set_level(enum log_level level);
/* Parses "debug", "info", "warn" or "error"; returns -1 for anything else. */
int log_level_parse(const char *name, enum log_level *level_r);
/* Appends to path from now on; returns -1 (and keeps stderr) if it cannot be
 * opened. */
int log_open_file(const char *path);
int log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
