/* Unit tests of the HTTP response parser (src/worker/minihttp_parser.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker/minihttp.h"

/* Feeds text in pieces of step bytes (all at once when step is 0) and
 * returns the last result of feed, or of eof when feed wanted more. */
static int parse_in_steps(struct hoist_minihttp_parser *p, const char *text,
			  size_t step, int send_eof, struct hoist_err *err)
{
	size_t len = strlen(text);
	size_t pos = 0;
	int rc = 0;

	if (step == 0)
		step = len;
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step;
		size_t consumed = 0;

		rc = hoist_minihttp_parser_feed(p, text + pos, n, &consumed,
						err);
		if (rc != 0)
			return rc;
		assert_int_equal(consumed, n);
		pos += n;
	}
	if (send_eof)
		rc = hoist_minihttp_parser_eof(p, err);
	return rc;
}

/* Parses text whole and expects failure with code; returns the message. */
static void expect_failure(const char *text, int code, const char *needle)
{
	struct hoist_minihttp_parser p;
	struct hoist_err err = HOIST_ERR_INIT;

	hoist_minihttp_parser_init(&p, 0, 0);
	assert_int_equal(parse_in_steps(&p, text, 0, 1, &err), -1);
	assert_int_equal(err.code, code);
	if (needle && !strstr(err.msg, needle))
		fail_msg("'%s' not in error '%s'", needle, err.msg);
	hoist_minihttp_parser_release(&p);
}

static void test_content_length_body(void **state)
{
	static const char text[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		"Content-Length: 11\r\n\r\n{\"a\": true}";
	/* Whole, in two pieces, and byte by byte. */
	static const size_t steps[] = { 0, 40, 1 };

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct hoist_minihttp_parser p;
		struct hoist_err err = HOIST_ERR_INIT;

		hoist_minihttp_parser_init(&p, 0, 0);
		assert_int_equal(parse_in_steps(&p, text, steps[i], 0, &err),
				 1);
		assert_int_equal(p.status, 200);
		assert_true(p.keep_alive);
		assert_int_equal(p.body.len, 11);
		assert_string_equal(p.body.data, "{\"a\": true}");
		hoist_minihttp_parser_release(&p);
	}
}

static void test_chunked_body(void **state)
{
	static const char text[] =
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"5;name=value\r\nhello\r\n"
		"6\r\n world\r\n"
		"0\r\nX-Trailer: ignored\r\n\r\n";

	(void)state;
	for (size_t step = 0; step <= 7; step += 7) {
		struct hoist_minihttp_parser p;
		struct hoist_err err = HOIST_ERR_INIT;

		hoist_minihttp_parser_init(&p, 0, 0);
		assert_int_equal(parse_in_steps(&p, text, step, 0, &err), 1);
		assert_string_equal(p.body.data, "hello world");
		assert_true(p.keep_alive);
		hoist_minihttp_parser_release(&p);
	}
}

static void test_chunked_upper_hex_lf_only(void **state)
{
	struct hoist_minihttp_parser p;
	struct hoist_err err = HOIST_ERR_INIT;
	char text[64 + 26];

	(void)state;
	/* Bare LF line ends are accepted, and hex digits in either case. */
	snprintf(text, sizeof(text), "HTTP/1.1 200 OK\n"
		 "Transfer-Encoding: Chunked\n\n1A\n%s\n0\n\n",
		 "abcdefghijklmnopqrstuvwxyz");
	hoist_minihttp_parser_init(&p, 0, 0);
	assert_int_equal(parse_in_steps(&p, text, 0, 0, &err), 1);
	assert_int_equal(p.body.len, 26);
	hoist_minihttp_parser_release(&p);
}

static void test_body_until_close(void **state)
{
	struct hoist_minihttp_parser p;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	hoist_minihttp_parser_init(&p, 0, 0);
	assert_int_equal(parse_in_steps(&p, "HTTP/1.1 200 OK\r\n\r\nabc", 0,
					0, &err), 0);
	assert_int_equal(hoist_minihttp_parser_eof(&p, &err), 1);
	assert_string_equal(p.body.data, "abc");
	assert_false(p.keep_alive);
	hoist_minihttp_parser_release(&p);
}

static void test_keep_alive_rules(void **state)
{
	static const struct {
		const char *text;
		int keep_alive;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1 },
		{ "HTTP/1.1 200 OK\r\nConnection: close\r\n"
		  "Content-Length: 0\r\n\r\n", 0 },
		{ "HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\n"
		  "Content-Length: 0\r\n\r\n", 0 },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 0 },
		{ "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
		  "Content-Length: 0\r\n\r\n", 1 },
		/* Transfer-Encoding with Content-Length: chunked wins and
		 * the connection is not reused. */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hoist_minihttp_parser p;
		struct hoist_err err = HOIST_ERR_INIT;

		hoist_minihttp_parser_init(&p, 0, 0);
		assert_int_equal(parse_in_steps(&p, cases[i].text, 0, 0, &err),
				 1);
		if (p.keep_alive != cases[i].keep_alive)
			fail_msg("case %zu: keep_alive %d, expected %d", i,
				 p.keep_alive, cases[i].keep_alive);
		hoist_minihttp_parser_release(&p);
	}
}

static void test_informational_skipped(void **state)
{
	struct hoist_minihttp_parser p;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	hoist_minihttp_parser_init(&p, 0, 0);
	assert_int_equal(parse_in_steps(&p, "HTTP/1.1 100 Continue\r\n"
					"X-Info: 1\r\n\r\n"
					"HTTP/1.1 201 Created\r\n"
					"Content-Length: 2\r\n\r\nok", 0, 0,
					&err), 1);
	assert_int_equal(p.status, 201);
	assert_string_equal(p.body.data, "ok");
	hoist_minihttp_parser_release(&p);
}

static void test_no_body_statuses(void **state)
{
	struct hoist_minihttp_parser p;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	hoist_minihttp_parser_init(&p, 0, 0);
	assert_int_equal(parse_in_steps(&p, "HTTP/1.1 204 No Content\r\n\r\n",
					0, 0, &err), 1);
	assert_int_equal(p.body.len, 0);
	assert_true(p.keep_alive);
	hoist_minihttp_parser_release(&p);

	/* A response to HEAD has headers only, whatever they announce. */
	hoist_minihttp_parser_init(&p, 0, 1);
	assert_int_equal(parse_in_steps(&p, "HTTP/1.1 200 OK\r\n"
					"Content-Length: 99\r\n\r\n", 0, 0,
					&err), 1);
	hoist_minihttp_parser_release(&p);
}

static void test_bytes_after_response(void **state)
{
	static const char text[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				   "\r\nokHTTP/1.1 200 OK\r\n";
	struct hoist_minihttp_parser p;
	struct hoist_err err = HOIST_ERR_INIT;
	size_t consumed = 0;

	(void)state;
	hoist_minihttp_parser_init(&p, 0, 0);
	assert_int_equal(hoist_minihttp_parser_feed(&p, text, strlen(text),
						    &consumed, &err), 1);
	assert_int_equal(consumed, strlen(text) - strlen("HTTP/1.1 200 OK\r\n"));
	hoist_minihttp_parser_release(&p);
}

static void test_malformed_responses(void **state)
{
	static const struct {
		const char *text;
		const char *needle;
	} cases[] = {
		{ "HTTP/2 200 OK\r\n\r\n", "invalid HTTP status line" },
		{ "ICY 200 OK\r\n\r\n", "invalid HTTP status line" },
		{ "HTTP/1.1 20 OK\r\n\r\n", "invalid HTTP status line" },
		{ "HTTP/1.1 2000 OK\r\n\r\n", "invalid HTTP status line" },
		{ "HTTP/1.1 099 Low\r\n\r\n", "invalid HTTP status code" },
		{ "HTTP/1.1 101 Switching\r\n\r\n", "protocol switch" },
		{ "HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
		  "folded header line" },
		{ "HTTP/1.1 200 OK\r\nNo colon\r\n\r\n",
		  "invalid header line" },
		{ "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
		  "invalid header name" },
		{ "HTTP/1.1 200 OK\r\n: x\r\n\r\n", "invalid header line" },
		{ "HTTP/1.1 200 OK\r\nX: a\x01z\r\n\r\n",
		  "control character" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
		  "invalid Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		  "invalid Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n",
		  "invalid Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
		  "invalid Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		  "Content-Length: 2\r\n\r\nab", "conflicting" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"
		  "\r\n", "unsupported Transfer-Encoding" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n",
		  "unsupported Transfer-Encoding" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "zz\r\n", "invalid chunk size" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "5 x\r\n", "invalid chunk size line" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "1000000000000000\r\n", "chunk size too large" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "2\r\nabX\r\n", "missing CRLF after a chunk" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_failure(cases[i].text, HOIST_E_HTTP, cases[i].needle);
}

static void test_truncated_responses(void **state)
{
	static const char *const texts[] = {
		"",
		"HTTP/1.1 200 OK\r\nContent-Le",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		expect_failure(texts[i], HOIST_E_HTTP, "closed the connection");
}

static void test_body_limits(void **state)
{
	struct hoist_minihttp_parser p;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	/* Content-Length above the limit fails before any body byte. */
	hoist_minihttp_parser_init(&p, 10, 0);
	assert_int_equal(parse_in_steps(&p, "HTTP/1.1 200 OK\r\n"
					"Content-Length: 11\r\n\r\n", 0, 0,
					&err), -1);
	assert_int_equal(err.code, HOIST_E_NOMEM);
	assert_non_null(strstr(err.msg, "limit of 10 bytes"));
	hoist_minihttp_parser_release(&p);

	/* Chunks that add up to more than the limit. */
	hoist_err_clear(&err);
	hoist_minihttp_parser_init(&p, 10, 0);
	assert_int_equal(parse_in_steps(&p, "HTTP/1.1 200 OK\r\n"
					"Transfer-Encoding: chunked\r\n\r\n"
					"6\r\nabcdef\r\n5\r\n", 0, 0, &err),
			 -1);
	assert_int_equal(err.code, HOIST_E_NOMEM);
	hoist_minihttp_parser_release(&p);

	/* A body up to the close. */
	hoist_err_clear(&err);
	hoist_minihttp_parser_init(&p, 10, 0);
	assert_int_equal(parse_in_steps(&p, "HTTP/1.1 200 OK\r\n\r\n"
					"0123456789A", 0, 0, &err), -1);
	assert_int_equal(err.code, HOIST_E_NOMEM);
	hoist_minihttp_parser_release(&p);

	/* Exactly at the limit is fine. */
	hoist_err_clear(&err);
	hoist_minihttp_parser_init(&p, 10, 0);
	assert_int_equal(parse_in_steps(&p, "HTTP/1.1 200 OK\r\n"
					"Content-Length: 10\r\n\r\n0123456789",
					0, 0, &err), 1);
	hoist_minihttp_parser_release(&p);
}

static void test_header_limits(void **state)
{
	struct hoist_minihttp_parser p;
	struct hoist_err err = HOIST_ERR_INIT;
	size_t len = HOIST_MINIHTTP_LINE_MAX + 64;
	char *text = malloc(len + 1);
	char line[1024];
	size_t consumed;
	int rc = 0;

	(void)state;
	assert_non_null(text);
	/* One header line longer than the line limit. */
	memset(text, 'a', len);
	memcpy(text, "HTTP/1.1 200 OK\r\nX: ", 20);
	text[len] = '\0';
	expect_failure(text, HOIST_E_NOMEM, "longer than");
	free(text);

	/* Many short lines that exceed the header limit together. */
	memset(line, 'b', sizeof(line));
	memcpy(line, "X-Fill: ", 8);
	line[sizeof(line) - 2] = '\r';
	line[sizeof(line) - 1] = '\n';
	hoist_minihttp_parser_init(&p, 0, 0);
	assert_int_equal(hoist_minihttp_parser_feed(&p, "HTTP/1.1 200 OK\r\n",
						    17, &consumed, &err), 0);
	for (int i = 0; i < 200 && rc == 0; i++)
		rc = hoist_minihttp_parser_feed(&p, line, sizeof(line),
						&consumed, &err);
	assert_int_equal(rc, -1);
	assert_int_equal(err.code, HOIST_E_NOMEM);
	assert_non_null(strstr(err.msg, "headers are larger"));
	hoist_minihttp_parser_release(&p);
}

static void test_error_quotes_printable(void **state)
{
	struct hoist_minihttp_parser p;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	hoist_minihttp_parser_init(&p, 0, 0);
	assert_int_equal(parse_in_steps(&p, "HTTP/1.1 2\x1b[31m0 OK\r\n\r\n",
					0, 0, &err), -1);
	assert_null(strchr(err.msg, '\x1b'));
	assert_non_null(strstr(err.msg, "'HTTP/1.1 2?[31m0 OK'"));
	/* A failed parser stays failed. */
	hoist_err_clear(&err);
	assert_int_equal(parse_in_steps(&p, "HTTP/1.1 200 OK\r\n\r\n", 0, 0,
					&err), -1);
	hoist_minihttp_parser_release(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_length_body),
		cmocka_unit_test(test_chunked_body),
		cmocka_unit_test(test_chunked_upper_hex_lf_only),
		cmocka_unit_test(test_body_until_close),
		cmocka_unit_test(test_keep_alive_rules),
		cmocka_unit_test(test_informational_skipped),
		cmocka_unit_test(test_no_body_statuses),
		cmocka_unit_test(test_bytes_after_response),
		cmocka_unit_test(test_malformed_responses),
		cmocka_unit_test(test_truncated_responses),
		cmocka_unit_test(test_body_limits),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_error_quotes_printable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
