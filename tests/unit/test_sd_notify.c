/*
 * Unit tests for sd_notify: the datagrams reach a socket the test binds, at
 * a path and at an abstract address; no $NOTIFY_SOCKET sends nothing; bad
 * addresses and a socket nobody listens on are errors that say so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/sd_notify.h"

struct listener {
	int fd;
	char addr[108];		/* as in $NOTIFY_SOCKET */
	char dir[64];		/* the temporary directory of a path socket */
};

/* Binds a datagram socket at a fresh path, or an abstract name. */
static void listen_on(struct listener *l, int abstract)
{
	struct sockaddr_un sa;
	socklen_t len;
	size_t n;

	memset(l, 0, sizeof(*l));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	if (abstract) {
		snprintf(l->addr, sizeof(l->addr), "@herald-test-notify-%ld-%d",
			 (long)getpid(), rand());
		n = strlen(l->addr);
		memcpy(sa.sun_path, l->addr, n);
		sa.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		snprintf(l->dir, sizeof(l->dir), "/tmp/herald-notify.XXXXXX");
		assert_non_null(mkdtemp(l->dir));
		snprintf(l->addr, sizeof(l->addr), "%s/notify", l->dir);
		n = strlen(l->addr);
		memcpy(sa.sun_path, l->addr, n);
		len = (socklen_t)sizeof(sa);
	}
	assert_int_equal(bind(l->fd, (struct sockaddr *)&sa, len), 0);
}

static void listener_close(struct listener *l)
{
	close(l->fd);
	if (l->dir[0]) {
		unlink(l->addr);
		rmdir(l->dir);
	}
}

/* The next datagram, as a string; "" when none is waiting. */
static void receive(struct listener *l, char *buf, size_t size)
{
	ssize_t n = recv(l->fd, buf, size - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
}

static void test_path_socket(void **state)
{
	struct listener l;
	struct errbuf err;
	char buf[SD_NOTIFY_MAX + 16];

	listen_on(&l, 0);
	assert_int_equal(sd_notify_send_to(l.addr, "READY=1\nSTATUS=serving",
					   &err), 1);
	receive(&l, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1\nSTATUS=serving");
	assert_int_equal(sd_notify_send_to(l.addr, "STOPPING=1", &err), 1);
	receive(&l, buf, sizeof(buf));
	assert_string_equal(buf, "STOPPING=1");
	listener_close(&l);
}

static void test_abstract_socket(void **state)
{
	struct listener l;
	struct errbuf err;
	char buf[256];

	listen_on(&l, 1);
	assert_int_equal(sd_notify_send_to(l.addr, "READY=1", &err), 1);
	receive(&l, buf, sizeof(buf));
	assert_string_equal(buf, "READY=1");
	listener_close(&l);
}

/* sd_notify_send() and sd_notify_reloading() read $NOTIFY_SOCKET. */
static void test_environment(void **state)
{
	struct listener l;
	struct errbuf err;
	char buf[256];
	unsigned long long usec = 0;

	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sd_notify_send("READY=1", &err), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(sd_notify_send("READY=1", &err), 0);

	listen_on(&l, 0);
	setenv("NOTIFY_SOCKET", l.addr, 1);
	assert_int_equal(sd_notify_send("STATUS=hello", &err), 1);
	receive(&l, buf, sizeof(buf));
	assert_string_equal(buf, "STATUS=hello");

	assert_int_equal(sd_notify_reloading("reloading the catalog", &err), 1);
	receive(&l, buf, sizeof(buf));
	assert_true(!strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27));
	assert_int_equal(sscanf(buf + 27, "%llu", &usec), 1);
	assert_true(usec > 0);
	assert_non_null(strstr(buf, "\nSTATUS=reloading the catalog"));
	unsetenv("NOTIFY_SOCKET");
	listener_close(&l);
}

/* A state longer than SD_NOTIFY_MAX is cut to it, not refused. */
static void test_long_state(void **state)
{
	struct listener l;
	struct errbuf err;
	char *big = malloc(SD_NOTIFY_MAX + 100);
	char buf[SD_NOTIFY_MAX + 200];

	assert_non_null(big);
	memcpy(big, "STATUS=", 7);
	memset(big + 7, 'x', SD_NOTIFY_MAX + 100 - 8);
	big[SD_NOTIFY_MAX + 99] = '\0';
	listen_on(&l, 0);
	assert_int_equal(sd_notify_send_to(l.addr, big, &err), 1);
	receive(&l, buf, sizeof(buf));
	assert_int_equal(strlen(buf), SD_NOTIFY_MAX);
	assert_true(!strncmp(buf, "STATUS=xxx", 10));
	listener_close(&l);
	free(big);
}

static void test_bad_addresses(void **state)
{
	struct errbuf err;
	char longer[200];

	assert_int_equal(sd_notify_send_to("run/notify", "READY=1", &err),
			 HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "NOTIFY_SOCKET \"run/notify\""));
	assert_non_null(strstr(err.msg, "absolute path"));

	assert_int_equal(sd_notify_send_to("@", "READY=1", &err),
			 HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "too short"));

	memset(longer, 'a', sizeof(longer) - 1);
	longer[0] = '/';
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(sd_notify_send_to(longer, "READY=1", &err),
			 HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "too long"));
}

/* Nobody listening: an error naming the socket and the reason. */
static void test_nobody_listening(void **state)
{
	struct listener l;
	struct errbuf err;
	char gone[108];

	listen_on(&l, 0);
	snprintf(gone, sizeof(gone), "%s", l.addr);
	listener_close(&l);
	assert_int_equal(sd_notify_send_to(gone, "READY=1", &err), HERALD_EIO);
	assert_non_null(strstr(err.msg, gone));
	assert_non_null(strstr(err.msg, "cannot send"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_long_state),
		cmocka_unit_test(test_bad_addresses),
		cmocka_unit_test(test_nobody_listening),
	};

	srand((unsigned)getpid());
	return cmocka_run_group_tests_name("sd_notify", tests, NULL, NULL);
}
