/* SPDX-License-Identifier: MIT */
/*
 * The key-table machinery of the JSON loaders (cfg_keys.h): error collection, JSON paths, the
 * check of one value against its row (type, bounds, enum names), unknown and duplicate keys with
 * a "did you mean" hint, defaults, and the shapes several sections share (maps of named entries,
 * lists of names). The config (config_sections.c) and device profiles (profile.c) describe their
 * objects as tables and leave the checking to this file, so both word their errors alike.
 */
#include "forestwatch/cfg_keys.h"

#include "forestwatch/expr.h" /* fw_duration_parse */
#include "forestwatch/util.h"

#include <cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void fw_cfg_errors_add(struct fw_cfg_errors *errs, char *msg)
{
    if (errs->n >= FW_CONFIG_MAX_ERRORS) {
        errs->dropped++;
        free(msg);
        return;
    }
    errs->msgs = fw_xrealloc(errs->msgs, (errs->n + 1) * sizeof(*errs->msgs));
    errs->msgs[errs->n++] = msg;
}

void fw_cfg_errors_clear(struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < errs->n; i++)
        free(errs->msgs[i]);
    free(errs->msgs);
    errs->msgs = NULL;
    errs->n = 0;
    errs->dropped = 0;
}

void fw_cfg_err(struct fw_cfg_ctx *c, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fw_cfg_errors_add(c->errs, fw_xasprintf("%s: %s: %s", c->file, c->path, msg));
}

static int is_ident_key(const char *k)
{
    if (!isalpha((unsigned char)*k) && *k != '_')
        return 0;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_' && *k != '-')
            return 0;
    return 1;
}

size_t fw_cfg_path_key(struct fw_cfg_ctx *c, const char *key)
{
    size_t mark = c->pathlen;
    int n;
    if (is_ident_key(key) || (c->flags & FW_CFG_PLAIN_PATHS))
        n = snprintf(c->path + mark, sizeof(c->path) - mark, ".%s", key);
    else
        n = snprintf(c->path + mark, sizeof(c->path) - mark, "[\"%s\"]", key);
    if (n > 0)
        c->pathlen = mark + (size_t)n < sizeof(c->path) ? mark + (size_t)n : sizeof(c->path) - 1;
    return mark;
}

size_t fw_cfg_path_index(struct fw_cfg_ctx *c, int i)
{
    size_t mark = c->pathlen;
    int n = snprintf(c->path + mark, sizeof(c->path) - mark, "[%d]", i);
    if (n > 0)
        c->pathlen = mark + (size_t)n < sizeof(c->path) ? mark + (size_t)n : sizeof(c->path) - 1;
    return mark;
}

void fw_cfg_path_pop(struct fw_cfg_ctx *c, size_t mark)
{
    c->pathlen = mark;
    c->path[mark] = '\0';
}

void fw_cfg_describe(const cJSON *v, char *buf, size_t size)
{
    if (!v)
        snprintf(buf, size, "nothing");
    else if (cJSON_IsString(v))
        snprintf(buf, size, "\"%.40s%s\"", v->valuestring,
                 strlen(v->valuestring) > 40 ? "..." : "");
    else if (cJSON_IsNumber(v))
        snprintf(buf, size, "%.15g", v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(buf, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNull(v))
        snprintf(buf, size, "null");
    else if (cJSON_IsArray(v))
        snprintf(buf, size, "an array");
    else
        snprintf(buf, size, "an object");
}

/* ------------------------------------------------------------------------------------------ */
/* Key tables                                                                                  */
/* ------------------------------------------------------------------------------------------ */

int fw_cfg_valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > FW_CONFIG_MAX_ID)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return 0;
    return 1;
}

/* The config takes enum names in any case; profiles (FW_CFG_EXACT_ENUMS) only as written. */
static int enum_index(const char *const *names, const char *s, int exact)
{
    for (int i = 0; names[i]; i++)
        if ((exact ? strcmp(names[i], s) : strcasecmp(names[i], s)) == 0)
            return i;
    return -1;
}

void fw_cfg_enum_list(const char *const *names, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; names[i] && used < size; i++) {
        int n = snprintf(buf + used, size - used, "%s\"%s\"", i ? ", " : "", names[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

void fw_cfg_format_duration(int64_t ms, char *buf, size_t size)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < FW_ARRAY_LEN(units) && ms > 0; i++)
        if (ms >= units[i].ms) {
            int n = snprintf(buf + used, size - used, "%lld%s", (long long)(ms / units[i].ms),
                             units[i].unit);
            used += n > 0 ? (size_t)n : 0;
            ms %= units[i].ms;
        }
    if (!buf[0])
        snprintf(buf, size, "0s");
}

/* Check one value against its key entry and store it at base + off. */
static void apply_key(struct fw_cfg_ctx *c, const struct fw_cfg_key *k, const cJSON *v, void *base)
{
    char got[64];
    void *field = (char *)base + k->off;
    fw_cfg_describe(v, got, sizeof(got));
    switch (k->type) {
    case FW_CFG_STR:
    case FW_CFG_TEXT: {
        size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;
        if (!cJSON_IsString(v) || n < (size_t)k->lo || n > (size_t)k->hi) {
            if (k->lo > 0)
                fw_cfg_err(c, "must be a non-empty string of at most %.0f bytes, got %s", k->hi,
                           got);
            else
                fw_cfg_err(c, "must be a string of at most %.0f bytes, got %s", k->hi, got);
            return;
        }
        if (k->type == FW_CFG_TEXT) {
            fw_strlcpy(field, v->valuestring, (size_t)k->hi + 1);
            return;
        }
        free(*(char **)field);
        *(char **)field = fw_xstrdup(v->valuestring);
        return;
    }
    case FW_CFG_ID:
        if (!cJSON_IsString(v) || !fw_cfg_valid_id(v->valuestring)) {
            fw_cfg_err(c, "must be a name of 1..%d letters, digits, '_', '-' or '.', got %s",
                       FW_CONFIG_MAX_ID, got);
            return;
        }
        free(*(char **)field);
        *(char **)field = fw_xstrdup(v->valuestring);
        return;
    case FW_CFG_INT:
    case FW_CFG_MS:
    case FW_CFG_SIZE: {
        double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        if (!cJSON_IsNumber(v) || d != floor(d) || d < k->lo || d > k->hi) {
            fw_cfg_err(c, "must be an integer %.0f..%.0f, got %s", k->lo, k->hi, got);
            return;
        }
        if (k->type == FW_CFG_INT)
            *(int *)field = (int)d;
        else if (k->type == FW_CFG_MS)
            *(int64_t *)field = (int64_t)d;
        else
            *(size_t *)field = (size_t)d;
        return;
    }
    case FW_CFG_NUMN:
        if (cJSON_IsNull(v)) {
            *(double *)field = NAN;
            return;
        }
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < k->lo ||
            v->valuedouble > k->hi) {
            fw_cfg_err(c, "must be a number %g..%g, or null (not set), got %s", k->lo, k->hi, got);
            return;
        }
        *(double *)field = v->valuedouble;
        return;
    case FW_CFG_NUM:
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < k->lo ||
            v->valuedouble > k->hi) {
            fw_cfg_err(c, "must be a number %g..%g, got %s", k->lo, k->hi, got);
            return;
        }
        *(double *)field = v->valuedouble;
        return;
    case FW_CFG_BOOL:
        if (!cJSON_IsBool(v)) {
            fw_cfg_err(c, "must be true or false, got %s", got);
            return;
        }
        *(bool *)field = cJSON_IsTrue(v);
        return;
    case FW_CFG_DUR: {
        int64_t ms = -1;
        if (!cJSON_IsString(v) || fw_duration_parse(v->valuestring, &ms) < 0 || ms < k->lo ||
            ms > k->hi) {
            char lo[32], hi[32];
            fw_cfg_format_duration((int64_t)k->lo, lo, sizeof(lo));
            fw_cfg_format_duration((int64_t)k->hi, hi, sizeof(hi));
            fw_cfg_err(c, "must be a duration from %s to %s such as 90s, 5m or 1h30m, got %s", lo,
                       hi, got);
            return;
        }
        *(int64_t *)field = ms;
        return;
    }
    case FW_CFG_ENUM: {
        int i = cJSON_IsString(v)
                    ? enum_index(k->names, v->valuestring, c->flags & FW_CFG_EXACT_ENUMS)
                    : -1;
        if (i < 0) {
            char list[256];
            fw_cfg_enum_list(k->names, list, sizeof(list));
            fw_cfg_err(c, "must be one of %s, got %s", list, got);
            return;
        }
        *(int *)field = i;
        return;
    }
    case FW_CFG_CUSTOM:
        k->parse(c, v, base);
        return;
    }
}

int fw_cfg_key_find(const cJSON *obj, const cJSON *m, const void *keys, size_t stride, char *why,
                    size_t size)
{
    const char *best = NULL;
    int found = -1, bestd = 3;
    for (size_t i = 0;; i++) {
        const char *name = *(const char *const *)((const char *)keys + i * stride);
        if (!name)
            break;
        if (strcmp(name, m->string) == 0)
            found = (int)i;
        int d = fw_edit_distance(m->string, name);
        if (d < bestd) {
            bestd = d;
            best = name;
        }
    }
    for (const cJSON *p = obj->child; p != m; p = p->next)
        if (strcmp(p->string, m->string) == 0) {
            snprintf(why, size, "duplicate key");
            return -1;
        }
    if (found >= 0)
        return found;
    if (best)
        snprintf(why, size, "unknown key (did you mean \"%s\"?)", best);
    else
        snprintf(why, size, "unknown key");
    return -1;
}

void fw_cfg_apply_keys(struct fw_cfg_ctx *c, const cJSON *obj, const struct fw_cfg_key *keys,
                       void *base)
{
    char got[64];
    if (!cJSON_IsObject(obj)) {
        fw_cfg_describe(obj, got, sizeof(got));
        fw_cfg_err(c, "must be an object, got %s", got);
        return;
    }
    for (const cJSON *m = obj->child; m; m = m->next) {
        size_t mark = fw_cfg_path_key(c, m->string);
        char why[FW_CONFIG_MAX_ID + 64];
        int k = fw_cfg_key_find(obj, m, keys, sizeof(*keys), why, sizeof(why));
        if (k < 0)
            fw_cfg_err(c, "%s", why);
        else
            apply_key(c, &keys[k], m, base);
        fw_cfg_path_pop(c, mark);
    }
    for (const struct fw_cfg_key *t = keys; t->name; t++)
        if (t->required && !cJSON_GetObjectItemCaseSensitive(obj, t->name))
            fw_cfg_err(c, "missing required key \"%s\"", t->name);
}

struct named_entry {
    const cJSON *m;
    size_t pos; /* its place in the object */
};

static int named_entry_cmp(const void *a, const void *b)
{
    const struct named_entry *x = a, *y = b;
    int d = strcmp(x->m->string, y->m->string);
    return d ? d : (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * dup[i] = 1 for each member of `obj` whose name an earlier member already has. By sorting, so
 * that a map of 100,000 nodes is checked in n log n, not n^2.
 */
static unsigned char *duplicate_names(const cJSON *obj, size_t *n_out)
{
    size_t n = 0;
    for (const cJSON *m = obj->child; m; m = m->next)
        n++;
    struct named_entry *e = fw_xcalloc(n + 1, sizeof(*e));
    unsigned char *dup = fw_xcalloc(n + 1, 1);
    n = 0;
    for (const cJSON *m = obj->child; m; m = m->next, n++)
        e[n] = (struct named_entry){m, n};
    qsort(e, n, sizeof(*e), named_entry_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(e[i].m->string, e[i - 1].m->string) == 0)
            dup[e[i].pos] = 1; /* sorted by place among equals: e[i] comes later */
    free(e);
    *n_out = n;
    return dup;
}

void fw_cfg_for_each_named_by(struct fw_cfg_ctx *c, const cJSON *obj, const char *what,
                              int (*name_ok)(const char *), const char *bad_name,
                              void (*each)(struct fw_cfg_ctx *, const cJSON *, void *), void *arg)
{
    char got[64];
    if (!cJSON_IsObject(obj)) {
        fw_cfg_describe(obj, got, sizeof(got));
        fw_cfg_err(c, "must be an object of %s by name, got %s", what, got);
        return;
    }
    size_t n, i = 0;
    unsigned char *dup = duplicate_names(obj, &n);
    for (const cJSON *m = obj->child; m; m = m->next, i++) {
        size_t mark = fw_cfg_path_key(c, m->string);
        if (dup[i])
            fw_cfg_err(c, "duplicate name");
        else if (!name_ok(m->string))
            fw_cfg_err(c, "%s", bad_name);
        else
            each(c, m, arg);
        fw_cfg_path_pop(c, mark);
    }
    free(dup);
}

void fw_cfg_for_each_named(struct fw_cfg_ctx *c, const cJSON *obj, const char *what,
                           void (*each)(struct fw_cfg_ctx *, const cJSON *, void *), void *arg)
{
    char bad[96];
    snprintf(bad, sizeof(bad), "invalid name: use 1..%d letters, digits, '_', '-' or '.'",
             FW_CONFIG_MAX_ID);
    fw_cfg_for_each_named_by(c, obj, what, fw_cfg_valid_id, bad, each, arg);
}

char **fw_cfg_string_list(struct fw_cfg_ctx *c, const cJSON *v, size_t *n_out, int ids)
{
    char got[64];
    *n_out = 0;
    if (!cJSON_IsArray(v)) {
        fw_cfg_describe(v, got, sizeof(got));
        fw_cfg_err(c, "must be an array of names, got %s", got);
        return NULL;
    }
    int n = cJSON_GetArraySize(v);
    char **list = fw_xcalloc((size_t)n + 1, sizeof(char *));
    size_t k = 0;
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t mark = fw_cfg_path_index(c, i);
        fw_cfg_describe(e, got, sizeof(got));
        if (!cJSON_IsString(e) || (ids && !fw_cfg_valid_id(e->valuestring)))
            fw_cfg_err(c, "must be a name, got %s", got);
        else
            list[k++] = fw_xstrdup(e->valuestring);
        fw_cfg_path_pop(c, mark);
    }
    *n_out = k;
    return list;
}

void fw_cfg_free_string_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void fw_cfg_key_defaults(const struct fw_cfg_key *keys, void *base)
{
    struct fw_cfg_errors errs = {0};
    struct fw_cfg_ctx c = FW_CFG_CTX("(default)", &errs);
    for (const struct fw_cfg_key *k = keys; k->name; k++) {
        if (!k->def)
            continue;
        cJSON *v = cJSON_Parse(k->def);
        FW_ASSERT(v && k->type != FW_CFG_CUSTOM);
        apply_key(&c, k, v, base);
        cJSON_Delete(v);
        FW_ASSERT(errs.n == 0); /* a default must pass its own row's check */
    }
}
