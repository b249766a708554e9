/* SPDX-License-Identifier: MIT */
/*
 * Positions in JSON text: the syntax check agrees with cJSON on what is JSON (over thousands of
 * damaged copies of the shipped config) and says what is wrong; the line of a JSON path, with
 * names that need quoting or escapes, duplicates, indexes and steps that are not written.
 */
#include "forestwatch/config.h"
#include "forestwatch/jsontext.h"
#include "forestwatch/util.h"
#include "test.h"

#include <cJSON.h>
#include <string.h>

/* The reason for `text`, or "" when it is valid; *at gets the offset. */
static const char *syntax(const char *text, long *at)
{
    static char why[256];
    *at = fw_jsontext_syntax(text, strlen(text), why, sizeof(why));
    return why;
}

FW_TEST(syntax_says_what)
{
    long at;
    ASSERT_STR_EQ(syntax("{\"a\": 1}", &at), "");
    ASSERT_EQ(at, -1);
    ASSERT_STR_EQ(syntax("{\"a\": 1 \"b\": 2}", &at),
                  "expected ',' or '}' after the member \"a\", got \"b\"");
    ASSERT_EQ(at, 8);
    ASSERT_STR_EQ(syntax("{\"a\": [1 2]}", &at),
                  "expected ',' or ']' after element [0] of the array opened at line 1, column 7, "
                  "got '2'");
    ASSERT_STR_EQ(syntax("{\"a\": [1, 2, ]}", &at), "trailing comma");
    ASSERT_EQ(at, 11);
    ASSERT_STR_EQ(syntax("{\"a\": 1,\n}", &at), "trailing comma");
    ASSERT_EQ(at, 7);
    ASSERT_STR_EQ(syntax("{\"a\" 1}", &at), "expected ':' after the member name \"a\", got '1'");
    ASSERT_STR_EQ(syntax("{a: 1}", &at), "expected a member name in double quotes, got 'a'");
    ASSERT_STR_EQ(syntax("{'a': 1}", &at), "strings take double quotes");
    ASSERT_STR_EQ(syntax("{\"a\": 'x'}", &at), "strings take double quotes");
    ASSERT_STR_EQ(syntax("{\"a\": on}", &at),
                  "expected a value (a string, number, object, array, true, false or null), "
                  "got 'on'");
    ASSERT_STR_EQ(syntax("{\"a\": -}", &at), "expected a value, got '-': not a number");
    ASSERT_STR_EQ(syntax("{\"a\": \"x}", &at),
                  "unterminated string: no closing '\"' before the end of the file");
    ASSERT_EQ(at, 6);
    ASSERT_STR_EQ(syntax("{\"a\": \"\\x\"}", &at),
                  "invalid escape '\\x' in string (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t "
                  "and \\uXXXX)");
    ASSERT_STR_EQ(syntax("{\"a\": \"\\udc00\"}", &at),
                  "'\\udc00' is the second half of a UTF-16 pair, alone");
    ASSERT_STR_EQ(syntax("{\"a\": 1}}", &at), "text after the end of the JSON value, got '}'");
    ASSERT_STR_EQ(syntax("  ", &at), "the file holds no JSON value");
    ASSERT_STR_EQ(syntax("{\"a\": {\"b\": [1,\n", &at),
                  "unexpected end of file: the array opened at line 1, column 13 has no "
                  "closing ']'");
    /* A closing quote forgotten: the string swallows the line end; the hint says so. */
    ASSERT_STR_EQ(syntax("{\"a\": \"x,\n \"b\": 2}", &at),
                  "expected ',' or '}' after the member \"a\", got 'b' (the string that starts "
                  "at line 1, column 7 runs over a line end: is its closing '\"' missing?)");
    /* cJSON's leniencies are not errors: leading zeros, a bare "1.", control bytes as space. */
    ASSERT_STR_EQ(syntax("{\"a\": 01, \"b\": 1., \"c\":\x01true}", &at), "");
    /* As deep as cJSON goes, and no deeper. */
    char deep[2 * 1001 + 1];
    memset(deep, '[', 1000);
    memset(deep + 1000, ']', 1000);
    deep[2000] = '\0';
    ASSERT_STR_EQ(syntax(deep, &at), "");
    memset(deep, '[', 1001);
    memset(deep + 1001, ']', 1001);
    deep[2002] = '\0';
    ASSERT_STR_EQ(syntax(deep, &at), "nested deeper than 1000 arrays and objects");
}

/* A small deterministic generator (xorshift), so that a failure can be replayed. */
static uint32_t next_random(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

FW_TEST(syntax_agrees_with_cjson)
{
    struct fw_cfg_errors errs = {0};
    size_t len;
    int rc;
    char *good = fw_cfg_read_text(FW_SOURCE_DIR "/config/forestwatch.json", "forestwatch.json",
                                  FW_CONFIG_MAX_FILE_BYTES, &len, &errs, &rc);
    ASSERT_TRUE(good);
    static const char bytes[] = ",:{}[]\"'\\ \nu0e.-tx";
    uint32_t seed = 0x2545F491;
    char *text = fw_xmalloc(len + 2);
    int invalid = 0;
    for (int round = 0; round < 3000; round++) {
        /* Delete, insert or replace one byte somewhere. */
        size_t at = next_random(&seed) % len, n = len;
        char b = bytes[next_random(&seed) % (sizeof(bytes) - 1)];
        int how = (int)(next_random(&seed) % 3);
        memcpy(text, good, len + 1);
        if (how == 0) {
            memmove(text + at, text + at + 1, len - at);
            n--;
        } else if (how == 1) {
            memmove(text + at + 1, text + at, len - at + 1);
            text[at] = b;
            n++;
        } else {
            text[at] = b;
        }
        char why[256];
        cJSON *root = cJSON_ParseWithLengthOpts(text, n + 1, NULL, 1);
        long found = fw_jsontext_syntax(text, n, why, sizeof(why));
        if ((root != NULL) != (found < 0)) {
            fprintf(stderr, "round %d: %s\n", round, text);
            FW_FAIL_("round %d: cJSON %s, the check found %s (%ld: %s)", round,
                     root ? "parsed it" : "did not", found < 0 ? "nothing" : "an error", found,
                     why);
        }
        ASSERT_TRUE(found < (long)n + 1);
        invalid += root == NULL;
        cJSON_Delete(root);
    }
    ASSERT_GT(invalid, 1000); /* most damage breaks JSON: the check was really tried */
    free(text);
    free(good);
}

/* The line of `path` in `text`, and what of the path was read. */
static int line_of(const char *text, const char *path, unsigned dup, size_t *read)
{
    const char *end;
    int line = fw_jsontext_path_line(text, path, dup, &end);
    *read = (size_t)(end - path);
    return line;
}

FW_TEST(path_lines)
{
    static const char text[] = "{\n"                                          /* 1 */
                               "  \"brokers\": {\n"                           /* 2 */
                               "    \"b\": { \"host\": \"h\",\n"              /* 3 */
                               "           \"port\": 70000 },\n"              /* 4 */
                               "    \"b\": {}\n"                              /* 5 */
                               "  },\n"                                       /* 6 */
                               "  \"zones\": { \"bad \\\"name\": {},\n"       /* 7 */
                               "             \"z\\u00e9\": { \"p\": [\n"      /* 8 */
                               "               [1, 2],\n"                     /* 9 */
                               "               \"x\" ] } },\n"                /* 10 */
                               "  \"rules\": [ {}, { \"name\": \"a,b\" } ]\n" /* 11 */
                               "}\n";
    size_t read;
    ASSERT_EQ(line_of(text, "$: msg", 0, &read), 1);
    ASSERT_EQ(read, 1);
    ASSERT_EQ(line_of(text, "$.brokers.b.port: must be", 0, &read), 4);
    ASSERT_EQ(read, strlen("$.brokers.b.port"));
    /* A duplicate name: the first is what cJSON reads; a duplicate message means a later one. */
    ASSERT_EQ(line_of(text, "$.brokers.b: x", 0, &read), 3);
    ASSERT_EQ(line_of(text, "$.brokers.b: x", 1, &read), 5);
    ASSERT_EQ(line_of(text, "$.brokers.b: x", 7, &read), 5);
    /* Names that need quoting, and escapes. */
    ASSERT_EQ(line_of(text, "$.zones[\"bad \"name\"]: x", 0, &read), 7);
    ASSERT_EQ(line_of(text, "$.zones[\"z\xc3\xa9\"].p[1]: x", 0, &read), 10);
    ASSERT_EQ(line_of(text, "$.zones[\"z\xc3\xa9\"].p[0]: x", 0, &read), 9);
    ASSERT_EQ(line_of(text, "$.rules[1].name: x", 0, &read), 11);
    /* A key left to its default: the deepest step that is written. */
    ASSERT_EQ(line_of(text, "$.brokers.b.client_id: x", 0, &read), 3);
    ASSERT_EQ(read, strlen("$.brokers.b.client_id"));
    ASSERT_EQ(line_of(text, "$.rules[5].name: x", 0, &read), 11);
    ASSERT_EQ(line_of(text, "$.gateway.id: x", 0, &read), 0);
    /* Not a path. */
    ASSERT_EQ(line_of(text, "brokers: x", 0, &read), 0);
    ASSERT_EQ(read, 0);
}

FW_TEST(errors_locate)
{
    static const char text[] = "{\n  \"a\": { \"x\": 1 },\n  \"a\": 2,\n  \"a\": 3\n}\n";
    struct fw_cfg_errors errs = {0};
    fw_cfg_errors_add(&errs, fw_xstrdup("other.json: $.a: not this file"));
    fw_cfg_errors_add(&errs, fw_xstrdup("f.json: $.a.x: must be"));
    fw_cfg_errors_add(&errs, fw_xstrdup("f.json: $.a: duplicate key"));
    fw_cfg_errors_add(&errs, fw_xstrdup("f.json: $.a: duplicate key"));
    fw_cfg_errors_add(&errs, fw_xstrdup("f.json: cannot open: no path"));
    fw_cfg_errors_add(&errs, fw_xstrdup("f.json:3:4: invalid JSON: already placed"));
    fw_cfg_errors_locate(&errs, 0, "f.json", text);
    ASSERT_EQ(errs.n, 6);
    ASSERT_STR_EQ(errs.msgs[0], "other.json: $.a: not this file");
    ASSERT_STR_EQ(errs.msgs[1], "f.json:2: $.a.x: must be");
    ASSERT_STR_EQ(errs.msgs[2], "f.json:3: $.a: duplicate key");
    ASSERT_STR_EQ(errs.msgs[3], "f.json:4: $.a: duplicate key");
    ASSERT_STR_EQ(errs.msgs[4], "f.json: cannot open: no path");
    ASSERT_STR_EQ(errs.msgs[5], "f.json:3:4: invalid JSON: already placed");
    fw_cfg_errors_clear(&errs);
}
