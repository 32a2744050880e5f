/*
 * billing.c - replaces hoistd's cost estimate of each destroyed instance
 * with what the provider billed for it.
 *
 * While an instance lives, hoistd estimates its cost as the verified rate
 * times the time from creation to now.  Vast.ai bills per second and by
 * state, as hoist sim models it (docs/simulator.md, "Billing"): the GPU
 * part of the rate only while the instance runs, so not while it boots or
 * is stopped after an outbid, and the storage part from creation to
 * destruction.  No hoistd tick sees those transitions to the second, so
 * after the destruction hoistd reads the account's charges and stores the
 * instance's billed amount, which from then on is its cost.  Only the
 * vast provider has charges; the instances of other providers keep the
 * estimate.
 */
#include "orchestrator/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "providers/vast.h"

/* Pause after the first read that left an instance without a charge; it
 * doubles up to BILLING_RETRY_MAX_MS. */
#define BILLING_RETRY_FIRST_MS 2000
#define BILLING_RETRY_MAX_MS (10 * 60 * 1000)

/*
 * A charge that ends more than this before hoistd confirmed the
 * destruction does not cover the instance's last part yet.  The gap is
 * the destroy call's own time, retries included.
 * NOTE: a guess; how soon Vast.ai's charges cover a destroyed instance
 * is not documented.
 */
#define BILLING_END_SLACK_MS (5 * 60 * 1000)

/* An instance that still has no charge this long after its destruction
 * keeps the estimate (a provider bills nothing for an instance that cost
 * nothing). */
#define BILLING_GIVE_UP_MS (48LL * 3600 * 1000)

#define DAY_SECONDS 86400

static int provider_bills(const struct hoist_daemon *daemon)
{
	return daemon->provider && daemon->provider->ops->name &&
	       strcmp(daemon->provider->ops->name, "vast") == 0;
}

void hoist_billing_track(struct hoist_daemon *daemon,
			 const struct hoist_instance_record *rec)
{
	struct hoist_unbilled_instance *u;

	if (rec->state != HOIST_INSTANCE_DESTROYED || rec->billed ||
	    rec->created_at == 0 || !provider_bills(daemon) ||
	    strcmp(rec->provider, daemon->provider->ops->name) != 0 ||
	    hoist_clock_now_ms() - rec->destroyed_at > BILLING_GIVE_UP_MS)
		return;
	for (u = daemon->unbilled; u; u = u->next) {
		if (strcmp(u->rec.id, rec->id) == 0) {
			u->rec = *rec;
			return;
		}
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		hoist_log_error("job=%s out of memory: instance %s keeps its "
				"cost estimate", rec->job_id, rec->id);
		return;
	}
	u->rec = *rec;
	u->next = daemon->unbilled;
	daemon->unbilled = u;
	/* Read the charges at the next tick. */
	daemon->billing_next_mono = 0;
	daemon->billing_retry_ms = 0;
}

void hoist_billing_free(struct hoist_daemon *daemon)
{
	while (daemon->unbilled) {
		struct hoist_unbilled_instance *next = daemon->unbilled->next;

		free(daemon->unbilled);
		daemon->unbilled = next;
	}
}

static void schedule_retry(struct hoist_daemon *daemon)
{
	if (daemon->billing_retry_ms < BILLING_RETRY_FIRST_MS)
		daemon->billing_retry_ms = BILLING_RETRY_FIRST_MS;
	else if (daemon->billing_retry_ms < BILLING_RETRY_MAX_MS / 2)
		daemon->billing_retry_ms *= 2;
	else
		daemon->billing_retry_ms = BILLING_RETRY_MAX_MS;
	daemon->billing_next_mono = hoist_clock_mono_ms() +
				    daemon->billing_retry_ms;
}

static struct hoist_unbilled_instance *find_unbilled(
	struct hoist_daemon *daemon, const char *id)
{
	for (struct hoist_unbilled_instance *u = daemon->unbilled; u;
	     u = u->next)
		if (strcmp(u->rec.id, id) == 0)
			return u;
	return NULL;
}

/* Adds up the charges of each unbilled instance; an instance may have one
 * charge per day it existed. */
static void sum_charges(struct hoist_daemon *daemon, const json_t *charges)
{
	const json_t *charge;
	size_t i;

	for (struct hoist_unbilled_instance *u = daemon->unbilled; u;
	     u = u->next) {
		u->charged_usd = 0;
		u->charged_until_ms = 0;
		u->charge_count = 0;
	}
	json_array_foreach(json_object_get(charges, "charges"), i, charge) {
		const char *id = json_string_value(
			json_object_get(charge, "instance_id"));
		double amount = json_number_value(
			json_object_get(charge, "amount"));
		double end_s = json_number_value(json_object_get(charge,
								 "end"));
		struct hoist_unbilled_instance *u;

		u = id ? find_unbilled(daemon, id) : NULL;
		if (!u)
			continue;
		u->charged_usd += amount;
		if ((int64_t)(end_s * 1000) > u->charged_until_ms)
			u->charged_until_ms = (int64_t)(end_s * 1000);
		u->charge_count++;
	}
}

/* Stores the charge of u when it covers the whole instance.  Returns 1
 * when u is done with, billed or given up. */
static int settle(struct hoist_daemon *daemon,
		  struct hoist_unbilled_instance *u, int64_t now_ms)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_instance_record rec = u->rec;
	double estimate = hoist_model_instance_cost(&rec, rec.destroyed_at);

	if (u->charge_count == 0 ||
	    u->charged_until_ms < rec.destroyed_at - BILLING_END_SLACK_MS) {
		if (now_ms - rec.destroyed_at <= BILLING_GIVE_UP_MS)
			return 0;
		hoist_log_warn("job=%s instance %s: the provider has no full "
			       "charge %lld h after its destruction; keeping "
			       "the estimate $%.4f", rec.job_id, rec.id,
			       BILLING_GIVE_UP_MS / 3600000, estimate);
		return 1;
	}
	rec.billed = 1;
	rec.billed_usd = u->charged_usd > 0 ? u->charged_usd : 0;
	if (hoist_jobs_put_instance(daemon, &rec, &err)) {
		hoist_log_error("job=%s cannot save the charge of instance "
				"%s: %s", rec.job_id, rec.id, err.msg);
		return 0;
	}
	hoist_log_info("job=%s instance %s billed $%.6f by the provider "
		       "(estimate $%.6f)", rec.job_id, rec.id, rec.billed_usd,
		       estimate);
	return 1;
}

static void on_charges(void *arg, const struct hoist_err *err,
		       json_t *charges)
{
	struct hoist_daemon *daemon = arg;
	struct hoist_unbilled_instance **link = &daemon->unbilled;
	int64_t now_ms = hoist_clock_now_ms();

	daemon->billing_inflight = 0;
	if (err && err->code) {
		schedule_retry(daemon);
		hoist_log_warn("cannot read the provider's charges, retrying "
			       "in %lld s: %s",
			       (long long)daemon->billing_retry_ms / 1000,
			       err->msg);
		return;
	}
	sum_charges(daemon, charges);
	while (*link) {
		struct hoist_unbilled_instance *u = *link;

		if (settle(daemon, u, now_ms)) {
			*link = u->next;
			free(u);
		} else {
			link = &u->next;
		}
	}
	if (daemon->unbilled) {
		schedule_retry(daemon);
	} else {
		daemon->billing_retry_ms = 0;
		daemon->billing_next_mono = 0;
	}
}

void hoist_billing_tick(struct hoist_daemon *daemon)
{
	struct hoist_err err = HOIST_ERR_INIT;
	int64_t first_ms = 0;
	int64_t start_s;
	int64_t end_s;

	if (!daemon->unbilled || daemon->billing_inflight ||
	    hoist_clock_mono_ms() < daemon->billing_next_mono)
		return;
	for (struct hoist_unbilled_instance *u = daemon->unbilled; u;
	     u = u->next)
		if (first_ms == 0 || u->rec.created_at < first_ms)
			first_ms = u->rec.created_at;
	/* The charges filter takes days: start at the UTC day of the oldest
	 * creation, and end after now. */
	start_s = first_ms / 1000;
	start_s -= start_s % DAY_SECONDS;
	end_s = hoist_clock_now_ms() / 1000 + 1;
	if (hoist_vast_charges(daemon->provider, start_s, end_s, on_charges,
			       daemon, &err)) {
		hoist_log_warn("cannot read the provider's charges: %s",
			       err.msg);
		schedule_retry(daemon);
		return;
	}
	daemon->billing_inflight = 1;
}
