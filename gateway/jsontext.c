/* SPDX-License-Identifier: MIT */
/*
 * Positions in JSON text (include/forestwatch/jsontext.h): a second, small reader of JSON that
 * keeps what cJSON throws away, the place of everything. The syntax check follows cJSON's own
 * parser (cJSON.c 1.7: parse_value, parse_string, parse_number, parse_array, parse_object) step
 * by step, so that it stops where cJSON stopped and can say what it expected there; where cJSON
 * is lenient, so is it, or it would blame text that cJSON took. The path walk runs on text that
 * cJSON has already accepted and only skips values.
 */
#include "forestwatch/jsontext.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NESTING 1000 /* cJSON's CJSON_NESTING_LIMIT */
#define SHOWN 24         /* bytes of a stray token quoted in a message */

void fw_jsontext_line_col(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++; /* count characters, not UTF-8 continuation bytes */
        }
    }
}

static int is_space(char ch)
{
    return ch != '\0' && (unsigned char)ch <= 32; /* cJSON's buffer_skip_whitespace */
}

/* ------------------------------------------------------------------------------------------ */
/* The syntax check                                                                            */
/* ------------------------------------------------------------------------------------------ */

struct scan {
    const char *s;
    size_t len, pos;
    char *why;
    size_t n;
    long at;
    /* The last string value, when it ran over a line end: a missing closing quote swallows the
     * text up to the next quote, and the error shows only later. */
    size_t multiline_string;
    int has_multiline_string;
};

static int fail_at(struct scan *sc, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_at(struct scan *sc, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sc->why, sc->n, fmt, ap);
    va_end(ap);
    sc->at = (long)at;
    return -1;
}

static void skip_space(struct scan *sc)
{
    while (sc->pos < sc->len && is_space(sc->s[sc->pos]))
        sc->pos++;
}

/* The token at `at` as a message quotes it: a string, a word, one character, or the end. */
static void token(const struct scan *sc, size_t at, char *out, size_t size)
{
    const char *p = sc->s + at;
    size_t k = 0;
    if (at >= sc->len) {
        snprintf(out, size, "the end of the file");
        return;
    }
    if (*p == '"') {
        for (k = 1; at + k < sc->len && p[k] != '"' && p[k] != '\n' && k < SHOWN; k++)
            if (p[k] == '\\' && at + k + 1 < sc->len)
                k++;
        int closed = at + k < sc->len && p[k] == '"';
        snprintf(out, size, "%.*s%s", (int)k + closed, p, closed ? "" : "...");
        return;
    }
    while (
        at + k < sc->len && k < SHOWN &&
        (isalnum((unsigned char)p[k]) || p[k] == '_' || p[k] == '-' || p[k] == '+' || p[k] == '.'))
        k++;
    if (k == 0) /* one character, whole even when it takes several UTF-8 bytes */
        for (k = 1; at + k < sc->len && ((unsigned char)p[k] & 0xC0) == 0x80; k++)
            ;
    snprintf(out, size, "'%.*s'", (int)k, p);
}

/* " (opened at line L, column C)" of the bracket at `open`. */
static void opened_at(const struct scan *sc, size_t open, char *out, size_t size)
{
    int line, col;
    fw_jsontext_line_col(sc->s, open, &line, &col);
    snprintf(out, size, "line %d, column %d", line, col);
}

/* After a value of a container went wrong: the hint of a string that swallowed a line end. */
static void hint(const struct scan *sc, char *out, size_t size)
{
    out[0] = '\0';
    if (sc->has_multiline_string) {
        int line, col;
        fw_jsontext_line_col(sc->s, sc->multiline_string, &line, &col);
        snprintf(out, size,
                 " (the string that starts at line %d, column %d runs over a line end: is its "
                 "closing '\"' missing?)",
                 line, col);
    }
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)p[i], d = isdigit(c)             ? c - '0'
                                         : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                         : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                                : -1;
        if (d < 0)
            return 0; /* as cJSON's parse_hex4, which then takes it as U+0000 */
        v = v << 4 | (unsigned)d;
    }
    return v;
}

/* A string at sc->pos ('"'); `what` names it for messages ("a member name", "a string"). */
static int scan_string(struct scan *sc, const char *what)
{
    size_t open = sc->pos, end = open + 1;
    while (end < sc->len && sc->s[end] != '"')
        end += sc->s[end] == '\\' ? 2 : 1;
    if (end >= sc->len)
        return fail_at(sc, open, "unterminated %s: no closing '\"' before the end of the file",
                       what);
    for (size_t i = open + 1; i < end; i++) {
        if (sc->s[i] != '\\')
            continue;
        char e = sc->s[i + 1];
        if (e && strchr("bfnrt\"\\/", e)) {
            i++;
            continue;
        }
        if (e != 'u')
            return fail_at(sc, i,
                           "invalid escape '\\%c' in %s (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r "
                           "\\t and \\uXXXX)",
                           e ? e : ' ', what);
        if (end - i < 6)
            return fail_at(sc, i, "'\\u' needs four hex digits");
        unsigned u = hex4(sc->s + i + 2);
        if (u >= 0xDC00 && u <= 0xDFFF)
            return fail_at(sc, i, "'\\u%.4s' is the second half of a UTF-16 pair, alone",
                           sc->s + i + 2);
        if (u >= 0xD800 && u <= 0xDBFF) {
            unsigned lo = end - i >= 12 && sc->s[i + 6] == '\\' && sc->s[i + 7] == 'u'
                              ? hex4(sc->s + i + 8)
                              : 0;
            if (lo < 0xDC00 || lo > 0xDFFF)
                return fail_at(sc, i,
                               "'\\u%.4s' is the first half of a UTF-16 pair: another \\uXXXX "
                               "(DC00..DFFF) must follow",
                               sc->s + i + 2);
            i += 6;
        }
        i += 5;
    }
    sc->has_multiline_string = memchr(sc->s + open, '\n', end - open) != NULL;
    sc->multiline_string = open;
    sc->pos = end + 1;
    return 0;
}

/* A number as cJSON reads one: what strtod takes of the run of [0-9+-.eE] (63 at most). */
static int scan_number(struct scan *sc)
{
    char buf[64];
    size_t k = 0;
    while (k < sizeof(buf) - 1 && sc->pos + k < sc->len && sc->s[sc->pos + k] &&
           strchr("0123456789+-.eE", sc->s[sc->pos + k]))
        k++;
    memcpy(buf, sc->s + sc->pos, k);
    buf[k] = '\0';
    char *end;
    strtod(buf, &end);
    if (end == buf) {
        char got[64];
        token(sc, sc->pos, got, sizeof(got));
        return fail_at(sc, sc->pos, "expected a value, got %s: not a number", got);
    }
    sc->pos += (size_t)(end - buf);
    return 0;
}

static int scan_value(struct scan *sc, int depth);

/*
 * Step into the array or object at sc->pos. Returns 1 when it is empty (and stepped over), 0
 * when its contents follow, -1 when it is nested too deep. `where` gets its place, for messages.
 */
static int enter(struct scan *sc, int depth, char close, char *where, size_t size)
{
    if (depth >= MAX_NESTING)
        return fail_at(sc, sc->pos, "nested deeper than %d arrays and objects", MAX_NESTING);
    opened_at(sc, sc->pos, where, size);
    sc->pos++;
    skip_space(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == close) {
        sc->pos++;
        return 1;
    }
    return 0;
}

/* The file ends inside the array or object opened at `where`. */
static int unclosed(struct scan *sc, const char *where, char close)
{
    return fail_at(sc, sc->len, "unexpected end of file: the %s opened at %s has no closing '%c'",
                   close == ']' ? "array" : "object", where, close);
}

static int scan_array(struct scan *sc, int depth)
{
    char where[64], got[64], h[160];
    int empty = enter(sc, depth, ']', where, sizeof(where));
    if (empty)
        return empty < 0 ? -1 : 0;
    for (size_t index = 0;; index++) {
        if (sc->pos >= sc->len)
            return unclosed(sc, where, ']');
        if (scan_value(sc, depth + 1) < 0)
            return -1;
        skip_space(sc);
        if (sc->pos >= sc->len)
            return unclosed(sc, where, ']');
        char c = sc->s[sc->pos];
        if (c == ']') {
            sc->pos++;
            sc->has_multiline_string = 0; /* closed in order: not the culprit of what follows */
            return 0;
        }
        if (c != ',') {
            token(sc, sc->pos, got, sizeof(got));
            hint(sc, h, sizeof(h));
            return fail_at(sc, sc->pos,
                           "expected ',' or ']' after element [%zu] of the array opened at %s, "
                           "got %s%s",
                           index, where, got, h);
        }
        size_t comma = sc->pos++;
        skip_space(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == ']')
            return fail_at(sc, comma, "trailing comma");
    }
}

static int scan_object(struct scan *sc, int depth)
{
    char where[64], got[64], h[160], name[48];
    int empty = enter(sc, depth, '}', where, sizeof(where));
    if (empty)
        return empty < 0 ? -1 : 0;
    for (;;) {
        if (sc->pos >= sc->len)
            return unclosed(sc, where, '}');
        char c = sc->s[sc->pos];
        if (c == '\'')
            return fail_at(sc, sc->pos, "strings take double quotes");
        if (c != '"') {
            token(sc, sc->pos, got, sizeof(got));
            return fail_at(sc, sc->pos, "expected a member name in double quotes, got %s", got);
        }
        size_t key = sc->pos;
        if (scan_string(sc, "member name") < 0)
            return -1;
        snprintf(name, sizeof(name), "%.*s%s", (int)(sc->pos - key > 40 ? 40 : sc->pos - key),
                 sc->s + key, sc->pos - key > 40 ? "...\"" : "");
        skip_space(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != ':') {
            token(sc, sc->pos, got, sizeof(got));
            return fail_at(sc, sc->pos, "expected ':' after the member name %s, got %s", name, got);
        }
        sc->pos++;
        skip_space(sc);
        if (scan_value(sc, depth + 1) < 0)
            return -1;
        skip_space(sc);
        if (sc->pos >= sc->len)
            return unclosed(sc, where, '}');
        c = sc->s[sc->pos];
        if (c == '}') {
            sc->pos++;
            sc->has_multiline_string = 0;
            return 0;
        }
        if (c != ',') {
            token(sc, sc->pos, got, sizeof(got));
            hint(sc, h, sizeof(h));
            return fail_at(sc, sc->pos, "expected ',' or '}' after the member %s, got %s%s", name,
                           got, h);
        }
        size_t comma = sc->pos++;
        skip_space(sc);
        if (sc->pos < sc->len && sc->s[sc->pos] == '}')
            return fail_at(sc, comma, "trailing comma");
    }
}

static int scan_value(struct scan *sc, int depth)
{
    static const char *const literals[] = {"null", "false", "true"};
    char got[64];
    skip_space(sc);
    sc->has_multiline_string = 0;
    if (sc->pos >= sc->len)
        return fail_at(sc, sc->len, "unexpected end of file: expected a value");
    const char *p = sc->s + sc->pos;
    for (size_t i = 0; i < sizeof(literals) / sizeof(literals[0]); i++)
        if (strncmp(p, literals[i], strlen(literals[i])) == 0) {
            sc->pos += strlen(literals[i]);
            return 0;
        }
    if (*p == '"')
        return scan_string(sc, "string");
    if (*p == '-' || isdigit((unsigned char)*p))
        return scan_number(sc);
    if (*p == '[')
        return scan_array(sc, depth);
    if (*p == '{')
        return scan_object(sc, depth);
    if (*p == '\'')
        return fail_at(sc, sc->pos, "strings take double quotes");
    token(sc, sc->pos, got, sizeof(got));
    return fail_at(sc, sc->pos,
                   "expected a value (a string, number, object, array, true, false or null), "
                   "got %s",
                   got);
}

long fw_jsontext_syntax(const char *text, size_t len, char *why, size_t n)
{
    struct scan sc = {.s = text, .len = len, .why = why, .n = n, .at = -1};
    char got[64];
    if (n)
        why[0] = '\0';
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        sc.pos = 3; /* a byte-order mark, which cJSON skips too */
    skip_space(&sc);
    if (sc.pos >= len)
        return fail_at(&sc, len, "the file holds no JSON value"), sc.at;
    if (scan_value(&sc, 0) < 0)
        return sc.at;
    skip_space(&sc);
    if (sc.pos < len) {
        token(&sc, sc.pos, got, sizeof(got));
        fail_at(&sc, sc.pos, "text after the end of the JSON value, got %s", got);
    }
    return sc.at;
}

/* ------------------------------------------------------------------------------------------ */
/* The line of a path                                                                          */
/* ------------------------------------------------------------------------------------------ */

static const char *skip_ws(const char *p)
{
    while (is_space(*p))
        p++;
    return p;
}

static const char *skip_string(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    return *p ? p + 1 : p;
}

/* Past the value at p (text cJSON accepted; on anything else, never past the NUL). */
static const char *skip_value(const char *p)
{
    p = skip_ws(p);
    if (*p == '"')
        return skip_string(p);
    if (*p != '{' && *p != '[') {
        while (*p && !is_space(*p) && !strchr(",]}", *p))
            p++;
        return p;
    }
    for (int depth = 0; *p;) {
        if (*p == '"') {
            p = skip_string(p);
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
        p++;
    }
    return p;
}

/* Whether `p` holds at least `n` bytes before its NUL, looking at those n only (never strlen:
 * this runs for every escape of a file that may be 32 MiB). */
static int has_bytes(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!p[i])
            return 0;
    return 1;
}

/* Does the JSON string at p (its quote) hold exactly `name` (`len` bytes)? Escapes decoded. */
static int string_is(const char *p, const char *name, size_t len)
{
    size_t k = 0;
    for (p++; *p && *p != '"'; p++) {
        char buf[4];
        size_t n = 1;
        buf[0] = *p;
        if (*p == '\\' && p[1]) {
            p++;
            static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
            const char *e = strchr(from, *p);
            buf[0] = e && *p ? to[e - from] : *p;
            if (*p == 'u' && has_bytes(p, 5)) {
                unsigned cp = hex4(p + 1);
                p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF && p[1] == '\\' && p[2] == 'u' &&
                    has_bytes(p + 1, 6)) {
                    cp = 0x10000 + ((cp & 0x3FF) << 10 | (hex4(p + 3) & 0x3FF));
                    p += 6;
                }
                n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
                static const unsigned char lead[] = {0, 0, 0xC0, 0xE0, 0xF0};
                for (size_t i = n - 1; i > 0; i--, cp >>= 6)
                    buf[i] = (char)(0x80 | (cp & 0x3F));
                buf[0] = (char)(lead[n] | cp);
            }
        }
        if (k + n > len || memcmp(name + k, buf, n) != 0)
            return 0;
        k += n;
    }
    return k == len;
}

/* The next step of a path: a name (`*index` -1) or an index. Returns past it, or NULL. */
static const char *path_step(const char *s, const char **name, size_t *len, long *index)
{
    if (*s == '.') {
        *name = ++s;
        while (isalnum((unsigned char)*s) || *s == '_' || *s == '-')
            s++;
        *len = (size_t)(s - *name);
        *index = -1;
        return *len ? s : NULL;
    }
    if (s[0] == '[' && s[1] == '"') {
        const char *close = strstr(s + 2, "\"]");
        if (!close)
            return NULL;
        *name = s + 2;
        *len = (size_t)(close - *name);
        *index = -1;
        return close + 2;
    }
    if (s[0] == '[' && isdigit((unsigned char)s[1])) {
        char *end;
        *index = strtol(s + 1, &end, 10);
        return *end == ']' ? end + 1 : NULL;
    }
    return NULL;
}

int fw_jsontext_path_line(const char *text, const char *path, unsigned dup, const char **end)
{
    int line = 0, col;
    *end = path;
    if (*path != '$')
        return 0;
    const char *p = skip_ws(text + (strncmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0));
    const char *step = path + 1, *next, *name = NULL;
    size_t len = 0;
    long index;
    if (*step != '.' && *step != '[')
        fw_jsontext_line_col(text, (size_t)(p - text), &line, &col); /* "$" itself */
    for (; (next = path_step(step, &name, &len, &index)) != NULL; step = next) {
        const char *at = NULL, *value = NULL;
        unsigned seen = 0;
        char close = index < 0 ? '}' : ']';
        if (*p != (index < 0 ? '{' : '['))
            break;
        p = skip_ws(p + 1);
        for (long i = 0; *p && *p != close; i++) {
            const char *start = p;
            if (index < 0) {
                int match = *p == '"' && string_is(p, name, len);
                p = skip_ws(skip_string(p));
                if (*p == ':')
                    p = skip_ws(p + 1);
                if (match && seen++ <= dup) {
                    at = start; /* the dup-th later one, or the last there is */
                    value = p;
                    if (dup == 0)
                        break; /* the first is the one: no need to read the rest */
                }
            } else if (i == index) {
                at = value = p;
                break;
            }
            p = skip_ws(skip_value(p));
            if (*p == ',')
                p = skip_ws(p + 1);
            else if (*p != close)
                break; /* not JSON after all: stop where the text stops making sense */
        }
        if (!at)
            break;
        fw_jsontext_line_col(text, (size_t)(at - text), &line, &col);
        p = skip_ws(value);
    }
    /* The path goes on as far as it is written, found or not. */
    for (*end = step; (next = path_step(*end, &name, &len, &index)) != NULL;)
        *end = next;
    return line;
}
