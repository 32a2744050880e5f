#include "providers/vast_offers.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "providers/vast_json.h"

/* Hours in the 30-day month that storage_cost is quoted for. */
#define STORAGE_HOURS_PER_MONTH 720.0

/* The lowest compute capability (CC x 100) sent along a CUDA filter: a
 * cuda_max_good filter alone made the server drop H100 and H200 offers. */
#define COMPUTE_CAP_MIN 600

/* Reliability below this counts as this in the ranking. */
#define RANK_RELIABILITY_FLOOR 0.5

struct region {
	const char *name;
	const char *countries;
};

/* hoist's own grouping of the countries where Vast.ai hosts are common. */
static const struct region regions[] = {
	{ "north_america", "US,CA,MX" },
	{ "europe", "AT,BE,BG,CH,CZ,DE,DK,EE,ES,FI,FR,GB,GR,HR,HU,IE,IS,IT,"
		    "LT,LU,LV,NL,NO,PL,PT,RO,RS,SE,SI,SK,UA" },
	{ "asia", "AE,CN,HK,ID,IL,IN,JP,KR,MY,PH,SG,TH,TW,VN" },
	{ "oceania", "AU,NZ" },
	{ "south_america", "AR,BR,CL,CO,PE,UY" },
	{ "africa", "EG,KE,MA,NG,ZA" },
};

static const char *const filter_names[HOIST_VAST_FILTER_COUNT] = {
	[HOIST_VAST_FILTER_INVALID] = "offer",
	[HOIST_VAST_FILTER_GPU_NAME] = "gpu_name",
	[HOIST_VAST_FILTER_NUM_GPUS] = "num_gpus",
	[HOIST_VAST_FILTER_RENTABLE] = "rentable",
	[HOIST_VAST_FILTER_VERIFIED] = "verified",
	[HOIST_VAST_FILTER_RELIABILITY] = "reliability_min",
	[HOIST_VAST_FILTER_DISK] = "disk_gb",
	[HOIST_VAST_FILTER_GPU_RAM] = "gpu_ram_gb",
	[HOIST_VAST_FILTER_CUDA] = "cuda_min",
	[HOIST_VAST_FILTER_INET_DOWN] = "min_inet_down_mbps",
	[HOIST_VAST_FILTER_REGION] = "region",
	[HOIST_VAST_FILTER_INTERRUPTIBLE] = "interruptible",
	[HOIST_VAST_FILTER_MAX_DPH] = "max_dph",
	[HOIST_VAST_FILTER_FAILED_MACHINE] = "failed_machine",
};

const char *hoist_vast_offers_filter_name(int filter)
{
	if (filter < 0 || filter >= HOIST_VAST_FILTER_COUNT)
		return "unknown";
	return filter_names[filter];
}

/* ------------------------------------------------------------------ */
/* Profile                                                             */
/* ------------------------------------------------------------------ */

static int profile_error(struct hoist_err *err, const char *key,
			 const char *fmt, ...) HOIST_PRINTF(3, 4);

/* Sets "profile.KEY: message" in err and returns -1. */
static int profile_error(struct hoist_err *err, const char *key,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hoist_err_setv(err, HOIST_E_INVALID, fmt, ap);
	va_end(ap);
	hoist_err_prefix(err, "profile.%s", key);
	return -1;
}

/* Reads an optional number; "absent" leaves *out unchanged. */
static int profile_number(const json_t *profile, const char *key,
			  int required, double min, double *out,
			  struct hoist_err *err)
{
	const json_t *value = json_object_get(profile, key);
	char text[64];
	double v;

	if (!value || json_is_null(value)) {
		if (required)
			return profile_error(err, key, "missing; the Vast.ai "
					     "provider needs it");
		return 0;
	}
	if (hoist_vast_json_number(value, &v) || v < min) {
		if (json_is_string(value))
			snprintf(text, sizeof(text), "'%.40s'",
				 json_string_value(value));
		else if (json_is_number(value))
			snprintf(text, sizeof(text), "%g",
				 json_number_value(value));
		else
			snprintf(text, sizeof(text), "of JSON type %d",
				 (int)json_typeof(value));
		hoist_err_set(err, HOIST_E_INVALID,
			      "profile.%s: invalid value %s; expected a "
			      "number of at least %g", key, text, min);
		return -1;
	}
	*out = v;
	return 0;
}

static int profile_bool(const json_t *profile, const char *key, int *out,
			struct hoist_err *err)
{
	const json_t *value = json_object_get(profile, key);

	if (!value || json_is_null(value))
		return 0;
	if (!json_is_boolean(value))
		return profile_error(err, key, "invalid value; expected true "
				     "or false");
	*out = json_is_true(value);
	return 0;
}

static int add_country(struct hoist_vast_profile *p, const char *code,
		       size_t len, struct hoist_err *err)
{
	char text[8];

	if (len != 2 || !isalpha((unsigned char)code[0]) ||
	    !isalpha((unsigned char)code[1])) {
		snprintf(text, sizeof(text), "%.*s", (int)(len < 6 ? len : 6),
			 code);
		return profile_error(err, "region", "invalid entry '%s'; "
				     "expected a two-letter country code "
				     "such as US, or one of north_america, "
				     "europe, asia, oceania, south_america, "
				     "africa", text);
	}
	for (int i = 0; i < p->country_count; i++)
		if (strncasecmp(p->countries[i], code, 2) == 0)
			return 0;
	if (p->country_count >= HOIST_VAST_COUNTRIES_MAX)
		return profile_error(err, "region", "lists more than %d "
				     "countries", HOIST_VAST_COUNTRIES_MAX);
	p->countries[p->country_count][0] = (char)toupper(
		(unsigned char)code[0]);
	p->countries[p->country_count][1] = (char)toupper(
		(unsigned char)code[1]);
	p->countries[p->country_count][2] = '\0';
	p->country_count++;
	return 0;
}

static int add_region_word(struct hoist_vast_profile *p, const char *word,
			   size_t len, struct hoist_err *err)
{
	char name[32];

	if (len > 2 && len < sizeof(name)) {
		for (size_t i = 0; i < len; i++)
			name[i] = word[i] == ' ' ? '_' :
				  (char)tolower((unsigned char)word[i]);
		name[len] = '\0';
		for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]);
		     i++) {
			const char *c = regions[i].countries;

			if (strcmp(name, regions[i].name) != 0)
				continue;
			for (; *c; c += c[2] ? 3 : 2)
				if (add_country(p, c, 2, err))
					return -1;
			return 0;
		}
	}
	return add_country(p, word, len, err);
}

static int profile_region(const json_t *profile, struct hoist_vast_profile *p,
			  struct hoist_err *err)
{
	const json_t *value = json_object_get(profile, "region");
	const char *text;
	size_t start = 0;

	if (!value || json_is_null(value))
		return 0;
	text = json_string_value(value);
	if (!text || strlen(text) >= sizeof(p->region))
		return profile_error(err, "region", "invalid value; expected "
				     "a string of at most 63 characters");
	snprintf(p->region, sizeof(p->region), "%s", text);
	for (size_t i = 0;; i++) {
		if (text[i] != ',' && text[i] != '\0')
			continue;
		while (start < i && text[start] == ' ')
			start++;
		if (i > start) {
			size_t end = i;

			while (end > start && text[end - 1] == ' ')
				end--;
			if (add_region_word(p, text + start, end - start, err))
				return -1;
		}
		if (text[i] == '\0')
			break;
		start = i + 1;
	}
	if (p->country_count == 0)
		return profile_error(err, "region", "is empty; remove the key "
				     "to rent anywhere");
	return 0;
}

int hoist_vast_offers_profile(const json_t *profile, double default_disk_gb,
			      int default_interruptible,
			      struct hoist_vast_profile *out,
			      struct hoist_err *err)
{
	const char *gpu = hoist_vast_json_get_string(profile, "gpu_name");
	const char *name = hoist_vast_json_get_string(profile, "name");
	char canon[HOIST_VAST_GPU_NAME_MAX];
	double num_gpus = 0;
	char text[128];

	memset(out, 0, sizeof(*out));
	if (!json_is_object(profile))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the job has no profile object");
	snprintf(out->name, sizeof(out->name), "%s", name ? name : "");
	if (!gpu || hoist_vast_gpu_canon(gpu, canon, sizeof(canon))) {
		snprintf(text, sizeof(text), "%.80s", gpu ? gpu : "");
		return profile_error(err, "gpu_name", "invalid value '%s'; "
				     "expected a GPU model such as \"RTX "
				     "4090\", \"A100 SXM4\" or \"L4\"", text);
	}
	snprintf(out->gpu_name, sizeof(out->gpu_name), "%s", gpu);
	if (profile_number(profile, "num_gpus", 1, 1, &num_gpus, err))
		return -1;
	if (num_gpus > 64 || num_gpus != (double)(int)num_gpus) {
		snprintf(text, sizeof(text), "%g", num_gpus);
		return profile_error(err, "num_gpus", "invalid value %s; "
				     "expected a whole number from 1 to 64",
				     text);
	}
	out->num_gpus = (int)num_gpus;
	if (profile_number(profile, "max_dph", 1, 0.001, &out->max_dph, err) ||
	    profile_number(profile, "reliability_min", 0, 0,
			   &out->reliability_min, err) ||
	    profile_number(profile, "cuda_min", 0, 0, &out->cuda_min, err) ||
	    profile_number(profile, "min_inet_down_mbps", 0, 0,
			   &out->min_inet_down_mbps, err) ||
	    profile_number(profile, "gpu_ram_gb", 0, 0, &out->gpu_ram_gb,
			   err))
		return -1;
	if (out->reliability_min > 1) {
		snprintf(text, sizeof(text), "%g", out->reliability_min);
		return profile_error(err, "reliability_min", "invalid value %s; "
				     "expected a number from 0 to 1", text);
	}
	if (out->gpu_ram_gb == 0)
		out->gpu_ram_gb = hoist_vast_gpu_memory_gb(gpu);

	out->disk_gb = default_disk_gb;
	if (profile_number(profile, "disk_gb", 0, 0, &out->disk_gb, err))
		return -1;
	if (out->disk_gb < HOIST_VAST_DISK_MIN_GB) {
		snprintf(text, sizeof(text), "%g", out->disk_gb);
		return profile_error(err, "disk_gb", "value %s GB is below the "
				     "Vast.ai minimum of 8 GB; ask for 8 or "
				     "more", text);
	}
	out->interruptible = default_interruptible ? 1 : 0;
	if (profile_bool(profile, "interruptible", &out->interruptible, err) ||
	    profile_bool(profile, "verified", &out->verified, err) ||
	    profile_region(profile, out, err))
		return -1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Query                                                               */
/* ------------------------------------------------------------------ */

static int set_op(json_t *query, const char *field, const char *op,
		  json_t *value)
{
	json_t *ops = json_object_get(query, field);

	if (!value)
		return -1;
	if (!ops) {
		ops = json_object();
		if (!ops || json_object_set_new(query, field, ops)) {
			json_decref(value);
			return -1;
		}
	}
	return json_object_set_new(ops, op, value);
}

/* The GPU name as the CLI sends it: every "_" becomes a space. */
static json_t *wire_gpu_name(const char *name)
{
	char text[HOIST_VAST_GPU_NAME_MAX];

	snprintf(text, sizeof(text), "%s", name);
	for (char *c = text; *c; c++)
		if (*c == '_')
			*c = ' ';
	return json_string(text);
}

static json_t *country_list(const struct hoist_vast_profile *p)
{
	json_t *list = json_array();

	for (int i = 0; list && i < p->country_count; i++)
		json_array_append_new(list, json_string(p->countries[i]));
	return list;
}

int hoist_vast_offers_query(const struct hoist_vast_profile *p,
			    const char *const *gpu_names, size_t name_count,
			    int strict, int limit, json_t **out,
			    struct hoist_err *err)
{
	json_t *q = json_object();
	json_t *names = json_array();
	json_t *order = json_pack("[[ss]]", "dph_total", "asc");
	int fail = !q || !names || !order;

	for (size_t i = 0; !fail && i < name_count; i++)
		fail |= json_array_append_new(names, json_string(gpu_names[i]));
	if (!fail && name_count == 0)
		fail |= json_array_append_new(names,
					      wire_gpu_name(p->gpu_name));
	if (!fail) {
		fail |= set_op(q, "gpu_name", "in", names);
		names = NULL;
		fail |= set_op(q, "num_gpus", "eq",
			       json_integer(p->num_gpus));
		fail |= set_op(q, "rentable", "eq", json_true());
		fail |= set_op(q, "external", "eq", json_false());
	}
	if (!fail && strict) {
		fail |= set_op(q, "dph_total", "lte", json_real(p->max_dph));
		fail |= set_op(q, "disk_space", "gte", json_real(p->disk_gb));
		if (p->reliability_min > 0)
			fail |= set_op(q, "reliability", "gte",
				       json_real(p->reliability_min));
		if (p->verified)
			fail |= set_op(q, "verified", "eq", json_true());
		if (p->cuda_min > 0) {
			fail |= set_op(q, "cuda_max_good", "gte",
				       json_real(p->cuda_min));
			fail |= set_op(q, "compute_cap", "gte",
				       json_integer(COMPUTE_CAP_MIN));
		}
		if (p->min_inet_down_mbps > 0)
			fail |= set_op(q, "inet_down", "gte",
				       json_real(p->min_inet_down_mbps));
		if (p->gpu_ram_gb > 0)
			fail |= set_op(q, "gpu_ram", "gte", json_real(
				p->gpu_ram_gb * 1000 *
				(1 - HOIST_VAST_RAM_TOLERANCE)));
		if (p->country_count == 1)
			fail |= set_op(q, "geolocation", "eq",
				       json_string(p->countries[0]));
		else if (p->country_count > 1)
			fail |= set_op(q, "geolocation", "in",
				       country_list(p));
	}
	if (!fail) {
		fail |= json_object_set_new(q, "order", order);
		order = NULL;
		fail |= json_object_set_new(q, "type", json_string(
			p->interruptible ? "bid" : "on-demand"));
		fail |= json_object_set_new(q, "limit", json_integer(limit));
		fail |= json_object_set_new(q, "allocated_storage",
					    json_real(p->disk_gb));
	}
	json_decref(names);
	json_decref(order);
	if (fail) {
		json_decref(q);
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "cannot build the offer query");
	}
	*out = q;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Offers                                                              */
/* ------------------------------------------------------------------ */

/* Rounds a non-negative price up to a tenth of a cent, without libm. */
static double round_up_millis(double price)
{
	double millis = price * 1000 - 1e-6;
	long long whole = (long long)millis;

	if ((double)whole < millis)
		whole++;
	return (double)whole / 1000;
}

int hoist_vast_offers_price(const json_t *offer, double disk_gb,
			    int interruptible, double *price, double *bid)
{
	double storage_cost;
	double base;
	double total;
	double min_bid;
	double disk = 0;
	int have_base = !hoist_vast_json_get_number(offer, "dph_base", &base);
	int have_total = !hoist_vast_json_get_number(offer, "dph_total",
						     &total);

	if (!hoist_vast_json_get_number(offer, "storage_cost", &storage_cost))
		disk = disk_gb * storage_cost / STORAGE_HOURS_PER_MONTH;
	else if (have_base && have_total && total >= base)
		disk = total - base;

	*bid = 0;
	if (interruptible) {
		if (hoist_vast_json_get_number(offer, "min_bid", &min_bid) ||
		    min_bid < 0)
			return -1;
		*bid = round_up_millis(min_bid);
		if (*bid < 0.001)
			*bid = 0.001;
		*price = *bid + disk;
		return 0;
	}
	if (have_base)
		*price = base + disk;
	else if (have_total)
		*price = total;
	else
		return -1;
	return 0;
}

/* The two-letter country code at the end of "Sweden, SE" or ", US". */
static int offer_country(const json_t *offer, char code[3])
{
	const char *geo = hoist_vast_json_get_string(offer, "geolocation");
	const char *comma;
	size_t len;

	if (!geo)
		return -1;
	comma = strrchr(geo, ',');
	geo = comma ? comma + 1 : geo;
	while (*geo == ' ')
		geo++;
	len = strlen(geo);
	while (len > 0 && geo[len - 1] == ' ')
		len--;
	if (len != 2)
		return -1;
	code[0] = (char)toupper((unsigned char)geo[0]);
	code[1] = (char)toupper((unsigned char)geo[1]);
	code[2] = '\0';
	return 0;
}

static int offer_reliability(const json_t *offer, double *out)
{
	if (!hoist_vast_json_get_number(offer, "reliability", out))
		return 0;
	return hoist_vast_json_get_number(offer, "reliability2", out);
}

static int offer_verified(const json_t *offer)
{
	const char *verification = hoist_vast_json_get_string(offer,
							      "verification");
	int verified = 0;

	if (!hoist_vast_json_get_bool(offer, "verified", &verified))
		return verified;
	return verification && strcmp(verification, "verified") == 0;
}

static const struct hoist_vast_machine *
find_machine(const struct hoist_vast_machines *m, long long id)
{
	if (!m || id <= 0)
		return NULL;
	for (size_t i = 0; i < m->count; i++)
		if (m->entries[i].id == id)
			return &m->entries[i];
	return NULL;
}

/* Returns the first check that offer fails, or -1 when it passes all;
 * fills c for a passing offer. */
static int check_offer(const struct hoist_vast_profile *p, const json_t *offer,
		       const struct hoist_vast_machines *machines,
		       int64_t now_ms, struct hoist_vast_candidate *c)
{
	const struct hoist_vast_machine *machine;
	const char *gpu = hoist_vast_json_get_string(offer, "gpu_name");
	char machine_id[24];
	char country[3];
	double v;
	int flag;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(offer) ||
	    hoist_vast_json_get_id(offer, "id", c->id, sizeof(c->id)))
		return HOIST_VAST_FILTER_INVALID;
	c->offer = offer;
	if (!hoist_vast_json_get_id(offer, "machine_id", machine_id,
				    sizeof(machine_id)))
		c->machine_id = atoll(machine_id);

	if (!gpu || !hoist_vast_gpu_match(p->gpu_name, gpu))
		return HOIST_VAST_FILTER_GPU_NAME;
	if (hoist_vast_json_get_number(offer, "num_gpus", &v) ||
	    v != p->num_gpus)
		return HOIST_VAST_FILTER_NUM_GPUS;
	if (!hoist_vast_json_get_bool(offer, "rentable", &flag) && !flag)
		return HOIST_VAST_FILTER_RENTABLE;
	if (p->verified && !offer_verified(offer))
		return HOIST_VAST_FILTER_VERIFIED;
	if (offer_reliability(offer, &c->reliability)) {
		if (p->reliability_min > 0)
			return HOIST_VAST_FILTER_RELIABILITY;
		c->reliability = RANK_RELIABILITY_FLOOR;
	} else if (c->reliability < p->reliability_min) {
		return HOIST_VAST_FILTER_RELIABILITY;
	}
	if (hoist_vast_json_get_number(offer, "disk_space", &v) ||
	    v < p->disk_gb)
		return HOIST_VAST_FILTER_DISK;
	if (p->gpu_ram_gb > 0 &&
	    (hoist_vast_json_get_number(offer, "gpu_ram", &v) ||
	     v < p->gpu_ram_gb * 1000 * (1 - HOIST_VAST_RAM_TOLERANCE)))
		return HOIST_VAST_FILTER_GPU_RAM;
	if (p->cuda_min > 0 &&
	    (hoist_vast_json_get_number(offer, "cuda_max_good", &v) ||
	     v + 1e-9 < p->cuda_min))
		return HOIST_VAST_FILTER_CUDA;
	if (p->min_inet_down_mbps > 0 &&
	    (hoist_vast_json_get_number(offer, "inet_down", &v) ||
	     v < p->min_inet_down_mbps))
		return HOIST_VAST_FILTER_INET_DOWN;
	if (p->country_count > 0) {
		int found = 0;

		if (!offer_country(offer, country))
			for (int i = 0; i < p->country_count; i++)
				found |= strcmp(country, p->countries[i]) == 0;
		if (!found)
			return HOIST_VAST_FILTER_REGION;
	}
	if (hoist_vast_offers_price(offer, p->disk_gb, p->interruptible,
				    &c->price, &c->bid))
		return p->interruptible ? HOIST_VAST_FILTER_INTERRUPTIBLE :
					  HOIST_VAST_FILTER_MAX_DPH;
	if (c->price > p->max_dph + 1e-9)
		return HOIST_VAST_FILTER_MAX_DPH;

	machine = find_machine(machines, c->machine_id);
	if (machine && machine->failures > 0 &&
	    now_ms - machine->last_failure_ms < HOIST_VAST_MACHINE_SKIP_MS)
		return HOIST_VAST_FILTER_FAILED_MACHINE;

	/* Expected cost of an hour of work: an unreliable host makes a job
	 * lose time, and each older failure or earlier good rental on the
	 * machine moves it down or up. */
	c->rank = c->price / (c->reliability > RANK_RELIABILITY_FLOOR ?
			      c->reliability : RANK_RELIABILITY_FLOOR);
	if (machine) {
		for (int i = 0; i < machine->failures && i < 6; i++)
			c->rank *= 1.25;
		if (machine->successes > 0)
			c->rank *= 0.9;
	}
	return -1;
}

static int compare_candidates(const void *a, const void *b)
{
	const struct hoist_vast_candidate *x = a;
	const struct hoist_vast_candidate *y = b;
	size_t lx = strlen(x->id);
	size_t ly = strlen(y->id);

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->reliability != y->reliability)
		return x->reliability > y->reliability ? -1 : 1;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->id, y->id);
}

int hoist_vast_offers_select(const struct hoist_vast_profile *p,
			     const json_t *offers,
			     const struct hoist_vast_machines *machines,
			     int64_t now_ms,
			     struct hoist_vast_candidate **out, size_t *count,
			     int removed[HOIST_VAST_FILTER_COUNT],
			     struct hoist_err *err)
{
	struct hoist_vast_candidate *list;
	size_t n = 0;
	size_t i;
	json_t *offer;

	*out = NULL;
	*count = 0;
	memset(removed, 0, sizeof(int) * HOIST_VAST_FILTER_COUNT);
	if (!json_is_array(offers))
		return hoist_err_set(err, HOIST_E_PROVIDER,
				     "the Vast.ai search returned no offer "
				     "list");
	list = calloc(json_array_size(offers) + 1, sizeof(*list));
	if (!list)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	json_array_foreach(offers, i, offer) {
		int failed = check_offer(p, offer, machines, now_ms, &list[n]);

		if (failed >= 0)
			removed[failed]++;
		else
			n++;
	}
	qsort(list, n, sizeof(*list), compare_candidates);
	*out = list;
	*count = n;
	return 0;
}

static json_t *candidate_json(const struct hoist_vast_candidate *c)
{
	const json_t *o = c->offer;
	const char *gpu = hoist_vast_json_get_string(o, "gpu_name");
	const char *geo = hoist_vast_json_get_string(o, "geolocation");
	json_t *item = json_object();
	double v;

	if (!item)
		return NULL;
	json_object_set_new(item, "id", json_string(c->id));
	json_object_set_new(item, "gpu_name", json_string(gpu ? gpu : ""));
	if (!hoist_vast_json_get_number(o, "num_gpus", &v))
		json_object_set_new(item, "num_gpus", json_integer((int)v));
	json_object_set_new(item, "price_per_hour", json_real(c->price));
	if (c->bid > 0)
		json_object_set_new(item, "bid_per_hour", json_real(c->bid));
	json_object_set_new(item, "reliability", json_real(c->reliability));
	json_object_set_new(item, "location", json_string(geo ? geo : ""));
	if (!hoist_vast_json_get_number(o, "disk_space", &v))
		json_object_set_new(item, "disk_gb", json_real(v));
	if (!hoist_vast_json_get_number(o, "gpu_ram", &v))
		json_object_set_new(item, "gpu_ram_gb", json_real(v / 1000));
	if (!hoist_vast_json_get_number(o, "cuda_max_good", &v))
		json_object_set_new(item, "cuda_max_good", json_real(v));
	if (!hoist_vast_json_get_number(o, "inet_down", &v))
		json_object_set_new(item, "inet_down_mbps", json_real(v));
	if (c->machine_id > 0)
		json_object_set_new(item, "machine_id",
				    json_integer(c->machine_id));
	json_object_set_new(item, "verified",
			    json_boolean(offer_verified(o)));
	return item;
}

json_t *hoist_vast_offers_result(const struct hoist_vast_candidate *list,
				 size_t count,
				 const int removed[HOIST_VAST_FILTER_COUNT],
				 size_t returned, struct hoist_err *err)
{
	json_t *result = json_object();
	json_t *offers = json_array();
	json_t *filtered = json_array();
	int fail = !result || !offers || !filtered;

	for (size_t i = 0; !fail && i < count; i++)
		fail |= json_array_append_new(offers,
					      candidate_json(&list[i]));
	for (int f = 0; !fail && f < HOIST_VAST_FILTER_COUNT; f++) {
		if (removed[f] == 0)
			continue;
		fail |= json_array_append_new(filtered, json_pack(
			"{s:s, s:i}", "filter", filter_names[f],
			"removed", removed[f]));
	}
	if (!fail) {
		fail |= json_object_set_new(result, "offers", offers);
		offers = NULL;
		fail |= json_object_set_new(result, "filtered", filtered);
		filtered = NULL;
		fail |= json_object_set_new(result, "returned",
					    json_integer((json_int_t)returned));
	}
	json_decref(offers);
	json_decref(filtered);
	if (fail) {
		json_decref(result);
		hoist_err_set(err, HOIST_E_NOMEM,
			      "cannot build the offer list");
		return NULL;
	}
	return result;
}

void hoist_vast_offers_describe_removed(
	char *out, size_t outlen, const int removed[HOIST_VAST_FILTER_COUNT])
{
	size_t n = 0;

	out[0] = '\0';
	for (int f = 0; f < HOIST_VAST_FILTER_COUNT; f++) {
		int w;

		if (removed[f] == 0)
			continue;
		w = snprintf(out + n, outlen - n, "%s%s removed %d",
			     n ? ", " : "", filter_names[f], removed[f]);
		if (w < 0 || (size_t)w >= outlen - n)
			break;
		n += (size_t)w;
	}
	if (n == 0)
		snprintf(out, outlen, "none");
}

/* ------------------------------------------------------------------ */
/* Machines                                                            */
/* ------------------------------------------------------------------ */

static struct hoist_vast_machine *machine_slot(struct hoist_vast_machines *m,
					       long long id)
{
	struct hoist_vast_machine *oldest = NULL;

	for (size_t i = 0; i < m->count; i++)
		if (m->entries[i].id == id)
			return &m->entries[i];
	if (m->count < HOIST_VAST_MACHINES_MAX) {
		oldest = &m->entries[m->count++];
	} else {
		/* Forget the machine used longest ago. */
		oldest = &m->entries[0];
		for (size_t i = 1; i < m->count; i++)
			if (m->entries[i].last_used_ms < oldest->last_used_ms)
				oldest = &m->entries[i];
	}
	memset(oldest, 0, sizeof(*oldest));
	oldest->id = id;
	return oldest;
}

void hoist_vast_offers_machine_failed(struct hoist_vast_machines *m,
				      long long id, long long instance,
				      int64_t now_ms)
{
	struct hoist_vast_machine *e;

	if (id <= 0)
		return;
	e = machine_slot(m, id);
	if (instance > 0 && e->last_instance == instance)
		return;
	e->last_instance = instance;
	e->failures++;
	e->last_failure_ms = now_ms;
	e->last_used_ms = now_ms;
}

void hoist_vast_offers_machine_worked(struct hoist_vast_machines *m,
				      long long id, int64_t now_ms)
{
	struct hoist_vast_machine *e;

	if (id <= 0)
		return;
	e = machine_slot(m, id);
	e->successes++;
	e->last_used_ms = now_ms;
}
