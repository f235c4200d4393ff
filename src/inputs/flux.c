/*
 * flux: Flux notification-controller's `generic` and `generic-hmac`
 * providers, turned into herald events.
 *
 * The body is one eventv1.Event (fluxcd/pkg apis/event/v1beta1):
 *
 *   {"involvedObject": {"kind", "namespace", "name", "uid", ...},
 *    "severity": "info" | "error", "timestamp", "message", "reason",
 *    "metadata": {string: string}, "reportingController", ...}
 *
 * What it becomes depends on the involved object's kind:
 *
 *   Kustomization   a gitops event: a change set is "progressing", "Health
 *                   check passed" "healthy", "Reconciliation finished"
 *                   "applied" (edit_only: Flux repeats it every interval),
 *                   a failed health check "unhealthy", any other error
 *                   "failed"; other info events are ignored.
 *   HelmRelease     deploy (install or upgrade: started, succeeded, failed),
 *                   rollback and delete (uninstall) events, from the reasons
 *                   of helm-controller's api v2 (InstallSucceeded, ...) and
 *                   from the messages of its older v2beta1 form, where the
 *                   reason is the severity ("Helm upgrade succeeded"); other
 *                   errors (DriftDetected, ...) are messages, other info
 *                   events are ignored.
 *   anything else   sources (GitRepository, OCIRepository, HelmChart, ...)
 *                   and unknown kinds: an error is a message, titled with
 *                   the object and the reason; info events are ignored.
 *
 * Metadata keys come plain ("revision": notification-controller strips the
 * API group) or prefixed ("kustomize.toolkit.fluxcd.io/revision": the
 * controllers' own form, in the docs): a key is read as its part after the
 * last '/', and a plain key wins over prefixed ones.
 *
 * One story per (object, env, revision), in "correlation": the object's uid
 * (else kind/namespace/name), the environment, the revision as Flux wrote
 * it, and for a HelmRelease the event type too, so that a rollback does not
 * overwrite the failed upgrade it undoes. A legacy "token" (the values
 * checksum of old helm-controllers) goes into the key only as a hash, and
 * is never shown. Messages are correlated on the object and the reason, so
 * a repeat of the same failure edits the same message. The event id hashes
 * the exact body, so that Flux's own retries are duplicates.
 *
 * Pure: no I/O.
 */
#include "inputs/flux.h"
#include "inputs/event_json.h"
#include "core/event.h"
#include "lib/sha2.h"
#include "lib/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The longest piece of the payload quoted in a note (a name, a reason). */
#define NOTE_VALUE_MAX 128

/* One Flux event, as read from the body: every string borrowed from root. */
struct flux {
	const json_t *obj;		/* involvedObject */
	const json_t *meta;		/* metadata, or NULL */
	const char *kind, *ns, *name, *uid;
	const char *reason, *message, *timestamp;
	int error;			/* severity "error" */
	/* "Kind/ns/name", cleaned: three parts of at most NOTE_VALUE_MAX and "…". */
	char label[3 * (NOTE_VALUE_MAX + 3) + 3];
};

/* What a classifier decided. */
struct verdict {
	const char *type;		/* NULL: ignored, note says why */
	const char *status;		/* NULL for a message */
	int edit_only;
};

static int eq(const char *a, const char *b)
{
	return a && b && !strcasecmp(a, b);
}

static int starts(const char *s, const char *prefix)
{
	return s && !strncasecmp(s, prefix, strlen(prefix));
}

static int ends(const char *s, const char *suffix)
{
	size_t n, m;

	if (!s)
		return 0;
	n = strlen(s);
	m = strlen(suffix);
	return n >= m && !strcasecmp(s + n - m, suffix);
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

/*
 * Appends s to sb for a note: control characters (C0, DEL, C1) become
 * spaces, and past max bytes it is cut at a character boundary with "…".
 */
static void add_clean(struct strbuf *sb, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), end = len;

	if (len > max) {
		end = max;
		while (end && (p[end] & 0xc0) == 0x80)
			end--;
	}
	for (size_t i = 0; i < end; i++) {
		if (p[i] == 0xc2 && i + 1 < end && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f) {
			strbuf_addch(sb, ' ');
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			strbuf_addch(sb, ' ');
		} else {
			strbuf_addch(sb, (char)p[i]);
		}
	}
	if (end < len)
		strbuf_addstr(sb, "\xe2\x80\xa6");
}

/*
 * The metadata value of name and its key: the plain key, else the first
 * key whose part after its last '/' is name. Empty values and non-strings
 * count as absent. Returns NULL when there is none.
 */
static const char *meta_lookup(const struct flux *f, const char *name,
			       const char **keyp)
{
	const char *key, *v;
	json_t *val;

	if (!f->meta)
		return NULL;
	if ((v = nonempty(input_str(f->meta, name)))) {
		if (keyp)
			*keyp = name;
		return v;
	}
	json_object_foreach((json_t *)f->meta, key, val) {
		const char *slash = strrchr(key, '/');

		if (slash && !strcmp(slash + 1, name) && json_is_string(val) &&
		    json_string_length(val)) {
			if (keyp)
				*keyp = key;
			return json_string_value(val);
		}
	}
	return NULL;
}

static const char *meta_get(const struct flux *f, const char *name)
{
	return meta_lookup(f, name, NULL);
}

/*
 * The JSON pointer of the metadata key that gives name, for notes:
 * "/metadata/env", "/metadata/event.toolkit.fluxcd.io~1env".
 */
static void meta_pointer(const struct flux *f, const char *name,
			 struct strbuf *sb)
{
	const char *key = name;
	struct strbuf clean = STRBUF_INIT;

	meta_lookup(f, name, &key);
	add_clean(&clean, key, NOTE_VALUE_MAX);
	strbuf_addstr(sb, "/metadata/");
	for (const char *p = clean.buf; *p; p++) {
		if (*p == '~')
			strbuf_addstr(sb, "~0");
		else if (*p == '/')
			strbuf_addstr(sb, "~1");
		else
			strbuf_addch(sb, *p);
	}
	strbuf_release(&clean);
}

/* "Kind/namespace/name" with whatever is there, cleaned for notes. */
static void make_label(struct flux *f)
{
	struct strbuf sb = STRBUF_INIT;
	const char *parts[] = { f->kind, f->ns, f->name };
	int any = 0;

	for (size_t i = 0; i < 3; i++) {
		if (!parts[i])
			continue;
		if (any)
			strbuf_addch(&sb, '/');
		add_clean(&sb, parts[i], NOTE_VALUE_MAX);
		any = 1;
	}
	if (!any)
		strbuf_addstr(&sb, "the involved object");
	snprintf(f->label, sizeof(f->label), "%s", sb.buf);
	strbuf_release(&sb);
}

/* ---- revisions ---- */

static int all_hex(const char *s, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

/*
 * The git commit a revision names, in every form Flux has used, or NULL
 * (caller frees):
 *
 *   main@sha1:<hex>, refs/heads/main@sha1:<hex>, env/dev@sha1:<hex>
 *   sha1:<hex>, sha256:<64 hex> (SHA-256 git)
 *   main/<40 hex>, environment/dev/<40 hex> (before Flux 2.0)
 *
 * Split on the last '@' first: a branch may hold '/' ("env/dev"). An OCI
 * artifact's "<tag>@sha256:<digest>" (and its old "<tag>/<64 hex>") is not
 * a commit; neither is a HelmRelease's chart version.
 */
static char *revision_commit(const char *rev)
{
	const char *at, *colon, *slash, *hex;
	size_t len;

	if (!rev || !*rev)
		return NULL;
	at = strrchr(rev, '@');
	if (at) {
		colon = strchr(at + 1, ':');
		if (!colon)
			return NULL;
		hex = colon + 1;
		len = strlen(hex);
		if ((size_t)(colon - at - 1) == 4 && !strncasecmp(at + 1, "sha1", 4) &&
		    len <= 64 && all_hex(hex, len))
			return xstrdup(hex);
		/* SHA-256 git names its ref in full; an OCI tag does not. */
		if ((size_t)(colon - at - 1) == 6 &&
		    !strncasecmp(at + 1, "sha256", 6) && starts(rev, "refs/") &&
		    len == 64 && all_hex(hex, len))
			return xstrdup(hex);
		return NULL;
	}
	colon = strrchr(rev, ':');
	if (colon) {
		hex = colon + 1;
		len = strlen(hex);
		if ((size_t)(colon - rev) == 4 && !strncasecmp(rev, "sha1", 4) &&
		    len <= 64 && all_hex(hex, len))
			return xstrdup(hex);
		if ((size_t)(colon - rev) == 6 && !strncasecmp(rev, "sha256", 6) &&
		    len == 64 && all_hex(hex, len))
			return xstrdup(hex);
		return NULL;
	}
	slash = strrchr(rev, '/');
	hex = slash ? slash + 1 : rev;
	len = strlen(hex);
	if (len == 40 && all_hex(hex, len))
		return xstrdup(hex);
	return NULL;
}

/* ---- correlation ---- */

/*
 * Appends s as one part of a correlation key: bytes outside printable
 * ASCII, the space between parts, '%' and (with slash) '/' as %XX, so that
 * the key is one line and no two different lists of parts give the same
 * key.
 */
static void key_escape(struct strbuf *sb, const char *s, int slash)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : "");
	     *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '%' ||
		    (slash && *p == '/'))
			strbuf_addf(sb, "%%%02X", *p);
		else
			strbuf_addch(sb, (char)*p);
	}
}

/*
 * Sets ev's correlation: "flux STORY OBJECT ENV DETAIL", then
 * " token:<16 hex of its SHA-256>" when the metadata has a token. OBJECT
 * is "uid:<uid>", else kind/namespace/name. A key longer than a
 * correlation may be becomes "flux:" and its SHA-256 in hex.
 */
static void set_correlation(json_t *ev, const struct flux *f,
			    const char *story, const char *env,
			    const char *detail)
{
	struct strbuf sb = STRBUF_INIT;
	const char *token = meta_get(f, "token");
	uint8_t digest[SHA256_LEN];
	char hex[2 * SHA256_LEN + 1];

	strbuf_addstr(&sb, "flux ");
	key_escape(&sb, story, 0);
	strbuf_addch(&sb, ' ');
	if (f->uid) {
		strbuf_addstr(&sb, "uid:");
		key_escape(&sb, f->uid, 1);
	} else {
		key_escape(&sb, f->kind, 1);
		strbuf_addch(&sb, '/');
		key_escape(&sb, f->ns, 1);
		strbuf_addch(&sb, '/');
		key_escape(&sb, f->name, 1);
	}
	strbuf_addch(&sb, ' ');
	key_escape(&sb, env, 0);
	strbuf_addch(&sb, ' ');
	key_escape(&sb, detail, 0);
	if (token) {
		/* Into the key, never shown: only a hash of it. */
		sha2(SHA2_256, token, strlen(token), digest);
		hex_encode(digest, 8, hex);
		strbuf_addf(&sb, " token:%s", hex);
	}
	if (sb.len > EVENT_CORRELATION_MAX) {
		sha2(SHA2_256, sb.buf, sb.len, digest);
		hex_encode(digest, sizeof(digest), hex);
		strbuf_reset(&sb);
		strbuf_addf(&sb, "flux:%s", hex);
	}
	json_object_set_new(ev, "correlation", json_stringn(sb.buf, sb.len));
	strbuf_release(&sb);
}

/* ---- classifying ---- */

static const struct verdict ignored = { NULL, NULL, 0 };

static struct verdict verdict(const char *type, const char *status,
			      int edit_only)
{
	struct verdict v = { type, status, edit_only };

	return v;
}

/* Adds "<label>: <what>" to the notes of out. */
static struct verdict ignore(const struct flux *f, struct input_result *out,
			     const char *what)
{
	errlist_add(&out->ignored, "%s: %s", f->label, what);
	return ignored;
}

/* Adds "<label>: <reason>: <what>", the reason cleaned. */
static struct verdict ignore_reason(const struct flux *f,
				    struct input_result *out,
				    const char *what)
{
	struct strbuf sb = STRBUF_INIT;

	if (nonempty(f->reason)) {
		add_clean(&sb, f->reason, NOTE_VALUE_MAX);
		strbuf_addstr(&sb, ": ");
	}
	strbuf_addstr(&sb, what);
	ignore(f, out, sb.buf);
	strbuf_release(&sb);
	return ignored;
}

/*
 * Whether msg is a change set of kustomize-controller: lines like
 * "Deployment/default/podinfo configured" (server-side apply), or the
 * "deployment.apps/podinfo configured" of its kubectl days.
 */
static int is_change_set(const char *msg)
{
	static const char *const actions[] = {
		"created", "configured", "unchanged", "deleted", "skipped",
		"unknown", "pruned", "serverside-applied",
	};
	const char *line = msg;
	int lines = 0;

	if (!msg)
		return 0;
	while (*line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		const char *space = NULL;
		int known = 0;

		if (len && line[len - 1] == '\r')
			len--;
		for (size_t i = 0; i < len; i++)
			if (line[i] == ' ')
				space = line + i;
		if (len) {
			size_t subject = space ? (size_t)(space - line) : 0;
			size_t word = space ? len - subject - 1 : 0;

			/* One space: between the subject and the action. */
			if (!space || !memchr(line, '/', subject) ||
			    memchr(line, ' ', subject))
				return 0;
			for (size_t i = 0; i < sizeof(actions) / sizeof(*actions); i++)
				if (strlen(actions[i]) == word &&
				    !strncmp(space + 1, actions[i], word))
					known = 1;
			if (!known)
				return 0;
			lines++;
		}
		if (!end)
			break;
		line = end + 1;
	}
	return lines > 0;
}

/*
 * kustomize-controller: the reason is its Ready condition's reason, else
 * the severity, so the message decides.
 */
static struct verdict kustomization(const struct flux *f,
				    struct input_result *out)
{
	const char *msg = f->message, *commit_status;

	if (f->error) {
		if (eq(f->reason, "HealthCheckFailed") ||
		    starts(msg, "health check failed"))
			return verdict("gitops", "unhealthy", 0);
		return verdict("gitops", "failed", 0);
	}
	if (starts(msg, "Health check passed"))
		return verdict("gitops", "healthy", 0);
	if (is_change_set(msg))
		return verdict("gitops", "progressing", 0);
	commit_status = meta_get(f, "commit_status");
	if (starts(msg, "Reconciliation finished") ||
	    eq(f->reason, "ReconciliationSucceeded") ||
	    eq(commit_status, "update"))
		/* Sent on every run: it only completes an open story. */
		return verdict("gitops", "applied", 1);
	if (eq(f->reason, "DependencyNotReady"))
		return ignore_reason(f, out, "waiting for dependencies is not a "
				     "notification");
	return ignore_reason(f, out, "an info event that is neither a change "
			     "set, a passed health check nor a finished "
			     "reconciliation is not a notification");
}

/*
 * The action and outcome of a helm-controller message: "Helm upgrade
 * succeeded" (v2beta1), "Helm upgrade succeeded for release ..." (v2),
 * "Helm upgrade failed: ...", "Helm install has started". Returns the
 * action ("install", "upgrade", "test", "rollback", "uninstall") or NULL,
 * and sets *outcome to "succeeded", "failed" or "started".
 */
static const char *helm_action(const char *msg, const char **outcome)
{
	static const char *const names[] = {
		"install", "upgrade", "test", "rollback", "uninstall",
	};
	const char *p;

	*outcome = NULL;
	if (!starts(msg, "Helm "))
		return NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		size_t n = strlen(names[i]);

		if (strncmp(msg + 5, names[i], n) || msg[5 + n] != ' ')
			continue;
		p = msg + 5 + n + 1;
		if (!strncmp(p, "succeeded", 9))
			*outcome = "succeeded";
		else if (!strncmp(p, "failed", 6))
			*outcome = "failed";
		else if (!strncmp(p, "has started", 11))
			*outcome = "started";
		return *outcome ? names[i] : NULL;
	}
	return NULL;
}

static struct verdict helm_result(const char *type, int failed)
{
	return verdict(type, failed ? "failed" : "succeeded", 0);
}

/*
 * helm-controller. api v2 (Flux 2.2 on) gives the result in the reason:
 * InstallSucceeded, UpgradeFailed, RollbackSucceeded, UninstallFailed,
 * TestSucceeded, DriftDetected, ... The older v2beta1 sent the severity as
 * the reason and said it in the message: "Helm upgrade has started",
 * "Helm upgrade succeeded", "Helm upgrade failed: ...".
 */
static struct verdict helm_release(const struct flux *f,
				   struct input_result *out)
{
	const char *r = f->reason, *outcome, *action;

	action = helm_action(f->message, &outcome);
	if (!f->error && (eq(r, "Progressing") ||
			  starts(f->message, "Helm release deployment has started") ||
			  (action && !strcmp(outcome, "started") &&
			   (!strcmp(action, "install") ||
			    !strcmp(action, "upgrade")))))
		return verdict("deploy", "started", 0);
	if (eq(r, "InstallSucceeded") || eq(r, "UpgradeSucceeded"))
		return helm_result("deploy", 0);
	if (eq(r, "InstallFailed") || eq(r, "UpgradeFailed") ||
	    eq(r, "TestFailed") || eq(r, "ArtifactFailed"))
		return helm_result("deploy", 1);
	if (starts(r, "Rollback"))
		return helm_result("rollback", f->error || ends(r, "Failed"));
	if (starts(r, "Uninstall"))
		return helm_result("delete", f->error || ends(r, "Failed"));
	/*
	 * Tests run after a release already reported as succeeded: their
	 * success says nothing new (a failure does: TestFailed above).
	 */
	if (eq(r, "TestSucceeded"))
		return ignore_reason(f, out, "tests passed after a deploy "
				     "already reported as succeeded: not a "
				     "notification of its own");
	if (eq(r, "DependencyNotReady"))
		return ignore_reason(f, out, "waiting for dependencies is not a "
				     "notification");

	if (!nonempty(r) || eq(r, "info") || eq(r, "error")) {
		/* v2beta1: what happened is in the message. */
		if (action && !strcmp(action, "rollback"))
			return helm_result("rollback", f->error ||
					   !strcmp(outcome, "failed"));
		if (action && !strcmp(action, "uninstall"))
			return helm_result("delete", f->error ||
					   !strcmp(outcome, "failed"));
		if (action && !strcmp(action, "test") && !f->error &&
		    strcmp(outcome, "failed"))
			return ignore(f, out, "Helm tests passed after a deploy "
				      "already reported as succeeded: not a "
				      "notification of its own");
		if (f->error || (action && !strcmp(outcome, "failed")))
			return helm_result("deploy", 1);
		if (action && !strcmp(outcome, "succeeded"))
			return helm_result("deploy", 0);
		return ignore(f, out, "an info event that is not the start or "
			      "the result of a Helm install, upgrade, "
			      "rollback or uninstall is not a notification");
	}
	if (ends(r, "Failed") && !starts(r, "Drift") &&
	    !eq(r, "InventoryBuildFailed"))
		return helm_result("deploy", 1);
	if (f->error)
		return verdict("message", NULL, 0);
	return ignore_reason(f, out, "an info event that is not the start or "
			     "the result of a Helm install, upgrade, rollback "
			     "or uninstall is not a notification");
}

static int is_source(const char *kind)
{
	static const char *const kinds[] = {
		"GitRepository", "OCIRepository", "HelmRepository", "HelmChart",
		"Bucket", "ExternalArtifact", "ImageRepository", "ImagePolicy",
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++)
		if (eq(kind, kinds[i]))
			return 1;
	return 0;
}

/* Sources and kinds herald does not know: errors are messages. */
static struct verdict other(const struct flux *f, struct input_result *out)
{
	struct strbuf sb = STRBUF_INIT;

	if (f->error)
		return verdict("message", NULL, 0);
	if (is_source(f->kind)) {
		ignore(f, out, "info events of sources are not notifications");
	} else if (nonempty(f->kind)) {
		strbuf_addstr(&sb, "info events of ");
		add_clean(&sb, f->kind, NOTE_VALUE_MAX);
		strbuf_addstr(&sb, " objects are not notifications");
		ignore(f, out, sb.buf);
	} else {
		ignore(f, out, "info events of objects of no kind are not "
		       "notifications");
	}
	strbuf_release(&sb);
	return ignored;
}

/* ---- building the event ---- */

/* A value and the pointer to name in notes about it. */
struct picked {
	const char *value;
	struct strbuf pointer;
};

/*
 * The first of: metadata key, query parameter, the involved object's
 * field (pointer /involvedObject/<field>).
 */
static void pick(struct picked *p, const struct flux *f,
		 const struct input_request *req, const char *key,
		 const char *field)
{
	strbuf_init(&p->pointer, STRBUF_DEFAULT_MAX);
	if ((p->value = meta_get(f, key))) {
		meta_pointer(f, key, &p->pointer);
	} else if ((p->value = nonempty(input_query(req, key)))) {
		strbuf_addf(&p->pointer, "?%s", key);
	} else if (field &&
		   (p->value = nonempty(input_str(f->obj, field)))) {
		strbuf_addf(&p->pointer, "/involvedObject/%s", field);
	}
}

/* "<label>: <reason>", the title of a message. */
static void set_title(json_t *ev, const struct flux *f)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, f->label);
	if (nonempty(f->reason)) {
		strbuf_addstr(&sb, ": ");
		add_clean(&sb, f->reason, NOTE_VALUE_MAX);
	}
	input_set_line(ev, "title", sb.buf, NULL, "/reason");
	strbuf_release(&sb);
}

/* The GitOps repository: metadata "repository", else ?repo=. */
static void set_gitops_repository(json_t *ev, const struct flux *f,
				  const struct input_request *req,
				  struct input_result *out)
{
	struct strbuf ptr = STRBUF_INIT;
	const char *repo = meta_get(f, "repository");

	if (repo) {
		meta_pointer(f, "repository", &ptr);
	} else if ((repo = nonempty(input_query(req, "repo")))) {
		strbuf_addstr(&ptr, "?repo");
	}
	input_set_line(ev, "gitops_repository", repo, out, ptr.buf);
	strbuf_release(&ptr);
}

/*
 * A Kustomization's revision: its commit is the GitOps commit; a revision
 * that is not a commit (an OCI artifact, "latest@sha256:...") is shown as
 * the version, and the commit the artifact was built from, when Flux
 * gives it as originRevision, is the GitOps commit.
 */
static void set_gitops_revision(json_t *ev, const struct flux *f,
				const char *revision, struct input_result *out)
{
	struct strbuf ptr = STRBUF_INIT;
	char *commit = revision_commit(revision);

	if (!commit && revision) {
		meta_pointer(f, "revision", &ptr);
		input_set_line(ev, "version", revision, out, ptr.buf);
		strbuf_reset(&ptr);
		commit = revision_commit(meta_get(f, "originRevision"));
	}
	if (commit)
		json_object_set_new(ev, "gitops_sha", json_string(commit));
	free(commit);
	strbuf_release(&ptr);
}

/*
 * The herald event of f, type and status as classified, or NULL (noted)
 * when a field its type requires is missing.
 */
static json_t *build(const struct flux *f, const struct input_request *req,
		     struct input_result *out, struct verdict v)
{
	json_t *ev = json_object();
	struct picked app, env;
	const char *revision = meta_get(f, "revision");
	const char *type = v.type;
	struct strbuf ptr = STRBUF_INIT;

	pick(&app, f, req, "app", "name");
	pick(&env, f, req, "env", "namespace");

	/*
	 * Without the app or env its type requires (no name or namespace,
	 * nothing in the metadata or the query), say it as a message.
	 */
	if ((!env.value && strcmp(type, "message") && strcmp(type, "delete")) ||
	    (!app.value && strcmp(type, "message") && strcmp(type, "gitops"))) {
		int no_env = !env.value && strcmp(type, "delete");

		errlist_add(&out->ignored, "%s: no %s (metadata %s, ?%s= or the "
			    "involved object's %s) for a %s event: sent as a "
			    "message", f->label, no_env ? "env" : "app",
			    no_env ? "env" : "app", no_env ? "env" : "app",
			    no_env ? "namespace" : "name", type);
		type = "message";
		v.status = NULL;
		v.edit_only = 0;
	}

	json_object_set_new(ev, "type", json_string(type));
	if (v.status)
		json_object_set_new(ev, "status", json_string(v.status));
	input_set_line(ev, "app", app.value, out, app.pointer.buf);
	input_set_line(ev, "env", env.value, out, env.pointer.buf);
	if (!strcmp(type, "message"))
		set_title(ev, f);
	/*
	 * "Reconciliation finished in 1.2s, next run in 10m" differs on every
	 * run; without it the repeats render the same message and are not
	 * sent again (the story rules' "unchanged").
	 */
	if (!v.edit_only)
		input_set_text(ev, "description", f->message, out, "/message");

	if (!strcmp(type, "gitops")) {
		set_gitops_revision(ev, f, revision, out);
		set_gitops_repository(ev, f, req, out);
		set_correlation(ev, f, "gitops", env.value, revision);
	} else if (!strcmp(type, "message")) {
		set_correlation(ev, f, "message", env.value, f->reason);
	} else {
		/* A HelmRelease: its revision is the chart version. */
		const char *version = meta_get(f, "app-version");

		meta_pointer(f, version ? "app-version" : "revision", &ptr);
		input_set_line(ev, "version", version ? version : revision,
			       out, ptr.buf);
		set_gitops_repository(ev, f, req, out);
		set_correlation(ev, f, type, env.value, revision);
	}
	if (v.edit_only)
		json_object_set_new(ev, "edit_only", json_true());

	if (f->timestamp) {
		if (event_timestamp_valid(f->timestamp))
			json_object_set_new(ev, "timestamp",
					    json_string(f->timestamp));
		else
			errlist_add(&out->ignored, "/timestamp: not an RFC 3339 "
				    "time: left out");
	}
	input_set_id(ev, "flux", req->body, req->len);

	strbuf_release(&ptr);
	strbuf_release(&app.pointer);
	strbuf_release(&env.pointer);
	return ev;
}

int flux_convert(const struct input_request *req, struct input_result *out,
		 struct errbuf *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(req->body ? req->body : "", req->len, 0, &jerr);
	const json_t *obj, *meta;
	struct flux f;
	struct verdict v;

	if (!root)
		return input_json_error(err, "not a Flux event", &jerr);
	if (!json_is_object(root)) {
		errbuf_set(err, HERALD_EINVAL, "not a Flux event: expected a JSON "
			   "object, got %s", json_type_word(root));
		json_decref(root);
		return HERALD_EINVAL;
	}
	obj = json_object_get(root, "involvedObject");
	if (!json_is_object(obj)) {
		if (obj)
			errbuf_set(err, HERALD_EINVAL, "not a Flux event: "
				   "involvedObject is %s, expected an object",
				   json_type_word(obj));
		else
			errbuf_set(err, HERALD_EINVAL, "not a Flux event: no "
				   "involvedObject object");
		json_decref(root);
		return HERALD_EINVAL;
	}

	memset(&f, 0, sizeof(f));
	meta = json_object_get(root, "metadata");
	f.obj = obj;
	f.meta = json_is_object(meta) ? meta : NULL;
	f.kind = nonempty(input_str(obj, "kind"));
	f.ns = nonempty(input_str(obj, "namespace"));
	f.name = nonempty(input_str(obj, "name"));
	f.uid = nonempty(input_str(obj, "uid"));
	f.reason = nonempty(input_str(root, "reason"));
	f.message = nonempty(input_str(root, "message"));
	f.timestamp = nonempty(input_str(root, "timestamp"));
	f.error = eq(input_str(root, "severity"), "error");
	make_label(&f);

	if (eq(f.kind, "Kustomization"))
		v = kustomization(&f, out);
	else if (eq(f.kind, "HelmRelease"))
		v = helm_release(&f, out);
	else
		v = other(&f, out);
	if (v.type)
		input_add_event(out, build(&f, req, out, v));
	json_decref(root);
	return 0;
}
