/*
 * Unit tests for the Alertmanager adapter: every payload under
 * tests/inputs/alertmanager/ (real ones, as published; SOURCES.md) converts
 * to events that event_from_json() accepts, in every mode; then each mapping
 * rule, the grouped mode, min_severity, and bodies that are odd, broken or
 * not Alertmanager's at all. The project root comes from argv[1] (or
 * HERALD_SRC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/event.h"
#include "inputs/alertmanager.h"
#include "inputs/event_json.h"
#include "lib/strbuf.h"

static const char *root = ".";

/* 2026-01-01T00:00:00Z: after every endsAt in the fixtures. */
#define NOW 1767225600

static const char *const fixtures[] = {
	"alerta-v3-numeric-groupkey.json",
	"amwt-sample-v4-payload.json",
	"grafana-webhook-v1.json",
	"kubenotifyplus-kubepodcrashlooping.json",
	"kubenotifyplus-kubepodnotready.json",
	"msteams-v4-group-page.json",
	"msteams-v4-no-status.json",
	"openshift-watchdog-severity-none.json",
	"pythonwebhook-relative-generatorurl.json",
};

/* One conversion: its request, result and the events as parsed. */
struct run {
	struct input_param query[4];
	size_t query_nr;
	struct input_request req;
	struct input_result res;
	struct errbuf err;
	int ret;
	size_t nr;
};

static char *read_fixture(const char *name)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	char buf[4096];
	size_t n;
	FILE *f;

	strbuf_addf(&path, "%s/tests/inputs/alertmanager/%s", root, name);
	f = fopen(path.buf, "rb");
	if (!f)
		fail_msg("cannot open %s", path.buf);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&text, buf, n);
	fclose(f);
	strbuf_release(&path);
	return strbuf_detach(&text, NULL);
}

/* Every converted event must pass event_from_json(). */
static void check_events(const struct input_result *res)
{
	for (size_t i = 0; i < json_array_size(res->events); i++) {
		struct event ev;
		struct errbuf err;
		char pointer[32];

		snprintf(pointer, sizeof(pointer), "/%zu", i);
		if (event_from_json(&ev, json_array_get(res->events, i), pointer,
				    &err)) {
			char *dump = json_dumps(json_array_get(res->events, i),
						JSON_INDENT(1));

			fail_msg("invalid event: %s\n%s", err.msg, dump);
		}
		event_release(&ev);
	}
}

/*
 * Converts body with the query given as "name", "value" pairs ending with
 * NULL; fills r (release with run_release()).
 */
static void convert_with(struct run *r, const char *body, size_t len,
			 int (*known)(void *, const char *), ...)
{
	va_list ap;
	const char *name;

	memset(r, 0, sizeof(*r));
	va_start(ap, known);
	while ((name = va_arg(ap, const char *)) != NULL) {
		assert_true(r->query_nr < 4);
		r->query[r->query_nr].name = name;
		r->query[r->query_nr].value = va_arg(ap, const char *);
		r->query_nr++;
	}
	va_end(ap);
	r->req.body = body;
	r->req.len = len;
	r->req.query = r->query;
	r->req.query_nr = r->query_nr;
	r->req.now = NOW;
	r->req.known_app = known;
	input_result_init(&r->res);
	r->ret = alertmanager_convert(&r->req, &r->res, &r->err);
	if (r->ret) {
		assert_int_equal(json_array_size(r->res.events), 0);
	} else {
		check_events(&r->res);
	}
	r->nr = json_array_size(r->res.events);
}

#define convert(r, body, ...) \
	convert_with(r, body, strlen(body), NULL, __VA_ARGS__)

static void run_release(struct run *r)
{
	input_result_release(&r->res);
}

static json_t *event(const struct run *r, size_t i)
{
	assert_true(i < r->nr);
	return json_array_get(r->res.events, i);
}

static const char *field(const struct run *r, size_t i, const char *name)
{
	return input_str(event(r, i), name);
}

static const char *alert_field(const struct run *r, size_t i,
			       const char *name)
{
	return input_str(json_object_get(event(r, i), "alert"), name);
}

static int has_note(const struct run *r, const char *text)
{
	for (size_t i = 0; i < r->res.ignored.nr; i++)
		if (strstr(r->res.ignored.items[i], text))
			return 1;
	return 0;
}

static void assert_note(const struct run *r, const char *text)
{
	if (!has_note(r, text)) {
		for (size_t i = 0; i < r->res.ignored.nr; i++)
			print_message("note: %s\n", r->res.ignored.items[i]);
		fail_msg("no note with \"%s\"", text);
	}
}

static int edit_only(const struct run *r, size_t i)
{
	return json_is_true(json_object_get(event(r, i), "edit_only"));
}

/* ---- the fixtures ---- */

static void test_fixtures_convert(void **state)
{
	static const char *const modes[][4] = {
		{ NULL }, { "group", "true", NULL },
		{ "min_severity", "critical", NULL },
		{ "group", "true", "min_severity", "warning" },
		{ "app", "fallback", "env", "production" },
	};
	(void)state;
	for (size_t f = 0; f < sizeof(fixtures) / sizeof(*fixtures); f++) {
		char *body = read_fixture(fixtures[f]);

		for (size_t m = 0; m < sizeof(modes) / sizeof(*modes); m++) {
			struct run r;

			convert(&r, body, modes[m][0], modes[m][1], modes[m][2],
				modes[m][3], NULL);
			if (r.ret)
				fail_msg("%s: %s", fixtures[f], r.err.msg);
			for (size_t i = 0; i < r.nr; i++) {
				assert_string_equal(field(&r, i, "type"),
						    "alert");
				assert_non_null(field(&r, i, "id"));
				assert_non_null(field(&r, i, "correlation"));
			}
			run_release(&r);
		}
		free(body);
	}
}

/* A kube-prometheus pod alert (kubernetes-mixin's KubePodCrashLooping). */
static void test_kube_pod_alert(void **state)
{
	char *body = read_fixture("kubenotifyplus-kubepodcrashlooping.json");
	struct run r;

	(void)state;
	convert(&r, body, NULL);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.nr, 3);
	assert_string_equal(field(&r, 0, "status"), "firing");
	assert_string_equal(alert_field(&r, 0, "name"), "KubePodCrashLooping");
	assert_string_equal(alert_field(&r, 0, "object"),
			    "cpu-throttle/cpu-throttle-example-65cb7677f9-ncs5t");
	assert_string_equal(alert_field(&r, 0, "url"),
			    "https://github.com/kubernetes-monitoring/"
			    "kubernetes-mixin/tree/master/runbook.md"
			    "#alert-name-kubepodcrashlooping");
	/*
	 * The default order: container comes before service, which on
	 * kube-state-metrics alerts names kube-state-metrics itself.
	 */
	assert_string_equal(field(&r, 0, "app"), "cpu-throttle-container");
	assert_null(field(&r, 0, "env"));
	/* The older kube-prometheus annotation: message. */
	assert_string_equal(field(&r, 0, "description"),
			    "Pod cpu-throttle/cpu-throttle-example-65cb7677f9-"
			    "ncs5t (cpu-throttle-container) is restarting 0.69 "
			    "times / 5 minutes.");
	assert_string_equal(field(&r, 0, "url"),
			    "http://50cb6c5d4c40:9090/graph?g0.expr=rate%28kube_"
			    "pod_container_status_restarts_total%7Bjob%3D%22kube-"
			    "state-metrics%22%7D%5B15m%5D%29+%2A+60+%2A+5+%3E+0"
			    "&g0.tab=1");
	assert_string_equal(field(&r, 0, "timestamp"), "2024-12-31T05:47:37Z");
	assert_string_equal(field(&r, 0, "correlation"),
			    "am|notify-services-k8s||1df482aa1c360857");
	assert_int_equal(strncmp(field(&r, 0, "id"), "am:", 3), 0);
	assert_false(edit_only(&r, 0));
	assert_string_equal(alert_field(&r, 2, "object"),
			    "oom/oom-example-56d77685f5-dqv7z");
	assert_string_not_equal(field(&r, 0, "id"), field(&r, 1, "id"));
	assert_int_equal(r.res.ignored.nr, 0);
	run_release(&r);
	free(body);
}

static int knows_containers(void *ctx, const char *app)
{
	(void)ctx;
	return !strcmp(app, "oom-container") || !strcmp(app, "api");
}

static int knows_service(void *ctx, const char *app)
{
	(void)ctx;
	return !strcmp(app, "rancher-monitoring-kube-state-metrics");
}

/* A value the catalog knows wins over the order of the labels. */
static void test_app_known_to_catalog(void **state)
{
	char *body = read_fixture("kubenotifyplus-kubepodcrashlooping.json");
	struct run r;

	(void)state;
	convert_with(&r, body, strlen(body), knows_containers, NULL);
	assert_int_equal(r.ret, 0);
	assert_string_equal(field(&r, 0, "app"), "cpu-throttle-container");
	assert_string_equal(field(&r, 2, "app"), "oom-container");
	run_release(&r);
	/* A known service label beats the container that comes first. */
	convert_with(&r, body, strlen(body), knows_service, NULL);
	assert_int_equal(r.ret, 0);
	assert_string_equal(field(&r, 0, "app"),
			    "rancher-monitoring-kube-state-metrics");
	run_release(&r);
	free(body);

	/* Known ?app= beats an unknown label; an unknown one does not. */
	body = strdup("{\"alerts\":[{\"labels\":{\"alertname\":\"A\","
		      "\"job\":\"x\"}}]}");
	convert_with(&r, body, strlen(body), knows_containers, "app", "api",
		     NULL);
	assert_string_equal(field(&r, 0, "app"), "api");
	run_release(&r);
	convert(&r, body, "app", "api", NULL);
	assert_string_equal(field(&r, 0, "app"), "x");
	run_release(&r);
	free(body);
}

static void test_app_fallbacks(void **state)
{
	static const char *const labels[] = { "team", "app" };
	const char *body = "{\"alerts\":[{\"labels\":{\"alertname\":\"A\","
			   "\"app\":\"web\",\"team\":\"payments\"}}]}";
	struct run r;

	(void)state;
	/* HERALD_ALERT_APP_LABELS. */
	memset(&r, 0, sizeof(r));
	r.req.body = body;
	r.req.len = strlen(body);
	r.req.app_labels = labels;
	r.req.app_labels_nr = 2;
	input_result_init(&r.res);
	assert_int_equal(alertmanager_convert(&r.req, &r.res, &r.err), 0);
	r.nr = json_array_size(r.res.events);
	check_events(&r.res);
	assert_string_equal(field(&r, 0, "app"), "payments");
	run_release(&r);

	convert(&r, body, NULL);
	assert_string_equal(field(&r, 0, "app"), "web");
	run_release(&r);

	/* No app label: ?app=, then the namespace. */
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\","
		"\"namespace\":\"shop\"}}]}", "app", "api", NULL);
	assert_string_equal(field(&r, 0, "app"), "api");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\","
		"\"namespace\":\"shop\"}}]}", NULL);
	assert_string_equal(field(&r, 0, "app"), "shop");
	assert_string_equal(alert_field(&r, 0, "name"), "A");
	/* A namespace alone names no object. */
	assert_null(alert_field(&r, 0, "object"));
	run_release(&r);

	/* Nothing at all: still a valid event, noted. */
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"}}]}",
		NULL);
	assert_string_equal(field(&r, 0, "app"), "unknown");
	assert_note(&r, "/alerts/0/labels: no app label, ?app= or namespace label");
	run_release(&r);
}

static void test_env(void **state)
{
	struct run r;

	(void)state;
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\",\"env\":"
		"\"prod\",\"environment\":\"staging\"}}]}", "env", "qa", NULL);
	assert_string_equal(field(&r, 0, "env"), "prod");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\","
		"\"environment\":\"staging\"}}]}", "env", "qa", NULL);
	assert_string_equal(field(&r, 0, "env"), "staging");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"}}]}",
		"env", "qa", NULL);
	assert_string_equal(field(&r, 0, "env"), "qa");
	assert_int_equal(strncmp(field(&r, 0, "correlation"), "am||qa|", 7),
			 0);
	run_release(&r);
}

/* Node alerts: no namespace, so the object is the instance alone. */
static void test_object(void **state)
{
	struct run r;

	(void)state;
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":"
		"\"NodeFilesystemSpaceFillingUp\",\"instance\":\"10.0.0.1:9100\","
		"\"job\":\"node-exporter\",\"severity\":\"warning\"}}]}", NULL);
	assert_string_equal(alert_field(&r, 0, "object"), "10.0.0.1:9100");
	assert_string_equal(field(&r, 0, "app"), "node-exporter");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\","
		"\"namespace\":\"ns\",\"instance\":\"i\",\"statefulset\":"
		"\"db\",\"job_name\":\"j\"}}]}", NULL);
	assert_string_equal(alert_field(&r, 0, "object"), "ns/db");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\","
		"\"namespace\":\"ns\",\"job_name\":\"backup-123\"}}]}", NULL);
	assert_string_equal(alert_field(&r, 0, "object"), "ns/backup-123");
	run_release(&r);
}

static void test_description(void **state)
{
	struct run r;

	(void)state;
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"annotations\":{\"summary\":\"Pod is crash looping.\","
		"\"description\":\"Pod a/b (c) is in waiting state.\","
		"\"message\":\"old\"}}]}", NULL);
	assert_string_equal(field(&r, 0, "description"),
			    "Pod is crash looping.\nPod a/b (c) is in waiting "
			    "state.");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"annotations\":{\"summary\":\"Same\",\"description\":"
		"\"Same \"}}]}", NULL);
	assert_string_equal(field(&r, 0, "description"), "Same");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"annotations\":{\"message\":\"only message\"}}]}", NULL);
	assert_string_equal(field(&r, 0, "description"), "only message");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"}}]}", NULL);
	assert_null(field(&r, 0, "description"));
	run_release(&r);
}

/* Nanoseconds and offsets become UTC seconds; Go's zero time is absent. */
static void test_timestamps(void **state)
{
	char *body = read_fixture("msteams-v4-no-status.json");
	struct run r;

	(void)state;
	convert(&r, body, NULL);
	assert_string_equal(field(&r, 0, "timestamp"), "2018-03-07T11:33:21Z");
	free(body);
	run_release(&r);

	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"startsAt\":\"2016-02-29T23:59:59.999+14:00\"}]}", NULL);
	assert_string_equal(field(&r, 0, "timestamp"), "2016-02-29T09:59:59Z");
	run_release(&r);

	/* Resolved: endsAt. */
	convert(&r, "{\"alerts\":[{\"status\":\"resolved\",\"labels\":"
		"{\"alertname\":\"A\"},\"startsAt\":\"2024-01-01T00:00:00Z\","
		"\"endsAt\":\"2024-01-01T01:02:03.5Z\"}]}", NULL);
	assert_string_equal(field(&r, 0, "timestamp"), "2024-01-01T01:02:03Z");
	run_release(&r);

	/* Broken or out-of-range times are left out, noted. */
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"startsAt\":\"yesterday\",\"endsAt\":12}]}", NULL);
	assert_null(field(&r, 0, "timestamp"));
	assert_note(&r, "/alerts/0/startsAt: \"yesterday\" is not an RFC 3339 "
		    "time: ignored");
	assert_note(&r, "/alerts/0/endsAt: expected a string, got a number");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"startsAt\":\"9999-12-31T23:59:59-01:00\"}]}", NULL);
	assert_null(field(&r, 0, "timestamp"));
	assert_note(&r, "after the year 9999");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"startsAt\":\"0001-01-01T00:00:00Z\"}]}", NULL);
	assert_null(field(&r, 0, "timestamp"));
	assert_false(has_note(&r, "startsAt"));
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"startsAt\":\"1970-01-01T00:00:00Z\"}]}", NULL);
	assert_null(field(&r, 0, "timestamp"));
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"startsAt\":\"2023-02-29T00:00:00Z\"}]}", NULL);
	assert_null(field(&r, 0, "timestamp"));
	run_release(&r);
}

/* Its own status, else a past endsAt, else the payload's. */
static void test_status(void **state)
{
	struct run r;

	(void)state;
	/* No status anywhere but a past endsAt: resolved. */
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"endsAt\":\"2020-01-01T00:00:00Z\"}]}", NULL);
	assert_string_equal(field(&r, 0, "status"), "resolved");
	assert_true(edit_only(&r, 0));
	run_release(&r);
	/* A future endsAt: the payload's status. */
	convert(&r, "{\"status\":\"resolved\",\"alerts\":[{\"labels\":"
		"{\"alertname\":\"A\"},\"endsAt\":\"2099-01-01T00:00:00Z\"}]}",
		NULL);
	assert_string_equal(field(&r, 0, "status"), "resolved");
	run_release(&r);
	convert(&r, "{\"status\":\"firing\",\"alerts\":[{\"labels\":"
		"{\"alertname\":\"A\"},\"endsAt\":\"0001-01-01T00:00:00Z\"}]}",
		NULL);
	assert_string_equal(field(&r, 0, "status"), "firing");
	assert_false(edit_only(&r, 0));
	run_release(&r);
	/* The alert's own status wins over both. */
	convert(&r, "{\"status\":\"resolved\",\"alerts\":[{\"status\":"
		"\"firing\",\"labels\":{\"alertname\":\"A\"},\"endsAt\":"
		"\"2020-01-01T00:00:00Z\"}]}", NULL);
	assert_string_equal(field(&r, 0, "status"), "firing");
	run_release(&r);
	/* An unknown status is noted and falls through. */
	convert(&r, "{\"status\":\"resolved\",\"alerts\":[{\"status\":"
		"\"suppressed\",\"labels\":{\"alertname\":\"A\"}}]}", NULL);
	assert_string_equal(field(&r, 0, "status"), "resolved");
	assert_note(&r, "/alerts/0/status: \"suppressed\" is not firing or "
		    "resolved");
	run_release(&r);
	/* Nothing: firing. */
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"}}]}", NULL);
	assert_string_equal(field(&r, 0, "status"), "firing");
	run_release(&r);
}

/* Resolved edits the firing message: same correlation, edit_only. */
static void test_resolved_edits(void **state)
{
	char *body = read_fixture("pythonwebhook-relative-generatorurl.json");
	struct run r, f;
	char *firing;

	(void)state;
	convert(&r, body, NULL);
	assert_string_equal(field(&r, 0, "status"), "resolved");
	assert_true(edit_only(&r, 0));
	assert_string_equal(field(&r, 0, "timestamp"), "2022-07-29T11:17:27Z");
	assert_string_equal(field(&r, 0, "app"), "eric-pm-kube-state-metrics");
	assert_string_equal(alert_field(&r, 0, "object"),
			    "eric-eo-cm-ci406/eric-log-transformer");
	assert_string_equal(field(&r, 0, "correlation"),
			    "am|web\\.hook||fbab788ec4c1018b");
	/* A relative generatorURL is dropped; the link is Alertmanager's. */
	assert_string_equal(field(&r, 0, "url"), "http://localhost:9093");
	assert_note(&r, "/alerts/0/generatorURL: \"/metrics/viewer/graph?");
	assert_note(&r, "the link goes to externalURL");

	/* The same alert firing: one story, another id. */
	firing = strdup(body);
	memcpy(strstr(firing, "\"resolved\""), "\"firing\"  ", 10);
	memcpy(strstr(firing, "\"resolved\""), "\"firing\"  ", 10);
	convert(&f, firing, NULL);
	assert_string_equal(field(&f, 0, "status"), "firing");
	assert_false(edit_only(&f, 0));
	assert_string_equal(field(&f, 0, "correlation"),
			    field(&r, 0, "correlation"));
	assert_string_not_equal(field(&f, 0, "id"), field(&r, 0, "id"));
	run_release(&f);
	run_release(&r);
	free(firing);
	free(body);
}

/* Re-sends and both members of an HA pair give the same id. */
static void test_ids(void **state)
{
	const char *a = "{\"receiver\":\"herald\",\"alerts\":[{\"status\":"
			"\"firing\",\"labels\":{\"alertname\":\"A\"},"
			"\"startsAt\":\"2024-01-01T00:00:00Z\","
			"\"fingerprint\":\"0123456789abcdef\"}]}";
	const char *again = "{\"alerts\":[{\"fingerprint\":\"0123456789abcdef\","
			    "\"startsAt\":\"2024-01-01T00:00:00Z\",\"labels\":"
			    "{\"alertname\":\"A\"},\"annotations\":{\"summary\":"
			    "\"now 7 restarts\"},\"status\":\"firing\"}],"
			    "\"receiver\":\"herald\",\"truncatedAlerts\":0}";
	const char *later = "{\"receiver\":\"herald\",\"alerts\":[{\"status\":"
			    "\"firing\",\"labels\":{\"alertname\":\"A\"},"
			    "\"startsAt\":\"2024-01-02T00:00:00Z\","
			    "\"fingerprint\":\"0123456789abcdef\"}]}";
	struct run r1, r2, r3;

	(void)state;
	convert(&r1, a, NULL);
	convert(&r2, again, NULL);
	convert(&r3, later, NULL);
	assert_string_equal(field(&r1, 0, "correlation"),
			    "am|herald||0123456789abcdef");
	assert_string_equal(field(&r1, 0, "id"), field(&r2, 0, "id"));
	assert_string_equal(field(&r1, 0, "correlation"),
			    field(&r3, 0, "correlation"));
	assert_string_not_equal(field(&r1, 0, "id"), field(&r3, 0, "id"));
	assert_true(strlen(field(&r1, 0, "id")) <= EVENT_ID_MAX);
	run_release(&r1);
	run_release(&r2);
	run_release(&r3);
}

/* Without a fingerprint, the one Alertmanager computes from the labels. */
static void test_fingerprint_from_labels(void **state)
{
	char *body = read_fixture("kubenotifyplus-kubepodcrashlooping.json");
	char *p;
	struct run r;

	(void)state;
	/* Rename the fingerprints away: "fingerprint" -> "fingerprinT". */
	while ((p = strstr(body, "\"fingerprint\"")))
		p[11] = 'T';
	convert(&r, body, NULL);
	assert_string_equal(field(&r, 0, "correlation"),
			    "am|notify-services-k8s||1df482aa1c360857");
	assert_string_equal(field(&r, 1, "correlation"),
			    "am|notify-services-k8s||07b9bb37aaa20360");
	assert_string_equal(field(&r, 2, "correlation"),
			    "am|notify-services-k8s||328c4b7fcec75544");
	run_release(&r);
	free(body);

	/* No labels at all: FNV-1a's offset basis, as Alertmanager. */
	convert(&r, "{\"receiver\":\"r\",\"alerts\":[{}]}", NULL);
	assert_string_equal(field(&r, 0, "correlation"),
			    "am|r||cbf29ce484222325");
	assert_string_equal(alert_field(&r, 0, "name"), "unnamed alert");
	assert_note(&r, "/alerts/0: no alertname label");
	run_release(&r);
}

static void test_long_keys_are_hashed(void **state)
{
	struct strbuf body = STRBUF_INIT;
	struct run r;

	(void)state;
	strbuf_addstr(&body, "{\"receiver\":\"");
	for (int i = 0; i < 300; i++)
		strbuf_addch(&body, 'r');
	strbuf_addstr(&body, "\",\"alerts\":[{\"labels\":{\"alertname\":\"A\"}}]}");
	convert(&r, body.buf, NULL);
	assert_int_equal(strncmp(field(&r, 0, "correlation"), "am#", 3), 0);
	assert_int_equal(strlen(field(&r, 0, "correlation")), 67);
	run_release(&r);
	strbuf_release(&body);

	/* A "|" in a part would make the readable key ambiguous. */
	convert(&r, "{\"receiver\":\"a|b\",\"alerts\":[{\"labels\":{}}]}", NULL);
	assert_int_equal(strncmp(field(&r, 0, "correlation"), "am#", 3), 0);
	run_release(&r);
}

static void test_owner_im(void **state)
{
	struct run r;

	(void)state;
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\","
		"\"owner_im\":\"#team-api\"},\"annotations\":{\"owner_im\":"
		"\"@jane\"}}]}", NULL);
	assert_string_equal(field(&r, 0, "owner_im"), "#team-api");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"annotations\":{\"owner_im\":\"@jane@example.com\"}}]}", NULL);
	assert_string_equal(field(&r, 0, "owner_im"), "@jane@example.com");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\","
		"\"owner_im\":\"#dep loys\"}}]}", NULL);
	assert_null(field(&r, 0, "owner_im"));
	assert_note(&r, "/alerts/0/labels/owner_im: \"#dep loys\": a channel "
		    "name cannot contain white space: left out");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\","
		"\"owner_im\":\"#a\\nb\"}}]}", NULL);
	assert_null(field(&r, 0, "owner_im"));
	assert_note(&r, "/alerts/0/labels/owner_im");
	run_release(&r);
}

static void test_links(void **state)
{
	char *body = read_fixture("openshift-watchdog-severity-none.json");
	struct run r;

	(void)state;
	convert(&r, body, NULL);
	/* "https:///console…": not a URL herald takes. */
	assert_note(&r, "/externalURL: \"https:///console-openshift-console");
	assert_string_equal(field(&r, 0, "url"),
			    "https://prometheus-k8s-openshift-monitoring.apps."
			    "ocp-01.tdigital-vivo.com.br/graph?g0.expr=vector"
			    "%281%29&g0.tab=1");
	assert_string_equal(field(&r, 0, "app"), "openshift-monitoring");
	assert_string_equal(alert_field(&r, 0, "name"), "Watchdog");
	assert_null(alert_field(&r, 0, "url"));
	assert_non_null(strstr(field(&r, 0, "description"),
			       "properly.\nThis is an alert meant"));
	run_release(&r);
	free(body);

	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"annotations\":{\"runbook_url\":\"runbooks/a.md\"},"
		"\"generatorURL\":\"http://:9090/graph\"}]}", NULL);
	assert_null(alert_field(&r, 0, "url"));
	assert_null(field(&r, 0, "url"));
	assert_note(&r, "/alerts/0/annotations/runbook_url: \"runbooks/a.md\" "
		    "is not an absolute http(s) URL: left out");
	assert_note(&r, "/alerts/0/generatorURL: \"http://:9090/graph\"");
	run_release(&r);
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\"},"
		"\"generatorURL\":\"http://h/\xc2\x85x\"}]}", NULL);
	assert_null(field(&r, 0, "url"));
	run_release(&r);
}

static void test_min_severity(void **state)
{
	const char *body = "{\"alerts\":["
		"{\"labels\":{\"alertname\":\"A\",\"severity\":\"info\"}},"
		"{\"labels\":{\"alertname\":\"B\",\"severity\":\"Warning\"}},"
		"{\"labels\":{\"alertname\":\"C\",\"severity\":\"major\"}},"
		"{\"labels\":{\"alertname\":\"D\"}},"
		"{\"labels\":{\"alertname\":\"E\",\"severity\":\"error\"}},"
		"{\"labels\":{\"alertname\":\"F\",\"severity\":\"page\"}},"
		"{\"labels\":{\"alertname\":\"G\",\"severity\":\"none\"}}]}";
	struct run r;

	(void)state;
	convert(&r, body, "min_severity", "warning", "app", "api", NULL);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.nr, 5);
	assert_string_equal(alert_field(&r, 0, "name"), "B");
	assert_string_equal(alert_field(&r, 1, "name"), "C");
	assert_string_equal(alert_field(&r, 2, "name"), "D");
	assert_string_equal(alert_field(&r, 3, "name"), "E");
	assert_string_equal(alert_field(&r, 4, "name"), "F");
	assert_int_equal(r.res.ignored.nr, 2);
	assert_string_equal(r.res.ignored.items[0], "/alerts/0: severity info "
			    "is below min_severity warning");
	assert_string_equal(r.res.ignored.items[1], "/alerts/6: severity none "
			    "is below min_severity warning");
	run_release(&r);

	convert(&r, body, "min_severity", "CRITICAL", NULL);
	assert_int_equal(r.nr, 3);
	assert_string_equal(alert_field(&r, 2, "name"), "F");
	run_release(&r);
	convert(&r, body, "min_severity", "info", NULL);
	assert_int_equal(r.nr, 6);
	run_release(&r);
	convert(&r, body, "min_severity", "", NULL);
	assert_int_equal(r.nr, 7);
	run_release(&r);

	convert(&r, body, "min_severity", "high", NULL);
	assert_int_equal(r.ret, HERALD_EINVAL);
	assert_string_equal(r.err.msg, "?min_severity=high is not a severity; "
			    "expected info, warning, error or critical");
	run_release(&r);
	convert(&r, body, "group", "maybe", NULL);
	assert_int_equal(r.ret, HERALD_EINVAL);
	assert_string_equal(r.err.msg, "?group=maybe is not a boolean; "
			    "expected true or false");
	run_release(&r);
	convert(&r, body, "group", "false", NULL);
	assert_int_equal(r.nr, 7);
	run_release(&r);
}

/* ---- ?group=true ---- */

static void test_group(void **state)
{
	char *body = read_fixture("kubenotifyplus-kubepodcrashlooping.json");
	struct run r;

	(void)state;
	convert(&r, body, "group", "true", NULL);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.nr, 1);
	assert_string_equal(field(&r, 0, "status"), "firing");
	assert_string_equal(alert_field(&r, 0, "name"), "KubePodCrashLooping");
	assert_null(alert_field(&r, 0, "object"));
	assert_string_equal(field(&r, 0, "app"),
			    "rancher-monitoring-kube-state-metrics");
	assert_string_equal(field(&r, 0, "url"),
			    "http://kienlt-salt-master-107-145:9093");
	assert_string_equal(field(&r, 0, "correlation"),
			    "am-group|notify-services-k8s|{}/{alertname=~"
			    "\"KubePod.*\"}:{alertname=\"KubePodCrashLooping\", "
			    "cluster=\"kienlt-rke2\", service=\"rancher-"
			    "monitoring-kube-state-metrics\"}");
	assert_string_equal(field(&r, 0, "description"),
			    "\xf0\x9f\x94\xb4 firing KubePodCrashLooping: "
			    "cpu-throttle/cpu-throttle-example-65cb7677f9-ncs5t\n"
			    "\xf0\x9f\x94\xb4 firing KubePodCrashLooping: "
			    "crash-loopbackoff/crash-loopbackoff-example-"
			    "6768587b8-lgw5g\n"
			    "\xf0\x9f\x94\xb4 firing KubePodCrashLooping: "
			    "oom/oom-example-56d77685f5-dqv7z");
	/* The earliest start. */
	assert_string_equal(field(&r, 0, "timestamp"), "2024-12-31T04:53:37Z");
	assert_false(edit_only(&r, 0));
	run_release(&r);
	free(body);

	/* v3: a numeric groupKey; Grafana: no alertname in common. */
	body = read_fixture("alerta-v3-numeric-groupkey.json");
	convert(&r, body, "group", "1", NULL);
	assert_string_equal(field(&r, 0, "correlation"),
			    "am-group|alerta|5615590933959184469");
	assert_string_equal(field(&r, 0, "env"), "Production");
	assert_string_equal(field(&r, 0, "description"),
			    "Connect fail\n\n\xf0\x9f\x94\xb4 firing "
			    "failedConnect: host2");
	run_release(&r);
	free(body);
	body = read_fixture("grafana-webhook-v1.json");
	convert(&r, body, "group", "true", NULL);
	assert_string_equal(alert_field(&r, 0, "name"), "My Super Webhook");
	assert_string_equal(field(&r, 0, "description"),
			    "\xf0\x9f\x94\xb4 firing High memory usage "
			    "(zone=us-1)\n\xf0\x9f\x94\xb4 firing High CPU "
			    "usage (zone=eu-1)");
	assert_note(&r, "/commonLabels: no app label");
	assert_string_equal(field(&r, 0, "timestamp"), "2021-10-12T07:51:03Z");
	run_release(&r);
	free(body);

	/* A groupKey with "|" (a regex route) is hashed. */
	body = read_fixture("msteams-v4-group-page.json");
	convert(&r, body, "group", "true", "min_severity", "critical", NULL);
	assert_int_equal(r.nr, 1);
	assert_int_equal(strncmp(field(&r, 0, "correlation"), "am#", 3), 0);
	assert_string_equal(alert_field(&r, 0, "name"), "NodeEvent");
	assert_string_equal(field(&r, 0, "app"), "data_collector");
	assert_non_null(strstr(field(&r, 0, "description"),
			       "Server is down\n\n\xf0\x9f\x94\xb4 firing "
			       "NodeEvent (alias=infrastructure002A, env="
			       "user3environmentc, op=user3, service="));
	assert_null(strstr(field(&r, 0, "description"), "more"));
	run_release(&r);
	free(body);
}

/* A payload of n alerts (the first resolved ones resolved). */
static char *many_alerts(size_t n, size_t resolved, int truncated,
			 int reverse)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "{\"receiver\":\"herald\",\"groupKey\":\"{}:{alertname="
		    "\\\"KubePodCrashLooping\\\"}\",\"truncatedAlerts\":%d,"
		    "\"groupLabels\":{\"alertname\":\"KubePodCrashLooping\"},"
		    "\"commonLabels\":{\"alertname\":\"KubePodCrashLooping\","
		    "\"namespace\":\"shop\",\"container\":\"api\"},\"alerts\":[",
		    truncated);
	for (size_t k = 0; k < n; k++) {
		size_t i = reverse ? n - 1 - k : k;

		strbuf_addf(&sb, "%s{\"status\":\"%s\",\"labels\":{\"alertname\":"
			    "\"KubePodCrashLooping\",\"namespace\":\"shop\","
			    "\"pod\":\"api-%zu\"},\"startsAt\":\"2024-01-01T00:"
			    "%02zu:00Z\",\"endsAt\":\"%s\",\"fingerprint\":"
			    "\"%016zx\"}", k ? "," : "", i < resolved ?
			    "resolved" : "firing", i, i % 60, i < resolved ?
			    "2024-01-02T00:00:00Z" : "0001-01-01T00:00:00Z", i);
	}
	strbuf_addstr(&sb, "]}");
	return strbuf_detach(&sb, NULL);
}

static void test_group_list(void **state)
{
	char *body = many_alerts(25, 0, 7, 0);
	const char *desc, *p;
	struct run r;
	int lines = 0;

	(void)state;
	convert(&r, body, "group", "true", NULL);
	desc = field(&r, 0, "description");
	for (p = desc; (p = strstr(p, "firing KubePodCrashLooping: shop/api-"));
	     p++)
		lines++;
	assert_int_equal(lines, 20);
	assert_non_null(strstr(desc, "shop/api-19\nand 5 more\nand 7 more not "
			       "sent by Alertmanager"));
	assert_null(strstr(desc, "api-20"));
	assert_string_equal(field(&r, 0, "app"), "api");
	assert_string_equal(alert_field(&r, 0, "object"), "shop");
	run_release(&r);
	/* One event per alert: the truncated ones can only be noted. */
	convert(&r, body, NULL);
	assert_int_equal(r.nr, 25);
	assert_note(&r, "/truncatedAlerts: 7 more alerts not sent by "
		    "Alertmanager");
	run_release(&r);
	free(body);
}

/*
 * A change in the set of (fingerprint, status) is a new id with the same
 * correlation, so it edits the group's message; a repeat is a duplicate.
 */
static void test_group_ids(void **state)
{
	char *all_firing = many_alerts(3, 0, 0, 0);
	char *reordered = many_alerts(3, 0, 0, 1);
	char *one_resolved = many_alerts(3, 1, 0, 0);
	char *all_resolved = many_alerts(3, 3, 0, 0);
	char *more = many_alerts(4, 0, 0, 0);
	struct run a, b, c, d, e;

	(void)state;
	convert(&a, all_firing, "group", "true", NULL);
	convert(&b, reordered, "group", "true", NULL);
	convert(&c, one_resolved, "group", "true", NULL);
	convert(&d, all_resolved, "group", "true", NULL);
	convert(&e, more, "group", "true", NULL);
	assert_string_equal(field(&a, 0, "id"), field(&b, 0, "id"));
	assert_string_not_equal(field(&a, 0, "id"), field(&c, 0, "id"));
	assert_string_not_equal(field(&a, 0, "id"), field(&e, 0, "id"));
	assert_string_not_equal(field(&c, 0, "id"), field(&d, 0, "id"));
	assert_string_equal(field(&a, 0, "correlation"),
			    field(&c, 0, "correlation"));
	assert_string_equal(field(&a, 0, "correlation"),
			    field(&d, 0, "correlation"));
	assert_string_equal(field(&c, 0, "status"), "firing");
	assert_false(edit_only(&c, 0));
	assert_non_null(strstr(field(&c, 0, "description"),
			       "\xf0\x9f\x9f\xa2 resolved KubePodCrashLooping: "
			       "shop/api-0\n"));
	/* Fully resolved: only edits, like a resolved alert. */
	assert_string_equal(field(&d, 0, "status"), "resolved");
	assert_true(edit_only(&d, 0));
	assert_string_equal(field(&d, 0, "timestamp"), "2024-01-02T00:00:00Z");
	run_release(&a);
	run_release(&b);
	run_release(&c);
	run_release(&d);
	run_release(&e);
	free(all_firing);
	free(reordered);
	free(one_resolved);
	free(all_resolved);
	free(more);
}

static void test_group_edges(void **state)
{
	struct run r;

	(void)state;
	/* Everything filtered out: no event. */
	convert(&r, "{\"alerts\":[{\"labels\":{\"alertname\":\"A\","
		"\"severity\":\"info\"}}]}", "group", "true", "min_severity",
		"warning", NULL);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.nr, 0);
	assert_note(&r, "/alerts: no alert to report");
	run_release(&r);
	/* No groupKey, no alertname: named by the group labels. */
	convert(&r, "{\"groupLabels\":{\"namespace\":\"ns\",\"cluster\":\"c\"},"
		"\"alerts\":[{\"labels\":{\"alertname\":\"A\"}}]}", "group", "",
		NULL);
	assert_string_equal(alert_field(&r, 0, "name"), "cluster=c, namespace=ns");
	assert_string_equal(field(&r, 0, "correlation"),
			    "am-group||cluster=c, namespace=ns");
	run_release(&r);
	/* A groupKey that overflows jansson's integers (v3 uint64). */
	convert(&r, "{\"groupKey\":18446744073709551615,\"alerts\":[{\"labels\":"
		"{\"alertname\":\"A\"}}]}", "group", "true", NULL);
	assert_int_equal(r.ret, 0);
	assert_string_equal(field(&r, 0, "correlation"),
			    "am-group||1.8446744073709552e19");
	run_release(&r);
	convert(&r, "{\"groupKey\":18446744073709551615,\"alerts\":[{\"labels\":"
		"{\"alertname\":\"A\"}}]}", NULL);
	assert_int_equal(r.nr, 1);
	run_release(&r);
	/* Wrong types in the group's objects are noted, not fatal. */
	convert(&r, "{\"groupLabels\":[1],\"commonLabels\":\"x\","
		"\"commonAnnotations\":5,\"truncatedAlerts\":\"3\",\"alerts\":"
		"[{\"labels\":{\"alertname\":\"A\"}}]}", "group", "true", NULL);
	assert_int_equal(r.nr, 1);
	assert_note(&r, "/groupLabels: expected an object, got an array");
	assert_note(&r, "/commonLabels: expected an object, got a string");
	run_release(&r);
}

/* ---- bodies that are not quite right ---- */

static void test_not_alertmanager(void **state)
{
	static const char *const bodies[] = {
		"", "not json", "{\"alerts\":[}", "[{\"alerts\":[]}]", "\"x\"",
		"{}", "{\"alerts\":null}", "{\"alerts\":{}}",
		/* Grafana's legacy webhook: no "alerts". */
		("{\"title\":\"[Alerting] Test notification\",\"ruleId\":1,"
		 "\"state\":\"alerting\",\"evalMatches\":[]}"),
		"{\"alerts\":[\"\\u0000\"]}",
	};
	struct run r;

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
		convert(&r, bodies[i], NULL);
		assert_int_equal(r.ret, HERALD_EINVAL);
		assert_int_equal(strncmp(r.err.msg, "not an Alertmanager webhook "
					 "payload: ", 37), 0);
		run_release(&r);
	}
	convert(&r, "[1]", NULL);
	assert_string_equal(r.err.msg, "not an Alertmanager webhook payload: "
			    "expected a JSON object with an \"alerts\" array, "
			    "got an array");
	run_release(&r);
	convert(&r, "{\"receiver\":\"x\"}", NULL);
	assert_string_equal(r.err.msg, "not an Alertmanager webhook payload: "
			    "no \"alerts\" member; expected an \"alerts\" array");
	run_release(&r);
	/* A body with a NUL byte inside. */
	convert_with(&r, "{\"alerts\":[]}\0x", 15, NULL, NULL);
	assert_int_equal(r.ret, HERALD_EINVAL);
	run_release(&r);
}

static void test_odd_but_valid(void **state)
{
	struct run r;

	(void)state;
	convert(&r, "{\"alerts\":[]}", NULL);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.nr, 0);
	run_release(&r);

	convert(&r, "{\"receiver\":7,\"status\":true,\"externalURL\":[],"
		"\"version\":4,\"notification_reason\":\"new\",\"routeLabels\":"
		"{\"x\":\"y\"},\"alerts\":[null,3,{\"labels\":null,"
		"\"annotations\":[],\"status\":5,\"generatorURL\":{},"
		"\"fingerprint\":9},{\"labels\":{\"alertname\":\"A\",\"pod\":1,"
		"\"namespace\":\"ns\"}}]}", NULL);
	assert_int_equal(r.ret, 0);
	assert_int_equal(r.nr, 2);
	assert_note(&r, "/alerts/0: expected an alert object, got null");
	assert_note(&r, "/alerts/1: expected an alert object, got a number");
	assert_note(&r, "/alerts/2/annotations: expected an object, got an "
		    "array");
	assert_note(&r, "/alerts/2/status: a number is not firing or resolved");
	assert_note(&r, "/receiver: expected a string, got a number");
	/* A label that is not a string counts as absent. */
	assert_null(alert_field(&r, 1, "object"));
	assert_string_equal(field(&r, 1, "app"), "ns");
	run_release(&r);
}

static void test_huge_and_hostile(void **state)
{
	struct strbuf body = STRBUF_INIT;
	struct run r;
	const char *desc;

	(void)state;
	strbuf_addstr(&body, "{\"alerts\":[{\"labels\":{\"alertname\":\"");
	for (int i = 0; i < 3000; i++)
		strbuf_addstr(&body, "\xc3\xa9");
	strbuf_addstr(&body, "\",\"app\":\"a\\u0007b\\u0085c\",\"env\":"
		      "\"p\\nq\"},\"annotations\":{\"description\":\"");
	for (int i = 0; i < 100000; i++)
		strbuf_addch(&body, 'x');
	strbuf_addstr(&body, "\"}}]}");
	convert(&r, body.buf, NULL);
	assert_int_equal(r.ret, 0);
	assert_true(strlen(alert_field(&r, 0, "name")) <= EVENT_LINE_MAX);
	assert_note(&r, "/alerts/0/labels/alertname: 6000 bytes, shortened");
	assert_string_equal(field(&r, 0, "app"), "a b c");
	assert_string_equal(field(&r, 0, "env"), "p q");
	desc = field(&r, 0, "description");
	assert_true(strlen(desc) <= 16 * 1024);
	assert_note(&r, "/alerts/0/annotations: 100000 bytes, shortened");
	run_release(&r);
	strbuf_release(&body);

	/* Very many alerts: one event each. */
	{
		char *many = many_alerts(500, 100, 0, 0);

		convert(&r, many, NULL);
		assert_int_equal(r.nr, 500);
		assert_true(edit_only(&r, 0));
		assert_false(edit_only(&r, 499));
		run_release(&r);
		free(many);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures_convert),
		cmocka_unit_test(test_kube_pod_alert),
		cmocka_unit_test(test_app_known_to_catalog),
		cmocka_unit_test(test_app_fallbacks),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_object),
		cmocka_unit_test(test_description),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_resolved_edits),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_fingerprint_from_labels),
		cmocka_unit_test(test_long_keys_are_hashed),
		cmocka_unit_test(test_owner_im),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_min_severity),
		cmocka_unit_test(test_group),
		cmocka_unit_test(test_group_list),
		cmocka_unit_test(test_group_ids),
		cmocka_unit_test(test_group_edges),
		cmocka_unit_test(test_not_alertmanager),
		cmocka_unit_test(test_odd_but_valid),
		cmocka_unit_test(test_huge_and_hostile),
	};

	if (argc > 1)
		root = argv[1];
	else if (getenv("HERALD_SRC"))
		root = getenv("HERALD_SRC");
	return cmocka_run_group_tests_name("alertmanager", tests, NULL, NULL);
}
