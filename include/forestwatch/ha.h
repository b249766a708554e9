/* SPDX-License-Identifier: MIT */
/*
 * An active/standby group of gateways (docs/ha.md), the part that needs no socket: who is
 * active, the messages members exchange on the group's topics, the digests that name a rendered
 * message, and the settle buffer that hands a member's core its inputs in the same order and at
 * the same times as every other member's.
 *
 * Every member runs the same core on the same inputs. The settle buffer holds each reading and
 * acknowledgement until the group clock (the wall clock minus ha.settle_ms, in whole seconds)
 * passes its time, then gives them out in one total order, each to be evaluated at its own time;
 * so two members that received the same inputs within settle_ms of their times, in any order,
 * make the same calls to their cores and render byte-identical messages. A message is then
 * named by its digest (route and bytes), which is what the active member announces as delivered.
 *
 * Pure: no I/O, no clock (times are passed in). One thread.
 */
#ifndef FORESTWATCH_HA_H
#define FORESTWATCH_HA_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/alerts.h"
#include "forestwatch/config.h"
#include "forestwatch/reading.h"

#define FW_HA_MAX_MEMBERS 16 /* members one gateway keeps track of; more are ignored */

/* ------------------------------------------------------------------------------------------ */
/* Membership                                                                                  */
/* ------------------------------------------------------------------------------------------ */

struct fw_ha_group;

/**
 * This member (`self`, `priority`) of a group whose members are gone when not heard for
 * `dead_after_ms`; started at monotonic `now_ms` (see fw_ha_group_active for the first
 * dead_after_ms).
 */
struct fw_ha_group *fw_ha_group_new(const char *self, int priority, int64_t dead_after_ms,
                                    int64_t now_ms);
void fw_ha_group_free(struct fw_ha_group *g);

/** Member `id` (not self) said at monotonic `now_ms` that it lives with `priority` (alive) and
 * whether it `claims` to be active, or that it is gone (its clean stop). */
void fw_ha_group_heard(struct fw_ha_group *g, const char *id, int priority, int alive, int claims,
                       int64_t now_ms);

/** Whether self is active now (what its heartbeats claim). */
void fw_ha_group_claim(struct fw_ha_group *g, int active);

/** Whether the group is known: dead_after_ms after the start, or a peer claims to be active. */
int fw_ha_group_decided(const struct fw_ha_group *g, int64_t now_ms);

/**
 * The active member at `now_ms`. An active member stays active while it lives: among those that
 * claim it (self when fw_ha_group_claim said so, and the peers heard within dead_after_ms that
 * claim it), the highest priority, ties to the smaller id. When none claims it: the highest
 * priority among those alive. In the first dead_after_ms after the start, before a peer can have
 * been heard, self is not among them (so a member that restarts does not publish while the
 * active one is alive); the result is then the best peer heard, or NULL.
 */
const char *fw_ha_group_active(const struct fw_ha_group *g, int64_t now_ms);

/** Whether self is the active member at `now_ms`. */
int fw_ha_group_self_active(const struct fw_ha_group *g, int64_t now_ms);

/** The peers heard within dead_after_ms at `now_ms`, for the log. */
size_t fw_ha_group_alive(const struct fw_ha_group *g, int64_t now_ms);

/* ------------------------------------------------------------------------------------------ */
/* Messages on the group's topics                                                              */
/* ------------------------------------------------------------------------------------------ */

/** {"member": ..., "priority": n, "role": "active"|"standby", "time": "<RFC 3339>"}; free(). */
char *fw_ha_heartbeat_json(const char *member, int priority, int active, int64_t wall_ms);

/** {"member": ..., "gone": true}: the heartbeat a member sends when it stops cleanly; free(). */
char *fw_ha_gone_json(const char *member);

/**
 * Read a heartbeat (either form). Returns 0 with `member` (FW_CONFIG_MAX_ID + 1 bytes),
 * *priority, *alive and *claims (its role is "active") set, or -EINVAL with *why.
 */
int fw_ha_heartbeat_parse(const void *payload, size_t len, char *member, int *priority, int *alive,
                          int *claims, const char **why);

/** The digest that names a rendered message: its route's name and its bytes. */
uint64_t fw_ha_digest(const char *route, const void *payload, size_t len);

/** {"member": ..., "delivered": ["<16 hex digits>", ...]}; free(). */
char *fw_ha_delivered_json(const char *member, const uint64_t *digests, size_t n);

/**
 * Read a delivered list: the digests go to *out (malloc'd, free()), their number to *n, the
 * sender to `member` (FW_CONFIG_MAX_ID + 1 bytes). Returns 0 or -EINVAL with *why.
 */
int fw_ha_delivered_parse(const void *payload, size_t len, char *member, uint64_t **out, size_t *n,
                          const char **why);

/* ------------------------------------------------------------------------------------------ */
/* Digests seen delivered                                                                      */
/* ------------------------------------------------------------------------------------------ */

/** A bounded set of digests (the oldest forgotten first beyond its capacity). */
struct fw_ha_seen;
struct fw_ha_seen *fw_ha_seen_new(size_t capacity);
void fw_ha_seen_free(struct fw_ha_seen *s);
void fw_ha_seen_add(struct fw_ha_seen *s, uint64_t digest, int64_t value);
/** Whether `digest` is in the set; its value to *value (may be NULL). */
int fw_ha_seen_has(const struct fw_ha_seen *s, uint64_t digest, int64_t *value);
/** Forget `digest`. */
void fw_ha_seen_del(struct fw_ha_seen *s, uint64_t digest);

/* ------------------------------------------------------------------------------------------ */
/* The settle buffer                                                                           */
/* ------------------------------------------------------------------------------------------ */

enum fw_ha_input_kind { FW_HA_READING, FW_HA_ACK };

struct fw_ha_input {
    enum fw_ha_input_kind kind;
    int64_t time_ms; /* when it is evaluated: the reading's time, the acknowledgement's */
    struct fw_reading r;
    struct fw_ack ack;
};

struct fw_ha_settle;
struct fw_ha_settle *fw_ha_settle_new(void);
void fw_ha_settle_free(struct fw_ha_settle *s);

/** Hold an input until fw_ha_settle_due() passes its time_ms. */
void fw_ha_settle_push(struct fw_ha_settle *s, const struct fw_ha_input *in);

/**
 * The inputs with time_ms <= upto_ms, removed from the buffer, in the group's order: by time,
 * then acknowledgements after readings, then by their own time (a reading's measured time, an
 * acknowledgement's), then by station, zone, metric, value and source. *out
 * points to *n inputs valid until the next call.
 */
void fw_ha_settle_due(struct fw_ha_settle *s, int64_t upto_ms, const struct fw_ha_input **out,
                      size_t *n);

/** Forget the inputs with time_ms < before_ms (a joining member's backlog); how many. */
size_t fw_ha_settle_drop(struct fw_ha_settle *s, int64_t before_ms);

/** Inputs held. */
size_t fw_ha_settle_len(const struct fw_ha_settle *s);

#endif
