/*
 * local_dir.h - the folder of one local instance, shared by the provider
 * (in hoistd) and the instance shim.
 *
 * <root>/<id>/ holds:
 *   label             the request's label
 *   offer.json        the chosen offer and the creation time
 *   onstart.sh        the request's script (mode 0700)
 *   env               the request's env as NUL-terminated "NAME=value"
 *                     strings (mode 0600 because it contains the token)
 *   state.json        what the shim last recorded, see below
 *   shim.pid          "<pid> <start time>\n" of the shim
 *   instance.log      stdout and stderr of the shim and the onstart tree
 *   work/             the working folder of the onstart script
 *   preempt-request   the grace period in seconds, read on SIGUSR1
 *   fault-unreachable, fault-block-destroy   test switches
 *   destroyed         written when the instance was destroyed
 *
 * state.json is {"state": S, ...} with S one of "starting" (written by the
 * provider), "running", "exited" (with "exit_code"), "preempting" (with
 * "grace_seconds") and "preempted", all written atomically by the shim.
 */
#ifndef HOIST_LOCAL_DIR_H
#define HOIST_LOCAL_DIR_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"

#define HOIST_LOCAL_ID_PREFIX "local-"
#define HOIST_LOCAL_ID_HEX_BYTES 4	/* "local-" + 8 hex characters */

#define HOIST_LOCAL_LABEL "label"
#define HOIST_LOCAL_OFFER "offer.json"
#define HOIST_LOCAL_ONSTART "onstart.sh"
#define HOIST_LOCAL_ENV "env"
#define HOIST_LOCAL_STATE "state.json"
#define HOIST_LOCAL_SHIM_PID "shim.pid"
#define HOIST_LOCAL_LOG "instance.log"
#define HOIST_LOCAL_WORK "work"
#define HOIST_LOCAL_PREEMPT_REQUEST "preempt-request"
#define HOIST_LOCAL_FAULT_UNREACHABLE "fault-unreachable"
#define HOIST_LOCAL_FAULT_BLOCK_DESTROY "fault-block-destroy"
#define HOIST_LOCAL_DESTROYED "destroyed"

/* The executable that runs an instance (shim.c). */
#define HOIST_LOCAL_SHIM_PROGRAM "hoist-instance-shim"

/* The maximum grace period that preempt accepts, in seconds. */
#define HOIST_LOCAL_GRACE_MAX 3600

/* Returns 1 when id has the form "local-" followed by 8 lowercase hex
 * characters, else 0. */
int hoist_local_dir_id_valid(const char *id);

/* Stores "<dir>/<name>" in out.  Fails with HOIST_E_INVALID if too long. */
int hoist_local_dir_path(char *out, size_t outlen, const char *dir,
			 const char *name, struct hoist_err *err);

/* Returns 1 when "<dir>/<name>" exists, else 0. */
int hoist_local_dir_has(const char *dir, const char *name);

/* Reads shim.pid of dir.  Fails with HOIST_E_NOT_FOUND when the shim has
 * not written it yet and HOIST_E_INVALID when its content is malformed. */
int hoist_local_dir_read_shim(const char *dir, pid_t *pid,
			      unsigned long long *start_time,
			      struct hoist_err *err);

/* Writes shim.pid of dir atomically. */
int hoist_local_dir_write_shim(const char *dir, pid_t pid,
			       unsigned long long start_time,
			       struct hoist_err *err);

/* Reads the JSON object in "<dir>/<name>" (at most 64 KiB) and stores a
 * new reference in *out. */
int hoist_local_dir_read_json(const char *dir, const char *name,
			      json_t **out, struct hoist_err *err);

/* Writes value to "<dir>/<name>" atomically with mode 0600. */
int hoist_local_dir_write_json(const char *dir, const char *name,
			       const json_t *value, struct hoist_err *err);

/* Reads "<dir>/<name>" into out as a NUL-terminated string.  Fails with
 * HOIST_E_NOMEM when the file has outlen bytes or more. */
int hoist_local_dir_read_text(const char *dir, const char *name, char *out,
			      size_t outlen, struct hoist_err *err);

#endif
