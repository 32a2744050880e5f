/*
 * storage_client.h - the CLI's access to the artifact store of hoistd, and
 * the staging of a job's inputs to it.
 */
#ifndef HOIST_CLI_STORAGE_CLIENT_H
#define HOIST_CLI_STORAGE_CLIENT_H

#include <jansson.h>

#include "cli/client.h"
#include "common/err.h"
#include "storage/artifact.h"

/* The presign callback's state: hoistd and the route that signs. */
struct hoist_cli_presign {
	struct hoist_cli_client *client;
	char path[256];			/* "/v1/jobs/JOB/presign" or
					 * "/v1/datasets/presign" */
};

/*
 * Opens the artifact store that hoistd's GET /v1/storage names: a file://
 * store directly, an S3 store with every request presigned by hoistd.
 * With a job_id hoistd signs requests for that job's prefix.  With job_id
 * NULL it signs only the staging of inputs below "datasets/": reads,
 * writes and multipart uploads, but no delete.  ctx must outlive the
 * store.  The caller closes *store with hoist_artifact_close().
 */
int hoist_cli_storage_open(struct hoist_cli_client *client,
			   const char *job_id, struct hoist_cli_presign *ctx,
			   struct hoist_artifact_store **store,
			   struct hoist_err *err);

/*
 * Stages every input of spec's "inputs" array to the store: each file
 * under datasets/sha256/<hex> and the tree's manifest under
 * datasets/manifests/<hex>.json, skipping objects that already exist.
 * A "from" is a local folder or an s3:// URL.  The objects of an s3://
 * URL are listed and downloaded with the user's own AWS credentials, and
 * the source is never written to.  They are downloaded one at a time into
 * a private folder under $TMPDIR, which is deleted at the end.  An s3://
 * prefix without objects, a missing bucket, missing credentials and a
 * denied access fail with an error that names the URL.
 * Adds "manifest_key" and "manifest_sha256" to each input of spec.  Unless
 * quiet, prints one line per input to stderr.  A spec without inputs needs
 * no store and succeeds at once.
 */
int hoist_cli_stage_inputs(struct hoist_cli_client *client, json_t *spec,
			   int quiet, struct hoist_err *err);

#endif
