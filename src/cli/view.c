#include "cli/view.h"

#include <string.h>

#include "cli/format.h"
#include "common/buf.h"

#define LABEL_WIDTH 14
#define LINE_MAX_BYTES (64u << 10)

static void int_text(const json_t *obj, const char *key, char *out,
		     size_t outlen)
{
	int64_t value;

	if (hoist_cli_json_int(obj, key, &value))
		snprintf(out, outlen, "-");
	else
		snprintf(out, outlen, "%lld", (long long)value);
}

static void cost_text(const json_t *obj, const char *key, char *out,
		      size_t outlen)
{
	double usd;

	if (hoist_cli_json_real(obj, key, &usd))
		snprintf(out, outlen, "-");
	else
		hoist_cli_format_cost(usd, out, outlen);
}

static void age_text(const json_t *obj, const char *key, int64_t now_ms,
		     char *out, size_t outlen)
{
	int64_t then;

	if (hoist_cli_json_time(obj, key, &then))
		snprintf(out, outlen, "-");
	else
		hoist_cli_format_age(now_ms, then, out, outlen);
}

static const char *str_or_dash(const json_t *obj, const char *key)
{
	const char *value = hoist_cli_json_str(obj, key);

	return value && *value ? value : "-";
}

/* Prints the error that each attempt's agent reported, under the table
 * of attempts, which has no room for it. */
static void print_attempt_errors(FILE *out, const json_t *attempts)
{
	const json_t *attempt;
	size_t i;

	json_array_foreach((json_t *)attempts, i, attempt) {
		const char *error = hoist_cli_json_str(attempt, "error");
		json_int_t number = json_integer_value(
			json_object_get(attempt, "number"));

		if (error)
			fprintf(out, "  attempt %lld error: %s\n",
				(long long)number, error);
	}
}

static void print_field(FILE *out, const char *label, const char *value,
			const char *color)
{
	int colored = color && *color && hoist_cli_use_color(out);
	char with_colon[LABEL_WIDTH + 2];

	snprintf(with_colon, sizeof(with_colon), "%s:", label);
	fprintf(out, "%-*s %s%s%s\n", LABEL_WIDTH, with_colon,
		colored ? color : "", value, colored ? HOIST_CLI_RESET : "");
}

/* Appends arg to line, in single quotes when a shell would split it. */
static int append_shell_word(struct hoist_buf *line, const char *arg,
			     struct hoist_err *err)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_-./=:,+@%";

	if (line->len > 0 && hoist_buf_appends(line, " ", err))
		return -1;
	if (*arg && strspn(arg, plain) == strlen(arg))
		return hoist_buf_appends(line, arg, err);
	if (hoist_buf_appends(line, "'", err))
		return -1;
	for (const char *p = arg; *p; p++) {
		int rc;

		if (*p == '\'')
			rc = hoist_buf_appends(line, "'\\''", err);
		else
			rc = hoist_buf_append(line, p, 1, err);
		if (rc)
			return -1;
	}
	return hoist_buf_appends(line, "'", err);
}

static int print_command(FILE *out, const json_t *spec, struct hoist_err *err)
{
	const json_t *command = json_object_get(spec, "command");
	struct hoist_buf line;
	const json_t *arg;
	size_t i;
	int rc = -1;

	hoist_buf_init(&line, LINE_MAX_BYTES);
	json_array_foreach(command, i, arg) {
		const char *text = json_string_value(arg);

		if (append_shell_word(&line, text ? text : "?", err))
			goto out;
	}
	print_field(out, "command", line.len ? hoist_buf_str(&line) : "-",
		    NULL);
	rc = 0;
out:
	hoist_buf_release(&line);
	return rc;
}

/* Shows the names of the job's environment variables only: their values
 * may be secrets. */
static int print_env_names(FILE *out, const json_t *spec,
			   struct hoist_err *err)
{
	const json_t *env = json_object_get(spec, "env");
	struct hoist_buf line;
	const char *name;
	const json_t *value;
	int rc = -1;

	hoist_buf_init(&line, LINE_MAX_BYTES);
	json_object_foreach((json_t *)env, name, value) {
		if (hoist_buf_appendf(&line, err, "%s%s",
				      line.len ? ", " : "", name))
			goto out;
	}
	print_field(out, "env", line.len ? hoist_buf_str(&line) : "-", NULL);
	rc = 0;
out:
	hoist_buf_release(&line);
	return rc;
}

/* Shows the job's inputs as "FROM -> TO" and its outputs, when it has
 * any. */
static int print_inputs_outputs(FILE *out, const json_t *spec,
				struct hoist_err *err)
{
	const json_t *inputs = json_object_get(spec, "inputs");
	const json_t *outputs = json_object_get(spec, "outputs");
	const json_t *item;
	struct hoist_buf line;
	size_t i;
	int rc = -1;

	hoist_buf_init(&line, LINE_MAX_BYTES);
	json_array_foreach((json_t *)inputs, i, item) {
		if (hoist_buf_appendf(&line, err, "%s%s -> %s",
				      line.len ? ", " : "",
				      str_or_dash(item, "from"),
				      str_or_dash(item, "to")))
			goto out;
	}
	if (line.len)
		print_field(out, "inputs", hoist_buf_str(&line), NULL);
	hoist_buf_reset(&line);
	json_array_foreach((json_t *)outputs, i, item) {
		if (json_is_string(item) &&
		    hoist_buf_appendf(&line, err, "%s%s", line.len ? ", " : "",
				      json_string_value(item)))
			goto out;
	}
	if (line.len)
		print_field(out, "outputs", hoist_buf_str(&line), NULL);
	rc = 0;
out:
	hoist_buf_release(&line);
	return rc;
}

static void print_profile(FILE *out, const json_t *spec)
{
	const json_t *profile = json_object_get(spec, "profile");
	char text[512];
	char price[32];
	char count[32];
	double number;

	if (!json_is_object(profile)) {
		print_field(out, "profile", "-", NULL);
		return;
	}
	int_text(profile, "num_gpus", count, sizeof(count));
	cost_text(profile, "max_dph", price, sizeof(price));
	snprintf(text, sizeof(text), "%s: %s x%s, max %s/h",
		 str_or_dash(profile, "name"), str_or_dash(profile, "gpu_name"),
		 count, price);
	if (hoist_cli_json_real(profile, "reliability_min", &number) == 0)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 ", reliability >= %g", number);
	if (hoist_cli_json_real(profile, "max_duration_hours", &number) == 0)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 ", max %g h", number);
	if (json_is_true(json_object_get(profile, "interruptible")))
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 ", interruptible");
	print_field(out, "profile", text, NULL);
}

static void print_policies(FILE *out, const json_t *spec)
{
	const json_t *checkpoint = json_object_get(spec, "checkpoint");
	const json_t *retry = json_object_get(spec, "retry");
	char interval[32];
	char keep[32];
	char grace[32];
	char failures[32];
	char attempts[32];
	char text[256];

	int_text(checkpoint, "interval_seconds", interval, sizeof(interval));
	int_text(checkpoint, "keep", keep, sizeof(keep));
	snprintf(text, sizeof(text), "every %s s, keep %s", interval, keep);
	print_field(out, "checkpoints", text, NULL);

	int_text(spec, "grace_seconds", grace, sizeof(grace));
	snprintf(text, sizeof(text), "%s s", grace);
	print_field(out, "grace", text, NULL);

	int_text(retry, "max_failures", failures, sizeof(failures));
	int_text(retry, "max_attempts", attempts, sizeof(attempts));
	snprintf(text, sizeof(text), "at most %s failures, %s attempts",
		 failures, attempts);
	print_field(out, "retry", text, NULL);
}

static void print_time_field(FILE *out, const char *label, const json_t *job,
			     const char *key, int64_t now_ms)
{
	const char *text = hoist_cli_json_str(job, key);
	char line[128];
	char age[32];

	if (!text) {
		print_field(out, label, "-", NULL);
		return;
	}
	age_text(job, key, now_ms, age, sizeof(age));
	snprintf(line, sizeof(line), "%s (%s)", text, age);
	print_field(out, label, line, NULL);
}

/* Prints the run time: from created_at to ended_at, or to now. */
static void print_duration(FILE *out, const json_t *job, int64_t now_ms)
{
	int64_t created;
	int64_t ended;
	char text[32];

	if (hoist_cli_json_time(job, "created_at", &created)) {
		print_field(out, "duration", "-", NULL);
		return;
	}
	if (hoist_cli_json_time(job, "ended_at", &ended))
		ended = now_ms;
	hoist_cli_format_duration(ended - created, text, sizeof(text));
	print_field(out, "duration", text, NULL);
}

static int print_metrics(FILE *out, const json_t *job, struct hoist_err *err)
{
	const json_t *metrics = json_object_get(job, "metrics");
	struct hoist_buf line;
	const char *key;
	const json_t *value;
	int rc = -1;

	hoist_buf_init(&line, LINE_MAX_BYTES);
	json_object_foreach((json_t *)metrics, key, value) {
		if (!json_is_number(value))
			continue;
		if (hoist_buf_appendf(&line, err, "%s%s=%g",
				      line.len ? " " : "", key,
				      json_number_value(value)))
			goto out;
	}
	print_field(out, "metrics", line.len ? hoist_buf_str(&line) : "-",
		    NULL);
	rc = 0;
out:
	hoist_buf_release(&line);
	return rc;
}

int hoist_cli_view_job(FILE *out, const json_t *job, int64_t now_ms,
		       struct hoist_err *err)
{
	const json_t *spec = json_object_get(job, "spec");
	const json_t *attempts = json_object_get(job, "attempts");
	const json_t *checkpoints = json_object_get(job, "checkpoints");
	const char *state = str_or_dash(job, "state");
	char text[256];

	print_field(out, "id", str_or_dash(job, "id"), NULL);
	print_field(out, "name", str_or_dash(job, "name"), NULL);
	print_field(out, "state", state, hoist_cli_state_color(state));
	print_field(out, "end reason", str_or_dash(job, "end_reason"), NULL);
	if (hoist_cli_json_str(job, "message"))
		print_field(out, "message", hoist_cli_json_str(job, "message"),
			    NULL);
	if (hoist_cli_json_str(job, "checkpoint_error"))
		print_field(out, "upload error",
			    hoist_cli_json_str(job, "checkpoint_error"), NULL);
	snprintf(text, sizeof(text), "%s / %s", str_or_dash(job, "team"),
		 str_or_dash(job, "project"));
	print_field(out, "team/project", text, NULL);
	if (hoist_cli_json_str(job, "stop_requested"))
		print_field(out, "stopping", str_or_dash(job, "stop_requested"),
			    NULL);
	print_profile(out, spec);
	print_field(out, "image", str_or_dash(spec, "image"), NULL);
	if (print_command(out, spec, err))
		return -1;
	print_field(out, "workdir", str_or_dash(spec, "workdir"), NULL);
	if (print_env_names(out, spec, err) ||
	    print_inputs_outputs(out, spec, err))
		return -1;
	if (json_is_object(spec))
		print_policies(out, spec);
	print_time_field(out, "created", job, "created_at", now_ms);
	print_time_field(out, "ended", job, "ended_at", now_ms);
	print_duration(out, job, now_ms);
	int_text(job, "last_step", text, sizeof(text));
	print_field(out, "last step", text, NULL);
	if (print_metrics(out, job, err))
		return -1;
	cost_text(job, "cost_usd", text, sizeof(text));
	print_field(out, "cost", text, NULL);

	fprintf(out, "\nattempts (%zu):\n", json_array_size(attempts));
	if (json_array_size(attempts) > 0 &&
	    hoist_cli_view_attempts(out, attempts, "  ", err))
		return -1;
	print_attempt_errors(out, attempts);
	fprintf(out, "\ncheckpoints (%zu):\n", json_array_size(checkpoints));
	if (json_array_size(checkpoints) > 0 &&
	    hoist_cli_view_checkpoints(out, checkpoints, "  ", err))
		return -1;
	return 0;
}

int hoist_cli_view_summary(FILE *out, const json_t *job,
			   struct hoist_err *err)
{
	const json_t *attempts = json_object_get(job, "attempts");
	const char *state = str_or_dash(job, "state");
	int color = hoist_cli_use_color(out);
	const char *state_color = color ? hoist_cli_state_color(state) : "";
	char step[32];
	char cost[32];
	char duration[32] = "-";
	int64_t created;
	int64_t ended;

	int_text(job, "last_step", step, sizeof(step));
	cost_text(job, "cost_usd", cost, sizeof(cost));
	if (hoist_cli_json_time(job, "created_at", &created) == 0 &&
	    hoist_cli_json_time(job, "ended_at", &ended) == 0)
		hoist_cli_format_duration(ended - created, duration,
					  sizeof(duration));

	fprintf(out, "job %s (%s): %s%s%s, end reason %s\n",
		str_or_dash(job, "id"), str_or_dash(job, "name"), state_color,
		state, *state_color ? HOIST_CLI_RESET : "",
		str_or_dash(job, "end_reason"));
	fprintf(out, "  attempts %zu, checkpoints %zu, last step %s, "
		"cost %s, duration %s\n", json_array_size(attempts),
		json_array_size(json_object_get(job, "checkpoints")), step,
		cost, duration);
	if (json_array_size(attempts) == 0)
		return 0;
	return hoist_cli_view_attempts(out, attempts, "  ", err);
}

int hoist_cli_view_attempts(FILE *out, const json_t *attempts,
			    const char *indent, struct hoist_err *err)
{
	static const char *const headers[] = {
		">#", "INSTANCE", "STATE", "STARTED", "ENDED", "END REASON",
		">EXIT", ">RESUMED FROM", ">LAST STEP",
	};
	struct hoist_cli_table table;
	const json_t *attempt;
	size_t i;
	int rc = -1;

	hoist_cli_table_init(&table, 9, headers);
	json_array_foreach(attempts, i, attempt) {
		char number[32];
		char exit_code[32];
		char resumed[32];
		char last[32];
		const char *state = str_or_dash(attempt, "state");
		const char *cells[9];
		const char *colors[9] = { 0 };

		int_text(attempt, "number", number, sizeof(number));
		int_text(attempt, "exit_code", exit_code, sizeof(exit_code));
		int_text(attempt, "resumed_from_step", resumed, sizeof(resumed));
		int_text(attempt, "last_step", last, sizeof(last));
		cells[0] = number;
		cells[1] = str_or_dash(attempt, "instance_id");
		cells[2] = state;
		cells[3] = str_or_dash(attempt, "started_at");
		cells[4] = str_or_dash(attempt, "ended_at");
		cells[5] = str_or_dash(attempt, "end_reason");
		cells[6] = exit_code;
		cells[7] = resumed;
		cells[8] = last;
		colors[2] = hoist_cli_state_color(state);
		if (hoist_cli_table_add(&table, cells, colors, err))
			goto out;
	}
	rc = hoist_cli_table_print(&table, indent, out, err);
out:
	hoist_cli_table_release(&table);
	return rc;
}

int hoist_cli_view_checkpoints(FILE *out, const json_t *checkpoints,
			       const char *indent, struct hoist_err *err)
{
	static const char *const headers[] = {
		">STEP", ">ATTEMPT", ">FILES", ">BYTES", "COMMITTED",
		"MANIFEST",
	};
	struct hoist_cli_table table;
	const json_t *checkpoint;
	size_t i;
	int rc = -1;

	hoist_cli_table_init(&table, 6, headers);
	json_array_foreach(checkpoints, i, checkpoint) {
		char step[32];
		char attempt[32];
		char files[32];
		char bytes[32];
		const char *cells[6];

		int_text(checkpoint, "step", step, sizeof(step));
		int_text(checkpoint, "attempt", attempt, sizeof(attempt));
		int_text(checkpoint, "files", files, sizeof(files));
		int_text(checkpoint, "bytes", bytes, sizeof(bytes));
		cells[0] = step;
		cells[1] = attempt;
		cells[2] = files;
		cells[3] = bytes;
		cells[4] = str_or_dash(checkpoint, "committed_at");
		cells[5] = str_or_dash(checkpoint, "manifest_key");
		if (hoist_cli_table_add(&table, cells, NULL, err))
			goto out;
	}
	rc = hoist_cli_table_print(&table, indent, out, err);
out:
	hoist_cli_table_release(&table);
	return rc;
}

int64_t hoist_cli_view_attempt_count(const json_t *job)
{
	const json_t *attempts = json_object_get(job, "attempts");
	int64_t count;

	if (json_is_array(attempts))
		return (int64_t)json_array_size(attempts);
	if (hoist_cli_json_int(job, "attempt_count", &count) == 0)
		return count;
	return -1;
}

int hoist_cli_view_jobs(FILE *out, const json_t *jobs, int64_t now_ms,
			struct hoist_err *err)
{
	static const char *const headers[] = {
		"ID", "NAME", "STATE", ">ATTEMPTS", ">STEP", ">COST", ">AGE",
	};
	struct hoist_cli_table table;
	const json_t *job;
	size_t i;
	int rc = -1;

	hoist_cli_table_init(&table, 7, headers);
	json_array_foreach(jobs, i, job) {
		const char *state = str_or_dash(job, "state");
		int64_t count = hoist_cli_view_attempt_count(job);
		char attempts[32] = "-";
		char step[32];
		char cost[32];
		char age[32];
		const char *cells[7];
		const char *colors[7] = { 0 };

		if (count >= 0)
			snprintf(attempts, sizeof(attempts), "%lld",
				 (long long)count);
		int_text(job, "last_step", step, sizeof(step));
		cost_text(job, "cost_usd", cost, sizeof(cost));
		age_text(job, "created_at", now_ms, age, sizeof(age));
		cells[0] = str_or_dash(job, "id");
		cells[1] = str_or_dash(job, "name");
		cells[2] = state;
		cells[3] = attempts;
		cells[4] = step;
		cells[5] = cost;
		cells[6] = age;
		colors[2] = hoist_cli_state_color(state);
		if (hoist_cli_table_add(&table, cells, colors, err))
			goto out;
	}
	rc = hoist_cli_table_print(&table, "", out, err);
out:
	hoist_cli_table_release(&table);
	return rc;
}

int hoist_cli_view_instances(FILE *out, const json_t *instances,
			     int64_t now_ms, struct hoist_err *err)
{
	static const char *const headers[] = {
		"ID", "PROVIDER", "STATE", "JOB", ">ATTEMPT", "GPU",
		">PRICE/H", ">COST", ">AGE",
	};
	struct hoist_cli_table table;
	const json_t *instance;
	size_t i;
	int rc = -1;

	hoist_cli_table_init(&table, 9, headers);
	json_array_foreach(instances, i, instance) {
		char attempt[32];
		char price[32];
		char cost[32];
		char age[32];
		const char *cells[9];

		int_text(instance, "attempt", attempt, sizeof(attempt));
		cost_text(instance, "price_per_hour", price, sizeof(price));
		cost_text(instance, "cost_usd", cost, sizeof(cost));
		age_text(instance, "created_at", now_ms, age, sizeof(age));
		cells[0] = str_or_dash(instance, "id");
		cells[1] = str_or_dash(instance, "provider");
		cells[2] = str_or_dash(instance, "state");
		cells[3] = str_or_dash(instance, "job_id");
		cells[4] = attempt;
		cells[5] = str_or_dash(instance, "gpu_name");
		cells[6] = price;
		cells[7] = cost;
		cells[8] = age;
		if (hoist_cli_table_add(&table, cells, NULL, err))
			goto out;
	}
	rc = hoist_cli_table_print(&table, "", out, err);
out:
	hoist_cli_table_release(&table);
	return rc;
}
