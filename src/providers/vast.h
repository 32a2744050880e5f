/*
 * vast.h - calls of the Vast.ai provider beyond struct hoist_provider_ops:
 * show, stop, start and re-bid one instance, and read the account's
 * credit and charges for cost reconciliation.
 *
 * provider must come from hoist_provider_vast_open(); another provider
 * fails with HOIST_E_INVALID.  Like the provider ops, each call returns 0
 * and calls its callback exactly once, later, from the event loop, or
 * returns -1 with err set and never calls it.  Pointers passed to a
 * callback are valid only during the callback.  Instance ids are the
 * decimal ids that list and create report.
 */
#ifndef HOIST_VAST_H
#define HOIST_VAST_H

#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "providers/provider.h"

typedef void (*hoist_vast_done_cb)(void *arg, const struct hoist_err *err);

/* raw is the instance object as the API sent it and instance its
 * conversion; both are NULL, without an error, when the instance does not
 * exist (any more). */
typedef void (*hoist_vast_show_cb)(
	void *arg, const struct hoist_err *err, const json_t *raw,
	const struct hoist_provider_instance *instance);

typedef void (*hoist_vast_credit_cb)(void *arg, const struct hoist_err *err,
				     double credit_usd);

/*
 * charges is {"total": USD, "charges": [{"instance_id": "123", "label",
 * "description", "start", "end" (Unix seconds), "amount" (USD), "items":
 * [{"type": "gpu"|"disk"|"bwd"|"bwu", "description", "amount"}]}]}, or
 * NULL with err set.
 */
typedef void (*hoist_vast_charges_cb)(void *arg, const struct hoist_err *err,
				      json_t *charges);

/* Reads one instance (GET /api/v0/instances/{id}/). */
int hoist_vast_show(struct hoist_provider *provider, const char *id,
		    hoist_vast_show_cb cb, void *arg, struct hoist_err *err);

/* Stops an instance: its disk stays and is billed, its GPUs are freed. */
int hoist_vast_stop(struct hoist_provider *provider, const char *id,
		    hoist_vast_done_cb cb, void *arg, struct hoist_err *err);

/* Asks a stopped instance to run again; it waits ("scheduling") while its
 * GPUs are taken. */
int hoist_vast_start(struct hoist_provider *provider, const char *id,
		     hoist_vast_done_cb cb, void *arg, struct hoist_err *err);

/*
 * Changes the bid of an interruptible instance to price_per_hour, in USD
 * per hour for the whole machine; a negative price lets Vast.ai choose a
 * winning bid.  The API accepts 0.001 to 32 times the GPU count.
 */
int hoist_vast_change_bid(struct hoist_provider *provider, const char *id,
			  double price_per_hour, hoist_vast_done_cb cb,
			  void *arg, struct hoist_err *err);

/* Reads the account's spendable credit in USD (GET /api/v0/users/current/,
 * field "credit"). */
int hoist_vast_user_credit(struct hoist_provider *provider,
			   hoist_vast_credit_cb cb, void *arg,
			   struct hoist_err *err);

/*
 * Reads the per-instance charges of the days from start_s to end_s (Unix
 * seconds, end_s >= start_s) from GET /api/v0/charges/, all pages.
 */
int hoist_vast_charges(struct hoist_provider *provider, int64_t start_s,
		       int64_t end_s, hoist_vast_charges_cb cb, void *arg,
		       struct hoist_err *err);

#endif
