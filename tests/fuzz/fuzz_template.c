/* The installer's rendering with hostile flag values (installer/flags.c,
 * render*, template.c). The input holds two flag bytes, then values cut at
 * 0x00 for --namespace, --db-dsn, --storage-class, --cast-storage-size,
 * --postgres-storage-size, --backend-image, --controller-image,
 * --cast-access-mode, --backend-replicas, --retention-days and --publish;
 * the flag bits say which of them are given, and add --include-secrets,
 * --format compose and --postgres=false. Values go through the same
 * parsing and checks as on the command line.
 *
 * When the flags are accepted, the rendering must (a) survive the YAML
 * round trip unchanged (what is printed is what was rendered) and (b) have
 * the same structure as the rendering of the same flags with benign values:
 * the same documents, kinds, apiVersions and names, the same keys in the
 * same order, the same array lengths. A value must never change the
 * structure of a manifest. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "flags.h"
#include "fuzz_common.h"
#include "render.h"
#include "render_compose.h"
#include "xalloc.h"
#include "yamljson.h"

#define NFIELDS 11

static const struct {
    const char *flag;
    const char *benign; /* NULL: keep the value (an enum or a number) */
} fields[NFIELDS] = {
    {"--namespace", "benign"},
    {"--db-dsn", "host=db.example.com user=u password=pw dbname=d"},
    {"--storage-class", "standard"},
    {"--cast-storage-size", "1Gi"},
    {"--postgres-storage-size", "2Gi"},
    {"--backend-image", "example.com/exo-backend:1"},
    {"--controller-image", "example.com/exo-controller:1"},
    {"--cast-access-mode", NULL},
    {"--backend-replicas", NULL},
    {"--retention-days", NULL},
    {"--publish", NULL},
};

/* Renders argv: the objects (an array) or the Compose file; NULL when the
 * flags are refused. */
static cJSON *render(char **argv, int argc)
{
    flags f;
    flags_init(&f, FLAGS_RENDER);
    exo_err err = EXO_ERR_INIT;
    cJSON *out = NULL;
    if (flags_parse(&f, argc, argv, &err) == 0 && flags_check(&f, &err) == 0) {
        int rc = f.compose ? render_compose(&out, &f.opts, f.publish, &err)
                           : render_objects(&out, &f.opts, &err);
        FUZZ_CHECK(rc == 0, "accepted flags fail to render: %s", err_msg(&err));
    }
    err_clear(&err);
    flags_free(&f);
    return out;
}

static const char *field(const cJSON *doc, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static void check_identity(const cJSON *docs, const cJSON *benign)
{
    if (!cJSON_IsArray(docs))
        return;
    for (const cJSON *d = docs->child, *e = benign->child; d && e; d = d->next, e = e->next) {
        FUZZ_CHECK(strcmp(field(d, "kind", NULL), field(e, "kind", NULL)) == 0, "kind %s",
                   field(d, "kind", NULL));
        FUZZ_CHECK(strcmp(field(d, "apiVersion", NULL), field(e, "apiVersion", NULL)) == 0,
                   "apiVersion %s", field(d, "apiVersion", NULL));
        if (strcmp(field(d, "kind", NULL), "Namespace") != 0)
            FUZZ_CHECK(strcmp(field(d, "metadata", "name"), field(e, "metadata", "name")) == 0,
                       "name %s", field(d, "metadata", "name"));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned given = data[0] | (unsigned)(data[1] & 0x07) << 8;
    unsigned extra = data[1] >> 3;
    const char *p = (const char *)data + 2, *end = (const char *)data + size;
    char *value[NFIELDS];
    for (int i = 0; i < NFIELDS; i++) {
        const char *z = memchr(p, 0, (size_t)(end - p));
        value[i] = xstrndup(p, (size_t)((z ? z : end) - p));
        p = z ? z + 1 : end;
    }
    buf arg[2][NFIELDS + 4];
    char *argv[2][NFIELDS + 5];
    int argc = 0;
    for (int v = 0; v < 2; v++) {
        argc = 0;
        argv[v][argc] = "render";
        buf_init(&arg[v][argc]);
        argc++;
        for (int i = 0; i < NFIELDS; i++) {
            if (!(given & 1u << i))
                continue;
            buf_init(&arg[v][argc]);
            buf_printf(&arg[v][argc], "%s=%s", fields[i].flag,
                       v == 1 && fields[i].benign ? fields[i].benign : value[i]);
            argv[v][argc] = arg[v][argc].ptr;
            argc++;
        }
        static const char *const switches[] = {"--include-secrets", "--format=compose",
                                               "--postgres=false"};
        for (int i = 0; i < 3; i++)
            if (extra & 1u << i) {
                buf_init(&arg[v][argc]);
                argv[v][argc++] = (char *)switches[i];
            }
        argv[v][argc] = NULL;
    }

    cJSON *out = render(argv[0], argc);
    if (out) {
        cJSON *benign = render(argv[1], argc);
        FUZZ_CHECK(benign != NULL, "the benign values are refused");
        exo_err err = EXO_ERR_INIT;
        buf text = BUF_INIT;
        cJSON *back = NULL;
        bool stream = cJSON_IsArray(out);
        int rc = stream ? yamljson_emit_stream(&text, out, &err) : yamljson_emit(&text, out, &err);
        FUZZ_CHECK(rc == 0, "emit: %s", err_msg(&err));
        rc = stream ? yamljson_parse(&back, text.ptr, text.len, "rendered", &err)
                    : yamljson_parse_one(&back, text.ptr, text.len, "rendered", &err);
        FUZZ_CHECK(rc == 0, "the output does not parse: %s\n%s", err_msg(&err), text.ptr);
        FUZZ_CHECK(fuzz_same_tree(out, back, false), "the output reads back differently:\n%s",
                   text.ptr);
        FUZZ_CHECK(fuzz_same_tree(back, benign, true),
                   "a value changed the structure:\n%s", text.ptr);
        check_identity(back, benign);
        cJSON_Delete(back);
        cJSON_Delete(benign);
        buf_free(&text);
        err_clear(&err);
        cJSON_Delete(out);
    }
    for (int v = 0; v < 2; v++)
        for (int i = 0; i < argc; i++)
            buf_free(&arg[v][i]);
    for (int i = 0; i < NFIELDS; i++)
        free(value[i]);
    return 0;
}
