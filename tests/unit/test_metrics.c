/*
 * Unit tests for metrics: the exact exposition text of a small registry,
 * label escaping, histogram buckets, herald's own families, and counts
 * from many threads adding up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "daemon/metrics.h"

static void test_exposition(void **state)
{
	struct metric_registry *reg = metric_registry_new();
	struct strbuf sb = STRBUF_INIT;
	static const double bounds[] = { 0.05, 1, 2.5 };
	struct metric *c, *g, *h, *empty;

	c = metric_registry_counter(reg, "x_requests_total",
				    "Requests by path\\code.\nSecond line.",
				    "path", "code", NULL);
	g = metric_registry_gauge(reg, "x_depth", "Queue depth.", NULL);
	h = metric_registry_histogram(reg, "x_latency_seconds", "Latency.",
				      bounds, 3, NULL);
	empty = metric_registry_counter(reg, "x_unused_total", "Never used.",
					"kind", NULL);
	assert_non_null(empty);

	metric_add(c, METRIC_LABELS("/b", "200"), 1);
	metric_add(c, METRIC_LABELS("/a", "404"), 2);
	metric_add(c, METRIC_LABELS("/a", "200"), 1);
	metric_add(c, METRIC_LABELS("/a", "200"), 0.5);
	metric_add(c, METRIC_LABELS("/a", "200"), -7);	/* ignored */
	metric_add(c, METRIC_LABELS("q\"u\\o\nte", "500"), 1);
	metric_set(g, NULL, 42);
	metric_add(g, NULL, -2);
	metric_observe(h, NULL, 0.05);
	metric_observe(h, NULL, 0.7);
	metric_observe(h, NULL, 2);
	metric_observe(h, NULL, 100);

	assert_int_equal(metric_registry_expose(reg, &sb), 0);
	assert_string_equal(sb.buf,
		"# HELP x_requests_total Requests by path\\\\code.\\nSecond line.\n"
		"# TYPE x_requests_total counter\n"
		"x_requests_total{path=\"/a\",code=\"200\"} 1.5\n"
		"x_requests_total{path=\"/a\",code=\"404\"} 2\n"
		"x_requests_total{path=\"/b\",code=\"200\"} 1\n"
		"x_requests_total{path=\"q\\\"u\\\\o\\nte\",code=\"500\"} 1\n"
		"# HELP x_depth Queue depth.\n"
		"# TYPE x_depth gauge\n"
		"x_depth 40\n"
		"# HELP x_latency_seconds Latency.\n"
		"# TYPE x_latency_seconds histogram\n"
		"x_latency_seconds_bucket{le=\"0.05\"} 1\n"
		"x_latency_seconds_bucket{le=\"1\"} 2\n"
		"x_latency_seconds_bucket{le=\"2.5\"} 3\n"
		"x_latency_seconds_bucket{le=\"+Inf\"} 4\n"
		"x_latency_seconds_sum 102.75\n"
		"x_latency_seconds_count 4\n"
		"# HELP x_unused_total Never used.\n"
		"# TYPE x_unused_total counter\n");
	assert_true(metric_value(c, METRIC_LABELS("/a", "200")) == 1.5);
	assert_true(metric_value(c, METRIC_LABELS("/nope", "200")) == 0);
	assert_int_equal(metric_count(h, NULL), 4);
	strbuf_release(&sb);
	metric_registry_free(reg);
}

static void test_labelled_histogram_and_cap(void **state)
{
	struct metric_registry *reg = metric_registry_new();
	struct strbuf sb;
	static const double bounds[] = { 1 };
	struct metric *h;

	h = metric_registry_histogram(reg, "y_seconds", "Y.", bounds, 1,
				      "provider", NULL);
	metric_observe(h, METRIC_LABELS("slack"), 0.25);
	strbuf_init(&sb, 1024);
	assert_int_equal(metric_registry_expose(reg, &sb), 0);
	assert_string_equal(sb.buf,
		"# HELP y_seconds Y.\n"
		"# TYPE y_seconds histogram\n"
		"y_seconds_bucket{provider=\"slack\",le=\"1\"} 1\n"
		"y_seconds_bucket{provider=\"slack\",le=\"+Inf\"} 1\n"
		"y_seconds_sum{provider=\"slack\"} 0.25\n"
		"y_seconds_count{provider=\"slack\"} 1\n");
	strbuf_release(&sb);

	/* A full buffer is reported, not overrun. */
	strbuf_init(&sb, 16);
	assert_int_equal(metric_registry_expose(reg, &sb), -1);
	assert_true(sb.len <= 16);
	strbuf_release(&sb);
	metric_registry_free(reg);
}

static void test_herald_metrics(void **state)
{
	struct metrics m;
	struct strbuf sb = STRBUF_INIT;

	metrics_init(&m, "1.2.3");
	metrics_event_received(&m, "deploy", "api");
	metrics_event_received(&m, "deploy", "api");
	metrics_notification(&m, "slack", "delivered");
	metrics_delivery_attempt(&m, "slack", "ok");
	metrics_rate_limited(&m, "discord");
	metrics_queue_depth(&m, 7);
	metrics_delivery_latency(&m, 0.3);
	metrics_http_request(&m, "/api/v1/notifications/{id}", 404);
	/* A NULL set is allowed and does nothing. */
	metrics_event_received(NULL, "deploy", "api");
	metrics_http_request(NULL, "/x", 200);

	assert_int_equal(metrics_expose(&m, &sb), 0);
	assert_non_null(strstr(sb.buf,
		"\nherald_events_received_total{type=\"deploy\",source=\"api\"} 2\n"));
	assert_non_null(strstr(sb.buf,
		"\nherald_notifications_total{provider=\"slack\",state=\"delivered\"} 1\n"));
	assert_non_null(strstr(sb.buf,
		"\nherald_delivery_attempts_total{provider=\"slack\",result=\"ok\"} 1\n"));
	assert_non_null(strstr(sb.buf,
		"\nherald_rate_limited_total{provider=\"discord\"} 1\n"));
	assert_non_null(strstr(sb.buf, "\nherald_queue_depth 7\n"));
	assert_non_null(strstr(sb.buf,
		"\nherald_delivery_latency_seconds_bucket{le=\"0.25\"} 0\n"
		"herald_delivery_latency_seconds_bucket{le=\"0.5\"} 1\n"));
	assert_non_null(strstr(sb.buf,
		"\nherald_delivery_latency_seconds_bucket{le=\"300\"} 1\n"
		"herald_delivery_latency_seconds_bucket{le=\"+Inf\"} 1\n"));
	assert_non_null(strstr(sb.buf,
		"\nherald_http_requests_total{path=\"/api/v1/notifications/{id}\","
		"code=\"404\"} 1\n"));
	assert_non_null(strstr(sb.buf,
		"# TYPE herald_build_info gauge\n"
		"herald_build_info{version=\"1.2.3\"} 1\n"));
	assert_non_null(strstr(sb.buf,
		"# TYPE herald_delivery_latency_seconds histogram\n"));
	strbuf_release(&sb);
	metrics_release(&m);
}

#define THREADS 4
#define ROUNDS 20000

static void *hammer(void *arg)
{
	struct metrics *m = arg;

	for (int i = 0; i < ROUNDS; i++) {
		metrics_http_request(m, i % 2 ? "/healthz" : "/metrics", 200);
		metrics_delivery_latency(m, (i % 10) * 0.1);
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct metrics m;
	pthread_t t[THREADS];

	metrics_init(&m, "x");
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &m), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_true(metric_value(m.http_requests,
				 METRIC_LABELS("/healthz", "200")) ==
		    THREADS * ROUNDS / 2);
	assert_true(metric_value(m.http_requests,
				 METRIC_LABELS("/metrics", "200")) ==
		    THREADS * ROUNDS / 2);
	assert_int_equal(metric_count(m.delivery_latency, NULL),
			 THREADS * ROUNDS);
	metrics_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exposition),
		cmocka_unit_test(test_labelled_histogram_and_cap),
		cmocka_unit_test(test_herald_metrics),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
