/* SPDX-License-Identifier: MIT */
/*
 * The rule expression language: a lexer, a recursive-descent parser that type-checks as it goes
 * (every error says where and what was expected), scope inference, and an evaluator that walks
 * the compiled node array without allocating. docs/rules.md has the grammar; the comments here
 * explain the choices that the grammar does not show.
 */
#include "forestwatch/expr.h"

#include "forestwatch/config.h"
#include "forestwatch/util.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 64   /* nesting of parentheses and calls: keeps the recursion bounded */
#define MAX_MATCHERS 4 /* per selector: zone, station/node, source, and one negation */

/* ------------------------------------------------------------------------------------------ */
/* Compiled form                                                                               */
/* ------------------------------------------------------------------------------------------ */

enum node_op {
    N_NUM,
    N_SEL,    /* instant read: the latest sample within the lookback */
    N_WINDOW, /* a function over a range: avg_over_time(m[10m]) */
    N_ABSENT, /* absent_for(m, 30m) */
    N_AGG,    /* count/max/min/avg/sum [by (zone)] (inner) */
    N_NEG,
    N_ARITH,
    N_CMP,
    N_AND,
    N_OR,
    N_NOT,
};

enum value_type { T_NUM, T_BOOL };

enum arith_op { A_ADD, A_SUB, A_MUL, A_DIV };
enum cmp_op { C_GT, C_GE, C_LT, C_LE, C_EQ, C_NE };
enum window_fn { W_AVG, W_MIN, W_MAX, W_SUM, W_COUNT, W_RATE, W_DELTA, W_CHANGES };
enum agg_fn { G_COUNT, G_MAX, G_MIN, G_AVG, G_SUM };
enum label { L_ZONE, L_STATION, L_SOURCE };

struct matcher {
    enum label label;
    int negate;
    char value[FW_READING_MAX_ID];
};

struct node {
    enum node_op op;
    enum value_type type;
    int sub;   /* arith_op, cmp_op, window_fn or agg_fn */
    int a, b;  /* children, -1 when absent */
    int pos;   /* source offset of the operator or name, for messages */
    int start; /* source offset where the whole subexpression starts */
    double num;
    const struct fw_metric *metric;
    struct matcher m[MAX_MATCHERS];
    int nm;
    const char *pin_station; /* points into m[]: an explicit station= matcher */
    const char *pin_zone;    /* an explicit zone= matcher */
    int64_t range_ms;
    int by_zone;
    enum fw_expr_scope need; /* the context this subtree needs (see scope inference) */
};

struct fw_expr {
    char *src;
    struct node *nodes;
    int n, root;
    enum fw_expr_scope scope;
    int time_dependent;
    int primary; /* node whose value is the alert's value, -1 when none */
    int primary_cmp;
};

/* ------------------------------------------------------------------------------------------ */
/* Durations                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* Reads a duration at *p ("1h30m"), advancing *p; the units must go from larger to smaller. */
static int read_duration(const char **p, int64_t *ms)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    const char *s = *p;
    int64_t total = 0, last = INT64_MAX;
    int parts = 0;
    while (isdigit((unsigned char)*s)) {
        int64_t n = 0;
        while (isdigit((unsigned char)*s)) {
            if (n > 1000000000)
                return -EINVAL;
            n = n * 10 + (*s++ - '0');
        }
        size_t u;
        for (u = 0; u < FW_ARRAY_LEN(units); u++)
            if (strncmp(s, units[u].unit, strlen(units[u].unit)) == 0)
                break;
        if (u == FW_ARRAY_LEN(units) || units[u].ms >= last)
            return -EINVAL;
        s += strlen(units[u].unit);
        last = units[u].ms;
        total += n * units[u].ms;
        if (total > FW_EXPR_MAX_RANGE_MS * 100)
            return -EINVAL;
        parts++;
    }
    if (!parts)
        return -EINVAL;
    *p = s;
    *ms = total;
    return 0;
}

int fw_duration_parse(const char *s, int64_t *ms)
{
    const char *p = s;
    if (read_duration(&p, ms) || *p)
        return -EINVAL;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Lexer                                                                                       */
/* ------------------------------------------------------------------------------------------ */

enum tok_kind {
    K_END,
    K_NUM,
    K_IDENT,
    K_STRING,
    K_DURATION,
    K_LPAREN,
    K_RPAREN,
    K_LBRACE,
    K_RBRACE,
    K_LBRACK,
    K_RBRACK,
    K_COMMA,
    K_PLUS,
    K_MINUS,
    K_STAR,
    K_SLASH,
    K_CMP,    /* sub: cmp_op */
    K_ASSIGN, /* '=' in a matcher */
    K_REGEX,  /* '=~' or '!~', refused with a message */
    K_BAD,
};

struct token {
    enum tok_kind kind;
    int pos, len;
    int sub;
    double num;
    int64_t ms;
    char text[FW_READING_MAX_ID + 8]; /* identifier or string contents (capped) */
    int too_long;
};

struct parser {
    const char *src;
    int pos;
    struct token tok;
    struct fw_expr *e;
    struct fw_expr_error *err;
    int failed;
    int depth;
    int in_range; /* the next token may be a duration: after '[' or absent_for's comma */
};

static const char *tok_name(const struct token *t)
{
    switch (t->kind) {
    case K_END:
        return "end of input";
    case K_NUM:
        return "a number";
    case K_IDENT:
        return "a name";
    case K_STRING:
        return "a string";
    case K_DURATION:
        return "a duration";
    case K_BAD:
        return "an unexpected character";
    default:
        return NULL;
    }
}

static void fail_at(struct parser *ps, int pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_at(struct parser *ps, int pos, const char *fmt, ...)
{
    if (ps->failed)
        return; /* the first error is the one that explains the rest */
    ps->failed = 1;
    ps->err->pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
    va_end(ap);
}

/* "got ')'" / "got end of input" / "got name 'foo'" */
static void describe_tok(const struct parser *ps, char *buf, size_t size)
{
    const struct token *t = &ps->tok;
    const char *name = tok_name(t);
    if (t->kind == K_IDENT)
        snprintf(buf, size, "'%.40s'", t->text);
    else if (name && t->kind != K_END && t->kind != K_BAD)
        snprintf(buf, size, "%s '%.*s'", name, t->len > 20 ? 20 : t->len, ps->src + t->pos);
    else if (t->kind == K_BAD)
        snprintf(buf, size, "'%.*s'", t->len, ps->src + t->pos);
    else if (name)
        snprintf(buf, size, "%s", name);
    else
        snprintf(buf, size, "'%.*s'", t->len, ps->src + t->pos);
}

static void expected(struct parser *ps, const char *what)
{
    char got[64];
    describe_tok(ps, got, sizeof(got));
    fail_at(ps, ps->tok.pos, "expected %s, got %s", what, got);
}

static void next(struct parser *ps)
{
    const char *s = ps->src;
    int p = ps->pos;
    struct token *t = &ps->tok;
    while (isspace((unsigned char)s[p]))
        p++;
    memset(t, 0, sizeof(*t));
    t->pos = p;
    char c = s[p];
    if (c == '\0') {
        t->kind = K_END;
    } else if (ps->in_range && isdigit((unsigned char)c)) {
        const char *q = s + p;
        if (read_duration(&q, &t->ms) == 0) {
            t->kind = K_DURATION;
            p = (int)(q - s);
        } else {
            t->kind = K_BAD;
            p++;
            while (isalnum((unsigned char)s[p]))
                p++;
        }
    } else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)s[p + 1]))) {
        char *end;
        t->num = strtod(s + p, &end);
        t->kind = K_NUM;
        p = (int)(end - s);
        /* "10m" outside a range: a duration where a number belongs. */
        if (isalpha((unsigned char)s[p])) {
            t->kind = K_BAD;
            while (isalnum((unsigned char)s[p]))
                p++;
        }
    } else if (isalpha((unsigned char)c) || c == '_') {
        int start = p;
        while (isalnum((unsigned char)s[p]) || s[p] == '_')
            p++;
        int n = p - start;
        t->kind = K_IDENT;
        t->too_long = n >= (int)sizeof(t->text);
        snprintf(t->text, sizeof(t->text), "%.*s", n, s + start);
    } else if (c == '"') {
        int n = 0;
        p++;
        while (s[p] && s[p] != '"') {
            if (s[p] == '\\' && s[p + 1])
                p++;
            if (n < (int)sizeof(t->text) - 1)
                t->text[n++] = s[p];
            else
                t->too_long = 1;
            p++;
        }
        if (s[p] != '"') {
            t->kind = K_BAD;
            fail_at(ps, t->pos, "unterminated string");
        } else {
            p++;
            t->kind = K_STRING;
        }
    } else {
        static const struct {
            const char *s;
            enum tok_kind k;
            int sub;
        } ops[] = {
            {">=", K_CMP, C_GE}, {"<=", K_CMP, C_LE}, {"==", K_CMP, C_EQ}, {"!=", K_CMP, C_NE},
            {"=~", K_REGEX, 0},  {"!~", K_REGEX, 0},  {">", K_CMP, C_GT},  {"<", K_CMP, C_LT},
            {"=", K_ASSIGN, 0},  {"(", K_LPAREN, 0},  {")", K_RPAREN, 0},  {"{", K_LBRACE, 0},
            {"}", K_RBRACE, 0},  {"[", K_LBRACK, 0},  {"]", K_RBRACK, 0},  {",", K_COMMA, 0},
            {"+", K_PLUS, 0},    {"-", K_MINUS, 0},   {"*", K_STAR, 0},    {"/", K_SLASH, 0},
        };
        t->kind = K_BAD;
        for (size_t i = 0; i < FW_ARRAY_LEN(ops); i++) {
            size_t n = strlen(ops[i].s);
            if (strncmp(s + p, ops[i].s, n) == 0) {
                t->kind = ops[i].k;
                t->sub = ops[i].sub;
                p += (int)n;
                break;
            }
        }
        if (t->kind == K_BAD) {
            /* One whole UTF-8 character, so the message shows it intact. */
            p++;
            while (((unsigned char)s[p] & 0xC0) == 0x80)
                p++;
        }
    }
    t->len = p - t->pos;
    ps->pos = p;
}

static int accept(struct parser *ps, enum tok_kind k)
{
    if (ps->tok.kind != k)
        return 0;
    next(ps);
    return 1;
}

static int is_keyword(const struct parser *ps, const char *kw)
{
    return ps->tok.kind == K_IDENT && strcmp(ps->tok.text, kw) == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Parser                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static int new_node(struct parser *ps, enum node_op op, enum value_type type, int pos)
{
    struct fw_expr *e = ps->e;
    if (e->n >= FW_EXPR_MAX_NODES) {
        fail_at(ps, pos, "expression too large (more than %d parts)", FW_EXPR_MAX_NODES);
        return -1;
    }
    struct node *nd = &e->nodes[e->n];
    memset(nd, 0, sizeof(*nd));
    nd->op = op;
    nd->type = type;
    nd->a = nd->b = -1;
    nd->pos = nd->start = pos;
    return e->n++;
}

static struct node *N(struct parser *ps, int i)
{
    return &ps->e->nodes[i];
}

static int parse_or(struct parser *ps);

static const char *type_name(enum value_type t)
{
    return t == T_BOOL ? "a condition" : "a number";
}

/* Check the operand `i` has type `want`; `ctx` names the operator for the message. */
static int want_type(struct parser *ps, int i, enum value_type want, const char *ctx)
{
    if (i < 0 || ps->failed)
        return -1;
    if (N(ps, i)->type != want) {
        fail_at(ps, N(ps, i)->start, "%s needs %s, got %s", ctx, type_name(want),
                type_name(N(ps, i)->type));
        return -1;
    }
    return i;
}

static const char *const label_names[] = {"zone", "station", "source"};

static void suggest_metric(const char *name, char *buf, size_t size)
{
    const struct fw_metric *m = fw_metric_nearest(name);
    buf[0] = '\0';
    if (m)
        snprintf(buf, size, " (did you mean '%s'?)", m->name);
}

/* metric [ '{' matchers '}' ] */
static int parse_selector(struct parser *ps)
{
    struct token name = ps->tok;
    if (name.kind != K_IDENT) {
        expected(ps, "a metric name");
        return -1;
    }
    const struct fw_metric *m = name.too_long ? NULL : fw_metric_find(name.text);
    if (!m) {
        char hint[64];
        suggest_metric(name.text, hint, sizeof(hint));
        fail_at(ps, name.pos, "unknown metric '%s'%s", name.text, hint);
        return -1;
    }
    next(ps);
    int i = new_node(ps, N_SEL, T_NUM, name.pos);
    if (i < 0)
        return -1;
    N(ps, i)->metric = m;
    if (!accept(ps, K_LBRACE))
        return i;
    do {
        if (ps->tok.kind == K_RBRACE)
            break;
        struct token lab = ps->tok;
        if (lab.kind != K_IDENT) {
            expected(ps, "a label (zone, station, node or source)");
            return -1;
        }
        int l = -1;
        for (int k = 0; k < 3; k++)
            if (strcmp(lab.text, label_names[k]) == 0)
                l = k;
        if (strcmp(lab.text, "node") == 0)
            l = L_STATION; /* a node is a station: the two names are one label */
        if (l < 0) {
            fail_at(ps, lab.pos, "unknown label '%s': use zone, station, node or source", lab.text);
            return -1;
        }
        next(ps);
        int negate;
        if (ps->tok.kind == K_ASSIGN) {
            negate = 0;
        } else if (ps->tok.kind == K_CMP && ps->tok.sub == C_NE) {
            negate = 1;
        } else if (ps->tok.kind == K_REGEX) {
            fail_at(ps, ps->tok.pos, "regular-expression matchers are not supported: use = or !=");
            return -1;
        } else {
            expected(ps, "'=' or '!=' after the label");
            return -1;
        }
        next(ps);
        if (ps->tok.kind != K_STRING) {
            expected(ps, "a quoted value");
            return -1;
        }
        if (ps->tok.too_long || strlen(ps->tok.text) >= FW_READING_MAX_ID) {
            fail_at(ps, ps->tok.pos, "label value longer than %d bytes", FW_READING_MAX_ID - 1);
            return -1;
        }
        struct node *nd = N(ps, i);
        if (nd->nm == MAX_MATCHERS) {
            fail_at(ps, lab.pos, "at most %d matchers in one selector", MAX_MATCHERS);
            return -1;
        }
        struct matcher *mt = &nd->m[nd->nm++];
        mt->label = (enum label)l;
        mt->negate = negate;
        fw_strlcpy(mt->value, ps->tok.text, sizeof(mt->value));
        if (!negate && l == L_STATION) {
            if (nd->pin_station) {
                fail_at(ps, lab.pos, "two station matchers in one selector");
                return -1;
            }
            nd->pin_station = mt->value;
        }
        if (!negate && l == L_ZONE) {
            if (nd->pin_zone) {
                fail_at(ps, lab.pos, "two zone matchers in one selector");
                return -1;
            }
            nd->pin_zone = mt->value;
        }
        next(ps);
    } while (accept(ps, K_COMMA));
    if (!accept(ps, K_RBRACE)) {
        expected(ps, "',' or '}' in the label matchers");
        return -1;
    }
    return i;
}

/* '[' duration ']' */
static int parse_range(struct parser *ps, int64_t *ms)
{
    if (ps->tok.kind != K_LBRACK) {
        expected(ps, "a range such as [10m] after the metric");
        return -1;
    }
    ps->in_range = 1;
    next(ps);
    ps->in_range = 0;
    if (ps->tok.kind != K_DURATION) {
        expected(ps, "a duration such as 30s, 10m, 1h or 1h30m");
        return -1;
    }
    *ms = ps->tok.ms;
    if (*ms <= 0 || *ms > FW_EXPR_MAX_RANGE_MS) {
        fail_at(ps, ps->tok.pos, "a range must be more than 0 and at most 31d");
        return -1;
    }
    next(ps);
    if (!accept(ps, K_RBRACK)) {
        expected(ps, "']' after the duration");
        return -1;
    }
    return 0;
}

static const char *const window_names[] = {"avg_over_time", "min_over_time",   "max_over_time",
                                           "sum_over_time", "count_over_time", "rate",
                                           "delta",         "changes"};
static const char *const agg_names[] = {"count", "max", "min", "avg", "sum"};

static int in_list(const char *word, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(word, list[i]) == 0)
            return 1;
    return 0;
}

int fw_expr_reserved(const char *word)
{
    static const char *const others[] = {"absent_for", "and", "or", "not", "by", "node"};
    return in_list(word, window_names, FW_ARRAY_LEN(window_names)) ||
           in_list(word, agg_names, FW_ARRAY_LEN(agg_names)) ||
           in_list(word, label_names, FW_ARRAY_LEN(label_names)) ||
           in_list(word, others, FW_ARRAY_LEN(others));
}

/* by (zone) */
static int parse_by(struct parser *ps)
{
    next(ps); /* 'by' */
    if (!accept(ps, K_LPAREN)) {
        expected(ps, "'(' after by");
        return -1;
    }
    if (!is_keyword(ps, "zone")) {
        if (ps->tok.kind == K_IDENT)
            fail_at(ps, ps->tok.pos, "only by (zone) is supported, got by (%s)", ps->tok.text);
        else
            expected(ps, "zone");
        return -1;
    }
    next(ps);
    if (!accept(ps, K_RPAREN)) {
        expected(ps, "')' after by (zone");
        return -1;
    }
    return 0;
}

static int parse_call(struct parser *ps, struct token name)
{
    next(ps); /* the name */
    for (int w = 0; w < (int)FW_ARRAY_LEN(window_names); w++) {
        if (strcmp(name.text, window_names[w]) != 0)
            continue;
        if (!accept(ps, K_LPAREN)) {
            expected(ps, "'(' after the function name");
            return -1;
        }
        int i = parse_selector(ps);
        if (i < 0)
            return -1;
        struct node *nd = N(ps, i);
        nd->op = N_WINDOW;
        nd->sub = w;
        nd->pos = name.pos;
        if (parse_range(ps, &nd->range_ms) < 0)
            return -1;
        if (!accept(ps, K_RPAREN)) {
            expected(ps, "')' after the range");
            return -1;
        }
        return i;
    }
    if (strcmp(name.text, "absent_for") == 0) {
        if (!accept(ps, K_LPAREN)) {
            expected(ps, "'(' after absent_for");
            return -1;
        }
        int i = parse_selector(ps);
        if (i < 0)
            return -1;
        if (ps->tok.kind == K_LBRACK) {
            fail_at(ps, ps->tok.pos,
                    "absent_for takes a metric and a duration: "
                    "absent_for(metric, 30m)");
            return -1;
        }
        if (ps->tok.kind != K_COMMA) {
            expected(ps, "',' and a duration after the metric");
            return -1;
        }
        ps->in_range = 1;
        next(ps);
        ps->in_range = 0;
        if (ps->tok.kind != K_DURATION || ps->tok.ms <= 0 || ps->tok.ms > FW_EXPR_MAX_RANGE_MS) {
            expected(ps, "a duration such as 30m (at most 31d)");
            return -1;
        }
        struct node *nd = N(ps, i);
        nd->op = N_ABSENT;
        nd->type = T_BOOL;
        nd->range_ms = ps->tok.ms;
        nd->pos = name.pos;
        next(ps);
        if (!accept(ps, K_RPAREN)) {
            expected(ps, "')' after the duration");
            return -1;
        }
        return i;
    }
    for (int g = 0; g < (int)FW_ARRAY_LEN(agg_names); g++) {
        if (strcmp(name.text, agg_names[g]) != 0)
            continue;
        int by_zone = 0;
        if (is_keyword(ps, "by")) {
            if (parse_by(ps) < 0)
                return -1;
            by_zone = 1;
        }
        if (!accept(ps, K_LPAREN)) {
            expected(ps, by_zone ? "'(' and the expression to aggregate"
                                 : "'(' or 'by (zone)' after the aggregation");
            return -1;
        }
        int inner = parse_or(ps);
        if (inner < 0)
            return -1;
        if (!accept(ps, K_RPAREN)) {
            expected(ps, "')' after the aggregated expression");
            return -1;
        }
        if (!by_zone && is_keyword(ps, "by")) {
            if (parse_by(ps) < 0)
                return -1;
            by_zone = 1;
        }
        if (g != G_COUNT && want_type(ps, inner, T_NUM, agg_names[g]) < 0)
            return -1;
        int i = new_node(ps, N_AGG, T_NUM, name.pos);
        if (i < 0)
            return -1;
        N(ps, i)->sub = g;
        N(ps, i)->a = inner;
        N(ps, i)->by_zone = by_zone;
        return i;
    }
    fail_at(ps, name.pos,
            "unknown function '%s' (functions: avg_over_time, min_over_time, max_over_time, "
            "sum_over_time, count_over_time, rate, delta, changes, absent_for, count, max, min, "
            "avg, sum)",
            name.text);
    return -1;
}

static int parse_primary(struct parser *ps)
{
    struct token t = ps->tok;
    if (++ps->depth > MAX_DEPTH) {
        fail_at(ps, t.pos, "expression nested more than %d deep", MAX_DEPTH);
        return -1;
    }
    int i = -1;
    if (t.kind == K_NUM) {
        i = new_node(ps, N_NUM, T_NUM, t.pos);
        if (i >= 0)
            N(ps, i)->num = t.num;
        next(ps);
    } else if (t.kind == K_LPAREN) {
        next(ps);
        i = parse_or(ps);
        if (i >= 0 && !accept(ps, K_RPAREN)) {
            expected(ps, "')'");
            i = -1;
        }
        if (i >= 0)
            N(ps, i)->start = t.pos;
    } else if (t.kind == K_IDENT) {
        /* A name followed by '(' (or `by`, for an aggregation) is a call; otherwise a metric. */
        const char *after = ps->src + ps->pos;
        while (isspace((unsigned char)*after))
            after++;
        int is_agg = 0, is_fn = strcmp(t.text, "absent_for") == 0;
        for (size_t g = 0; g < FW_ARRAY_LEN(agg_names); g++)
            is_agg |= strcmp(t.text, agg_names[g]) == 0;
        for (size_t w = 0; w < FW_ARRAY_LEN(window_names); w++)
            is_fn |= strcmp(t.text, window_names[w]) == 0;
        if (*after == '(' || (is_agg && strncmp(after, "by", 2) == 0)) {
            i = parse_call(ps, t);
        } else if (is_fn || is_agg) {
            next(ps);
            expected(ps, "'(' after the function name");
        } else if (strcmp(t.text, "and") == 0 || strcmp(t.text, "or") == 0 ||
                   strcmp(t.text, "by") == 0)
            expected(ps, "an expression");
        else {
            i = parse_selector(ps);
            if (i >= 0 && ps->tok.kind == K_LBRACK) {
                fail_at(ps, ps->tok.pos,
                        "a range [..] needs a function around it, e.g. "
                        "avg_over_time(%s[10m])",
                        t.text);
                i = -1;
            }
        }
    } else if (t.kind == K_DURATION ||
               (t.kind == K_BAD && isdigit((unsigned char)ps->src[t.pos]))) {
        fail_at(ps, t.pos,
                "a duration such as '%.*s' is only allowed in a range [..] or "
                "absent_for",
                t.len, ps->src + t.pos);
    } else {
        expected(ps, "a number, a metric, a function or '('");
    }
    ps->depth--;
    return i;
}

static int parse_unary(struct parser *ps)
{
    if (ps->tok.kind == K_MINUS) {
        int pos = ps->tok.pos;
        next(ps);
        if (++ps->depth > MAX_DEPTH) {
            fail_at(ps, pos, "expression nested more than %d deep", MAX_DEPTH);
            return -1;
        }
        int a = want_type(ps, parse_unary(ps), T_NUM, "'-'");
        ps->depth--;
        if (a < 0)
            return -1;
        int i = new_node(ps, N_NEG, T_NUM, pos);
        if (i >= 0)
            N(ps, i)->a = a;
        return i;
    }
    return parse_primary(ps);
}

static int binary(struct parser *ps, enum node_op op, int sub, enum value_type type, int a, int b,
                  int pos)
{
    if (a < 0 || b < 0)
        return -1;
    int i = new_node(ps, op, type, pos);
    if (i < 0)
        return -1;
    N(ps, i)->sub = sub;
    N(ps, i)->a = a;
    N(ps, i)->b = b;
    N(ps, i)->start = N(ps, a)->start;
    return i;
}

static int parse_mul(struct parser *ps)
{
    int a = parse_unary(ps);
    while (a >= 0 && (ps->tok.kind == K_STAR || ps->tok.kind == K_SLASH)) {
        int op = ps->tok.kind == K_STAR ? A_MUL : A_DIV, pos = ps->tok.pos;
        const char *name = op == A_MUL ? "'*'" : "'/'";
        if (want_type(ps, a, T_NUM, name) < 0)
            return -1;
        next(ps);
        int b = want_type(ps, parse_unary(ps), T_NUM, name);
        a = binary(ps, N_ARITH, op, T_NUM, a, b, pos);
    }
    return a;
}

static int parse_add(struct parser *ps)
{
    int a = parse_mul(ps);
    while (a >= 0 && (ps->tok.kind == K_PLUS || ps->tok.kind == K_MINUS)) {
        int op = ps->tok.kind == K_PLUS ? A_ADD : A_SUB, pos = ps->tok.pos;
        const char *name = op == A_ADD ? "'+'" : "'-'";
        if (want_type(ps, a, T_NUM, name) < 0)
            return -1;
        next(ps);
        int b = want_type(ps, parse_mul(ps), T_NUM, name);
        a = binary(ps, N_ARITH, op, T_NUM, a, b, pos);
    }
    return a;
}

static int parse_cmp(struct parser *ps)
{
    int a = parse_add(ps);
    if (a < 0 || ps->tok.kind != K_CMP)
        return a;
    int op = ps->tok.sub, pos = ps->tok.pos;
    if (want_type(ps, a, T_NUM, "a comparison") < 0)
        return -1;
    next(ps);
    int b = want_type(ps, parse_add(ps), T_NUM, "a comparison");
    if (b >= 0 && ps->tok.kind == K_CMP) {
        fail_at(ps, ps->tok.pos, "comparisons do not chain: write a < x and x < b");
        return -1;
    }
    return binary(ps, N_CMP, op, T_BOOL, a, b, pos);
}

static int parse_not(struct parser *ps)
{
    if (is_keyword(ps, "not")) {
        int pos = ps->tok.pos;
        next(ps);
        if (++ps->depth > MAX_DEPTH) {
            fail_at(ps, pos, "expression nested more than %d deep", MAX_DEPTH);
            return -1;
        }
        int a = want_type(ps, parse_not(ps), T_BOOL, "'not'");
        ps->depth--;
        if (a < 0)
            return -1;
        int i = new_node(ps, N_NOT, T_BOOL, pos);
        if (i >= 0)
            N(ps, i)->a = a;
        return i;
    }
    return parse_cmp(ps);
}

static int parse_and(struct parser *ps)
{
    int a = parse_not(ps);
    while (a >= 0 && is_keyword(ps, "and")) {
        int pos = ps->tok.pos;
        if (want_type(ps, a, T_BOOL, "'and'") < 0)
            return -1;
        next(ps);
        int b = want_type(ps, parse_not(ps), T_BOOL, "'and'");
        a = binary(ps, N_AND, 0, T_BOOL, a, b, pos);
    }
    return a;
}

static int parse_or(struct parser *ps)
{
    int a = parse_and(ps);
    while (a >= 0 && is_keyword(ps, "or")) {
        int pos = ps->tok.pos;
        if (want_type(ps, a, T_BOOL, "'or'") < 0)
            return -1;
        next(ps);
        int b = want_type(ps, parse_and(ps), T_BOOL, "'or'");
        a = binary(ps, N_OR, 0, T_BOOL, a, b, pos);
    }
    return a;
}

/* ------------------------------------------------------------------------------------------ */
/* Scope inference                                                                             */
/* ------------------------------------------------------------------------------------------ */

static enum fw_expr_scope max_scope(enum fw_expr_scope a, enum fw_expr_scope b)
{
    return a > b ? a : b;
}

/*
 * What context a subtree needs. A read of a station metric needs a station unless pinned to
 * one; a zone metric needs a zone unless pinned. An aggregation needs only a zone (by zone) or
 * nothing: it supplies the stations (or zones) its inner expression needs.
 */
static enum fw_expr_scope infer(struct fw_expr *e, int i)
{
    struct node *nd = &e->nodes[i];
    enum fw_expr_scope s = FW_EXPR_GLOBAL;
    switch (nd->op) {
    case N_SEL:
    case N_WINDOW:
    case N_ABSENT:
        if (nd->metric->scope == FW_METRIC_STATION)
            s = nd->pin_station ? FW_EXPR_GLOBAL : FW_EXPR_STATION;
        else
            s = nd->pin_zone ? FW_EXPR_GLOBAL : FW_EXPR_ZONE;
        if (nd->op != N_SEL)
            e->time_dependent = 1;
        break;
    case N_AGG:
        infer(e, nd->a);
        s = nd->by_zone ? FW_EXPR_ZONE : FW_EXPR_GLOBAL;
        break;
    default:
        if (nd->a >= 0)
            s = max_scope(s, infer(e, nd->a));
        if (nd->b >= 0)
            s = max_scope(s, infer(e, nd->b));
        break;
    }
    /* Instant reads age out after the lookback, so they too change with time alone. */
    if (nd->op == N_SEL)
        e->time_dependent = 1;
    nd->need = s;
    return s;
}

/* The primary value: the left side of the first comparison along the left spine. */
static void find_primary(struct fw_expr *e)
{
    int i = e->root;
    e->primary = e->primary_cmp = -1;
    while (i >= 0) {
        struct node *nd = &e->nodes[i];
        if (nd->op == N_CMP) {
            e->primary = nd->a;
            e->primary_cmp = i;
            return;
        }
        if (nd->op != N_AND && nd->op != N_OR)
            return;
        i = nd->a;
    }
}

/* Which of the node's matchers a pin points into. */
static int matcher_index(const struct node *nd, const char *pin)
{
    for (int k = 0; k < nd->nm; k++)
        if (pin == nd->m[k].value)
            return k;
    FW_ASSERT(!"a pin points into its node's matchers");
    return 0;
}

int fw_expr_parse(const char *src, int want_condition, struct fw_expr **out,
                  struct fw_expr_error *err)
{
    *out = NULL;
    memset(err, 0, sizeof(*err));
    if (strlen(src) > FW_EXPR_MAX_LEN) {
        err->pos = FW_EXPR_MAX_LEN;
        snprintf(err->msg, sizeof(err->msg), "expression longer than %d bytes", FW_EXPR_MAX_LEN);
        return -EINVAL;
    }
    struct fw_expr *e = fw_xcalloc(1, sizeof(*e));
    e->src = fw_xstrdup(src);
    e->nodes = fw_xcalloc(FW_EXPR_MAX_NODES, sizeof(*e->nodes));
    struct parser ps = {.src = e->src, .e = e, .err = err};
    next(&ps);
    e->root = parse_or(&ps);
    if (!ps.failed && ps.tok.kind != K_END) {
        if (ps.tok.kind == K_IDENT)
            fail_at(&ps, ps.tok.pos,
                    "expected an operator (and, or, a comparison, + - * /), "
                    "got '%s'",
                    ps.tok.text);
        else
            expected(&ps, "an operator or the end of the expression");
    }
    if (!ps.failed && want_condition && e->nodes[e->root].type != T_BOOL)
        fail_at(&ps, 0, "must be a condition such as smoke_ppm > 300, not a number");
    if (ps.failed) {
        fw_expr_free(e);
        return -EINVAL;
    }
    /* Keep only the nodes used. The pins point into their node's own matchers, so they are
     * moved along: a realloc that moves the array would leave them dangling. */
    struct node *kept = fw_xmalloc((size_t)e->n * sizeof(*kept));
    memcpy(kept, e->nodes, (size_t)e->n * sizeof(*kept));
    for (int i = 0; i < e->n; i++) {
        const struct node *was = &e->nodes[i];
        if (was->pin_station)
            kept[i].pin_station = kept[i].m[matcher_index(was, was->pin_station)].value;
        if (was->pin_zone)
            kept[i].pin_zone = kept[i].m[matcher_index(was, was->pin_zone)].value;
    }
    free(e->nodes);
    e->nodes = kept;
    e->scope = infer(e, e->root);
    find_primary(e);
    *out = e;
    return 0;
}

void fw_expr_free(struct fw_expr *e)
{
    if (!e)
        return;
    free(e->src);
    free(e->nodes);
    free(e);
}

enum fw_expr_scope fw_expr_scope(const struct fw_expr *e)
{
    return e->scope;
}

const char *fw_expr_scope_str(enum fw_expr_scope s)
{
    return s == FW_EXPR_STATION ? "station" : s == FW_EXPR_ZONE ? "zone" : "global";
}

const char *fw_expr_source(const struct fw_expr *e)
{
    return e->src;
}

int64_t fw_expr_range_ms(const struct fw_expr *e, const struct fw_metric *m)
{
    int64_t r = -1;
    for (int i = 0; i < e->n; i++) {
        const struct node *nd = &e->nodes[i];
        /* absent_for looks only at the newest sample, which a series always keeps. */
        int64_t need = nd->op == N_WINDOW ? nd->range_ms : 0;
        if ((nd->op == N_SEL || nd->op == N_WINDOW || nd->op == N_ABSENT) && nd->metric == m &&
            need > r)
            r = need;
    }
    return r;
}

int fw_expr_window_over(const struct fw_expr *e, int64_t max_ms, int64_t *range_ms)
{
    for (int i = 0; i < e->n; i++)
        if (e->nodes[i].op == N_WINDOW && e->nodes[i].range_ms > max_ms) {
            *range_ms = e->nodes[i].range_ms;
            return e->nodes[i].pos;
        }
    return -1;
}

static enum fw_expr_reach reach_walk(const struct fw_expr *e, int i, const struct fw_metric *m,
                                     enum fw_expr_reach inside)
{
    if (i < 0)
        return FW_REACH_NONE;
    const struct node *nd = &e->nodes[i];
    enum fw_expr_reach r = FW_REACH_NONE, sub;
    switch (nd->op) {
    case N_SEL:
    case N_WINDOW:
    case N_ABSENT:
        if (nd->metric != m)
            return FW_REACH_NONE;
        if (nd->pin_station || nd->pin_zone)
            return FW_REACH_ALL;
        /* A zone value read where the context is a station reaches every station of it. */
        if (m->scope == FW_METRIC_ZONE && e->scope == FW_EXPR_STATION && inside == FW_REACH_SELF)
            return FW_REACH_ZONE;
        return inside;
    case N_AGG:
        return reach_walk(e, nd->a, m,
                          nd->by_zone && inside != FW_REACH_ALL ? FW_REACH_ZONE : FW_REACH_ALL);
    default:
        sub = reach_walk(e, nd->a, m, inside);
        r = sub > r ? sub : r;
        sub = reach_walk(e, nd->b, m, inside);
        return sub > r ? sub : r;
    }
}

enum fw_expr_reach fw_expr_reach(const struct fw_expr *e, const struct fw_metric *m)
{
    return reach_walk(e, e->root, m, FW_REACH_SELF);
}

int fw_expr_time_dependent(const struct fw_expr *e)
{
    return e->time_dependent;
}

int fw_expr_same_metrics(const struct fw_expr *a, const struct fw_expr *b)
{
    if (a->n != b->n)
        return 0;
    for (int i = 0; i < a->n; i++) {
        const struct fw_metric *x = a->nodes[i].metric, *y = b->nodes[i].metric;
        if (!x != !y || (x && fw_metric_id(x) != fw_metric_id(y)))
            return 0;
    }
    return 1;
}

const struct fw_metric *fw_expr_primary_metric(const struct fw_expr *e, double *threshold,
                                               int *has_threshold, const char **op)
{
    static const char *const cmp_names[] = {">", ">=", "<", "<=", "==", "!="};
    *has_threshold = 0;
    *op = NULL;
    if (e->primary_cmp < 0)
        return NULL;
    const struct node *c = &e->nodes[e->primary_cmp];
    *op = cmp_names[c->sub];
    if (e->nodes[c->b].op == N_NUM) {
        *threshold = e->nodes[c->b].num;
        *has_threshold = 1;
    }
    const struct node *p = &e->nodes[e->primary];
    return p->op == N_SEL || p->op == N_WINDOW ? p->metric : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Evaluation                                                                                  */
/* ------------------------------------------------------------------------------------------ */

struct eval {
    const struct fw_expr *e;
    const struct fw_expr_ctx *ctx;
    struct fw_expr_primary *primary;
    int64_t sample_t; /* time of the sample the last instant read returned */
    /* The earliest time after now_ms at which a read made so far may change with time alone,
     * its series unchanged (INT64_MAX: never): how long an incremental aggregation may keep a
     * station's value. */
    int64_t change_ms;
};

/* a + b, held at the ends of int64_t: a time that far away is never reached anyway. */
static int64_t add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

static void change_at(struct eval *ev, int64_t t)
{
    if (t < ev->change_ms)
        ev->change_ms = t;
}

static const char *source_name(enum fw_source_kind k)
{
    return fw_source_str(k);
}

/*
 * The series a selector reads in the context: a pinned station or zone, or the context's own.
 * NULL when the context does not match the matchers (the value is then unknown).
 */
static const struct fw_series *resolve(const struct node *nd, const struct fw_cfg_node *station,
                                       const struct fw_cfg_zone *zone,
                                       const struct fw_expr_env *env)
{
    const char *key, *zone_id;
    if (nd->metric->scope == FW_METRIC_STATION) {
        if (nd->pin_station) {
            const struct fw_cfg_node *pinned = fw_config_node(env->cfg, nd->pin_station);
            key = nd->pin_station;
            zone_id = pinned ? pinned->zone : "";
        } else {
            if (!station)
                return NULL;
            key = station->id;
            zone_id = station->zone;
        }
    } else {
        if (nd->pin_zone)
            zone_id = nd->pin_zone;
        else if (zone)
            zone_id = zone->id;
        else if (station)
            zone_id = station->zone;
        else
            return NULL;
        key = zone_id;
    }
    for (int k = 0; k < nd->nm; k++) {
        const struct matcher *m = &nd->m[k];
        const char *have = m->label == L_ZONE ? zone_id : m->label == L_STATION ? key : NULL;
        if (m->label == L_SOURCE)
            continue; /* checked against the series below */
        if ((strcmp(have, m->value) == 0) == m->negate)
            return NULL;
    }
    const struct fw_series *s = fw_series_find(env->series, nd->metric, key);
    for (int k = 0; s && k < nd->nm; k++) {
        const struct matcher *m = &nd->m[k];
        if (m->label == L_SOURCE && (strcmp(source_name(s->source), m->value) == 0) == m->negate)
            return NULL;
    }
    return s;
}

/*
 * For absent_for: does the context station (or zone) fall under the selector at all? A station
 * that matches and has no series is absent; one that does not match is not asked about.
 */
static int context_matches(const struct node *nd, const struct fw_cfg_node *station,
                           const struct fw_cfg_zone *zone)
{
    const char *key, *zone_id;
    if (nd->metric->scope == FW_METRIC_STATION) {
        if (!station && !nd->pin_station)
            return 0;
        key = nd->pin_station ? nd->pin_station : station->id;
        zone_id = nd->pin_station ? NULL : station->zone;
    } else {
        zone_id = nd->pin_zone ? nd->pin_zone : zone ? zone->id : station ? station->zone : NULL;
        if (!zone_id)
            return 0;
        key = zone_id;
    }
    for (int k = 0; k < nd->nm; k++) {
        const struct matcher *m = &nd->m[k];
        if (m->label == L_SOURCE || (m->label == L_ZONE && !zone_id))
            continue;
        const char *have = m->label == L_ZONE ? zone_id : key;
        if ((strcmp(have, m->value) == 0) == m->negate)
            return 0;
    }
    return 1;
}

/* A function over the samples in (now - range, now]; the oldest of them leaves the window at
 * its time + range, when the result may change (change_at). */
static double window(struct eval *ev, const struct node *nd, const struct fw_series *s, int64_t now)
{
    if (!s)
        return NAN;
    uint32_t from = fw_series_lower_bound(s, now - nd->range_ms + 1), len = fw_series_len(s);
    uint32_t n = len - from;
    int64_t t = 0, t0 = 0;
    double v, prev = 0, first = 0, acc = 0;
    if (n > 0) {
        fw_series_at(s, from, &t, &v);
        change_at(ev, add_sat(t, nd->range_ms));
    }
    if (nd->sub == W_COUNT)
        return n;
    if (n == 0)
        return NAN;
    for (uint32_t i = from; i < len; i++) {
        fw_series_at(s, i, &t, &v);
        if (i == from) {
            first = v;
            t0 = t;
            acc = nd->sub == W_RATE || nd->sub == W_CHANGES ? 0 : v;
        } else {
            switch (nd->sub) {
            case W_AVG:
            case W_SUM:
                acc += v;
                break;
            case W_MIN:
                acc = v < acc ? v : acc;
                break;
            case W_MAX:
                acc = v > acc ? v : acc;
                break;
            case W_RATE:
                /* A drop is a counter reset (a node rebooted): count from zero again. */
                acc += v >= prev ? v - prev : v;
                break;
            case W_CHANGES:
                acc += v != prev;
                break;
            default:
                break;
            }
        }
        prev = v;
    }
    switch (nd->sub) {
    case W_AVG:
        return acc / n;
    case W_RATE:
        return n < 2 || t == t0 ? NAN : acc / ((double)(t - t0) / 1000.0);
    case W_DELTA:
        return n < 2 ? NAN : prev - first;
    default:
        return acc;
    }
}

static double eval_node(struct eval *ev, int i, const struct fw_cfg_node *station,
                        const struct fw_cfg_zone *zone);

/* ------------------------------------------------------------------------------------------ */
/* Aggregations                                                                                */
/* ------------------------------------------------------------------------------------------ */

/*
 * sum and avg add their terms exactly: the sum is an integer in units of 2^-1074 (the smallest
 * double), held as 32-bit digits in int64_t limbs, and rounded once (to nearest, ties to even)
 * when read. Its value does not depend on the order of the terms, nor on what was added and
 * taken away before, so a running sum kept per zone reads the very value a sum taken afresh
 * reads; a running sum of doubles would drift with every removal. A double is below 2^1024, so
 * 2^2098 units; 68 limbs of 32 bits leave room for 2^32 terms and the sign.
 */
#define XSUM_LIMBS 68
#define XSUM_CARRY_EVERY (1u << 30) /* a limb takes 2^31 digits before it could overflow */

struct xsum {
    int64_t d[XSUM_LIMBS];
    uint32_t since_carry;
    int64_t n;        /* terms */
    int64_t neg_zero; /* terms that are -0.0: a sum of those alone is -0.0, as IEEE adds */
    int64_t pinf, ninf;
};

static void xsum_clear(struct xsum *x)
{
    memset(x, 0, sizeof(*x));
}

/* Every limb but the top one into [0, 2^32); the top one keeps the sign. */
static void xsum_carry(int64_t *d)
{
    for (int i = 0; i + 1 < XSUM_LIMBS; i++) {
        int64_t c = d[i] >> 32; /* floor(d / 2^32): the shift is arithmetic */
        d[i] &= 0xffffffff;
        d[i + 1] += c;
    }
}

/* Add `v` (finite or infinite, not NaN) once when `sign` is 1, take it away when -1. */
static void xsum_add(struct xsum *x, double v, int sign)
{
    x->n += sign;
    if (isinf(v)) {
        *(v > 0 ? &x->pinf : &x->ninf) += sign;
        return;
    }
    if (v == 0) {
        x->neg_zero += signbit(v) ? sign : 0;
        return;
    }
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    int biased = (int)(bits >> 52 & 0x7ff);
    uint64_t mant = bits & ((1ULL << 52) - 1);
    int shift = 0; /* a subnormal is mant units; a normal number (mant | 2^52) << (biased - 1) */
    if (biased) {
        mant |= 1ULL << 52;
        shift = biased - 1;
    }
    unsigned __int128 w = (unsigned __int128)mant << (shift % 32);
    int64_t s = ((bits >> 63) ? -1 : 1) * sign;
    int64_t *d = &x->d[shift / 32];
    d[0] += s * (int64_t)(uint32_t)w;
    d[1] += s * (int64_t)(uint32_t)(w >> 32);
    d[2] += s * (int64_t)(uint32_t)(w >> 64);
    if (++x->since_carry == XSUM_CARRY_EVERY) {
        xsum_carry(x->d);
        x->since_carry = 0;
    }
}

/* The sum rounded to the nearest double (ties to even); NaN for +inf and -inf together. */
static double xsum_round(const struct xsum *x)
{
    if (x->pinf || x->ninf)
        return x->pinf && x->ninf ? NAN : x->pinf ? INFINITY : -INFINITY;
    if (x->n > 0 && x->neg_zero == x->n)
        return -0.0;
    int64_t d[XSUM_LIMBS];
    memcpy(d, x->d, sizeof(d));
    xsum_carry(d);
    int neg = d[XSUM_LIMBS - 1] < 0;
    if (neg) {
        for (int i = 0; i < XSUM_LIMBS; i++)
            d[i] = -d[i];
        xsum_carry(d);
    }
    int h = XSUM_LIMBS - 1;
    while (h >= 0 && d[h] == 0)
        h--;
    if (h < 0)
        return 0.0;
    int top_bits = 64 - __builtin_clzll((uint64_t)d[h]);
    int bits = 32 * h + top_bits;
    double r;
    if (bits <= 53) {
        /* Fewer than 54 significant bits: exact, subnormal results included. */
        uint64_t m = (uint64_t)d[0] | (h ? (uint64_t)d[1] << 32 : 0);
        r = ldexp((double)m, -1074);
    } else {
        /* The top three limbs hold the 53 bits kept, the rounding bit and some below it. */
        unsigned __int128 w = (unsigned __int128)(uint64_t)d[h] << 64 |
                              (unsigned __int128)(uint64_t)(h >= 1 ? d[h - 1] : 0) << 32 |
                              (uint64_t)(h >= 2 ? d[h - 2] : 0);
        int drop = top_bits + 64 - 53;
        uint64_t m = (uint64_t)(w >> drop);
        int half = (int)(w >> (drop - 1) & 1);
        int sticky = (w & (((unsigned __int128)1 << (drop - 1)) - 1)) != 0;
        for (int i = 0; !sticky && i < h - 2; i++)
            sticky = d[i] != 0;
        if (half && (sticky || (m & 1)))
            m++;
        r = ldexp((double)m, bits - 53 - 1074);
    }
    return neg ? -r : r;
}

/* What one element adds to a count: a condition where true, a number where it has a value. */
static double count_term(const struct node *inner, double v)
{
    return isnan(v) ? 0 : inner->type == T_BOOL ? (v != 0) : 1;
}

/* max keeps the first greatest value in station order, min the first least one. */
static int agg_prefers(int sub, double v, double than)
{
    return sub == G_MAX ? v > than : v < than;
}

/* The aggregation's value from its parts: `count` for count, `n` values for the others, their
 * exact sum for sum and avg, the preferred value `best` for min and max. */
static double agg_value(int sub, double count, int64_t n, const struct xsum *sum, double best)
{
    if (sub == G_COUNT)
        return count;
    if (n == 0)
        return NAN;
    if (sub == G_SUM)
        return xsum_round(sum);
    if (sub == G_AVG)
        return xsum_round(sum) / (double)n;
    return best;
}

/* Evaluate the aggregation's inner expression over its group of stations or zones, afresh. */
static double aggregate(struct eval *ev, const struct node *nd, const struct fw_cfg_node *station,
                        const struct fw_cfg_zone *zone)
{
    const struct fw_expr_env *env = ev->ctx->env;
    const struct fw_config *cfg = env->cfg;
    const struct node *inner = &ev->e->nodes[nd->a];
    const struct fw_cfg_zone *group = NULL;
    if (nd->by_zone) {
        group = zone ? zone : station ? station->zone_ref : NULL;
        if (!group)
            return NAN;
    }
    double count = 0, best = NAN;
    int64_t n = 0;
    struct xsum sum;
    if (nd->sub == G_SUM || nd->sub == G_AVG)
        xsum_clear(&sum);
    /* The elements: the stations the inner expression needs, else zones, else itself once. */
    size_t elements;
    if (inner->need == FW_EXPR_STATION)
        elements = group ? env->zone_nnodes[group - cfg->zones] : cfg->nnodes;
    else if (inner->need == FW_EXPR_ZONE)
        elements = group ? 1 : cfg->nzones;
    else
        elements = 1;
    for (size_t k = 0; k < elements; k++) {
        const struct fw_cfg_node *st = NULL;
        const struct fw_cfg_zone *zn = group;
        if (inner->need == FW_EXPR_STATION) {
            st = group ? &cfg->nodes[env->zone_nodes[group - cfg->zones][k]] : &cfg->nodes[k];
            zn = st->zone_ref;
        } else if (inner->need == FW_EXPR_ZONE && !group) {
            zn = &cfg->zones[k];
        }
        double v = eval_node(ev, nd->a, st, zn);
        count += count_term(inner, v);
        if (isnan(v) || nd->sub == G_COUNT)
            continue;
        if (nd->sub == G_SUM || nd->sub == G_AVG)
            xsum_add(&sum, v, 1);
        else if (n == 0 || agg_prefers(nd->sub, v, best))
            best = v;
        n++;
    }
    return agg_value(nd->sub, count, n, &sum, best);
}

/* ------------------------------------------------------------------------------------------ */
/* Incremental aggregations                                                                    */
/* ------------------------------------------------------------------------------------------ */

/*
 * An aggregation over stations whose inner expression reads only the element station's own
 * series is kept per group (a zone, or every station for an aggregation without `by`): each
 * station's value of the inner expression, when that value may change with time alone (`due`),
 * and the aggregate. An evaluation first computes again the stations that are due, those whose
 * series took a sample (fw_expr_aggs_touch makes them due at once) and those whose samples aged
 * past the lookback or out of a window; each such change costs O(log n) in heaps indexed by
 * station. The value then comes from the parts: a count, an exact sum, or the top of a heap of
 * values for min and max, ordered as the recomputation prefers (first in station order among
 * equals), so it is the value a recomputation gives, bit for bit.
 */
#define NO_POS UINT32_MAX

struct heap {
    uint32_t *at;  /* elements in heap order */
    uint32_t *pos; /* per element: its place in `at`, NO_POS when out */
    uint32_t n;
};

struct agg_group {
    double *val;  /* per element: the inner expression's value (NaN: unknown) */
    int64_t *due; /* per element: when it must be computed again (INT64_MAX: not by time) */
    struct heap by_due;
    struct heap by_val; /* min and max: the elements with a value, the preferred on top */
    struct xsum *sum;   /* sum and avg */
    double count;
    int built;
    /* What the kept values were computed against: a change of any starts the group over. */
    int64_t now_ms, start_ms, lookback_ms;
    const struct fw_series_store *series;
};

struct agg_slot {
    int node;    /* the N_AGG node */
    int inner_i; /* the inner expression's node */
    int sub;
    int by_zone;
    const struct node *inner;
    int metrics[8]; /* ids of the metrics the inner expression reads */
    int nmetrics;
    size_t ngroups; /* zones for `by (zone)`, else 1 */
    struct agg_group *groups;
};

struct fw_expr_aggs {
    const struct fw_expr *e;
    const struct fw_expr_env *env;
    int *slot_of; /* per node: its slot, -1 when recomputed */
    struct agg_slot *slots;
    int nslots;
    size_t bytes;
};

typedef int (*heap_before_fn)(const struct agg_group *g, int sub, uint32_t a, uint32_t b);

static int due_before(const struct agg_group *g, int sub, uint32_t a, uint32_t b)
{
    (void)sub;
    return g->due[a] < g->due[b] || (g->due[a] == g->due[b] && a < b);
}

static int val_before(const struct agg_group *g, int sub, uint32_t a, uint32_t b)
{
    return agg_prefers(sub, g->val[a], g->val[b]) ||
           (!agg_prefers(sub, g->val[b], g->val[a]) && a < b);
}

static void heap_swap(struct heap *h, uint32_t i, uint32_t j)
{
    uint32_t a = h->at[i], b = h->at[j];
    h->at[i] = b;
    h->at[j] = a;
    h->pos[b] = i;
    h->pos[a] = j;
}

/* Put element `k` in its place after its key changed, adding it when it is not in. */
static void heap_fix(struct heap *h, const struct agg_group *g, int sub, heap_before_fn before,
                     uint32_t k)
{
    uint32_t i = h->pos[k];
    if (i == NO_POS) {
        i = h->n++;
        h->at[i] = k;
        h->pos[k] = i;
    }
    while (i > 0 && before(g, sub, h->at[i], h->at[(i - 1) / 2])) {
        heap_swap(h, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && before(g, sub, h->at[l], h->at[m]))
            m = l;
        if (r < h->n && before(g, sub, h->at[r], h->at[m]))
            m = r;
        if (m == i)
            return;
        heap_swap(h, i, m);
        i = m;
    }
}

static void heap_remove(struct heap *h, const struct agg_group *g, int sub, heap_before_fn before,
                        uint32_t k)
{
    uint32_t i = h->pos[k];
    if (i == NO_POS)
        return;
    uint32_t last = h->at[--h->n];
    h->pos[k] = NO_POS;
    if (last == k)
        return;
    h->at[i] = last;
    h->pos[last] = i;
    heap_fix(h, g, sub, before, last);
}

/* The stations of group `gi`: those of a zone, or every station. */
static uint32_t group_size(const struct fw_expr_env *env, const struct agg_slot *sl, size_t gi)
{
    return (uint32_t)(sl->by_zone ? env->zone_nnodes[gi] : env->cfg->nnodes);
}

static const struct fw_cfg_node *element(const struct fw_expr_env *env, const struct agg_slot *sl,
                                         size_t gi, uint32_t k)
{
    return &env->cfg->nodes[sl->by_zone ? env->zone_nodes[gi][k] : k];
}

/* Compute station `k` again at the evaluation's time, and move the aggregate with it. */
static void refresh(struct eval *ev, const struct agg_slot *sl, struct agg_group *g, size_t gi,
                    uint32_t k)
{
    const struct fw_cfg_node *st = element(ev->ctx->env, sl, gi, k);
    int64_t outer = ev->change_ms;
    ev->change_ms = INT64_MAX;
    double v = eval_node(ev, sl->inner_i, st, st->zone_ref);
    int64_t due = ev->change_ms, now = ev->ctx->now_ms;
    ev->change_ms = outer;
    /* Every read's change lies after now; a time at the edge of int64_t is taken care of here,
     * so that an evaluation always ends: computing a value again is never wrong. */
    if (due <= now)
        due = add_sat(now, 1);
    double old = g->val[k];
    g->count += count_term(sl->inner, v) - count_term(sl->inner, old);
    if (g->sum) {
        if (!isnan(old))
            xsum_add(g->sum, old, -1);
        if (!isnan(v))
            xsum_add(g->sum, v, 1);
    }
    g->val[k] = v;
    if (g->by_val.at) {
        if (isnan(v))
            heap_remove(&g->by_val, g, sl->sub, val_before, k);
        else
            heap_fix(&g->by_val, g, sl->sub, val_before, k);
    }
    g->due[k] = due;
    if (due == INT64_MAX)
        heap_remove(&g->by_due, g, sl->sub, due_before, k);
    else
        heap_fix(&g->by_due, g, sl->sub, due_before, k);
}

/* Compute every station of the group: the first time, and whenever what the kept values were
 * computed against changed (the store, the start, the lookback, or time went backwards). */
static void group_build(struct eval *ev, const struct agg_slot *sl, struct agg_group *g, size_t gi)
{
    const struct fw_expr_env *env = ev->ctx->env;
    uint32_t n = group_size(env, sl, gi);
    g->count = 0;
    g->by_due.n = g->by_val.n = 0;
    if (g->sum)
        xsum_clear(g->sum);
    for (uint32_t k = 0; k < n; k++) {
        g->val[k] = NAN;
        g->due[k] = INT64_MAX;
        g->by_due.pos[k] = NO_POS;
        if (g->by_val.pos)
            g->by_val.pos[k] = NO_POS;
    }
    for (uint32_t k = 0; k < n; k++)
        refresh(ev, sl, g, gi, k);
    g->built = 1;
    g->series = env->series;
    g->start_ms = env->start_ms;
    g->lookback_ms = env->lookback_ms;
}

static double aggregate_kept(struct eval *ev, const struct agg_slot *sl,
                             const struct fw_cfg_node *station, const struct fw_cfg_zone *zone)
{
    const struct fw_expr_env *env = ev->ctx->env;
    int64_t now = ev->ctx->now_ms;
    size_t gi = 0;
    if (sl->by_zone) {
        const struct fw_cfg_zone *group = zone ? zone : station ? station->zone_ref : NULL;
        if (!group)
            return NAN;
        gi = (size_t)(group - env->cfg->zones);
    }
    struct agg_group *g = &sl->groups[gi];
    if (!g->built || now < g->now_ms || g->series != env->series || g->start_ms != env->start_ms ||
        g->lookback_ms != env->lookback_ms)
        group_build(ev, sl, g, gi);
    else
        while (g->by_due.n && g->due[g->by_due.at[0]] <= now)
            refresh(ev, sl, g, gi, g->by_due.at[0]);
    g->now_ms = now;
    int64_t n = g->sum ? g->sum->n : (int64_t)g->by_val.n;
    return agg_value(sl->sub, g->count, n, g->sum, g->by_val.n ? g->val[g->by_val.at[0]] : NAN);
}

/*
 * Can aggregation `i` be kept? Its elements must be stations, and its inner expression must read
 * nothing but their own series: no zone metric (one sample would change every station), no
 * pinned station, no aggregation. Collects the metrics read into the slot.
 */
static int keepable_walk(const struct fw_expr *e, int i, struct agg_slot *sl)
{
    if (i < 0)
        return 1;
    const struct node *nd = &e->nodes[i];
    switch (nd->op) {
    case N_AGG:
        return 0;
    case N_SEL:
    case N_WINDOW:
    case N_ABSENT: {
        if (nd->metric->scope != FW_METRIC_STATION || nd->pin_station)
            return 0;
        int id = fw_metric_id(nd->metric), k;
        for (k = 0; k < sl->nmetrics && sl->metrics[k] != id; k++)
            ;
        if (k == sl->nmetrics) {
            if (k == (int)FW_ARRAY_LEN(sl->metrics))
                return 0;
            sl->metrics[sl->nmetrics++] = id;
        }
        return 1;
    }
    default:
        return keepable_walk(e, nd->a, sl) && keepable_walk(e, nd->b, sl);
    }
}

static void *alloc_counted(struct fw_expr_aggs *a, size_t n, size_t size)
{
    a->bytes += (n ? n : 1) * size;
    return fw_xmalloc((n ? n : 1) * size);
}

struct fw_expr_aggs *fw_expr_aggs_new(const struct fw_expr *e, const struct fw_expr_env *env)
{
    struct fw_expr_aggs *a = fw_xcalloc(1, sizeof(*a));
    a->e = e;
    a->env = env;
    a->slots = fw_xcalloc((size_t)e->n, sizeof(*a->slots));
    for (int i = 0; i < e->n; i++) {
        const struct node *nd = &e->nodes[i];
        if (nd->op != N_AGG || e->nodes[nd->a].need != FW_EXPR_STATION)
            continue;
        struct agg_slot sl = {.node = i,
                              .inner_i = nd->a,
                              .sub = nd->sub,
                              .by_zone = nd->by_zone,
                              .inner = &e->nodes[nd->a]};
        if (keepable_walk(e, nd->a, &sl))
            a->slots[a->nslots++] = sl;
    }
    if (!a->nslots) {
        fw_expr_aggs_free(a);
        return NULL;
    }
    a->bytes = (size_t)e->n * sizeof(*a->slots);
    a->slot_of = alloc_counted(a, (size_t)e->n, sizeof(*a->slot_of));
    for (int i = 0; i < e->n; i++)
        a->slot_of[i] = -1;
    for (int s = 0; s < a->nslots; s++) {
        struct agg_slot *sl = &a->slots[s];
        a->slot_of[sl->node] = s;
        sl->ngroups = sl->by_zone ? env->cfg->nzones : 1;
        sl->groups = fw_xcalloc(sl->ngroups ? sl->ngroups : 1, sizeof(*sl->groups));
        a->bytes += sl->ngroups * sizeof(*sl->groups);
        for (size_t gi = 0; gi < sl->ngroups; gi++) {
            struct agg_group *g = &sl->groups[gi];
            uint32_t size = group_size(env, sl, gi);
            g->val = alloc_counted(a, size, sizeof(*g->val));
            g->due = alloc_counted(a, size, sizeof(*g->due));
            g->by_due.at = alloc_counted(a, size, sizeof(uint32_t));
            g->by_due.pos = alloc_counted(a, size, sizeof(uint32_t));
            if (sl->sub == G_MIN || sl->sub == G_MAX) {
                g->by_val.at = alloc_counted(a, size, sizeof(uint32_t));
                g->by_val.pos = alloc_counted(a, size, sizeof(uint32_t));
            }
            if (sl->sub == G_SUM || sl->sub == G_AVG)
                g->sum = alloc_counted(a, 1, sizeof(*g->sum));
        }
    }
    return a;
}

void fw_expr_aggs_free(struct fw_expr_aggs *a)
{
    if (!a)
        return;
    for (int s = 0; s < a->nslots; s++) {
        for (size_t gi = 0; gi < a->slots[s].ngroups; gi++) {
            struct agg_group *g = &a->slots[s].groups[gi];
            free(g->val);
            free(g->due);
            free(g->by_due.at);
            free(g->by_due.pos);
            free(g->by_val.at);
            free(g->by_val.pos);
            free(g->sum);
        }
        free(a->slots[s].groups);
    }
    free(a->slots);
    free(a->slot_of);
    free(a);
}

void fw_expr_aggs_touch(struct fw_expr_aggs *a, const struct fw_metric *m, size_t node)
{
    if (!a || node >= a->env->cfg->nnodes)
        return;
    const struct fw_expr_env *env = a->env;
    const struct fw_config *cfg = env->cfg;
    int id = fw_metric_id(m);
    for (int s = 0; s < a->nslots; s++) {
        struct agg_slot *sl = &a->slots[s];
        int k = 0;
        while (k < sl->nmetrics && sl->metrics[k] != id)
            k++;
        if (k == sl->nmetrics)
            continue; /* a metric this aggregation does not read */
        size_t gi = 0, at = node;
        if (sl->by_zone) {
            const struct fw_cfg_zone *z = cfg->nodes[node].zone_ref;
            if (!z)
                continue;
            /* The zone's stations are in config order: find the station's place by bisection. */
            gi = (size_t)(z - cfg->zones);
            size_t lo = 0, hi = env->zone_nnodes[gi];
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (env->zone_nodes[gi][mid] < node)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo == env->zone_nnodes[gi] || env->zone_nodes[gi][lo] != node)
                continue;
            at = lo;
        }
        struct agg_group *g = &sl->groups[gi];
        if (!g->built)
            continue; /* computed whole at its first evaluation */
        g->due[at] = INT64_MIN;
        heap_fix(&g->by_due, g, sl->sub, due_before, (uint32_t)at);
    }
}

size_t fw_expr_aggs_bytes(const struct fw_expr_aggs *a)
{
    return a ? sizeof(*a) + a->bytes : 0;
}

static double eval_node(struct eval *ev, int i, const struct fw_cfg_node *station,
                        const struct fw_cfg_zone *zone)
{
    const struct node *nd = &ev->e->nodes[i];
    const struct fw_expr_ctx *ctx = ev->ctx;
    double a, b, r;
    switch (nd->op) {
    case N_NUM:
        r = nd->num;
        break;
    case N_SEL: {
        const struct fw_series *s = resolve(nd, station, zone, ctx->env);
        int64_t t = ctx->now_ms;
        r = NAN;
        if (s && fw_series_len(s)) {
            fw_series_at(s, fw_series_len(s) - 1, &t, &r);
            int64_t lookback = ctx->env->lookback_ms;
            if (nd->metric && nd->metric->scope == FW_METRIC_ZONE &&
                lookback < FW_METRIC_ZONE_LOOKBACK_MS)
                lookback = FW_METRIC_ZONE_LOOKBACK_MS; /* a daily value holds for the day */
            if (ctx->now_ms - t > lookback)
                r = NAN; /* stale: the station has stopped telling us */
            else
                change_at(ev, add_sat(add_sat(t, lookback), 1));
        }
        ev->sample_t = t;
        break;
    }
    case N_WINDOW:
        r = window(ev, nd, resolve(nd, station, zone, ctx->env), ctx->now_ms);
        break;
    case N_ABSENT: {
        if (!context_matches(nd, station, zone)) {
            r = NAN;
            break;
        }
        /* Absent: nothing since `range` ago, and the gateway has watched that long. */
        int64_t since = ctx->now_ms - nd->range_ms;
        const struct fw_series *s = resolve(nd, station, zone, ctx->env);
        int64_t last = INT64_MIN, t;
        double v;
        if (s && fw_series_len(s)) {
            fw_series_at(s, fw_series_len(s) - 1, &t, &v);
            last = t;
        }
        r = last <= since && ctx->env->start_ms <= since;
        if (!r) /* true from max(last, start) + range on */
            change_at(ev,
                      add_sat(last > ctx->env->start_ms ? last : ctx->env->start_ms, nd->range_ms));
        break;
    }
    case N_AGG:
        r = ctx->aggs && ctx->aggs->slot_of[i] >= 0
                ? aggregate_kept(ev, &ctx->aggs->slots[ctx->aggs->slot_of[i]], station, zone)
                : aggregate(ev, nd, station, zone);
        break;
    case N_NEG:
        r = -eval_node(ev, nd->a, station, zone);
        break;
    case N_ARITH:
        a = eval_node(ev, nd->a, station, zone);
        b = eval_node(ev, nd->b, station, zone);
        switch (nd->sub) {
        case A_ADD:
            r = a + b;
            break;
        case A_SUB:
            r = a - b;
            break;
        case A_MUL:
            r = a * b;
            break;
        default:
            r = b == 0 ? NAN : a / b; /* no infinities: they would compare as real values */
            break;
        }
        break;
    case N_CMP:
        a = eval_node(ev, nd->a, station, zone);
        b = eval_node(ev, nd->b, station, zone);
        if (isnan(a) || isnan(b)) {
            r = NAN;
            break;
        }
        switch (nd->sub) {
        case C_GT:
            r = a > b;
            break;
        case C_GE:
            r = a >= b;
            break;
        case C_LT:
            r = a < b;
            break;
        case C_LE:
            r = a <= b;
            break;
        case C_EQ:
            r = a == b;
            break;
        default:
            r = a != b;
            break;
        }
        break;
    case N_AND:
        /* Kleene logic: false wins over unknown. Both sides are evaluated so the primary value
         * is known whatever the order of the facts. */
        a = eval_node(ev, nd->a, station, zone);
        b = eval_node(ev, nd->b, station, zone);
        r = a == 0 || b == 0 ? 0 : isnan(a) || isnan(b) ? NAN : 1;
        break;
    case N_OR:
        a = eval_node(ev, nd->a, station, zone);
        b = eval_node(ev, nd->b, station, zone);
        r = a == 1 || b == 1 ? 1 : isnan(a) || isnan(b) ? NAN : 0;
        break;
    case N_NOT:
        a = eval_node(ev, nd->a, station, zone);
        r = isnan(a) ? NAN : !a;
        break;
    default:
        r = NAN;
        break;
    }
    if (i == ev->e->primary && ev->primary) {
        ev->primary->value = r;
        ev->primary->time_ms = nd->op == N_SEL ? ev->sample_t : ctx->now_ms;
    }
    return r;
}

double fw_expr_eval(const struct fw_expr *e, const struct fw_expr_ctx *ctx,
                    struct fw_expr_primary *primary)
{
    struct eval ev = {.e = e, .ctx = ctx, .primary = primary, .change_ms = INT64_MAX};
    FW_ASSERT(!ctx->aggs || ctx->aggs->e == e);
    if (primary) {
        primary->value = NAN;
        primary->time_ms = ctx->now_ms;
    }
    return eval_node(&ev, e->root, ctx->station, ctx->zone);
}
