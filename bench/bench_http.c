/*
 * bench_http: an HTTP/1.1 load generator for POST /api/v1/events.
 *
 *   bench_http --port PORT --requests N [--connections C] [--batch B]
 *              [--rate R] [--channels K] [--prefix ID] [--token T]
 *              [--host 127.0.0.1] [--path /api/v1/events]
 *
 * It keeps C keep-alive connections to herald and sends N requests, each
 * one event (B = 1, a JSON object) or a batch of B events (an array). The
 * events are deploys with ids and versions unique to the run (so each is
 * its own story and becomes a post, not an edit), spread round-robin over K channels
 * "#bench-0" … "#bench-K-1" with the event's channel field (K = 0: no
 * channel, herald routes them itself).
 *
 * Without --rate it runs closed-loop: every connection sends its next
 * request as soon as the answer to the last one is in, which measures the
 * most herald accepts. With --rate R it runs open-loop: request i is due
 * at start + i/R whatever happened before; when no connection is free the
 * request waits, and its latency is counted from when it was due, so a
 * stall shows in the percentiles instead of slowing the generator down.
 *
 * --path sends the same bodies elsewhere, e.g. to a sink's
 * /api/chat.postMessage to measure the sink itself.
 *
 * One thread, epoll, non-blocking sockets. It prints a summary and a
 * "RESULT key=value …" line for scripts; it exits 1 when any request got
 * something other than 200/202 or failed on the socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/strbuf.h"

#define MAX_CONNECTIONS 1024
#define MAX_STATUS 600

struct options {
	const char *host;
	long port;
	long requests;
	long connections;
	long batch;
	double rate;
	long channels;
	const char *prefix;
	const char *token;
	const char *path;
};

struct conn {
	int fd;
	int busy;		/* a request is on the wire */
	struct strbuf out;
	size_t out_off;
	struct strbuf in;
	double started;		/* when the request was due or sent */
};

struct run {
	struct options opt;
	struct sockaddr_in addr;
	int epfd;
	struct conn *conns;
	long issued, completed, events_sent;
	double *latency;	/* seconds, one per completed request */
	long status[MAX_STATUS];
	long socket_errors;
	long failed_states;	/* "failed" in 2xx answers: e.g. unrouted */
	/* Open loop: due times of requests waiting for a free connection. */
	double *backlog;
	long backlog_head, backlog_tail;
	double next_due;
};

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_http: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void add_event(struct strbuf *b, const struct run *r, long n)
{
	strbuf_addf(b, "{\"id\":\"%s-%ld\",\"type\":\"deploy\",\"status\":"
		    "\"succeeded\",\"app\":\"app%ld\",\"env\":\"production\","
		    "\"version\":\"1.%ld+%s\",\"actor\":\"bench\",\"repository\":"
		    "\"acme/app%ld\",\"description\":\"benchmark event %ld\"",
		    r->opt.prefix, n, n % 50, n, r->opt.prefix, n % 50, n);
	if (r->opt.channels)
		strbuf_addf(b, ",\"channel\":\"#bench-%ld\"", n % r->opt.channels);
	strbuf_addch(b, '}');
}

/* Builds the next request into c->out. */
static void build_request(struct run *r, struct conn *c)
{
	struct strbuf body = STRBUF_INIT;

	if (r->opt.batch > 1)
		strbuf_addch(&body, '[');
	for (long i = 0; i < r->opt.batch; i++) {
		if (i)
			strbuf_addch(&body, ',');
		add_event(&body, r, r->events_sent++);
	}
	if (r->opt.batch > 1)
		strbuf_addch(&body, ']');

	strbuf_reset(&c->out);
	c->out_off = 0;
	strbuf_addf(&c->out, "POST %s HTTP/1.1\r\nHost: %s:%ld\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu\r\n",
		    r->opt.path, r->opt.host, r->opt.port, body.len);
	if (r->opt.token)
		strbuf_addf(&c->out, "Authorization: Bearer %s\r\n", r->opt.token);
	strbuf_addstr(&c->out, "\r\n");
	strbuf_add(&c->out, body.buf, body.len);
	strbuf_release(&body);
}

static int conn_open(struct run *r, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket");
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&r->addr, sizeof(r->addr)) &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->fd, &ev))
		die("epoll_ctl");
	return 0;
}

static void conn_close(struct run *r, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	strbuf_reset(&c->in);
}

static void finish(struct run *r, struct conn *c, int status)
{
	r->latency[r->completed++] = now_mono() - c->started;
	if (status > 0 && status < MAX_STATUS)
		r->status[status]++;
	else
		r->socket_errors++;
	c->busy = 0;
}

static void start(struct run *r, struct conn *c, double started)
{
	if (c->fd < 0 && conn_open(r, c)) {
		c->started = started;
		r->issued++;
		finish(r, c, 0);
		return;
	}
	build_request(r, c);
	c->busy = 1;
	c->started = started;
	r->issued++;
	/* Writable readiness sends it; EPOLLOUT is level-triggered. */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void fail(struct run *r, struct conn *c)
{
	conn_close(r, c);
	if (c->busy)
		finish(r, c, 0);
}

static void on_writable(struct run *r, struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.buf + c->out_off,
				 c->out.len - c->out_off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN)
				return;
			fail(r, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	epoll_ctl(r->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* The value of header name in head (which ends with CRLF CRLF), or NULL. */
static const char *header(const char *head, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r';
	     p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, name, nl) && p[2 + nl] == ':') {
			p += 3 + nl;
			while (*p == ' ')
				p++;
			return p;
		}
	}
	return NULL;
}

/* Consumes a complete response from c->in, if there is one. */
static void parse_response(struct run *r, struct conn *c)
{
	char *end = strstr(c->in.buf, "\r\n\r\n");
	const char *cl, *conn_hdr;
	long status, len = 0;
	size_t head_len, total;
	char code[4];

	if (!end)
		return;
	end[2] = '\0';		/* header() stops at the empty line */
	if (strncmp(c->in.buf, "HTTP/1.", 7) || strlen(c->in.buf) < 12) {
		fail(r, c);
		return;
	}
	memcpy(code, c->in.buf + 9, 3);
	code[3] = '\0';
	cl = header(c->in.buf, "Content-Length");
	conn_hdr = header(c->in.buf, "Connection");
	if (parse_long(code, 100, 599, &status) || !cl) {
		fail(r, c);
		return;
	}
	len = strtol(cl, NULL, 10);
	end[2] = '\r';
	head_len = (size_t)(end + 4 - c->in.buf);
	total = head_len + (size_t)len;
	if (c->in.len < total)
		return;
	if (status / 100 == 2 && memmem(c->in.buf + head_len, (size_t)len,
					"\"failed\"", 8))
		r->failed_states++;
	if (c->in.len > total)	/* nothing is pipelined: a protocol error */
		fprintf(stderr, "bench_http: %zu stray bytes after a response\n",
			c->in.len - total);
	strbuf_reset(&c->in);
	finish(r, c, (int)status);
	if (conn_hdr && !strncasecmp(conn_hdr, "close", 5))
		conn_close(r, c);
}

static void on_readable(struct run *r, struct conn *c)
{
	char buf[16384];

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			fail(r, c);
			return;
		}
		strbuf_add(&c->in, buf, (size_t)n);
	}
	if (c->busy)
		parse_response(r, c);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double percentile(const double *v, long n, double p)
{
	long i = (long)(p / 100.0 * (double)n);

	if (n == 0)
		return 0;
	return v[i >= n ? n - 1 : i];
}

static struct conn *idle_conn(struct run *r)
{
	for (long i = 0; i < r->opt.connections; i++)
		if (!r->conns[i].busy)
			return &r->conns[i];
	return NULL;
}

/* Starts every request that is due and has a free connection. */
static void issue(struct run *r, double now)
{
	struct conn *c;

	if (r->opt.rate > 0) {
		while (r->issued + (r->backlog_tail - r->backlog_head) <
		       r->opt.requests && r->next_due <= now) {
			r->backlog[r->backlog_tail++] = r->next_due;
			r->next_due += 1.0 / r->opt.rate;
		}
		while (r->backlog_head < r->backlog_tail && (c = idle_conn(r)))
			start(r, c, r->backlog[r->backlog_head++]);
	} else {
		while (r->issued < r->opt.requests && (c = idle_conn(r)))
			start(r, c, now);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_http --port PORT --requests N "
		"[--connections C] [--batch B] [--rate R] [--channels K] "
		"[--prefix ID] [--token T] [--host 127.0.0.1] "
		"[--path /api/v1/events]\n");
	exit(2);
}

static void parse_options(struct options *o, int argc, char **argv)
{
	static char prefix[64];

	*o = (struct options){ .host = "127.0.0.1", .requests = 1000,
			       .connections = 16, .batch = 1, .channels = 100,
			       .path = "/api/v1/events" };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;

		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--host"))
			o->host = v;
		else if (!strcmp(a, "--port"))
			bad = parse_long(v, 1, 65535, &o->port);
		else if (!strcmp(a, "--requests"))
			bad = parse_long(v, 1, 100000000, &o->requests);
		else if (!strcmp(a, "--connections"))
			bad = parse_long(v, 1, MAX_CONNECTIONS, &o->connections);
		else if (!strcmp(a, "--batch"))
			bad = parse_long(v, 1, 1000, &o->batch);
		else if (!strcmp(a, "--rate"))
			bad = parse_double(v, 0, 1e6, &o->rate);
		else if (!strcmp(a, "--channels"))
			bad = parse_long(v, 0, 1000000, &o->channels);
		else if (!strcmp(a, "--prefix"))
			o->prefix = v;
		else if (!strcmp(a, "--token"))
			o->token = v;
		else if (!strcmp(a, "--path"))
			o->path = v;
		else
			usage();
		if (bad) {
			fprintf(stderr, "bench_http: %s %s: not a number in range\n",
				a, v);
			exit(2);
		}
	}
	if (!o->port)
		usage();
	if (!o->prefix) {
		snprintf(prefix, sizeof(prefix), "b%ld-%d", (long)time(NULL),
			 (int)getpid());
		o->prefix = prefix;
	}
}

int main(int argc, char **argv)
{
	struct run r = { 0 };
	struct epoll_event evs[64];
	double t0, t1, w0, elapsed;
	long events, ok = 0;

	parse_options(&r.opt, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	r.addr.sin_family = AF_INET;
	r.addr.sin_port = htons((unsigned short)r.opt.port);
	if (inet_pton(AF_INET, r.opt.host, &r.addr.sin_addr) != 1) {
		fprintf(stderr, "bench_http: --host %s: expected an IPv4 address\n",
			r.opt.host);
		return 2;
	}
	if ((r.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");
	r.conns = xcalloc((size_t)r.opt.connections, sizeof(*r.conns));
	r.latency = xcalloc((size_t)r.opt.requests, sizeof(*r.latency));
	r.backlog = xcalloc((size_t)r.opt.requests, sizeof(*r.backlog));
	for (long i = 0; i < r.opt.connections; i++) {
		struct conn *c = &r.conns[i];

		strbuf_init(&c->out, STRBUF_DEFAULT_MAX);
		strbuf_init(&c->in, STRBUF_DEFAULT_MAX);
		c->fd = -1;
		if (conn_open(&r, c))
			die("connect");
		/* Idle until a request starts: only errors wake it. */
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(r.epfd, EPOLL_CTL_MOD, c->fd, &ev);
	}

	t0 = now_mono();
	w0 = now_wall();
	r.next_due = t0;
	while (r.completed < r.opt.requests) {
		struct timespec ts, *tsp = NULL;
		double now = now_mono();
		int n;

		issue(&r, now);
		if (r.opt.rate > 0 && r.issued + (r.backlog_tail - r.backlog_head) <
		    r.opt.requests) {
			double wait = r.next_due - now;

			if (wait < 0)
				wait = 0;
			ts.tv_sec = (time_t)wait;
			ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
			tsp = &ts;
		}
		n = epoll_pwait2(r.epfd, evs, 64, tsp, NULL);
		if (n < 0 && errno != EINTR)
			die("epoll_pwait2");
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (c->fd < 0)
				continue;
			if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
				fail(&r, c);
				continue;
			}
			if (evs[i].events & EPOLLOUT)
				on_writable(&r, c);
			if (c->fd >= 0 && (evs[i].events & EPOLLIN))
				on_readable(&r, c);
		}
	}
	t1 = now_mono();
	elapsed = t1 - t0;

	qsort(r.latency, (size_t)r.completed, sizeof(double), cmp_double);
	ok = r.status[200] + r.status[202];
	events = ok * r.opt.batch;
	printf("bench_http: %ld requests of %ld event(s) on %ld connections%s in "
	       "%.3f s: %.0f requests/s, %.0f events/s accepted\n",
	       r.completed, r.opt.batch, r.opt.connections,
	       r.opt.rate > 0 ? " (open loop)" : "", elapsed,
	       (double)ok / elapsed, (double)events / elapsed);
	printf("bench_http: latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  "
	       "max %.3f\n", percentile(r.latency, r.completed, 50) * 1e3,
	       percentile(r.latency, r.completed, 90) * 1e3,
	       percentile(r.latency, r.completed, 99) * 1e3,
	       percentile(r.latency, r.completed, 99.9) * 1e3,
	       r.completed ? r.latency[r.completed - 1] * 1e3 : 0.0);
	printf("bench_http: status");
	for (int s = 0; s < MAX_STATUS; s++)
		if (r.status[s])
			printf(" %d:%ld", s, r.status[s]);
	printf(", socket errors %ld", r.socket_errors);
	if (r.failed_states)
		printf(", %ld answers with a failed notification (unrouted?)",
		       r.failed_states);
	printf("\n");
	printf("RESULT requests=%ld events=%ld seconds=%.6f req_per_s=%.1f "
	       "events_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	       "p999_ms=%.3f max_ms=%.3f errors=%ld failed_states=%ld "
	       "start_unix=%.6f end_unix=%.6f\n",
	       r.completed, events, elapsed, (double)ok / elapsed,
	       (double)events / elapsed,
	       percentile(r.latency, r.completed, 50) * 1e3,
	       percentile(r.latency, r.completed, 90) * 1e3,
	       percentile(r.latency, r.completed, 99) * 1e3,
	       percentile(r.latency, r.completed, 99.9) * 1e3,
	       r.completed ? r.latency[r.completed - 1] * 1e3 : 0.0,
	       r.completed - ok, r.failed_states, w0, w0 + elapsed);

	for (long i = 0; i < r.opt.connections; i++) {
		conn_close(&r, &r.conns[i]);
		strbuf_release(&r.conns[i].out);
		strbuf_release(&r.conns[i].in);
	}
	free(r.conns);
	free(r.latency);
	free(r.backlog);
	close(r.epfd);
	return ok == r.completed ? 0 : 1;
}
