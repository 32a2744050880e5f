/*
 * fsutil.h - the file and program helpers that hoist-agent needs.
 *
 * They behave like hoist_util_mkdir_p(), hoist_util_remove_tree() and
 * hoist_util_find_program() of common/util.h.  The agent keeps its own
 * copies because util.c also contains the SHA-256 and random helpers.
 * Linking any function of it pulls libcrypto into the agent, which costs
 * about 1.5 MiB of resident memory for code the agent never runs.
 */
#ifndef HOIST_FSUTIL_H
#define HOIST_FSUTIL_H

#include <stddef.h>

#include "common/err.h"

/* Creates path and its missing parents with mode (like mkdir -p).
 * Returns 0, or -1 with HOIST_E_INVALID or HOIST_E_IO. */
int hoist_fsutil_mkdir_p(const char *path, unsigned mode,
			 struct hoist_err *err);

/* Removes path and everything below it without following symbolic links;
 * a missing path is success.  Returns 0, or -1 with HOIST_E_IO. */
int hoist_fsutil_remove_tree(const char *path, struct hoist_err *err);

/*
 * Finds the executable name and stores its absolute path in out: in
 * $HOIST_BIN_DIR, then next to the running executable, then in $PATH.
 * Returns 0, or -1 with HOIST_E_NOT_FOUND naming the places searched.
 */
int hoist_fsutil_find_program(const char *name, char *out, size_t outlen,
			      struct hoist_err *err);

#endif
