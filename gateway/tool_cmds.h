/* SPDX-License-Identifier: MIT */
/*
 * The subcommands of `forestwatch` that live in their own files (tool_*.c), one entry point each.
 * tool.c's main() dispatches to them with the subcommand's own argc/argv: argv[0] is the
 * subcommand name, argv[1..] its arguments. Each returns the process exit status: 0 success,
 * 1 bad input (every error printed to stderr), 2 bad usage.
 *
 * The table readers (fwi, hffmc, degday, replay) take their streams in a struct fw_tool_io, so
 * that the very same code runs on the process's stdin/stdout/stderr and, in the fuzz targets
 * (tests/fuzz/fuzz_csv.c), on memory buffers. Messages still call the input "stdin".
 */
#ifndef FORESTWATCH_TOOL_CMDS_H
#define FORESTWATCH_TOOL_CMDS_H

#include <stdio.h>

/* The streams of one run of a subcommand; borrowed for the call. */
struct fw_tool_io {
    FILE *in;  /* the table (fwi, hffmc, degday); replay reads its --from files instead */
    FILE *out; /* results and help */
    FILE *err; /* errors, notes and usage after a mistake */
};

/** Split `s` at commas, in place, into at most `max` fields f[0..max-1]; returns the number of
 * fields the line has (more than `max`: too many). Shared by the CSV readers of tool_*.c. */
int fw_tool__split(char *s, char **f, int max);

/** `forestwatch degday`: degree-days of a date,tmin,tmax series on io->in (tool_pest.c). */
int fw_tool_degday(int argc, char **argv, const struct fw_tool_io *io);

/** `forestwatch fwi`: daily FWI codes of an id,lat,long,yr,mon,day,temp,rh,ws,prec table on
 * io->in, each id its own season (tool_fire.c). */
int fw_tool_fwi(int argc, char **argv, const struct fw_tool_io *io);

/** `forestwatch hffmc`: hourly FFMC of a yr,mon,day,hr,temp,rh,ws,prec table on io->in
 * (tool_fire.c). */
int fw_tool_hffmc(int argc, char **argv, const struct fw_tool_io *io);

/** `forestwatch cnrating`: the national forest fire weather rating of one station's daily
 * weather on io->in, or of independent rows with --examples (tool_cnrating.c). */
int fw_tool_cnrating(int argc, char **argv, const struct fw_tool_io *io);

/** `forestwatch replay`: run recorded readings through a config, or two (--diff), and print
 * the alerts (tool_replay.c). */
int fw_tool_replay(int argc, char **argv, const struct fw_tool_io *io);

/** `forestwatch alerts`: open, recent or unacknowledged alerts from the daemon's store
 * (tool_alerts.c). */
int fw_tool_alerts(int argc, char **argv);

#endif
