/*
 * transfer.h - checkpoint uploads and restores in a hoist-transfer child
 * process.
 *
 * hoist-agent hands each upload and restore to a short-lived hoist-transfer
 * process, so that its own loop keeps sending heartbeats and handling
 * signals however long the transfer takes.  The storage code and its
 * libraries (libcrypto, and libcurl for S3) then stay out of the agent.
 *
 * The protocol: the agent writes one JSON request line to the child's
 * stdin and closes it.  The child does the transfer, writes one JSON
 * result line to its stdout and exits.
 *
 *   {"op":"upload","storage_url":..,"job_id":..,"attempt":..,"step":..,
 *    "dir":..}
 *   {"op":"restore","storage_url":..,"job_id":..,"attempt":..,"step":..,
 *    "dir":..,"manifest_key":..,"manifest_sha256":..}
 *   {"op":"check","storage_url":..,"job_id":..,"attempt":..,"step":0}
 *   {"op":"input",..,"step":0,"dir":..,"manifest_key":..,
 *    "manifest_sha256":..}
 *   {"op":"output",..,"step":0,"dir":..,"key":..}
 *
 *   {"ok":true,"step":..,"manifest_key":..,"manifest_sha256":..,
 *    "files":..,"bytes":..}			(upload)
 *   {"ok":true,"step":..}			(restore)
 *   {"ok":true}				(check)
 *   {"ok":true,"files":..,"bytes":..}		(input and output)
 *   {"ok":false,"error":".."}
 *
 * A check opens the store the way an upload would, so that a bad
 * storage_url fails the attempt at its start instead of at every upload.
 * An input restores the staged dataset whose manifest is manifest_key
 * (datasets/manifests/<sha256>.json) into dir, verifying every file.  An
 * output uploads the file dir under key, or every regular file below the
 * folder dir under key + "/" + its relative path.
 *
 * A storage_url "hoist-presigned:s3://..." names an S3 store whose
 * requests hoistd presigns: the request then also carries
 * "orchestrator_url" and the attempt "token", which reach the child only
 * through this pipe, never through its argv or environment.
 */
#ifndef HOIST_TRANSFER_H
#define HOIST_TRANSFER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/err.h"

#define HOIST_TRANSFER_PROGRAM "hoist-transfer"
/* Limit of a request and of a result line, in bytes.  A request must fit
 * in a new pipe (64 KiB on Linux), because the agent writes it without
 * waiting for the child. */
#define HOIST_TRANSFER_LINE_MAX (60u << 10)
#define HOIST_TRANSFER_KEY_MAX 511

enum hoist_transfer_op {
	HOIST_TRANSFER_UPLOAD = 1,	/* upload dir as checkpoint step */
	HOIST_TRANSFER_RESTORE,		/* restore manifest_key into dir */
	HOIST_TRANSFER_CHECK,		/* open the store only */
	HOIST_TRANSFER_INPUT,		/* restore a staged input into dir */
	HOIST_TRANSFER_OUTPUT,		/* upload the file or folder dir */
};

/* The parameters of one transfer.  The strings are borrowed. */
struct hoist_transfer_request {
	enum hoist_transfer_op op;
	const char *storage_url;
	const char *job_id;
	int attempt;
	int64_t step;		/* the step uploaded, or expected on restore */
	const char *dir;	/* the checkpoint folder, or the target;
				 * NULL for a check */
	const char *manifest_key;	/* restore and input only */
	const char *manifest_sha256;	/* restore and input; "" skips the
					 * check on a restore only */
	const char *key;		/* output only: the key of a file, or
					 * the key prefix of a folder's files */
	const char *orchestrator_url;	/* presigned storage only, else NULL */
	const char *token;		/* presigned storage only, else NULL */
};

/* The storage_url prefix of a store whose requests hoistd presigns. */
#define HOIST_TRANSFER_PRESIGNED "hoist-presigned:"

/* A parsed request; the strings point into doc. */
struct hoist_transfer_request_doc {
	struct hoist_transfer_request req;
	json_t *doc;
};

/* The outcome of one transfer. */
struct hoist_transfer_result {
	int ok;
	int64_t step;		/* uploaded, or restored (from the manifest) */
	char manifest_key[HOIST_TRANSFER_KEY_MAX + 1];	/* upload only */
	char manifest_sha256[65];			/* upload only */
	uint64_t files;				/* upload, input and output */
	uint64_t bytes;				/* upload, input and output */
	char error[HOIST_ERR_MSG_MAX];			/* when !ok */
};

/* ------------------------------------------------------------------ */
/* Protocol (transfer_proto.c)                                          */
/* ------------------------------------------------------------------ */

/* Appends req as one JSON line (with '\n') to out.  Returns 0, or -1 with
 * HOIST_E_NOMEM when it does not fit out->max. */
int hoist_transfer_request_format(const struct hoist_transfer_request *req,
				  struct hoist_buf *out, struct hoist_err *err);

/*
 * Parses and validates a request line of len bytes: op, a non-empty
 * storage_url, a job_id, attempt >= 1, step >= 0, an absolute dir (not
 * for a check), for a restore a manifest_key and a manifest_sha256 of 64
 * lowercase hex digits or "", for an input the same with a digest that
 * may not be "", and for an output a key.  Returns 0 with out filled (release it with
 * hoist_transfer_request_release()), or -1 with HOIST_E_INVALID naming
 * the field.
 */
int hoist_transfer_request_parse(const char *text, size_t len,
				 struct hoist_transfer_request_doc *out,
				 struct hoist_err *err);

void hoist_transfer_request_release(struct hoist_transfer_request_doc *doc);

/* Appends result as one JSON line (with '\n') to out: the checkpoint
 * fields for an upload, "step" only for a restore, nothing more for a
 * check, "error" on failure. */
int hoist_transfer_result_format(enum hoist_transfer_op op,
				 const struct hoist_transfer_result *result,
				 struct hoist_buf *out, struct hoist_err *err);

/*
 * Parses the result line of an op.  An "ok": false result is a success of
 * this function with out->ok 0 and out->error set.  Returns 0, or -1 with
 * HOIST_E_INVALID when the line is not a valid result.
 */
int hoist_transfer_result_parse(enum hoist_transfer_op op, const char *text,
				size_t len, struct hoist_transfer_result *out,
				struct hoist_err *err);

/* ------------------------------------------------------------------ */
/* The child process (transfer.c)                                       */
/* ------------------------------------------------------------------ */

/* A running or finished hoist-transfer process. */
struct hoist_transfer {
	pid_t pid;		/* also its process group; 0 if none started */
	int result_fd;		/* read end of its stdout, -1 after EOF */
	int reaped;
	int wait_status;	/* from waitpid(), once reaped */
	enum hoist_transfer_op op;
	int64_t step;
	int64_t started_ms;	/* monotonic */
	struct hoist_buf output;	/* what it wrote to stdout */
};

/* Prepares t with no process. */
void hoist_transfer_init(struct hoist_transfer *t);

/*
 * Starts program (the path of hoist-transfer) with req on its stdin.  The
 * child runs in its own process group with the signal mask sigmask and
 * envp as its environment, and its stderr is the agent's.  It ignores
 * SIGTERM and SIGINT, because a preemption must not cut an upload short
 * (the agent decides when to stop it), and it receives SIGKILL when the
 * agent dies.  Returns 0,
 * or -1 with HOIST_E_IO when the pipes or the fork fail, or with
 * HOIST_E_NOMEM when the request does not fit HOIST_TRANSFER_LINE_MAX; no
 * process runs then.  A failed exec is reported as the transfer's result.
 */
int hoist_transfer_start(struct hoist_transfer *t, const char *program,
			 const struct hoist_transfer_request *req,
			 char *const *envp, const sigset_t *sigmask,
			 struct hoist_err *err);

/* Returns 1 while a started transfer has not been collected with
 * hoist_transfer_collect(). */
int hoist_transfer_active(const struct hoist_transfer *t);

/* Reads what the child wrote so far (never blocks) and reaps it if it
 * exited.  Returns 1 once its output ended and it was reaped. */
int hoist_transfer_poll(struct hoist_transfer *t);

/*
 * Builds the result of a finished transfer (hoist_transfer_poll() returned
 * 1) from its result line, or, without a valid line, from its exit status,
 * and releases the process state so that a new transfer can start.
 */
void hoist_transfer_collect(struct hoist_transfer *t,
			    struct hoist_transfer_result *out);

/* Sends SIGKILL to the child's process group, waits for the child and
 * releases the process state.  No-op without an active transfer. */
void hoist_transfer_kill(struct hoist_transfer *t);

/* Kills an active transfer like hoist_transfer_kill() and frees t's
 * buffers. */
void hoist_transfer_release(struct hoist_transfer *t);

/* Builds the child's environment: envp without HOIST_AGENT_TOKEN and
 * HOIST_ORCHESTRATOR_URL.  The strings are borrowed from envp; the caller
 * frees the returned array (NULL when out of memory). */
char **hoist_transfer_environment(char *const *envp);

#endif
