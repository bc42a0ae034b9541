#include "options.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

void options_usage(FILE *f)
{
    fputs("Usage: exo-controller [flags]\n"
          "\n"
          "Reconciles ExoControlPlane resources (exo.dev/v1alpha1) into the exo-backend\n"
          "Deployment and Service, and reports their state in the resource's status.\n"
          "Watches one namespace. Logs are JSON lines on stderr.\n"
          "\n"
          "Flags (--flag=value or --flag value):\n"
          "  --kubeconfig PATH        kubeconfig to use out of cluster (default: $KUBECONFIG,\n"
          "                           then the in-cluster service account, then ~/.kube/config)\n"
          "  --context NAME           kubeconfig context (default: its current-context)\n"
          "  --namespace NS           namespace to watch (default: $POD_NAMESPACE, then the\n"
          "                           kubeconfig context's namespace)\n"
          "  --health-addr ADDR       /healthz, /readyz, /metrics listen address (default :8081)\n"
          "  --leader-elect           take the coordination.k8s.io/v1 Lease \"exo-controller\" in\n"
          "                           the namespace first; only the leader reconciles\n"
          "  --leader-elect-identity ID  holder identity (default: $POD_NAME, then HOST_PID)\n"
          "  --lease-duration DUR     how long a Lease stays valid unrenewed (default 15s)\n"
          "  --renew-deadline DUR     how long the leader retries renewing before it gives up\n"
          "                           leadership and exits (default 10s)\n"
          "  --retry-period DUR       time between attempts to take or renew (default 2s)\n"
          "  --resync-period DUR      reconcile every resource this often (default 10m)\n"
          "  --log-level LEVEL        debug, info, warn or error (default info)\n"
          "  --version                print the version and exit\n"
          "  -h, --help               this help\n"
          "\n"
          "Durations: a number with a unit, ms, s, m or h (500ms, 15s, 1h30m).\n"
          "Exit status: 0 after SIGTERM/SIGINT (the Lease released); 1 on a fatal error or\n"
          "a lost Lease; 2 for a bad flag.\n",
          f);
}

long options_duration_ms(const char *s)
{
    int64_t ns;
    if (duration_parse(s, &ns) < 0 || ns < 0 || ns / DURATION_MS > LONG_MAX)
        return -1;
    return (long)(ns / DURATION_MS);
}

typedef struct {
    const char *name;
    const char **str;
    long *ms;
} value_flag;

int options_parse(options *o, int argc, char **argv, exo_err *err)
{
    memset(o, 0, sizeof *o);
    o->health_addr = ":8081";
    o->log_level = "info";
    o->lease_ms = 15000;
    o->renew_deadline_ms = 10000;
    o->retry_ms = 2000;
    o->resync_ms = 600000;
    const value_flag flags[] = {
        {"--kubeconfig", &o->kubeconfig, NULL},
        {"--context", &o->context, NULL},
        {"--namespace", &o->ns, NULL},
        {"--health-addr", &o->health_addr, NULL},
        {"--leader-elect-identity", &o->identity, NULL},
        {"--log-level", &o->log_level, NULL},
        {"--lease-duration", NULL, &o->lease_ms},
        {"--renew-deadline", NULL, &o->renew_deadline_ms},
        {"--retry-period", NULL, &o->retry_ms},
        {"--resync-period", NULL, &o->resync_ms},
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = true;
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            o->version = true;
            continue;
        }
        if (strcmp(a, "--leader-elect") == 0 || strcmp(a, "--leader-elect=true") == 0) {
            o->leader_elect = true;
            continue;
        }
        if (strcmp(a, "--leader-elect=false") == 0) {
            o->leader_elect = false;
            continue;
        }
        const value_flag *f = NULL;
        const char *v = NULL;
        for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
            size_t n = strlen(flags[k].name);
            if (strncmp(a, flags[k].name, n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                f = &flags[k];
                v = a[n] == '=' ? a + n + 1 : NULL;
                break;
            }
        }
        if (!f) {
            if (a[0] == '-')
                return err_set(err, "unknown flag %s (see --help)", a);
            return err_set(err, "unexpected argument \"%s\" (exo-controller takes only flags)", a);
        }
        if (!v) {
            if (i + 1 >= argc)
                return err_set(err, "flag %s needs a value", f->name);
            v = argv[++i];
        }
        if (f->str) {
            if (!*v)
                return err_set(err, "flag %s: empty value", f->name);
            *f->str = v;
        } else {
            long ms = options_duration_ms(v);
            if (ms <= 0)
                return err_set(err, "flag %s: \"%s\" is not a duration such as 15s", f->name, v);
            *f->ms = ms;
        }
    }
    if (strcmp(o->log_level, "debug") != 0 && strcmp(o->log_level, "info") != 0 &&
        strcmp(o->log_level, "warn") != 0 && strcmp(o->log_level, "error") != 0)
        return err_set(err, "flag --log-level: \"%s\" is not debug, info, warn or error",
                       o->log_level);
    if (o->renew_deadline_ms >= o->lease_ms)
        return err_set(err, "flag --renew-deadline must be shorter than --lease-duration");
    if (o->retry_ms >= o->renew_deadline_ms)
        return err_set(err, "flag --retry-period must be shorter than --renew-deadline");
    return 0;
}
