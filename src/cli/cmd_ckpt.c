/*
 * cmd_ckpt.c - "hoist ckpt ls" and "hoist ckpt pull": a job's committed
 * checkpoints, and the download of one of them.
 *
 * The list comes from hoistd's job record.  A download opens the artifact
 * store that GET /v1/storage names: a file:// store directly, and an S3
 * store without credentials, with every request presigned by hoistd
 * (POST /v1/jobs/JOB/presign), which keeps it to the job's prefix.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/format.h"
#include "common/clock.h"
#include "storage/artifact.h"
#include "storage/checkpoint.h"
#include "storage/s3.h"

#define PRESIGNED_PREFIX "hoist-presigned:"

/* The presign callback's state: hoistd and the job whose prefix it signs. */
struct ckpt_presign {
	struct hoist_cli_client *client;
	char path[256];			/* "/v1/jobs/JOB/presign" */
};

static int presign_from_hoistd(void *arg, const char *method,
			       const char *key,
			       const struct hoist_s3_param *query,
			       size_t nquery, char *url, size_t urllen,
			       struct hoist_err *err)
{
	struct ckpt_presign *ctx = arg;
	json_t *params = json_object();
	json_t *body, *reply = NULL;
	const char *signed_url;
	int rc = -1;

	for (size_t i = 0; params && i < nquery; i++)
		json_object_set_new(params, query[i].name,
				    json_string(query[i].value ?
						query[i].value : ""));
	body = json_pack("{s:s, s:o, s:o*}", "method", method, "key",
			 key ? json_string(key) : json_null(), "query", params);
	if (!body)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	if (hoist_cli_client_call(ctx->client, "POST", ctx->path, body, &reply,
				  err))
		goto out;
	signed_url = json_string_value(json_object_get(reply, "url"));
	if (!signed_url || strlen(signed_url) >= urllen) {
		hoist_err_set(err, HOIST_E_HTTP, "hoistd's presign reply for "
			      "%s %s has no usable 'url'", method,
			      key ? key : "(bucket)");
		goto out;
	}
	memcpy(url, signed_url, strlen(signed_url) + 1);
	rc = 0;
out:
	json_decref(body);
	json_decref(reply);
	return rc;
}

/* Opens the artifact store of hoistd for job_id's objects. */
static int open_store(struct hoist_cli_client *client, const char *job_id,
		      struct ckpt_presign *ctx,
		      struct hoist_artifact_store **store,
		      struct hoist_err *err)
{
	json_t *reply = NULL;
	const char *url;
	int rc = -1;

	if (hoist_cli_client_call(client, "GET", "/v1/storage", NULL, &reply,
				  err))
		return -1;
	url = json_string_value(json_object_get(reply, "storage_url"));
	if (!url) {
		hoist_err_set(err, HOIST_E_HTTP, "hoistd's /v1/storage reply "
			      "has no 'storage_url'");
		goto out;
	}
	if (strncmp(url, PRESIGNED_PREFIX, strlen(PRESIGNED_PREFIX)) != 0) {
		rc = hoist_artifact_open(url, store, err);
		goto out;
	}
	ctx->client = client;
	snprintf(ctx->path, sizeof(ctx->path), "/v1/jobs/%s/presign", job_id);
	rc = hoist_s3_open_presigned(url + strlen(PRESIGNED_PREFIX),
				     presign_from_hoistd, ctx, store, err);
out:
	json_decref(reply);
	return rc;
}

static int get_job(struct hoist_cli_client *client, const char *id,
		   json_t **job, struct hoist_err *err)
{
	char path[256];

	if (hoist_cli_check_id("job", id, err) ||
	    hoist_cli_client_open(client, err))
		return -1;
	snprintf(path, sizeof(path), "/v1/jobs/%s", id);
	return hoist_cli_client_call(client, "GET", path, NULL, job, err);
}

static int finish(struct hoist_cli_client *client, struct hoist_err *err,
		  json_t *job)
{
	int failed = err->code != HOIST_OK;

	if (failed)
		hoist_cli_print_error(err);
	json_decref(job);
	hoist_cli_client_close(client);
	return failed ? HOIST_CLI_EXIT_FAILURE : HOIST_CLI_EXIT_OK;
}

static int cmd_ls(int argc, char **argv)
{
	int json = 0;
	const struct hoist_cli_opt options[] = {
		{ "json", 0, NULL, "print the checkpoints as a JSON array",
		  &json, NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "ckpt ls",
		.summary = "List the committed checkpoints of a job, oldest "
			   "first.",
		.arg_names = { "JOB" },
		.min_args = 1,
		.max_args = 1,
		.opts = options,
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_cli_args args;
	json_t *job = NULL, *ckpts, *ckpt;
	size_t i;
	int rc;

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	if (get_job(&client, args.positional[0], &job, &err))
		goto out;
	ckpts = json_object_get(job, "checkpoints");
	if (json) {
		hoist_cli_print_json(stdout, ckpts ? ckpts : json_array());
		goto out;
	}
	if (json_array_size(ckpts) == 0) {
		printf("job %s has no committed checkpoint\n",
		       args.positional[0]);
		goto out;
	}
	printf("%-10s %-8s %-6s %-14s %-20s %s\n", "STEP", "ATTEMPT",
	       "FILES", "BYTES", "COMMITTED", "MANIFEST");
	json_array_foreach(ckpts, i, ckpt) {
		int64_t step = 0, attempt = 0, files = 0, bytes = 0;
		const char *committed = hoist_cli_json_str(ckpt,
							   "committed_at");

		hoist_cli_json_int(ckpt, "step", &step);
		hoist_cli_json_int(ckpt, "attempt", &attempt);
		hoist_cli_json_int(ckpt, "files", &files);
		hoist_cli_json_int(ckpt, "bytes", &bytes);
		printf("%-10lld %-8lld %-6lld %-14lld %-20s %s\n",
		       (long long)step, (long long)attempt, (long long)files,
		       (long long)bytes, committed ? committed : "-",
		       hoist_cli_json_str(ckpt, "manifest_key"));
	}
out:
	return finish(&client, &err, job);
}

/* Returns the checkpoint of ckpts with the step text names, or the newest
 * one when text is NULL; NULL with err set when there is none. */
static json_t *pick_checkpoint(json_t *ckpts, const char *job_id,
			       const char *text, struct hoist_err *err)
{
	json_t *best = NULL, *ckpt;
	int64_t requested = -1, best_step = -1;
	char *end;
	size_t i;

	if (text) {
		requested = strtoll(text, &end, 10);
		if (!*text || *end || requested < 0) {
			hoist_err_set(err, HOIST_E_INVALID, "invalid STEP '%s': "
				      "expected a step number >= 0 from "
				      "'hoist ckpt ls %s'", text, job_id);
			return NULL;
		}
	}
	json_array_foreach(ckpts, i, ckpt) {
		int64_t step = -1;

		hoist_cli_json_int(ckpt, "step", &step);
		if (text ? step == requested : step > best_step) {
			best = ckpt;
			best_step = step;
		}
	}
	if (!best && text)
		hoist_err_set(err, HOIST_E_NOT_FOUND, "job %s has no committed "
			      "checkpoint of step %s; 'hoist ckpt ls %s' lists "
			      "them", job_id, text, job_id);
	else if (!best)
		hoist_err_set(err, HOIST_E_NOT_FOUND, "job %s has no committed "
			      "checkpoint yet", job_id);
	return best;
}

static int cmd_pull(int argc, char **argv)
{
	int json = 0;
	const struct hoist_cli_opt options[] = {
		{ "json", 0, NULL, "print the result as JSON", &json, NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "ckpt pull",
		.summary = "Download a committed checkpoint of a job into DIR "
			   "and verify every file's size and SHA-256.",
		.arg_names = { "JOB", "STEP", "DIR" },
		.min_args = 2,
		.max_args = 3,
		.opts = options,
		.details = "STEP defaults to the newest checkpoint.  DIR is "
			   "created if missing and emptied first.",
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_artifact_store *store = NULL;
	struct ckpt_presign presign;
	struct hoist_cli_args args;
	const char *job_id, *step_text = NULL, *dir;
	json_t *job = NULL, *ckpt;
	int64_t started, step = -1, bytes = 0, files = 0;
	int rc;

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	job_id = args.positional[0];
	if (args.count == 3)
		step_text = args.positional[1];
	dir = args.positional[args.count - 1];
	if (get_job(&client, job_id, &job, &err))
		goto out;
	ckpt = pick_checkpoint(json_object_get(job, "checkpoints"), job_id,
			       step_text, &err);
	if (!ckpt || open_store(&client, job_id, &presign, &store, &err))
		goto out;
	hoist_cli_json_int(ckpt, "bytes", &bytes);
	hoist_cli_json_int(ckpt, "files", &files);
	if (!json)
		fprintf(stderr, "pulling %lld files (%lld bytes) of job %s\n",
			(long long)files, (long long)bytes, job_id);
	started = hoist_clock_mono_ms();
	/* NOTE: the restore reports no progress while it runs, so the
	 * rate is printed once at the end. */
	if (hoist_checkpoint_restore(store,
				     hoist_cli_json_str(ckpt, "manifest_key"),
				     hoist_cli_json_str(ckpt,
							"manifest_sha256"),
				     dir, &step, &err))
		goto out;
	started = hoist_clock_mono_ms() - started;
	if (json) {
		json_t *result = json_pack("{s:s, s:I, s:s, s:I, s:I, s:I}",
					   "job_id", job_id, "step",
					   (json_int_t)step, "dir", dir,
					   "files", (json_int_t)files,
					   "bytes", (json_int_t)bytes,
					   "elapsed_ms", (json_int_t)started);

		hoist_cli_print_json(stdout, result);
		json_decref(result);
	} else {
		printf("pulled step %lld of job %s into %s: %lld files, "
		       "%lld bytes in %.1f s, verified\n", (long long)step,
		       job_id, dir, (long long)files, (long long)bytes,
		       (double)started / 1000.0);
	}
out:
	if (store)
		hoist_artifact_close(store);
	return finish(&client, &err, job);
}

int hoist_cli_cmd_ckpt(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "ls") == 0)
		return cmd_ls(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "pull") == 0)
		return cmd_pull(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		printf("usage: hoist ckpt ls JOB [--json]\n"
		       "       hoist ckpt pull JOB [STEP] DIR [--json]\n");
		return HOIST_CLI_EXIT_OK;
	}
	fprintf(stderr, "hoist ckpt: %s%s%s; expected 'ls' or 'pull' (see "
		"'hoist ckpt --help')\n", argc >= 2 ? "unknown subcommand '" :
		"missing subcommand", argc >= 2 ? argv[1] : "",
		argc >= 2 ? "'" : "");
	return HOIST_CLI_EXIT_USAGE;
}
