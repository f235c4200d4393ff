/*
 * sd_notify: tells the service manager how herald serve is doing (systemd's
 * Type=notify): READY=1 once it serves, RELOADING=1 and READY=1 around a
 * SIGHUP reload, STOPPING=1 on shutdown, STATUS= a line for systemctl status.
 *
 * The protocol, without libsystemd: one datagram of newline-separated
 * VAR=VALUE assignments to the AF_UNIX socket named by $NOTIFY_SOCKET, a
 * path ("/run/systemd/notify") or an abstract name ("@name"). Without the
 * variable (not started by systemd) nothing is sent and nothing fails.
 */
#ifndef HERALD_SD_NOTIFY_H
#define HERALD_SD_NOTIFY_H

#include "lib/errbuf.h"

/* The largest state sent: STATUS lines are cut to fit. */
#define SD_NOTIFY_MAX 4096

/*
 * Sends state (e.g. "READY=1\nSTATUS=serving") to the socket at addr,
 * written as in $NOTIFY_SOCKET. Returns 1 when sent, 0 when addr is NULL
 * or empty (nobody listens), HERALD_EINVAL for an address herald cannot
 * use, HERALD_EIO when the datagram cannot be sent; err says which.
 */
int sd_notify_send_to(const char *addr, const char *state,
		      struct errbuf *err);

/* The same, to $NOTIFY_SOCKET. */
int sd_notify_send(const char *state, struct errbuf *err);

/*
 * RELOADING=1 with MONOTONIC_USEC= (the monotonic clock now, which
 * systemd's Type=notify-reload asks for) and a STATUS line, to
 * $NOTIFY_SOCKET.
 */
int sd_notify_reloading(const char *status, struct errbuf *err);

#endif
