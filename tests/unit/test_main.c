/* SPDX-License-Identifier: MIT */
/* The runner behind tests/unit/test.h: runs one named case, or all of them. */
#include "test.h"

struct fw_test_case *fw_test__cases;
int fw_test__failed;

int main(int argc, char **argv)
{
    int ran = 0, failed = 0;
    for (struct fw_test_case *c = fw_test__cases; c; c = c->next) {
        if (argc > 1 && strcmp(argv[1], c->name) != 0)
            continue;
        fw_test__failed = 0;
        c->fn();
        ran++;
        if (fw_test__failed) {
            failed++;
            fprintf(stderr, "FAIL %s\n", c->name);
        } else {
            printf("ok %s\n", c->name);
        }
    }
    if (ran == 0) {
        fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "(any)");
        return 2;
    }
    return failed ? 1 : 0;
}
