/* SPDX-License-Identifier: MIT */
/*
 * The Chinese national forest fire weather rating (全国森林火险天气等级, LY/T 1172-95 variant):
 * HTZ = A + B + C + D - E from the day's maximum temperature, minimum relative humidity, the
 * last rain day's amount and the rain-free days since, the day's maximum wind speed and a
 * phenology class, and the level 1..5 from HTZ. The tables are data (struct fw_cnr_tables),
 * parsed from JSON (config/cn_rating_tables.json ships the transcribed defaults), so that an
 * operator with the printed standard replaces a table without recompiling. Pure functions: no
 * I/O, no clock, no environment; any thread, nothing shared. docs/cnrating.md has the method,
 * each table's source and confidence, and the settled bin edges:
 *   - A and D: a value at an edge belongs to the lower bin (inclusive upper edges, 25.0 C -> 16,
 *     3.3 m/s -> force 2), a value between printed edges to the higher one (3.35 -> force 3);
 *   - B: RH is rounded to a whole percent first (half away from zero), then RH >= edge;
 *   - C: a rain day has >= rain_day_mm (0.3 mm); the amount rows are P < 2.0, < 5.0, < 10.0,
 *     >= 10.0 (so exactly 2.0 mm is in the second row); C never exceeds the ceiling (50);
 *   - levels: HTZ <= 25, 50, 72, 90 gives 1..4, anything above 5; a negative HTZ is level 1.
 */
#ifndef FORESTWATCH_CNRATING_H
#define FORESTWATCH_CNRATING_H

#include <stddef.h>

struct fw_cfg_errors;

#define FW_CNR_A_BINS 6
#define FW_CNR_B_BINS 6
#define FW_CNR_C_ROWS 4 /* rain amount rows; "no rain on record" is apart */
#define FW_CNR_D_BINS 9
#define FW_CNR_LEVELS 5
/* Inputs out of these ranges are refused (-EINVAL), like the FWI module's. */
#define FW_CNR_TEMP_MIN (-90.0)
#define FW_CNR_TEMP_MAX 70.0
#define FW_CNR_WIND_MAX 120.0  /* m/s */
#define FW_CNR_RAIN_MAX 2000.0 /* mm in a day */
#define FW_CNR_DAYS_MAX 100000 /* rain-free days; the state stops counting here */

/** Phenology classes of E: green-grass cover in the growing season / snow cover in winter. */
enum fw_cnr_phenology {
    FW_CNR_PHEN_NONE = 0, /* no green grass / no snow */
    FW_CNR_PHEN_G20_S10,
    FW_CNR_PHEN_G50_S30,
    FW_CNR_PHEN_G75_S60,
    FW_CNR_PHEN_G100_S90,
    FW_CNR_PHEN_COUNT
};

/** The tables, in the order of the JSON file; bit i of fw_cnr_tables_unverified() is table i. */
enum fw_cnr_table_id {
    FW_CNR_TABLE_A = 0,
    FW_CNR_TABLE_B,
    FW_CNR_TABLE_C,
    FW_CNR_TABLE_D,
    FW_CNR_TABLE_E,
    FW_CNR_TABLE_LEVELS,
    FW_CNR_TABLE_COUNT
};

/** How sure a table is: two sources agree, one source, our inference, or checked against the
 * printed standard by the operator ("official" in the file). */
enum fw_cnr_confidence {
    FW_CNR_CONF_V2 = 0,
    FW_CNR_CONF_V1,
    FW_CNR_CONF_INF,
    FW_CNR_CONF_OFFICIAL
};

/** A table set; a plain value, copied freely. Fill it with fw_cnr_tables_default() or
 * fw_cnr_tables_parse(); the rating trusts the checks the parser makes. */
struct fw_cnr_tables {
    double a_upper_c[FW_CNR_A_BINS - 1]; /* T_max <= a_upper_c[i] gives a_value[i], rising */
    int a_value[FW_CNR_A_BINS];
    int b_lower_pct[FW_CNR_B_BINS - 1]; /* rounded RH >= b_lower_pct[i] gives b_value[i], falling */
    int b_value[FW_CNR_B_BINS];
    double c_rain_day_mm;                     /* a day with at least this much rain is a rain day */
    int c_no_rain;                            /* C when no rain day is on record */
    double c_row_below_mm[FW_CNR_C_ROWS - 1]; /* P < c_row_below_mm[i] is row i; else last row */
    int c_row_base[FW_CNR_C_ROWS];            /* C = base + per_day * max(0, N - grace) */
    int c_row_grace_days[FW_CNR_C_ROWS];
    int c_per_day;
    int c_ceiling;
    double d_upper_ms[FW_CNR_D_BINS - 1]; /* wind <= d_upper_ms[i] gives force i, rising */
    int d_value[FW_CNR_D_BINS];
    int e_value[FW_CNR_PHEN_COUNT];     /* by enum fw_cnr_phenology */
    int level_upper[FW_CNR_LEVELS - 1]; /* HTZ <= level_upper[i] gives level i + 1 */
    enum fw_cnr_confidence conf[FW_CNR_TABLE_COUNT];
};

/** One day's inputs. */
struct fw_cnr_day {
    double tmax_c;
    double rh_min_pct;   /* 0..100 */
    double wind_max_ms;  /* daily maximum 10 m wind speed */
    int rain_on_record;  /* 0: no rain day known, C is c_no_rain; last_rain_mm/days are unused */
    double last_rain_mm; /* P: the amount of the last rain day */
    int days_since_rain; /* N: 0 on the rain day, 1 the day after, ... */
    enum fw_cnr_phenology phenology;
};

struct fw_cnr_result {
    int a, b, c, d, e;
    int htz;   /* a + b + c + d - e; may be negative */
    int force; /* the Beaufort force D was read from */
    int level; /* 1..5 */
};

/** The rain carried from day to day: the last rain day's amount and the rain-free days since. */
struct fw_cnr_state {
    int rain_on_record;
    double last_rain_mm;
    int days_since_rain;
};

/** The built-in tables: the transcription config/cn_rating_tables.json ships (a test holds the
 * two together). */
void fw_cnr_tables_default(struct fw_cnr_tables *t);

/**
 * Parse the JSON text of a table file (`len` bytes, comments already blanked as
 * fw_cfg_read_text does; `file` names it in messages) into *out. Every error is added to `errs`
 * as the config loader's are: `FILE: $.json.path: must be ..., got ...`, or
 * `FILE:LINE:COL: invalid JSON: ...`. Returns 0, or -EINVAL with *out untouched.
 */
int fw_cnr_tables_parse(const char *text, size_t len, const char *file, struct fw_cnr_tables *out,
                        struct fw_cfg_errors *errs);

/** Bit i set (1u << enum fw_cnr_table_id) for every table whose confidence is not "official":
 * the tables an operator still has to check against the printed standard. */
unsigned fw_cnr_tables_unverified(const struct fw_cnr_tables *t);

/** The names of the unverified tables, space-separated ("A B C D E levels"), into `buf` (`size`
 * bytes, 40 hold them all); returns how many there are (0: every table is official). */
int fw_cnr_tables_unverified_list(const struct fw_cnr_tables *t, char *buf, size_t size);

/** The JSON name of a table ("A" .. "E", "levels"); static storage. */
const char *fw_cnr_table_name(enum fw_cnr_table_id id);

/** The code of a phenology class ("NONE", "G20/S10", ...); static storage. */
const char *fw_cnr_phenology_name(enum fw_cnr_phenology p);

/** The class named `s` (its code, or either half: "G75" or "S60"); -EINVAL if none. */
int fw_cnr_phenology_parse(const char *s, enum fw_cnr_phenology *out);

/**
 * Rate one day. Returns 0, or -EINVAL for an input out of range (a NaN, RH outside 0..100, a
 * negative wind, rain or day count, a phenology outside the enum) with *out untouched.
 */
int fw_cnr_rate(const struct fw_cnr_tables *t, const struct fw_cnr_day *in,
                struct fw_cnr_result *out);

/** A state with no rain on record. */
void fw_cnr_state_init(struct fw_cnr_state *s);

/**
 * Advance the state by one day with that day's rain (mm, >= 0), before the day is rated: a rain
 * day (>= t->c_rain_day_mm) becomes the last rain with N = 0; any other day adds one to N (up to
 * FW_CNR_DAYS_MAX). Returns 0, or -EINVAL for a negative or NaN amount (state untouched).
 */
int fw_cnr_state_step(struct fw_cnr_state *s, const struct fw_cnr_tables *t, double rain_mm);

/** Copy the state's rain into a day's inputs. */
void fw_cnr_state_apply(const struct fw_cnr_state *s, struct fw_cnr_day *day);

/** Level names under QX/T 77-2007: "一级" .. "五级", "低火险" .., colour "绿" .., and the
 * English colour; the flag (黄旗/橙旗/红旗) is NULL for levels 1 and 2; the English name ("low"
 * .. "extreme") and flag ("yellow flag" ..) likewise. Static storage; NULL for a level outside
 * 1..5. */
const char *fw_cnr_level_grade(int level);
const char *fw_cnr_level_name(int level);
const char *fw_cnr_level_colour(int level);
const char *fw_cnr_level_colour_en(int level);
const char *fw_cnr_level_flag(int level);
const char *fw_cnr_level_name_en(int level);
const char *fw_cnr_level_flag_en(int level);

#endif
