/*
 * storage_test.h - helpers shared by the storage unit tests: scratch
 * folders and whole-file reads and writes.  Each helper fails the running
 * cmocka test on error instead of returning one.
 */
#ifndef HOIST_STORAGE_TEST_H
#define HOIST_STORAGE_TEST_H

#include <stddef.h>

#include "common/err.h"

/* Creates a fresh folder under $TMPDIR (or /tmp) and writes its path to
 * out, which must hold 4096 bytes. */
void storage_test_mkdtemp(char *out);

/* Removes a folder made by storage_test_mkdtemp() and everything in it. */
void storage_test_rmtree(const char *path);

/* Writes len bytes to path, creating or truncating it. */
void storage_test_write(const char *path, const void *data, size_t len);

/* Reads the whole file at path; the caller frees the result.  *len gets
 * the size; the data is NUL-terminated for convenience. */
char *storage_test_read(const char *path, size_t *len);

/* Fails the test unless err has code and a message containing text. */
void storage_test_expect_err(const struct hoist_err *err, int code,
			     const char *text);

#endif
