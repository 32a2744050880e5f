#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hoist_buf_init(struct hoist_buf *buf, size_t max)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->max = max;
}

void hoist_buf_release(struct hoist_buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

void hoist_buf_reset(struct hoist_buf *buf)
{
	buf->len = 0;
	if (buf->data)
		buf->data[0] = '\0';
}

static int buf_reserve(struct hoist_buf *buf, size_t extra,
		       struct hoist_err *err)
{
	size_t need;
	size_t cap;
	char *data;

	if (extra > buf->max || buf->len > buf->max - extra)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "buffer limit of %zu bytes exceeded",
				     buf->max);
	need = buf->len + extra + 1;
	if (need <= buf->cap)
		return 0;
	cap = buf->cap ? buf->cap : 64;
	while (cap < need)
		cap *= 2;
	if (cap > buf->max + 1)
		cap = buf->max + 1;
	data = realloc(buf->data, cap);
	if (!data)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory growing a buffer to %zu bytes",
				     cap);
	buf->data = data;
	buf->cap = cap;
	return 0;
}

int hoist_buf_append(struct hoist_buf *buf, const void *data, size_t len,
		     struct hoist_err *err)
{
	if (buf_reserve(buf, len, err))
		return -1;
	if (len)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return 0;
}

int hoist_buf_appends(struct hoist_buf *buf, const char *str,
		      struct hoist_err *err)
{
	return hoist_buf_append(buf, str, strlen(str), err);
}

int hoist_buf_appendf(struct hoist_buf *buf, struct hoist_err *err,
		      const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return hoist_err_set(err, HOIST_E_INTERNAL, "invalid format");
	if (buf_reserve(buf, (size_t)n, err))
		return -1;
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t)n;
	return 0;
}

char *hoist_buf_detach(struct hoist_buf *buf)
{
	char *data = buf->data;

	if (!data)
		data = calloc(1, 1);
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	return data;
}

const char *hoist_buf_str(const struct hoist_buf *buf)
{
	return buf->data ? buf->data : "";
}
