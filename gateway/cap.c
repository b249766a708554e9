/* SPDX-License-Identifier: MIT */
/*
 * CAP 1.2 renderings of alert notifications, and a checker for the rules of the CAP text that
 * the XML schema leaves out. The message is built once, as a cJSON tree whose keys are the CAP
 * element names in schema order (arrays for repeating elements); the JSON rendering prints that
 * tree and the XML rendering walks it. So the two can never disagree, and every string is
 * cleaned once (valid UTF-8, only characters XML 1.0 allows) before either escaper sees it.
 * The headline and description come from the message module's template renderer, the one the
 * JSON alert messages use. The checker reads XML with a small scanner of its own so that the
 * gateway does not depend on an XML library; the tests validate against the schema with
 * libxml2 as well.
 */
#include "forestwatch/cap.h"

#include "forestwatch/message.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP_SENDER_PREFIX "forestwatch@"
#define CAP_PARAM_PREFIX "forestwatch:"
#define CAP_DEFAULT_RADIUS_KM 1.0
#define CAP_MIN_OFFSET_MIN (-12 * 60)
#define CAP_MAX_OFFSET_MIN (14 * 60)
/* The checker's caps: CAP nests five deep, and no element of ours comes near the text cap. */
#define CHECK_MAX_DEPTH 16
#define CHECK_MAX_NAME 64
#define CHECK_MAX_TEXT (1024 * 1024)

/* ------------------------------------------------------------------------------------------ */
/* Growable buffers                                                                           */
/* ------------------------------------------------------------------------------------------ */

struct buf {
    char *p;
    size_t n, cap;
};

static void buf_add(struct buf *b, const char *s, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len + 1)
            cap *= 2;
        b->p = fw_xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* ------------------------------------------------------------------------------------------ */
/* Text, times and numbers                                                                    */
/* ------------------------------------------------------------------------------------------ */

/*
 * Decode one UTF-8 character at s (NUL-terminated). Returns its length and the code point in
 * *cp, or 0 for a malformed, overlong or surrogate sequence.
 */
static size_t utf8_decode(const unsigned char *s, unsigned *cp)
{
    static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len = s[0] < 0x80                    ? 1
                 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
                 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
                 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                                : 0;
    if (len == 0)
        return 0;
    unsigned c = len == 1 ? s[0] : s[0] & (0x7Fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if (c < min[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

/* The characters XML 1.0 allows in a document (its production Char). */
static int xml_char_ok(unsigned c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/*
 * A copy of `s` that is valid UTF-8 with only XML characters: config strings are whatever the
 * operator's JSON held (cJSON passes control characters and stray bytes through), and one bad
 * byte would make the whole XML document unreadable. Each bad byte becomes U+FFFD.
 */
static char *clean_text(const char *s)
{
    struct buf b = {0};
    buf_add(&b, "", 0);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned c;
        size_t len = utf8_decode(p, &c);
        if (len && xml_char_ok(c)) {
            buf_add(&b, (const char *)p, len);
            p += len;
        } else {
            buf_str(&b, "\xEF\xBF\xBD");
            p++;
        }
    }
    return b.p;
}

/*
 * A CAP time: local time at `offset_min` east of UTC, whole seconds, numeric offset, and UTC as
 * "-00:00" (CAP 1.2, 3.3.2 <sent>: "Alphabetic timezone designators such as "Z" MUST NOT be
 * used. The timezone for UTC MUST be represented as "-00:00""). The milliseconds are dropped
 * (floored), since the schema's pattern has no room for a fraction.
 */
static void cap_time(int64_t ms, int offset_min, char out[FW_TIME_STRLEN])
{
    fw_time_format_local(ms, offset_min, out);
    if (offset_min == 0)
        out[strlen(out) - 6] = '-'; /* "+00:00" */
}

/* The shortest "%.*g" that reads back as the same double (cJSON's rule). */
static void fmt_num(double v, char out[32])
{
    snprintf(out, 32, "%.15g", v);
    if (strtod(out, NULL) != v)
        snprintf(out, 32, "%.17g", v);
}

/*
 * A WGS 84 coordinate in plain decimal: never an exponent, which "%g" would write for small
 * values and which CAP's "lat,lon" pairs do not allow. Six decimals are about 0.1 m.
 */
static void fmt_coord(double v, char out[32])
{
    snprintf(out, 32, "%.6f", v);
    char *e = out + strlen(out) - 1;
    while (*e == '0')
        *e-- = '\0';
    if (*e == '.')
        *e = '\0';
    if (strcmp(out, "-0") == 0)
        strcpy(out, "0");
}

/* CAP 1.2 3.2.1 identifier and sender: "MUST NOT include spaces, commas or restricted
 * characters (< and &)". Whitespace of every kind counts as a space here. */
static int cap_id_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    return strpbrk(s, " \t\r\n,<&") == NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Identifiers and colours                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* Append `s` with every byte an identifier may not hold (and '%' itself) written as %XX. */
static int pct_encode(char *buf, size_t n, size_t *at, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int esc = *p <= 0x20 || *p >= 0x7F || *p == ',' || *p == '<' || *p == '&' || *p == '%';
        size_t need = esc ? 3 : 1;
        if (*at + need >= n)
            return -E2BIG;
        if (esc) {
            buf[(*at)++] = '%';
            buf[(*at)++] = hex[*p >> 4];
            buf[(*at)++] = hex[*p & 15];
        } else {
            buf[(*at)++] = (char)*p;
        }
    }
    buf[*at] = '\0';
    return 0;
}

int fw_cap_identifier(char *buf, size_t n, const char *gateway_id, const char *alert_id,
                      unsigned seq)
{
    size_t at = 0, glen;
    char tail[16];
    int rc;
    if (!gateway_id || !*gateway_id || !alert_id || !*alert_id || n == 0)
        return -EINVAL;
    glen = strlen(gateway_id);
    /* Alert ids begin with "<gateway>:"; the gateway is written once, in front. */
    if (strncmp(alert_id, gateway_id, glen) == 0 && alert_id[glen] == ':' && alert_id[glen + 1])
        alert_id += glen + 1;
    buf[0] = '\0';
    snprintf(tail, sizeof(tail), ".%u", seq);
    if ((rc = pct_encode(buf, n, &at, gateway_id)) < 0 || (rc = pct_encode(buf, n, &at, ".")) < 0 ||
        (rc = pct_encode(buf, n, &at, alert_id)) < 0 || (rc = pct_encode(buf, n, &at, tail)) < 0)
        goto fail;
    return 0;
fail:
    buf[0] = '\0';
    return rc;
}

const char *fw_cap_level_colour(int level, int zh)
{
    /* SCIENCE.md section C, after QX/T 77-2007: levels 1..5 are green, blue, yellow, orange, red.
     */
    static const char *const en[] = {"green", "blue", "yellow", "orange", "red"};
    static const char *const cn[] = {"绿", "蓝", "黄", "橙", "红"};
    if (level < 1 || level > 5)
        return NULL;
    return zh ? cn[level - 1] : en[level - 1];
}

/* ------------------------------------------------------------------------------------------ */
/* The message tree                                                                           */
/* ------------------------------------------------------------------------------------------ */

/* Add a string to an object (key) or an array (key NULL), cleaned for XML. */
static void add_text(cJSON *to, const char *key, const char *s)
{
    char *c = clean_text(s ? s : "");
    cJSON *j = cJSON_CreateString(c);
    free(c);
    FW_ASSERT(j);
    if (key)
        cJSON_AddItemToObject(to, key, j);
    else
        cJSON_AddItemToArray(to, j);
}

static cJSON *add_array(cJSON *o, const char *key)
{
    cJSON *a = cJSON_AddArrayToObject(o, key);
    FW_ASSERT(a);
    return a;
}

/* A <parameter> or <geocode>: {"valueName": ..., "value": ...} appended to `arr`. */
static void add_pair(cJSON *arr, const char *name, const char *value)
{
    cJSON *p = cJSON_CreateObject();
    FW_ASSERT(p);
    add_text(p, "valueName", name);
    add_text(p, "value", value);
    cJSON_AddItemToArray(arr, p);
}

static void add_param(cJSON *arr, const char *name, const char *value)
{
    char key[64];
    snprintf(key, sizeof(key), CAP_PARAM_PREFIX "%s", name);
    add_pair(arr, key, value);
}

static void add_param_num(cJSON *arr, const char *name, double v)
{
    char num[32];
    fmt_num(v, num);
    add_param(arr, name, num);
}

/*
 * A contact as "name phone", its name in the info's language: as the element `name` of `info`,
 * or as the parameter `name` of `params`.
 */
static void add_contact(cJSON *info, cJSON *params, const char *name,
                        const struct fw_cfg_contact *c, enum fw_message_lang lang)
{
    const char *who = fw_message_name(c->name, c->name_en, lang);
    char *text = c->phone ? fw_xasprintf("%s %s", who, c->phone) : fw_xstrdup(who);
    if (info)
        add_text(info, name, text);
    else
        add_param(params, name, text);
    free(text);
}

/* The zone's area: its name, its outline or a circle round its location, and its id. */
static void add_area(cJSON *info, const struct fw_alert *a, const struct fw_cfg_zone *z,
                     const struct fw_cap_msg *msg, int zh)
{
    cJSON *area = cJSON_CreateObject();
    FW_ASSERT(area);
    cJSON_AddItemToArray(add_array(info, "area"), area);
    const char *desc = a->zone; /* a zone a reload removed: its id is all that is known */
    if (z && z->name && *z->name)
        desc = fw_message_name(z->name, z->name_en, zh ? FW_MESSAGE_ZH_CN : FW_MESSAGE_EN_US);
    add_text(area, "areaDesc", desc);
    char lat[32], lon[32];
    if (z && z->npolygon >= 4) {
        /* The loader checked the ring is closed; CAP's rule is the same, so write it as it is. */
        struct buf b = {0};
        for (size_t i = 0; i < z->npolygon; i++) {
            fmt_coord(z->polygon[i].lat, lat);
            fmt_coord(z->polygon[i].lon, lon);
            if (i)
                buf_str(&b, " ");
            buf_str(&b, lat);
            buf_str(&b, ",");
            buf_str(&b, lon);
        }
        add_text(add_array(area, "polygon"), NULL, b.p);
        free(b.p);
    } else if (z && z->has_location) {
        char r[32], circle[100];
        fmt_coord(z->location.lat, lat);
        fmt_coord(z->location.lon, lon);
        fmt_coord(msg->circle_radius_km > 0 ? msg->circle_radius_km : CAP_DEFAULT_RADIUS_KM, r);
        snprintf(circle, sizeof(circle), "%s,%s %s", lat, lon, r);
        add_text(add_array(area, "circle"), NULL, circle);
    }
    add_pair(add_array(area, "geocode"), CAP_PARAM_PREFIX "zone", a->zone);
}

/* One <info> block: the alert in one language. */
static void add_info(cJSON *infos, const struct fw_config *cfg, const struct fw_alert *a,
                     const struct fw_cfg_zone *z, const struct fw_cap_msg *msg,
                     enum fw_message_lang lang)
{
    const struct fw_cfg_rule *r = a->cfg_rule;
    const int zh = lang == FW_MESSAGE_ZH_CN;
    const int resolved = a->status == FW_ALERT_RESOLVED;
    char t[FW_TIME_STRLEN];
    cJSON *info = cJSON_CreateObject();
    FW_ASSERT(info);
    cJSON_AddItemToArray(infos, info);

    add_text(info, "language", zh ? "zh-CN" : "en-US");
    add_text(add_array(info, "category"), NULL, fw_category_str(r->category));
    add_text(info, "event", a->rule);
    /*
     * A resolved alert says so in CAP's own terms: no response is needed any more (urgency
     * Past) and the threat is over (AllClear), whatever the rule's urgency was while it fired.
     */
    if (resolved)
        add_text(add_array(info, "responseType"), NULL, "AllClear");
    add_text(info, "urgency", resolved ? "Past" : fw_urgency_str(a->urgency));
    add_text(info, "severity", fw_severity_str(r->severity));
    add_text(info, "certainty", fw_certainty_str(r->certainty));
    /* When the information begins and stops being in effect: the rule of fw_alert_validity,
     * which the engine also follows to send an alert again when its message expires. */
    int64_t onset, expires;
    fw_alert_validity(cfg, a, msg->sent_ms, &onset, &expires);
    cap_time(onset, msg->utc_offset_min, t);
    add_text(info, "onset", t);
    cap_time(expires, msg->utc_offset_min, t);
    add_text(info, "expires", t);
    add_text(info, "senderName",
             msg->sender_name    ? msg->sender_name
             : cfg->gateway_name ? fw_message_name(cfg->gateway_name, cfg->gateway_name_en, lang)
                                 : cfg->gateway_id);

    char *text = fw_xmalloc(FW_MESSAGE_TEXT_MAX);
    fw_message_text(cfg, a, z, lang, FW_MESSAGE_HEADLINE, text, FW_MESSAGE_TEXT_MAX);
    add_text(info, "headline", text);
    fw_message_text(cfg, a, z, lang, FW_MESSAGE_DESCRIPTION, text, FW_MESSAGE_TEXT_MAX);
    add_text(info, "description", text);
    free(text);
    const char *instruction = zh ? msg->instruction_zh : msg->instruction_en;
    if (instruction)
        add_text(info, "instruction", instruction);
    if (z && z->duty.name)
        add_contact(info, NULL, "contact", &z->duty, lang);

    cJSON *ps = add_array(info, "parameter");
    add_param(ps, "alert_id", a->id);
    add_param(ps, "gateway", cfg->gateway_id);
    add_param(ps, "rule", a->rule);
    add_param(ps, "status", fw_alert_status_str(a->status));
    add_param(ps, "kind", fw_alert_kind_str(a->kind));
    add_param_num(ps, "seq", a->seq);
    add_param(ps, "cause", fw_alert_cause_str(a->cause));
    /* The zone's responsible forest chief: the person a duty officer calls first. */
    if (z && z->forest_chief.name)
        add_contact(NULL, ps, "forest_chief", &z->forest_chief, lang);
    if (a->station[0])
        add_param(ps, "node", a->station);
    if (a->metric) {
        add_param(ps, "metric", a->metric->name);
        add_param(ps, "unit", a->metric->unit);
    }
    if (!isnan(a->value))
        add_param_num(ps, "value", a->value);
    if (a->op && a->has_threshold) {
        add_param(ps, "op", a->op);
        add_param_num(ps, "threshold", a->threshold);
    }
    cap_time(a->event_ms, msg->utc_offset_min, t);
    add_param(ps, "time", t);
    if (a->acked) {
        add_param(ps, "acknowledged_by", a->acked_by);
        cap_time(a->acked_ms, msg->utc_offset_min, t);
        add_param(ps, "acknowledged_time", t);
    }
    if (!isnan(a->level)) {
        add_param_num(ps, "level", a->level);
        const char *colour = fw_cap_level_colour(fw_message_level_class(a->level), zh);
        if (colour)
            add_param(ps, "colour", colour);
        /* The scale and the names a duty officer knows the level by (docs/cap.md). */
        struct fw_message_level w;
        fw_message_level_words(a, z, lang, &w);
        if (w.scale[0])
            add_param(ps, "scale", w.scale);
        if (w.name[0])
            add_param(ps, "level_name", w.name);
        if (w.flag[0])
            add_param(ps, "flag", w.flag);
        /* Beside the bureau's level, the one it stands in for. */
        if (a->level_bureau && !isnan(fw_message_computed_level(a)))
            add_param_num(ps, "computed_level", fw_message_computed_level(a));
    }
    if (a->zone[0])
        add_area(info, a, z, msg, zh);
}

/* The rules of the CAP text that concern what the caller chose; see fw_cap_xml(). */
static int msg_ok(const struct fw_cap_msg *m, const char *sender)
{
    if (!cap_id_ok(m->identifier) || !cap_id_ok(sender))
        return 0;
    if (m->utc_offset_min < CAP_MIN_OFFSET_MIN || m->utc_offset_min > CAP_MAX_OFFSET_MIN)
        return 0;
    if ((m->type == FW_CAP_ALERT) != (m->nrefs == 0) || m->nrefs > FW_CAP_MAX_REFS)
        return 0;
    for (size_t i = 0; i < m->nrefs; i++)
        if (!cap_id_ok(m->refs[i].identifier))
            return 0;
    if ((unsigned)m->type > FW_CAP_CANCEL || (unsigned)m->status > FW_CAP_TEST ||
        (unsigned)m->scope > FW_CAP_RESTRICTED)
        return 0;
    if (m->scope == FW_CAP_RESTRICTED && (!m->restriction || !*m->restriction))
        return 0;
    return !(m->circle_radius_km < 0) && isfinite(m->circle_radius_km);
}

static int build(const struct fw_config *cfg, const struct fw_alert *const *as, size_t n,
                 const struct fw_cap_msg *msg, cJSON **out)
{
    static const char *const types[] = {"Alert", "Update", "Cancel"};
    static const char *const statuses[] = {"Actual", "Exercise", "Test"};
    char *sender = msg->sender ? fw_xstrdup(msg->sender)
                               : fw_xasprintf(CAP_SENDER_PREFIX "%s", cfg->gateway_id);
    char t[FW_TIME_STRLEN];
    cJSON *o = NULL;
    int rc = -EINVAL;
    if (!msg_ok(msg, sender) || n == 0)
        goto fail;
    o = cJSON_CreateObject();
    FW_ASSERT(o);
    add_text(o, "identifier", msg->identifier);
    add_text(o, "sender", sender);
    cap_time(msg->sent_ms, msg->utc_offset_min, t);
    add_text(o, "sent", t);
    add_text(o, "status", statuses[msg->status]);
    add_text(o, "msgType", types[msg->type]);
    add_text(o, "scope", msg->scope == FW_CAP_RESTRICTED ? "Restricted" : "Public");
    if (msg->scope == FW_CAP_RESTRICTED)
        add_text(o, "restriction", msg->restriction);
    if (msg->nrefs) {
        /* "sender,identifier,sent" of each earlier message, separated by spaces (3.2.1). */
        struct buf b = {0};
        for (size_t i = 0; i < msg->nrefs; i++) {
            cap_time(msg->refs[i].sent_ms, msg->utc_offset_min, t);
            if (i)
                buf_str(&b, " ");
            buf_str(&b, sender);
            buf_str(&b, ",");
            buf_str(&b, msg->refs[i].identifier);
            buf_str(&b, ",");
            buf_str(&b, t);
        }
        add_text(o, "references", b.p);
        free(b.p);
    }
    /* The episodes, so that a receiver can collate their messages (<incidents>, 3.2.1: a
     * space-separated list). */
    struct buf inc = {0};
    for (size_t i = 0; i < n; i++) {
        char incident[FW_CAP_IDENTIFIER_MAX];
        size_t at = 0;
        if (pct_encode(incident, sizeof(incident), &at, as[i]->id) == 0 && at > 0) {
            if (inc.p)
                buf_str(&inc, " ");
            buf_str(&inc, incident);
        }
    }
    if (inc.p)
        add_text(o, "incidents", inc.p);
    free(inc.p);

    /* One event per pair of info blocks (zh-CN, en-US): a group carries several (3.2.2). */
    cJSON *infos = add_array(o, "info");
    for (size_t i = 0; i < n; i++) {
        const struct fw_alert *a = as[i];
        const struct fw_cfg_zone *z = a->zone[0] ? fw_config_zone(cfg, a->zone) : NULL;
        add_info(infos, cfg, a, z, msg, FW_MESSAGE_ZH_CN);
        add_info(infos, cfg, a, z, msg, FW_MESSAGE_EN_US);
    }
    *out = o;
    free(sender);
    return 0;
fail:
    cJSON_Delete(o);
    free(sender);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Renderings                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* Text content: the five predefined entities, and CR as a reference so a parser keeps it. */
static void xml_escape(struct buf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '&':
            buf_str(b, "&amp;");
            break;
        case '<':
            buf_str(b, "&lt;");
            break;
        case '>':
            buf_str(b, "&gt;");
            break;
        case '"':
            buf_str(b, "&quot;");
            break;
        case '\'':
            buf_str(b, "&apos;");
            break;
        case '\r':
            buf_str(b, "&#13;");
            break;
        default:
            buf_add(b, p, 1);
        }
    }
}

static void xml_indent(struct buf *b, int depth)
{
    for (int i = 0; i < depth; i++)
        buf_str(b, "  ");
}

static void xml_element(struct buf *b, const char *name, const cJSON *v, int depth);

/* The members of an object, in order, as child elements. */
static void xml_children(struct buf *b, const cJSON *o, int depth)
{
    for (const cJSON *c = o->child; c; c = c->next) {
        if (cJSON_IsArray(c)) {
            for (const cJSON *e = c->child; e; e = e->next)
                xml_element(b, c->string, e, depth);
        } else {
            xml_element(b, c->string, c, depth);
        }
    }
}

static void xml_element(struct buf *b, const char *name, const cJSON *v, int depth)
{
    xml_indent(b, depth);
    buf_str(b, "<");
    buf_str(b, name);
    buf_str(b, ">");
    if (cJSON_IsString(v)) {
        xml_escape(b, v->valuestring);
    } else {
        buf_str(b, "\n");
        xml_children(b, v, depth + 1);
        xml_indent(b, depth);
    }
    buf_str(b, "</");
    buf_str(b, name);
    buf_str(b, ">\n");
}

int fw_cap_xml_group(const struct fw_config *cfg, const struct fw_alert *const *as, size_t n,
                     const struct fw_cap_msg *msg, char **out)
{
    cJSON *o;
    int rc = build(cfg, as, n, msg, &o);
    if (rc < 0)
        return rc;
    struct buf b = {0};
    buf_str(&b,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<alert xmlns=\"" FW_CAP_NAMESPACE "\">\n");
    xml_children(&b, o, 1);
    buf_str(&b, "</alert>\n");
    cJSON_Delete(o);
    *out = b.p;
    return 0;
}

int fw_cap_json_group(const struct fw_config *cfg, const struct fw_alert *const *as, size_t n,
                      const struct fw_cap_msg *msg, char **out)
{
    cJSON *o;
    int rc = build(cfg, as, n, msg, &o);
    if (rc < 0)
        return rc;
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    FW_ASSERT(*out);
    return 0;
}

int fw_cap_xml(const struct fw_config *cfg, const struct fw_alert *a, const struct fw_cap_msg *msg,
               char **out)
{
    return fw_cap_xml_group(cfg, &a, 1, msg, out);
}

int fw_cap_json(const struct fw_config *cfg, const struct fw_alert *a, const struct fw_cap_msg *msg,
                char **out)
{
    return fw_cap_json_group(cfg, &a, 1, msg, out);
}

/* ------------------------------------------------------------------------------------------ */
/* The checker: a scanner for the XML that CAP messages use, and the CAP text's rules         */
/* ------------------------------------------------------------------------------------------ */

struct check {
    const char *p;
    char *why;
    size_t n;
    char stack[CHECK_MAX_DEPTH][CHECK_MAX_NAME]; /* local names of the open elements */
    int depth;
    struct buf text; /* character data since the last start tag */
    int root_done;
    int seen_identifier, seen_sender, seen_sent, seen_references, seen_restriction;
    int seen_addresses, update_or_cancel, restricted, private_scope, seen_msgtype, seen_scope;
};

__attribute__((format(printf, 2, 3))) static int fail_why(struct check *c, const char *fmt, ...)
{
    va_list ap;
    if (c->n) {
        va_start(ap, fmt);
        vsnprintf(c->why, c->n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int is_name_char(char ch)
{
    return ch && !is_ws(ch) && !strchr("<>/=\"'&!?", ch);
}

/* The time rule of CAP 1.2 3.3.2 for one value; `el` names the element for the message. */
static int check_time(struct check *c, const char *el, const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd+dd:dd";
    size_t len = strlen(s);
    int64_t ms;
    if (len > 19 && (s[19] == 'Z' || s[19] == 'z'))
        return fail_why(
            c, "%s: \"%s\": 'Z' is not allowed; write a numeric offset (-00:00 for UTC)", el, s);
    if (len > 19 && s[19] == '.')
        return fail_why(c, "%s: \"%s\": fractional seconds are not allowed", el, s);
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        int ok = i >= len          ? 0
                 : shape[i] == 'd' ? s[i] >= '0' && s[i] <= '9'
                 : shape[i] == '+' ? s[i] == '+' || s[i] == '-'
                                   : s[i] == shape[i];
        if (!ok)
            return fail_why(c,
                            "%s: \"%s\": must be YYYY-MM-DDThh:mm:ss with an offset +hh:mm or "
                            "-hh:mm",
                            el, s);
    }
    if (len != sizeof(shape) - 1)
        return fail_why(c, "%s: \"%s\": trailing characters after the offset", el, s);
    /* xs:dateTime offsets run to 14:00 either way. */
    int off = ((s[20] - '0') * 10 + (s[21] - '0')) * 60 + (s[23] - '0') * 10 + (s[24] - '0');
    if (fw_time_parse(s, &ms) < 0 || off > 14 * 60)
        return fail_why(c, "%s: \"%s\": not a valid date, time or offset", el, s);
    if (strcmp(s + 19, "+00:00") == 0)
        return fail_why(c, "%s: \"%s\": UTC must be written -00:00", el, s);
    return 0;
}

static int check_id(struct check *c, const char *el, const char *s)
{
    if (!cap_id_ok(s))
        return fail_why(c, "%s: \"%s\": must be non-empty, without spaces, ',', '<' or '&'", el, s);
    return 0;
}

/* A plain decimal number "-12.5" (no exponent, inf or hex, which strtod would take). */
static int decimal(const char *s, size_t len, double *out)
{
    char tmp[64];
    size_t i = 0, digits = 0;
    if (len == 0 || len >= sizeof(tmp))
        return 0;
    if (s[i] == '-' || s[i] == '+')
        i++;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < len && s[i] == '.')
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    if (i != len || digits == 0)
        return 0;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *out = strtod(tmp, NULL);
    return 1;
}

/* "lat,lon" in WGS 84 degrees. */
static int point(const char *s, size_t len, double *lat, double *lon)
{
    const char *comma = memchr(s, ',', len);
    if (!comma || !decimal(s, (size_t)(comma - s), lat) ||
        !decimal(comma + 1, len - (size_t)(comma + 1 - s), lon))
        return 0;
    return *lat >= -90 && *lat <= 90 && *lon >= -180 && *lon <= 180;
}

/* The next whitespace-separated token of *p, or 0 at the end. */
static size_t token(const char **p, const char **start)
{
    while (is_ws(**p))
        (*p)++;
    *start = *p;
    while (**p && !is_ws(**p))
        (*p)++;
    return (size_t)(*p - *start);
}

static int check_polygon(struct check *c, const char *s)
{
    const char *p = s, *t;
    size_t len, pairs = 0;
    double lat, lon, lat0 = 0, lon0 = 0;
    while ((len = token(&p, &t)) > 0) {
        if (!point(t, len, &lat, &lon))
            return fail_why(c, "polygon: \"%.*s\": not a \"lat,lon\" pair in WGS 84 degrees",
                            (int)len, t);
        if (pairs++ == 0) {
            lat0 = lat;
            lon0 = lon;
        }
    }
    if (pairs < 4)
        return fail_why(c, "polygon: %zu coordinate pairs, at least 4 are needed", pairs);
    if (lat != lat0 || lon != lon0)
        return fail_why(c, "polygon: the last pair must equal the first (a closed ring)");
    return 0;
}

static int check_circle(struct check *c, const char *s)
{
    const char *p = s, *t, *r;
    double lat, lon, radius;
    size_t len = token(&p, &t), rlen = token(&p, &r);
    const char *extra;
    if (!point(t, len, &lat, &lon) || !decimal(r, rlen, &radius) || radius < 0 ||
        token(&p, &extra) != 0)
        return fail_why(c, "circle: \"%s\": must be \"lat,lon radius_km\"", s);
    return 0;
}

static int check_references(struct check *c, const char *s)
{
    const char *p = s, *t;
    size_t len, count = 0;
    char tok[512], *c1, *c2;
    while ((len = token(&p, &t)) > 0) {
        count++;
        if (len >= sizeof(tok))
            return fail_why(c, "references: an entry is too long");
        memcpy(tok, t, len);
        tok[len] = '\0';
        c1 = strchr(tok, ',');
        c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c2 || strchr(c2 + 1, ','))
            return fail_why(c, "references: \"%s\": must be \"sender,identifier,sent\"", tok);
        *c1 = *c2 = '\0';
        if (check_id(c, "references: sender", tok) < 0 ||
            check_id(c, "references: identifier", c1 + 1) < 0 ||
            check_time(c, "references: sent", c2 + 1) < 0)
            return -EINVAL;
    }
    if (count == 0)
        return fail_why(c, "references: empty");
    return 0;
}

/* An element closed with text `s`: apply the rule for its place in the tree, if any. */
static int check_element(struct check *c, const char *s)
{
    const char *el = c->stack[c->depth - 1];
    const char *parent = c->depth >= 2 ? c->stack[c->depth - 2] : "";
    if (c->depth == 2) {
        if (strcmp(el, "identifier") == 0) {
            c->seen_identifier++;
            return check_id(c, el, s);
        }
        if (strcmp(el, "sender") == 0) {
            c->seen_sender++;
            return check_id(c, el, s);
        }
        if (strcmp(el, "sent") == 0) {
            c->seen_sent++;
            return check_time(c, el, s);
        }
        if (strcmp(el, "references") == 0) {
            c->seen_references++;
            return check_references(c, s);
        }
        if (strcmp(el, "msgType") == 0) {
            c->seen_msgtype++;
            c->update_or_cancel = strcmp(s, "Update") == 0 || strcmp(s, "Cancel") == 0;
        } else if (strcmp(el, "scope") == 0) {
            c->seen_scope++;
            c->restricted = strcmp(s, "Restricted") == 0;
            c->private_scope = strcmp(s, "Private") == 0;
        } else if (strcmp(el, "restriction") == 0) {
            c->seen_restriction++;
        } else if (strcmp(el, "addresses") == 0) {
            c->seen_addresses++;
        }
        return 0;
    }
    if (c->depth == 3 && strcmp(parent, "info") == 0 &&
        (strcmp(el, "effective") == 0 || strcmp(el, "onset") == 0 || strcmp(el, "expires") == 0))
        return check_time(c, el, s);
    if (c->depth == 4 && strcmp(parent, "area") == 0) {
        if (strcmp(el, "polygon") == 0)
            return check_polygon(c, s);
        if (strcmp(el, "circle") == 0)
            return check_circle(c, s);
    }
    return 0;
}

/* The rules that need the whole <alert>. */
static int check_alert_end(struct check *c)
{
    const struct {
        const char *name;
        int seen;
    } required[] = {
        {"identifier", c->seen_identifier}, {"sender", c->seen_sender}, {"sent", c->seen_sent},
        {"msgType", c->seen_msgtype},       {"scope", c->seen_scope},
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(required); i++)
        if (required[i].seen != 1)
            return fail_why(c, "%s: required once in <alert>", required[i].name);
    if (c->update_or_cancel && !c->seen_references)
        return fail_why(c, "references: required for an Update or Cancel");
    if (c->restricted && !c->seen_restriction)
        return fail_why(c, "restriction: required when scope is Restricted");
    if (c->private_scope && !c->seen_addresses)
        return fail_why(c, "addresses: required when scope is Private");
    return 0;
}

/* Append the character data up to the next '<', resolving references. */
static int scan_text(struct check *c)
{
    while (*c->p && *c->p != '<') {
        if (*c->p != '&') {
            const char *start = c->p;
            while (*c->p && *c->p != '<' && *c->p != '&')
                c->p++;
            if (c->depth == 0) {
                for (const char *q = start; q < c->p; q++)
                    if (!is_ws(*q))
                        return fail_why(c, "xml: text outside the root element");
            } else {
                buf_add(&c->text, start, (size_t)(c->p - start));
            }
        } else {
            static const struct {
                const char *ref, *ch;
            } named[] = {
                {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""}, {"&apos;", "'"}};
            size_t i;
            for (i = 0; i < FW_ARRAY_LEN(named); i++)
                if (strncmp(c->p, named[i].ref, strlen(named[i].ref)) == 0)
                    break;
            if (i < FW_ARRAY_LEN(named)) {
                buf_str(&c->text, named[i].ch);
                c->p += strlen(named[i].ref);
            } else if (c->p[1] == '#') {
                int hex = c->p[2] == 'x';
                char *end;
                unsigned long cp = strtoul(c->p + 2 + hex, &end, hex ? 16 : 10);
                char utf8[4];
                if (end == c->p + 2 + hex || *end != ';' || cp > 0x10FFFF ||
                    !xml_char_ok((unsigned)cp))
                    return fail_why(c, "xml: bad character reference");
                static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
                size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
                for (size_t k = len - 1; k > 0; k--, cp >>= 6)
                    utf8[k] = (char)(0x80 | (cp & 0x3F));
                utf8[0] = (char)(lead[len] | cp);
                buf_add(&c->text, utf8, len);
                c->p = end + 1;
            } else {
                return fail_why(c, "xml: unknown entity reference");
            }
        }
        if (c->text.n > CHECK_MAX_TEXT)
            return fail_why(c, "xml: text too long");
    }
    return 0;
}

/* Skip past `end`, or fail when the document ends first. */
static int skip_past(struct check *c, const char *end, const char *what)
{
    const char *e = strstr(c->p, end);
    if (!e)
        return fail_why(c, "xml: unterminated %s", what);
    c->p = e + strlen(end);
    return 0;
}

/* The root's start tag must bind its prefix (or the default) to the CAP 1.2 namespace. */
static int root_namespace(struct check *c, const char *qname, const char *attrs, size_t alen)
{
    const char *colon = strchr(qname, ':');
    char want[CHECK_MAX_NAME + 8];
    if (colon)
        snprintf(want, sizeof(want), "xmlns:%.*s", (int)(colon - qname), qname);
    else
        snprintf(want, sizeof(want), "xmlns");
    const char *p = attrs, *end = attrs + alen;
    while (p < end) {
        while (p < end && is_ws(*p))
            p++;
        const char *name = p;
        while (p < end && *p != '=' && !is_ws(*p))
            p++;
        size_t nlen = (size_t)(p - name);
        while (p < end && (is_ws(*p) || *p == '='))
            p++;
        if (p >= end || (*p != '"' && *p != '\''))
            break;
        char q = *p++;
        const char *val = p;
        while (p < end && *p != q)
            p++;
        if (nlen == strlen(want) && strncmp(name, want, nlen) == 0)
            return (size_t)(p - val) == strlen(FW_CAP_NAMESPACE) &&
                           strncmp(val, FW_CAP_NAMESPACE, strlen(FW_CAP_NAMESPACE)) == 0
                       ? 0
                       : fail_why(c, "alert: not in the namespace " FW_CAP_NAMESPACE);
        p++;
    }
    return fail_why(c, "alert: not in the namespace " FW_CAP_NAMESPACE);
}

/* A start or end tag at c->p ('<' seen, not a comment, PI or CDATA). */
static int scan_tag(struct check *c)
{
    int end_tag = c->p[1] == '/';
    const char *name = c->p + 1 + end_tag, *p = name;
    while (is_name_char(*p))
        p++;
    size_t nlen = (size_t)(p - name);
    if (nlen == 0 || nlen >= CHECK_MAX_NAME)
        return fail_why(c, "xml: bad element name");
    char qname[CHECK_MAX_NAME];
    memcpy(qname, name, nlen);
    qname[nlen] = '\0';
    const char *colon = strchr(qname, ':');
    const char *local = colon ? colon + 1 : qname;
    /* Attributes: quoted values may hold '>' and '/', so step over them whole. */
    const char *attrs = p;
    while (*p && *p != '>' && !(*p == '/' && p[1] == '>')) {
        if (*p == '"' || *p == '\'') {
            const char *q = strchr(p + 1, *p);
            if (!q)
                return fail_why(c, "xml: unterminated attribute value");
            p = q;
        } else if (*p == '<') {
            return fail_why(c, "xml: '<' inside a tag");
        }
        p++;
    }
    if (!*p)
        return fail_why(c, "xml: unterminated tag <%s", qname);
    int empty = *p == '/';
    size_t alen = (size_t)(p - attrs);
    c->p = p + (empty ? 2 : 1);
    if (end_tag) {
        for (size_t i = 0; i < alen; i++)
            if (!is_ws(attrs[i]))
                return fail_why(c, "xml: junk in the end tag </%s>", qname);
        if (c->depth == 0 || strcmp(c->stack[c->depth - 1], local) != 0)
            return fail_why(c, "xml: </%s> does not close <%s>", qname,
                            c->depth ? c->stack[c->depth - 1] : "(nothing)");
    } else {
        if (c->root_done)
            return fail_why(c, "xml: a second root element <%s>", qname);
        if (c->depth == 0) {
            if (strcmp(local, "alert") != 0)
                return fail_why(c, "xml: the root is <%s>, not <alert>", qname);
            if (root_namespace(c, qname, attrs, alen) < 0)
                return -EINVAL;
        }
        if (c->depth == CHECK_MAX_DEPTH)
            return fail_why(c, "xml: nested too deep");
        fw_strlcpy(c->stack[c->depth++], local, CHECK_MAX_NAME);
        c->text.n = 0;
        c->text.p[0] = '\0';
        if (!empty)
            return 0;
    }
    /* The element ends here: check its text, then the whole alert when it is the root. */
    if (check_element(c, c->text.p) < 0)
        return -EINVAL;
    c->depth--;
    c->text.n = 0;
    c->text.p[0] = '\0';
    if (c->depth == 0) {
        c->root_done = 1;
        return check_alert_end(c);
    }
    return 0;
}

static int check_doc(struct check *c)
{
    /* A byte that is not UTF-8, or a character XML forbids, makes the document ill-formed. */
    for (const unsigned char *p = (const unsigned char *)c->p; *p;) {
        unsigned cp;
        size_t len = utf8_decode(p, &cp);
        if (!len || !xml_char_ok(cp))
            return fail_why(c, "xml: byte %zu: not UTF-8, or a character XML does not allow",
                            (size_t)(p - (const unsigned char *)c->p));
        p += len;
    }
    if (strncmp(c->p, "\xEF\xBB\xBF", 3) == 0)
        c->p += 3;
    while (*c->p) {
        if (*c->p != '<') {
            if (scan_text(c) < 0)
                return -EINVAL;
        } else if (strncmp(c->p, "<?", 2) == 0) {
            if (skip_past(c, "?>", "processing instruction") < 0)
                return -EINVAL;
        } else if (strncmp(c->p, "<!--", 4) == 0) {
            if (skip_past(c, "-->", "comment") < 0)
                return -EINVAL;
        } else if (strncmp(c->p, "<![CDATA[", 9) == 0) {
            const char *start = c->p + 9;
            if (c->depth == 0)
                return fail_why(c, "xml: CDATA outside the root element");
            if (skip_past(c, "]]>", "CDATA section") < 0)
                return -EINVAL;
            buf_add(&c->text, start, (size_t)(c->p - 3 - start));
        } else if (c->p[1] == '!') {
            return fail_why(c, "xml: DOCTYPE and declarations are not allowed in CAP");
        } else if (scan_tag(c) < 0) {
            return -EINVAL;
        }
    }
    if (!c->root_done)
        return fail_why(c, c->depth ? "xml: the document ends inside <%s>" : "xml: no <alert>%s",
                        c->depth ? c->stack[c->depth - 1] : "");
    return 0;
}

int fw_cap_check(const char *xml, char *why, size_t n)
{
    struct check *c = fw_xcalloc(1, sizeof(*c));
    int rc;
    c->p = xml;
    c->why = why;
    c->n = n;
    if (n)
        why[0] = '\0';
    buf_add(&c->text, "", 0);
    rc = xml ? check_doc(c) : fail_why(c, "xml: no document");
    free(c->text.p);
    free(c);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The checker on the JSON rendering                                                          */
/* ------------------------------------------------------------------------------------------ */

/* The elements CAP 1.2's schema lets repeat: arrays in the JSON rendering, and only they. */
static const char *const json_repeating[] = {
    "code",     "info", "category", "responseType", "eventCode", "parameter",
    "resource", "area", "polygon",  "circle",       "geocode",   NULL,
};

static int json_name_ok(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')) || strlen(s) >= CHECK_MAX_NAME)
        return 0;
    for (; *s; s++)
        if (!is_name_char(*s) || *s == ':')
            return 0;
    return 1;
}

/*
 * Does `v`, the value of member `name` at `path`, have the shape of the JSON rendering
 * (docs/cap.md)? Then the XML walk of the renderer turns it into the very XML the renderer
 * writes, and the XML checker's rules apply unchanged.
 */
static int json_shape(struct check *c, const char *path, const char *name, const cJSON *v,
                      int depth)
{
    char sub[256];
    int repeats = 0;
    for (const char *const *r = json_repeating; *r && !repeats; r++)
        repeats = strcmp(*r, name) == 0;
    if (depth >= CHECK_MAX_DEPTH - 1)
        return fail_why(c, "%s: nested deeper than any CAP element", path);
    if (cJSON_IsArray(v) != repeats)
        return fail_why(c,
                        repeats ? "%s: must be an array (the element may repeat)"
                                : "%s: must not be an array (the element does not repeat)",
                        path);
    int i = 0;
    for (const cJSON *e = repeats ? v->child : v; e; e = repeats ? e->next : NULL, i++) {
        if (repeats)
            snprintf(sub, sizeof(sub), "%.240s[%d]", path, i);
        else
            snprintf(sub, sizeof(sub), "%.240s", path);
        if (cJSON_IsString(e)) {
            for (const unsigned char *p = (const unsigned char *)e->valuestring; *p;) {
                unsigned cp;
                size_t len = utf8_decode(p, &cp);
                if (!len || !xml_char_ok(cp))
                    return fail_why(c, "%s: not UTF-8, or a character XML does not allow", sub);
                p += len;
            }
        } else if (cJSON_IsObject(e)) {
            for (const cJSON *m = e->child; m; m = m->next) {
                char mpath[320]; /* a path past 240 bytes is cut: only absurd nesting has one */
                snprintf(mpath, sizeof(mpath), "%.240s.%.63s", sub, m->string);
                if (!json_name_ok(m->string))
                    return fail_why(c, "%s: not the name of a CAP element", mpath);
                if (json_shape(c, mpath, m->string, m, depth + 1) < 0)
                    return -EINVAL;
            }
        } else {
            return fail_why(c, "%s: must be a string or an object (every CAP value is text)", sub);
        }
    }
    return 0;
}

int fw_cap_check_json(const char *json, char *why, size_t n)
{
    struct check *c = fw_xcalloc(1, sizeof(*c));
    struct buf b = {0};
    const char *end = NULL;
    c->why = why;
    c->n = n;
    if (n)
        why[0] = '\0';
    cJSON *root = json ? cJSON_ParseWithOpts(json, &end, 1) : NULL;
    int rc = 0;
    if (!root)
        rc = fail_why(c, "json: not valid JSON (at byte %zu)",
                      json && end ? (size_t)(end - json) : 0);
    else if (!cJSON_IsObject(root))
        rc = fail_why(c, "json: must be an object, the content of <alert>");
    for (const cJSON *m = root && !rc ? root->child : NULL; m && !rc; m = m->next)
        rc = !json_name_ok(m->string) ? fail_why(c, "%s: not the name of a CAP element", m->string)
                                      : json_shape(c, m->string, m->string, m, 1);
    if (!rc) {
        buf_str(&b, "<alert xmlns=\"" FW_CAP_NAMESPACE "\">\n");
        xml_children(&b, root, 1);
        buf_str(&b, "</alert>\n");
        rc = fw_cap_check(b.p, why, n);
    }
    free(b.p);
    cJSON_Delete(root);
    free(c);
    return rc;
}
