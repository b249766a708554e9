/* SPDX-License-Identifier: MIT */
/*
 * CAP 1.2 renderings: every XML rendered here is validated against the OASIS schema with
 * libxml2 and against the rules of the CAP text with fw_cap_check(); the episode chain
 * (Alert, Update, Cancel with references), the three kinds of area, escaping, Chinese text, the
 * JSON structure, identifiers, and a checker that fails what it must (the reference invalid
 * example, and valid-by-schema documents that break the CAP text), on the XML and on the JSON
 * rendering.
 */
#include "forestwatch/cap.h"
#include "forestwatch/util.h"
#include "test.h"

#include <cJSON.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#define CAP_DATA FW_TEST_DATA "/cap/"
#define T0 1780300800000LL /* 2026-06-01T08:00:00Z */

/* libxml2 2.12 made the structured error const. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *xml_error_t;
#else
typedef xmlErrorPtr xml_error_t;
#endif

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static char xml_err[512];

static void on_xml_error(void *ctx, xml_error_t e)
{
    (void)ctx;
    if (!xml_err[0])
        snprintf(xml_err, sizeof(xml_err), "line %d: %s", e->line, e->message);
}

/* 1 when `xml` is valid against CAP-v1.2.xsd; otherwise 0 with the first error in xml_err. */
static int xsd_valid(const char *xml)
{
    static xmlSchemaPtr schema;
    xml_err[0] = '\0';
    xmlSetStructuredErrorFunc(NULL, on_xml_error);
    if (!schema) {
        xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(CAP_DATA "CAP-v1.2.xsd");
        schema = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
        if (!schema) {
            fprintf(stderr, "cannot load the schema: %s\n", xml_err);
            abort();
        }
    }
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "cap.xml", NULL, XML_PARSE_NONET);
    if (!doc)
        return 0;
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    xmlSchemaSetValidStructuredErrors(vc, on_xml_error, NULL);
    int rc = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    xmlFreeDoc(doc);
    return rc == 0;
}

/* Valid by the schema and by the CAP text's rules, or the case fails with the reasons. */
#define ASSERT_CAP_OK(xml)                                                                         \
    do {                                                                                           \
        const char *x_ = (xml);                                                                    \
        char w_[300];                                                                              \
        if (!x_)                                                                                   \
            FW_FAIL_("no document");                                                               \
        if (!xsd_valid(x_))                                                                        \
            FW_FAIL_("schema: %s\n%s", xml_err, x_);                                               \
        if (fw_cap_check(x_, w_, sizeof(w_)) != 0)                                                 \
            FW_FAIL_("cap check: %s\n%s", w_, x_);                                                 \
    } while (0)

/* The text of the n-th (0-based) node an XPath selects ("cap:" is the CAP namespace), a new
 * string the caller frees, or NULL; *count receives how many nodes it selects. */
static char *xpath(const char *xml, const char *expr, int n, int *count)
{
    char *out = NULL;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "cap.xml", NULL, XML_PARSE_NONET);
    if (count)
        *count = -1;
    if (!doc)
        return NULL;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctx, BAD_CAST "cap", BAD_CAST FW_CAP_NAMESPACE);
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    if (r && r->nodesetval) {
        if (count)
            *count = r->nodesetval->nodeNr;
        if (n < r->nodesetval->nodeNr) {
            xmlChar *t = xmlNodeGetContent(r->nodesetval->nodeTab[n]);
            out = fw_xstrdup((const char *)t);
            xmlFree(t);
        }
    } else if (count) {
        *count = 0;
    }
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return out;
}

/* Assert the text of the first node `expr` selects. */
#define ASSERT_XPATH(xml, expr, want)                                                              \
    do {                                                                                           \
        char *got_ = xpath((xml), (expr), 0, NULL);                                                \
        int eq_ = got_ && strcmp(got_, (want)) == 0;                                               \
        if (!eq_) {                                                                                \
            FW_FAIL_("%s: \"%s\" vs \"%s\"", (expr), got_ ? got_ : "(none)", (want));              \
        }                                                                                          \
        free(got_);                                                                                \
    } while (0)

/* Assert that the text of the first node `expr` selects contains `want`. */
#define ASSERT_XPATH_CONTAINS(xml, expr, want)                                                     \
    do {                                                                                           \
        char *got_ = xpath((xml), (expr), 0, NULL);                                                \
        int in_ = got_ && strstr(got_, (want)) != NULL;                                            \
        if (!in_) {                                                                                \
            FW_FAIL_("%s: \"%s\" does not contain \"%s\"", (expr), got_ ? got_ : "(none)",         \
                     (want));                                                                      \
        }                                                                                          \
        free(got_);                                                                                \
    } while (0)

#define ASSERT_XPATH_COUNT(xml, expr, want)                                                        \
    do {                                                                                           \
        int c_;                                                                                    \
        free(xpath((xml), (expr), 0, &c_));                                                        \
        if (c_ != (want))                                                                          \
            FW_FAIL_("%s: %d nodes, want %d", (expr), c_, (want));                                 \
    } while (0)

static struct fw_config *load(void)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    if (fw_config_load(CAP_DATA "forestwatch.json", &cfg, &errs) < 0) {
        fw_cfg_errors_print(&errs, stderr);
        fw_cfg_errors_clear(&errs);
        return NULL;
    }
    return cfg;
}

static const struct fw_cfg_rule *rule(const struct fw_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nrules; i++)
        if (strcmp(cfg->rules[i].name, name) == 0)
            return &cfg->rules[i];
    return NULL;
}

/* An alert of `rule` in the context `station` (per-station rules) or `zone`. */
static void make_alert(struct fw_alert *a, const struct fw_config *cfg, const char *rname,
                       const char *station, const char *zone, enum fw_alert_status status,
                       double value, double level)
{
    struct fw_rule_instance in;
    memset(&in, 0, sizeof(in));
    fw_strlcpy(in.rule, rname, sizeof(in.rule));
    fw_strlcpy(in.key, station ? station : zone ? zone : "", sizeof(in.key));
    fw_strlcpy(in.station, station ? station : "", sizeof(in.station));
    fw_strlcpy(in.zone, zone ? zone : "", sizeof(in.zone));
    in.fired_ms = T0;
    in.value_ms = T0 + 60000;
    in.value = in.trigger_value = value;
    fw_alert_from_instance(a, cfg->gateway_id, rule(cfg, rname), &in, status,
                           status == FW_ALERT_FIRING ? FW_CAUSE_CONDITION : FW_CAUSE_RECOVERED,
                           level);
}

/* `s` with the first `from` replaced by `to` (a new string), or NULL when `from` is absent. */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at)
        return NULL;
    return fw_xasprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

static char *render_xml(const struct fw_config *cfg, const struct fw_alert *a,
                        const struct fw_cap_msg *m)
{
    char *out = NULL;
    return fw_cap_xml(cfg, a, m, &out) == 0 ? out : NULL;
}

/* A firing Alert of smoke_high at the station `node`, sent 1.5 s after T0, China time. */
static char *firing_alert(const struct fw_config *cfg, const char *node, const char *zone,
                          struct fw_cap_msg *m, char *id, size_t idn)
{
    struct fw_alert a;
    make_alert(&a, cfg, "smoke_high", node, zone, FW_ALERT_FIRING, 352.5, 4);
    if (fw_cap_identifier(id, idn, cfg->gateway_id, a.id, 1) < 0)
        return NULL;
    memset(m, 0, sizeof(*m));
    m->type = FW_CAP_ALERT;
    m->identifier = id;
    m->sent_ms = T0 + 1500;
    m->utc_offset_min = 480;
    return render_xml(cfg, &a, m);
}

/* ------------------------------------------------------------------------------------------ */
/* An episode: Alert, Update, Cancel                                                          */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(episode_polygon)
{
    struct fw_config *cfg = load();
    ASSERT_TRUE(cfg);
    struct fw_alert a;
    char id[3][FW_CAP_IDENTIFIER_MAX];
    make_alert(&a, cfg, "smoke_high", "n-poly", "bs-03", FW_ALERT_FIRING, 352.5, 4);
    for (unsigned i = 0; i < 3; i++)
        ASSERT_EQ(fw_cap_identifier(id[i], sizeof(id[i]), cfg->gateway_id, a.id, i + 1), 0);
    ASSERT_STR_EQ(id[0], "gw-cap.smoke_high:n-poly:1780300800000.1");
    ASSERT_TRUE(strcmp(id[0], id[1]) != 0 && strcmp(id[1], id[2]) != 0);

    /* The Alert. */
    struct fw_cap_msg m = {
        .type = FW_CAP_ALERT, .identifier = id[0], .sent_ms = T0 + 1500, .utc_offset_min = 480};
    char *x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "/cap:alert/cap:identifier", id[0]);
    ASSERT_XPATH(x, "/cap:alert/cap:sender", "forestwatch@gw-cap");
    ASSERT_XPATH(x, "/cap:alert/cap:sent", "2026-06-01T16:00:01+08:00");
    ASSERT_XPATH(x, "/cap:alert/cap:status", "Actual");
    ASSERT_XPATH(x, "/cap:alert/cap:msgType", "Alert");
    ASSERT_XPATH(x, "/cap:alert/cap:scope", "Public");
    ASSERT_XPATH(x, "/cap:alert/cap:incidents", "gw-cap:smoke_high:n-poly:1780300800000");
    ASSERT_XPATH_COUNT(x, "/cap:alert/cap:references", 0);
    ASSERT_XPATH_COUNT(x, "/cap:alert/cap:info", 2);
    ASSERT_XPATH(x, "/cap:alert/cap:info[1]/cap:language", "zh-CN");
    ASSERT_XPATH(x, "/cap:alert/cap:info[2]/cap:language", "en-US");
    ASSERT_XPATH(x, "/cap:alert/cap:info[1]/cap:category", "Fire");
    ASSERT_XPATH(x, "/cap:alert/cap:info[1]/cap:event", "smoke_high");
    ASSERT_XPATH(x, "/cap:alert/cap:info[1]/cap:urgency", "Immediate");
    ASSERT_XPATH(x, "/cap:alert/cap:info[1]/cap:severity", "Severe");
    ASSERT_XPATH(x, "/cap:alert/cap:info[1]/cap:certainty", "Observed");
    ASSERT_XPATH(x, "/cap:alert/cap:info[1]/cap:onset", "2026-06-01T16:00:00+08:00");
    ASSERT_XPATH(x, "/cap:alert/cap:info[1]/cap:senderName", "北山林场监测网关");
    ASSERT_XPATH(x, "/cap:alert/cap:info[1]/cap:headline", "北山林场 3 号网格：smoke_high");
    ASSERT_XPATH(x, "/cap:alert/cap:info[2]/cap:headline",
                 "smoke_high in Beishan forest farm, grid 3");
    ASSERT_XPATH(x, "/cap:alert/cap:info[1]/cap:contact", "北山林场值班室 +86-24-5550-0300");
    /* The en-US info names the gateway, the duty contact and the forest chief in English. */
    ASSERT_XPATH(x, "/cap:alert/cap:info[2]/cap:senderName",
                 "Beishan forest farm monitoring gateway");
    ASSERT_XPATH(x, "/cap:alert/cap:info[2]/cap:contact",
                 "Beishan forest farm duty office +86-24-5550-0300");
    ASSERT_XPATH(x,
                 "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:forest_chief']/cap:value",
                 "王建国 +86-24-5550-0301");
    ASSERT_XPATH(x,
                 "//cap:info[2]/cap:parameter[cap:valueName='forestwatch:forest_chief']/cap:value",
                 "Wang Jianguo +86-24-5550-0301");
    ASSERT_XPATH_CONTAINS(x, "/cap:alert/cap:info[2]/cap:description",
                          "Beishan forest farm, grid 3 (forest chief Wang Jianguo)");
    /* The texts name the reading's time in the zone's local time, as <onset> and the
     * forestwatch:time parameter do, never in UTC. */
    ASSERT_XPATH_CONTAINS(x, "/cap:alert/cap:info[2]/cap:description",
                          "at 2026-06-01 16:01:00+08:00");
    ASSERT_XPATH_CONTAINS(x, "/cap:alert/cap:info[1]/cap:description",
                          "，2026-06-01 16:01:00+08:00");
    ASSERT_XPATH_COUNT(x, "//cap:responseType", 0);
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:value']/cap:value",
                 "352.5");
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:alert_id']/cap:value",
                 a.id);
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:node']/cap:value",
                 "n-poly");
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:unit']/cap:value",
                 "ppm");
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:time']/cap:value",
                 "2026-06-01T16:01:00+08:00");
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:level']/cap:value",
                 "4");
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:colour']/cap:value",
                 "橙");
    ASSERT_XPATH(x, "//cap:info[2]/cap:parameter[cap:valueName='forestwatch:colour']/cap:value",
                 "orange");
    ASSERT_XPATH(x, "//cap:info[1]/cap:area/cap:areaDesc", "北山林场 3 号网格");
    ASSERT_XPATH(x, "//cap:info[2]/cap:area/cap:areaDesc", "Beishan forest farm, grid 3");
    ASSERT_XPATH(x, "//cap:info[1]/cap:area/cap:polygon",
                 "41.74,123.445 41.74,123.459 41.732,123.459 41.732,123.445 41.74,123.445");
    ASSERT_XPATH_COUNT(x, "//cap:area/cap:circle", 0);
    ASSERT_XPATH(x, "//cap:info[1]/cap:area/cap:geocode/cap:valueName", "forestwatch:zone");
    ASSERT_XPATH(x, "//cap:info[1]/cap:area/cap:geocode/cap:value", "bs-03");
    free(x);

    /* An Update of the same episode: a new identifier, the Alert in references. */
    struct fw_cap_ref refs[2] = {{id[0], T0 + 1500}, {id[1], T0 + 61000}};
    a.value = 420;
    m = (struct fw_cap_msg){.type = FW_CAP_UPDATE,
                            .identifier = id[1],
                            .sent_ms = T0 + 61000,
                            .utc_offset_min = 480,
                            .refs = refs,
                            .nrefs = 1};
    x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "/cap:alert/cap:msgType", "Update");
    ASSERT_XPATH(x, "/cap:alert/cap:identifier", id[1]);
    ASSERT_XPATH(x, "/cap:alert/cap:references",
                 "forestwatch@gw-cap,gw-cap.smoke_high:n-poly:1780300800000.1,"
                 "2026-06-01T16:00:01+08:00");
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:value']/cap:value",
                 "420");
    free(x);

    /* It resolves: a Cancel naming both earlier messages; urgency Past, all clear. */
    make_alert(&a, cfg, "smoke_high", "n-poly", "bs-03", FW_ALERT_RESOLVED, 80, 4);
    m = (struct fw_cap_msg){.type = FW_CAP_CANCEL,
                            .identifier = id[2],
                            .sent_ms = T0 + 600000,
                            .utc_offset_min = 480,
                            .refs = refs,
                            .nrefs = 2};
    x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "/cap:alert/cap:msgType", "Cancel");
    ASSERT_XPATH(x, "/cap:alert/cap:references",
                 "forestwatch@gw-cap,gw-cap.smoke_high:n-poly:1780300800000.1,"
                 "2026-06-01T16:00:01+08:00 "
                 "forestwatch@gw-cap,gw-cap.smoke_high:n-poly:1780300800000.2,"
                 "2026-06-01T16:01:01+08:00");
    ASSERT_XPATH(x, "/cap:alert/cap:info[1]/cap:urgency", "Past");
    ASSERT_XPATH(x, "/cap:alert/cap:info[2]/cap:responseType", "AllClear");
    ASSERT_XPATH(x, "//cap:info[2]/cap:parameter[cap:valueName='forestwatch:status']/cap:value",
                 "resolved");
    ASSERT_XPATH(x, "//cap:info[2]/cap:parameter[cap:valueName='forestwatch:cause']/cap:value",
                 "recovered");
    free(x);

    /* Resolved as an Update instead (what the alert manager sends): just as valid. */
    m.type = FW_CAP_UPDATE;
    x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "/cap:alert/cap:msgType", "Update");
    free(x);
    fw_config_free(cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* Areas                                                                                      */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(area_location_only_circle)
{
    struct fw_config *cfg = load();
    ASSERT_TRUE(cfg);
    struct fw_cap_msg m;
    char id[FW_CAP_IDENTIFIER_MAX];
    char *x = firing_alert(cfg, "n-loc", "loc", &m, id, sizeof(id));
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "//cap:info[1]/cap:area/cap:circle", "-33.5,-70.25 1");
    ASSERT_XPATH_COUNT(x, "//cap:area/cap:polygon", 0);
    ASSERT_XPATH(x, "//cap:info[2]/cap:area/cap:geocode/cap:value", "loc");
    free(x);

    struct fw_alert a;
    make_alert(&a, cfg, "smoke_high", "n-loc", "loc", FW_ALERT_FIRING, 352.5, NAN);
    m.circle_radius_km = 2.5;
    m.utc_offset_min = -330;
    x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "//cap:info[1]/cap:area/cap:circle", "-33.5,-70.25 2.5");
    ASSERT_XPATH(x, "/cap:alert/cap:sent", "2026-06-01T02:30:01-05:30");
    /* No level known: neither level nor colour. */
    ASSERT_XPATH_COUNT(x, "//cap:parameter[cap:valueName='forestwatch:level']", 0);
    ASSERT_XPATH_COUNT(x, "//cap:parameter[cap:valueName='forestwatch:colour']", 0);
    free(x);
    fw_config_free(cfg);
}

FW_TEST(area_without_geometry)
{
    struct fw_config *cfg = load();
    ASSERT_TRUE(cfg);
    struct fw_cap_msg m;
    char id[FW_CAP_IDENTIFIER_MAX];
    char *x = firing_alert(cfg, "n-bare", "bare", &m, id, sizeof(id));
    ASSERT_CAP_OK(x);
    ASSERT_XPATH_COUNT(x, "//cap:area", 2);
    ASSERT_XPATH(x, "//cap:info[2]/cap:area/cap:areaDesc", "Bare grid");
    ASSERT_XPATH_COUNT(x, "//cap:area/cap:polygon", 0);
    ASSERT_XPATH_COUNT(x, "//cap:area/cap:circle", 0);
    ASSERT_XPATH(x, "//cap:info[1]/cap:area/cap:geocode/cap:value", "bare");
    free(x);

    /* A zone a reload removed: the id is all that is known, and it stands as the area. */
    x = firing_alert(cfg, "n-gone", "gone", &m, id, sizeof(id));
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "//cap:info[1]/cap:area/cap:areaDesc", "gone");
    free(x);

    /* A gateway-wide rule has no zone, so no area (CAP allows an info without one). */
    struct fw_alert a;
    make_alert(&a, cfg, "smoke_many", NULL, NULL, FW_ALERT_FIRING, 2, NAN);
    ASSERT_EQ(fw_cap_identifier(id, sizeof(id), cfg->gateway_id, a.id, 1), 0);
    ASSERT_STR_EQ(id, "gw-cap.smoke_many:all:1780300800000.1");
    m.utc_offset_min = 0;
    x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH_COUNT(x, "//cap:area", 0);
    /* UTC is written -00:00, as CAP 1.2 requires. */
    ASSERT_XPATH(x, "/cap:alert/cap:sent", "2026-06-01T08:00:01-00:00");
    free(x);
    fw_config_free(cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* Text                                                                                       */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(escaping)
{
    struct fw_config *cfg = load();
    ASSERT_TRUE(cfg);
    struct fw_cap_msg m;
    char id[FW_CAP_IDENTIFIER_MAX];
    char *x = firing_alert(cfg, "n-loc", "loc", &m, id, sizeof(id));
    ASSERT_CAP_OK(x);
    ASSERT_STR_CONTAINS(x, "<areaDesc>&lt;林&amp;场&gt; &quot;A&quot; &apos;B&apos;</areaDesc>");
    ASSERT_XPATH(x, "//cap:info[1]/cap:area/cap:areaDesc", "<林&场> \"A\" 'B'");
    ASSERT_XPATH(x, "//cap:info[2]/cap:area/cap:areaDesc", "Tom & Jerry's <grid> \"7\"");
    ASSERT_XPATH(x, "//cap:info[1]/cap:headline", "<林&场> \"A\" 'B'：smoke_high");
    free(x);

    /* Characters XML cannot carry (a control character, a stray byte) become U+FFFD; CR
     * survives as a reference. */
    struct fw_alert a;
    make_alert(&a, cfg, "smoke_high", "n-loc", "loc", FW_ALERT_FIRING, 352.5, 4);
    m.instruction_zh = "撤离\x01 \xff<&>";
    m.instruction_en = "line 1\r\nline 2";
    x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "//cap:info[1]/cap:instruction", "撤离\xEF\xBF\xBD \xEF\xBF\xBD<&>");
    ASSERT_XPATH(x, "//cap:info[2]/cap:instruction", "line 1\r\nline 2");
    free(x);

    /* The same text in the JSON rendering. */
    char *j = NULL;
    ASSERT_EQ(fw_cap_json(cfg, &a, &m, &j), 0);
    cJSON *o = cJSON_Parse(j);
    ASSERT_TRUE(o);
    cJSON *info0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "info"), 0);
    cJSON *area0 = cJSON_GetArrayItem(cJSON_GetObjectItem(info0, "area"), 0);
    ASSERT_STR_EQ(cJSON_GetObjectItem(area0, "areaDesc")->valuestring, "<林&场> \"A\" 'B'");
    ASSERT_STR_EQ(cJSON_GetObjectItem(info0, "instruction")->valuestring,
                  "撤离\xEF\xBF\xBD \xEF\xBF\xBD<&>");
    cJSON_Delete(o);
    free(j);
    fw_config_free(cfg);
}

FW_TEST(chinese_templates_and_colours)
{
    struct fw_config *cfg = load();
    ASSERT_TRUE(cfg);
    struct fw_alert a;
    char id[FW_CAP_IDENTIFIER_MAX];
    make_alert(&a, cfg, "danger_red", NULL, "bs-03", FW_ALERT_FIRING, 5, 5);
    ASSERT_EQ(fw_cap_identifier(id, sizeof(id), cfg->gateway_id, a.id, 1), 0);
    ASSERT_STR_EQ(id, "gw-cap.danger_red:bs-03:1780300800000.1");
    struct fw_cap_msg m = {.identifier = id, .sent_ms = T0, .utc_offset_min = 480};
    char *x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "//cap:info[1]/cap:headline", "北山林场 3 号网格森林火险红色预警");
    ASSERT_XPATH(x, "//cap:info[1]/cap:description",
                 "北山林场 3 号网格火险等级 5 级，请林长 王建国 落实值守。");
    ASSERT_XPATH(x, "//cap:info[2]/cap:headline", "Red fire danger in Beishan forest farm, grid 3");
    ASSERT_XPATH(x, "//cap:info[1]/cap:urgency", "Expected");
    ASSERT_XPATH(x, "//cap:info[1]/cap:severity", "Extreme");
    ASSERT_XPATH(x, "//cap:info[1]/cap:certainty", "Likely");
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:colour']/cap:value",
                 "红");
    ASSERT_XPATH(x, "//cap:info[2]/cap:parameter[cap:valueName='forestwatch:colour']/cap:value",
                 "red");
    ASSERT_XPATH_COUNT(x, "//cap:parameter[cap:valueName='forestwatch:node']", 0);
    free(x);

    /* QX/T 77-2007's five colours (SCIENCE.md section C). */
    static const char *const en[] = {"green", "blue", "yellow", "orange", "red"};
    static const char *const zh[] = {"绿", "蓝", "黄", "橙", "红"};
    for (int i = 1; i <= 5; i++) {
        ASSERT_STR_EQ(fw_cap_level_colour(i, 0), en[i - 1]);
        ASSERT_STR_EQ(fw_cap_level_colour(i, 1), zh[i - 1]);
    }
    ASSERT_TRUE(fw_cap_level_colour(0, 0) == NULL && fw_cap_level_colour(6, 1) == NULL);

    /* The scale, and on the FWI scale neither a national name nor a flag; no computed level
     * where nothing stood in for it. */
    x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "//cap:info[2]/cap:parameter[cap:valueName='forestwatch:scale']/cap:value",
                 "Canadian Fire Weather Index (FWI)");
    ASSERT_XPATH_COUNT(x, "//cap:parameter[cap:valueName='forestwatch:level_name']", 0);
    ASSERT_XPATH_COUNT(x, "//cap:parameter[cap:valueName='forestwatch:flag']", 0);
    ASSERT_XPATH_COUNT(x, "//cap:parameter[cap:valueName='forestwatch:computed_level']", 0);
    free(x);
    /* The bureau's level 5 standing in for a computed 3: named as the national scale names it,
     * the computed one beside it. */
    a.level_bureau = 1;
    a.computed_level = 3;
    x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:level']/cap:value",
                 "5");
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:scale']/cap:value",
                 "气象部门发布的森林火险气象等级");
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:level_name']/cap:value",
                 "极高火险");
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:flag']/cap:value",
                 "红旗");
    ASSERT_XPATH(x, "//cap:info[2]/cap:parameter[cap:valueName='forestwatch:level_name']/cap:value",
                 "extreme");
    ASSERT_XPATH(x, "//cap:info[2]/cap:parameter[cap:valueName='forestwatch:flag']/cap:value",
                 "red flag");
    ASSERT_XPATH(x,
                 "//cap:info[2]/cap:parameter[cap:valueName='forestwatch:computed_level']/"
                 "cap:value",
                 "3");
    free(x);

    /* A level that is not a whole class has a level parameter but no colour. */
    make_alert(&a, cfg, "danger_red", NULL, "bs-03", FW_ALERT_FIRING, 5, 4.5);
    x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "//cap:info[1]/cap:parameter[cap:valueName='forestwatch:level']/cap:value",
                 "4.5");
    ASSERT_XPATH_COUNT(x, "//cap:parameter[cap:valueName='forestwatch:colour']", 0);
    free(x);
    fw_config_free(cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* JSON                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static int is_array_of(const cJSON *a, int (*kind)(const cJSON *), int n)
{
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return 0;
    for (const cJSON *e = a->child; e; e = e->next)
        if (!kind(e))
            return 0;
    return 1;
}

static int is_string(const cJSON *j)
{
    return cJSON_IsString(j);
}

static int is_object(const cJSON *j)
{
    return cJSON_IsObject(j);
}

/* An Update of smoke_high firing at n-poly, a minute after T0, that references its Alert. */
struct update {
    struct fw_alert a;
    char id[FW_CAP_IDENTIFIER_MAX], id0[FW_CAP_IDENTIFIER_MAX];
    struct fw_cap_ref ref;
    struct fw_cap_msg m;
};

static int make_update(struct update *u, const struct fw_config *cfg)
{
    make_alert(&u->a, cfg, "smoke_high", "n-poly", "bs-03", FW_ALERT_FIRING, 352.5, 4);
    if (fw_cap_identifier(u->id0, sizeof(u->id0), cfg->gateway_id, u->a.id, 1) < 0 ||
        fw_cap_identifier(u->id, sizeof(u->id), cfg->gateway_id, u->a.id, 2) < 0)
        return -1;
    u->ref = (struct fw_cap_ref){u->id0, T0};
    u->m = (struct fw_cap_msg){.type = FW_CAP_UPDATE,
                               .identifier = u->id,
                               .sent_ms = T0 + 60000,
                               .utc_offset_min = 480,
                               .refs = &u->ref,
                               .nrefs = 1};
    return 0;
}

FW_TEST(json_structure)
{
    struct fw_config *cfg = load();
    ASSERT_TRUE(cfg);
    struct update u;
    ASSERT_EQ(make_update(&u, cfg), 0);
    char *j = NULL, *x = NULL;
    ASSERT_EQ(fw_cap_json(cfg, &u.a, &u.m, &j), 0);
    ASSERT_EQ(fw_cap_xml(cfg, &u.a, &u.m, &x), 0);
    cJSON *o = cJSON_Parse(j);
    ASSERT_TRUE(o);

    /* The alert's elements are keys, with the same text as the XML. */
    static const char *const top[] = {"identifier", "sender", "sent",       "status",
                                      "msgType",    "scope",  "references", "incidents"};
    for (size_t i = 0; i < FW_ARRAY_LEN(top); i++) {
        char path[64];
        snprintf(path, sizeof(path), "/cap:alert/cap:%s", top[i]);
        cJSON *v = cJSON_GetObjectItem(o, top[i]);
        ASSERT_TRUE(cJSON_IsString(v));
        ASSERT_XPATH(x, path, v->valuestring);
    }
    ASSERT_STR_EQ(cJSON_GetObjectItem(o, "references")->valuestring,
                  "forestwatch@gw-cap,gw-cap.smoke_high:n-poly:1780300800000.1,"
                  "2026-06-01T16:00:00+08:00");

    /* Repeating elements are arrays, even with one member. */
    cJSON *info = cJSON_GetObjectItem(o, "info");
    ASSERT_TRUE(is_array_of(info, is_object, 2));
    ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(info, 1), "language")->valuestring,
                  "en-US");
    for (int i = 0; i < 2; i++) {
        cJSON *in = cJSON_GetArrayItem(info, i);
        ASSERT_TRUE(is_array_of(cJSON_GetObjectItem(in, "category"), is_string, 1));
        cJSON *ps = cJSON_GetObjectItem(in, "parameter");
        ASSERT_TRUE(cJSON_IsArray(ps) && cJSON_GetArraySize(ps) >= 10);
        for (cJSON *p = ps->child; p; p = p->next) {
            ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItem(p, "valueName")));
            ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItem(p, "value")));
        }
        cJSON *areas = cJSON_GetObjectItem(in, "area");
        ASSERT_TRUE(is_array_of(areas, is_object, 1));
        cJSON *area = cJSON_GetArrayItem(areas, 0);
        ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItem(area, "areaDesc")));
        ASSERT_TRUE(is_array_of(cJSON_GetObjectItem(area, "polygon"), is_string, 1));
        ASSERT_TRUE(cJSON_GetObjectItem(area, "circle") == NULL);
        cJSON *geo = cJSON_GetObjectItem(area, "geocode");
        ASSERT_TRUE(is_array_of(geo, is_object, 1));
        ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetArrayItem(geo, 0), "value")->valuestring,
                      "bs-03");
        /* Texts match the XML's. */
        char path[96];
        snprintf(path, sizeof(path), "/cap:alert/cap:info[%d]/cap:headline", i + 1);
        ASSERT_XPATH(x, path, cJSON_GetObjectItem(in, "headline")->valuestring);
        snprintf(path, sizeof(path), "/cap:alert/cap:info[%d]/cap:area/cap:polygon", i + 1);
        ASSERT_XPATH(x, path,
                     cJSON_GetArrayItem(cJSON_GetObjectItem(area, "polygon"), 0)->valuestring);
    }
    cJSON_Delete(o);
    free(j);
    free(x);

    /* A circle is an array too, and a resolved alert's responseType. */
    make_alert(&u.a, cfg, "smoke_high", "n-loc", "loc", FW_ALERT_RESOLVED, 10, NAN);
    ASSERT_EQ(fw_cap_json(cfg, &u.a, &u.m, &j), 0);
    o = cJSON_Parse(j);
    ASSERT_TRUE(o);
    cJSON *in = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "info"), 0);
    ASSERT_TRUE(is_array_of(cJSON_GetObjectItem(in, "responseType"), is_string, 1));
    cJSON *area = cJSON_GetArrayItem(cJSON_GetObjectItem(in, "area"), 0);
    ASSERT_TRUE(is_array_of(cJSON_GetObjectItem(area, "circle"), is_string, 1));
    cJSON_Delete(o);
    free(j);
    fw_config_free(cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* When the information is in effect                                                          */
/* ------------------------------------------------------------------------------------------ */

/* Render `as` (n alerts, a group when n > 1) as a CAP Alert sent at `sent`, China time. */
static char *render_at(const struct fw_config *cfg, const struct fw_alert *const *as, size_t n,
                       int64_t sent)
{
    char id[FW_CAP_IDENTIFIER_MAX];
    char *out = NULL;
    if (fw_cap_identifier(id, sizeof(id), cfg->gateway_id, as[0]->id, 1) < 0)
        return NULL;
    struct fw_cap_msg m = {.identifier = id, .sent_ms = sent, .utc_offset_min = 480};
    return fw_cap_xml_group(cfg, as, n, &m, &out) == 0 ? out : NULL;
}

/*
 * Every <info> says when its information stops being in effect (<expires>), by the rule of
 * docs/cap.md "Expiry": an observed alert cap.expires_after_ms (24 h) after it is sent, a
 * danger level at the end of its local day, tomorrow's expected level from the start to the end
 * of tomorrow (its <onset> too), a resolution an hour after it is sent; in groups as well.
 */
FW_TEST(onset_and_expires)
{
    struct fw_config *cfg = load();
    ASSERT_TRUE(cfg);
    struct fw_alert smoke, level, tomorrow, resolved;
    make_alert(&smoke, cfg, "smoke_high", "n-poly", "bs-03", FW_ALERT_FIRING, 352.5, NAN);
    make_alert(&level, cfg, "danger_red", NULL, "bs-03", FW_ALERT_FIRING, 5, 5);
    make_alert(&tomorrow, cfg, "danger_tomorrow", NULL, "bs-03", FW_ALERT_FIRING, 4, NAN);
    make_alert(&resolved, cfg, "smoke_high", "n-poly", "bs-03", FW_ALERT_RESOLVED, 20, NAN);
    const struct fw_alert *one[1];
    const int64_t sent = T0 + 90 * 1000; /* 16:01:30 on June 1st at +08:00 */
    static const struct {
        const char *onset, *expires;
    } want[] = {
        {"2026-06-01T16:00:00+08:00", "2026-06-02T16:01:30+08:00"},
        {"2026-06-01T16:00:00+08:00", "2026-06-02T00:00:00+08:00"},
        {"2026-06-02T00:00:00+08:00", "2026-06-03T00:00:00+08:00"},
        {"2026-06-01T16:00:00+08:00", "2026-06-01T17:01:30+08:00"},
    };
    const struct fw_alert *each[] = {&smoke, &level, &tomorrow, &resolved};
    for (size_t i = 0; i < FW_ARRAY_LEN(each); i++) {
        one[0] = each[i];
        char *x = render_at(cfg, one, 1, sent);
        ASSERT_CAP_OK(x);
        ASSERT_XPATH_COUNT(x, "//cap:info/cap:expires", 2);
        for (int lang = 1; lang <= 2; lang++) {
            char path[64];
            snprintf(path, sizeof(path), "/cap:alert/cap:info[%d]/cap:onset", lang);
            ASSERT_XPATH(x, path, want[i].onset);
            snprintf(path, sizeof(path), "/cap:alert/cap:info[%d]/cap:expires", lang);
            ASSERT_XPATH(x, path, want[i].expires);
        }
        free(x);
    }
    /* A group: each alert's info pair keeps its own. */
    const struct fw_alert *group[] = {&smoke, &tomorrow};
    char *x = render_at(cfg, group, 2, sent);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH_COUNT(x, "//cap:info/cap:expires", 4);
    ASSERT_XPATH(x, "/cap:alert/cap:info[2]/cap:expires", want[0].expires);
    ASSERT_XPATH(x, "/cap:alert/cap:info[3]/cap:expires", want[2].expires);
    free(x);
    /* The JSON rendering carries the same. */
    char id[FW_CAP_IDENTIFIER_MAX], *j = NULL;
    ASSERT_EQ(fw_cap_identifier(id, sizeof(id), cfg->gateway_id, level.id, 1), 0);
    struct fw_cap_msg m = {.identifier = id, .sent_ms = sent, .utc_offset_min = 480};
    ASSERT_EQ(fw_cap_json(cfg, &level, &m, &j), 0);
    cJSON *o = cJSON_Parse(j);
    ASSERT_TRUE(o);
    cJSON *info = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "info"), 1);
    ASSERT_STR_EQ(cJSON_GetObjectItem(info, "expires")->valuestring, want[1].expires);
    cJSON_Delete(o);
    free(j);
    fw_config_free(cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* Identifiers and the caller's choices                                                       */
/* ------------------------------------------------------------------------------------------ */

FW_TEST(identifiers)
{
    char id[FW_CAP_IDENTIFIER_MAX], other[FW_CAP_IDENTIFIER_MAX];
    ASSERT_EQ(fw_cap_identifier(id, sizeof(id), "gw-1", "gw-1:smoke_high:n1:1780300800000", 7), 0);
    ASSERT_STR_EQ(id, "gw-1.smoke_high:n1:1780300800000.7");
    /* An id from elsewhere keeps its whole text. */
    ASSERT_EQ(fw_cap_identifier(id, sizeof(id), "gw-1", "gw-2:x", 1), 0);
    ASSERT_STR_EQ(id, "gw-1.gw-2:x.1");
    /* Forbidden bytes, '%' and non-ASCII are %XX: the identifier rules hold, and different
     * ids stay different. */
    ASSERT_EQ(fw_cap_identifier(id, sizeof(id), "gw-1", "gw-1:a b,c<d&e%f\t北", 2), 0);
    ASSERT_STR_EQ(id, "gw-1.a%20b%2Cc%3Cd%26e%25f%09%E5%8C%97.2");
    ASSERT_EQ(fw_cap_identifier(other, sizeof(other), "gw-1", "gw-1:a%20b,c<d&e%f\t北", 2), 0);
    ASSERT_TRUE(strcmp(id, other) != 0);
    ASSERT_TRUE(strpbrk(id, " \t,<&") == NULL);
    /* Too small a buffer, empty ids. */
    ASSERT_EQ(fw_cap_identifier(id, 10, "gw-1", "gw-1:smoke_high:n1:1", 1), -E2BIG);
    ASSERT_STR_EQ(id, "");
    ASSERT_EQ(fw_cap_identifier(id, sizeof(id), "", "x", 1), -EINVAL);
    ASSERT_EQ(fw_cap_identifier(id, sizeof(id), "gw", "", 1), -EINVAL);
    /* The longest alert id fits FW_CAP_IDENTIFIER_MAX even when every byte is escaped. */
    char big[FW_ALERT_MAX_ID];
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ASSERT_EQ(fw_cap_identifier(id, sizeof(id), "gw", big, 4294967295u), 0);
}

FW_TEST(bad_message_rejected)
{
    struct fw_config *cfg = load();
    ASSERT_TRUE(cfg);
    struct fw_alert a;
    make_alert(&a, cfg, "smoke_high", "n-poly", "bs-03", FW_ALERT_FIRING, 352.5, 4);
    struct fw_cap_ref ref = {"gw-cap.x.1", T0};
    struct fw_cap_ref bad_ref = {"gw-cap x.1", T0};
    const struct fw_cap_msg good = {.identifier = "gw-cap.x.2", .sent_ms = T0};
    struct {
        const char *what;
        struct fw_cap_msg m;
    } cases[] = {
        {"identifier with a space", {.identifier = "a b", .sent_ms = T0}},
        {"identifier with a comma", {.identifier = "a,b", .sent_ms = T0}},
        {"no identifier", {.sent_ms = T0}},
        {"sender with '&'", {.identifier = "a", .sender = "x&y"}},
        {"offset past +14:00", {.identifier = "a", .utc_offset_min = 15 * 60}},
        {"offset past -12:00", {.identifier = "a", .utc_offset_min = -13 * 60}},
        {"Update without references", {.type = FW_CAP_UPDATE, .identifier = "a"}},
        {"Cancel without references", {.type = FW_CAP_CANCEL, .identifier = "a"}},
        {"Alert with references", {.identifier = "a", .refs = &ref, .nrefs = 1}},
        {"bad reference", {.type = FW_CAP_UPDATE, .identifier = "a", .refs = &bad_ref, .nrefs = 1}},
        {"Restricted without restriction", {.identifier = "a", .scope = FW_CAP_RESTRICTED}},
        {"negative radius", {.identifier = "a", .circle_radius_km = -1}},
        {"unknown status", {.identifier = "a", .status = (enum fw_cap_status)7}},
    };
    char *out = NULL;
    ASSERT_EQ(fw_cap_xml(cfg, &a, &good, &out), 0);
    free(out);
    for (size_t i = 0; i < FW_ARRAY_LEN(cases); i++) {
        out = NULL;
        if (fw_cap_xml(cfg, &a, &cases[i].m, &out) != -EINVAL || out)
            FW_FAIL_("%s: accepted", cases[i].what);
        if (fw_cap_json(cfg, &a, &cases[i].m, &out) != -EINVAL || out)
            FW_FAIL_("%s: accepted by the JSON renderer", cases[i].what);
    }
    fw_config_free(cfg);
}

FW_TEST(restricted_exercise)
{
    struct fw_config *cfg = load();
    ASSERT_TRUE(cfg);
    struct fw_alert a;
    make_alert(&a, cfg, "smoke_high", "n-poly", "bs-03", FW_ALERT_FIRING, 352.5, 4);
    struct fw_cap_msg m = {.identifier = "drill-1",
                           .sent_ms = T0,
                           .utc_offset_min = 480,
                           .status = FW_CAP_EXERCISE,
                           .scope = FW_CAP_RESTRICTED,
                           .restriction = "Forestry & emergency bureaus only",
                           .sender = "alerts@forestfire-ew.example.cn",
                           .sender_name = "Example County <Centre>",
                           .instruction_zh = "加强巡护，严禁野外用火。",
                           .instruction_en = "Step up patrols; no outdoor fire."};
    char *x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "/cap:alert/cap:status", "Exercise");
    ASSERT_XPATH(x, "/cap:alert/cap:scope", "Restricted");
    ASSERT_XPATH(x, "/cap:alert/cap:restriction", "Forestry & emergency bureaus only");
    ASSERT_XPATH(x, "/cap:alert/cap:sender", "alerts@forestfire-ew.example.cn");
    ASSERT_XPATH(x, "//cap:info[2]/cap:senderName", "Example County <Centre>");
    ASSERT_XPATH(x, "//cap:info[1]/cap:instruction", "加强巡护，严禁野外用火。");
    free(x);
    m.status = FW_CAP_TEST;
    x = render_xml(cfg, &a, &m);
    ASSERT_CAP_OK(x);
    ASSERT_XPATH(x, "/cap:alert/cap:status", "Test");
    free(x);
    fw_config_free(cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* The checker                                                                                */
/* ------------------------------------------------------------------------------------------ */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = fw_xmalloc(65536);
    size_t n = fread(s, 1, 65535, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

FW_TEST(reference_examples)
{
    static const char *const valid[] = {"forest-fire-alert-valid.xml",
                                        "forest-fire-update-example.xml"};
    char why[300], path[512];
    for (size_t i = 0; i < FW_ARRAY_LEN(valid); i++) {
        snprintf(path, sizeof(path), CAP_DATA "%s", valid[i]);
        char *x = read_file(path);
        ASSERT_TRUE(x);
        ASSERT_CAP_OK(x);
        free(x);
    }
    char *x = read_file(CAP_DATA "forest-fire-alert-invalid.xml");
    ASSERT_TRUE(x);
    ASSERT_TRUE(!xsd_valid(x));
    ASSERT_EQ(fw_cap_check(x, why, sizeof(why)), -EINVAL);
    ASSERT_STR_CONTAINS(why, "sent: \"2025-04-15T00:00:00Z\": 'Z' is not allowed");
    free(x);
}

/* A change to a valid document and what it must do: the schema's verdict, and the start of the
 * checker's reason (every case here breaks a rule of the CAP text). */
struct mutation {
    const char *from, *to;
    int schema_ok;
    const char *why;
};

static void check_mutations(const char *x, const struct mutation *ms, size_t n)
{
    char why[300];
    for (size_t i = 0; i < n; i++) {
        char *y = replace(x, ms[i].from, ms[i].to);
        if (!y)
            FW_FAIL_("mutation %zu: \"%s\" is not in the document", i, ms[i].from);
        int schema_ok = xsd_valid(y);
        int rc = fw_cap_check(y, why, sizeof(why));
        int bad = schema_ok != ms[i].schema_ok || rc != -EINVAL ||
                  strncmp(why, ms[i].why, strlen(ms[i].why)) != 0;
        if (bad) {
            fprintf(stderr, "%s\n", y);
            free(y);
            FW_FAIL_("mutation %zu (\"%s\" -> \"%s\"): schema %d (want %d), check %d \"%s\" "
                     "(want \"%s...\")",
                     i, ms[i].from, ms[i].to, schema_ok, ms[i].schema_ok, rc, why, ms[i].why);
        }
        free(y);
    }
}

/* `s` with every element name prefixed "cap:" (a new string). */
static char *prefix_tags(const char *s)
{
    size_t n = strlen(s);
    char *out = fw_xmalloc(2 * n + 1), *o = out;
    for (const char *p = s; *p; p++) {
        *o++ = *p;
        if (*p != '<')
            continue;
        if (p[1] == '/')
            *o++ = *++p;
        if ((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z')) {
            memcpy(o, "cap:", 4);
            o += 4;
        }
    }
    *o = '\0';
    return out;
}

FW_TEST(check_fails_what_it_must)
{
    struct fw_config *cfg = load();
    ASSERT_TRUE(cfg);
    struct fw_cap_msg m;
    char id[FW_CAP_IDENTIFIER_MAX];
    char *x = firing_alert(cfg, "n-poly", "bs-03", &m, id, sizeof(id));
    ASSERT_CAP_OK(x);
    static const struct mutation poly[] = {
        /* What the schema cannot see. */
        {"41.74,123.445 41.74,123.459 41.732,123.459 41.732,123.445 41.74,123.445",
         "41.74,123.445 41.74,123.459 41.74,123.445", 1, "polygon: 3 coordinate pairs"},
        {"41.732,123.445 41.74,123.445<", "41.732,123.445 41.732,123.446<", 1,
         "polygon: the last pair must equal the first"},
        {"41.74,123.445 41.74,123.459", "91.74,123.445 41.74,123.459", 1, "polygon: \"91.74"},
        {"41.74,123.445 41.74,123.459", "41.74;123.445 41.74,123.459", 1, "polygon: \"41.74;"},
        {"41.74,123.445 41.74,123.459", "4e1,123.445 41.74,123.459", 1, "polygon: \"4e1"},
        {"<identifier>gw-cap.", "<identifier>gw cap.", 1, "identifier: \"gw cap."},
        {"<identifier>gw-cap.", "<identifier>gw,cap.", 1, "identifier:"},
        {"<identifier>gw-cap.", "<identifier>gw&amp;cap.", 1, "identifier:"},
        {"<identifier>gw-cap.", "<identifier>gw&lt;cap.", 1, "identifier:"},
        {"<sender>forestwatch@gw-cap", "<sender>forestwatch @gw-cap", 1, "sender:"},
        {"<sent>2026-06-01T16:00:01+08:00", "<sent>2026-06-01T08:00:01+00:00", 1,
         "sent: \"2026-06-01T08:00:01+00:00\": UTC must be written -00:00"},
        {"<msgType>Alert", "<msgType>Update", 1, "references: required for an Update"},
        {"<msgType>Alert", "<msgType>Cancel", 1, "references: required"},
        {"<scope>Public</scope>", "<scope>Restricted</scope>", 1, "restriction: required"},
        {"<scope>Public</scope>", "<scope>Private</scope>", 1, "addresses: required"},
        {"<scope>Public</scope>",
         "<scope>Public</scope>\n  <references>forestwatch@gw-cap,a,2026-06-01T16:00:01Z"
         "</references>",
         1, "references: sent: \"2026-06-01T16:00:01Z\""},
        {"<scope>Public</scope>", "<scope>Public</scope><references>a,b</references>", 1,
         "references: \"a,b\""},
        /* What both see. */
        {"<sent>2026-06-01T16:00:01+08:00", "<sent>2026-06-01T08:00:01Z", 0,
         "sent: \"2026-06-01T08:00:01Z\": 'Z' is not allowed"},
        {"<sent>2026-06-01T16:00:01+08:00", "<sent>2026-06-01T16:00:01.250+08:00", 0,
         "sent: \"2026-06-01T16:00:01.250+08:00\": fractional seconds"},
        {"<onset>2026-06-01T16:00:00+08:00", "<onset>2026-06-01T16:00:00", 0, "onset:"},
        {"<sent>2026-06-01T16:00:01+08:00", "<sent>2026-02-30T16:00:01+08:00", 0, "sent:"},
        {"<identifier>", "<sender>x</sender><identifier>", 0, "sender: required once"},
        {"urn:oasis:names:tc:emergency:cap:1.2", "urn:oasis:names:tc:emergency:cap:1.1", 0,
         "alert: not in the namespace"},
        /* Not well-formed, or not what CAP uses. */
        {"</scope>", "</scop>", 0, "xml: </scop> does not close <scope>"},
        {"<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
         "<?xml version=\"1.0\"?><!DOCTYPE alert [<!ENTITY x \"y\">]>", 1, "xml: DOCTYPE"},
        {"</alert>", "</alert><alert/>", 0, "xml: a second root"},
        {"</alert>", "", 0, "xml: the document ends inside <alert>"},
        {"Actual", "Act&bogus;ual", 0, "xml: unknown entity"},
        {"smoke_high</event>", "smoke\xff_high</event>", 0, "xml: byte "},
        {"smoke_high</event>", "smoke\x01_high</event>", 0, "xml: byte "},
        {"smoke_high</event>", "smoke&#1;_high</event>", 0, "xml: bad character reference"},
    };
    check_mutations(x, poly, FW_ARRAY_LEN(poly));
    free(x);

    x = firing_alert(cfg, "n-loc", "loc", &m, id, sizeof(id));
    ASSERT_CAP_OK(x);
    static const struct mutation circle[] = {
        {"-33.5,-70.25 1<", "-33.5,-70.25<", 1, "circle: \"-33.5,-70.25\""},
        {"-33.5,-70.25 1<", "-33.5,-70.25 -1<", 1, "circle:"},
        {"-33.5,-70.25 1<", "-33.5 -70.25 1<", 1, "circle:"},
        {"-33.5,-70.25 1<", "-33.5,-70.25 1 km<", 1, "circle:"},
        {"-33.5,-70.25 1<", "-33.5,-190.25 1<", 1, "circle:"},
    };
    check_mutations(x, circle, FW_ARRAY_LEN(circle));

    /* What the checker must accept: a prefixed namespace, comments, CDATA, references. */
    char why[300];
    char *z = prefix_tags(x);
    char *y = replace(z, "<cap:alert xmlns=\"", "<!-- c --><cap:alert xmlns:cap=\"");
    free(z);
    ASSERT_TRUE(y);
    z = y;
    y = replace(z, "<cap:areaDesc>", "<cap:areaDesc><![CDATA[x]]>");
    free(z);
    ASSERT_TRUE(y);
    ASSERT_CAP_OK(y);
    free(y);
    ASSERT_EQ(fw_cap_check("", why, sizeof(why)), -EINVAL);
    ASSERT_STR_CONTAINS(why, "xml: no <alert>");
    ASSERT_EQ(fw_cap_check("<foo/>", why, sizeof(why)), -EINVAL);
    ASSERT_STR_CONTAINS(why, "xml: the root is <foo>");
    free(x);
    fw_config_free(cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* The checker on the JSON rendering                                                          */
/* ------------------------------------------------------------------------------------------ */

/* A change to a valid JSON rendering, and the start of the checker's reason. */
struct json_mutation {
    const char *from, *to, *why;
};

FW_TEST(check_json)
{
    struct fw_config *cfg = load();
    ASSERT_TRUE(cfg);
    struct update u;
    char why[300];
    ASSERT_EQ(make_update(&u, cfg), 0);
    char *j = NULL, *k = NULL;
    ASSERT_EQ(fw_cap_json(cfg, &u.a, &u.m, &j), 0);
    ASSERT_EQ(fw_cap_check_json(j, why, sizeof(why)), 0);
    /* A resolve in a zone known by its location: a circle, a responseType. */
    make_alert(&u.a, cfg, "smoke_high", "n-loc", "loc", FW_ALERT_RESOLVED, 10, NAN);
    ASSERT_EQ(fw_cap_json(cfg, &u.a, &u.m, &k), 0);
    ASSERT_EQ(fw_cap_check_json(k, why, sizeof(why)), 0);
    free(k);

    static const struct json_mutation ms[] = {
        /* The rules of the CAP text, as for the XML. */
        {"\"sent\":\"2026-06-01T16:01:00+08:00\"", "\"sent\":\"2026-06-01T08:01:00Z\"",
         "sent: \"2026-06-01T08:01:00Z\": 'Z' is not allowed"},
        {"\"references\":", "\"note\":", "references: required for an Update or Cancel"},
        {"41.74,123.445 41.74,123.459 41.732,123.459 41.732,123.445 41.74,123.445",
         "41.74,123.445 41.74,123.459 41.74,123.445", "polygon: 3 coordinate pairs"},
        {"\"identifier\":\"gw-cap.", "\"identifier\":\"gw cap.", "identifier: \"gw cap."},
        {"\"sender\":", "\"sender\":\"x\",\"sender\":", "sender: required once in <alert>"},
        /* The shape of the JSON rendering. */
        {"\"category\":[\"Fire\"]", "\"category\":\"Fire\"",
         "info[0].category: must be an array (the element may repeat)"},
        {"\"status\":\"Actual\"", "\"status\":[\"Actual\"]",
         "status: must not be an array (the element does not repeat)"},
        {"\"value\":\"352.5\"", "\"value\":352.5", "info[0].parameter["},
        {"\"scope\":\"Public\"", "\"scope\":\"Pub\\u0001lic\"",
         "scope: not UTF-8, or a character XML does not allow"},
        {"\"scope\":", "\"sco pe\":", "sco pe: not the name of a CAP element"},
        {"\"info\":[{", "\"info\":[7,{", "info[0]: must be a string or an object"},
    };
    for (size_t i = 0; i < FW_ARRAY_LEN(ms); i++) {
        char *y = replace(j, ms[i].from, ms[i].to);
        if (!y)
            FW_FAIL_("mutation %zu: \"%s\" is not in the document", i, ms[i].from);
        int rc = fw_cap_check_json(y, why, sizeof(why));
        free(y);
        if (rc != -EINVAL || strncmp(why, ms[i].why, strlen(ms[i].why)) != 0)
            FW_FAIL_("mutation %zu (\"%s\" -> \"%s\"): check %d \"%s\" (want \"%s...\")", i,
                     ms[i].from, ms[i].to, rc, why, ms[i].why);
    }
    /* Not the JSON rendering at all. */
    ASSERT_EQ(fw_cap_check_json("[]", why, sizeof(why)), -EINVAL);
    ASSERT_STR_EQ(why, "json: must be an object, the content of <alert>");
    ASSERT_EQ(fw_cap_check_json("{\"identifier\": ", why, sizeof(why)), -EINVAL);
    ASSERT_TRUE(strncmp(why, "json: not valid JSON", 20) == 0);
    free(j);
    fw_config_free(cfg);
}
