/* SPDX-License-Identifier: MIT */
/*
 * One notification as its route carries it (include/forestwatch/render.h). Shared by the daemon,
 * which publishes the result, and `forestwatch replay --json`, which prints it, so that the two
 * cannot drift apart: a replay of a recording prints the bytes the daemon sent.
 */
#include "forestwatch/render.h"

#include "forestwatch/message.h"

#include <stdlib.h>

int fw_render_route(const struct fw_config *cfg, const struct fw_cfg_route *route,
                    const struct fw_alert *a, const struct fw_cap_ref *first, int64_t now_ms,
                    char **out)
{
    if (route->format == FW_FORMAT_JSON) {
        *out = fw_message_alert_json(cfg, a, now_ms);
        return 0;
    }
    const struct fw_cfg_cap *c = &cfg->cap;
    char id[FW_CAP_IDENTIFIER_MAX], alert_id[FW_CAP_IDENTIFIER_MAX];
    fw_cap_identifier(id, sizeof(id), cfg->gateway_id, a->id, a->seq);
    /* The episode's Alert can be named again at any time: its identifier is that of message 1,
     * and its sent time the episode's first message time, both carried by the alert. */
    fw_cap_identifier(alert_id, sizeof(alert_id), cfg->gateway_id, a->id, 1);
    struct fw_cap_ref ref = first ? *first : (struct fw_cap_ref){alert_id, a->first_sent_ms};
    struct fw_cap_msg msg = {
        .type = a->seq > 1 ? FW_CAP_UPDATE : FW_CAP_ALERT,
        .identifier = id,
        .sent_ms = a->sent_ms ? a->sent_ms : now_ms,
        .utc_offset_min = c->utc_offset_min,
        .refs = a->seq > 1 ? &ref : NULL,
        .nrefs = a->seq > 1,
        .status = (enum fw_cap_status)c->status,
        .sender = c->sender,
        .circle_radius_km = c->circle_radius_km,
    };
    int rc = route->format == FW_FORMAT_CAP_XML ? fw_cap_xml(cfg, a, &msg, out)
                                                : fw_cap_json(cfg, a, &msg, out);
    if (rc < 0)
        *out = fw_message_alert_json(cfg, a, now_ms);
    return rc;
}
