/*
 * rng.h - the seeded pseudo-random generator of the simulator.
 *
 * xoshiro256** (Blackman and Vigna, 2018) seeded through splitmix64, so
 * that one 64-bit seed gives the same sequence on every machine and
 * libc.  Not for secrets: instance API keys come from a CSPRNG instead.
 */
#ifndef HOIST_SIM_RNG_H
#define HOIST_SIM_RNG_H

#include <stdint.h>

struct hoist_sim_rng {
	uint64_t s[4];
};

/* Returns the splitmix64 output for state x: a good 64-bit mix of x. */
uint64_t hoist_sim_rng_mix(uint64_t x);

/* Seeds rng from seed and stream, so that one seed gives independent
 * sequences for independent uses (market, ids, faults). */
void hoist_sim_rng_seed(struct hoist_sim_rng *rng, uint64_t seed,
			uint64_t stream);

uint64_t hoist_sim_rng_next(struct hoist_sim_rng *rng);

/* Returns a uniform double in [0, 1). */
double hoist_sim_rng_unit(struct hoist_sim_rng *rng);

/* Returns a uniform double in [lo, hi). */
double hoist_sim_rng_range(struct hoist_sim_rng *rng, double lo, double hi);

/* Returns a uniform integer in [0, n); 0 when n is 0. */
uint64_t hoist_sim_rng_below(struct hoist_sim_rng *rng, uint64_t n);

#endif
