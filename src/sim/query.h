/*
 * query.h - the filter language of Vast.ai offer searches and instance
 * lists.
 *
 * A filter is a JSON object that maps field names to operator objects:
 *   {"num_gpus": {"eq": "1"}, "reliability": {"gte": 0.95, "lt": 1},
 *    "geolocation": {"in": ["US", "CA"]}}
 * Operators are eq, neq, gt, gte, lt, lte, in and notin (in and notin
 * take a list).  Several operators on one field and several fields all
 * combine with AND.  Values may be JSON numbers or numeric strings (the
 * official CLI sends "1" and "0.98"), booleans or null.
 *
 * An offer search adds the control keys order, type, limit and
 * allocated_storage to the same object.
 */
#ifndef HOIST_SIM_QUERY_H
#define HOIST_SIM_QUERY_H

#include <stddef.h>

#include <jansson.h>

#include "common/err.h"
#include "sim/market.h"

#define HOIST_SIM_QUERY_FIELD_MAX 64	/* bytes of a field name */
#define HOIST_SIM_QUERY_CONDS_MAX 128
#define HOIST_SIM_QUERY_ORDER_MAX 8
#define HOIST_SIM_QUERY_LIST_MAX 1000	/* items of an in or notin list */

enum hoist_sim_op {
	HOIST_SIM_OP_EQ = 0,
	HOIST_SIM_OP_NEQ,
	HOIST_SIM_OP_GT,
	HOIST_SIM_OP_GTE,
	HOIST_SIM_OP_LT,
	HOIST_SIM_OP_LTE,
	HOIST_SIM_OP_IN,
	HOIST_SIM_OP_NOTIN,
};

struct hoist_sim_cond {
	char field[HOIST_SIM_QUERY_FIELD_MAX];
	enum hoist_sim_op op;
	json_t *value;			/* a reference owned by the query */
};

struct hoist_sim_order {
	char field[HOIST_SIM_QUERY_FIELD_MAX];
	int desc;
};

struct hoist_sim_query {
	struct hoist_sim_cond conds[HOIST_SIM_QUERY_CONDS_MAX];
	size_t count;
	struct hoist_sim_order order[HOIST_SIM_QUERY_ORDER_MAX];
	size_t norder;
	enum hoist_sim_price_type type;
	long limit;			/* -1 when the request has none */
	double storage_gb;		/* allocated_storage, or -1 */
};

/* The handling of a filter on a field that the objects do not have. */
enum hoist_sim_unknown_field {
	HOIST_SIM_UNKNOWN_IGNORE = 0,	/* drop the condition */
	HOIST_SIM_UNKNOWN_REJECT,	/* fail the request */
};

/*
 * Parses a filter object into q (which it clears first).  Conditions on a
 * field that is not a key of known (when known is not NULL) are dropped
 * or rejected as unknown requires; names in skip (a NULL-terminated list, may
 * be NULL) are dropped silently.  When controls is set, the offer-search
 * keys order, type, limit, allocated_storage and disable_bundling are
 * parsed too, and other non-object values are ignored; otherwise every
 * value must be an operator object.  Fails with HOIST_E_INVALID and a
 * message such as "reliability is not a valid search key".  The caller
 * releases q with hoist_sim_query_release().
 */
int hoist_sim_query_parse(const json_t *filter, int controls,
			  const json_t *known, enum hoist_sim_unknown_field
			  unknown, const char *const *skip,
			  struct hoist_sim_query *q, struct hoist_err *err);

/* Parses the "order" value: [["score", "desc"], ["id", "asc"]]. */
int hoist_sim_query_parse_order(const json_t *order,
				struct hoist_sim_query *q,
				struct hoist_err *err);

void hoist_sim_query_release(struct hoist_sim_query *q);

/* Returns 1 when value (the field's value in an object, NULL when
 * missing) passes cond, else 0. */
int hoist_sim_cond_match(const struct hoist_sim_cond *cond,
			 const json_t *value);

/* Returns 1 when obj passes every condition of q, else 0. */
int hoist_sim_query_match(const struct hoist_sim_query *q, const json_t *obj);

/*
 * Compares two objects by the order of q, then by "id" ascending: returns
 * a negative number when a comes first.  Missing and null values come
 * last in either direction.
 */
int hoist_sim_query_compare(const struct hoist_sim_query *q, const json_t *a,
			    const json_t *b);

/* Parses a number or a numeric string; returns 0 and sets *out, or -1. */
int hoist_sim_query_number(const json_t *value, double *out);

#endif
