/* exo-controller: flags, configuration, then the controller's loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "controller.h"
#include "err.h"
#include "kube_config.h"
#include "log.h"
#include "options.h"
#include "version.h"

/* The order controller-runtime uses: --kubeconfig, $KUBECONFIG, the
 * in-cluster service account, then ~/.kube/config. */
static int load_config(kube_config **cfg, const options *o, exo_err *err)
{
    bool explicit = o->kubeconfig || o->context || getenv("KUBECONFIG");
    if (!explicit && getenv("KUBERNETES_SERVICE_HOST"))
        return kube_config_in_cluster(cfg, NULL, err);
    kube_config_opts ko = {o->kubeconfig, o->context};
    return kube_config_load(cfg, &ko, err);
}

int main(int argc, char **argv)
{
    options o;
    exo_err err = EXO_ERR_INIT;
    if (options_parse(&o, argc, argv, &err) < 0) {
        fprintf(stderr, "exo-controller: %s\n", err_msg(&err));
        err_clear(&err);
        return 2;
    }
    if (o.help) {
        options_usage(stdout);
        return 0;
    }
    if (o.version) {
        printf("exo-controller %s\n", EXO_VERSION);
        return 0;
    }
    log_set_level(strcmp(o.log_level, "debug") == 0   ? LOG_DEBUG
                  : strcmp(o.log_level, "warn") == 0  ? LOG_WARN
                  : strcmp(o.log_level, "error") == 0 ? LOG_ERROR
                                                      : LOG_INFO);
    kube_config *cfg = NULL;
    if (load_config(&cfg, &o, &err) < 0) {
        log_msg(LOG_ERROR, "cannot load the Kubernetes configuration", "error", err_msg(&err),
                NULL);
        err_clear(&err);
        return 1;
    }
    const char *ns = o.ns ? o.ns : getenv("POD_NAMESPACE");
    if (!ns || !*ns)
        ns = kube_config_namespace(cfg);
    buf id = BUF_INIT;
    const char *pod = getenv("POD_NAME");
    if (o.identity)
        buf_puts(&id, o.identity);
    else if (pod && *pod)
        buf_puts(&id, pod);
    else {
        char host[256] = "";
        gethostname(host, sizeof host - 1);
        buf_printf(&id, "%s_%ld", host, (long)getpid());
    }
    int rc = controller_run(&o, cfg, ns, id.ptr, &err);
    if (rc < 0)
        log_msg(LOG_ERROR, "exiting", "error", err_msg(&err), NULL);
    err_clear(&err);
    buf_free(&id);
    kube_config_free(cfg);
    return rc < 0 ? 1 : 0;
}
