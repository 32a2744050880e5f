#include "sim/billing.h"

#include <string.h>

#define HOUR_SECONDS 3600.0

static double max_of(double a, double b)
{
	return a > b ? a : b;
}

static double min_of(double a, double b)
{
	return a < b ? a : b;
}

void hoist_sim_ledger_open(struct hoist_sim_ledger *ledger, double t,
			   double gpu_rate, double disk_rate)
{
	memset(ledger, 0, sizeof(*ledger));
	ledger->periods[0].start = t;
	ledger->periods[0].gpu_rate = gpu_rate;
	ledger->periods[0].disk_rate = disk_rate;
	ledger->count = 1;
	ledger->opened = t;
	ledger->closed = -1;
	ledger->folded_until = t;
}

static void add_span(struct hoist_sim_cost *cost,
		     const struct hoist_sim_period *p, double seconds)
{
	if (seconds <= 0)
		return;
	if (p->gpu_rate > 0) {
		cost->gpu_seconds += seconds;
		cost->gpu_usd += p->gpu_rate * seconds / HOUR_SECONDS;
	}
	if (p->disk_rate > 0) {
		cost->disk_seconds += seconds;
		cost->disk_usd += p->disk_rate * seconds / HOUR_SECONDS;
	}
}

/* Moves the oldest period into the folded total. */
static void fold_oldest(struct hoist_sim_ledger *ledger)
{
	const struct hoist_sim_period *p = &ledger->periods[0];
	double end = ledger->periods[1].start;

	add_span(&ledger->folded, p, end - p->start);
	ledger->folded_until = end;
	memmove(&ledger->periods[0], &ledger->periods[1],
		(ledger->count - 1) * sizeof(ledger->periods[0]));
	ledger->count--;
}

void hoist_sim_ledger_set(struct hoist_sim_ledger *ledger, double t,
			  double gpu_rate, double disk_rate)
{
	struct hoist_sim_period *last = &ledger->periods[ledger->count - 1];

	if (ledger->closed >= 0)
		return;
	if (gpu_rate == last->gpu_rate && disk_rate == last->disk_rate)
		return;
	if (t <= last->start) {
		/* A change at the same instant replaces the last one. */
		last->gpu_rate = gpu_rate;
		last->disk_rate = disk_rate;
		return;
	}
	if (ledger->count == HOIST_SIM_LEDGER_PERIODS)
		fold_oldest(ledger);
	last = &ledger->periods[ledger->count++];
	last->start = t;
	last->gpu_rate = gpu_rate;
	last->disk_rate = disk_rate;
}

void hoist_sim_ledger_close(struct hoist_sim_ledger *ledger, double t)
{
	if (ledger->closed >= 0)
		return;
	ledger->closed = max_of(t, ledger->periods[ledger->count - 1].start);
}

void hoist_sim_ledger_cost(const struct hoist_sim_ledger *ledger, double from,
			   double to, struct hoist_sim_cost *out)
{
	double folded_span = ledger->folded_until - ledger->opened;

	memset(out, 0, sizeof(*out));
	if (ledger->closed >= 0)
		to = min_of(to, ledger->closed);
	if (to <= from)
		return;

	if (folded_span > 0) {
		double overlap = min_of(to, ledger->folded_until) -
				 max_of(from, ledger->opened);
		double share = overlap / folded_span;

		if (share > 0) {
			/* NOTE: the folded time is billed pro rata, which is
			 * exact only for windows that cover all of it. */
			out->gpu_seconds = ledger->folded.gpu_seconds * share;
			out->disk_seconds = ledger->folded.disk_seconds * share;
			out->gpu_usd = ledger->folded.gpu_usd * share;
			out->disk_usd = ledger->folded.disk_usd * share;
		}
	}
	for (size_t i = 0; i < ledger->count; i++) {
		const struct hoist_sim_period *p = &ledger->periods[i];
		double end = i + 1 < ledger->count ?
			     ledger->periods[i + 1].start : to;

		add_span(out, p, min_of(end, to) - max_of(p->start, from));
	}
}

double hoist_sim_cost_usd(const struct hoist_sim_cost *cost)
{
	return cost->gpu_usd + cost->disk_usd;
}
