/*
 * api.c - routing of the Vast.ai REST API, with authentication, request
 * faults and rate limits, and the endpoints that are not about one
 * instance: offer search, the current user and charges.  The instance
 * endpoints are in api_instances.c.
 *
 * Every path is accepted with and without its trailing '/'.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <openssl/evp.h>

#include "common/log.h"
#include "common/util.h"
#include "sim/sim_int.h"

/* The maximum number of rate limit entries; the table is cleared then. */
#define RATE_SEEN_MAX 10000

/* The pagination token of the API: base64 of a JSON object. */
#define TOKEN_MAX 2048

typedef void (*handler_fn)(struct hoist_sim_request *r, const char *id);

struct route {
	int method;
	const char *pattern;	/* segments; "*" takes an id */
	handler_fn handler;
	int public;		/* works without a key */
	int instance_scope;	/* an instance's own key may call it */
	double threshold;	/* the endpoint's rate limit, s */
	const char *name;	/* for the rate limit table */
};

static void search_bundles(struct hoist_sim_request *r, const char *id);
static void search_bundles_get(struct hoist_sim_request *r, const char *id);
static void search_asks(struct hoist_sim_request *r, const char *id);
static void show_user(struct hoist_sim_request *r, const char *id);
static void show_charges(struct hoist_sim_request *r, const char *id);

/* The thresholds are the ones Vast.ai documents per endpoint; offer
 * search allows 10 requests per minute. */
static const struct route routes[] = {
	{ EVHTTP_REQ_POST, "api/v0/bundles", search_bundles, 1, 0, 6.0,
	  "search" },
	{ EVHTTP_REQ_GET, "api/v0/bundles", search_bundles_get, 1, 0, 6.0,
	  "search" },
	{ EVHTTP_REQ_PUT, "api/v0/search/asks", search_asks, 1, 0, 6.0,
	  "search" },
	{ EVHTTP_REQ_PUT, "api/v0/asks/*", hoist_sim_api_create, 0, 0, 4.5,
	  "create" },
	{ EVHTTP_REQ_GET, "api/v0/instances", hoist_sim_api_list_v0, 0, 0,
	  1.0, "list" },
	{ EVHTTP_REQ_GET, "api/v1/instances", hoist_sim_api_list_v1, 0, 0,
	  1.0, "list" },
	{ EVHTTP_REQ_PUT, "api/v0/instances/bid_price/*", hoist_sim_api_bid,
	  0, 0, 5.5, "bid" },
	{ EVHTTP_REQ_GET, "api/v0/instances/*", hoist_sim_api_show, 0, 1,
	  2.0, "show" },
	{ EVHTTP_REQ_GET, "api/v1/instances/*", hoist_sim_api_show, 0, 1,
	  2.0, "show" },
	{ EVHTTP_REQ_PUT, "api/v0/instances/*", hoist_sim_api_manage, 0, 1,
	  1.0, "manage" },
	{ EVHTTP_REQ_PUT, "api/v1/instances/*", hoist_sim_api_manage, 0, 1,
	  1.0, "manage" },
	{ EVHTTP_REQ_DELETE, "api/v0/instances/*", hoist_sim_api_destroy, 0,
	  1, 3.0, "destroy" },
	{ EVHTTP_REQ_DELETE, "api/v1/instances/*", hoist_sim_api_destroy, 0,
	  1, 3.0, "destroy" },
	{ EVHTTP_REQ_GET, "api/v0/users/current", show_user, 0, 0, 1.0,
	  "user" },
	{ EVHTTP_REQ_GET, "api/v0/charges", show_charges, 0, 0, 1.0,
	  "charges" },
};

#define ROUTE_COUNT (sizeof(routes) / sizeof(routes[0]))

/* ------------------------------------------------------------------ */
/* Pagination tokens                                                   */
/* ------------------------------------------------------------------ */

char *hoist_sim_token_encode(const json_t *value)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
	size_t len = text ? strlen(text) : 0;
	char *out;

	if (!text || len > TOKEN_MAX) {
		free(text);
		return NULL;
	}
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, (unsigned char *)text,
				(int)len);
	free(text);
	return out;
}

json_t *hoist_sim_token_decode(const char *token)
{
	unsigned char raw[TOKEN_MAX];
	size_t len = strlen(token);
	int n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(raw))
		return NULL;
	n = EVP_DecodeBlock(raw, (const unsigned char *)token, (int)len);
	if (n < 0)
		return NULL;
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	while (n > 0 && len > 0 && token[len - 1] == '=') {
		n--;
		len--;
	}
	return json_loadb((const char *)raw, (size_t)n, 0, NULL);
}

/* ------------------------------------------------------------------ */
/* Routing, faults, authentication                                     */
/* ------------------------------------------------------------------ */

/* Matches the request path against pattern; *id receives the segment
 * matched by "*". */
static int match(const struct hoist_sim_request *r, const char *pattern,
		 const char **id)
{
	char copy[128];
	char *save = NULL;
	size_t i = 0;

	snprintf(copy, sizeof(copy), "%s", pattern);
	*id = NULL;
	for (char *seg = strtok_r(copy, "/", &save); seg;
	     seg = strtok_r(NULL, "/", &save), i++) {
		if (i >= r->nsegments)
			return 0;
		if (strcmp(seg, "*") == 0)
			*id = r->segments[i];
		else if (strcmp(seg, r->segments[i]) != 0)
			return 0;
	}
	return i == r->nsegments;
}

/* Draws the fault of one API request: the forced faults first, then
 * --fault-rate.  Each request takes one draw, and a faulty one a second,
 * so a seed gives the same faults for the same sequence of requests. */
static unsigned draw_fault(struct hoist_sim *sim)
{
	unsigned kinds[HOIST_SIM_FAULT_KINDS];
	size_t n = 0;
	double u;

	sim->requests++;
	if (sim->forced_count > 0) {
		sim->forced_count--;
		return sim->forced_fault;
	}
	if (sim->opt.fault_rate <= 0)
		return 0;
	u = hoist_sim_rng_unit(&sim->fault_rng);
	if (u >= sim->opt.fault_rate)
		return 0;
	for (unsigned bit = 0; bit < HOIST_SIM_FAULT_KINDS; bit++)
		if (sim->opt.fault_kinds & (1u << bit))
			kinds[n++] = 1u << bit;
	if (n == 0)
		return 0;
	return kinds[hoist_sim_rng_below(&sim->fault_rng, n)];
}

/* Replies to a fault that fails the request before it is handled.
 * Returns 1 when it did. */
static int reply_early_fault(struct hoist_sim_request *r,
			     const struct route *route)
{
	switch (r->fault) {
	case HOIST_SIM_FAULT_429:
		hoist_sim_reply_429(r, route->threshold);
		return 1;
	case HOIST_SIM_FAULT_500:
		hoist_sim_reply_text(r, 500, "text/html",
				     "<h1>Server Error (500)</h1>");
		return 1;
	case HOIST_SIM_FAULT_502:
		hoist_sim_reply_text(r, 502, "text/html",
				     "<html>\r\n<head><title>502 Bad Gateway"
				     "</title></head>\r\n<body>\r\n<center>"
				     "<h1>502 Bad Gateway</h1></center>\r\n"
				     "</body>\r\n</html>\r\n");
		return 1;
	case HOIST_SIM_FAULT_503:
		hoist_sim_reply_text(r, 503, "text/html",
				     "<html>\r\n<head><title>503 Service "
				     "Temporarily Unavailable</title></head>"
				     "\r\n<body>\r\n<center><h1>503 Service "
				     "Temporarily Unavailable</h1></center>"
				     "\r\n</body>\r\n</html>\r\n");
		return 1;
	case HOIST_SIM_FAULT_504:
		hoist_sim_reply_text(r, 504, "text/html",
				     "<html>\r\n<head><title>504 Gateway "
				     "Time-out</title></head>\r\n<body>\r\n"
				     "<center><h1>504 Gateway Time-out</h1>"
				     "</center>\r\n</body>\r\n</html>\r\n");
		return 1;
	default:
		return 0;
	}
}

static struct hoist_sim_instance *instance_of_key(struct hoist_sim *sim,
						  const char *key)
{
	for (size_t i = 0; i < sim->nrecords; i++) {
		struct hoist_sim_instance *inst = sim->records[i];

		if (hoist_sim_instance_live(inst) &&
		    hoist_util_secret_equal(inst->api_key, key))
			return inst;
	}
	return NULL;
}

/* Sets r->user from the request's key; replies 401 and returns -1 when
 * the key is wrong or missing where one is needed. */
static int authenticate(struct hoist_sim_request *r, const struct route *route,
			const char *id)
{
	const char *key = hoist_sim_request_key(r);
	struct hoist_sim_instance *inst;
	int64_t target;

	if (!key || !*key) {
		if (route->public)
			return 0;
		goto denied;
	}
	r->user = hoist_sim_find_user(r->sim, key);
	if (r->user)
		return 0;
	inst = instance_of_key(r->sim, key);
	/* An instance's own key (CONTAINER_API_KEY) may only show, start,
	 * stop and destroy that instance. */
	if (inst && route->instance_scope &&
	    hoist_sim_parse_id(id, &target) == 0 && target == inst->id) {
		r->user = inst->user;
		r->scope_instance = inst->id;
		return 0;
	}
denied:
	hoist_sim_reply_json(r, 401, json_pack("{s:b, s:s, s:s}", "success",
					       0, "error", "auth_error", "msg",
					       "Invalid user key"));
	return -1;
}

/* Applies the endpoint's minimum interval per caller (--rate-limits);
 * replies 429 and returns -1 when the request comes too soon. */
static int rate_limit(struct hoist_sim_request *r, const struct route *route)
{
	struct hoist_sim *sim = r->sim;
	const char *key = hoist_sim_request_key(r);
	char identity[HOIST_SIM_KEY_MAX + 96];
	double mono = hoist_sim_mono();
	json_t *seen;

	if (!sim->opt.rate_limits)
		return 0;
	if (!key || !*key) {
		struct evhttp_connection *conn =
			evhttp_request_get_connection(r->req);
		char *host = NULL;
		ev_uint16_t port = 0;

		if (conn)
			evhttp_connection_get_peer(conn, &host, &port);
		key = host ? host : "unknown";
	}
	snprintf(identity, sizeof(identity), "%s %s", route->name, key);
	seen = json_object_get(sim->rate_seen, identity);
	if (seen && mono - json_real_value(seen) < route->threshold) {
		if (strcmp(route->name, "destroy") == 0 && sim->opt.json_429)
			hoist_sim_reply_error(r, 429, "rate_limit_exceeded",
					      "API requests too frequent "
					      "endpoint threshold=%.1f",
					      route->threshold);
		else
			hoist_sim_reply_429(r, route->threshold);
		return -1;
	}
	if (json_object_size(sim->rate_seen) >= RATE_SEEN_MAX)
		json_object_clear(sim->rate_seen);
	json_object_set_new(sim->rate_seen, identity, json_real(mono));
	return 0;
}

void hoist_sim_api_handle(struct hoist_sim_request *r)
{
	const struct route *route = NULL;
	int path_known = 0;
	const char *id = NULL;

	for (size_t i = 0; i < ROUTE_COUNT; i++) {
		if (!match(r, routes[i].pattern, &id))
			continue;
		path_known = 1;
		if (routes[i].method == r->method) {
			route = &routes[i];
			break;
		}
	}
	if (!route) {
		if (path_known)
			hoist_sim_reply_error(r, 405, "invalid_request",
					      "method not allowed on %s",
					      r->path);
		else
			hoist_sim_reply_error(r, 404, "not_found",
					      "no such endpoint: %s", r->path);
		return;
	}
	r->fault = draw_fault(r->sim);
	if (reply_early_fault(r, route))
		return;
	if (authenticate(r, route, id) != 0 || rate_limit(r, route) != 0)
		return;
	route->handler(r, id);
}

/* ------------------------------------------------------------------ */
/* Offer search                                                        */
/* ------------------------------------------------------------------ */

/* Filters that the backend ignores: it does not filter on "rented". */
static const char *const ignored_filters[] = { "rented", NULL };

static int compare_offers(const void *a, const void *b, void *arg)
{
	return hoist_sim_query_compare(arg, *(json_t *const *)a,
				       *(json_t *const *)b);
}

static void search(struct hoist_sim_request *r, const json_t *body)
{
	struct hoist_sim *sim = r->sim;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_sim_query q;
	double now = hoist_sim_now(sim);
	json_t **found = NULL;
	size_t nfound = 0;
	json_t *offers;
	long limit;

	if (!body) {
		hoist_sim_reply_json(r, 400, json_pack(
			"{s:s, s:s}", "error", "invalid_request", "msg",
			"Invalid json body"));
		return;
	}
	if (hoist_sim_query_parse(body, 1, sim->offer_keys,
				  sim->opt.unknown_filter_reject ?
				  HOIST_SIM_UNKNOWN_REJECT :
				  HOIST_SIM_UNKNOWN_IGNORE,
				  ignored_filters, &q, &err) != 0) {
		hoist_sim_reply_json(r, 400, json_pack(
			"{s:s, s:s+}", "error", "invalid_request", "msg",
			"Error in query parameters: ", err.msg));
		return;
	}
	if (q.norder == 0) {
		snprintf(q.order[0].field, sizeof(q.order[0].field), "score");
		q.order[0].desc = 1;
		q.norder = 1;
	}
	if (q.storage_gb < 0)
		q.storage_gb = sim->opt.default_storage;
	limit = q.limit < 0 ? sim->opt.default_limit : q.limit;
	if (limit > sim->opt.max_limit)
		limit = sim->opt.max_limit;

	found = calloc(sim->market.count + 1, sizeof(*found));
	offers = json_array();
	if (!found || !offers)
		goto oom;
	for (size_t i = 0; i < sim->market.count; i++) {
		struct hoist_sim_offer *offer = &sim->market.offers[i];
		json_t *o;

		if (!offer->listed)
			continue;
		o = hoist_sim_market_render(offer, q.type, q.storage_gb, now);
		if (!o)
			goto oom;
		if (hoist_sim_query_match(&q, o))
			found[nfound++] = o;
		else
			json_decref(o);
	}
	qsort_r(found, nfound, sizeof(*found), compare_offers, &q);
	for (size_t i = 0; i < nfound; i++) {
		if ((long)i < limit)
			json_array_append(offers, found[i]);
		json_decref(found[i]);
	}
	free(found);
	hoist_sim_query_release(&q);
	hoist_sim_reply_json(r, 200, json_pack("{s:o}", "offers", offers));
	return;
oom:
	for (size_t i = 0; i < nfound; i++)
		json_decref(found[i]);
	free(found);
	json_decref(offers);
	hoist_sim_query_release(&q);
	hoist_sim_reply_error(r, 500, "server_error", "out of memory");
}

static void search_bundles(struct hoist_sim_request *r, const char *id)
{
	(void)id;
	if (r->body_invalid || (r->body && !json_is_object(r->body))) {
		search(r, NULL);
		return;
	}
	if (!r->body) {
		json_t *empty = json_object();

		search(r, empty);
		json_decref(empty);
		return;
	}
	search(r, r->body);
}

/* The form of the CLI before 2024: GET /api/v0/bundles?q=<JSON>. */
static void search_bundles_get(struct hoist_sim_request *r, const char *id)
{
	const char *text = hoist_sim_query_param(r, "q");
	json_t *q = text ? json_loads(text, 0, NULL) : json_object();

	(void)id;
	search(r, json_is_object(q) ? q : NULL);
	json_decref(q);
}

/* PUT /api/v0/search/asks/ {"select_cols": [...], "q": {...}}. */
static void search_asks(struct hoist_sim_request *r, const char *id)
{
	json_t *q = json_object_get(r->body, "q");

	(void)id;
	search(r, json_is_object(q) ? q : NULL);
}

/* ------------------------------------------------------------------ */
/* The current user                                                    */
/* ------------------------------------------------------------------ */

static void show_user(struct hoist_sim_request *r, const char *id)
{
	struct hoist_sim_user *user = r->user;
	double credit = hoist_sim_user_credit(r->sim, user,
					      hoist_sim_now(r->sim));
	char email[64];
	json_t *o;

	(void)id;
	snprintf(email, sizeof(email), "%s@example.com", user->username);
	o = json_pack("{s:I, s:s, s:s, s:s, s:f, s:f, s:f, s:b, s:b, s:b, "
		      "s:b, s:b, s:b, s:n, s:s, s:I, s:s, s:n}",
		      "id", (json_int_t)user->id, "username", user->username,
		      "email", email, "fullname", user->username,
		      "credit", credit, "balance", 0.0,
		      "balance_threshold", 0.0,
		      "balance_threshold_enabled", 0,
		      "can_pay", 1, "email_verified", 1,
		      "got_signup_credit", 1, "has_billing", 1,
		      "has_payout", 0, "last4",
		      "user", user->username, "key_id", (json_int_t)user->id,
		      "api_key", user->key, "ssh_key");
	if (o) {
		json_object_set_new(o, "billed_expected", json_real(0));
		json_object_set_new(o, "billed_verified", json_real(0));
		json_object_set_new(o, "paid_expected", json_real(0));
		json_object_set_new(o, "paid_verified", json_real(0));
		json_object_set_new(o, "billing_creditonly", json_integer(0));
		json_object_set_new(o, "password_resettable", json_true());
		json_object_set_new(o, "paypal_email", json_null());
		json_object_set_new(o, "sid", json_string(""));
	}
	hoist_sim_reply_json(r, 200, o);
}

/* ------------------------------------------------------------------ */
/* Charges                                                             */
/* ------------------------------------------------------------------ */

static json_t *charge_item(const char *type, const char *description,
			   double quantity, double rate, double amount)
{
	return json_pack("{s:s, s:s, s:f, s:f, s:f}", "type", type,
			 "description", description, "quantity", quantity,
			 "rate", rate, "amount", amount);
}

/* Returns the charges of one instance in [from, to], or NULL when it has
 * none there. */
static json_t *instance_charges(const struct hoist_sim_instance *inst,
				double from, double to, double now)
{
	double end = inst->destroyed_at >= 0 ? inst->destroyed_at : now;
	double start = fmax(from, inst->created_at);
	struct hoist_sim_cost cost;
	double gpu_hours;
	double disk_hours;
	char source[48];
	char text[160];
	json_t *items;
	json_t *o;

	end = fmin(end, to);
	hoist_sim_ledger_cost(&inst->ledger, start, end, &cost);
	if (end <= start || hoist_sim_cost_usd(&cost) <= 0)
		return NULL;
	gpu_hours = cost.gpu_seconds / 3600.0;
	disk_hours = cost.disk_seconds / 3600.0;
	items = json_array();
	if (!items)
		return NULL;
	snprintf(text, sizeof(text), "%.3f hours at $%.4f/hour", gpu_hours,
		 gpu_hours > 0 ? cost.gpu_usd / gpu_hours : 0);
	json_array_append_new(items, charge_item(
		"gpu", text, gpu_hours,
		gpu_hours > 0 ? cost.gpu_usd / gpu_hours : 0, cost.gpu_usd));
	snprintf(text, sizeof(text), "%.3f hours of %.1f GB at $%.6f/hour",
		 disk_hours, inst->disk_gb, inst->storage_rate);
	json_array_append_new(items, charge_item(
		"disk", text, disk_hours, inst->storage_rate, cost.disk_usd));
	json_array_append_new(items, charge_item(
		"bwd", "0.000 GB downloaded", 0, 0, 0));
	json_array_append_new(items, charge_item(
		"bwu", "0.000 GB uploaded", 0, 0, 0));
	snprintf(source, sizeof(source), "instance-%lld", (long long)inst->id);
	snprintf(text, sizeof(text), "Instance %lld Charges - %.2f hours",
		 (long long)inst->id, (end - start) / 3600.0);
	o = json_pack("{s:f, s:f, s:s, s:s, s:s, s:f, s:{s:o, s:n, s:I}, "
		      "s:o}",
		      "start", start, "end", end, "type", "instance",
		      "source", source, "description", text,
		      "amount", hoist_sim_cost_usd(&cost),
		      "metadata", "label", inst->label ?
		      json_string(inst->label) : json_null(),
		      "template_id", "instance_id", (json_int_t)inst->id,
		      "items", items);
	return o;
}

static int parse_day_range(const json_t *filters, double *from, double *to)
{
	const json_t *day = json_object_get(filters, "day");

	return hoist_sim_query_number(json_object_get(day, "gte"), from) ==
		       0 &&
	       hoist_sim_query_number(json_object_get(day, "lte"), to) == 0 ?
		       0 : -1;
}

/* Returns 1 when the "type" filter admits instance charges. */
static int wants_instances(const json_t *filters)
{
	const json_t *type = json_object_get(filters, "type");
	const json_t *in = json_object_get(type, "in");
	const json_t *eq = json_object_get(type, "eq");
	size_t i;
	json_t *item;

	if (eq)
		return json_is_string(eq) &&
		       strcmp(json_string_value(eq), "instance") == 0;
	if (!in)
		return 1;
	json_array_foreach(in, i, item)
		if (json_is_string(item) &&
		    strcmp(json_string_value(item), "instance") == 0)
			return 1;
	return 0;
}

static int compare_charges(const void *a, const void *b, void *arg)
{
	double sa = json_real_value(json_object_get(*(json_t *const *)a,
						    "start"));
	double sb = json_real_value(json_object_get(*(json_t *const *)b,
						    "start"));
	int latest_first = *(int *)arg;
	int cmp = (sa > sb) - (sa < sb);

	return latest_first ? -cmp : cmp;
}

static void show_charges(struct hoist_sim_request *r, const char *id)
{
	struct hoist_sim *sim = r->sim;
	const char *filters_text = hoist_sim_query_param(r, "select_filters");
	const char *token = hoist_sim_query_param(r, "after_token");
	const char *latest = hoist_sim_query_param(r, "latest_first");
	const char *limit_text = hoist_sim_query_param(r, "limit");
	json_t *filters = filters_text ? json_loads(filters_text, 0, NULL) :
				NULL;
	double now = hoist_sim_now(sim);
	int latest_first = latest && strcmp(latest, "true") == 0;
	json_t *all[HOIST_SIM_RECORDS_MAX];
	json_t *results = NULL;
	json_t *next = json_null();
	size_t total = 0;
	long offset = 0;
	long limit = 100;
	double from;
	double to;

	(void)id;
	if (parse_day_range(filters, &from, &to) != 0) {
		hoist_sim_reply_json(r, 400, json_pack(
			"{s:b, s:s}", "success", 0, "msg",
			"Must provide both 'day' gte and lte filters for "
			"instance charges"));
		goto out;
	}
	if (limit_text) {
		limit = atol(limit_text);
		if (limit <= 0 || limit > 500)
			limit = limit <= 0 ? 100 : 500;
	}
	if (token) {
		json_t *t = hoist_sim_token_decode(token);

		offset = (long)json_integer_value(json_object_get(t,
								  "offset"));
		json_decref(t);
		if (offset <= 0) {
			hoist_sim_reply_error(r, 400, "invalid_token",
					      "Invalid pagination token");
			goto out;
		}
	}
	for (size_t i = 0; i < sim->nrecords && wants_instances(filters);
	     i++) {
		const struct hoist_sim_instance *inst = sim->records[i];
		json_t *c;

		if (inst->user != r->user)
			continue;
		c = instance_charges(inst, from, to, now);
		if (c)
			all[total++] = c;
	}
	qsort_r(all, total, sizeof(*all), compare_charges, &latest_first);
	results = json_array();
	for (size_t i = 0; i < total; i++) {
		if ((long)i >= offset && (long)i < offset + limit && results)
			json_array_append(results, all[i]);
		json_decref(all[i]);
	}
	if (offset + limit < (long)total) {
		json_t *t = json_pack("{s:I}", "offset",
				      (json_int_t)(offset + limit));
		char *text = t ? hoist_sim_token_encode(t) : NULL;

		json_decref(t);
		if (text) {
			next = json_string(text);
			free(text);
		}
	}
	hoist_sim_reply_json(r, 200, json_pack(
		"{s:b, s:I, s:I, s:o, s:o}", "success", 1, "count",
		(json_int_t)json_array_size(results), "total",
		(json_int_t)total, "next_token", next, "results",
		results ? results : json_array()));
	next = NULL;
out:
	json_decref(next);
	json_decref(filters);
}
