/* SPDX-License-Identifier: MIT */
/*
 * Alert notifications as OASIS Common Alerting Protocol 1.2 messages, in XML (namespace
 * urn:oasis:names:tc:emergency:cap:1.2) and in a JSON rendering of the same element tree (CAP
 * element names as keys, arrays for the elements that may repeat). One alert episode becomes a
 * chain of CAP messages: an Alert when it fires, then Updates and a Cancel, each with its own
 * identifier and each naming the earlier ones in <references>. The caller keeps that chain (the
 * identifiers and sent times it used); this module only renders, and checks the rules of the
 * CAP text that the schema cannot express. docs/cap.md describes the mapping.
 */
#ifndef FORESTWATCH_CAP_H
#define FORESTWATCH_CAP_H

#include <stddef.h>
#include <stdint.h>

#include "forestwatch/alerts.h"
#include "forestwatch/config.h"

#define FW_CAP_NAMESPACE "urn:oasis:names:tc:emergency:cap:1.2"

/* Room for any identifier fw_cap_identifier() makes from an alert id, NUL included. */
#define FW_CAP_IDENTIFIER_MAX (3 * FW_ALERT_MAX_ID + 3 * FW_CONFIG_MAX_ID + 16)

/* At most this many earlier messages in <references>. */
#define FW_CAP_MAX_REFS 16

/* <msgType>: what this message does to the earlier messages of the episode. */
enum fw_cap_type {
    FW_CAP_ALERT,  /* the first message of an episode */
    FW_CAP_UPDATE, /* supersedes the messages in refs */
    FW_CAP_CANCEL, /* cancels the messages in refs */
};

/* <status>; the zero value is Actual. */
enum fw_cap_status { FW_CAP_ACTUAL, FW_CAP_EXERCISE, FW_CAP_TEST };

/* <scope>; the zero value is Public. Restricted needs `restriction`. */
enum fw_cap_scope { FW_CAP_PUBLIC, FW_CAP_RESTRICTED };

/* An earlier message of the same sender, named in <references> as "sender,identifier,sent". */
struct fw_cap_ref {
    const char *identifier;
    int64_t sent_ms; /* as passed when that message was rendered */
};

/*
 * What the caller decides about one CAP message. Zero-initialise it and set what applies: the
 * zero values are the defaults noted. Every pointer is borrowed for the call.
 */
struct fw_cap_msg {
    enum fw_cap_type type;
    const char *identifier; /* unique per message, from fw_cap_identifier() */
    int64_t sent_ms;        /* written in whole seconds (the milliseconds are dropped) */
    /*
     * Local offset of every time written, minutes east of UTC, -720..840 (+480 for China).
     * 0 is written "-00:00", as CAP 1.2 requires for UTC. Keep it fixed for a deployment: the
     * sent time of a reference is written with it too, so it must match what was written then.
     */
    int utc_offset_min;
    const struct fw_cap_ref *refs; /* Update, Cancel: 1..FW_CAP_MAX_REFS earlier messages */
    size_t nrefs;
    enum fw_cap_status status;
    enum fw_cap_scope scope;
    const char *restriction; /* required with FW_CAP_RESTRICTED, unused otherwise */
    const char *sender;      /* NULL: "forestwatch@<gateway id>" */
    const char *sender_name; /* NULL: the gateway's name, or its id */
    const char *instruction_zh, *instruction_en; /* optional <instruction> per language */
    double circle_radius_km; /* circle around a zone known only by its location; 0: 1 km */
};

/**
 * Render `a` (one notification of the engine) as a CAP 1.2 XML document, UTF-8, with one
 * <info> in zh-CN and one in en-US. Zone details come from `cfg` (as for fw_message_alert_json).
 * Returns 0 and a NUL-terminated string in *out that belongs to the caller (free()), or -EINVAL
 * when `msg` breaks a rule (an identifier or sender with a space, comma, '<' or '&'; an offset
 * out of range; an Update or Cancel without refs, or an Alert with them; Restricted without a
 * restriction; a negative radius). Pure; any thread.
 */
int fw_cap_xml(const struct fw_config *cfg, const struct fw_alert *a, const struct fw_cap_msg *msg,
               char **out);

/**
 * The same message as JSON: one object whose keys are the CAP element names, with arrays for
 * the elements that may repeat (info, category, responseType, parameter, area, polygon, circle,
 * geocode) and the same text as the XML in every string. Returns as fw_cap_xml().
 */
int fw_cap_json(const struct fw_config *cfg, const struct fw_alert *a, const struct fw_cap_msg *msg,
                char **out);

/**
 * Several alerts of one zone in one CAP message (a burst the route groups): one pair of info
 * blocks (zh-CN, en-US) per alert, all their ids in <incidents>. `msg` describes the message as
 * for one alert; its references must name the earlier messages of any alert already announced.
 * Same returns and ownership as fw_cap_xml / fw_cap_json.
 */
int fw_cap_xml_group(const struct fw_config *cfg, const struct fw_alert *const *as, size_t n,
                     const struct fw_cap_msg *msg, char **out);
int fw_cap_json_group(const struct fw_config *cfg, const struct fw_alert *const *as, size_t n,
                      const struct fw_cap_msg *msg, char **out);

/**
 * Make the identifier of the message number `seq` of an episode: "<gateway id>.<rest>.<seq>",
 * where <rest> is the alert id without its leading "<gateway id>:" (alert ids begin with it),
 * and every byte CAP forbids in an identifier (whitespace, ',', '<', '&'), '%' and any
 * non-ASCII byte is written %XX, so that different alert ids never give the same identifier.
 * `seq` is the message's number within the episode: fw_alert.seq, 1 for the Alert and 2, 3,
 * ... for the messages that follow, so the Alert's identifier can be made again at any time.
 * Returns 0, -EINVAL for an empty gateway or alert id, or -E2BIG when it does not fit in `n`
 * bytes (FW_CAP_IDENTIFIER_MAX always suffices). Pure.
 */
int fw_cap_identifier(char *buf, size_t n, const char *gateway_id, const char *alert_id,
                      unsigned seq);

/**
 * Check a CAP 1.2 XML document against the rules of the CAP text that the XML schema does not
 * express: the root is <alert> in the CAP 1.2 namespace; every time (sent, effective, onset,
 * expires, and those in references) is "YYYY-MM-DDThh:mm:ss" with a numeric offset, no 'Z', no
 * fractional seconds, and UTC written "-00:00"; identifier and sender are non-empty without
 * whitespace, ',', '<' or '&'; references is a whitespace-separated list of
 * "sender,identifier,sent" and is present for an Update or Cancel; restriction is present for
 * scope Restricted and addresses for Private; a polygon is at least 4 "lat,lon" pairs, the first
 * equal to the last; a circle is "lat,lon radius" with radius >= 0; coordinates are WGS 84
 * degrees in range. It parses the well-formed subset of XML that CAP messages use (no DOCTYPE,
 * no entities but the five predefined and character references). It does not replace schema
 * validation. Returns 0, or -EINVAL with the first problem described in `why` (`n` bytes,
 * "element: reason"). Pure; any thread.
 */
int fw_cap_check(const char *xml, char *why, size_t n);

/**
 * The same rules on a message in the JSON rendering: `json` must have its shape (an object, the
 * content of <alert>; members named as CAP elements; the elements CAP lets repeat as arrays and
 * only they; every value a string or an object; text that XML allows), which is then read as
 * the XML the renderer would write and checked by fw_cap_check. Returns 0, or -EINVAL with the
 * first problem in `why`: "path: reason" for the shape ("info[0].parameter[2].value: ..."),
 * "element: reason" for the rules. Pure; any thread.
 */
int fw_cap_check_json(const char *json, char *why, size_t n);

/**
 * The colour of a fire-danger level 1..5 in the five-level Chinese scale (QX/T 77-2007): green,
 * blue, yellow, orange, red, in English ("green") or Chinese ("绿"). NULL outside 1..5.
 * The strings are static.
 */
const char *fw_cap_level_colour(int level, int zh);

#endif
