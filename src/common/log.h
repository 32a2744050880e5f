/*
 * log.h - the logger of the hoist executables (hoistd, hoist-agent, hoist).
 *
 * Libraries never log; they return errors.  A line looks like
 *   2026-12-04T19:48:34.123Z hoistd[4711] info: job=j-3f9a2c1d attempt 2 running
 * or, with HOIST_LOG_JSON, one JSON object per line.  The level is checked
 * before the arguments are formatted.  Lines about a job start with
 * "job=<id>" so that one grep finds all of them; never pass a secret.
 */
#ifndef HOIST_LOG_H
#define HOIST_LOG_H

#include "common/err.h"

enum hoist_log_level {
	HOIST_LOG_ERROR = 0,
	HOIST_LOG_WARN,
	HOIST_LOG_INFO,
	HOIST_LOG_DEBUG,
};

enum hoist_log_format {
	HOIST_LOG_TEXT = 0,
	HOIST_LOG_JSON,
};

/* Sets the program name shown in each line, the level and the output fd
 * (stderr when fd < 0).  Safe to call again, for example after a fork. */
void hoist_log_init(const char *program, int level, int fd, int format);

/* Parses "error", "warn", "info" or "debug"; returns -1 if invalid. */
int hoist_log_level_parse(const char *name);

extern int hoist_log_level_current;

void hoist_log_write(int level, const char *fmt, ...) HOIST_PRINTF(2, 3);

#define hoist_log(level, ...)						\
	do {								\
		if ((level) <= hoist_log_level_current)			\
			hoist_log_write((level), __VA_ARGS__);		\
	} while (0)

#define hoist_log_error(...) hoist_log(HOIST_LOG_ERROR, __VA_ARGS__)
#define hoist_log_warn(...) hoist_log(HOIST_LOG_WARN, __VA_ARGS__)
#define hoist_log_info(...) hoist_log(HOIST_LOG_INFO, __VA_ARGS__)
#define hoist_log_debug(...) hoist_log(HOIST_LOG_DEBUG, __VA_ARGS__)

#endif
