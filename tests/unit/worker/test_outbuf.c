/* Unit tests of the buffer of unsent command output
 * (src/worker/outbuf.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "worker/outbuf.h"

#define REPLACEMENT "\xef\xbf\xbd"

static void append(struct hoist_outbuf *buf, const char *data, size_t len)
{
	struct hoist_err err = HOIST_ERR_INIT;

	if (hoist_outbuf_append(buf, data, len, NULL, &err))
		fail_msg("append failed: %s", err.msg);
}

static void assert_contents(const struct hoist_outbuf *buf,
			    const char *expected)
{
	assert_int_equal(buf->len, strlen(expected));
	assert_memory_equal(buf->data, expected, buf->len);
}

/* Checks that the whole buffer is valid UTF-8 for a JSON string. */
static void assert_valid_utf8(const struct hoist_outbuf *buf)
{
	json_t *s = json_stringn(buf->data ? buf->data : "", buf->len);

	assert_non_null(s);
	json_decref(s);
}

static void test_plain_text(void **state)
{
	struct hoist_outbuf buf;

	(void)state;
	hoist_outbuf_init(&buf, 4096);
	append(&buf, "hello\n", 6);
	append(&buf, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n", 15);
	assert_contents(&buf, "hello\ncaf\xc3\xa9 \xe2\x82\xac "
			"\xf0\x9f\x98\x80\n");
	assert_int_equal(buf.offset, 0);
	hoist_outbuf_release(&buf);
}

static void test_invalid_bytes_replaced(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "a\xff" "b", 3, "a" REPLACEMENT "b" },
		{ "a\0b", 3, "a" REPLACEMENT "b" },
		{ "\xc0\xaf", 2, REPLACEMENT REPLACEMENT },	/* overlong */
		{ "\xed\xa0\x80", 3,				/* surrogate */
		  REPLACEMENT REPLACEMENT REPLACEMENT },
		{ "\xf4\x90\x80\x80", 4,			/* > U+10FFFF */
		  REPLACEMENT REPLACEMENT REPLACEMENT REPLACEMENT },
		{ "\x80x", 2, REPLACEMENT "x" },
		{ "\xe2\x82x", 3, REPLACEMENT REPLACEMENT "x" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hoist_outbuf buf;
		struct hoist_err err = HOIST_ERR_INIT;

		hoist_outbuf_init(&buf, 4096);
		append(&buf, cases[i].in, cases[i].len);
		assert_int_equal(hoist_outbuf_finish(&buf, &err), 0);
		assert_contents(&buf, cases[i].out);
		assert_valid_utf8(&buf);
		hoist_outbuf_release(&buf);
	}
}

static void test_split_character_held(void **state)
{
	struct hoist_outbuf buf;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	hoist_outbuf_init(&buf, 4096);
	append(&buf, "x\xf0\x9f", 3);
	assert_contents(&buf, "x");
	append(&buf, "\x98", 1);
	assert_contents(&buf, "x");
	append(&buf, "\x80y", 2);
	assert_contents(&buf, "x\xf0\x9f\x98\x80y");
	/* A character cut by the end of the output becomes U+FFFD. */
	append(&buf, "\xe2\x82", 2);
	assert_int_equal(hoist_outbuf_finish(&buf, &err), 0);
	assert_contents(&buf, "x\xf0\x9f\x98\x80y" REPLACEMENT REPLACEMENT);
	hoist_outbuf_release(&buf);
}

static void test_chunk_and_consume(void **state)
{
	struct hoist_outbuf buf;

	(void)state;
	hoist_outbuf_init(&buf, 4096);
	append(&buf, "ab\xe2\x82\xac" "cd", 7);
	/* A chunk never ends inside a character. */
	assert_int_equal(hoist_outbuf_chunk(&buf, 3), 2);
	assert_int_equal(hoist_outbuf_chunk(&buf, 4), 2);
	assert_int_equal(hoist_outbuf_chunk(&buf, 5), 5);
	assert_int_equal(hoist_outbuf_chunk(&buf, 100), 7);
	hoist_outbuf_consume(&buf, 5);
	assert_int_equal(buf.offset, 5);
	assert_contents(&buf, "cd");
	hoist_outbuf_consume(&buf, 2);
	assert_int_equal(buf.offset, 7);
	assert_int_equal(buf.len, 0);
	assert_int_equal(hoist_outbuf_chunk(&buf, 100), 0);
	hoist_outbuf_release(&buf);
}

static void test_drops_oldest_with_marker(void **state)
{
	struct hoist_outbuf buf;
	struct hoist_err err = HOIST_ERR_INIT;
	char line[101];
	size_t dropped = 0;
	size_t total_dropped = 0;
	char *text;

	(void)state;
	hoist_outbuf_init(&buf, 4096);
	memset(line, 'a', 99);
	line[99] = '\n';
	line[100] = '\0';
	for (int i = 0; i < 100; i++) {
		line[0] = (char)('A' + i % 26);
		assert_int_equal(hoist_outbuf_append(&buf, line, 100, &dropped,
						     &err), 0);
		total_dropped += dropped;
		assert_true(buf.len <= buf.max);
	}
	assert_true(total_dropped > 0);
	assert_int_equal(buf.dropped_total, total_dropped);
	/* 10000 bytes in, the ones kept plus the marker and the dropped
	 * ones account for all of them. */
	assert_int_equal(buf.len - buf.marker_len + total_dropped, 10000);
	text = strndup(buf.data, buf.len);
	assert_non_null(text);
	assert_int_equal(strncmp(text, "\n[hoist-agent: dropped ", 23), 0);
	assert_non_null(strstr(text, " bytes of output]\n"));
	/* The newest line is kept. */
	assert_memory_equal(buf.data + buf.len - 100, line, 100);
	free(text);
	assert_int_equal(buf.offset, 0);

	/* Sending the marker resets the count for the next one. */
	hoist_outbuf_consume(&buf, buf.len);
	assert_int_equal(buf.marker_len, 0);
	assert_int_equal(buf.dropped, 0);
	hoist_outbuf_release(&buf);
}

static void test_drop_keeps_characters_whole(void **state)
{
	struct hoist_outbuf buf;
	char *big = malloc(3000 * 3);

	(void)state;
	assert_non_null(big);
	for (int i = 0; i < 3000; i++)
		memcpy(big + 3 * i, "\xe2\x82\xac", 3);
	hoist_outbuf_init(&buf, HOIST_OUTBUF_MIN);
	append(&buf, big, 1000);	/* ends inside a character */
	append(&buf, big + 1000, 8000);
	assert_true(buf.len <= buf.max);
	assert_valid_utf8(&buf);
	free(big);
	hoist_outbuf_release(&buf);
}

static void test_skip_to(void **state)
{
	struct hoist_outbuf buf;

	(void)state;
	hoist_outbuf_init(&buf, 4096);
	append(&buf, "abcdef", 6);
	hoist_outbuf_skip_to(&buf, 2);
	assert_int_equal(buf.offset, 2);
	assert_contents(&buf, "cdef");
	hoist_outbuf_skip_to(&buf, 1);		/* behind: no-op */
	assert_int_equal(buf.offset, 2);
	hoist_outbuf_skip_to(&buf, 100);
	assert_int_equal(buf.offset, 100);
	assert_int_equal(buf.len, 0);
	append(&buf, "\xe2\x82\xac" "x", 4);
	hoist_outbuf_skip_to(&buf, 101);	/* inside the character */
	assert_int_equal(buf.offset, 103);
	assert_contents(&buf, "x");
	hoist_outbuf_release(&buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_invalid_bytes_replaced),
		cmocka_unit_test(test_split_character_held),
		cmocka_unit_test(test_chunk_and_consume),
		cmocka_unit_test(test_drops_oldest_with_marker),
		cmocka_unit_test(test_drop_keeps_characters_whole),
		cmocka_unit_test(test_skip_to),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
