/* SPDX-License-Identifier: MIT */
/*
 * The text side of the JSON-with-comments files (the config, its rule files, device profiles):
 * comments blanked out with every newline kept, so that a syntax error's line:col and the line of
 * a later error's JSON path still point into the file as written; the parse, whose errors say
 * what was expected where; and the placing of path errors on their lines. Pure: the file is
 * read by fw_cfg_read_text (cfg_read.c), which hands its text here.
 */
#include "forestwatch/cfg_text.h"

#include "forestwatch/jsontext.h"
#include "forestwatch/util.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Replace // and block comments with spaces, keeping newlines so that line:col of a later syntax
 * error still points into the file as written. Returns 0, or the offset + 1 of an unterminated
 * block comment.
 */
static size_t blank_comments(char *s, size_t len)
{
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        if (in_str) {
            if (s[i] == '\\' && i + 1 < len)
                i++;
            else if (s[i] == '"')
                in_str = 0;
        } else if (s[i] == '"') {
            in_str = 1;
        } else if (s[i] == '/' && i + 1 < len && s[i + 1] == '/') {
            for (; i < len && s[i] != '\n'; i++)
                s[i] = ' ';
        } else if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
            size_t start = i;
            s[i] = s[i + 1] = ' ';
            for (i += 2; i < len && !(s[i] == '*' && i + 1 < len && s[i + 1] == '/'); i++)
                if (s[i] != '\n')
                    s[i] = ' ';
            if (i >= len)
                return start + 1;
            s[i] = s[i + 1] = ' ';
            i++;
        }
    }
    return 0;
}

int fw_cfg_text_prepare(char *text, size_t len, const char *shown, struct fw_cfg_errors *errs)
{
    if (memchr(text, '\0', len)) {
        fw_cfg_errors_add(errs, fw_xasprintf("%s: contains a NUL byte: not a text file", shown));
        return -EINVAL;
    }
    size_t open_comment = blank_comments(text, len);
    if (open_comment) {
        int line, col;
        fw_jsontext_line_col(text, open_comment - 1, &line, &col);
        fw_cfg_errors_add(errs,
                          fw_xasprintf("%s:%d:%d: unterminated /* comment", shown, line, col));
        return -EINVAL;
    }
    return 0;
}

cJSON *fw_cfg_parse(const char *text, size_t len, const char *shown, struct fw_cfg_errors *errs)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1); /* + the NUL it requires */
    if (root)
        return root;
    /*
     * cJSON tells where it stopped, not why. The text's own reader, which follows cJSON step by
     * step, finds the same place and says what was expected there. Should it find nothing (it
     * is not cJSON), cJSON's place still stands.
     */
    char why[256];
    long at = fw_jsontext_syntax(text, len, why, sizeof(why));
    if (at < 0) {
        size_t off = end ? (size_t)(end - text) : 0;
        at = (long)(off > len ? len : off);
        snprintf(why, sizeof(why), "not valid JSON");
    }
    int line, col;
    fw_jsontext_line_col(text, (size_t)at, &line, &col);
    fw_cfg_errors_add(errs, fw_xasprintf("%s:%d:%d: invalid JSON: %s", shown, line, col, why));
    return NULL;
}

/*
 * A message about a duplicate is about a later member of that name: the first is the one that
 * was read. So the k-th such message of one path names the k-th later member.
 */
static int is_duplicate_msg(const char *after_path)
{
    return strncmp(after_path, ": duplicate ", 12) == 0;
}

void fw_cfg_errors_locate(struct fw_cfg_errors *errs, size_t from, const char *shown,
                          const char *text)
{
    size_t sl = strlen(shown);
    char **located = fw_xcalloc(errs->n + 1, sizeof(*located));
    for (size_t i = from; i < errs->n; i++) {
        const char *m = errs->msgs[i], *path = m + sl + 2, *end;
        if (strncmp(m, shown, sl) != 0 || strncmp(m + sl, ": $", 3) != 0)
            continue;
        int line = fw_jsontext_path_line(text, path, 0, &end);
        if (strncmp(end, ": ", 2) != 0)
            continue; /* not a path after all */
        if (is_duplicate_msg(end)) {
            unsigned dup = 1;
            size_t plen = (size_t)(end - m);
            for (size_t j = from; j < i; j++)
                dup +=
                    strncmp(errs->msgs[j], m, plen) == 0 && is_duplicate_msg(errs->msgs[j] + plen);
            line = fw_jsontext_path_line(text, path, dup, &end);
        }
        if (line > 0)
            located[i] = fw_xasprintf("%s:%d: %s", shown, line, path);
    }
    for (size_t i = from; i < errs->n; i++)
        if (located[i]) {
            free(errs->msgs[i]);
            errs->msgs[i] = located[i];
        }
    free(located);
}
