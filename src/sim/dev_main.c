/*
 * dev_main.c - hoist-sim-dev, the simulator as an executable of its own,
 * for the tests and for use before the hoist CLI has its "sim" command.
 */
#include "sim/sim.h"

int main(int argc, char **argv)
{
	return hoist_sim_main(argc, argv);
}
