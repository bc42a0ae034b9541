#include "lease.h"

#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "crypto.h"
#include "db.h"
#include "xalloc.h"

/* Runs sql with $1 name, $2 holder, $3 ttl as an interval; *row tells
 * whether it returned a row (the lease is the holder's). */
static int lease_statement(PGconn *c, const char *what, const char *sql, const char *name,
                           const char *holder, int ttl_seconds, bool *row, exo_err *err)
{
    char ttl[32];
    snprintf(ttl, sizeof ttl, "%d seconds", ttl_seconds);
    const char *p[] = {name, holder, ttl, NULL};
    PGresult *res = db_query(c, what, sql, p, err);
    if (!res)
        return -1;
    *row = PQntuples(res) == 1;
    PQclear(res);
    return 0;
}

int lease_acquire(PGconn *c, const char *name, const char *holder, int ttl_seconds, bool *got,
                  exo_err *err)
{
    /* One statement, so it is atomic without an explicit transaction; the
     * expiry is the server's clock, the same for every replica. */
    return lease_statement(c, "acquiring a lease",
                           "INSERT INTO exo_leases (name, holder, expires_at) VALUES ($1, $2, "
                           "now() + $3::interval) ON CONFLICT (name) DO UPDATE SET holder = "
                           "EXCLUDED.holder, expires_at = EXCLUDED.expires_at WHERE "
                           "exo_leases.expires_at < now() OR exo_leases.holder = EXCLUDED.holder "
                           "RETURNING holder",
                           name, holder, ttl_seconds, got, err);
}

int lease_renew(PGconn *c, const char *name, const char *holder, int ttl_seconds, bool *held,
                exo_err *err)
{
    /* Ours even when it has expired, as long as nobody took it meanwhile:
     * then nobody else did the guarded work either. */
    return lease_statement(c, "renewing a lease",
                           "UPDATE exo_leases SET expires_at = now() + $3::interval "
                           "WHERE name = $1 AND holder = $2 RETURNING 1",
                           name, holder, ttl_seconds, held, err);
}

int lease_release(PGconn *c, const char *name, const char *holder, exo_err *err)
{
    const char *p[] = {name, holder, NULL};
    return db_exec(c, "releasing a lease", "DELETE FROM exo_leases WHERE name = $1 AND holder = $2",
                   p, err);
}

static char holder_id[300];
static pthread_once_t holder_once = PTHREAD_ONCE_INIT;

static void make_holder_id(void)
{
    char host[256] = "unknown";
    gethostname(host, sizeof host - 1);
    unsigned char r[4];
    crypto_random(r, sizeof r);
    snprintf(holder_id, sizeof holder_id, "%s/%ld/%02x%02x%02x%02x", host, (long)getpid(), r[0],
             r[1], r[2], r[3]);
}

char *lease_holder_id(void)
{
    /* The same for every pass of this process: a pass cut short by a lost
     * database connection cannot release its lease, and the next pass must
     * be able to take it again rather than wait for it to expire. */
    pthread_once(&holder_once, make_holder_id);
    return xstrdup(holder_id);
}
