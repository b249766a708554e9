/* SPDX-License-Identifier: MIT */
/*
 * One capped line of a stream (readline.h). Kept out of the pure core: the core is handed texts,
 * the tool's readers read the files.
 */
#include "forestwatch/readline.h"

#include "forestwatch/util.h"

#include <errno.h>

int fw_read_line(FILE *f, char *buf, size_t size, size_t *len)
{
    size_t n = 0;
    int c, too_long = 0;
    FW_ASSERT(size > 0);
    while ((c = getc(f)) != EOF && c != '\n') {
        if (n < size - 1)
            buf[n++] = (char)c;
        else
            too_long = 1;
    }
    if (c == EOF && n == 0 && !too_long)
        return -ENODATA;
    if (!too_long && n && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *len = n;
    return too_long ? -E2BIG : 0;
}
