/*
 * sim_int.h - the state of the Vast.ai simulator, shared by its files.
 *
 *   sim.c       opening, the clock, the tick, signals and shutdown
 *   server.c    HTTP plumbing: routing, authentication, faults, replies
 *   api.c       routing of the Vast.ai REST API, search, user, charges
 *   api_instances.c  the instance endpoints of the API
 *   admin.c     the /admin/ endpoints
 *   instance.c  the instance lifecycle, billing and JSON form
 *   proc.c      the process tree that runs an instance's onstart script
 *   main.c      the command line
 *
 * Everything runs on one libevent loop; nothing here is thread-safe.
 * Times named "sim" are epoch seconds of the simulated clock, which runs
 * --speed times as fast as the wall clock.
 */
#ifndef HOIST_SIM_INT_H
#define HOIST_SIM_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "sim/billing.h"
#include "sim/market.h"
#include "sim/query.h"
#include "sim/rng.h"

#define HOIST_SIM_KEYS_MAX 16
#define HOIST_SIM_KEY_MAX 256		/* bytes of an API key */
#define HOIST_SIM_BODY_MAX (1024 * 1024)	/* request bodies */
#define HOIST_SIM_REPLY_MAX (32 * 1024 * 1024)	/* response bodies */
#define HOIST_SIM_RECORDS_MAX 4096	/* instances kept, destroyed ones too */
#define HOIST_SIM_PENDING_MAX 1024	/* delayed or withheld replies */

/* Request faults, as bits of a mask. */
enum hoist_sim_fault {
	HOIST_SIM_FAULT_429 = 1 << 0,
	HOIST_SIM_FAULT_500 = 1 << 1,
	HOIST_SIM_FAULT_502 = 1 << 2,
	HOIST_SIM_FAULT_503 = 1 << 3,
	HOIST_SIM_FAULT_504 = 1 << 4,
	HOIST_SIM_FAULT_TIMEOUT = 1 << 5,	/* handled, answer withheld */
	HOIST_SIM_FAULT_SLOW = 1 << 6,		/* handled, answer delayed */
	HOIST_SIM_FAULT_MALFORMED = 1 << 7,	/* handled, body cut short */
};

#define HOIST_SIM_FAULT_ALL 0xff
#define HOIST_SIM_FAULT_KINDS 8

/* Events that can also happen at random.  The rates of the first three
 * are per running instance-hour; those of gone_offer and low_bid are
 * fractions of create requests. */
enum hoist_sim_event_kind {
	HOIST_SIM_EVENT_OUTBID = 0,
	HOIST_SIM_EVENT_OFFLINE,
	HOIST_SIM_EVENT_EXITED,
	HOIST_SIM_EVENT_GONE_OFFER,	/* the offer is taken before create */
	HOIST_SIM_EVENT_LOW_BID,	/* min_bid rises above the bid */
	HOIST_SIM_EVENT_KINDS,
};

/* The outcome of the end of an instance's onstart script. */
enum hoist_sim_onstart_exit {
	HOIST_SIM_ONSTART_EXIT_RUNTYPE = 0,	/* "exited" for runtype args */
	HOIST_SIM_ONSTART_EXIT_KEEP,		/* keeps running */
	HOIST_SIM_ONSTART_EXIT_EXITED,		/* always "exited" */
};

struct hoist_sim_options {
	char listen_host[64];
	int listen_port;
	uint64_t seed;
	const char *api_keys[HOIST_SIM_KEYS_MAX];
	size_t nkeys;
	const char *admin_key;		/* NULL: the first API key */
	double credit;			/* initial $ of each account */
	const char *market_path;	/* NULL: the default market */
	size_t offers;
	const char *state_dir;		/* NULL: a temporary folder */
	double speed;
	int v0_list_gone;		/* 410 on GET /api/v0/instances/ */
	double fault_rate;
	unsigned fault_kinds;		/* mask of enum hoist_sim_fault */
	double slow_seconds;		/* the delay of a slow answer */
	double hold_seconds;		/* how long a timeout withholds */
	double boot_delay;		/* sim s from creation to loading */
	double load_delay;		/* sim s from loading to running */
	int stop_exited;		/* stopped instances show "exited" */
	int outbid_auto_resume;
	int show_missing_404;		/* unknown id: 404, not instances:null */
	int destroy_not_found;		/* unknown id: error "not_found" */
	int low_bid_status;		/* HTTP status of a too low bid */
	long default_limit;		/* offers without "limit" */
	long max_limit;
	double default_storage;		/* GB without "allocated_storage" */
	double kill_grace;		/* s from SIGTERM to SIGKILL */
	size_t max_instances;		/* instances not destroyed */
	int rate_limits;
	int json_429;			/* JSON 429 bodies, not plain text */
	int unknown_filter_reject;
	int onstart_exit;		/* enum hoist_sim_onstart_exit */
	double event_rates[HOIST_SIM_EVENT_KINDS];
	int log_level;
};

/* Sets every option to its default. */
void hoist_sim_options_init(struct hoist_sim_options *opt);

struct hoist_sim_user {
	int64_t id;
	const char *key;		/* points into the options */
	char username[32];
	double credit0;			/* $ at the start, plus admin credit */
	double spent_dropped;		/* $ of records no longer kept */
};

enum hoist_sim_phase {
	HOIST_SIM_CREATING = 0,		/* actual_status null */
	HOIST_SIM_LOADING,
	HOIST_SIM_RUNNING,
	HOIST_SIM_STOPPED,
	HOIST_SIM_EXITED,
	HOIST_SIM_OFFLINE,
	HOIST_SIM_FAILED,		/* actual_status "created", OCI error */
	HOIST_SIM_DESTROYED,
};

/* A process tree being killed: SIGTERM, the grace period, SIGKILL. */
struct hoist_sim_kill {
	struct hoist_sim_kill *next;
	int64_t instance_id;
	pid_t shim_pid;
	unsigned long long shim_start;
	double term_at;			/* monotonic s of the SIGTERM */
	double kill_at;			/* monotonic s of the SIGKILL */
	int killed;			/* SIGKILL sent */
};

struct hoist_sim_instance {
	int64_t id;
	struct hoist_sim_user *user;
	struct hoist_sim_offer *offer;	/* the rented machine's offer */
	int64_t offer_id;		/* the id it was rented under */
	json_t *machine;		/* copy of the offer fields, owned */
	char api_key[65];		/* CONTAINER_API_KEY */

	char *label;			/* owned, NULL when none */
	char *image;
	char *runtype;
	char *onstart;
	json_t *args;			/* list of strings, or NULL */
	json_t *env;			/* variables: name -> value */
	json_t *docker_opts;		/* "-p 8080:8080" -> "1", ... */
	json_t *ports;			/* when running, else NULL */
	json_t *port_list;		/* container ports to map */
	double disk_gb;
	int is_bid;
	double bid;			/* $/hour, interruptible only */
	double dph_base;		/* $/hour of compute while running */
	double storage_rate;		/* $/hour of the disk */

	enum hoist_sim_phase phase;
	double phase_until;		/* sim time of the next step, or -1 */
	const char *intended_status;	/* "running" or "stopped" */
	const char *cur_state;
	const char *next_state;
	char status_msg[512];		/* "" is null */
	int outbid;			/* stopped by a higher bid */
	int low_credit;			/* stopped by an empty account */
	int exit_code;
	double created_at;		/* sim */
	double destroyed_at;		/* sim, or -1 */
	struct hoist_sim_ledger ledger;

	/* The process tree (proc.c). */
	char dir[PATH_MAX];
	pid_t shim_pid;			/* 0 when no tree runs */
	unsigned long long shim_start;
	double next_poll;		/* monotonic s of the next exit check */
};

struct hoist_sim_pending;

struct hoist_sim {
	struct hoist_sim_options opt;
	struct event_base *base;
	struct evhttp *http;
	int port;			/* the bound port */
	struct event *tick;
	struct event *signals[3];	/* SIGTERM, SIGINT, SIGCHLD */
	int stopping;

	struct hoist_sim_market market;
	json_t *offer_keys;		/* a rendered offer: the search keys */
	struct hoist_sim_user users[HOIST_SIM_KEYS_MAX];
	size_t nusers;
	struct hoist_sim_instance *records[HOIST_SIM_RECORDS_MAX];
	size_t nrecords;
	int64_t next_instance_id;

	struct hoist_sim_rng id_rng;
	struct hoist_sim_rng fault_rng;
	struct hoist_sim_rng event_rng;
	double epoch0;			/* sim time at the start */
	double mono0;			/* monotonic s at the start */
	double last_tick;		/* sim time of the last tick */
	uint64_t requests;		/* API requests so far */
	unsigned forced_fault;		/* the fault of the next requests */
	long forced_count;		/* API requests still to get it */
	struct hoist_sim_pending *pending;
	size_t npending;
	struct hoist_sim_kill *kills;

	char state_dir[PATH_MAX];
	int state_dir_temporary;
	char shim_path[PATH_MAX];
	char agent_dir[PATH_MAX];	/* "" when hoist-agent is not found */
	json_t *rate_seen;		/* "identity route" -> monotonic s */
};

/* One API or admin request being handled (server.c). */
struct hoist_sim_request {
	struct hoist_sim *sim;
	struct evhttp_request *req;
	int method;			/* EVHTTP_REQ_GET, ... */
	char path[512];			/* decoded, without a trailing '/' */
	const char *segments[8];	/* path split at '/', into segbuf */
	size_t nsegments;
	char segbuf[512];
	json_t *query;			/* query parameters: name -> string */
	json_t *body;			/* the parsed JSON body, or NULL */
	int body_invalid;		/* a body that is not JSON */
	struct hoist_sim_user *user;	/* the caller, or NULL */
	int64_t scope_instance;		/* an instance key's instance, or 0 */
	unsigned fault;			/* the fault chosen for it, or 0 */

	int status;
	const char *content_type;
	struct hoist_buf out;
};

/* sim.c */
double hoist_sim_now(const struct hoist_sim *sim);
double hoist_sim_mono(void);
int hoist_sim_open(const struct hoist_sim_options *opt,
		   struct hoist_sim **out, struct hoist_err *err);
int hoist_sim_run(struct hoist_sim *sim, struct hoist_err *err);
void hoist_sim_close(struct hoist_sim *sim);
/* Returns the credit left of user in $ at sim time now. */
double hoist_sim_user_credit(const struct hoist_sim *sim,
			     const struct hoist_sim_user *user, double now);
struct hoist_sim_user *hoist_sim_find_user(struct hoist_sim *sim,
					   const char *key);

/* server.c */
int hoist_sim_server_start(struct hoist_sim *sim, struct hoist_err *err);
void hoist_sim_server_stop(struct hoist_sim *sim);
void hoist_sim_reply_json(struct hoist_sim_request *r, int status,
			  json_t *body);
void hoist_sim_reply_text(struct hoist_sim_request *r, int status,
			  const char *content_type, const char *text);
void hoist_sim_reply_error(struct hoist_sim_request *r, int status,
			   const char *error, const char *fmt, ...)
	HOIST_PRINTF(4, 5);
void hoist_sim_reply_429(struct hoist_sim_request *r, double threshold);
const char *hoist_sim_query_param(const struct hoist_sim_request *r,
				  const char *name);
/* Returns the request's key: the "Authorization: Bearer" header, else
 * the api_key query parameter (the real service takes both; the header
 * wins).  NULL when there is none. */
const char *hoist_sim_request_key(const struct hoist_sim_request *r);
/* Parses a path segment as an id: digits only, at most 18 of them. */
int hoist_sim_parse_id(const char *text, int64_t *out);
/* Returns the fault bit of a name such as "429" or "timeout", or 0. */
unsigned hoist_sim_fault_parse(const char *name);
const char *hoist_sim_fault_name(unsigned fault);

/* api.c */
void hoist_sim_api_handle(struct hoist_sim_request *r);
/* Encodes a pagination token (base64 of compact JSON); the caller frees
 * it.  NULL when out of memory or too long. */
char *hoist_sim_token_encode(const json_t *value);
/* Decodes a token of hoist_sim_token_encode(); NULL when invalid. */
json_t *hoist_sim_token_decode(const char *token);

/* api_instances.c: the endpoints of instances; id is the path's id
 * segment, or NULL. */
void hoist_sim_api_create(struct hoist_sim_request *r, const char *id);
void hoist_sim_api_show(struct hoist_sim_request *r, const char *id);
void hoist_sim_api_list_v0(struct hoist_sim_request *r, const char *id);
void hoist_sim_api_list_v1(struct hoist_sim_request *r, const char *id);
void hoist_sim_api_manage(struct hoist_sim_request *r, const char *id);
void hoist_sim_api_destroy(struct hoist_sim_request *r, const char *id);
void hoist_sim_api_bid(struct hoist_sim_request *r, const char *id);

/* admin.c */
void hoist_sim_admin_handle(struct hoist_sim_request *r);

/* instance.c */
struct hoist_sim_instance *hoist_sim_instance_find(struct hoist_sim *sim,
						   int64_t id);
/* A create request that api.c has validated.  The instance copies what
 * it keeps. */
struct hoist_sim_create {
	const char *label;		/* NULL when none */
	const char *image;
	const char *runtype;
	const char *onstart;		/* NULL when none */
	const json_t *args;		/* list of strings, or NULL */
	const json_t *env;		/* variables: name -> value */
	const json_t *docker_opts;	/* "-p 8080:8080" -> "1", ... */
	double disk_gb;
	int is_bid;
	double bid;
};

/* Rents offer for user; returns the new instance or NULL with err set.
 * A bid below the offer's min_bid gives a stopped instance. */
struct hoist_sim_instance *hoist_sim_instance_create(
	struct hoist_sim *sim, struct hoist_sim_user *user,
	struct hoist_sim_offer *offer, const struct hoist_sim_create *req,
	struct hoist_err *err);
int hoist_sim_instance_live(const struct hoist_sim_instance *inst);
/* Frees a record; its process tree must be gone or being killed. */
void hoist_sim_instance_free(struct hoist_sim_instance *inst);
void hoist_sim_instance_start(struct hoist_sim *sim,
			      struct hoist_sim_instance *inst);
void hoist_sim_instance_stop(struct hoist_sim *sim,
			     struct hoist_sim_instance *inst,
			     const char *status_msg);
void hoist_sim_instance_destroy(struct hoist_sim *sim,
				struct hoist_sim_instance *inst);
void hoist_sim_instance_set_bid(struct hoist_sim *sim,
				struct hoist_sim_instance *inst, double bid);
void hoist_sim_instance_outbid(struct hoist_sim *sim,
			       struct hoist_sim_instance *inst,
			       double min_bid);
void hoist_sim_instance_offline(struct hoist_sim *sim,
				struct hoist_sim_instance *inst);
void hoist_sim_instance_online(struct hoist_sim *sim,
			       struct hoist_sim_instance *inst);
void hoist_sim_instance_exit(struct hoist_sim *sim,
			     struct hoist_sim_instance *inst, int code);
void hoist_sim_instance_fail(struct hoist_sim *sim,
			     struct hoist_sim_instance *inst);
/* Returns the current min_bid of the instance's machine. */
double hoist_sim_instance_min_bid(const struct hoist_sim_instance *inst);
/* Returns the instance object of the API, or NULL when out of memory. */
json_t *hoist_sim_instance_json(const struct hoist_sim *sim,
				const struct hoist_sim_instance *inst);
/* Advances every instance to sim time now. */
void hoist_sim_instance_tick(struct hoist_sim *sim, double now,
			     double elapsed);
/* Returns the name of an enum hoist_sim_event_kind, or NULL. */
const char *hoist_sim_event_name(int kind);
/* Returns the status name of a phase, as in actual_status. */
const char *hoist_sim_phase_name(const struct hoist_sim *sim,
				 enum hoist_sim_phase phase);

/* proc.c */
int hoist_sim_proc_start(struct hoist_sim *sim,
			 struct hoist_sim_instance *inst,
			 struct hoist_err *err);
/* Starts killing the instance's tree (SIGTERM now, SIGKILL after the
 * grace period); no effect when none runs. */
void hoist_sim_proc_kill(struct hoist_sim *sim,
			 struct hoist_sim_instance *inst);
/* Returns 1 and sets *code when the onstart process has exited. */
int hoist_sim_proc_exited(struct hoist_sim_instance *inst, int *code);
/* Advances the kills; called by the tick. */
void hoist_sim_proc_tick(struct hoist_sim *sim);
/* Kills every tree now and waits for them, at most the grace period
 * plus 5 s.  For shutdown. */
void hoist_sim_proc_kill_all(struct hoist_sim *sim);
/* Reaps finished children (the simulator is their subreaper). */
void hoist_sim_proc_reap(void);

#endif
