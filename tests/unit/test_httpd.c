/*
 * Unit tests for the HTTP server (src/daemon/httpd.c) with a handler of
 * their own, over real loopback sockets: handlers run on their own threads
 * (one that blocks holds up no other connection), a stop waits for the
 * handlers running, and the deadlines and the room-making that keep slow
 * and idle clients from holding connections (slowloris). No test depends
 * on timing beyond "eventually, within a generous bound".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/httpd.h"
#include "loopback.h"
#include "lib/clock.h"
#include "lib/strbuf.h"

/* The handler: "/block" waits until the test releases it. */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int open, waiting;
};

static struct gate gate = { PTHREAD_MUTEX_INITIALIZER,
			    PTHREAD_COND_INITIALIZER, 0, 0 };

static void gate_release(void)
{
	pthread_mutex_lock(&gate.lock);
	gate.open = 1;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
}

static void gate_reset(void)
{
	pthread_mutex_lock(&gate.lock);
	gate.open = 0;
	gate.waiting = 0;
	pthread_mutex_unlock(&gate.lock);
}

/* Waits (bounded) until a handler waits at the gate. */
static void gate_wait_for_handler(void)
{
	for (int i = 0; i < 3000; i++) {
		int n;

		pthread_mutex_lock(&gate.lock);
		n = gate.waiting;
		pthread_mutex_unlock(&gate.lock);
		if (n)
			return;
		usleep(10 * 1000);
	}
	fail_msg("the handler never ran");
}

static void handler(void *arg, const struct httpd_request *req,
		    struct httpd_response *resp)
{
	char *body;

	if (!strcmp(req->path, "/block")) {
		pthread_mutex_lock(&gate.lock);
		gate.waiting++;
		while (!gate.open)
			pthread_cond_wait(&gate.cond, &gate.lock);
		pthread_mutex_unlock(&gate.lock);
	}
	body = xstrdup(req->path);
	httpd_response_set(resp, 200, "text/plain", body, strlen(body));
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

static char *get(int port, const char *path)
{
	char req[256];
	char *ans;
	int fd = dial(port);

	assert_true(fd >= 0);
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n"
		 "Connection: close\r\n\r\n", path);
	send_str(fd, req);
	ans = read_answer(fd);
	close(fd);
	return ans;
}

/*
 * Whether the server closed fd within seconds (reading and dropping what
 * it sends); each call of drip (if any) every 0.2 s sends one more byte.
 */
static int closed_within(int fd, double seconds, const char *drip)
{
	double end = monotonic_now() + seconds;
	char buf[256];

	while (monotonic_now() < end) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (poll(&p, 1, 200) == 1) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);

			if (n <= 0)
				return 1;
			continue;
		}
		if (drip && send(fd, drip, 1, MSG_NOSIGNAL) < 0)
			return 1;
	}
	return 0;
}

static struct httpd *start(struct httpd_options *opt)
{
	struct httpd *h;
	struct errbuf err;

	opt->listen = "127.0.0.1:0";
	if (httpd_start(&h, opt, handler, NULL, &err) < 0)
		fail_msg("httpd_start: %s", err.msg);
	return h;
}

/* A handler that blocks holds up no other connection. */
static void test_blocked_handler_blocks_nobody(void **state)
{
	struct httpd_options opt = { 0 };
	struct httpd *h;
	char *ans;
	int fd;

	gate_reset();
	h = start(&opt);
	fd = dial(httpd_port(h));
	send_str(fd, "GET /block HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	gate_wait_for_handler();
	for (int i = 0; i < 3; i++) {
		ans = get(httpd_port(h), "/fast");
		assert_true(!strncmp(ans, "HTTP/1.1 200 ", 13));
		assert_non_null(strstr(ans, "\r\n\r\n/fast"));
		free(ans);
	}
	gate_release();
	ans = read_answer(fd);
	assert_non_null(strstr(ans, "\r\n\r\n/block"));
	free(ans);
	close(fd);
	httpd_stop(h);
}

struct stopper {
	struct httpd *h;
	int done;
};

static void *stop_main(void *arg)
{
	struct stopper *s = arg;

	httpd_stop(s->h);
	s->done = 1;
	return NULL;
}

/* A stop waits for the handler running, whose client gets its answer. */
static void test_stop_waits_for_handlers(void **state)
{
	struct httpd_options opt = { 0 };
	struct stopper s = { 0 };
	pthread_t t;
	char *ans;
	int fd;

	gate_reset();
	s.h = start(&opt);
	fd = dial(httpd_port(s.h));
	send_str(fd, "GET /block HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	gate_wait_for_handler();
	assert_int_equal(pthread_create(&t, NULL, stop_main, &s), 0);
	usleep(100 * 1000);
	assert_false(s.done);
	gate_release();
	pthread_join(t, NULL);
	assert_true(s.done);
	ans = read_answer(fd);
	assert_true(!strncmp(ans, "HTTP/1.1 200 ", 13));
	free(ans);
	close(fd);
}

/* A request head sent a byte at a time is cut off at its deadline. */
static void test_slow_head_closed(void **state)
{
	struct httpd_options opt = { .header_timeout_s = 1 };
	struct httpd *h = start(&opt);
	double t0 = monotonic_now();
	char *ans;
	int fd = dial(httpd_port(h));

	send_str(fd, "POST /x HTTP/1.1\r\nHost: x\r\nX-Slow: ");
	assert_true(closed_within(fd, 20, "a"));
	assert_true(monotonic_now() - t0 >= 0.9);
	close(fd);
	/* A kept-alive connection gets the same deadline for its next head. */
	fd = dial(httpd_port(h));
	send_str(fd, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(closed_within(fd, 20, NULL));
	close(fd);
	ans = get(httpd_port(h), "/fine");
	assert_true(!strncmp(ans, "HTTP/1.1 200 ", 13));
	free(ans);
	httpd_stop(h);
}

/* So is a body sent a byte at a time. */
static void test_slow_body_closed(void **state)
{
	struct httpd_options opt = { .body_timeout_s = 1 };
	struct httpd *h = start(&opt);
	double t0 = monotonic_now();
	int fd = dial(httpd_port(h));

	send_str(fd, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n");
	assert_true(closed_within(fd, 20, " "));
	assert_true(monotonic_now() - t0 >= 0.9);
	close(fd);
	httpd_stop(h);
}

static size_t connections_eventually(struct httpd *h, size_t want)
{
	size_t n = httpd_connections(h);

	for (int i = 0; i < 1000 && n != want; i++) {
		usleep(10 * 1000);
		n = httpd_connections(h);
	}
	return n;
}

/*
 * Near the connection limit, the connections that have waited longest
 * for a request head are closed to make room, and a new client gets in.
 */
static void test_idle_closed_for_room(void **state)
{
	struct httpd_options opt = { .connection_limit = 16,
				     .header_timeout_s = 60 };
	struct httpd *h = start(&opt);
	int idle[15], closed = 0;
	char *ans;

	for (int i = 0; i < 15; i++) {
		idle[i] = dial(httpd_port(h));
		assert_true(idle[i] >= 0);
		/* Opened in order: the watchdog sees them oldest first. */
		connections_eventually(h, (size_t)i + 1);
	}
	/* 15 is over 7/8 of 16: closed down to 3/4, the oldest first. */
	assert_true(closed_within(idle[0], 20, NULL));
	assert_int_equal(connections_eventually(h, 12), 12);
	for (int i = 0; i < 15; i++) {
		struct pollfd p = { idle[i], POLLIN, 0 };

		if (poll(&p, 1, 0) == 1 || i == 0)
			closed++;
	}
	assert_int_equal(closed, 3);
	ans = get(httpd_port(h), "/room");
	assert_true(!strncmp(ans, "HTTP/1.1 200 ", 13));
	free(ans);
	for (int i = 0; i < 15; i++)
		close(idle[i]);
	assert_int_equal(connections_eventually(h, 0), 0);
	httpd_stop(h);
}

/* One address may hold its share of connections and no more. */
static void test_per_address_limit(void **state)
{
	struct httpd_options opt = { .per_ip_limit = 4 };
	struct httpd *h = start(&opt);
	int fds[5];

	for (int i = 0; i < 5; i++) {
		fds[i] = dial(httpd_port(h));
		assert_true(fds[i] >= 0);
	}
	/* The fifth is accepted by the kernel, then closed by the server. */
	assert_true(closed_within(fds[4], 20, NULL));
	assert_int_equal(connections_eventually(h, 4), 4);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	httpd_stop(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocked_handler_blocks_nobody),
		cmocka_unit_test(test_stop_waits_for_handlers),
		cmocka_unit_test(test_slow_head_closed),
		cmocka_unit_test(test_slow_body_closed),
		cmocka_unit_test(test_idle_closed_for_room),
		cmocka_unit_test(test_per_address_limit),
	};

	return cmocka_run_group_tests_name("httpd", tests, NULL, NULL);
}
