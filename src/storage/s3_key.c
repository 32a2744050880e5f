/*
 * s3_key.c - building object keys, and the Unicode NFC normalizer they go
 * through.  S3 compares keys byte by byte, so "café" typed as U+00E9 and
 * as "e" U+0301 would be two objects.  Normalizing every key to NFC makes
 * them one.  The normalizer implements the full algorithm of UAX #15
 * (canonical decomposition, canonical ordering, canonical composition)
 * with the tables of s3_nfc_table.h, generated from Python's unicodedata.
 */
#include "storage/s3_key.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/s3_sigv4.h"

#include "storage/s3_nfc_table.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Hangul syllables compose and decompose by arithmetic (Unicode 14.0,
 * section 3.12). */
#define SBASE 0xAC00
#define LBASE 0x1100
#define VBASE 0x1161
#define TBASE 0x11A7
#define LCOUNT 19
#define VCOUNT 21
#define TCOUNT 28
#define NCOUNT (VCOUNT * TCOUNT)
#define SCOUNT (LCOUNT * NCOUNT)

/* A decomposed key never grows beyond 4 code points per input byte. */
#define MAX_CODE_POINTS (4 * HOIST_S3_KEY_MAX + 16)

struct cp_buf {
	uint32_t *cp;
	size_t len;
	size_t cap;
};

static int cp_push(struct cp_buf *b, uint32_t cp, struct hoist_err *err)
{
	if (b->len == b->cap)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "key is too long to normalize");
	b->cp[b->len++] = cp;
	return 0;
}

static const uint32_t *find_decomp(uint32_t cp)
{
	size_t lo = 0, hi = NELEMS(nfc_decomp);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (nfc_decomp[mid][0] == cp)
			return nfc_decomp[mid];
		if (nfc_decomp[mid][0] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static unsigned combining_class(uint32_t cp)
{
	size_t lo = 0, hi = NELEMS(nfc_ccc);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (nfc_ccc[mid][0] == cp)
			return nfc_ccc[mid][1];
		if (nfc_ccc[mid][0] < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* Returns the primary composite of a and b, or 0 if there is none. */
static uint32_t compose_pair(uint32_t a, uint32_t b)
{
	size_t lo = 0, hi = NELEMS(nfc_compose);

	if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE &&
	    b < VBASE + VCOUNT)
		return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
	if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 &&
	    b > TBASE && b < TBASE + TCOUNT)
		return a + (b - TBASE);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const uint32_t *row = nfc_compose[mid];

		if (row[0] == a && row[1] == b)
			return row[2];
		if (row[0] < a || (row[0] == a && row[1] < b))
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int decompose(uint32_t cp, struct cp_buf *out, struct hoist_err *err)
{
	const uint32_t *row;

	if (cp >= SBASE && cp < SBASE + SCOUNT) {
		uint32_t s = cp - SBASE;

		if (cp_push(out, LBASE + s / NCOUNT, err) ||
		    cp_push(out, VBASE + (s % NCOUNT) / TCOUNT, err))
			return -1;
		if (s % TCOUNT)
			return cp_push(out, TBASE + s % TCOUNT, err);
		return 0;
	}
	row = find_decomp(cp);
	if (!row)
		return cp_push(out, cp, err);
	if (decompose(row[1], out, err))
		return -1;
	return row[2] ? decompose(row[2], out, err) : 0;
}

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, or
 * 0 if it is malformed. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		v = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		v = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		v = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
	    v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

static int utf8_append(struct hoist_buf *out, uint32_t cp,
		       struct hoist_err *err)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return hoist_buf_append(out, b, n, err);
}

/* Sorts each run of non-starters by combining class and keeps the order
 * of equal classes.  An insertion sort is stable and the runs are short. */
static void canonical_order(struct cp_buf *b)
{
	for (size_t i = 1; i < b->len; i++) {
		uint32_t cp = b->cp[i];
		unsigned c = combining_class(cp);
		size_t j = i;

		if (c == 0)
			continue;
		while (j > 0) {
			unsigned prev = combining_class(b->cp[j - 1]);

			if (prev == 0 || prev <= c)
				break;
			b->cp[j] = b->cp[j - 1];
			j--;
		}
		b->cp[j] = cp;
	}
}

/* Canonical composition in place (UAX #15, section 1.3).  A character
 * after the last starter is blocked from it when a character between them
 * has a combining class of 0 or not below its own. */
static void canonical_compose(struct cp_buf *b)
{
	size_t starter = 0, out = 0;
	int have_starter = 0;
	unsigned last_class = 0;	/* of the last kept non-starter */
	int adjacent = 0;		/* nothing kept since the starter */

	for (size_t i = 0; i < b->len; i++) {
		uint32_t cp = b->cp[i];
		unsigned c = combining_class(cp);

		if (have_starter && (adjacent || (last_class < c))) {
			uint32_t composite = compose_pair(b->cp[starter], cp);

			if (composite) {
				b->cp[starter] = composite;
				continue;
			}
		}
		if (c == 0) {
			starter = out;
			have_starter = 1;
			adjacent = 1;
		} else {
			last_class = c;
			adjacent = 0;
		}
		b->cp[out++] = cp;
	}
	b->len = out;
}

int s3_key_nfc(const char *in, size_t len, struct hoist_buf *out,
	       struct hoist_err *err)
{
	const unsigned char *s = (const unsigned char *)in;
	struct cp_buf cps = { NULL, 0, 0 };
	int ascii = 1;
	int rc = -1;

	for (size_t i = 0; i < len; i++) {
		if (s[i] >= 0x80) {
			ascii = 0;
			break;
		}
	}
	if (ascii)
		return hoist_buf_append(out, in, len, err);

	cps.cap = len > HOIST_S3_KEY_MAX ? 4 * len : MAX_CODE_POINTS;
	cps.cp = calloc(cps.cap, sizeof(*cps.cp));
	if (!cps.cp)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory normalizing a key");
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);

		if (n == 0) {
			hoist_err_set(err, HOIST_E_INVALID,
				      "invalid UTF-8 at byte %zu (0x%02x)", i,
				      s[i]);
			goto out;
		}
		if (decompose(cp, &cps, err))
			goto out;
		i += n;
	}
	canonical_order(&cps);
	canonical_compose(&cps);
	for (size_t i = 0; i < cps.len; i++) {
		if (utf8_append(out, cps.cp[i], err))
			goto out;
	}
	rc = 0;
out:
	free(cps.cp);
	return rc;
}

static int build(const struct hoist_s3_config *cfg, const char *what,
		 const char *key, char out[HOIST_S3_KEY_MAX + 1],
		 struct hoist_err *err)
{
	struct hoist_buf buf;
	size_t plen = strlen(cfg->prefix);
	int rc = -1;

	hoist_buf_init(&buf, 8 * HOIST_S3_KEY_MAX);
	if (hoist_buf_append(&buf, cfg->prefix, plen, err))
		goto out;
	if (s3_key_nfc(key, strlen(key), &buf, err)) {
		hoist_err_prefix(err, "%s '%s' is not valid UTF-8 text", what,
				 key);
		goto out;
	}
	if (buf.len > HOIST_S3_KEY_MAX) {
		hoist_err_set(err, HOIST_E_INVALID,
			      "%s '%.64s...' with the store prefix '%.64s' is "
			      "%zu bytes long; S3 keys have at most %d bytes",
			      what, key, cfg->prefix, buf.len,
			      HOIST_S3_KEY_MAX);
		goto out;
	}
	memcpy(out, hoist_buf_str(&buf), buf.len + 1);
	rc = 0;
out:
	hoist_buf_release(&buf);
	return rc;
}

int s3_key_build(const struct hoist_s3_config *cfg, const char *key,
		 char out[HOIST_S3_KEY_MAX + 1], struct hoist_err *err)
{
	const char *reason = hoist_artifact_key_error(key);

	if (reason)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid object key '%s': the key %s",
				     key ? key : "(null)", reason);
	return build(cfg, "object key", key, out, err);
}

int s3_key_build_prefix(const struct hoist_s3_config *cfg, const char *prefix,
			char out[HOIST_S3_KEY_MAX + 1], struct hoist_err *err)
{
	if (!prefix)
		prefix = "";
	for (const char *p = prefix; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid listing prefix '%s': it "
					     "contains a control character",
					     prefix);
	}
	if (prefix[0] == '/')
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid listing prefix '%s': it starts "
				     "with '/'", prefix);
	return build(cfg, "listing prefix", prefix, out, err);
}

const char *s3_key_strip(const struct hoist_s3_config *cfg, const char *full)
{
	size_t plen = strlen(cfg->prefix);

	if (strncmp(full, cfg->prefix, plen) != 0 || !full[plen])
		return NULL;
	return full + plen;
}

int s3_key_path(const struct hoist_s3_config *cfg, const char *full,
		struct hoist_buf *out, struct hoist_err *err)
{
	if (cfg->path_style) {
		if (hoist_buf_appendf(out, err, "/%s", cfg->bucket))
			return -1;
		if (!full)
			return 0;
	}
	if (hoist_buf_append(out, "/", 1, err))
		return -1;
	if (!full)
		return 0;
	return s3_uri_encode(out, full, strlen(full), 1, err);
}
