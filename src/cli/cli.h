/*
 * cli.h - the commands of the hoist CLI and the argument parser they share.
 *
 * Each command handler receives the arguments after "hoist" (argv[0] is
 * the command name) and returns the process exit status.  Handlers print
 * their own output and errors.
 */
#ifndef HOIST_CLI_H
#define HOIST_CLI_H

#include <stdio.h>

#include "common/err.h"

#define HOIST_CLI_EXIT_OK		0
#define HOIST_CLI_EXIT_FAILURE		1	/* an error, or the job failed */
#define HOIST_CLI_EXIT_USAGE		2	/* bad command line */
#define HOIST_CLI_EXIT_INTERRUPTED	130	/* Ctrl-C while following */

#define HOIST_CLI_ARGS_MAX 4

/* One option of a command.  Exactly one of flag and value is set. */
struct hoist_cli_opt {
	const char *long_name;	/* "detach" for --detach */
	char short_name;	/* 'f' for -f, or 0 */
	const char *value_name;	/* "FILE" for an option with a value, or NULL */
	const char *help;
	int *flag;		/* set to 1 when given */
	const char **value;	/* points into argv when given */
};

/* The command line of one command, for parsing and for --help. */
struct hoist_cli_spec {
	const char *name;	/* "run" or "instances preempt" */
	const char *summary;	/* one line for "hoist --help" and --help */
	const char *arg_names[HOIST_CLI_ARGS_MAX];	/* positional names */
	int min_args;		/* required positionals, the first ones */
	int max_args;
	const struct hoist_cli_opt *opts;	/* ends with a zeroed entry */
	const char *details;	/* more help text, or NULL */
};

struct hoist_cli_args {
	const char *positional[HOIST_CLI_ARGS_MAX];
	int count;
	int help;		/* --help or -h was given */
};

/*
 * Parses argv[1..argc-1] against spec: sets the flags and values of the
 * given options and collects the positionals into out.  Options and
 * positionals may be mixed, "--" ends the options, and "--name=value" is
 * the same as "--name value".  Stops at --help and sets out->help.
 * Returns 0, or -1 with HOIST_E_INVALID in err naming the offending
 * argument (unknown option, missing value, missing or extra argument).
 */
int hoist_cli_parse(const struct hoist_cli_spec *spec, int argc, char **argv,
		    struct hoist_cli_args *out, struct hoist_err *err);

/* Prints "usage: hoist NAME ARGS [options]" and a newline to out. */
void hoist_cli_print_usage(FILE *out, const struct hoist_cli_spec *spec);

/* Prints the usage line, the summary, the options and the details. */
void hoist_cli_print_help(FILE *out, const struct hoist_cli_spec *spec);

/*
 * Runs hoist_cli_parse and prints its outcome for a command handler.
 * Returns -1 after printing the error and the usage line to stderr, so
 * the handler exits with HOIST_CLI_EXIT_USAGE.  Returns 1 after printing
 * the help to stdout (exit HOIST_CLI_EXIT_OK), and 0 when the handler
 * should go on.
 */
int hoist_cli_parse_command(const struct hoist_cli_spec *spec, int argc,
			    char **argv, struct hoist_cli_args *out);

/* Prints "hoist: MESSAGE" to stderr. */
void hoist_cli_print_error(const struct hoist_err *err);

/* Command handlers, one per file group. */
int hoist_cli_cmd_run(int argc, char **argv);		/* cmd_run.c */
int hoist_cli_cmd_jobs(int argc, char **argv);		/* cmd_jobs.c */
int hoist_cli_cmd_show(int argc, char **argv);
int hoist_cli_cmd_cancel(int argc, char **argv);
int hoist_cli_cmd_logs(int argc, char **argv);		/* cmd_logs.c */
int hoist_cli_cmd_instances(int argc, char **argv);	/* cmd_instances.c */
int hoist_cli_cmd_daemon(int argc, char **argv);	/* cmd_daemon.c */
int hoist_cli_cmd_offers(int argc, char **argv);	/* cmd_offers.c */
int hoist_cli_cmd_sim(int argc, char **argv);		/* cmd_sim.c */
int hoist_cli_cmd_ckpt(int argc, char **argv);		/* cmd_ckpt.c */
int hoist_cli_cmd_outputs(int argc, char **argv);	/* cmd_outputs.c */

#endif
