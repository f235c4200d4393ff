/*
 * bench_sink: a Slack Web API stand-in that never rate-limits, for the
 * end-to-end benchmark of `herald serve`.
 *
 *   bench_sink [--listen HOST:PORT] [--port-file FILE]
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
 * Unlike herald-fake it keeps no messages and takes no lock: one thread
 * with epoll, keep-alive connections and just enough HTTP/1.1 (requests
 * with a Content-Length or no body), so it costs little CPU next to the
 * herald it measures (about 4 µs a post on the benchmark machine, against
 * 13 µs for the same answers from libmicrohttpd with two threads).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/strbuf.h"

#define BODY_MAX (1024u * 1024)

#define READ_CHUNK 16384

static unsigned long long posts, updates, other, ts_seq;
/* Wall-clock microseconds of the first and the last post or update. */
static long long first_us, last_us;

/* A client connection: what came in and what is still to go out. */
struct conn {
	int fd;
	struct strbuf in, out;
	size_t out_off;
	int want_out;		/* EPOLLOUT is on */
};

static long long wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void note_delivery(unsigned long long *counter)
{
	long long now = wall_us();

	(*counter)++;
	if (!first_us)
		first_us = now;
	last_us = now;
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

/* Appends a whole response with a JSON body. */
static void reply(struct conn *c, int status, const char *body, size_t len)
{
	strbuf_addf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: application/json; "
		    "charset=utf-8\r\nContent-Length: %zu\r\n\r\n", status,
		    status == 200 ? "OK" : "Not Found", len);
	strbuf_add(&c->out, body, len);
}

static void answer_api(struct conn *c, const char *method, size_t method_len,
		       const char *body, size_t body_len)
{
	char buf[512], chan[128] = "", id[16], ts[64];
	int n;

#define IS(m) (method_len == strlen(m) && !memcmp(method, m, method_len))
	if (json_field(body, body_len, "channel", chan, sizeof(chan)))
		snprintf(chan, sizeof(chan), "CB0000000");
	channel_id(chan, id);
	if (IS("chat.postMessage")) {
		unsigned long long seq = ++ts_seq;

		note_delivery(&posts);
		n = snprintf(buf, sizeof(buf), "{\"ok\":true,\"channel\":\"%s\","
			     "\"ts\":\"%llu.%06llu\",\"message\":{\"type\":"
			     "\"message\",\"user\":\"UBENCH001\"}}", id,
			     1700000000ull + seq / 1000000, seq % 1000000);
	} else if (IS("chat.update")) {
		if (json_field(body, body_len, "ts", ts, sizeof(ts)))
			snprintf(ts, sizeof(ts), "1700000000.000000");
		note_delivery(&updates);
		n = snprintf(buf, sizeof(buf), "{\"ok\":true,\"channel\":\"%s\","
			     "\"ts\":\"%s\"}", id, ts);
	} else if (IS("auth.test")) {
		other++;
		n = snprintf(buf, sizeof(buf), "{\"ok\":true,\"url\":"
			     "\"https://bench.slack.com/\",\"team\":\"Bench\","
			     "\"user\":\"herald\",\"team_id\":\"T0BENCH01\","
			     "\"user_id\":\"UBENCH001\",\"bot_id\":\"BBENCH001\"}");
	} else if (IS("conversations.open")) {
		other++;
		n = snprintf(buf, sizeof(buf), "{\"ok\":true,\"channel\":"
			     "{\"id\":\"DBENCH001\"}}");
	} else {
		other++;
		n = snprintf(buf, sizeof(buf), "{\"ok\":false,\"error\":"
			     "\"unknown_method\"}");
	}
#undef IS
	reply(c, 200, buf, (size_t)n);
}

static void answer_control(struct conn *c, const char *line, size_t len)
{
	char buf[256];
	int n;

#define STARTS(s) (len >= strlen(s) && !memcmp(line, s, strlen(s)))
	if (STARTS("GET /_sink/stats ")) {
		n = snprintf(buf, sizeof(buf), "{\"posts\":%llu,\"updates\":%llu,"
			     "\"other\":%llu,\"first_at\":%.6f,\"last_at\":%.6f}\n",
			     posts, updates, other, (double)first_us / 1e6,
			     (double)last_us / 1e6);
		reply(c, 200, buf, (size_t)n);
	} else if (STARTS("POST /_sink/reset ")) {
		posts = updates = other = 0;
		first_us = last_us = 0;
		reply(c, 200, "{}\n", 3);
	} else {
		reply(c, 404, "{\"error\":\"no such path\"}\n", 24);
	}
#undef STARTS
}

/* The value of header name (with its colon) in head[0..len), or -1. */
static long header_long(const char *head, size_t len, const char *name)
{
	size_t nl = strlen(name);
	char num[24];
	long v;

	for (const char *p = head, *end = head + len; p < end;) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (!eol)
			break;
		if ((size_t)(eol - p) > nl && !strncasecmp(p, name, nl)) {
			const char *q = p + nl;
			size_t k = 0;

			while (q < eol && *q == ' ')
				q++;
			while (q < eol && *q >= '0' && *q <= '9' && k + 1 < sizeof(num))
				num[k++] = *q++;
			num[k] = '\0';
			return parse_long(num, 0, BODY_MAX, &v) ? -1 : v;
		}
		p = eol + 1;
	}
	return 0;
}

/*
 * Answers every complete request in c->in. Returns -1 when the client
 * sent something it cannot read (the connection is then closed).
 */
static int handle_input(struct conn *c)
{
	size_t used = 0;

	for (;;) {
		const char *p = c->in.buf + used, *end = c->in.buf + c->in.len;
		const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		const char *sp1, *sp2;
		size_t head_len;
		long body_len;

		if (!hend)
			break;
		head_len = (size_t)(hend - p) + 4;
		body_len = header_long(p, head_len, "Content-Length:");
		if (body_len < 0)
			return -1;
		if ((size_t)(end - p) < head_len + (size_t)body_len)
			break;
		sp1 = memchr(p, ' ', head_len);
		sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(hend - sp1 - 1)) : NULL;
		if (!sp2)
			return -1;
		if (sp2 - sp1 > 5 && !memcmp(sp1 + 1, "/api/", 5))
			answer_api(c, sp1 + 6, (size_t)(sp2 - sp1 - 6),
				   p + head_len, (size_t)body_len);
		else
			answer_control(c, p, head_len);
		used += head_len + (size_t)body_len;
	}
	if (used) {
		memmove(c->in.buf, c->in.buf + used, c->in.len - used);
		strbuf_setlen(&c->in, c->in.len - used);
	}
	return 0;
}

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	strbuf_release(&c->in);
	strbuf_release(&c->out);
	free(c);
}

/* Sends what it can; watches for writability while something is left. */
static int flush_out(int ep, struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t w = send(c->fd, c->out.buf + c->out_off,
				 c->out.len - c->out_off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w < 0)
			return -1;
		c->out_off += (size_t)w;
	}
	if (c->out_off == c->out.len) {
		strbuf_reset(&c->out);
		c->out_off = 0;
	}
	if (c->want_out != (c->out.len > 0)) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		c->want_out = c->out.len > 0;
		if (c->want_out)
			ev.events |= EPOLLOUT;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
	return 0;
}

/* Reads what there is, answers it; -1 when the connection is over. */
static int on_readable(int ep, struct conn *c)
{
	for (;;) {
		ssize_t r;

		if (strbuf_grow(&c->in, READ_CHUNK) < 0)
			return -1;	/* a request over BODY_MAX */
		r = recv(c->fd, c->in.buf + c->in.len, READ_CHUNK, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0)
			return -1;
		c->in.len += (size_t)r;
		c->in.buf[c->in.len] = '\0';
		if ((size_t)r < READ_CHUNK)
			break;
	}
	if (handle_input(c) < 0)
		return -1;
	return flush_out(ep, c);
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;
		int one = 1;

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		strbuf_init(&c->in, BODY_MAX + READ_CHUNK);
		strbuf_init(&c->out, BODY_MAX);
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
		}
	}
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
	fprintf(stderr, "usage: bench_sink [--listen HOST:PORT] [--port-file FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *listen_at = "127.0.0.1:0", *port_file = NULL;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	struct epoll_event ev, evs[256];
	sigset_t set;
	int lfd, ep, sfd, one = 1, running = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			listen_at = argv[++i];
		else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
			port_file = argv[++i];
		else
			usage();
	}
	if (parse_listen(listen_at, &sa)) {
		fprintf(stderr, "bench_sink: --listen %s: expected IPv4:PORT, "
			"e.g. 127.0.0.1:0\n", listen_at);
		return 2;
	}

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one,
				  sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
		fprintf(stderr, "bench_sink: cannot listen on %s: %s\n",
			listen_at, strerror(errno));
		return 1;
	}
	if (port_file && write_port_file(port_file, ntohs(sa.sin_port))) {
		fprintf(stderr, "bench_sink: cannot write %s: %s\n", port_file,
			strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &sfd };
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	printf("bench_sink listening on http://127.0.0.1:%d\n",
	       ntohs(sa.sin_port));
	fflush(stdout);

	while (running) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				accept_all(ep, lfd);
			} else if ((void *)c == (void *)&sfd) {
				running = 0;
			} else if ((evs[i].events & EPOLLIN &&
				    on_readable(ep, c) < 0) ||
				   (evs[i].events & EPOLLOUT &&
				    flush_out(ep, c) < 0) ||
				   (evs[i].events & (EPOLLERR | EPOLLHUP) &&
				    !(evs[i].events & EPOLLIN))) {
				conn_close(ep, c);
			}
		}
	}
	printf("bench_sink: %llu posts, %llu updates, %llu other calls\n",
	       posts, updates, other);
	return 0;
}
