/*
 * main.c - the command line of "hoist sim".
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "sim/sim.h"
#include "sim/sim_int.h"

#define EXIT_USAGE 2

static const char usage_text[] =
"usage: hoist sim --api-key KEY [options]\n"
"\n"
"Serves a simulated Vast.ai REST API (search, rent, show, list, start,\n"
"stop, label, change bid, destroy, user credit, charges) with a seeded\n"
"market, instances that run their onstart script as local processes,\n"
"per-second billing, and injected faults.  Test clients only: it rents\n"
"nothing.  See docs/simulator.md.\n"
"\n"
"Service:\n"
"  --listen ADDR:PORT     address to listen on (127.0.0.1:7342; port 0\n"
"                         picks a free port, printed at start)\n"
"  --api-key KEY          an accepted API key, one account each; repeat\n"
"                         for up to 16 (at least one is required)\n"
"  --admin-key KEY        key of the /admin/ endpoints (the first\n"
"                         --api-key)\n"
"  --credit USD           initial credit of each account (100)\n"
"  --seed N               seed of the market, ids and faults (1)\n"
"  --market FILE          market CSV (data/vast-market.csv)\n"
"  --offers N             number of offers generated from it (320)\n"
"  --state-dir DIR        folder of the instance folders (a temporary\n"
"                         folder, removed at exit)\n"
"  --speed X              simulated seconds per real second (1)\n"
"  --max-instances N      instances that are not destroyed, at most (64)\n"
"  --log-level LEVEL      error, warn, info or debug (info)\n"
"\n"
"Lifecycle:\n"
"  --boot-delay S         simulated seconds from creation to loading (5)\n"
"  --load-delay S         simulated seconds from loading to running (10)\n"
"  --kill-grace S         real seconds from SIGTERM to SIGKILL when an\n"
"                         instance's processes are killed (10)\n"
"  --onstart-exit MODE    what the end of the onstart script does:\n"
"                         runtype (\"exited\" for runtype args, else the\n"
"                         instance keeps running), keep or exited\n"
"  --stop-status STATUS   actual_status of a stopped instance: stopped or\n"
"                         exited (stopped)\n"
"  --outbid-resume MODE   manual (an outbid instance stays stopped) or\n"
"                         auto (it restarts once its bid reaches min_bid)\n"
"\n"
"API variants:\n"
"  --v0-list MODE         GET /api/v0/instances/: normal or gone (410)\n"
"  --show-missing MODE    a destroyed or unknown instance shows as null\n"
"                         (200 {\"instances\": null}) or 404\n"
"  --destroy-missing CODE error of destroying an unknown instance:\n"
"                         no_such_instance or not_found (HTTP 404 both)\n"
"  --low-bid-status CODE  HTTP status of a create whose bid is below\n"
"                         min_bid: 400 or 200 (400)\n"
"  --search-limit N       offers returned without \"limit\" (64)\n"
"  --search-max N         the most offers one search returns (10000)\n"
"  --storage-default GB   allocated_storage of searches without it (5)\n"
"  --unknown-filter MODE  a filter on an unknown offer field: ignore or\n"
"                         reject (400)\n"
"  --429-body STYLE       text (plain text) or json ({\"detail\": ...})\n"
"  --rate-limits          enforce the per-endpoint minimum intervals\n"
"\n"
"Faults:\n"
"  --fault-rate R         fraction of API requests that fail (0)\n"
"  --faults LIST          kinds to draw from, comma-separated: 429, 500,\n"
"                         502, 503, 504, timeout, slow, malformed (all)\n"
"  --slow-seconds S       delay of a slow answer (3)\n"
"  --hold-seconds S       delay of a timeout, longer than a client's\n"
"                         timeout (150)\n"
"  --event-rate EVENT=R   random events: outbid, offline or exited per\n"
"                         running instance-hour, gone_offer (the offer\n"
"                         is taken first) or low_bid (min_bid rises\n"
"                         above the bid) as a fraction of creates;\n"
"                         repeat per event\n"
"  --help                 print this help\n";

enum {
	OPT_LISTEN = 256, OPT_API_KEY, OPT_ADMIN_KEY, OPT_CREDIT, OPT_SEED,
	OPT_MARKET, OPT_OFFERS, OPT_STATE_DIR, OPT_SPEED, OPT_MAX_INSTANCES,
	OPT_LOG_LEVEL, OPT_BOOT_DELAY, OPT_LOAD_DELAY, OPT_KILL_GRACE,
	OPT_ONSTART_EXIT, OPT_STOP_STATUS, OPT_OUTBID_RESUME, OPT_V0_LIST,
	OPT_SHOW_MISSING, OPT_DESTROY_MISSING, OPT_LOW_BID_STATUS,
	OPT_SEARCH_LIMIT, OPT_SEARCH_MAX, OPT_STORAGE_DEFAULT,
	OPT_UNKNOWN_FILTER, OPT_429_BODY, OPT_RATE_LIMITS, OPT_FAULT_RATE,
	OPT_FAULTS, OPT_SLOW_SECONDS, OPT_HOLD_SECONDS, OPT_EVENT_RATE,
	OPT_HELP,
};

static const struct option long_options[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "api-key", required_argument, NULL, OPT_API_KEY },
	{ "admin-key", required_argument, NULL, OPT_ADMIN_KEY },
	{ "credit", required_argument, NULL, OPT_CREDIT },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "market", required_argument, NULL, OPT_MARKET },
	{ "offers", required_argument, NULL, OPT_OFFERS },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "speed", required_argument, NULL, OPT_SPEED },
	{ "max-instances", required_argument, NULL, OPT_MAX_INSTANCES },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "boot-delay", required_argument, NULL, OPT_BOOT_DELAY },
	{ "load-delay", required_argument, NULL, OPT_LOAD_DELAY },
	{ "kill-grace", required_argument, NULL, OPT_KILL_GRACE },
	{ "onstart-exit", required_argument, NULL, OPT_ONSTART_EXIT },
	{ "stop-status", required_argument, NULL, OPT_STOP_STATUS },
	{ "outbid-resume", required_argument, NULL, OPT_OUTBID_RESUME },
	{ "v0-list", required_argument, NULL, OPT_V0_LIST },
	{ "show-missing", required_argument, NULL, OPT_SHOW_MISSING },
	{ "destroy-missing", required_argument, NULL, OPT_DESTROY_MISSING },
	{ "low-bid-status", required_argument, NULL, OPT_LOW_BID_STATUS },
	{ "search-limit", required_argument, NULL, OPT_SEARCH_LIMIT },
	{ "search-max", required_argument, NULL, OPT_SEARCH_MAX },
	{ "storage-default", required_argument, NULL, OPT_STORAGE_DEFAULT },
	{ "unknown-filter", required_argument, NULL, OPT_UNKNOWN_FILTER },
	{ "429-body", required_argument, NULL, OPT_429_BODY },
	{ "rate-limits", no_argument, NULL, OPT_RATE_LIMITS },
	{ "fault-rate", required_argument, NULL, OPT_FAULT_RATE },
	{ "faults", required_argument, NULL, OPT_FAULTS },
	{ "slow-seconds", required_argument, NULL, OPT_SLOW_SECONDS },
	{ "hold-seconds", required_argument, NULL, OPT_HOLD_SECONDS },
	{ "event-rate", required_argument, NULL, OPT_EVENT_RATE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

void hoist_sim_options_init(struct hoist_sim_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	snprintf(opt->listen_host, sizeof(opt->listen_host), "127.0.0.1");
	opt->listen_port = 7342;
	opt->seed = 1;
	opt->credit = 100.0;
	opt->offers = 320;
	opt->speed = 1.0;
	opt->fault_kinds = HOIST_SIM_FAULT_ALL;
	opt->slow_seconds = 3.0;
	opt->hold_seconds = 150.0;
	opt->boot_delay = 5.0;
	opt->load_delay = 10.0;
	opt->low_bid_status = 400;
	opt->default_limit = 64;
	opt->max_limit = 10000;
	opt->default_storage = 5.0;
	opt->kill_grace = 10.0;
	opt->max_instances = 64;
	opt->log_level = HOIST_LOG_INFO;
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

static int bad_value(struct hoist_err *err, const char *name,
		     const char *value, const char *expected)
{
	return hoist_err_set(err, HOIST_E_INVALID,
			     "invalid --%s '%.80s': expected %s", name, value,
			     expected);
}

static int parse_double(const char *name, const char *value, double lo,
			double hi, double *out, struct hoist_err *err)
{
	char expected[96];
	char *end;
	double x;

	errno = 0;
	x = strtod(value, &end);
	if (errno == 0 && end != value && *end == '\0' && isfinite(x) &&
	    x >= lo && x <= hi) {
		*out = x;
		return 0;
	}
	snprintf(expected, sizeof(expected), "a number from %g to %g", lo, hi);
	return bad_value(err, name, value, expected);
}

static int parse_long(const char *name, const char *value, long lo, long hi,
		      long *out, struct hoist_err *err)
{
	char expected[96];
	char *end;
	long x;

	errno = 0;
	x = strtol(value, &end, 10);
	if (errno == 0 && end != value && *end == '\0' && x >= lo &&
	    x <= hi) {
		*out = x;
		return 0;
	}
	snprintf(expected, sizeof(expected), "a whole number from %ld to %ld",
		 lo, hi);
	return bad_value(err, name, value, expected);
}

/* Parses one of two words into 0 or 1. */
static int parse_choice(const char *name, const char *value,
			const char *zero, const char *one, int *out,
			struct hoist_err *err)
{
	char expected[96];

	if (strcmp(value, zero) == 0 || strcmp(value, one) == 0) {
		*out = strcmp(value, one) == 0;
		return 0;
	}
	snprintf(expected, sizeof(expected), "%s or %s", zero, one);
	return bad_value(err, name, value, expected);
}

static int parse_listen(const char *value, struct hoist_sim_options *opt,
			struct hoist_err *err)
{
	const char *colon = strrchr(value, ':');
	const char *host = value;
	size_t host_len;
	long port;

	if (!colon)
		return bad_value(err, "listen", value, "ADDR:PORT");
	host_len = (size_t)(colon - value);
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
		host++;
		host_len -= 2;
	}
	if (host_len == 0 || host_len >= sizeof(opt->listen_host))
		return bad_value(err, "listen", value,
				 "ADDR:PORT with an address such as "
				 "127.0.0.1 or [::1]");
	if (parse_long("listen", colon + 1, 0, 65535, &port, err) != 0)
		return -1;
	snprintf(opt->listen_host, sizeof(opt->listen_host), "%.*s",
		 (int)host_len, host);
	opt->listen_port = (int)port;
	return 0;
}

static int parse_key(const char *name, const char *value,
		     struct hoist_err *err)
{
	size_t len = strlen(value);

	/* The message never shows the key. */
	if (len == 0 || len >= HOIST_SIM_KEY_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid --%s: expected 1 to %d "
				     "characters", name, HOIST_SIM_KEY_MAX - 1);
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)value[i]))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid --%s: character %zu is "
					     "a space or a control character",
					     name, i + 1);
	return 0;
}

static int parse_faults(const char *value, unsigned *mask,
			struct hoist_err *err)
{
	char copy[256];
	char *save = NULL;

	*mask = 0;
	snprintf(copy, sizeof(copy), "%s", value);
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		unsigned bit = hoist_sim_fault_parse(t);

		if (!bit)
			return bad_value(err, "faults", t,
					 "429, 500, 502, 503, 504, timeout, "
					 "slow or malformed");
		*mask |= bit;
	}
	if (*mask == 0)
		return bad_value(err, "faults", value, "at least one kind");
	return 0;
}

static int parse_event_rate(const char *value, struct hoist_sim_options *opt,
			    struct hoist_err *err)
{
	const char *eq = strchr(value, '=');

	for (int k = 0; eq && k < HOIST_SIM_EVENT_KINDS; k++) {
		const char *name = hoist_sim_event_name(k);

		/* gone_offer and low_bid are fractions of creates. */
		if (strlen(name) == (size_t)(eq - value) &&
		    strncmp(name, value, (size_t)(eq - value)) == 0)
			return parse_double("event-rate", eq + 1, 0,
					    k >= HOIST_SIM_EVENT_GONE_OFFER ?
					    1 : 1e6, &opt->event_rates[k],
					    err);
	}
	return bad_value(err, "event-rate", value,
			 "EVENT=RATE with EVENT outbid, offline, exited, "
			 "gone_offer or low_bid");
}

/* ------------------------------------------------------------------ */
/* The command line                                                    */
/* ------------------------------------------------------------------ */

static int parse_option(int c, const char *arg, struct hoist_sim_options *opt,
			struct hoist_err *err)
{
	long n = 0;
	int flag = 0;
	int rc = 0;

	switch (c) {
	case OPT_LISTEN:
		return parse_listen(arg, opt, err);
	case OPT_API_KEY:
		if (parse_key("api-key", arg, err) != 0)
			return -1;
		if (opt->nkeys == HOIST_SIM_KEYS_MAX)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "more than %d --api-key options",
					     HOIST_SIM_KEYS_MAX);
		opt->api_keys[opt->nkeys++] = arg;
		return 0;
	case OPT_ADMIN_KEY:
		opt->admin_key = arg;
		return parse_key("admin-key", arg, err);
	case OPT_CREDIT:
		return parse_double("credit", arg, -1e9, 1e9, &opt->credit,
				    err);
	case OPT_SEED:
		rc = parse_long("seed", arg, 0, 0x7fffffffffffffffL, &n, err);
		opt->seed = (uint64_t)n;
		return rc;
	case OPT_MARKET:
		opt->market_path = arg;
		return 0;
	case OPT_OFFERS:
		rc = parse_long("offers", arg, 1, HOIST_SIM_MARKET_OFFERS_MAX,
				&n, err);
		opt->offers = (size_t)n;
		return rc;
	case OPT_STATE_DIR:
		opt->state_dir = arg;
		return 0;
	case OPT_SPEED:
		return parse_double("speed", arg, 0.001, 10000, &opt->speed,
				    err);
	case OPT_MAX_INSTANCES:
		rc = parse_long("max-instances", arg, 1, 1024, &n, err);
		opt->max_instances = (size_t)n;
		return rc;
	case OPT_LOG_LEVEL:
		opt->log_level = hoist_log_level_parse(arg);
		if (opt->log_level < 0)
			return bad_value(err, "log-level", arg,
					 "error, warn, info or debug");
		return 0;
	case OPT_BOOT_DELAY:
		return parse_double("boot-delay", arg, 0, 86400,
				    &opt->boot_delay, err);
	case OPT_LOAD_DELAY:
		return parse_double("load-delay", arg, 0, 86400,
				    &opt->load_delay, err);
	case OPT_KILL_GRACE:
		return parse_double("kill-grace", arg, 0, 3600,
				    &opt->kill_grace, err);
	case OPT_ONSTART_EXIT:
		if (strcmp(arg, "runtype") == 0)
			opt->onstart_exit = HOIST_SIM_ONSTART_EXIT_RUNTYPE;
		else if (strcmp(arg, "keep") == 0)
			opt->onstart_exit = HOIST_SIM_ONSTART_EXIT_KEEP;
		else if (strcmp(arg, "exited") == 0)
			opt->onstart_exit = HOIST_SIM_ONSTART_EXIT_EXITED;
		else
			return bad_value(err, "onstart-exit", arg,
					 "runtype, keep or exited");
		return 0;
	case OPT_STOP_STATUS:
		return parse_choice("stop-status", arg, "stopped", "exited",
				    &opt->stop_exited, err);
	case OPT_OUTBID_RESUME:
		return parse_choice("outbid-resume", arg, "manual", "auto",
				    &opt->outbid_auto_resume, err);
	case OPT_V0_LIST:
		return parse_choice("v0-list", arg, "normal", "gone",
				    &opt->v0_list_gone, err);
	case OPT_SHOW_MISSING:
		return parse_choice("show-missing", arg, "null", "404",
				    &opt->show_missing_404, err);
	case OPT_DESTROY_MISSING:
		return parse_choice("destroy-missing", arg, "no_such_instance",
				    "not_found", &opt->destroy_not_found,
				    err);
	case OPT_LOW_BID_STATUS:
		rc = parse_choice("low-bid-status", arg, "400", "200", &flag,
				  err);
		opt->low_bid_status = flag ? 200 : 400;
		return rc;
	case OPT_SEARCH_LIMIT:
		return parse_long("search-limit", arg, 1, 1000000,
				  &opt->default_limit, err);
	case OPT_SEARCH_MAX:
		return parse_long("search-max", arg, 1, 1000000,
				  &opt->max_limit, err);
	case OPT_STORAGE_DEFAULT:
		return parse_double("storage-default", arg, 0, 100000,
				    &opt->default_storage, err);
	case OPT_UNKNOWN_FILTER:
		return parse_choice("unknown-filter", arg, "ignore", "reject",
				    &opt->unknown_filter_reject, err);
	case OPT_429_BODY:
		return parse_choice("429-body", arg, "text", "json",
				    &opt->json_429, err);
	case OPT_RATE_LIMITS:
		opt->rate_limits = 1;
		return 0;
	case OPT_FAULT_RATE:
		return parse_double("fault-rate", arg, 0, 1, &opt->fault_rate,
				    err);
	case OPT_FAULTS:
		return parse_faults(arg, &opt->fault_kinds, err);
	case OPT_SLOW_SECONDS:
		return parse_double("slow-seconds", arg, 0, 3600,
				    &opt->slow_seconds, err);
	case OPT_HOLD_SECONDS:
		return parse_double("hold-seconds", arg, 0, 3600,
				    &opt->hold_seconds, err);
	case OPT_EVENT_RATE:
		return parse_event_rate(arg, opt, err);
	default:
		return hoist_err_set(err, HOIST_E_INVALID,
				     "unknown option; see --help");
	}
}

/* Parses argv into opt.  Returns 1 for --help, 0 to run, -1 with err. */
static int parse_args(int argc, char **argv, struct hoist_sim_options *opt,
		      struct hoist_err *err)
{
	int c;

	hoist_sim_options_init(opt);
	opterr = 0;
	/* 0 makes GNU getopt start over, for a caller that parsed before. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "+", long_options, NULL)) != -1) {
		if (c == OPT_HELP)
			return 1;
		if (c == '?' || c == ':')
			return hoist_err_set(err, HOIST_E_INVALID,
					     "unknown option or missing value "
					     "in '%.80s'; see --help",
					     argv[optind - 1]);
		if (parse_option(c, optarg, opt, err) != 0)
			return -1;
	}
	if (optind < argc)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "unexpected argument '%.80s'; see --help",
				     argv[optind]);
	if (opt->nkeys == 0)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "missing --api-key: give at least one "
				     "key that clients will send");
	if (opt->default_limit > opt->max_limit)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "--search-limit %ld is above "
				     "--search-max %ld", opt->default_limit,
				     opt->max_limit);
	return 0;
}

int hoist_sim_main(int argc, char **argv)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_sim_options opt;
	struct hoist_sim *sim = NULL;
	int rc;

	rc = parse_args(argc, argv, &opt, &err);
	if (rc == 1) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (rc != 0) {
		fprintf(stderr, "hoist sim: %s\n", err.msg);
		return EXIT_USAGE;
	}
	hoist_log_init("hoist-sim", opt.log_level, -1, HOIST_LOG_TEXT);
	if (hoist_sim_open(&opt, &sim, &err) != 0) {
		hoist_log_error("cannot start: %s", err.msg);
		return 1;
	}
	rc = hoist_sim_run(sim, &err);
	if (rc != 0)
		hoist_log_error("%s", err.msg);
	hoist_sim_close(sim);
	hoist_log_info("stopped");
	return rc == 0 ? 0 : 1;
}
