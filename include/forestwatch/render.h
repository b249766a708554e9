/* SPDX-License-Identifier: MIT */
/*
 * The message a route carries for one notification, in the route's format: the project's JSON
 * (docs/alerts.md), or a CAP 1.2 alert in XML or in its JSON rendering (docs/cap.md). The daemon
 * publishes what this renders and `forestwatch replay --json` prints it, so an operator sees the
 * very bytes a route would have carried.
 */
#ifndef FORESTWATCH_RENDER_H
#define FORESTWATCH_RENDER_H

#include <stdint.h>

#include "forestwatch/alerts.h"
#include "forestwatch/cap.h"
#include "forestwatch/config.h"

/**
 * Render `a` for `route` of `cfg`. A CAP message's identifier comes from the alert's id and
 * its number in the episode (fw_cap_identifier); a later message of the episode (Update)
 * references the episode's Alert, or `first` when it is not NULL (an alert first announced
 * inside a group message names that message instead). The config's `cap` section gives the
 * offset, status, sender and circle radius. `now_ms` is the rendering time, used as `sent`
 * only when the alert carries no message time of its own.
 *
 * Returns 0 with the message in *out, or the negative code of the CAP rendering when it refused
 * the message (docs/cap.md), with the project's JSON in *out instead: an alert is never lost
 * over its wrapping, and the caller says so. *out belongs to the caller (free()). Pure; any
 * thread.
 */
int fw_render_route(const struct fw_config *cfg, const struct fw_cfg_route *route,
                    const struct fw_alert *a, const struct fw_cap_ref *first, int64_t now_ms,
                    char **out);

#endif
