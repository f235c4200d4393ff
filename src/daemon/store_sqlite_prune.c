/*
 * store_sqlite_prune: retention for the SQLite store (store_prune()).
 *
 * Runs sqlite_store__prune_steps[] (store_sqlite_schema.c, which says what
 * is deleted and what is kept) on the store's own connection: the select
 * steps first, reading without the write lock, then the deletes in one
 * write transaction of at most a batch of rows per table. The write lock
 * is the one the committer takes for its rounds, so an accept waits for at
 * most one such batch. Commits with synchronous=NORMAL: a batch lost to a
 * power cut is deleted again by the next pass. The SQL calls themselves
 * are in store_sqlite.c.
 */
#include "daemon/store_sqlite_internal.h"
#include "lib/clock.h"

#include <pthread.h>
#include <string.h>

#define PARAMS_NR 4

/* Adds n rows deleted from table to res (tables in the steps' order). */
static void count(struct store_prune_result *res, const char *table,
		  int64_t n, size_t batch)
{
	size_t i;

	for (i = 0; i < res->nr; i++)
		if (!strcmp(res->tables[i].table, table))
			break;
	if (i == res->nr) {
		if (res->nr == STORE_PRUNE_TABLES_MAX)
			return;
		res->tables[res->nr++].table = table;
	}
	res->tables[i].rows += (uint64_t)n;
	res->rows += (uint64_t)n;
	if ((uint64_t)n >= batch)
		res->more = 1;
}

/* Runs the steps whose select is select; counts the write steps' rows. */
static int run_steps(struct conn *c, int select, const double *params,
		     size_t batch, struct store_prune_result *res,
		     struct errbuf *err)
{
	const struct sqlite_prune_step *step;
	int64_t n = 0;

	for (step = sqlite_store__prune_steps; step->sql; step++) {
		if (step->select != select)
			continue;
		if (sqlite_store__conn_run(c, step->sql, params, PARAMS_NR, &n,
					   err))
			return HERALD_EIO;
		if (step->table)
			count(res, step->table, n, batch);
	}
	return 0;
}

int sqlite_store__prune(struct store *st, const struct store_prune_params *p,
			struct store_prune_result *res, struct errbuf *err)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	struct conn *c = &s->prune;
	const double params[PARAMS_NR] = { p->before, (double)p->batch,
					   p->stories_before, p->now };
	double start;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = run_steps(c, 1, params, p->batch, res, err);
	if (ret)
		goto out;
	start = monotonic_now();
	ret = sqlite_store__write_begin(s, c, err);
	if (!ret)
		ret = run_steps(c, 0, params, p->batch, res, err);
	if (!ret)
		ret = sqlite_store__conn_exec(c, "COMMIT", err);
	sqlite_store__write_end(s, c);
	res->write_ms = (monotonic_now() - start) * 1000;
out:
	pthread_mutex_unlock(&c->lock);
	if (ret) {
		memset(res, 0, sizeof(*res));
		errbuf_prefix(err, "pruning %s", s->path);
	}
	return ret;
}
