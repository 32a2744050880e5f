/*
 * vast_provider.h - the Vast.ai provider object and its operations,
 * shared by vast.c (open, close, list, destroy and the calls of vast.h)
 * and vast_create.c (create and offer search).  Internal to
 * src/providers.
 *
 * An operation lives from the provider call that starts it to its one
 * callback.  Its steps are HTTP requests whose callbacks run from the
 * event loop, so a step may finish the operation at once.
 */
#ifndef HOIST_VAST_PROVIDER_H
#define HOIST_VAST_PROVIDER_H

#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "providers/provider.h"
#include "providers/vast.h"
#include "providers/vast_http.h"
#include "providers/vast_offers.h"

/* The marketplace's GPU names are fetched again after this long, in ms. */
#define HOIST_VAST_GPU_NAMES_TTL_MS (24 * 60 * 60 * 1000)

struct hoist_vast_provider {
	struct hoist_provider base;	/* first: the ops get &base */
	struct hoist_vast_http *http;
	char api_key[HOIST_VAST_HTTP_KEY_MAX + 1];	/* to redact errors */
	char image[1024];		/* "" when there is no default */
	double disk_gb;
	int interruptible;
	long poll_interval_ms;
	struct hoist_vast_machines machines;
	json_t *gpu_names;		/* array of strings, or NULL */
	int64_t gpu_names_mono_ms;
	struct hoist_vast_op *ops;
	int closing;
};

enum hoist_vast_op_kind {
	HOIST_VAST_OP_CREATE,
	HOIST_VAST_OP_LIST,
	HOIST_VAST_OP_DESTROY,
	HOIST_VAST_OP_OFFERS,
	HOIST_VAST_OP_SHOW,
	HOIST_VAST_OP_DONE,
	HOIST_VAST_OP_CREDIT,
	HOIST_VAST_OP_CHARGES,
};

struct hoist_vast_create;
struct hoist_vast_op;

/* Called when hoist_vast_op_list_all() has all pages in op->pages_acc,
 * or with op->err set. */
typedef void (*hoist_vast_pages_done)(struct hoist_vast_op *op);

typedef void (*hoist_vast_delete_done)(struct hoist_vast_op *op,
				       const struct hoist_err *err);

struct hoist_vast_op {
	struct hoist_vast_op *prev;
	struct hoist_vast_op *next;
	struct hoist_vast_provider *vp;
	enum hoist_vast_op_kind kind;
	struct event *timer;		/* delays between steps */
	void (*on_timer)(struct hoist_vast_op *op);
	void *arg;
	hoist_provider_instance_cb instance_cb;
	hoist_provider_list_cb list_cb;
	hoist_provider_offers_cb offers_cb;
	hoist_vast_show_cb show_cb;
	hoist_vast_done_cb done_cb;
	hoist_vast_credit_cb credit_cb;
	hoist_vast_charges_cb charges_cb;
	struct hoist_err err;

	char id[24];			/* the instance of destroy, show, ... */
	char label_prefix[128];		/* list */
	struct hoist_provider_instance instance;	/* create, show */
	int have_instance;
	struct hoist_provider_instance *instances;	/* list */
	size_t count;
	json_t *raw;			/* show: the instance object */
	json_t *result;			/* offers, charges */
	double credit;

	/* Paging through GET /api/v1/instances/ or /api/v0/charges/. */
	json_t *pages_acc;
	char next_token[512];
	int pages;
	hoist_vast_pages_done pages_done;
	hoist_vast_delete_done delete_done;
	char delete_id[24];
	int64_t charges_start;
	int64_t charges_end;

	struct hoist_vast_create *create;	/* create and offers */
};

/* Allocates an operation and links it to vp; NULL with err set. */
struct hoist_vast_op *hoist_vast_op_new(struct hoist_vast_provider *vp,
					enum hoist_vast_op_kind kind,
					void *arg, struct hoist_err *err);

/* Unlinks op, calls its callback with op->err (when set) or its result,
 * and frees it.  The callback may close the provider. */
void hoist_vast_op_finish(struct hoist_vast_op *op);

/* Frees an operation whose callback must not run (it failed to start). */
void hoist_vast_op_discard(struct hoist_vast_op *op);

/* Runs on_timer(op) from the event loop after delay_ms. */
void hoist_vast_op_schedule(struct hoist_vast_op *op, long delay_ms,
			    void (*on_timer)(struct hoist_vast_op *op));

/* Sends a request for op; the response goes to cb with op as its arg.
 * Returns -1 with op->err set when it cannot be sent. */
int hoist_vast_op_send(struct hoist_vast_op *op, const char *method,
		       const char *path, const char *query,
		       const json_t *body, int retry, hoist_vast_http_cb cb);

/* Fills op->err from a failed response and returns -1. */
int hoist_vast_op_fail(struct hoist_vast_op *op,
		       const struct hoist_vast_http_response *resp,
		       const char *context);

/*
 * Reads every page of GET /api/v1/instances/ into op->pages_acc (a new
 * array of instance objects), then calls done, with op->err set on
 * failure.  Returns -1 with op->err set when the first request cannot be
 * sent; done is not called then.
 */
int hoist_vast_op_list_all(struct hoist_vast_op *op,
			   hoist_vast_pages_done done);

/*
 * Starts DELETE /api/v0/instances/{id}/ for op and then calls done with
 * NULL when the instance is gone, including when it was gone already, or
 * with the error.  Returns -1 with op->err set when it cannot be sent.
 */
int hoist_vast_op_delete(struct hoist_vast_op *op, const char *id,
			 hoist_vast_delete_done done);

/* Frees the state of a create or offers operation; NULL is ignored. */
void hoist_vast_create_free(struct hoist_vast_create *create);

/* The create and offers ops of the provider (vast_create.c). */
int hoist_vast_create_instance(struct hoist_provider *provider,
			       const struct hoist_instance_request *req,
			       hoist_provider_instance_cb cb, void *arg,
			       struct hoist_err *err);
int hoist_vast_create_offers(struct hoist_provider *provider,
			     const json_t *profile,
			     hoist_provider_offers_cb cb, void *arg,
			     struct hoist_err *err);

#endif
