/*
 * outbuf.h - the command output that is not yet shipped to hoistd.
 *
 * The buffer holds the tail of the attempt's log stream starting at byte
 * offset `offset`.  It stores valid UTF-8 only, because the log travels in
 * a JSON string: an invalid byte or a NUL becomes U+FFFD, and a multibyte
 * character split across two reads is held back until it is complete.
 * Offsets count the bytes of this cleaned stream.
 *
 * The buffer never grows past max bytes.  When new output does not fit,
 * the oldest unsent bytes are dropped and one marker line at the front
 * says how many bytes were lost, so the stream that hoistd receives stays
 * contiguous.
 */
#ifndef HOIST_OUTBUF_H
#define HOIST_OUTBUF_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct hoist_outbuf {
	uint64_t offset;	/* stream offset of data[0] */
	char *data;		/* owned, len bytes, not NUL-terminated */
	size_t len;
	size_t cap;
	size_t max;
	size_t marker_len;	/* bytes of the drop marker at the front */
	uint64_t dropped;	/* bytes dropped since the marker was sent */
	uint64_t dropped_total;	/* bytes dropped since init */
	unsigned char pending[4];	/* start of a split character */
	size_t npending;
};

/* The smallest max accepted: room for a marker line and some output. */
#define HOIST_OUTBUF_MIN 1024

/* Initializes an empty buffer at stream offset 0; max is raised to
 * HOIST_OUTBUF_MIN if lower. */
void hoist_outbuf_init(struct hoist_outbuf *buf, size_t max);
void hoist_outbuf_release(struct hoist_outbuf *buf);

/*
 * Appends command output, cleaned to UTF-8, dropping the oldest bytes if
 * needed.  *dropped (if not NULL) receives the number of bytes dropped by
 * this call.  Returns 0, or -1 with HOIST_E_NOMEM when memory runs out (the
 * output is lost then, the buffer stays consistent).
 */
int hoist_outbuf_append(struct hoist_outbuf *buf, const void *data,
			size_t len, size_t *dropped, struct hoist_err *err);

/* Flushes a held-back partial character as U+FFFD (at end of output). */
int hoist_outbuf_finish(struct hoist_outbuf *buf, struct hoist_err *err);

/* Returns the length of the first chunk to send, at most max bytes and
 * ending on a character boundary (0 when empty).  The chunk is data[0..n). */
size_t hoist_outbuf_chunk(const struct hoist_outbuf *buf, size_t max);

/* Removes the first n bytes after they were sent; offset advances by n. */
void hoist_outbuf_consume(struct hoist_outbuf *buf, size_t n);

/* Moves the start of the stream forward to offset when hoistd reports that
 * it already holds the bytes before it; no-op if offset is not ahead. */
void hoist_outbuf_skip_to(struct hoist_outbuf *buf, uint64_t offset);

#endif
