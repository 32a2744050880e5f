#include "worker/backoff.h"

#include <stdint.h>

int64_t hoist_backoff_ceiling_ms(unsigned retry, int64_t base_ms,
				 int64_t cap_ms)
{
	int64_t ceiling = base_ms;

	if (base_ms <= 0 || cap_ms <= 0)
		return 0;
	for (unsigned i = 0; i < retry && ceiling < cap_ms &&
	     ceiling <= INT64_MAX / 2; i++)
		ceiling *= 2;
	return ceiling < cap_ms ? ceiling : cap_ms;
}

int64_t hoist_backoff_delay_ms(unsigned retry, int64_t base_ms,
			       int64_t cap_ms, uint64_t random)
{
	int64_t ceiling = hoist_backoff_ceiling_ms(retry, base_ms, cap_ms);

	return (int64_t)(random % ((uint64_t)ceiling + 1));
}

uint64_t hoist_backoff_random(uint64_t *state)
{
	uint64_t z;

	*state += 0x9e3779b97f4a7c15ull;
	z = *state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
