/*
 * bench_store: how many events per second the store accepts durably.
 *
 *   bench_store [THREADS [ACCEPTS_PER_THREAD [DIR]]]
 *
 * Each thread calls store_accept() with one event at a time, as API
 * threads do for single-event requests; group commit batches them. The
 * database is created in a new directory under DIR (default $TMPDIR or
 * /tmp; use a directory on the disk herald will run on, since the fsync is
 * what is measured) and removed afterwards.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/store.h"
#include "lib/strbuf.h"

struct worker {
	pthread_t thread;
	struct store *st;
	int n;
	long each;
	long failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char key[64];

	for (long i = 0; i < w->each; i++) {
		struct store_item it = {
			.idem_key = key,
			.type = "deploy",
			.status = "succeeded",
			.app = "api",
			.env = "production",
			.body = "{\"type\":\"deploy\",\"status\":\"succeeded\","
				"\"app\":\"api\",\"env\":\"production\","
				"\"version\":\"1.2.3\",\"actor\":\"jane\"}",
			.provider = "slack",
			.destination = "#deploys",
			.dest_kind = "channel",
			.reason = "default channel",
			.state = STORE_QUEUED,
		};
		struct store_accepted out;

		snprintf(key, sizeof(key), "bench-%d-%ld", w->n, i);
		if (store_accept(w->st, &it, 1, &out, NULL)) {
			w->failures++;
			continue;
		}
		store_accepted_release(&out);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	long threads = 4, each = 10000;
	const char *base = getenv("TMPDIR");
	char dir[512], path[600], p[640];
	struct worker *w;
	struct store *st;
	struct store_stats stats;
	struct errbuf err;
	long failures = 0;
	double t0, t1;

	if ((argc > 1 && parse_long(argv[1], 1, 256, &threads)) ||
	    (argc > 2 && parse_long(argv[2], 1, 10000000, &each))) {
		fprintf(stderr, "usage: bench_store [THREADS [ACCEPTS_PER_THREAD [DIR]]]\n");
		return 2;
	}
	if (argc > 3)
		base = argv[3];
	snprintf(dir, sizeof(dir), "%s/herald-bench-XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/herald.db", dir);
	if (store_open(&st, path, &err)) {
		fprintf(stderr, "bench_store: %s\n", err.msg);
		return 1;
	}

	w = xcalloc((size_t)threads, sizeof(*w));
	t0 = store_now();
	for (long i = 0; i < threads; i++) {
		w[i].st = st;
		w[i].n = (int)i;
		w[i].each = each;
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	for (long i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		failures += w[i].failures;
	}
	t1 = store_now();
	store_stats(st, &stats);
	store_close(st);

	printf("%ld threads x %ld accepts: %.0f accepts/s (%.2f s), "
	       "%llu transactions (%.1f accepts each), %ld failed\n",
	       threads, each, (double)(threads * each) / (t1 - t0), t1 - t0,
	       (unsigned long long)stats.accept_commits,
	       stats.accept_commits ?
	       (double)stats.accept_calls / (double)stats.accept_commits : 0.0,
	       failures);

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
		unlink(p);
	}
	rmdir(dir);
	free(w);
	return failures ? 1 : 0;
}
