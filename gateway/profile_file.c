/* SPDX-License-Identifier: MIT */
/*
 * Loading a device profile from its file: the file is read here, in the shell library, and its
 * text checked by the pure fw_profile_parse (profile.c).
 */
#include "forestwatch/profile.h"

#include <stdlib.h>

int fw_profile_load(const char *path, const char *shown, struct fw_profile **out,
                    struct fw_cfg_errors *errs)
{
    size_t len;
    int rc = 0;
    *out = NULL;
    char *text =
        fw_cfg_read_text(path, shown ? shown : path, FW_PROFILE_MAX_FILE_BYTES, &len, errs, &rc);
    if (!text)
        return rc;
    rc = fw_profile_parse(text, len, path, shown, out, errs);
    free(text);
    return rc;
}
