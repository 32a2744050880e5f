/*
 * metrics.h - reads the metrics file that the command appends to
 * (HOIST_METRICS_FILE: one JSON object per line, such as
 * {"step": 10, "loss": 2.5}).
 *
 * The reader is incremental: each poll reads only the bytes appended since
 * the last one, leaves a partial last line for the next poll, skips and
 * counts lines that are not JSON objects, and treats a missing file as
 * empty.  It keeps only the last valid object, so its memory is bounded by
 * HOIST_METRICS_LINE_MAX whatever the file size.
 */
#ifndef HOIST_METRICS_H
#define HOIST_METRICS_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"

/* Longest line accepted; a longer line is skipped as garbage. */
#define HOIST_METRICS_LINE_MAX 65536

/* When the unread part of the file is larger than this, a poll skips to its
 * last HOIST_METRICS_CATCHUP_MAX bytes, because only the last line is
 * reported. */
#define HOIST_METRICS_CATCHUP_MAX (1u << 20)

/*
 * Parses one line (without its newline; a trailing '\r' and surrounding
 * white space are ignored).  Returns 1 and sets *out (a new reference) for a
 * JSON object, with *step set to its "step" member and *has_step to 1 when
 * that member is an integer >= 0.  Returns 0 for a blank line.  Returns -1
 * with HOIST_E_INVALID in err for anything else.
 */
int hoist_metrics_parse_line(const char *line, size_t len, json_t **out,
			     int64_t *step, int *has_step,
			     struct hoist_err *err);

struct hoist_metrics_reader {
	char *path;		/* owned */
	off_t offset;		/* start of the first line not yet parsed */
	dev_t dev;		/* identity of the file read last */
	ino_t ino;
	int skipping;		/* inside a line longer than the maximum */
	json_t *last;		/* owned: last valid object, or NULL */
	int64_t step;		/* last "step" seen in any valid line */
	int has_step;
	uint64_t lines;		/* valid lines parsed */
	uint64_t garbage;	/* lines skipped as invalid or too long */
	char first_garbage[256];	/* why the first skipped line failed */
};

/* Returns 0, or -1 with HOIST_E_NOMEM. */
int hoist_metrics_reader_init(struct hoist_metrics_reader *reader,
			      const char *path, struct hoist_err *err);
void hoist_metrics_reader_release(struct hoist_metrics_reader *reader);

/*
 * Reads what was appended since the last poll.  A file that is replaced or
 * truncated is read again from its start.  Returns 1 when a new valid line
 * was parsed, 0 when none was (including a missing file), and -1 with
 * HOIST_E_IO for a read error other than a missing file.
 */
int hoist_metrics_reader_poll(struct hoist_metrics_reader *reader,
			      struct hoist_err *err);

#endif
