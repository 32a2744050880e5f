#include "providers/vast_instance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "providers/vast_json.h"

static int is(const char *value, const char *expected)
{
	return value && strcmp(value, expected) == 0;
}

static int is_any(const char *value, const char *const *list)
{
	for (; *list; list++)
		if (is(value, *list))
			return 1;
	return 0;
}

/* Finds "OCI runtime" in any case, as in ": OCI runtime create failed:". */
static int has_oci_error(const char *msg)
{
	static const char needle[] = "oci runtime";

	if (!msg)
		return 0;
	for (; *msg; msg++)
		if (strncasecmp(msg, needle, sizeof(needle) - 1) == 0)
			return 1;
	return 0;
}

int hoist_vast_instance_state(const json_t *inst, char *status,
			      size_t statuslen)
{
	static const char *const gone[] = { "destroyed", "terminated", NULL };
	static const char *const failed[] = {
		"exited", "offline", "unknown", NULL,
	};
	const char *actual = hoist_vast_json_get_string(inst, "actual_status");
	const char *intended = hoist_vast_json_get_string(inst,
							 "intended_status");
	const char *cur = hoist_vast_json_get_string(inst, "cur_state");
	const char *next = hoist_vast_json_get_string(inst, "next_state");
	const char *msg = hoist_vast_json_get_string(inst, "status_msg");
	int is_bid = 0;

	if (hoist_vast_json_get_bool(inst, "is_bid", &is_bid))
		is_bid = 0;
	if (is_any(actual, gone) || is_any(intended, gone)) {
		snprintf(status, statuslen, "%s",
			 is_any(actual, gone) ? actual : intended);
		return HOIST_PINST_GONE;
	}
	if (has_oci_error(msg)) {
		snprintf(status, statuslen,
			 "lost: container failed to start: %.100s", msg);
		return HOIST_PINST_LOST;
	}
	if (is_any(actual, failed)) {
		if (msg && *msg)
			snprintf(status, statuslen, "lost: %s: %.100s", actual,
				 msg);
		else
			snprintf(status, statuslen, "lost: %s", actual);
		return HOIST_PINST_LOST;
	}
	if (is(cur, "stopped") && is(intended, "stopped") &&
	    is(next, "stopped")) {
		snprintf(status, statuslen, "lost: %s (cur_state, "
			 "intended_status and next_state are stopped)",
			 is_bid ? "outbid" : "stopped");
		return HOIST_PINST_LOST;
	}
	if (is(actual, "running")) {
		snprintf(status, statuslen, "running");
		return HOIST_PINST_RUNNING;
	}
	if (is(actual, "stopped"))
		snprintf(status, statuslen, "stopped, waiting to resume");
	else
		snprintf(status, statuslen, "%.60s",
			 actual ? actual : "provisioning");
	return HOIST_PINST_STARTING;
}

int hoist_vast_instance_convert(const json_t *inst,
				struct hoist_provider_instance *out)
{
	const char *label = hoist_vast_json_get_string(inst, "label");
	const char *gpu = hoist_vast_json_get_string(inst, "gpu_name");
	char machine[24];
	double v;

	memset(out, 0, sizeof(*out));
	if (hoist_vast_json_get_id(inst, "id", out->id, sizeof(out->id)))
		return -1;
	snprintf(out->label, sizeof(out->label), "%s", label ? label : "");
	out->state = hoist_vast_instance_state(inst, out->status,
					       sizeof(out->status));
	if (!hoist_vast_json_get_id(inst, "machine_id", machine,
				    sizeof(machine)))
		snprintf(out->offer, sizeof(out->offer), "machine-%s",
			 machine);
	snprintf(out->gpu_name, sizeof(out->gpu_name), "%s", gpu ? gpu : "");
	if (!hoist_vast_json_get_number(inst, "num_gpus", &v) && v >= 0 &&
	    v < 1024)
		out->num_gpus = (int)v;
	if (!hoist_vast_json_get_number(inst, "dph_total", &v) && v >= 0)
		out->price_per_hour = v;
	if (!hoist_vast_json_get_number(inst, "start_date", &v) && v > 0)
		out->created_at_ms = (int64_t)(v * 1000);
	return 0;
}

int hoist_vast_instance_verify(const json_t *inst,
			       const struct hoist_vast_expect *e,
			       double *rate, char *why, size_t whylen)
{
	const char *label = hoist_vast_json_get_string(inst, "label");
	double disk;
	double total;
	double disk_slack;
	int is_bid = 0;

	why[0] = '\0';
	if (!label || hoist_vast_json_get_number(inst, "dph_total", &total) ||
	    hoist_vast_json_get_number(inst, "disk_space", &disk)) {
		snprintf(why, whylen, "the instance has no %s yet",
			 !label ? "label" : "dph_total or disk_space");
		return HOIST_VAST_UNVERIFIED;
	}
	if (strcmp(label, e->label) != 0) {
		snprintf(why, whylen, "label '%.60s', expected '%.60s'", label,
			 e->label);
		return HOIST_VAST_MISMATCH;
	}
	if (hoist_vast_json_get_bool(inst, "is_bid", &is_bid))
		is_bid = 0;
	if (is_bid != (e->interruptible != 0)) {
		snprintf(why, whylen, "rental type %s, expected %s",
			 is_bid ? "interruptible" : "on-demand",
			 e->interruptible ? "interruptible" : "on-demand");
		return HOIST_VAST_MISMATCH;
	}
	/* NOTE: for an interruptible instance this assumes that dph_total
	 * is the bid plus storage, as in bid searches.  No public source
	 * states what dph_total of a rented bid instance contains. */
	if (total > e->rate * (1 + HOIST_VAST_RATE_TOLERANCE) +
		    HOIST_VAST_RATE_SLACK) {
		snprintf(why, whylen, "rate $%.4f/h, expected at most "
			 "$%.4f/h", total, e->rate);
		return HOIST_VAST_MISMATCH;
	}
	disk_slack = e->disk_gb * 0.01 > 0.5 ? e->disk_gb * 0.01 : 0.5;
	if (disk - e->disk_gb > disk_slack || e->disk_gb - disk > disk_slack) {
		snprintf(why, whylen, "disk %.1f GB, expected %.1f GB", disk,
			 e->disk_gb);
		return HOIST_VAST_MISMATCH;
	}
	*rate = total;
	return HOIST_VAST_VERIFIED;
}
