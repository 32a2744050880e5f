/*
 * provider.h - the compute provider interface of hoistd.
 *
 * A provider rents and destroys instances: the "local" provider runs each
 * instance as a detached process tree on this machine, "vast" rents them
 * on Vast.ai.  hoistd owns the only provider object and uses it from its
 * event loop thread.
 *
 * Operations are asynchronous.  create, list and destroy return 0 when the
 * operation was started, and then call their callback exactly once, later,
 * from the event loop (never from inside the call).  They return -1 with
 * err set when the operation could not be started, and then never call the
 * callback.  The instance and list pointers passed to a callback are valid
 * only during the callback.  A callback gets err NULL on success, and on
 * failure a filled err with NULL for the instance and list pointers.
 */
#ifndef HOIST_PROVIDER_H
#define HOIST_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/err.h"

enum hoist_provider_state {
	HOIST_PINST_STARTING = 0,	/* created, loading, scheduling */
	HOIST_PINST_RUNNING,		/* the machine runs the onstart script */
	HOIST_PINST_EXITED,		/* the onstart process tree ended */
	HOIST_PINST_LOST,		/* offline, outbid, unreachable, error */
	HOIST_PINST_GONE,		/* destroyed or never existed */
};

struct hoist_provider_instance {
	char id[64];			/* the provider's instance id */
	char label[128];		/* hoist's label, "" when none */
	int state;			/* enum hoist_provider_state */
	char status[160];		/* the provider's own status words */
	char offer[64];			/* offer or machine id */
	char gpu_name[64];
	int num_gpus;
	double price_per_hour;		/* the verified rate in USD */
	int64_t created_at_ms;
};

/* The instance hoistd requests.  env contains "NAME=value" strings, NULL-terminated,
 * and carries the attempt token: providers never log it. */
struct hoist_instance_request {
	const char *label;		/* unique; names orchestrator, job, attempt */
	const char *job_id;
	int attempt;
	const json_t *profile;		/* the job spec's "profile" object */
	const char *image;		/* container image, may be NULL */
	const char *onstart;		/* shell script run when the instance starts */
	const char *const *env;
};

typedef void (*hoist_provider_instance_cb)(
	void *arg, const struct hoist_err *err,
	const struct hoist_provider_instance *instance);

typedef void (*hoist_provider_list_cb)(
	void *arg, const struct hoist_err *err,
	const struct hoist_provider_instance *instances, size_t count);

/*
 * Receives the result of an offer search: {"offers": [{"id", "gpu_name"
 * (the provider's own name), "num_gpus", "price_per_hour",
 * "reliability", "location", "disk_gb", ...}], "filtered": [{"filter":
 * "max_dph", "removed": N}, ...]}, offers ranked best first, or NULL with
 * err set.  result is valid only during the callback; json_incref() it to
 * keep it.
 */
typedef void (*hoist_provider_offers_cb)(void *arg,
					 const struct hoist_err *err,
					 json_t *result);

struct hoist_provider;

struct hoist_provider_ops {
	const char *name;
	/* Rents one instance for req; the callback gets it (or the error,
	 * with HOIST_E_NOT_FOUND when no offer matches the profile). */
	int (*create)(struct hoist_provider *provider,
		      const struct hoist_instance_request *req,
		      hoist_provider_instance_cb cb, void *arg,
		      struct hoist_err *err);
	/* Lists the instances whose label starts with label_prefix. */
	int (*list)(struct hoist_provider *provider, const char *label_prefix,
		    hoist_provider_list_cb cb, void *arg,
		    struct hoist_err *err);
	/* Destroys an instance; an instance that is already gone is success.
	 * The callback's instance is NULL. */
	int (*destroy)(struct hoist_provider *provider, const char *id,
		       hoist_provider_instance_cb cb, void *arg,
		       struct hoist_err *err);
	/* Optional, synchronous: preempts the instance as a marketplace does
	 * (SIGTERM to every process, grace_seconds, then SIGKILL). */
	int (*preempt)(struct hoist_provider *provider, const char *id,
		       int grace_seconds, struct hoist_err *err);
	/* Optional, synchronous test switch: "freeze", "thaw",
	 * "block_destroy", "allow_destroy". */
	int (*fault)(struct hoist_provider *provider, const char *id,
		     const char *fault, struct hoist_err *err);
	void (*close)(struct hoist_provider *provider);
	/* Optional: searches the offers that match a job spec's "profile"
	 * object without renting one, for `hoist offers`.  Same contract as
	 * create; NULL when the provider has no offer search. */
	int (*offers)(struct hoist_provider *provider, const json_t *profile,
		      hoist_provider_offers_cb cb, void *arg,
		      struct hoist_err *err);
};

struct hoist_provider {
	const struct hoist_provider_ops *ops;
	struct event_base *base;
};

/*
 * Opens the local provider.  root is the folder that contains one folder per
 * instance (created if missing); offers_path is its YAML offers file.
 */
int hoist_provider_local_open(struct event_base *base, const char *root,
			      const char *offers_path,
			      struct hoist_provider **out,
			      struct hoist_err *err);

void hoist_provider_close(struct hoist_provider *provider);

/* Returns "starting", "running", "exited", "lost" or "gone", and
 * "unknown" for a value outside enum hoist_provider_state. */
const char *hoist_provider_state_name(int state);

/* Settings of the Vast.ai provider.  Zero fields take the default. */
struct hoist_vast_options {
	const char *base_url;		/* NULL: "https://console.vast.ai" */
	const char *api_key;		/* required; sent only as a bearer token */
	long request_timeout_ms;	/* one HTTP request; 0: 30000 */
	int max_retries;		/* after the first try; 0: 4, < 0: none */
	int interruptible;		/* rental type when a profile names none */
	const char *image;		/* container image when a job names none */
	double disk_gb;			/* disk when a profile names none; 0: 20 */
	long backoff_base_ms;		/* first retry delay ceiling; 0: 500 */
	long backoff_max_ms;		/* retry delay ceiling; 0: 30000 */
	long poll_interval_ms;		/* between reads of a new instance;
					 * 0: 3000 */
};

/*
 * Opens the Vast.ai provider, which rents instances through the Vast.ai
 * REST API with libcurl driven by base.  The options are copied.  Fails
 * with HOIST_E_INVALID when the key is missing or the base URL is not an
 * http(s) URL.
 */
int hoist_provider_vast_open(struct event_base *base,
			     const struct hoist_vast_options *opts,
			     struct hoist_provider **out,
			     struct hoist_err *err);

/*
 * Loads the Vast.ai API key as the official CLI finds it: $VAST_API_KEY,
 * then $XDG_CONFIG_HOME/vastai/vast_api_key (~/.config/vastai/vast_api_key
 * when XDG_CONFIG_HOME is unset), then the legacy ~/.vast_api_key.
 * Surrounding whitespace is removed.  Fails with HOIST_E_NOT_FOUND when
 * none is set and HOIST_E_INVALID for a key that is empty, too long for
 * out or contains characters outside printable ASCII; the message never
 * contains the key.
 */
int hoist_provider_vast_load_key(char *out, size_t outlen,
				 struct hoist_err *err);

#endif
