/* SPDX-License-Identifier: MIT */
/*
 * Rendering of alert notifications as the JSON message published on a route's topic
 * (docs/alerts.md describes every field). CAP 1.2 renderings come with the cap module.
 */
#ifndef FORESTWATCH_MESSAGE_H
#define FORESTWATCH_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/alerts.h"
#include "forestwatch/config.h"

/* A rendered headline or description is at most this many bytes, the NUL included. */
#define FW_MESSAGE_TEXT_MAX 4096

/* The languages every alert is rendered in. */
enum fw_message_lang { FW_MESSAGE_ZH_CN, FW_MESSAGE_EN_US };

/* Which of a rule's two templates to render. */
enum fw_message_part { FW_MESSAGE_HEADLINE, FW_MESSAGE_DESCRIPTION };

/**
 * Render one text of `a`: the rule's template for `lang` and `part` (or the default one), with
 * the placeholders of docs/rules.md filled in. `z` is the alert's zone in `cfg`, or NULL (a
 * global rule, or a zone a reload removed). Times are the zone's local time with its offset
 * (fw_config_zone_offset_min); names are in the language where the config has them
 * (fw_message_name). The result is written to `out` (`size` bytes, at least 1),
 * always NUL-terminated, and cut at a UTF-8 character boundary when it does not fit. Shared by
 * this module's JSON and the cap module's CAP renderings. Pure; any thread.
 */
void fw_message_text(const struct fw_config *cfg, const struct fw_alert *a,
                     const struct fw_cfg_zone *z, enum fw_message_lang lang,
                     enum fw_message_part part, char *out, size_t size);

/**
 * A name from the config in `lang`: `name_en` in English texts when the config has one, else
 * `name`. Returns one of the two pointers. Pure.
 */
const char *fw_message_name(const char *name, const char *name_en, enum fw_message_lang lang);

/** A level as a whole number 1..5 when it is one (a colour needs a class), else 0. */
int fw_message_level_class(double level);

/** How an alert's texts name its zone's level (docs/rules.md, {scale} .. {level_flag}). */
struct fw_message_level {
    const char *scale;  /* the scale the level is on, "" when the zone is unknown */
    const char *name;   /* its name on the national scale (较高火险, "higher"), else "" */
    const char *colour; /* 绿 .. 红 / "green" .. "red", "" when the level is not 1..5 */
    const char *flag;   /* 黄旗 .. 红旗 / "yellow flag" .. for national levels 3..5, else "" */
};

/**
 * The words for alert `a`'s level in zone `z` (may be NULL) in `lang`: the bureau's published
 * level and a zone whose danger_scale is cn are on the national scale and get its names and
 * flags; the FWI and Nesterov scales only their colour. Static strings. Pure; any thread.
 */
void fw_message_level_words(const struct fw_alert *a, const struct fw_cfg_zone *z,
                            enum fw_message_lang lang, struct fw_message_level *out);

/** The level the zone's model computed for alert `a`: a->computed_level when known, else
 * a->level (nothing stood in for it); NAN when neither is known. */
double fw_message_computed_level(const struct fw_alert *a);

/**
 * Render `a` as a JSON object. Zone details (names, forest chief, duty contact, location) are
 * looked up in `cfg`; `sent_ms` is the gateway time of rendering. Returns a NUL-terminated
 * string owned by the caller (free()).
 */
char *fw_message_alert_json(const struct fw_config *cfg, const struct fw_alert *a, int64_t sent_ms);

#endif
