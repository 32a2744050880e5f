/*
 * billing.h - per-second billing of one simulated instance.
 *
 * A ledger is a list of periods, each with a compute rate and a storage
 * rate in $/hour that hold from the period's start to the next period's
 * start (or to the close of the ledger).  The cost of any time window is
 * the exact integral of the rates over it, so a client can check its own
 * cost estimate against the simulator to the cent.
 *
 * A ledger keeps at most HOIST_SIM_LEDGER_PERIODS periods.  When it is
 * full, the oldest period is folded into a total that keeps its dollars
 * and seconds.  A window that starts inside the folded time gets a share
 * of that total in proportion to its overlap.
 */
#ifndef HOIST_SIM_BILLING_H
#define HOIST_SIM_BILLING_H

#include <stddef.h>

#define HOIST_SIM_LEDGER_PERIODS 256

struct hoist_sim_period {
	double start;		/* epoch seconds */
	double gpu_rate;	/* $/hour for compute */
	double disk_rate;	/* $/hour for storage */
};

/* Seconds billed and dollars charged. */
struct hoist_sim_cost {
	double gpu_seconds;	/* seconds with a compute rate above 0 */
	double disk_seconds;	/* seconds with a storage rate above 0 */
	double gpu_usd;
	double disk_usd;
};

struct hoist_sim_ledger {
	struct hoist_sim_period periods[HOIST_SIM_LEDGER_PERIODS];
	size_t count;
	double opened;			/* the start of the first period */
	double closed;			/* the end of billing, or -1 */
	double folded_until;		/* the end of the folded time */
	struct hoist_sim_cost folded;	/* the cost of the folded time */
};

/* Opens a ledger at time t with the given rates. */
void hoist_sim_ledger_open(struct hoist_sim_ledger *ledger, double t,
			   double gpu_rate, double disk_rate);

/* Changes the rates from time t on.  A t before the last change is taken
 * as the time of the last change.  No effect on a closed ledger. */
void hoist_sim_ledger_set(struct hoist_sim_ledger *ledger, double t,
			  double gpu_rate, double disk_rate);

/* Ends billing at time t (the instance was destroyed). */
void hoist_sim_ledger_close(struct hoist_sim_ledger *ledger, double t);

/* Stores in out the cost of the window [from, to]. */
void hoist_sim_ledger_cost(const struct hoist_sim_ledger *ledger, double from,
			   double to, struct hoist_sim_cost *out);

/* Returns the total dollars of a cost. */
double hoist_sim_cost_usd(const struct hoist_sim_cost *cost);

#endif
