/*
 * render: what a notification says, whatever the platform.
 *
 * render_view_init() reads an event (and the catalog's owner of its app)
 * and decides the wording: the headline ("jane is rolling out api v1.4.2
 * to production"), the Discord embed title, which text to show and how,
 * and the details (commit, GitOps commit, Flux status, actor, owner…) with
 * their links. The wording follows Gimlet's messages. render_slack.c and
 * render_discord.c lay the view out; render_line_add() writes one line of
 * it in a platform's markup, escaping every value of the event and keeping
 * within the room it is given. render_for() picks the platform, and renders
 * the neutral summary the log provider prints.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/render.h"
#include "lib/text.h"
#include "lib/utf8.h"

#define SHORT_SHA 7
#define MESSAGE_HEADLINE_MAX 256	/* a message's title or first line */
#define LOG_TEXT_MAX 1000

int render_has_text(const char *s)
{
	size_t len = s ? strlen(s) : 0, n;
	uint32_t cp;

	/* What text_add_clean() would leave but white space, or drop. */
	for (size_t i = 0; i < len; i += n) {
		n = utf8_decode(s + i, len - i, &cp, NULL);
		if (!n)
			return 1;	/* invalid: cleaned to U+FFFD */
		if (cp > ' ' && cp != 0x7f && !(cp >= 0x80 && cp < 0xa0) &&
		    !text_is_bidi_control(cp))
			return 1;
	}
	return 0;
}

size_t render_units(const char *s)
{
	return text_units(s, strlen(s));
}

json_t *render_string(const struct strbuf *sb)
{
	return json_stringn(sb->buf, strbuf_overflowed(sb) ? 0 : sb->len);
}

static const char *opt(const char *s)
{
	return render_has_text(s) ? s : NULL;
}

/* A URL fit for a link: http(s), and not absurdly long. */
static const char *opt_url(const char *s)
{
	return url_is_http(s) && strlen(s) <= RENDER_URL_MAX ? s : NULL;
}

/* Keeps the unreserved characters of RFC 3986 (and "/" where asked). */
static void add_encoded(struct strbuf *sb, const char *s, int keep_slash)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) ||
		    (keep_slash && *p == '/'))
			strbuf_addch(sb, (char)*p);
		else
			strbuf_addf(sb, "%%%02X", *p);
	}
}

char *render_commit_url(const char *tmpl, const char *repo, const char *sha)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = tmpl;

	if (!tmpl || !opt(repo) || !opt(sha))
		return NULL;
	while (*p) {
		if (!strncmp(p, "{repo}", 6)) {
			add_encoded(&sb, repo, 1);
			p += 6;
		} else if (!strncmp(p, "{sha}", 5)) {
			add_encoded(&sb, sha, 0);
			p += 5;
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	if (!url_is_http(sb.buf)) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

/* Keeps s (allocated) until render_view_release(); returns it. */
static const char *own(struct render_view *v, char *s)
{
	if (!s)
		return NULL;
	if (v->owned_nr == RENDER_OWNED_MAX) {	/* cannot happen: see below */
		free(s);
		return NULL;
	}
	v->owned[v->owned_nr++] = s;
	return s;
}

/* A commit as people write it: 7 hex digits of a longer hex sha. */
static char *short_sha(const char *sha)
{
	size_t len = strlen(sha);

	if (len <= SHORT_SHA || strspn(sha, "0123456789abcdefABCDEF") != len)
		return xstrdup(sha);
	return xstrndup(sha, SHORT_SHA);
}

/* The host of an http(s) URL, for link text. */
static char *url_host(const char *url)
{
	const char *p = strstr(url, "://") + 3, *end, *at;

	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	return xstrndup(p, (size_t)(end - p));
}

/* What the wording needs, gathered once. */
struct info {
	const char *app, *env;
	const char *actor;	/* a person: NULL when absent or the policy */
	int policy;		/* actor "policy": an automatic change */
	const char *label, *label_url;	/* version (or short sha) and link */
	const char *sha7, *commit_url, *repo;
	const char *gsha7, *gitops_url, *grepo;
	const char *url;	/* the event's link, http(s) */
	const char *owner;
	const char *slack_actor;	/* "Deployed by": actor not in headline */
};

static struct render_piece *add_piece(struct render_line *l, const char *text,
				      const char *url, int value, int strong)
{
	struct render_piece *p;

	if (!text || l->nr == RENDER_PIECES_MAX)
		return NULL;
	p = &l->p[l->nr++];
	*p = (struct render_piece){ .text = text, .url = url };
	p->value = value ? 1 : 0;
	p->strong = strong ? 1 : 0;
	return p;
}

static void lit(struct render_line *l, const char *s)
{
	add_piece(l, s, NULL, 0, 0);
}

static void val(struct render_line *l, const char *s)
{
	add_piece(l, s, NULL, 1, 0);
}

static void strong(struct render_line *l, const char *s)
{
	add_piece(l, s, NULL, 1, 1);
}

static void linked(struct render_line *l, const char *s, const char *url)
{
	add_piece(l, s, url, 1, 0);
}

/* " to production", when there is an env. */
static void env_after(struct render_line *l, const char *word,
		      const struct info *in)
{
	if (in->env) {
		lit(l, word);
		strong(l, in->env);
	}
}

/* "api v1.4.2", the version linked to its release. */
static void app_version(struct render_line *l, const struct info *in)
{
	strong(l, in->app);
	if (in->label) {
		lit(l, " ");
		linked(l, in->label, in->label_url);
	}
}

static void emoji(struct render_view *v, const char *slack,
		  const char *unicode)
{
	v->slack_emoji = slack;
	v->unicode_emoji = unicode;
}

static const char *status_word(enum event_status status)
{
	switch (status) {
	case EVENT_STARTED:
		return "started";
	case EVENT_SUCCEEDED:
		return "succeeded";
	default:
		return "failed";
	}
}

static void deploy(struct render_view *v, struct info *in)
{
	struct render_line *h = &v->headline;

	lit(&v->title, in->policy ? "Automatic rollout " : "Rollout ");
	lit(&v->title, status_word(v->ev->status));
	switch (v->ev->status) {
	case EVENT_STARTED:
		emoji(v, ":rocket:", "\xf0\x9f\x9a\x80");
		if (in->policy) {
			lit(h, "Automatic rollout of ");
			app_version(h, in);
			env_after(h, " to ", in);
			lit(h, " started");
		} else {
			if (in->actor) {
				val(h, in->actor);
				lit(h, " is rolling out ");
			} else {
				lit(h, "Rolling out ");
			}
			app_version(h, in);
			env_after(h, " to ", in);
		}
		break;
	case EVENT_SUCCEEDED:
		emoji(v, ":white_check_mark:", "\xe2\x9c\x85");
		if (in->policy) {
			lit(h, "Automatically deployed ");
			app_version(h, in);
			env_after(h, " to ", in);
		} else {
			app_version(h, in);
			if (in->env) {
				lit(h, " is live on ");
				strong(h, in->env);
			} else {
				lit(h, " is live");
			}
			in->slack_actor = "Deployed by";
		}
		break;
	default:
		emoji(v, ":x:", "\xe2\x9d\x8c");
		lit(h, in->policy ? "Automatic rollout of " : "Rollout of ");
		app_version(h, in);
		env_after(h, " to ", in);
		lit(h, " failed");
		in->slack_actor = "Started by";
		break;
	}
}

/* "api in production to v1.4.1" */
static void rollback_target(struct render_line *h, const struct info *in)
{
	strong(h, in->app);
	env_after(h, " in ", in);
	if (in->label) {
		lit(h, " to ");
		linked(h, in->label, in->label_url);
	}
}

static void rollback(struct render_view *v, struct info *in)
{
	struct render_line *h = &v->headline;

	lit(&v->title, in->policy ? "Automatic rollback " : "Rollback ");
	lit(&v->title, status_word(v->ev->status));
	switch (v->ev->status) {
	case EVENT_STARTED:
		emoji(v, ":rewind:", "\xe2\x8f\xaa");
		if (in->policy) {
			lit(h, "Automatic rollback of ");
			rollback_target(h, in);
			lit(h, " started");
		} else if (in->actor) {
			val(h, in->actor);
			lit(h, " is rolling back ");
			rollback_target(h, in);
		} else {
			lit(h, "Rolling back ");
			rollback_target(h, in);
		}
		break;
	case EVENT_SUCCEEDED:
		emoji(v, ":leftwards_arrow_with_hook:", "\xe2\x86\xa9\xef\xb8\x8f");
		if (in->policy) {
			lit(h, "Automatically rolled back ");
		} else if (in->actor) {
			val(h, in->actor);
			lit(h, " rolled back ");
		} else {
			lit(h, "Rolled back ");
		}
		rollback_target(h, in);
		break;
	default:
		emoji(v, ":x:", "\xe2\x9d\x8c");
		lit(h, in->policy ? "Automatic rollback of " : "Rollback of ");
		rollback_target(h, in);
		lit(h, " failed");
		in->slack_actor = "Started by";
		break;
	}
}

static void delete(struct render_view *v, struct info *in)
{
	struct render_line *h = &v->headline;

	lit(&v->title, in->policy || !in->actor ? "Cleanup " : "Delete ");
	lit(&v->title, status_word(v->ev->status));
	if (v->ev->status == EVENT_SUCCEEDED) {
		emoji(v, ":wastebasket:", "\xf0\x9f\x97\x91\xef\xb8\x8f");
		if (in->actor) {
			val(h, in->actor);
			lit(h, " deleted ");
		} else {
			lit(h, "Deleted ");
		}
	} else {
		emoji(v, ":x:", "\xe2\x9d\x8c");
		lit(h, "Failed to delete ");
		in->slack_actor = "Started by";
	}
	strong(h, in->app);
	env_after(h, " from ", in);
}

static void gitops(struct render_view *v, struct info *in)
{
	struct render_line *h = &v->headline, *t = &v->title;
	const char *env = in->env ? in->env : "the environment";

	switch (v->ev->status) {
	case EVENT_PROGRESSING:
		emoji(v, ":hourglass_flowing_sand:", "\xe2\x8f\xb3");
		lit(t, "Applying GitOps changes");
		if (in->gsha7) {
			lit(h, "Applying GitOps commit ");
			linked(h, in->gsha7, in->gitops_url);
		} else {
			lit(h, "Applying GitOps changes");
		}
		lit(h, " to ");
		strong(h, env);
		break;
	case EVENT_APPLIED:
		emoji(v, ":heavy_check_mark:", "\xe2\x9c\x94\xef\xb8\x8f");
		lit(t, "GitOps changes applied");
		if (in->gsha7) {
			lit(h, "Applied GitOps commit ");
			linked(h, in->gsha7, in->gitops_url);
		} else {
			lit(h, "Applied GitOps changes");
		}
		lit(h, " to ");
		strong(h, env);
		break;
	case EVENT_HEALTHY:
	case EVENT_UNHEALTHY:
		if (v->ev->status == EVENT_HEALTHY) {
			emoji(v, ":white_check_mark:", "\xe2\x9c\x85");
			lit(t, "Environment healthy");
		} else {
			emoji(v, ":warning:", "\xe2\x9a\xa0\xef\xb8\x8f");
			lit(t, "Environment unhealthy");
		}
		strong(h, in->env ? in->env : "The environment");
		lit(h, v->ev->status == EVENT_HEALTHY ? " is healthy" :
		    " is unhealthy");
		if (in->gsha7) {
			lit(h, " at GitOps commit ");
			linked(h, in->gsha7, in->gitops_url);
		}
		break;
	default:
		emoji(v, ":x:", "\xe2\x9d\x8c");
		lit(t, "GitOps changes failed to apply");
		if (in->gsha7) {
			lit(h, "GitOps commit ");
			linked(h, in->gsha7, in->gitops_url);
		} else {
			lit(h, "GitOps changes");
		}
		lit(h, " failed to apply on ");
		strong(h, env);
		break;
	}
	in->slack_actor = "Triggered by";
}

static void alert(struct render_view *v, struct info *in)
{
	struct render_line *h = &v->headline;
	const struct event *ev = v->ev;
	const char *name = opt(ev->alert_name) ? ev->alert_name : "Alert";

	if (ev->status == EVENT_RESOLVED) {
		emoji(v, ":large_green_circle:", "\xf0\x9f\x9f\xa2");
		lit(h, "Resolved: ");
		lit(&v->title, "Resolved: ");
	} else {
		emoji(v, ":rotating_light:", "\xf0\x9f\x9a\xa8");
		lit(&v->title, "Firing: ");
	}
	val(&v->title, name);
	add_piece(h, name, opt_url(ev->alert_url), 1, 1);
	if (opt(ev->alert_object)) {
		lit(h, ": ");
		val(h, ev->alert_object);
	}
	lit(h, " (");
	val(h, in->app);
	if (in->env) {
		lit(h, ", ");
		val(h, in->env);
	}
	lit(h, ")");
	in->slack_actor = "Triggered by";
}

/* A message's headline: its title, or else its description's first line. */
static void message(struct render_view *v, struct info *in)
{
	const struct event *ev = v->ev;
	struct render_piece *p;
	const char *desc = v->description;

	v->header = opt(ev->title);
	if (v->header) {
		p = add_piece(&v->headline, v->header, NULL, 1, 0);
	} else if (desc) {
		size_t n = strcspn(desc, "\n");
		const char *first = own(v, xstrndup(desc, n < 4096 ? n : 4096));

		p = add_piece(&v->headline, first, NULL, 1, 0);
		v->description_in_headline = !desc[n] &&
			text_units(desc, n) <= MESSAGE_HEADLINE_MAX;
	} else {
		p = add_piece(&v->headline, "(empty message)", NULL, 1, 0);
	}
	if (p)
		p->max = MESSAGE_HEADLINE_MAX;
	in->slack_actor = "Sent by";
}

/* A type and status that do not go together: say what arrived. */
static void unknown(struct render_view *v, struct info *in)
{
	struct render_line *h = &v->headline;

	emoji(v, ":information_source:", "\xe2\x84\xb9\xef\xb8\x8f");
	lit(h, event_type_name(v->ev->type));
	if (v->ev->status != EVENT_STATUS_NONE) {
		lit(h, " ");
		lit(h, event_status_name(v->ev->status));
	}
	lit(&v->title, event_type_name(v->ev->type));
	if (in->app) {
		lit(h, " for ");
		strong(h, in->app);
	}
	env_after(h, " in ", in);
	in->slack_actor = "By";
}

static struct render_fact *fact(struct render_view *v, const char *name,
				const char *slack_label, int slack,
				int discord)
{
	struct render_fact *f;

	if (v->facts_nr == RENDER_FACTS_MAX)
		return NULL;
	f = &v->facts[v->facts_nr++];
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->slack_label = slack_label;
	f->slack = slack ? 1 : 0;
	f->discord = discord ? 1 : 0;
	return f;
}

/* "9f8e7d6 in acme/api", the sha linked to the commit. */
static void commit_line(struct render_line *l, const char *sha7,
			const char *url, const char *repo)
{
	linked(l, sha7, url);
	if (repo) {
		lit(l, " in ");
		val(l, repo);
	}
}

static void facts(struct render_view *v, const struct info *in)
{
	const struct event *ev = v->ev;
	enum event_type type = ev->type;
	int headline_has_version = type == EVENT_DEPLOY ||
				   type == EVENT_ROLLBACK;
	struct render_fact *f;

	if (opt(ev->app) && (f = fact(v, "App", "App:", type == EVENT_GITOPS ||
				 type == EVENT_MESSAGE, 1)))
		val(&f->line, in->app);
	if (in->env && (f = fact(v, "Environment", "Environment:",
				 type == EVENT_MESSAGE, 1)))
		val(&f->line, in->env);
	if (opt(ev->version) &&
	    (f = fact(v, "Version", "Version", !headline_has_version, 1)))
		linked(&f->line, ev->version, in->url);
	if (type == EVENT_ALERT && opt(ev->alert_object) &&
	    (f = fact(v, "Object", NULL, 0, 1)))
		val(&f->line, ev->alert_object);
	if (type == EVENT_GITOPS &&
	    (f = fact(v, "Flux status", "Flux status:", 1, 1)))
		lit(&f->line, event_status_name(ev->status));
	if (in->sha7) {
		if ((f = fact(v, "Commit", "Commit", 1, 1)))
			commit_line(&f->line, in->sha7, in->commit_url,
				    in->repo);
	} else if (in->repo && (f = fact(v, "Repository", "Repository:", 1,
					 1))) {
		val(&f->line, in->repo);
	}
	if (in->gsha7) {
		/* A GitOps event's headline has the commit already. */
		if ((f = fact(v, "GitOps commit", "GitOps commit",
			      type != EVENT_GITOPS, 1)))
			commit_line(&f->line, in->gsha7, in->gitops_url,
				    in->grepo);
		if (type == EVENT_GITOPS && in->grepo &&
		    (f = fact(v, "GitOps repository", "GitOps repository:", 1,
			      0)))
			val(&f->line, in->grepo);
	} else if (in->grepo && (f = fact(v, "GitOps repository",
					  "GitOps repository:", 1, 1))) {
		val(&f->line, in->grepo);
	}
	if (in->actor) {
		if ((f = fact(v, "Actor", in->slack_actor, in->slack_actor !=
			      NULL, 1)))
			val(&f->line, in->actor);
	} else if (in->policy) {
		if ((f = fact(v, "Actor", NULL, 0, 1)))
			lit(&f->line, "policy (automatic)");
		if (type == EVENT_DELETE &&
		    (f = fact(v, "Actor", NULL, 1, 0)))
			lit(&f->line, "Automatic cleanup by policy");
	}
	if (in->owner && (f = fact(v, "Owner", "Owner:", 1, 1)))
		val(&f->line, in->owner);
	if (in->url && !opt(ev->version) &&
	    (f = fact(v, "Details", "Details:", 1, 1)))
		linked(&f->line, own(v, url_host(in->url)), in->url);
	else if (type == EVENT_ALERT && opt_url(ev->alert_url) &&
		 (f = fact(v, "Details", "Details:", 1, 1)))
		linked(&f->line, own(v, url_host(ev->alert_url)),
		       ev->alert_url);
}

static enum render_tone tone_of(enum event_status status)
{
	switch (status) {
	case EVENT_STARTED:
	case EVENT_PROGRESSING:
		return RENDER_PROGRESS;
	case EVENT_SUCCEEDED:
	case EVENT_APPLIED:
	case EVENT_HEALTHY:
	case EVENT_RESOLVED:
		return RENDER_SUCCESS;
	case EVENT_FAILED:
	case EVENT_UNHEALTHY:
	case EVENT_FIRING:
		return RENDER_FAILURE;
	default:
		return RENDER_INFO;
	}
}

/* The description without the white space around it, or NULL. */
static const char *trimmed(struct render_view *v, const char *s)
{
	const char *end;

	if (!render_has_text(s))
		return NULL;
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\n' ||
			   end[-1] == '\t' || end[-1] == '\r'))
		end--;
	return own(v, xstrndup(s, (size_t)(end - s)));
}

void render_view_init(struct render_view *v, const struct event *ev,
		      const struct render_ctx *ctx)
{
	const char *tmpl = ctx && ctx->commit_url ? ctx->commit_url :
			   CONFIG_DEFAULT_COMMIT_URL;
	const struct catalog_service *service = ctx ? ctx->service : NULL;
	struct info in = { 0 };
	int valid = event_status_valid(ev->type, ev->status);

	memset(v, 0, sizeof(*v));
	v->ev = ev;
	v->tone = tone_of(ev->status);
	v->description = trimmed(v, ev->description);

	in.app = opt(ev->app) ? ev->app : "unknown app";
	in.env = opt(ev->env);
	in.policy = opt(ev->actor) && !strcmp(ev->actor, "policy");
	in.actor = in.policy ? NULL : opt(ev->actor);
	in.url = opt_url(ev->url);
	in.repo = opt(ev->repository);
	in.grepo = opt(ev->gitops_repository);
	in.owner = service ? opt(service->owner) : NULL;
	if (opt(ev->sha)) {
		in.sha7 = own(v, short_sha(ev->sha));
		in.commit_url = own(v, render_commit_url(tmpl, in.repo,
							 ev->sha));
	}
	if (opt(ev->gitops_sha)) {
		in.gsha7 = own(v, short_sha(ev->gitops_sha));
		in.gitops_url = own(v, render_commit_url(tmpl, in.grepo,
							 ev->gitops_sha));
	}
	if (opt(ev->version)) {
		in.label = ev->version;
		in.label_url = in.url;
	} else if (in.sha7) {
		in.label = in.sha7;
		in.label_url = in.commit_url;
	}

	if (!valid) {
		unknown(v, &in);
	} else {
		switch (ev->type) {
		case EVENT_DEPLOY:
			deploy(v, &in);
			break;
		case EVENT_ROLLBACK:
			rollback(v, &in);
			break;
		case EVENT_DELETE:
			delete(v, &in);
			break;
		case EVENT_GITOPS:
			gitops(v, &in);
			break;
		case EVENT_ALERT:
			alert(v, &in);
			break;
		default:
			message(v, &in);
			break;
		}
	}
	v->description_code = valid && event_is_failure(ev) &&
			      ev->type != EVENT_ALERT;
	facts(v, &in);

	if (in.url)
		v->embed_url = in.url;
	else if (ev->type == EVENT_ALERT && opt_url(ev->alert_url))
		v->embed_url = ev->alert_url;
	else if (ev->type == EVENT_GITOPS && in.gitops_url)
		v->embed_url = in.gitops_url;
	else if (in.commit_url)
		v->embed_url = in.commit_url;
	if (v->embed_url && strlen(v->embed_url) > RENDER_URL_MAX)
		v->embed_url = NULL;
}

void render_view_release(struct render_view *v)
{
	for (size_t i = 0; i < v->owned_nr; i++)
		free(v->owned[i]);
	memset(v, 0, sizeof(*v));
}

static int markup_of(enum render_style style, int linked)
{
	switch (style) {
	case RENDER_SLACK_TEXT:
		return TEXT_SLACK | TEXT_ONELINE;
	case RENDER_SLACK_MRKDWN:
		return (linked ? TEXT_SLACK_LINK : TEXT_SLACK) | TEXT_ONELINE;
	case RENDER_DISCORD_TEXT:
	case RENDER_DISCORD_MD:
		return TEXT_DISCORD | TEXT_ONELINE;
	default:
		return TEXT_PLAIN | TEXT_ONELINE;
	}
}

void render_line_add(struct strbuf *out, const struct render_line *line,
		     enum render_style style, size_t max)
{
	size_t lits_after[RENDER_PIECES_MAX + 1];
	size_t used = 0;
	struct strbuf url = STRBUF_INIT, text = STRBUF_INIT;
	int slack = style == RENDER_SLACK_MRKDWN;
	int links = slack || style == RENDER_DISCORD_MD;

	lits_after[line->nr] = 0;
	for (size_t i = line->nr; i-- > 0;)
		lits_after[i] = lits_after[i + 1] + (line->p[i].value ? 0 :
			render_units(line->p[i].text));

	for (size_t i = 0; i < line->nr; i++) {
		const struct render_piece *p = &line->p[i];
		size_t room, extra, cap;
		int bold = slack && p->strong, linked;

		if (!p->value) {
			if (used + render_units(p->text) > max)
				break;
			strbuf_addstr(out, p->text);
			used += render_units(p->text);
			continue;
		}
		room = used + lits_after[i + 1] >= max ? 0 :
		       max - used - lits_after[i + 1];
		strbuf_reset(&url);
		linked = links && p->url && url_is_http(p->url);
		if (linked) {
			if (slack)
				slack_add_url(&url, p->url);
			else
				discord_add_url(&url, p->url);
			linked = url.len <= RENDER_URL_MAX;
		}
		extra = (bold ? 2 : 0) + (linked ? url.len + (slack ? 3 : 4) : 0);
		if (linked && extra + 1 > room) {
			linked = 0;
			extra = bold ? 2 : 0;
		}
		if (extra >= room)
			continue;
		cap = p->max ? p->max : RENDER_VALUE_MAX;
		if (cap > room - extra)
			cap = room - extra;
		strbuf_reset(&text);
		text_add_fit(&text, p->text, strlen(p->text),
			     markup_of(style, linked), cap);
		if (!text.len)
			continue;
		if (bold)
			strbuf_addch(out, '*');
		if (linked && slack) {
			strbuf_addch(out, '<');
			strbuf_add(out, url.buf, url.len);
			strbuf_addch(out, '|');
			strbuf_add(out, text.buf, text.len);
			strbuf_addch(out, '>');
		} else if (linked) {
			strbuf_addch(out, '[');
			strbuf_add(out, text.buf, text.len);
			strbuf_addstr(out, "](");
			strbuf_add(out, url.buf, url.len);
			strbuf_addch(out, ')');
		} else {
			strbuf_add(out, text.buf, text.len);
		}
		if (bold)
			strbuf_addch(out, '*');
		used += text_units(text.buf, text.len) +
			(linked ? url.len + (slack ? 3 : 4) : 0) + (bold ? 2 : 0);
	}
	strbuf_release(&url);
	strbuf_release(&text);
}

/* A JSON string of clean text (the log summary's fields). */
static json_t *clean_string(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *j;

	text_add_clean(&sb, s, strlen(s));
	j = render_string(&sb);
	strbuf_release(&sb);
	return j;
}

/* The log provider's body: a one-line summary and the event's keys. */
static json_t *render_log(const struct event *ev, const struct render_ctx *ctx)
{
	struct render_view v;
	struct strbuf text = STRBUF_INIT;
	json_t *body = json_object();

	render_view_init(&v, ev, ctx);
	render_line_add(&text, &v.headline, RENDER_PLAIN, LOG_TEXT_MAX);
	json_object_set_new(body, "text", render_string(&text));
	json_object_set_new(body, "type",
			    json_string(event_type_name(ev->type)));
	if (ev->status != EVENT_STATUS_NONE)
		json_object_set_new(body, "status",
				    json_string(event_status_name(ev->status)));
	if (opt(ev->app))
		json_object_set_new(body, "app", clean_string(ev->app));
	if (opt(ev->env))
		json_object_set_new(body, "env", clean_string(ev->env));
	strbuf_release(&text);
	render_view_release(&v);
	return body;
}

json_t *render_for(enum provider_kind provider, const struct event *ev,
		   const struct render_ctx *ctx)
{
	switch (provider) {
	case PROVIDER_SLACK:
		return render_slack(ev, ctx);
	case PROVIDER_DISCORD:
		return render_discord(ev, ctx);
	default:
		return render_log(ev, ctx);
	}
}
