#include "worker/outbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARKER_FORMAT "\n[hoist-agent: dropped %llu bytes of output]\n"
/* The marker with the longest possible count (20 digits). */
#define MARKER_MAX (sizeof(MARKER_FORMAT) + 20)
#define SHRINK_ABOVE (64u << 10)

static const char replacement[3] = { (char)0xef, (char)0xbf, (char)0xbd };

void hoist_outbuf_init(struct hoist_outbuf *buf, size_t max)
{
	memset(buf, 0, sizeof(*buf));
	buf->max = max < HOIST_OUTBUF_MIN ? HOIST_OUTBUF_MIN : max;
}

void hoist_outbuf_release(struct hoist_outbuf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

static int is_continuation(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* Returns the length of the UTF-8 sequence that lead starts, 0 if lead
 * cannot start one. */
static size_t sequence_length(unsigned char lead)
{
	if (lead >= 0xc2 && lead <= 0xdf)
		return 2;
	if (lead >= 0xe0 && lead <= 0xef)
		return 3;
	if (lead >= 0xf0 && lead <= 0xf4)
		return 4;
	return 0;
}

/* Checks byte index i (1..3) of the sequence that starts with lead, with
 * the narrower second-byte ranges that exclude overlong forms, surrogates
 * and code points above U+10FFFF. */
static int continuation_valid(unsigned char lead, size_t i, unsigned char c)
{
	if (i == 1) {
		if (lead == 0xe0)
			return c >= 0xa0 && c <= 0xbf;
		if (lead == 0xed)
			return c >= 0x80 && c <= 0x9f;
		if (lead == 0xf0)
			return c >= 0x90 && c <= 0xbf;
		if (lead == 0xf4)
			return c >= 0x80 && c <= 0x8f;
	}
	return is_continuation(c);
}

/*
 * Writes the UTF-8 cleaned form of in to out (at least 3 * len bytes) and
 * returns its length.  A valid but incomplete sequence at the end is copied
 * to buf->pending instead when hold is set.
 */
static size_t clean_utf8(struct hoist_outbuf *buf, const unsigned char *in,
			 size_t len, int hold, char *out)
{
	size_t o = 0;
	size_t i = 0;

	while (i < len) {
		unsigned char c = in[i];
		size_t n;
		size_t k;

		if (c != 0 && c < 0x80) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		n = c == 0 ? 0 : sequence_length(c);
		for (k = 1; n > 0 && k < n && i + k < len; k++)
			if (!continuation_valid(c, k, in[i + k]))
				break;
		if (n > 0 && k == n) {
			memcpy(out + o, in + i, n);
			o += n;
			i += n;
			continue;
		}
		if (n > 0 && i + k == len && hold) {
			memcpy(buf->pending, in + i, len - i);
			buf->npending = len - i;
			return o;
		}
		memcpy(out + o, replacement, sizeof(replacement));
		o += sizeof(replacement);
		i++;
	}
	return o;
}

static int reserve(struct hoist_outbuf *buf, size_t need,
		   struct hoist_err *err)
{
	size_t cap;
	char *data;

	if (need <= buf->cap)
		return 0;
	cap = buf->cap ? buf->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (cap > buf->max)
		cap = buf->max;
	data = realloc(buf->data, cap);
	if (!data)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory "
				     "buffering %zu bytes of command output",
				     need);
	buf->data = data;
	buf->cap = cap;
	return 0;
}

/*
 * Stores text (already clean) when it does not fit: drops the oldest
 * unsent content, at least a quarter of max so that the next appends do not
 * drop again at once, and puts a marker line with the count at the front.
 */
static int append_dropping(struct hoist_outbuf *buf, const char *text,
			   size_t len, size_t *dropped, struct hoist_err *err)
{
	size_t content = buf->len - buf->marker_len;
	size_t room = buf->max - MARKER_MAX;
	size_t drop = content + len - room;
	size_t old_start;
	size_t skip_new = 0;
	char marker[MARKER_MAX + 1];
	int marker_len;

	if (reserve(buf, buf->max, err))
		return -1;
	if (drop < buf->max / 4)
		drop = buf->max / 4;
	if (drop > content + len)
		drop = content + len;
	if (drop <= content) {
		old_start = buf->marker_len + drop;
		while (old_start < buf->len &&
		       is_continuation((unsigned char)buf->data[old_start])) {
			old_start++;
			drop++;
		}
	} else {
		old_start = buf->len;
		skip_new = drop - content;
		while (skip_new < len &&
		       is_continuation((unsigned char)text[skip_new])) {
			skip_new++;
			drop++;
		}
	}
	buf->dropped += drop;
	buf->dropped_total += drop;
	*dropped = drop;
	marker_len = snprintf(marker, sizeof(marker), MARKER_FORMAT,
			      (unsigned long long)buf->dropped);

	memmove(buf->data + marker_len, buf->data + old_start,
		buf->len - old_start);
	buf->len = (size_t)marker_len + (buf->len - old_start);
	memcpy(buf->data, marker, (size_t)marker_len);
	buf->marker_len = (size_t)marker_len;
	memcpy(buf->data + buf->len, text + skip_new, len - skip_new);
	buf->len += len - skip_new;
	return 0;
}

static int store(struct hoist_outbuf *buf, const char *text, size_t len,
		 size_t *dropped, struct hoist_err *err)
{
	if (len == 0)
		return 0;
	if (buf->len + len <= buf->max) {
		if (reserve(buf, buf->len + len, err))
			return -1;
		memcpy(buf->data + buf->len, text, len);
		buf->len += len;
		return 0;
	}
	return append_dropping(buf, text, len, dropped, err);
}

int hoist_outbuf_append(struct hoist_outbuf *buf, const void *data,
			size_t len, size_t *dropped, struct hoist_err *err)
{
	unsigned char *joined = NULL;
	char *clean = NULL;
	size_t total = buf->npending + len;
	size_t clean_len;
	size_t unused;
	int rc = -1;

	if (!dropped)
		dropped = &unused;
	*dropped = 0;
	if (len == 0)
		return 0;
	joined = malloc(total);
	clean = malloc(total * 3);
	if (!joined || !clean) {
		hoist_err_set(err, HOIST_E_NOMEM, "out of memory cleaning "
			      "%zu bytes of command output", len);
		goto out;
	}
	memcpy(joined, buf->pending, buf->npending);
	memcpy(joined + buf->npending, data, len);
	buf->npending = 0;
	clean_len = clean_utf8(buf, joined, total, 1, clean);
	rc = store(buf, clean, clean_len, dropped, err);
out:
	free(joined);
	free(clean);
	return rc;
}

int hoist_outbuf_finish(struct hoist_outbuf *buf, struct hoist_err *err)
{
	char clean[12];
	size_t clean_len;
	size_t dropped;
	unsigned char pending[4];
	size_t npending = buf->npending;

	if (npending == 0)
		return 0;
	memcpy(pending, buf->pending, npending);
	buf->npending = 0;
	clean_len = clean_utf8(buf, pending, npending, 0, clean);
	return store(buf, clean, clean_len, &dropped, err);
}

size_t hoist_outbuf_chunk(const struct hoist_outbuf *buf, size_t max)
{
	size_t n = buf->len < max ? buf->len : max;

	while (n > 0 && n < buf->len &&
	       is_continuation((unsigned char)buf->data[n]))
		n--;
	return n;
}

void hoist_outbuf_consume(struct hoist_outbuf *buf, size_t n)
{
	if (n > buf->len)
		n = buf->len;
	memmove(buf->data, buf->data + n, buf->len - n);
	buf->len -= n;
	buf->offset += n;
	if (n >= buf->marker_len) {
		buf->marker_len = 0;
		buf->dropped = 0;
	} else {
		buf->marker_len -= n;
	}
	if (buf->len == 0 && buf->cap > SHRINK_ABOVE) {
		free(buf->data);
		buf->data = NULL;
		buf->cap = 0;
	}
}

void hoist_outbuf_skip_to(struct hoist_outbuf *buf, uint64_t offset)
{
	uint64_t ahead;

	if (offset <= buf->offset)
		return;
	ahead = offset - buf->offset;
	if (ahead >= buf->len) {
		hoist_outbuf_consume(buf, buf->len);
		buf->offset = offset;
		return;
	}
	hoist_outbuf_consume(buf, (size_t)ahead);
	/* Do not start the stream inside a character. */
	while (buf->len > 0 && is_continuation((unsigned char)buf->data[0]))
		hoist_outbuf_consume(buf, 1);
}
