/* SPDX-License-Identifier: MIT */
/*
 * Rendering of alert notifications as the JSON message published on a route's topic
 * (docs/alerts.md describes every field). CAP 1.2 renderings come with the cap module.
 */
#ifndef FORESTWATCH_MESSAGE_H
#define FORESTWATCH_MESSAGE_H

#include <stdint.h>

#include "forestwatch/alerts.h"
#include "forestwatch/config.h"

/**
 * Render `a` as a JSON object. Zone details (names, forest chief, duty contact, location) are
 * looked up in `cfg`; `sent_ms` is the gateway time of rendering. Returns a NUL-terminated
 * string owned by the caller (free()).
 */
char *fw_message_alert_json(const struct fw_config *cfg, const struct fw_alert *a, int64_t sent_ms);

#endif
