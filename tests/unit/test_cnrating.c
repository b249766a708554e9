/* SPDX-License-Identifier: MIT */
/*
 * The national forest fire weather rating (gateway/cnrating.c): the 17 worked days of
 * tests/data/fire/cn_rating_examples.csv (every sub-index, the sum and the level), each settled
 * bin edge of docs/cnrating.md on both sides, the rain state from day to day, the table file's
 * parser and its errors, and the built-in tables against config/cn_rating_tables.json.
 */
#include "forestwatch/cnrating.h"
#include "forestwatch/cfg_keys.h"
#include "csv_test.h"
#include "test.h"

#define FIRE_DATA FW_TEST_DATA "/fire/"
#define SHIPPED FW_SOURCE_DIR "/config/cn_rating_tables.json"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Parse `text`; every error, one a line, into err (`n` bytes). */
static int parse(const char *text, struct fw_cnr_tables *t, char *err, size_t n)
{
    struct fw_cfg_errors errs = {0};
    int rc = fw_cnr_tables_parse(text, strlen(text), "cn_rating_tables.json", t, &errs);
    size_t len = 0;
    err[0] = '\0';
    for (size_t i = 0; i < errs.n && len + 1 < n; i++)
        len += (size_t)snprintf(err + len, n - len, "%s\n", errs.msgs[i]);
    fw_cfg_errors_clear(&errs);
    return rc;
}

/* A day with neutral inputs (A 8, B 12, C 50, D 10, E 0) to vary one input at a time. */
static struct fw_cnr_day base_day(void)
{
    struct fw_cnr_day d = {.tmax_c = 12.0, .rh_min_pct = 45, .wind_max_ms = 2.0};
    return d;
}

static struct fw_cnr_result rate(const struct fw_cnr_day *d)
{
    struct fw_cnr_tables t;
    struct fw_cnr_result r = {-1, -1, -1, -1, -1, -1, -1, -1};
    fw_cnr_tables_default(&t);
    if (fw_cnr_rate(&t, d, &r) < 0)
        r.level = -1;
    return r;
}

FW_TEST(worked_examples)
{
    struct fw_csv c;
    static const char *const names[] = {"id",
                                        "tmax_c",
                                        "rh_min_pct",
                                        "last_rain_mm",
                                        "days_since_rain",
                                        "wind_max_ms",
                                        "phenology_class",
                                        "A",
                                        "B",
                                        "C",
                                        "D",
                                        "E",
                                        "htz",
                                        "level"};
    int col[14], rows = 0;
    ASSERT_EQ(fw_csv_open(&c, FIRE_DATA "cn_rating_examples.csv"), 0);
    for (int i = 0; i < 14; i++) {
        col[i] = fw_csv_col(&c, names[i]);
        ASSERT_GE(col[i], 0);
    }
    while (fw_csv_next(&c) > 0) {
        struct fw_cnr_day d = {0};
        double v[14];
        const char *id = fw_csv_str(&c, col[0]);
        ASSERT_EQ(fw_csv_num(&c, col[1], &d.tmax_c), 0);
        ASSERT_EQ(fw_csv_num(&c, col[2], &d.rh_min_pct), 0);
        ASSERT_EQ(fw_csv_num(&c, col[5], &d.wind_max_ms), 0);
        /* "NA" days since rain: no rain day on record. */
        if (strcmp(fw_csv_str(&c, col[4]), "NA") != 0) {
            d.rain_on_record = 1;
            ASSERT_EQ(fw_csv_num(&c, col[3], &d.last_rain_mm), 0);
            ASSERT_EQ(fw_csv_num(&c, col[4], &v[4]), 0);
            d.days_since_rain = (int)v[4];
        }
        enum fw_cnr_phenology p;
        ASSERT_EQ(fw_cnr_phenology_parse(fw_csv_str(&c, col[6]), &p), 0);
        d.phenology = p;
        for (int i = 7; i < 14; i++)
            ASSERT_EQ(fw_csv_num(&c, col[i], &v[i]), 0);
        struct fw_cnr_result r = rate(&d);
        if (r.a != (int)v[7] || r.b != (int)v[8] || r.c != (int)v[9] || r.d != (int)v[10] ||
            r.e != (int)v[11] || r.htz != (int)v[12] || r.level != (int)v[13])
            FW_FAIL_("%s: got A %d B %d C %d D %d E %d HTZ %d level %d, want %g %g %g %g %g %g %g",
                     id, r.a, r.b, r.c, r.d, r.e, r.htz, r.level, v[7], v[8], v[9], v[10], v[11],
                     v[12], v[13]);
        rows++;
    }
    fw_csv_close(&c);
    ASSERT_EQ(rows, 17);
}

FW_TEST(a_edges)
{
    static const double t[] = {-90,  5.0,  5.01, 10.0, 10.01, 15.0,
                               15.1, 20.0, 20.1, 25.0, 25.01, 70};
    static const int want[] = {0, 0, 4, 4, 8, 8, 12, 12, 16, 16, 20, 20};
    for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct fw_cnr_day d = base_day();
        d.tmax_c = t[i];
        if (rate(&d).a != want[i])
            FW_FAIL_("T_max %g: A %d, want %d", t[i], rate(&d).a, want[i]);
    }
}

FW_TEST(b_edges_rh_rounded)
{
    static const double rh[] = {100, 71, 70.5, 70.49, 70, 61, 60.6, 60, 51, 50, 41, 40, 31, 30, 0};
    static const int want[] = {0, 0, 0, 4, 4, 4, 4, 8, 8, 12, 12, 16, 16, 20, 20};
    for (unsigned i = 0; i < sizeof(rh) / sizeof(rh[0]); i++) {
        struct fw_cnr_day d = base_day();
        d.rh_min_pct = rh[i];
        if (rate(&d).b != want[i])
            FW_FAIL_("RH %g: B %d, want %d", rh[i], rate(&d).b, want[i]);
    }
}

FW_TEST(c_rows_and_ceiling)
{
    static const double p[] = {0.3,  1.99, 2.0, 4.99, 5.0,  9.99, 10.0,
                               10.0, 10.0, 0.3, 0.3,  10.0, 10.0, 5.0};
    static const int n[] = {0, 0, 0, 0, 0, 0, 0, 1, 2, 8, 9, 11, 12, FW_CNR_DAYS_MAX};
    static const int want[] = {10, 10, 5, 5, 0, 0, 0, 0, 5, 50, 50, 50, 50, 50};
    for (unsigned i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
        struct fw_cnr_day d = base_day();
        d.rain_on_record = 1;
        d.last_rain_mm = p[i];
        d.days_since_rain = n[i];
        if (rate(&d).c != want[i])
            FW_FAIL_("P %g N %d: C %d, want %d", p[i], n[i], rate(&d).c, want[i]);
    }
    /* Below the ceiling the rows keep their +5 a day: 10 mm on day 10 is 45, not 50. */
    struct fw_cnr_day d = base_day();
    d.rain_on_record = 1;
    d.last_rain_mm = 10.0;
    d.days_since_rain = 10;
    ASSERT_EQ(rate(&d).c, 45);
    d.rain_on_record = 0;
    ASSERT_EQ(rate(&d).c, 50);
}

FW_TEST(d_edges)
{
    static const double w[] = {0.0, 0.2,  0.21, 1.5,  1.6,  3.3,  3.35, 5.4, 7.9,
                               8.0, 10.7, 10.8, 13.8, 13.9, 17.1, 17.2, 120};
    static const int want[] = {0, 0, 5, 5, 10, 10, 15, 15, 20, 25, 25, 30, 30, 35, 35, 40, 40};
    for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
        struct fw_cnr_day d = base_day();
        d.wind_max_ms = w[i];
        struct fw_cnr_result r = rate(&d);
        if (r.d != want[i] || r.force != want[i] / 5)
            FW_FAIL_("wind %g: D %d force %d, want %d", w[i], r.d, r.force, want[i]);
    }
}

FW_TEST(level_edges)
{
    /* A table whose A is the whole sum, so each HTZ can be set directly. */
    static const int htz[] = {-20, 0, 25, 26, 50, 51, 72, 73, 90, 91, 130};
    static const int want[] = {1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5};
    struct fw_cnr_tables t;
    fw_cnr_tables_default(&t);
    memset(t.b_value, 0, sizeof(t.b_value));
    memset(t.d_value, 0, sizeof(t.d_value));
    t.c_no_rain = 0;
    for (unsigned i = 0; i < sizeof(htz) / sizeof(htz[0]); i++) {
        struct fw_cnr_day d = base_day();
        struct fw_cnr_result r;
        for (int k = 0; k < FW_CNR_A_BINS; k++)
            t.a_value[k] = htz[i] < 0 ? 0 : htz[i];
        t.e_value[0] = htz[i] < 0 ? -htz[i] : 0;
        ASSERT_EQ(fw_cnr_rate(&t, &d, &r), 0);
        ASSERT_EQ(r.htz, htz[i]);
        if (r.level != want[i])
            FW_FAIL_("HTZ %d: level %d, want %d", htz[i], r.level, want[i]);
    }
}

FW_TEST(bad_inputs)
{
    struct fw_cnr_tables t;
    fw_cnr_tables_default(&t);
    struct fw_cnr_result r = {.level = 99};
    struct fw_cnr_day d = base_day();
    d.tmax_c = NAN;
    ASSERT_EQ(fw_cnr_rate(&t, &d, &r), -EINVAL);
    d = base_day();
    d.rh_min_pct = 100.5;
    ASSERT_EQ(fw_cnr_rate(&t, &d, &r), -EINVAL);
    d = base_day();
    d.wind_max_ms = -0.1;
    ASSERT_EQ(fw_cnr_rate(&t, &d, &r), -EINVAL);
    d = base_day();
    d.phenology = FW_CNR_PHEN_COUNT;
    ASSERT_EQ(fw_cnr_rate(&t, &d, &r), -EINVAL);
    d = base_day();
    d.rain_on_record = 1;
    d.days_since_rain = -1;
    ASSERT_EQ(fw_cnr_rate(&t, &d, &r), -EINVAL);
    d.days_since_rain = 0;
    d.last_rain_mm = NAN;
    ASSERT_EQ(fw_cnr_rate(&t, &d, &r), -EINVAL);
    ASSERT_EQ(r.level, 99);
}

FW_TEST(state_rain_threshold_and_days)
{
    struct fw_cnr_tables t;
    struct fw_cnr_state s;
    fw_cnr_tables_default(&t);
    fw_cnr_state_init(&s);
    /* 0.29 mm is not a rain day: still nothing on record. */
    ASSERT_EQ(fw_cnr_state_step(&s, &t, 0.29), 0);
    ASSERT_EQ(s.rain_on_record, 0);
    ASSERT_EQ(fw_cnr_state_step(&s, &t, 0.3), 0);
    ASSERT_EQ(s.rain_on_record, 1);
    ASSERT_EQ(s.days_since_rain, 0);
    ASSERT_DBL_NEAR(s.last_rain_mm, 0.3, 0);
    ASSERT_EQ(fw_cnr_state_step(&s, &t, 0.0), 0);
    ASSERT_EQ(fw_cnr_state_step(&s, &t, 0.2), 0); /* a trace counts as a dry day */
    ASSERT_EQ(s.days_since_rain, 2);
    ASSERT_DBL_NEAR(s.last_rain_mm, 0.3, 0);
    /* Each rain day of a wet spell restarts with its own amount. */
    ASSERT_EQ(fw_cnr_state_step(&s, &t, 12.0), 0);
    ASSERT_EQ(fw_cnr_state_step(&s, &t, 5.0), 0);
    ASSERT_EQ(s.days_since_rain, 0);
    ASSERT_DBL_NEAR(s.last_rain_mm, 5.0, 0);
    ASSERT_EQ(fw_cnr_state_step(&s, &t, -1.0), -EINVAL);
    ASSERT_EQ(fw_cnr_state_step(&s, &t, NAN), -EINVAL);
    ASSERT_DBL_NEAR(s.last_rain_mm, 5.0, 0);
    /* Two dry days after 5 mm: C = 0 + 5 * 2. */
    fw_cnr_state_step(&s, &t, 0.0);
    fw_cnr_state_step(&s, &t, 0.0);
    struct fw_cnr_day d = base_day();
    fw_cnr_state_apply(&s, &d);
    ASSERT_EQ(rate(&d).c, 10);
    /* The count stops at its cap instead of overflowing. */
    s.days_since_rain = FW_CNR_DAYS_MAX;
    fw_cnr_state_step(&s, &t, 0.0);
    ASSERT_EQ(s.days_since_rain, FW_CNR_DAYS_MAX);
}

FW_TEST(phenology_and_level_names)
{
    enum fw_cnr_phenology p;
    ASSERT_EQ(fw_cnr_phenology_parse("G75/S60", &p), 0);
    ASSERT_EQ(p, FW_CNR_PHEN_G75_S60);
    ASSERT_EQ(fw_cnr_phenology_parse("S10", &p), 0);
    ASSERT_EQ(p, FW_CNR_PHEN_G20_S10);
    ASSERT_EQ(fw_cnr_phenology_parse("G100", &p), 0);
    ASSERT_EQ(p, FW_CNR_PHEN_G100_S90);
    ASSERT_EQ(fw_cnr_phenology_parse("NONE", &p), 0);
    ASSERT_EQ(p, FW_CNR_PHEN_NONE);
    ASSERT_EQ(fw_cnr_phenology_parse("G7", &p), -EINVAL);
    ASSERT_EQ(fw_cnr_phenology_parse("", &p), -EINVAL);
    ASSERT_STR_EQ(fw_cnr_level_grade(1), "一级");
    ASSERT_STR_EQ(fw_cnr_level_name(1), "低火险");
    ASSERT_STR_EQ(fw_cnr_level_colour(1), "绿");
    ASSERT_TRUE(fw_cnr_level_flag(2) == NULL);
    ASSERT_STR_EQ(fw_cnr_level_flag(3), "黄旗");
    ASSERT_STR_EQ(fw_cnr_level_name(5), "极高火险");
    ASSERT_STR_EQ(fw_cnr_level_colour_en(5), "red");
    ASSERT_TRUE(fw_cnr_level_name(0) == NULL && fw_cnr_level_name(6) == NULL);
}

static int tables_equal(const struct fw_cnr_tables *a, const struct fw_cnr_tables *b)
{
#define SAME(f) (memcmp(a->f, b->f, sizeof(a->f)) == 0)
    return SAME(a_upper_c) && SAME(a_value) && SAME(b_lower_pct) && SAME(b_value) &&
           a->c_rain_day_mm == b->c_rain_day_mm && a->c_no_rain == b->c_no_rain &&
           SAME(c_row_below_mm) && SAME(c_row_base) && SAME(c_row_grace_days) &&
           a->c_per_day == b->c_per_day && a->c_ceiling == b->c_ceiling && SAME(d_upper_ms) &&
           SAME(d_value) && SAME(e_value) && SAME(level_upper) && SAME(conf);
#undef SAME
}

FW_TEST(defaults_equal_shipped_file)
{
    struct fw_cnr_tables def, got;
    char err[1024];
    const char *text = slurp(SHIPPED);
    ASSERT_TRUE(text != NULL);
    fw_cnr_tables_default(&def);
    memset(&got, 0xff, sizeof(got));
    int rc = parse(text, &got, err, sizeof(err));
    if (rc != 0)
        FW_FAIL_("shipped file: %s", err);
    ASSERT_TRUE(tables_equal(&def, &got));
    /* Every shipped table is an unverified transcription. */
    ASSERT_EQ(fw_cnr_tables_unverified(&got), (1u << FW_CNR_TABLE_COUNT) - 1);
}

/* The shipped text with the first `from` replaced by `to`. */
static const char *edit(const char *from, const char *to)
{
    static char out[65536];
    const char *text = slurp(SHIPPED), *at = text ? strstr(text, from) : NULL;
    if (!at)
        return "";
    snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

static int parse_err(const char *text, char *err, size_t n)
{
    struct fw_cnr_tables t;
    fw_cnr_tables_default(&t);
    t.c_ceiling = 777;
    int rc = parse(text, &t, err, n);
    return rc == 0 || t.c_ceiling != 777 ? 0 : rc; /* a failure leaves *out alone */
}

FW_TEST(parse_errors_name_the_path)
{
    char err[2048];
    ASSERT_EQ(parse_err(edit("[71, 61, 51, 41, 31]", "[71, 61, 61, 41, 31]"), err, sizeof(err)),
              -EINVAL);
    ASSERT_STR_CONTAINS(err, "cn_rating_tables.json: $.tables.B.lower_edges_pct[2]: must be less "
                             "than the edge before it (61), got 61\n");
    ASSERT_EQ(parse_err(edit("[5.0, 10.0, 15.0, 20.0, 25.0]", "[5.0, 10.0, 9.0, 20.0, 25.0]"), err,
                        sizeof(err)),
              -EINVAL);
    ASSERT_STR_CONTAINS(err, "$.tables.A.upper_edges_c[2]: must be greater than the edge before "
                             "it (10), got 9\n");
    ASSERT_EQ(parse_err(edit("[0, 4, 8, 12, 16, 20]", "[0, 4, 8, 12, 16]"), err, sizeof(err)),
              -EINVAL);
    ASSERT_STR_CONTAINS(err, "$.tables.A.values: must be an array of 6 integers, got an array\n");
    ASSERT_EQ(parse_err(edit("\"ceiling\": 50", "\"ceiling\": 50.5"), err, sizeof(err)), -EINVAL);
    ASSERT_STR_CONTAINS(err, "$.tables.C.ceiling: must be an integer 0..1000, got 50.5\n");
    ASSERT_EQ(parse_err(edit("\"confidence\": \"V1\"", "\"confidence\": \"v3\""), err, sizeof(err)),
              -EINVAL);
    ASSERT_STR_CONTAINS(err, "$.tables.B.confidence: must be one of \"V2\", \"V1\", \"INF\", "
                             "\"official\", got \"v3\"\n");
    ASSERT_EQ(parse_err(edit("\"G50/S30\": 10", "\"G50\": 10"), err, sizeof(err)), -EINVAL);
    ASSERT_STR_CONTAINS(err, "$.tables.E.values.G50: unknown key\n");
    ASSERT_STR_CONTAINS(err, "$.tables.E.values: missing required key \"G50/S30\"\n");
    ASSERT_EQ(parse_err(edit("\"levels\": {", "\"level\": {"), err, sizeof(err)), -EINVAL);
    ASSERT_STR_CONTAINS(err, "cn_rating_tables.json: $.tables.level: unknown key (did you mean "
                             "\"levels\"?)\n");
    ASSERT_STR_CONTAINS(err, "cn_rating_tables.json: $.tables: missing required key \"levels\"\n");
    ASSERT_EQ(parse_err(edit("\"per_day\": 5,", "\"per_day\": 5,,"), err, sizeof(err)), -EINVAL);
    ASSERT_STR_CONTAINS(err, "cn_rating_tables.json:28:20: invalid JSON: ");
    ASSERT_EQ(parse_err("[]", err, sizeof(err)), -EINVAL);
    ASSERT_STR_EQ(err, "cn_rating_tables.json: $: must be an object, got an array\n");
}

FW_TEST(parse_collects_every_error)
{
    char err[2048];
    const char *t1 = edit("[0.2, 1.5", "[1.5, 0.2");
    char text[65536];
    snprintf(text, sizeof(text), "%s", t1);
    char *at = strstr(text, "\"per_day\": 5");
    ASSERT_TRUE(at != NULL);
    memcpy(at, "\"per_day\":-5", 12);
    ASSERT_EQ(parse_err(text, err, sizeof(err)), -EINVAL);
    ASSERT_STR_CONTAINS(err, "$.tables.C.per_day: must be an integer 0..1000, got -5\n");
    ASSERT_STR_CONTAINS(err, "$.tables.D.upper_edges_ms[1]: must be greater than the edge before "
                             "it (1.5), got 0.2\n");
}

FW_TEST(official_table_is_verified)
{
    struct fw_cnr_tables t;
    char err[512];
    const char *text = edit("\"confidence\": \"V2\"", "\"confidence\": \"official\"");
    ASSERT_EQ(parse(text, &t, err, sizeof(err)), 0);
    unsigned all = (1u << FW_CNR_TABLE_COUNT) - 1;
    ASSERT_EQ(fw_cnr_tables_unverified(&t), all & ~(1u << FW_CNR_TABLE_A));
    ASSERT_STR_EQ(fw_cnr_table_name(FW_CNR_TABLE_LEVELS), "levels");
}
