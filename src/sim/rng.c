#include "sim/rng.h"

uint64_t hoist_sim_rng_mix(uint64_t x)
{
	uint64_t z = x + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void hoist_sim_rng_seed(struct hoist_sim_rng *rng, uint64_t seed,
			uint64_t stream)
{
	uint64_t x = hoist_sim_rng_mix(seed) ^ hoist_sim_rng_mix(~stream);

	for (int i = 0; i < 4; i++) {
		x += 0x9e3779b97f4a7c15ULL;
		rng->s[i] = hoist_sim_rng_mix(x);
	}
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t hoist_sim_rng_next(struct hoist_sim_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double hoist_sim_rng_unit(struct hoist_sim_rng *rng)
{
	/* The top 53 bits fill the mantissa of a double exactly. */
	return (double)(hoist_sim_rng_next(rng) >> 11) * 0x1.0p-53;
}

double hoist_sim_rng_range(struct hoist_sim_rng *rng, double lo, double hi)
{
	return lo + (hi - lo) * hoist_sim_rng_unit(rng);
}

uint64_t hoist_sim_rng_below(struct hoist_sim_rng *rng, uint64_t n)
{
	uint64_t limit;
	uint64_t x;

	if (n == 0)
		return 0;
	/* Rejects the top partial range so that every value is equally
	 * likely. */
	limit = UINT64_MAX - UINT64_MAX % n;
	do {
		x = hoist_sim_rng_next(rng);
	} while (x >= limit);
	return x % n;
}
