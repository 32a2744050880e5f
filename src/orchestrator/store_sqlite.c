/*
 * store_sqlite.c - the SQLite job store of hoistd (see docs/store.md).
 *
 * One connection per store, opened in WAL mode with synchronous=NORMAL.
 * Every statement is prepared once at open and reset after each use.  The
 * store is not thread-safe: use it from one thread, as hoistd's event loop
 * does.
 *
 * Conventions of the tables, so that the sqlite3 CLI shows plain values:
 * states are stored by name, and an empty string, an unset time (0) and an
 * unknown step or exit code (-1) are stored as NULL.  Reading maps NULL
 * back, so every record round-trips unchanged.
 */
#include "orchestrator/store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

/* UPSERT (INSERT ... ON CONFLICT DO UPDATE) appeared in SQLite 3.24.0. */
#define MIN_SQLITE_VERSION 3024000
#if SQLITE_VERSION_NUMBER < MIN_SQLITE_VERSION
#error "the SQLite job store needs SQLite 3.24.0 or newer"
#endif

/*
 * How long a write waits for another connection's write lock.  In WAL mode
 * readers do not block writers, so only another writer (a second hoistd,
 * or a sqlite3 CLI session that writes) makes a write wait.
 */
#define BUSY_TIMEOUT_MS 5000

/* "hois" in PRAGMA application_id marks a file as a hoist job store. */
#define APPLICATION_ID 0x686f6973

/*
 * Forward migrations: migrations[i] moves the schema from version i to
 * i + 1, and the schema version is the number of entries.  Append new
 * entries; never edit one that has shipped.
 */
static const char *const migrations[] = {
	/* Version 1: the initial schema. */
	"CREATE TABLE jobs ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  name TEXT,"
	"  team TEXT,"
	"  project TEXT,"
	"  state TEXT NOT NULL,"
	"  end_reason TEXT,"
	"  spec TEXT,"
	"  created_at INTEGER,"
	"  updated_at INTEGER,"
	"  ended_at INTEGER,"
	"  attempts INTEGER NOT NULL,"
	"  failures INTEGER NOT NULL,"
	"  last_step INTEGER,"
	"  metrics TEXT"
	");"
	"CREATE INDEX jobs_by_created ON jobs (created_at DESC, id DESC);"
	/* Must match the WHERE of the active jobs query word for word, or
	 * the planner cannot use it. */
	"CREATE INDEX jobs_active ON jobs (created_at DESC, id DESC)"
	"  WHERE state NOT IN ('succeeded', 'failed', 'cancelled');"
	"CREATE TABLE attempts ("
	"  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
	"  number INTEGER NOT NULL,"
	"  state TEXT NOT NULL,"
	"  token_sha256 TEXT,"
	"  instance_id TEXT,"
	"  created_at INTEGER,"
	"  started_at INTEGER,"
	"  ended_at INTEGER,"
	"  end_reason TEXT,"
	"  resumed_from_step INTEGER,"
	"  last_step INTEGER,"
	"  last_heartbeat_at INTEGER,"
	"  exit_code INTEGER,"
	"  PRIMARY KEY (job_id, number)"
	");"
	"CREATE TABLE checkpoints ("
	"  job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
	"  step INTEGER NOT NULL,"
	"  attempt INTEGER NOT NULL,"
	"  manifest_key TEXT,"
	"  manifest_sha256 TEXT,"
	"  files INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  committed_at INTEGER,"
	"  PRIMARY KEY (job_id, step)"
	");"
	/* No foreign key on job_id: hoistd records every instance it finds
	 * under its label prefix, including ones whose job it never saved.
	 * NOTE: the key is the provider's id alone, so two providers that
	 * hand out the same id would share a row. */
	"CREATE TABLE instances ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  provider TEXT,"
	"  label TEXT UNIQUE,"
	"  job_id TEXT,"
	"  attempt INTEGER NOT NULL,"
	"  state TEXT NOT NULL,"
	"  offer TEXT,"
	"  gpu_name TEXT,"
	"  price_per_hour REAL NOT NULL,"
	"  created_at INTEGER,"
	"  destroyed_at INTEGER"
	");"
	"CREATE INDEX instances_by_job ON instances (job_id, created_at, id);"
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY NOT NULL,"
	"  value TEXT NOT NULL"
	");",
	/* Version 2: what the provider billed for an instance, NULL while
	 * unknown. */
	"ALTER TABLE instances ADD COLUMN billed_usd REAL;",
	/* Version 3: the error an agent reported with its exit. */
	"ALTER TABLE attempts ADD COLUMN error TEXT;",
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Column lists shared by the INSERT and SELECT statements.  The bind and
 * read functions below walk them in this order. */
#define JOB_COLUMNS							\
	"id, name, team, project, state, end_reason, spec, created_at, "\
	"updated_at, ended_at, attempts, failures, last_step, metrics"
#define ATTEMPT_COLUMNS							\
	"job_id, number, state, token_sha256, instance_id, created_at, "\
	"started_at, ended_at, end_reason, resumed_from_step, last_step, "\
	"last_heartbeat_at, exit_code, error"
#define CHECKPOINT_COLUMNS						\
	"job_id, step, attempt, manifest_key, manifest_sha256, files, "	\
	"bytes, committed_at"
#define INSTANCE_COLUMNS						\
	"id, provider, label, job_id, attempt, state, offer, gpu_name, "\
	"price_per_hour, created_at, destroyed_at, billed_usd"

enum stmt_id {
	STMT_BEGIN,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_PUT_JOB,
	STMT_GET_JOB,
	STMT_LIST_JOBS,
	STMT_LIST_ACTIVE_JOBS,
	STMT_PUT_ATTEMPT,
	STMT_LIST_ATTEMPTS,
	STMT_LIST_ALL_ATTEMPTS,
	STMT_PUT_CHECKPOINT,
	STMT_DELETE_CHECKPOINT,
	STMT_LIST_CHECKPOINTS,
	STMT_PUT_INSTANCE,
	STMT_LIST_INSTANCES,
	STMT_LIST_ALL_INSTANCES,
	STMT_GET_META,
	STMT_PUT_META,
	STMT_COUNT,
};

static const char *const stmt_sql[STMT_COUNT] = {
	/* IMMEDIATE takes the write lock at once, so the writes inside the
	 * transaction cannot fail with SQLITE_BUSY later. */
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",

	[STMT_PUT_JOB] =
	"INSERT INTO jobs (" JOB_COLUMNS ") "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
	"ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
	"team = excluded.team, project = excluded.project, "
	"state = excluded.state, end_reason = excluded.end_reason, "
	"spec = excluded.spec, created_at = excluded.created_at, "
	"updated_at = excluded.updated_at, ended_at = excluded.ended_at, "
	"attempts = excluded.attempts, failures = excluded.failures, "
	"last_step = excluded.last_step, metrics = excluded.metrics",
	[STMT_GET_JOB] =
	"SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1",
	[STMT_LIST_JOBS] =
	"SELECT " JOB_COLUMNS " FROM jobs ORDER BY created_at DESC, id DESC",
	[STMT_LIST_ACTIVE_JOBS] =
	"SELECT " JOB_COLUMNS " FROM jobs "
	"WHERE state NOT IN ('succeeded', 'failed', 'cancelled') "
	"ORDER BY created_at DESC, id DESC",

	[STMT_PUT_ATTEMPT] =
	"INSERT INTO attempts (" ATTEMPT_COLUMNS ") "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
	"ON CONFLICT (job_id, number) DO UPDATE SET state = excluded.state, "
	"token_sha256 = excluded.token_sha256, "
	"instance_id = excluded.instance_id, "
	"created_at = excluded.created_at, "
	"started_at = excluded.started_at, ended_at = excluded.ended_at, "
	"end_reason = excluded.end_reason, "
	"resumed_from_step = excluded.resumed_from_step, "
	"last_step = excluded.last_step, "
	"last_heartbeat_at = excluded.last_heartbeat_at, "
	"exit_code = excluded.exit_code, error = excluded.error",
	[STMT_LIST_ATTEMPTS] =
	"SELECT " ATTEMPT_COLUMNS " FROM attempts WHERE job_id = ?1 "
	"ORDER BY number",
	[STMT_LIST_ALL_ATTEMPTS] =
	"SELECT " ATTEMPT_COLUMNS " FROM attempts ORDER BY job_id, number",

	[STMT_PUT_CHECKPOINT] =
	"INSERT INTO checkpoints (" CHECKPOINT_COLUMNS ") "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
	"ON CONFLICT (job_id, step) DO UPDATE SET attempt = excluded.attempt, "
	"manifest_key = excluded.manifest_key, "
	"manifest_sha256 = excluded.manifest_sha256, "
	"files = excluded.files, bytes = excluded.bytes, "
	"committed_at = excluded.committed_at",
	[STMT_DELETE_CHECKPOINT] =
	"DELETE FROM checkpoints WHERE job_id = ?1 AND step = ?2",
	[STMT_LIST_CHECKPOINTS] =
	"SELECT " CHECKPOINT_COLUMNS " FROM checkpoints WHERE job_id = ?1 "
	"ORDER BY step",

	[STMT_PUT_INSTANCE] =
	"INSERT INTO instances (" INSTANCE_COLUMNS ") "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
	"ON CONFLICT (id) DO UPDATE SET provider = excluded.provider, "
	"label = excluded.label, job_id = excluded.job_id, "
	"attempt = excluded.attempt, state = excluded.state, "
	"offer = excluded.offer, gpu_name = excluded.gpu_name, "
	"price_per_hour = excluded.price_per_hour, "
	"created_at = excluded.created_at, "
	"destroyed_at = excluded.destroyed_at, "
	"billed_usd = excluded.billed_usd",
	[STMT_LIST_INSTANCES] =
	"SELECT " INSTANCE_COLUMNS " FROM instances WHERE job_id = ?1 "
	"ORDER BY created_at, id",
	[STMT_LIST_ALL_INSTANCES] =
	"SELECT " INSTANCE_COLUMNS " FROM instances ORDER BY created_at, id",

	[STMT_GET_META] = "SELECT value FROM meta WHERE key = ?1",
	[STMT_PUT_META] =
	("INSERT INTO meta (key, value) VALUES (?1, ?2) "
	 "ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
};

struct sqlite_store {
	struct hoist_store base;	/* first, so the cast below is valid */
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmts[STMT_COUNT];
	/* Set while a listing steps the statement, which its callback must
	 * not restart. */
	unsigned char listing[STMT_COUNT];
};

static struct sqlite_store *to_sqlite(struct hoist_store *store)
{
	return (struct sqlite_store *)store;
}

/*
 * Records "<what>: <SQLite message>" in err.  Call it before resetting
 * the statement, which would replace the message.
 */
static int fail_sqlite(sqlite3 *db, struct hoist_err *err, const char *fmt,
		       ...) HOIST_PRINTF(3, 4);

static int fail_sqlite(sqlite3 *db, struct hoist_err *err, const char *fmt,
		       ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return hoist_err_set(err, HOIST_E_STORE, "%s: %s", what,
			     sqlite3_errmsg(db));
}

static void finish_stmt(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* Checks that a record's text field is NUL-terminated and, for a key,
 * not empty. */
static int check_text(const char *value, size_t size, int required,
		      const char *field, struct hoist_err *err)
{
	size_t len = strnlen(value, size);

	if (len == size)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s is not NUL-terminated within %zu bytes",
				     field, size);
	if (required && len == 0)
		return hoist_err_set(err, HOIST_E_INVALID, "%s is empty",
				     field);
	return 0;
}

/* Binds record fields to consecutive parameters, from ?1 on, and keeps
 * the first failure. */
struct binder {
	sqlite3_stmt *stmt;
	int index;
	int rc;
};

static void keep_rc(struct binder *b, int rc)
{
	if (b->rc == SQLITE_OK)
		b->rc = rc;
}

/* Binds a text field.  "" becomes NULL unless the column is a key. */
static void bind_text(struct binder *b, const char *value, size_t size,
		      int is_key)
{
	size_t len = strnlen(value, size);
	int index = ++b->index;

	if (len == 0 && !is_key) {
		keep_rc(b, sqlite3_bind_null(b->stmt, index));
		return;
	}
	keep_rc(b, sqlite3_bind_text(b->stmt, index, value, (int)len,
				     SQLITE_STATIC));
}

static void bind_int64(struct binder *b, int64_t value)
{
	keep_rc(b, sqlite3_bind_int64(b->stmt, ++b->index, value));
}

/* Binds value, or NULL when it equals unset (0 for times, -1 for steps
 * and exit codes). */
static void bind_optional(struct binder *b, int64_t value, int64_t unset)
{
	int index = ++b->index;

	if (value == unset)
		keep_rc(b, sqlite3_bind_null(b->stmt, index));
	else
		keep_rc(b, sqlite3_bind_int64(b->stmt, index, value));
}

static void bind_double(struct binder *b, double value)
{
	keep_rc(b, sqlite3_bind_double(b->stmt, ++b->index, value));
}

static void bind_json(struct binder *b, const json_t *value)
{
	int index = ++b->index;
	char *text;

	if (!value) {
		keep_rc(b, sqlite3_bind_null(b->stmt, index));
		return;
	}
	text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text) {
		keep_rc(b, SQLITE_NOMEM);
		return;
	}
	/* SQLite calls free() on text when it is done, even on failure. */
	keep_rc(b, sqlite3_bind_text(b->stmt, index, text, -1, free));
}

static void bind_state(struct binder *b, const char *name)
{
	keep_rc(b, sqlite3_bind_text(b->stmt, ++b->index, name, -1,
				     SQLITE_STATIC));
}

static int bind_done(struct binder *b, sqlite3 *db, struct hoist_err *err,
		     const char *what)
{
	if (b->rc == SQLITE_OK)
		return 0;
	return hoist_err_set(err, b->rc == SQLITE_NOMEM ? HOIST_E_NOMEM :
			     HOIST_E_STORE, "%s: %s", what,
			     b->rc == SQLITE_NOMEM ? "out of memory" :
			     sqlite3_errmsg(db));
}

/* Reads consecutive columns of a result row, from column 0 on, and keeps
 * the first failure. */
struct reader {
	sqlite3_stmt *stmt;
	int column;
	int failed;
	struct hoist_err *err;
};

static int read_fail(struct reader *r, int code, const char *fmt, ...)
	HOIST_PRINTF(3, 4);

static int read_fail(struct reader *r, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (r->failed)
		return -1;
	r->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return hoist_err_set(r->err, code, "column %s: %s",
			     sqlite3_column_name(r->stmt, r->column), msg);
}

static void read_text(struct reader *r, char *out, size_t size)
{
	const unsigned char *text;
	int len;

	out[0] = '\0';
	if (sqlite3_column_type(r->stmt, r->column) == SQLITE_NULL)
		goto out;
	text = sqlite3_column_text(r->stmt, r->column);
	len = sqlite3_column_bytes(r->stmt, r->column);
	if (!text) {
		read_fail(r, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	if ((size_t)len >= size) {
		read_fail(r, HOIST_E_STORE,
			  "value of %d bytes is longer than the maximum of "
			  "%zu", len, size - 1);
		goto out;
	}
	memcpy(out, text, (size_t)len);
	out[len] = '\0';
out:
	r->column++;
}

static const char *type_name(int type)
{
	switch (type) {
	case SQLITE_INTEGER: return "integer";
	case SQLITE_FLOAT: return "real";
	case SQLITE_TEXT: return "text";
	case SQLITE_BLOB: return "blob";
	default: return "null";
	}
}

/* Reads an integer column, or returns unset for NULL. */
static int64_t read_int64(struct reader *r, int64_t unset)
{
	int64_t value = unset;

	switch (sqlite3_column_type(r->stmt, r->column)) {
	case SQLITE_NULL:
		break;
	case SQLITE_INTEGER:
		value = sqlite3_column_int64(r->stmt, r->column);
		break;
	default:
		read_fail(r, HOIST_E_STORE, "expected an integer, found a "
			  "value of type %s",
			  type_name(sqlite3_column_type(r->stmt, r->column)));
		break;
	}
	r->column++;
	return value;
}

static int read_int(struct reader *r, int unset)
{
	int64_t value = read_int64(r, unset);

	if (value < INT_MIN || value > INT_MAX) {
		r->column--;
		read_fail(r, HOIST_E_STORE, "%" PRId64 " is out of range",
			  value);
		r->column++;
		return unset;
	}
	return (int)value;
}

static double read_double(struct reader *r)
{
	double value = 0.0;
	int type = sqlite3_column_type(r->stmt, r->column);

	if (type == SQLITE_FLOAT || type == SQLITE_INTEGER)
		value = sqlite3_column_double(r->stmt, r->column);
	else
		read_fail(r, HOIST_E_STORE, "expected a number, found a "
			  "value of type %s", type_name(type));
	r->column++;
	return value;
}

static json_t *read_json(struct reader *r)
{
	const char *text;
	json_error_t jerr;
	json_t *value = NULL;

	if (sqlite3_column_type(r->stmt, r->column) == SQLITE_NULL)
		goto out;
	text = (const char *)sqlite3_column_text(r->stmt, r->column);
	if (!text) {
		read_fail(r, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	value = json_loadb(text,
			   (size_t)sqlite3_column_bytes(r->stmt, r->column),
			   JSON_DECODE_ANY, &jerr);
	if (!value)
		read_fail(r, HOIST_E_STORE, "invalid JSON at line %d: %s",
			  jerr.line, jerr.text);
out:
	r->column++;
	return value;
}

static int read_state(struct reader *r, int (*parse)(const char *),
		      const char *kind)
{
	char name[32];
	int state;

	read_text(r, name, sizeof(name));
	if (r->failed)
		return -1;
	state = parse(name);
	if (state < 0) {
		r->column--;
		read_fail(r, HOIST_E_STORE, "'%s' is not %s state", name,
			  kind);
		r->column++;
	}
	return state;
}

/* The state names that records may carry; the store writes no others. */
static int check_state(const char *name, int (*parse)(const char *),
		       int state, const char *kind, struct hoist_err *err)
{
	/* parse("unknown") is -1, so a negative state needs its own test. */
	if (state < 0 || parse(name) != state)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid %s state %d", kind, state);
	return 0;
}

/*
 * Steps a statement that returns no rows and resets it.  Returns
 * SQLITE_DONE, or the extended result code of the failure with its SQLite
 * message in msg.
 */
static int step_write(struct sqlite_store *s, enum stmt_id id, char *msg,
		      size_t msglen)
{
	sqlite3_stmt *stmt = s->stmts[id];
	int rc = sqlite3_step(stmt);

	if (rc != SQLITE_DONE) {
		rc = sqlite3_extended_errcode(s->db);
		snprintf(msg, msglen, "%s", sqlite3_errmsg(s->db));
	}
	finish_stmt(stmt);
	return rc;
}

static int run_write(struct sqlite_store *s, enum stmt_id id,
		     struct hoist_err *err, const char *what)
{
	char msg[256];

	if (step_write(s, id, msg, sizeof(msg)) != SQLITE_DONE)
		return hoist_err_set(err, HOIST_E_STORE, "%s: %s", what, msg);
	return 0;
}

/* Rejects a NULL or empty key argument of a get, list or delete. */
static int check_key_arg(const char *key, const char *what,
			 struct hoist_err *err)
{
	if (!key || !*key)
		return hoist_err_set(err, HOIST_E_INVALID, "%s: %s is empty",
				     what, key ? "the key" : "the key (NULL)");
	return 0;
}

/* ---- transactions ---- */

static int sqlite_begin(struct hoist_store *store, struct hoist_err *err)
{
	struct sqlite_store *s = to_sqlite(store);

	if (!sqlite3_get_autocommit(s->db))
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot begin a transaction: one is "
				     "already open");
	return run_write(s, STMT_BEGIN, err, "cannot begin a transaction");
}

static int sqlite_commit(struct hoist_store *store, struct hoist_err *err)
{
	struct sqlite_store *s = to_sqlite(store);

	if (sqlite3_get_autocommit(s->db))
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot commit: no transaction is open");
	return run_write(s, STMT_COMMIT, err, "cannot commit the transaction");
}

/* Succeeds when no transaction is open, because SQLite rolls back by
 * itself after some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM). */
static int sqlite_rollback(struct hoist_store *store, struct hoist_err *err)
{
	struct sqlite_store *s = to_sqlite(store);

	if (sqlite3_get_autocommit(s->db))
		return 0;
	return run_write(s, STMT_ROLLBACK, err,
			 "cannot roll back the transaction");
}

/* ---- listing ---- */

/* Returns the key in column 0 of a row, for error messages. */
static const char *column_key(sqlite3_stmt *stmt)
{
	const char *key = (const char *)sqlite3_column_text(stmt, 0);

	return key ? key : "(NULL)";
}

/* The callback of a listing, and the converter of one row into the
 * record that the callback gets. */
struct list_call {
	union {
		hoist_store_job_cb job;
		hoist_store_attempt_cb attempt;
		hoist_store_checkpoint_cb checkpoint;
		hoist_store_instance_cb instance;
	} cb;
	void *arg;
	/* Returns 0, -1 with err set for a bad row, or the callback's
	 * non-zero result in *cb_rc. */
	int (*visit)(sqlite3_stmt *stmt, const struct list_call *call,
		     int *cb_rc, struct hoist_err *err);
};

/*
 * Steps statement id, with job_id bound to ?1 when not NULL, and hands
 * each row to call->visit.  A callback that returns non-zero stops the
 * listing, and the listing fails with the error the callback left in err
 * (or HOIST_E_INTERNAL when it left none).
 */
static int run_list(struct sqlite_store *s, enum stmt_id id,
		    const char *job_id, const struct list_call *call,
		    struct hoist_err *err, const char *what)
{
	sqlite3_stmt *stmt = s->stmts[id];
	int ret = -1;
	int cb_rc = 0;
	int rc;

	if (s->listing[id])
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "%s: called again from its own callback",
				     what);
	if (job_id && sqlite3_bind_text(stmt, 1, job_id, -1, SQLITE_STATIC)) {
		fail_sqlite(s->db, err, "%s", what);
		goto out;
	}

	s->listing[id] = 1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (call->visit(stmt, call, &cb_rc, err) < 0) {
			hoist_err_prefix(err, "%s", what);
			goto out;
		}
		if (cb_rc != 0) {
			if (!err || err->code == HOIST_OK)
				hoist_err_set(err, HOIST_E_INTERNAL,
					      "%s: stopped by the callback "
					      "(it returned %d)", what, cb_rc);
			goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		fail_sqlite(s->db, err, "%s", what);
		goto out;
	}
	ret = 0;
out:
	s->listing[id] = 0;
	finish_stmt(stmt);
	return ret;
}

/* ---- jobs ---- */

static int check_job(const struct hoist_job_record *job,
		     struct hoist_err *err)
{
	if (check_text(job->name, sizeof(job->name), 0, "name", err) ||
	    check_text(job->team, sizeof(job->team), 0, "team", err) ||
	    check_text(job->project, sizeof(job->project), 0, "project",
		       err) ||
	    check_text(job->end_reason, sizeof(job->end_reason), 0,
		       "end_reason", err))
		return -1;
	return check_state(hoist_model_job_state_name(job->state),
			   hoist_model_job_state_parse, job->state, "job",
			   err);
}

static void bind_job(struct binder *b, const struct hoist_job_record *job)
{
	bind_text(b, job->id, sizeof(job->id), 1);
	bind_text(b, job->name, sizeof(job->name), 0);
	bind_text(b, job->team, sizeof(job->team), 0);
	bind_text(b, job->project, sizeof(job->project), 0);
	bind_state(b, hoist_model_job_state_name(job->state));
	bind_text(b, job->end_reason, sizeof(job->end_reason), 0);
	bind_json(b, job->spec);
	bind_optional(b, job->created_at, 0);
	bind_optional(b, job->updated_at, 0);
	bind_optional(b, job->ended_at, 0);
	bind_int64(b, job->attempts);
	bind_int64(b, job->failures);
	bind_optional(b, job->last_step, -1);
	bind_json(b, job->metrics);
}

/* Fills out from a row; on failure out holds no JSON references. */
static int read_job(sqlite3_stmt *stmt, struct hoist_job_record *out,
		    struct hoist_err *err)
{
	struct reader r = { stmt, 0, 0, err };

	memset(out, 0, sizeof(*out));
	read_text(&r, out->id, sizeof(out->id));
	read_text(&r, out->name, sizeof(out->name));
	read_text(&r, out->team, sizeof(out->team));
	read_text(&r, out->project, sizeof(out->project));
	out->state = read_state(&r, hoist_model_job_state_parse, "a job");
	read_text(&r, out->end_reason, sizeof(out->end_reason));
	out->spec = read_json(&r);
	out->created_at = read_int64(&r, 0);
	out->updated_at = read_int64(&r, 0);
	out->ended_at = read_int64(&r, 0);
	out->attempts = read_int(&r, 0);
	out->failures = read_int(&r, 0);
	out->last_step = read_int64(&r, -1);
	out->metrics = read_json(&r);
	if (r.failed) {
		hoist_model_job_release(out);
		return -1;
	}
	return 0;
}

static int sqlite_put_job(struct hoist_store *store,
			  const struct hoist_job_record *job,
			  struct hoist_err *err)
{
	struct sqlite_store *s = to_sqlite(store);
	struct binder b = { s->stmts[STMT_PUT_JOB], 0, SQLITE_OK };
	char what[128];

	if (check_text(job->id, sizeof(job->id), 1, "job id", err) < 0) {
		hoist_err_prefix(err, "cannot save job");
		return -1;
	}
	snprintf(what, sizeof(what), "cannot save job %s", job->id);
	if (check_job(job, err) < 0) {
		hoist_err_prefix(err, "%s", what);
		return -1;
	}
	bind_job(&b, job);
	if (bind_done(&b, s->db, err, what) < 0) {
		finish_stmt(b.stmt);
		return -1;
	}
	return run_write(s, STMT_PUT_JOB, err, what);
}

static int sqlite_get_job(struct hoist_store *store, const char *id,
			  struct hoist_job_record *out, struct hoist_err *err)
{
	struct sqlite_store *s = to_sqlite(store);
	sqlite3_stmt *stmt = s->stmts[STMT_GET_JOB];
	int ret = -1;
	int rc;

	memset(out, 0, sizeof(*out));
	if (check_key_arg(id, "cannot read job", err) < 0)
		return -1;
	if (sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
		fail_sqlite(s->db, err, "cannot read job %s", id);
		goto out;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		hoist_err_set(err, HOIST_E_NOT_FOUND, "job %s not found", id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		fail_sqlite(s->db, err, "cannot read job %s", id);
		goto out;
	}
	if (read_job(stmt, out, err) < 0) {
		hoist_err_prefix(err, "cannot read job %s", id);
		goto out;
	}
	ret = 0;
out:
	finish_stmt(stmt);
	return ret;
}

static int visit_job(sqlite3_stmt *stmt, const struct list_call *call,
		     int *cb_rc, struct hoist_err *err)
{
	struct hoist_job_record job;

	if (read_job(stmt, &job, err) < 0) {
		hoist_err_prefix(err, "job %s", column_key(stmt));
		return -1;
	}
	*cb_rc = call->cb.job(&job, call->arg);
	hoist_model_job_release(&job);
	return 0;
}

static int sqlite_list_jobs(struct hoist_store *store, int active_only,
			    hoist_store_job_cb cb, void *arg,
			    struct hoist_err *err)
{
	struct list_call call = { .cb.job = cb, .arg = arg,
				  .visit = visit_job };

	return run_list(to_sqlite(store), active_only ? STMT_LIST_ACTIVE_JOBS :
			STMT_LIST_JOBS, NULL, &call, err,
			active_only ? "cannot list active jobs" :
			"cannot list jobs");
}

/* ---- attempts ---- */

static int check_attempt(const struct hoist_attempt_record *a,
			 struct hoist_err *err)
{
	if (check_text(a->token_sha256, sizeof(a->token_sha256), 0,
		       "token_sha256", err) ||
	    check_text(a->instance_id, sizeof(a->instance_id), 0,
		       "instance_id", err) ||
	    check_text(a->end_reason, sizeof(a->end_reason), 0,
		       "end_reason", err) ||
	    check_text(a->error, sizeof(a->error), 0, "error", err))
		return -1;
	if (a->number < 1)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid attempt number %d (numbers "
				     "start at 1)", a->number);
	return check_state(hoist_model_attempt_state_name(a->state),
			   hoist_model_attempt_state_parse, a->state,
			   "attempt", err);
}

static void bind_attempt(struct binder *b,
			 const struct hoist_attempt_record *a)
{
	bind_text(b, a->job_id, sizeof(a->job_id), 1);
	bind_int64(b, a->number);
	bind_state(b, hoist_model_attempt_state_name(a->state));
	bind_text(b, a->token_sha256, sizeof(a->token_sha256), 0);
	bind_text(b, a->instance_id, sizeof(a->instance_id), 0);
	bind_optional(b, a->created_at, 0);
	bind_optional(b, a->started_at, 0);
	bind_optional(b, a->ended_at, 0);
	bind_text(b, a->end_reason, sizeof(a->end_reason), 0);
	bind_optional(b, a->resumed_from_step, -1);
	bind_optional(b, a->last_step, -1);
	bind_optional(b, a->last_heartbeat_at, 0);
	bind_optional(b, a->exit_code, -1);
	bind_text(b, a->error, sizeof(a->error), 0);
}

static int read_attempt(sqlite3_stmt *stmt, struct hoist_attempt_record *out,
			struct hoist_err *err)
{
	struct reader r = { stmt, 0, 0, err };

	memset(out, 0, sizeof(*out));
	read_text(&r, out->job_id, sizeof(out->job_id));
	out->number = read_int(&r, 0);
	out->state = read_state(&r, hoist_model_attempt_state_parse,
				"an attempt");
	read_text(&r, out->token_sha256, sizeof(out->token_sha256));
	read_text(&r, out->instance_id, sizeof(out->instance_id));
	out->created_at = read_int64(&r, 0);
	out->started_at = read_int64(&r, 0);
	out->ended_at = read_int64(&r, 0);
	read_text(&r, out->end_reason, sizeof(out->end_reason));
	out->resumed_from_step = read_int64(&r, -1);
	out->last_step = read_int64(&r, -1);
	out->last_heartbeat_at = read_int64(&r, 0);
	out->exit_code = read_int(&r, -1);
	read_text(&r, out->error, sizeof(out->error));
	return r.failed ? -1 : 0;
}

static int sqlite_put_attempt(struct hoist_store *store,
			      const struct hoist_attempt_record *attempt,
			      struct hoist_err *err)
{
	struct sqlite_store *s = to_sqlite(store);
	struct binder b = { s->stmts[STMT_PUT_ATTEMPT], 0, SQLITE_OK };
	char what[128];
	char msg[256];
	int rc;

	if (check_text(attempt->job_id, sizeof(attempt->job_id), 1, "job id",
		       err) < 0) {
		hoist_err_prefix(err, "cannot save attempt");
		return -1;
	}
	snprintf(what, sizeof(what), "cannot save attempt %d of job %s",
		 attempt->number, attempt->job_id);
	if (check_attempt(attempt, err) < 0) {
		hoist_err_prefix(err, "%s", what);
		return -1;
	}
	bind_attempt(&b, attempt);
	if (bind_done(&b, s->db, err, what) < 0) {
		finish_stmt(b.stmt);
		return -1;
	}

	rc = step_write(s, STMT_PUT_ATTEMPT, msg, sizeof(msg));
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "%s: job %s not found", what,
				     attempt->job_id);
	if (rc != SQLITE_DONE)
		return hoist_err_set(err, HOIST_E_STORE, "%s: %s", what, msg);
	return 0;
}

static int visit_attempt(sqlite3_stmt *stmt, const struct list_call *call,
			 int *cb_rc, struct hoist_err *err)
{
	struct hoist_attempt_record attempt;

	if (read_attempt(stmt, &attempt, err) < 0) {
		hoist_err_prefix(err, "attempt %d of job %s",
				 sqlite3_column_int(stmt, 1), column_key(stmt));
		return -1;
	}
	*cb_rc = call->cb.attempt(&attempt, call->arg);
	return 0;
}

static int sqlite_list_attempts(struct hoist_store *store,
				const char *job_id, hoist_store_attempt_cb cb,
				void *arg, struct hoist_err *err)
{
	struct list_call call = { .cb.attempt = cb, .arg = arg,
				  .visit = visit_attempt };
	char what[128];

	if (!job_id)
		return run_list(to_sqlite(store), STMT_LIST_ALL_ATTEMPTS,
				NULL, &call, err, "cannot list attempts");
	snprintf(what, sizeof(what), "cannot list attempts of job %s",
		 job_id);
	return run_list(to_sqlite(store), STMT_LIST_ATTEMPTS, job_id, &call,
			err, what);
}

/* ---- checkpoints ---- */

static int check_checkpoint(const struct hoist_checkpoint_record *c,
			    struct hoist_err *err)
{
	if (check_text(c->manifest_key, sizeof(c->manifest_key), 0,
		       "manifest_key", err) ||
	    check_text(c->manifest_sha256, sizeof(c->manifest_sha256), 0,
		       "manifest_sha256", err))
		return -1;
	if (c->step < 0)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid checkpoint step %" PRId64
				     " (steps are not negative)", c->step);
	return 0;
}

static void bind_checkpoint(struct binder *b,
			    const struct hoist_checkpoint_record *c)
{
	bind_text(b, c->job_id, sizeof(c->job_id), 1);
	bind_int64(b, c->step);
	bind_int64(b, c->attempt);
	bind_text(b, c->manifest_key, sizeof(c->manifest_key), 0);
	bind_text(b, c->manifest_sha256, sizeof(c->manifest_sha256), 0);
	bind_int64(b, c->files);
	bind_int64(b, c->bytes);
	bind_optional(b, c->committed_at, 0);
}

static int read_checkpoint(sqlite3_stmt *stmt,
			   struct hoist_checkpoint_record *out,
			   struct hoist_err *err)
{
	struct reader r = { stmt, 0, 0, err };

	memset(out, 0, sizeof(*out));
	read_text(&r, out->job_id, sizeof(out->job_id));
	out->step = read_int64(&r, 0);
	out->attempt = read_int(&r, 0);
	read_text(&r, out->manifest_key, sizeof(out->manifest_key));
	read_text(&r, out->manifest_sha256, sizeof(out->manifest_sha256));
	out->files = read_int64(&r, 0);
	out->bytes = read_int64(&r, 0);
	out->committed_at = read_int64(&r, 0);
	return r.failed ? -1 : 0;
}

static int sqlite_put_checkpoint(struct hoist_store *store,
				 const struct hoist_checkpoint_record *ckpt,
				 struct hoist_err *err)
{
	struct sqlite_store *s = to_sqlite(store);
	struct binder b = { s->stmts[STMT_PUT_CHECKPOINT], 0, SQLITE_OK };
	char what[160];
	char msg[256];
	int rc;

	if (check_text(ckpt->job_id, sizeof(ckpt->job_id), 1, "job id",
		       err) < 0) {
		hoist_err_prefix(err, "cannot save checkpoint");
		return -1;
	}
	snprintf(what, sizeof(what),
		 "cannot save checkpoint at step %" PRId64 " of job %s",
		 ckpt->step, ckpt->job_id);
	if (check_checkpoint(ckpt, err) < 0) {
		hoist_err_prefix(err, "%s", what);
		return -1;
	}
	bind_checkpoint(&b, ckpt);
	if (bind_done(&b, s->db, err, what) < 0) {
		finish_stmt(b.stmt);
		return -1;
	}

	rc = step_write(s, STMT_PUT_CHECKPOINT, msg, sizeof(msg));
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "%s: job %s not found", what,
				     ckpt->job_id);
	if (rc != SQLITE_DONE)
		return hoist_err_set(err, HOIST_E_STORE, "%s: %s", what, msg);
	return 0;
}

static int sqlite_delete_checkpoint(struct hoist_store *store,
				    const char *job_id, int64_t step,
				    struct hoist_err *err)
{
	struct sqlite_store *s = to_sqlite(store);
	sqlite3_stmt *stmt = s->stmts[STMT_DELETE_CHECKPOINT];
	char what[160];

	if (check_key_arg(job_id, "cannot delete checkpoint", err) < 0)
		return -1;
	snprintf(what, sizeof(what),
		 "cannot delete checkpoint at step %" PRId64 " of job %s",
		 step, job_id);
	if (sqlite3_bind_text(stmt, 1, job_id, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int64(stmt, 2, step)) {
		fail_sqlite(s->db, err, "%s", what);
		finish_stmt(stmt);
		return -1;
	}
	if (run_write(s, STMT_DELETE_CHECKPOINT, err, what) < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return hoist_err_set(err, HOIST_E_NOT_FOUND,
				     "%s: no such checkpoint", what);
	return 0;
}

static int visit_checkpoint(sqlite3_stmt *stmt, const struct list_call *call,
			    int *cb_rc, struct hoist_err *err)
{
	struct hoist_checkpoint_record ckpt;

	if (read_checkpoint(stmt, &ckpt, err) < 0) {
		hoist_err_prefix(err, "checkpoint at step %lld",
				 sqlite3_column_int64(stmt, 1));
		return -1;
	}
	*cb_rc = call->cb.checkpoint(&ckpt, call->arg);
	return 0;
}

static int sqlite_list_checkpoints(struct hoist_store *store,
				   const char *job_id,
				   hoist_store_checkpoint_cb cb, void *arg,
				   struct hoist_err *err)
{
	struct list_call call = { .cb.checkpoint = cb, .arg = arg,
				  .visit = visit_checkpoint };
	char what[128];

	if (check_key_arg(job_id, "cannot list checkpoints", err) < 0)
		return -1;
	snprintf(what, sizeof(what), "cannot list checkpoints of job %s",
		 job_id);
	return run_list(to_sqlite(store), STMT_LIST_CHECKPOINTS, job_id,
			&call, err, what);
}

/* ---- instances ---- */

static int check_instance(const struct hoist_instance_record *inst,
			  struct hoist_err *err)
{
	if (check_text(inst->provider, sizeof(inst->provider), 0, "provider",
		       err) ||
	    check_text(inst->label, sizeof(inst->label), 0, "label", err) ||
	    check_text(inst->job_id, sizeof(inst->job_id), 0, "job id", err) ||
	    check_text(inst->offer, sizeof(inst->offer), 0, "offer", err) ||
	    check_text(inst->gpu_name, sizeof(inst->gpu_name), 0, "gpu_name",
		       err))
		return -1;
	/* !(x >= 0) also rejects NaN. */
	if (inst->billed && !(inst->billed_usd >= 0.0 &&
			      inst->billed_usd <= 1e9))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "billed_usd %g is not an amount from 0 "
				     "to 1e9 USD", inst->billed_usd);
	return check_state(hoist_model_instance_state_name(inst->state),
			   hoist_model_instance_state_parse, inst->state,
			   "instance", err);
}

static void bind_instance(struct binder *b,
			  const struct hoist_instance_record *inst)
{
	bind_text(b, inst->id, sizeof(inst->id), 1);
	bind_text(b, inst->provider, sizeof(inst->provider), 0);
	bind_text(b, inst->label, sizeof(inst->label), 0);
	bind_text(b, inst->job_id, sizeof(inst->job_id), 0);
	bind_int64(b, inst->attempt);
	bind_state(b, hoist_model_instance_state_name(inst->state));
	bind_text(b, inst->offer, sizeof(inst->offer), 0);
	bind_text(b, inst->gpu_name, sizeof(inst->gpu_name), 0);
	bind_double(b, inst->price_per_hour);
	bind_optional(b, inst->created_at, 0);
	bind_optional(b, inst->destroyed_at, 0);
	if (inst->billed)
		bind_double(b, inst->billed_usd);
	else
		keep_rc(b, sqlite3_bind_null(b->stmt, ++b->index));
}

static int read_instance(sqlite3_stmt *stmt,
			 struct hoist_instance_record *out,
			 struct hoist_err *err)
{
	struct reader r = { stmt, 0, 0, err };

	memset(out, 0, sizeof(*out));
	read_text(&r, out->id, sizeof(out->id));
	read_text(&r, out->provider, sizeof(out->provider));
	read_text(&r, out->label, sizeof(out->label));
	read_text(&r, out->job_id, sizeof(out->job_id));
	out->attempt = read_int(&r, 0);
	out->state = read_state(&r, hoist_model_instance_state_parse,
				"an instance");
	read_text(&r, out->offer, sizeof(out->offer));
	read_text(&r, out->gpu_name, sizeof(out->gpu_name));
	out->price_per_hour = read_double(&r);
	out->created_at = read_int64(&r, 0);
	out->destroyed_at = read_int64(&r, 0);
	if (sqlite3_column_type(stmt, r.column) == SQLITE_NULL) {
		r.column++;
	} else {
		out->billed = 1;
		out->billed_usd = read_double(&r);
	}
	return r.failed ? -1 : 0;
}

static int sqlite_put_instance(struct hoist_store *store,
			       const struct hoist_instance_record *inst,
			       struct hoist_err *err)
{
	struct sqlite_store *s = to_sqlite(store);
	struct binder b = { s->stmts[STMT_PUT_INSTANCE], 0, SQLITE_OK };
	char what[128];
	char msg[256];
	int rc;

	if (check_text(inst->id, sizeof(inst->id), 1, "instance id", err) < 0) {
		hoist_err_prefix(err, "cannot save instance");
		return -1;
	}
	snprintf(what, sizeof(what), "cannot save instance %s", inst->id);
	if (check_instance(inst, err) < 0) {
		hoist_err_prefix(err, "%s", what);
		return -1;
	}
	bind_instance(&b, inst);
	if (bind_done(&b, s->db, err, what) < 0) {
		finish_stmt(b.stmt);
		return -1;
	}

	/* The only UNIQUE column besides the upserted key is the label. */
	rc = step_write(s, STMT_PUT_INSTANCE, msg, sizeof(msg));
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return hoist_err_set(err, HOIST_E_CONFLICT,
				     "%s: label '%s' belongs to another "
				     "instance", what, inst->label);
	if (rc != SQLITE_DONE)
		return hoist_err_set(err, HOIST_E_STORE, "%s: %s", what, msg);
	return 0;
}

static int visit_instance(sqlite3_stmt *stmt, const struct list_call *call,
			  int *cb_rc, struct hoist_err *err)
{
	struct hoist_instance_record inst;

	if (read_instance(stmt, &inst, err) < 0) {
		hoist_err_prefix(err, "instance %s", column_key(stmt));
		return -1;
	}
	*cb_rc = call->cb.instance(&inst, call->arg);
	return 0;
}

static int sqlite_list_instances(struct hoist_store *store,
				 const char *job_id,
				 hoist_store_instance_cb cb, void *arg,
				 struct hoist_err *err)
{
	struct list_call call = { .cb.instance = cb, .arg = arg,
				  .visit = visit_instance };
	char what[128];

	if (!job_id)
		return run_list(to_sqlite(store), STMT_LIST_ALL_INSTANCES,
				NULL, &call, err, "cannot list instances");
	snprintf(what, sizeof(what), "cannot list instances of job %s",
		 job_id);
	return run_list(to_sqlite(store), STMT_LIST_INSTANCES, job_id, &call,
			err, what);
}

/* ---- meta ---- */

static int sqlite_get_meta(struct hoist_store *store, const char *key,
			   char *out, size_t outlen, struct hoist_err *err)
{
	struct sqlite_store *s = to_sqlite(store);
	sqlite3_stmt *stmt = s->stmts[STMT_GET_META];
	const unsigned char *value;
	size_t len;
	int ret = -1;
	int rc;

	if (outlen > 0)
		out[0] = '\0';
	if (check_key_arg(key, "cannot read meta key", err) < 0)
		return -1;
	if (sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
		fail_sqlite(s->db, err, "cannot read meta key '%s'", key);
		goto out;
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE) {
		hoist_err_set(err, HOIST_E_NOT_FOUND,
			      "meta key '%s' not found", key);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		fail_sqlite(s->db, err, "cannot read meta key '%s'", key);
		goto out;
	}
	value = sqlite3_column_text(stmt, 0);
	len = (size_t)sqlite3_column_bytes(stmt, 0);
	if (!value) {
		hoist_err_set(err, HOIST_E_NOMEM,
			      "cannot read meta key '%s': out of memory", key);
		goto out;
	}
	if (len >= outlen) {
		hoist_err_set(err, HOIST_E_NOMEM,
			      "cannot read meta key '%s': its value of %zu "
			      "bytes does not fit a buffer of %zu bytes", key,
			      len, outlen);
		goto out;
	}
	memcpy(out, value, len);
	out[len] = '\0';
	ret = 0;
out:
	finish_stmt(stmt);
	return ret;
}

static int sqlite_put_meta(struct hoist_store *store, const char *key,
			   const char *value, struct hoist_err *err)
{
	struct sqlite_store *s = to_sqlite(store);
	sqlite3_stmt *stmt = s->stmts[STMT_PUT_META];
	char what[128];

	if (check_key_arg(key, "cannot save meta key", err) < 0)
		return -1;
	snprintf(what, sizeof(what), "cannot save meta key '%s'", key);
	if (!value)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "%s: the value is NULL", what);
	if (sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC) ||
	    sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC)) {
		fail_sqlite(s->db, err, "%s", what);
		finish_stmt(stmt);
		return -1;
	}
	return run_write(s, STMT_PUT_META, err, what);
}

/* ---- open and close ---- */

static void sqlite_close(struct hoist_store *store)
{
	struct sqlite_store *s = to_sqlite(store);

	for (int i = 0; i < STMT_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	if (s->db) {
		/* SQLite recommends this before closing a long-lived
		 * connection.  It refreshes planner statistics if needed. */
		sqlite3_exec(s->db, "PRAGMA optimize", NULL, NULL, NULL);
		sqlite3_close(s->db);
	}
	free(s->path);
	free(s);
}

static const struct hoist_store_ops sqlite_ops = {
	.name = "sqlite",
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.put_job = sqlite_put_job,
	.get_job = sqlite_get_job,
	.list_jobs = sqlite_list_jobs,
	.put_attempt = sqlite_put_attempt,
	.list_attempts = sqlite_list_attempts,
	.put_checkpoint = sqlite_put_checkpoint,
	.delete_checkpoint = sqlite_delete_checkpoint,
	.list_checkpoints = sqlite_list_checkpoints,
	.put_instance = sqlite_put_instance,
	.list_instances = sqlite_list_instances,
	.get_meta = sqlite_get_meta,
	.put_meta = sqlite_put_meta,
	.close = sqlite_close,
};

static int is_memory_path(const char *path)
{
	return path[0] == '\0' || strcmp(path, ":memory:") == 0;
}

/* Runs a statement that returns one integer, such as a PRAGMA. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out,
		     struct hoist_err *err)
{
	sqlite3_stmt *stmt = NULL;
	int ret = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		fail_sqlite(db, err, "%s", sql);
		goto out;
	}
	*out = sqlite3_column_int64(stmt, 0);
	ret = 0;
out:
	sqlite3_finalize(stmt);
	return ret;
}

static int exec_sql(sqlite3 *db, const char *sql, struct hoist_err *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		hoist_err_set(err, HOIST_E_STORE, "%s",
			      msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * Creates the file with mode 0600 unless it exists, because job specs may
 * carry secrets in their env.  SQLite gives its -wal and -shm files the
 * mode of the database file.
 */
static int create_private_file(const char *path, struct hoist_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		return hoist_err_set(err, HOIST_E_IO, "%s", strerror(errno));
	close(fd);
	return 0;
}

static int set_journal_mode(sqlite3 *db, int in_memory,
			    struct hoist_err *err)
{
	sqlite3_stmt *stmt = NULL;
	const char *mode;
	int ret = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt,
			       NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		fail_sqlite(db, err, "cannot switch to WAL mode");
		goto out;
	}
	mode = (const char *)sqlite3_column_text(stmt, 0);
	/* An in-memory database keeps journal mode "memory". */
	if (!mode || (strcmp(mode, "wal") != 0 && !in_memory)) {
		hoist_err_set(err, HOIST_E_STORE,
			      "cannot switch to WAL mode: journal mode is "
			      "still '%s'", mode ? mode : "(unknown)");
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(stmt);
	return ret;
}

static int configure(sqlite3 *db, int in_memory, struct hoist_err *err)
{
	int64_t foreign_keys = 0;

	sqlite3_extended_result_codes(db, 1);
	if (sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS) != SQLITE_OK)
		return fail_sqlite(db, err, "cannot set the busy timeout");
	if (exec_sql(db, "PRAGMA foreign_keys = ON", err) < 0 ||
	    query_int(db, "PRAGMA foreign_keys", &foreign_keys, err) < 0)
		return -1;
	if (foreign_keys != 1)
		return hoist_err_set(err, HOIST_E_STORE,
				     "this SQLite library cannot enforce "
				     "foreign keys");
	if (set_journal_mode(db, in_memory, err) < 0)
		return -1;
	/* With WAL, NORMAL can lose the last commits on power loss but does
	 * not corrupt the database (docs/store.md). */
	return exec_sql(db, "PRAGMA synchronous = NORMAL", err);
}

/* Rejects a file that another program or a newer hoist wrote. */
static int check_owner(sqlite3 *db, struct hoist_err *err)
{
	int64_t app_id = 0;
	int64_t version = 0;
	int64_t tables = 0;

	if (query_int(db, "PRAGMA application_id", &app_id, err) < 0 ||
	    query_int(db, "PRAGMA user_version", &version, err) < 0 ||
	    query_int(db, "SELECT count(*) FROM sqlite_master "
		      "WHERE name NOT LIKE 'sqlite_%'", &tables, err) < 0)
		return -1;
	if (app_id != 0 && app_id != APPLICATION_ID)
		return hoist_err_set(err, HOIST_E_STORE,
				     "the file is not a hoist job store (its "
				     "application_id is 0x%" PRIx64 ")",
				     app_id);
	if (version == 0 && tables > 0)
		return hoist_err_set(err, HOIST_E_STORE,
				     "the file is not a hoist job store: it "
				     "holds %" PRId64 " tables or indexes but "
				     "no schema version", tables);
	if (version > SCHEMA_VERSION)
		return hoist_err_set(err, HOIST_E_STORE,
				     "the file has schema version %" PRId64
				     ", but this build of hoist supports "
				     "versions up to %d: upgrade hoist or use "
				     "another store file", version,
				     SCHEMA_VERSION);
	return 0;
}

/* Applies the migrations from the file's version to SCHEMA_VERSION in
 * one transaction. */
static int migrate(sqlite3 *db, struct hoist_err *err)
{
	char sql[64];
	int64_t version = 0;
	int ret = -1;

	if (query_int(db, "PRAGMA user_version", &version, err) < 0)
		return -1;
	if (version == SCHEMA_VERSION)
		return 0;

	if (exec_sql(db, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	/* Checked again under the write lock: another process may have
	 * migrated the file meanwhile. */
	if (check_owner(db, err) < 0 ||
	    query_int(db, "PRAGMA user_version", &version, err) < 0)
		goto out;
	for (int64_t v = version; v < SCHEMA_VERSION; v++) {
		if (exec_sql(db, migrations[v], err) < 0) {
			hoist_err_prefix(err, "migration to schema version %"
					 PRId64 " failed", v + 1);
			goto out;
		}
	}
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	if (exec_sql(db, sql, err) < 0)
		goto out;
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d",
		 APPLICATION_ID);
	if (exec_sql(db, sql, err) < 0 || exec_sql(db, "COMMIT", err) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0 && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static int prepare_all(struct sqlite_store *s, struct hoist_err *err)
{
	for (int i = 0; i < STMT_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &s->stmts[i],
				       NULL) != SQLITE_OK)
			return fail_sqlite(s->db, err, "cannot prepare '%s'",
					   stmt_sql[i]);
	}
	return 0;
}

int hoist_store_sqlite_open(const char *path, struct hoist_store **out,
			    struct hoist_err *err)
{
	struct sqlite_store *s = NULL;
	int in_memory;
	int rc;

	*out = NULL;
	if (!path)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "cannot open job store: no path given");
	if (sqlite3_libversion_number() < MIN_SQLITE_VERSION)
		return hoist_err_set(err, HOIST_E_STORE,
				     "cannot open job store '%s': SQLite %s "
				     "is too old, 3.24.0 or newer is needed",
				     path, sqlite3_libversion());

	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		hoist_err_set(err, HOIST_E_NOMEM,
			      "cannot open job store '%s': out of memory",
			      path);
		goto fail;
	}
	s->base.ops = &sqlite_ops;
	in_memory = is_memory_path(path);

	if (!in_memory && create_private_file(path, err) < 0)
		goto fail;
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (s->db)
			hoist_err_set(err, HOIST_E_STORE, "%s",
				      sqlite3_errmsg(s->db));
		else
			hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		goto fail;
	}

	/* Check the owner before configure(), which rewrites the header. */
	if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    check_owner(s->db, err) < 0 ||
	    configure(s->db, in_memory, err) < 0 ||
	    migrate(s->db, err) < 0 || prepare_all(s, err) < 0)
		goto fail;

	*out = &s->base;
	return 0;
fail:
	hoist_err_prefix(err, "cannot open job store '%s'", path);
	if (s)
		sqlite_close(&s->base);
	return -1;
}
