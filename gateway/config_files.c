/* SPDX-License-Identifier: MIT */
/*
 * The config loader's file side: the struct fw_cfg_io of the real world (files, folders and
 * environment variables) that fw_config_load hands to the pure loader (config_load.c), and
 * fw_config_check, which prints the outcome. Only regular files are opened: a FIFO or a device
 * named by the config would block a load, and with it a reload.
 */
#include "forestwatch/config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forestwatch/util.h"

static char *real_read_text(void *arg, const char *path, const char *shown, size_t max_bytes,
                            size_t *len, struct fw_cfg_errors *errs, int *rc)
{
    (void)arg;
    return fw_cfg_read_text(path, shown, max_bytes, len, errs, rc);
}

static int real_list_dir(void *arg, const char *dir, char ***names, size_t *n)
{
    (void)arg;
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *e;
    while ((e = readdir(d))) {
        *names = fw_xrealloc(*names, (*n + 1) * sizeof(**names));
        (*names)[(*n)++] = fw_xstrdup(e->d_name);
    }
    closedir(d);
    return 0;
}

static int real_missing(void *arg, const char *path)
{
    (void)arg;
    return access(path, F_OK) != 0 && errno == ENOENT;
}

/* Open a file named by the config for reading, or report why not at the current path. */
static int open_config_file(struct fw_cfg_ctx *c, const char *file, const char *shown)
{
    int fd = fw_cfg_open_regular(file, NULL);
    if (fd == -EINVAL)
        fw_cfg_err(c, "cannot read \"%s\": not a regular file", shown);
    else if (fd < 0)
        fw_cfg_err(c, "cannot read \"%s\": %s", shown, strerror(-fd));
    return fd < 0 ? -1 : fd;
}

static int real_check_file(void *arg, struct fw_cfg_ctx *c, const char *path, const char *shown)
{
    (void)arg;
    int fd = open_config_file(c, path, shown);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* Up to the first newline, at most size - 1 bytes: a password file's first line. */
static int real_read_head(void *arg, struct fw_cfg_ctx *c, const char *path, const char *shown,
                          char *buf, size_t size, size_t *n_out)
{
    (void)arg;
    int fd = open_config_file(c, path, shown);
    if (fd < 0)
        return -1;
    size_t n = 0;
    int e = 0;
    while (n < size - 1) {
        ssize_t r = read(fd, buf + n, size - 1 - n);
        if (r < 0)
            e = errno;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (memchr(buf + n - (size_t)r, '\n', (size_t)r))
            break;
    }
    close(fd);
    *n_out = n;
    if (e) {
        fw_cfg_err(c, "cannot read \"%s\": %s", shown, strerror(e));
        return -1;
    }
    return 0;
}

static const char *real_getenv(void *arg, const char *name)
{
    (void)arg;
    return getenv(name);
}

static const struct fw_cfg_io real_io = {
    .read_text = real_read_text,
    .list_dir = real_list_dir,
    .missing = real_missing,
    .check_file = real_check_file,
    .read_head = real_read_head,
    .getenv = real_getenv,
};

int fw_config_load(const char *path, struct fw_config **out, struct fw_cfg_errors *errs)
{
    return fw_config_load_io(path, &real_io, out, errs);
}

static void print_note(void *arg, const char *note)
{
    fprintf(arg, "note: %s\n", note);
}

int fw_config_check(const char *path, FILE *out, FILE *errf)
{
    struct fw_cfg_errors errs = {0};
    struct fw_config *cfg = NULL;
    int rc = fw_config_load(path, &cfg, &errs);
    if (rc == 0) {
        fw_config_notes(cfg, print_note, errf);
        fprintf(out, "configuration OK\n");
    } else
        fw_cfg_errors_print(&errs, errf);
    fw_cfg_errors_clear(&errs);
    fw_config_free(cfg);
    return rc == 0 ? 0 : 1;
}
