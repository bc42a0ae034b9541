/* The YAML <-> JSON bridge (lib/yamljson). Any input: parsing must not
 * crash or leak. A stream that parses must survive the round trip: emitted
 * and parsed again it gives the same tree (same types, key order, values),
 * and emitting that tree gives the same bytes (the emitter is
 * deterministic and its output is a fixed point). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "fuzz_common.h"
#include "yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *docs = NULL, *again = NULL;
    exo_err err = EXO_ERR_INIT;
    buf first = BUF_INIT, second = BUF_INIT;
    if (yamljson_parse(&docs, (const char *)data, size, "fuzz", &err) < 0) {
        FUZZ_CHECK(err.msg != NULL, "a refused stream has a message");
        goto out;
    }
    FUZZ_CHECK(yamljson_emit_stream(&first, docs, &err) == 0, "emitting: %s", err_msg(&err));
    FUZZ_CHECK(yamljson_parse(&again, first.ptr, first.len, "emitted", &err) == 0,
               "the emitted stream does not parse: %s\n%s", err_msg(&err), first.ptr);
    FUZZ_CHECK(fuzz_same_tree(docs, again, false), "the round trip changed the tree:\n%s", first.ptr);
    FUZZ_CHECK(yamljson_emit_stream(&second, again, &err) == 0, "emitting: %s", err_msg(&err));
    FUZZ_CHECK(first.len == second.len && memcmp(first.ptr, second.ptr, first.len) == 0,
               "emitting is not stable:\n%s---- then ----\n%s", first.ptr, second.ptr);
out:
    cJSON_Delete(docs);
    cJSON_Delete(again);
    buf_free(&first);
    buf_free(&second);
    err_clear(&err);
    return 0;
}
