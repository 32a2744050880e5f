/*
 * backoff.h - exponential backoff with full jitter for retrying hoistd.
 *
 * Retry n (from 0) waits a uniformly random time in [0, min(cap, base * 2^n)]
 * milliseconds, so agents that lost hoistd at the same moment do not all
 * come back at the same moment.
 */
#ifndef HOIST_BACKOFF_H
#define HOIST_BACKOFF_H

#include <stdint.h>

/* Base and cap of the agent's retries of hoistd, in milliseconds. */
#define HOIST_BACKOFF_BASE_MS 200
#define HOIST_BACKOFF_CAP_MS 5000

/* Returns min(cap_ms, base_ms * 2^retry) without overflow; 0 if base_ms or
 * cap_ms is <= 0. */
int64_t hoist_backoff_ceiling_ms(unsigned retry, int64_t base_ms,
				 int64_t cap_ms);

/* Returns the delay before retry number retry: random mapped into
 * [0, hoist_backoff_ceiling_ms(retry, base_ms, cap_ms)]. */
int64_t hoist_backoff_delay_ms(unsigned retry, int64_t base_ms,
			       int64_t cap_ms, uint64_t random);

/* Advances *state (any seed) and returns the next pseudo-random value
 * (splitmix64); good enough for jitter, not for secrets. */
uint64_t hoist_backoff_random(uint64_t *state);

#endif
