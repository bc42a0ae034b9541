#include "fuzz_common.h"

#include <math.h>
#include <string.h>

bool fuzz_same_tree(const cJSON *a, const cJSON *b, bool shape_only)
{
    if ((a->type & 0xFF) != (b->type & 0xFF))
        return false;
    if ((a->string == NULL) != (b->string == NULL) ||
        (a->string && strcmp(a->string, b->string) != 0))
        return false;
    if (cJSON_IsNumber(a))
        return shape_only || a->valuedouble == b->valuedouble ||
               (isnan(a->valuedouble) && isnan(b->valuedouble));
    if (cJSON_IsString(a) || cJSON_IsRaw(a))
        return shape_only || strcmp(a->valuestring, b->valuestring) == 0;
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next)
        if (!fuzz_same_tree(x, y, shape_only))
            return false;
    return x == NULL && y == NULL;
}
