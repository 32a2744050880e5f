/*
 * vast_instance.h - Vast.ai instance objects: their state for hoistd, the
 * conversion to struct hoist_provider_instance, and the check of a new
 * rental against what was asked.
 */
#ifndef HOIST_VAST_INSTANCE_H
#define HOIST_VAST_INSTANCE_H

#include <stddef.h>

#include <jansson.h>

#include "providers/provider.h"

/*
 * Maps an instance object to enum hoist_provider_state and writes the
 * status words ("running", "lost: exited: ...") to status:
 *
 *   actual_status null, "loading", "created", "scheduling", "rebooting",
 *   "restarting", "recycling", "frozen" or "stopped" while it is to
 *   resume, and any value not listed here             STARTING
 *   "running"                                         RUNNING
 *   "exited", "offline", "unknown"; "OCI runtime" in status_msg; or
 *   cur_state, intended_status and next_state all "stopped" (an
 *   interruptible instance that was outbid)           LOST
 *   actual_status or intended_status "destroyed" or "terminated"  GONE
 */
int hoist_vast_instance_state(const json_t *inst, char *status,
			      size_t statuslen);

/* Fills out from an instance object: id, label, state, status, machine
 * ("machine-<id>" in offer), GPU, dph_total and start_date.  Returns 0, or
 * -1 when the object has no valid id. */
int hoist_vast_instance_convert(const json_t *inst,
				struct hoist_provider_instance *out);

/* The expected properties of a new rental. */
struct hoist_vast_expect {
	const char *label;
	int interruptible;
	double rate;			/* USD/h at the requested disk */
	double disk_gb;
};

/* The price and disk a new rental may differ by without a mismatch: the
 * hourly rate may exceed the expected one by this share plus
 * HOIST_VAST_RATE_SLACK, and the disk may differ by 0.5 GB or 1 %. */
#define HOIST_VAST_RATE_TOLERANCE 0.02
#define HOIST_VAST_RATE_SLACK 0.002

enum hoist_vast_verdict {
	HOIST_VAST_VERIFIED = 0,
	HOIST_VAST_UNVERIFIED,		/* fields still null: read it again */
	HOIST_VAST_MISMATCH,
};

/*
 * Checks a new instance against e: the label, the rental type (is_bid;
 * absent counts as on-demand), the rate (dph_total) and the disk
 * (disk_space).  Stores the rate in *rate when verified, and the reason
 * in why (size whylen) otherwise.  Returns enum hoist_vast_verdict.
 */
int hoist_vast_instance_verify(const json_t *inst,
			       const struct hoist_vast_expect *e,
			       double *rate, char *why, size_t whylen);

#endif
