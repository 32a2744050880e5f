/*
 * vast.c - the Vast.ai provider: open and close, the operations list and
 * destroy, the calls of vast.h, and the steps that create shares (paged
 * instance lists and deletes).  Renting lives in vast_create.c.
 *
 * hoistd lists its instances by label prefix on every tick.  The API's
 * filters have no prefix match, so list reads every page of
 * GET /api/v1/instances/ (25 instances a page) and filters by label
 * itself.
 */
#include "providers/vast_provider.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/util.h"
#include "providers/vast_instance.h"
#include "providers/vast_json.h"

#define DEFAULT_BASE_URL "https://console.vast.ai"
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_MAX_RETRIES 4
#define DEFAULT_BACKOFF_BASE_MS 500
#define DEFAULT_BACKOFF_MAX_MS 30000
#define DEFAULT_POLL_INTERVAL_MS 3000
#define DEFAULT_DISK_GB 20.0

/* Pages of 25 instances (v1 list) or 500 charges read at most. */
#define LIST_PAGES_MAX 400
#define CHARGES_PAGES_MAX 100
#define CHARGES_PAGE_LIMIT "500"

#define QUERY_MAX 2048
#define KEY_FILE_MAX 4096

static struct hoist_vast_provider *vast_of(struct hoist_provider *provider)
{
	return (struct hoist_vast_provider *)provider;
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */
/* ------------------------------------------------------------------ */

static void on_op_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hoist_vast_op *op = arg;

	(void)fd;
	(void)what;
	op->on_timer(op);
}

struct hoist_vast_op *hoist_vast_op_new(struct hoist_vast_provider *vp,
					enum hoist_vast_op_kind kind,
					void *arg, struct hoist_err *err)
{
	struct hoist_vast_op *op;

	if (vp->closing) {
		hoist_err_set(err, HOIST_E_CONFLICT,
			      "the Vast.ai provider is closing");
		return NULL;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		return NULL;
	}
	op->timer = evtimer_new(vp->base.base, on_op_timer, op);
	if (!op->timer) {
		free(op);
		hoist_err_set(err, HOIST_E_NOMEM,
			      "cannot create a libevent timer");
		return NULL;
	}
	op->vp = vp;
	op->kind = kind;
	op->arg = arg;
	op->next = vp->ops;
	if (vp->ops)
		vp->ops->prev = op;
	vp->ops = op;
	return op;
}

static void op_unlink(struct hoist_vast_op *op)
{
	struct hoist_vast_provider *vp = op->vp;

	if (op->prev)
		op->prev->next = op->next;
	else if (vp->ops == op)
		vp->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	op->prev = NULL;
	op->next = NULL;
}

static void op_free(struct hoist_vast_op *op)
{
	event_free(op->timer);
	free(op->instances);
	json_decref(op->raw);
	json_decref(op->result);
	json_decref(op->pages_acc);
	hoist_vast_create_free(op->create);
	free(op);
}

void hoist_vast_op_discard(struct hoist_vast_op *op)
{
	op_unlink(op);
	op_free(op);
}

void hoist_vast_op_finish(struct hoist_vast_op *op)
{
	const struct hoist_err *err = op->err.code ? &op->err : NULL;

	op_unlink(op);
	evtimer_del(op->timer);
	/* The callback may close the provider: only op is used after it. */
	switch (op->kind) {
	case HOIST_VAST_OP_CREATE:
		op->instance_cb(op->arg, err, err ? NULL : &op->instance);
		break;
	case HOIST_VAST_OP_DESTROY:
		op->instance_cb(op->arg, err, NULL);
		break;
	case HOIST_VAST_OP_LIST:
		op->list_cb(op->arg, err, err ? NULL : op->instances,
			    err ? 0 : op->count);
		break;
	case HOIST_VAST_OP_OFFERS:
		op->offers_cb(op->arg, err, err ? NULL : op->result);
		break;
	case HOIST_VAST_OP_SHOW:
		op->show_cb(op->arg, err, err ? NULL : op->raw,
			    !err && op->have_instance ? &op->instance : NULL);
		break;
	case HOIST_VAST_OP_DONE:
		op->done_cb(op->arg, err);
		break;
	case HOIST_VAST_OP_CREDIT:
		op->credit_cb(op->arg, err, err ? 0 : op->credit);
		break;
	case HOIST_VAST_OP_CHARGES:
		op->charges_cb(op->arg, err, err ? NULL : op->result);
		break;
	}
	op_free(op);
}

void hoist_vast_op_schedule(struct hoist_vast_op *op, long delay_ms,
			    void (*on_timer)(struct hoist_vast_op *op))
{
	struct timeval tv = {
		.tv_sec = delay_ms / 1000,
		.tv_usec = (delay_ms % 1000) * 1000,
	};

	op->on_timer = on_timer;
	evtimer_add(op->timer, &tv);
}

int hoist_vast_op_send(struct hoist_vast_op *op, const char *method,
		       const char *path, const char *query,
		       const json_t *body, int retry, hoist_vast_http_cb cb)
{
	return hoist_vast_http_send(op->vp->http, method, path, query, body,
				    retry, cb, op, &op->err);
}

int hoist_vast_op_fail(struct hoist_vast_op *op,
		       const struct hoist_vast_http_response *resp,
		       const char *context)
{
	return hoist_vast_json_set_error(&op->err, resp, op->vp->api_key,
					 context);
}

static int id_valid(const char *id)
{
	size_t len = id ? strlen(id) : 0;

	return len > 0 && len < 20 && strspn(id, "0123456789") == len;
}

static int check_id(const char *id, struct hoist_err *err)
{
	if (id_valid(id))
		return 0;
	return hoist_err_set(err, HOIST_E_INVALID,
			     "invalid Vast.ai instance id '%.40s'; expected "
			     "the decimal id that list or create reported",
			     id ? id : "(null)");
}

static struct hoist_vast_provider *vast_checked(struct hoist_provider *p,
						struct hoist_err *err);

/* ------------------------------------------------------------------ */
/* Paged instance list                                                 */
/* ------------------------------------------------------------------ */

static int list_page(struct hoist_vast_op *op);

static void on_list_page(void *arg, const struct hoist_vast_http_response *resp)
{
	struct hoist_vast_op *op = arg;
	const char *token;
	json_t *instances;
	size_t i;
	json_t *inst;

	if (hoist_vast_json_classify(resp) != HOIST_VAST_OK) {
		hoist_vast_op_fail(op, resp, "cannot list Vast.ai instances");
		op->pages_done(op);
		return;
	}
	instances = hoist_vast_json_instances(resp->json, &op->err);
	if (!instances) {
		op->pages_done(op);
		return;
	}
	json_array_foreach(instances, i, inst)
		json_array_append(op->pages_acc, inst);
	json_decref(instances);

	token = hoist_vast_json_get_string(resp->json, "next_token");
	if (!token || !*token) {
		op->pages_done(op);
		return;
	}
	if (strlen(token) >= sizeof(op->next_token) ||
	    strcmp(token, op->next_token) == 0 ||
	    ++op->pages >= LIST_PAGES_MAX) {
		hoist_err_set(&op->err, HOIST_E_PROVIDER,
			      "cannot list Vast.ai instances: the list did "
			      "not end after %d pages, or its next_token "
			      "repeated or exceeds %zu bytes", op->pages,
			      sizeof(op->next_token) - 1);
		op->pages_done(op);
		return;
	}
	snprintf(op->next_token, sizeof(op->next_token), "%s", token);
	if (list_page(op))
		op->pages_done(op);
}

static int list_page(struct hoist_vast_op *op)
{
	char query[QUERY_MAX] = "";

	if (hoist_vast_http_query_add(query, sizeof(query), "limit", "25",
				      &op->err) ||
	    hoist_vast_http_query_add(query, sizeof(query), "order_by",
				      "[{\"col\":\"id\",\"dir\":\"asc\"}]",
				      &op->err) ||
	    (op->next_token[0] &&
	     hoist_vast_http_query_add(query, sizeof(query), "after_token",
				       op->next_token, &op->err)))
		return -1;
	return hoist_vast_op_send(op, "GET", "/api/v1/instances/", query,
				  NULL, HOIST_VAST_RETRY_ALL, on_list_page);
}

int hoist_vast_op_list_all(struct hoist_vast_op *op,
			   hoist_vast_pages_done done)
{
	json_decref(op->pages_acc);
	op->pages_acc = json_array();
	if (!op->pages_acc)
		return hoist_err_set(&op->err, HOIST_E_NOMEM, "out of memory");
	op->next_token[0] = '\0';
	op->pages = 0;
	op->pages_done = done;
	return list_page(op);
}

/* ------------------------------------------------------------------ */
/* Delete                                                              */
/* ------------------------------------------------------------------ */

static void on_delete(void *arg, const struct hoist_vast_http_response *resp)
{
	struct hoist_vast_op *op = arg;
	struct hoist_err err = HOIST_ERR_INIT;
	char context[64];
	int failure = hoist_vast_json_classify(resp);

	if (failure == HOIST_VAST_OK ||
	    failure == HOIST_VAST_FAIL_NO_SUCH_INSTANCE) {
		op->delete_done(op, NULL);
		return;
	}
	snprintf(context, sizeof(context), "cannot destroy instance %s",
		 op->delete_id);
	hoist_vast_json_set_error(&err, resp, op->vp->api_key, context);
	op->delete_done(op, &err);
}

int hoist_vast_op_delete(struct hoist_vast_op *op, const char *id,
			 hoist_vast_delete_done done)
{
	char path[64];

	if (check_id(id, &op->err))
		return -1;
	snprintf(op->delete_id, sizeof(op->delete_id), "%s", id);
	snprintf(path, sizeof(path), "/api/v0/instances/%s/", id);
	op->delete_done = done;
	return hoist_vast_op_send(op, "DELETE", path, NULL, NULL,
				  HOIST_VAST_RETRY_ALL, on_delete);
}

/* ------------------------------------------------------------------ */
/* list and destroy                                                    */
/* ------------------------------------------------------------------ */

static void list_done(struct hoist_vast_op *op)
{
	int64_t now = hoist_clock_now_ms();
	size_t total;
	size_t i;
	json_t *inst;

	if (op->err.code) {
		hoist_vast_op_finish(op);
		return;
	}
	total = json_array_size(op->pages_acc);
	op->instances = calloc(total + 1, sizeof(*op->instances));
	if (!op->instances) {
		hoist_err_set(&op->err, HOIST_E_NOMEM, "out of memory");
		hoist_vast_op_finish(op);
		return;
	}
	json_array_foreach(op->pages_acc, i, inst) {
		const char *label = hoist_vast_json_get_string(inst, "label");
		struct hoist_provider_instance *out = &op->instances[op->count];
		double machine;

		if (!label || strncmp(label, op->label_prefix,
				      strlen(op->label_prefix)) != 0)
			continue;
		if (hoist_vast_instance_convert(inst, out))
			continue;
		/* A lost instance counts against its machine once. */
		if (out->state == HOIST_PINST_LOST &&
		    !hoist_vast_json_get_number(inst, "machine_id", &machine))
			hoist_vast_offers_machine_failed(
				&op->vp->machines, (long long)machine,
				atoll(out->id), now);
		op->count++;
	}
	hoist_vast_op_finish(op);
}

static int vast_list(struct hoist_provider *provider, const char *label_prefix,
		     hoist_provider_list_cb cb, void *arg,
		     struct hoist_err *err)
{
	struct hoist_vast_provider *vp = vast_of(provider);
	struct hoist_vast_op *op;

	if (!label_prefix || strlen(label_prefix) >= sizeof(op->label_prefix))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid label prefix: missing or longer "
				     "than %zu bytes",
				     sizeof(op->label_prefix) - 1);
	op = hoist_vast_op_new(vp, HOIST_VAST_OP_LIST, arg, err);
	if (!op)
		return -1;
	op->list_cb = cb;
	snprintf(op->label_prefix, sizeof(op->label_prefix), "%s",
		 label_prefix);
	if (hoist_vast_op_list_all(op, list_done)) {
		hoist_err_set(err, op->err.code, "%s", op->err.msg);
		hoist_vast_op_discard(op);
		return -1;
	}
	return 0;
}

static void destroy_done(struct hoist_vast_op *op, const struct hoist_err *e)
{
	if (e)
		op->err = *e;
	hoist_vast_op_finish(op);
}

/*
 * Reads the instance once before destroying it: an instance that was
 * outbid, lost its host or exited counts against its machine, which the
 * next rentals then skip.  The list of a tick sees that state only if it
 * runs between the loss and the destroy, and hoistd destroys an instance
 * as soon as its agent reports the SIGTERM.  A failed read only skips the
 * count; the destroy goes on.
 */
static void on_destroy_read(void *arg,
			    const struct hoist_vast_http_response *resp)
{
	struct hoist_vast_op *op = arg;
	struct hoist_provider_instance instance;
	struct hoist_err ignored = HOIST_ERR_INIT;
	json_t *list = NULL;
	const json_t *raw;
	double machine;

	if (hoist_vast_json_classify(resp) == HOIST_VAST_OK)
		list = hoist_vast_json_instances(resp->json, &ignored);
	raw = json_array_get(list, 0);
	if (raw && hoist_vast_instance_convert(raw, &instance) == 0 &&
	    instance.state == HOIST_PINST_LOST &&
	    !hoist_vast_json_get_number(raw, "machine_id", &machine))
		hoist_vast_offers_machine_failed(&op->vp->machines,
						 (long long)machine,
						 atoll(op->id),
						 hoist_clock_now_ms());
	json_decref(list);
	if (hoist_vast_op_delete(op, op->id, destroy_done))
		hoist_vast_op_finish(op);
}

static int vast_destroy(struct hoist_provider *provider, const char *id,
			hoist_provider_instance_cb cb, void *arg,
			struct hoist_err *err)
{
	struct hoist_vast_provider *vp = vast_of(provider);
	struct hoist_vast_op *op;
	char path[64];

	if (check_id(id, err))
		return -1;
	op = hoist_vast_op_new(vp, HOIST_VAST_OP_DESTROY, arg, err);
	if (!op)
		return -1;
	op->instance_cb = cb;
	snprintf(op->id, sizeof(op->id), "%s", id);
	snprintf(path, sizeof(path), "/api/v0/instances/%s/", id);
	if (hoist_vast_op_send(op, "GET", path, NULL, NULL,
			       HOIST_VAST_RETRY_RATE_LIMIT, on_destroy_read)) {
		hoist_err_set(err, op->err.code, "%s", op->err.msg);
		hoist_vast_op_discard(op);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* show, stop, start, change bid                                       */
/* ------------------------------------------------------------------ */

/* Starts op's first request, or discards op and copies its error. */
static int start_first(struct hoist_vast_op *op, const char *method,
		       const char *path, const char *query,
		       const json_t *body, hoist_vast_http_cb cb,
		       struct hoist_err *err)
{
	if (hoist_vast_op_send(op, method, path, query, body,
			       HOIST_VAST_RETRY_ALL, cb) == 0)
		return 0;
	hoist_err_set(err, op->err.code, "%s", op->err.msg);
	hoist_vast_op_discard(op);
	return -1;
}

static void on_show(void *arg, const struct hoist_vast_http_response *resp)
{
	struct hoist_vast_op *op = arg;
	char context[64];
	json_t *list;

	snprintf(context, sizeof(context), "cannot read instance %s", op->id);
	switch (hoist_vast_json_classify(resp)) {
	case HOIST_VAST_OK:
		break;
	case HOIST_VAST_FAIL_NO_SUCH_INSTANCE:
		hoist_vast_op_finish(op);	/* gone: raw and instance NULL */
		return;
	default:
		hoist_vast_op_fail(op, resp, context);
		hoist_vast_op_finish(op);
		return;
	}
	list = hoist_vast_json_instances(resp->json, &op->err);
	if (list && json_array_size(list) > 0) {
		op->raw = json_incref(json_array_get(list, 0));
		if (hoist_vast_instance_convert(op->raw, &op->instance) == 0)
			op->have_instance = 1;
		else
			hoist_err_set(&op->err, HOIST_E_PROVIDER,
				      "%s: the instance object has no valid "
				      "id", context);
	}
	json_decref(list);
	hoist_vast_op_finish(op);
}

int hoist_vast_show(struct hoist_provider *provider, const char *id,
		    hoist_vast_show_cb cb, void *arg, struct hoist_err *err)
{
	struct hoist_vast_provider *vp = vast_checked(provider, err);
	struct hoist_vast_op *op;
	char path[64];

	if (!vp || check_id(id, err))
		return -1;
	op = hoist_vast_op_new(vp, HOIST_VAST_OP_SHOW, arg, err);
	if (!op)
		return -1;
	op->show_cb = cb;
	snprintf(op->id, sizeof(op->id), "%s", id);
	snprintf(path, sizeof(path), "/api/v0/instances/%s/", id);
	return start_first(op, "GET", path, NULL, NULL, on_show, err);
}

static void on_done(void *arg, const struct hoist_vast_http_response *resp)
{
	struct hoist_vast_op *op = arg;
	char context[64];

	if (hoist_vast_json_classify(resp) != HOIST_VAST_OK) {
		snprintf(context, sizeof(context), "cannot change instance %s",
			 op->id);
		hoist_vast_op_fail(op, resp, context);
	}
	hoist_vast_op_finish(op);
}

static int put_instance(struct hoist_provider *provider, const char *id,
			const char *path_prefix, json_t *body,
			hoist_vast_done_cb cb, void *arg,
			struct hoist_err *err)
{
	struct hoist_vast_provider *vp = vast_checked(provider, err);
	struct hoist_vast_op *op = NULL;
	char path[96];
	int rc = -1;

	if (!body) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	if (!vp || check_id(id, err))
		goto out;
	op = hoist_vast_op_new(vp, HOIST_VAST_OP_DONE, arg, err);
	if (!op)
		goto out;
	op->done_cb = cb;
	snprintf(op->id, sizeof(op->id), "%s", id);
	snprintf(path, sizeof(path), "%s%s/", path_prefix, id);
	rc = start_first(op, "PUT", path, NULL, body, on_done, err);
out:
	json_decref(body);
	return rc;
}

int hoist_vast_stop(struct hoist_provider *provider, const char *id,
		    hoist_vast_done_cb cb, void *arg, struct hoist_err *err)
{
	return put_instance(provider, id, "/api/v0/instances/",
			    json_pack("{s:s}", "state", "stopped"), cb, arg,
			    err);
}

int hoist_vast_start(struct hoist_provider *provider, const char *id,
		     hoist_vast_done_cb cb, void *arg, struct hoist_err *err)
{
	return put_instance(provider, id, "/api/v0/instances/",
			    json_pack("{s:s}", "state", "running"), cb, arg,
			    err);
}

int hoist_vast_change_bid(struct hoist_provider *provider, const char *id,
			  double price_per_hour, hoist_vast_done_cb cb,
			  void *arg, struct hoist_err *err)
{
	json_t *body;

	if (price_per_hour >= 0 && price_per_hour < 0.001)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid bid $%g/h: Vast.ai accepts "
				     "$0.001/h or more", price_per_hour);
	body = price_per_hour < 0 ?
	       json_pack("{s:s, s:n}", "client_id", "me", "price") :
	       json_pack("{s:s, s:f}", "client_id", "me", "price",
			 price_per_hour);
	return put_instance(provider, id, "/api/v0/instances/bid_price/",
			    body, cb, arg, err);
}

/* ------------------------------------------------------------------ */
/* Credit and charges                                                  */
/* ------------------------------------------------------------------ */

static void on_credit(void *arg, const struct hoist_vast_http_response *resp)
{
	struct hoist_vast_op *op = arg;

	/* The user object also carries the API key: only credit is read. */
	if (hoist_vast_json_classify(resp) != HOIST_VAST_OK)
		hoist_vast_op_fail(op, resp, "cannot read the Vast.ai credit");
	else if (hoist_vast_json_get_number(resp->json, "credit",
					    &op->credit))
		hoist_err_set(&op->err, HOIST_E_PROVIDER,
			      "cannot read the Vast.ai credit: the user "
			      "object has no numeric \"credit\"");
	hoist_vast_op_finish(op);
}

int hoist_vast_user_credit(struct hoist_provider *provider,
			   hoist_vast_credit_cb cb, void *arg,
			   struct hoist_err *err)
{
	struct hoist_vast_provider *vp = vast_checked(provider, err);
	struct hoist_vast_op *op;

	if (!vp)
		return -1;
	op = hoist_vast_op_new(vp, HOIST_VAST_OP_CREDIT, arg, err);
	if (!op)
		return -1;
	op->credit_cb = cb;
	return start_first(op, "GET", "/api/v0/users/current/", NULL, NULL,
			   on_credit, err);
}

/* "instance-12345678" gives "12345678". */
static void charge_instance_id(const json_t *row, char *out, size_t outlen)
{
	const char *source = hoist_vast_json_get_string(row, "source");
	const char *digits;

	out[0] = '\0';
	if (!source)
		return;
	digits = strrchr(source, '-');
	digits = digits ? digits + 1 : source;
	if (id_valid(digits))
		snprintf(out, outlen, "%s", digits);
}

static json_t *charge_json(const json_t *row, double *amount)
{
	const json_t *metadata = json_object_get(row, "metadata");
	const char *label = hoist_vast_json_get_string(metadata, "label");
	const char *description = hoist_vast_json_get_string(row,
							    "description");
	json_t *items = json_array();
	json_t *charge;
	char id[24];
	double start = 0;
	double end = 0;
	size_t i;
	json_t *item;

	*amount = 0;
	hoist_vast_json_get_number(row, "amount", amount);
	hoist_vast_json_get_number(row, "start", &start);
	hoist_vast_json_get_number(row, "end", &end);
	charge_instance_id(row, id, sizeof(id));
	json_array_foreach(json_object_get(row, "items"), i, item) {
		const char *type = hoist_vast_json_get_string(item, "type");
		const char *text = hoist_vast_json_get_string(item,
							     "description");
		double value = 0;

		hoist_vast_json_get_number(item, "amount", &value);
		json_array_append_new(items, json_pack(
			"{s:s, s:s, s:f}", "type", type ? type : "",
			"description", text ? text : "", "amount", value));
	}
	charge = json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:o}",
			   "instance_id", id, "label", label ? label : "",
			   "description", description ? description : "",
			   "start", start, "end", end, "amount", *amount,
			   "items", items);
	return charge;
}

static int charges_page(struct hoist_vast_op *op);

static void charges_done(struct hoist_vast_op *op)
{
	json_t *list = json_array();
	double total = 0;
	size_t i;
	json_t *row;

	json_array_foreach(op->pages_acc, i, row) {
		double amount;

		json_array_append_new(list, charge_json(row, &amount));
		total += amount;
	}
	op->result = json_pack("{s:f, s:o}", "total", total, "charges", list);
	if (!op->result)
		hoist_err_set(&op->err, HOIST_E_NOMEM, "out of memory");
	hoist_vast_op_finish(op);
}

static void on_charges(void *arg, const struct hoist_vast_http_response *resp)
{
	struct hoist_vast_op *op = arg;
	const json_t *results = json_object_get(resp->json, "results");
	const char *token;
	size_t i;
	json_t *row;

	if (hoist_vast_json_classify(resp) != HOIST_VAST_OK) {
		hoist_vast_op_fail(op, resp, "cannot read the Vast.ai charges");
		hoist_vast_op_finish(op);
		return;
	}
	json_array_foreach(results, i, row)
		if (json_is_object(row))
			json_array_append(op->pages_acc, row);
	token = hoist_vast_json_get_string(resp->json, "next_token");
	if (!token || !*token) {
		charges_done(op);
		return;
	}
	if (strlen(token) >= sizeof(op->next_token) ||
	    strcmp(token, op->next_token) == 0 ||
	    ++op->pages >= CHARGES_PAGES_MAX) {
		hoist_err_set(&op->err, HOIST_E_PROVIDER,
			      "cannot read the Vast.ai charges: the list did "
			      "not end after %d pages, or its next_token "
			      "repeated", op->pages);
		hoist_vast_op_finish(op);
		return;
	}
	snprintf(op->next_token, sizeof(op->next_token), "%s", token);
	if (charges_page(op))
		hoist_vast_op_finish(op);
}

static int charges_page(struct hoist_vast_op *op)
{
	char query[QUERY_MAX] = "";
	char filters[256];

	snprintf(filters, sizeof(filters),
		 "{\"day\":{\"gte\":%lld,\"lte\":%lld},"
		 "\"type\":{\"in\":[\"instance\"]}}",
		 (long long)op->charges_start, (long long)op->charges_end);
	if (hoist_vast_http_query_add(query, sizeof(query), "select_filters",
				      filters, &op->err) ||
	    hoist_vast_http_query_add(query, sizeof(query), "limit",
				      CHARGES_PAGE_LIMIT, &op->err) ||
	    (op->next_token[0] &&
	     hoist_vast_http_query_add(query, sizeof(query), "after_token",
				       op->next_token, &op->err)))
		return -1;
	return hoist_vast_op_send(op, "GET", "/api/v0/charges/", query, NULL,
				  HOIST_VAST_RETRY_ALL, on_charges);
}

int hoist_vast_charges(struct hoist_provider *provider, int64_t start_s,
		       int64_t end_s, hoist_vast_charges_cb cb, void *arg,
		       struct hoist_err *err)
{
	struct hoist_vast_provider *vp = vast_checked(provider, err);
	struct hoist_vast_op *op;

	if (!vp)
		return -1;
	if (start_s < 0 || end_s < start_s)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid charge period %lld to %lld: "
				     "expected Unix seconds with start <= end",
				     (long long)start_s, (long long)end_s);
	op = hoist_vast_op_new(vp, HOIST_VAST_OP_CHARGES, arg, err);
	if (!op)
		return -1;
	op->charges_cb = cb;
	op->charges_start = start_s;
	op->charges_end = end_s;
	op->pages_acc = json_array();
	if (!op->pages_acc) {
		hoist_vast_op_discard(op);
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	}
	if (charges_page(op)) {
		hoist_err_set(err, op->err.code, "%s", op->err.msg);
		hoist_vast_op_discard(op);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* open, close, key                                                    */
/* ------------------------------------------------------------------ */

static void vast_close(struct hoist_provider *provider)
{
	struct hoist_vast_provider *vp = vast_of(provider);

	vp->closing = 1;
	while (vp->ops) {
		struct hoist_vast_op *op = vp->ops;

		hoist_err_set(&op->err, HOIST_E_PROVIDER,
			      "the Vast.ai provider was closed before the "
			      "operation finished");
		hoist_vast_op_finish(op);
	}
	hoist_vast_http_free(vp->http);
	json_decref(vp->gpu_names);
	memset(vp->api_key, 0, sizeof(vp->api_key));
	free(vp);
	curl_global_cleanup();
}

static const struct hoist_provider_ops vast_ops = {
	.name = "vast",
	.create = hoist_vast_create_instance,
	.list = vast_list,
	.destroy = vast_destroy,
	.close = vast_close,
	.offers = hoist_vast_create_offers,
};

static struct hoist_vast_provider *vast_checked(struct hoist_provider *p,
						struct hoist_err *err)
{
	if (!p || p->ops != &vast_ops) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "the provider is not the Vast.ai provider");
		return NULL;
	}
	return vast_of(p);
}

int hoist_provider_vast_open(struct event_base *base,
			     const struct hoist_vast_options *opts,
			     struct hoist_provider **out,
			     struct hoist_err *err)
{
	struct hoist_vast_http_settings settings;
	struct hoist_vast_provider *vp;

	*out = NULL;
	if (!opts->api_key || !*opts->api_key)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "no Vast.ai API key: set VAST_API_KEY or "
				     "write the key to "
				     "~/.config/vastai/vast_api_key");
	if (strlen(opts->api_key) > HOIST_VAST_HTTP_KEY_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the Vast.ai API key is longer than %d "
				     "bytes", HOIST_VAST_HTTP_KEY_MAX);
	if (opts->image && strlen(opts->image) >= sizeof(vp->image))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the default image name is longer than "
				     "%zu bytes", sizeof(vp->image) - 1);
	if (opts->disk_gb != 0 && opts->disk_gb < HOIST_VAST_DISK_MIN_GB)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid default disk %g GB: Vast.ai "
				     "rents 8 GB or more", opts->disk_gb);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "libcurl initialization failed");
	vp = calloc(1, sizeof(*vp));
	if (!vp) {
		curl_global_cleanup();
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	}
	vp->base.ops = &vast_ops;
	vp->base.base = base;
	snprintf(vp->api_key, sizeof(vp->api_key), "%s", opts->api_key);
	snprintf(vp->image, sizeof(vp->image), "%s",
		 opts->image ? opts->image : "");
	vp->disk_gb = opts->disk_gb > 0 ? opts->disk_gb : DEFAULT_DISK_GB;
	vp->interruptible = opts->interruptible ? 1 : 0;
	vp->poll_interval_ms = opts->poll_interval_ms > 0 ?
			       opts->poll_interval_ms :
			       DEFAULT_POLL_INTERVAL_MS;

	memset(&settings, 0, sizeof(settings));
	settings.base_url = opts->base_url ? opts->base_url :
			    DEFAULT_BASE_URL;
	settings.api_key = opts->api_key;
	settings.timeout_ms = opts->request_timeout_ms > 0 ?
			      opts->request_timeout_ms : DEFAULT_TIMEOUT_MS;
	settings.max_retries = opts->max_retries > 0 ? opts->max_retries :
			       opts->max_retries < 0 ? 0 :
			       DEFAULT_MAX_RETRIES;
	settings.backoff_base_ms = opts->backoff_base_ms > 0 ?
				   opts->backoff_base_ms :
				   DEFAULT_BACKOFF_BASE_MS;
	settings.backoff_max_ms = opts->backoff_max_ms > 0 ?
				  opts->backoff_max_ms :
				  DEFAULT_BACKOFF_MAX_MS;
	if (hoist_vast_http_new(base, &settings, &vp->http, err)) {
		memset(vp->api_key, 0, sizeof(vp->api_key));
		free(vp);
		curl_global_cleanup();
		return -1;
	}
	*out = &vp->base;
	return 0;
}

/* Reads a key file into out; returns 1 when the file does not exist. */
static int read_key_file(const char *path, char *out, size_t outlen,
			 struct hoist_err *err)
{
	struct hoist_buf buf;
	struct hoist_err read_err = HOIST_ERR_INIT;
	const char *start;
	size_t len;
	int rc = -1;

	hoist_buf_init(&buf, KEY_FILE_MAX);
	if (hoist_util_read_file(path, &buf, &read_err)) {
		if (read_err.code == HOIST_E_NOT_FOUND) {
			rc = 1;
			goto out;
		}
		hoist_err_set(err, HOIST_E_IO,
			      "cannot read the Vast.ai key file %s: %s", path,
			      read_err.msg);
		goto out;
	}
	start = hoist_buf_str(&buf);
	while (*start == ' ' || *start == '\t' || *start == '\n' ||
	       *start == '\r')
		start++;
	len = strlen(start);
	while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t' ||
			   start[len - 1] == '\n' || start[len - 1] == '\r'))
		len--;
	if (len == 0) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "the Vast.ai key file %s is empty", path);
		goto out;
	}
	if (len >= outlen) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "the key in the Vast.ai key file %s is longer "
			      "than %zu bytes", path, outlen - 1);
		goto out;
	}
	memcpy(out, start, len);
	out[len] = '\0';
	rc = 0;
out:
	if (buf.data)
		memset(buf.data, 0, buf.cap);
	hoist_buf_release(&buf);
	return rc;
}

static int key_chars_valid(const char *key)
{
	for (const char *p = key; *p; p++)
		if (*p <= ' ' || *p > '~')
			return 0;
	return 1;
}

int hoist_provider_vast_load_key(char *out, size_t outlen,
				 struct hoist_err *err)
{
	const char *env = getenv("VAST_API_KEY");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char paths[2][PATH_MAX];
	int count = 0;
	int rc;

	if (outlen == 0)
		return hoist_err_set(err, HOIST_E_INTERNAL, "no room for a key");
	out[0] = '\0';
	if (env && *env) {
		if (strlen(env) >= outlen)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "VAST_API_KEY is longer than %zu "
					     "bytes", outlen - 1);
		snprintf(out, outlen, "%s", env);
		if (!key_chars_valid(out)) {
			memset(out, 0, outlen);
			return hoist_err_set(err, HOIST_E_INVALID,
					     "VAST_API_KEY holds spaces or "
					     "characters other than printable "
					     "ASCII");
		}
		return 0;
	}
	if (xdg && *xdg)
		snprintf(paths[count++], PATH_MAX, "%s/vastai/vast_api_key",
			 xdg);
	else if (home && *home)
		snprintf(paths[count++], PATH_MAX,
			 "%s/.config/vastai/vast_api_key", home);
	if (home && *home)
		snprintf(paths[count++], PATH_MAX, "%s/.vast_api_key", home);

	for (int i = 0; i < count; i++) {
		rc = read_key_file(paths[i], out, outlen, err);
		if (rc == 1)
			continue;
		if (rc == 0 && !key_chars_valid(out)) {
			memset(out, 0, outlen);
			return hoist_err_set(err, HOIST_E_INVALID,
					     "the key in %s holds spaces or "
					     "characters other than printable "
					     "ASCII", paths[i]);
		}
		return rc;
	}
	return hoist_err_set(err, HOIST_E_NOT_FOUND,
			     "no Vast.ai API key: set VAST_API_KEY or write "
			     "the key to %s (vastai set api-key KEY does)",
			     count > 0 ? paths[0] :
			     "~/.config/vastai/vast_api_key");
}
