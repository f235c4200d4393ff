/*
 * bench_sink: a Slack Web API stand-in that never rate-limits, for the
 * end-to-end benchmark of `herald serve`.
 *
 *   bench_sink [--listen HOST:PORT] [--port-file FILE] [--threads N]
 *
 * It answers what herald's Slack provider calls, at once and always with
 * success: chat.postMessage (a new ts each time), chat.update, auth.test
 * and conversations.open. It counts posts and updates and remembers when
 * the first and the last of them arrived (wall clock), so a benchmark can
 * tell how long herald took to deliver N notifications without polling
 * fast. Point herald at it with HERALD_SLACK_API_URL=http://HOST:PORT/api.
 *
 *   GET  /_sink/stats   {"posts", "updates", "other", "first_at", "last_at"}
 *   POST /_sink/reset   zero the counters
 *
 * Unlike herald-fake it keeps no messages and takes no lock, so it costs
 * little CPU next to the herald it measures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "strbuf.h"

#define BODY_MAX (1024u * 1024)

static atomic_ullong posts, updates, other, ts_seq;
/* Wall-clock microseconds of the first and the last post or update. */
static atomic_llong first_us, last_us;

struct request {
	struct strbuf body;
};

static long long wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void note_delivery(atomic_ullong *counter)
{
	long long now = wall_us(), zero = 0;

	atomic_fetch_add(counter, 1);
	atomic_compare_exchange_strong(&first_us, &zero, now);
	/* Keep the latest time even when threads race. */
	for (long long prev = atomic_load(&last_us); prev < now &&
	     !atomic_compare_exchange_weak(&last_us, &prev, now);)
		;
}

/*
 * The string value of "name" in a compact or spaced JSON object, without
 * decoding escapes (herald's channel names and ts values have none).
 * Copies at most size - 1 bytes; returns 0 when found.
 */
static int json_field(const char *json, size_t len, const char *name,
		      char *out, size_t size)
{
	char key[64];
	size_t kl = (size_t)snprintf(key, sizeof(key), "\"%s\"", name);
	const char *p = json, *end = json + len;

	while ((p = memmem(p, (size_t)(end - p), key, kl))) {
		const char *q = p + kl;
		size_t n = 0;

		p = q;
		for (; q < end && (*q == ' ' || *q == ':'); q++)
			;
		if (q >= end || *q != '"')
			continue;
		for (q++; q < end && *q != '"' && n + 1 < size; q++)
			out[n++] = *q;
		out[n] = '\0';
		return 0;
	}
	return -1;
}

/* A channel ID for a channel name: stable, Slack-shaped. */
static void channel_id(const char *name, char out[16])
{
	unsigned h = 2166136261u;

	if (name[0] == 'C' && strlen(name) >= 9 && !strchr(name, '-')) {
		snprintf(out, 16, "%.15s", name);
		return;
	}
	for (const char *s = name; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	snprintf(out, 16, "CB%08X", h);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json; charset=utf-8");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer_api(struct MHD_Connection *c, const char *method,
				  const struct strbuf *body)
{
	char buf[512], chan[128] = "", id[16], ts[64];
	int n;

	if (json_field(body->buf, body->len, "channel", chan, sizeof(chan)))
		snprintf(chan, sizeof(chan), "CB0000000");
	channel_id(chan, id);
	if (!strcmp(method, "chat.postMessage")) {
		unsigned long long seq = atomic_fetch_add(&ts_seq, 1) + 1;

		note_delivery(&posts);
		n = snprintf(buf, sizeof(buf), "{\"ok\":true,\"channel\":\"%s\","
			     "\"ts\":\"%llu.%06llu\",\"message\":{\"type\":"
			     "\"message\",\"user\":\"UBENCH001\"}}", id,
			     1700000000ull + seq / 1000000, seq % 1000000);
	} else if (!strcmp(method, "chat.update")) {
		if (json_field(body->buf, body->len, "ts", ts, sizeof(ts)))
			snprintf(ts, sizeof(ts), "1700000000.000000");
		note_delivery(&updates);
		n = snprintf(buf, sizeof(buf), "{\"ok\":true,\"channel\":\"%s\","
			     "\"ts\":\"%s\"}", id, ts);
	} else if (!strcmp(method, "auth.test")) {
		atomic_fetch_add(&other, 1);
		n = snprintf(buf, sizeof(buf), "{\"ok\":true,\"url\":"
			     "\"https://bench.slack.com/\",\"team\":\"Bench\","
			     "\"user\":\"herald\",\"team_id\":\"T0BENCH01\","
			     "\"user_id\":\"UBENCH001\",\"bot_id\":\"BBENCH001\"}");
	} else if (!strcmp(method, "conversations.open")) {
		atomic_fetch_add(&other, 1);
		n = snprintf(buf, sizeof(buf), "{\"ok\":true,\"channel\":"
			     "{\"id\":\"DBENCH001\"}}");
	} else {
		atomic_fetch_add(&other, 1);
		n = snprintf(buf, sizeof(buf), "{\"ok\":false,\"error\":"
			     "\"unknown_method\"}");
	}
	return reply(c, 200, buf, (size_t)n);
}

static enum MHD_Result answer_control(struct MHD_Connection *c,
				      const char *method, const char *url)
{
	char buf[256];
	int n;

	if (!strcmp(url, "/_sink/stats") && !strcmp(method, "GET")) {
		n = snprintf(buf, sizeof(buf), "{\"posts\":%llu,\"updates\":%llu,"
			     "\"other\":%llu,\"first_at\":%.6f,\"last_at\":%.6f}\n",
			     atomic_load(&posts), atomic_load(&updates),
			     atomic_load(&other), (double)atomic_load(&first_us) / 1e6,
			     (double)atomic_load(&last_us) / 1e6);
		return reply(c, 200, buf, (size_t)n);
	}
	if (!strcmp(url, "/_sink/reset") && !strcmp(method, "POST")) {
		atomic_store(&posts, 0);
		atomic_store(&updates, 0);
		atomic_store(&other, 0);
		atomic_store(&first_us, 0);
		atomic_store(&last_us, 0);
		return reply(c, 200, "{}\n", 3);
	}
	return reply(c, 404, "{\"error\":\"no such path\"}\n", 24);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct request *rq = *con_cls;

	if (!rq) {
		rq = xcalloc(1, sizeof(*rq));
		strbuf_init(&rq->body, BODY_MAX);
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (strbuf_add(&rq->body, upload, *upload_size))
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	if (!strncmp(url, "/api/", 5))
		return answer_api(c, url + 5, &rq->body);
	return answer_control(c, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *rq = *con_cls;

	if (!rq)
		return;
	strbuf_release(&rq->body);
	free(rq);
	*con_cls = NULL;
}

static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
	const char *colon = strrchr(listen, ':');
	char host[64];
	long port;

	if (!colon || (size_t)(colon - listen) >= sizeof(host) ||
	    parse_long(colon + 1, 0, 65535, &port))
		return -1;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")))
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) || rename(tmp, path))
		return -1;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_sink [--listen HOST:PORT] [--port-file FILE] "
		"[--threads N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *listen = "127.0.0.1:0", *port_file = NULL;
	long threads = 2;
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	sigset_t set;
	int sig, port;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen = argv[++i];
		else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
			port_file = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
			if (parse_long(argv[++i], 1, 64, &threads))
				usage();
		} else
			usage();
	}
	if (parse_listen(listen, &sa)) {
		fprintf(stderr, "bench_sink: --listen %s: expected IPv4:PORT, "
			"e.g. 127.0.0.1:0\n", listen);
		return 2;
	}

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			     MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
			     MHD_OPTION_CONNECTION_LIMIT, 4096u,
			     MHD_OPTION_CONNECTION_TIMEOUT, 120u,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "bench_sink: cannot listen on %s: %s\n", listen,
			strerror(errno));
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	port = info ? info->port : 0;
	if (port_file && write_port_file(port_file, port)) {
		fprintf(stderr, "bench_sink: cannot write %s: %s\n", port_file,
			strerror(errno));
		MHD_stop_daemon(d);
		return 1;
	}
	printf("bench_sink listening on http://127.0.0.1:%d\n", port);
	fflush(stdout);

	sigdelset(&set, SIGPIPE);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	printf("bench_sink: %llu posts, %llu updates, %llu other calls\n",
	       atomic_load(&posts), atomic_load(&updates), atomic_load(&other));
	return 0;
}
