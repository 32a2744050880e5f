#include "sim/query.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const op_names[] = {
	[HOIST_SIM_OP_EQ] = "eq",
	[HOIST_SIM_OP_NEQ] = "neq",
	[HOIST_SIM_OP_GT] = "gt",
	[HOIST_SIM_OP_GTE] = "gte",
	[HOIST_SIM_OP_LT] = "lt",
	[HOIST_SIM_OP_LTE] = "lte",
	[HOIST_SIM_OP_IN] = "in",
	[HOIST_SIM_OP_NOTIN] = "notin",
};

#define OP_COUNT (sizeof(op_names) / sizeof(op_names[0]))

int hoist_sim_query_number(const json_t *value, double *out)
{
	const char *text;
	char *end;
	double x;

	if (json_is_number(value)) {
		*out = json_number_value(value);
		return 0;
	}
	if (!json_is_string(value))
		return -1;
	text = json_string_value(value);
	while (isspace((unsigned char)*text))
		text++;
	errno = 0;
	x = strtod(text, &end);
	if (end == text || errno != 0 || !isfinite(x))
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0')
		return -1;
	*out = x;
	return 0;
}

/* Reads "535.86.05" as 535086005, the integer form of driver versions in
 * queries. */
static int dotted_version(const char *text, double *out)
{
	unsigned long part[3] = { 0, 0, 0 };
	const char *p = text;
	int n = 0;

	while (n < 3) {
		char *end;

		if (!isdigit((unsigned char)*p))
			return -1;
		part[n++] = strtoul(p, &end, 10);
		if (part[n - 1] > 999 && n > 1)
			return -1;
		p = end;
		if (*p == '\0')
			break;
		if (*p != '.')
			return -1;
		p++;
	}
	if (*p != '\0' || n < 2)
		return -1;
	*out = (double)part[0] * 1e6 + (double)part[1] * 1e3 + (double)part[2];
	return 0;
}

/* Reads a query value as a boolean: true, false, 1, 0, "true", "false". */
static int boolean_of(const json_t *value, int *out)
{
	double x;

	if (json_is_boolean(value)) {
		*out = json_is_true(value);
		return 0;
	}
	if (json_is_string(value)) {
		const char *s = json_string_value(value);

		if (strcasecmp(s, "true") == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, "false") == 0) {
			*out = 0;
			return 0;
		}
	}
	if (hoist_sim_query_number(value, &x) == 0 && (x == 0 || x == 1)) {
		*out = x == 1;
		return 0;
	}
	return -1;
}

/* Compares a stored value with a query value.  Returns 0 and sets *cmp
 * (negative, 0, positive for less, equal, greater), or -1 when the two
 * cannot be compared. */
static int compare_values(const json_t *stored, const json_t *query,
			  int *cmp)
{
	double a;
	double b;

	if (json_is_boolean(stored)) {
		int x = json_is_true(stored);
		int y;

		if (boolean_of(query, &y) != 0)
			return -1;
		*cmp = x - y;
		return 0;
	}
	if (json_is_number(stored)) {
		int y;

		a = json_number_value(stored);
		if (hoist_sim_query_number(query, &b) != 0) {
			if (boolean_of(query, &y) != 0)
				return -1;
			b = y;
		}
		*cmp = (a > b) - (a < b);
		return 0;
	}
	if (json_is_string(stored)) {
		const char *s = json_string_value(stored);

		if (json_is_string(query)) {
			int c = strcmp(s, json_string_value(query));

			*cmp = (c > 0) - (c < 0);
			return 0;
		}
		/* A number against a string: driver_version "535.86.05"
		 * against 535086005, or a numeric string. */
		if (!json_is_number(query))
			return -1;
		b = json_number_value(query);
		if (dotted_version(s, &a) != 0 &&
		    hoist_sim_query_number(stored, &a) != 0)
			return -1;
		*cmp = (a > b) - (a < b);
		return 0;
	}
	return -1;
}

/* The location "Texas, US" matches the country code "US" of a query. */
static int country_equal(const json_t *stored, const json_t *query)
{
	const char *s = json_string_value(stored);
	const char *q = json_string_value(query);
	size_t len;

	if (!s || !q || strlen(q) != 2)
		return -1;
	len = strlen(s);
	if (len < 2)
		return 0;
	return strcasecmp(s + len - 2, q) == 0;
}

static int value_equal(const char *field, const json_t *stored,
		       const json_t *query)
{
	int cmp;

	if (json_is_null(query))
		return !stored || json_is_null(stored);
	if (!stored || json_is_null(stored))
		return 0;
	if (strcmp(field, "geolocation") == 0) {
		int eq = country_equal(stored, query);

		if (eq >= 0)
			return eq;
	}
	return compare_values(stored, query, &cmp) == 0 && cmp == 0;
}

static int list_contains(const char *field, const json_t *stored,
			 const json_t *list)
{
	size_t i;
	json_t *item;

	json_array_foreach(list, i, item)
		if (value_equal(field, stored, item))
			return 1;
	return 0;
}

int hoist_sim_cond_match(const struct hoist_sim_cond *cond,
			 const json_t *value)
{
	int cmp;

	switch (cond->op) {
	case HOIST_SIM_OP_EQ:
		return value_equal(cond->field, value, cond->value);
	case HOIST_SIM_OP_NEQ:
		return !value_equal(cond->field, value, cond->value);
	case HOIST_SIM_OP_IN:
		return list_contains(cond->field, value, cond->value);
	case HOIST_SIM_OP_NOTIN:
		return !list_contains(cond->field, value, cond->value);
	default:
		break;
	}
	if (!value || json_is_null(value) ||
	    compare_values(value, cond->value, &cmp) != 0)
		return 0;
	switch (cond->op) {
	case HOIST_SIM_OP_GT:
		return cmp > 0;
	case HOIST_SIM_OP_GTE:
		return cmp >= 0;
	case HOIST_SIM_OP_LT:
		return cmp < 0;
	case HOIST_SIM_OP_LTE:
		return cmp <= 0;
	default:
		return 0;
	}
}

int hoist_sim_query_match(const struct hoist_sim_query *q, const json_t *obj)
{
	for (size_t i = 0; i < q->count; i++) {
		const struct hoist_sim_cond *c = &q->conds[i];

		if (!hoist_sim_cond_match(c, json_object_get(obj, c->field)))
			return 0;
	}
	return 1;
}

static int compare_for_order(const json_t *a, const json_t *b)
{
	int cmp;

	if (compare_values(a, b, &cmp) == 0)
		return cmp;
	return 0;
}

int hoist_sim_query_compare(const struct hoist_sim_query *q, const json_t *a,
			    const json_t *b)
{
	json_int_t ia;
	json_int_t ib;

	for (size_t i = 0; i < q->norder; i++) {
		const char *f = q->order[i].field;
		const json_t *va = json_object_get(a, f);
		const json_t *vb = json_object_get(b, f);
		int na = !va || json_is_null(va);
		int nb = !vb || json_is_null(vb);
		int cmp;

		if (na || nb) {
			if (na != nb)
				return na ? 1 : -1;
			continue;
		}
		cmp = compare_for_order(va, vb);
		if (cmp != 0)
			return q->order[i].desc ? -cmp : cmp;
	}
	ia = json_integer_value(json_object_get(a, "id"));
	ib = json_integer_value(json_object_get(b, "id"));
	return (ia > ib) - (ia < ib);
}

void hoist_sim_query_release(struct hoist_sim_query *q)
{
	for (size_t i = 0; i < q->count; i++)
		json_decref(q->conds[i].value);
	q->count = 0;
}

static int find_op(const char *name)
{
	for (size_t i = 0; i < OP_COUNT; i++)
		if (strcmp(op_names[i], name) == 0)
			return (int)i;
	return -1;
}

static int check_value(const char *field, const char *opname, int op,
		       const json_t *value, struct hoist_err *err)
{
	size_t i;
	json_t *item;

	if (op == HOIST_SIM_OP_IN || op == HOIST_SIM_OP_NOTIN) {
		if (!json_is_array(value))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "operator '%s' of '%s' takes a "
					     "list", opname, field);
		if (json_array_size(value) > HOIST_SIM_QUERY_LIST_MAX)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "the '%s' list of '%s' has more "
					     "than %d items", opname, field,
					     HOIST_SIM_QUERY_LIST_MAX);
		json_array_foreach(value, i, item)
			if (json_is_array(item) || json_is_object(item))
				return hoist_err_set(err, HOIST_E_INVALID,
						     "the '%s' list of '%s' "
						     "must hold numbers, "
						     "strings, booleans or "
						     "null", opname, field);
		return 0;
	}
	if (json_is_array(value) || json_is_object(value))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "operator '%s' of '%s' takes a number, "
				     "a string, a boolean or null", opname,
				     field);
	return 0;
}

static int add_conds(struct hoist_sim_query *q, const char *field,
		     const json_t *ops, struct hoist_err *err)
{
	const char *opname;
	json_t *value;

	if (strlen(field) >= HOIST_SIM_QUERY_FIELD_MAX)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "field name '%.40s...' is too long",
				     field);
	json_object_foreach((json_t *)ops, opname, value) {
		int op = find_op(opname);
		struct hoist_sim_cond *c;

		if (op < 0)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "unknown operator '%.40s' for "
					     "'%s'; expected eq, neq, gt, gte, "
					     "lt, lte, in or notin", opname,
					     field);
		if (check_value(field, opname, op, value, err) != 0)
			return -1;
		if (q->count == HOIST_SIM_QUERY_CONDS_MAX)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "more than %d conditions",
					     HOIST_SIM_QUERY_CONDS_MAX);
		c = &q->conds[q->count++];
		snprintf(c->field, sizeof(c->field), "%s", field);
		c->op = (enum hoist_sim_op)op;
		c->value = json_incref(value);
	}
	return 0;
}

int hoist_sim_query_parse_order(const json_t *order,
				struct hoist_sim_query *q,
				struct hoist_err *err)
{
	size_t i;
	json_t *item;

	q->norder = 0;
	if (!json_is_array(order))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "'order' must be a list such as "
				     "[[\"score\", \"desc\"]]");
	json_array_foreach(order, i, item) {
		const char *field = json_string_value(json_array_get(item, 0));
		const char *dir = json_string_value(json_array_get(item, 1));
		struct hoist_sim_order *o;

		if (!json_is_array(item) || !field ||
		    strlen(field) >= HOIST_SIM_QUERY_FIELD_MAX ||
		    json_array_size(item) > 2 ||
		    (json_array_size(item) == 2 && !dir))
			return hoist_err_set(err, HOIST_E_INVALID,
					     "'order' item %zu must be "
					     "[field, \"asc\" or \"desc\"]",
					     i + 1);
		if (dir && strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "'order' item %zu: invalid "
					     "direction '%.20s'; expected asc "
					     "or desc", i + 1, dir);
		if (q->norder == HOIST_SIM_QUERY_ORDER_MAX)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "'order' has more than %d items",
					     HOIST_SIM_QUERY_ORDER_MAX);
		o = &q->order[q->norder++];
		snprintf(o->field, sizeof(o->field), "%s", field);
		o->desc = dir && strcmp(dir, "desc") == 0;
	}
	return 0;
}

static int parse_type(const json_t *value, struct hoist_sim_query *q,
		      struct hoist_err *err)
{
	const char *type = json_string_value(value);

	if (!type)
		return hoist_err_set(err, HOIST_E_INVALID,
				     "'type' must be a string");
	/* The API's own documentation spells it both ways. */
	if (strcmp(type, "on-demand") == 0 || strcmp(type, "ondemand") == 0)
		q->type = HOIST_SIM_PRICE_ON_DEMAND;
	else if (strcmp(type, "bid") == 0 || strcmp(type, "interruptible") == 0)
		q->type = HOIST_SIM_PRICE_BID;
	else if (strcmp(type, "reserved") == 0)
		q->type = HOIST_SIM_PRICE_RESERVED;
	else
		return hoist_err_set(err, HOIST_E_INVALID,
				     "invalid type '%.40s'; expected "
				     "on-demand, bid or reserved", type);
	return 0;
}

static int parse_control(const char *key, const json_t *value,
			 struct hoist_sim_query *q, struct hoist_err *err)
{
	double x;

	if (strcmp(key, "order") == 0)
		return hoist_sim_query_parse_order(value, q, err);
	if (strcmp(key, "type") == 0)
		return parse_type(value, q, err);
	if (strcmp(key, "limit") == 0) {
		if (json_is_null(value))
			return 0;
		if (hoist_sim_query_number(value, &x) != 0 || x < 0 ||
		    x != floor(x) || x > 1e9)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid limit; expected a "
					     "whole number of offers");
		q->limit = (long)x;
		return 0;
	}
	if (strcmp(key, "allocated_storage") == 0) {
		if (json_is_null(value))
			return 0;
		if (hoist_sim_query_number(value, &x) != 0 || x < 0 ||
		    x > 1e6)
			return hoist_err_set(err, HOIST_E_INVALID,
					     "invalid allocated_storage; "
					     "expected a disk size in GB");
		q->storage_gb = x;
		return 0;
	}
	/* disable_bundling and other flags do not change the result. */
	return 0;
}

static int skipped(const char *key, const char *const *skip)
{
	for (; skip && *skip; skip++)
		if (strcmp(*skip, key) == 0)
			return 1;
	return 0;
}

int hoist_sim_query_parse(const json_t *filter, int controls,
			  const json_t *known, enum hoist_sim_unknown_field
			  unknown, const char *const *skip,
			  struct hoist_sim_query *q, struct hoist_err *err)
{
	const char *key;
	json_t *value;

	memset(q, 0, sizeof(*q));
	q->limit = -1;
	q->storage_gb = -1;
	if (!json_is_object(filter))
		return hoist_err_set(err, HOIST_E_INVALID,
				     "the query must be a JSON object");
	json_object_foreach((json_t *)filter, key, value) {
		int rc;

		if (!json_is_object(value)) {
			if (controls) {
				rc = parse_control(key, value, q, err);
			} else {
				rc = hoist_err_set(err, HOIST_E_INVALID,
						   "the filter of '%.60s' must "
						   "be an object such as "
						   "{\"eq\": 1}", key);
			}
			if (rc != 0)
				goto fail;
			continue;
		}
		if (skipped(key, skip))
			continue;
		if (known && !json_object_get(known, key)) {
			if (unknown == HOIST_SIM_UNKNOWN_IGNORE)
				continue;
			hoist_err_set(err, HOIST_E_INVALID,
				      "%.60s is not a valid search key", key);
			goto fail;
		}
		if (add_conds(q, key, value, err) != 0)
			goto fail;
	}
	return 0;
fail:
	hoist_sim_query_release(q);
	return -1;
}
