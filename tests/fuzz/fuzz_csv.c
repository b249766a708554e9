/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the table readers of the `forestwatch` tool: `fwi`, `hffmc`, `degday`
 * (weather tables on standard input) and `replay` (a .csv or .jsonl recording). It runs the
 * tools' own entry points, options parsing included, on memory streams. An input is
 *
 *   byte 0  the command (fwi, hffmc, degday, replay)
 *   byte 1  option bits, byte 2 an option selector (see each run_* below)
 *   rest    the table or recording
 *
 * Besides "no crash, no read outside the input (ASan), no leak, no undefined behaviour", each
 * run must keep the tools' promises: an exit status of 0, 1 or 2, where 2 (bad usage) only for
 * options the target meant to be bad; a failure always says why on the error stream; and a
 * successful fwi, hffmc or degday writes exactly one output line per input line (the header's
 * included), so that no row is ever dropped in silence.
 */
#include "forestwatch/util.h"
#include "tool_cmds.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 16

/* A scratch folder for replay's --from files, removed at exit. */
static char tmpdir[256];

struct result {
    int rc;
    char *out, *err;
    size_t nout, nerr;
};

static void remove_tmpdir(void)
{
    static const char *const names[] = {"in.csv", "in.jsonl", "in.rec"};
    char path[sizeof(tmpdir) + 16];
    for (size_t i = 0; i < FW_ARRAY_LEN(names); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

static void make_tmpdir(void)
{
    if (tmpdir[0])
        return;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/fw-fuzz-csv-XXXXXX", base && *base ? base : "/tmp");
    FW_ASSERT(mkdtemp(tmpdir) != NULL);
    atexit(remove_tmpdir);
}

/* Lines as a reader counts them: a last line without its newline counts too. */
static size_t count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += p[i] == '\n';
    return lines + (n > 0 && p[n - 1] != '\n');
}

/* Run one command on `in` with memory streams for its output and errors. */
static void run(int (*cmd)(int, char **, const struct fw_tool_io *), int argc, char **argv,
                FILE *in, struct result *res)
{
    struct fw_tool_io io = {in, NULL, NULL};
    memset(res, 0, sizeof(*res));
    io.out = open_memstream(&res->out, &res->nout);
    io.err = open_memstream(&res->err, &res->nerr);
    FW_ASSERT(io.out && io.err);
    res->rc = cmd(argc, argv, &io);
    fclose(io.out);
    fclose(io.err);
    FW_ASSERT(res->rc == 0 || res->rc == 1 || res->rc == 2);
    FW_ASSERT(res->rc == 0 || res->nerr > 0);
}

/* An input stream over the table; fmemopen refuses an empty buffer on some C libraries. */
static FILE *open_table(const uint8_t *p, size_t n)
{
    FILE *in = n ? fmemopen((void *)p, n, "r") : fopen("/dev/null", "r");
    FW_ASSERT(in != NULL);
    return in;
}

/* A table command: its status must match what the options were meant to be, and a success
 * must account for every input line. */
static void run_table(int (*cmd)(int, char **, const struct fw_tool_io *), int argc, char **argv,
                      int bad_usage, const uint8_t *p, size_t n)
{
    struct result res;
    FILE *in = open_table(p, n);
    run(cmd, argc, argv, in, &res);
    fclose(in);
    FW_ASSERT(bad_usage ? res.rc == 2 : res.rc != 2);
    if (res.rc == 0)
        FW_ASSERT(count_lines(res.out, res.nout) == count_lines((const char *)p, n));
    free(res.out);
    free(res.err);
}

/* Append "NAME VALUE", or "NAME=VALUE" (built in `buf`) when `eq`, to argv. */
static void push_opt(char **argv, int *argc, int eq, const char *name, const char *value, char *buf,
                     size_t size)
{
    if (eq) {
        snprintf(buf, size, "%s=%s", name, value);
        argv[(*argc)++] = buf;
    } else {
        argv[(*argc)++] = (char *)name;
        argv[(*argc)++] = (char *)value;
    }
}

/*
 * fwi and hffmc. Bits: 0 --ffmc-coef 147.2 (else cffdrs, or nothing with bit 1), 2 --init from
 * the selector (one of a few good and bad values), 3 --no-lat-adjust (fwi only; hffmc must
 * refuse it), 4 the "--opt=value" form.
 */
static void run_fire(int hourly, uint8_t bits, uint8_t sel, const uint8_t *p, size_t n)
{
    static const char *const init3[] = {"85,6,15", "101,10000,0", "0,0,0",   "86,6",
                                        "x,6,15",  "85,6,15,1",   "-1,6,15", "85,6,1e9"};
    /* The good values come first: 3 of init3, 5 of init1. */
    static const char *const init1[] = {"85", "0", "101", "1e-300", "+7", "101.5", "85,6", ""};
    char *argv[MAX_ARGS], coef[32], init[40];
    int argc = 0, bad = 0, eq = bits & 16;
    argv[argc++] = hourly ? "hffmc" : "fwi";
    if (!(bits & 2)) {
        push_opt(argv, &argc, eq, "--ffmc-coef", bits & 1 ? "147.2" : "cffdrs", coef, sizeof(coef));
    }
    if (bits & 4) {
        size_t k = sel % 8;
        bad |= k >= (hourly ? 5u : 3u);
        push_opt(argv, &argc, eq, "--init", hourly ? init1[k] : init3[k], init, sizeof(init));
    }
    if (bits & 8) {
        argv[argc++] = "--no-lat-adjust";
        bad |= hourly;
    }
    argv[argc] = NULL;
    run_table(hourly ? fw_tool_hffmc : fw_tool_fwi, argc, argv, bad, p, n);
}

/*
 * degday. The selector picks the method (sel % 5) and the cutoff (sel / 5 % 3); bits: 0 --units
 * F, 1 --upper none, 2 a bad threshold pair (lower above upper), 3 a bad method.
 */
static void run_degday(uint8_t bits, uint8_t sel, const uint8_t *p, size_t n)
{
    static const char *const methods[] = {"average", "single-sine", "double-sine",
                                          "single-triangle", "double-triangle"};
    static const char *const cutoffs[] = {"horizontal", "vertical", "intermediate"};
    char *argv[MAX_ARGS];
    int argc = 0, f = bits & 1;
    argv[argc++] = "degday";
    argv[argc++] = "--method";
    argv[argc++] = bits & 8 ? "sine" : (char *)methods[sel % 5];
    argv[argc++] = "--cutoff";
    argv[argc++] = (char *)cutoffs[sel / 5 % 3];
    argv[argc++] = "--lower";
    argv[argc++] = bits & 4 ? "40" : f ? "50" : "10";
    argv[argc++] = "--upper";
    argv[argc++] = bits & 2 ? "none" : bits & 4 ? "30" : f ? "70" : "21.1";
    if (f) {
        argv[argc++] = "--units";
        argv[argc++] = "F";
    }
    argv[argc] = NULL;
    int bad = (bits & 8) || ((bits & 4) && !(bits & 2));
    run_table(fw_tool_degday, argc, argv, bad, p, n);
}

/*
 * replay, on the config in tests/data/replay. Bits: 0-1 the file's name (.csv, .jsonl, or
 * neither, so that the reader sniffs the format), 2 --json (always with a --route: the routes of
 * that config differ in format), 3 --since, 4 --until, 5 --route forestry (else emergency with
 * --json), 6 --diff against the changed config instead of --config (not with --json).
 */
static void run_replay(uint8_t bits, const uint8_t *p, size_t n)
{
    static const char *const names[] = {"in.csv", "in.jsonl", "in.rec", "in.csv"};
    char path[sizeof(tmpdir) + 16];
    char *argv[MAX_ARGS];
    int argc = 0;
    make_tmpdir();
    snprintf(path, sizeof(path), "%s/%s", tmpdir, names[bits & 3]);
    FILE *f = fopen(path, "wb");
    FW_ASSERT(f && fwrite(p, 1, n, f) == n && fclose(f) == 0);
    argv[argc++] = "replay";
    if (bits & 64) {
        argv[argc++] = "--diff";
        argv[argc++] = FW_TEST_DATA "/replay/config/forestwatch.json";
        argv[argc++] = FW_TEST_DATA "/replay/config_new/forestwatch.json";
    } else {
        argv[argc++] = "--config";
        argv[argc++] = FW_TEST_DATA "/replay/config/forestwatch.json";
        if (bits & 4)
            argv[argc++] = "--json";
    }
    argv[argc++] = "--from";
    argv[argc++] = path;
    if (bits & 8) {
        argv[argc++] = "--since";
        argv[argc++] = "2026-06-01T04:01:00Z";
    }
    if (bits & 16) {
        argv[argc++] = "--until";
        argv[argc++] = "2026-06-01T04:03:10Z";
    }
    if ((bits & 32) || (bits & 68) == 4) {
        argv[argc++] = "--route";
        argv[argc++] = bits & 32 ? "forestry" : "emergency";
    }
    argv[argc] = NULL;
    struct result res;
    run(fw_tool_replay, argc, argv, NULL, &res);
    FW_ASSERT(res.rc != 2);
    free(res.out);
    free(res.err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    const uint8_t *p = data + 3;
    size_t n = size - 3;
    switch (data[0] % 4) {
    case 0:
        run_fire(0, data[1], data[2], p, n);
        break;
    case 1:
        run_fire(1, data[1], data[2], p, n);
        break;
    case 2:
        run_degday(data[1], data[2], p, n);
        break;
    default:
        run_replay(data[1], p, n);
        break;
    }
    return 0;
}
