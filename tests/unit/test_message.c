/* SPDX-License-Identifier: MIT */
/* Alert messages: every field present, strings escaped, output is valid JSON. */
#include "forestwatch/message.h"
#include "cfg_test.h"
#include "forestwatch/util.h"
#include "test.h"

#include <cJSON.h>

FW_TEST(alert_json_fields)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_TEST_DATA "/engine/forestwatch.json", &cfg, &errs), 0);
    struct fw_rule_instance in = {0};
    fw_strlcpy(in.rule, "smoke_high", sizeof(in.rule));
    fw_strlcpy(in.key, "s1", sizeof(in.key));
    fw_strlcpy(in.station, "s1", sizeof(in.station));
    fw_strlcpy(in.zone, "z1", sizeof(in.zone));
    in.fired_ms = 1780300800000LL;
    in.value_ms = 1780300800000LL;
    in.value = in.trigger_value = 352.5;
    struct fw_alert a;
    fw_alert_from_instance(&a, cfg->gateway_id, &cfg->rules[0], &in, FW_ALERT_FIRING,
                           FW_CAUSE_CONDITION, 3);
    char *s = fw_message_alert_json(cfg, &a, 1780300801000LL);
    cJSON *j = cJSON_Parse(s);
    ASSERT_TRUE(j);
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "id")->valuestring, "gw-t:smoke_high:s1:1780300800000");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "status")->valuestring, "firing");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "rule")->valuestring, "smoke_high");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "severity")->valuestring, "Severe");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "category")->valuestring, "Fire");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "node")->valuestring, "s1");
    ASSERT_DBL_NEAR(cJSON_GetObjectItem(j, "value")->valuedouble, 352.5, 0);
    ASSERT_DBL_NEAR(cJSON_GetObjectItem(j, "threshold")->valuedouble, 300, 0);
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "unit")->valuestring, "ppm");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "op")->valuestring, ">");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "time")->valuestring, "2026-06-01T08:00:00Z");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "sent")->valuestring, "2026-06-01T08:00:01Z");
    /* In effect from the episode's start until cap.expires_after_ms (24 h) after it was sent. */
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "onset")->valuestring, "2026-06-01T08:00:00Z");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "expires")->valuestring, "2026-06-02T08:00:01Z");
    cJSON *z = cJSON_GetObjectItem(j, "zone");
    ASSERT_STR_EQ(cJSON_GetObjectItem(z, "id")->valuestring, "z1");
    ASSERT_STR_EQ(cJSON_GetObjectItem(z, "name")->valuestring, "一号网格");
    ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(z, "forest_chief"), "name")->valuestring,
                  "王林长");
    ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(z, "duty"), "name")->valuestring,
                  "Duty \"desk\"");
    ASSERT_DBL_NEAR(cJSON_GetObjectItem(cJSON_GetObjectItem(z, "location"), "lat")->valuedouble,
                    41.5, 0);
    ASSERT_DBL_NEAR(cJSON_GetObjectItem(j, "level")->valuedouble, 3, 0);
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "urgency")->valuestring, "Immediate");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "certainty")->valuestring, "Observed");
    /* The default templates, filled in. */
    cJSON *h = cJSON_GetObjectItem(j, "headline");
    ASSERT_STR_EQ(cJSON_GetObjectItem(h, "en-US")->valuestring, "smoke_high in Grid 1");
    ASSERT_STR_EQ(cJSON_GetObjectItem(h, "zh-CN")->valuestring, "一号网格：smoke_high");
    ASSERT_STR_CONTAINS(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "description"), "en-US")->valuestring,
        "forest chief 王林长), station s1: smoke_ppm = 352.5 ppm at "
        "2026-06-01 08:00:00+00:00");
    cJSON_Delete(j);
    free(s);
    fw_config_free(cfg);
}

/* A text cut to its buffer never ends inside a UTF-8 character (the CAP XML must stay
 * well-formed), and the shared renderer fills the same placeholders as the JSON message. */
FW_TEST(text_cut_utf8)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_TEST_DATA "/engine/forestwatch.json", &cfg, &errs), 0);
    struct fw_rule_instance in = {0};
    fw_strlcpy(in.rule, "smoke_high", sizeof(in.rule));
    fw_strlcpy(in.key, "s1", sizeof(in.key));
    fw_strlcpy(in.station, "s1", sizeof(in.station));
    fw_strlcpy(in.zone, "z1", sizeof(in.zone));
    in.value = in.trigger_value = 352.5;
    struct fw_alert a;
    fw_alert_from_instance(&a, cfg->gateway_id, &cfg->rules[0], &in, FW_ALERT_FIRING,
                           FW_CAUSE_CONDITION, NAN);
    const struct fw_cfg_zone *z = fw_config_zone(cfg, "z1");
    char buf[FW_MESSAGE_TEXT_MAX];
    fw_message_text(cfg, &a, z, FW_MESSAGE_ZH_CN, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "一号网格：smoke_high");
    /* "一号网格" is 4 three-byte characters: 8 bytes hold two of them, and no half of a third. */
    for (size_t size = 1; size <= 13; size++) {
        fw_message_text(cfg, &a, z, FW_MESSAGE_ZH_CN, FW_MESSAGE_HEADLINE, buf, size);
        ASSERT_EQ(strlen(buf), (size - 1) / 3 * 3);
    }
    /* Cut inside a literal multi-byte character of the template ("：" after the name). */
    fw_message_text(cfg, &a, z, FW_MESSAGE_ZH_CN, FW_MESSAGE_HEADLINE, buf, 14);
    ASSERT_STR_EQ(buf, "一号网格");
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_DESCRIPTION, buf, sizeof(buf));
    ASSERT_STR_CONTAINS(buf, "station s1: smoke_ppm = 352.5 ppm");
    fw_config_free(cfg);
}

/* A firing alert of the config's first rule at `station` (or "") in `zone`, measured at `ms`. */
static void alert_of(struct fw_alert *a, const struct fw_config *cfg, const char *station,
                     const char *zone, double value, int64_t ms)
{
    struct fw_rule_instance in = {0};
    fw_strlcpy(in.rule, cfg->rules[0].name, sizeof(in.rule));
    fw_strlcpy(in.key, station[0] ? station : zone, sizeof(in.key));
    fw_strlcpy(in.station, station, sizeof(in.station));
    fw_strlcpy(in.zone, zone, sizeof(in.zone));
    in.fired_ms = in.value_ms = ms;
    in.value = in.trigger_value = value;
    fw_alert_from_instance(a, cfg->gateway_id, &cfg->rules[0], &in, FW_ALERT_FIRING,
                           FW_CAUSE_CONDITION, NAN);
}

/* The pest placeholders: the stage the shell filled in from the pest model, or "" without one. */
FW_TEST(pest_placeholders)
{
    struct fw_config *cfg = cfg_from_text(
        "{\"gateway\": {\"id\": \"gw-t\", \"status_broker\": \"b\"}, \"brokers\": {\"b\": "
        "{\"host\": \"127.0.0.1\"}},"
        " \"zones\": {\"z1\": {\"name\": \"一号网格\", \"forest_chief\": {\"name\": \"王\"}}},"
        " \"routes\": {\"f\": {\"broker\": \"b\", \"topic\": \"f\"}},"
        " \"rules\": [{\"name\": \"stage\", \"expr\": \"pest_days_to_stage <= 5\","
        "   \"severity\": \"Moderate\", \"category\": \"Env\", \"routes\": [\"f\"],"
        "   \"templates\": {"
        "   \"en-US\": {\"headline\": \"{pest}: {pest_stage} in {value} d\","
        "              \"description\": \"{zone_name}: {pest_action}\"},"
        "   \"zh-CN\": {\"headline\": \"{pest}“{pest_stage}”\", \"description\": "
        "\"{pest_action}\"}}}]}");
    ASSERT_TRUE(cfg);
    struct fw_rule_instance in = {0};
    fw_strlcpy(in.rule, "stage", sizeof(in.rule));
    fw_strlcpy(in.key, "z1", sizeof(in.key));
    fw_strlcpy(in.zone, "z1", sizeof(in.zone));
    in.value = in.trigger_value = 4;
    struct fw_alert a;
    fw_alert_from_instance(&a, cfg->gateway_id, &cfg->rules[0], &in, FW_ALERT_FIRING,
                           FW_CAUSE_CONDITION, NAN);
    const struct fw_cfg_zone *z = fw_config_zone(cfg, "z1");
    char buf[FW_MESSAGE_TEXT_MAX];
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, ":  in 4 d");
    fw_strlcpy(a.pest, "loxostege-sticticalis", sizeof(a.pest));
    fw_strlcpy(a.pest_stage, "moths", sizeof(a.pest_stage));
    fw_strlcpy(a.pest_action, "light traps on", sizeof(a.pest_action));
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "loxostege-sticticalis: moths in 4 d");
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_DESCRIPTION, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "一号网格: light traps on");
    fw_message_text(cfg, &a, z, FW_MESSAGE_ZH_CN, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "loxostege-sticticalis“moths”");
    fw_config_free(cfg);
}

/*
 * Texts name times in the zone's local time with its offset, never UTC: 16:37 UTC on the 7th
 * is 00:37 on the 8th at +08:00, and an officer reading "2026-12-07T16:37:06Z" takes it for the
 * day before. The offset is the zone's model's; a zone without a model, and a gateway-wide
 * rule, use cap.utc_offset_min. The machine fields of the JSON stay UTC.
 */
FW_TEST(time_local)
{
    struct fw_config *cfg = cfg_from_text(
        "{\"gateway\": {\"id\": \"gw-t\", \"status_broker\": \"b\"},"
        " \"brokers\": {\"b\": {\"host\": \"127.0.0.1\"}},"
        " \"cap\": {\"utc_offset_min\": -300},"
        " \"zones\": {"
        "   \"z1\": {\"name\": \"一号网格\", \"forest_chief\": {\"name\": \"王\"},"
        "          \"fire\": {\"stations\": [\"s1\"], \"utc_offset_min\": 480, \"lat\": 41}},"
        "   \"z2\": {\"name\": \"二号网格\", \"forest_chief\": {\"name\": \"李\"}}},"
        " \"nodes\": {\"s1\": {\"zone\": \"z1\"}, \"s2\": {\"zone\": \"z2\"}},"
        " \"routes\": {\"f\": {\"broker\": \"b\", \"topic\": \"f\"}},"
        " \"rules\": [{\"name\": \"smoke\", \"metric\": \"smoke_ppm\", \"op\": \">\","
        "   \"threshold\": 300, \"severity\": \"Severe\", \"category\": \"Fire\","
        "   \"routes\": [\"f\"], \"templates\": {"
        "     \"en-US\": {\"headline\": \"smoke at {time}\"},"
        "     \"zh-CN\": {\"headline\": \"{time} 烟雾\"}}}]}");
    ASSERT_TRUE(cfg);
    struct fw_alert a;
    const int64_t t = 1796661426789LL; /* 2026-12-07T16:37:06.789Z */
    alert_of(&a, cfg, "s1", "z1", 352.5, t);
    char buf[FW_MESSAGE_TEXT_MAX];
    fw_message_text(cfg, &a, fw_config_zone(cfg, "z1"), FW_MESSAGE_EN_US, FW_MESSAGE_HEADLINE, buf,
                    sizeof(buf));
    ASSERT_STR_EQ(buf, "smoke at 2026-12-08 00:37:06+08:00");
    fw_message_text(cfg, &a, fw_config_zone(cfg, "z1"), FW_MESSAGE_ZH_CN, FW_MESSAGE_HEADLINE, buf,
                    sizeof(buf));
    ASSERT_STR_EQ(buf, "2026-12-08 00:37:06+08:00 烟雾");
    /* The default description names the time too. */
    fw_message_text(cfg, &a, fw_config_zone(cfg, "z1"), FW_MESSAGE_EN_US, FW_MESSAGE_DESCRIPTION,
                    buf, sizeof(buf));
    ASSERT_STR_CONTAINS(buf, "at 2026-12-08 00:37:06+08:00");
    /* A zone without a model, and no zone at all: the CAP offset. */
    fw_message_text(cfg, &a, fw_config_zone(cfg, "z2"), FW_MESSAGE_EN_US, FW_MESSAGE_HEADLINE, buf,
                    sizeof(buf));
    ASSERT_STR_EQ(buf, "smoke at 2026-12-07 11:37:06-05:00");
    fw_message_text(cfg, &a, NULL, FW_MESSAGE_EN_US, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "smoke at 2026-12-07 11:37:06-05:00");
    /* The JSON message: texts local, machine fields UTC. */
    char *s = fw_message_alert_json(cfg, &a, t + 1000);
    cJSON *j = cJSON_Parse(s);
    ASSERT_TRUE(j);
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "time")->valuestring, "2026-12-07T16:37:06.789Z");
    ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "headline"), "en-US")->valuestring,
                  "smoke at 2026-12-08 00:37:06+08:00");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "started")->valuestring, "2026-12-07T16:37:06.789Z");
    cJSON_Delete(j);
    free(s);
    fw_config_free(cfg);
}

/*
 * An English text names the zone, its forest chief and duty contact, and a pest by their English
 * names where the config has them (name_en), else by their names; a Chinese text always by
 * their names; a pest without names by its id. The JSON message carries the English names too.
 */
FW_TEST(names_in_english)
{
    struct fw_config *cfg = cfg_from_text(
        "{\"gateway\": {\"id\": \"gw-t\", \"status_broker\": \"b\"},"
        " \"brokers\": {\"b\": {\"host\": \"127.0.0.1\"}},"
        " \"zones\": {"
        "   \"z1\": {\"name\": \"一号网格\", \"name_en\": \"Grid 1\","
        "          \"forest_chief\": {\"name\": \"王建国\", \"name_en\": \"Wang Jianguo\"},"
        "          \"duty\": {\"name\": \"值班室\", \"name_en\": \"Duty office\"},"
        "          \"pests\": {\"stations\": [\"s1\"], \"utc_offset_min\": 480, \"pests\": ["
        "            {\"id\": \"lox\", \"name\": \"草地螟\", \"name_en\": \"beet webworm\","
        "             \"lower\": 10.5, \"biofix_date\": \"05-01\","
        "             \"stages\": [{\"name\": \"moths\", \"dd\": 500}]},"
        "            {\"id\": \"den\", \"lower\": 10, \"biofix_date\": \"05-01\","
        "             \"stages\": [{\"name\": \"hatch\", \"dd\": 300}]}]}},"
        "   \"z2\": {\"name\": \"二号网格\", \"forest_chief\": {\"name\": \"李秀兰\"}}},"
        " \"nodes\": {\"s1\": {\"zone\": \"z1\"}, \"s2\": {\"zone\": \"z2\"}},"
        " \"routes\": {\"f\": {\"broker\": \"b\", \"topic\": \"f\"}},"
        " \"rules\": [{\"name\": \"stage\", \"expr\": \"pest_days_to_stage <= 5\","
        "   \"severity\": \"Moderate\", \"category\": \"Env\", \"routes\": [\"f\"],"
        "   \"templates\": {"
        "     \"en-US\": {\"headline\": \"{pest} in {zone_name}\","
        "                \"description\": \"{forest_chief}, {duty} {duty_phone}\"},"
        "     \"zh-CN\": {\"headline\": \"{zone_name}{pest}\","
        "                \"description\": \"{forest_chief}，{duty}\"}}}]}");
    ASSERT_TRUE(cfg);
    struct fw_alert a;
    alert_of(&a, cfg, "", "z1", 4, 1780300800000LL);
    fw_strlcpy(a.pest, "lox", sizeof(a.pest));
    const struct fw_cfg_zone *z = fw_config_zone(cfg, "z1");
    char buf[FW_MESSAGE_TEXT_MAX];
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "beet webworm in Grid 1");
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_DESCRIPTION, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "Wang Jianguo, Duty office ");
    fw_message_text(cfg, &a, z, FW_MESSAGE_ZH_CN, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "一号网格草地螟");
    fw_message_text(cfg, &a, z, FW_MESSAGE_ZH_CN, FW_MESSAGE_DESCRIPTION, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "王建国，值班室");
    /* A pest without names: its id, in both languages. */
    fw_strlcpy(a.pest, "den", sizeof(a.pest));
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "den in Grid 1");
    /* A zone and a chief without English names: their names. */
    alert_of(&a, cfg, "", "z2", 4, 1780300800000LL);
    z = fw_config_zone(cfg, "z2");
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_DESCRIPTION, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "李秀兰,  ");
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, " in 二号网格");
    /* The JSON message: both names of each contact. */
    alert_of(&a, cfg, "", "z1", 4, 1780300800000LL);
    char *s = fw_message_alert_json(cfg, &a, 1780300801000LL);
    cJSON *j = cJSON_Parse(s);
    ASSERT_TRUE(j);
    cJSON *zone = cJSON_GetObjectItem(j, "zone");
    ASSERT_STR_EQ(
        cJSON_GetObjectItem(cJSON_GetObjectItem(zone, "forest_chief"), "name_en")->valuestring,
        "Wang Jianguo");
    ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(zone, "duty"), "name")->valuestring,
                  "值班室");
    ASSERT_STR_EQ(cJSON_GetObjectItem(cJSON_GetObjectItem(zone, "duty"), "name_en")->valuestring,
                  "Duty office");
    cJSON_Delete(j);
    free(s);
    fw_config_free(cfg);
}

/*
 * The level's words: the scale it is on, its name, colour and flag on the national scale, and the
 * computed level beside the bureau's. On a zone of the FWI scale, the colour only.
 */
FW_TEST(level_words)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    ASSERT_EQ(fw_config_load(FW_TEST_DATA "/engine/forestwatch.json", &cfg, &errs), 0);
    struct fw_cfg_rule r = cfg->rules[0];
    r.zh.headline = "{scale}{level}级（{level_name}，{level_colour}，{level_flag}），计算 "
                    "{computed_level} 级";
    r.en.headline = "{scale}: level {level} ({level_name}, {level_colour}, {level_flag}), "
                    "computed {computed_level}";
    struct fw_rule_instance in = {0};
    fw_strlcpy(in.rule, r.name, sizeof(in.rule));
    fw_strlcpy(in.key, "z1", sizeof(in.key));
    fw_strlcpy(in.zone, "z1", sizeof(in.zone));
    struct fw_alert a;
    fw_alert_from_instance(&a, cfg->gateway_id, &r, &in, FW_ALERT_FIRING, FW_CAUSE_CONDITION, 4);
    struct fw_cfg_zone *z = &cfg->zones[0];
    char buf[FW_MESSAGE_TEXT_MAX];
    /* The FWI scale: no national names; nothing stood in, so the computed level is the level. */
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "Canadian Fire Weather Index (FWI): level 4 (, orange, ), computed 4");
    /* The national rating's scale. */
    z->danger_scale = FW_SCALE_CN;
    fw_message_text(cfg, &a, z, FW_MESSAGE_ZH_CN, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "全国森林火险天气等级4级（高火险，橙，橙旗），计算 4 级");
    /* The bureau's level 4 standing in for a computed 2. */
    a.level_bureau = 1;
    a.computed_level = 2;
    fw_message_text(cfg, &a, z, FW_MESSAGE_ZH_CN, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "气象部门发布的森林火险气象等级4级（高火险，橙，橙旗），计算 2 级");
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "meteorology bureau's fire weather level: level 4 (high, orange, orange "
                       "flag), computed 2");
    /* Levels 1 and 2 have no flag. */
    a.level = 2;
    fw_message_text(cfg, &a, z, FW_MESSAGE_ZH_CN, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "气象部门发布的森林火险气象等级2级（较低火险，蓝，），计算 2 级");
    /* No level known: no words. */
    a.level = NAN;
    a.computed_level = NAN;
    a.level_bureau = 0;
    fw_message_text(cfg, &a, z, FW_MESSAGE_EN_US, FW_MESSAGE_HEADLINE, buf, sizeof(buf));
    ASSERT_STR_EQ(buf, "national forest fire weather rating: level  (, , ), computed ");
    fw_config_free(cfg);
}
