#include "providers/local_offers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"

/* How many distinct gpu_name values a no-match message lists. */
#define NAMES_LISTED_MAX 8

int hoist_local_offers_load(const char *path, json_t **out,
			    struct hoist_err *err)
{
	json_t *offers = NULL;

	if (hoist_config_load_local_offers(path, &offers, err) != 0)
		return -1;
	/* The parser accepts an empty list, but then no create can work. */
	if (json_array_size(offers) == 0) {
		json_decref(offers);
		return hoist_err_set(err, HOIST_E_INVALID,
				     "offers file '%s' lists no offer; add at "
				     "least one under 'offers'", path);
	}
	*out = offers;
	return 0;
}

static int profile_number(const json_t *profile, const char *key,
			  double min, double max, double *out,
			  struct hoist_err *err)
{
	const json_t *value = json_object_get(profile, key);

	if (!json_is_number(value))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid profile: '%s' must be a number "
				     "from %g to %g", key, min, max);
	*out = json_number_value(value);
	if (!isfinite(*out) || *out < min || *out > max)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid profile: '%s' must be a number "
				     "from %g to %g, got %g", key, min, max,
				     *out);
	return 0;
}

int hoist_local_offers_parse_profile(const json_t *profile,
				     struct hoist_local_offer_filter *filter,
				     struct hoist_err *err)
{
	const json_t *gpu_name = json_object_get(profile, "gpu_name");
	const json_t *num_gpus = json_object_get(profile, "num_gpus");

	if (!json_is_object(profile))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid request: the profile must be a "
				     "JSON object");
	if (!json_is_string(gpu_name) || json_string_length(gpu_name) == 0)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid profile: 'gpu_name' must be a "
				     "non-empty string");
	if (!json_is_integer(num_gpus) || json_integer_value(num_gpus) < 1 ||
	    json_integer_value(num_gpus) > HOIST_LOCAL_OFFER_GPUS_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid profile: 'num_gpus' must be an "
				     "integer from 1 to %d",
				     HOIST_LOCAL_OFFER_GPUS_MAX);
	filter->gpu_name = json_string_value(gpu_name);
	filter->num_gpus = json_integer_value(num_gpus);
	if (profile_number(profile, "max_dph", 0, 1e6, &filter->max_dph,
			   err) != 0)
		return -1;
	return profile_number(profile, "reliability_min", 0, 1,
			      &filter->reliability_min, err);
}

static const char *offer_string(const json_t *offer, const char *key)
{
	const char *value = json_string_value(json_object_get(offer, key));

	return value ? value : "";
}

static double offer_number(const json_t *offer, const char *key)
{
	return json_number_value(json_object_get(offer, key));
}

/* Appends the distinct gpu_name values of offers to out, for a message. */
static void list_gpu_names(const json_t *offers, char *out, size_t outlen)
{
	size_t listed = 0;
	size_t used = 0;
	const json_t *offer;
	size_t i;

	out[0] = '\0';
	json_array_foreach(offers, i, offer) {
		const char *name = offer_string(offer, "gpu_name");
		int seen = 0;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcasecmp(name, offer_string(
				json_array_get(offers, j), "gpu_name")) == 0;
		if (seen)
			continue;
		if (listed == NAMES_LISTED_MAX) {
			snprintf(out + used, outlen - used, ", ...");
			return;
		}
		used += (size_t)snprintf(out + used, outlen - used, "%s'%s'",
					 listed ? ", " : "", name);
		if (used >= outlen)
			return;
		listed++;
	}
}

/* The filter stages, in the order that they remove offers. */
enum filter_stage {
	STAGE_GPU_NAME,
	STAGE_NUM_GPUS,
	STAGE_PRICE,
	STAGE_RELIABILITY,
	STAGE_COUNT,
};

/* Returns the first stage that offer fails, or STAGE_COUNT if none. */
static int failed_stage(const json_t *offer,
			const struct hoist_local_offer_filter *filter)
{
	if (strcasecmp(offer_string(offer, "gpu_name"), filter->gpu_name) != 0)
		return STAGE_GPU_NAME;
	if (json_integer_value(json_object_get(offer, "num_gpus")) <
	    filter->num_gpus)
		return STAGE_NUM_GPUS;
	if (offer_number(offer, "price_per_hour") > filter->max_dph)
		return STAGE_PRICE;
	if (offer_number(offer, "reliability") < filter->reliability_min)
		return STAGE_RELIABILITY;
	return STAGE_COUNT;
}

/*
 * Explains why no offer passed: the stage that removed the last candidates
 * and the best value that those candidates had for it.
 */
static int no_match_error(const json_t *offers,
			  const struct hoist_local_offer_filter *filter,
			  struct hoist_err *err)
{
	size_t reached[STAGE_COUNT] = { 0 };
	int have_best = 0;
	double best = 0;
	int last = STAGE_GPU_NAME;
	const json_t *offer;
	char names[512];
	size_t i;

	/* reached[s] counts the offers that passed every stage before s. */
	json_array_foreach(offers, i, offer) {
		int stage = failed_stage(offer, filter);

		for (int s = 0; s <= stage && s < STAGE_COUNT; s++)
			reached[s]++;
	}
	while (last + 1 < STAGE_COUNT && reached[last + 1] > 0)
		last++;
	json_array_foreach(offers, i, offer) {
		double value;

		if (failed_stage(offer, filter) != last)
			continue;
		if (last == STAGE_NUM_GPUS)
			value = (double)json_integer_value(
				json_object_get(offer, "num_gpus"));
		else if (last == STAGE_PRICE)
			value = offer_number(offer, "price_per_hour");
		else
			value = offer_number(offer, "reliability");
		if (!have_best ||
		    (last == STAGE_PRICE ? value < best : value > best))
			best = value;
		have_best = 1;
	}

	switch (last) {
	case STAGE_GPU_NAME:
		list_gpu_names(offers, names, sizeof(names));
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "no offer has gpu_name '%s' (offered: %s)",
				     filter->gpu_name, names);
	case STAGE_NUM_GPUS:
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "no offer with gpu_name '%s' has num_gpus "
				     ">= %lld (the most is %.0f)",
				     filter->gpu_name, filter->num_gpus, best);
	case STAGE_PRICE:
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "no offer with gpu_name '%s' and num_gpus "
				     ">= %lld has price_per_hour <= max_dph "
				     "%.4f USD (the cheapest costs %.4f)",
				     filter->gpu_name, filter->num_gpus,
				     filter->max_dph, best);
	default:
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "no offer with gpu_name '%s', num_gpus >= "
				     "%lld and price_per_hour <= max_dph %.4f "
				     "has reliability >= reliability_min %.4f "
				     "(the highest is %.4f)", filter->gpu_name,
				     filter->num_gpus, filter->max_dph,
				     filter->reliability_min, best);
	}
}

int hoist_local_offers_select(const json_t *offers,
			      const struct hoist_local_offer_filter *filter,
			      const json_t **chosen, struct hoist_err *err)
{
	const json_t *best = NULL;
	const json_t *offer;
	size_t i;

	json_array_foreach(offers, i, offer) {
		if (failed_stage(offer, filter) != STAGE_COUNT)
			continue;
		if (!best || offer_number(offer, "price_per_hour") <
			     offer_number(best, "price_per_hour"))
			best = offer;
	}
	if (!best)
		return no_match_error(offers, filter, err);
	*chosen = best;
	return 0;
}
