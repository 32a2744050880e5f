/*
 * admin.c - the /admin/ endpoints of the simulator, for tests:
 *
 *   GET  /admin/state   instances, accounts, bills and fault settings
 *   POST /admin/events  {"event": NAME, ...}: outbid, offline, online,
 *                       exited, oci_error, gone_offer, min_bid,
 *                       burst_429, fault, credit
 *   POST /admin/faults  changes the fault settings at run time
 *
 * They take the --admin-key (or the first --api-key) and are never
 * subject to faults or rate limits.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "sim/sim_int.h"

static void reply_bad(struct hoist_sim_request *r, int status,
		      const char *fmt, ...) HOIST_PRINTF(3, 4);

static void reply_bad(struct hoist_sim_request *r, int status,
		      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	hoist_sim_reply_json(r, status, json_pack("{s:b, s:s}", "ok", 0,
						  "error", msg));
}

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

static json_t *bill_json(const struct hoist_sim_instance *inst, double now)
{
	struct hoist_sim_cost cost;

	hoist_sim_ledger_cost(&inst->ledger, inst->created_at, now, &cost);
	return json_pack("{s:f, s:f, s:f, s:f, s:f}", "gpu_seconds",
			 cost.gpu_seconds, "disk_seconds", cost.disk_seconds,
			 "gpu_usd", cost.gpu_usd, "disk_usd", cost.disk_usd,
			 "total_usd", hoist_sim_cost_usd(&cost));
}

static json_t *instance_state(const struct hoist_sim *sim,
			      const struct hoist_sim_instance *inst,
			      double now)
{
	const char *actual = hoist_sim_phase_name(sim, inst->phase);
	json_t *machine_id;
	json_t *o = json_pack(
		"{s:I, s:I, s:I, s:s?, s:s?, s:s, s:s, s:s, s:s, s:b, s:f, "
		"s:f, s:f, s:f, s:f, s:s, s:o}",
		"id", (json_int_t)inst->id, "user_id",
		(json_int_t)inst->user->id, "offer_id",
		(json_int_t)inst->offer_id, "label", inst->label,
		"actual_status", actual, "intended_status",
		inst->intended_status, "cur_state", inst->cur_state,
		"next_state", inst->next_state, "status_msg",
		inst->status_msg, "is_bid", inst->is_bid, "bid", inst->bid,
		"dph_base", inst->dph_base, "storage_rate",
		inst->storage_rate, "created_at", inst->created_at,
		"destroyed_at", inst->destroyed_at, "dir", inst->dir,
		"bill", bill_json(inst, now));

	if (o) {
		json_object_set_new(o, "shim_pid", inst->shim_pid ?
				    json_integer(inst->shim_pid) :
				    json_null());
		/* The API hides a destroyed instance, and with it the machine
		 * it ran on, which tests compare across attempts. */
		machine_id = json_object_get(inst->machine, "machine_id");
		json_object_set(o, "machine_id",
				machine_id ? machine_id : json_null());
	}
	return o;
}

static json_t *faults_json(const struct hoist_sim *sim)
{
	json_t *kinds = json_array();
	json_t *rates = json_object();

	for (unsigned bit = 0; bit < HOIST_SIM_FAULT_KINDS; bit++)
		if (sim->opt.fault_kinds & (1u << bit))
			json_array_append_new(kinds, json_string(
				hoist_sim_fault_name(1u << bit)));
	for (int k = 0; k < HOIST_SIM_EVENT_KINDS; k++)
		json_object_set_new(rates, hoist_sim_event_name(k),
				    json_real(sim->opt.event_rates[k]));
	return json_pack("{s:f, s:o, s:{s:s, s:I}, s:f, s:f, s:o, s:s}",
			 "fault_rate", sim->opt.fault_rate, "kinds", kinds,
			 "forced", "kind",
			 hoist_sim_fault_name(sim->forced_fault), "count",
			 (json_int_t)sim->forced_count, "slow_seconds",
			 sim->opt.slow_seconds, "hold_seconds",
			 sim->opt.hold_seconds, "event_rates", rates,
			 "v0_list", sim->opt.v0_list_gone ? "gone" : "normal");
}

static void show_state(struct hoist_sim_request *r)
{
	struct hoist_sim *sim = r->sim;
	double now = hoist_sim_now(sim);
	json_t *users = json_array();
	json_t *instances = json_array();

	for (size_t i = 0; i < sim->nusers; i++) {
		const struct hoist_sim_user *u = &sim->users[i];
		double credit = hoist_sim_user_credit(sim, u, now);

		json_array_append_new(users, json_pack(
			"{s:I, s:s, s:f, s:f}", "id", (json_int_t)u->id,
			"username", u->username, "credit", credit, "spent",
			u->credit0 - credit));
	}
	for (size_t i = 0; i < sim->nrecords; i++)
		json_array_append_new(instances,
				      instance_state(sim, sim->records[i], now));
	hoist_sim_reply_json(r, 200, json_pack(
		"{s:f, s:f, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "now", now,
		"speed", sim->opt.speed, "seed", (json_int_t)sim->opt.seed,
		"requests", (json_int_t)sim->requests, "offers_listed",
		(json_int_t)hoist_sim_market_listed(&sim->market),
		"offers_total", (json_int_t)sim->market.count, "users", users,
		"instances", instances, "faults", faults_json(sim)));
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static struct hoist_sim_instance *event_instance(struct hoist_sim_request *r,
						 const char *event)
{
	json_t *id = json_object_get(r->body, "instance_id");
	struct hoist_sim_instance *inst;

	if (!json_is_integer(id)) {
		reply_bad(r, 400, "event %s needs an integer instance_id",
			  event);
		return NULL;
	}
	inst = hoist_sim_instance_find(r->sim, json_integer_value(id));
	if (!inst || !hoist_sim_instance_live(inst)) {
		reply_bad(r, 404, "event %s: no live instance %lld", event,
			  (long long)json_integer_value(id));
		return NULL;
	}
	return inst;
}

static struct hoist_sim_offer *event_offer(struct hoist_sim_request *r,
					   const char *event)
{
	json_t *id = json_object_get(r->body, "offer_id");
	struct hoist_sim_offer *offer;

	if (!json_is_integer(id)) {
		reply_bad(r, 400, "event %s needs an integer offer_id", event);
		return NULL;
	}
	offer = hoist_sim_market_find(&r->sim->market,
				      json_integer_value(id));
	if (!offer) {
		reply_bad(r, 404, "event %s: no offer %lld", event,
			  (long long)json_integer_value(id));
		return NULL;
	}
	return offer;
}

/* Reads an optional number field; returns 0 (and leaves *out) when it
 * is absent, -1 after replying when it is not a number. */
static int number_field(struct hoist_sim_request *r, const char *name,
			double *out)
{
	json_t *value = json_object_get(r->body, name);

	if (!value)
		return 0;
	if (!json_is_number(value) || !isfinite(json_number_value(value))) {
		reply_bad(r, 400, "'%s' must be a number", name);
		return -1;
	}
	*out = json_number_value(value);
	return 0;
}

static int instance_event(struct hoist_sim_request *r, const char *event)
{
	struct hoist_sim *sim = r->sim;
	struct hoist_sim_instance *inst;
	double value = 0;

	if (strcmp(event, "outbid") != 0 && strcmp(event, "offline") != 0 &&
	    strcmp(event, "online") != 0 && strcmp(event, "exited") != 0 &&
	    strcmp(event, "oci_error") != 0)
		return 0;
	inst = event_instance(r, event);
	if (!inst)
		return 1;
	if (strcmp(event, "outbid") == 0) {
		if (!inst->is_bid) {
			reply_bad(r, 409, "instance %lld is on-demand; only "
				  "interruptible instances are outbid",
				  (long long)inst->id);
			return 1;
		}
		if (number_field(r, "min_bid", &value) != 0)
			return 1;
		hoist_sim_instance_outbid(sim, inst, value);
	} else if (strcmp(event, "offline") == 0) {
		hoist_sim_instance_offline(sim, inst);
	} else if (strcmp(event, "online") == 0) {
		hoist_sim_instance_online(sim, inst);
	} else if (strcmp(event, "exited") == 0) {
		value = 1;
		if (number_field(r, "exit_code", &value) != 0)
			return 1;
		hoist_sim_instance_exit(sim, inst, (int)value);
	} else {
		hoist_sim_instance_fail(sim, inst);
	}
	hoist_sim_reply_json(r, 200, json_pack(
		"{s:b, s:o}", "ok", 1, "instance",
		hoist_sim_instance_json(sim, inst)));
	return 1;
}

static void set_credit(struct hoist_sim_request *r)
{
	struct hoist_sim *sim = r->sim;
	double now = hoist_sim_now(sim);
	json_t *uid = json_object_get(r->body, "user_id");
	struct hoist_sim_user *user = &sim->users[0];
	double credit = NAN;
	double add = 0;

	if (uid) {
		user = NULL;
		for (size_t i = 0; i < sim->nusers; i++)
			if (json_is_integer(uid) &&
			    sim->users[i].id == json_integer_value(uid))
				user = &sim->users[i];
		if (!user) {
			reply_bad(r, 404, "no user with user_id %s",
				  json_is_integer(uid) ? "given" : "(not an "
				  "integer)");
			return;
		}
	}
	if (number_field(r, "credit", &credit) != 0 ||
	    number_field(r, "add", &add) != 0)
		return;
	if (!isnan(credit))
		user->credit0 += credit - hoist_sim_user_credit(sim, user, now);
	user->credit0 += add;
	hoist_sim_reply_json(r, 200, json_pack(
		"{s:b, s:I, s:f}", "ok", 1, "user_id", (json_int_t)user->id,
		"credit", hoist_sim_user_credit(sim, user, now)));
}

/* Makes the next API requests fail: "burst_429" with 429s, "fault" with
 * the given "kind" (see --faults). */
static void force_faults(struct hoist_sim_request *r, const char *event)
{
	const char *kind = json_string_value(json_object_get(r->body, "kind"));
	unsigned fault = HOIST_SIM_FAULT_429;
	double count = strcmp(event, "burst_429") == 0 ? 5 : 1;

	if (strcmp(event, "fault") == 0) {
		fault = kind ? hoist_sim_fault_parse(kind) : 0;
		if (!fault) {
			reply_bad(r, 400, "event fault needs a \"kind\": 429, "
				  "500, 502, 503, 504, timeout, slow or "
				  "malformed");
			return;
		}
	}
	if (number_field(r, "count", &count) != 0)
		return;
	if (count < 0 || count > 1e6) {
		reply_bad(r, 400, "count must be from 0 to 1000000");
		return;
	}
	r->sim->forced_fault = fault;
	r->sim->forced_count = (long)count;
	hoist_sim_reply_json(r, 200, json_pack("{s:b, s:s, s:I}", "ok", 1,
					       "kind",
					       hoist_sim_fault_name(fault),
					       "count", (json_int_t)count));
}

static void post_event(struct hoist_sim_request *r)
{
	const char *event = json_string_value(json_object_get(r->body,
							      "event"));
	struct hoist_sim_offer *offer;
	double value = 0;

	if (!event) {
		reply_bad(r, 400, "expected a JSON body with a string "
			  "\"event\"");
		return;
	}
	hoist_log_info("admin event %s", event);
	if (instance_event(r, event))
		return;
	if (strcmp(event, "gone_offer") == 0) {
		/* Another renter takes the offer between search and
		 * create. */
		offer = event_offer(r, event);
		if (!offer)
			return;
		offer->listed = 0;
		hoist_sim_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
	} else if (strcmp(event, "min_bid") == 0) {
		offer = event_offer(r, event);
		if (!offer || number_field(r, "min_bid", &value) != 0)
			return;
		if (value <= 0) {
			reply_bad(r, 400, "min_bid must be above 0");
			return;
		}
		json_object_set_new(offer->fields, "min_bid",
				    json_real(value));
		hoist_sim_reply_json(r, 200, json_pack("{s:b}", "ok", 1));
	} else if (strcmp(event, "burst_429") == 0 ||
		   strcmp(event, "fault") == 0) {
		force_faults(r, event);
	} else if (strcmp(event, "credit") == 0) {
		set_credit(r);
	} else {
		reply_bad(r, 400, "unknown event '%.40s'; expected outbid, "
			  "offline, online, exited, oci_error, gone_offer, "
			  "min_bid, burst_429, fault or credit", event);
	}
}

/* ------------------------------------------------------------------ */
/* Faults                                                              */
/* ------------------------------------------------------------------ */

static int parse_kinds(struct hoist_sim_request *r, const json_t *list,
		       unsigned *mask)
{
	size_t i;
	json_t *item;

	*mask = 0;
	if (!json_is_array(list)) {
		reply_bad(r, 400, "'kinds' must be a list of fault names");
		return -1;
	}
	json_array_foreach(list, i, item) {
		unsigned bit = json_is_string(item) ?
			       hoist_sim_fault_parse(json_string_value(item)) :
			       0;

		if (!bit) {
			reply_bad(r, 400, "unknown fault kind in item %zu; "
				  "expected 429, 500, 502, 503, 504, timeout, "
				  "slow or malformed", i + 1);
			return -1;
		}
		*mask |= bit;
	}
	return 0;
}

static void post_faults(struct hoist_sim_request *r)
{
	struct hoist_sim_options *opt = &r->sim->opt;
	struct hoist_sim_options next = *opt;
	const json_t *kinds = json_object_get(r->body, "kinds");
	const json_t *rates = json_object_get(r->body, "event_rates");
	const json_t *v0 = json_object_get(r->body, "v0_list");

	if (!json_is_object(r->body)) {
		reply_bad(r, 400, "expected a JSON object");
		return;
	}
	if (number_field(r, "fault_rate", &next.fault_rate) != 0 ||
	    number_field(r, "slow_seconds", &next.slow_seconds) != 0 ||
	    number_field(r, "hold_seconds", &next.hold_seconds) != 0)
		return;
	if (next.fault_rate < 0 || next.fault_rate > 1 ||
	    next.slow_seconds < 0 || next.slow_seconds > 3600 ||
	    next.hold_seconds < 0 || next.hold_seconds > 3600) {
		reply_bad(r, 400, "fault_rate must be from 0 to 1, and "
			  "slow_seconds and hold_seconds from 0 to 3600");
		return;
	}
	if (kinds && parse_kinds(r, kinds, &next.fault_kinds) != 0)
		return;
	for (int k = 0; rates && k < HOIST_SIM_EVENT_KINDS; k++) {
		const char *name = hoist_sim_event_name(k);
		json_t *rate = json_object_get(rates, name);
		double max = k >= HOIST_SIM_EVENT_GONE_OFFER ? 1 : 1e6;

		if (!rate)
			continue;
		if (!json_is_number(rate) || json_number_value(rate) < 0 ||
		    json_number_value(rate) > max) {
			reply_bad(r, 400, "event_rates.%s must be a number "
				  "from 0 to %g", name, max);
			return;
		}
		next.event_rates[k] = json_number_value(rate);
	}
	if (v0) {
		const char *mode = json_string_value(v0);

		if (!mode || (strcmp(mode, "gone") != 0 &&
			      strcmp(mode, "normal") != 0)) {
			reply_bad(r, 400, "v0_list must be \"normal\" or "
				  "\"gone\"");
			return;
		}
		next.v0_list_gone = strcmp(mode, "gone") == 0;
	}
	*opt = next;
	hoist_log_info("admin faults: rate %.3f, v0 list %s", opt->fault_rate,
		       opt->v0_list_gone ? "gone" : "normal");
	hoist_sim_reply_json(r, 200, json_pack("{s:b, s:o}", "ok", 1,
					       "faults",
					       faults_json(r->sim)));
}

void hoist_sim_admin_handle(struct hoist_sim_request *r)
{
	struct hoist_sim *sim = r->sim;
	const char *admin_key = sim->opt.admin_key ? sim->opt.admin_key :
				sim->opt.api_keys[0];
	const char *key = hoist_sim_request_key(r);
	const char *what = r->nsegments == 2 ? r->segments[1] : "";

	if (!key || !hoist_util_secret_equal(key, admin_key)) {
		reply_bad(r, 401, "invalid admin key; send the --admin-key "
			  "(or the first --api-key) as a Bearer token");
		return;
	}
	if (r->body_invalid) {
		reply_bad(r, 400, "the request body is not valid JSON");
		return;
	}
	if (strcmp(what, "state") == 0 && r->method == EVHTTP_REQ_GET)
		show_state(r);
	else if (strcmp(what, "events") == 0 && r->method == EVHTTP_REQ_POST)
		post_event(r);
	else if (strcmp(what, "faults") == 0 && r->method == EVHTTP_REQ_POST)
		post_faults(r);
	else if (strcmp(what, "faults") == 0 && r->method == EVHTTP_REQ_GET)
		hoist_sim_reply_json(r, 200, faults_json(sim));
	else
		reply_bad(r, 404, "no admin endpoint %s %s; expected GET "
			  "/admin/state, POST /admin/events or POST "
			  "/admin/faults",
			  r->method == EVHTTP_REQ_GET ? "GET" : "POST",
			  r->path);
}
