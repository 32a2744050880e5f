/*
 * market.h - the offers of the simulated Vast.ai market.
 *
 * A market file (CSV, see data/vast-market.csv) gives real median prices
 * per GPU model, GPU count and location.  From it and a seed, the
 * simulator generates a few hundred offers spread around those prices.
 * Every field of the Vast.ai offer object is there, in the API's own
 * units: RAM in MB, disk in GB, bandwidth in Mb/s, prices in $/hour and
 * storage in $/GB/month.  The same file, seed and count always give the
 * same offers.
 *
 * An offer is listed until an instance rents it.  When that instance is
 * destroyed the machine is offered again under a new offer id, because
 * an offer id rents at most one instance.
 */
#ifndef HOIST_SIM_MARKET_H
#define HOIST_SIM_MARKET_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "sim/rng.h"

/* The limits of a market file. */
#define HOIST_SIM_MARKET_FILE_MAX (1024 * 1024)
#define HOIST_SIM_MARKET_ROWS_MAX 10000

/* The limit of the number of generated offers. */
#define HOIST_SIM_MARKET_OFFERS_MAX 100000

/* One line of the market file. */
struct hoist_sim_market_row {
	char gpu_name[64];
	int num_gpus;
	int gpu_ram_mib;		/* per GPU */
	double dph_total;		/* median on-demand $/hour */
	char geolocation[96];		/* "City, CC" */
};

/* The pricing of a search, from its "type" field. */
enum hoist_sim_price_type {
	HOIST_SIM_PRICE_ON_DEMAND = 0,	/* "on-demand" or "ondemand" */
	HOIST_SIM_PRICE_BID,		/* "bid": priced at min_bid */
	HOIST_SIM_PRICE_RESERVED,	/* "reserved": the prepay discount */
};

struct hoist_sim_offer {
	int64_t id;
	json_t *fields;		/* the stored fields, owned; the prices that
				 * depend on the request are added by render */
	int listed;		/* 1 while searches return it */
	int64_t instance_id;	/* the instance renting it, or 0 */
};

struct hoist_sim_market {
	struct hoist_sim_offer *offers;	/* owned, count entries */
	size_t count;
	int64_t next_offer_id;		/* for offers listed again */
	struct hoist_sim_rng rng;	/* for the gaps between new ids */
};

/*
 * Reads the market CSV at path into *rows (allocated, the caller frees
 * it) and *count.  Lines starting with '#' are comments; the first other
 * line must be the header "gpu_name,num_gpus,gpu_ram_mib,dph_total,
 * geolocation".  Errors name the file and line.
 */
int hoist_sim_market_load_csv(const char *path,
			      struct hoist_sim_market_row **rows,
			      size_t *count, struct hoist_err *err);

/* Parses CSV text the way hoist_sim_market_load_csv() does; name is used
 * in error messages. */
int hoist_sim_market_parse_csv(const char *text, size_t len, const char *name,
			       struct hoist_sim_market_row **rows,
			       size_t *count, struct hoist_err *err);

/*
 * Fills market with count offers generated from rows and seed: row i of
 * count goes to rows[i % nrows], so every row gets about the same number
 * of offers.  now is the epoch time of the offers' start_date.  The caller
 * releases the market with hoist_sim_market_release().
 */
int hoist_sim_market_generate(struct hoist_sim_market *market,
			      const struct hoist_sim_market_row *rows,
			      size_t nrows, uint64_t seed, size_t count,
			      double now, struct hoist_err *err);

void hoist_sim_market_release(struct hoist_sim_market *market);

/* Returns the offer with id, listed or not, or NULL. */
struct hoist_sim_offer *hoist_sim_market_find(struct hoist_sim_market *market,
					      int64_t id);

/* Returns the number of listed offers. */
size_t hoist_sim_market_listed(const struct hoist_sim_market *market);

/* Gives offer a new id and lists it again, after its instance is gone. */
void hoist_sim_market_relist(struct hoist_sim_market *market,
			     struct hoist_sim_offer *offer);

/* Returns the $/hour of disk_gb at the offer's storage_cost ($/GB/month,
 * a month being 30 days). */
double hoist_sim_market_storage_rate(const struct hoist_sim_offer *offer,
				     double disk_gb);

/* Returns a stored number field of the offer, or 0 when missing. */
double hoist_sim_market_number(const struct hoist_sim_offer *offer,
			       const char *name);

/*
 * Returns a new offer object as a search returns it: the stored fields
 * plus dph_total, storage_total_cost, the search and instance price
 * breakdowns and the other request-dependent fields, for type and
 * storage_gb (the request's allocated_storage).  NULL when out of memory.
 */
json_t *hoist_sim_market_render(const struct hoist_sim_offer *offer,
				enum hoist_sim_price_type type,
				double storage_gb, double now);

#endif
