/*
 * crc32c.c - CRC-32C in software and with the SSE 4.2 crc32 instruction,
 * and the combination of the CRCs of adjacent pieces.
 *
 * The CRC is the reflected one with polynomial 0x82f63b78, initial value
 * and final XOR all ones.  Combining uses arithmetic on polynomials modulo
 * the CRC polynomial: appending n zero bytes to a message multiplies its
 * unconditioned CRC by x^(8n), and x^(8n) is built from a table of
 * x^(2^k) in O(log n) multiplications.
 */
#include "storage/crc32c.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define HAVE_SSE42_PATH 1
#endif

#define POLY 0x82f63b78u
#define FD_CHUNK (1u << 20)

/* Slicing-by-8 tables: slice[k][b] is the CRC of byte b followed by k
 * zero bytes. */
static uint32_t slice[8][256];
/* Powers x^(2^k) modulo the polynomial, reflected.  k reaches 66 for
 * lengths near 2^64 bytes. */
static uint32_t x2k[68];
static int use_sse42;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* Multiplies two reflected polynomials modulo POLY.  Bit 31 is the
 * coefficient of x^0, bit 0 the one of x^31. */
static uint32_t mul_mod(uint32_t a, uint32_t b)
{
	uint32_t product = 0;

	for (uint32_t bit = 1u << 31; bit; bit >>= 1) {
		if (a & bit)
			product ^= b;
		b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;
	}
	return product;
}

static void init_tables(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t crc = b;

		for (int i = 0; i < 8; i++)
			crc = (crc & 1) ? (crc >> 1) ^ POLY : crc >> 1;
		slice[0][b] = crc;
	}
	for (uint32_t b = 0; b < 256; b++)
		for (int k = 1; k < 8; k++)
			slice[k][b] = (slice[k - 1][b] >> 8) ^
				      slice[0][slice[k - 1][b] & 0xff];
	x2k[0] = 1u << 30;	/* x^1 */
	for (int k = 1; k < 68; k++)
		x2k[k] = mul_mod(x2k[k - 1], x2k[k - 1]);
#ifdef HAVE_SSE42_PATH
	__builtin_cpu_init();
	use_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t update_soft(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ slice[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		lo ^= crc;
		crc = slice[7][lo & 0xff] ^ slice[6][(lo >> 8) & 0xff] ^
		      slice[5][(lo >> 16) & 0xff] ^ slice[4][lo >> 24] ^
		      slice[3][hi & 0xff] ^ slice[2][(hi >> 8) & 0xff] ^
		      slice[1][(hi >> 16) & 0xff] ^ slice[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ slice[0][(crc ^ *p++) & 0xff];
	return crc;
}

#ifdef HAVE_SSE42_PATH
__attribute__((target("sse4.2")))
static uint32_t update_sse42(uint32_t crc, const unsigned char *p,
			     size_t len)
{
	uint64_t wide = crc;

	while (len && ((uintptr_t)p & 7)) {
		wide = _mm_crc32_u8((uint32_t)wide, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t word;

		memcpy(&word, p, 8);
		wide = _mm_crc32_u64(wide, word);
		p += 8;
		len -= 8;
	}
	while (len--)
		wide = _mm_crc32_u8((uint32_t)wide, *p++);
	return (uint32_t)wide;
}
#endif

uint32_t hoist_crc32c_update(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&init_once, init_tables);
	crc = ~crc;
#ifdef HAVE_SSE42_PATH
	if (use_sse42)
		return ~update_sse42(crc, data, len);
#endif
	return ~update_soft(crc, data, len);
}

uint32_t hoist_crc32c_update_portable(uint32_t crc, const void *data,
				      size_t len)
{
	pthread_once(&init_once, init_tables);
	return ~update_soft(~crc, data, len);
}

uint32_t hoist_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
	uint32_t shift = 1u << 31;	/* x^0 */

	pthread_once(&init_once, init_tables);
	/* x^(8 len_b): the factor for len_b bytes is x^(2^(k+3)) per bit k
	 * of len_b. */
	for (int k = 3; len_b; len_b >>= 1, k++)
		if (len_b & 1)
			shift = mul_mod(x2k[k], shift);
	return mul_mod(shift, crc_a) ^ crc_b;
}

void hoist_crc32c_format(uint32_t crc, char out[HOIST_CRC32C_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 8; i++)
		out[i] = digits[(crc >> (28 - 4 * i)) & 0xf];
	out[8] = '\0';
}

int hoist_crc32c_parse(const char *text, uint32_t *crc)
{
	uint32_t value = 0;

	for (int i = 0; i < 8; i++) {
		char ch = text[i];

		if (ch >= '0' && ch <= '9')
			value = (value << 4) | (uint32_t)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			value = (value << 4) | (uint32_t)(ch - 'a' + 10);
		else
			return -1;
	}
	if (text[8] != '\0')
		return -1;
	*crc = value;
	return 0;
}

int hoist_crc32c_fd(int fd, uint64_t offset, uint64_t len, const char *what,
		    uint32_t *crc, struct hoist_err *err)
{
	uint64_t end = offset + len;
	unsigned char *chunk;
	uint32_t sum = 0;
	int rc = -1;

	chunk = malloc(FD_CHUNK);
	if (!chunk)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	while (len > 0) {
		size_t want = len < FD_CHUNK ? (size_t)len : FD_CHUNK;
		ssize_t n = pread(fd, chunk, want, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			hoist_err_set(err, HOIST_E_IO, "cannot read %s at "
				      "byte %" PRIu64 ": %s", what, offset,
				      strerror(errno));
			goto out;
		}
		if (n == 0) {
			hoist_err_set(err, HOIST_E_CONFLICT, "%s ends at byte "
				      "%" PRIu64 ", before byte %" PRIu64,
				      what, offset, end);
			goto out;
		}
		sum = hoist_crc32c_update(sum, chunk, (size_t)n);
		offset += (uint64_t)n;
		len -= (uint64_t)n;
	}
	*crc = sum;
	rc = 0;
out:
	free(chunk);
	return rc;
}

int hoist_crc32c_file(const char *path, uint64_t *size, uint32_t *crc,
		      struct hoist_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = -1;

	if (fd < 0)
		return hoist_err_set(err, errno == ENOENT ? HOIST_E_NOT_FOUND :
				     HOIST_E_IO, "cannot open '%s': %s", path,
				     strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		hoist_err_set(err, HOIST_E_INVALID, "'%s' is not a regular "
			      "file", path);
		goto out;
	}
	if (hoist_crc32c_fd(fd, 0, (uint64_t)st.st_size, path, crc, err))
		goto out;
	*size = (uint64_t)st.st_size;
	rc = 0;
out:
	close(fd);
	return rc;
}
