/*
 * cmd_ckpt.c - "hoist ckpt ls", "pull" and "push": a job's committed
 * checkpoints, the download of one of them, and the upload of a folder as
 * a new one.
 *
 * The list comes from hoistd's job record.  A transfer opens the artifact
 * store that GET /v1/storage names: a file:// store directly, and an S3
 * store without credentials, with every request presigned by hoistd
 * (POST /v1/jobs/JOB/presign), which keeps it to the job's prefix.  A push
 * ends with POST /v1/jobs/JOB/checkpoints, which hoistd records like an
 * agent's commit.
 */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/format.h"
#include "cli/progress.h"
#include "cli/storage_client.h"
#include "cli/view.h"
#include "common/clock.h"
#include "storage/artifact.h"
#include "storage/checkpoint.h"

/* Returns the "s" that follows a noun for count items. */
static const char *plural(int64_t count)
{
	return count == 1 ? "" : "s";
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
	json_t *job = NULL, *ckpts;
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
	hoist_cli_view_checkpoints(stdout, ckpts, "", &err);
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

/*
 * Checks the DIR of a pull before anything is fetched.  A missing DIR is
 * created by the restore and an empty one is used as it is.  A non-empty
 * one is accepted only with --force, because the restore empties it.
 */
static int check_pull_dir(const char *dir, int force, struct hoist_err *err)
{
	struct dirent *entry;
	struct stat st;
	DIR *folder;
	int used = 0;

	if (lstat(dir, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return hoist_err_set(err, HOIST_E_IO, "cannot use DIR '%s': %s",
				     dir, strerror(errno));
	}
	/* The restore does not follow a link, so reject it now. */
	if (S_ISLNK(st.st_mode))
		return hoist_err_set(err, HOIST_E_INVALID, "DIR '%s' is a "
				     "symbolic link; name the folder it points "
				     "to instead", dir);
	if (!S_ISDIR(st.st_mode))
		return hoist_err_set(err, HOIST_E_INVALID, "DIR '%s' is not a "
				     "directory; pick an empty or new folder "
				     "to pull the checkpoint into", dir);
	if (force)
		return 0;
	folder = opendir(dir);
	if (!folder)
		return hoist_err_set(err, HOIST_E_IO, "cannot read DIR '%s': %s",
				     dir, strerror(errno));
	while ((entry = readdir(folder)) != NULL) {
		if (strcmp(entry->d_name, ".") != 0 &&
		    strcmp(entry->d_name, "..") != 0) {
			used = 1;
			break;
		}
	}
	closedir(folder);
	if (used)
		return hoist_err_set(err, HOIST_E_CONFLICT, "DIR '%s' is not "
				     "empty, and a pull deletes what it "
				     "contains; pass --force to empty it, or "
				     "pick an empty or new folder", dir);
	return 0;
}

/*
 * Parses the command line of "ckpt pull" like hoist_cli_parse_command(),
 * but prints the usage and help of shown_spec ("JOB [STEP] DIR"), because
 * the shared parser can mark only trailing positionals as optional.
 * parse_spec names the second positional DIR, so a missing one is
 * reported as DIR.
 */
static int parse_pull_command(const struct hoist_cli_spec *parse_spec,
			      const struct hoist_cli_spec *shown_spec,
			      int argc, char **argv,
			      struct hoist_cli_args *args)
{
	struct hoist_err err = HOIST_ERR_INIT;

	if (hoist_cli_parse(parse_spec, argc, argv, args, &err)) {
		hoist_cli_print_error(&err);
		hoist_cli_print_usage(stderr, shown_spec);
		fprintf(stderr, "Run 'hoist %s --help' for the options.\n",
			shown_spec->name);
		return -1;
	}
	if (args->help) {
		hoist_cli_print_help(stdout, shown_spec);
		return 1;
	}
	return 0;
}

static int cmd_pull(int argc, char **argv)
{
	int json = 0, force = 0;
	const struct hoist_cli_opt options[] = {
		{ "force", 0, NULL, "empty DIR first when it is not empty",
		  &force, NULL },
		{ "json", 0, NULL, "print the result as JSON", &json, NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "ckpt pull",
		.summary = "Download a committed checkpoint of a job into DIR "
			   "and verify the manifest's SHA-256 and every "
			   "file's size and CRC-32C.",
		.arg_names = { "JOB", "[STEP] DIR" },
		.min_args = 2,
		.max_args = 2,
		.opts = options,
		.details = "STEP defaults to the newest checkpoint.  DIR is "
			   "created if missing.  A DIR that exists must be "
			   "empty, unless --force is given, which deletes "
			   "its contents first.\n",
	};
	const struct hoist_cli_spec parse_spec = {
		.name = spec.name,
		.arg_names = { "JOB", "DIR", "DIR" },
		.min_args = 2,
		.max_args = 3,
		.opts = options,
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_artifact_store *store = NULL;
	struct hoist_cli_progress progress;
	struct hoist_cli_presign presign;
	struct hoist_cli_args args;
	const char *job_id, *step_text = NULL, *dir;
	json_t *job = NULL, *ckpt;
	int64_t started, step = -1, bytes = 0, files = 0;
	int rc;

	rc = parse_pull_command(&parse_spec, &spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	job_id = args.positional[0];
	if (args.count == 3)
		step_text = args.positional[1];
	dir = args.positional[args.count - 1];
	if (check_pull_dir(dir, force, &err) ||
	    get_job(&client, job_id, &job, &err))
		goto out;
	ckpt = pick_checkpoint(json_object_get(job, "checkpoints"), job_id,
			       step_text, &err);
	if (!ckpt || hoist_cli_storage_open(&client, job_id, &presign,
					    &store, &err))
		goto out;
	hoist_cli_json_int(ckpt, "bytes", &bytes);
	hoist_cli_json_int(ckpt, "files", &files);
	if (!json)
		fprintf(stderr, "pulling %lld file%s (%lld byte%s) of job "
			"%s\n", (long long)files, plural(files),
			(long long)bytes, plural(bytes), job_id);
	started = hoist_clock_mono_ms();
	hoist_cli_progress_init(&progress, stdout, "pulled", (uint64_t)bytes,
				json);
	rc = hoist_checkpoint_restore(
		hoist_cli_progress_attach(store, &progress),
		hoist_cli_json_str(ckpt, "manifest_key"),
		hoist_cli_json_str(ckpt, "manifest_sha256"), dir, &step, &err);
	hoist_cli_progress_detach(store);
	if (rc == 0)
		hoist_cli_progress_show(&progress, 1);
	hoist_cli_progress_finish(&progress);
	if (rc)
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
		printf("pulled step %lld of job %s into %s: %lld file%s, "
		       "%lld byte%s in %.1f s, verified\n", (long long)step,
		       job_id, dir, (long long)files, plural(files),
		       (long long)bytes, plural(bytes),
		       (double)started / 1000.0);
	}
out:
	if (store)
		hoist_artifact_close(store);
	return finish(&client, &err, job);
}

/* Counts the regular files below a folder and sums their sizes, for the
 * progress total.  nftw() takes no argument for its callback, hence the
 * statics. */
static uint64_t tree_bytes;
static uint64_t tree_files;

static int add_tree_file(const char *path, const struct stat *st, int type,
			 struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F && S_ISREG(st->st_mode)) {
		tree_bytes += (uint64_t)st->st_size;
		tree_files++;
	}
	return 0;
}

static int check_push_dir(const char *dir, uint64_t *bytes,
			  struct hoist_err *err)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		return hoist_err_set(err, errno == ENOENT ? HOIST_E_NOT_FOUND :
				     HOIST_E_IO, "cannot read DIR '%s': %s",
				     dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return hoist_err_set(err, HOIST_E_INVALID, "DIR '%s' is not a "
				     "directory; push uploads a folder of "
				     "checkpoint files", dir);
	tree_bytes = 0;
	tree_files = 0;
	if (nftw(dir, add_tree_file, 16, FTW_PHYS) != 0)
		return hoist_err_set(err, HOIST_E_IO, "cannot walk DIR '%s': %s",
				     dir, strerror(errno));
	/* A checkpoint of no files would become the newest one, and
	 * retention would then delete a real one. */
	if (tree_files == 0)
		return hoist_err_set(err, HOIST_E_INVALID, "DIR '%s' contains "
				     "no regular file; push uploads the files "
				     "below DIR, so put the checkpoint files "
				     "there", dir);
	*bytes = tree_bytes;
	return 0;
}

/*
 * Picks the step of a pushed checkpoint: one above the newest committed
 * step, or the --step value, which must be above it too, because hoistd
 * commits only steps above the last one.
 */
static int pick_push_step(json_t *ckpts, const char *job_id,
			  const char *text, int64_t *step,
			  struct hoist_err *err)
{
	int64_t last = -1, requested;
	json_t *ckpt;
	char *end;
	size_t i;

	json_array_foreach(ckpts, i, ckpt) {
		int64_t value = -1;

		hoist_cli_json_int(ckpt, "step", &value);
		if (value > last)
			last = value;
	}
	if (!text) {
		*step = last + 1;
		return 0;
	}
	errno = 0;
	requested = strtoll(text, &end, 10);
	if (!*text || *end || errno || requested < 0)
		return hoist_err_set(err, HOIST_E_INVALID, "invalid --step '%s': "
				     "expected an integer >= 0", text);
	if (requested <= last)
		return hoist_err_set(err, HOIST_E_CONFLICT, "--step %s is not "
				     "above step %lld, the newest committed "
				     "checkpoint of job %s; give a higher "
				     "step or leave --step out", text,
				     (long long)last, job_id);
	*step = requested;
	return 0;
}

/* Records the uploaded checkpoint with hoistd. */
static int commit_pushed(struct hoist_cli_client *client, const char *job_id,
			 const struct hoist_checkpoint_info *info,
			 struct hoist_err *err)
{
	char path[256];
	json_t *body, *reply = NULL;
	int rc;

	body = json_pack("{s:I, s:s, s:s, s:I, s:I}", "step",
			 (json_int_t)info->step, "manifest_key",
			 info->manifest_key, "manifest_sha256",
			 info->manifest_sha256, "files",
			 (json_int_t)info->files, "bytes",
			 (json_int_t)info->bytes);
	if (!body)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	snprintf(path, sizeof(path), "/v1/jobs/%s/checkpoints", job_id);
	rc = hoist_cli_client_call(client, "POST", path, body, &reply, err);
	json_decref(body);
	json_decref(reply);
	return rc;
}

static int cmd_push(int argc, char **argv)
{
	int json = 0;
	const char *step_text = NULL;
	const struct hoist_cli_opt options[] = {
		{ "step", 0, "N", "the step number of the new checkpoint; "
		  "must be above the newest committed step", NULL,
		  &step_text },
		{ "json", 0, NULL, "print the result as JSON", &json, NULL },
		{ 0 },
	};
	const struct hoist_cli_spec spec = {
		.name = "ckpt push",
		.summary = "Upload the files of DIR as a new committed "
			   "checkpoint of a job.",
		.arg_names = { "JOB", "DIR" },
		.min_args = 2,
		.max_args = 2,
		.opts = options,
		.details = "The step defaults to one above the newest committed "
			   "checkpoint.  The job resumes from the pushed "
			   "checkpoint on its next attempt, like from one "
			   "its agent uploaded.  DIR must contain at least "
			   "one regular file.\n",
	};
	struct hoist_cli_client client = { 0 };
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_artifact_store *store = NULL;
	struct hoist_checkpoint_info info;
	struct hoist_cli_progress progress;
	struct hoist_cli_presign presign;
	struct hoist_cli_args args;
	const char *job_id, *dir;
	json_t *job = NULL;
	int64_t started, step = 0, attempt = 0;
	uint64_t bytes = 0;
	int rc;

	rc = hoist_cli_parse_command(&spec, argc, argv, &args);
	if (rc)
		return rc < 0 ? HOIST_CLI_EXIT_USAGE : HOIST_CLI_EXIT_OK;
	job_id = args.positional[0];
	dir = args.positional[1];
	if (check_push_dir(dir, &bytes, &err) ||
	    get_job(&client, job_id, &job, &err) ||
	    pick_push_step(json_object_get(job, "checkpoints"), job_id,
			   step_text, &step, &err) ||
	    hoist_cli_storage_open(&client, job_id, &presign, &store, &err))
		goto out;
	/* The key names an attempt, and attempts count from 1: a job that
	 * has not started yet stores its pushed checkpoint under attempt 1. */
	hoist_cli_json_int(job, "attempt_count", &attempt);
	if (attempt < 1)
		attempt = 1;
	if (!json)
		fprintf(stderr, "pushing %s (%llu byte%s) as step %lld of job "
			"%s\n", dir, (unsigned long long)bytes,
			plural((int64_t)bytes), (long long)step, job_id);
	started = hoist_clock_mono_ms();
	hoist_cli_progress_init(&progress, stdout, "pushed", bytes, json);
	rc = hoist_checkpoint_upload(hoist_cli_progress_attach(store,
							       &progress),
				     job_id, (int)attempt, step, dir, &info,
				     &err);
	hoist_cli_progress_detach(store);
	if (rc == 0)
		hoist_cli_progress_show(&progress, 1);
	hoist_cli_progress_finish(&progress);
	if (rc || commit_pushed(&client, job_id, &info, &err))
		goto out;
	started = hoist_clock_mono_ms() - started;
	if (json) {
		json_t *result = json_pack(
			"{s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:I}", "job_id",
			job_id, "step", (json_int_t)info.step, "dir", dir,
			"manifest_key", info.manifest_key, "manifest_sha256",
			info.manifest_sha256, "files", (json_int_t)info.files,
			"bytes", (json_int_t)info.bytes, "elapsed_ms",
			(json_int_t)started);

		hoist_cli_print_json(stdout, result);
		json_decref(result);
	} else {
		printf("pushed %s as step %lld of job %s: %zu file%s, %llu "
		       "byte%s in %.1f s, committed\n", dir,
		       (long long)info.step, job_id, info.files,
		       plural((int64_t)info.files),
		       (unsigned long long)info.bytes,
		       plural((int64_t)info.bytes), (double)started / 1000.0);
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
	if (argc >= 2 && strcmp(argv[1], "push") == 0)
		return cmd_push(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		printf("usage: hoist ckpt ls JOB [--json]\n"
		       "       hoist ckpt pull JOB [STEP] DIR [--force] "
		       "[--json]\n"
		       "       hoist ckpt push JOB DIR [--step N] [--json]\n"
		       "\n"
		       "Run 'hoist ckpt ls --help' (or pull, push) for "
		       "the details of one.\n");
		return HOIST_CLI_EXIT_OK;
	}
	fprintf(stderr, "hoist ckpt: %s%s%s; expected 'ls', 'pull' or 'push' "
		"(see 'hoist ckpt --help')\n", argc >= 2 ? "unknown subcommand '" :
		"missing subcommand", argc >= 2 ? argv[1] : "",
		argc >= 2 ? "'" : "");
	return HOIST_CLI_EXIT_USAGE;
}
