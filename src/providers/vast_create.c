/*
 * vast_create.c - renting a Vast.ai instance, and the offer search behind
 * `hoist offers`.
 *
 * create searches the offers for the job's profile, ranks them and rents
 * the best one with PUT /api/v0/asks/{offer}/.  An offer that fails (taken
 * by another renter, refused, a 5xx) moves create to the next one.  After
 * RENT_BATCH failures the search runs again, up to RENTALS_MAX rentals in
 * all.  A rental that got no response may still have created an instance,
 * so it is never sent again: create looks for the instance by its unique
 * label instead.  A new instance is read back and checked against the
 * request (label, rental type, rate, disk); one that does not match is
 * destroyed and reported as an error.
 */
#include "providers/vast_provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "providers/vast_gpu.h"
#include "providers/vast_instance.h"
#include "providers/vast_json.h"

/* Failed rentals before the offers are searched again. */
#define RENT_BATCH 3

/* Rentals tried by one create at most. */
#define RENTALS_MAX 9

/* Reads of a new instance until its fields are filled in. */
#define READBACK_TRIES 5

/* Lists by label after a rental without a response. */
#define RECONCILE_TRIES 3

/* Request limits of POST /api/v0/asks/{id}/: onstart together with args
 * and args_str, each env value, all of env, the label and the image. */
#define ONSTART_MAX 4096
#define ENV_VALUE_MAX 256
#define ENV_TOTAL_MAX 32768
#define LABEL_MAX 256
#define IMAGE_MAX 1024

/* GPU names of the marketplace that match one profile, at most. */
#define MATCH_NAMES_MAX 32

struct hoist_vast_create {
	struct hoist_vast_profile profile;
	char label[128];
	json_t *body;			/* the rental request, without price */
	int offers_only;		/* `hoist offers`: search, rent nothing */

	json_t *offers;			/* the last search result */
	struct hoist_vast_candidate *candidates;
	size_t count;
	size_t next;
	int removed[HOIST_VAST_FILTER_COUNT];
	int searches;
	int rentals;
	int batch_failures;
	char tried[RENTALS_MAX][24];	/* offers rented so far, by id */

	/* The offer being rented; offer pointers are not kept across
	 * searches. */
	char offer_id[24];
	long long machine_id;
	double price;
	double bid;

	char instance_id[24];
	int readbacks;
	int reconciles;
	char last_failure[HOIST_ERR_MSG_MAX + 128];
	char reason[HOIST_ERR_MSG_MAX + 256];	/* why an instance is destroyed */
};

void hoist_vast_create_free(struct hoist_vast_create *create)
{
	if (!create)
		return;
	json_decref(create->body);
	json_decref(create->offers);
	free(create->candidates);
	free(create);
}

static void rent_next(struct hoist_vast_op *op);
static void search(struct hoist_vast_op *op);
static void readback(struct hoist_vast_op *op);

/* Sets the error of create and finishes it.  hoistd reads
 * HOIST_E_NOT_FOUND as "no offer matches", so no other failure may carry
 * that code. */
static void create_fail(struct hoist_vast_op *op, int keep_not_found)
{
	if (op->err.code == HOIST_OK)
		hoist_err_set(&op->err, HOIST_E_PROVIDER,
			      "renting a Vast.ai instance failed");
	if (op->err.code == HOIST_E_NOT_FOUND && !keep_not_found)
		op->err.code = HOIST_E_PROVIDER;
	hoist_vast_op_finish(op);
}

/* ------------------------------------------------------------------ */
/* Request                                                             */
/* ------------------------------------------------------------------ */

static int env_name_valid(const char *name, size_t len)
{
	if (len == 0 || !(name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z')
			  || (name[0] >= 'a' && name[0] <= 'z')))
		return 0;
	for (size_t i = 1; i < len; i++) {
		char ch = name[i];

		if (!(ch == '_' || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
			return 0;
	}
	return 1;
}

/*
 * Encodes the request's "NAME=value" strings as the object that the API
 * takes ({"NAME": "value"}).  Names must be shell variable names: a key
 * that starts with "-" would be read as a docker option such as "-p".
 * Values carry the attempt token, so no message quotes one.
 */
static json_t *env_object(const char *const *env, struct hoist_err *err)
{
	json_t *object = json_object();
	size_t total = 0;

	if (!object) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; env && env[i]; i++) {
		const char *eq = strchr(env[i], '=');
		size_t name_len = eq ? (size_t)(eq - env[i]) : strlen(env[i]);
		char name[128];

		if (!eq || name_len >= sizeof(name) ||
		    !env_name_valid(env[i], name_len)) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "invalid environment entry %zu: expected "
				      "NAME=value with a name of letters, "
				      "digits and '_' (at most 127)", i);
			goto fail;
		}
		memcpy(name, env[i], name_len);
		name[name_len] = '\0';
		if (strlen(eq + 1) > ENV_VALUE_MAX) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "the value of environment variable %s "
				      "is longer than the %d characters that "
				      "Vast.ai accepts", name, ENV_VALUE_MAX);
			goto fail;
		}
		total += strlen(env[i]);
		if (total > ENV_TOTAL_MAX) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "the environment is longer than the %d "
				      "characters that Vast.ai accepts",
				      ENV_TOTAL_MAX);
			goto fail;
		}
		if (json_object_set_new(object, name, json_string(eq + 1))) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "the value of environment variable %s "
				      "is not valid UTF-8", name);
			goto fail;
		}
	}
	return object;
fail:
	json_decref(object);
	return NULL;
}

static json_t *rental_body(const struct hoist_vast_provider *vp,
			   const struct hoist_instance_request *req,
			   const struct hoist_vast_profile *profile,
			   struct hoist_err *err)
{
	const char *image = req->image && *req->image ? req->image :
			    vp->image;
	json_t *env;
	json_t *body;

	if (!req->label || !*req->label || strlen(req->label) >= 128 ||
	    strlen(req->label) > LABEL_MAX) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "invalid instance label: missing or longer than "
			      "127 characters");
		return NULL;
	}
	if (!*image) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "the job names no container image and the "
			      "Vast.ai provider has no default image: set "
			      "image in the job file");
		return NULL;
	}
	if (strlen(image) > IMAGE_MAX) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "the image name is %zu characters long; "
			      "Vast.ai accepts at most %d", strlen(image),
			      IMAGE_MAX);
		return NULL;
	}
	if (req->onstart && strlen(req->onstart) > ONSTART_MAX) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "the onstart script is %zu characters long, "
			      "but Vast.ai accepts at most %d characters of "
			      "onstart, args and args_str together: shorten "
			      "the script or move its commands into the "
			      "image", strlen(req->onstart), ONSTART_MAX);
		return NULL;
	}
	env = env_object(req->env, err);
	if (!env)
		return NULL;
	/* runtype "ssh" runs Vast's entrypoint, which runs onstart; with
	 * cancel_unavail a GPU that cannot be scheduled fails the rental
	 * instead of creating a stopped instance. */
	body = json_pack("{s:s, s:s, s:f, s:s, s:o, s:s, s:b}",
			 "client_id", "me", "image", image,
			 "disk", profile->disk_gb, "label", req->label,
			 "env", env, "runtype", "ssh",
			 "cancel_unavail", 1);
	if (body && req->onstart &&
	    json_object_set_new(body, "onstart", json_string(req->onstart))) {
		json_decref(body);
		body = NULL;
	}
	if (!body)
		hoist_err_set(err, HOIST_E_INVALID,
			      "cannot encode the rental request: the image, "
			      "label or onstart script is not valid UTF-8");
	return body;
}

/* ------------------------------------------------------------------ */
/* Search                                                              */
/* ------------------------------------------------------------------ */

/* Collects the marketplace names matching the profile's GPU into names. */
static size_t match_names(const struct hoist_vast_provider *vp,
			  const char *wanted, const char **names)
{
	const char *const *known = hoist_vast_gpu_known_names();
	size_t count = 0;
	size_t i;
	json_t *item;

	if (vp->gpu_names) {
		json_array_foreach(vp->gpu_names, i, item) {
			const char *name = json_string_value(item);

			if (name && count < MATCH_NAMES_MAX &&
			    hoist_vast_gpu_match(wanted, name))
				names[count++] = name;
		}
		return count;
	}
	for (; *known && count < MATCH_NAMES_MAX; known++)
		if (hoist_vast_gpu_match(wanted, *known))
			names[count++] = *known;
	return count;
}

static void describe_profile(const struct hoist_vast_profile *p, char *out,
			     size_t outlen)
{
	snprintf(out, outlen, "%s%s%s%s x%d, at most $%.3f/h, %.0f GB disk, "
		 "%s", p->name[0] ? "profile " : "", p->name,
		 p->name[0] ? ": " : "", p->gpu_name, p->num_gpus, p->max_dph,
		 p->disk_gb, p->interruptible ? "interruptible" :
		 "on-demand");
}

/* A search after failed rentals may return the same offers again. */
static int tried_before(const struct hoist_vast_create *c, const char *id)
{
	for (int i = 0; i < c->rentals && i < RENTALS_MAX; i++)
		if (strcmp(c->tried[i], id) == 0)
			return 1;
	return 0;
}

/* Removes the offers already rented once from the candidates. */
static void drop_tried(struct hoist_vast_create *c)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->count; i++)
		if (!tried_before(c, c->candidates[i].id))
			c->candidates[kept++] = c->candidates[i];
	c->count = kept;
}

static void on_search(void *arg, const struct hoist_vast_http_response *resp)
{
	struct hoist_vast_op *op = arg;
	struct hoist_vast_create *c = op->create;
	const json_t *offers = json_object_get(resp->json, "offers");
	char what[256];
	char removed[256];

	if (hoist_vast_json_classify(resp) != HOIST_VAST_OK) {
		hoist_vast_op_fail(op, resp, "cannot search Vast.ai offers");
		create_fail(op, 0);
		return;
	}
	/* A reply without "offers" is a failed search, not an empty one,
	 * which hoistd would end the job for as no_offer. */
	if (!json_is_object(resp->json) ||
	    !json_object_get(resp->json, "offers")) {
		hoist_err_set(&op->err, HOIST_E_PROVIDER,
			      "cannot search Vast.ai offers: HTTP %ld with a "
			      "body that has no \"offers\"%s", resp->status,
			      resp->json ? "" : " (not JSON)");
		create_fail(op, 0);
		return;
	}
	json_decref(c->offers);
	free(c->candidates);
	c->candidates = NULL;
	c->count = 0;
	c->next = 0;
	c->batch_failures = 0;
	/* One example in the API reference shows a single offer object. */
	if (json_is_object(offers))
		c->offers = json_pack("[O]", offers);
	else if (json_is_array(offers))
		c->offers = json_incref((json_t *)offers);
	else
		c->offers = json_array();
	if (!c->offers ||
	    hoist_vast_offers_select(&c->profile, c->offers,
				     &op->vp->machines, hoist_clock_now_ms(),
				     &c->candidates, &c->count, c->removed,
				     &op->err)) {
		create_fail(op, 0);
		return;
	}

	if (c->offers_only) {
		op->result = hoist_vast_offers_result(
			c->candidates, c->count, c->removed,
			json_array_size(c->offers), &op->err);
		hoist_vast_op_finish(op);
		return;
	}
	drop_tried(c);
	if (c->count > 0) {
		rent_next(op);
		return;
	}
	describe_profile(&c->profile, what, sizeof(what));
	if (c->searches == 1) {
		hoist_vast_offers_describe_removed(removed, sizeof(removed),
						   c->removed);
		hoist_err_set(&op->err, HOIST_E_NOT_FOUND,
			      "no Vast.ai offer matches %s: the search "
			      "returned %zu offers; removed by hoist's "
			      "checks: %s", what, json_array_size(c->offers),
			      removed);
		create_fail(op, 1);
		return;
	}
	hoist_err_set(&op->err, HOIST_E_PROVIDER,
		      "no Vast.ai offer left for %s after %d failed "
		      "rentals; the last failure: %s", what, c->rentals,
		      c->last_failure);
	create_fail(op, 0);
}

/* Sends the offer search; returns -1 with op->err set when it cannot. */
static int send_search(struct hoist_vast_op *op)
{
	struct hoist_vast_create *c = op->create;
	const char *names[MATCH_NAMES_MAX];
	size_t count = match_names(op->vp, c->profile.gpu_name, names);
	json_t *query = NULL;
	int rc;

	c->searches++;
	rc = hoist_vast_offers_query(&c->profile, names, count,
				     !c->offers_only,
				     c->offers_only ? HOIST_VAST_LIST_LIMIT :
				     HOIST_VAST_SEARCH_LIMIT, &query,
				     &op->err);
	if (rc == 0)
		rc = hoist_vast_op_send(op, "POST", "/api/v0/bundles/", NULL,
					query, HOIST_VAST_RETRY_ALL,
					on_search);
	json_decref(query);
	return rc;
}

static void search(struct hoist_vast_op *op)
{
	if (send_search(op))
		create_fail(op, 0);
}

static void on_gpu_names(void *arg,
			 const struct hoist_vast_http_response *resp)
{
	struct hoist_vast_op *op = arg;
	struct hoist_vast_provider *vp = op->vp;
	const json_t *names = json_is_array(resp->json) ? resp->json :
			      json_object_get(resp->json, "gpu_names");

	/* Without the list, the built-in names serve this search. */
	if (hoist_vast_json_classify(resp) == HOIST_VAST_OK &&
	    json_is_array(names) && json_array_size(names) > 0) {
		json_decref(vp->gpu_names);
		vp->gpu_names = json_incref((json_t *)names);
		vp->gpu_names_mono_ms = hoist_clock_mono_ms();
	}
	search(op);
}

/* Fetches the marketplace's GPU names when the cached list is stale,
 * then searches.  Returns -1 with op->err set when nothing was sent. */
static int begin(struct hoist_vast_op *op)
{
	struct hoist_vast_provider *vp = op->vp;

	if (vp->gpu_names && hoist_clock_mono_ms() - vp->gpu_names_mono_ms <
	    HOIST_VAST_GPU_NAMES_TTL_MS)
		return send_search(op);
	return hoist_vast_op_send(op, "GET", "/api/v0/gpu_names/unique/",
				  NULL, NULL, HOIST_VAST_RETRY_ALL,
				  on_gpu_names);
}

/* ------------------------------------------------------------------ */
/* Rental                                                              */
/* ------------------------------------------------------------------ */

static void rental_failed(struct hoist_vast_op *op)
{
	op->create->batch_failures++;
	rent_next(op);
}

static void after_stray_destroyed(struct hoist_vast_op *op,
				  const struct hoist_err *e)
{
	struct hoist_vast_create *c = op->create;

	if (e) {
		/* hoistd destroys it when its list shows the label. */
		snprintf(c->last_failure, sizeof(c->last_failure),
			 "offer %s: the failed rental left instance %s, "
			 "which could not be destroyed yet: %s", c->offer_id,
			 c->instance_id, e->msg);
	}
	c->instance_id[0] = '\0';
	rental_failed(op);
}

static void on_reconcile_list(struct hoist_vast_op *op);

static void reconcile_again(struct hoist_vast_op *op)
{
	if (hoist_vast_op_list_all(op, on_reconcile_list))
		create_fail(op, 0);
}

/* Looks for the instance of a rental that got no usable response. */
static void on_reconcile_list(struct hoist_vast_op *op)
{
	struct hoist_vast_create *c = op->create;
	size_t i;
	json_t *inst;

	if (op->err.code) {
		hoist_err_prefix(&op->err, "renting offer %s got no response "
				 "and looking for label %s failed",
				 c->offer_id, c->label);
		create_fail(op, 0);
		return;
	}
	json_array_foreach(op->pages_acc, i, inst) {
		const char *label = hoist_vast_json_get_string(inst, "label");

		if (!label || strcmp(label, c->label) != 0 ||
		    hoist_vast_json_get_id(inst, "id", c->instance_id,
					   sizeof(c->instance_id)))
			continue;
		c->readbacks = 0;
		readback(op);
		return;
	}
	if (++c->reconciles < RECONCILE_TRIES) {
		hoist_vast_op_schedule(op, op->vp->poll_interval_ms,
				       reconcile_again);
		return;
	}
	snprintf(c->last_failure + strlen(c->last_failure),
		 sizeof(c->last_failure) - strlen(c->last_failure),
		 "; no instance carries label %s", c->label);
	rental_failed(op);
}

static int fatal_rejection(const struct hoist_vast_http_response *resp)
{
	static const char *const codes[] = {
		"label_too_long", "no_ssh_key_for_vm", "invalid_request",
	};
	const char *code = hoist_vast_json_get_string(resp->json, "error");

	for (size_t i = 0; code && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i]) == 0)
			return 1;
	return 0;
}

static void on_rent(void *arg, const struct hoist_vast_http_response *resp)
{
	struct hoist_vast_op *op = arg;
	struct hoist_vast_create *c = op->create;
	struct hoist_err why = HOIST_ERR_INIT;
	int failure = hoist_vast_json_classify(resp);
	int has_contract = !hoist_vast_json_get_id(resp->json, "new_contract",
						   c->instance_id,
						   sizeof(c->instance_id));
	char context[64];

	snprintf(context, sizeof(context), "renting offer %s", c->offer_id);
	if (failure == HOIST_VAST_OK && has_contract) {
		c->readbacks = 0;
		readback(op);
		return;
	}
	if (failure != HOIST_VAST_OK)
		hoist_vast_json_set_error(&why, resp, op->vp->api_key, context);
	else
		hoist_err_set(&why, HOIST_E_PROVIDER, "%s: the response has "
			      "no new_contract", context);
	snprintf(c->last_failure, sizeof(c->last_failure), "%s", why.msg);

	if (has_contract) {
		/* success:false with an instance, as for a bid below the
		 * minimum: it would bill storage while stopped. */
		hoist_vast_offers_machine_failed(&op->vp->machines,
						 c->machine_id,
						 atoll(c->instance_id),
						 hoist_clock_now_ms());
		if (hoist_vast_op_delete(op, c->instance_id,
					 after_stray_destroyed))
			create_fail(op, 0);
		return;
	}
	c->instance_id[0] = '\0';
	switch (failure) {
	case HOIST_VAST_FAIL_NO_SUCH_ASK:
		rental_failed(op);
		return;
	case HOIST_VAST_OK:
	case HOIST_VAST_FAIL_TRANSPORT:
	case HOIST_VAST_FAIL_SERVER:
		c->reconciles = 0;
		reconcile_again(op);
		return;
	case HOIST_VAST_FAIL_REJECTED:
		if (!fatal_rejection(resp)) {
			hoist_vast_offers_machine_failed(
				&op->vp->machines, c->machine_id, 0,
				hoist_clock_now_ms());
			rental_failed(op);
			return;
		}
		break;
	default:
		break;
	}
	op->err = why;
	create_fail(op, 0);
}

static void rent_next(struct hoist_vast_op *op)
{
	struct hoist_vast_create *c = op->create;
	const struct hoist_vast_candidate *offer;
	char path[64];
	char what[256];
	json_t *body;

	if (c->rentals >= RENTALS_MAX) {
		describe_profile(&c->profile, what, sizeof(what));
		hoist_err_set(&op->err, HOIST_E_PROVIDER,
			      "%d Vast.ai rentals for %s failed; the last "
			      "failure: %s", c->rentals, what,
			      c->last_failure);
		create_fail(op, 0);
		return;
	}
	if (c->next >= c->count || c->batch_failures >= RENT_BATCH) {
		search(op);
		return;
	}
	offer = &c->candidates[c->next++];
	snprintf(c->tried[c->rentals], sizeof(c->tried[c->rentals]), "%s",
		 offer->id);
	snprintf(c->offer_id, sizeof(c->offer_id), "%s", offer->id);
	c->machine_id = offer->machine_id;
	c->price = offer->price;
	c->bid = offer->bid;
	c->rentals++;

	body = json_deep_copy(c->body);
	if (body && c->profile.interruptible &&
	    json_object_set_new(body, "price", json_real(c->bid))) {
		json_decref(body);
		body = NULL;
	}
	if (!body) {
		hoist_err_set(&op->err, HOIST_E_NOMEM, "out of memory");
		create_fail(op, 0);
		return;
	}
	snprintf(path, sizeof(path), "/api/v0/asks/%s/", c->offer_id);
	/* Only a 429 is sure to have created nothing. */
	if (hoist_vast_op_send(op, "PUT", path, NULL, body,
			       HOIST_VAST_RETRY_RATE_LIMIT, on_rent))
		create_fail(op, 0);
	json_decref(body);
}

/* ------------------------------------------------------------------ */
/* Read back and verify                                                */
/* ------------------------------------------------------------------ */

static void after_reject_destroyed(struct hoist_vast_op *op,
				   const struct hoist_err *e)
{
	struct hoist_vast_create *c = op->create;

	if (e)
		hoist_err_set(&op->err, HOIST_E_PROVIDER, "%s; destroying it "
			      "failed too, so hoistd destroys it when its "
			      "list shows label %s: %s", c->reason, c->label,
			      e->msg);
	else
		hoist_err_set(&op->err, HOIST_E_PROVIDER, "%s; destroyed it",
			      c->reason);
	create_fail(op, 0);
}

/* Destroys the rented instance, then fails create with c->reason. */
static void reject_instance(struct hoist_vast_op *op)
{
	struct hoist_vast_create *c = op->create;
	struct hoist_err e = HOIST_ERR_INIT;

	hoist_vast_offers_machine_failed(&op->vp->machines, c->machine_id,
					 atoll(c->instance_id),
					 hoist_clock_now_ms());
	if (hoist_vast_op_delete(op, c->instance_id, after_reject_destroyed)) {
		e = op->err;
		hoist_err_clear(&op->err);
		after_reject_destroyed(op, &e);
	}
}

static void readback_again(struct hoist_vast_op *op)
{
	readback(op);
}

static void accept_instance(struct hoist_vast_op *op, const json_t *inst,
			    double rate)
{
	struct hoist_vast_create *c = op->create;
	struct hoist_provider_instance *out = &op->instance;

	hoist_vast_instance_convert(inst, out);
	snprintf(out->id, sizeof(out->id), "%s", c->instance_id);
	snprintf(out->label, sizeof(out->label), "%s", c->label);
	snprintf(out->offer, sizeof(out->offer), "%s", c->offer_id);
	out->price_per_hour = rate;
	if (out->created_at_ms <= 0)
		out->created_at_ms = hoist_clock_now_ms();
	hoist_vast_offers_machine_worked(&op->vp->machines, c->machine_id,
					 hoist_clock_now_ms());
	hoist_vast_op_finish(op);
}

static void on_readback(void *arg, const struct hoist_vast_http_response *resp)
{
	struct hoist_vast_op *op = arg;
	struct hoist_vast_create *c = op->create;
	struct hoist_vast_expect expect;
	struct hoist_err e = HOIST_ERR_INIT;
	int failure = hoist_vast_json_classify(resp);
	int more = c->readbacks < READBACK_TRIES;
	json_t *list = NULL;
	const json_t *inst = NULL;
	char why[256] = "";
	char context[64];
	double rate = 0;
	int verdict;

	snprintf(context, sizeof(context), "reading instance %s",
		 c->instance_id);
	if (failure == HOIST_VAST_OK) {
		list = hoist_vast_json_instances(resp->json, &e);
		inst = json_array_get(list, 0);
	} else {
		hoist_vast_json_set_error(&e, resp, op->vp->api_key, context);
	}
	if (!inst) {
		/* A new instance can be missing from reads for a moment. */
		json_decref(list);
		if (more && (failure == HOIST_VAST_OK ||
			     failure == HOIST_VAST_FAIL_NO_SUCH_INSTANCE)) {
			hoist_vast_op_schedule(op, op->vp->poll_interval_ms,
					       readback_again);
			return;
		}
		snprintf(c->reason, sizeof(c->reason), "instance %s rented on "
			 "offer %s cannot be read back: %s", c->instance_id,
			 c->offer_id, e.code ? e.msg : "it does not appear");
		reject_instance(op);
		return;
	}

	memset(&expect, 0, sizeof(expect));
	expect.label = c->label;
	expect.interruptible = c->profile.interruptible;
	expect.rate = c->price;
	expect.disk_gb = c->profile.disk_gb;
	verdict = hoist_vast_instance_verify(inst, &expect, &rate, why,
					     sizeof(why));
	if (verdict == HOIST_VAST_VERIFIED) {
		accept_instance(op, inst, rate);
	} else if (verdict == HOIST_VAST_UNVERIFIED && more) {
		hoist_vast_op_schedule(op, op->vp->poll_interval_ms,
				       readback_again);
	} else {
		snprintf(c->reason, sizeof(c->reason), "instance %s rented on "
			 "offer %s %s: %s", c->instance_id, c->offer_id,
			 verdict == HOIST_VAST_MISMATCH ?
			 "does not match the request" : "cannot be verified",
			 why);
		reject_instance(op);
	}
	json_decref(list);
}

static void readback(struct hoist_vast_op *op)
{
	struct hoist_vast_create *c = op->create;
	char path[64];

	c->readbacks++;
	snprintf(path, sizeof(path), "/api/v0/instances/%s/", c->instance_id);
	if (hoist_vast_op_send(op, "GET", path, NULL, NULL,
			       HOIST_VAST_RETRY_ALL, on_readback)) {
		snprintf(c->reason, sizeof(c->reason), "instance %s rented on "
			 "offer %s cannot be read back: %s", c->instance_id,
			 c->offer_id, op->err.msg);
		hoist_err_clear(&op->err);
		reject_instance(op);
	}
}

/* ------------------------------------------------------------------ */
/* Ops                                                                 */
/* ------------------------------------------------------------------ */

static struct hoist_vast_op *start_op(struct hoist_vast_provider *vp,
				      enum hoist_vast_op_kind kind,
				      const json_t *profile, void *arg,
				      struct hoist_err *err)
{
	struct hoist_vast_op *op;
	struct hoist_vast_create *c = calloc(1, sizeof(*c));

	if (!c) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		return NULL;
	}
	if (hoist_vast_offers_profile(profile, vp->disk_gb, vp->interruptible,
				      &c->profile, err)) {
		hoist_vast_create_free(c);
		return NULL;
	}
	op = hoist_vast_op_new(vp, kind, arg, err);
	if (!op) {
		hoist_vast_create_free(c);
		return NULL;
	}
	op->create = c;
	return op;
}

static int begin_or_discard(struct hoist_vast_op *op, struct hoist_err *err)
{
	if (begin(op) == 0)
		return 0;
	hoist_err_set(err, op->err.code, "%s", op->err.msg);
	hoist_vast_op_discard(op);
	return -1;
}

int hoist_vast_create_instance(struct hoist_provider *provider,
			       const struct hoist_instance_request *req,
			       hoist_provider_instance_cb cb, void *arg,
			       struct hoist_err *err)
{
	struct hoist_vast_provider *vp = (struct hoist_vast_provider *)provider;
	struct hoist_vast_op *op;

	op = start_op(vp, HOIST_VAST_OP_CREATE, req->profile, arg, err);
	if (!op)
		return -1;
	op->instance_cb = cb;
	op->create->body = rental_body(vp, req, &op->create->profile, err);
	if (!op->create->body) {
		hoist_vast_op_discard(op);
		return -1;
	}
	snprintf(op->create->label, sizeof(op->create->label), "%s",
		 req->label);
	return begin_or_discard(op, err);
}

int hoist_vast_create_offers(struct hoist_provider *provider,
			     const json_t *profile,
			     hoist_provider_offers_cb cb, void *arg,
			     struct hoist_err *err)
{
	struct hoist_vast_provider *vp = (struct hoist_vast_provider *)provider;
	struct hoist_vast_op *op;

	op = start_op(vp, HOIST_VAST_OP_OFFERS, profile, arg, err);
	if (!op)
		return -1;
	op->offers_cb = cb;
	op->create->offers_only = 1;
	return begin_or_discard(op, err);
}
