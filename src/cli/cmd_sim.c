/*
 * cmd_sim.c - "hoist sim": runs the Vast.ai API simulator of src/sim/ in
 * the foreground until SIGTERM or SIGINT (docs/simulator.md).
 */
#include "cli/cli.h"
#include "sim/sim.h"

int hoist_cli_cmd_sim(int argc, char **argv)
{
	/* hoist_sim_main parses its own options, --help included, and
	 * returns the CLI's exit statuses: 0, 1 on failure, 2 for usage. */
	return hoist_sim_main(argc, argv);
}
