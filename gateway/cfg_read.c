/* SPDX-License-Identifier: MIT */
/*
 * Reading a JSON-with-comments file (the config, a rule file, a device profile) into memory:
 * a regular file only (a FIFO or a device would block a load or a reload), capped in size,
 * then handed to fw_cfg_text_prepare (cfg_text.c) for the checks of its text. The one place
 * these loaders open a file by name; also the printing of a load's errors.
 */
#include "forestwatch/cfg_text.h"

#include "forestwatch/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fw_cfg_open_regular(const char *path, long long *size)
{
    /* Non-blocking: opening a FIFO for reading would wait for a writer. A regular file reads
     * the same either way. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    if (size)
        *size = (long long)st.st_size;
    return fd;
}

char *fw_cfg_read_text(const char *path, const char *shown, size_t max_bytes, size_t *len_out,
                       struct fw_cfg_errors *errs, int *rc)
{
    long long size = 0;
    int fd = fw_cfg_open_regular(path, &size);
    if (fd == -EINVAL) {
        *rc = -EIO;
        fw_cfg_errors_add(errs, fw_xasprintf("%s: not a regular file", shown));
        return NULL;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    char *text = NULL;
    if (!f) {
        int e = fd < 0 ? -fd : errno;
        if (fd >= 0)
            close(fd);
        *rc = e == ENOENT ? -ENOENT : -EIO;
        fw_cfg_errors_add(errs, fw_xasprintf("%s: cannot open: %s", shown, strerror(e)));
        return NULL;
    }
    if ((unsigned long long)size > max_bytes) {
        *rc = -E2BIG;
        fw_cfg_errors_add(errs, fw_xasprintf("%s: file is %lld bytes, more than the limit of %zu",
                                             shown, size, max_bytes));
        goto fail;
    }
    size_t len = (size_t)size;
    text = fw_xmalloc(len + 1);
    if (fread(text, 1, len, f) != len) {
        *rc = -EIO;
        fw_cfg_errors_add(errs, fw_xasprintf("%s: read error", shown));
        goto fail;
    }
    text[len] = '\0';
    if ((*rc = fw_cfg_text_prepare(text, len, shown, errs)) < 0)
        goto fail;
    fclose(f);
    *len_out = len;
    return text;
fail:
    free(text);
    fclose(f);
    return NULL;
}

void fw_cfg_errors_print(const struct fw_cfg_errors *errs, FILE *f)
{
    for (size_t i = 0; i < errs->n; i++)
        fprintf(f, "%s\n", errs->msgs[i]);
    if (errs->dropped)
        fprintf(f, "... and %zu more errors\n", errs->dropped);
}
