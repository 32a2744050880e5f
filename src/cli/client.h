/*
 * client.h - the connection of the hoist CLI to hoistd.
 *
 * The CLI never opens the job store: everything goes through hoistd's
 * HTTP JSON API (docs/protocol.md, "CLI endpoints").  hoistd is found
 * through HOIST_URL, else through $HOIST_HOME/hoistd.url.  When nothing
 * responds there, a background hoistd is started.
 */
#ifndef HOIST_CLI_CLIENT_H
#define HOIST_CLI_CLIENT_H

#include <limits.h>

#include <jansson.h>

#include "common/err.h"

#define HOIST_CLI_URL_MAX 256

struct hoist_cli_client {
	char url[HOIST_CLI_URL_MAX];	/* "http://127.0.0.1:7341", no '/' */
	char home[PATH_MAX];		/* $HOIST_HOME or its default */
	char *token;			/* admin token, owned, or NULL */
	int url_from_env;		/* url came from HOIST_URL */
	long pid;			/* pid from the health check of the
					 * hoistd in hoistd.url, or 0 */
};

/*
 * Finds hoistd and fills client.  When HOIST_URL is unset and hoistd.url
 * names nothing that responds to GET /v1/health, starts a background
 * hoistd and prints "started hoistd (...)" to stderr.  Reads the admin
 * token from HOIST_TOKEN or $HOIST_HOME/admin.token.  A missing token file
 * is not an error here, because hoistd rejects the request with a clearer
 * message.  Returns 0, or -1 with err filled.  Release the client with
 * hoist_cli_client_close() in both cases.
 */
int hoist_cli_client_open(struct hoist_cli_client *client,
			  struct hoist_err *err);

/* Finds hoistd like hoist_cli_client_open() but never starts one: when
 * HOIST_URL is unset and nothing responds at the URL in hoistd.url, it
 * returns -1 with HOIST_E_NOT_FOUND. */
int hoist_cli_client_find(struct hoist_cli_client *client,
			  struct hoist_err *err);
void hoist_cli_client_close(struct hoist_cli_client *client);

/*
 * Sends METHOD url+path with body (or NULL) and the admin token, and
 * stores the parsed 2xx JSON response in *out (owned by the caller, NULL
 * for an empty body).  On an error status err contains hoistd's "error"
 * message; on a transport failure it names the URL and the log of hoistd.
 */
int hoist_cli_client_call(struct hoist_cli_client *client, const char *method,
			  const char *path, json_t *body, json_t **out,
			  struct hoist_err *err);

/*
 * Reads the URL that hoistd wrote to path (one line, "http://host:port")
 * into out without the trailing newline.  Returns 0, or -1 with
 * HOIST_E_NOT_FOUND when the file does not exist and HOIST_E_INVALID when
 * it does not contain one http or https URL.
 */
int hoist_cli_read_url_file(const char *path, char *out, size_t outlen,
			    struct hoist_err *err);

/* Checks a URL given by HOIST_URL or hoistd.url and copies it into out
 * without trailing slashes; what names its source in the error. */
int hoist_cli_check_url(const char *url, const char *what, char *out,
			size_t outlen, struct hoist_err *err);

/*
 * Checks that id, taken from the command line, can be put into a URL
 * path: 1 to 128 characters of [A-Za-z0-9._-], not "." or "..".  kind
 * ("job", "instance") names it in the error.
 */
int hoist_cli_check_id(const char *kind, const char *id,
		       struct hoist_err *err);

/*
 * Stores in out the GPU profiles file to use when no --profiles is given
 * ($HOIST_CONFIG_DIR, the source tree of this build, /etc/hoist) and in
 * *source a phrase naming where it came from.
 */
void hoist_cli_default_profiles_path(char *out, size_t outlen,
				     const char **source);

#endif
