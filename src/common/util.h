/*
 * util.h - file, process and randomness helpers shared by all executables.
 *
 * All functions return 0 on success and -1 with err filled on failure,
 * unless stated otherwise.
 */
#ifndef HOIST_UTIL_H
#define HOIST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* Creates path and its missing parents with mode (like mkdir -p). */
int hoist_util_mkdir_p(const char *path, unsigned mode, struct hoist_err *err);

/* Reads the whole file into buf (appending); fails if it exceeds buf->max. */
int hoist_util_read_file(const char *path, struct hoist_buf *buf,
			 struct hoist_err *err);

/*
 * Writes data to path atomically: a temporary file in the same directory is
 * written, fsync'd and renamed over path, then the directory is fsync'd.
 * A reader sees either the old or the new content, never a part.
 */
int hoist_util_write_file_atomic(const char *path, const void *data,
				 size_t len, unsigned mode,
				 struct hoist_err *err);

/* Fsyncs the directory that contains path (or path itself if a directory). */
int hoist_util_fsync_dir(const char *dir, struct hoist_err *err);

/* Removes path and everything below it; a missing path is success. */
int hoist_util_remove_tree(const char *path, struct hoist_err *err);

/* Fills out with 2 * nbytes lowercase hex characters from a CSPRNG and a
 * terminating NUL; out must hold 2 * nbytes + 1 bytes. */
int hoist_util_random_hex(char *out, size_t nbytes, struct hoist_err *err);

/* Stores the directory of the running executable in out (size outlen). */
int hoist_util_self_dir(char *out, size_t outlen, struct hoist_err *err);

/*
 * Finds the hoist executable name ("hoistd", "hoist-agent", "hoist") and
 * stores its absolute path in out.  Looks in $HOIST_BIN_DIR, then next to
 * the running executable, then in the sibling folders of a Meson build tree
 * (../orchestrator, ../worker, ../cli, ../providers), then in $PATH.
 */
int hoist_util_find_program(const char *name, char *out, size_t outlen,
			    struct hoist_err *err);

/*
 * Finds the configuration file name ("gpu_profiles.yaml") and stores its
 * path in out: $HOIST_CONFIG_DIR/name, then the config/ folder of the
 * source tree hoist was built from, then /etc/hoist/name.
 */
int hoist_util_find_config(const char *name, char *out, size_t outlen,
			   struct hoist_err *err);

/* Returns $HOIST_HOME, or ~/.local/share/hoist, in out (size outlen). */
int hoist_util_home_dir(char *out, size_t outlen, struct hoist_err *err);

/* Compares two NUL-terminated secrets in time independent of where they
 * differ; returns 1 when equal. */
int hoist_util_secret_equal(const char *a, const char *b);

/* Writes the lowercase hex SHA-256 of data to out (65 bytes). */
void hoist_util_sha256_hex(const void *data, size_t len, char out[65]);

#endif
