/*
 * sd_notify: the service manager's notification protocol (see sd_notify.h):
 * one datagram to the AF_UNIX socket in $NOTIFY_SOCKET.
 */
#include "daemon/sd_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Fills sa from addr; returns the address length or HERALD_EINVAL. */
static int make_address(const char *addr, struct sockaddr_un *sa,
			socklen_t *len, struct errbuf *err)
{
	size_t n = strlen(addr);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (addr[0] != '/' && addr[0] != '@')
		return errbuf_set(err, HERALD_EINVAL, "NOTIFY_SOCKET \"%.200s\" "
				  "is neither an absolute path nor an abstract "
				  "socket (@name): herald cannot tell the "
				  "service manager its state; unset it, or use "
				  "Type=exec in the unit", addr);
	if (n >= sizeof(sa->sun_path) || n < 2)
		return errbuf_set(err, HERALD_EINVAL, "NOTIFY_SOCKET \"%.200s\" "
				  "is %s for a unix socket address (1 to %zu "
				  "bytes): herald cannot tell the service "
				  "manager its state", addr,
				  n < 2 ? "too short" : "too long",
				  sizeof(sa->sun_path) - 1);
	memcpy(sa->sun_path, addr, n);
	if (addr[0] == '@')
		sa->sun_path[0] = '\0';	/* abstract: no NUL at the end */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	return 0;
}

int sd_notify_send_to(const char *addr, const char *state,
		      struct errbuf *err)
{
	struct sockaddr_un sa;
	socklen_t len = 0;
	size_t n;
	ssize_t sent;
	int fd, ret;

	if (!addr || !*addr)
		return 0;
	ret = make_address(addr, &sa, &len, err);
	if (ret < 0)
		return ret;
	n = strlen(state);
	if (n > SD_NOTIFY_MAX)
		n = SD_NOTIFY_MAX;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errbuf_set(err, HERALD_EIO, "NOTIFY_SOCKET \"%.200s\": "
				  "cannot create a unix socket: %s", addr,
				  strerror(errno));
	do {
		sent = sendto(fd, state, n, MSG_NOSIGNAL,
			      (const struct sockaddr *)&sa, len);
	} while (sent < 0 && errno == EINTR);
	if (sent < 0)
		ret = errbuf_set(err, HERALD_EIO, "NOTIFY_SOCKET \"%.200s\": "
				 "cannot send the state to the service "
				 "manager: %s", addr, strerror(errno));
	else if ((size_t)sent != n)
		ret = errbuf_set(err, HERALD_EIO, "NOTIFY_SOCKET \"%.200s\": "
				 "sent %zd of %zu bytes", addr, sent, n);
	else
		ret = 1;
	close(fd);
	return ret;
}

int sd_notify_send(const char *state, struct errbuf *err)
{
	return sd_notify_send_to(getenv("NOTIFY_SOCKET"), state, err);
}

int sd_notify_reloading(const char *status, struct errbuf *err)
{
	char state[SD_NOTIFY_MAX];
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu\n"
		 "STATUS=%s", (unsigned long long)ts.tv_sec * 1000000ull +
		 (unsigned long long)ts.tv_nsec / 1000u, status);
	return sd_notify_send(state, err);
}
