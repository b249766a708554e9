/* SPDX-License-Identifier: MIT */
/*
 * Alert messages as JSON, built with cJSON so that every string is escaped correctly whatever
 * an operator put in a zone name or a template. Numbers are printed by cJSON with full
 * precision. The headline and description are the rule's templates in zh-CN and en-US, with
 * the placeholders filled in; a rule without templates gets the default ones below.
 */
#include "forestwatch/message.h"

#include "forestwatch/cnrating.h"
#include "forestwatch/timefmt.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct fw_cfg_template default_zh = {
    "{zone_name}：{rule}",
    "{zone_name}（林长 {forest_chief}）监测点 {station}：{metric} = {value} {unit}，{time}",
};
static const struct fw_cfg_template default_en = {
    "{rule} in {zone_name}",
    "{zone_name} (forest chief {forest_chief}), station {station}: {metric} = {value} {unit} at "
    "{time}",
};

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char buf[FW_TIME_STRLEN];
    fw_time_format(ms, buf);
    cJSON_AddStringToObject(o, key, buf);
}

static void add_contact(cJSON *o, const char *key, const struct fw_cfg_contact *c)
{
    if (!c->name)
        return;
    cJSON *j = cJSON_AddObjectToObject(o, key);
    cJSON_AddStringToObject(j, "name", c->name);
    if (c->name_en)
        cJSON_AddStringToObject(j, "name_en", c->name_en);
    if (c->phone)
        cJSON_AddStringToObject(j, "phone", c->phone);
}

static void add_zone(cJSON *o, const struct fw_cfg_zone *z, const char *zone_id)
{
    cJSON *j = cJSON_AddObjectToObject(o, "zone");
    cJSON_AddStringToObject(j, "id", zone_id);
    if (!z)
        return; /* a zone removed by a reload: the id is all that is known */
    cJSON_AddStringToObject(j, "name", z->name);
    if (z->name_en)
        cJSON_AddStringToObject(j, "name_en", z->name_en);
    if (z->has_location) {
        cJSON *loc = cJSON_AddObjectToObject(j, "location");
        cJSON_AddNumberToObject(loc, "lat", z->location.lat);
        cJSON_AddNumberToObject(loc, "lon", z->location.lon);
    }
    add_contact(j, "forest_chief", &z->forest_chief);
    add_contact(j, "duty", &z->duty);
}

/*
 * A time as people read it: the zone's local date and time with its offset, "2026-06-01
 * 16:00:00+08:00". Never UTC with a "Z": a duty officer at +08:00 reading 16:37Z of the 7th
 * would take it for the afternoon of the 7th when it is past midnight of the 8th.
 */
static void text_time(const struct fw_config *cfg, const struct fw_cfg_zone *z, int64_t ms,
                      char buf[FW_TIME_STRLEN])
{
    fw_time_format_local(ms, fw_config_zone_offset_min(cfg, z), buf);
    buf[10] = ' '; /* the "T": RFC 3339 allows a space there, and it reads better */
}

const char *fw_message_name(const char *name, const char *name_en, enum fw_message_lang lang)
{
    return lang == FW_MESSAGE_EN_US && name_en && *name_en ? name_en : name;
}

/* A contact's name in the language, "" without one. */
static const char *contact_name(const struct fw_cfg_contact *c, enum fw_message_lang lang)
{
    return c->name ? fw_message_name(c->name, c->name_en, lang) : "";
}

/* The pest `id` of zone `z` by its name in the language, else by its id. */
static const char *pest_name(const struct fw_cfg_zone *z, const char *id, enum fw_message_lang lang)
{
    for (size_t i = 0; z && z->pests && i < z->pests->npests; i++) {
        const struct fw_pests_pest *p = &z->pests->pests[i];
        if (strcmp(p->id, id) == 0)
            return fw_message_name(p->name[0] ? p->name : id, p->name_en, lang);
    }
    return id;
}

int fw_message_level_class(double level)
{
    if (isnan(level) || level < 1 || level > 5 || level != floor(level))
        return 0;
    return (int)level;
}

void fw_message_level_words(const struct fw_alert *a, const struct fw_cfg_zone *z,
                            enum fw_message_lang lang, struct fw_message_level *out)
{
    static const char *const scale_zh[] = {"加拿大火险天气指数（FWI）", "聂斯切罗夫指标",
                                           "全国森林火险天气等级"};
    static const char *const scale_en[] = {"Canadian Fire Weather Index (FWI)", "Nesterov index",
                                           "national forest fire weather rating"};
    const int zh = lang == FW_MESSAGE_ZH_CN;
    const int level = fw_message_level_class(a->level);
    const int national = a->level_bureau || (z && z->danger_scale == FW_SCALE_CN);
    const char *s;
    out->scale = out->name = out->colour = out->flag = "";
    if (a->level_bureau)
        out->scale =
            zh ? "气象部门发布的森林火险气象等级" : "meteorology bureau's fire weather level";
    else if (z && (unsigned)z->danger_scale < FW_ARRAY_LEN(scale_zh))
        out->scale = zh ? scale_zh[z->danger_scale] : scale_en[z->danger_scale];
    if ((s = zh ? fw_cnr_level_colour(level) : fw_cnr_level_colour_en(level)))
        out->colour = s;
    if (national && (s = zh ? fw_cnr_level_name(level) : fw_cnr_level_name_en(level)))
        out->name = s;
    if (national && (s = zh ? fw_cnr_level_flag(level) : fw_cnr_level_flag_en(level)))
        out->flag = s;
}

double fw_message_computed_level(const struct fw_alert *a)
{
    return a->computed_level >= 1 ? a->computed_level : a->level;
}

/*
 * The text of one placeholder for this alert ("" when it does not apply). Strings from the
 * config are returned as they are rather than copied into `buf`, so that a long zone name is
 * never cut inside a UTF-8 character; numbers and times are printed into `buf`.
 */
static const char *placeholder(const struct fw_config *cfg, const struct fw_alert *a,
                               const struct fw_cfg_zone *z, enum fw_message_lang lang,
                               const char *name, size_t len, char *buf, size_t size)
{
#define IS(s) (len == strlen(s) && strncmp(name, s, len) == 0)
    const char *s = "";
    buf[0] = '\0';
    if (IS("rule"))
        s = a->rule;
    else if (IS("zone"))
        s = a->zone;
    else if (IS("zone_name"))
        s = z ? fw_message_name(z->name, z->name_en, lang) : a->zone;
    else if (IS("zone_name_en"))
        s = z ? fw_message_name(z->name, z->name_en, FW_MESSAGE_EN_US) : a->zone;
    else if (IS("station") || IS("node"))
        s = a->station;
    else if (IS("metric"))
        s = a->metric ? a->metric->name : "";
    else if (IS("unit"))
        s = a->metric ? a->metric->unit : "";
    else if (IS("forest_chief"))
        s = z ? contact_name(&z->forest_chief, lang) : "";
    else if (IS("forest_chief_phone"))
        s = z && z->forest_chief.phone ? z->forest_chief.phone : "";
    else if (IS("duty"))
        s = z ? contact_name(&z->duty, lang) : "";
    else if (IS("duty_phone"))
        s = z && z->duty.phone ? z->duty.phone : "";
    else if (IS("pest"))
        s = pest_name(z, a->pest, lang);
    else if (IS("pest_stage"))
        s = a->pest_stage;
    else if (IS("pest_action"))
        s = a->pest_action;
    else if (IS("severity"))
        s = fw_severity_str(a->cfg_rule->severity);
    else if (IS("value") && !isnan(a->value))
        snprintf(buf, size, "%g", a->value);
    else if (IS("threshold") && a->has_threshold)
        snprintf(buf, size, "%g", a->threshold);
    else if (IS("level") && !isnan(a->level))
        snprintf(buf, size, "%.0f", a->level);
    else if (IS("computed_level") && !isnan(fw_message_computed_level(a)))
        snprintf(buf, size, "%.0f", fw_message_computed_level(a));
    else if (IS("scale") || IS("level_name") || IS("level_colour") || IS("level_flag")) {
        struct fw_message_level w;
        fw_message_level_words(a, z, lang, &w);
        s = IS("scale")          ? w.scale
            : IS("level_name")   ? w.name
            : IS("level_colour") ? w.colour
                                 : w.flag;
    } else if (IS("time"))
        text_time(cfg, z, a->event_ms, buf);
    return buf[0] ? buf : s;
#undef IS
}

/* The length of the longest prefix of s[0..n) that does not end inside a UTF-8 sequence. */
static size_t utf8_complete(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return n;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return n - (i - 1) < need ? i - 1 : n;
}

/*
 * Fill the template's placeholders into `out` (`size` bytes). Text that does not fit is cut,
 * but never inside a UTF-8 sequence: a half character would make the XML of a CAP rendering
 * ill-formed and the JSON one undecodable.
 */
static void render(const struct fw_config *cfg, const struct fw_alert *a,
                   const struct fw_cfg_zone *z, enum fw_message_lang lang, const char *tmpl,
                   char *out, size_t size)
{
    size_t n = 0;
    char val[FW_TIME_STRLEN + 32]; /* a number or a time */
    for (const char *p = tmpl; *p; p++) {
        const char *piece = p;
        size_t len = 1;
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p++;
        } else if (p[0] == '{' && strchr(p, '}')) {
            const char *end = strchr(p, '}');
            piece = placeholder(cfg, a, z, lang, p + 1, (size_t)(end - p - 1), val, sizeof(val));
            len = strlen(piece);
            p = end;
        }
        if (n + len > size - 1) {
            memcpy(out + n, piece, size - 1 - n);
            n = utf8_complete(out, size - 1);
            break;
        }
        memcpy(out + n, piece, len);
        n += len;
    }
    out[n] = '\0';
}

void fw_message_text(const struct fw_config *cfg, const struct fw_alert *a,
                     const struct fw_cfg_zone *z, enum fw_message_lang lang,
                     enum fw_message_part part, char *out, size_t size)
{
    const struct fw_cfg_rule *r = a->cfg_rule;
    const struct fw_cfg_template *t = lang == FW_MESSAGE_ZH_CN ? &r->zh : &r->en;
    const struct fw_cfg_template *d = lang == FW_MESSAGE_ZH_CN ? &default_zh : &default_en;
    FW_ASSERT(size > 0);
    /* A rule's template counts only with its headline; a missing description is the default. */
    if (!t->headline)
        t = d;
    if (part == FW_MESSAGE_HEADLINE)
        render(cfg, a, z, lang, t->headline, out, size);
    else
        render(cfg, a, z, lang, t->description ? t->description : d->description, out, size);
}

static void add_texts(cJSON *o, const struct fw_config *cfg, const struct fw_alert *a,
                      const struct fw_cfg_zone *z)
{
    static const struct {
        const char *key;
        enum fw_message_part part;
    } parts[] = {{"headline", FW_MESSAGE_HEADLINE}, {"description", FW_MESSAGE_DESCRIPTION}};
    char *buf = fw_xmalloc(FW_MESSAGE_TEXT_MAX);
    for (size_t i = 0; i < FW_ARRAY_LEN(parts); i++) {
        cJSON *j = cJSON_AddObjectToObject(o, parts[i].key);
        fw_message_text(cfg, a, z, FW_MESSAGE_ZH_CN, parts[i].part, buf, FW_MESSAGE_TEXT_MAX);
        cJSON_AddStringToObject(j, "zh-CN", buf);
        fw_message_text(cfg, a, z, FW_MESSAGE_EN_US, parts[i].part, buf, FW_MESSAGE_TEXT_MAX);
        cJSON_AddStringToObject(j, "en-US", buf);
    }
    free(buf);
}

char *fw_message_alert_json(const struct fw_config *cfg, const struct fw_alert *a, int64_t sent_ms)
{
    const struct fw_cfg_rule *r = a->cfg_rule;
    const struct fw_cfg_zone *z = a->zone[0] ? fw_config_zone(cfg, a->zone) : NULL;
    cJSON *o = cJSON_CreateObject();
    FW_ASSERT(o);
    cJSON_AddStringToObject(o, "id", a->id);
    cJSON_AddStringToObject(o, "gateway", cfg->gateway_id);
    cJSON_AddStringToObject(o, "status", fw_alert_status_str(a->status));
    cJSON_AddStringToObject(o, "kind", fw_alert_kind_str(a->kind));
    cJSON_AddNumberToObject(o, "seq", a->seq);
    cJSON_AddStringToObject(o, "cause", fw_alert_cause_str(a->cause));
    cJSON_AddStringToObject(o, "rule", a->rule);
    cJSON_AddStringToObject(o, "severity", fw_severity_str(r->severity));
    cJSON_AddStringToObject(o, "urgency", fw_urgency_str(a->urgency));
    cJSON_AddStringToObject(o, "certainty", fw_certainty_str(r->certainty));
    cJSON_AddStringToObject(o, "category", fw_category_str(r->category));
    if (a->zone[0])
        add_zone(o, z, a->zone);
    if (a->station[0])
        cJSON_AddStringToObject(o, "node", a->station);
    if (a->metric) {
        cJSON_AddStringToObject(o, "metric", a->metric->name);
        cJSON_AddStringToObject(o, "unit", a->metric->unit);
    }
    if (!isnan(a->value))
        cJSON_AddNumberToObject(o, "value", a->value);
    if (a->op)
        cJSON_AddStringToObject(o, "op", a->op);
    if (a->has_threshold)
        cJSON_AddNumberToObject(o, "threshold", a->threshold);
    if (!isnan(a->level))
        cJSON_AddNumberToObject(o, "level", a->level);
    cJSON_AddStringToObject(o, "expr", r->expr_src);
    add_time(o, "time", a->event_ms);
    add_time(o, "started", a->started_ms);
    /* The engine's time of the message when it has one, so that a replay writes the same. */
    if (a->sent_ms)
        sent_ms = a->sent_ms;
    add_time(o, "sent", sent_ms);
    int64_t onset, expires;
    fw_alert_validity(cfg, a, sent_ms, &onset, &expires);
    add_time(o, "onset", onset);
    add_time(o, "expires", expires);
    if (a->acked) {
        cJSON *ack = cJSON_AddObjectToObject(o, "acknowledged");
        cJSON_AddStringToObject(ack, "by", a->acked_by);
        add_time(ack, "time", a->acked_ms);
    }
    if (r->nlabels) {
        cJSON *l = cJSON_AddObjectToObject(o, "labels");
        for (size_t i = 0; i < r->nlabels; i++)
            cJSON_AddStringToObject(l, r->labels[i].key, r->labels[i].value);
    }
    add_texts(o, cfg, a, z);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    FW_ASSERT(s);
    return s;
}
