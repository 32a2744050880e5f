/*
 * config.h - loading and validation of the user's YAML configuration.
 *
 * Three files are read: the GPU profiles (config/gpu_profiles.yaml), a job
 * file (the argument of `hoist run`) and the offers of the local provider
 * (config/local_offers.yaml).  Each loader parses the YAML with libfyaml,
 * types every scalar itself by the YAML 1.2 core schema, checks every key
 * and value, and returns plain JSON (jansson) with the defaults filled in.
 * docs/configuration.md lists every key.
 *
 * All functions return 0 on success and -1 on failure.  On failure *out is
 * left unchanged and err contains one message of the form
 *
 *     FILE:LINE:COLUMN: KEY.PATH: what was expected, what was found
 *
 * with 1-based line and column.  Errors that concern the whole file, such
 * as a missing file, omit the key path.  Error codes: HOIST_E_INVALID for
 * bad content, HOIST_E_NOT_FOUND or HOIST_E_IO when the file cannot be
 * read, HOIST_E_NOMEM for a file over 1 MiB or a failed allocation.
 *
 * On success the caller owns *out and releases it with json_decref().
 * The only global state is a "C" locale object that pthread_once()
 * creates on first use and that is never freed.
 */
#ifndef HOIST_CONFIG_H
#define HOIST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

/* Configuration files larger than this are rejected before parsing. */
#define HOIST_CONFIG_FILE_MAX ((size_t)1024 * 1024)

/*
 * Loads the GPU profiles at path.  *out becomes a JSON object that maps
 * each profile name to its profile object: the keys of the file plus
 * "name", with disk_gb (20) and interruptible (false) filled in when
 * absent.  Numbers that the file gives as integers are stored as JSON
 * reals, except num_gpus, which is an integer.
 */
int hoist_config_load_profiles(const char *path, json_t **out,
			       struct hoist_err *err);

/*
 * Loads the job file at path and returns the canonical job spec of
 * docs/protocol.md in *out.  The profile named by the job is looked up in
 * profiles (the output of hoist_config_load_profiles()), copied, updated
 * with the job's profile overrides and max_duration, and embedded.
 * workdir is resolved against the folder of path and must be an existing
 * directory.  profiles is only read.
 */
int hoist_config_load_job(const char *path, const json_t *profiles,
			  json_t **out, struct hoist_err *err);

/*
 * Loads the offers of the local provider at path.  *out becomes a JSON
 * array of offer objects with num_gpus (1) and reliability (1.0) filled in
 * when absent.
 */
int hoist_config_load_local_offers(const char *path, json_t **out,
				   struct hoist_err *err);

/*
 * Parses a duration such as "500ms", "30s", "5m", "2h", "1d" or "1h30m"
 * into milliseconds.  Units must go from the largest to the smallest, each
 * at most once; the numbers are non-negative decimal integers.  A number
 * without a unit is rejected, so "30" never silently means 30 seconds.
 * The error message quotes text and says how to fix it; it carries no
 * file position, so callers add their own context.
 */
int hoist_config_parse_duration_ms(const char *text, int64_t *out,
				   struct hoist_err *err);

/*
 * The loaders above read the whole file (at most HOIST_CONFIG_FILE_MAX
 * bytes) and call these.  They parse data[0..len) instead, which need not
 * be NUL-terminated, and use name as the file name in messages.  The job
 * loader resolves a relative workdir against the folder part of name (the
 * current directory when name has none).  Tests and fuzz targets use them.
 */
int hoist_config_load_profiles_buffer(const char *name, const char *data,
				      size_t len, json_t **out,
				      struct hoist_err *err);
int hoist_config_load_job_buffer(const char *name, const char *data,
				 size_t len, const json_t *profiles,
				 json_t **out, struct hoist_err *err);
int hoist_config_load_local_offers_buffer(const char *name, const char *data,
					  size_t len, json_t **out,
					  struct hoist_err *err);

#endif
