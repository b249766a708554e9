/* SPDX-License-Identifier: MIT */
/*
 * `forestwatch alerts`: the alert history from the daemon's store, for the duty officers' audit:
 * the open alerts (fired, not resolved), the recent messages, or the alerts nobody acknowledged.
 * It opens the same SQLite file as the daemon (WAL lets it read while the daemon writes).
 */
#include "forestwatch/config.h"
#include "forestwatch/outbox.h"
#include "forestwatch/timefmt.h"
#include "tool_cmds.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: forestwatch alerts (--config FILE | --db FILE) [--open | --recent | "
               "--unacked]\n"
               "                          [--since T] [--limit N]\n"
               "  --open     alerts fired and not resolved (the default)\n"
               "  --recent   every message sent since T (default: the last 24 hours)\n"
               "  --unacked  alerts since T that no duty officer acknowledged\n");
}

static int print_entry(const struct fw_outbox_entry *e, void *arg)
{
    char created[FW_TIME_STRLEN], state[96];
    (void)arg;
    fw_time_format(e->created_ms, created);
    if (e->dropped)
        snprintf(state, sizeof(state), "given up: %s", e->dropped);
    else if (e->delivered_ms)
        snprintf(state, sizeof(state), "delivered");
    else
        snprintf(state, sizeof(state), "queued");
    printf("%s  %-8s %-22s %-10s %-24s %-10s %s%s%s\n", created, e->kind, e->rule,
           e->zone[0] ? e->zone : "-", e->alert_id, e->route, state,
           e->acked_by ? ", acknowledged by " : "", e->acked_by ? e->acked_by : "");
    return 0;
}

int fw_tool_alerts(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, 'd'},
        {"open", no_argument, NULL, 'o'},
        {"recent", no_argument, NULL, 'r'},
        {"unacked", no_argument, NULL, 'u'},
        {"since", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *db = NULL;
    enum fw_outbox_view view = FW_OUTBOX_OPEN;
    int64_t since = ((int64_t)time(NULL) - 86400) * 1000;
    long limit = 200;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 'o':
            view = FW_OUTBOX_OPEN;
            break;
        case 'r':
            view = FW_OUTBOX_RECENT;
            break;
        case 'u':
            view = FW_OUTBOX_UNACKED;
            break;
        case 's':
            if (fw_time_parse(optarg, &since) < 0) {
                fprintf(stderr,
                        "forestwatch alerts: --since: \"%s\" is not RFC 3339 with an "
                        "offset\n",
                        optarg);
                return 2;
            }
            break;
        case 'l': {
            char *end;
            limit = strtol(optarg, &end, 10);
            if (*end || limit < 1 || limit > 100000) {
                fprintf(stderr, "forestwatch alerts: --limit: must be 1..100000\n");
                return 2;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || (!config == !db)) {
        usage(stderr);
        return 2;
    }
    struct fw_config *cfg = NULL;
    if (config) {
        struct fw_cfg_errors errs = {0};
        if (fw_config_load(config, &cfg, &errs) < 0) {
            fw_cfg_errors_print(&errs, stderr);
            fw_cfg_errors_clear(&errs);
            return 1;
        }
        db = cfg->store.path;
    }
    struct fw_outbox *ob = NULL;
    char *err = NULL;
    int rc = fw_outbox_open(db, &ob, &err);
    if (rc < 0) {
        fprintf(stderr, "forestwatch alerts: %s: %s\n", db, err ? err : strerror(-rc));
        free(err);
        fw_config_free(cfg);
        return 1;
    }
    rc = fw_outbox_history(ob, view, since, (size_t)limit, print_entry, NULL);
    if (rc < 0)
        fprintf(stderr, "forestwatch alerts: %s: %s\n", db, fw_outbox_errmsg(ob));
    fw_outbox_close(ob);
    fw_config_free(cfg);
    return rc < 0 ? 1 : 0;
}
