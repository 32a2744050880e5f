/*
 * cmd_instances.c - "hoist instances": lists the instances that hoistd
 * rented, and the test switches "preempt" and "fault".
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/format.h"
#include "cli/view.h"
#include "common/clock.h"
#include "config/config.h"

#define GRACE_DEFAULT_SECONDS 30

static const struct {
	const char *mode;	/* as typed */
	const char *wire;	/* as sent to hoistd */
	const char *help;
} faults[] = {
	{ "freeze", "freeze", "SIGSTOP its processes, report it unreachable" },
	{ "thaw", "thaw", "SIGCONT them, report it reachable again" },
	{ "block-destroy", "block_destroy", "make every destroy of the "
	  "instance fail" },
	{ "allow-destroy", "allow_destroy", "let destroys succeed again" },
};

#define FAULT_COUNT (sizeof(faults) / sizeof(faults[0]))

static int finish(struct hoist_cli_client *client, struct hoist_err *err,
		  json_t *reply)
{
	if (err->code)
		hoist_cli_print_error(err);
	json_decref(reply);
	hoist_cli_client_close(client);
	return err->code ? HOIST_CLI_EXIT_FAILURE : HOIST_CLI_EXIT_OK;
}

/*
 * Parses --grace: a whole number of seconds ("10"), or a duration with a
 * unit ("10s", "2m") that is a whole number of seconds.
 */
static int parse_grace(const char *text, int64_t *seconds,
		       struct hoist_err *err)
{
	struct hoist_err duration_err = HOIST_ERR_INIT;
	int64_t ms;

	if (*text && strspn(text, "0123456789") == strlen(text)) {
		char *end;
		long long value;

		errno = 0;
		value = strtoll(text, &end, 10);
		if (errno || value > INT_MAX)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "--grace: '%s' is too large",
					     text);
		*seconds = value;
		return 0;
	}
	if (hoist_config_parse_duration_ms(text, &ms, &duration_err))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "--grace: invalid duration '%s' (%s); "
				     "write seconds like 10 or 10s",
				     text, duration_err.msg);
	if (ms < 0 || ms % 1000 != 0 || ms / 1000 > INT_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "--grace: '%s' is not a whole number of "
				     "seconds", text);
	*seconds = ms / 1000;
	return 0;
}

static int run_preempt(int argc, char **argv)
{
	const char *grace_text = NULL;
	const struct hoist_cli_opt options[] = {
		{ "grace", 0, "SECONDS", "time between SIGTERM and SIGKILL, "
		  "as 10 or 10s (default 30)", NULL, &grace_text },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "instances preempt",
		.summary = "Preempt an instance as a marketplace host would: "
			   "its job's command gets SIGTERM, then SIGKILL "
			   "after the grace time, and the instance goes "
			   "away.",
		.arg_names = { "ID" },
		.min_args = 1,
		.max_args = 1,
		.opts = options,
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;
	int64_t grace = GRACE_DEFAULT_SECONDS;
	char path[256];
	json_t *body = NULL;
	json_t *reply = NULL;
	int rc;

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	if (grace_text && parse_grace(grace_text, &grace, &err)) {
		hoist_cli_print_error(&err);
		hoist_cli_print_usage(stderr, &spec);
		return HOIST_CLI_EXIT_USAGE;
	}
	if (hoist_cli_check_id("instance", args.positional[0], &err) ||
	    hoist_cli_client_open(&client, &err))
		goto out;

	body = json_pack("{sI}", "grace_seconds", (json_int_t)grace);
	snprintf(path, sizeof(path), "/v1/instances/%s/preempt",
		 args.positional[0]);
	if (!body) {
		hoist_err_set(&err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	if (hoist_cli_client_call(&client, "POST", path, body, &reply, &err))
		goto out;
	printf("preempting instance %s with a grace time of %lld s\n",
	       args.positional[0], (long long)grace);
out:
	json_decref(body);
	return finish(&client, &err, reply);
}

static int run_fault(int argc, char **argv)
{
	static char details[1024];
	const struct hoist_cli_opt options[] = { { 0 } };
	const struct hoist_cli_spec spec = {
		.name = "instances fault",
		.summary = "Inject a fault into an instance of the local "
			   "provider (a test switch; other providers reject "
			   "it).",
		.arg_names = { "ID", "MODE" },
		.min_args = 2,
		.max_args = 2,
		.opts = options,
		.details = details,
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;
	const char *wire = NULL;
	char path[256];
	json_t *body = NULL;
	json_t *reply = NULL;
	size_t len;
	int rc;

	len = (size_t)snprintf(details, sizeof(details), "modes:\n");
	for (size_t i = 0; i < FAULT_COUNT && len < sizeof(details); i++)
		len += (size_t)snprintf(details + len, sizeof(details) - len,
					"  %-14s %s\n", faults[i].mode,
					faults[i].help);

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	for (size_t i = 0; i < FAULT_COUNT; i++) {
		if (strcmp(args.positional[1], faults[i].mode) == 0 ||
		    strcmp(args.positional[1], faults[i].wire) == 0)
			wire = faults[i].wire;
	}
	if (!wire) {
		fprintf(stderr, "hoist: unknown fault mode '%s'; expected "
			"freeze, thaw, block-destroy or allow-destroy\n",
			args.positional[1]);
		hoist_cli_print_usage(stderr, &spec);
		return HOIST_CLI_EXIT_USAGE;
	}
	if (hoist_cli_check_id("instance", args.positional[0], &err) ||
	    hoist_cli_client_open(&client, &err))
		goto out;

	body = json_pack("{ss}", "fault", wire);
	snprintf(path, sizeof(path), "/v1/instances/%s/fault",
		 args.positional[0]);
	if (!body) {
		hoist_err_set(&err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	if (hoist_cli_client_call(&client, "POST", path, body, &reply, &err))
		goto out;
	printf("applied %s to instance %s\n", args.positional[1],
	       args.positional[0]);
out:
	json_decref(body);
	return finish(&client, &err, reply);
}

/* Keeps the instances that are not destroyed yet. */
static json_t *live_instances(const json_t *instances, struct hoist_err *err)
{
	json_t *selected = json_array();
	const json_t *instance;
	size_t i;

	if (!selected) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		return NULL;
	}
	json_array_foreach(instances, i, instance) {
		const char *state = hoist_cli_json_str(instance, "state");

		if (state && strcmp(state, "destroyed") == 0)
			continue;
		if (json_array_append(selected, (json_t *)instance)) {
			hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
			json_decref(selected);
			return NULL;
		}
	}
	return selected;
}

static int run_list(int argc, char **argv)
{
	int json = 0;
	int all = 0;
	const struct hoist_cli_opt options[] = {
		{ "json", 0, NULL, "print {\"instances\": [...]} as JSON",
		  &json, NULL },
		{ "all", 'a', NULL, "also list destroyed instances", &all,
		  NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "instances",
		.summary = "List the instances that hoistd rented and has not "
			   "destroyed yet.",
		.opts = options,
		.details = "subcommands:\n"
			   "  hoist instances preempt ID [--grace SECONDS]\n"
			   "  hoist instances fault ID MODE   (local provider "
			   "only)\n",
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;
	json_t *reply = NULL;
	json_t *instances = NULL;
	int rc;

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	if (hoist_cli_client_open(&client, &err) ||
	    hoist_cli_client_call(&client, "GET",
				  all ? "/v1/instances?all=1" :
					"/v1/instances", NULL, &reply, &err))
		goto out;
	if (!json_is_array(json_object_get(reply, "instances"))) {
		hoist_err_set(&err, HOIST_E_HTTP,
			      "GET /v1/instances returned no \"instances\" "
			      "array");
		goto out;
	}
	if (all)
		instances = json_incref(json_object_get(reply, "instances"));
	else
		instances = live_instances(json_object_get(reply, "instances"),
					   &err);
	if (!instances)
		goto out;

	if (json) {
		json_t *doc = json_pack("{sO}", "instances", instances);

		if (!doc) {
			hoist_err_set(&err, HOIST_E_NOMEM, "out of memory");
			goto out;
		}
		hoist_cli_print_json(stdout, doc);
		json_decref(doc);
	} else if (json_array_size(instances) == 0) {
		printf("no instances%s\n", all ? "" : " (add --all to list "
		       "destroyed ones)");
	} else {
		hoist_cli_view_instances(stdout, instances,
					 hoist_clock_now_ms(), &err);
	}
out:
	json_decref(instances);
	return finish(&client, &err, reply);
}

int hoist_cli_cmd_instances(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "preempt") == 0)
		return run_preempt(argc - 1, argv + 1);
	if (strcmp(sub, "fault") == 0)
		return run_fault(argc - 1, argv + 1);
	if (sub[0] && sub[0] != '-') {
		fprintf(stderr, "hoist: unknown instances subcommand '%s'; "
			"expected preempt or fault\nusage: hoist instances "
			"[preempt ID | fault ID MODE] [options]\n", sub);
		return HOIST_CLI_EXIT_USAGE;
	}
	return run_list(argc, argv);
}
