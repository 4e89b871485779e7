/* check.h — the CHECK of tilec's C test programs: a condition that does not hold prints
   `FAIL file:line: message` and counts in `failures`, which each program's main reports
   and turns into its exit status; `checks` counts every CHECK made. */
#ifndef TILEC_TESTS_CHECK_H
#define TILEC_TESTS_CHECK_H

#include <stdio.h>

static int checks, failures;

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        checks++;                                                                            \
        if (!(cond)) {                                                                       \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                      \
            printf(__VA_ARGS__);                                                             \
            printf("\n");                                                                    \
            failures++;                                                                      \
        }                                                                                    \
    } while (0)

#endif
