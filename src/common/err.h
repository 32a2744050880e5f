/*
 * err.h - the one error type of hoist.
 *
 * A function that can fail returns 0 on success and -1 on failure, and
 * fills the struct hoist_err that its caller passed in.  Only the first
 * failure is kept: a cleanup path that fails after the real error does
 * not overwrite the root cause.  Libraries fill errors and never log;
 * executables decide what to print.
 */
#ifndef HOIST_ERR_H
#define HOIST_ERR_H

#include <stdarg.h>

#if defined(__GNUC__)
#define HOIST_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#else
#define HOIST_PRINTF(fmt, first)
#endif

enum hoist_err_code {
	HOIST_OK = 0,
	HOIST_E_INVALID,	/* bad input: config, request, argument */
	HOIST_E_NOT_FOUND,	/* a job, instance, file or key does not exist */
	HOIST_E_CONFLICT,	/* state does not allow the operation */
	HOIST_E_FENCED,		/* the caller's attempt token was revoked */
	HOIST_E_IO,		/* file system or socket failure */
	HOIST_E_NOMEM,		/* allocation failed or a size limit was hit */
	HOIST_E_STORE,		/* the job store failed */
	HOIST_E_PROVIDER,	/* the compute provider failed */
	HOIST_E_HTTP,		/* transport failure or unexpected HTTP status */
	HOIST_E_INTEGRITY,	/* checksum or size mismatch */
	HOIST_E_INTERNAL,	/* a broken invariant */
};

#define HOIST_ERR_MSG_MAX 1024

struct hoist_err {
	int code;			/* enum hoist_err_code, HOIST_OK if unset */
	char msg[HOIST_ERR_MSG_MAX];	/* lowercase, no trailing period */
};

#define HOIST_ERR_INIT { HOIST_OK, { 0 } }

/*
 * Records a failure in err unless err already contains one, and returns -1 so
 * that callers can write `return hoist_err_set(err, ...)`.  err may be NULL.
 */
int hoist_err_set(struct hoist_err *err, int code, const char *fmt, ...)
	HOIST_PRINTF(3, 4);
int hoist_err_setv(struct hoist_err *err, int code, const char *fmt,
		   va_list ap) HOIST_PRINTF(3, 0);

/* Prepends "context: " to the message already in err; no-op if unset. */
void hoist_err_prefix(struct hoist_err *err, const char *fmt, ...)
	HOIST_PRINTF(2, 3);

void hoist_err_clear(struct hoist_err *err);

/* Returns a stable lowercase name for code, such as "not_found". */
const char *hoist_err_code_name(int code);

#endif
