/*
 * Unit tests for the Flux adapter (inputs/flux.c): the fixtures under
 * tests/inputs/flux/ (bodies from Flux's tests, docs and issue reports, and
 * bodies built from the controllers' event calls: see SOURCES.md there),
 * a matrix of helm-controller and kustomize-controller events built from
 * their message formats, every revision form, env/app/repository
 * precedence, odd but valid payloads, and bodies that are not Flux events.
 * Every converted event must validate as herald's own JSON, and a legacy
 * token must show nowhere.
 *
 * The project root comes from argv[1] (meson passes it), else $HERALD_SRC,
 * else ".".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inputs/event_json.h"
#include "inputs/flux.h"
#include "inputs/input.h"
#include "lib/sha2.h"
#include "lib/strbuf.h"

static const char *root = ".";

#define SHA1 "a1afe267b54f38b46b487f6e938a6fd508278c07"
#define SHA256 "6f4c4e1c1e6a0b8e1d1f8a5f3e2b9c4d7a0e3b6c9f2e5d8a1b4c7f0e3d6a9b2c"

struct conv {
	int ret;
	struct errbuf err;
	struct input_result r;
};

/* Converts body with the query parameters given as name, value, ..., NULL. */
static void convert_q(struct conv *c, const char *body, ...)
{
	struct input_param query[8];
	struct input_request req;
	const char *name;
	va_list ap;
	size_t nr = 0;

	va_start(ap, body);
	while ((name = va_arg(ap, const char *)) && nr < 8) {
		query[nr].name = name;
		query[nr].value = va_arg(ap, const char *);
		nr++;
	}
	va_end(ap);
	memset(&req, 0, sizeof(req));
	req.body = body;
	req.len = strlen(body);
	req.query = query;
	req.query_nr = nr;
	input_result_init(&c->r);
	c->err.msg[0] = '\0';
	c->ret = flux_convert(&req, &c->r, &c->err);
}

#define convert(c, body) convert_q(c, body, (const char *)NULL)

static void release(struct conv *c)
{
	input_result_release(&c->r);
}

/* The body of tests/inputs/flux/name (caller frees). */
static char *fixture(const char *name)
{
	struct strbuf path = STRBUF_INIT, text = STRBUF_INIT;
	char buf[8192];
	size_t n;
	FILE *f;

	strbuf_addf(&path, "%s/tests/inputs/flux/%s", root, name);
	f = fopen(path.buf, "rb");
	if (!f) {
		print_error("cannot read %s\n", path.buf);
		fail();
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&text, buf, n);
	fclose(f);
	strbuf_release(&path);
	return strbuf_detach(&text, NULL);
}

static size_t nr_events(const struct conv *c)
{
	return json_array_size(c->r.events);
}

static json_t *event(const struct conv *c, size_t i)
{
	return json_array_get(c->r.events, i);
}

static const char *field(const struct conv *c, const char *name)
{
	return input_str(event(c, 0), name);
}

/*
 * Every converted event validates as herald's own JSON, and the notes are
 * single lines.
 */
static void check_valid(const struct conv *c)
{
	for (size_t i = 0; i < nr_events(c); i++) {
		struct event ev = EVENT_INIT;
		struct errbuf err;
		int ret = event_from_json(&ev, event(c, i), "", &err);

		if (ret) {
			char *text = json_dumps(event(c, i), JSON_COMPACT);

			fail_msg("event %zu does not validate: %s\n%s", i,
				 err.msg, text);
			free(text);
		}
		event_release(&ev);
	}
	for (size_t i = 0; i < c->r.ignored.nr; i++)
		assert_null(strchr(c->r.ignored.items[i], '\n'));
}

/* Converts body, which must give one event of type and status. */
static void expect_event(struct conv *c, const char *body, const char *type,
			 const char *status)
{
	convert(c, body);
	if (c->ret)
		fail_msg("refused: %s", c->err.msg);
	if (nr_events(c) != 1)
		fail_msg("%zu events, notes: %s", nr_events(c),
			 c->r.ignored.nr ? c->r.ignored.items[0] : "none");
	check_valid(c);
	assert_string_equal(field(c, "type"), type);
	if (status)
		assert_string_equal(field(c, "status"), status);
	else
		assert_null(field(c, "status"));
}

/* Converts body, which must be ignored with exactly the note given. */
static void expect_ignored(const char *body, const char *note)
{
	struct conv c;

	convert(&c, body);
	assert_int_equal(c.ret, 0);
	if (nr_events(&c)) {
		char *text = json_dumps(event(&c, 0), JSON_COMPACT);

		fail_msg("not ignored: %s", text);
		free(text);
	}
	assert_int_equal(c.r.ignored.nr, 1);
	assert_string_equal(c.r.ignored.items[0], note);
	release(&c);
}

static void expect_refused(const char *body, const char *msg)
{
	struct conv c;

	convert(&c, body);
	assert_int_equal(c.ret, HERALD_EINVAL);
	assert_string_equal(c.err.msg, msg);
	assert_int_equal(nr_events(&c), 0);
	release(&c);
}

/* "flux:" and the SHA-256 of body in hex: the id of its event. */
static void expect_id(const struct conv *c, const char *body)
{
	uint8_t digest[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1], id[80];

	sha2(SHA2_256, body, strlen(body), digest);
	hex_encode(digest, sizeof(digest), hex);
	snprintf(id, sizeof(id), "flux:%s", hex);
	assert_string_equal(field(c, "id"), id);
}

/* notification-controller's forwarder test: a source's info event. */
static void test_forwarder_vector(void **state)
{
	char *body = fixture("forwarder-test.json");

	(void)state;
	expect_ignored(body, "GitRepository/gitops-system/webapp: "
		       "info events of sources are not notifications");
	free(body);
}

/* The docs' hand-written example: other key order, prefixed key, legacy revision. */
static void test_docs_example(void **state)
{
	char *body = fixture("docs-v1beta3-validation-failed.json");
	struct conv c;

	(void)state;
	expect_event(&c, body, "gitops", "failed");
	assert_string_equal(field(&c, "app"), "webapp");
	assert_string_equal(field(&c, "env"), "apps");
	assert_string_equal(field(&c, "gitops_sha"),
			    "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1");
	assert_null(field(&c, "version"));
	assert_null(field(&c, "title"));
	assert_string_equal(field(&c, "description"),
			    "service/apps/webapp validation error: spec.type: "
			    "Unsupported value: Ingress");
	assert_string_equal(field(&c, "timestamp"), "2022-10-28T07:26:19Z");
	assert_string_equal(field(&c, "correlation"),
			    "flux gitops uid:7d0cdc51-ddcf-4743-b223-83ca5c699632 "
			    "apps main/731f7eaddfb6af01cb2173e18f0f75b0ba780ef1");
	assert_null(json_object_get(event(&c, 0), "edit_only"));
	expect_id(&c, body);
	assert_int_equal(c.r.ignored.nr, 0);
	release(&c);
	free(body);

	body = fixture("docs-v1beta1-fetched-revision.json");
	expect_ignored(body, "GitRepository/flux-system/flux-system: info events "
		       "of sources are not notifications");
	free(body);
}

/* A Kustomization event as kustomize-controller and notification-controller send it. */
#define KS_HEAD \
	"{\"involvedObject\":{\"kind\":\"Kustomization\",\"namespace\":\"flux-system\",\"name\":\"apps\",\"uid\":\"02350a0b-a8a3-4cd3-bf58-5400c0fc9662\",\"apiVersion\":\"kustomize.toolkit.fluxcd.io/v1\",\"resourceVersion\":\"365594\"},"
#define KS_TAIL \
	",\"reportingController\":\"kustomize-controller\",\"reportingInstance\":\"kustomize-controller-5f7b8c9d6-x2x4q\"}"
#define KS_META "\"metadata\":{\"revision\":\"main@sha1:" SHA1 "\"}"

static const char ks_canceled[] = KS_HEAD
	"\"severity\":\"info\",\"timestamp\":\"2024-11-06T14:20:00Z\","
	"\"message\":\"Health checks canceled due to new reconciliation triggered by GitRepository/flux-system/flux-system\","
	"\"reason\":\"HealthCheckCanceled\"," KS_META KS_TAIL;

/* One commit's story: progressing, healthy, applied (edit only), or unhealthy. */
static void test_kustomization_story(void **state)
{
	char *ks_change_set = fixture("derived-kustomization-change-set.json");
	char *ks_healthy = fixture("derived-kustomization-health-check-passed.json");
	char *ks_finished = fixture("derived-kustomization-reconciliation-finished.json");
	char *ks_unhealthy = fixture("derived-kustomization-health-check-failed.json");
	char *ks_dependency = fixture("derived-kustomization-dependency-not-ready.json");
	struct conv c;
	const char *key = "flux gitops uid:02350a0b-a8a3-4cd3-bf58-5400c0fc9662 "
			  "flux-system main@sha1:" SHA1;

	(void)state;
	expect_event(&c, ks_change_set, "gitops", "progressing");
	assert_string_equal(field(&c, "env"), "flux-system");
	assert_string_equal(field(&c, "app"), "apps");
	assert_string_equal(field(&c, "gitops_sha"), SHA1);
	assert_string_equal(field(&c, "description"),
			    "Service/default/podinfo created\n"
			    "Deployment/default/podinfo created\n"
			    "HorizontalPodAutoscaler/default/podinfo created");
	assert_string_equal(field(&c, "correlation"), key);
	release(&c);

	expect_event(&c, ks_healthy, "gitops", "healthy");
	assert_string_equal(field(&c, "correlation"), key);
	assert_null(json_object_get(event(&c, 0), "edit_only"));
	release(&c);

	expect_event(&c, ks_finished, "gitops", "applied");
	assert_string_equal(field(&c, "correlation"), key);
	assert_true(json_is_true(json_object_get(event(&c, 0), "edit_only")));
	assert_string_equal(field(&c, "gitops_sha"), SHA1);
	release(&c);

	expect_event(&c, ks_unhealthy, "gitops", "unhealthy");
	assert_string_equal(field(&c, "correlation"), key);
	release(&c);

	expect_ignored(ks_dependency, "Kustomization/flux-system/apps: "
		       "DependencyNotReady: waiting for dependencies is not a "
		       "notification");
	expect_ignored(ks_canceled, "Kustomization/flux-system/apps: "
		       "HealthCheckCanceled: an info event that is neither a "
		       "change set, a passed health check nor a finished "
		       "reconciliation is not a notification");
	free(ks_change_set);
	free(ks_healthy);
	free(ks_finished);
	free(ks_unhealthy);
	free(ks_dependency);
}

/*
 * Whatever the reason: a drift corrected on a later run comes while Ready
 * still says ReconciliationSucceeded, and any error is a failure.
 */
static void test_kustomization_by_message(void **state)
{
	struct conv c;

	(void)state;
	expect_event(&c, KS_HEAD "\"severity\":\"info\",\"message\":"
		     "\"Deployment/default/podinfo configured\","
		     "\"reason\":\"ReconciliationSucceeded\"}",
		     "gitops", "progressing");
	assert_null(json_object_get(event(&c, 0), "edit_only"));
	release(&c);
	/* kustomize-controller before server-side apply: kubectl's output. */
	expect_event(&c, KS_HEAD "\"severity\":\"info\",\"message\":"
		     "\"deployment.apps/podinfo configured\\nservice/podinfo unchanged\\n\","
		     "\"reason\":\"info\"}", "gitops", "progressing");
	release(&c);
	expect_event(&c, KS_HEAD "\"severity\":\"error\",\"message\":"
		     "\"kustomize build failed: accumulating resources\","
		     "\"reason\":\"BuildFailed\"}", "gitops", "failed");
	assert_null(field(&c, "gitops_sha"));
	assert_string_equal(field(&c, "correlation"),
			    "flux gitops uid:02350a0b-a8a3-4cd3-bf58-5400c0fc9662 "
			    "flux-system ");
	release(&c);
	expect_event(&c, KS_HEAD "\"severity\":\"error\",\"message\":"
		     "\"pruning for deleted resource failed\",\"reason\":"
		     "\"error\"}", "gitops", "failed");
	release(&c);
	/* A sentence with a slash and a known word is not a change set. */
	expect_ignored(KS_HEAD "\"severity\":\"info\",\"message\":"
		       "\"Source artifact/foo not found\",\"reason\":\"info\"}",
		       "Kustomization/flux-system/apps: info: an info event "
		       "that is neither a change set, a passed health check "
		       "nor a finished reconciliation is not a notification");
}

/* A Kustomization event with the revision (and originRevision) given. */
static void revision(const char *rev, const char *origin, const char *sha,
		     const char *version)
{
	struct conv c;
	char body[1024];

	if (origin)
		snprintf(body, sizeof(body), KS_HEAD "\"severity\":\"error\","
			 "\"message\":\"x\",\"reason\":\"BuildFailed\","
			 "\"metadata\":{\"revision\":\"%s\","
			 "\"originRevision\":\"%s\"}}", rev, origin);
	else
		snprintf(body, sizeof(body), KS_HEAD "\"severity\":\"error\","
			 "\"message\":\"x\",\"reason\":\"BuildFailed\","
			 "\"metadata\":{\"revision\":\"%s\"}}", rev);
	expect_event(&c, body, "gitops", "failed");
	if (sha)
		assert_string_equal(field(&c, "gitops_sha"), sha);
	else
		assert_null(field(&c, "gitops_sha"));
	if (version)
		assert_string_equal(field(&c, "version"), version);
	else
		assert_null(field(&c, "version"));
	release(&c);
}

/*
 * Every form notification-controller's own parse test
 * (internal/notifier/util_test.go) and fluxcd/pkg git/utils.go know.
 */
static void test_revisions(void **state)
{
	(void)state;
	revision("master@sha1:" SHA1, NULL, SHA1, NULL);
	revision("refs/heads/main@sha1:" SHA1, NULL, SHA1, NULL);
	revision("environment/dev@sha1:" SHA1, NULL, SHA1, NULL);
	revision("sha1:" SHA1, NULL, SHA1, NULL);
	revision("master/" SHA1, NULL, SHA1, NULL);
	revision("environment/dev/" SHA1, NULL, SHA1, NULL);
	revision("sha256:" SHA256, NULL, SHA256, NULL);
	revision("refs/heads/main@sha256:" SHA256, NULL, SHA256, NULL);
	/* An OCI artifact: shown as the version, not taken as a commit. */
	revision("latest@sha256:" SHA256, NULL, NULL, "latest@sha256:" SHA256);
	revision("v1.2.3@sha256:" SHA256, NULL, NULL, "v1.2.3@sha256:" SHA256);
	revision("latest/" SHA256, NULL, NULL, "latest/" SHA256);
	/* ... with the commit it was built from (flux push artifact). */
	revision("latest@sha256:" SHA256, "main@sha1:" SHA1, SHA1,
		 "latest@sha256:" SHA256);
	revision("main@sha1:" SHA1, "other@sha1:0000000000", SHA1, NULL);
	/* Not a commit either. */
	revision("master", NULL, NULL, "master");
	revision("main@sha1:xyz", NULL, NULL, "main@sha1:xyz");
	revision("main@sha1:", NULL, NULL, "main@sha1:");
}

/* The token is in no field and no note, as text or in any other case. */
static void expect_no_token(const struct conv *c, const char *token)
{
	for (size_t i = 0; i < nr_events(c); i++) {
		char *text = json_dumps(event(c, i), JSON_COMPACT);

		assert_null(strstr(text, token));
		free(text);
	}
	for (size_t i = 0; i < c->r.ignored.nr; i++)
		assert_null(strstr(c->r.ignored.items[i], token));
}

/*
 * flux2#4453 (helm-controller v2beta1: the reason is the severity) and the
 * start event of the same release.
 */
static void test_helm_old_form(void **state)
{
	char *hr_old_succeeded = fixture("flux2-4453-helm-upgrade-succeeded.json");
	char *hr_old_started = fixture("derived-helm-v2beta1-upgrade-started.json");
	struct conv c;
	char key[256];

	(void)state;
	expect_event(&c, hr_old_succeeded, "deploy", "succeeded");
	assert_string_equal(field(&c, "app"), "appnamehere");
	assert_string_equal(field(&c, "env"), "flux-system");
	assert_string_equal(field(&c, "version"), "0.1.3+2");
	assert_null(field(&c, "sha"));
	assert_null(field(&c, "gitops_sha"));
	assert_string_equal(field(&c, "description"), "Helm upgrade succeeded");
	assert_string_equal(field(&c, "timestamp"), "2023-12-04T15:44:50Z");
	/* The token only as a hash: sha256("abcd1234") begins e9cee71ab932fde8. */
	assert_string_equal(field(&c, "correlation"),
			    "flux deploy uid:b380efb3-1234-1234-a421-cd1e39b22e93 "
			    "flux-system 0.1.3+2 token:e9cee71ab932fde8");
	snprintf(key, sizeof(key), "%s", field(&c, "correlation"));
	expect_no_token(&c, "abcd1234");
	expect_id(&c, hr_old_succeeded);
	release(&c);

	expect_event(&c, hr_old_started, "deploy", "started");
	assert_string_equal(field(&c, "correlation"), key);
	assert_string_equal(field(&c, "version"), "0.1.3+2");
	expect_no_token(&c, "abcd1234");
	release(&c);
	free(hr_old_succeeded);
	free(hr_old_started);
}

/* flux2#3937 (Flux 2.0.0-rc.4): no revision, an Alert summary, a token. */
static void test_helm_without_revision(void **state)
{
	char *hr_rc4 = fixture("flux2-3937-helm-no-revision.json");
	struct conv c;

	(void)state;
	expect_event(&c, hr_rc4, "deploy", "succeeded");
	assert_null(field(&c, "version"));
	assert_string_equal(field(&c, "env"), "flux-system");
	expect_no_token(&c, "00c5f2c429523e3b1f26939ed76a8e37ea11c479");
	assert_non_null(strstr(field(&c, "correlation"), " token:"));
	release(&c);
	free(hr_rc4);

	/* helm-controller api v2: the failure with its Helm logs. */
	hr_rc4 = fixture("derived-helm-v2-upgrade-failed.json");
	expect_event(&c, hr_rc4, "deploy", "failed");
	assert_string_equal(field(&c, "version"), "6.5.4");
	assert_string_equal(field(&c, "correlation"),
			    "flux deploy uid:3c5a6ed4-5c3e-4f4b-9d6e-0b8a2e6f1d77 apps 6.5.4");
	assert_non_null(strstr(field(&c, "description"),
			       "exceeded\n\nLast Helm logs:\n\nwaiting for 1"));
	release(&c);
	free(hr_rc4);
}

/*
 * helm-controller api v2 (internal/reconcile/, install.go to uninstall.go): reason = the result,
 * messages from fmtUpgradeSuccess and friends, metadata prefixed with the
 * group as the controller sets it (eventMeta(), addAppVersion()).
 */
#define HR_HEAD \
	"{\"involvedObject\":{\"kind\":\"HelmRelease\",\"namespace\":\"apps\",\"name\":\"podinfo\",\"uid\":\"3c5a6ed4-5c3e-4f4b-9d6e-0b8a2e6f1d77\",\"apiVersion\":\"helm.toolkit.fluxcd.io/v2\",\"resourceVersion\":\"48213\"},"
#define HR_META \
	"\"metadata\":{\"helm.toolkit.fluxcd.io/app-version\":\"6.5.4\",\"helm.toolkit.fluxcd.io/revision\":\"6.5.4+1\"}"
#define HR_TAIL ",\"reportingController\":\"helm-controller\",\"reportingInstance\":\"helm-controller-7b8f5d9c4-abcde\"}"
#define HR(sev, reason, msg) HR_HEAD "\"severity\":\"" sev "\",\"timestamp\":\"2024-05-06T10:00:00Z\",\"message\":\"" msg "\",\"reason\":\"" reason "\"," HR_META HR_TAIL

static void test_helm_v2(void **state)
{
	struct conv c;
	const char *deploy_key = "flux deploy uid:3c5a6ed4-5c3e-4f4b-9d6e-0b8a2e6f1d77 apps 6.5.4+1";

	(void)state;
	expect_event(&c, HR("info", "InstallSucceeded",
			    "Helm install succeeded for release apps/podinfo.v1 with chart podinfo@6.5.4+1"),
		     "deploy", "succeeded");
	assert_string_equal(field(&c, "version"), "6.5.4");
	assert_string_equal(field(&c, "app"), "podinfo");
	assert_string_equal(field(&c, "env"), "apps");
	assert_string_equal(field(&c, "correlation"), deploy_key);
	release(&c);

	expect_event(&c, HR("info", "UpgradeSucceeded",
			    "Helm upgrade succeeded for release apps/podinfo.v2 with chart podinfo@6.5.4+1"),
		     "deploy", "succeeded");
	release(&c);

	/* eventMessageWithLog(): the Helm logs after a blank line. */
	expect_event(&c, HR("error", "UpgradeFailed",
			    "Helm upgrade failed for release apps/podinfo with chart podinfo@6.5.4+1: context deadline exceeded\\n\\nLast Helm logs:\\n\\nwaiting for 1 resources with timeout of 5m0s\\nDeployment is not ready: apps/podinfo. 0 out of 1 expected pods are ready"),
		     "deploy", "failed");
	assert_string_equal(field(&c, "correlation"), deploy_key);
	assert_non_null(strstr(field(&c, "description"),
			       "\n\nLast Helm logs:\n\nwaiting for 1 resources"));
	release(&c);

	expect_event(&c, HR("error", "InstallFailed", "Helm install failed for release apps/podinfo with chart podinfo@6.5.4+1: x"),
		     "deploy", "failed");
	release(&c);
	expect_event(&c, HR("error", "TestFailed", "Helm test failed for release apps/podinfo.v2 with chart podinfo@6.5.4+1: 1 test failed"),
		     "deploy", "failed");
	release(&c);
	expect_event(&c, HR("error", "ArtifactFailed", "HelmChart 'apps/apps-podinfo' is not ready"),
		     "deploy", "failed");
	release(&c);

	/* A rollback is its own story: it must not hide the failure it undoes. */
	expect_event(&c, HR("info", "RollbackSucceeded",
			    "Helm rollback to previous release apps/podinfo.v1 with chart podinfo@6.5.4+1 succeeded"),
		     "rollback", "succeeded");
	assert_string_equal(field(&c, "correlation"),
			    "flux rollback uid:3c5a6ed4-5c3e-4f4b-9d6e-0b8a2e6f1d77 apps 6.5.4+1");
	assert_string_equal(field(&c, "version"), "6.5.4");
	release(&c);
	expect_event(&c, HR("error", "RollbackFailed", "Helm rollback to previous release apps/podinfo.v1 with chart podinfo@6.5.4+1 failed: x"),
		     "rollback", "failed");
	release(&c);

	expect_event(&c, HR("info", "UninstallSucceeded", "Helm uninstall succeeded for release apps/podinfo.v2 with chart podinfo@6.5.4+1"),
		     "delete", "succeeded");
	assert_string_equal(field(&c, "app"), "podinfo");
	release(&c);
	expect_event(&c, HR("error", "UninstallFailed", "Helm uninstall failed for release apps/podinfo.v2 with chart podinfo@6.5.4+1: x"),
		     "delete", "failed");
	release(&c);

	/* Drift and other errors without a deploy result: a message. */
	expect_event(&c, HR("error", "DriftDetected",
			    "Cluster state of release apps/podinfo.v2 has drifted from the desired state:\\nDeployment/apps/podinfo changed (0 additions, 1 changes, 0 removals)"),
		     "message", NULL);
	assert_string_equal(field(&c, "title"), "HelmRelease/apps/podinfo: DriftDetected");
	assert_string_equal(field(&c, "correlation"),
			    "flux message uid:3c5a6ed4-5c3e-4f4b-9d6e-0b8a2e6f1d77 apps DriftDetected");
	assert_null(field(&c, "version"));
	release(&c);
	expect_event(&c, HR("error", "DriftCorrectionFailed", "Failed to partially correct cluster state"),
		     "message", NULL);
	release(&c);

	expect_ignored(HR("info", "TestSucceeded", "Helm test succeeded for release apps/podinfo.v2 with chart podinfo@6.5.4+1: 1 test hook completed successfully"),
		       "HelmRelease/apps/podinfo: TestSucceeded: tests passed "
		       "after a deploy already reported as succeeded: not a "
		       "notification of its own");
	expect_ignored(HR("info", "DriftCorrected", "Cluster state of release apps/podinfo.v2 has been corrected:\\nDeployment/apps/podinfo configured"),
		       "HelmRelease/apps/podinfo: DriftCorrected: an info event "
		       "that is not the start or the result of a Helm install, "
		       "upgrade, rollback or uninstall is not a notification");
	expect_ignored(HR("info", "DependencyNotReady", "dependency 'apps/redis' is not ready"),
		       "HelmRelease/apps/podinfo: DependencyNotReady: waiting "
		       "for dependencies is not a notification");
}

static void test_helm_old_messages(void **state)
{
	struct conv c;

	(void)state;
	/* The earliest start event (helm-controller#217), and Progressing. */
	expect_event(&c, HR("info", "info", "Helm release deployment has started"), "deploy", "started");
	release(&c);
	expect_event(&c, HR("info", "Progressing", "Helm install has started"), "deploy", "started");
	release(&c);
	expect_event(&c, HR("info", "info", "Helm install succeeded"), "deploy", "succeeded");
	release(&c);
	/* handleHelmActionResult(): "Helm <action> failed: <error>" and logs. */
	expect_event(&c, HR("error", "error", "Helm upgrade failed: timed out waiting for the condition\\n\\nLast Helm logs:\\n\\nx"),
		     "deploy", "failed");
	release(&c);
	expect_event(&c, HR("error", "error", "reconciliation failed: Helm upgrade failed: timed out"), "deploy", "failed");
	release(&c);
	expect_event(&c, HR("info", "info", "Helm rollback succeeded"), "rollback", "succeeded");
	release(&c);
	expect_event(&c, HR("error", "error", "Helm rollback failed: x"), "rollback", "failed");
	release(&c);
	expect_event(&c, HR("info", "info", "Helm uninstall succeeded"), "delete", "succeeded");
	release(&c);
	expect_event(&c, HR("error", "error", "Helm test failed: x"), "deploy", "failed");
	release(&c);
	expect_ignored(HR("info", "info", "Helm test succeeded"),
		       "HelmRelease/apps/podinfo: Helm tests passed after a "
		       "deploy already reported as succeeded: not a "
		       "notification of its own");
	expect_ignored(HR("info", "info", "HelmChart 'apps/apps-podinfo' is not ready"),
		       "HelmRelease/apps/podinfo: an info event that is not "
		       "the start or the result of a Helm install, upgrade, "
		       "rollback or uninstall is not a notification");
}

/* source-controller: a failure is a message, repeats edit it. */
#define GIT_ERROR(ts) \
	"{\"involvedObject\":{\"kind\":\"GitRepository\",\"namespace\":\"flux-system\",\"name\":\"podinfo\",\"uid\":\"cc4d0095-83f4-4f08-98f2-d2e9f3731fb9\",\"apiVersion\":\"source.toolkit.fluxcd.io/v1\",\"resourceVersion\":\"56921\"}," \
	"\"severity\":\"error\",\"timestamp\":\"" ts "\",\"message\":\"failed to checkout and determine revision: unable to clone 'https://github.com/stefanprodan/podinfo': authentication required\",\"reason\":\"GitOperationFailed\",\"reportingController\":\"source-controller\",\"reportingInstance\":\"source-controller-7c7b47f5f-8bhrp\"}"

static void test_sources(void **state)
{
	char *body = fixture("derived-gitrepository-auth-failed.json");
	struct conv c;
	char key[256], id[256];

	(void)state;
	assert_string_equal(body, GIT_ERROR("2024-01-01T10:00:00Z"));
	expect_event(&c, body, "message", NULL);
	assert_string_equal(field(&c, "title"),
			    "GitRepository/flux-system/podinfo: GitOperationFailed");
	assert_string_equal(field(&c, "description"),
			    "failed to checkout and determine revision: unable to "
			    "clone 'https://github.com/stefanprodan/podinfo': "
			    "authentication required");
	assert_string_equal(field(&c, "app"), "podinfo");
	assert_string_equal(field(&c, "env"), "flux-system");
	assert_string_equal(field(&c, "correlation"),
			    "flux message uid:cc4d0095-83f4-4f08-98f2-d2e9f3731fb9 "
			    "flux-system GitOperationFailed");
	snprintf(key, sizeof(key), "%s", field(&c, "correlation"));
	snprintf(id, sizeof(id), "%s", field(&c, "id"));
	release(&c);

	/* The same failure later: another event of the same story. */
	expect_event(&c, GIT_ERROR("2024-01-01T10:05:00Z"), "message", NULL);
	assert_string_equal(field(&c, "correlation"), key);
	assert_string_not_equal(field(&c, "id"), id);
	release(&c);

	/* Flux's retry of the same POST: the same id. */
	expect_event(&c, GIT_ERROR("2024-01-01T10:00:00Z"), "message", NULL);
	assert_string_equal(field(&c, "id"), id);
	release(&c);
	free(body);

	/* notification-controller docs/spec/v1beta1/providers.md (fixed: no trailing commas). */
	expect_ignored("{\"involvedObject\":{\"kind\":\"GitRepository\",\"namespace\":\"flux-system\",\"name\":\"flux-system\",\"uid\":\"cc4d0095-83f4-4f08-98f2-d2e9f3731fb9\",\"apiVersion\":\"source.toolkit.fluxcd.io/v1beta2\",\"resourceVersion\":\"56921\"},\"severity\":\"info\",\"timestamp\":\"2006-01-02T15:04:05Z\",\"message\":\"Fetched revision: main/731f7eaddfb6af01cb2173e18f0f75b0ba780ef1\",\"reason\":\"info\",\"reportingController\":\"source-controller\",\"reportingInstance\":\"source-controller-7c7b47f5f-8bhrp\"}",
		       "GitRepository/flux-system/flux-system: info events of "
		       "sources are not notifications");
	expect_ignored("{\"involvedObject\":{\"kind\":\"OCIRepository\",\"namespace\":\"flux-system\",\"name\":\"apps\"},\"severity\":\"info\",\"message\":\"stored artifact with revision 'latest@sha256:" SHA256 "'\",\"reason\":\"NewArtifact\"}",
		       "OCIRepository/flux-system/apps: info events of sources "
		       "are not notifications");

	/* Unknown kinds: the same rules. */
	expect_event(&c, "{\"involvedObject\":{\"kind\":\"ImageUpdateAutomation\",\"namespace\":\"flux-system\",\"name\":\"podinfo\"},\"severity\":\"error\",\"message\":\"failed to push\",\"reason\":\"GitOperationFailed\"}",
		     "message", NULL);
	assert_string_equal(field(&c, "title"),
			    "ImageUpdateAutomation/flux-system/podinfo: GitOperationFailed");
	/* No uid: kind/namespace/name. */
	assert_string_equal(field(&c, "correlation"),
			    "flux message ImageUpdateAutomation/flux-system/podinfo "
			    "flux-system GitOperationFailed");
	release(&c);
	expect_ignored("{\"involvedObject\":{\"kind\":\"ImageUpdateAutomation\",\"namespace\":\"flux-system\",\"name\":\"podinfo\"},\"severity\":\"info\",\"message\":\"pushed commit\",\"reason\":\"Succeeded\"}",
		       "ImageUpdateAutomation/flux-system/podinfo: info events "
		       "of ImageUpdateAutomation objects are not notifications");
	expect_ignored("{\"involvedObject\":{}}",
		       "the involved object: info events of objects of no "
		       "kind are not notifications");
}

/* env: metadata › ?env= › namespace; app: metadata › ?app= › name. */
static void test_env_and_app(void **state)
{
	char *ks_change_set = fixture("derived-kustomization-change-set.json");
	char *ks_healthy = fixture("derived-kustomization-health-check-passed.json");
	struct conv c;

	(void)state;
	convert_q(&c, ks_change_set, "env", "production", "app", "shop",
		  (const char *)NULL);
	check_valid(&c);
	assert_string_equal(field(&c, "env"), "production");
	assert_string_equal(field(&c, "app"), "shop");
	assert_non_null(strstr(field(&c, "correlation"), " production "));
	release(&c);

	/* Alert .spec.eventMetadata keys come plain; annotations prefixed. */
	convert_q(&c, KS_HEAD "\"severity\":\"info\",\"message\":\"Health check passed in 1s\","
		  "\"metadata\":{\"app\":\"api\",\"env\":\"staging\",\"repository\":\"acme/gitops\"}}",
		  "env", "production", "app", "shop", "repo", "acme/other",
		  (const char *)NULL);
	check_valid(&c);
	assert_string_equal(field(&c, "env"), "staging");
	assert_string_equal(field(&c, "app"), "api");
	assert_string_equal(field(&c, "gitops_repository"), "acme/gitops");
	release(&c);

	convert_q(&c, KS_HEAD "\"severity\":\"info\",\"message\":\"Health check passed in 1s\","
		  "\"metadata\":{\"event.toolkit.fluxcd.io/env\":\"qa\",\"env\":\"\"}}",
		  "repo", "acme/gitops", (const char *)NULL);
	check_valid(&c);
	assert_string_equal(field(&c, "env"), "qa");
	assert_string_equal(field(&c, "gitops_repository"), "acme/gitops");
	release(&c);

	/* Plain wins over prefixed, whatever the order. */
	convert(&c, KS_HEAD "\"severity\":\"info\",\"message\":\"Health check passed in 1s\","
		"\"metadata\":{\"kustomize.toolkit.fluxcd.io/revision\":\"old@sha1:" SHA1 "\","
		"\"revision\":\"main@sha1:" SHA256 "\"}}");
	check_valid(&c);
	assert_string_equal(field(&c, "gitops_sha"), SHA256);
	release(&c);

	/* No repository anywhere: none. */
	convert(&c, ks_healthy);
	assert_null(field(&c, "gitops_repository"));
	release(&c);
	free(ks_change_set);
	free(ks_healthy);
}

/* Without the env or app a type needs, the event is still told, as a message. */
static void test_missing_required(void **state)
{
	struct conv c;

	(void)state;
	convert(&c, "{\"involvedObject\":{\"kind\":\"HelmRelease\",\"name\":\"podinfo\"},\"severity\":\"error\",\"reason\":\"UpgradeFailed\",\"message\":\"Helm upgrade failed\"}");
	assert_int_equal(c.ret, 0);
	assert_int_equal(nr_events(&c), 1);
	check_valid(&c);
	assert_string_equal(field(&c, "type"), "message");
	assert_string_equal(field(&c, "title"), "HelmRelease/podinfo: UpgradeFailed");
	assert_int_equal(c.r.ignored.nr, 1);
	assert_string_equal(c.r.ignored.items[0],
			    "HelmRelease/podinfo: no env (metadata env, ?env= or "
			    "the involved object's namespace) for a deploy "
			    "event: sent as a message");
	release(&c);

	convert_q(&c, "{\"involvedObject\":{\"kind\":\"HelmRelease\",\"name\":\"podinfo\"},\"severity\":\"error\",\"reason\":\"UpgradeFailed\",\"message\":\"Helm upgrade failed\"}",
		  "env", "prod", (const char *)NULL);
	check_valid(&c);
	assert_string_equal(field(&c, "type"), "deploy");
	assert_string_equal(field(&c, "env"), "prod");
	assert_int_equal(c.r.ignored.nr, 0);
	release(&c);

	convert(&c, "{\"involvedObject\":{\"kind\":\"Kustomization\",\"namespace\":\"x\"},\"severity\":\"error\",\"message\":\"m\"}");
	check_valid(&c);
	assert_string_equal(field(&c, "type"), "gitops");
	assert_null(field(&c, "app"));
	release(&c);
}

static void test_not_flux(void **state)
{
	(void)state;
	expect_refused("", "not a Flux event: invalid JSON at line 1, column 0: "
		       "'[' or '{' expected near end of file");
	expect_refused("{\"involvedObject\":", "not a Flux event: invalid JSON at "
		       "line 1, column 18: unexpected token near end of file");
	expect_refused("[]", "not a Flux event: expected a JSON object, got an array");
	expect_refused("{\"kind\":\"Kustomization\"}",
		       "not a Flux event: no involvedObject object");
	expect_refused("{\"involvedObject\":\"x\"}",
		       "not a Flux event: involvedObject is a string, expected an object");
	expect_refused("{\"involvedObject\":{}} x",
		       "not a Flux event: invalid JSON at line 1, column 23: "
		       "end of file expected near 'x'");
}

/* Fields of the wrong type are absent; odd values are made to fit. */
static void test_odd_values(void **state)
{
	struct conv c;
	struct strbuf long_name = STRBUF_INIT;
	struct strbuf body = STRBUF_INIT;

	(void)state;
	/* metadata null, severity a number, the timestamp not RFC 3339. */
	convert(&c, "{\"involvedObject\":{\"kind\":\"Kustomization\",\"namespace\":\"apps\",\"name\":\"a\\nb\"},"
		"\"severity\":\"ERROR\",\"timestamp\":\"yesterday\",\"metadata\":null,\"message\":7}");
	assert_int_equal(nr_events(&c), 1);
	check_valid(&c);
	assert_string_equal(field(&c, "status"), "failed");
	assert_string_equal(field(&c, "app"), "a b");
	assert_null(field(&c, "timestamp"));
	assert_null(field(&c, "description"));
	assert_int_equal(c.r.ignored.nr, 1);
	assert_string_equal(c.r.ignored.items[0], "/timestamp: not an RFC 3339 time: left out");
	/* The key escapes the newline: one line. */
	assert_string_equal(field(&c, "correlation"),
			    "flux gitops Kustomization/apps/a%0Ab apps ");
	release(&c);

	/* A long name: a hashed correlation, a shortened app, a short label. */
	for (int i = 0; i < 1100; i++)
		strbuf_addch(&long_name, 'n');
	strbuf_addf(&body, "{\"involvedObject\":{\"kind\":\"GitRepository\",\"namespace\":\"ns\",\"name\":\"%s\"},"
		    "\"severity\":\"error\",\"reason\":\"R\",\"message\":\"m\"}", long_name.buf);
	convert(&c, body.buf);
	assert_int_equal(nr_events(&c), 1);
	check_valid(&c);
	assert_int_equal(strlen(field(&c, "correlation")), 5 + 64);
	assert_memory_equal(field(&c, "correlation"), "flux:", 5);
	assert_int_equal(c.r.ignored.nr, 1);
	assert_string_equal(c.r.ignored.items[0],
			    "/involvedObject/name: 1100 bytes, shortened to 1000");
	assert_true(strlen(field(&c, "title")) < 300);
	release(&c);
	strbuf_release(&body);
	strbuf_release(&long_name);

	/* Prefixed keys of the metadata name themselves in notes. */
	strbuf_addstr(&long_name, "{\"involvedObject\":{\"kind\":\"Kustomization\",\"namespace\":\"apps\",\"name\":\"a\"},"
		      "\"severity\":\"error\",\"metadata\":{\"event.toolkit.fluxcd.io/env\":\"");
	for (int i = 0; i < 1001; i++)
		strbuf_addch(&long_name, 'e');
	strbuf_addstr(&long_name, "\"}}");
	convert(&c, long_name.buf);
	check_valid(&c);
	assert_int_equal(c.r.ignored.nr, 1);
	assert_string_equal(c.r.ignored.items[0],
			    "/metadata/event.toolkit.fluxcd.io~1env: 1001 bytes, "
			    "shortened to 1000");
	release(&c);
	strbuf_release(&long_name);
}

/* The legacy token is used for the story only, wherever it stands. */
static void test_token_never_shown(void **state)
{
	struct conv c;
	const char *bodies[] = {
		HR_HEAD "\"severity\":\"error\",\"reason\":\"DriftDetected\",\"message\":\"m\",\"metadata\":{\"helm.toolkit.fluxcd.io/token\":\"s3cr3t-t0ken\"}}",
		KS_HEAD "\"severity\":\"info\",\"reason\":\"Progressing\",\"message\":\"Health check passed in 1s\",\"metadata\":{\"token\":\"s3cr3t-t0ken\"}}",
		KS_HEAD "\"severity\":\"info\",\"reason\":\"DependencyNotReady\",\"message\":\"m\",\"metadata\":{\"token\":\"s3cr3t-t0ken\"}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
		convert(&c, bodies[i]);
		assert_int_equal(c.ret, 0);
		check_valid(&c);
		expect_no_token(&c, "s3cr3t-t0ken");
		if (nr_events(&c))
			assert_non_null(strstr(field(&c, "correlation"), " token:"));
		release(&c);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forwarder_vector),
		cmocka_unit_test(test_docs_example),
		cmocka_unit_test(test_kustomization_story),
		cmocka_unit_test(test_kustomization_by_message),
		cmocka_unit_test(test_revisions),
		cmocka_unit_test(test_helm_old_form),
		cmocka_unit_test(test_helm_without_revision),
		cmocka_unit_test(test_helm_v2),
		cmocka_unit_test(test_helm_old_messages),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_env_and_app),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_not_flux),
		cmocka_unit_test(test_odd_values),
		cmocka_unit_test(test_token_never_shown),
	};

	if (argc > 1)
		root = argv[1];
	else if (getenv("HERALD_SRC"))
		root = getenv("HERALD_SRC");
	return cmocka_run_group_tests_name("flux", tests, NULL, NULL);
}
