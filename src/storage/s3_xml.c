/*
 * s3_xml.c - element lookup in S3's XML responses.
 */
#include "storage/s3_xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *find(const char *p, const char *end, const char *needle)
{
	size_t n = strlen(needle);

	while (p && (size_t)(end - p) >= n) {
		p = memchr(p, needle[0], (size_t)(end - p) - n + 1);
		if (!p)
			return NULL;
		if (memcmp(p, needle, n) == 0)
			return p;
		p++;
	}
	return NULL;
}

static int is_name_end(char c)
{
	return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' ||
	       c == '\n';
}

int s3_xml_root(const char *doc, size_t len, struct s3_xml_span *root)
{
	const char *p = doc, *end = doc + len;

	while (p < end) {
		p = memchr(p, '<', (size_t)(end - p));
		if (!p || p + 1 >= end)
			return -1;
		if (p[1] == '?' || p[1] == '!') {
			const char *close = find(p, end, ">");

			if (!close)
				return -1;
			p = close + 1;
			continue;
		}
		root->p = p + 1;
		root->len = 0;
		while (root->p + root->len < end &&
		       !is_name_end(root->p[root->len]))
			root->len++;
		return root->len ? 0 : -1;
	}
	return -1;
}

int s3_xml_next(struct s3_xml_span *cursor, const char *name,
		struct s3_xml_span *content)
{
	const char *p = cursor->p, *end = cursor->p + cursor->len;
	size_t n = strlen(name);

	while (p < end) {
		const char *open = memchr(p, '<', (size_t)(end - p));
		const char *gt, *close;

		if (!open || (size_t)(end - open) < n + 2)
			return 0;
		p = open + 1;
		if (memcmp(p, name, n) != 0 || !is_name_end(p[n]))
			continue;
		gt = memchr(p, '>', (size_t)(end - p));
		if (!gt)
			return 0;
		if (gt[-1] == '/') {	/* <Name/> */
			content->p = gt;
			content->len = 0;
			cursor->len -= (size_t)(gt + 1 - cursor->p);
			cursor->p = gt + 1;
			return 1;
		}
		for (close = gt + 1;; close++) {
			close = find(close, end, "</");
			if (!close)
				return 0;
			if ((size_t)(end - close) >= n + 3 &&
			    memcmp(close + 2, name, n) == 0 &&
			    (close[n + 2] == '>' || close[n + 2] == ' '))
				break;
		}
		content->p = gt + 1;
		content->len = (size_t)(close - content->p);
		close = memchr(close, '>', (size_t)(end - close));
		if (!close)
			return 0;
		cursor->len -= (size_t)(close + 1 - cursor->p);
		cursor->p = close + 1;
		return 1;
	}
	return 0;
}

static int put_utf8(char **o, char *oend, unsigned long cp)
{
	unsigned char b[4];
	size_t n;

	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	if ((size_t)(oend - *o) < n)
		return -1;
	memcpy(*o, b, n);
	*o += n;
	return 0;
}

/* Decodes the reference at p (after '&', up to ';'). */
static int decode_ref(const char *p, size_t n, char **o, char *oend)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {
		{ "amp", '&' }, { "lt", '<' }, { "gt", '>' },
		{ "quot", '"' }, { "apos", '\'' },
	};
	char num[16];
	char *endp;
	unsigned long cp;

	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		if (strlen(named[i].name) == n &&
		    memcmp(p, named[i].name, n) == 0) {
			if (*o >= oend)
				return -1;
			*(*o)++ = named[i].c;
			return 0;
		}
	}
	if (n < 2 || n >= sizeof(num) || p[0] != '#')
		return -1;
	memcpy(num, p + 1, n - 1);
	num[n - 1] = '\0';
	if (num[0] == 'x')
		cp = strtoul(num + 1, &endp, 16);
	else
		cp = strtoul(num, &endp, 10);
	if (*endp || endp == num || (num[0] == 'x' && endp == num + 1))
		return -1;
	return put_utf8(o, oend, cp);
}

int s3_xml_text(const struct s3_xml_span *span, const char *name, char *out,
		size_t outlen)
{
	struct s3_xml_span cursor = *span, content;
	const char *p, *end;
	char *o = out, *oend = out + outlen - 1;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (!s3_xml_next(&cursor, name, &content))
		return 0;
	p = content.p;
	end = content.p + content.len;
	while (p < end) {
		if (*p == '&') {
			const char *semi = memchr(p, ';', (size_t)(end - p));

			if (!semi || decode_ref(p + 1, (size_t)(semi - p - 1),
						&o, oend))
				return -1;
			p = semi + 1;
			continue;
		}
		if (*p == '<' && (size_t)(end - p) >= 9 &&
		    memcmp(p, "<![CDATA[", 9) == 0) {
			const char *stop = find(p + 9, end, "]]>");
			size_t n;

			if (!stop)
				return -1;
			n = (size_t)(stop - p - 9);
			if ((size_t)(oend - o) < n)
				return -1;
			memcpy(o, p + 9, n);
			o += n;
			p = stop + 3;
			continue;
		}
		if (o >= oend)
			return -1;
		*o++ = *p++;
	}
	*o = '\0';
	return 1;
}

void s3_xml_error(const char *doc, size_t len, char code[64],
		  char message[256], char request_id[128])
{
	struct s3_xml_span span = { doc, len };

	code[0] = message[0] = request_id[0] = '\0';
	if (!doc || len == 0)
		return;
	if (s3_xml_text(&span, "Code", code, 64) < 0)
		code[0] = '\0';
	if (s3_xml_text(&span, "Message", message, 256) < 0)
		message[0] = '\0';
	if (s3_xml_text(&span, "RequestId", request_id, 128) < 0)
		request_id[0] = '\0';
}
