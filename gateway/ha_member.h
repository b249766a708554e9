/* SPDX-License-Identifier: MIT */
/*
 * This gateway as a member of an active/standby group (docs/ha.md), the part with timers and
 * topics: heartbeats on the group's topics, the choice of the active member as members come and
 * go, and the notification log of delivered messages, by which every member forgets from its
 * outbox what the active member delivered. The daemon hands it its link's messages on the group
 * topics and tells it what it commits, sends and gets acknowledged; it says when this member
 * becomes active or standby. The pure rules are gateway/ha.c.
 *
 * Loop thread only.
 */
#ifndef FORESTWATCH_HA_MEMBER_H
#define FORESTWATCH_HA_MEMBER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "forestwatch/config.h"
#include "forestwatch/outbox.h"

struct fw_ha_member;

struct fw_ha_member_ops {
    /* Publish on the group's broker; 0 or a negative errno code (a lost link: dropped). */
    int (*publish)(void *arg, const char *topic, const void *payload, size_t len, int qos);
    /* This member became active (1) or standby (0); `active` names the active member or NULL. */
    void (*role)(void *arg, int is_active, const char *active);
};

/** A member for `cfg` (copied: the section is read at start), forgetting rows of `ob`. */
struct fw_ha_member *fw_ha_member_new(uv_loop_t *loop, const struct fw_cfg_ha *cfg,
                                      struct fw_outbox *ob, const struct fw_ha_member_ops *ops,
                                      void *arg);

/** Say "gone" on the group topic (a clean stop) and close the timers: from here on this member
 * is not active. NULL is a no-op. */
void fw_ha_member_close(struct fw_ha_member *m);

/** Release a closed member once its timers have closed (after the loop ran). NULL: no-op. */
void fw_ha_member_free(struct fw_ha_member *m);

/** The topic filter of the group's messages, to subscribe to on the status broker. */
const char *fw_ha_member_filter(const struct fw_ha_member *m);

/** A message on the status broker: consumed (1) when it is on the group's topics. */
int fw_ha_member_message(struct fw_ha_member *m, const char *topic, const void *payload,
                         size_t len);

/** Whether this member is the active one now. */
int fw_ha_member_active(const struct fw_ha_member *m);

/** Whether the group is known (fw_ha_group_decided): an active peer heard, or the start past;
 * the role is brought up to date first. */
int fw_ha_member_decided(struct fw_ha_member *m);

/** Outbox row `id` was committed with `payload` for `route`: remembered by its digest, and
 * forgotten at once when the active member already announced it delivered. */
void fw_ha_member_committed(struct fw_ha_member *m, int64_t id, const char *route,
                            const void *payload, size_t len);

/** Row `id` is being sent (this member is active): its digest waits for its acknowledgement. */
void fw_ha_member_sending(struct fw_ha_member *m, int64_t id, const char *route,
                          const void *payload, size_t len);

/** The broker acknowledged row `id`: its digest goes into the next delivered notice. */
void fw_ha_member_acked(struct fw_ha_member *m, int64_t id);

#endif
