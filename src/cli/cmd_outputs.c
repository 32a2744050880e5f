/*
 * cmd_outputs.c - "hoist outputs JOB [DIR]": lists the final artifacts
 * that a job's agent stored under jobs/<job>/outputs/ when the command
 * exited 0, or downloads them into DIR.
 *
 * The objects come from hoistd's artifact store, presigned by hoistd for
 * the job's prefix when the store is on S3, so the CLI needs no storage
 * credentials.  Existing files in DIR are never replaced without --force.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/client.h"
#include "cli/format.h"
#include "cli/storage_client.h"
#include "common/clock.h"
#include "common/util.h"
#include "storage/artifact.h"

/* Maximum number of outputs that one call lists or fetches. */
#define OUTPUTS_MAX 100000

struct output {
	char *path;		/* relative to the job's outputs/ folder */
	uint64_t size;
};

struct output_list {
	struct output *items;
	size_t count;
	size_t cap;
	size_t prefix_len;	/* of "jobs/<job>/outputs/" */
	struct hoist_err *err;
};

static void output_list_release(struct output_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->items[i].path);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static int add_output(const char *key, uint64_t size, void *arg)
{
	struct output_list *list = arg;
	const char *rel = key + list->prefix_len;

	if (strlen(key) <= list->prefix_len || !hoist_artifact_key_valid(rel))
		return 0;	/* not below outputs/, or not a file path */
	if (list->count == OUTPUTS_MAX) {
		hoist_err_set(list->err, HOIST_E_NOMEM, "the job has more "
			      "than %d outputs", OUTPUTS_MAX);
		return 1;
	}
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 16;
		struct output *grown = realloc(list->items,
					       cap * sizeof(*grown));

		if (!grown) {
			hoist_err_set(list->err, HOIST_E_NOMEM,
				      "out of memory");
			return 1;
		}
		list->items = grown;
		list->cap = cap;
	}
	list->items[list->count].path = strdup(rel);
	if (!list->items[list->count].path) {
		hoist_err_set(list->err, HOIST_E_NOMEM, "out of memory");
		return 1;
	}
	list->items[list->count].size = size;
	list->count++;
	return 0;
}

static int compare_outputs(const void *a, const void *b)
{
	return strcmp(((const struct output *)a)->path,
		      ((const struct output *)b)->path);
}

/* Lists the outputs of job_id, sorted by path. */
static int list_outputs(struct hoist_artifact_store *store,
			const char *job_id, struct output_list *list,
			struct hoist_err *err)
{
	char prefix[300];

	snprintf(prefix, sizeof(prefix), "jobs/%s/outputs/", job_id);
	list->prefix_len = strlen(prefix);
	list->err = err;
	if (store->ops->list(store, prefix, add_output, list, err) ||
	    err->code != HOIST_OK)
		return -1;
	qsort(list->items, list->count, sizeof(*list->items),
	      compare_outputs);
	return 0;
}

static const char *plural(uint64_t count)
{
	return count == 1 ? "" : "s";
}

/* Downloads every output into dir, creating folders as needed.  Fails
 * before the first download when a target exists and force is 0. */
static int fetch_outputs(struct hoist_artifact_store *store,
			 const char *job_id, const char *dir, int force,
			 const struct output_list *list, int quiet,
			 struct hoist_err *err)
{
	char key[HOIST_ARTIFACT_KEY_MAX + 1];
	char path[4096];
	struct stat st;

	for (size_t i = 0; i < list->count; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     list->items[i].path) >= sizeof(path))
			return hoist_err_set(err, HOIST_E_INVALID, "path "
					     "'%s/%s' is too long", dir,
					     list->items[i].path);
		if (!force && lstat(path, &st) == 0)
			return hoist_err_set(err, HOIST_E_CONFLICT, "'%s' "
					     "exists; pass --force to replace "
					     "it, or pick another DIR", path);
	}
	for (size_t i = 0; i < list->count; i++) {
		char *slash;

		snprintf(path, sizeof(path), "%s/%s", dir,
			 list->items[i].path);
		snprintf(key, sizeof(key), "jobs/%s/outputs/%s", job_id,
			 list->items[i].path);
		slash = strrchr(path, '/');
		*slash = '\0';
		if (hoist_util_mkdir_p(path, 0777, err))
			return -1;
		*slash = '/';
		if (store->ops->get_file(store, key, path, err))
			return -1;
		if (!quiet)
			fprintf(stderr, "fetched %s (%llu byte%s)\n", path,
				(unsigned long long)list->items[i].size,
				plural(list->items[i].size));
	}
	return 0;
}

static void print_outputs(const char *job_id,
			  const struct output_list *list, const char *dir,
			  uint64_t bytes, int64_t elapsed_ms, int json)
{
	if (json) {
		json_t *files = json_array();
		json_t *result;

		for (size_t i = 0; files && i < list->count; i++)
			json_array_append_new(files, json_pack(
				"{s:s, s:I}", "path", list->items[i].path,
				"size", (json_int_t)list->items[i].size));
		result = json_pack("{s:s, s:o, s:I}", "job_id", job_id,
				   "files", files ? files : json_array(),
				   "bytes", (json_int_t)bytes);
		if (result && dir) {
			json_object_set_new(result, "dir", json_string(dir));
			json_object_set_new(result, "elapsed_ms",
					    json_integer(elapsed_ms));
		}
		hoist_cli_print_json(stdout, result);
		json_decref(result);
		return;
	}
	if (dir) {
		printf("fetched %zu output%s of job %s into %s: %llu byte%s "
		       "in %.1f s\n", list->count, plural(list->count),
		       job_id, dir, (unsigned long long)bytes, plural(bytes),
		       (double)elapsed_ms / 1000.0);
		return;
	}
	if (list->count == 0) {
		printf("job %s has no outputs in the artifact store\n",
		       job_id);
		return;
	}
	for (size_t i = 0; i < list->count; i++)
		printf("%12llu  %s\n", (unsigned long long)list->items[i].size,
		       list->items[i].path);
}

int hoist_cli_cmd_outputs(int argc, char **argv)
{
	int json = 0, force = 0;
	const struct hoist_cli_opt options[] = {
		{ "force", 0, NULL, "replace files that exist in DIR", &force,
		  NULL },
		{ "json", 0, NULL, "print the result as JSON", &json, NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "outputs",
		.summary = "List the outputs that a job stored when its "
			   "command exited 0, or download them into DIR.",
		.arg_names = { "JOB", "DIR" },
		.min_args = 1,
		.max_args = 2,
		.opts = options,
		.details = "Outputs are the paths of the job file's 'outputs', "
			   "stored under jobs/JOB/outputs/ in hoistd's "
			   "artifact store.  DIR is created if missing; a file "
			   "that exists there is replaced only with --force.\n",
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_artifact_store *store = NULL;
	struct output_list list = { 0 };
	struct hoist_cli_presign presign;
	struct hoist_cli_args args;
	const char *job_id, *dir = NULL;
	int64_t started = 0;
	uint64_t bytes = 0;
	json_t *job = NULL;
	char path[256];
	int rc;

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	job_id = args.positional[0];
	if (args.count == 2)
		dir = args.positional[1];
	snprintf(path, sizeof(path), "/v1/jobs/%s", job_id);
	if (hoist_cli_check_id("job", job_id, &err) ||
	    hoist_cli_client_open(&client, &err) ||
	    hoist_cli_client_call(&client, "GET", path, NULL, &job, &err) ||
	    hoist_cli_storage_open(&client, job_id, &presign, &store, &err) ||
	    list_outputs(store, job_id, &list, &err))
		goto out;
	for (size_t i = 0; i < list.count; i++)
		bytes += list.items[i].size;
	if (dir) {
		started = hoist_clock_mono_ms();
		if (fetch_outputs(store, job_id, dir, force, &list, json,
				  &err))
			goto out;
		started = hoist_clock_mono_ms() - started;
	}
	print_outputs(job_id, &list, dir, bytes, started, json);
out:
	if (err.code != HOIST_OK)
		hoist_cli_print_error(&err);
	output_list_release(&list);
	if (store)
		hoist_artifact_close(store);
	json_decref(job);
	hoist_cli_client_close(&client);
	return err.code != HOIST_OK ? HOIST_CLI_EXIT_FAILURE :
				      HOIST_CLI_EXIT_OK;
}
