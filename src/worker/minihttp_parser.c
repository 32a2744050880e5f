/*
 * minihttp_parser.c - the incremental HTTP/1.x response parser of
 * minihttp.h, following RFC 9112 for what a client receives.
 *
 * Supported framing: Content-Length, "Transfer-Encoding: chunked" (with
 * chunk extensions and trailers, both ignored), and a body that ends when
 * the server closes the connection.  Any other transfer coding is rejected
 * because the client never asks for one.
 */
#include "worker/minihttp.h"

#include <string.h>
#include <strings.h>

enum parser_state {
	ST_STATUS = 0,		/* reading the status line */
	ST_HEADER,		/* reading header lines */
	ST_BODY_LENGTH,		/* reading Content-Length bytes */
	ST_BODY_CLOSE,		/* reading until the connection closes */
	ST_CHUNK_SIZE,		/* reading a chunk-size line */
	ST_CHUNK_DATA,		/* reading the bytes of a chunk */
	ST_CHUNK_END,		/* reading the CRLF after a chunk */
	ST_TRAILER,		/* reading trailer lines */
	ST_DONE,
	ST_FAILED,
};

/* Facts from the status and header lines of the current head. */
enum {
	FLAG_HTTP11 = 1u << 0,		/* HTTP/1.1 or a later 1.x */
	FLAG_CONN_CLOSE = 1u << 1,	/* Connection: close */
	FLAG_CONN_KEEP = 1u << 2,	/* Connection: keep-alive */
	FLAG_INFORMATIONAL = 1u << 3,	/* a 1xx head, skipped */
};

/* Hex digits of a chunk size at most, so that it fits in 60 bits. */
#define CHUNK_SIZE_DIGITS_MAX 15
/* Decimal digits of a Content-Length at most. */
#define CONTENT_LENGTH_DIGITS_MAX 18

void hoist_minihttp_parser_init(struct hoist_minihttp_parser *p,
				size_t body_max, int head_request)
{
	memset(p, 0, sizeof(*p));
	p->state = ST_STATUS;
	p->content_length = -1;
	p->head_request = head_request;
	hoist_buf_init(&p->body, body_max ? body_max : HOIST_MINIHTTP_BODY_MAX);
}

void hoist_minihttp_parser_release(struct hoist_minihttp_parser *p)
{
	hoist_buf_release(&p->body);
}

/* Copies at most 60 bytes of s into out for an error message, with bytes
 * outside printable ASCII replaced by '?'. */
static const char *excerpt(char *out, size_t outlen, const char *s,
			   size_t len)
{
	size_t n = 0;

	while (n < len && n < 60 && n + 1 < outlen) {
		unsigned char c = (unsigned char)s[n];

		out[n] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		n++;
	}
	out[n] = '\0';
	return out;
}

static int fail(struct hoist_minihttp_parser *p, struct hoist_err *err,
		int code, const char *what)
{
	char quoted[64];

	p->state = ST_FAILED;
	return hoist_err_set(err, code, "%s: '%s'", what,
			     excerpt(quoted, sizeof(quoted), p->line,
				     p->line_len));
}

static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Returns 1 if the line has a control character other than HTAB. */
static int has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 1;
	}
	return 0;
}

/*
 * Moves bytes of data up to and including the next '\n' into p->line.
 * Returns 1 when the line is complete (without its CR LF or LF, in
 * p->line and p->line_len), 0 when data ended first, -1 when the line
 * exceeds HOIST_MINIHTTP_LINE_MAX.  *used receives the bytes taken.
 */
static int take_line(struct hoist_minihttp_parser *p, const char *data,
		     size_t len, size_t *used, struct hoist_err *err)
{
	const char *nl = memchr(data, '\n', len);
	size_t take = nl ? (size_t)(nl - data) + 1 : len;

	*used = take;
	if (take > sizeof(p->line) - p->line_len) {
		p->state = ST_FAILED;
		return hoist_err_set(err, HOIST_E_NOMEM, "a line of the "
				     "response is longer than %d bytes",
				     HOIST_MINIHTTP_LINE_MAX);
	}
	memcpy(p->line + p->line_len, data, take);
	p->line_len += take;
	p->head_bytes += take;
	if (!nl)
		return 0;
	p->line_len--;
	if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
		p->line_len--;
	return 1;
}

static int parse_status_line(struct hoist_minihttp_parser *p,
			     struct hoist_err *err)
{
	const char *s = p->line;
	int status;

	/* HTTP-version SP 3DIGIT [SP reason-phrase] */
	if (p->line_len < 12 || memcmp(s, "HTTP/1.", 7) != 0 ||
	    !is_digit(s[7]) || s[8] != ' ' || !is_digit(s[9]) ||
	    !is_digit(s[10]) || !is_digit(s[11]) ||
	    (p->line_len > 12 && s[12] != ' ') ||
	    has_control(s, p->line_len))
		return fail(p, err, HOIST_E_HTTP, "invalid HTTP status line");
	status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (status < 100 || status > 599)
		return fail(p, err, HOIST_E_HTTP, "invalid HTTP status code");
	if (status == 101)
		return fail(p, err, HOIST_E_HTTP, "unexpected protocol "
			    "switch");
	p->status = status;
	p->flags = s[7] != '0' ? FLAG_HTTP11 : 0;
	if (status < 200)
		p->flags |= FLAG_INFORMATIONAL;
	p->content_length = -1;
	p->chunked = 0;
	p->state = ST_HEADER;
	return 0;
}

/* Calls token_cb for each comma-separated token of a header value. */
static int for_each_token(const char *value, size_t len,
			  int (*token_cb)(struct hoist_minihttp_parser *p,
					  const char *token, size_t len),
			  struct hoist_minihttp_parser *p)
{
	size_t i = 0;

	while (i < len) {
		size_t start;
		size_t end;

		while (i < len && (value[i] == ' ' || value[i] == '\t' ||
				   value[i] == ','))
			i++;
		start = i;
		while (i < len && value[i] != ',')
			i++;
		end = i;
		while (end > start && (value[end - 1] == ' ' ||
				       value[end - 1] == '\t'))
			end--;
		if (end > start && token_cb(p, value + start, end - start))
			return -1;
	}
	return 0;
}

static int is_token(const char *token, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(token, name, len) == 0;
}

static int connection_token(struct hoist_minihttp_parser *p,
			    const char *token, size_t len)
{
	if (is_token(token, len, "close"))
		p->flags |= FLAG_CONN_CLOSE;
	else if (is_token(token, len, "keep-alive"))
		p->flags |= FLAG_CONN_KEEP;
	return 0;
}

static int coding_token(struct hoist_minihttp_parser *p, const char *token,
			size_t len)
{
	/* Only one "chunked", and no other coding: the request never sent
	 * a TE header that would allow one. */
	if (!is_token(token, len, "chunked") || p->chunked)
		return -1;
	p->chunked = 1;
	return 0;
}

static int parse_content_length(struct hoist_minihttp_parser *p,
				const char *value, size_t len,
				struct hoist_err *err)
{
	int64_t n = 0;

	if (len == 0 || len > CONTENT_LENGTH_DIGITS_MAX)
		return fail(p, err, HOIST_E_HTTP, "invalid Content-Length");
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(value[i]))
			return fail(p, err, HOIST_E_HTTP,
				    "invalid Content-Length");
		n = n * 10 + (value[i] - '0');
	}
	if (p->content_length >= 0 && p->content_length != n)
		return fail(p, err, HOIST_E_HTTP, "conflicting "
			    "Content-Length headers");
	p->content_length = n;
	return 0;
}

static int parse_header_line(struct hoist_minihttp_parser *p,
			     struct hoist_err *err)
{
	const char *line = p->line;
	const char *colon;
	const char *value;
	size_t name_len;
	size_t value_len;

	if (line[0] == ' ' || line[0] == '\t')
		return fail(p, err, HOIST_E_HTTP, "folded header line");
	if (has_control(line, p->line_len))
		return fail(p, err, HOIST_E_HTTP, "control character in a "
			    "header line");
	colon = memchr(line, ':', p->line_len);
	if (!colon || colon == line)
		return fail(p, err, HOIST_E_HTTP, "invalid header line");
	name_len = (size_t)(colon - line);
	for (size_t i = 0; i < name_len; i++)
		if (!is_tchar((unsigned char)line[i]))
			return fail(p, err, HOIST_E_HTTP, "invalid header "
				    "name");
	value = colon + 1;
	value_len = p->line_len - name_len - 1;
	while (value_len > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		value_len--;
	}
	while (value_len > 0 && (value[value_len - 1] == ' ' ||
				 value[value_len - 1] == '\t'))
		value_len--;

	if (p->flags & FLAG_INFORMATIONAL)
		return 0;
	if (is_token(line, name_len, "Content-Length"))
		return parse_content_length(p, value, value_len, err);
	if (is_token(line, name_len, "Transfer-Encoding")) {
		if (for_each_token(value, value_len, coding_token, p) ||
		    !p->chunked)
			return fail(p, err, HOIST_E_HTTP, "unsupported "
				    "Transfer-Encoding");
		return 0;
	}
	if (is_token(line, name_len, "Connection"))
		for_each_token(value, value_len, connection_token, p);
	return 0;
}

/* Chooses how the body is framed once the head is complete. */
static int end_of_head(struct hoist_minihttp_parser *p, struct hoist_err *err)
{
	if (p->flags & FLAG_INFORMATIONAL) {
		p->state = ST_STATUS;
		return 0;
	}
	if (p->flags & FLAG_HTTP11)
		p->keep_alive = !(p->flags & FLAG_CONN_CLOSE);
	else
		p->keep_alive = (p->flags & FLAG_CONN_KEEP) &&
				!(p->flags & FLAG_CONN_CLOSE);

	if (p->head_request || p->status == 204 || p->status == 304) {
		p->state = ST_DONE;
		return 0;
	}
	if (p->chunked) {
		/* RFC 9112, 6.3: Transfer-Encoding overrides Content-Length,
		 * and such a connection must not be reused. */
		if (p->content_length >= 0)
			p->keep_alive = 0;
		p->state = ST_CHUNK_SIZE;
		return 0;
	}
	if (p->content_length >= 0) {
		if ((uint64_t)p->content_length > p->body.max) {
			p->state = ST_FAILED;
			return hoist_err_set(err, HOIST_E_NOMEM, "the response "
					     "body of %lld bytes is larger than "
					     "the limit of %zu bytes",
					     (long long)p->content_length,
					     p->body.max);
		}
		p->remaining = (uint64_t)p->content_length;
		p->state = p->remaining > 0 ? ST_BODY_LENGTH : ST_DONE;
		return 0;
	}
	p->keep_alive = 0;
	p->state = ST_BODY_CLOSE;
	return 0;
}

static int parse_chunk_size(struct hoist_minihttp_parser *p,
			    struct hoist_err *err)
{
	uint64_t size = 0;
	size_t i = 0;

	while (i < p->line_len && hex_value(p->line[i]) >= 0) {
		if (i == CHUNK_SIZE_DIGITS_MAX)
			return fail(p, err, HOIST_E_HTTP, "chunk size too "
				    "large");
		size = size * 16 + (uint64_t)hex_value(p->line[i]);
		i++;
	}
	if (i == 0)
		return fail(p, err, HOIST_E_HTTP, "invalid chunk size");
	while (i < p->line_len && (p->line[i] == ' ' || p->line[i] == '\t'))
		i++;
	/* A chunk extension starts with ';' and is ignored. */
	if ((i < p->line_len && p->line[i] != ';') ||
	    has_control(p->line, p->line_len))
		return fail(p, err, HOIST_E_HTTP, "invalid chunk size line");
	if (size == 0) {
		p->state = ST_TRAILER;
		return 0;
	}
	if (size > p->body.max - p->body.len) {
		p->state = ST_FAILED;
		return hoist_err_set(err, HOIST_E_NOMEM, "the response body "
				     "is larger than the limit of %zu bytes",
				     p->body.max);
	}
	p->remaining = size;
	p->state = ST_CHUNK_DATA;
	return 0;
}

/* Handles one complete line in the current line state. */
static int handle_line(struct hoist_minihttp_parser *p, struct hoist_err *err)
{
	size_t head_max = HOIST_MINIHTTP_HEAD_MAX;
	int rc = 0;

	/* Chunk-size lines are framing of the body, so from the first one
	 * on the lines may add up to more than the header limit. */
	if (p->state == ST_CHUNK_SIZE || p->state == ST_CHUNK_END ||
	    p->state == ST_TRAILER)
		head_max += p->body.max;
	if (p->head_bytes > head_max) {
		p->state = ST_FAILED;
		return hoist_err_set(err, HOIST_E_NOMEM, "the response headers "
				     "are larger than %u bytes",
				     HOIST_MINIHTTP_HEAD_MAX);
	}
	switch (p->state) {
	case ST_STATUS:
		rc = parse_status_line(p, err);
		break;
	case ST_HEADER:
		if (p->line_len == 0)
			rc = end_of_head(p, err);
		else
			rc = parse_header_line(p, err);
		break;
	case ST_CHUNK_SIZE:
		rc = parse_chunk_size(p, err);
		break;
	case ST_CHUNK_END:
		if (p->line_len != 0)
			return fail(p, err, HOIST_E_HTTP, "missing CRLF after "
				    "a chunk");
		p->state = ST_CHUNK_SIZE;
		break;
	case ST_TRAILER:
		if (p->line_len == 0)
			p->state = ST_DONE;
		else if (has_control(p->line, p->line_len))
			return fail(p, err, HOIST_E_HTTP, "control character "
				    "in a trailer line");
		break;
	default:
		break;
	}
	p->line_len = 0;
	return rc;
}

static int append_body(struct hoist_minihttp_parser *p, const char *data,
		       size_t len, struct hoist_err *err)
{
	if (hoist_buf_append(&p->body, data, len, NULL)) {
		p->state = ST_FAILED;
		return hoist_err_set(err, HOIST_E_NOMEM, "the response body "
				     "is larger than the limit of %zu bytes",
				     p->body.max);
	}
	return 0;
}

int hoist_minihttp_parser_feed(struct hoist_minihttp_parser *p,
			       const char *data, size_t len, size_t *consumed,
			       struct hoist_err *err)
{
	size_t pos = 0;

	*consumed = 0;
	if (p->state == ST_FAILED)
		return hoist_err_set(err, HOIST_E_HTTP, "the response parser "
				     "already failed");
	while (pos < len && p->state != ST_DONE) {
		size_t used = 0;
		size_t take;
		int rc;

		switch (p->state) {
		case ST_BODY_LENGTH:
		case ST_CHUNK_DATA:
			take = len - pos;
			if (take > p->remaining)
				take = (size_t)p->remaining;
			if (append_body(p, data + pos, take, err))
				return -1;
			pos += take;
			p->remaining -= take;
			if (p->remaining == 0)
				p->state = p->state == ST_CHUNK_DATA ?
					   ST_CHUNK_END : ST_DONE;
			break;
		case ST_BODY_CLOSE:
			if (append_body(p, data + pos, len - pos, err))
				return -1;
			pos = len;
			break;
		default:
			rc = take_line(p, data + pos, len - pos, &used, err);
			pos += used;
			if (rc < 0)
				return -1;
			if (rc > 0 && handle_line(p, err))
				return -1;
			break;
		}
	}
	*consumed = pos;
	return p->state == ST_DONE ? 1 : 0;
}

int hoist_minihttp_parser_eof(struct hoist_minihttp_parser *p,
			      struct hoist_err *err)
{
	if (p->state == ST_BODY_CLOSE)
		p->state = ST_DONE;
	if (p->state == ST_DONE)
		return 1;
	if (p->state != ST_FAILED)
		p->state = ST_FAILED;
	return hoist_err_set(err, HOIST_E_HTTP, "the server closed the "
			     "connection before the response was complete");
}
