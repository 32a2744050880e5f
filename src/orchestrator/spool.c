/*
 * spool.c - copies of the agents' log chunks and heartbeat metrics in the
 * artifact store:
 *
 *   jobs/<job>/logs/a<attempt>/<offset, 20 digits>.log
 *   jobs/<job>/metrics/a<attempt>/<batch start, ms since epoch, 16 digits>.jsonl
 *
 * The local log file under the home folder stays the fast path.  The API
 * handlers on the event loop only append to a queue under a mutex.  One
 * writer thread wakes once per flush period, takes the whole queue under
 * the lock and writes it outside the lock through a store handle of its
 * own: a store may be used by one thread at a time, and an S3 write on the
 * loop would delay the agents' calls.  Each metrics object is one batch of
 * the heartbeats of one flush period.
 */
#include "orchestrator/daemon.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"

/* HOIST_SPOOL_BYTES_MAX counts the bytes queued, in flight and waiting
 * for a retry.  This is the size limit of one metrics batch. */
#define SPOOL_METRICS_BATCH_MAX (1u << 20)
/* Writes of one object, the first included, and the pause before the
 * first retry, doubled for each later one (1 + 2 + 4 + 8 s). */
#define SPOOL_ATTEMPTS_MAX 5
#define SPOOL_RETRY_BASE_MS 1000
/* How long hoist_spool_stop() waits past its deadline for a write that is
 * in flight when the deadline passes. */
#define SPOOL_STOP_SLACK_MS 5000

struct spool_item {
	struct spool_item *next;
	char job_id[HOIST_ID_MAX];
	int attempt;
	int is_metrics;
	long long name;		/* log offset, or batch start in ms */
	int failures;		/* failed writes so far */
	int64_t retry_mono;	/* monotonic ms of the next write */
	struct hoist_buf data;
};

struct hoist_spool {
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* to the writer: flush or stop */
	pthread_cond_t finished_cond;	/* to hoist_spool_stop() */
	pthread_t thread;
	struct hoist_artifact_store *store;	/* the writer's own handle */
	int flush_ms;

	/* The fields below are protected by lock. */
	struct spool_item *head;	/* the queue, oldest first */
	struct spool_item **tail;
	size_t bytes;			/* every byte the spool holds */
	size_t dropped;			/* items dropped since the last warning */
	size_t dropped_bytes;
	char dropped_job[HOIST_ID_MAX];	/* the job of the first of them */
	int flush_requested;		/* the queue passed half its limit */
	int stopping;
	int64_t deadline_mono;		/* of the shutdown flush */
	int finished;			/* the writer has returned */
	size_t lost_bytes;		/* not stored by the shutdown flush */
};

static void free_item(struct spool_item *item)
{
	hoist_buf_release(&item->data);
	free(item);
}

static void item_key(const struct spool_item *item, char *key, size_t len)
{
	if (item->is_metrics)
		snprintf(key, len, "jobs/%s/metrics/a%d/%016lld.jsonl",
			 item->job_id, item->attempt, item->name);
	else
		snprintf(key, len, "jobs/%s/logs/a%d/%020lld.log",
			 item->job_id, item->attempt, item->name);
}

/* Waits on cond until signalled or until the monotonic time until_mono. */
static void wait_until(pthread_cond_t *cond, pthread_mutex_t *lock,
		       int64_t until_mono)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(until_mono / 1000);
	ts.tv_nsec = (long)(until_mono % 1000) * 1000000L;
	pthread_cond_timedwait(cond, lock, &ts);
}

/* Counts an item that the loop thread could not queue.  Called with the
 * lock held. */
static void count_dropped(struct hoist_spool *spool, const char *job_id,
			  size_t len)
{
	if (spool->dropped == 0)
		snprintf(spool->dropped_job, sizeof(spool->dropped_job), "%s",
			 job_id);
	spool->dropped++;
	spool->dropped_bytes += len;
}

/*
 * Writes one item.  Returns 1 when the spool is done with it (stored, or
 * dropped after SPOOL_ATTEMPTS_MAX failures), 0 when it must be retried
 * at item->retry_mono.
 */
static int write_item(struct hoist_spool *spool, struct spool_item *item)
{
	struct hoist_artifact_store *store = spool->store;
	struct hoist_err err = HOIST_ERR_INIT;
	char key[HOIST_ARTIFACT_KEY_MAX + 1];
	int64_t pause_ms;

	item_key(item, key, sizeof(key));
	if (store->ops->put_bytes(store, key, item->data.data, item->data.len,
				  &err) == 0)
		return 1;
	item->failures++;
	if (item->failures >= SPOOL_ATTEMPTS_MAX) {
		hoist_log_error("job=%s dropped %s (%zu bytes) from the "
				"artifact store copy after %d failed writes: "
				"%s", item->job_id, key, item->data.len,
				item->failures, err.msg);
		return 1;
	}
	pause_ms = (int64_t)SPOOL_RETRY_BASE_MS << (item->failures - 1);
	item->retry_mono = hoist_clock_mono_ms() + pause_ms;
	hoist_log_warn("job=%s cannot store %s (write %d of %d), retrying in "
		       "%lld ms: %s", item->job_id, key, item->failures,
		       SPOOL_ATTEMPTS_MAX, (long long)pause_ms, err.msg);
	return 0;
}

/*
 * Writes the items of batch and the retries of *retry that are due, and
 * leaves on *retry the items to write again later and those not reached
 * before the deadline (0: none).  Returns the bytes of the items that the
 * spool is done with.  Runs without the lock.
 */
static size_t write_batch(struct hoist_spool *spool, struct spool_item *batch,
			  struct spool_item **retry, int64_t deadline_mono)
{
	struct spool_item *pending = NULL;
	struct spool_item **pending_tail = &pending;
	struct spool_item *item, *next;
	size_t released = 0;

	/* The due retries go first: they are the oldest bytes. */
	for (item = *retry; item; item = next) {
		next = item->next;
		item->next = NULL;
		*pending_tail = item;
		pending_tail = &item->next;
	}
	*pending_tail = batch;
	*retry = NULL;

	for (item = pending; item; item = next) {
		int64_t now = hoist_clock_mono_ms();

		next = item->next;
		if (item->retry_mono > now ||
		    (deadline_mono > 0 && now >= deadline_mono)) {
			item->next = *retry;
			*retry = item;
			continue;
		}
		if (write_item(spool, item)) {
			released += item->data.len;
			free_item(item);
		} else {
			item->next = *retry;
			*retry = item;
		}
	}
	return released;
}

/* Returns the earliest retry time of the items of list, or INT64_MAX. */
static int64_t earliest_retry(const struct spool_item *list)
{
	int64_t earliest = INT64_MAX;

	for (; list; list = list->next)
		if (list->retry_mono < earliest)
			earliest = list->retry_mono;
	return earliest;
}

/* Logs and frees the items that the shutdown flush could not store.
 * Returns their byte count. */
static size_t log_lost(struct spool_item *list)
{
	char key[HOIST_ARTIFACT_KEY_MAX + 1];
	struct spool_item *next;
	size_t lost = 0;

	for (; list; list = next) {
		next = list->next;
		item_key(list, key, sizeof(key));
		hoist_log_error("job=%s lost %s (%zu bytes) from the artifact "
				"store copy: hoistd stopped before it was "
				"stored", list->job_id, key, list->data.len);
		lost += list->data.len;
		free_item(list);
	}
	return lost;
}

static void warn_dropped(size_t count, size_t bytes, const char *job_id)
{
	hoist_log_warn("job=%s and maybe others: dropped %zu log or metrics "
		       "items (%zu bytes) from the artifact store copy because "
		       "more than %u bytes were queued", job_id, count, bytes,
		       HOIST_SPOOL_BYTES_MAX);
}

/*
 * Returns the monotonic ms at which the writer must write next.  Called
 * with the lock held.  While stopping that is at once when items are
 * queued, else the first retry.
 */
static int64_t next_write_mono(const struct hoist_spool *spool,
			       const struct spool_item *retry,
			       int64_t next_flush, int64_t now)
{
	if (spool->stopping)
		return spool->head ? now : earliest_retry(retry);
	return spool->flush_requested ? now : next_flush;
}

static void *writer_main(void *arg)
{
	struct hoist_spool *spool = arg;
	struct spool_item *retry = NULL;	/* owned by this thread */
	struct spool_item *queued;
	size_t lost;
	int64_t next_flush = hoist_clock_mono_ms() + spool->flush_ms;

	pthread_mutex_lock(&spool->lock);
	for (;;) {
		int64_t now = hoist_clock_mono_ms();
		int64_t deadline = 0;
		int64_t due;
		struct spool_item *batch;
		size_t dropped, dropped_bytes, released;
		char dropped_job[HOIST_ID_MAX];

		if (spool->stopping) {
			deadline = spool->deadline_mono;
			if (now >= deadline || (!spool->head && !retry))
				break;
		}
		due = next_write_mono(spool, retry, next_flush, now);
		if (now < due) {
			wait_until(&spool->wake, &spool->lock,
				   deadline > 0 && deadline < due ? deadline :
				   due);
			continue;
		}

		batch = spool->head;
		spool->head = NULL;
		spool->tail = &spool->head;
		spool->flush_requested = 0;
		dropped = spool->dropped;
		dropped_bytes = spool->dropped_bytes;
		snprintf(dropped_job, sizeof(dropped_job), "%s",
			 spool->dropped_job);
		spool->dropped = 0;
		spool->dropped_bytes = 0;
		pthread_mutex_unlock(&spool->lock);

		if (dropped > 0)
			warn_dropped(dropped, dropped_bytes, dropped_job);
		released = write_batch(spool, batch, &retry, deadline);

		pthread_mutex_lock(&spool->lock);
		spool->bytes -= released;
		next_flush = hoist_clock_mono_ms() + spool->flush_ms;
	}

	/* Stopping, and what is left missed the deadline. */
	queued = spool->head;
	spool->head = NULL;
	spool->tail = &spool->head;
	if (spool->dropped > 0)
		warn_dropped(spool->dropped, spool->dropped_bytes,
			     spool->dropped_job);
	spool->dropped = 0;
	pthread_mutex_unlock(&spool->lock);
	lost = log_lost(retry);
	lost += log_lost(queued);

	pthread_mutex_lock(&spool->lock);
	spool->bytes = 0;
	spool->lost_bytes = lost;
	spool->finished = 1;
	pthread_cond_broadcast(&spool->finished_cond);
	pthread_mutex_unlock(&spool->lock);
	return NULL;
}

static void free_spool(struct hoist_spool *spool)
{
	struct spool_item *item, *next;

	for (item = spool->head; item; item = next) {
		next = item->next;
		free_item(item);
	}
	if (spool->store)
		hoist_artifact_close(spool->store);
	pthread_cond_destroy(&spool->finished_cond);
	pthread_cond_destroy(&spool->wake);
	pthread_mutex_destroy(&spool->lock);
	free(spool);
}

/* Initializes the lock and the condition variables, which wait on the
 * monotonic clock. */
static int init_sync(struct hoist_spool *spool, struct hoist_err *err)
{
	pthread_condattr_t attr;
	int rc = -1;

	if (pthread_condattr_init(&attr) != 0)
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot create a condition variable");
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_mutex_init(&spool->lock, NULL) != 0) {
		hoist_err_set(err, HOIST_E_INTERNAL,
			      "cannot create the lock of the log spool");
		goto out;
	}
	if (pthread_cond_init(&spool->wake, &attr) != 0) {
		pthread_mutex_destroy(&spool->lock);
		hoist_err_set(err, HOIST_E_INTERNAL,
			      "cannot create a condition variable");
		goto out;
	}
	if (pthread_cond_init(&spool->finished_cond, &attr) != 0) {
		pthread_cond_destroy(&spool->wake);
		pthread_mutex_destroy(&spool->lock);
		hoist_err_set(err, HOIST_E_INTERNAL,
			      "cannot create a condition variable");
		goto out;
	}
	rc = 0;
out:
	pthread_condattr_destroy(&attr);
	return rc;
}

int hoist_spool_start(struct hoist_daemon *daemon, struct hoist_err *err)
{
	struct hoist_spool *spool;
	sigset_t all, previous;
	int rc;

	spool = calloc(1, sizeof(*spool));
	if (!spool)
		return hoist_err_set(err, HOIST_E_NOMEM,
				     "out of memory starting the log spool");
	if (init_sync(spool, err)) {
		free(spool);
		return -1;
	}
	spool->tail = &spool->head;
	spool->flush_ms = daemon->settings.flush_ms > 0 ?
			  daemon->settings.flush_ms : 1000;
	/* Opened here, on the loop thread, so that libcurl's global
	 * initialization never runs on two threads at once. */
	if (hoist_artifact_open(daemon->storage_url, &spool->store, err)) {
		hoist_err_prefix(err, "cannot open the artifact store for the "
				 "log and metrics copies");
		free_spool(spool);
		return -1;
	}

	/* The writer blocks every signal, so SIGTERM and SIGINT reach the
	 * event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &previous);
	rc = pthread_create(&spool->thread, NULL, writer_main, spool);
	pthread_sigmask(SIG_SETMASK, &previous, NULL);
	if (rc != 0) {
		free_spool(spool);
		return hoist_err_set(err, HOIST_E_INTERNAL,
				     "cannot start the log spool's writer "
				     "thread: %s", strerror(rc));
	}
	daemon->spool = spool;
	return 0;
}

void hoist_spool_stop(struct hoist_daemon *daemon, int timeout_ms)
{
	struct hoist_spool *spool = daemon->spool;
	int64_t give_up;
	size_t queued_bytes;
	int finished;

	if (!spool)
		return;
	pthread_mutex_lock(&spool->lock);
	queued_bytes = spool->bytes;
	spool->stopping = 1;
	spool->deadline_mono = hoist_clock_mono_ms() + timeout_ms;
	give_up = spool->deadline_mono + SPOOL_STOP_SLACK_MS;
	pthread_cond_signal(&spool->wake);
	while (!spool->finished && hoist_clock_mono_ms() < give_up)
		wait_until(&spool->finished_cond, &spool->lock, give_up);
	finished = spool->finished;
	if (!finished)
		queued_bytes = spool->bytes;
	pthread_mutex_unlock(&spool->lock);

	daemon->spool = NULL;
	if (!finished) {
		/* NOTE: the writer is left running, blocked in a write, and
		 * its memory is never freed: the process is about to exit. */
		hoist_log_error("timed out after %d ms waiting for the "
				"artifact store writer: up to %zu bytes of "
				"logs and metrics are missing from the store",
				timeout_ms + SPOOL_STOP_SLACK_MS,
				queued_bytes);
		return;
	}
	pthread_join(spool->thread, NULL);
	if (spool->lost_bytes > 0)
		hoist_log_warn("lost %zu of the %zu bytes of logs and metrics "
			       "queued for the artifact store at shutdown",
			       spool->lost_bytes, queued_bytes);
	else if (queued_bytes > 0)
		hoist_log_info("stored the %zu queued bytes of logs and "
			       "metrics before stopping", queued_bytes);
	free_spool(spool);
}

/*
 * Appends len bytes to the pending item of the same attempt and kind
 * (metrics lines, or log bytes that continue it) or to a new item, so that
 * each flush writes few objects.
 */
static void add_item(struct hoist_spool *spool, const char *job_id,
		     int attempt, int is_metrics, long long name,
		     const char *data, size_t len)
{
	struct hoist_err err = HOIST_ERR_INIT;
	struct spool_item *item;

	pthread_mutex_lock(&spool->lock);
	if (spool->stopping || spool->bytes + len > HOIST_SPOOL_BYTES_MAX) {
		count_dropped(spool, job_id, len);
		goto out;
	}
	for (item = spool->head; item; item = item->next) {
		if (item->is_metrics != is_metrics ||
		    item->attempt != attempt ||
		    strcmp(item->job_id, job_id) != 0 ||
		    item->data.len + len > item->data.max)
			continue;
		if (is_metrics ||
		    item->name + (long long)item->data.len == name)
			break;
	}
	if (item) {
		if (hoist_buf_append(&item->data, data, len, &err)) {
			count_dropped(spool, job_id, len);
			goto out;
		}
	} else {
		item = calloc(1, sizeof(*item));
		if (!item) {
			count_dropped(spool, job_id, len);
			goto out;
		}
		snprintf(item->job_id, sizeof(item->job_id), "%s", job_id);
		item->attempt = attempt;
		item->is_metrics = is_metrics;
		item->name = name;
		hoist_buf_init(&item->data, is_metrics ?
			       SPOOL_METRICS_BATCH_MAX : HOIST_SPOOL_BYTES_MAX);
		if (hoist_buf_append(&item->data, data, len, &err)) {
			free_item(item);
			count_dropped(spool, job_id, len);
			goto out;
		}
		*spool->tail = item;
		spool->tail = &item->next;
	}
	spool->bytes += len;
	if (spool->bytes > HOIST_SPOOL_BYTES_MAX / 2 && !spool->flush_requested) {
		spool->flush_requested = 1;
		pthread_cond_signal(&spool->wake);
	}
out:
	pthread_mutex_unlock(&spool->lock);
}

void hoist_spool_add_log(struct hoist_spool *spool, const char *job_id,
			 int attempt, long long offset, const char *data,
			 size_t len)
{
	if (!spool || len == 0)
		return;
	add_item(spool, job_id, attempt, 0, offset, data, len);
}

void hoist_spool_add_metrics(struct hoist_spool *spool, const char *job_id,
			     int attempt, json_t *step, json_t *metrics)
{
	int64_t now = hoist_clock_now_ms();
	char *text, *lined;
	json_t *line;

	if (!spool)
		return;
	line = json_pack("{s:I, s:O, s:O}", "time_ms", (json_int_t)now,
			 "step", json_is_integer(step) ? step : json_null(),
			 "metrics", metrics);
	text = line ? json_dumps(line, JSON_COMPACT) : NULL;
	lined = text ? realloc(text, strlen(text) + 2) : NULL;
	if (lined) {
		text = lined;
		strcat(text, "\n");
		add_item(spool, job_id, attempt, 1, now, text, strlen(text));
	} else {
		pthread_mutex_lock(&spool->lock);
		count_dropped(spool, job_id, 0);
		pthread_mutex_unlock(&spool->lock);
	}
	free(text);
	json_decref(line);
}
