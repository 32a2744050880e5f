/*
 * Tests of the HTTP client (src/worker/minihttp.c) against a small server
 * on a loopback port, run by a thread of this test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "worker/minihttp.h"

#define TOKEN "secret-token-7f3a"

/* How the server treats each connection. */
struct server {
	int listen_fd;
	int port;
	const char *response;	/* sent for every request */
	int close_after;	/* close after this many responses (0: never) */
	int drop_after;		/* read the request after this many
				 * responses on a connection, then close
				 * without responding (-1: never) */
	int stall;		/* never respond */
	int connections;	/* accepted so far */
	int requests;		/* read so far */
	char last_request[16384];
	pthread_t thread;
	pthread_mutex_t lock;
};

/* Reads one request (head and Content-Length body) into buf.  Returns its
 * length, or 0 when the client closed the connection. */
static size_t read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0;

	for (;;) {
		char *end;
		ssize_t n;

		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			const char *cl = strstr(buf, "Content-Length: ");
			size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0;
			size_t total = (size_t)(end + 4 - buf) + body;

			if (len >= total)
				return total;
		}
		if (len + 1 >= cap)
			return len;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return 0;
		len += (size_t)n;
	}
}

static void serve_connection(struct server *srv, int fd)
{
	int served = 0;

	for (;;) {
		char request[sizeof(srv->last_request)];
		size_t len = read_request(fd, request, sizeof(request));

		if (len == 0)
			break;
		pthread_mutex_lock(&srv->lock);
		srv->requests++;
		memcpy(srv->last_request, request, len);
		srv->last_request[len] = '\0';
		pthread_mutex_unlock(&srv->lock);
		if (srv->stall) {
			/* Wait for the client to give up and close. */
			while (read(fd, request, sizeof(request)) > 0)
				;
			break;
		}
		if (srv->drop_after >= 0 && served == srv->drop_after)
			break;
		if (write(fd, srv->response, strlen(srv->response)) < 0)
			break;
		served++;
		if (srv->close_after > 0 && served == srv->close_after)
			break;
	}
	close(fd);
}

static void *server_main(void *arg)
{
	struct server *srv = arg;

	for (;;) {
		int fd = accept(srv->listen_fd, NULL, NULL);

		if (fd < 0)
			break;
		pthread_mutex_lock(&srv->lock);
		srv->connections++;
		pthread_mutex_unlock(&srv->lock);
		serve_connection(srv, fd);
	}
	return NULL;
}

static void server_start(struct server *srv, const char *response)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);

	memset(srv, 0, sizeof(*srv));
	srv->response = response;
	srv->drop_after = -1;
	pthread_mutex_init(&srv->lock, NULL);
	srv->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(srv->listen_fd >= 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(srv->listen_fd, (struct sockaddr *)&addr,
			      sizeof(addr)), 0);
	assert_int_equal(listen(srv->listen_fd, 8), 0);
	assert_int_equal(getsockname(srv->listen_fd, (struct sockaddr *)&addr,
				     &len), 0);
	srv->port = ntohs(addr.sin_port);
}

static void server_run(struct server *srv)
{
	assert_int_equal(pthread_create(&srv->thread, NULL, server_main, srv),
			 0);
}

static void server_stop(struct server *srv)
{
	shutdown(srv->listen_fd, SHUT_RDWR);
	pthread_join(srv->thread, NULL);
	close(srv->listen_fd);
	pthread_mutex_destroy(&srv->lock);
}

static void client_for(struct hoist_minihttp *client,
		       const struct server *srv)
{
	struct hoist_err err = HOIST_ERR_INIT;
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/base/", srv->port);
	assert_int_equal(hoist_minihttp_init(client, url, &err), 0);
}

static int post(struct hoist_minihttp *client, long timeout_ms,
		struct hoist_minihttp_response *resp, struct hoist_err *err)
{
	struct hoist_minihttp_request req;
	static const char body[] = "{\"state\":\"running\"}";

	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/v1/agent/heartbeat";
	req.bearer = TOKEN;
	req.accept = "application/json";
	req.content_type = "application/json";
	req.body = body;
	req.body_len = strlen(body);
	req.timeout_ms = timeout_ms;
	return hoist_minihttp_send(client, &req, resp, err);
}

static const char ok_response[] =
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	"Content-Length: 23\r\n\r\n{\"action\": \"continue\"}\n";

static void test_url_parsing(void **state)
{
	static const struct {
		const char *url;
		const char *host;
		const char *port;
		const char *authority;
		const char *base_path;
	} valid[] = {
		{ "http://127.0.0.1:7341", "127.0.0.1", "7341",
		  "127.0.0.1:7341", "" },
		{ "HTTP://hoistd.example:80/api//", "hoistd.example", "80",
		  "hoistd.example:80", "/api" },
		{ "http://[::1]:9000/", "::1", "9000", "[::1]:9000", "" },
		{ "http://localhost", "localhost", "80", "localhost", "" },
	};
	static const struct {
		const char *url;
		const char *needle;
	} invalid[] = {
		{ "https://hoistd.example", "TLS-terminating tunnel" },
		{ "ftp://hoistd.example", "scheme is not http://" },
		{ "http://", "host is missing" },
		{ "http://user:pw@host", "user information" },
		{ "http://host:0", "not in 1 to 65535" },
		{ "http://host:70000", "not in 1 to 65535" },
		{ "http://host:", "invalid port" },
		{ "http://host:80x", "invalid port" },
		{ "http://ho st", "space" },
		{ "http://host/a?b=c", "query or fragment" },
		{ "http://[::1", "missing ']'" },
		{ "http://[::1]x", "unexpected text" },
		{ "http://ho$t", "invalid character" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		struct hoist_minihttp client;
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(hoist_minihttp_init(&client, valid[i].url,
						     &err), 0);
		assert_string_equal(client.host, valid[i].host);
		assert_string_equal(client.port, valid[i].port);
		assert_string_equal(client.authority, valid[i].authority);
		assert_string_equal(client.base_path, valid[i].base_path);
		assert_int_equal(client.fd, -1);
	}
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct hoist_minihttp client;
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(hoist_minihttp_init(&client, invalid[i].url,
						     &err), -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
		if (!strstr(err.msg, invalid[i].needle))
			fail_msg("%s: '%s' not in '%s'", invalid[i].url,
				 invalid[i].needle, err.msg);
	}
}

static void test_keep_alive_reuses_connection(void **state)
{
	struct hoist_minihttp client;
	struct server srv;

	(void)state;
	server_start(&srv, ok_response);
	server_run(&srv);
	client_for(&client, &srv);
	for (int i = 0; i < 3; i++) {
		struct hoist_minihttp_response resp;
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(post(&client, 2000, &resp, &err), 0);
		assert_int_equal(resp.status, 200);
		assert_string_equal(resp.body.data,
				    "{\"action\": \"continue\"}\n");
		hoist_minihttp_response_release(&resp);
	}
	assert_int_equal(client.reuses, 3);
	hoist_minihttp_close(&client);
	server_stop(&srv);

	assert_int_equal(srv.connections, 1);
	assert_int_equal(srv.requests, 3);
	assert_non_null(strstr(srv.last_request,
			       "POST /base/v1/agent/heartbeat HTTP/1.1\r\n"));
	assert_non_null(strstr(srv.last_request, "\r\nHost: 127.0.0.1:"));
	assert_non_null(strstr(srv.last_request,
			       "\r\nAuthorization: Bearer " TOKEN "\r\n"));
	assert_non_null(strstr(srv.last_request,
			       "\r\nContent-Length: 19\r\n"));
	assert_non_null(strstr(srv.last_request,
			       "\r\n\r\n{\"state\":\"running\"}"));
}

static void test_connection_close_reconnects(void **state)
{
	static const char response[] =
		"HTTP/1.1 200 OK\r\nConnection: close\r\n"
		"Content-Length: 2\r\n\r\n{}";
	struct hoist_minihttp client;
	struct server srv;

	(void)state;
	server_start(&srv, response);
	server_run(&srv);
	client_for(&client, &srv);
	for (int i = 0; i < 2; i++) {
		struct hoist_minihttp_response resp;
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(post(&client, 2000, &resp, &err), 0);
		assert_int_equal(client.fd, -1);
		hoist_minihttp_response_release(&resp);
	}
	server_stop(&srv);
	assert_int_equal(srv.connections, 2);
}

static void test_idle_close_detected(void **state)
{
	struct hoist_minihttp client;
	struct server srv;

	(void)state;
	/* The server closes each connection after one response without
	 * saying so; the client notices before it sends the next request. */
	server_start(&srv, ok_response);
	srv.close_after = 1;
	server_run(&srv);
	client_for(&client, &srv);
	for (int i = 0; i < 2; i++) {
		struct hoist_minihttp_response resp;
		struct hoist_err err = HOIST_ERR_INIT;

		assert_int_equal(post(&client, 2000, &resp, &err), 0);
		hoist_minihttp_response_release(&resp);
		usleep(50 * 1000);
	}
	hoist_minihttp_close(&client);
	server_stop(&srv);
	assert_int_equal(srv.connections, 2);
	assert_int_equal(srv.requests, 2);
}

static void test_dropped_request_retried(void **state)
{
	struct hoist_minihttp client;
	struct hoist_minihttp_response resp;
	struct hoist_err err = HOIST_ERR_INIT;
	struct server srv;

	(void)state;
	/* The second request on a connection is read and dropped: the
	 * client sends it again on a new connection. */
	server_start(&srv, ok_response);
	srv.drop_after = 1;
	server_run(&srv);
	client_for(&client, &srv);
	assert_int_equal(post(&client, 2000, &resp, &err), 0);
	hoist_minihttp_response_release(&resp);
	assert_int_equal(post(&client, 2000, &resp, &err), 0);
	assert_int_equal(resp.status, 200);
	hoist_minihttp_response_release(&resp);
	hoist_minihttp_close(&client);
	server_stop(&srv);
	assert_int_equal(srv.connections, 2);
	assert_int_equal(srv.requests, 3);
}

static void test_fresh_connection_not_retried(void **state)
{
	struct hoist_minihttp client;
	struct hoist_minihttp_response resp;
	struct hoist_err err = HOIST_ERR_INIT;
	struct server srv;

	(void)state;
	server_start(&srv, ok_response);
	srv.drop_after = 0;
	server_run(&srv);
	client_for(&client, &srv);
	assert_int_equal(post(&client, 2000, &resp, &err), -1);
	assert_int_equal(err.code, HOIST_E_HTTP);
	assert_non_null(strstr(err.msg, "closed the connection"));
	assert_non_null(strstr(err.msg, "POST http://127.0.0.1:"));
	assert_null(strstr(err.msg, TOKEN));
	assert_int_equal(client.fd, -1);
	server_stop(&srv);
	assert_int_equal(srv.connections, 1);
	assert_int_equal(srv.requests, 1);
}

static void test_response_timeout(void **state)
{
	struct hoist_minihttp client;
	struct hoist_minihttp_response resp;
	struct hoist_err err = HOIST_ERR_INIT;
	struct server srv;
	int64_t started;
	int64_t took;

	(void)state;
	server_start(&srv, ok_response);
	srv.stall = 1;
	server_run(&srv);
	client_for(&client, &srv);
	started = hoist_clock_mono_ms();
	assert_int_equal(post(&client, 300, &resp, &err), -1);
	took = hoist_clock_mono_ms() - started;
	assert_true(took >= 290);
	assert_true(took < 2000);
	assert_non_null(strstr(err.msg, "timed out after 300 ms"));
	assert_null(strstr(err.msg, TOKEN));
	assert_int_equal(client.fd, -1);
	server_stop(&srv);
}

static void test_connection_refused(void **state)
{
	struct hoist_minihttp client;
	struct hoist_minihttp_response resp;
	struct hoist_err err = HOIST_ERR_INIT;
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	char url[64];
	int fd;

	(void)state;
	/* A bound socket that does not listen refuses connections. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d",
		 ntohs(addr.sin_port));
	assert_int_equal(hoist_minihttp_init(&client, url, &err), 0);
	assert_int_equal(post(&client, 2000, &resp, &err), -1);
	assert_int_equal(err.code, HOIST_E_HTTP);
	assert_non_null(strstr(err.msg, "cannot connect to 127.0.0.1:"));
	assert_non_null(strstr(err.msg, "refused"));
	assert_int_equal(client.fd, -1);
	close(fd);
}

static void test_large_response_rejected(void **state)
{
	static const char response[] =
		"HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n";
	struct hoist_minihttp client;
	struct hoist_minihttp_response resp;
	struct hoist_err err = HOIST_ERR_INIT;
	struct server srv;

	(void)state;
	server_start(&srv, response);
	server_run(&srv);
	client_for(&client, &srv);
	assert_int_equal(post(&client, 2000, &resp, &err), -1);
	assert_int_equal(err.code, HOIST_E_NOMEM);
	assert_non_null(strstr(err.msg, "limit of 1048576 bytes"));
	hoist_minihttp_close(&client);
	server_stop(&srv);
}

static void test_chunked_error_status(void **state)
{
	static const char response[] =
		"HTTP/1.1 410 Gone\r\nTransfer-Encoding: chunked\r\n\r\n"
		"b\r\n{\"error\": \"\r\n8\r\nrevoked\"\r\n1\r\n}\r\n0\r\n\r\n";
	struct hoist_minihttp client;
	struct hoist_minihttp_response resp;
	struct hoist_err err = HOIST_ERR_INIT;
	struct server srv;

	(void)state;
	server_start(&srv, response);
	server_run(&srv);
	client_for(&client, &srv);
	assert_int_equal(post(&client, 2000, &resp, &err), 0);
	assert_int_equal(resp.status, 410);
	assert_string_equal(resp.body.data, "{\"error\": \"revoked\"}");
	assert_true(client.fd >= 0);
	hoist_minihttp_response_release(&resp);
	hoist_minihttp_close(&client);
	server_stop(&srv);
}

static void test_invalid_requests(void **state)
{
	struct hoist_minihttp client;
	struct hoist_minihttp_request req;
	struct hoist_minihttp_response resp;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	assert_int_equal(hoist_minihttp_init(&client, "http://127.0.0.1:9",
					     &err), 0);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.path = "/v1/x y";
	assert_int_equal(hoist_minihttp_send(&client, &req, &resp, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);

	hoist_err_clear(&err);
	req.path = "/v1/agent/claim";
	req.bearer = "bad\r\ntoken";
	assert_int_equal(hoist_minihttp_send(&client, &req, &resp, &err), -1);
	assert_int_equal(err.code, HOIST_E_INVALID);
	assert_null(strstr(err.msg, "bad"));
	hoist_minihttp_response_release(&resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_parsing),
		cmocka_unit_test(test_keep_alive_reuses_connection),
		cmocka_unit_test(test_connection_close_reconnects),
		cmocka_unit_test(test_idle_close_detected),
		cmocka_unit_test(test_dropped_request_retried),
		cmocka_unit_test(test_fresh_connection_not_retried),
		cmocka_unit_test(test_response_timeout),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_large_response_rejected),
		cmocka_unit_test(test_chunked_error_status),
		cmocka_unit_test(test_invalid_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
