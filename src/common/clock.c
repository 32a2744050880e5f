#include "common/clock.h"

#include <stdio.h>
#include <time.h>

int64_t hoist_clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t hoist_clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hoist_clock_format_ms(int64_t ms, char *out, size_t outlen)
{
	time_t sec;
	struct tm tm;
	size_t n;

	if (ms <= 0) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	sec = (time_t)(ms / 1000);
	gmtime_r(&sec, &tm);
	n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, outlen - n, ".%03dZ", (int)(ms % 1000));
}
