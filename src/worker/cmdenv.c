#include "worker/cmdenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Variables of the agent that the command never sees. */
static const char *const dropped_names[] = {
	"HOIST_AGENT_TOKEN",
	"HOIST_ORCHESTRATOR_URL",
};

struct env_list {
	char **items;		/* "NAME=value", NULL-terminated */
	size_t len;
	size_t cap;
};

static size_t name_length(const char *entry)
{
	const char *eq = strchr(entry, '=');

	return eq ? (size_t)(eq - entry) : 0;
}

static int is_dropped(const char *entry, size_t name_len)
{
	for (size_t i = 0; i < sizeof(dropped_names) / sizeof(dropped_names[0]);
	     i++) {
		if (strlen(dropped_names[i]) == name_len &&
		    memcmp(entry, dropped_names[i], name_len) == 0)
			return 1;
	}
	return 0;
}

/* Adds entry (taking ownership), replacing an entry with the same name. */
static int list_put(struct env_list *list, char *entry, struct hoist_err *err)
{
	size_t name_len = name_length(entry);

	for (size_t i = 0; i < list->len; i++) {
		if (name_length(list->items[i]) == name_len &&
		    memcmp(list->items[i], entry, name_len) == 0) {
			free(list->items[i]);
			list->items[i] = entry;
			return 0;
		}
	}
	if (list->len + 1 >= list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 64;
		char **items = realloc(list->items, cap * sizeof(*items));

		if (!items) {
			free(entry);
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory");
		}
		list->items = items;
		list->cap = cap;
	}
	list->items[list->len++] = entry;
	list->items[list->len] = NULL;
	return 0;
}

static int list_set(struct env_list *list, const char *name,
		    const char *value, struct hoist_err *err)
{
	char *entry;

	if (asprintf(&entry, "%s=%s", name, value) < 0)
		return hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
	return list_put(list, entry, err);
}

static int add_parent(struct env_list *list, char *const *parent,
		      struct hoist_err *err)
{
	for (size_t i = 0; parent && parent[i]; i++) {
		size_t name_len = name_length(parent[i]);
		char *entry;

		if (name_len == 0 || is_dropped(parent[i], name_len))
			continue;
		entry = strdup(parent[i]);
		if (!entry)
			return hoist_err_set(err, HOIST_E_NOMEM,
					     "out of memory");
		if (list_put(list, entry, err))
			return -1;
	}
	return 0;
}

static int add_contract(struct env_list *list,
			const struct hoist_assignment *job,
			const struct hoist_cmdenv_paths *paths,
			struct hoist_err *err)
{
	char number[32];

	if (list_set(list, "HOIST_JOB_ID", job->job_id, err))
		return -1;
	snprintf(number, sizeof(number), "%d", job->attempt);
	if (list_set(list, "HOIST_ATTEMPT", number, err))
		return -1;
	if (list_set(list, "HOIST_CHECKPOINT_DIR", paths->checkpoint_dir, err))
		return -1;
	if (list_set(list, "HOIST_RESUME_DIR", paths->resume_dir, err))
		return -1;
	if (list_set(list, "HOIST_RESUME_STEP", paths->resume_step, err))
		return -1;
	if (list_set(list, "HOIST_METRICS_FILE", paths->metrics_file, err))
		return -1;
	snprintf(number, sizeof(number), "%d",
		 job->checkpoint_interval_seconds);
	return list_set(list, "HOIST_CHECKPOINT_INTERVAL", number, err);
}

int hoist_cmdenv_build(char *const *parent, const struct hoist_assignment *job,
		       const struct hoist_cmdenv_paths *paths, char ***out,
		       struct hoist_err *err)
{
	struct env_list list = { NULL, 0, 0 };

	*out = NULL;
	if (add_parent(&list, parent, err))
		goto fail;
	for (size_t i = 0; i < job->nenv; i++)
		if (list_set(&list, job->env_names[i], job->env_values[i],
			     err))
			goto fail;
	if (add_contract(&list, job, paths, err))
		goto fail;
	if (!list.items) {
		list.items = calloc(1, sizeof(*list.items));
		if (!list.items) {
			hoist_err_set(err, HOIST_E_NOMEM, "out of memory");
			goto fail;
		}
	}
	*out = list.items;
	return 0;
fail:
	if (list.items)
		list.items[list.len] = NULL;
	hoist_cmdenv_free(list.items);
	return -1;
}

void hoist_cmdenv_free(char **env)
{
	if (!env)
		return;
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}
