/*
 * progress.c - the progress line of the CLI's file transfers.
 */
#include "cli/progress.h"

#include <string.h>
#include <unistd.h>

#include "common/clock.h"

#define PROGRESS_TTY_PERIOD_MS 200
#define PROGRESS_LINE_PERIOD_MS 2000
/* The ETA shows "?" until this much time has passed or 1% of the bytes
 * have moved, because the rate of the first milliseconds is mostly
 * latency. */
#define PROGRESS_ETA_MIN_MS 1000

void hoist_cli_progress_init(struct hoist_cli_progress *p, FILE *out,
			     const char *verb, uint64_t total, int quiet)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->verb = verb;
	p->total = total;
	p->quiet = quiet;
	p->tty = isatty(fileno(out));
	p->started_mono = hoist_clock_mono_ms();
	p->shown_done = UINT64_MAX;
}

void hoist_cli_progress_show(struct hoist_cli_progress *p, int force)
{
	int64_t now = hoist_clock_mono_ms();
	int64_t elapsed = now - p->started_mono;
	double mib = 1024.0 * 1024.0;
	double rate = 0.0;
	char eta[32] = "?";

	if (p->quiet)
		return;
	if (!force && now - p->shown_mono < (p->tty ? PROGRESS_TTY_PERIOD_MS :
					     PROGRESS_LINE_PERIOD_MS))
		return;
	/* Off a terminal every update is a line: print the final count
	 * once, not again after an update that already showed it. */
	if (!p->tty && p->shown_done == p->done)
		return;
	p->shown_mono = now;
	p->shown_done = p->done;
	if (elapsed > 0)
		rate = (double)p->done * 1000.0 / (double)elapsed;
	if (p->done >= p->total)
		snprintf(eta, sizeof(eta), "0s");
	else if (rate > 0.0 && (elapsed >= PROGRESS_ETA_MIN_MS ||
				p->done >= p->total / 100))
		snprintf(eta, sizeof(eta), "%.0fs",
			 (double)(p->total - p->done) / rate);
	fprintf(p->out, "%s%s %.1f / %.1f MiB (%3.0f%%), %.1f MiB/s, ETA %s%s",
		p->tty ? "\r\033[K" : "", p->verb, (double)p->done / mib,
		(double)p->total / mib,
		p->total ? 100.0 * (double)p->done / (double)p->total : 100.0,
		rate / mib, eta, p->tty ? "" : "\n");
	p->drawn = p->tty;
	fflush(p->out);
}

void hoist_cli_progress_finish(struct hoist_cli_progress *p)
{
	if (p->drawn)
		fputc('\n', p->out);
	p->drawn = 0;
}

static void count_bytes(void *arg, int64_t bytes)
{
	struct hoist_cli_progress *p = arg;

	if (bytes < 0 && (uint64_t)-bytes > p->done)
		p->done = 0;
	else
		p->done += (uint64_t)bytes;
	hoist_cli_progress_show(p, 0);
}

struct hoist_artifact_store *hoist_cli_progress_attach(
	struct hoist_artifact_store *store, struct hoist_cli_progress *p)
{
	store->progress = count_bytes;
	store->progress_arg = p;
	return store;
}

void hoist_cli_progress_detach(struct hoist_artifact_store *store)
{
	store->progress = NULL;
	store->progress_arg = NULL;
}
