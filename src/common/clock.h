/*
 * clock.h - the clocks of hoist.  Wall time is for records shown to users
 * and stored (milliseconds since the Unix epoch); monotonic time is for
 * timeouts and intervals.
 */
#ifndef HOIST_CLOCK_H
#define HOIST_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t hoist_clock_now_ms(void);
int64_t hoist_clock_mono_ms(void);

/* Formats ms since the epoch as RFC 3339 UTC ("2026-12-04T19:48:34.123Z")
 * into out (at least 32 bytes); writes "" for ms <= 0. */
void hoist_clock_format_ms(int64_t ms, char *out, size_t outlen);

#endif
