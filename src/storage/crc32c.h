/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of checkpoint files.
 *
 * CRC-32C is cheap enough to compute on the bytes while they travel.  The
 * CRCs of pieces combine into the CRC of the whole without reading the
 * bytes again, so ranges and parts that arrive in any order still give one
 * checksum per file.  Values are the usual ones: "123456789" gives
 * 0xe3069283.  Text form: 8 lowercase hex digits.
 */
#ifndef HOIST_STORAGE_CRC32C_H
#define HOIST_STORAGE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define HOIST_CRC32C_HEX_LEN 8

/* Returns the CRC of the bytes that gave crc followed by data, starting
 * from crc 0.  Uses the SSE 4.2 instruction when the processor has it. */
uint32_t hoist_crc32c_update(uint32_t crc, const void *data, size_t len);

/* Returns the same as hoist_crc32c_update() without the SSE 4.2
 * instruction, on every processor, for tests and benchmarks. */
uint32_t hoist_crc32c_update_portable(uint32_t crc, const void *data,
				      size_t len);

/* Returns the CRC of A followed by B from crc_a = CRC(A), crc_b = CRC(B)
 * and len_b, the length of B in bytes. */
uint32_t hoist_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* Writes crc as 8 lowercase hex digits and a NUL. */
void hoist_crc32c_format(uint32_t crc, char out[HOIST_CRC32C_HEX_LEN + 1]);

/* Parses exactly 8 lowercase hex digits.  Returns 0, or -1 for any other
 * text. */
int hoist_crc32c_parse(const char *text, uint32_t *crc);

/* Reads len bytes of fd from offset and stores their CRC in *crc.  Fails
 * with HOIST_E_IO naming what, or HOIST_E_CONFLICT when the file ends
 * early. */
int hoist_crc32c_fd(int fd, uint64_t offset, uint64_t len, const char *what,
		    uint32_t *crc, struct hoist_err *err);

/* Sums the regular file at path, storing its size and CRC. */
int hoist_crc32c_file(const char *path, uint64_t *size, uint32_t *crc,
		      struct hoist_err *err);

#endif
