/*
 * hoist-agent - the worker that runs on each rented instance.
 *
 * It takes its configuration from the environment only (a token must not
 * appear in a command line), claims its assignment from hoistd and runs the
 * job's command.  See docs/agent.md.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "worker/agent.h"

#ifndef HOIST_VERSION
#define HOIST_VERSION "unknown"
#endif

static const char usage_text[] =
	"usage: hoist-agent [--help | --version]\n"
	"\n"
	"Runs one attempt of a hoist job on this machine: claims the\n"
	"assignment from hoistd, restores the checkpoint to resume from, runs\n"
	"the command, and reports heartbeats, checkpoints, output and the\n"
	"exit.  Checkpoint transfers run in hoist-transfer, looked up in\n"
	"HOIST_BIN_DIR, next to hoist-agent, then in PATH.  Configuration\n"
	"comes from the environment:\n"
	"\n"
	"  HOIST_ORCHESTRATOR_URL  base URL of hoistd (http://127.0.0.1:7341;\n"
	"                          plain HTTP only, use a TLS tunnel for\n"
	"                          https)\n"
	"  HOIST_AGENT_TOKEN       the attempt token (never shown to the\n"
	"                          command)\n"
	"  HOIST_AGENT_WORKDIR     folder for checkpoints/, resume/,\n"
	"                          metrics.jsonl and command.log (default: the\n"
	"                          current folder)\n"
	"  HOIST_AGENT_LOG_LEVEL   error, warn, info (default) or debug\n"
	"\n"
	"Exit codes: 0 the command's exit was reported, 1 configuration error\n"
	"or hoistd unreachable, 2 token rejected (401), 3 attempt fenced,\n"
	"4 invalid assignment or failed restore.\n";

/* Opens /dev/null on any of fds 0-2 that is closed, so that pipes created
 * later never take those numbers. */
static void open_standard_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) < 0)
			_exit(HOIST_AGENT_EXIT_ERROR);
	}
}

static const char *env_or_null(const char *name)
{
	const char *value = getenv(name);

	return value && value[0] ? value : NULL;
}

int main(int argc, char **argv)
{
	struct hoist_agent_config config;
	const char *level_name;
	int level = HOIST_LOG_INFO;

	open_standard_fds();
	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("hoist-agent %s\n", HOIST_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "hoist-agent: unexpected argument '%s'; the "
			"agent takes its settings from the environment\n\n%s",
			argv[1], usage_text);
		return HOIST_AGENT_EXIT_ERROR;
	}

	level_name = env_or_null("HOIST_AGENT_LOG_LEVEL");
	if (level_name) {
		level = hoist_log_level_parse(level_name);
		if (level < 0) {
			fprintf(stderr, "hoist-agent: HOIST_AGENT_LOG_LEVEL is "
				"invalid: '%s' (expected error, warn, info or "
				"debug)\n", level_name);
			return HOIST_AGENT_EXIT_ERROR;
		}
	}
	hoist_log_init("hoist-agent", level, -1, HOIST_LOG_TEXT);

	config.orchestrator_url = env_or_null("HOIST_ORCHESTRATOR_URL");
	config.token = env_or_null("HOIST_AGENT_TOKEN");
	config.workdir = env_or_null("HOIST_AGENT_WORKDIR");
	if (!config.workdir)
		config.workdir = ".";
	if (!config.orchestrator_url || !config.token) {
		hoist_log_error("%s is not set; the instance's start script "
				"must export it",
				!config.orchestrator_url ?
				"HOIST_ORCHESTRATOR_URL" : "HOIST_AGENT_TOKEN");
		return HOIST_AGENT_EXIT_ERROR;
	}

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	hoist_log_info("hoist-agent %s starting (pid %d)", HOIST_VERSION,
		       (int)getpid());
	return hoist_agent_run(&config);
}
