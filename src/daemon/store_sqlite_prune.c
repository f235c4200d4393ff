/*
 * store_sqlite_prune: retention for the SQLite store (store_prune()).
 *
 * Runs sqlite_store__prune_steps[] (store_sqlite_schema.c, which says what
 * is deleted and what is kept) on the store's own connection: the select
 * steps first, reading without the write lock, then the deletes in one
 * write transaction of at most a batch of rows per table. Before them, a
 * binary search over the ids finds the first notification created after
 * the cutoff (ids grow with time), which bounds the deletes' walk: a batch
 * reads the old rows only, however large the table. The write lock
 * is the one the committer takes for its rounds, so an accept waits for at
 * most one such batch. Commits with synchronous=NORMAL: a batch lost to a
 * power cut is deleted again by the next pass. The SQL calls themselves
 * are in store_sqlite.c.
 */
#include "daemon/store_sqlite_internal.h"
#include "lib/clock.h"

#include <pthread.h>
#include <string.h>

#define PARAMS_NR 5

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
	double n = 0;

	for (step = sqlite_store__prune_steps; step->sql; step++) {
		if (step->select != select)
			continue;
		if (sqlite_store__conn_run(c, step->sql, params, PARAMS_NR, &n,
					   err) < 0)
			return HERALD_EIO;
		if (step->table)
			count(res, step->table, (int64_t)n, batch);
	}
	return 0;
}

/*
 * Sets *bound to the lowest id whose next notification (at or after it)
 * was created at or after before, or is none: every notification below
 * it is older (ids grow with time; a clock stepped back only makes the
 * bound lower for a while). A binary search, each probe one seek.
 */
static int young_bound(struct conn *c, double before, double *bound,
		       struct errbuf *err)
{
	double lo, hi, mid, at;
	int ret;

	ret = sqlite_store__conn_run(c, sqlite_store__sql_prune_min_id, NULL, 0,
				     &lo, err);
	if (ret >= 0)
		ret = sqlite_store__conn_run(c, sqlite_store__sql_prune_max_id,
					     NULL, 0, &hi, err);
	if (ret < 0)
		return ret;
	hi += 1;
	while (lo < hi) {
		mid = lo + (double)(int64_t)((hi - lo) / 2);
		ret = sqlite_store__conn_run(c, sqlite_store__sql_prune_created_at,
					     &mid, 1, &at, err);
		if (ret < 0)
			return ret;
		if (!ret || at >= before)
			hi = mid;
		else
			lo = mid + 1;
	}
	*bound = lo;
	return 0;
}

int sqlite_store__prune(struct store *st, const struct store_prune_params *p,
			struct store_prune_result *res, struct errbuf *err)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	struct conn *c = &s->prune;
	double params[PARAMS_NR] = { p->before, (double)p->batch,
				     p->stories_before, p->now, 0 };
	double start;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = young_bound(c, p->before, &params[4], err);
	if (!ret)
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
