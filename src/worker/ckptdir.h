/*
 * ckptdir.h - finds the checkpoint folders that the command writes into
 * HOIST_CHECKPOINT_DIR.
 *
 * The command writes a checkpoint into a folder whose name starts with '.'
 * and renames it to "step-<N>" (N in decimal) when it is complete, so only
 * folders with that exact name form are complete checkpoints.
 */
#ifndef HOIST_CKPTDIR_H
#define HOIST_CKPTDIR_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Folders listed by one scan at most; more are reported as an error. */
#define HOIST_CKPTDIR_MAX 4096

/*
 * Returns 1 and sets *step when name is "step-<N>" with N a decimal number
 * without sign or leading zeros (except "step-0") that fits in 18 digits;
 * returns 0 for any other name.
 */
int hoist_ckptdir_parse_name(const char *name, int64_t *step);

/*
 * Lists the checkpoint folders in dir (directories only: a symlink or file
 * with a matching name is ignored) and stores their steps in ascending
 * order in steps (capacity max), their count in *count.  A missing dir
 * gives 0 folders.  Returns 0, or -1 with HOIST_E_IO when dir cannot be
 * read or HOIST_E_NOMEM when it holds more than max folders.
 */
int hoist_ckptdir_scan(const char *dir, int64_t *steps, size_t max,
		       size_t *count, struct hoist_err *err);

/*
 * Returns the step to upload next from the sorted steps: the newest one
 * above last_committed (older pending ones are superseded by it), or -1
 * when none is above last_committed.  last_committed is -1 when nothing
 * was committed yet.
 */
int64_t hoist_ckptdir_pick(const int64_t *steps, size_t count,
			   int64_t last_committed);

#endif
