/*
 * test_crc32c.c - CRC-32C against published values and a bitwise
 * reference, the agreement of the SSE 4.2 and portable paths, combining,
 * the hex form and reading a file range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include "storage/crc32c.h"
#include "storage_test.h"

/* One bit at a time, straight from the definition. */
static uint32_t reference(const unsigned char *p, size_t len)
{
	uint32_t crc = 0xffffffffu;

	while (len--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void fill_random(unsigned char *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (unsigned char)(seed >> 16);
	}
}

static void matches_published_values(void **state)
{
	unsigned char block[32];

	(void)state;
	assert_int_equal(hoist_crc32c_update(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(hoist_crc32c_update(0, "", 0), 0);
	/* The 32-byte patterns of the iSCSI test vectors; the bitwise
	 * reference gives the same values. */
	memset(block, 0, sizeof(block));
	assert_int_equal(hoist_crc32c_update(0, block, 32), 0x8a9136aau);
	memset(block, 0xff, sizeof(block));
	assert_int_equal(hoist_crc32c_update(0, block, 32), 0x62a8ab43u);
	for (int i = 0; i < 32; i++)
		block[i] = (unsigned char)i;
	assert_int_equal(hoist_crc32c_update(0, block, 32), 0x46dd794eu);
	for (int i = 0; i < 32; i++)
		block[i] = (unsigned char)(31 - i);
	assert_int_equal(hoist_crc32c_update(0, block, 32), 0x113fdb5cu);
}

static void both_paths_agree_at_every_alignment(void **state)
{
	unsigned char *buf = malloc(4096 + 16);

	(void)state;
	assert_non_null(buf);
	fill_random(buf, 4096 + 16, 7);
	for (size_t start = 0; start < 16; start++) {
		for (size_t len = 0; len < 300; len += 7) {
			uint32_t want = reference(buf + start, len);

			assert_int_equal(hoist_crc32c_update(0, buf + start,
							     len), want);
			assert_int_equal(hoist_crc32c_update_portable(
					 0, buf + start, len), want);
		}
	}
	assert_int_equal(hoist_crc32c_update(0, buf, 4096),
			 reference(buf, 4096));
	free(buf);
}

static void updates_continue_a_running_crc(void **state)
{
	unsigned char buf[1000];
	uint32_t crc = 0;

	(void)state;
	fill_random(buf, sizeof(buf), 11);
	for (size_t off = 0; off < sizeof(buf); off += 37) {
		size_t len = sizeof(buf) - off < 37 ? sizeof(buf) - off : 37;

		crc = hoist_crc32c_update(crc, buf + off, len);
	}
	assert_int_equal(crc, reference(buf, sizeof(buf)));
}

static void combine_joins_adjacent_pieces(void **state)
{
	size_t total = 1 << 20;
	unsigned char *buf = malloc(total);
	static const size_t cuts[] = { 0, 1, 7, 8, 4095, 65536, 1 << 19,
				       (1 << 20) - 1, 1 << 20 };

	(void)state;
	assert_non_null(buf);
	fill_random(buf, total, 3);
	for (size_t i = 0; i < sizeof(cuts) / sizeof(*cuts); i++) {
		size_t cut = cuts[i];
		uint32_t a = hoist_crc32c_update(0, buf, cut);
		uint32_t b = hoist_crc32c_update(0, buf + cut, total - cut);

		assert_int_equal(hoist_crc32c_combine(a, b, total - cut),
				 hoist_crc32c_update(0, buf, total));
	}
	free(buf);
}

/* A piece longer than 4 GiB: one byte, then 4 GiB and 64 KiB of zeros,
 * streamed, against the byte's CRC combined with the zeros' CRC. */
static void combine_handles_lengths_above_4_gib(void **state)
{
	static unsigned char zeros[1 << 16];
	uint64_t len = (1ull << 32) + sizeof(zeros);
	uint32_t lead = hoist_crc32c_update(0, "x", 1);
	uint32_t whole = lead, tail = 0;

	(void)state;
	for (uint64_t done = 0; done < len; done += sizeof(zeros)) {
		whole = hoist_crc32c_update(whole, zeros, sizeof(zeros));
		tail = hoist_crc32c_update(tail, zeros, sizeof(zeros));
	}
	assert_int_equal(hoist_crc32c_combine(lead, tail, len), whole);
}

static void hex_form_round_trips(void **state)
{
	char text[HOIST_CRC32C_HEX_LEN + 1];
	uint32_t crc = 0;

	(void)state;
	hoist_crc32c_format(0xe3069283u, text);
	assert_string_equal(text, "e3069283");
	assert_int_equal(hoist_crc32c_parse(text, &crc), 0);
	assert_int_equal(crc, 0xe3069283u);
	hoist_crc32c_format(0x0000000fu, text);
	assert_string_equal(text, "0000000f");
	assert_int_equal(hoist_crc32c_parse("E3069283", &crc), -1);
	assert_int_equal(hoist_crc32c_parse("e306928", &crc), -1);
	assert_int_equal(hoist_crc32c_parse("e30692830", &crc), -1);
	assert_int_equal(hoist_crc32c_parse("e306928g", &crc), -1);
	assert_int_equal(hoist_crc32c_parse("", &crc), -1);
}

static void reads_a_file_range(void **state)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char dir[4096], path[4200];
	unsigned char buf[5000];
	uint32_t crc = 0;
	int fd;

	(void)state;
	storage_test_mkdtemp(dir);
	snprintf(path, sizeof(path), "%s/data", dir);
	fill_random(buf, sizeof(buf), 5);
	storage_test_write(path, buf, sizeof(buf));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(hoist_crc32c_fd(fd, 100, 4000, "the data file", &crc,
					 &err), 0);
	assert_int_equal(crc, reference(buf + 100, 4000));
	assert_int_equal(hoist_crc32c_fd(fd, 4000, 2000, "the data file", &crc,
					 &err), -1);
	storage_test_expect_err(&err, HOIST_E_CONFLICT,
				"the data file ends at byte 5000, before "
				"byte 6000");
	close(fd);
	storage_test_rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matches_published_values),
		cmocka_unit_test(both_paths_agree_at_every_alignment),
		cmocka_unit_test(updates_continue_a_running_crc),
		cmocka_unit_test(combine_joins_adjacent_pieces),
		cmocka_unit_test(combine_handles_lengths_above_4_gib),
		cmocka_unit_test(hex_form_round_trips),
		cmocka_unit_test(reads_a_file_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
