/* SPDX-License-Identifier: MIT */
/*
 * JSON-with-comments files as text: reading one (cfg_read.c, the only part that does I/O), its
 * comments, its parse, and the lines of the errors found in it (cfg_text.c). Shared by the
 * config loader and device profiles.
 */
#ifndef FORESTWATCH_CFG_TEXT_H
#define FORESTWATCH_CFG_TEXT_H

#include "forestwatch/cfg_keys.h"

#include <stddef.h>
#include <stdio.h>

struct cJSON;

/**
 * Read the text file `path` (named `shown` in messages) of at most `max_bytes`, with its // and
 * block comments turned into spaces (newlines kept, so line:col still point into the file as
 * written). Returns the NUL-terminated text (free()) and its length in *len, or NULL with the
 * reason added to `errs` and *rc set: -ENOENT, -EIO (not a regular file, a read error), -E2BIG
 * (too big) or -EINVAL (a NUL byte, an unterminated comment).
 */
char *fw_cfg_read_text(const char *path, const char *shown, size_t max_bytes, size_t *len,
                       struct fw_cfg_errors *errs, int *rc);

/**
 * Open `path` for reading if it is a regular file, never waiting: a FIFO or a device where a
 * config, rule, profile or secret file is expected would block a load or a reload. Returns the
 * descriptor (close it) with the file's size in *size (may be NULL), the negative errno of
 * open(), or -EINVAL when it opened but is not a regular file (open() with these flags never
 * gives EINVAL itself). Each caller words its own message.
 */
int fw_cfg_open_regular(const char *path, long long *size);

/**
 * The checks of a file's text that fw_cfg_read_text makes after reading it: no NUL byte, no
 * unterminated block comment; comments are turned into spaces in place (newlines kept). Returns
 * 0, or -EINVAL with the reason added to `errs`.
 */
int fw_cfg_text_prepare(char *text, size_t len, const char *shown, struct fw_cfg_errors *errs);

/**
 * Parse `text` (`len` bytes, from fw_cfg_read_text) as JSON. Returns the tree (cJSON_Delete), or
 * NULL after adding "shown:line:col: invalid JSON: what" to `errs`, where "what" says what was
 * expected and found there ("expected ',' or '}' after the member \"port\", got \"host\"",
 * "trailing comma", "unterminated string: ...": fw_jsontext_syntax).
 */
struct cJSON *fw_cfg_parse(const char *text, size_t len, const char *shown,
                           struct fw_cfg_errors *errs);

/**
 * Give the line of its JSON path to every message of `errs` from index `from` on that reads
 * "shown: $path: ...": it becomes "shown:line: $path: ...", the line of the path in `text`
 * (the file's text as fw_cfg_read_text returned it), or of the deepest part of it written there
 * (a key left to its default). A message about a duplicate ("...: duplicate ...") names the later
 * member of that name. Messages of other files, or without a path, are left as they are.
 */
void fw_cfg_errors_locate(struct fw_cfg_errors *errs, size_t from, const char *shown,
                          const char *text);

/** Print every message of `errs`, one a line, and a count of any dropped ones (cfg_read.c). */
void fw_cfg_errors_print(const struct fw_cfg_errors *errs, FILE *f);

#endif
