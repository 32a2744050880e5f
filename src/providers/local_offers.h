/*
 * local_offers.h - the offers of the local provider: loading the offers
 * file and picking the offer for a GPU profile.
 *
 * An offer is a JSON object {"name", "gpu_name", "num_gpus",
 * "price_per_hour", "reliability"}, as hoist_config_load_local_offers()
 * returns it for config/local_offers.yaml.
 */
#ifndef HOIST_LOCAL_OFFERS_H
#define HOIST_LOCAL_OFFERS_H

#include <jansson.h>

#include "common/err.h"

/* The most GPUs one offer may have. */
#define HOIST_LOCAL_OFFER_GPUS_MAX 64

/* The filters of a GPU profile that an offer must pass. */
struct hoist_local_offer_filter {
	const char *gpu_name;		/* compared ignoring case */
	long long num_gpus;		/* the minimum */
	double max_dph;			/* the highest price_per_hour, USD */
	double reliability_min;		/* from 0 to 1 */
};

/*
 * Loads the offers file at path with hoist_config_load_local_offers() and
 * stores the new JSON array in *out (the caller owns the reference).
 * Fails as that function does, and with HOIST_E_INVALID when the file
 * lists no offer.
 */
int hoist_local_offers_load(const char *path, json_t **out,
			    struct hoist_err *err);

/*
 * Fills filter from a job spec's "profile" object, which must hold
 * gpu_name, num_gpus, max_dph and reliability_min.  filter->gpu_name
 * points into profile.  Fails with HOIST_E_INVALID naming the field.
 */
int hoist_local_offers_parse_profile(const json_t *profile,
				     struct hoist_local_offer_filter *filter,
				     struct hoist_err *err);

/*
 * Picks the cheapest offer that passes filter (the first in file order on
 * a tie) and stores it, borrowed from offers, in *chosen.  When none
 * passes, fails with HOIST_E_NOT_FOUND and a message that names the filter
 * that removed the last candidates.
 */
int hoist_local_offers_select(const json_t *offers,
			      const struct hoist_local_offer_filter *filter,
			      const json_t **chosen, struct hoist_err *err);

#endif
