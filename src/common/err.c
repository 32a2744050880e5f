#include "common/err.h"

#include <stdio.h>
#include <string.h>

int hoist_err_setv(struct hoist_err *err, int code, const char *fmt,
		   va_list ap)
{
	if (!err || err->code != HOIST_OK)
		return -1;
	err->code = code ? code : HOIST_E_INTERNAL;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -1;
}

int hoist_err_set(struct hoist_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hoist_err_setv(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

void hoist_err_prefix(struct hoist_err *err, const char *fmt, ...)
{
	char prefix[HOIST_ERR_MSG_MAX / 2];
	char old[HOIST_ERR_MSG_MAX];
	va_list ap;

	if (!err || err->code == HOIST_OK)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	size_t n = strlen(prefix);
	if (n + 2 >= sizeof(err->msg))
		return;
	memcpy(err->msg, prefix, n);
	memcpy(err->msg + n, ": ", 2);
	memcpy(err->msg + n + 2, old, sizeof(err->msg) - n - 3);
	err->msg[sizeof(err->msg) - 1] = '\0';
}

void hoist_err_clear(struct hoist_err *err)
{
	if (!err)
		return;
	err->code = HOIST_OK;
	err->msg[0] = '\0';
}

const char *hoist_err_code_name(int code)
{
	switch (code) {
	case HOIST_OK: return "ok";
	case HOIST_E_INVALID: return "invalid";
	case HOIST_E_NOT_FOUND: return "not_found";
	case HOIST_E_CONFLICT: return "conflict";
	case HOIST_E_FENCED: return "fenced";
	case HOIST_E_IO: return "io";
	case HOIST_E_NOMEM: return "nomem";
	case HOIST_E_STORE: return "store";
	case HOIST_E_PROVIDER: return "provider";
	case HOIST_E_HTTP: return "http";
	case HOIST_E_INTEGRITY: return "integrity";
	default: return "internal";
	}
}
