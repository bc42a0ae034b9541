#include "backend_objects.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend_env.h"
#include "buf.h"
#include "jpath.h"
#include "names.h"
#include "xalloc.h"

char *backend_name(const cJSON *ecp)
{
    buf b = BUF_INIT;
    buf_printf(&b, "%s-backend", jpath_str(ecp, "metadata.name", "exo"));
    return buf_detach(&b);
}

/* The database CA's folder (the volume's mount point) and file name (the
 * ConfigMap item's path), from the one full path PGSSLROOTCERT names. */
static char *ca_dir(void)
{
    const char *p = contract_env_get(CONTRACT_ENV_PGSSLROOTCERT)->def, *slash = strrchr(p, '/');
    return xstrndup(p, (size_t)(slash - p));
}

static const char *ca_file(void)
{
    return strrchr(contract_env_get(CONTRACT_ENV_PGSSLROOTCERT)->def, '/') + 1;
}

static cJSON *labels(const cJSON *ecp, bool selector_only)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "app.kubernetes.io/name", "exo-backend");
    cJSON_AddStringToObject(l, "app.kubernetes.io/instance", jpath_str(ecp, "metadata.name", ""));
    if (!selector_only) {
        cJSON_AddStringToObject(l, "app.kubernetes.io/component", "backend");
        cJSON_AddStringToObject(l, "app.kubernetes.io/part-of", "exo");
        cJSON_AddStringToObject(l, "app.kubernetes.io/managed-by", FIELD_MANAGER);
    }
    return l;
}

/* Owner reference with controller: true, so that the garbage collector
 * removes the object with its ExoControlPlane, and blockOwnerDeletion, so
 * that a foreground delete of the resource waits for it. */
static cJSON *metadata(const cJSON *ecp, const char *name)
{
    cJSON *md = cJSON_CreateObject();
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", jpath_str(ecp, "metadata.namespace", ""));
    cJSON_AddItemToObject(md, "labels", labels(ecp, false));
    cJSON *refs = cJSON_AddArrayToObject(md, "ownerReferences");
    cJSON *ref = cJSON_CreateObject();
    cJSON_AddStringToObject(ref, "apiVersion", jpath_str(ecp, "apiVersion", "exo.dev/v1alpha1"));
    cJSON_AddStringToObject(ref, "kind", "ExoControlPlane");
    cJSON_AddStringToObject(ref, "name", jpath_str(ecp, "metadata.name", ""));
    cJSON_AddStringToObject(ref, "uid", jpath_str(ecp, "metadata.uid", ""));
    cJSON_AddTrueToObject(ref, "controller");
    cJSON_AddTrueToObject(ref, "blockOwnerDeletion");
    cJSON_AddItemToArray(refs, ref);
    return md;
}

static void env_value(cJSON *env, const char *name, const char *value)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "name", name);
    cJSON_AddStringToObject(e, "value", value);
    cJSON_AddItemToArray(env, e);
}

/* A Secret reference keeps the value out of the Deployment: only the
 * kubelet reads it. */
static void env_secret(cJSON *env, const char *name, const cJSON *ref)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "name", name);
    cJSON *from = cJSON_AddObjectToObject(e, "valueFrom");
    cJSON *sk = cJSON_AddObjectToObject(from, "secretKeyRef");
    cJSON_AddStringToObject(sk, "name", jpath_str(ref, "name", ""));
    cJSON_AddStringToObject(sk, "key", jpath_str(ref, "key", ""));
    cJSON_AddItemToArray(env, e);
}

/* The value of a variable the resource sets: its field, or the default. */
static void env_from_spec(cJSON *env, const contract_env *v, const cJSON *spec)
{
    if (v->type != CONTRACT_INT && v->type != CONTRACT_BYTES) {
        env_value(env, v->name, jpath_str(spec, v->spec, v->def));
        return;
    }
    char text[32];
    snprintf(text, sizeof text, "%lld", jpath_int(spec, v->spec, strtoll(v->def, NULL, 10)));
    env_value(env, v->name, text);
}

/* The backend's environment, in the contract's order, each variable from
 * where the contract says it comes. */
static cJSON *container_env(const cJSON *spec)
{
    cJSON *env = cJSON_CreateArray();
    for (size_t i = 0; i < CONTRACT_ENV_COUNT; i++) {
        const contract_env *v = contract_env_get((contract_env_id)i);
        const cJSON *field = v->spec ? jpath_get(spec, v->spec) : NULL;
        switch (v->from) {
        case CONTRACT_FROM_SECRET:
            if (field || v->required)
                env_secret(env, v->name, field);
            break;
        case CONTRACT_FROM_SPEC:
            env_from_spec(env, v, spec);
            break;
        case CONTRACT_FROM_DEFAULT:
            env_value(env, v->name, v->def);
            break;
        case CONTRACT_WHEN_SPEC:
            if (field)
                env_value(env, v->name, v->def);
            break;
        }
    }
    return env;
}

static cJSON *probe(const char *path, int period, int failures)
{
    cJSON *p = cJSON_CreateObject();
    cJSON *get = cJSON_AddObjectToObject(p, "httpGet");
    cJSON_AddStringToObject(get, "path", path);
    cJSON_AddStringToObject(get, "port", "http");
    cJSON_AddStringToObject(get, "scheme", "HTTP");
    cJSON_AddNumberToObject(p, "periodSeconds", period);
    cJSON_AddNumberToObject(p, "timeoutSeconds", 2);
    cJSON_AddNumberToObject(p, "failureThreshold", failures);
    return p;
}

static cJSON *container(const cJSON *ecp)
{
    const cJSON *spec = jpath_get(ecp, "spec");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", "backend");
    cJSON_AddStringToObject(c, "image", jpath_str(spec, "backend.image", ""));
    cJSON *cmd = cJSON_AddArrayToObject(c, "command");
    cJSON_AddItemToArray(cmd, cJSON_CreateString(contract.backend_binary));
    cJSON_AddItemToArray(cmd, cJSON_CreateString("serve"));

    cJSON_AddItemToObject(c, "env", container_env(spec));
    bool ca = jpath_get(spec, "database.caConfigMapRef") != NULL;

    cJSON *ports = cJSON_AddArrayToObject(c, "ports");
    cJSON *port = cJSON_CreateObject();
    cJSON_AddStringToObject(port, "name", "http");
    cJSON_AddNumberToObject(port, "containerPort", contract_backend_port());
    cJSON_AddStringToObject(port, "protocol", "TCP");
    cJSON_AddItemToArray(ports, port);

    /* Boot migrations can take a while on a big database: readiness waits
     * for them (/readyz is 503 until they finish), liveness only asks that
     * the process answers. */
    cJSON_AddItemToObject(c, "livenessProbe", probe("/healthz", 10, 6));
    cJSON_AddItemToObject(c, "readinessProbe", probe("/readyz", 5, 3));

    const cJSON *res = jpath_get(spec, "backend.resources");
    if (cJSON_IsObject(res))
        cJSON_AddItemToObject(c, "resources", cJSON_Duplicate(res, true));

    cJSON *sc = cJSON_AddObjectToObject(c, "securityContext");
    cJSON_AddFalseToObject(sc, "allowPrivilegeEscalation");
    cJSON_AddTrueToObject(sc, "readOnlyRootFilesystem");
    cJSON_AddTrueToObject(sc, "runAsNonRoot");
    cJSON *caps = cJSON_AddObjectToObject(sc, "capabilities");
    cJSON *drop = cJSON_AddArrayToObject(caps, "drop");
    cJSON_AddItemToArray(drop, cJSON_CreateString("ALL"));

    cJSON *mounts = cJSON_AddArrayToObject(c, "volumeMounts");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "name", "casts");
    cJSON_AddStringToObject(m, "mountPath", contract_env_get(CONTRACT_ENV_CAST_STORAGE_DIR)->def);
    cJSON_AddItemToArray(mounts, m);
    /* The root filesystem is read-only; temporary files go here. */
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "name", "tmp");
    cJSON_AddStringToObject(m, "mountPath", "/tmp");
    cJSON_AddItemToArray(mounts, m);
    if (ca) {
        m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "name", "database-ca");
        char *dir = ca_dir();
        cJSON_AddStringToObject(m, "mountPath", dir);
        free(dir);
        cJSON_AddTrueToObject(m, "readOnly");
        cJSON_AddItemToArray(mounts, m);
    }
    return c;
}

static cJSON *volumes(const cJSON *ecp)
{
    const cJSON *spec = jpath_get(ecp, "spec");
    cJSON *vols = cJSON_CreateArray();
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "name", "casts");
    cJSON *pvc = cJSON_AddObjectToObject(v, "persistentVolumeClaim");
    cJSON_AddStringToObject(pvc, "claimName", jpath_str(spec, "casts.claimName", ""));
    cJSON_AddItemToArray(vols, v);
    v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "name", "tmp");
    cJSON_AddObjectToObject(v, "emptyDir");
    cJSON_AddItemToArray(vols, v);
    const cJSON *ca = jpath_get(spec, "database.caConfigMapRef");
    if (ca) {
        v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "name", "database-ca");
        cJSON *cm = cJSON_AddObjectToObject(v, "configMap");
        cJSON_AddStringToObject(cm, "name", jpath_str(ca, "name", ""));
        /* Only the named key, at the one file name PGSSLROOTCERT gives. */
        cJSON *items = cJSON_AddArrayToObject(cm, "items");
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "key", jpath_str(ca, "key", ""));
        cJSON_AddStringToObject(item, "path", ca_file());
        cJSON_AddItemToArray(items, item);
        cJSON_AddItemToArray(vols, v);
    }
    return vols;
}

cJSON *backend_deployment(const cJSON *ecp, const backend_inputs *in)
{
    char *name = backend_name(ecp);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "apiVersion", "apps/v1");
    cJSON_AddStringToObject(d, "kind", "Deployment");
    cJSON_AddItemToObject(d, "metadata", metadata(ecp, name));
    cJSON *spec = cJSON_AddObjectToObject(d, "spec");
    cJSON_AddNumberToObject(spec, "replicas", (double)jpath_int(ecp, "spec.backend.replicas", 1));
    cJSON *sel = cJSON_AddObjectToObject(spec, "selector");
    cJSON_AddItemToObject(sel, "matchLabels", labels(ecp, true));
    cJSON *strategy = cJSON_AddObjectToObject(spec, "strategy");
    if (in->recreate) {
        /* A ReadWriteOnce volume attaches to one node: a rolling update's
         * new pod would wait forever for the old one's volume. */
        cJSON_AddStringToObject(strategy, "type", "Recreate");
    } else {
        /* Written out (not left to defaults) so that this manager owns
         * rollingUpdate and drops it if the strategy becomes Recreate. */
        cJSON_AddStringToObject(strategy, "type", "RollingUpdate");
        cJSON *ru = cJSON_AddObjectToObject(strategy, "rollingUpdate");
        cJSON_AddStringToObject(ru, "maxSurge", "25%");
        cJSON_AddNumberToObject(ru, "maxUnavailable", 0);
    }
    cJSON *tmpl = cJSON_AddObjectToObject(spec, "template");
    cJSON *tmd = cJSON_AddObjectToObject(tmpl, "metadata");
    cJSON_AddItemToObject(tmd, "labels", labels(ecp, false));
    cJSON *ann = cJSON_AddObjectToObject(tmd, "annotations");
    cJSON_AddStringToObject(ann, CHECKSUM_ANNOTATION, in->checksum ? in->checksum : "");
    cJSON *pod = cJSON_AddObjectToObject(tmpl, "spec");
    cJSON_AddFalseToObject(pod, "automountServiceAccountToken");
    cJSON_AddFalseToObject(pod, "enableServiceLinks");
    cJSON_AddNumberToObject(pod, "terminationGracePeriodSeconds", 30);
    /* Pod Security Standard "restricted". */
    cJSON *psc = cJSON_AddObjectToObject(pod, "securityContext");
    cJSON_AddTrueToObject(psc, "runAsNonRoot");
    cJSON_AddNumberToObject(psc, "runAsUser", contract.backend_uid);
    cJSON_AddNumberToObject(psc, "runAsGroup", contract.backend_uid);
    cJSON_AddNumberToObject(psc, "fsGroup", contract.backend_uid);
    cJSON *seccomp = cJSON_AddObjectToObject(psc, "seccompProfile");
    cJSON_AddStringToObject(seccomp, "type", "RuntimeDefault");
    cJSON *containers = cJSON_AddArrayToObject(pod, "containers");
    cJSON_AddItemToArray(containers, container(ecp));
    cJSON_AddItemToObject(pod, "volumes", volumes(ecp));
    free(name);
    return d;
}

cJSON *backend_service(const cJSON *ecp)
{
    char *name = backend_name(ecp);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddStringToObject(s, "kind", "Service");
    cJSON_AddItemToObject(s, "metadata", metadata(ecp, name));
    cJSON *spec = cJSON_AddObjectToObject(s, "spec");
    cJSON_AddStringToObject(spec, "type", "ClusterIP");
    cJSON_AddItemToObject(spec, "selector", labels(ecp, true));
    cJSON *ports = cJSON_AddArrayToObject(spec, "ports");
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", "http");
    /* port == targetPort: the sandbox's kubelet resolves Service names to
     * pod IPs without port translation. */
    cJSON_AddNumberToObject(p, "port", contract_backend_port());
    cJSON_AddStringToObject(p, "targetPort", "http");
    cJSON_AddStringToObject(p, "protocol", "TCP");
    cJSON_AddItemToArray(ports, p);
    free(name);
    return s;
}
