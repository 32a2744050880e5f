/*
 * main.c - hoistd: start-up, the timers of the event loop, and shutdown.
 */
#include "orchestrator/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/http.h"
#include "common/log.h"
#include "common/util.h"

/* How long the shutdown waits for the queued copies of logs and metrics
 * to reach the artifact store. */
#define SPOOL_STOP_TIMEOUT_MS 10000

struct options {
	const char *provider;
	const char *vast_url;
	const char *vast_image;
	const char *agent_path;
	int vast_poll_ms;		/* 0: the provider's default */
	int vast_timeout_ms;		/* 0: the provider's default */
	const char *home;
	const char *listen;
	const char *offers;
	const char *storage;
	const char *log_level;
	int log_json;
	int daemonize;
	struct hoist_daemon_settings settings;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: hoistd [options]\n"
		"\n"
		"The hoist orchestrator: queues jobs, rents instances, watches "
		"them and\nrecovers preempted work.  The hoist CLI starts it "
		"on demand.\n"
		"\n"
		"  --home DIR               state folder (default $HOIST_HOME "
		"or\n"
		"                           ~/.local/share/hoist)\n"
		"  --listen HOST:PORT       API address (default "
		"127.0.0.1:7341; port 0\n"
		"                           picks a free port)\n"
		"  --offers FILE            offers of the local provider "
		"(default\n"
		"                           local_offers.yaml in the config "
		"folder)\n"
		"  --storage URL            artifact store (default "
		"file://HOME/artifacts)\n"
		"  --provider NAME          local (default: process trees on "
		"this\n"
		"                           machine) or vast (Vast.ai; key from\n"
		"                           VAST_API_KEY or the vastai CLI's "
		"key file)\n"
		"  --vast-url URL           Vast.ai API base URL (default\n"
		"                           https://console.vast.ai; a "
		"'hoist sim' URL\n"
		"                           for tests)\n"
		"  --vast-image IMAGE       container image for jobs that name "
		"none\n"
		"  --vast-poll-ms N         pause between reads of a new "
		"Vast.ai\n"
		"                           instance (default 3000)\n"
		"  --vast-timeout-ms N      timeout of one Vast.ai API request "
		"(default\n"
		"                           30000)\n"
		"  --agent-path PATH        hoist-agent on the instances "
		"(default: the\n"
		"                           one next to hoistd; set it to the "
		"path in\n"
		"                           your worker image for real "
		"rentals)\n"
		"  --daemonize              detach, log to HOME/hoistd.log\n"
		"  --log-level LEVEL        error, warn, info (default) or "
		"debug\n"
		"  --log-json               one JSON object per log line\n"
		"  --tick-ms N              reconcile period (default 1000)\n"
		"  --heartbeat-interval-ms N  agent heartbeat period "
		"(default 2000)\n"
		"  --heartbeat-timeout-ms N   silence before the provider is "
		"asked\n"
		"                           (default 15000)\n"
		"  --hung-timeout-ms N      silence that ends an attempt even "
		"if its\n"
		"                           instance runs (default 120000)\n"
		"  --start-timeout-ms N     instance start to agent claim "
		"(default 300000)\n"
		"  --retry-delay-ms N       wait before the attempt after a "
		"failed one,\n"
		"                           doubled for each further failure "
		"up to\n"
		"                           5 minutes (default 10000)\n"
		"  --version                print the version\n"
		"  --help                   print this help\n");
}

static int parse_ms(const char *name, const char *text, int *out)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno || *end || value < 10 || value > 86400000) {
		fprintf(stderr, "hoistd: invalid %s '%s': expected "
			"milliseconds from 10 to 86400000\n", name, text);
		return -1;
	}
	*out = (int)value;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *opts)
{
	enum {
		OPT_HOME = 1000, OPT_LISTEN, OPT_OFFERS, OPT_STORAGE,
		OPT_PROVIDER, OPT_VAST_URL, OPT_VAST_IMAGE, OPT_VAST_POLL,
		OPT_VAST_TIMEOUT, OPT_AGENT_PATH,
		OPT_DAEMONIZE, OPT_LOG_LEVEL, OPT_LOG_JSON, OPT_TICK,
		OPT_HB_INTERVAL, OPT_HB_TIMEOUT, OPT_HUNG, OPT_START,
		OPT_RETRY_DELAY,
		OPT_VERSION, OPT_HELP,
	};
	static const struct option longopts[] = {
		{ "home", required_argument, NULL, OPT_HOME },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "offers", required_argument, NULL, OPT_OFFERS },
		{ "storage", required_argument, NULL, OPT_STORAGE },
		{ "provider", required_argument, NULL, OPT_PROVIDER },
		{ "vast-url", required_argument, NULL, OPT_VAST_URL },
		{ "vast-image", required_argument, NULL, OPT_VAST_IMAGE },
		{ "vast-poll-ms", required_argument, NULL, OPT_VAST_POLL },
		{ "vast-timeout-ms", required_argument, NULL, OPT_VAST_TIMEOUT },
		{ "agent-path", required_argument, NULL, OPT_AGENT_PATH },
		{ "daemonize", no_argument, NULL, OPT_DAEMONIZE },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "log-json", no_argument, NULL, OPT_LOG_JSON },
		{ "tick-ms", required_argument, NULL, OPT_TICK },
		{ "heartbeat-interval-ms", required_argument, NULL,
		  OPT_HB_INTERVAL },
		{ "heartbeat-timeout-ms", required_argument, NULL,
		  OPT_HB_TIMEOUT },
		{ "hung-timeout-ms", required_argument, NULL, OPT_HUNG },
		{ "start-timeout-ms", required_argument, NULL, OPT_START },
		{ "retry-delay-ms", required_argument, NULL, OPT_RETRY_DELAY },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct hoist_daemon_settings *s = &opts->settings;
	int c;

	opts->listen = "127.0.0.1:7341";
	opts->provider = "local";
	opts->log_level = "info";
	s->tick_ms = 1000;
	s->flush_ms = 1000;
	s->heartbeat_interval_ms = 2000;
	s->heartbeat_timeout_ms = 15000;
	s->hung_timeout_ms = 120000;
	s->start_timeout_ms = 300000;
	s->stop_timeout_ms = 30000;
	s->retry_delay_ms = 10000;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_HOME: opts->home = optarg; break;
		case OPT_LISTEN: opts->listen = optarg; break;
		case OPT_OFFERS: opts->offers = optarg; break;
		case OPT_STORAGE: opts->storage = optarg; break;
		case OPT_PROVIDER: opts->provider = optarg; break;
		case OPT_VAST_URL: opts->vast_url = optarg; break;
		case OPT_VAST_IMAGE: opts->vast_image = optarg; break;
		case OPT_AGENT_PATH: opts->agent_path = optarg; break;
		case OPT_VAST_POLL:
			if (parse_ms("--vast-poll-ms", optarg,
				     &opts->vast_poll_ms))
				return -1;
			break;
		case OPT_VAST_TIMEOUT:
			if (parse_ms("--vast-timeout-ms", optarg,
				     &opts->vast_timeout_ms))
				return -1;
			break;
		case OPT_DAEMONIZE: opts->daemonize = 1; break;
		case OPT_LOG_LEVEL: opts->log_level = optarg; break;
		case OPT_LOG_JSON: opts->log_json = 1; break;
		case OPT_TICK:
			if (parse_ms("--tick-ms", optarg, &s->tick_ms))
				return -1;
			break;
		case OPT_HB_INTERVAL:
			if (parse_ms("--heartbeat-interval-ms", optarg,
				     &s->heartbeat_interval_ms))
				return -1;
			break;
		case OPT_HB_TIMEOUT:
			if (parse_ms("--heartbeat-timeout-ms", optarg,
				     &s->heartbeat_timeout_ms))
				return -1;
			break;
		case OPT_HUNG:
			if (parse_ms("--hung-timeout-ms", optarg,
				     &s->hung_timeout_ms))
				return -1;
			break;
		case OPT_START:
			if (parse_ms("--start-timeout-ms", optarg,
				     &s->start_timeout_ms))
				return -1;
			break;
		case OPT_RETRY_DELAY:
			if (parse_ms("--retry-delay-ms", optarg,
				     &s->retry_delay_ms))
				return -1;
			break;
		case OPT_VERSION:
			printf("hoistd %s\n", HOIST_VERSION);
			exit(0);
		case OPT_HELP:
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "hoistd: unknown or incomplete option "
				"'%s'\n", argv[optind - 1]);
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hoistd: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (strcmp(opts->provider, "local") != 0 &&
	    strcmp(opts->provider, "vast") != 0) {
		fprintf(stderr, "hoistd: invalid --provider '%s': expected "
			"local or vast\n", opts->provider);
		return -1;
	}
	if (hoist_log_level_parse(opts->log_level) < 0) {
		fprintf(stderr, "hoistd: invalid --log-level '%s': expected "
			"error, warn, info or debug\n", opts->log_level);
		return -1;
	}
	if (s->heartbeat_timeout_ms <= s->heartbeat_interval_ms) {
		fprintf(stderr, "hoistd: --heartbeat-timeout-ms (%d) must be "
			"longer than --heartbeat-interval-ms (%d)\n",
			s->heartbeat_timeout_ms, s->heartbeat_interval_ms);
		return -1;
	}
	return 0;
}

/* Reads HOME/name or creates it with a new random token (mode 0600). */
static int load_or_create_secret(const char *home, const char *name,
				 char *out, size_t nbytes,
				 struct hoist_err *err)
{
	char path[PATH_MAX];
	struct hoist_buf buf;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s", home, name);
	hoist_buf_init(&buf, 1024);
	if (hoist_util_read_file(path, &buf, err) == 0) {
		size_t len = strcspn(buf.data, "\r\n");

		if (len != nbytes * 2) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "'%s' is damaged: expected %zu hex "
				      "characters; delete it to create a new "
				      "one", path, nbytes * 2);
			goto out;
		}
		memcpy(out, buf.data, len);
		out[len] = '\0';
		rc = 0;
		goto out;
	}
	if (err->code != HOIST_E_NOT_FOUND)
		goto out;
	hoist_err_clear(err);
	if (hoist_util_random_hex(out, nbytes, err) ||
	    hoist_util_write_file_atomic(path, out, nbytes * 2, 0600, err))
		goto out;
	rc = 0;
out:
	hoist_buf_release(&buf);
	return rc;
}

static int load_orchestrator_id(struct hoist_daemon *daemon,
				 struct hoist_err *err)
{
	struct hoist_store *store = daemon->store;
	char id[sizeof(daemon->orchestrator_id)];

	if (store->ops->get_meta(store, "orchestrator_id", id, sizeof(id),
				 err) == 0) {
		snprintf(daemon->orchestrator_id,
			 sizeof(daemon->orchestrator_id), "%s", id);
	} else {
		if (err->code != HOIST_E_NOT_FOUND)
			return -1;
		hoist_err_clear(err);
		if (hoist_util_random_hex(id, 4, err) ||
		    store->ops->put_meta(store, "orchestrator_id", id, err))
			return -1;
		snprintf(daemon->orchestrator_id,
			 sizeof(daemon->orchestrator_id), "%s", id);
	}
	snprintf(daemon->label_prefix, sizeof(daemon->label_prefix),
		 "hoist-%s-", daemon->orchestrator_id);
	return 0;
}

static int load_instance(const struct hoist_instance_record *rec, void *arg)
{
	struct hoist_daemon *daemon = arg;
	struct hoist_live_instance *inst;

	if (rec->state == HOIST_INSTANCE_DESTROYED) {
		hoist_billing_track(daemon, rec);
		return 0;
	}
	inst = calloc(1, sizeof(*inst));
	if (!inst)
		return 1;
	inst->rec = *rec;
	inst->next = daemon->instances;
	daemon->instances = inst;
	return 0;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hoist_reconcile_tick(arg);
	hoist_billing_tick(arg);
	hoist_presign_tick(arg);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct hoist_err err = HOIST_ERR_INIT;

	(void)fd;
	(void)what;
	if (hoist_jobs_flush(arg, &err))
		hoist_log_error("cannot save heartbeats: %s", err.msg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct hoist_daemon *daemon = arg;

	(void)what;
	hoist_log_info("received signal %d: shutting down", (int)sig);
	daemon->stopping = 1;
	event_base_loopexit(daemon->base, NULL);
}

static int add_timer(struct hoist_daemon *daemon, struct event **slot,
		     event_callback_fn fn, int ms, struct hoist_err *err)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	*slot = event_new(daemon->base, -1, EV_PERSIST, fn, daemon);
	if (!*slot || event_add(*slot, &tv) != 0)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot add a timer to the event loop");
	return 0;
}

static int daemonize(const char *home, struct hoist_err *err)
{
	char path[PATH_MAX];
	pid_t pid;
	int fd;

	snprintf(path, sizeof(path), "%s/hoistd.log", home);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot open log '%s': %s",
				     path, strerror(errno));
	pid = fork();
	if (pid < 0)
		return hoist_err_set(err, HOIST_E_IO, "fork failed: %s",
				     strerror(errno));
	if (pid > 0)
		_exit(0);
	setsid();
	pid = fork();
	if (pid < 0)
		return hoist_err_set(err, HOIST_E_IO, "fork failed: %s",
				     strerror(errno));
	if (pid > 0)
		_exit(0);
	int null_fd = open("/dev/null", O_RDONLY);

	if (null_fd >= 0) {
		dup2(null_fd, 0);
		close(null_fd);
	}
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	return 0;
}

/*
 * Starts the API.  With port 0 hoistd reuses the address it had last time,
 * because agents of instances that outlived a restart still call it there.
 */
static int start_api(struct hoist_daemon *daemon, const char *listen,
		     struct hoist_err *err)
{
	struct hoist_store *store = daemon->store;
	struct hoist_err ignored = HOIST_ERR_INIT;
	size_t len = strlen(listen);
	char previous[256];
	const char *url_host;

	if (len >= 2 && strcmp(listen + len - 2, ":0") == 0 &&
	    store->ops->get_meta(store, "api_listen", previous,
				 sizeof(previous), &ignored) == 0 &&
	    strncmp(previous, listen, len - 1) == 0) {
		if (hoist_api_start(daemon, previous, &ignored) == 0)
			return 0;
		hoist_log_warn("cannot listen on %s again (%s); agents that "
			       "outlived the last hoistd cannot reach the new "
			       "address", previous, ignored.msg);
		if (daemon->http) {
			evhttp_free(daemon->http);
			daemon->http = NULL;
		}
	}
	if (hoist_api_start(daemon, listen, err))
		return -1;
	url_host = strstr(daemon->url, "://");
	return store->ops->put_meta(store, "api_listen",
				    url_host ? url_host + 3 : daemon->url, err);
}

static int open_provider(struct hoist_daemon *daemon,
			 const struct options *opts, struct hoist_err *err)
{
	struct hoist_vast_options vast;
	char key[512];
	char offers[PATH_MAX];
	char root[PATH_MAX];
	int rc;

	if (strcmp(opts->provider, "local") == 0) {
		if (opts->offers)
			snprintf(offers, sizeof(offers), "%s", opts->offers);
		else if (hoist_util_find_config("local_offers.yaml", offers,
						sizeof(offers), err))
			return -1;
		snprintf(root, sizeof(root), "%s/local/instances",
			 daemon->home);
		return hoist_provider_local_open(daemon->base, root, offers,
						 &daemon->provider, err);
	}
	if (hoist_provider_vast_load_key(key, sizeof(key), err)) {
		hoist_err_prefix(err, "--provider vast needs an API key");
		return -1;
	}
	memset(&vast, 0, sizeof(vast));
	vast.base_url = opts->vast_url;
	vast.api_key = key;
	vast.image = opts->vast_image;
	vast.poll_interval_ms = opts->vast_poll_ms;
	vast.request_timeout_ms = opts->vast_timeout_ms;
	rc = hoist_provider_vast_open(daemon->base, &vast, &daemon->provider,
				      err);
	memset(key, 0, sizeof(key));
	return rc;
}

static int stop_at_first_key(const char *key, uint64_t size, void *arg)
{
	(void)key;
	(void)size;
	(void)arg;
	return 1;
}

/*
 * Lists one key of the artifact store, so that a wrong bucket, endpoint or
 * credential stops hoistd at start instead of failing each checkpoint of
 * each job later.  from_option is 1 when --storage named the store.
 */
static int check_store(struct hoist_daemon *daemon, int from_option,
		       struct hoist_err *err)
{
	struct hoist_artifact_store *store = daemon->artifacts;
	struct hoist_err cause = HOIST_ERR_INIT;
	size_t len;

	hoist_log_info("checking the artifact store %s", store->url);
	if (store->ops->list(store, "jobs/", stop_at_first_key, NULL,
			     &cause) == 0)
		return 0;
	len = strlen(cause.msg);
	return hoist_err_set(err, cause.code, "cannot use the artifact store "
			     "%s%s: %s%s  Check the bucket, the endpoint and "
			     "the credentials in hoistd's environment",
			     store->url, from_option ? " (--storage)" : "",
			     cause.msg, len > 0 && cause.msg[len - 1] == '.' ?
			     "" : ".");
}

static int setup(struct hoist_daemon *daemon, struct options *opts,
		 int *lock_fd, struct hoist_err *err)
{
	char path[PATH_MAX];

	if (opts->home)
		snprintf(daemon->home, sizeof(daemon->home), "%s", opts->home);
	else if (hoist_util_home_dir(daemon->home, sizeof(daemon->home), err))
		return -1;
	if (hoist_util_mkdir_p(daemon->home, 0700, err))
		return -1;

	snprintf(path, sizeof(path), "%s/hoistd.lock", daemon->home);
	*lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*lock_fd < 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot open '%s': %s",
				     path, strerror(errno));
	if (flock(*lock_fd, LOCK_EX | LOCK_NB) != 0)
		return hoist_err_set(err, HOIST_E_CONFLICT,
				     "another hoistd already runs with home "
				     "'%s' (lock %s is held)", daemon->home,
				     path);
	if (opts->daemonize && daemonize(daemon->home, err))
		return -1;
	hoist_log_init("hoistd", hoist_log_level_parse(opts->log_level), -1,
		       opts->log_json ? HOIST_LOG_JSON : HOIST_LOG_TEXT);
	if (hoist_http_global_init(err))
		return -1;

	daemon->base = event_base_new();
	if (!daemon->base)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot create the event loop");
	snprintf(path, sizeof(path), "%s/hoist.db", daemon->home);
	if (hoist_store_sqlite_open(path, &daemon->store, err) ||
	    load_orchestrator_id(daemon, err) ||
	    load_or_create_secret(daemon->home, "admin.token",
				  daemon->admin_token, HOIST_TOKEN_HEX / 2,
				  err))
		return -1;

	if (opts->storage)
		snprintf(daemon->storage_url, sizeof(daemon->storage_url),
			 "%s", opts->storage);
	else
		snprintf(daemon->storage_url, sizeof(daemon->storage_url),
			 "file://%s/artifacts", daemon->home);
	if (hoist_artifact_open(daemon->storage_url, &daemon->artifacts, err) ||
	    check_store(daemon, opts->storage != NULL, err) ||
	    hoist_presign_init(daemon, err) ||
	    hoist_spool_start(daemon, err))
		return -1;

	if (open_provider(daemon, opts, err))
		return -1;
	if (opts->agent_path)
		snprintf(daemon->agent_path, sizeof(daemon->agent_path), "%s",
			 opts->agent_path);
	else if (hoist_util_find_program("hoist-agent", daemon->agent_path,
					 sizeof(daemon->agent_path), err))
		return -1;

	if (hoist_jobs_load(daemon, err) ||
	    daemon->store->ops->list_instances(daemon->store, NULL,
					       load_instance, daemon, err))
		return -1;
	if (start_api(daemon, opts->listen, err))
		return -1;

	snprintf(path, sizeof(path), "%s/hoistd.url", daemon->home);
	if (hoist_util_write_file_atomic(path, daemon->url, strlen(daemon->url),
					 0600, err))
		return -1;
	if (add_timer(daemon, &daemon->tick_event, on_tick,
		      daemon->settings.tick_ms, err) ||
	    add_timer(daemon, &daemon->flush_event, on_flush,
		      daemon->settings.flush_ms, err))
		return -1;
	return 0;
}

static void teardown(struct hoist_daemon *daemon)
{
	struct hoist_err err = HOIST_ERR_INIT;

	if (daemon->store && hoist_jobs_flush(daemon, &err))
		hoist_log_error("cannot save heartbeats at shutdown: %s",
				err.msg);
	hoist_spool_stop(daemon, SPOOL_STOP_TIMEOUT_MS);
	if (daemon->tick_event)
		event_free(daemon->tick_event);
	if (daemon->flush_event)
		event_free(daemon->flush_event);
	if (daemon->http)
		evhttp_free(daemon->http);
	/* Closing the provider calls the pending charges callback, which
	 * still uses the unbilled list. */
	if (daemon->provider)
		hoist_provider_close(daemon->provider);
	hoist_billing_free(daemon);
	hoist_presign_release(daemon);
	if (daemon->artifacts)
		hoist_artifact_close(daemon->artifacts);
	hoist_jobs_free_all(daemon);
	if (daemon->store)
		hoist_store_close(daemon->store);
	if (daemon->base)
		event_base_free(daemon->base);
}

int main(int argc, char **argv)
{
	static struct hoist_daemon daemon;
	struct hoist_err err = HOIST_ERR_INIT;
	struct options opts;
	struct event *sigterm = NULL;
	struct event *sigint = NULL;
	char url_path[PATH_MAX];
	int lock_fd = -1;
	int rc = 1;

	memset(&opts, 0, sizeof(opts));
	if (parse_options(argc, argv, &opts))
		return 2;
	daemon.settings = opts.settings;
	hoist_log_init("hoistd", hoist_log_level_parse(opts.log_level), -1,
		       opts.log_json ? HOIST_LOG_JSON : HOIST_LOG_TEXT);
	signal(SIGPIPE, SIG_IGN);

	if (setup(&daemon, &opts, &lock_fd, &err)) {
		hoist_log_error("cannot start: %s", err.msg);
		goto out;
	}
	sigterm = evsignal_new(daemon.base, SIGTERM, on_signal, &daemon);
	sigint = evsignal_new(daemon.base, SIGINT, on_signal, &daemon);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL)) {
		hoist_log_error("cannot install signal handlers");
		goto out;
	}
	hoist_log_info("hoistd %s listening on %s (home %s, orchestrator %s, "
		       "provider %s, storage %s, agent %s)", HOIST_VERSION,
		       daemon.url, daemon.home, daemon.orchestrator_id,
		       daemon.provider->ops->name, daemon.storage_url,
		       daemon.agent_path);
	hoist_reconcile_tick(&daemon);
	event_base_dispatch(daemon.base);
	snprintf(url_path, sizeof(url_path), "%s/hoistd.url", daemon.home);
	unlink(url_path);
	hoist_log_info("hoistd stopped");
	rc = 0;
out:
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	teardown(&daemon);
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}
