#include "worker/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Values of reader->skipping. */
enum {
	SKIP_NONE = 0,
	SKIP_LONG_LINE,		/* counted as garbage when it started */
	SKIP_CATCHUP,		/* jumped into the middle of a line */
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

int hoist_metrics_parse_line(const char *line, size_t len, json_t **out,
			     int64_t *step, int *has_step,
			     struct hoist_err *err)
{
	json_error_t jerr;
	json_t *doc;
	json_t *value;

	*out = NULL;
	*has_step = 0;
	*step = 0;
	while (len > 0 && is_space(line[len - 1]))
		len--;
	while (len > 0 && is_space(line[0])) {
		line++;
		len--;
	}
	if (len == 0)
		return 0;
	if (len > HOIST_METRICS_LINE_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "metrics line of %zu bytes is longer than"
				     " the maximum of %d", len,
				     HOIST_METRICS_LINE_MAX);
	if (line[0] != '{')
		return hoist_err_set(err, HOIST_E_INVALID,
				     "metrics line is not a JSON object");
	doc = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "metrics line is not valid JSON: %s "
				     "(column %d)", jerr.text, jerr.column);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return hoist_err_set(err, HOIST_E_INVALID,
				     "metrics line is not a JSON object");
	}
	value = json_object_get(doc, "step");
	if (json_is_integer(value) && json_integer_value(value) >= 0) {
		*step = json_integer_value(value);
		*has_step = 1;
	}
	*out = doc;
	return 1;
}

int hoist_metrics_reader_init(struct hoist_metrics_reader *reader,
			      const char *path, struct hoist_err *err)
{
	memset(reader, 0, sizeof(*reader));
	reader->path = strdup(path);
	if (!reader->path)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	return 0;
}

void hoist_metrics_reader_release(struct hoist_metrics_reader *reader)
{
	free(reader->path);
	json_decref(reader->last);
	memset(reader, 0, sizeof(*reader));
}

static void note_garbage(struct hoist_metrics_reader *reader,
			 const char *why)
{
	if (reader->garbage == 0)
		snprintf(reader->first_garbage, sizeof(reader->first_garbage),
			 "%.*s", (int)sizeof(reader->first_garbage) - 1, why);
	reader->garbage++;
}

/* Parses one complete line; returns 1 when it was a valid object. */
static int take_line(struct hoist_metrics_reader *reader, const char *line,
		     size_t len)
{
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *doc;
	int64_t step;
	int has_step;
	int rc;

	rc = hoist_metrics_parse_line(line, len, &doc, &step, &has_step, &err);
	if (rc < 0) {
		note_garbage(reader, err.msg);
		return 0;
	}
	if (rc == 0)
		return 0;
	json_decref(reader->last);
	reader->last = doc;
	if (has_step) {
		reader->step = step;
		reader->has_step = 1;
	}
	reader->lines++;
	return 1;
}

/* Parses the complete lines at the start of buf and returns how many bytes
 * they took; *parsed is set when a valid line was found. */
static size_t take_lines(struct hoist_metrics_reader *reader, const char *buf,
			 size_t len, int *parsed)
{
	size_t start = 0;

	for (;;) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end;

		if (!nl)
			return start;
		end = (size_t)(nl - buf);
		if (reader->skipping != SKIP_NONE)
			reader->skipping = SKIP_NONE;
		else if (take_line(reader, buf + start, end - start))
			*parsed = 1;
		start = end + 1;
	}
}

int hoist_metrics_reader_poll(struct hoist_metrics_reader *reader,
			      struct hoist_err *err)
{
	const size_t cap = HOIST_METRICS_LINE_MAX + 1;
	struct stat st;
	char *buf = NULL;
	size_t have = 0;
	int parsed = 0;
	int rc = -1;
	int fd;

	fd = open(reader->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return hoist_err_set(err, HOIST_E_IO,
				     "cannot open metrics file '%s': %s",
				     reader->path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		hoist_err_set(err, HOIST_E_IO, "cannot stat metrics file "
			      "'%s': %s", reader->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		hoist_err_set(err, HOIST_E_IO, "metrics file '%s' is not a "
			      "regular file", reader->path);
		goto out;
	}
	if (st.st_dev != reader->dev || st.st_ino != reader->ino ||
	    st.st_size < reader->offset) {
		reader->dev = st.st_dev;
		reader->ino = st.st_ino;
		reader->offset = 0;
		reader->skipping = SKIP_NONE;
	}
	if (st.st_size == reader->offset) {
		rc = 0;
		goto out;
	}
	if (st.st_size - reader->offset > (off_t)HOIST_METRICS_CATCHUP_MAX) {
		reader->offset = st.st_size - HOIST_METRICS_CATCHUP_MAX;
		if (reader->skipping == SKIP_NONE)
			reader->skipping = SKIP_CATCHUP;
	}

	buf = malloc(cap);
	if (!buf) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, buf + have, cap - have,
				  reader->offset + (off_t)have);
		size_t used;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			hoist_err_set(err, HOIST_E_IO, "cannot read metrics "
				      "file '%s': %s", reader->path,
				      strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		used = take_lines(reader, buf, have, &parsed);
		memmove(buf, buf + used, have - used);
		have -= used;
		reader->offset += (off_t)used;
		if (have == cap) {
			/* No newline in a whole buffer: skip to the next. */
			if (reader->skipping == SKIP_NONE) {
				note_garbage(reader, "metrics line is longer "
					     "than the maximum");
				reader->skipping = SKIP_LONG_LINE;
			}
			reader->offset += (off_t)have;
			have = 0;
		}
	}
	rc = parsed;
out:
	free(buf);
	close(fd);
	return rc;
}
