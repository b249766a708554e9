/* SPDX-License-Identifier: MIT */
/*
 * What the files of the config loader share and nothing else needs: the parse of a whole file
 * (config_sections.c), the cross-field checks (config_check.c) and the MQTT topic check several
 * of them make. The loader (config_load.c) drives them in the four stages of config.h.
 */
#ifndef FORESTWATCH_CONFIG_INT_H
#define FORESTWATCH_CONFIG_INT_H

#include "forestwatch/config.h"

/* MQTT topic checks (MQTT 3.1.1 section 4.7): a name has no wildcards; a filter uses them whole.
 * 1 when `t` is valid as a name (filter == 0) or as a filter. */
int fw_config__topic_ok(const char *t, int filter);

/* The defaults of the sections that hold even when the file leaves the section out (limits,
 * store, cap, engine, record), from their tables. */
void fw_config__defaults(struct fw_config *cfg);

/* Stage 2 for the main file (its metric declarations first, then every section) and for a
 * rules.d file, into `cfg`. */
void fw_config__parse_main(struct fw_cfg_ctx *c, const struct cJSON *root, struct fw_config *cfg);
void fw_config__parse_rule_file(struct fw_cfg_ctx *c, const struct cJSON *root,
                                struct fw_config *cfg);

/*
 * Every key table of the config with its place in docs/config.md: the section (the name in its
 * heading, "" for the top level, "zones.<name>.pests.pests[]" for a pest), and for a table of an
 * object the docs describe inside one row, that row's key (the row lists the keys as "key").
 * Ends with a NULL section. So that a test holds the docs and the tables to each other.
 */
struct fw_config_key_table {
    const char *section;
    const char *row;
    const struct fw_cfg_key *keys;
};
extern const struct fw_config_key_table fw_config__key_tables[];

/* Stage 3: references between sections, once every file is read. */
void fw_config__check_refs(struct fw_config *cfg, struct fw_cfg_errors *errs);

#endif
