/*
 * minihttp.h - a small blocking HTTP/1.1 client for hoist-agent's calls to
 * hoistd.
 *
 * It speaks plain http:// over TCP and keeps one connection to the server
 * open between requests (keep-alive).  Every request is bounded in time
 * (connect, send and receive share one deadline) and every response in size.
 * It exists so that hoist-agent needs neither libcurl nor a TLS library:
 * both load megabytes of shared pages into a process that should stay small.
 *
 * The response parser is separate from the socket code so that it can be
 * tested and fuzzed on its own.  No error message contains the bearer token.
 */
#ifndef HOIST_MINIHTTP_H
#define HOIST_MINIHTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* Default limit of a response body, in bytes. */
#define HOIST_MINIHTTP_BODY_MAX (1u << 20)
/* Limit of one status, header, chunk-size or trailer line, in bytes. */
#define HOIST_MINIHTTP_LINE_MAX 8192
/* Limit of all header and trailer lines of one response together. */
#define HOIST_MINIHTTP_HEAD_MAX (64u << 10)

/* ------------------------------------------------------------------ */
/* Response parser                                                      */
/* ------------------------------------------------------------------ */

struct hoist_minihttp_parser {
	int state;		/* internal */
	unsigned flags;		/* internal: what the current head said */
	int status;		/* status code of the final response */
	int keep_alive;		/* the connection may carry another request */
	int chunked;		/* Transfer-Encoding: chunked */
	int head_request;	/* the request was HEAD: no body follows */
	int64_t content_length;	/* -1 when absent */
	uint64_t remaining;	/* bytes left of the body or current chunk */
	size_t head_bytes;	/* header and trailer bytes seen so far */
	size_t line_len;
	char line[HOIST_MINIHTTP_LINE_MAX];
	struct hoist_buf body;	/* the decoded body, limited by body_max */
};

/*
 * Prepares p for one response.  body_max limits the decoded body (0 means
 * HOIST_MINIHTTP_BODY_MAX).  head_request is 1 when the request was HEAD,
 * whose response has headers only.  Release p with
 * hoist_minihttp_parser_release().
 */
void hoist_minihttp_parser_init(struct hoist_minihttp_parser *p,
				size_t body_max, int head_request);

void hoist_minihttp_parser_release(struct hoist_minihttp_parser *p);

/*
 * Parses the next len bytes of the response.  Informational (1xx)
 * responses before the final one are skipped.
 *
 * Returns 1 once the response is complete, with *consumed set to the bytes
 * of data that belong to it (bytes after them are not part of this
 * response).  Returns 0 when more data is needed, after consuming all of
 * data.  Returns -1 with HOIST_E_HTTP for a malformed or unsupported
 * response, or with HOIST_E_NOMEM when a line, the headers or the body
 * exceed their limits.  Messages quote bytes from the server with control
 * characters replaced.
 */
int hoist_minihttp_parser_feed(struct hoist_minihttp_parser *p,
			       const char *data, size_t len, size_t *consumed,
			       struct hoist_err *err);

/*
 * Tells p that the server closed the connection.  Returns 1 when that ends
 * the response (a body without Content-Length or chunked framing), or -1
 * with HOIST_E_HTTP when the response is incomplete.
 */
int hoist_minihttp_parser_eof(struct hoist_minihttp_parser *p,
			      struct hoist_err *err);

/* ------------------------------------------------------------------ */
/* Client                                                               */
/* ------------------------------------------------------------------ */

struct hoist_minihttp {
	char host[256];		/* name or address, IPv6 without brackets */
	char port[6];		/* decimal */
	char authority[270];	/* for the Host header, "[::1]:7341" */
	char base_path[512];	/* "" or "/prefix" without a trailing '/' */
	int fd;			/* the kept-alive connection, or -1 */
	unsigned reuses;	/* requests sent on fd after its first */
};

struct hoist_minihttp_request {
	const char *method;	/* "POST", "GET", ... */
	const char *path;	/* starts with '/', appended to base_path */
	const char *bearer;	/* token for "Authorization: Bearer", or NULL */
	const char *accept;	/* the Accept header, or NULL */
	const char *content_type;	/* of body, or NULL without a body */
	const void *body;	/* may be NULL */
	size_t body_len;
	long timeout_ms;	/* the whole request, connect included */
	size_t body_max;	/* response body limit, 0 for the default */
};

struct hoist_minihttp_response {
	int status;
	struct hoist_buf body;	/* owned, NUL-terminated */
};

/*
 * Parses url ("http://host[:port][/path]", host a name, an IPv4 address or
 * a bracketed IPv6 address, port 80 by default) into client; no connection
 * is opened yet.  Fails with HOIST_E_INVALID naming the URL and the reason;
 * an https:// URL is rejected with a hint to reach the server through a
 * TLS-terminating tunnel.
 */
int hoist_minihttp_init(struct hoist_minihttp *client, const char *url,
			struct hoist_err *err);

/* Closes the kept-alive connection, if any.  The client stays usable. */
void hoist_minihttp_close(struct hoist_minihttp *client);

/*
 * Sends req and waits for the response until req->timeout_ms passed.
 * Reuses the kept-alive connection when there is one.  When the server
 * closed that connection before any byte of the response arrived, the
 * request is sent once more on a new connection.  Any error closes the
 * connection.  On success resp holds the status and body
 * (whatever the status); the caller releases it with
 * hoist_minihttp_response_release().  Returns 0, or -1 with HOIST_E_HTTP
 * (connect failed, timed out, connection lost, malformed response),
 * HOIST_E_NOMEM (response too large) or HOIST_E_INVALID (bad request).
 *
 * NOTE: host names are resolved with getaddrinfo(), which blocks for the
 * resolver's own timeouts, not for req->timeout_ms.  An address literal
 * never waits for DNS.
 */
int hoist_minihttp_send(struct hoist_minihttp *client,
			const struct hoist_minihttp_request *req,
			struct hoist_minihttp_response *resp,
			struct hoist_err *err);

void hoist_minihttp_response_release(struct hoist_minihttp_response *resp);

#endif
