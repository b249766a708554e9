/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the national fire weather rating's two readers of outside text: the table
 * file parser (fw_cnr_tables_parse) and `forestwatch cnrating` on standard input. An input is
 *
 *   byte 0  0: the rest is a table file; 1: a daily table; 2: a table for --examples
 *   rest    the text
 *
 * Besides "no crash, no read outside the input (ASan), no leak, no undefined behaviour": a table
 * file the parser accepts must rate every corner day without an error, and a rejected one must
 * say why; the tool exits 0, 1 or 2 (never 2 here, the options are good), a failure says why on
 * the error stream, and a success writes exactly one output line per input line.
 */
#include "forestwatch/cfg_keys.h"
#include "forestwatch/cfg_text.h"
#include "forestwatch/cnrating.h"
#include "forestwatch/util.h"
#include "tool_cmds.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count_lines(const char *p, size_t n)
{
    size_t lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += p[i] == '\n';
    return lines + (n > 0 && p[n - 1] != '\n');
}

static void tables(const uint8_t *p, size_t n)
{
    char *text = fw_xmalloc(n + 1);
    memcpy(text, p, n);
    text[n] = '\0';
    struct fw_cnr_tables t;
    struct fw_cfg_errors errs = {0};
    /* As the tool reads a file: comments blanked, a NUL byte refused, then parsed. */
    int rc = fw_cfg_text_prepare(text, n, "t.json", &errs);
    if (rc == 0)
        rc = fw_cnr_tables_parse(text, n, "t.json", &t, &errs);
    if (rc == 0) {
        /* The extremes of every input: a checked table must never fail or index out of it. */
        static const double temp[] = {FW_CNR_TEMP_MIN, 0, FW_CNR_TEMP_MAX};
        static const double wind[] = {0, 3.3, FW_CNR_WIND_MAX};
        static const int days[] = {0, 1, FW_CNR_DAYS_MAX};
        for (int i = 0; i < 3; i++) {
            for (int ph = 0; ph < FW_CNR_PHEN_COUNT; ph++) {
                struct fw_cnr_day d = {.tmax_c = temp[i],
                                       .rh_min_pct = 50.0 * i,
                                       .wind_max_ms = wind[i],
                                       .rain_on_record = i > 0,
                                       .last_rain_mm = i == 2 ? FW_CNR_RAIN_MAX : 0.3 * i,
                                       .days_since_rain = days[i],
                                       .phenology = (enum fw_cnr_phenology)ph};
                struct fw_cnr_result r;
                FW_ASSERT(fw_cnr_rate(&t, &d, &r) == 0);
                FW_ASSERT(r.level >= 1 && r.level <= FW_CNR_LEVELS);
            }
        }
    } else {
        FW_ASSERT(errs.n > 0);
    }
    fw_cfg_errors_clear(&errs);
    free(text);
}

static void tool(int examples, const uint8_t *p, size_t n)
{
    char *argv[] = {"cnrating", examples ? "--examples" : NULL, NULL};
    char *out = NULL, *err = NULL;
    size_t nout = 0, nerr = 0;
    /* fmemopen refuses an empty buffer on some C libraries. */
    FILE *in = n ? fmemopen((void *)p, n, "r") : fopen("/dev/null", "r");
    struct fw_tool_io io = {in, open_memstream(&out, &nout), open_memstream(&err, &nerr)};
    FW_ASSERT(in && io.out && io.err);
    int rc = fw_tool_cnrating(examples ? 2 : 1, argv, &io);
    fclose(io.out);
    fclose(io.err);
    fclose(in);
    FW_ASSERT(rc == 0 || rc == 1);
    FW_ASSERT(rc == 0 || nerr > 0);
    if (rc == 0)
        FW_ASSERT(count_lines(out, nout) == count_lines((const char *)p, n));
    free(out);
    free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        tables(data + 1, size - 1);
        break;
    default:
        tool(data[0] % 3 == 2, data + 1, size - 1);
        break;
    }
    return 0;
}
