/*
 * Tests of the parts of the Vast.ai provider that need no server: GPU
 * names, instance states, tolerant JSON, error payloads, profiles, offer
 * queries, prices, ranking and the check of a new rental.  The payloads
 * are the ones that the Vast.ai API documentation lists.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "providers/vast_gpu.h"
#include "providers/vast_http.h"
#include "providers/vast_instance.h"
#include "providers/vast_json.h"
#include "providers/vast_offers.h"

#define SECRET "vk-3f9a2c1d7e5b4a60-secret"

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *value = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (!value)
		fail_msg("invalid test JSON at line %d: %s: %s", jerr.line,
			 jerr.text, text);
	return value;
}

/* ------------------------------------------------------------------ */
/* GPU names                                                           */
/* ------------------------------------------------------------------ */

static void gpu_canon_spellings_agree(void **state)
{
	static const char *const spellings[] = {
		"RTX_4090", "rtx 4090", "4090", "RTX 4090", "GeForce RTX 4090",
		"NVIDIA RTX4090", "rtx-4090",
	};
	char canon[HOIST_VAST_GPU_NAME_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]);
	     i++) {
		assert_int_equal(hoist_vast_gpu_canon(spellings[i], canon,
						      sizeof(canon)), 0);
		assert_string_equal(canon, "4090");
		assert_int_equal(hoist_vast_gpu_match(spellings[i],
						      "RTX 4090"), 1);
	}
	assert_int_equal(hoist_vast_gpu_canon("a100-sxm4-80gb", canon,
					      sizeof(canon)), 0);
	assert_string_equal(canon, "A100 SXM4");
	assert_int_equal(hoist_vast_gpu_canon("NVIDIA", canon, sizeof(canon)),
			 -1);
	assert_string_equal(canon, "");
	assert_int_equal(hoist_vast_gpu_canon("", canon, sizeof(canon)), -1);
}

struct match_case {
	const char *wanted;
	const char *offered;
	int match;
};

static void gpu_match_table(void **state)
{
	static const struct match_case cases[] = {
		{ "L4", "L4", 1 },
		{ "L4", "L40", 0 },
		{ "L40", "L4", 0 },
		{ "L40", "L40S", 0 },
		{ "l40s", "L40S", 1 },
		{ "A100", "A100 SXM4", 1 },
		{ "A100", "A100 PCIE", 1 },
		{ "A100", "A100X", 0 },
		{ "A100 PCIE", "A100 SXM4", 0 },
		{ "A100 PCIe", "A100 PCIE", 1 },
		{ "A100 SXM4", "A100 SXM4", 1 },
		{ "A100 SXM4", "A100 PCIE", 0 },
		{ "A100 80GB", "A100 SXM4", 1 },
		{ "H100", "H100 SXM", 1 },
		{ "H100", "H100 NVL", 0 },
		{ "H100 SXM", "H100 SXM5", 1 },
		{ "H100 SXM", "H100 PCIE", 0 },
		{ "RTX 3080", "RTX 3080 Ti", 0 },
		{ "RTX 3080 Ti", "RTX 3080 Ti", 1 },
		{ "3080ti", "RTX 3080 Ti", 1 },
		{ "4080", "RTX 4080S", 0 },
		{ "V100", "Tesla V100", 1 },
		{ "A5000", "RTX A5000", 1 },
		{ "RTX 8000", "Q RTX 8000", 1 },
		{ "RTX 6000", "RTX 6000Ada", 0 },
		{ "RTX 6000 Ada", "RTX 6000Ada", 1 },
		{ "4090", "RTX 4090", 1 },
		{ "4090", "RTX 3090", 0 },
		{ "NVIDIA", "RTX 4090", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = hoist_vast_gpu_match(cases[i].wanted,
					       cases[i].offered);

		if (got != cases[i].match)
			fail_msg("match('%s', '%s') = %d, expected %d",
				 cases[i].wanted, cases[i].offered, got,
				 cases[i].match);
	}
}

static void gpu_memory_from_name(void **state)
{
	(void)state;
	assert_true(hoist_vast_gpu_memory_gb("A100 80GB") == 80);
	assert_true(hoist_vast_gpu_memory_gb("A100-SXM4-40GB") == 40);
	assert_true(hoist_vast_gpu_memory_gb("RTX 4090") == 0);
}

static void gpu_known_names_match_themselves(void **state)
{
	const char *const *names = hoist_vast_gpu_known_names();
	char canon[HOIST_VAST_GPU_NAME_MAX];

	(void)state;
	for (; *names; names++) {
		assert_int_equal(hoist_vast_gpu_canon(*names, canon,
						      sizeof(canon)), 0);
		assert_int_equal(hoist_vast_gpu_match(*names, *names), 1);
	}
}

/* ------------------------------------------------------------------ */
/* Instance states                                                     */
/* ------------------------------------------------------------------ */

struct state_case {
	const char *json;
	int state;
	const char *status;	/* expected start of the status words */
};

static void instance_state_table(void **state)
{
	static const struct state_case cases[] = {
		{ "{\"actual_status\": null}", HOIST_PINST_STARTING,
		  "provisioning" },
		{ "{}", HOIST_PINST_STARTING, "provisioning" },
		{ "{\"actual_status\": \"loading\"}", HOIST_PINST_STARTING,
		  "loading" },
		{ "{\"actual_status\": \"created\"}", HOIST_PINST_STARTING,
		  "created" },
		{ "{\"actual_status\": \"scheduling\"}", HOIST_PINST_STARTING,
		  "scheduling" },
		{ "{\"actual_status\": \"running\", \"intended_status\": "
		  "\"running\", \"cur_state\": \"running\"}",
		  HOIST_PINST_RUNNING, "running" },
		{ "{\"actual_status\": \"exited\"}", HOIST_PINST_LOST,
		  "lost: exited" },
		{ "{\"actual_status\": \"offline\"}", HOIST_PINST_LOST,
		  "lost: offline" },
		{ "{\"actual_status\": \"unknown\", \"status_msg\": "
		  "\"no heartbeat\"}", HOIST_PINST_LOST,
		  "lost: unknown: no heartbeat" },
		{ "{\"actual_status\": \"created\", \"status_msg\": "
		  "\"Error response from daemon: OCI runtime create failed: "
		  "runc\"}", HOIST_PINST_LOST,
		  "lost: container failed to start" },
		{ "{\"actual_status\": \"stopped\", \"is_bid\": true, "
		  "\"cur_state\": \"stopped\", \"intended_status\": "
		  "\"stopped\", \"next_state\": \"stopped\"}",
		  HOIST_PINST_LOST, "lost: outbid" },
		{ "{\"actual_status\": \"running\", \"is_bid\": 1, "
		  "\"cur_state\": \"stopped\", \"intended_status\": "
		  "\"stopped\", \"next_state\": \"stopped\"}",
		  HOIST_PINST_LOST, "lost: outbid" },
		{ "{\"actual_status\": \"stopped\", \"is_bid\": true, "
		  "\"cur_state\": \"stopped\", \"intended_status\": "
		  "\"running\", \"next_state\": \"running\"}",
		  HOIST_PINST_STARTING, "stopped, waiting" },
		{ "{\"actual_status\": \"stopped\", \"cur_state\": "
		  "\"stopped\", \"intended_status\": \"stopped\", "
		  "\"next_state\": \"stopped\"}", HOIST_PINST_LOST,
		  "lost: stopped" },
		{ "{\"actual_status\": \"rebooting\"}", HOIST_PINST_STARTING,
		  "rebooting" },
		{ "{\"actual_status\": \"destroyed\"}", HOIST_PINST_GONE,
		  "destroyed" },
		{ "{\"actual_status\": \"running\", \"intended_status\": "
		  "\"terminated\"}", HOIST_PINST_GONE, "terminated" },
	};
	char status[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *inst = parse(cases[i].json);
		int got = hoist_vast_instance_state(inst, status,
						    sizeof(status));

		if (got != cases[i].state ||
		    strncmp(status, cases[i].status,
			    strlen(cases[i].status)) != 0)
			fail_msg("%s: state %d '%s', expected %d '%s...'",
				 cases[i].json, got, status, cases[i].state,
				 cases[i].status);
		json_decref(inst);
	}
}

static void instance_convert_tolerates_strings(void **state)
{
	json_t *inst = parse("{\"id\": \"12345678\", \"label\": "
			     "\"hoist-o1-j-1-a1\", \"machine_id\": 4242, "
			     "\"gpu_name\": \"RTX 4090\", \"num_gpus\": \"2\","
			     " \"dph_total\": \"0.412\", \"start_date\": "
			     "1718000000.5, \"actual_status\": \"running\", "
			     "\"extra_env\": null, \"ports\": null, "
			     "\"some_new_field\": {\"x\": 1}}");
	struct hoist_provider_instance out;

	(void)state;
	assert_int_equal(hoist_vast_instance_convert(inst, &out), 0);
	assert_string_equal(out.id, "12345678");
	assert_string_equal(out.label, "hoist-o1-j-1-a1");
	assert_string_equal(out.offer, "machine-4242");
	assert_int_equal(out.num_gpus, 2);
	assert_true(out.price_per_hour > 0.4119 && out.price_per_hour < 0.4121);
	assert_int_equal(out.created_at_ms, 1718000000500LL);
	assert_int_equal(out.state, HOIST_PINST_RUNNING);
	json_decref(inst);

	inst = parse("{\"id\": null, \"label\": \"x\"}");
	assert_int_equal(hoist_vast_instance_convert(inst, &out), -1);
	json_decref(inst);
}

/* ------------------------------------------------------------------ */
/* Tolerant JSON                                                       */
/* ------------------------------------------------------------------ */

static void json_numbers_and_bools(void **state)
{
	json_t *o = parse("{\"a\": 0.98, \"b\": \"0.98\", \"c\": \" 12 \", "
			  "\"d\": \"12abc\", \"e\": null, \"f\": true, "
			  "\"g\": 1, \"h\": \"false\", \"i\": \"yes\", "
			  "\"j\": \"1e999\", \"k\": \"\"}");
	double v = -1;
	int b = -1;

	(void)state;
	assert_int_equal(hoist_vast_json_get_number(o, "a", &v), 0);
	assert_true(v == 0.98);
	assert_int_equal(hoist_vast_json_get_number(o, "b", &v), 0);
	assert_true(v == 0.98);
	assert_int_equal(hoist_vast_json_get_number(o, "c", &v), 0);
	assert_true(v == 12);
	assert_int_equal(hoist_vast_json_get_number(o, "d", &v), -1);
	assert_int_equal(hoist_vast_json_get_number(o, "e", &v), -1);
	assert_int_equal(hoist_vast_json_get_number(o, "f", &v), -1);
	assert_int_equal(hoist_vast_json_get_number(o, "j", &v), -1);
	assert_int_equal(hoist_vast_json_get_number(o, "k", &v), -1);
	assert_int_equal(hoist_vast_json_get_number(o, "missing", &v), -1);
	assert_int_equal(hoist_vast_json_get_number(NULL, "a", &v), -1);

	assert_int_equal(hoist_vast_json_get_bool(o, "f", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(hoist_vast_json_get_bool(o, "g", &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(hoist_vast_json_get_bool(o, "h", &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(hoist_vast_json_get_bool(o, "i", &b), -1);
	assert_int_equal(hoist_vast_json_get_bool(o, "e", &b), -1);
	json_decref(o);
}

static void json_ids(void **state)
{
	json_t *o = parse("{\"a\": 12345678, \"b\": \"42\", \"c\": 7.0, "
			  "\"d\": 7.5, \"e\": -3, \"f\": \"4x\", \"g\": null,"
			  " \"h\": \"\"}");
	char id[24];

	(void)state;
	assert_int_equal(hoist_vast_json_get_id(o, "a", id, sizeof(id)), 0);
	assert_string_equal(id, "12345678");
	assert_int_equal(hoist_vast_json_get_id(o, "b", id, sizeof(id)), 0);
	assert_string_equal(id, "42");
	assert_int_equal(hoist_vast_json_get_id(o, "c", id, sizeof(id)), 0);
	assert_string_equal(id, "7");
	assert_int_equal(hoist_vast_json_get_id(o, "d", id, sizeof(id)), -1);
	assert_int_equal(hoist_vast_json_get_id(o, "e", id, sizeof(id)), -1);
	assert_int_equal(hoist_vast_json_get_id(o, "f", id, sizeof(id)), -1);
	assert_int_equal(hoist_vast_json_get_id(o, "g", id, sizeof(id)), -1);
	assert_int_equal(hoist_vast_json_get_id(o, "h", id, sizeof(id)), -1);
	assert_int_equal(hoist_vast_json_get_id(o, "a", id, 4), -1);
	json_decref(o);
}

static void json_instances_shapes(void **state)
{
	static const struct {
		const char *json;
		int count;	/* -1: an error */
	} cases[] = {
		{ "{\"instances\": [{\"id\": 1}, {\"id\": 2}]}", 2 },
		{ "{\"instances\": {\"id\": 1}}", 1 },
		{ "{\"instances\": null}", 0 },
		{ "{\"success\": true}", 0 },
		{ "{\"instances\": [{\"id\": 1}, null, 3]}", 1 },
		{ "{\"instances\": \"none\"}", -1 },
		{ "[1, 2]", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hoist_err err = HOIST_ERR_INIT;
		json_t *root = parse(cases[i].json);
		json_t *list = hoist_vast_json_instances(root, &err);

		if (cases[i].count < 0) {
			assert_null(list);
			assert_int_equal(err.code, HOIST_E_PROVIDER);
		} else {
			assert_non_null(list);
			assert_int_equal(json_array_size(list),
					 cases[i].count);
		}
		json_decref(list);
		json_decref(root);
	}
}

/* ------------------------------------------------------------------ */
/* Error payloads                                                      */
/* ------------------------------------------------------------------ */

struct payload_case {
	long status;
	const char *body;
	int failure;
	int code;		/* enum hoist_err_code */
	const char *needle;	/* must be in the message */
};

/* The error payloads the Vast.ai API documents, with their statuses. */
static const struct payload_case payloads[] = {
	{ 401, "{\"success\":false,\"error\":\"auth_error\",\"msg\":\"Invalid "
	  "user key\"}", HOIST_VAST_FAIL_AUTH, HOIST_E_PROVIDER,
	  "HTTP 401 auth_error: Invalid user key" },
	{ 403, "{\"success\":false,\"error\":\"auth_error\",\"msg\":\"This "
	  "action requires login.\"}", HOIST_VAST_FAIL_AUTH,
	  HOIST_E_PROVIDER, "requires login" },
	{ 404, "{\"success\":false,\"error\":\"auth_error\",\"msg\":\"Invalid "
	  "user key\"}", HOIST_VAST_FAIL_AUTH, HOIST_E_PROVIDER,
	  "HTTP 404 auth_error" },
	{ 404, "{\"msg\":\"Session expired. Please log in again.\"}",
	  HOIST_VAST_FAIL_AUTH, HOIST_E_PROVIDER, "Session expired" },
	{ 404, "{\"success\":false,\"error\":\"invalid_args\",\"msg\":\"error "
	  "404/3603: no_such_ask Instance type by id 1234567 is not "
	  "available.\",\"ask_id\":1234567}", HOIST_VAST_FAIL_NO_SUCH_ASK,
	  HOIST_E_PROVIDER, "404/3603" },
	{ 410, "{\"success\":false,\"error\":\"no_such_ask\",\"msg\":\"error "
	  "410/3907: no_such_ask Instance type 1234567 is no longer "
	  "available.\",\"ask_id\":1234567}", HOIST_VAST_FAIL_NO_SUCH_ASK,
	  HOIST_E_PROVIDER, "HTTP 410 no_such_ask" },
	{ 400, "{\"success\":false,\"error\":\"invalid_args\",\"msg\":\"error "
	  "400/3467: Invalid args: 'id' is required and must be a valid "
	  "offer ID\",\"ask_id\":1234567}", HOIST_VAST_FAIL_REJECTED,
	  HOIST_E_PROVIDER, "400/3467" },
	{ 403, "{\"success\":false,\"error\":\"invalid_args\",\"msg\":\"error "
	  "403/3586: Offer 1234567 is not your own. Hosts can only rent "
	  "their own machines.\",\"ask_id\":1234567}",
	  HOIST_VAST_FAIL_REJECTED, HOIST_E_PROVIDER, "not your own" },
	{ 400, "{\"success\":false,\"error\":\"label_too_long\",\"msg\":"
	  "\"Please limit label length to 1024 characters, ideally less "
	  "than 128.\"}", HOIST_VAST_FAIL_REJECTED, HOIST_E_PROVIDER,
	  "label_too_long" },
	{ 404, "{\"success\":false,\"error\":\"no_such_instance\",\"msg\":"
	  "\"Instance 12345 not found.\"}", HOIST_VAST_FAIL_NO_SUCH_INSTANCE,
	  HOIST_E_NOT_FOUND, "Instance 12345 not found." },
	{ 404, "{\"success\":false,\"error\":\"not_found\",\"msg\":\"Instance "
	  "not found\"}", HOIST_VAST_FAIL_NO_SUCH_INSTANCE, HOIST_E_NOT_FOUND,
	  "not_found" },
	{ 400, "{\"success\":false,\"error\":\"invalid_args\",\"msg\":\"Please "
	  "set a bid price >= 0.001.\"}", HOIST_VAST_FAIL_REJECTED,
	  HOIST_E_PROVIDER, "bid price" },
	{ 400, "{\"success\":false,\"error\":\"missing_billing\",\"msg\":"
	  "\"...\"}", HOIST_VAST_FAIL_BILLING, HOIST_E_PROVIDER,
	  "missing_billing" },
	{ 400, "{\"error\":\"invalid_request\",\"msg\":\"Error in query "
	  "parameters: dph_total is not a valid search key\"}",
	  HOIST_VAST_FAIL_REJECTED, HOIST_E_PROVIDER, "dph_total" },
	{ 400, "{\"success\":false,\"error\":\"invalid_token\",\"msg\":"
	  "\"Invalid pagination token\"}", HOIST_VAST_FAIL_REJECTED,
	  HOIST_E_PROVIDER, "Invalid pagination token" },
	{ 410, "\"Use /api/v1/instances/ instead\"", HOIST_VAST_FAIL_REJECTED,
	  HOIST_E_PROVIDER, "Use /api/v1/instances/ instead" },
	{ 429, "API requests too frequent", HOIST_VAST_FAIL_RATE_LIMIT,
	  HOIST_E_HTTP, "HTTP 429: API requests too frequent" },
	{ 429, "{\"detail\":\"API requests too frequent endpoint "
	  "threshold=4.5\"}", HOIST_VAST_FAIL_RATE_LIMIT, HOIST_E_HTTP,
	  "threshold=4.5" },
	{ 429, "{\"success\":false,\"error\":\"rate_limit_exceeded\",\"msg\":"
	  "\"API requests too frequent endpoint threshold=3.0\"}",
	  HOIST_VAST_FAIL_RATE_LIMIT, HOIST_E_HTTP, "rate_limit_exceeded" },
	{ 502, "<html><body>502 Bad Gateway</body></html>",
	  HOIST_VAST_FAIL_SERVER, HOIST_E_HTTP, "HTTP 502: <html>" },
	{ 200, "{\"success\":false,\"error\":\"no_such_instance\",\"msg\":"
	  "\"Instance 9 not found.\"}", HOIST_VAST_FAIL_NO_SUCH_INSTANCE,
	  HOIST_E_NOT_FOUND, "HTTP 200 no_such_instance" },
	{ 200, "{\"success\":false,\"error\":\"Invalid date range\"}",
	  HOIST_VAST_FAIL_REJECTED, HOIST_E_PROVIDER, "Invalid date range" },
	{ 200, "{\"success\":true,\"new_contract\":1}", HOIST_VAST_OK, 0, "" },
	{ 200, "{\"offers\":[]}", HOIST_VAST_OK, 0, "" },
	{ 204, "", HOIST_VAST_OK, 0, "" },
};

static void fill_response(struct hoist_vast_http_response *resp,
			  long status, const char *body)
{
	json_error_t jerr;

	memset(resp, 0, sizeof(*resp));
	resp->method = "PUT";
	resp->path = "/api/v0/asks/1234567/";
	resp->status = status;
	resp->body = body;
	resp->body_len = strlen(body);
	resp->transport_msg = "";
	resp->json = resp->body_len ? json_loads(body, JSON_DECODE_ANY,
						 &jerr) : NULL;
	resp->tries = 1;
}

static void error_payloads_classified(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		const struct payload_case *c = &payloads[i];
		struct hoist_vast_http_response resp;
		struct hoist_err err = HOIST_ERR_INIT;
		int failure;

		fill_response(&resp, c->status, c->body);
		failure = hoist_vast_json_classify(&resp);
		if (failure != c->failure)
			fail_msg("HTTP %ld %s: class %d, expected %d",
				 c->status, c->body, failure, c->failure);
		if (c->failure != HOIST_VAST_OK) {
			assert_int_equal(hoist_vast_json_set_error(
				&err, &resp, SECRET, "renting offer 1234567"),
				-1);
			if (err.code != c->code ||
			    !strstr(err.msg, c->needle) ||
			    !strstr(err.msg, "renting offer 1234567: PUT "
				    "/api/v0/asks/1234567/ returned"))
				fail_msg("HTTP %ld %s: error %d '%s', expected "
					 "%d with '%s'", c->status, c->body,
					 err.code, err.msg, c->code,
					 c->needle);
		}
		json_decref(resp.json);
	}
}

static void error_message_hides_secret(void **state)
{
	struct hoist_vast_http_response resp;
	struct hoist_err err = HOIST_ERR_INIT;
	char body[256];

	(void)state;
	snprintf(body, sizeof(body), "<html>bad key %s\r\n\x01 in</html>",
		 SECRET);
	fill_response(&resp, 500, body);
	hoist_vast_json_set_error(&err, &resp, SECRET, "listing");
	assert_null(strstr(err.msg, SECRET));
	assert_non_null(strstr(err.msg, "bad key [redacted]"));
	assert_null(strchr(err.msg, '\r'));
	assert_null(strchr(err.msg, '\x01'));
	json_decref(resp.json);

	hoist_err_clear(&err);
	snprintf(body, sizeof(body), "{\"success\":false,\"error\":"
		 "\"auth_error\",\"msg\":\"Invalid user key %s\"}", SECRET);
	fill_response(&resp, 401, body);
	hoist_vast_json_set_error(&err, &resp, SECRET, "listing");
	assert_null(strstr(err.msg, SECRET));
	assert_non_null(strstr(err.msg, "API key was rejected"));
	json_decref(resp.json);
}

static void error_excerpt_is_bounded(void **state)
{
	char big[4096];
	char out[512];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hoist_vast_json_excerpt(out, sizeof(out), big, strlen(big), 200,
				NULL);
	assert_int_equal(strlen(out), 203);
	assert_string_equal(out + 200, "...");
}

static void error_transport_names_tries(void **state)
{
	struct hoist_vast_http_response resp;
	struct hoist_err err = HOIST_ERR_INIT;

	(void)state;
	fill_response(&resp, 0, "");
	resp.transport_error = 7;
	resp.transport_msg = "Failed to connect to 127.0.0.1 port 9";
	resp.tries = 5;
	hoist_vast_json_set_error(&err, &resp, SECRET, "listing");
	assert_int_equal(err.code, HOIST_E_HTTP);
	assert_non_null(strstr(err.msg, "no response (after 5 tries)"));
	assert_non_null(strstr(err.msg, "Failed to connect"));
}

/* ------------------------------------------------------------------ */
/* Profiles and queries                                                */
/* ------------------------------------------------------------------ */

static const char profile_json[] =
	"{\"name\": \"dev-test\", \"gpu_name\": \"RTX 4090\", "
	"\"num_gpus\": 1, \"max_dph\": 0.40, \"reliability_min\": 0.95, "
	"\"max_duration_hours\": 2.0, \"disk_gb\": 20, "
	"\"cuda_min\": \"12.1\", \"min_inet_down_mbps\": 500, "
	"\"region\": \"US, se\", \"verified\": true, \"interruptible\": false}";

static void profile_reads_every_key(void **state)
{
	struct hoist_vast_profile p;
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *profile = parse(profile_json);

	(void)state;
	assert_int_equal(hoist_vast_offers_profile(profile, 30, 1, &p, &err),
			 0);
	assert_string_equal(p.name, "dev-test");
	assert_string_equal(p.gpu_name, "RTX 4090");
	assert_int_equal(p.num_gpus, 1);
	assert_true(p.max_dph == 0.40);
	assert_true(p.reliability_min == 0.95);
	assert_true(p.disk_gb == 20);
	assert_true(p.cuda_min == 12.1);
	assert_true(p.min_inet_down_mbps == 500);
	assert_int_equal(p.country_count, 2);
	assert_string_equal(p.countries[0], "US");
	assert_string_equal(p.countries[1], "SE");
	assert_int_equal(p.verified, 1);
	assert_int_equal(p.interruptible, 0);
	json_decref(profile);

	profile = parse("{\"gpu_name\": \"A100 80GB\", \"num_gpus\": 2, "
			"\"max_dph\": 3, \"region\": \"europe\"}");
	assert_int_equal(hoist_vast_offers_profile(profile, 30, 1, &p, &err),
			 0);
	assert_true(p.disk_gb == 30);
	assert_int_equal(p.interruptible, 1);
	assert_true(p.gpu_ram_gb == 80);
	assert_true(p.country_count > 10);
	json_decref(profile);
}

struct bad_profile {
	const char *json;
	const char *needle;
};

static void profile_errors_name_the_key(void **state)
{
	static const struct bad_profile cases[] = {
		{ "{\"num_gpus\": 1, \"max_dph\": 1}", "profile.gpu_name" },
		{ "{\"gpu_name\": \"NVIDIA\", \"num_gpus\": 1, \"max_dph\": 1}",
		  "profile.gpu_name: invalid value 'NVIDIA'" },
		{ "{\"gpu_name\": \"L4\", \"max_dph\": 1}",
		  "profile.num_gpus: missing" },
		{ "{\"gpu_name\": \"L4\", \"num_gpus\": 1.5, \"max_dph\": 1}",
		  "profile.num_gpus: invalid value 1.5" },
		{ "{\"gpu_name\": \"L4\", \"num_gpus\": 1, \"max_dph\": \"x\"}",
		  "profile.max_dph: invalid value 'x'" },
		{ "{\"gpu_name\": \"L4\", \"num_gpus\": 1, \"max_dph\": 1, "
		  "\"disk_gb\": 5}", "below the Vast.ai minimum of 8 GB" },
		{ "{\"gpu_name\": \"L4\", \"num_gpus\": 1, \"max_dph\": 1, "
		  "\"reliability_min\": 2}", "profile.reliability_min" },
		{ "{\"gpu_name\": \"L4\", \"num_gpus\": 1, \"max_dph\": 1, "
		  "\"region\": \"Mars\"}", "profile.region: invalid entry "
		  "'Mars'" },
		{ "{\"gpu_name\": \"L4\", \"num_gpus\": 1, \"max_dph\": 1, "
		  "\"interruptible\": \"yes\"}", "profile.interruptible" },
	};
	struct hoist_vast_profile p;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hoist_err err = HOIST_ERR_INIT;
		json_t *profile = parse(cases[i].json);

		assert_int_equal(hoist_vast_offers_profile(profile, 20, 0, &p,
							   &err), -1);
		assert_int_equal(err.code, HOIST_E_INVALID);
		if (!strstr(err.msg, cases[i].needle))
			fail_msg("%s: '%s' lacks '%s'", cases[i].json,
				 err.msg, cases[i].needle);
		json_decref(profile);
	}
}

static void query_always_sends_limit_type_storage(void **state)
{
	struct hoist_vast_profile p;
	struct hoist_err err = HOIST_ERR_INIT;
	json_t *profile = parse(profile_json);
	const char *names[] = { "RTX 4090" };
	json_t *q = NULL;
	json_t *loose = NULL;

	(void)state;
	assert_int_equal(hoist_vast_offers_profile(profile, 20, 0, &p, &err),
			 0);
	assert_int_equal(hoist_vast_offers_query(&p, names, 1, 1, 64, &q,
						 &err), 0);
	assert_int_equal(json_integer_value(json_object_get(q, "limit")), 64);
	assert_string_equal(json_string_value(json_object_get(q, "type")),
			    "on-demand");
	assert_true(json_real_value(json_object_get(q, "allocated_storage"))
		    == 20);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
		json_object_get(q, "gpu_name"), "in"), 0)), "RTX 4090");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		q, "num_gpus"), "eq")), 1);
	assert_true(json_real_value(json_object_get(json_object_get(
		q, "dph_total"), "lte")) == 0.40);
	assert_true(json_real_value(json_object_get(json_object_get(
		q, "reliability"), "gte")) == 0.95);
	assert_true(json_real_value(json_object_get(json_object_get(
		q, "cuda_max_good"), "gte")) == 12.1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
		q, "compute_cap"), "gte")), 600);
	assert_true(json_real_value(json_object_get(json_object_get(
		q, "inet_down"), "gte")) == 500);
	assert_int_equal(json_array_size(json_object_get(json_object_get(
		q, "geolocation"), "in")), 2);
	assert_true(json_is_true(json_object_get(json_object_get(
		q, "verified"), "eq")));
	assert_string_equal(json_string_value(json_array_get(json_array_get(
		json_object_get(q, "order"), 0), 0)), "dph_total");

	p.interruptible = 1;
	assert_int_equal(hoist_vast_offers_query(&p, NULL, 0, 0, 256, &loose,
						 &err), 0);
	assert_string_equal(json_string_value(json_object_get(loose, "type")),
			    "bid");
	assert_int_equal(json_integer_value(json_object_get(loose, "limit")),
			 256);
	assert_non_null(json_object_get(loose, "allocated_storage"));
	assert_null(json_object_get(loose, "dph_total"));
	assert_null(json_object_get(loose, "reliability"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(
		json_object_get(loose, "gpu_name"), "in"), 0)), "RTX 4090");
	json_decref(q);
	json_decref(loose);
	json_decref(profile);
}

/* ------------------------------------------------------------------ */
/* Prices, selection and ranking                                       */
/* ------------------------------------------------------------------ */

static void price_adds_storage_at_requested_disk(void **state)
{
	json_t *offer = parse("{\"dph_base\": 1.0, \"dph_total\": 1.0021, "
			      "\"storage_cost\": 0.1493333333333333, "
			      "\"min_bid\": \"0.30041\"}");
	json_t *bare = parse("{\"dph_total\": \"0.5\"}");
	double price = 0;
	double bid = 0;

	(void)state;
	assert_int_equal(hoist_vast_offers_price(offer, 10, 0, &price, &bid),
			 0);
	assert_true(fabs(price - 1.0020740740740741) < 1e-9);
	assert_true(bid == 0);
	assert_int_equal(hoist_vast_offers_price(offer, 100, 0, &price, &bid),
			 0);
	assert_true(fabs(price - 1.020740740740741) < 1e-9);
	assert_int_equal(hoist_vast_offers_price(offer, 10, 1, &price, &bid),
			 0);
	assert_true(fabs(bid - 0.301) < 1e-9);
	assert_true(fabs(price - (0.301 + 0.0020740740740741)) < 1e-9);
	assert_int_equal(hoist_vast_offers_price(bare, 10, 0, &price, &bid),
			 0);
	assert_true(price == 0.5);
	assert_int_equal(hoist_vast_offers_price(bare, 10, 1, &price, &bid),
			 -1);
	json_decref(offer);
	json_decref(bare);
}

static const char offers_json[] =
	"[{\"id\": 1, \"machine_id\": 11, \"gpu_name\": \"RTX 4090\", "
	"  \"num_gpus\": 1, \"dph_base\": 0.30, \"storage_cost\": 0.1, "
	"  \"reliability\": 0.99, \"disk_space\": 100, \"gpu_ram\": 24564, "
	"  \"cuda_max_good\": 12.4, \"inet_down\": 900, "
	"  \"geolocation\": \"Washington, US\", \"verified\": true, "
	"  \"rentable\": true},"
	" {\"id\": 2, \"machine_id\": 12, \"gpu_name\": \"RTX 4090\", "
	"  \"num_gpus\": \"1\", \"dph_base\": \"0.25\", \"storage_cost\": 0.1,"
	"  \"reliability2\": \"0.97\", \"disk_space\": 50, "
	"  \"cuda_max_good\": \"12.2\", \"inet_down\": 600, "
	"  \"geolocation\": \"Sweden, SE\", \"verification\": \"verified\"},"
	" {\"id\": 3, \"machine_id\": 13, \"gpu_name\": \"RTX 4090\", "
	"  \"num_gpus\": 1, \"dph_base\": 0.90, \"storage_cost\": 0.1, "
	"  \"reliability\": 0.99, \"disk_space\": 100, \"cuda_max_good\": 12.4,"
	"  \"inet_down\": 900, \"geolocation\": \", US\", \"verified\": true},"
	" {\"id\": 4, \"machine_id\": 14, \"gpu_name\": \"RTX 3090\", "
	"  \"num_gpus\": 1, \"dph_base\": 0.10},"
	" {\"id\": 5, \"machine_id\": 15, \"gpu_name\": \"RTX 4090\", "
	"  \"num_gpus\": 2, \"dph_base\": 0.10},"
	" {\"id\": 6, \"machine_id\": 16, \"gpu_name\": \"RTX 4090\", "
	"  \"num_gpus\": 1, \"dph_base\": 0.20, \"storage_cost\": 0.1, "
	"  \"reliability\": 0.80, \"disk_space\": 100, \"cuda_max_good\": 12.4,"
	"  \"inet_down\": 900, \"geolocation\": \"Texas, US\", "
	"  \"verified\": true},"
	" {\"id\": 7, \"machine_id\": 17, \"gpu_name\": \"RTX 4090\", "
	"  \"num_gpus\": 1, \"dph_base\": 0.20, \"storage_cost\": 0.1, "
	"  \"reliability\": 0.99, \"disk_space\": 100, \"cuda_max_good\": 12.4,"
	"  \"inet_down\": 900, \"geolocation\": \"Berlin, DE\", "
	"  \"verified\": true},"
	" {\"id\": 8, \"machine_id\": 18, \"gpu_name\": \"RTX 4090\", "
	"  \"num_gpus\": 1, \"dph_base\": 0.22, \"storage_cost\": 0.1, "
	"  \"reliability\": 0.99, \"disk_space\": 100, \"cuda_max_good\": 12.4,"
	"  \"inet_down\": 900, \"geolocation\": \"Ohio, US\", "
	"  \"verified\": true},"
	" {\"machine_id\": 19},"
	" {\"id\": 10, \"machine_id\": 20, \"gpu_name\": \"RTX 4090\", "
	"  \"num_gpus\": 1, \"dph_base\": 0.21, \"storage_cost\": 0.1, "
	"  \"reliability\": 0.99, \"disk_space\": 100, \"cuda_max_good\": 12.4,"
	"  \"inet_down\": 900, \"geolocation\": \"Ohio, US\", "
	"  \"verified\": false}]";

static void select_counts_and_ranks(void **state)
{
	struct hoist_vast_profile p;
	struct hoist_vast_machines machines;
	struct hoist_vast_candidate *list = NULL;
	struct hoist_err err = HOIST_ERR_INIT;
	int removed[HOIST_VAST_FILTER_COUNT];
	json_t *profile = parse(profile_json);
	json_t *offers = parse(offers_json);
	json_t *result;
	char text[256];
	size_t count = 0;

	(void)state;
	memset(&machines, 0, sizeof(machines));
	assert_int_equal(hoist_vast_offers_profile(profile, 20, 0, &p, &err),
			 0);
	hoist_vast_offers_machine_failed(&machines, 18, 0, 1000);
	assert_int_equal(hoist_vast_offers_select(&p, offers, &machines, 2000,
						  &list, &count, removed,
						  &err), 0);
	/* 1 and 2 pass; 2 is cheaper but less reliable. */
	assert_int_equal(count, 2);
	assert_string_equal(list[0].id, "2");
	assert_string_equal(list[1].id, "1");
	assert_true(fabs(list[1].price - (0.30 + 20 * 0.1 / 720)) < 1e-9);
	assert_int_equal(removed[HOIST_VAST_FILTER_INVALID], 1);
	assert_int_equal(removed[HOIST_VAST_FILTER_GPU_NAME], 1);
	assert_int_equal(removed[HOIST_VAST_FILTER_NUM_GPUS], 1);
	assert_int_equal(removed[HOIST_VAST_FILTER_VERIFIED], 1);
	assert_int_equal(removed[HOIST_VAST_FILTER_RELIABILITY], 1);
	assert_int_equal(removed[HOIST_VAST_FILTER_REGION], 1);
	assert_int_equal(removed[HOIST_VAST_FILTER_MAX_DPH], 1);
	assert_int_equal(removed[HOIST_VAST_FILTER_FAILED_MACHINE], 1);

	hoist_vast_offers_describe_removed(text, sizeof(text), removed);
	assert_non_null(strstr(text, "max_dph removed 1"));
	result = hoist_vast_offers_result(list, count, removed, 10, &err);
	assert_non_null(result);
	assert_int_equal(json_array_size(json_object_get(result, "offers")),
			 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(result, "offers"), 0), "location")),
		"Sweden, SE");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
		json_object_get(result, "filtered"), 0), "filter")), "offer");
	json_decref(result);
	free(list);

	/* An hour later the machine is offered again, with a rank penalty. */
	assert_int_equal(hoist_vast_offers_select(
		&p, offers, &machines, 1000 + HOIST_VAST_MACHINE_SKIP_MS,
		&list, &count, removed, &err), 0);
	assert_int_equal(count, 3);
	assert_int_equal(removed[HOIST_VAST_FILTER_FAILED_MACHINE], 0);
	free(list);
	json_decref(offers);
	json_decref(profile);
}

static void machines_table_is_bounded(void **state)
{
	struct hoist_vast_machines *m = calloc(1, sizeof(*m));

	(void)state;
	assert_non_null(m);
	for (long long id = 1; id <= HOIST_VAST_MACHINES_MAX + 10; id++)
		hoist_vast_offers_machine_worked(m, id, id);
	assert_int_equal(m->count, HOIST_VAST_MACHINES_MAX);
	hoist_vast_offers_machine_failed(m, 5000, 77, 1);
	hoist_vast_offers_machine_failed(m, 5000, 77, 2);
	for (size_t i = 0; i < m->count; i++)
		if (m->entries[i].id == 5000)
			assert_int_equal(m->entries[i].failures, 1);
	free(m);
}

/* ------------------------------------------------------------------ */
/* Rental check                                                        */
/* ------------------------------------------------------------------ */

static void verify_rental(void **state)
{
	static const struct {
		const char *json;
		int verdict;
		const char *why;
	} cases[] = {
		{ "{\"label\": \"L\", \"is_bid\": false, \"dph_total\": 0.3, "
		  "\"disk_space\": 20}", HOIST_VAST_VERIFIED, "" },
		{ "{\"label\": \"L\", \"dph_total\": \"0.305\", "
		  "\"disk_space\": \"20.2\"}", HOIST_VAST_VERIFIED, "" },
		{ "{\"label\": \"L\", \"is_bid\": true, \"dph_total\": 0.3, "
		  "\"disk_space\": 20}", HOIST_VAST_MISMATCH,
		  "rental type interruptible, expected on-demand" },
		{ "{\"label\": \"L\", \"is_bid\": false, \"dph_total\": 0.5, "
		  "\"disk_space\": 20}", HOIST_VAST_MISMATCH, "rate $0.5000/h" },
		{ "{\"label\": \"L\", \"is_bid\": false, \"dph_total\": 0.3, "
		  "\"disk_space\": 10}", HOIST_VAST_MISMATCH, "disk 10.0 GB" },
		{ "{\"label\": \"other\", \"dph_total\": 0.3, "
		  "\"disk_space\": 20}", HOIST_VAST_MISMATCH, "label 'other'" },
		{ "{\"label\": \"L\", \"dph_total\": null, \"disk_space\": 20}",
		  HOIST_VAST_UNVERIFIED, "no dph_total" },
		{ "{\"dph_total\": 0.3, \"disk_space\": 20}",
		  HOIST_VAST_UNVERIFIED, "no label" },
	};
	struct hoist_vast_expect e = {
		.label = "L", .interruptible = 0, .rate = 0.3, .disk_gb = 20,
	};
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *inst = parse(cases[i].json);
		double rate = 0;
		int got = hoist_vast_instance_verify(inst, &e, &rate, why,
						     sizeof(why));

		if (got != cases[i].verdict || !strstr(why, cases[i].why))
			fail_msg("%s: verdict %d '%s', expected %d '%s'",
				 cases[i].json, got, why, cases[i].verdict,
				 cases[i].why);
		if (got == HOIST_VAST_VERIFIED)
			assert_true(rate > 0.29 && rate < 0.31);
		json_decref(inst);
	}

	/* A bid instance must come back as one. */
	{
		json_t *inst = parse("{\"label\": \"L\", \"dph_total\": 0.2, "
				     "\"disk_space\": 20}");
		double rate = 0;

		e.interruptible = 1;
		assert_int_equal(hoist_vast_instance_verify(inst, &e, &rate,
							    why, sizeof(why)),
				 HOIST_VAST_MISMATCH);
		assert_non_null(strstr(why, "rental type on-demand"));
		json_decref(inst);
	}
}

static void backoff_stays_in_bounds(void **state)
{
	(void)state;
	for (unsigned retry = 0; retry < 70; retry++) {
		for (unsigned long long r = 0; r < 2000; r += 97) {
			long d = hoist_vast_http_backoff_ms(retry, 100, 5000,
							    r * 2654435761ULL);
			long ceiling = retry < 6 ? 100L << retry : 5000;

			if (ceiling > 5000)
				ceiling = 5000;
			assert_true(d >= 0 && d <= ceiling);
		}
	}
	assert_int_equal(hoist_vast_http_backoff_ms(3, 0, 5000, 12345), 0);
	assert_int_equal(hoist_vast_http_backoff_ms(0, 100, 5000, 100), 100);
	assert_int_equal(hoist_vast_http_backoff_ms(0, 100, 5000, 101), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gpu_canon_spellings_agree),
		cmocka_unit_test(gpu_match_table),
		cmocka_unit_test(gpu_memory_from_name),
		cmocka_unit_test(gpu_known_names_match_themselves),
		cmocka_unit_test(instance_state_table),
		cmocka_unit_test(instance_convert_tolerates_strings),
		cmocka_unit_test(json_numbers_and_bools),
		cmocka_unit_test(json_ids),
		cmocka_unit_test(json_instances_shapes),
		cmocka_unit_test(error_payloads_classified),
		cmocka_unit_test(error_message_hides_secret),
		cmocka_unit_test(error_excerpt_is_bounded),
		cmocka_unit_test(error_transport_names_tries),
		cmocka_unit_test(profile_reads_every_key),
		cmocka_unit_test(profile_errors_name_the_key),
		cmocka_unit_test(query_always_sends_limit_type_storage),
		cmocka_unit_test(price_adds_storage_at_requested_disk),
		cmocka_unit_test(select_counts_and_ranks),
		cmocka_unit_test(machines_table_is_bounded),
		cmocka_unit_test(verify_rental),
		cmocka_unit_test(backoff_stays_in_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
