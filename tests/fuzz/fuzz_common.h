/* What the harnesses share. A finding is reported by abort() after a line
 * on stderr saying which property failed, so that libFuzzer keeps the input
 * and the replay test fails on it. */
#ifndef EXO_FUZZ_COMMON_H
#define EXO_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz property failed: %s: ", #cond);                                  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Equal trees: same types, same order of keys and items, same values; NaN
 * equals NaN. With shape_only, strings and numbers may differ in value
 * (only the shape of the tree counts: keys, types, array lengths). */
bool fuzz_same_tree(const cJSON *a, const cJSON *b, bool shape_only);

#endif
