/*
 * fuzz_http_response.c - libFuzzer target for hoist-agent's HTTP response
 * parser (src/worker/minihttp_parser.c), which reads whatever the server
 * at HOIST_ORCHESTRATOR_URL sends.
 *
 * Input layout: byte 0 sets the size of the pieces the response is fed in
 * (0 means all at once), byte 1 sets flags (bit 0: the request was HEAD,
 * bit 1: a 64-byte body limit), the rest is the response.  The response is
 * parsed twice, whole and in pieces, and both parses must agree.  The
 * target aborts when a result breaks the parser's contract; the sanitizers
 * of the fuzz build catch crashes, leaks and out-of-bounds reads.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/minihttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The outcome of one parse, for comparing two of them. */
struct outcome {
	int rc;			/* 1 complete, -1 failed */
	size_t used;		/* response bytes consumed */
	int status;
	int keep_alive;
	size_t body_len;
	uint64_t body_hash;	/* FNV-1a of the body */
};

static uint64_t fnv1a(const char *data, size_t len)
{
	uint64_t hash = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++) {
		hash ^= (unsigned char)data[i];
		hash *= 1099511628211ull;
	}
	return hash;
}

static struct outcome parse(const char *text, size_t len, size_t step,
			    int head_request, size_t body_max)
{
	struct hoist_minihttp_parser p;
	struct hoist_err err = HOIST_ERR_INIT;
	struct outcome out = { 0, 0, 0, 0, 0, 0 };
	size_t pos = 0;

	hoist_minihttp_parser_init(&p, body_max, head_request);
	if (step == 0)
		step = len ? len : 1;
	while (pos < len && out.rc == 0) {
		size_t n = len - pos < step ? len - pos : step;
		size_t consumed = 0;

		out.rc = hoist_minihttp_parser_feed(&p, text + pos, n,
						    &consumed, &err);
		if (consumed > n || (out.rc == 0 && consumed != n))
			abort();
		pos += consumed;
	}
	if (out.rc == 0)
		out.rc = hoist_minihttp_parser_eof(&p, &err);
	out.used = pos;
	if (out.rc == 1) {
		if (p.status < 200 || p.status > 599 ||
		    p.body.len > p.body.max || err.code != HOIST_OK)
			abort();
		if (p.body.data && p.body.data[p.body.len] != '\0')
			abort();
		out.status = p.status;
		out.keep_alive = p.keep_alive;
		out.body_len = p.body.len;
		out.body_hash = fnv1a(p.body.data, p.body.len);
	} else if (out.rc != -1 || err.msg[0] == '\0' ||
		   (err.code != HOIST_E_HTTP && err.code != HOIST_E_NOMEM)) {
		abort();
	}
	hoist_minihttp_parser_release(&p);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole;
	struct outcome pieces;
	size_t step;
	int head_request;
	size_t body_max;

	if (size < 2)
		return 0;
	step = data[0];
	head_request = data[1] & 1;
	body_max = data[1] & 2 ? 64 : 0;
	data += 2;
	size -= 2;

	whole = parse((const char *)data, size, 0, head_request, body_max);
	pieces = parse((const char *)data, size, step, head_request, body_max);
	if (whole.rc != pieces.rc || whole.status != pieces.status ||
	    whole.keep_alive != pieces.keep_alive ||
	    whole.body_len != pieces.body_len ||
	    whole.body_hash != pieces.body_hash)
		abort();
	/* A complete response ends at the same byte however it arrived. */
	if (whole.rc == 1 && whole.used != pieces.used)
		abort();
	return 0;
}
