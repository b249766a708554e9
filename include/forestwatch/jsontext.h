/* SPDX-License-Identifier: MIT */
/*
 * Positions in the text of a JSON file, for the messages of the loaders that read JSON written
 * by people (the config, rules.d, device profiles): where a syntax error is and what it is, and
 * on which line the value at a JSON path ($.brokers.b.port) is written. cJSON says neither: it
 * gives the byte where it stopped, and its tree keeps no positions. Pure text functions; they
 * read at most up to the text's NUL and never allocate.
 */
#ifndef FORESTWATCH_JSONTEXT_H
#define FORESTWATCH_JSONTEXT_H

#include <stddef.h>

/** 1-based line and column (in characters, not bytes) of byte `off` of `text`. */
void fw_jsontext_line_col(const char *text, size_t off, int *line, int *col);

/**
 * Find the first syntax error of `text` (`len` bytes without a NUL, then a NUL; comments already
 * blanked out)
 * as cJSON reads JSON (its leniencies included: any byte up to 32 is a space, a number is what
 * strtod takes of [0-9+-.eE], a literal needs only its letters), and say what it is in `why`
 * (`n` bytes), for example "expected ',' or '}' after the member \"port\", got \"host\"" or
 * "trailing comma". Returns the byte offset the message is about (the stray token, the comma,
 * the opening quote of an unterminated string, the end of the text), or -1 when the text holds
 * one valid JSON value and nothing else.
 */
long fw_jsontext_syntax(const char *text, size_t len, char *why, size_t n);

/**
 * The line of the value at `path` in the JSON `text`: `path` is written as the loaders write
 * it, "$" then steps ".name", "[\"any name\"]" and "[index]", and ends at the first character
 * that cannot continue it (*end is set there). The line is that of the member's name for a
 * name step, of the element for an index step, of the value itself for "$". When a name
 * appears several times in its object, the `dup`-th later one is meant (0: the first, which is
 * the one cJSON returns; past the last, the last). When a step is not in the text (a key the
 * loader defaulted), the line of the deepest step that is; 0 when not even the first step is,
 * or `path` does not start with "$".
 */
int fw_jsontext_path_line(const char *text, const char *path, unsigned dup, const char **end);

#endif
