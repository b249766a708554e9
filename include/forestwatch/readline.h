/* SPDX-License-Identifier: MIT */
/*
 * Reading a text input line by line with a cap on the line's length: the tables and recordings
 * the operator's tool reads (CSV, JSON lines). A shell function (library fwio): it reads a stream.
 */
#ifndef FORESTWATCH_READLINE_H
#define FORESTWATCH_READLINE_H

#include <stddef.h>
#include <stdio.h>

/**
 * Read one line of `f` into `buf` of `size` bytes: at most size - 1 bytes, NUL-terminated,
 * without its "\n" or "\r\n". *len is the number of bytes stored; a NUL byte of the input is
 * stored like any other, so compare *len with strlen(buf) to find one. Returns 0 for a line,
 * -E2BIG for a line longer than size - 1 bytes (read to its end; buf holds its start), or
 * -ENODATA at the end of the input or on a read error (tell them apart with ferror(f)).
 */
int fw_read_line(FILE *f, char *buf, size_t size, size_t *len);

#endif
