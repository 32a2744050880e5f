/*
 * test_model.c - state names, final states, record release and instance
 * cost.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "orchestrator/model.h"

struct name_case {
	int state;
	const char *name;
};

static const struct name_case job_names[] = {
	{ HOIST_JOB_QUEUED, "queued" },
	{ HOIST_JOB_PROVISIONING, "provisioning" },
	{ HOIST_JOB_STARTING, "starting" },
	{ HOIST_JOB_RUNNING, "running" },
	{ HOIST_JOB_RECOVERING, "recovering" },
	{ HOIST_JOB_SUCCEEDED, "succeeded" },
	{ HOIST_JOB_FAILED, "failed" },
	{ HOIST_JOB_CANCELLED, "cancelled" },
};

static const struct name_case attempt_names[] = {
	{ HOIST_ATTEMPT_PROVISIONING, "provisioning" },
	{ HOIST_ATTEMPT_STARTING, "starting" },
	{ HOIST_ATTEMPT_RUNNING, "running" },
	{ HOIST_ATTEMPT_ENDED, "ended" },
};

static const struct name_case instance_names[] = {
	{ HOIST_INSTANCE_CREATING, "creating" },
	{ HOIST_INSTANCE_RUNNING, "running" },
	{ HOIST_INSTANCE_DESTROYING, "destroying" },
	{ HOIST_INSTANCE_DESTROYED, "destroyed" },
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* cmocka's assert_float_equal() rounds to float, too coarse for money. */
#define assert_near(got, want, epsilon) \
	check_near((got), (want), (epsilon), #got, __FILE__, __LINE__)

static void check_near(double got, double want, double epsilon,
		       const char *expr, const char *file, int line)
{
	double diff = got > want ? got - want : want - got;

	if (diff <= epsilon)
		return;
	print_error("%s = %.15g, expected %.15g (within %g)\n", expr, got,
		    want, epsilon);
	_fail(file, line);
}

static void test_job_state_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT_OF(job_names); i++) {
		assert_string_equal(
			hoist_model_job_state_name(job_names[i].state),
			job_names[i].name);
		assert_int_equal(hoist_model_job_state_parse(job_names[i].name),
				 job_names[i].state);
	}
}

static void test_attempt_state_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT_OF(attempt_names); i++) {
		assert_string_equal(
			hoist_model_attempt_state_name(attempt_names[i].state),
			attempt_names[i].name);
		assert_int_equal(
			hoist_model_attempt_state_parse(attempt_names[i].name),
			attempt_names[i].state);
	}
}

static void test_instance_state_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < COUNT_OF(instance_names); i++) {
		assert_string_equal(
			hoist_model_instance_state_name(
				instance_names[i].state),
			instance_names[i].name);
		assert_int_equal(
			hoist_model_instance_state_parse(
				instance_names[i].name),
			instance_names[i].state);
	}
}

static void test_unknown_state_names(void **state)
{
	(void)state;
	assert_string_equal(hoist_model_job_state_name(-1), "unknown");
	assert_string_equal(hoist_model_job_state_name(8), "unknown");
	assert_string_equal(hoist_model_attempt_state_name(4), "unknown");
	assert_string_equal(hoist_model_instance_state_name(99), "unknown");

	assert_int_equal(hoist_model_job_state_parse("unknown"), -1);
	assert_int_equal(hoist_model_job_state_parse(""), -1);
	assert_int_equal(hoist_model_job_state_parse(NULL), -1);
	assert_int_equal(hoist_model_job_state_parse("Running"), -1);
	assert_int_equal(hoist_model_job_state_parse("ended"), -1);
	assert_int_equal(hoist_model_attempt_state_parse("queued"), -1);
	assert_int_equal(hoist_model_instance_state_parse("running "), -1);
}

static void test_final_states(void **state)
{
	(void)state;
	assert_false(hoist_model_job_state_is_final(HOIST_JOB_QUEUED));
	assert_false(hoist_model_job_state_is_final(HOIST_JOB_PROVISIONING));
	assert_false(hoist_model_job_state_is_final(HOIST_JOB_STARTING));
	assert_false(hoist_model_job_state_is_final(HOIST_JOB_RUNNING));
	assert_false(hoist_model_job_state_is_final(HOIST_JOB_RECOVERING));
	assert_true(hoist_model_job_state_is_final(HOIST_JOB_SUCCEEDED));
	assert_true(hoist_model_job_state_is_final(HOIST_JOB_FAILED));
	assert_true(hoist_model_job_state_is_final(HOIST_JOB_CANCELLED));
	assert_false(hoist_model_job_state_is_final(-1));
	assert_false(hoist_model_job_state_is_final(42));
}

static void test_job_release(void **state)
{
	struct hoist_job_record job;

	(void)state;
	memset(&job, 0, sizeof(job));
	hoist_model_job_release(&job);
	assert_null(job.spec);
	assert_null(job.metrics);

	job.spec = json_pack("{s:s}", "name", "demo");
	job.metrics = json_pack("{s:f}", "loss", 2.5);
	assert_non_null(job.spec);
	assert_non_null(job.metrics);
	hoist_model_job_release(&job);
	assert_null(job.spec);
	assert_null(job.metrics);

	/* A second release must not free the members again. */
	hoist_model_job_release(&job);
	hoist_model_job_release(NULL);
}

static void test_job_release_keeps_shared(void **state)
{
	struct hoist_job_record job;
	json_t *spec = json_object();

	(void)state;
	memset(&job, 0, sizeof(job));
	job.spec = json_incref(spec);
	hoist_model_job_release(&job);
	assert_int_equal(spec->refcount, 1);
	json_decref(spec);
}

static struct hoist_instance_record make_instance(int64_t created,
						  int64_t destroyed,
						  double price)
{
	struct hoist_instance_record inst;

	memset(&inst, 0, sizeof(inst));
	inst.created_at = created;
	inst.destroyed_at = destroyed;
	inst.price_per_hour = price;
	return inst;
}

static void test_cost_destroyed(void **state)
{
	/* Two hours at 0.40 USD/h, created at a realistic wall time. */
	struct hoist_instance_record inst =
		make_instance(1790000000000, 1790000000000 + 7200000, 0.40);

	(void)state;
	assert_near(hoist_model_instance_cost(&inst, 0), 0.80, 1e-9);
	/* now_ms is ignored once the instance is destroyed. */
	assert_near(hoist_model_instance_cost(&inst, 1800000000000),
			   0.80, 1e-9);
}

static void test_cost_running(void **state)
{
	struct hoist_instance_record inst =
		make_instance(1790000000000, 0, 0.36);

	(void)state;
	/* 90 s at 0.36 USD/h is 0.009 USD. */
	assert_near(hoist_model_instance_cost(&inst,
						     1790000000000 + 90000),
			   0.009, 1e-12);
	assert_near(hoist_model_instance_cost(&inst, 1790000000000),
			   0.0, 0.0);
}

static void test_cost_never_negative(void **state)
{
	struct hoist_instance_record unset = make_instance(0, 5000, 1.0);
	struct hoist_instance_record clock_back =
		make_instance(1790000000000, 0, 1.0);
	struct hoist_instance_record destroyed_first =
		make_instance(1790000000000, 1789999999000, 1.0);
	struct hoist_instance_record negative_price =
		make_instance(1790000000000, 1790003600000, -2.0);
	struct hoist_instance_record nan_price =
		make_instance(1790000000000, 1790003600000, NAN);

	(void)state;
	assert_near(hoist_model_instance_cost(&unset, 1790000000000),
			   0.0, 0.0);
	assert_near(hoist_model_instance_cost(&clock_back,
						     1789999000000),
			   0.0, 0.0);
	assert_near(hoist_model_instance_cost(&destroyed_first, 0),
			   0.0, 0.0);
	assert_near(hoist_model_instance_cost(&negative_price, 0),
			   0.0, 0.0);
	assert_near(hoist_model_instance_cost(&nan_price, 0), 0.0,
			   0.0);
	assert_near(hoist_model_instance_cost(NULL, 0), 0.0, 0.0);
}

static void test_cost_billed(void **state)
{
	struct hoist_instance_record inst =
		make_instance(1790000000000, 1790000000000 + 7200000, 0.40);
	struct hoist_instance_record negative =
		make_instance(1790000000000, 1790000000000 + 7200000, 0.40);

	(void)state;
	/* The provider's charge replaces the 0.80 USD estimate. */
	inst.billed = 1;
	inst.billed_usd = 0.61;
	assert_near(hoist_model_instance_cost(&inst, 0), 0.61, 1e-12);
	/* A charge of 0 is a cost of 0, not a missing charge. */
	inst.billed_usd = 0.0;
	assert_near(hoist_model_instance_cost(&inst, 0), 0.0, 0.0);
	negative.billed = 1;
	negative.billed_usd = -1.0;
	assert_near(hoist_model_instance_cost(&negative, 0), 0.0, 0.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_state_names),
		cmocka_unit_test(test_attempt_state_names),
		cmocka_unit_test(test_instance_state_names),
		cmocka_unit_test(test_unknown_state_names),
		cmocka_unit_test(test_final_states),
		cmocka_unit_test(test_job_release),
		cmocka_unit_test(test_job_release_keeps_shared),
		cmocka_unit_test(test_cost_destroyed),
		cmocka_unit_test(test_cost_running),
		cmocka_unit_test(test_cost_never_negative),
		cmocka_unit_test(test_cost_billed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
