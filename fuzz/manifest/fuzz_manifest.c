/*
 * libFuzzer target for hoist_manifest_parse().  Besides looking for
 * crashes, leaks and undefined behaviour, it checks that every accepted
 * manifest formats to text that parses back to the same manifest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "storage/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct hoist_manifest *a,
		       const struct hoist_manifest *b)
{
	if (strcmp(a->job_id, b->job_id) || a->attempt != b->attempt ||
	    a->step != b->step || strcmp(a->created_at, b->created_at) ||
	    a->nfiles != b->nfiles || a->format != b->format)
		abort();
	for (size_t i = 0; i < a->nfiles; i++) {
		if (strcmp(a->files[i].path, b->files[i].path) ||
		    a->files[i].size != b->files[i].size ||
		    strcmp(a->files[i].sha256, b->files[i].sha256) ||
		    a->files[i].crc32c != b->files[i].crc32c)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct hoist_manifest manifest;
	struct hoist_manifest again;
	struct hoist_buf text;

	if (hoist_manifest_parse((const char *)data, size, &manifest, &err)) {
		/* A rejection sets a message and leaves nothing to free. */
		if (err.code == HOIST_OK || !err.msg[0] || manifest.files)
			abort();
		return 0;
	}
	hoist_buf_init(&text, HOIST_MANIFEST_MAX_BYTES);
	if (hoist_manifest_format(&manifest, &text, &err))
		abort();
	if (hoist_manifest_parse(text.data, text.len, &again, &err))
		abort();
	check_same(&manifest, &again);
	hoist_manifest_release(&again);
	hoist_manifest_release(&manifest);
	hoist_buf_release(&text);
	return 0;
}
