/* SPDX-License-Identifier: MIT */
/*
 * `forestwatch`, the operator's tool. Subcommands:
 *   check-config FILE   validate a config and its rules.d, print "configuration OK" or errors
 *   metrics [-c FILE]   list the metrics the gateway knows, with units and ranges, and those
 *                       a config declares
 *   cap-check FILE...   check CAP 1.2 messages (XML or its JSON rendering)
 * and the commands of tool_*.c (degday, fwi, hffmc, cnrating, replay, alerts). `help` lists every
 * one of them (tests/tools/help_check.py holds it to the dispatch below).
 */
#include "forestwatch/cap.h"
#include "forestwatch/config.h"
#include "forestwatch/reading.h"
#include "tool_cmds.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: forestwatch COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  check-config FILE   validate FILE and the rules.d folder beside it;\n"
            "                      prints \"configuration OK\" (exit 0) or every error "
            "(exit 1)\n"
            "  metrics [-c FILE]   list known metrics, their units and possible ranges, and\n"
            "                      the metrics FILE declares\n"
            "  degday --method M [--cutoff C] --lower L --upper U [--units C|F]\n"
            "                      degree-days of date,tmin,tmax on stdin\n"
            "  fwi [--ffmc-coef 147.2|cffdrs] [--no-lat-adjust] [--init FFMC,DMC,DC]\n"
            "                      daily FWI codes of id,lat,long,yr,mon,day,temp,rh,ws,prec\n"
            "                      on stdin\n"
            "  hffmc [--ffmc-coef 147.2|cffdrs] [--init FFMC]\n"
            "                      hourly FFMC of yr,mon,day,hr,temp,rh,ws,prec on stdin\n"
            "  cnrating [--tables FILE] [--examples]\n"
            "                      the national forest fire weather rating (HTZ, level 1-5) of\n"
            "                      date,tmax_c,rh_min_pct,precip_mm,wind_max_ms,phenology on\n"
            "                      stdin\n"
            "  replay --config FILE --from FILE [--since T] [--until T] [--route R] [--json]\n"
            "  replay --diff OLD NEW --from FILE\n"
            "                      the alerts a config would have raised on recorded readings\n"
            "  alerts (--config FILE | --db FILE) [--open | --recent | --unacked] [--since T]\n"
            "         [--limit N]  the alert history of the daemon's store: open alerts, the\n"
            "                      messages sent, or the alerts nobody acknowledged\n"
            "  cap-check FILE...   check CAP 1.2 messages, XML or its JSON rendering (\"-\" reads\n"
            "                      stdin), for the rules the CAP schema cannot express\n"
            "  help                this text\n");
}

/* Read a whole file (or stdin for "-"), at most 1 MiB; NULL on failure (errno set). */
static char *slurp(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    if (buf)
        n = fread(buf, 1, cap, f);
    if (f != stdin)
        fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    return buf;
}

static int cmd_cap_check(int argc, char **argv)
{
    int bad = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: forestwatch cap-check FILE...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        char why[256];
        char *text = slurp(argv[i]);
        if (!text) {
            fprintf(stderr, "%s: cannot read: %s\n", argv[i], strerror(errno));
            bad = 1;
            continue;
        }
        /* CAP XML starts with '<'; the JSON rendering is an object. Spaces may come first. */
        const char *p = text + (strncmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0);
        p += strspn(p, " \t\r\n");
        int rc = *p == '{' ? fw_cap_check_json(p, why, sizeof(why))
                           : fw_cap_check(text, why, sizeof(why));
        if (rc == 0) {
            printf("%s: CAP OK\n", argv[i]);
        } else {
            printf("%s: %s\n", argv[i], why);
            bad = 1;
        }
        free(text);
    }
    return bad;
}

static void print_metric(const struct fw_metric *m)
{
    char range[32];
    snprintf(range, sizeof(range), "%g..%g", m->min, m->max);
    printf("%-20s %-6s %-18s %s", m->name, m->unit, range, m->help);
    if (m->help_zh && strcmp(m->help_zh, m->help) != 0)
        printf(" / %s", m->help_zh);
    printf("\n");
}

/* The built-in table, then (with -c FILE) the metrics the config declares. */
static int cmd_metrics(int argc, char **argv)
{
    const char *path = NULL;
    if (argc == 3 && (strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "--config") == 0)) {
        path = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: forestwatch metrics [-c FILE]\n");
        return 2;
    }
    struct fw_config *cfg = NULL;
    struct fw_cfg_errors errs = {0};
    if (path && fw_config_load(path, &cfg, &errs) < 0) {
        fw_cfg_errors_print(&errs, stderr);
        fw_cfg_errors_clear(&errs);
        return 1;
    }
    int n;
    const struct fw_metric *m = fw_metric_table(&n);
    printf("%-20s %-6s %-18s %s\n", "metric", "unit", "possible range", "meaning");
    for (int i = 0; i < n; i++)
        print_metric(&m[i]);
    if (cfg && fw_metric_set_len(cfg->metrics)) {
        printf("\ndeclared by %s:\n", path);
        for (size_t i = 0; i < fw_metric_set_len(cfg->metrics); i++)
            print_metric(fw_metric_set_at(cfg->metrics, i));
    }
    fw_config_free(cfg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    const struct fw_tool_io io = {stdin, stdout, stderr};
    if (strcmp(cmd, "check-config") == 0) {
        if (argc != 3) {
            fprintf(stderr, "usage: forestwatch check-config FILE\n");
            return 2;
        }
        return fw_config_check(argv[2], stdout, stderr);
    }
    if (strcmp(cmd, "metrics") == 0)
        return cmd_metrics(argc - 1, argv + 1);
    if (strcmp(cmd, "alerts") == 0)
        return fw_tool_alerts(argc - 1, argv + 1);
    if (strcmp(cmd, "cap-check") == 0)
        return cmd_cap_check(argc - 1, argv + 1);
    if (strcmp(cmd, "degday") == 0)
        return fw_tool_degday(argc - 1, argv + 1, &io);
    if (strcmp(cmd, "fwi") == 0)
        return fw_tool_fwi(argc - 1, argv + 1, &io);
    if (strcmp(cmd, "hffmc") == 0)
        return fw_tool_hffmc(argc - 1, argv + 1, &io);
    if (strcmp(cmd, "cnrating") == 0)
        return fw_tool_cnrating(argc - 1, argv + 1, &io);
    if (strcmp(cmd, "replay") == 0)
        return fw_tool_replay(argc - 1, argv + 1, &io);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "forestwatch: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 2;
}
