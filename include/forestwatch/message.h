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

/**
 * Render `a` as a JSON object. Zone details (names, forest chief, duty contact, location) are
 * looked up in `cfg`; `sent_ms` is the gateway time of rendering. Returns a NUL-terminated
 * string owned by the caller (free()).
 */
char *fw_message_alert_json(const struct fw_config *cfg, const struct fw_alert *a, int64_t sent_ms);

#endif
