/* Times N renders in this process: render_objects (parse templates, fill
 * placeholders, label) plus emitting the YAML stream, as `exo-install render`
 * does. Prints one line per measure; bench/render.sh adds the baseline. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "buf.h"
#include "render.h"
#include "yamljson.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    if (n <= 0) {
        fprintf(stderr, "usage: %s [RENDERS]\n", argv[0]);
        return 2;
    }
    render_opts o;
    render_opts_init(&o);
    exo_err err = EXO_ERR_INIT;
    size_t bytes = 0;
    /* Three rounds: the machine is noisy, the best round is the cost. */
    double best = 0;
    for (int round = 0; round < 3; round++) {
        double start = now();
        for (int i = 0; i < n; i++) {
            cJSON *docs = NULL;
            buf out = BUF_INIT;
            if (render_objects(&docs, &o, &err) < 0 ||
                yamljson_emit_stream(&out, docs, &err) < 0) {
                fprintf(stderr, "render failed: %s\n", err_msg(&err));
                return 1;
            }
            bytes = out.len;
            buf_free(&out);
            cJSON_Delete(docs);
        }
        double secs = now() - start;
        if (round == 0 || secs < best)
            best = secs;
    }
    printf("in-process: %d renders of %zu bytes, best of 3 rounds %.3f s: %.1f us per render\n", n,
           bytes, best, best / n * 1e6);
    err_clear(&err);
    return 0;
}
