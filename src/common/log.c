#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define LOG_LINE_MAX 4096

int hoist_log_level_current = HOIST_LOG_INFO;

static char log_program[32] = "hoist";
static int log_fd = 2;
static int log_format = HOIST_LOG_TEXT;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void hoist_log_init(const char *program, int level, int fd, int format)
{
	snprintf(log_program, sizeof(log_program), "%s", program);
	hoist_log_level_current = level;
	log_fd = fd >= 0 ? fd : 2;
	log_format = format;
}

int hoist_log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

static void write_all(const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(log_fd, data, len);

		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

void hoist_log_write(int level, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	char stamp[64];
	char line[LOG_LINE_MAX + 128];
	struct timeval tv;
	struct tm tm;
	va_list ap;
	int n;

	if (level < 0 || level > HOIST_LOG_DEBUG)
		level = HOIST_LOG_ERROR;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof(stamp) - (size_t)n, ".%03ldZ",
		 (long)(tv.tv_usec / 1000));

	if (log_format == HOIST_LOG_JSON) {
		json_t *obj = json_pack("{s:s, s:s, s:i, s:s, s:s}",
					"time", stamp, "program", log_program,
					"pid", (int)getpid(), "level",
					level_names[level], "msg", msg);
		char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

		if (text) {
			n = snprintf(line, sizeof(line), "%s\n", text);
			write_all(line, n < (int)sizeof(line) ?
					(size_t)n : sizeof(line) - 1);
		}
		free(text);
		json_decref(obj);
		return;
	}
	n = snprintf(line, sizeof(line), "%s %s[%d] %s: %s\n", stamp,
		     log_program, (int)getpid(), level_names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	write_all(line, (size_t)n);
}
