/*
 * file_store.h - the file:// back end of the artifact store (file.c).
 *
 * Private to src/storage: callers open stores with hoist_artifact_open().
 */
#ifndef HOIST_STORAGE_FILE_STORE_H
#define HOIST_STORAGE_FILE_STORE_H

#include "common/err.h"
#include "storage/artifact.h"

/* Names of temporary files start with this; list() skips them and keys
 * with a segment that starts with it are rejected. */
#define HOIST_FILE_STORE_TMP_PREFIX ".tmp-"

/*
 * Opens a store whose objects are files below the absolute folder root
 * (created if missing).  url is copied into the store for messages.  The
 * caller frees the store with hoist_artifact_close().
 */
int hoist_file_store_open(const char *root, const char *url,
			  struct hoist_artifact_store **out,
			  struct hoist_err *err);

#endif
