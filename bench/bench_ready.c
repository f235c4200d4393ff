/*
 * bench_ready: how long `herald serve` takes from exec to answering.
 *
 *   bench_ready --port PORT [--timeout S] [--log FILE] -- COMMAND [ARG…]
 *
 * Starts COMMAND (herald serve, with whatever environment it inherits) and
 * polls http://127.0.0.1:PORT/healthz, then /readyz, every 200 µs until
 * each answers 200. Prints the times since the fork and the child's PID,
 * then exits and leaves the child running, so the caller can go on to
 * measure it (idle memory, load) and stop it with kill PID.
 *
 *   RESULT pid=1234 healthz_ms=3.1 readyz_ms=3.4
 *
 * With --log, the child's standard output and error go to FILE (appended),
 * so that a caller capturing bench_ready's output does not wait for the
 * child to close it.
 *
 * Exits 1 when the child dies or does not get ready within the timeout
 * (default 10 s); the child is then killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/strbuf.h"

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The HTTP status of GET path on 127.0.0.1:port, or 0 when unreachable. */
static int get_status(long port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char req[256], resp[64];
	size_t got = 0;
	long status = 0;
	int fd, n;

	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto out;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%ld\r\n"
		     "Connection: close\r\n\r\n", path, port);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	while (got < 12) {
		ssize_t r = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);

		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	resp[12] = '\0';
	if (!strncmp(resp, "HTTP/1.", 7) && parse_long(resp + 9, 100, 599, &status))
		status = 0;
out:
	close(fd);
	return (int)status;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_ready --port PORT [--timeout S] "
		"[--log FILE] -- COMMAND [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const char *const paths[] = { "/healthz", "/readyz" };
	double times[2], t0, timeout = 10;
	struct timespec pause = { 0, 200000 };
	const char *log = NULL;
	long port = 0;
	int i, status;
	pid_t pid;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i += 2) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--port")) {
			if (parse_long(argv[i + 1], 1, 65535, &port))
				usage();
		} else if (!strcmp(argv[i], "--timeout")) {
			if (parse_double(argv[i + 1], 0.01, 3600, &timeout))
				usage();
		} else if (!strcmp(argv[i], "--log")) {
			log = argv[i + 1];
		} else {
			usage();
		}
	}
	if (!port || i + 1 >= argc)
		usage();
	if (get_status(port, paths[0])) {
		fprintf(stderr, "bench_ready: something already answers on port "
			"%ld: stop it or pick another port\n", port);
		return 2;
	}

	t0 = now_mono();
	pid = fork();
	if (pid < 0) {
		perror("bench_ready: fork");
		return 2;
	}
	if (!pid) {
		int fd = log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
				    0644) : -1;

		if (log && (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)) {
			fprintf(stderr, "bench_ready: %s: %s\n", log,
				strerror(errno));
			_exit(127);
		}
		execvp(argv[i + 1], argv + i + 1);
		fprintf(stderr, "bench_ready: cannot run %s: %s\n", argv[i + 1],
			strerror(errno));
		_exit(127);
	}

	for (size_t p = 0; p < 2; p++) {
		while (get_status(port, paths[p]) != 200) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				fprintf(stderr, "bench_ready: %s exited (status %d) "
					"before %s answered 200\n", argv[i + 1],
					WIFEXITED(status) ? WEXITSTATUS(status) :
					128 + WTERMSIG(status), paths[p]);
				return 1;
			}
			if (now_mono() - t0 > timeout) {
				fprintf(stderr, "bench_ready: %s did not answer 200 "
					"within %g s\n", paths[p], timeout);
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				return 1;
			}
			nanosleep(&pause, NULL);
		}
		times[p] = now_mono() - t0;
	}
	printf("RESULT pid=%d healthz_ms=%.2f readyz_ms=%.2f\n", (int)pid,
	       times[0] * 1e3, times[1] * 1e3);
	return 0;
}
