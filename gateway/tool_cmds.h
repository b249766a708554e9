/* SPDX-License-Identifier: MIT */
/*
 * The subcommands of `forestwatch` that live in their own files (tool_*.c), one entry point each.
 * tool.c's main() dispatches to them with the subcommand's own argc/argv: argv[0] is the
 * subcommand name, argv[1..] its arguments. Each returns the process exit status: 0 success,
 * 1 bad input (every error printed to stderr), 2 bad usage.
 */
#ifndef FORESTWATCH_TOOL_CMDS_H
#define FORESTWATCH_TOOL_CMDS_H

/** `forestwatch degday`: degree-days of a date,tmin,tmax series on stdin (tool_pest.c). */
int fw_tool_degday(int argc, char **argv);

/** `forestwatch fwi`: daily FWI codes of an id,lat,long,yr,mon,day,temp,rh,ws,prec table on
 * stdin, each id its own season (tool_fire.c). */
int fw_tool_fwi(int argc, char **argv);

/** `forestwatch hffmc`: hourly FFMC of a yr,mon,day,hr,temp,rh,ws,prec table on stdin
 * (tool_fire.c). */
int fw_tool_hffmc(int argc, char **argv);

/** `forestwatch replay`: run recorded readings through a config, or two (--diff), and print
 * the alerts (tool_replay.c). */
int fw_tool_replay(int argc, char **argv);

/** `forestwatch alerts`: open, recent or unacknowledged alerts from the daemon's store
 * (tool_alerts.c). */
int fw_tool_alerts(int argc, char **argv);

#endif
