/*
 * sim.c - the simulator object: its clock, accounts, market, event loop
 * and shutdown.
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/util.h"
#include "providers/local_dir.h"
#include "sim/sim_int.h"

/* The interval of the tick that advances instances and bills, in ms. */
#define TICK_MS 100

#define MARKET_FILE "vast-market.csv"

/* The streams of the seeded generator besides the market's. */
#define STREAM_IDS 3
#define STREAM_FAULTS 4
#define STREAM_EVENTS 5

#ifndef HOIST_SIM_DATA_DIR
#define HOIST_SIM_DATA_DIR "/usr/local/share/hoist"
#endif

double hoist_sim_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double hoist_sim_now(const struct hoist_sim *sim)
{
	return sim->epoch0 + (hoist_sim_mono() - sim->mono0) * sim->opt.speed;
}

struct hoist_sim_user *hoist_sim_find_user(struct hoist_sim *sim,
					   const char *key)
{
	for (size_t i = 0; i < sim->nusers; i++)
		if (hoist_util_secret_equal(sim->users[i].key, key))
			return &sim->users[i];
	return NULL;
}

double hoist_sim_user_credit(const struct hoist_sim *sim,
			     const struct hoist_sim_user *user, double now)
{
	double credit = user->credit0 - user->spent_dropped;

	for (size_t i = 0; i < sim->nrecords; i++) {
		const struct hoist_sim_instance *inst = sim->records[i];
		struct hoist_sim_cost cost;

		if (inst->user != user)
			continue;
		hoist_sim_ledger_cost(&inst->ledger, inst->created_at, now,
				      &cost);
		credit -= hoist_sim_cost_usd(&cost);
	}
	return credit;
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

static int readable(const char *path)
{
	return access(path, R_OK) == 0;
}

/* Finds the market file: --market, $HOIST_DATA_DIR, the source tree,
 * then the installed data folder. */
static int find_market(const struct hoist_sim_options *opt, char *out,
		       size_t outlen, struct hoist_err *err)
{
	const char *data_dir = getenv("HOIST_DATA_DIR");

	if (opt->market_path) {
		snprintf(out, outlen, "%s", opt->market_path);
		return 0;
	}
	if (data_dir && *data_dir) {
		snprintf(out, outlen, "%s/%s", data_dir, MARKET_FILE);
		if (readable(out))
			return 0;
	}
#ifdef HOIST_SOURCE_DIR
	snprintf(out, outlen, "%s/data/%s", HOIST_SOURCE_DIR, MARKET_FILE);
	if (readable(out))
		return 0;
#endif
	snprintf(out, outlen, "%s/%s", HOIST_SIM_DATA_DIR, MARKET_FILE);
	if (readable(out))
		return 0;
	return hoist_err_set(err, HOIST_E_NOT_FOUND,
			     "cannot find the market file %s in "
			     "$HOIST_DATA_DIR, the source tree or %s; pass "
			     "--market FILE", MARKET_FILE, HOIST_SIM_DATA_DIR);
}

static int open_market(struct hoist_sim *sim, struct hoist_err *err)
{
	struct hoist_sim_market_row *rows = NULL;
	char path[PATH_MAX];
	size_t nrows = 0;
	int rc;

	if (find_market(&sim->opt, path, sizeof(path), err) != 0 ||
	    hoist_sim_market_load_csv(path, &rows, &nrows, err) != 0)
		return -1;
	rc = hoist_sim_market_generate(&sim->market, rows, nrows,
				       sim->opt.seed, sim->opt.offers,
				       sim->epoch0, err);
	free(rows);
	if (rc != 0)
		return -1;
	sim->offer_keys = hoist_sim_market_render(&sim->market.offers[0],
						  HOIST_SIM_PRICE_ON_DEMAND,
						  1.0, sim->epoch0);
	if (!sim->offer_keys)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	hoist_log_info("market: %zu offers from %zu rows of %s, seed %llu",
		       sim->market.count, nrows, path,
		       (unsigned long long)sim->opt.seed);
	return 0;
}

static int open_state_dir(struct hoist_sim *sim, struct hoist_err *err)
{
	char path[PATH_MAX];
	char *real;

	if (sim->opt.state_dir) {
		if (hoist_util_mkdir_p(sim->opt.state_dir, 0700, err) != 0)
			return -1;
		snprintf(path, sizeof(path), "%s", sim->opt.state_dir);
	} else {
		const char *tmp = getenv("TMPDIR");

		snprintf(path, sizeof(path), "%s/hoist-sim-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(path))
			return hoist_err_set(err, HOIST_E_IO,
					     "cannot create a folder for the "
					     "instances from '%s': %s; pass "
					     "--state-dir DIR", path,
					     strerror(errno));
		sim->state_dir_temporary = 1;
	}
	/* The shim wants an absolute folder. */
	real = realpath(path, NULL);
	if (!real)
		return hoist_err_set(err, HOIST_E_IO, "cannot resolve '%s': %s",
				     path, strerror(errno));
	snprintf(sim->state_dir, sizeof(sim->state_dir), "%s", real);
	free(real);
	return 0;
}

/* Finds hoist-instance-shim the way the local provider does: the usual
 * places, then ../providers next to this executable (a Meson build
 * tree).  Also finds the folder of hoist-agent, which goes first in the
 * PATH of instances. */
static int find_programs(struct hoist_sim *sim, struct hoist_err *err)
{
	struct hoist_err ignored = HOIST_ERR_INIT;
	char self[PATH_MAX];
	char agent[PATH_MAX];

	if (hoist_util_find_program(HOIST_LOCAL_SHIM_PROGRAM, sim->shim_path,
				    sizeof(sim->shim_path), &ignored) != 0) {
		if (hoist_util_self_dir(self, sizeof(self), err) != 0)
			return -1;
		if (snprintf(sim->shim_path, sizeof(sim->shim_path),
			     "%s/../providers/%s", self,
			     HOIST_LOCAL_SHIM_PROGRAM) >=
			    (int)sizeof(sim->shim_path) ||
		    access(sim->shim_path, X_OK) != 0)
			return hoist_err_set(err, HOIST_E_NOT_FOUND,
					     "cannot find %s; build it or set "
					     "HOIST_BIN_DIR to its folder",
					     HOIST_LOCAL_SHIM_PROGRAM);
	}
	hoist_err_clear(&ignored);
	if (hoist_util_find_program("hoist-agent", agent, sizeof(agent),
				    &ignored) == 0)
		snprintf(sim->agent_dir, sizeof(sim->agent_dir), "%s",
			 dirname(agent));
	return 0;
}

static void open_users(struct hoist_sim *sim)
{
	for (size_t i = 0; i < sim->opt.nkeys; i++) {
		struct hoist_sim_user *u = &sim->users[sim->nusers++];

		u->id = 400000 + 1000 * (int64_t)i +
			(int64_t)hoist_sim_rng_below(&sim->id_rng, 1000);
		u->key = sim->opt.api_keys[i];
		snprintf(u->username, sizeof(u->username), "simuser%zu", i + 1);
		u->credit0 = sim->opt.credit;
	}
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct hoist_sim *sim = arg;
	double now = hoist_sim_now(sim);

	(void)fd;
	(void)what;
	hoist_sim_instance_tick(sim, now, now - sim->last_tick);
	sim->last_tick = now;
	hoist_sim_proc_tick(sim);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct hoist_sim *sim = arg;

	(void)what;
	if (sig == SIGCHLD) {
		hoist_sim_proc_reap();
		return;
	}
	hoist_log_info("SIG%s received; stopping", sigabbrev_np((int)sig));
	sim->stopping = 1;
	event_base_loopbreak(sim->base);
}

static int open_events(struct hoist_sim *sim, struct hoist_err *err)
{
	static const int sigs[3] = { SIGTERM, SIGINT, SIGCHLD };
	struct timeval tv = { 0, TICK_MS * 1000 };

	sim->tick = event_new(sim->base, -1, EV_PERSIST, on_tick, sim);
	if (!sim->tick || event_add(sim->tick, &tv) != 0)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "cannot create the tick timer");
	for (int i = 0; i < 3; i++) {
		sim->signals[i] = evsignal_new(sim->base, sigs[i], on_signal,
					       sim);
		if (!sim->signals[i] || event_add(sim->signals[i], NULL) != 0)
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "cannot watch signal %d",
					     sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Creates the event base with a precise timer: libevent's default clock
 * on Linux is CLOCK_MONOTONIC_COARSE, which fires timers a few ms early,
 * and slow replies must take at least --slow-seconds. */
static struct event_base *new_base(void)
{
	struct event_config *config = event_config_new();
	struct event_base *base;

	if (!config)
		return NULL;
	event_config_set_flag(config, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(config);
	event_config_free(config);
	return base;
}

int hoist_sim_open(const struct hoist_sim_options *opt,
		   struct hoist_sim **out, struct hoist_err *err)
{
	struct hoist_sim *sim = calloc(1, sizeof(*sim));
	struct timespec wall;

	*out = NULL;
	if (!sim)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	sim->opt = *opt;
	/* The wall clock with its fraction: time() would start the sim clock
	 * up to a second behind the clients' clocks, which then see an
	 * instance created before they asked for it. */
	clock_gettime(CLOCK_REALTIME, &wall);
	sim->mono0 = hoist_sim_mono();
	sim->epoch0 = (double)wall.tv_sec + (double)wall.tv_nsec / 1e9;
	sim->last_tick = sim->epoch0;
	hoist_sim_rng_seed(&sim->id_rng, opt->seed, STREAM_IDS);
	hoist_sim_rng_seed(&sim->fault_rng, opt->seed, STREAM_FAULTS);
	hoist_sim_rng_seed(&sim->event_rng, opt->seed, STREAM_EVENTS);
	sim->next_instance_id = 20000000 +
		(int64_t)hoist_sim_rng_below(&sim->id_rng, 1000000);
	open_users(sim);
	sim->rate_seen = json_object();
	sim->base = new_base();
	if (!sim->base || !sim->rate_seen) {
		hoist_sim_close(sim);
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	}
	/* Shims are reparented to the simulator, which reaps them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		hoist_log_warn("cannot become a child subreaper: %s; shims "
			       "of destroyed instances may stay zombies",
			       strerror(errno));
	if (open_market(sim, err) != 0 || find_programs(sim, err) != 0 ||
	    open_state_dir(sim, err) != 0 ||
	    hoist_sim_server_start(sim, err) != 0 ||
	    open_events(sim, err) != 0) {
		hoist_sim_close(sim);
		return -1;
	}
	*out = sim;
	return 0;
}

int hoist_sim_run(struct hoist_sim *sim, struct hoist_err *err)
{
	printf("hoist sim listening on http://%s:%d\n", sim->opt.listen_host,
	       sim->port);
	fflush(stdout);
	hoist_log_info("listening on %s:%d; instances under %s; shim %s",
		       sim->opt.listen_host, sim->port, sim->state_dir,
		       sim->shim_path);
	if (event_base_dispatch(sim->base) < 0)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "the event loop failed");
	return 0;
}

void hoist_sim_close(struct hoist_sim *sim)
{
	struct hoist_err err = HOIST_ERR_INIT;

	if (!sim)
		return;
	hoist_sim_proc_kill_all(sim);
	hoist_sim_server_stop(sim);
	if (sim->tick)
		event_free(sim->tick);
	for (int i = 0; i < 3; i++)
		if (sim->signals[i])
			event_free(sim->signals[i]);
	for (size_t i = 0; i < sim->nrecords; i++)
		hoist_sim_instance_free(sim->records[i]);
	hoist_sim_market_release(&sim->market);
	json_decref(sim->offer_keys);
	json_decref(sim->rate_seen);
	if (sim->state_dir_temporary &&
	    hoist_util_remove_tree(sim->state_dir, &err) != 0)
		hoist_log_error("cannot remove '%s': %s", sim->state_dir,
				err.msg);
	if (sim->base)
		event_base_free(sim->base);
	free(sim);
}
