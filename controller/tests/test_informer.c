/* The informer against the scripted fake API server: list, then watch
 * events into the store; a closed stream resumes from the last
 * resourceVersion (bookmarks included); a 410 lists again and reports what
 * vanished meanwhile as deleted; Secrets are stored as hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_api.h"
#include "fixtures.h"
#include "informer.h"
#include "jpath.h"
#include "reconcile.h"

#define ECP_PATH "/apis/exo.dev/v1alpha1/namespaces/exo/exocontrolplanes"
#define SECRETS_PATH "/api/v1/namespaces/exo/secrets"

typedef struct {
    int added, updated, deleted;
    char last[64];
} seen;

static void handler(void *ud, const cJSON *old, const cJSON *obj)
{
    seen *s = ud;
    if (!old)
        s->added++;
    else if (obj)
        s->updated++;
    else
        s->deleted++;
    snprintf(s->last, sizeof s->last, "%s", jpath_str(obj ? obj : old, "metadata.name", ""));
}

static cJSON *ecp_named(const char *name, const char *rv)
{
    cJSON *e = fx_ecp();
    fx_set_str(e, "metadata.name", name);
    fx_set_str(e, "metadata.resourceVersion", rv);
    cJSON *md = cJSON_GetObjectItem(e, "metadata");
    cJSON_AddItemToObject(md, "managedFields", fx_json("[{'manager':'kubectl'}]"));
    return e;
}

static cJSON *list_of(const char *rv, cJSON *a, cJSON *b)
{
    cJSON *l = fx_json("{'kind':'List','apiVersion':'v1','metadata':{},'items':[]}");
    cJSON_AddStringToObject(cJSON_GetObjectItem(l, "metadata"), "resourceVersion", rv);
    cJSON *items = cJSON_GetObjectItem(l, "items");
    if (a)
        cJSON_AddItemToArray(items, a);
    if (b)
        cJSON_AddItemToArray(items, b);
    return l;
}

static void script_body(const char *path, cJSON *body)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "method", "GET");
    cJSON_AddStringToObject(s, "path", path);
    cJSON_AddItemToObject(s, "body", body);
    fake_api_script_json(s);
    cJSON_Delete(s);
}

/* A watch answer: each event a line, sent as its own chunk. */
static void script_watch(const char *path, cJSON *events)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "method", "GET");
    cJSON_AddStringToObject(s, "path", path);
    cJSON *chunks = cJSON_AddArrayToObject(s, "chunks");
    cJSON *ev;
    cJSON_ArrayForEach (ev, events) {
        char *line = cJSON_PrintUnformatted(ev);
        size_t n = strlen(line);
        line = realloc(line, n + 2);
        line[n] = '\n';
        line[n + 1] = '\0';
        cJSON_AddItemToArray(chunks, cJSON_CreateString(line));
        free(line);
    }
    cJSON_AddNumberToObject(s, "chunk_delay_ms", 20);
    fake_api_script_json(s);
    cJSON_Delete(s);
    cJSON_Delete(events);
}

static cJSON *event(const char *type, cJSON *obj)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddItemToObject(e, "object", obj);
    return e;
}

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Polls until cond(s) or 5 s. */
static void poll_until(informer *inf, seen *s, int (*cond)(const seen *))
{
    long end = mono_ms() + 5000;
    while (!cond(s) && mono_ms() < end) {
        exo_err err = EXO_ERR_INIT;
        informer_poll(inf, mono_ms(), &err);
        err_clear(&err);
        usleep(10000);
    }
    assert_true(cond(s));
}

static int three_events(const seen *s)
{
    return s->added + s->updated + s->deleted >= 5;
}

static int relisted(const seen *s)
{
    return s->deleted >= 2;
}

static const char *query(const cJSON *req, const char *name)
{
    const cJSON *v = jpath_get(req, "query");
    v = cJSON_GetObjectItem(v, name);
    return v ? cJSON_GetArrayItem(v, 0)->valuestring : NULL;
}

static void test_list_then_watch_then_resume_then_relist_on_410(void **state)
{
    (void)state;
    kube_config *cfg;
    kube_client *c;
    fake_api_reset();
    fake_api_client(&cfg, &c);
    script_body(ECP_PATH, list_of("100", ecp_named("a", "90"), ecp_named("b", "95")));
    cJSON *evs = cJSON_CreateArray();
    cJSON_AddItemToArray(evs, event("ADDED", ecp_named("c", "101")));
    cJSON_AddItemToArray(evs, event("MODIFIED", ecp_named("a", "102")));
    cJSON_AddItemToArray(evs, event("DELETED", ecp_named("b", "103")));
    cJSON_AddItemToArray(evs, event("BOOKMARK", fx_json("{'metadata':{'resourceVersion':'105'}}")));
    script_watch(ECP_PATH, evs);
    /* The stream ends; the next watch is told its RV is too old. */
    evs = cJSON_CreateArray();
    cJSON_AddItemToArray(
        evs, event("ERROR", fx_json("{'kind':'Status','code':410,'reason':'Expired'}")));
    script_watch(ECP_PATH, evs);
    /* The relist: a and c are gone, d is new. */
    script_body(ECP_PATH, list_of("200", ecp_named("d", "150"), NULL));

    seen s = {0};
    informer *inf = informer_new(c, &RES_ECP, "exo", NULL, informer_strip, handler, &s);
    assert_false(informer_synced(inf));
    exo_err err = EXO_ERR_INIT;
    assert_true(informer_poll(inf, mono_ms(), &err) >= 2);
    assert_true(informer_synced(inf));
    assert_int_equal(s.added, 2);
    assert_int_equal(store_len(informer_store(inf)), 2);
    /* managedFields are not kept */
    assert_null(jpath_get(store_get(informer_store(inf), "exo/a"), "metadata.managedFields"));

    poll_until(inf, &s, three_events);
    const store *st = informer_store(inf);
    assert_int_equal(store_len(st), 2); /* a (updated), c */
    assert_string_equal(jpath_str(store_get(st, "exo/a"), "metadata.resourceVersion", ""), "102");
    assert_non_null(store_get(st, "exo/c"));
    assert_null(store_get(st, "exo/b"));

    poll_until(inf, &s, relisted);
    st = informer_store(inf);
    assert_int_equal(store_len(st), 1);
    assert_non_null(store_get(st, "exo/d"));
    assert_int_equal(s.deleted, 3); /* b by its event; a and c found gone by the relist */

    cJSON *reqs = fake_api_requests();
    /* list, watch from 100, watch resumed from the bookmark's 105, list */
    assert_true(cJSON_GetArraySize(reqs) >= 4);
    const cJSON *w1 = cJSON_GetArrayItem(reqs, 1), *w2 = cJSON_GetArrayItem(reqs, 2);
    assert_string_equal(query(w1, "watch"), "1");
    assert_string_equal(query(w1, "resourceVersion"), "100");
    assert_string_equal(query(w1, "allowWatchBookmarks"), "true");
    assert_string_equal(query(w2, "resourceVersion"), "105");
    assert_null(query(cJSON_GetArrayItem(reqs, 3), "watch"));
    cJSON_Delete(reqs);
    informer_free(inf);
    kube_client_free(c);
    kube_config_free(cfg);
}

static void test_an_older_event_does_not_undo_a_newer_write(void **state)
{
    (void)state;
    store *s = store_new();
    store_put(s, ecp_named("a", "50"));
    bool taken = true;
    cJSON_Delete(store_put_newer(s, ecp_named("a", "40"), &taken));
    assert_false(taken);
    assert_string_equal(jpath_str(store_get(s, "exo/a"), "metadata.resourceVersion", ""), "50");
    cJSON_Delete(store_put_newer(s, ecp_named("a", "60"), &taken));
    assert_true(taken);
    assert_string_equal(jpath_str(store_get(s, "exo/a"), "metadata.resourceVersion", ""), "60");
    store_free(s);
}

static void test_secrets_are_stored_as_hashes_without_annotations(void **state)
{
    (void)state;
    cJSON *sec = fx_secret("exo-database", "dsn", "host=db password=hunter2");
    cJSON *ann = cJSON_AddObjectToObject(cJSON_GetObjectItem(sec, "metadata"), "annotations");
    /* kubectl apply keeps the whole Secret, data included, here */
    cJSON_AddStringToObject(ann, "kubectl.kubernetes.io/last-applied-configuration",
                            "{\"data\":{\"dsn\":\"aG9zdD1kYiBwYXNzd29yZD1odW50ZXIy\"}}");
    char *before = strdup(jpath_str(sec, "data.dsn", ""));
    informer_hash_secret(sec);
    const char *after = jpath_str(sec, "data.dsn", "");
    assert_int_equal(strlen(after), 64);
    assert_string_not_equal(after, before);
    assert_null(jpath_get(sec, "metadata.annotations"));
    char *all = cJSON_PrintUnformatted(sec);
    assert_null(strstr(all, before));
    free(all);
    free(before);
    cJSON_Delete(sec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_then_watch_then_resume_then_relist_on_410),
        cmocka_unit_test(test_an_older_event_does_not_undo_a_newer_write),
        cmocka_unit_test(test_secrets_are_stored_as_hashes_without_annotations),
    };
    return cmocka_run_group_tests(tests, fake_api_start, fake_api_stop);
}
