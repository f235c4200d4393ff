/*
 * loopback: what the unit tests of the HTTP server (test_api, test_httpd)
 * need to talk to it over a real socket on 127.0.0.1. Include after
 * <cmocka.h>: failures are cmocka assertions. Each test file gets its own
 * static copies.
 */
#ifndef HERALD_TEST_LOOPBACK_H
#define HERALD_TEST_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/strbuf.h"

/* A connection to 127.0.0.1:port, or -1 when it is refused. */
static inline int dial(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		assert_true(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

/*
 * Reads an answer until the server closes (requests say Connection:
 * close); the caller frees it. The poll timeout only bounds a failing
 * test.
 */
static inline char *read_answer(int fd)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		assert_int_equal(poll(&p, 1, 60000), 1);
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		strbuf_add(&sb, buf, (size_t)n);
	}
	return strbuf_detach(&sb, NULL);
}

/* Sends request on a new connection and returns the whole answer. */
static inline char *roundtrip(int port, const char *request)
{
	int fd = dial(port);
	char *ans;

	assert_true(fd >= 0);
	send_all(fd, request, strlen(request));
	ans = read_answer(fd);
	close(fd);
	return ans;
}

#endif
