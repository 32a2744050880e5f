/*
 * buf.h - a growable byte buffer with a hard size limit.
 *
 * Every buffer is created with a maximum size, so no input can grow it
 * without bound.  The data is always NUL-terminated (the NUL is not counted
 * in len).  The buffer owns data; hoist_buf_release() frees it.
 */
#ifndef HOIST_BUF_H
#define HOIST_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/err.h"

struct hoist_buf {
	char *data;	/* NUL-terminated, NULL until the first append */
	size_t len;	/* bytes used, without the NUL */
	size_t cap;	/* bytes allocated */
	size_t max;	/* the limit for len */
};

void hoist_buf_init(struct hoist_buf *buf, size_t max);
void hoist_buf_release(struct hoist_buf *buf);
void hoist_buf_reset(struct hoist_buf *buf);

/* Append functions return 0, or -1 with HOIST_E_NOMEM in err when the limit
 * would be exceeded or allocation fails; the buffer is unchanged then. */
int hoist_buf_append(struct hoist_buf *buf, const void *data, size_t len,
		     struct hoist_err *err);
int hoist_buf_appends(struct hoist_buf *buf, const char *str,
		      struct hoist_err *err);
int hoist_buf_appendf(struct hoist_buf *buf, struct hoist_err *err,
		      const char *fmt, ...) HOIST_PRINTF(3, 4);

/* Returns data and leaves buf empty; the caller frees the result. */
char *hoist_buf_detach(struct hoist_buf *buf);

/* Returns buf->data, or "" when nothing was appended yet. */
const char *hoist_buf_str(const struct hoist_buf *buf);

#endif
