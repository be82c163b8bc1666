/*
 * saltbridge demo: the whole system on this machine in one command
 * (docs/bridge.md, demo). It runs saltmaild with two accounts and some
 * sample mail, logs both into a bridge home of its own, runs saltbridge
 * serve on it, and prints what a mail client needs; then it waits for
 * SIGINT or SIGTERM and stops everything it started.
 */
#ifndef SB_BRIDGE_DEMO_H
#define SB_BRIDGE_DEMO_H

/*
 * The command: parses argv (argv[0] is "demo") and runs it. home is the
 * global --home, which the demo refuses (its bridge home is under its
 * folder). Returns the exit code: 0, 1 on a failure, 2 on wrong usage.
 */
int bridge_demo_command(int argc, char **argv, const char *home);

#endif
