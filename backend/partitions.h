/* Monthly partitions of the partitioned tables (schema.h): creating the
 * months ahead, keeping a DEFAULT partition so that no insert ever fails
 * for want of its month, moving rows out of it when their month is made,
 * and dropping months wholly past retention. */
#ifndef EXO_PARTITIONS_H
#define EXO_PARTITIONS_H

#include <stdbool.h>
#include <time.h>

#include <libpq-fe.h>

#include "err.h"
#include "pass.h"

typedef struct {
    time_t now;
    int premake_months;    /* months created ahead of now's month */
    int retention_days;    /* the longest retention of any deployment (and the default) */
    bool own_transactions; /* false: run inside the caller's transaction (boot) */
    const pass *pass;      /* a maintenance pass's rules (pass.h); NULL at boot */
} partition_opts;

/* At least the number of schema_partitioned_tables. */
#define PARTITIONS_TABLES_MAX 4

typedef struct {
    int created;
    int dropped;
    long moved_rows; /* from the DEFAULT partition into a new month */
    int retries;     /* lock timeouts retried */
    /* After partitions_ensure: for each of schema_partitioned_tables, how
     * many months after now's month have a partition, one after another. */
    int months_ahead[PARTITIONS_TABLES_MAX];
} partition_report;

/* Creates the DEFAULT partition and the months from now's month through
 * premake months ahead, plus the months of rows waiting in the DEFAULT
 * partition that retention still keeps; each new month takes its rows out
 * of DEFAULT. With own_transactions, each month is one short transaction
 * with a lock timeout, retried. */
int partitions_ensure(PGconn *c, const partition_opts *o, partition_report *r, exo_err *err);

/* Drops the months that end before now - retention_days. Each drop is its
 * own short transaction with a lock timeout, retried. */
int partitions_drop_expired(PGconn *c, const partition_opts *o, partition_report *r,
                            exo_err *err);

#endif
