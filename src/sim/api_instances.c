/*
 * api_instances.c - the instance endpoints of the simulated Vast.ai API:
 * create (rent an offer), show, list (v0 and the paginated v1),
 * start/stop/label, destroy and change bid.  Error bodies and codes are
 * those of the real service.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "common/log.h"
#include "sim/sim_int.h"

#define DEFAULT_IMAGE "vastai/base-image:@vastai-automatic-tag"
#define IMAGE_MAX 1024
#define CREATE_LABEL_MAX 256
#define LABEL_MAX 1024
#define LAUNCH_TEXT_MAX 4096	/* onstart + args + args_str */
#define ENV_VALUE_MAX 256
#define ENV_TOTAL_MAX 32768
#define DISK_MIN_GB 8.0
#define BID_MIN 0.001
#define BID_MAX 128.0
#define CHANGE_BID_MAX_PER_GPU 32.0
#define PAGE_MAX 25		/* instances per v1 page */
#define PAGE_NONPOSITIVE 5	/* the page size for a limit <= 0 */

static const char *const runtype_tokens[] = {
	"ssh", "ssh_proxy", "ssh_direc", "ssh_direct", "jupyter",
	"jupyter_proxy", "jupyter_direc", "jupyter_direct", "args", NULL,
};

/* The stored columns that v1 list filters accept; computed fields such
 * as dph_total and num_gpus are rejected as the real API does. */
static const char *const filter_columns[] = {
	"id", "label", "actual_status", "intended_status", "cur_state",
	"next_state", "status_msg", "gpu_name", "machine_id", "host_id",
	"is_bid", "image_uuid", "image_runtype", "verification",
	"geolocation", "start_date", "disk_space", NULL,
};

static void reply_invalid_args(struct hoist_sim_request *r, int64_t ask_id,
			       const char *fmt, ...) HOIST_PRINTF(3, 4);

/* Replies 400 invalid_args with the "error 400/3467" message form of
 * create-instance errors. */
static void reply_invalid_args(struct hoist_sim_request *r, int64_t ask_id,
			       const char *fmt, ...)
{
	char text[768];
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof(msg), "error 400/3467: Invalid args: %s", text);
	hoist_sim_reply_json(r, 400, json_pack("{s:b, s:s, s:s, s:I}",
					       "success", 0, "error",
					       "invalid_args", "msg", msg,
					       "ask_id", (json_int_t)ask_id));
}

/* Replies 404 no_such_instance with the message of show, manage and
 * destroy, or with the one of change bid. */
static void reply_no_such_instance(struct hoist_sim_request *r, int64_t id,
				   int bid_message)
{
	if (bid_message)
		hoist_sim_reply_error(r, 404, "no_such_instance",
				      "Instance with that ID does not "
				      "exist.");
	else
		hoist_sim_reply_error(r, 404, "no_such_instance",
				      "Instance %lld not found.",
				      (long long)id);
}

/* Returns the caller's instance with id, live, or NULL. */
static struct hoist_sim_instance *own_instance(struct hoist_sim_request *r,
					       int64_t id)
{
	struct hoist_sim_instance *inst = hoist_sim_instance_find(r->sim, id);

	if (!inst || inst->user != r->user || !hoist_sim_instance_live(inst))
		return NULL;
	return inst;
}

static size_t live_instances(const struct hoist_sim *sim)
{
	size_t n = 0;

	for (size_t i = 0; i < sim->nrecords; i++)
		n += hoist_sim_instance_live(sim->records[i]) ? 1 : 0;
	return n;
}

/* ------------------------------------------------------------------ */
/* Create: the request                                                 */
/* ------------------------------------------------------------------ */

static int valid_env_name(const char *name)
{
	if (!*name || isdigit((unsigned char)*name))
		return 0;
	for (const char *c = name; *c; c++)
		if (!(*c == '_' || isalnum((unsigned char)*c)))
			return 0;
	return 1;
}

/* Splits text at spaces outside single or double quotes, dropping the
 * quotes, the way the official CLI splits docker options. */
static json_t *split_words(const char *text)
{
	json_t *words = json_array();
	char word[1024];
	size_t len = 0;
	int in_word = 0;
	char quote = 0;

	if (!words)
		return NULL;
	for (const char *c = text;; c++) {
		if (*c == '\0' || (!quote && *c == ' ')) {
			if (in_word) {
				word[len] = '\0';
				json_array_append_new(words,
						      json_string(word));
			}
			len = 0;
			in_word = 0;
			if (*c == '\0')
				break;
			continue;
		}
		in_word = 1;
		if (quote && *c == quote)
			quote = 0;
		else if (!quote && (*c == '"' || *c == '\''))
			quote = *c;
		else if (len + 1 < sizeof(word))
			word[len++] = *c;
	}
	return words;
}

/* Checks "-p HOST:CONTAINER[/tcp|/udp]": digits, ':', and the protocol. */
static int valid_port_option(const char *value)
{
	if (!strchr(value, ':'))
		return 0;
	for (const char *c = value; *c; c++)
		if (!isdigit((unsigned char)*c) && !strchr(":tcpud/", *c))
			return 0;
	return 1;
}

/* Parses env given as docker options: "-e K=V -p 8080:8080 -h NAME". */
static int parse_env_string(const char *text, json_t *vars, json_t *opts)
{
	json_t *words = split_words(text);
	size_t n = json_array_size(words);

	if (!words)
		return -1;
	for (size_t i = 0; i + 1 < n; i++) {
		const char *flag = json_string_value(json_array_get(words, i));
		const char *value = json_string_value(json_array_get(words,
								     i + 1));
		char option[300];
		const char *eq;

		if (strcmp(flag, "-e") == 0) {
			eq = strchr(value, '=');
			if (eq) {
				char name[256];

				snprintf(name, sizeof(name), "%.*s",
					 (int)(eq - value), value);
				json_object_set_new(vars, name,
						    json_string(eq + 1));
			}
		} else if (strcmp(flag, "-p") == 0 &&
			   valid_port_option(value)) {
			snprintf(option, sizeof(option), "-p %s", value);
			json_object_set_new(opts, option, json_string("1"));
		} else if (strcmp(flag, "-h") == 0) {
			json_object_set_new(opts, "-h", json_string(value));
		} else if (strcmp(flag, "-v") == 0 || strcmp(flag, "-n") == 0) {
			snprintf(option, sizeof(option), "%s %s", flag, value);
			json_object_set_new(opts, option, json_string("1"));
		} else {
			continue;
		}
		i++;
	}
	json_decref(words);
	return 0;
}

/* Splits the request's env into variables and docker options and checks
 * them.  Replies and returns -1 when invalid. */
static int parse_env(struct hoist_sim_request *r, int64_t ask_id,
		     const json_t *env, json_t *vars, json_t *opts)
{
	size_t total = 0;
	const char *name;
	json_t *value;

	if (!env || json_is_null(env))
		return 0;
	if (json_is_string(env)) {
		if (parse_env_string(json_string_value(env), vars, opts) != 0) {
			hoist_sim_reply_error(r, 500, "server_error",
					      "out of memory");
			return -1;
		}
	} else if (json_is_object(env)) {
		json_object_foreach((json_t *)env, name, value) {
			if (!json_is_string(value)) {
				reply_invalid_args(r, ask_id, "env value of "
						   "'%.100s' must be a string",
						   name);
				return -1;
			}
			json_object_set(name[0] == '-' ? opts : vars, name,
					value);
		}
	} else {
		reply_invalid_args(r, ask_id, "env must be an object of "
				   "strings or a string of docker options");
		return -1;
	}
	json_object_foreach(vars, name, value) {
		size_t len = strlen(json_string_value(value));

		if (!valid_env_name(name)) {
			reply_invalid_args(r, ask_id, "invalid env name "
					   "'%.100s'; use letters, digits and "
					   "'_'", name);
			return -1;
		}
		if (len > ENV_VALUE_MAX) {
			reply_invalid_args(r, ask_id, "env value of '%.100s' "
					   "is %zu characters; the limit is "
					   "%d", name, len, ENV_VALUE_MAX);
			return -1;
		}
		total += strlen(name) + len + 2;
	}
	if (total > ENV_TOTAL_MAX) {
		reply_invalid_args(r, ask_id, "env is %zu characters; the "
				   "limit is %d", total, ENV_TOTAL_MAX);
		return -1;
	}
	return 0;
}

static int valid_runtype(const char *runtype)
{
	char copy[256];
	char *save = NULL;
	int tokens = 0;

	if (strlen(runtype) >= sizeof(copy))
		return 0;
	snprintf(copy, sizeof(copy), "%s", runtype);
	for (char *t = strtok_r(copy, " ", &save); t;
	     t = strtok_r(NULL, " ", &save), tokens++) {
		const char *const *known = runtype_tokens;

		while (*known && strcmp(*known, t) != 0)
			known++;
		if (!*known)
			return 0;
	}
	return tokens > 0;
}

static const char *optional_string(const json_t *body, const char *key,
				   int *bad)
{
	const json_t *value = json_object_get(body, key);

	if (!value || json_is_null(value))
		return NULL;
	if (!json_is_string(value))
		*bad = 1;
	return json_string_value(value);
}

/* Checks the scalar fields of a create request and fills req.  Replies
 * and returns -1 when one is invalid. */
static int parse_create(struct hoist_sim_request *r, int64_t ask_id,
			const struct hoist_sim_offer *offer,
			struct hoist_sim_create *req)
{
	const json_t *body = r->body;
	const json_t *disk = json_object_get(body, "disk");
	const json_t *price = json_object_get(body, "price");
	const json_t *args = json_object_get(body, "args");
	const char *args_str;
	double offer_disk = hoist_sim_market_number(offer, "disk_space");
	size_t launch = 0;
	int bad = 0;

	req->image = optional_string(body, "image", &bad);
	req->label = optional_string(body, "label", &bad);
	req->onstart = optional_string(body, "onstart", &bad);
	req->runtype = optional_string(body, "runtype", &bad);
	args_str = optional_string(body, "args_str", &bad);
	if (bad) {
		reply_invalid_args(r, ask_id, "image, label, onstart, runtype "
				   "and args_str must be strings or null");
		return -1;
	}
	if (json_object_get(body, "template_hash_id") &&
	    !json_is_null(json_object_get(body, "template_hash_id"))) {
		reply_invalid_args(r, ask_id, "the simulator has no "
				   "templates; send image and runtype");
		return -1;
	}
	if (!req->image)
		req->image = DEFAULT_IMAGE;
	if (!*req->image || strlen(req->image) > IMAGE_MAX) {
		reply_invalid_args(r, ask_id, "image must have 1 to %d "
				   "characters", IMAGE_MAX);
		return -1;
	}
	if (req->label && strlen(req->label) > CREATE_LABEL_MAX) {
		hoist_sim_reply_error(r, 400, "label_too_long",
				      "Please limit label length to %d "
				      "characters, ideally less than 128.",
				      CREATE_LABEL_MAX);
		return -1;
	}
	if (!req->runtype)
		req->runtype = "ssh";
	if (!valid_runtype(req->runtype)) {
		reply_invalid_args(r, ask_id, "invalid runtype '%.60s'; "
				   "expected ssh, ssh_proxy, ssh_direct, "
				   "jupyter, jupyter_proxy, jupyter_direct or "
				   "args", req->runtype);
		return -1;
	}
	if (args && !json_is_null(args)) {
		size_t i;
		json_t *arg;

		if (!json_is_array(args)) {
			reply_invalid_args(r, ask_id, "args must be a list "
					   "of strings");
			return -1;
		}
		json_array_foreach(args, i, arg) {
			if (!json_is_string(arg)) {
				reply_invalid_args(r, ask_id, "args must be a "
						   "list of strings");
				return -1;
			}
			launch += strlen(json_string_value(arg)) + 1;
		}
		req->args = args;
	}
	launch += req->onstart ? strlen(req->onstart) : 0;
	launch += args_str ? strlen(args_str) : 0;
	if (launch > LAUNCH_TEXT_MAX) {
		reply_invalid_args(r, ask_id, "onstart, args and args_str "
				   "have %zu characters together; the limit "
				   "is %d", launch, LAUNCH_TEXT_MAX);
		return -1;
	}

	req->disk_gb = DISK_MIN_GB;
	if (disk && !json_is_null(disk) &&
	    hoist_sim_query_number(disk, &req->disk_gb) != 0) {
		reply_invalid_args(r, ask_id, "disk must be a number of GB");
		return -1;
	}
	if (req->disk_gb < DISK_MIN_GB || req->disk_gb > offer_disk) {
		reply_invalid_args(r, ask_id, "disk %.1f GB is out of range; "
				   "offer %lld allows %.1f to %.1f GB",
				   req->disk_gb, (long long)ask_id,
				   DISK_MIN_GB, offer_disk);
		return -1;
	}

	req->is_bid = price && !json_is_null(price);
	if (req->is_bid && (hoist_sim_query_number(price, &req->bid) != 0 ||
			    req->bid < BID_MIN || req->bid > BID_MAX)) {
		hoist_sim_reply_json(r, 400, json_pack(
			"{s:b, s:s, s:s, s:I}", "success", 0, "error",
			"invalid_price", "msg",
			"error 400/3467: Invalid args: price must be a bid "
			"from 0.001 to 128.0 $/hour",
			"ask_id", (json_int_t)ask_id));
		return -1;
	}
	return 0;
}

/* Replies that the offer cannot be rented: 410 with cancel_unavail when
 * it existed, else 404. */
static void reply_no_such_ask(struct hoist_sim_request *r, int64_t ask_id,
			      int existed)
{
	char msg[160];
	int cancel = json_is_true(json_object_get(r->body, "cancel_unavail"));

	if (existed && cancel) {
		snprintf(msg, sizeof(msg), "error 410/3907: no_such_ask "
			 "Instance type %lld is no longer available.",
			 (long long)ask_id);
		hoist_sim_reply_json(r, 410, json_pack(
			"{s:b, s:s, s:s, s:I}", "success", 0, "error",
			"no_such_ask", "msg", msg, "ask_id",
			(json_int_t)ask_id));
		return;
	}
	snprintf(msg, sizeof(msg), "error 404/3603: no_such_ask Instance type "
		 "by id %lld is not available.", (long long)ask_id);
	hoist_sim_reply_json(r, 404, json_pack(
		"{s:b, s:s, s:s, s:I}", "success", 0, "error", "invalid_args",
		"msg", msg, "ask_id", (json_int_t)ask_id));
}

/* ------------------------------------------------------------------ */
/* Create                                                              */
/* ------------------------------------------------------------------ */

/* Returns 1 when a create event with a per-request rate happens.  No
 * draw is made at rate 0, so enabling one does not change the others. */
static int draw_event(struct hoist_sim *sim, int kind)
{
	double rate = sim->opt.event_rates[kind];

	return rate > 0 && hoist_sim_rng_unit(&sim->event_rng) < rate;
}

void hoist_sim_api_create(struct hoist_sim_request *r, const char *id)
{
	struct hoist_sim *sim = r->sim;
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_sim_create req = { 0 };
	struct hoist_sim_instance *inst;
	struct hoist_sim_offer *offer;
	json_t *vars = json_object();
	json_t *opts = json_object();
	int64_t ask_id = 0;

	if (hoist_sim_parse_id(id, &ask_id) != 0) {
		reply_invalid_args(r, 0, "'id' is required and must be a "
				   "valid offer ID");
		goto out;
	}
	if (r->body_invalid || (r->body && !json_is_object(r->body))) {
		hoist_sim_reply_error(r, 400, "invalid_args",
				      "error 400/1782: Invalid args: invalid "
				      "json body");
		goto out;
	}
	offer = hoist_sim_market_find(&sim->market, ask_id);
	if (offer && offer->listed &&
	    draw_event(sim, HOIST_SIM_EVENT_GONE_OFFER)) {
		hoist_log_info("offer %lld taken by another renter (random "
			       "gone_offer event)", (long long)ask_id);
		offer->listed = 0;
	}
	if (!offer || !offer->listed) {
		reply_no_such_ask(r, ask_id, offer != NULL);
		goto out;
	}
	if (!vars || !opts) {
		hoist_sim_reply_error(r, 500, "server_error", "out of memory");
		goto out;
	}
	if (parse_create(r, ask_id, offer, &req) != 0 ||
	    parse_env(r, ask_id, json_object_get(r->body, "env"), vars,
		      opts) != 0)
		goto out;
	if (hoist_sim_user_credit(sim, r->user, hoist_sim_now(sim)) <= 0) {
		hoist_sim_reply_error(r, 400, "missing_billing",
				      "Your account has no credit left; add "
				      "credit before you rent an instance.");
		goto out;
	}
	if (live_instances(sim) >= sim->opt.max_instances) {
		reply_invalid_args(r, ask_id, "the simulator runs at most %zu "
				   "instances (--max-instances); destroy one "
				   "first", sim->opt.max_instances);
		goto out;
	}
	if (req.is_bid && draw_event(sim, HOIST_SIM_EVENT_LOW_BID)) {
		double raised = ceil(req.bid * 1.25 * 1e4) / 1e4;

		hoist_log_info("offer %lld min_bid raised to $%.4f/h (random "
			       "low_bid event)", (long long)ask_id, raised);
		json_object_set_new(offer->fields, "min_bid",
				    json_real(raised));
	}
	req.env = vars;
	req.docker_opts = opts;
	inst = hoist_sim_instance_create(sim, r->user, offer, &req, &err);
	if (!inst) {
		hoist_log_error("cannot create an instance on offer %lld: %s",
				(long long)ask_id, err.msg);
		hoist_sim_reply_error(r, 500, "server_error", "%s", err.msg);
		goto out;
	}
	if (inst->phase == HOIST_SIM_STOPPED) {
		char msg[256];

		/* Vast.ai creates the instance stopped and still reports a
		 * failure: the caller must destroy it. */
		snprintf(msg, sizeof(msg), "error 400/3467: Invalid args: "
			 "bid price $%.4f/hour is below the minimum bid "
			 "$%.4f/hour for offer %lld; the instance was created "
			 "stopped", req.bid, hoist_sim_instance_min_bid(inst),
			 (long long)ask_id);
		hoist_sim_reply_json(r, sim->opt.low_bid_status, json_pack(
			"{s:b, s:s, s:s, s:I, s:I, s:s}", "success", 0,
			"error", "invalid_price", "msg", msg, "ask_id",
			(json_int_t)ask_id, "new_contract",
			(json_int_t)inst->id, "instance_api_key",
			inst->api_key));
		goto out;
	}
	if (json_is_string(json_object_get(r->body, "target_state")) &&
	    strcmp(json_string_value(json_object_get(r->body,
						     "target_state")),
		   "stopped") == 0)
		hoist_sim_instance_stop(sim, inst, "created stopped");
	hoist_sim_reply_json(r, 200, json_pack(
		"{s:b, s:I, s:s}", "success", 1, "new_contract",
		(json_int_t)inst->id, "instance_api_key", inst->api_key));
out:
	json_decref(vars);
	json_decref(opts);
}

/* ------------------------------------------------------------------ */
/* Show and list                                                       */
/* ------------------------------------------------------------------ */

void hoist_sim_api_show(struct hoist_sim_request *r, const char *id)
{
	struct hoist_sim_instance *inst;
	int64_t iid;

	if (hoist_sim_parse_id(id, &iid) != 0) {
		hoist_sim_reply_error(r, 400, "invalid_args",
				      "error 400/1782: Invalid args: invalid "
				      "instance id '%.40s'", id ? id : "");
		return;
	}
	inst = own_instance(r, iid);
	if (!inst) {
		if (r->sim->opt.show_missing_404)
			reply_no_such_instance(r, iid, 0);
		else
			/* The real service returns 200 with null for a
			 * destroyed or unknown instance. */
			hoist_sim_reply_json(r, 200, json_pack(
				"{s:n}", "instances"));
		return;
	}
	hoist_sim_reply_json(r, 200, json_pack(
		"{s:o}", "instances", hoist_sim_instance_json(r->sim, inst)));
}

void hoist_sim_api_list_v0(struct hoist_sim_request *r, const char *id)
{
	struct hoist_sim *sim = r->sim;
	json_t *list;

	(void)id;
	if (sim->opt.v0_list_gone) {
		hoist_sim_reply_text(r, 410, "text/plain",
				     "Use /api/v1/instances/ instead");
		return;
	}
	list = json_array();
	for (size_t i = 0; list && i < sim->nrecords; i++) {
		struct hoist_sim_instance *inst = sim->records[i];

		if (inst->user == r->user && hoist_sim_instance_live(inst))
			json_array_append_new(list,
					      hoist_sim_instance_json(sim,
								      inst));
	}
	hoist_sim_reply_json(r, 200, json_pack(
		"{s:I, s:o}", "instances_found",
		(json_int_t)json_array_size(list), "instances",
		list ? list : json_array()));
}

/* Reads a JSON query parameter; replies 400 and returns -1 when it does
 * not parse.  *out is NULL when the parameter is absent. */
static int json_param(struct hoist_sim_request *r, const char *name,
		      json_t **out)
{
	const char *text = hoist_sim_query_param(r, name);

	*out = NULL;
	if (!text)
		return 0;
	*out = json_loads(text, JSON_DECODE_ANY, NULL);
	if (!*out) {
		hoist_sim_reply_json(r, 400, json_pack(
			"{s:b, s:s, s:s+}", "success", 0, "error",
			"invalid_request", "msg",
			"Error in query parameters: invalid JSON in ", name));
		return -1;
	}
	return 0;
}

static int parse_order_by(struct hoist_sim_request *r, const json_t *order_by,
			  struct hoist_sim_query *q)
{
	size_t i;
	json_t *item;

	q->norder = 0;
	if (!order_by)
		return 0;
	if (!json_is_array(order_by))
		goto invalid;
	json_array_foreach(order_by, i, item) {
		const char *col = json_string_value(json_object_get(item,
								    "col"));
		const char *dir = json_string_value(json_object_get(item,
								    "dir"));

		if (!col || strlen(col) >= HOIST_SIM_QUERY_FIELD_MAX ||
		    q->norder == HOIST_SIM_QUERY_ORDER_MAX ||
		    (dir && strcmp(dir, "asc") != 0 &&
		     strcmp(dir, "desc") != 0))
			goto invalid;
		snprintf(q->order[q->norder].field, HOIST_SIM_QUERY_FIELD_MAX,
			 "%s", col);
		q->order[q->norder++].desc = dir && strcmp(dir, "desc") == 0;
	}
	return 0;
invalid:
	hoist_sim_reply_json(r, 400, json_pack(
		"{s:b, s:s, s:s}", "success", 0, "error", "invalid_request",
		"msg", "Error in query parameters: order_by must be a list "
		"such as [{\"col\": \"id\", \"dir\": \"asc\"}]"));
	return -1;
}

static int compare_instances(const void *a, const void *b, void *arg)
{
	return hoist_sim_query_compare(arg, *(json_t *const *)a,
				       *(json_t *const *)b);
}

/* Returns the keyset token of row: its values of the order columns. */
static json_t *page_token(const struct hoist_sim_query *q, const json_t *row)
{
	json_t *values = json_object();
	char *text;
	json_t *token;

	for (size_t i = 0; values && i < q->norder; i++) {
		json_t *v = json_object_get(row, q->order[i].field);

		json_object_set(values, q->order[i].field,
				v ? v : json_null());
	}
	json_object_set(values, "id", json_object_get(row, "id"));
	token = json_pack("{s:o}", "values", values);
	text = token ? hoist_sim_token_encode(token) : NULL;
	json_decref(token);
	if (!text)
		return json_null();
	token = json_string(text);
	free(text);
	return token;
}

static json_t *select_columns(json_t *row, const json_t *cols)
{
	json_t *out;
	size_t i;
	json_t *col;

	if (!json_is_array(cols) ||
	    (json_array_size(cols) == 1 &&
	     strcmp(json_string_value(json_array_get(cols, 0)) ?
		    json_string_value(json_array_get(cols, 0)) : "",
		    "*") == 0))
		return json_incref(row);
	out = json_object();
	json_array_foreach(cols, i, col) {
		const char *name = json_string_value(col);
		json_t *v;

		if (!name || !out)
			continue;
		v = json_object_get(row, name);
		json_object_set(out, name, v ? v : json_null());
	}
	return out;
}

static long page_limit(const char *text)
{
	long limit;

	if (!text)
		return PAGE_MAX;
	limit = atol(text);
	if (limit <= 0)
		return PAGE_NONPOSITIVE;
	return limit > PAGE_MAX ? PAGE_MAX : limit;
}

/* Fills rows with the caller's live instances that pass q, sorted. */
static size_t matching_instances(struct hoist_sim_request *r,
				 const struct hoist_sim_query *q,
				 json_t **rows)
{
	size_t n = 0;

	for (size_t i = 0; i < r->sim->nrecords; i++) {
		struct hoist_sim_instance *inst = r->sim->records[i];
		json_t *row;

		if (inst->user != r->user || !hoist_sim_instance_live(inst))
			continue;
		row = hoist_sim_instance_json(r->sim, inst);
		if (row && hoist_sim_query_match(q, row))
			rows[n++] = row;
		else
			json_decref(row);
	}
	qsort_r(rows, n, sizeof(*rows), compare_instances, (void *)q);
	return n;
}

void hoist_sim_api_list_v1(struct hoist_sim_request *r, const char *id)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *rows[HOIST_SIM_RECORDS_MAX];
	json_t *known = json_object();
	json_t *filters = NULL;
	json_t *order_by = NULL;
	json_t *cols = NULL;
	json_t *after = NULL;
	json_t *list = NULL;
	json_t *labels = NULL;
	json_t *next = NULL;
	struct hoist_sim_query q;
	long limit = page_limit(hoist_sim_query_param(r, "limit"));
	const char *token = hoist_sim_query_param(r, "after_token");
	size_t first = 0;
	size_t n = 0;

	(void)id;
	memset(&q, 0, sizeof(q));
	for (size_t i = 0; known && filter_columns[i]; i++)
		json_object_set_new(known, filter_columns[i], json_true());
	if (json_param(r, "select_filters", &filters) != 0 ||
	    json_param(r, "order_by", &order_by) != 0 ||
	    json_param(r, "select_cols", &cols) != 0)
		goto out;
	if (filters && hoist_sim_query_parse(filters, 0, known,
					     HOIST_SIM_UNKNOWN_REJECT, NULL,
					     &q, &err) != 0) {
		hoist_sim_reply_json(r, 400, json_pack(
			"{s:b, s:s, s:s+}", "success", 0, "error",
			"invalid_request", "msg",
			"Error in query parameters: ", err.msg));
		goto out;
	}
	if (parse_order_by(r, order_by, &q) != 0)
		goto out;
	if (token) {
		after = hoist_sim_token_decode(token);
		if (!json_is_object(json_object_get(after, "values"))) {
			hoist_sim_reply_error(r, 400, "invalid_token",
					      "Invalid pagination token");
			goto out;
		}
	}
	n = matching_instances(r, &q, rows);
	if (after) {
		const json_t *values = json_object_get(after, "values");

		while (first < n &&
		       hoist_sim_query_compare(&q, rows[first], values) <= 0)
			first++;
	}
	list = json_array();
	labels = json_object();
	for (size_t i = 0; i < n && list && labels; i++) {
		const char *label = json_string_value(json_object_get(
			rows[i], "label"));
		json_t *count = json_object_get(labels, label ? label : "");

		json_object_set_new(labels, label ? label : "", json_integer(
			json_integer_value(count) + 1));
		if (i >= first && i < first + (size_t)limit)
			json_array_append_new(list,
					      select_columns(rows[i], cols));
	}
	if (first + (size_t)limit < n)
		next = page_token(&q, rows[first + (size_t)limit - 1]);
	hoist_sim_reply_json(r, 200, json_pack(
		"{s:b, s:I, s:I, s:O, s:o, s:O}", "success", 1,
		"instances_found", (json_int_t)json_array_size(list),
		"total_instances", (json_int_t)n, "label_counts",
		labels, "next_token", next ? next : json_null(), "instances",
		list));
out:
	for (size_t i = 0; i < n; i++)
		json_decref(rows[i]);
	hoist_sim_query_release(&q);
	json_decref(known);
	json_decref(filters);
	json_decref(order_by);
	json_decref(cols);
	json_decref(after);
	json_decref(list);
	json_decref(labels);
}

/* ------------------------------------------------------------------ */
/* Start, stop, label, destroy, change bid                             */
/* ------------------------------------------------------------------ */

/* Parses the id of an instance endpoint and finds the caller's instance;
 * replies and returns NULL when there is none. */
static struct hoist_sim_instance *target(struct hoist_sim_request *r,
					 const char *id, int bid_message)
{
	struct hoist_sim_instance *inst;
	int64_t iid;

	if (hoist_sim_parse_id(id, &iid) != 0) {
		hoist_sim_reply_error(r, 400, "invalid_args",
				      "invalid instance_id '%.40s'",
				      id ? id : "");
		return NULL;
	}
	inst = own_instance(r, iid);
	if (!inst)
		reply_no_such_instance(r, iid, bid_message);
	return inst;
}

void hoist_sim_api_manage(struct hoist_sim_request *r, const char *id)
{
	struct hoist_sim_instance *inst = target(r, id, 0);
	const json_t *state = json_object_get(r->body, "state");
	const json_t *label = json_object_get(r->body, "label");
	const char *state_name = json_string_value(state);
	char msg[LABEL_MAX + 64];

	if (!inst)
		return;
	if ((!state && !label) || (state && !state_name) ||
	    (label && !json_is_string(label) && !json_is_null(label)) ||
	    (state_name && strcmp(state_name, "running") != 0 &&
	     strcmp(state_name, "stopped") != 0)) {
		hoist_sim_reply_error(r, 400, "invalid_args",
				      "expected {\"state\": \"running\"}, "
				      "{\"state\": \"stopped\"} or "
				      "{\"label\": \"text\"}");
		return;
	}
	if (label && json_is_string(label) &&
	    strlen(json_string_value(label)) > LABEL_MAX) {
		hoist_sim_reply_error(r, 400, "label_too_long",
				      "Please limit label length to %d "
				      "characters, ideally less than 128.",
				      LABEL_MAX);
		return;
	}
	if (state_name && strcmp(state_name, "running") == 0 &&
	    hoist_sim_user_credit(r->sim, r->user,
				  hoist_sim_now(r->sim)) <= 0) {
		hoist_sim_reply_error(r, 400, "missing_billing",
				      "Your account has no credit left; add "
				      "credit before you start an instance.");
		return;
	}
	if (label) {
		char *copy = json_is_string(label) ?
			     strdup(json_string_value(label)) : NULL;

		if (json_is_string(label) && !copy) {
			hoist_sim_reply_error(r, 500, "server_error",
					      "out of memory");
			return;
		}
		free(inst->label);
		inst->label = copy;
	}
	if (state_name && strcmp(state_name, "running") == 0)
		hoist_sim_instance_start(r->sim, inst);
	else if (state_name)
		hoist_sim_instance_stop(r->sim, inst, "stopped by the user");
	if (label && !state) {
		snprintf(msg, sizeof(msg), "label for %lld set to '%s'",
			 (long long)inst->id, inst->label ? inst->label : "");
		hoist_sim_reply_json(r, 200, json_pack("{s:b, s:s}", "success",
						       1, "msg", msg));
		return;
	}
	hoist_sim_reply_json(r, 200, json_pack("{s:b}", "success", 1));
}

void hoist_sim_api_destroy(struct hoist_sim_request *r, const char *id)
{
	struct hoist_sim_instance *inst;
	int64_t iid;

	if (hoist_sim_parse_id(id, &iid) != 0) {
		hoist_sim_reply_error(r, 400, "invalid_args",
				      "invalid instance_id '%.40s'",
				      id ? id : "");
		return;
	}
	inst = own_instance(r, iid);
	if (!inst) {
		if (r->sim->opt.destroy_not_found)
			hoist_sim_reply_error(r, 404, "not_found",
					      "Instance not found");
		else
			reply_no_such_instance(r, iid, 0);
		return;
	}
	hoist_sim_instance_destroy(r->sim, inst);
	hoist_sim_reply_json(r, 200, json_pack("{s:b}", "success", 1));
}

void hoist_sim_api_bid(struct hoist_sim_request *r, const char *id)
{
	struct hoist_sim_instance *inst = target(r, id, 1);
	const json_t *price = json_object_get(r->body, "price");
	double max_bid;
	double bid;

	if (!inst)
		return;
	if (!inst->is_bid) {
		hoist_sim_reply_error(r, 400, "invalid_args",
				      "instance %lld is on-demand; only "
				      "interruptible instances have a bid",
				      (long long)inst->id);
		return;
	}
	max_bid = CHANGE_BID_MAX_PER_GPU *
		  (double)json_integer_value(json_object_get(inst->machine,
							     "num_gpus"));
	if (!price || json_is_null(price)) {
		/* No price: the winning bid, which is min_bid. */
		bid = hoist_sim_instance_min_bid(inst);
	} else if (hoist_sim_query_number(price, &bid) != 0 || bid < BID_MIN) {
		hoist_sim_reply_error(r, 400, "invalid_args",
				      "Please set a bid price >= 0.001.");
		return;
	}
	if (bid > max_bid) {
		hoist_sim_reply_error(r, 400, "invalid_args",
				      "Please set a bid price <= %.3f.",
				      max_bid);
		return;
	}
	hoist_sim_instance_set_bid(r->sim, inst, bid);
	hoist_sim_reply_json(r, 200, json_pack("{s:b}", "success", 1));
}
