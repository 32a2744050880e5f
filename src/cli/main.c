/*
 * main.c - the hoist command: finds the command named by argv[1] in the
 * command table and runs its handler.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#ifndef HOIST_VERSION
#define HOIST_VERSION "unknown"
#endif

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "run", hoist_cli_cmd_run, "submit a job file and follow it" },
	{ "jobs", hoist_cli_cmd_jobs, "list jobs" },
	{ "show", hoist_cli_cmd_show,
	  "show a job with its attempts and checkpoints" },
	{ "logs", hoist_cli_cmd_logs, "print the log of a job" },
	{ "ckpt", hoist_cli_cmd_ckpt,
	  "list, download or upload the checkpoints of a job" },
	{ "outputs", hoist_cli_cmd_outputs,
	  "list or download the outputs a job stored" },
	{ "cancel", hoist_cli_cmd_cancel, "cancel a job" },
	{ "instances", hoist_cli_cmd_instances,
	  "list instances, preempt one, or inject a fault" },
	{ "daemon", hoist_cli_cmd_daemon,
	  "show whether hoistd runs, or stop it" },
	{ "offers", hoist_cli_cmd_offers,
	  "list the marketplace offers that a GPU profile would rent" },
	{ "sim", hoist_cli_cmd_sim,
	  "run a simulator of the Vast.ai API for tests" },
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static const char usage_line[] =
	"usage: hoist [--help] [--version] COMMAND [ARGS]\n";

static void print_help(void)
{
	printf("%s\nhoist runs training jobs on rented GPUs through hoistd.\n"
	       "\ncommands:\n", usage_line);
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].summary);
	printf("\nRun 'hoist COMMAND --help' for the options of a command.\n"
	       "\nenvironment:\n"
	       "  HOIST_URL    the URL of hoistd; when unset, hoist reads\n"
	       "               $HOIST_HOME/hoistd.url and starts hoistd when\n"
	       "               nothing responds there\n"
	       "  HOIST_HOME   the home of hoistd (default "
	       "~/.local/share/hoist)\n"
	       "  HOIST_TOKEN  the admin token (default: read from\n"
	       "               $HOIST_HOME/admin.token)\n"
	       "  HOIST_CONFIG_DIR  the folder of gpu_profiles.yaml for "
	       "'hoist run'\n"
	       "                    and 'hoist offers'\n"
	       "  HOIST_BIN_DIR     the folder of the hoistd executable\n"
	       "  HOIST_POLL_INTERVAL_MS  the poll period of 'run' and "
	       "'logs -f' (1000)\n"
	       "  NO_COLOR     when set and not empty, turns color off\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

static int usage_error(const char *what, const char *value)
{
	fprintf(stderr, "hoist: %s '%s'\n%sRun 'hoist --help' for the "
		"commands.\n", what, value, usage_line);
	return HOIST_CLI_EXIT_USAGE;
}

/* Runs "hoist help [COMMAND]" as "hoist [COMMAND] --help". */
static int run_help(int argc, char **argv)
{
	const struct command *command;
	char help[] = "--help";
	char *args[] = { argv[1], help, NULL };

	if (argc < 2) {
		print_help();
		return HOIST_CLI_EXIT_OK;
	}
	command = find_command(argv[1]);
	if (!command)
		return usage_error("unknown command", argv[1]);
	return command->run(2, args);
}

int main(int argc, char **argv)
{
	const struct command *command;
	const char *name = argc > 1 ? argv[1] : NULL;

	if (!name) {
		fprintf(stderr, "hoist: missing command\n%sRun 'hoist --help' "
			"for the commands.\n", usage_line);
		return HOIST_CLI_EXIT_USAGE;
	}
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		print_help();
		return HOIST_CLI_EXIT_OK;
	}
	if (strcmp(name, "--version") == 0) {
		printf("hoist %s\n", HOIST_VERSION);
		return HOIST_CLI_EXIT_OK;
	}
	if (strcmp(name, "help") == 0)
		return run_help(argc - 1, argv + 1);
	if (name[0] == '-')
		return usage_error("unknown option", name);

	command = find_command(name);
	if (!command)
		return usage_error("unknown command", name);
	return command->run(argc - 1, argv + 1);
}
