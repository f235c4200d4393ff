/*
 * bench_accept: herald's accept path alone (HTTP server, API, store),
 * without the delivery engine, for measuring POST /api/v1/events in
 * isolation.
 *
 *   HERALD_DATABASE=/var/tmp/x.db HERALD_LISTEN=127.0.0.1:8091 bench_accept
 *
 * It reads the same environment as `herald serve` (listen address,
 * database, channel mapping, default channel, API token), starts the
 * httpd and API handlers exactly as the daemon wires them, and serves
 * until SIGTERM or SIGINT. Accepted notifications are counted instead of
 * delivered. Comparing its numbers with `herald serve` shows what the
 * engine costs the accept path. BENCH_HTTPD_THREADS sets the most handler
 * threads (httpd's default, 64, otherwise), to see what they limit.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/api.h"
#include "core/config.h"
#include "lib/errbuf.h"
#include "daemon/httpd.h"
#include "daemon/store.h"
#include "lib/strbuf.h"

static atomic_ullong woken;

static void on_wake(void *arg, const int64_t *ids, size_t nr)
{
	atomic_fetch_add(&woken, nr);
}

int main(void)
{
	struct errlist problems = ERRLIST_INIT;
	struct api_routing routing;
	struct api_context ctx;
	struct httpd_options hopt = { 0 };
	struct httpd *h = NULL;
	struct store *st = NULL;
	struct store_stats stats;
	struct config cfg;
	struct errbuf err;
	sigset_t set;
	int sig, ret = 1;

	if (getenv("BENCH_HTTPD_THREADS")) {
		long n;

		if (parse_long(getenv("BENCH_HTTPD_THREADS"), 1, 1024, &n)) {
			fprintf(stderr, "bench_accept: BENCH_HTTPD_THREADS is not "
				"a number from 1 to 1024\n");
			return 2;
		}
		hopt.threads = (unsigned)n;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	config_init(&cfg);
	if (config_load(&cfg, &config_source_process, &problems)) {
		for (size_t i = 0; i < problems.nr; i++)
			fprintf(stderr, "bench_accept: %s\n", problems.items[i]);
		config_release(&cfg);
		goto out;
	}
	if (store_open(&st, cfg.database, &err)) {
		fprintf(stderr, "bench_accept: %s\n", err.msg);
		config_release(&cfg);
		goto out;
	}
	api_context_init(&ctx);
	api_routing_init(&routing, api_snapshot_new(&cfg, NULL));
	ctx.routing = &routing;
	ctx.store = st;
	ctx.wake = on_wake;
	{
		struct api_snapshot *snap = api_routing_current(&routing);

		hopt.listen = snap->cfg.listen;
		ctx.api_token = snap->cfg.api_token;
		if (httpd_start(&h, &hopt, api_handle, &ctx, &err)) {
			fprintf(stderr, "bench_accept: %s\n", err.msg);
			api_snapshot_put(snap);
			goto out;
		}
		printf("bench_accept listening on %s (port %d), database %s\n",
		       snap->cfg.listen, httpd_port(h), snap->cfg.database);
		fflush(stdout);
		api_snapshot_put(snap);
	}

	sigdelset(&set, SIGPIPE);
	sigwait(&set, &sig);
	api_set_shutting_down(&ctx);
	ret = 0;
out:
	if (h)
		httpd_stop(h);
	if (st) {
		store_stats(st, &stats);
		printf("bench_accept: %llu notifications accepted, %llu store "
		       "calls in %llu transactions\n",
		       (unsigned long long)atomic_load(&woken),
		       (unsigned long long)stats.accept_calls,
		       (unsigned long long)stats.accept_commits);
		store_close(st);
		api_routing_release(&routing);
	}
	errlist_release(&problems);
	return ret;
}
