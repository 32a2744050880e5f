/*
 * sim.h - "hoist sim", a simulator of the Vast.ai REST API for tests.
 *
 * It serves the endpoints that hoist's vast provider uses, on one
 * libevent loop, with a seeded market, instances that run their onstart
 * script as local process trees, per-second billing and injected faults.
 * docs/simulator.md describes the options, endpoints and admin API.
 */
#ifndef HOIST_SIM_H
#define HOIST_SIM_H

/*
 * Runs the simulator until SIGTERM or SIGINT, then kills every instance
 * process tree it started.  argv[0] is the command name ("sim" under the
 * hoist CLI) and the options follow; see --help.  Returns the exit status:
 * 0 after a clean stop or --help, 1 when the simulator failed, 2 for a
 * bad command line.  Prints "hoist sim listening on http://ADDR:PORT" on
 * stdout once it accepts requests, and logs to stderr.
 */
int hoist_sim_main(int argc, char **argv);

#endif
