/*
 * minihttp.c - the connection side of minihttp.h: URL parsing,
 * non-blocking connect, sending the request and reading the response under
 * one deadline, and keep-alive reuse of one connection.
 */
#include "worker/minihttp.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/clock.h"

#ifndef HOIST_VERSION
#define HOIST_VERSION "unknown"
#endif

/* Limit of the request line and headers that the client writes. */
#define REQUEST_HEAD_MAX 8192
#define RECV_CHUNK 16384

/* ------------------------------------------------------------------ */
/* URL                                                                  */
/* ------------------------------------------------------------------ */

static int url_error(struct hoist_err *err, const char *url,
		     const char *reason)
{
	return hoist_err_set(err, HOIST_E_INVALID, "invalid URL '%.300s': %s "
			     "(expected http://HOST[:PORT][/PATH])", url,
			     reason);
}

static int host_char_valid(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

static int ipv6_char_valid(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
	       (c >= '0' && c <= '9') || c == ':' || c == '.';
}

/* Parses "host[:port]" of len bytes into client. */
static int parse_authority(struct hoist_minihttp *client, const char *url,
			   const char *auth, size_t len, struct hoist_err *err)
{
	const char *host = auth;
	size_t host_len;
	const char *port = NULL;
	size_t port_len = 0;
	unsigned long port_value = 0;

	if (len == 0)
		return url_error(err, url, "the host is missing");
	if (memchr(auth, '@', len))
		return url_error(err, url, "user information is not "
				 "supported");
	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', len);

		if (!close)
			return url_error(err, url, "missing ']' after the "
					 "IPv6 address");
		host = auth + 1;
		host_len = (size_t)(close - host);
		for (size_t i = 0; i < host_len; i++)
			if (!ipv6_char_valid(host[i]))
				return url_error(err, url, "invalid IPv6 "
						 "address");
		if (close + 1 < auth + len) {
			if (close[1] != ':')
				return url_error(err, url, "unexpected text "
						 "after the IPv6 address");
			port = close + 2;
			port_len = (size_t)(auth + len - port);
		}
	} else {
		const char *colon = memchr(auth, ':', len);

		host_len = colon ? (size_t)(colon - auth) : len;
		for (size_t i = 0; i < host_len; i++)
			if (!host_char_valid(host[i]))
				return url_error(err, url, "invalid character "
						 "in the host");
		if (colon) {
			port = colon + 1;
			port_len = (size_t)(auth + len - port);
		}
	}
	if (host_len == 0 || host_len >= sizeof(client->host))
		return url_error(err, url, "the host is empty or too long");
	if (port) {
		if (port_len == 0 || port_len > 5)
			return url_error(err, url, "invalid port");
		for (size_t i = 0; i < port_len; i++) {
			if (port[i] < '0' || port[i] > '9')
				return url_error(err, url, "invalid port");
			port_value = port_value * 10 +
				     (unsigned long)(port[i] - '0');
		}
		if (port_value == 0 || port_value > 65535)
			return url_error(err, url, "the port is not in 1 to "
					 "65535");
	} else {
		port_value = 80;
	}
	if (len >= sizeof(client->authority))
		return url_error(err, url, "the host is too long");
	memcpy(client->host, host, host_len);
	client->host[host_len] = '\0';
	snprintf(client->port, sizeof(client->port), "%lu", port_value);
	memcpy(client->authority, auth, len);
	client->authority[len] = '\0';
	return 0;
}

int hoist_minihttp_init(struct hoist_minihttp *client, const char *url,
			struct hoist_err *err)
{
	const char *auth;
	const char *path;
	size_t path_len;

	memset(client, 0, sizeof(*client));
	client->fd = -1;
	if (strncasecmp(url, "https://", 8) == 0)
		return hoist_err_set(err, HOIST_E_INVALID, "https:// URLs are "
				     "not supported: '%.300s'; hoist-agent "
				     "speaks plain HTTP, so reach a TLS "
				     "endpoint through a local TLS-terminating "
				     "tunnel (such as stunnel or ssh -L) and "
				     "give its http://127.0.0.1:PORT address",
				     url);
	if (strncasecmp(url, "http://", 7) != 0)
		return url_error(err, url, "the scheme is not http://");
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return url_error(err, url, "it contains a space, a "
					 "control character or a non-ASCII "
					 "byte");
	auth = url + 7;
	path = auth + strcspn(auth, "/?#");
	if (parse_authority(client, url, auth, (size_t)(path - auth), err))
		return -1;
	if (strpbrk(path, "?#"))
		return url_error(err, url, "a query or fragment is not "
				 "supported");
	path_len = strlen(path);
	while (path_len > 0 && path[path_len - 1] == '/')
		path_len--;
	if (path_len >= sizeof(client->base_path))
		return url_error(err, url, "the path is too long");
	memcpy(client->base_path, path, path_len);
	client->base_path[path_len] = '\0';
	return 0;
}

void hoist_minihttp_close(struct hoist_minihttp *client)
{
	if (client->fd >= 0)
		close(client->fd);
	client->fd = -1;
	client->reuses = 0;
}

void hoist_minihttp_response_release(struct hoist_minihttp_response *resp)
{
	hoist_buf_release(&resp->body);
}

/* ------------------------------------------------------------------ */
/* Socket I/O under a deadline                                          */
/* ------------------------------------------------------------------ */

/* Waits until fd is ready for events or deadline_ms (monotonic) passed.
 * Returns 1 when ready, 0 on timeout, -1 with errno on a poll failure. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		struct pollfd pfd = { fd, events, 0 };
		int64_t left = deadline_ms - hoist_clock_mono_ms();
		int rc;

		if (left <= 0)
			return 0;
		rc = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

static void describe_address(const struct addrinfo *ai, char *out,
			     size_t outlen)
{
	char host[NI_MAXHOST];
	char port[NI_MAXSERV];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), port,
			sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, outlen, "the server");
		return;
	}
	if (ai->ai_family == AF_INET6)
		snprintf(out, outlen, "[%s]:%s", host, port);
	else
		snprintf(out, outlen, "%s:%s", host, port);
}

/* Connects one address.  Returns the socket, or -1 with *errnum set
 * (ETIMEDOUT when the deadline passed). */
static int connect_address(const struct addrinfo *ai, int64_t deadline_ms,
			   int *errnum)
{
	socklen_t len = sizeof(*errnum);
	int one = 1;
	int fd;
	int rc;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*errnum = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			*errnum = errno;
			goto fail;
		}
		rc = wait_fd(fd, POLLOUT, deadline_ms);
		if (rc <= 0) {
			*errnum = rc == 0 ? ETIMEDOUT : errno;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, errnum, &len) != 0)
			*errnum = errno;
		if (*errnum != 0)
			goto fail;
	}
	/* The request goes out in one sendmsg() per buffer, and the response
	 * must not wait for a delayed ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
fail:
	close(fd);
	return -1;
}

static int connect_server(struct hoist_minihttp *client, int64_t deadline_ms,
			  long timeout_ms, struct hoist_err *err)
{
	struct addrinfo hints;
	struct addrinfo *list = NULL;
	char where[NI_MAXHOST + NI_MAXSERV + 8] = "";
	int errnum = 0;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/* An address literal is converted without asking the resolver. */
	hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
	rc = getaddrinfo(client->host, client->port, &hints, &list);
	if (rc == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(client->host, client->port, &hints, &list);
	}
	if (rc != 0)
		return hoist_err_set(err, HOIST_E_HTTP, "cannot resolve '%s': "
				     "%s", client->host,
				     rc == EAI_SYSTEM ? strerror(errno) :
				     gai_strerror(rc));
	for (struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		describe_address(ai, where, sizeof(where));
		client->fd = connect_address(ai, deadline_ms, &errnum);
		if (client->fd >= 0 || errnum == ETIMEDOUT)
			break;
	}
	freeaddrinfo(list);
	if (client->fd >= 0)
		return 0;
	if (errnum == ETIMEDOUT)
		return hoist_err_set(err, HOIST_E_HTTP, "connecting to %s timed "
				     "out after %ld ms", where, timeout_ms);
	return hoist_err_set(err, HOIST_E_HTTP, "cannot connect to %s: %s",
			     where, strerror(errnum));
}

/* Returns 1 when a kept-alive connection looks open.  A readable socket
 * means that the server closed it or sent bytes that no request asked for. */
static int connection_idle(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };

	return poll(&pfd, 1, 0) == 0;
}

/* Outcome of one exchange on one connection. */
struct exchange {
	int reused;		/* the connection carried a request before */
	int retryable;		/* lost before any byte of the response */
	size_t received;	/* bytes of the response read */
};

static int send_request(struct hoist_minihttp *client, struct iovec *iov,
			int iovcnt, int64_t deadline_ms, long timeout_ms,
			struct exchange *ex, struct hoist_err *err)
{
	struct msghdr msg;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)iovcnt;
	while (msg.msg_iovlen > 0) {
		ssize_t n = sendmsg(client->fd, &msg, MSG_NOSIGNAL);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = wait_fd(client->fd, POLLOUT, deadline_ms);
			if (rc == 0)
				return hoist_err_set(err, HOIST_E_HTTP,
						     "sending the request timed"
						     " out after %ld ms",
						     timeout_ms);
			if (rc < 0)
				return hoist_err_set(err, HOIST_E_HTTP,
						     "poll failed: %s",
						     strerror(errno));
			continue;
		}
		if (n < 0) {
			ex->retryable = ex->reused;
			return hoist_err_set(err, HOIST_E_HTTP, "cannot send "
					     "the request: %s",
					     strerror(errno));
		}
		while (msg.msg_iovlen > 0 &&
		       (size_t)n >= msg.msg_iov[0].iov_len) {
			n -= (ssize_t)msg.msg_iov[0].iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen > 0) {
			msg.msg_iov[0].iov_base =
				(char *)msg.msg_iov[0].iov_base + n;
			msg.msg_iov[0].iov_len -= (size_t)n;
		}
	}
	return 0;
}

static int read_response(struct hoist_minihttp *client,
			 struct hoist_minihttp_parser *parser,
			 int64_t deadline_ms, long timeout_ms,
			 struct exchange *ex, struct hoist_err *err)
{
	char chunk[RECV_CHUNK];

	for (;;) {
		ssize_t n = recv(client->fd, chunk, sizeof(chunk), 0);
		size_t consumed;
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			rc = wait_fd(client->fd, POLLIN, deadline_ms);
			if (rc == 0)
				return hoist_err_set(err, HOIST_E_HTTP,
						     "timed out after %ld ms "
						     "waiting for the response",
						     timeout_ms);
			if (rc < 0)
				return hoist_err_set(err, HOIST_E_HTTP,
						     "poll failed: %s",
						     strerror(errno));
			continue;
		}
		if (n <= 0) {
			if (ex->received == 0)
				ex->retryable = ex->reused;
			if (n < 0)
				return hoist_err_set(err, HOIST_E_HTTP,
						     "cannot read the response:"
						     " %s", strerror(errno));
			return hoist_minihttp_parser_eof(parser, err) == 1 ?
			       0 : -1;
		}
		ex->received += (size_t)n;
		rc = hoist_minihttp_parser_feed(parser, chunk, (size_t)n,
						&consumed, err);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			/* Bytes after the response were never asked for. */
			if (consumed < (size_t)n)
				parser->keep_alive = 0;
			return 0;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */
/* ------------------------------------------------------------------ */

static int token_valid(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int check_request(const struct hoist_minihttp_request *req,
			 struct hoist_err *err)
{
	for (const char *p = req->method; p && *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || *p == '-'))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid HTTP method '%.20s'",
					     req->method);
	if (!req->method || !*req->method)
		return hoist_err_set(err, HOIST_E_INVALID, "the HTTP method is "
				     "missing");
	if (!req->path || req->path[0] != '/' || !token_valid(req->path))
		return hoist_err_set(err, HOIST_E_INVALID, "invalid request "
				     "path '%.200s' (expected '/' followed "
				     "by printable ASCII)",
				     req->path ? req->path : "(null)");
	if (req->bearer && !token_valid(req->bearer))
		return hoist_err_set(err, HOIST_E_INVALID, "the bearer token "
				     "contains a space, a control character "
				     "or a non-ASCII byte");
	if (req->content_type && !token_valid(req->content_type))
		return hoist_err_set(err, HOIST_E_INVALID, "invalid "
				     "Content-Type '%.100s'",
				     req->content_type);
	if (req->accept && !token_valid(req->accept))
		return hoist_err_set(err, HOIST_E_INVALID, "invalid Accept "
				     "'%.100s'", req->accept);
	return 0;
}

static int build_head(const struct hoist_minihttp *client,
		      const struct hoist_minihttp_request *req,
		      struct hoist_buf *head, struct hoist_err *err)
{
	if (hoist_buf_appendf(head, err, "%s %s%s HTTP/1.1\r\n"
			      "Host: %s\r\n"
			      "User-Agent: hoist-agent/%s\r\n"
			      "Connection: keep-alive\r\n",
			      req->method, client->base_path, req->path,
			      client->authority, HOIST_VERSION))
		return -1;
	if (req->accept &&
	    hoist_buf_appendf(head, err, "Accept: %s\r\n", req->accept))
		return -1;
	if (req->bearer &&
	    hoist_buf_appendf(head, err, "Authorization: Bearer %s\r\n",
			      req->bearer))
		return -1;
	if (req->content_type &&
	    hoist_buf_appendf(head, err, "Content-Type: %s\r\n",
			      req->content_type))
		return -1;
	if ((req->body_len > 0 || strcmp(req->method, "POST") == 0 ||
	     strcmp(req->method, "PUT") == 0) &&
	    hoist_buf_appendf(head, err, "Content-Length: %zu\r\n",
			      req->body_len))
		return -1;
	return hoist_buf_append(head, "\r\n", 2, err);
}

/* Sends the request once on the current or a new connection. */
static int exchange_once(struct hoist_minihttp *client,
			 const struct hoist_minihttp_request *req,
			 const struct hoist_buf *head,
			 struct hoist_minihttp_parser *parser,
			 int64_t deadline_ms, struct exchange *ex,
			 struct hoist_err *err)
{
	struct iovec iov[2];
	int iovcnt = 1;

	if (client->fd >= 0 && !connection_idle(client->fd))
		hoist_minihttp_close(client);
	ex->reused = client->fd >= 0;
	if (client->fd < 0 &&
	    connect_server(client, deadline_ms, req->timeout_ms, err))
		return -1;

	iov[0].iov_base = head->data;
	iov[0].iov_len = head->len;
	if (req->body_len > 0) {
		iov[1].iov_base = (void *)req->body;
		iov[1].iov_len = req->body_len;
		iovcnt = 2;
	}
	if (send_request(client, iov, iovcnt, deadline_ms, req->timeout_ms,
			 ex, err))
		return -1;
	return read_response(client, parser, deadline_ms, req->timeout_ms, ex,
			     err);
}

int hoist_minihttp_send(struct hoist_minihttp *client,
			const struct hoist_minihttp_request *req,
			struct hoist_minihttp_response *resp,
			struct hoist_err *err)
{
	struct hoist_minihttp_parser parser;
	struct hoist_buf head;
	int64_t deadline_ms;
	int is_head = req->method && strcmp(req->method, "HEAD") == 0;
	int rc = -1;

	resp->status = 0;
	hoist_buf_init(&resp->body, 0);
	hoist_buf_init(&head, REQUEST_HEAD_MAX);
	hoist_minihttp_parser_init(&parser, req->body_max, is_head);
	if (check_request(req, err) || build_head(client, req, &head, err))
		goto out;
	deadline_ms = hoist_clock_mono_ms() +
		      (req->timeout_ms > 0 ? req->timeout_ms : 5000);

	for (int attempt = 0;; attempt++) {
		struct hoist_err attempt_err = HOIST_ERR_INIT;
		struct exchange ex = { 0, 0, 0 };

		if (exchange_once(client, req, &head, &parser, deadline_ms,
				  &ex, &attempt_err) == 0)
			break;
		hoist_minihttp_close(client);
		/* A reused connection that fails before the first byte of
		 * the response was almost always closed by the server while
		 * idle, before the request arrived; RFC 9112, 9.3.1 lets a
		 * client send the request again on a new connection then.
		 * The rare case where the server did process it costs a
		 * duplicate request. */
		if (!ex.retryable || attempt > 0) {
			hoist_err_set(err, attempt_err.code, "%s",
				      attempt_err.msg);
			goto out;
		}
		hoist_minihttp_parser_release(&parser);
		hoist_minihttp_parser_init(&parser, req->body_max, is_head);
	}

	if (parser.keep_alive)
		client->reuses++;
	else
		hoist_minihttp_close(client);
	resp->status = parser.status;
	resp->body = parser.body;
	hoist_buf_init(&parser.body, 0);
	rc = 0;
out:
	if (rc)
		hoist_err_prefix(err, "%s http://%s%s%s", req->method ?
				 req->method : "request", client->authority,
				 client->base_path,
				 req->path ? req->path : "");
	if (head.data)
		explicit_bzero(head.data, head.len);
	hoist_buf_release(&head);
	hoist_minihttp_parser_release(&parser);
	return rc;
}
