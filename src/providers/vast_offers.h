/*
 * vast_offers.h - Vast.ai offer search: the query sent for a GPU profile,
 * the checks hoist makes itself on each returned offer, the price at the
 * requested disk, the ranking, and what hoist has seen of each machine.
 *
 * Units on the wire: prices in USD per hour, gpu_ram in MB per GPU,
 * disk_space in GB, inet_down in Mbit/s, storage_cost in USD per GB and
 * month (30 days of 24 hours).
 */
#ifndef HOIST_VAST_OFFERS_H
#define HOIST_VAST_OFFERS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "providers/vast_gpu.h"

/* The smallest disk that Vast.ai rents, in GB. */
#define HOIST_VAST_DISK_MIN_GB 8.0

/* The share of the nominal GPU RAM an offer may lack: a "24 GB" card
 * reports 24564 MB or 24576 MB, an "80 GB" card about 81920 MB. */
#define HOIST_VAST_RAM_TOLERANCE 0.05

/* Offers asked for per search when renting, and for `hoist offers`. */
#define HOIST_VAST_SEARCH_LIMIT 64
#define HOIST_VAST_LIST_LIMIT 256

#define HOIST_VAST_COUNTRIES_MAX 48

/* A job's GPU profile, checked. */
struct hoist_vast_profile {
	char name[64];				/* "" when unnamed */
	char gpu_name[HOIST_VAST_GPU_NAME_MAX];
	int num_gpus;
	double max_dph;				/* whole instance, USD/h */
	double reliability_min;			/* 0 when absent */
	double disk_gb;
	double cuda_min;			/* 0 when absent */
	double min_inet_down_mbps;		/* 0 when absent */
	double gpu_ram_gb;			/* per GPU, 0 when absent */
	char region[64];			/* as written, "" when absent */
	char countries[HOIST_VAST_COUNTRIES_MAX][3];
	int country_count;
	int verified;
	int interruptible;
};

/* The checks of hoist_vast_offers_select(), in the order applied; an
 * offer counts for the first check it fails. */
enum hoist_vast_filter {
	HOIST_VAST_FILTER_INVALID = 0,	/* no id, or not an object */
	HOIST_VAST_FILTER_GPU_NAME,
	HOIST_VAST_FILTER_NUM_GPUS,
	HOIST_VAST_FILTER_RENTABLE,
	HOIST_VAST_FILTER_VERIFIED,
	HOIST_VAST_FILTER_RELIABILITY,
	HOIST_VAST_FILTER_DISK,
	HOIST_VAST_FILTER_GPU_RAM,
	HOIST_VAST_FILTER_CUDA,
	HOIST_VAST_FILTER_INET_DOWN,
	HOIST_VAST_FILTER_REGION,
	HOIST_VAST_FILTER_INTERRUPTIBLE,	/* no min_bid to bid on */
	HOIST_VAST_FILTER_MAX_DPH,
	HOIST_VAST_FILTER_FAILED_MACHINE,
	HOIST_VAST_FILTER_COUNT,
};

/* An offer that passed every check. */
struct hoist_vast_candidate {
	const json_t *offer;		/* borrowed from the search result */
	char id[24];
	long long machine_id;		/* 0 when unknown */
	double price;			/* USD/h at the requested disk */
	double bid;			/* the bid for "price", 0 on-demand */
	double reliability;
	double rank;			/* lower is better */
};

/* Machines hoist rented or failed to rent on. */
#define HOIST_VAST_MACHINES_MAX 256

/* A machine that failed is skipped for this long, in ms. */
#define HOIST_VAST_MACHINE_SKIP_MS (60 * 60 * 1000)

struct hoist_vast_machine {
	long long id;
	int failures;
	int successes;
	int64_t last_failure_ms;
	int64_t last_used_ms;
	long long last_instance;	/* the last failed instance counted */
};

struct hoist_vast_machines {
	struct hoist_vast_machine entries[HOIST_VAST_MACHINES_MAX];
	size_t count;
};

/*
 * Reads a job spec's "profile" object into out.  gpu_name, num_gpus and
 * max_dph are required; disk_gb and interruptible take default_disk_gb
 * and default_interruptible when absent.  gpu_ram_gb is optional and
 * defaults to the memory named in gpu_name ("A100 80GB").  region is a
 * two-letter country code, a list of them separated by commas, or one of
 * north_america, europe, asia, oceania, south_america, africa.  Fails
 * with HOIST_E_INVALID naming the key, its value and the accepted values.
 */
int hoist_vast_offers_profile(const json_t *profile, double default_disk_gb,
			      int default_interruptible,
			      struct hoist_vast_profile *out,
			      struct hoist_err *err);

/*
 * Builds the body of POST /api/v0/bundles/ for p in *out (owned by the
 * caller).  gpu_names are the marketplace names that match p->gpu_name;
 * when there is none, p->gpu_name is sent as the CLI would (underscores
 * as spaces).  strict also sends every profile limit, so the server
 * returns only offers that fit; without it only the GPU model, its count
 * and rentability are sent, so that hoist_vast_offers_select() can count
 * what each limit removes.  limit, type and allocated_storage are always
 * sent.
 */
int hoist_vast_offers_query(const struct hoist_vast_profile *p,
			    const char *const *gpu_names, size_t name_count,
			    int strict, int limit, json_t **out,
			    struct hoist_err *err);

/*
 * Computes what offer costs at disk_gb of disk: dph_base (or, for an
 * interruptible rental, the bid) plus disk_gb * storage_cost / 720.  The
 * bid is min_bid rounded up to a tenth of a cent.  When storage_cost is
 * missing, dph_total - dph_base stands for the disk part, because the
 * search computed dph_total with allocated_storage = disk_gb.  Returns 0,
 * or -1 when the offer lacks the prices.
 */
int hoist_vast_offers_price(const json_t *offer, double disk_gb,
			    int interruptible, double *price, double *bid);

/*
 * Checks every offer of the array offers against p, counts in
 * removed[HOIST_VAST_FILTER_COUNT] the offers that each check removed,
 * and stores the others, best first, in *out (count in *count; the caller
 * frees *out, which points into offers).  machines may be NULL.
 */
int hoist_vast_offers_select(const struct hoist_vast_profile *p,
			     const json_t *offers,
			     const struct hoist_vast_machines *machines,
			     int64_t now_ms,
			     struct hoist_vast_candidate **out, size_t *count,
			     int removed[HOIST_VAST_FILTER_COUNT],
			     struct hoist_err *err);

/* Returns the profile key of a check ("max_dph"), or "offer" and
 * "failed_machine" for the two checks that are not profile keys. */
const char *hoist_vast_offers_filter_name(int filter);

/*
 * Builds the result of an offer search (hoist_provider_offers_cb): the
 * candidates and, for each check that removed an offer, {"filter",
 * "removed"}; "returned" is how many offers the server sent.
 */
json_t *hoist_vast_offers_result(const struct hoist_vast_candidate *list,
				 size_t count,
				 const int removed[HOIST_VAST_FILTER_COUNT],
				 size_t returned, struct hoist_err *err);

/* Writes "max_dph removed 3, region removed 1" (or "none") to out. */
void hoist_vast_offers_describe_removed(
	char *out, size_t outlen, const int removed[HOIST_VAST_FILTER_COUNT]);

/* Records a failed rental (instance 0 or the id the rental created) or a
 * lost instance on the machine; an instance is counted once. */
void hoist_vast_offers_machine_failed(struct hoist_vast_machines *m,
				      long long id, long long instance,
				      int64_t now_ms);

/* Records a rental that passed its checks on the machine. */
void hoist_vast_offers_machine_worked(struct hoist_vast_machines *m,
				      long long id, int64_t now_ms);

#endif
