/*
 * store.h - the job store interface of hoistd.
 *
 * The store persists jobs, attempts, checkpoints and instances so that a
 * hoistd killed at any point restarts with everything it had committed.
 * SQLite (store_sqlite.c) is the default; a PostgreSQL back end for several
 * hoistd processes plugs in behind the same operations.
 *
 * Every function returns 0 on success and -1 with err set (HOIST_E_STORE,
 * or HOIST_E_NOT_FOUND for a missing row).  put_* functions insert or
 * replace the row named by the record's key.  Records read from the store
 * are filled into caller-owned structs; JSON members are new references the
 * caller releases (hoist_model_job_release()).  List callbacks get records
 * valid only during the call.
 *
 * A list callback returns 0 to go on.  Any other value stops the listing,
 * which then returns -1 with the error that the callback stored in err
 * (through its arg), or HOIST_E_INTERNAL if it stored none.  A callback
 * may call other operations of the store, but not the listing that is
 * running.  A store is not thread-safe.
 */
#ifndef HOIST_STORE_H
#define HOIST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "orchestrator/model.h"

struct hoist_store;

typedef int (*hoist_store_job_cb)(const struct hoist_job_record *job,
				  void *arg);
typedef int (*hoist_store_attempt_cb)(const struct hoist_attempt_record *a,
				      void *arg);
typedef int (*hoist_store_checkpoint_cb)(
	const struct hoist_checkpoint_record *ckpt, void *arg);
typedef int (*hoist_store_instance_cb)(
	const struct hoist_instance_record *inst, void *arg);

struct hoist_store_ops {
	const char *name;
	/* begin fails while a transaction is open.  rollback succeeds when
	 * none is open, so error paths may call it unconditionally. */
	int (*begin)(struct hoist_store *store, struct hoist_err *err);
	int (*commit)(struct hoist_store *store, struct hoist_err *err);
	int (*rollback)(struct hoist_store *store, struct hoist_err *err);

	int (*put_job)(struct hoist_store *store,
		       const struct hoist_job_record *job,
		       struct hoist_err *err);
	int (*get_job)(struct hoist_store *store, const char *id,
		       struct hoist_job_record *out, struct hoist_err *err);
	/* Lists jobs newest first; only unfinished ones when active_only. */
	int (*list_jobs)(struct hoist_store *store, int active_only,
			 hoist_store_job_cb cb, void *arg,
			 struct hoist_err *err);

	/* put_attempt and put_checkpoint fail with HOIST_E_NOT_FOUND unless
	 * the job was saved first. */
	int (*put_attempt)(struct hoist_store *store,
			   const struct hoist_attempt_record *attempt,
			   struct hoist_err *err);
	/* Lists a job's attempts by number, or every attempt of every job
	 * when job_id is NULL. */
	int (*list_attempts)(struct hoist_store *store, const char *job_id,
			     hoist_store_attempt_cb cb, void *arg,
			     struct hoist_err *err);

	int (*put_checkpoint)(struct hoist_store *store,
			      const struct hoist_checkpoint_record *ckpt,
			      struct hoist_err *err);
	/* Fails with HOIST_E_NOT_FOUND if the checkpoint does not exist. */
	int (*delete_checkpoint)(struct hoist_store *store, const char *job_id,
				 int64_t step, struct hoist_err *err);
	/* Lists a job's committed checkpoints by step, oldest first. */
	int (*list_checkpoints)(struct hoist_store *store, const char *job_id,
				hoist_store_checkpoint_cb cb, void *arg,
				struct hoist_err *err);

	/* Fails with HOIST_E_CONFLICT if another instance has the label. */
	int (*put_instance)(struct hoist_store *store,
			    const struct hoist_instance_record *inst,
			    struct hoist_err *err);
	/* Lists instances of one job, or all when job_id is NULL. */
	int (*list_instances)(struct hoist_store *store, const char *job_id,
			      hoist_store_instance_cb cb, void *arg,
			      struct hoist_err *err);

	/* Reads and writes small settings such as the orchestrator id.
	 * get_meta fails with HOIST_E_NOMEM if the value and its NUL do not
	 * fit in outlen bytes. */
	int (*get_meta)(struct hoist_store *store, const char *key,
			char *out, size_t outlen, struct hoist_err *err);
	int (*put_meta)(struct hoist_store *store, const char *key,
			const char *value, struct hoist_err *err);

	void (*close)(struct hoist_store *store);
};

struct hoist_store {
	const struct hoist_store_ops *ops;
};

/*
 * Opens (creating if needed) the SQLite store at path in WAL mode and
 * migrates its schema.  Fails if the file belongs to a newer schema.
 * A new file gets mode 0600.  ":memory:" opens a private in-memory store.
 * On success *out is closed with hoist_store_close().
 */
int hoist_store_sqlite_open(const char *path, struct hoist_store **out,
			    struct hoist_err *err);

/* Closes the store and frees it.  NULL is ignored.  An open transaction
 * is rolled back. */
void hoist_store_close(struct hoist_store *store);

#endif
