/* SPDX-License-Identifier: MIT */
/*
 * A plain driver for the fuzz targets, for builds without libFuzzer (gcc, CI): it feeds every
 * file named on the command line, or every file in a directory named there, to
 * LLVMFuzzerTestOneInput once. A crash or an FW_ASSERT failure fails the test, so the committed
 * corpus, crashers included, is replayed on every build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Corpus files are small; anything bigger is not a corpus file. */
#define FW_REPLAY_MAX_FILE (1024 * 1024)

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;
    int rc = -1;

    if (!f) {
        perror(path);
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > FW_REPLAY_MAX_FILE ||
        fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "%s: unreadable or over %d bytes\n", path, FW_REPLAY_MAX_FILE);
        goto fail;
    }
    /* Exactly `size` bytes, so that ASan catches a read past the input. */
    buf = malloc(size ? (size_t)size : 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "%s: read failed\n", path);
        goto fail;
    }
    LLVMFuzzerTestOneInput(buf, (size_t)size);
    rc = 0;
fail:
    free(buf);
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    int files = 0, errors = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            errors++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            errors += run_file(argv[i]) != 0;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char path[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            errors += run_file(path) != 0;
            files++;
        }
        if (d)
            closedir(d);
    }
    printf("replayed %d inputs, %d errors\n", files, errors);
    /* An empty corpus is a mistake in the test setup, not a pass. */
    return files == 0 || errors ? 1 : 0;
}
