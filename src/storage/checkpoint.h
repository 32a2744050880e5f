/*
 * checkpoint.h - the manifest-last checkpoint protocol on an artifact store.
 *
 * A checkpoint is a folder of files uploaded as objects under
 *   jobs/<job>/checkpoints/a<attempt>-s<step>/files/<relative path>
 * followed, last, by jobs/<job>/checkpoints/a<attempt>-s<step>/manifest.json
 * listing every file with its size and CRC-32C (SHA-256 in format 1).
 * Uploading the manifest does not make a checkpoint visible: only hoistd's
 * record of the commit does.  A restore reads the manifest the
 * orchestrator names, checks it against the recorded SHA-256 of the
 * manifest, and verifies every file before reporting success.
 */
#ifndef HOIST_CHECKPOINT_H
#define HOIST_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"
#include "storage/artifact.h"

/* The manifest format that uploads write.  hoist_manifest_parse() reads
 * formats 1 and 2. */
#define HOIST_MANIFEST_FORMAT 2
#define HOIST_MANIFEST_MAX_FILES 100000
#define HOIST_MANIFEST_MAX_BYTES (64u << 20)

struct hoist_manifest_file {
	char *path;		/* relative, validated like a key segment list */
	uint64_t size;
	uint32_t crc32c;	/* format 2 */
	char sha256[65];	/* format 1: lowercase hex */
};

struct hoist_manifest {
	int format;		/* 1 or 2; 0 formats as HOIST_MANIFEST_FORMAT */
	char job_id[64];
	int attempt;
	int64_t step;
	char created_at[40];
	size_t nfiles;
	struct hoist_manifest_file *files;	/* owned */
};

/* The result of an upload, for the commit request. */
struct hoist_checkpoint_info {
	int64_t step;
	char manifest_key[512];
	char manifest_sha256[65];	/* of the manifest bytes as stored */
	size_t files;
	uint64_t bytes;
};

/* Parses and validates manifest text: format, types, paths (no "..",
 * no absolute path, no duplicates), sizes and hex digests.  On success the
 * caller releases out with hoist_manifest_release(). */
int hoist_manifest_parse(const char *text, size_t len,
			 struct hoist_manifest *out, struct hoist_err *err);
void hoist_manifest_release(struct hoist_manifest *manifest);

/* Appends the manifest as JSON text (fields in the documented order, files
 * in array order) to out; fails if out->max would be exceeded. */
int hoist_manifest_format(const struct hoist_manifest *manifest,
			  struct hoist_buf *out, struct hoist_err *err);

/* Returns NULL if job_id can name a job in keys, else a static phrase that
 * states the reason.  Valid: 1 to 63 bytes of [A-Za-z0-9._-], not starting
 * with '.'. */
const char *hoist_checkpoint_job_id_error(const char *job_id);

/* Builds the key prefix "jobs/<job>/checkpoints/a<attempt>-s<step>/". */
int hoist_checkpoint_prefix(const char *job_id, int attempt, int64_t step,
			    char *out, size_t outlen, struct hoist_err *err);

/*
 * Uploads every regular file below dir (recursively; symlinks and special
 * files are rejected, empty folders are not recorded), then the manifest.
 * Fills info for the commit request.  If the manifest of this attempt and
 * step already exists, nothing is written: the call succeeds when that
 * manifest lists exactly the folder's files (a retry), and fails with
 * HOIST_E_CONFLICT otherwise, because a committed checkpoint must never
 * change.
 */
int hoist_checkpoint_upload(struct hoist_artifact_store *store,
			    const char *job_id, int attempt, int64_t step,
			    const char *dir, struct hoist_checkpoint_info *info,
			    struct hoist_err *err);

/*
 * Downloads the checkpoint whose manifest is at manifest_key into dir
 * (created if missing, emptied first), verifying the manifest against
 * manifest_sha256 (skipped when NULL or empty) and each file's size and
 * checksum.  On failure dir may contain partial files and err names the file
 * failed.  *step_out receives the manifest's step.
 */
int hoist_checkpoint_restore(struct hoist_artifact_store *store,
			     const char *manifest_key,
			     const char *manifest_sha256, const char *dir,
			     int64_t *step_out, struct hoist_err *err);

/* Deletes every object of the checkpoint whose manifest is manifest_key,
 * the manifest first so that a partly removed checkpoint never restores. */
int hoist_checkpoint_remove(struct hoist_artifact_store *store,
			    const char *manifest_key, struct hoist_err *err);

#endif
