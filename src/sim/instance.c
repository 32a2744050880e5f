/*
 * instance.c - the lifecycle of simulated instances.
 *
 * An on-demand instance goes from creation (actual_status null) to
 * "loading" after --boot-delay and to "running" after --load-delay more;
 * its onstart script starts at "running".  Compute is billed only while
 * running, storage in every state but offline.  The status fields follow
 * the Vast.ai instance object: intended_status is what the user asked for,
 * cur_state and next_state the state of the contract, actual_status the
 * state of the container.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "sim/sim_int.h"

/* How often a running instance's onstart process is checked, in s. */
#define EXIT_POLL_SECONDS 0.5

/* The factor by which an outbid event raises min_bid over the bid. */
#define OUTBID_FACTOR 1.25

static const char *const running = "running";
static const char *const stopped = "stopped";

const char *hoist_sim_event_name(int kind)
{
	static const char *const names[HOIST_SIM_EVENT_KINDS] = {
		[HOIST_SIM_EVENT_OUTBID] = "outbid",
		[HOIST_SIM_EVENT_OFFLINE] = "offline",
		[HOIST_SIM_EVENT_EXITED] = "exited",
		[HOIST_SIM_EVENT_GONE_OFFER] = "gone_offer",
		[HOIST_SIM_EVENT_LOW_BID] = "low_bid",
	};

	return kind >= 0 && kind < HOIST_SIM_EVENT_KINDS ? names[kind] : NULL;
}

const char *hoist_sim_phase_name(const struct hoist_sim *sim,
				 enum hoist_sim_phase phase)
{
	switch (phase) {
	case HOIST_SIM_CREATING:
		return NULL;
	case HOIST_SIM_LOADING:
		return "loading";
	case HOIST_SIM_RUNNING:
		return "running";
	case HOIST_SIM_STOPPED:
		return sim->opt.stop_exited ? "exited" : "stopped";
	case HOIST_SIM_EXITED:
		return "exited";
	case HOIST_SIM_OFFLINE:
		return "offline";
	case HOIST_SIM_FAILED:
		return "created";
	case HOIST_SIM_DESTROYED:
		return "destroyed";
	}
	return NULL;
}

struct hoist_sim_instance *hoist_sim_instance_find(struct hoist_sim *sim,
						   int64_t id)
{
	for (size_t i = 0; i < sim->nrecords; i++)
		if (sim->records[i]->id == id)
			return sim->records[i];
	return NULL;
}

int hoist_sim_instance_live(const struct hoist_sim_instance *inst)
{
	return inst->phase != HOIST_SIM_DESTROYED;
}

double hoist_sim_instance_min_bid(const struct hoist_sim_instance *inst)
{
	return hoist_sim_market_number(inst->offer, "min_bid");
}

static void set_msg(struct hoist_sim_instance *inst, const char *fmt, ...)
	HOIST_PRINTF(2, 3);

static void set_msg(struct hoist_sim_instance *inst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inst->status_msg, sizeof(inst->status_msg), fmt, ap);
	va_end(ap);
}

/* Moves inst to phase at sim time now and bills from then on at the
 * phase's rates. */
static void set_phase(struct hoist_sim *sim, struct hoist_sim_instance *inst,
		      enum hoist_sim_phase phase, double now)
{
	double gpu = 0;
	double disk = inst->storage_rate;

	(void)sim;
	inst->phase = phase;
	inst->phase_until = -1;
	if (phase == HOIST_SIM_RUNNING)
		gpu = inst->is_bid ? inst->bid : inst->dph_base;
	if (phase == HOIST_SIM_OFFLINE || phase == HOIST_SIM_DESTROYED)
		disk = 0;
	hoist_sim_ledger_set(&inst->ledger, now, gpu, disk);
}

static void set_states(struct hoist_sim_instance *inst, const char *intended,
		       const char *cur, const char *next)
{
	inst->intended_status = intended;
	inst->cur_state = cur;
	inst->next_state = next;
}

/* Starts loading the container: its onstart script runs after
 * --load-delay. */
static void boot(struct hoist_sim *sim, struct hoist_sim_instance *inst,
		 double now)
{
	set_states(inst, running, running, running);
	inst->outbid = 0;
	inst->low_credit = 0;
	set_phase(sim, inst, HOIST_SIM_LOADING, now);
	inst->phase_until = now + sim->opt.load_delay;
	set_msg(inst, "Loading image %s", inst->image);
}

/* ------------------------------------------------------------------ */
/* Creation                                                            */
/* ------------------------------------------------------------------ */

static char *dup_or_null(const char *text)
{
	return text ? strdup(text) : NULL;
}

/* Collects the container ports of the request: "-p 8080:8080/tcp" docker
 * options, plus 22 for direct SSH and 8080 for direct Jupyter. */
static json_t *container_ports(const struct hoist_sim_create *req)
{
	json_t *ports = json_array();
	const char *opt;
	json_t *value;

	if (!ports)
		return NULL;
	if (strstr(req->runtype, "ssh_direc"))
		json_array_append_new(ports, json_string("22/tcp"));
	if (strstr(req->runtype, "jupyter_direc"))
		json_array_append_new(ports, json_string("8080/tcp"));
	json_object_foreach((json_t *)req->docker_opts, opt, value) {
		const char *colon;
		char port[32];
		int n = 0;

		(void)value;
		if (strncmp(opt, "-p ", 3) != 0)
			continue;
		colon = strrchr(opt + 3, ':');
		if (!colon)
			continue;
		colon++;
		while (colon[n] >= '0' && colon[n] <= '9' && n < 6)
			n++;
		if (n == 0)
			continue;
		snprintf(port, sizeof(port), "%.*s/%s", n, colon,
			 strstr(colon, "/udp") ? "udp" : "tcp");
		for (size_t i = 0; i < json_array_size(ports); i++)
			if (strcmp(json_string_value(json_array_get(ports, i)),
				   port) == 0)
				goto next;
		json_array_append_new(ports, json_string(port));
next:
		;
	}
	return ports;
}

/* Maps every container port to a host port, as Docker does: the object
 * of the API is {"22/tcp": [{"HostIp": "0.0.0.0", "HostPort": "41022"}]}
 * with the host port as a string. */
static json_t *map_ports(struct hoist_sim *sim, const json_t *list)
{
	json_t *ports = json_object();
	size_t i;
	json_t *port;

	if (!ports)
		return NULL;
	json_array_foreach(list, i, port) {
		char host[16];

		snprintf(host, sizeof(host), "%d", 20000 +
			 (int)hoist_sim_rng_below(&sim->id_rng, 45000));
		json_object_set_new(ports, json_string_value(port),
				    json_pack("[{s:s, s:s}]", "HostIp",
					      "0.0.0.0", "HostPort", host));
	}
	return ports;
}

void hoist_sim_instance_free(struct hoist_sim_instance *inst)
{
	json_decref(inst->machine);
	json_decref(inst->args);
	json_decref(inst->env);
	json_decref(inst->docker_opts);
	json_decref(inst->ports);
	json_decref(inst->port_list);
	free(inst->label);
	free(inst->image);
	free(inst->runtype);
	free(inst->onstart);
	free(inst);
}

/* Makes room for a new record: drops the oldest destroyed instance when
 * the table is full, keeping its dollars in its account. */
static int make_room(struct hoist_sim *sim, double now, struct hoist_err *err)
{
	if (sim->nrecords < HOIST_SIM_RECORDS_MAX)
		return 0;
	for (size_t i = 0; i < sim->nrecords; i++) {
		struct hoist_sim_instance *old = sim->records[i];
		struct hoist_sim_cost cost;

		if (hoist_sim_instance_live(old))
			continue;
		hoist_sim_ledger_cost(&old->ledger, old->created_at, now,
				      &cost);
		old->user->spent_dropped += hoist_sim_cost_usd(&cost);
		hoist_sim_instance_free(old);
		memmove(&sim->records[i], &sim->records[i + 1],
			(sim->nrecords - i - 1) * sizeof(sim->records[0]));
		sim->nrecords--;
		return 0;
	}
	return hoist_err_set(err, HOIST_E_NOMEM,
			     "the simulator keeps at most %d instances",
			     HOIST_SIM_RECORDS_MAX);
}

struct hoist_sim_instance *hoist_sim_instance_create(
	struct hoist_sim *sim, struct hoist_sim_user *user,
	struct hoist_sim_offer *offer, const struct hoist_sim_create *req,
	struct hoist_err *err)
{
	double now = hoist_sim_now(sim);
	struct hoist_sim_instance *inst;

	if (make_room(sim, now, err) != 0)
		return NULL;
	inst = calloc(1, sizeof(*inst));
	if (!inst) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		return NULL;
	}
	sim->next_instance_id += 1 +
		(int64_t)hoist_sim_rng_below(&sim->id_rng, 50);
	inst->id = sim->next_instance_id;
	inst->user = user;
	inst->offer = offer;
	inst->offer_id = offer->id;
	inst->machine = json_deep_copy(offer->fields);
	inst->label = dup_or_null(req->label);
	inst->image = strdup(req->image);
	inst->runtype = strdup(req->runtype);
	inst->onstart = dup_or_null(req->onstart);
	inst->args = req->args ? json_deep_copy(req->args) : NULL;
	inst->env = json_deep_copy(req->env);
	inst->docker_opts = json_deep_copy(req->docker_opts);
	inst->port_list = container_ports(req);
	inst->ports = inst->port_list ? map_ports(sim, inst->port_list) : NULL;
	if (!inst->machine || !inst->image || !inst->runtype || !inst->env ||
	    !inst->docker_opts || !inst->ports ||
	    (req->label && !inst->label) ||
	    (req->onstart && !inst->onstart) || (req->args && !inst->args) ||
	    hoist_util_random_hex(inst->api_key, 32, err) != 0) {
		hoist_sim_instance_free(inst);
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		return NULL;
	}
	inst->disk_gb = req->disk_gb;
	inst->is_bid = req->is_bid;
	inst->bid = req->bid;
	inst->dph_base = hoist_sim_market_number(offer, "dph_base");
	inst->storage_rate = hoist_sim_market_storage_rate(offer, req->disk_gb);
	inst->created_at = now;
	inst->destroyed_at = -1;
	if (snprintf(inst->dir, sizeof(inst->dir), "%s/%lld", sim->state_dir,
		     (long long)inst->id) >= (int)sizeof(inst->dir)) {
		hoist_sim_instance_free(inst);
		hoist_err_set(err, HOIST_E_INVALID, "the state folder path "
			      "'%s' is too long", sim->state_dir);
		return NULL;
	}

	hoist_sim_ledger_open(&inst->ledger, now, 0, inst->storage_rate);
	offer->listed = 0;
	offer->instance_id = inst->id;
	sim->records[sim->nrecords++] = inst;

	if (inst->is_bid && inst->bid < hoist_sim_instance_min_bid(inst)) {
		set_states(inst, stopped, stopped, stopped);
		set_phase(sim, inst, HOIST_SIM_STOPPED, now);
		set_msg(inst, "bid $%.4f/hour is below the minimum bid "
			"$%.4f/hour; raise the bid to start", inst->bid,
			hoist_sim_instance_min_bid(inst));
		inst->outbid = 1;
	} else {
		set_states(inst, running, running, running);
		set_phase(sim, inst, HOIST_SIM_CREATING, now);
		inst->phase_until = now + sim->opt.boot_delay;
	}
	hoist_log_info("instance %lld created on offer %lld (%s, %s $%.4f/h)",
		       (long long)inst->id, (long long)inst->offer_id,
		       json_string_value(json_object_get(inst->machine,
							 "gpu_name")),
		       inst->is_bid ? "bid" : "on-demand",
		       inst->is_bid ? inst->bid : inst->dph_base);
	return inst;
}

/* ------------------------------------------------------------------ */
/* Operations and events                                               */
/* ------------------------------------------------------------------ */

/* Returns 1 when an interruptible instance's bid is under min_bid. */
static int bid_too_low(const struct hoist_sim_instance *inst)
{
	return inst->is_bid && inst->bid < hoist_sim_instance_min_bid(inst);
}

void hoist_sim_instance_start(struct hoist_sim *sim,
			      struct hoist_sim_instance *inst)
{
	double now = hoist_sim_now(sim);

	switch (inst->phase) {
	case HOIST_SIM_CREATING:
	case HOIST_SIM_LOADING:
	case HOIST_SIM_RUNNING:
	case HOIST_SIM_DESTROYED:
		inst->intended_status = running;
		return;
	case HOIST_SIM_OFFLINE:
		inst->intended_status = running;
		inst->next_state = running;
		return;
	default:
		break;
	}
	hoist_sim_proc_kill(sim, inst);
	if (bid_too_low(inst)) {
		/* The GPU goes to higher bids: the instance waits. */
		set_states(inst, running, stopped, running);
		set_msg(inst, "scheduling: bid $%.4f/hour is below the "
			"minimum bid $%.4f/hour", inst->bid,
			hoist_sim_instance_min_bid(inst));
		return;
	}
	boot(sim, inst, now);
}

void hoist_sim_instance_stop(struct hoist_sim *sim,
			     struct hoist_sim_instance *inst,
			     const char *status_msg)
{
	double now = hoist_sim_now(sim);

	if (!hoist_sim_instance_live(inst))
		return;
	hoist_sim_proc_kill(sim, inst);
	set_states(inst, stopped, stopped, stopped);
	if (inst->phase != HOIST_SIM_OFFLINE)
		set_phase(sim, inst, HOIST_SIM_STOPPED, now);
	set_msg(inst, "%s", status_msg);
}

void hoist_sim_instance_destroy(struct hoist_sim *sim,
				struct hoist_sim_instance *inst)
{
	double now = hoist_sim_now(sim);

	if (!hoist_sim_instance_live(inst))
		return;
	hoist_sim_proc_kill(sim, inst);
	set_phase(sim, inst, HOIST_SIM_DESTROYED, now);
	hoist_sim_ledger_close(&inst->ledger, now);
	inst->destroyed_at = now;
	if (inst->offer->instance_id == inst->id)
		hoist_sim_market_relist(&sim->market, inst->offer);
	hoist_log_info("instance %lld destroyed; its machine is offered "
		       "again as offer %lld", (long long)inst->id,
		       (long long)inst->offer->id);
}

void hoist_sim_instance_set_bid(struct hoist_sim *sim,
				struct hoist_sim_instance *inst, double bid)
{
	double now = hoist_sim_now(sim);

	inst->bid = bid;
	/* Re-applies the phase's rates with the new bid. */
	set_phase(sim, inst, inst->phase, now);
	if (inst->phase == HOIST_SIM_STOPPED && !bid_too_low(inst) &&
	    (strcmp(inst->intended_status, running) == 0 ||
	     (inst->outbid && sim->opt.outbid_auto_resume)))
		boot(sim, inst, now);
}

void hoist_sim_instance_outbid(struct hoist_sim *sim,
			       struct hoist_sim_instance *inst,
			       double min_bid)
{
	double now = hoist_sim_now(sim);
	double floor_bid = ceil(inst->bid * OUTBID_FACTOR * 1e4) / 1e4;

	if (min_bid <= inst->bid)
		min_bid = floor_bid;
	json_object_set_new(inst->offer->fields, "min_bid", json_real(min_bid));
	if (inst->phase == HOIST_SIM_DESTROYED)
		return;
	hoist_sim_proc_kill(sim, inst);
	inst->outbid = 1;
	if (sim->opt.outbid_auto_resume)
		set_states(inst, running, stopped, running);
	else
		set_states(inst, stopped, stopped, stopped);
	set_phase(sim, inst, HOIST_SIM_STOPPED, now);
	set_msg(inst, "stopped: outbid, the minimum bid is now $%.4f/hour",
		min_bid);
	hoist_log_info("instance %lld outbid (bid $%.4f/h, min_bid $%.4f/h)",
		       (long long)inst->id, inst->bid, min_bid);
}

void hoist_sim_instance_offline(struct hoist_sim *sim,
				struct hoist_sim_instance *inst)
{
	if (!hoist_sim_instance_live(inst))
		return;
	hoist_sim_proc_kill(sim, inst);
	set_phase(sim, inst, HOIST_SIM_OFFLINE, hoist_sim_now(sim));
	set_msg(inst, "host offline: no heartbeat from machine %lld",
		(long long)json_integer_value(json_object_get(inst->machine,
							      "machine_id")));
	hoist_log_info("instance %lld offline", (long long)inst->id);
}

void hoist_sim_instance_online(struct hoist_sim *sim,
			       struct hoist_sim_instance *inst)
{
	double now = hoist_sim_now(sim);

	if (inst->phase != HOIST_SIM_OFFLINE)
		return;
	if (strcmp(inst->intended_status, running) == 0 && !bid_too_low(inst))
		boot(sim, inst, now);
	else {
		set_phase(sim, inst, HOIST_SIM_STOPPED, now);
		set_msg(inst, "host back online");
	}
	hoist_log_info("instance %lld back online", (long long)inst->id);
}

void hoist_sim_instance_exit(struct hoist_sim *sim,
			     struct hoist_sim_instance *inst, int code)
{
	if (!hoist_sim_instance_live(inst))
		return;
	hoist_sim_proc_kill(sim, inst);
	inst->exit_code = code;
	set_phase(sim, inst, HOIST_SIM_EXITED, hoist_sim_now(sim));
	set_msg(inst, "Error: container exited with code %d", code);
	hoist_log_info("instance %lld exited with code %d",
		       (long long)inst->id, code);
}

void hoist_sim_instance_fail(struct hoist_sim *sim,
			     struct hoist_sim_instance *inst)
{
	if (!hoist_sim_instance_live(inst))
		return;
	hoist_sim_proc_kill(sim, inst);
	set_phase(sim, inst, HOIST_SIM_FAILED, hoist_sim_now(sim));
	set_msg(inst, "Error response from daemon: failed to create task for "
		"container: failed to create shim task: OCI runtime create "
		"failed: runc create failed: unable to start container "
		"process: error during container init: unknown");
	hoist_log_info("instance %lld failed to start (OCI error)",
		       (long long)inst->id);
}

/* ------------------------------------------------------------------ */
/* The tick                                                            */
/* ------------------------------------------------------------------ */

static void status_running(struct hoist_sim_instance *inst)
{
	char image[256];

	/* Vast.ai writes the image with '_' for ':', as in
	 * "success, running nvidia/cuda_11.0.3-devel-ubuntu18.04/ssh". */
	snprintf(image, sizeof(image), "%s", inst->image);
	for (char *c = image; *c; c++)
		if (*c == ':')
			*c = '_';
	set_msg(inst, "success, running %s/%s", image,
		strncmp(inst->runtype, "args", 4) == 0 ? "args" : "ssh");
}

static void finish_loading(struct hoist_sim *sim,
			   struct hoist_sim_instance *inst, double now)
{
	struct hoist_err err = HOIST_ERR_INIT;

	if (hoist_sim_proc_start(sim, inst, &err) != 0) {
		hoist_log_error("instance %lld cannot start its onstart "
				"script: %s", (long long)inst->id, err.msg);
		set_phase(sim, inst, HOIST_SIM_FAILED, now);
		set_msg(inst, "Error: cannot start the container: %s",
			err.msg);
		return;
	}
	set_phase(sim, inst, HOIST_SIM_RUNNING, now);
	status_running(inst);
	hoist_log_info("instance %lld running", (long long)inst->id);
}

static int exits_with_onstart(const struct hoist_sim *sim,
			      const struct hoist_sim_instance *inst)
{
	switch (sim->opt.onstart_exit) {
	case HOIST_SIM_ONSTART_EXIT_KEEP:
		return 0;
	case HOIST_SIM_ONSTART_EXIT_EXITED:
		return 1;
	default:
		/* With runtype args the script is the container's main
		 * process; with SSH or Jupyter, the SSH daemon is. */
		return strncmp(inst->runtype, "args", 4) == 0;
	}
}

static void check_onstart(struct hoist_sim *sim,
			  struct hoist_sim_instance *inst)
{
	double mono = hoist_sim_mono();
	int code;

	if (mono < inst->next_poll)
		return;
	inst->next_poll = mono + EXIT_POLL_SECONDS;
	if (!hoist_sim_proc_exited(inst, &code))
		return;
	hoist_log_info("instance %lld onstart script exited with code %d",
		       (long long)inst->id, code);
	if (exits_with_onstart(sim, inst))
		hoist_sim_instance_exit(sim, inst, code);
}

/* Draws the random events of one instance for elapsed sim seconds. */
static void random_events(struct hoist_sim *sim,
			  struct hoist_sim_instance *inst, double elapsed)
{
	for (int kind = 0; kind <= HOIST_SIM_EVENT_EXITED; kind++) {
		double rate = sim->opt.event_rates[kind];

		if (rate <= 0 || inst->phase != HOIST_SIM_RUNNING)
			continue;
		if (kind == HOIST_SIM_EVENT_OUTBID && !inst->is_bid)
			continue;
		if (hoist_sim_rng_unit(&sim->event_rng) >=
		    rate * elapsed / 3600.0)
			continue;
		if (kind == HOIST_SIM_EVENT_OUTBID)
			hoist_sim_instance_outbid(sim, inst, 0);
		else if (kind == HOIST_SIM_EVENT_OFFLINE)
			hoist_sim_instance_offline(sim, inst);
		else
			hoist_sim_instance_exit(sim, inst, 137);
	}
}

static void stop_for_credit(struct hoist_sim *sim, double now)
{
	for (size_t u = 0; u < sim->nusers; u++) {
		struct hoist_sim_user *user = &sim->users[u];

		if (hoist_sim_user_credit(sim, user, now) > 0)
			continue;
		for (size_t i = 0; i < sim->nrecords; i++) {
			struct hoist_sim_instance *inst = sim->records[i];

			if (inst->user != user ||
			    (inst->phase != HOIST_SIM_CREATING &&
			     inst->phase != HOIST_SIM_LOADING &&
			     inst->phase != HOIST_SIM_RUNNING))
				continue;
			hoist_log_info("instance %lld stopped: account %s has "
				       "no credit left", (long long)inst->id,
				       user->username);
			hoist_sim_instance_stop(sim, inst, "stopped: the "
						"account has no credit left");
			inst->low_credit = 1;
		}
	}
}

void hoist_sim_instance_tick(struct hoist_sim *sim, double now,
			     double elapsed)
{
	for (size_t i = 0; i < sim->nrecords; i++) {
		struct hoist_sim_instance *inst = sim->records[i];
		int due = inst->phase_until >= 0 && now >= inst->phase_until;

		switch (inst->phase) {
		case HOIST_SIM_CREATING:
			if (!due)
				break;
			set_phase(sim, inst, HOIST_SIM_LOADING, now);
			inst->phase_until = now + sim->opt.load_delay;
			set_msg(inst, "Loading image %s", inst->image);
			break;
		case HOIST_SIM_LOADING:
			if (due)
				finish_loading(sim, inst, now);
			break;
		case HOIST_SIM_RUNNING:
			check_onstart(sim, inst);
			random_events(sim, inst, elapsed);
			break;
		case HOIST_SIM_STOPPED:
			/* A start or an automatic resume waits for the bid
			 * to reach min_bid and for credit. */
			if (strcmp(inst->intended_status, running) == 0 &&
			    !bid_too_low(inst) &&
			    hoist_sim_user_credit(sim, inst->user, now) > 0)
				boot(sim, inst, now);
			break;
		default:
			break;
		}
	}
	stop_for_credit(sim, now);
}

/* ------------------------------------------------------------------ */
/* The instance object                                                 */
/* ------------------------------------------------------------------ */

static const char *const machine_keys[] = {
	"machine_id", "host_id", "bundle_id", "num_gpus", "gpu_name",
	"gpu_arch", "gpu_ram", "gpu_frac", "gpu_lanes", "gpu_mem_bw",
	"bw_nvlink", "compute_cap", "cpu_name", "cpu_arch", "cpu_cores",
	"cpu_cores_effective", "cpu_ram", "disk_name", "disk_bw", "inet_up",
	"inet_down", "inet_up_cost", "inet_down_cost", "cuda_max_good",
	"driver_version", "static_ip", "geolocation", "verification",
	"hosting_type", "external", "reliability2", "score", "dlperf",
	"total_flops", "os_version", "mobo_name", "pci_gen", "pcie_bw",
	"logo", "webpage", "storage_cost", "credit_discount_max",
	"direct_port_count", "public_ipaddr", "gpu_max_power",
	"gpu_max_temp", "has_avx",
};

static json_t *price_breakdown(double gpu, double disk)
{
	return json_pack("{s:f, s:f, s:f, s:f, s:f}", "gpuCostPerHour", gpu,
			 "diskHour", disk, "totalHour", gpu + disk,
			 "discountTotalHour", 0.0, "discountedTotalPerHour",
			 gpu + disk);
}

static json_t *string_or_null(const char *text)
{
	return text && *text ? json_string(text) : json_null();
}

/* Returns extra_env: the variables and docker options as [name, value]
 * pairs, the form of the API. */
static json_t *extra_env(const struct hoist_sim_instance *inst)
{
	json_t *list = json_array();
	const char *name;
	json_t *value;

	if (!list)
		return NULL;
	json_object_foreach(inst->env, name, value)
		json_array_append_new(list, json_pack("[s,O]", name, value));
	json_object_foreach(inst->docker_opts, name, value)
		json_array_append_new(list, json_pack("[s,O]", name, value));
	return list;
}

static int add_status(const struct hoist_sim *sim,
		      const struct hoist_sim_instance *inst, json_t *o,
		      double now)
{
	const char *actual = hoist_sim_phase_name(sim, inst->phase);
	int is_running = inst->phase == HOIST_SIM_RUNNING;
	double ran = now - inst->created_at;
	int rc = 0;

	rc |= json_object_set_new(o, "actual_status", string_or_null(actual));
	rc |= json_object_set_new(o, "intended_status",
				  json_string(inst->intended_status));
	rc |= json_object_set_new(o, "cur_state", json_string(inst->cur_state));
	rc |= json_object_set_new(o, "next_state",
				  json_string(inst->next_state));
	rc |= json_object_set_new(o, "status_msg",
				  string_or_null(inst->status_msg));
	rc |= json_object_set_new(o, "ports", is_running ?
				  json_deep_copy(inst->ports) : json_null());
	rc |= json_object_set_new(o, "uptime_mins", is_running ?
				  json_real(ran / 60.0) : json_null());
	rc |= json_object_set_new(o, "client_run_time", json_real(ran));
	rc |= json_object_set_new(o, "host_run_time", json_real(ran));
	rc |= json_object_set_new(o, "gpu_util",
				  is_running ? json_real(0.0) : json_null());
	rc |= json_object_set_new(o, "gpu_temp",
				  is_running ? json_real(40.0) : json_null());
	rc |= json_object_set_new(o, "cpu_util",
				  is_running ? json_real(0.0) : json_null());
	rc |= json_object_set_new(o, "mem_usage", json_null());
	rc |= json_object_set_new(o, "mem_limit", json_null());
	rc |= json_object_set_new(o, "vmem_usage", json_null());
	rc |= json_object_set_new(o, "disk_util", json_real(0.0));
	rc |= json_object_set_new(o, "disk_usage", json_real(0.0));
	return rc;
}

static int add_prices(const struct hoist_sim_instance *inst, json_t *o)
{
	double gpu = inst->is_bid ? inst->bid : inst->dph_base;
	double total = gpu + inst->storage_rate;
	double dlperf = json_number_value(json_object_get(inst->machine,
							  "dlperf"));
	double flops = json_number_value(json_object_get(inst->machine,
							 "total_flops"));
	int rc = 0;

	rc |= json_object_set_new(o, "is_bid", json_boolean(inst->is_bid));
	rc |= json_object_set_new(o, "min_bid",
				  json_real(hoist_sim_instance_min_bid(inst)));
	rc |= json_object_set_new(o, "dph_base", json_real(gpu));
	rc |= json_object_set_new(o, "dph_total", json_real(total));
	rc |= json_object_set_new(o, "storage_total_cost",
				  json_real(inst->storage_rate));
	rc |= json_object_set_new(o, "vram_costperhour", json_real(
		gpu / fmax(1.0, json_number_value(json_object_get(
			inst->machine, "gpu_total_ram")) / 1024.0)));
	rc |= json_object_set_new(o, "dlperf_per_dphtotal",
				  json_real(dlperf / total));
	rc |= json_object_set_new(o, "flops_per_dphtotal",
				  json_real(flops / total));
	rc |= json_object_set_new(o, "search",
				  price_breakdown(gpu, inst->storage_rate));
	rc |= json_object_set_new(o, "instance",
				  price_breakdown(gpu, inst->storage_rate));
	rc |= json_object_set_new(o, "credit_balance", json_null());
	rc |= json_object_set_new(o, "credit_discount", json_null());
	return rc;
}

static int add_request(const struct hoist_sim_instance *inst, json_t *o)
{
	json_t *args = inst->args ? json_deep_copy(inst->args) : json_array();
	int rc = 0;

	rc |= json_object_set_new(o, "label", string_or_null(inst->label));
	rc |= json_object_set_new(o, "image_uuid", json_string(inst->image));
	rc |= json_object_set_new(o, "image_args", args);
	rc |= json_object_set_new(o, "image_runtype",
				  json_string(inst->runtype));
	rc |= json_object_set_new(o, "extra_env", extra_env(inst));
	rc |= json_object_set_new(o, "onstart", string_or_null(inst->onstart));
	rc |= json_object_set_new(o, "jupyter_token", json_string(""));
	rc |= json_object_set_new(o, "template_id", json_null());
	rc |= json_object_set_new(o, "template_hash_id", json_null());
	rc |= json_object_set_new(o, "template_name", json_null());
	rc |= json_object_set_new(o, "disk_space", json_real(inst->disk_gb));
	rc |= json_object_set_new(o, "volume_info", json_array());
	return rc;
}

static int add_machine(const struct hoist_sim_instance *inst, json_t *o)
{
	const char *geo = json_string_value(json_object_get(inst->machine,
							    "geolocation"));
	size_t len = geo ? strlen(geo) : 0;
	int rc = 0;

	for (size_t i = 0; i < sizeof(machine_keys) / sizeof(*machine_keys);
	     i++) {
		json_t *value = json_object_get(inst->machine, machine_keys[i]);

		rc |= json_object_set(o, machine_keys[i],
				      value ? value : json_null());
	}
	/* The instance object spells the total GPU RAM gpu_totalram. */
	rc |= json_object_set(o, "gpu_totalram",
			      json_object_get(inst->machine, "gpu_total_ram"));
	rc |= json_object_set_new(o, "country_code", len >= 2 ?
				  json_string(geo + len - 2) : json_null());
	rc |= json_object_set_new(o, "rentable", json_true());
	rc |= json_object_set_new(o, "local_ipaddrs",
				  json_string("127.0.0.1\n"));
	rc |= json_object_set_new(o, "ssh_host", json_string("127.0.0.1"));
	rc |= json_object_set_new(o, "ssh_idx", json_string("0"));
	rc |= json_object_set_new(o, "ssh_port", json_integer(
		20000 + inst->id % 40000));
	rc |= json_object_set_new(o, "machine_dir_ssh_port", json_integer(
		20000 + (inst->id + 1) % 40000));
	rc |= json_object_set_new(o, "direct_port_start", json_integer(-1));
	rc |= json_object_set_new(o, "direct_port_end", json_integer(-1));
	return rc;
}

json_t *hoist_sim_instance_json(const struct hoist_sim *sim,
				const struct hoist_sim_instance *inst)
{
	double now = hoist_sim_now(sim);
	double end = inst->created_at +
		     json_number_value(json_object_get(inst->machine,
						       "duration"));
	json_t *o = json_object();
	int rc = 0;

	if (!o)
		return NULL;
	rc |= json_object_set_new(o, "id", json_integer(inst->id));
	rc |= add_machine(inst, o);
	rc |= add_request(inst, o);
	rc |= add_status(sim, inst, o, now);
	rc |= add_prices(inst, o);
	rc |= json_object_set_new(o, "start_date", json_real(inst->created_at));
	rc |= json_object_set_new(o, "end_date", json_real(end));
	rc |= json_object_set_new(o, "duration", json_real(end - now));
	rc |= json_object_set_new(o, "time_remaining", json_string(""));
	rc |= json_object_set_new(o, "time_remaining_isbid", json_string(""));
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}
