/*
 * daemon.h - the state of one hoistd process, shared by its modules:
 * jobs.c (live jobs and their state machine), api.c (the HTTP API),
 * reconcile.c (the monitor) and main.c (start-up and shutdown).
 *
 * hoistd runs a single event loop, so none of this needs locks.  The store
 * is the durable record.  struct hoist_live_job caches the unfinished jobs and
 * their current attempt, and every change of state is written through to
 * the store at once.  Heartbeats only update memory; the flush timer writes
 * the changed attempts in one transaction.
 */
#ifndef HOIST_DAEMON_H
#define HOIST_DAEMON_H

#include <limits.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "common/err.h"
#include "orchestrator/model.h"
#include "orchestrator/store.h"
#include "providers/provider.h"
#include "storage/artifact.h"

struct hoist_daemon_settings {
	int tick_ms;			/* reconcile period */
	int flush_ms;			/* heartbeat batch period */
	int heartbeat_interval_ms;	/* told to agents */
	int heartbeat_timeout_ms;	/* silence before the provider is asked */
	int hung_timeout_ms;		/* silence that ends an attempt anyway */
	int start_timeout_ms;		/* instance up to agent claim */
	int stop_timeout_ms;		/* extra wait after grace for an exit */
	int retry_delay_ms;		/* wait after the first failed attempt */
};

/* A live job, its current attempt, and the state kept only in memory. */
struct hoist_live_job {
	struct hoist_job_record job;
	struct hoist_attempt_record attempt;	/* valid if has_attempt */
	int has_attempt;
	char agent_state[16];		/* last heartbeat's state */
	int64_t heartbeat_mono;		/* monotonic ms of the last contact */
	int64_t phase_mono;		/* monotonic ms the attempt entered
					 * its state */
	int64_t first_start_ms;		/* wall ms the first attempt began */
	int provisioning;		/* a create call is in flight */
	int dirty;			/* attempt or job awaits the flush */
	char stop_reason[HOIST_REASON_MAX];	/* cancel or max duration */
	int64_t stop_mono;		/* when the stop was requested */
	int64_t last_committed_step;	/* -1 when none */
	int64_t retry_mono;		/* no new attempt before this time */
	/* Why the last attempt could not start, for the user.
	 * NOTE: kept in memory only; a restarted hoistd shows none. */
	char message[HOIST_ERR_MSG_MAX + 64];
	/* Error of the agent's last failed checkpoint upload, "" once one
	 * commits.  NOTE: kept in memory only, like message. */
	char checkpoint_error[HOIST_ERR_MSG_MAX];
	struct hoist_live_job *next;
	struct hoist_live_job *token_next;	/* chain of a token bucket */
	int token_indexed;
};

/* An instance that is not confirmed destroyed yet. */
struct hoist_live_instance {
	struct hoist_instance_record rec;
	int destroy_inflight;
	int seen;			/* listed by the provider this tick */
	int provider_state;		/* enum hoist_provider_state, as listed */
	char provider_status[160];
	int64_t added_mono;		/* when hoistd started tracking it */
	int64_t destroy_error_mono;	/* last failed destroy, for logging */
	struct hoist_live_instance *next;
};

/* A destroyed instance whose charge hoistd has not read yet (billing.c). */
struct hoist_unbilled_instance {
	struct hoist_instance_record rec;
	double charged_usd;		/* sum of its charges in the last read */
	int64_t charged_until_ms;	/* latest end of those charges */
	int charge_count;
	struct hoist_unbilled_instance *next;
};

/* A token hoistd revoked, remembered so that a fenced agent's calls can be
 * logged with its job and attempt. */
struct hoist_revoked_token {
	char token_sha256[65];
	char job_id[HOIST_ID_MAX];
	int attempt;
	int64_t rejected;		/* calls rejected so far */
};

#define HOIST_REVOKED_MAX 256
#define HOIST_TOKEN_BUCKETS 4096	/* a power of two */

struct hoist_daemon {
	struct event_base *base;
	struct evhttp *http;
	struct hoist_store *store;
	struct hoist_provider *provider;
	struct hoist_artifact_store *artifacts;
	struct hoist_presigner *presigner;	/* NULL unless s3:// storage */
	/* Owned; NULL until hoist_spool_start() and after hoist_spool_stop(). */
	struct hoist_spool *spool;
	struct hoist_daemon_settings settings;

	char home[2048];			/* shorter than PATH_MAX, so file names fit */
	char url[256];			/* http://host:port of the API */
	char admin_token[HOIST_TOKEN_HEX + 1];
	char orchestrator_id[17];	/* names this hoistd in labels */
	char label_prefix[64];		/* "hoist-<orchestrator_id>-" */
	char storage_url[PATH_MAX + 16];
	char agent_path[PATH_MAX];

	struct hoist_live_job *jobs;
	struct hoist_live_instance *instances;
	/* Live attempts by token hash, for the agent calls. */
	struct hoist_live_job *token_buckets[HOIST_TOKEN_BUCKETS];
	struct hoist_revoked_token revoked[HOIST_REVOKED_MAX];	/* a ring */
	size_t revoked_next;
	int list_inflight;
	int64_t list_started_mono;
	int64_t list_error_mono;	/* last logged list failure */
	struct hoist_unbilled_instance *unbilled;
	int billing_inflight;		/* a charges read is pending */
	int64_t billing_next_mono;	/* no charges read before this */
	int64_t billing_retry_ms;	/* pause after an incomplete read */
	struct event *tick_event;
	struct event *flush_event;
	int stopping;
};

/* jobs.c */
int hoist_jobs_load(struct hoist_daemon *daemon, struct hoist_err *err);
void hoist_jobs_free_all(struct hoist_daemon *daemon);
struct hoist_live_job *hoist_jobs_find(struct hoist_daemon *daemon,
				       const char *id);
struct hoist_live_job *hoist_jobs_find_by_token(struct hoist_daemon *daemon,
						const char *token);
/* Adds live's current attempt to the token index, or removes it. */
void hoist_jobs_index_token(struct hoist_daemon *daemon,
			    struct hoist_live_job *live);
void hoist_jobs_unindex_token(struct hoist_daemon *daemon,
			      struct hoist_live_job *live);
/* Returns the record of a recently revoked token, or NULL. */
struct hoist_revoked_token *hoist_jobs_find_revoked(
	struct hoist_daemon *daemon, const char *token);
int hoist_jobs_submit(struct hoist_daemon *daemon, json_t *spec,
		      char *id_out, size_t id_len, struct hoist_err *err);
int hoist_jobs_validate_spec(const json_t *spec, struct hoist_err *err);
int hoist_jobs_set_state(struct hoist_daemon *daemon,
			 struct hoist_live_job *live, int state,
			 const char *end_reason, struct hoist_err *err);
int hoist_jobs_end_attempt(struct hoist_daemon *daemon,
			   struct hoist_live_job *live, const char *reason,
			   struct hoist_err *err);
int hoist_jobs_save(struct hoist_daemon *daemon, struct hoist_live_job *live,
		    struct hoist_err *err);
int hoist_jobs_flush(struct hoist_daemon *daemon, struct hoist_err *err);
void hoist_jobs_forget_finished(struct hoist_daemon *daemon);
json_t *hoist_jobs_render(struct hoist_daemon *daemon, const char *id,
			  int with_spec, struct hoist_err *err);
json_t *hoist_jobs_render_list(struct hoist_daemon *daemon, int all,
			       struct hoist_err *err);
struct hoist_live_instance *hoist_jobs_find_instance(
	struct hoist_daemon *daemon, const char *id);
int hoist_jobs_put_instance(struct hoist_daemon *daemon,
			    const struct hoist_instance_record *rec,
			    struct hoist_err *err);
/* Read a validated spec's member (section may be NULL for the top level),
 * or fallback when it is absent. */
int64_t hoist_jobs_spec_int(const json_t *spec, const char *section,
			    const char *key, int64_t fallback);
double hoist_jobs_spec_number(const json_t *spec, const char *section,
			      const char *key, double fallback);
json_t *hoist_jobs_render_instance(const struct hoist_instance_record *rec,
				   int64_t now_ms);

/* attempts.c: what an agent's calls change. */
struct hoist_exit_report {
	int exit_code;			/* -1 when the command never ran */
	int signal;			/* that killed the command, 0 if none */
	int preempted;			/* the agent itself got SIGTERM */
	int64_t last_step;		/* -1 when unknown */
	const char *error;		/* the agent's message, or NULL */
};

/* Marks the attempt running on its first claim; fills resume_from with
 * the newest committed checkpoint when there is one (*has_resume = 1). */
int hoist_attempts_claim(struct hoist_daemon *daemon,
			 struct hoist_live_job *live,
			 struct hoist_checkpoint_record *resume_from,
			 int *has_resume, struct hoist_err *err);
/* Records a heartbeat in memory (step -1 and metrics NULL leave those
 * unchanged); returns 1 when the agent must stop its command. */
int hoist_attempts_heartbeat(struct hoist_live_job *live, const char *state,
			     int64_t step, json_t *metrics);
/* Records rec as committed unless its step is not above the newest one
 * (then *committed = 0), and applies the job's retention. */
int hoist_attempts_commit_checkpoint(struct hoist_daemon *daemon,
				     struct hoist_live_job *live,
				     const struct hoist_checkpoint_record *rec,
				     int *committed, struct hoist_err *err);
/* Ends the attempt as the agent's report describes and moves the job on. */
int hoist_attempts_report_exit(struct hoist_daemon *daemon,
			       struct hoist_live_job *live,
			       const struct hoist_exit_report *report,
			       struct hoist_err *err);

/* api.c */
int hoist_api_start(struct hoist_daemon *daemon, const char *listen,
		    struct hoist_err *err);

/* billing.c: the provider's charge of each destroyed instance. */
/* Adds rec, once destroyed, to the instances whose charge is read at the
 * next tick; ignores instances of a provider without charges. */
void hoist_billing_track(struct hoist_daemon *daemon,
			 const struct hoist_instance_record *rec);
/* Starts a read of the charges when instances wait for one. */
void hoist_billing_tick(struct hoist_daemon *daemon);
void hoist_billing_free(struct hoist_daemon *daemon);

/* presign.c: presigned S3 URLs for agents, stale multipart uploads. */
struct hoist_presigner;
/* Loads the credentials and prepares the agents' storage URL when the
 * artifact store is S3; does nothing for other stores. */
int hoist_presign_init(struct hoist_daemon *daemon, struct hoist_err *err);
void hoist_presign_release(struct hoist_daemon *daemon);
/* Returns the storage_url of assignments: "hoist-presigned:s3://..." for
 * S3, else the store's own URL.  Owned by daemon. */
const char *hoist_presign_agent_storage_url(const struct hoist_daemon *daemon);
/*
 * Presigns the request that body describes ({"method", "key", "query"}).
 * With a job_id the scope is the prefix "jobs/<job_id>/", plus GET and HEAD
 * of keys below "datasets/".  With job_id NULL the scope is "datasets/",
 * where staging job inputs may GET, HEAD and PUT objects and run multipart
 * uploads, but not DELETE a whole object.  A listing needs a prefix below
 * the scope.  caller ("attempt 2", "the CLI") names the requester in log
 * lines.  Returns 0 with *reply set to {"url", "expires_in"} (owned by the
 * caller), or -1 with err set; *forbidden is 1 when the request reaches
 * outside the scope (logged with the job, or with "scope=datasets").
 */
int hoist_presign_request(struct hoist_daemon *daemon, const char *job_id,
			  const char *caller, const json_t *body,
			  json_t **reply, int *forbidden,
			  struct hoist_err *err);
/* Aborts the multipart uploads under "jobs/<job_id>/" that started at
 * least min_age_s seconds ago; logs failures. */
void hoist_presign_abort_stale(struct hoist_daemon *daemon,
			       const char *job_id, int64_t min_age_s);
/* Runs the periodic sweep of stale uploads of the live jobs. */
void hoist_presign_tick(struct hoist_daemon *daemon);

/*
 * spool.c: copies of the log chunks and heartbeat metrics in the artifact
 * store, written by a thread of their own.  The add functions run on the
 * event loop and do not wait for writes, because the writer holds their
 * mutex only while it swaps the queue.  With spool NULL they do nothing.
 */
struct hoist_spool;
/* Maximum bytes in the spool's memory, and so the maximum size of one
 * stored log object. */
#define HOIST_SPOOL_BYTES_MAX (16u << 20)
/* Opens a second store from daemon->storage_url for the writer thread and
 * starts it.  Sets daemon->spool, which hoist_spool_stop() frees. */
int hoist_spool_start(struct hoist_daemon *daemon, struct hoist_err *err);
/* Writes what is queued, waiting at most timeout_ms (plus a few seconds for
 * a write in flight), logs what could not be stored, and frees the spool. */
void hoist_spool_stop(struct hoist_daemon *daemon, int timeout_ms);
/* Queues a copy of len bytes of an attempt's log at byte offset. */
void hoist_spool_add_log(struct hoist_spool *spool, const char *job_id,
			 int attempt, long long offset, const char *data,
			 size_t len);
/* Queues one heartbeat's metrics (step may be NULL) as a JSON line of its
 * attempt's current batch.  Takes no reference to step or metrics. */
void hoist_spool_add_metrics(struct hoist_spool *spool, const char *job_id,
			     int attempt, json_t *step, json_t *metrics);

/* reconcile.c */
void hoist_reconcile_tick(struct hoist_daemon *daemon);
void hoist_reconcile_destroy_instance(struct hoist_daemon *daemon,
				      struct hoist_live_instance *inst);
void hoist_reconcile_stop_job(struct hoist_daemon *daemon,
			      struct hoist_live_job *live, const char *reason);

#endif
