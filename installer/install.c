#include "install.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "applyset.h"
#include "backend_env.h"
#include "base64.h"
#include "buf.h"
#include "dbcheck.h"
#include "dsn.h"
#include "names.h"
#include "monitoring_preflight.h"
#include "preflight.h"
#include "readiness.h"
#include "render.h"
#include "xalloc.h"

/* The Secrets the rendering generates, and the one derived from a flag or
 * from another Secret: generated ones are created once and never touched
 * again; exo-database follows --db-dsn, or the kept Postgres password. */
#define SECRET_POSTGRES (contract.postgres_secret)
#define SECRET_DATABASE (contract_env_get(CONTRACT_ENV_DATABASE_DSN)->secret)
#define SECRET_DATABASE_KEY (contract_env_get(CONTRACT_ENV_DATABASE_DSN)->key)
#define SECRET_ENCRYPTION (contract_env_get(CONTRACT_ENV_ENCRYPTION_KEY)->secret)
#define SECRET_BOOTSTRAP (contract_env_get(CONTRACT_ENV_BOOTSTRAP_TOKEN)->secret)

typedef struct {
    kube_client *c;
    flags *a;
    const install_opts *io;
    progress *pg;
    const char *ns;
    char *id;
    cJSON *docs;         /* the rendering, in apply order */
    cJSON *secrets;      /* name -> live Secret, for those that exist */
    cJSON *before;       /* "Kind/name" -> resourceVersion before this run */
    cJSON *members;      /* group-kind -> the set's members of that kind before this run */
    char *old_gks;       /* the parent's group-kinds before this run; NULL: none */
    bool ns_created;     /* this install (or the first one) created the namespace */
    double deadline;     /* progress_elapsed() by which everything must be done */
    int created, configured, unchanged, kept, pruned;
} install;

static const char *str_at(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        v = cJSON_GetObjectItemCaseSensitive(v, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *name_of(const cJSON *doc)
{
    return str_at(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), "name", NULL);
}

static const char *kind_of(const cJSON *doc)
{
    return str_at(doc, "kind", NULL);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* "Kind/name", the key of the before map. */
static char *key_of(const char *kind, const char *name)
{
    buf k = BUF_INIT;
    buf_printf(&k, "%s/%s", kind ? kind : "", name ? name : "");
    return buf_detach(&k);
}

static void remember(install *in, const cJSON *obj)
{
    char *k = key_of(kind_of(obj), name_of(obj));
    const char *rv = str_at(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "resourceVersion", NULL);
    cJSON_DeleteItemFromObjectCaseSensitive(in->before, k);
    cJSON_AddStringToObject(in->before, k, rv ? rv : "");
    free(k);
}

/* ---- Secrets ----------------------------------------------------------- */

static int read_secrets(install *in, exo_err *err)
{
    const char *const names[] = {SECRET_POSTGRES, SECRET_DATABASE, SECRET_ENCRYPTION,
                                 SECRET_BOOTSTRAP};
    in->secrets = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        cJSON *s = NULL;
        if (kube_get(in->c, &KR_SECRETS, in->ns, names[i], &s, err) < 0) {
            if (!kube_is_not_found(err))
                return err_prefix(err, "reading Secret %s/%s", in->ns, names[i]);
            err_clear(err);
            continue;
        }
        cJSON_AddItemToObject(in->secrets, names[i], s);
    }
    return 0;
}

/* A live Secret's value, decoded (caller frees and cleanses), or NULL. */
static char *secret_value(const install *in, const char *name, const char *key)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(in->secrets, name);
    const char *b64 = str_at(cJSON_GetObjectItemCaseSensitive(s, "data"), key, NULL);
    unsigned char *raw = NULL;
    size_t len = 0;
    if (!b64 || base64_decode(b64, &raw, &len) < 0)
        return NULL;
    char *v = xstrndup((const char *)raw, len);
    OPENSSL_cleanse(raw, len);
    free(raw);
    return v;
}

/* The bundled Postgres initialised its data with the password it was first
 * given: keep using it, from exo-postgres, or else from a DSN that points at
 * the bundled server. Caller frees. */
static char *kept_postgres_password(const install *in)
{
    char *pw = secret_value(in, SECRET_POSTGRES, contract.postgres_secret_key);
    if (pw)
        return pw;
    char *text = secret_value(in, SECRET_DATABASE, SECRET_DATABASE_KEY);
    dsn *d = NULL;
    if (text && dsn_parse(&d, text, NULL) == 0) {
        buf host = BUF_INIT;
        buf_printf(&host, "exo-postgres.%s.svc", in->ns);
        const char *h = dsn_get(d, "host"), *p = dsn_get(d, "password");
        if (h && p && strcmp(h, host.ptr) == 0)
            pw = xstrdup(p);
        buf_free(&host);
    }
    dsn_free(d);
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    return pw;
}

/* The create of a Secret that was absent failed with AlreadyExists: the
 * client retried it after an answer was lost, so the first attempt may have
 * made it. It is ours if it holds exactly the values sent; else someone
 * made it meanwhile, and the rendering (other Secrets derive from it) no
 * longer matches the cluster. Nothing is overwritten either way. */
static int confirm_secret(install *in, const kube_resource *r, const cJSON *doc, exo_err *err)
{
    const char *name = name_of(doc);
    cJSON *live = NULL;
    if (kube_get(in->c, r, in->ns, name, &live, err) < 0)
        return err_prefix(err, "reading Secret %s/%s back after its create", in->ns, name);
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(doc, "data");
    const cJSON *have = cJSON_GetObjectItemCaseSensitive(live, "data");
    bool ours = want && have && cJSON_Compare(want, have, true);
    cJSON_Delete(live);
    if (!ours)
        return err_set(err,
                       "Secret %s/%s was created by someone else while this install ran; it is "
                       "kept: run exo-install install again",
                       in->ns, name);
    in->created++;
    progress_step(in->pg, "Secret %s created (confirmed by reading it back: an answer was lost)",
                  name);
    return 0;
}

static int apply_secret(install *in, const kube_resource *r, cJSON *doc, exo_err *err)
{
    const char *name = name_of(doc);
    const cJSON *live = cJSON_GetObjectItemCaseSensitive(in->secrets, name);
    if (!live) {
        if (kube_create(in->c, r, in->ns, doc, 0, NULL, err) == 0) {
            in->created++;
            progress_step(in->pg, "Secret %s created", name);
            return 0;
        }
        if (!kube_is_already_exists(err))
            return err_prefix(err, "creating Secret %s/%s", in->ns, name);
        err_clear(err);
        return confirm_secret(in, r, doc, err);
    }
    /* The one Secret whose value follows the flags: the DSN. The others
     * hold generated keys and passwords and are never overwritten. */
    if (strcmp(name, SECRET_DATABASE) == 0) {
        const char *want =
            str_at(cJSON_GetObjectItemCaseSensitive(doc, "data"), SECRET_DATABASE_KEY, NULL);
        const char *have =
            str_at(cJSON_GetObjectItemCaseSensitive(live, "data"), SECRET_DATABASE_KEY, NULL);
        if (want && (!have || strcmp(want, have) != 0)) {
            if (kube_apply(in->c, r, in->ns, doc, CLUSTER_FIELD_MANAGER, KUBE_FORCE, NULL, err) < 0)
                return err_prefix(err, "updating Secret %s/%s", in->ns, name);
            in->configured++;
            progress_step(in->pg, "Secret %s configured (its DSN follows %s)", name,
                          in->a->opts.bundled_postgres ? "the bundled Postgres" : "--db-dsn");
            return 0;
        }
    }
    in->kept++;
    progress_step(in->pg, "Secret %s kept (exists; never overwritten)", name);
    return 0;
}

/* ---- applying ---------------------------------------------------------- */

static int wait_established(install *in, const cJSON *doc, exo_err *err)
{
    for (;;) {
        bool ready = false;
        buf why = BUF_INIT;
        int rc = readiness_check(in->c, doc, &ready, &why, err);
        buf_free(&why);
        if (rc < 0 || ready)
            return rc;
        if (progress_elapsed(in->pg) > in->deadline)
            return err_set(err, "timed out waiting for CustomResourceDefinition %s to be "
                                "established",
                           name_of(doc));
        sleep_ms(200);
    }
}

static int apply_doc(install *in, cJSON *doc, exo_err *err)
{
    const char *kind = kind_of(doc), *name = name_of(doc);
    const kube_resource *r = cluster_resource_of(str_at(doc, "apiVersion", NULL), kind);
    if (!r)
        return err_set(err, "%s %s: a kind exo-install cannot apply", kind, name);
    if (applyset_member(doc))
        applyset_label(doc, in->id);
    if (strcmp(kind, "Secret") == 0)
        return apply_secret(in, r, doc, err);
    cJSON *out = NULL;
    if (kube_apply(in->c, r, NULL, doc, CLUSTER_FIELD_MANAGER, KUBE_FORCE, &out, err) < 0)
        return err_prefix(err, "applying %s %s", kind, name);
    char *k = key_of(kind, name);
    const char *was = str_at(in->before, k, NULL);
    const char *now = str_at(cJSON_GetObjectItemCaseSensitive(out, "metadata"), "resourceVersion", NULL);
    const char *verb;
    if (!was) {
        verb = "created";
        in->created++;
    } else if (now && strcmp(was, now) == 0) {
        verb = "unchanged";
        in->unchanged++;
    } else {
        verb = "configured";
        in->configured++;
    }
    free(k);
    cJSON_Delete(out);
    int rc = 0;
    if (strcmp(kind, "CustomResourceDefinition") == 0) {
        rc = wait_established(in, doc, err);
        if (rc == 0)
            progress_step(in->pg, "%s %s %s, established", kind, name, verb);
    } else {
        progress_step(in->pg, "%s %s %s", kind, name, verb);
    }
    if (strcmp(kind, "Namespace") == 0 && !was)
        in->ns_created = true;
    return rc;
}

/* The Namespace and the CRD as they were, for created/unchanged. */
static int read_cluster_scoped(install *in, exo_err *err)
{
    const cJSON *doc;
    cJSON_ArrayForEach(doc, in->docs)
    {
        if (applyset_member(doc))
            continue;
        const kube_resource *r = cluster_resource_of(str_at(doc, "apiVersion", NULL), kind_of(doc));
        cJSON *live = NULL;
        if (r && kube_get(in->c, r, NULL, name_of(doc), &live, err) == 0) {
            remember(in, live);
            cJSON_Delete(live);
        } else if (r && !kube_is_not_found(err)) {
            return err_prefix(err, "reading %s %s", kind_of(doc), name_of(doc));
        }
        err_clear(err);
    }
    return 0;
}

static int read_parent(install *in, exo_err *err)
{
    cJSON *cm = NULL;
    if (kube_get(in->c, &KR_CONFIGMAPS, in->ns, APPLYSET_PARENT, &cm, err) < 0) {
        if (!kube_is_not_found(err))
            return err_prefix(err, "reading ConfigMap %s/%s", in->ns, APPLYSET_PARENT);
        err_clear(err);
        return 0;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(cm, "metadata");
    const char *gks = str_at(md, "annotations", APPLYSET_GROUP_KINDS);
    const char *created = str_at(md, "annotations", APPLYSET_NS_CREATED);
    in->old_gks = xstrdup(gks ? gks : "");
    in->ns_created = created && strcmp(created, "true") == 0;
    cJSON_Delete(cm);
    return 0;
}

static int apply_parent(install *in, const char *gks, exo_err *err)
{
    cJSON *p = applyset_parent(in->ns, in->id, gks);
    if (in->ns_created)
        cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(
                                    cJSON_GetObjectItemCaseSensitive(p, "metadata"), "annotations"),
                                APPLYSET_NS_CREATED, "true");
    int rc = kube_apply(in->c, &KR_CONFIGMAPS, in->ns, p, CLUSTER_FIELD_MANAGER, KUBE_FORCE, NULL, err);
    cJSON_Delete(p);
    if (rc < 0)
        return err_prefix(err, "applying ConfigMap %s/%s (the record of what is installed)", in->ns,
                          APPLYSET_PARENT);
    return 0;
}

/* Calls fn for each group-kind of a comma-separated list. */
static int each_gk(const char *gks, int (*fn)(install *, const char *, exo_err *), install *in,
                   exo_err *err)
{
    for (const char *p = gks; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len) {
            char *gk = xstrndup(p, len);
            int rc = fn(in, gk, err);
            free(gk);
            if (rc < 0)
                return -1;
        }
        p += len + (p[len] == ',');
    }
    return 0;
}

static int remember_members(install *in, const char *gk, exo_err *err)
{
    cJSON *items = NULL;
    if (applyset_list(in->c, in->ns, in->id, gk, &items, err) < 0) {
        if (kube_is_not_found(err)) { /* the kind is not served (yet): no members */
            err_clear(err);
            return 0;
        }
        return err_prefix(err, "listing %s", gk);
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        /* Lists leave kind out of their items. */
        const char *dot = strchr(gk, '.');
        char *kind = dot ? xstrndup(gk, (size_t)(dot - gk)) : xstrdup(gk);
        char *k = key_of(kind, name_of(it));
        const char *rv = str_at(cJSON_GetObjectItemCaseSensitive(it, "metadata"), "resourceVersion", NULL);
        cJSON_DeleteItemFromObjectCaseSensitive(in->before, k);
        cJSON_AddStringToObject(in->before, k, rv ? rv : "");
        free(k);
        free(kind);
    }
    cJSON_AddItemToObject(in->members, gk, items);
    return 0;
}

static bool rendered(const install *in, const char *gk, const char *name)
{
    const cJSON *doc;
    cJSON_ArrayForEach(doc, in->docs)
    {
        char *dgk = applyset_group_kind(doc);
        bool same = strcmp(dgk, gk) == 0 && name && strcmp(name_of(doc), name) == 0;
        free(dgk);
        if (same)
            return true;
    }
    return false;
}

/* Members listed before this run that the rendering no longer has. Those
 * created by this run are all rendered, so the earlier list is enough. */
static int prune_kind(install *in, const char *gk, exo_err *err)
{
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(in->members, gk);
    int rc = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        const char *name = name_of(it);
        if (!name || rendered(in, gk, name))
            continue;
        if (applyset_kept_kind(gk)) {
            progress_step(in->pg, "%s %s kept (no longer rendered; Secrets and volumes are never "
                                  "pruned)",
                          gk, name);
            continue;
        }
        const kube_resource *r = applyset_resource(gk);
        if (!r)
            continue;
        if (kube_delete(in->c, r, in->ns, name, KUBE_PROPAGATE_BACKGROUND, 0, err) < 0 &&
            !kube_is_not_found(err)) {
            rc = err_prefix(err, "pruning %s %s", gk, name);
            break;
        }
        err_clear(err);
        in->pruned++;
        progress_step(in->pg, "%s %s pruned (no longer rendered)", gk, name);
    }
    return rc;
}

/* ---- waiting ----------------------------------------------------------- */

static int wait_ready(install *in, const cJSON *doc, exo_err *err)
{
    const char *kind = kind_of(doc), *name = name_of(doc);
    buf what = BUF_INIT;
    buf_printf(&what, "%s %s", kind, name);
    long pause = 250;
    int rc = 0;
    for (;;) {
        bool ready = false;
        buf why = BUF_INIT;
        if (readiness_check(in->c, doc, &ready, &why, err) < 0) {
            buf_free(&why);
            rc = err_prefix(err, "reading %s", what.ptr);
            break;
        }
        if (ready) {
            progress_step(in->pg, "%s ready (%s)", what.ptr, why.ptr);
            buf_free(&why);
            break;
        }
        if (progress_elapsed(in->pg) > in->deadline) {
            buf diag = BUF_INIT;
            readiness_diagnose(in->c, doc, &diag);
            rc = err_set(err, "timed out (--timeout %.0fs) waiting for %s in namespace %s (%s)%s%s",
                         (double)in->io->timeout_ms / 1000.0, what.ptr, in->ns, why.ptr,
                         diag.len ? "\n" : "", diag.len ? diag.ptr : "");
            /* The diagnosis ends with a newline the message does not need. */
            size_t n = strlen(err->msg);
            if (n && err->msg[n - 1] == '\n')
                err->msg[n - 1] = '\0';
            buf_free(&diag);
            buf_free(&why);
            break;
        }
        progress_waiting(in->pg, what.ptr, why.ptr);
        buf_free(&why);
        progress_sleep(in->pg, pause);
        if (pause < 2000)
            pause *= 2;
    }
    buf_free(&what);
    return rc;
}

/* ---- the whole install ------------------------------------------------- */

static int render(install *in, exo_err *err)
{
    render_opts *o = &in->a->opts;
    char *pw = o->bundled_postgres ? kept_postgres_password(in) : NULL;
    o->include_secrets = true; /* generated; used only for Secrets that are absent */
    o->postgres_password = pw;
    int rc = render_objects(&in->docs, o, err);
    o->postgres_password = NULL;
    if (pw) {
        OPENSSL_cleanse(pw, strlen(pw));
        free(pw);
    }
    return rc;
}

static int run(install *in, exo_err *err)
{
    kube_client *c = in->c;
    flags *a = in->a;
    char *version = NULL;
    if (preflight_reach(c, &version, err) < 0)
        return -1;
    kube_config *cfg = kube_client_config(c);
    progress_step(in->pg, "cluster %s (context %s), Kubernetes %s", kube_config_server(cfg),
                  kube_config_context(cfg), version);
    free(version);
    preflight_opts po = {.namespace_ = in->ns, .storage_class = a->opts.storage_class, .need_delete = true};
    if (preflight_permissions(c, &po, stderr, err) < 0 ||
        monitoring_preflight(c, &a->opts, err) < 0)
        return -1;
    progress_step(in->pg, "preflight passed: permissions, namespace %s, storage", in->ns);
    if (!a->opts.bundled_postgres && !in->io->skip_db_check) {
        int v = 0;
        int rc = dbcheck_run(a->db_dsn, a->ca_file, stderr, &v, err);
        if (rc < 0)
            return -1;
        if (rc == 0)
            progress_step(in->pg, "managed database: PostgreSQL %d.%d, credentials accepted",
                          v / 10000, v % 10000);
    }
    if (read_secrets(in, err) < 0 || render(in, err) < 0)
        return -1;
    in->id = applyset_id(in->ns);
    in->before = cJSON_CreateObject();
    in->members = cJSON_CreateObject();
    if (read_parent(in, err) < 0 || read_cluster_scoped(in, err) < 0)
        return -1;
    char *union_gks = applyset_group_kinds(in->docs, in->old_gks);
    char *new_gks = applyset_group_kinds(in->docs, NULL);
    int rc = 0;
    bool parent_done = false;
    cJSON *doc;
    /* The parent is recorded with every kind, old and new, before any
     * member is written (an interrupted run can then still be pruned), and
     * right after the Namespace it lives in. */
    cJSON_ArrayForEach(doc, in->docs)
    {
        if (!parent_done && applyset_member(doc)) {
            if (apply_parent(in, union_gks, err) < 0 ||
                each_gk(union_gks, remember_members, in, err) < 0) {
                rc = -1;
                break;
            }
            parent_done = true;
        }
        if ((rc = apply_doc(in, doc, err)) < 0)
            break;
    }
    if (rc == 0)
        rc = each_gk(union_gks, prune_kind, in, err);
    if (rc == 0)
        rc = apply_parent(in, new_gks, err);
    free(union_gks);
    free(new_gks);
    if (rc < 0)
        return -1;
    progress_step(in->pg, "applied %d objects: %d created, %d configured, %d unchanged, %d kept; %d "
                          "pruned",
                  in->created + in->configured + in->unchanged + in->kept, in->created,
                  in->configured, in->unchanged, in->kept, in->pruned);
    if (!in->io->wait)
        return 0;
    cJSON_ArrayForEach(doc, in->docs)
    {
        if (readiness_awaited(doc) && strcmp(kind_of(doc), "CustomResourceDefinition") != 0 &&
            wait_ready(in, doc, err) < 0)
            return -1;
    }
    return 0;
}

/* The rendering holds freshly generated keys and passwords, most of them
 * never sent: wipe them before the memory is reused. */
static void cleanse_secrets(cJSON *docs)
{
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        if (!kind_of(doc) || strcmp(kind_of(doc), "Secret") != 0)
            continue;
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(doc, "data"))
        {
            if (cJSON_IsString(v))
                OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
        }
    }
}

int install_run(cluster *cl, flags *a, const install_opts *io, progress *pg)
{
    install in = {.c = cl->client, .a = a, .io = io, .pg = pg, .ns = a->opts.namespace_};
    in.deadline = progress_elapsed(pg) + (double)io->timeout_ms / 1000.0;
    exo_err err = EXO_ERR_INIT;
    int rc = run(&in, &err);
    const kube_stats *st = kube_client_stats(cl->client);
    if (rc < 0) {
        progress_free(pg);
        fprintf(stderr, "exo-install install: %s\n", err_msg(&err));
    } else {
        progress_step(pg, "done: Exo is %s in namespace %s (%lu API requests, %lu retried)",
                      io->wait ? "ready" : "applied", in.ns, st->requests, st->retries);
        printf("Back up the encryption key now, apart from the database backups: exo-install key "
               "export --namespace %s > exo-encryption-key\n",
               in.ns);
        /* On stderr: the API's hiccups are not part of the result. */
        buf line = BUF_INIT;
        kube_stats_describe(st, &line);
        if (line.len)
            fprintf(stderr, "exo-install: %s\n", line.ptr);
        buf_free(&line);
    }
    err_clear(&err);
    cleanse_secrets(in.docs);
    cJSON_Delete(in.docs);
    cJSON_Delete(in.secrets);
    cJSON_Delete(in.before);
    cJSON_Delete(in.members);
    free(in.old_gks);
    free(in.id);
    return rc < 0 ? 1 : 0;
}
