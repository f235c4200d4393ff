/*
 * provider: what Slack and Discord delivery share. Creating a provider for
 * the configured platform, the resolution cache (destination -> channel
 * ID with an expiry), Discord nonces, full-jitter backoff, classified
 * results that are always valid UTF-8, and provider_deliver(), the
 * synchronous resolve-post-retry loop behind `herald send` and
 * `herald check --send-test`.
 */
#include "delivery/provider.h"
#include "lib/utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/pace.h"
#include "lib/clock.h"
#include "lib/redact.h"

#define CACHE_MAX 4096
#define BACKOFF_BASE_S 1.0
#define BACKOFF_CAP_S 30.0

struct cache_entry {
	char *key;
	char *channel_id;
	time_t expires;
};

struct resolve_cache {
	struct cache_entry *items;
	size_t nr;
	size_t alloc;
};

const char *delivery_outcome_name(enum delivery_outcome o)
{
	switch (o) {
	case DELIVERY_OK:
		return "ok";
	case DELIVERY_RETRY:
		return "retry";
	case DELIVERY_PERMANENT:
		return "permanent";
	case DELIVERY_AUTH:
		return "auth";
	}
	return "unknown";
}

int delivery_outcome_errcode(enum delivery_outcome o)
{
	switch (o) {
	case DELIVERY_OK:
		return HERALD_OK;
	case DELIVERY_RETRY:
		return HERALD_ERETRY;
	case DELIVERY_AUTH:
		return HERALD_EAUTH;
	case DELIVERY_PERMANENT:
		break;
	}
	return HERALD_EPERM;
}

void delivery_result_clear(struct delivery_result *r)
{
	memset(r, 0, sizeof(*r));
}

/*
 * Rewrites s in place: invalid UTF-8 bytes become '?', control characters
 * a space, and an incomplete character at the end (from truncation) goes.
 */
static void clean_text(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t len = utf8_char_len(s + i, n - i);

		if (!len) {
			/* A cut character at the very end: drop it. */
			if (p[i] >= 0xC2 && p[i] <= 0xF4 && n - i < 4) {
				size_t k = i + 1;

				while (k < n && (p[k] & 0xC0) == 0x80)
					k++;
				if (k == n) {
					p[i] = '\0';
					return;
				}
			}
			p[i++] = '?';
			continue;
		}
		if (len == 1 && (p[i] < 0x20 || p[i] == 0x7F))
			p[i] = ' ';
		i += len;
	}
}

void delivery_result_set(struct delivery_result *r, enum delivery_outcome o,
			 const char *code, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT, shown = STRBUF_INIT;
	size_t i = 0, n = 0, mark = strlen(REDACT_MARK);
	va_list ap;

	r->outcome = o;
	if (code)
		redact(&shown, code, strlen(code), NULL);
	while (i < shown.len) {
		unsigned char c = (unsigned char)shown.buf[i];

		if (!strncmp(shown.buf + i, REDACT_MARK, mark)) {
			if (n + mark >= sizeof(r->code))
				break;
			memcpy(r->code + n, REDACT_MARK, mark);
			n += mark;
			i += mark;
			continue;
		}
		if (n + 1 >= sizeof(r->code))
			break;
		r->code[n++] = c > 0x20 && c < 0x7F ? (char)c : '?';
		i++;
	}
	r->code[n] = '\0';
	r->message[0] = '\0';
	if (!fmt)
		goto out;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_reset(&shown);
	redact(&shown, sb.buf, sb.len, NULL);
	snprintf(r->message, sizeof(r->message), "%s", shown.buf);
	clean_text(r->message);
out:
	strbuf_release(&sb);
	strbuf_release(&shown);
}

void delivery_result_transport(struct delivery_result *r,
			       const struct http_response *resp,
			       const char *platform, const char *url_var,
			       const char *dest_raw)
{
	struct strbuf what = STRBUF_INIT;
	enum delivery_outcome o = DELIVERY_RETRY;
	const char *code;

	switch (resp->transport) {
	case HTTP_ERR_TIMEOUT:
		code = "timeout";
		strbuf_addf(&what, "no answer in time (%s): retry later; if "
			    "this persists, check the network or raise "
			    "HERALD_REQUEST_TIMEOUT", resp->error);
		break;
	case HTTP_ERR_CONNECT:
		code = "network";
		strbuf_addf(&what, "cannot reach %s (%s): check the network, a "
			    "proxy, or %s", platform, resp->error, url_var);
		break;
	case HTTP_ERR_TLS:
		code = "tls";
		strbuf_addf(&what, "the TLS connection failed (%s): check the "
			    "system's CA certificates and any TLS-intercepting "
			    "proxy", resp->error);
		break;
	case HTTP_ERR_TOO_LARGE:
		code = "response_too_large";
		o = DELIVERY_PERMANENT;
		strbuf_addf(&what, "the answer was too large (%s): check %s",
			    resp->error, url_var);
		break;
	default:
		code = "network";
		strbuf_addf(&what, "the connection failed (%s): retry later",
			    resp->error);
		break;
	}
	if (dest_raw)
		delivery_result_set(r, o, code, "%s: %s for \"%s\": %s", platform,
				    code, dest_raw, what.buf);
	else
		delivery_result_set(r, o, code, "%s: %s: %s", platform, code,
				    what.buf);
	strbuf_release(&what);
}

/* Redacts the token (and secrets, URL passwords) in the result's texts. */
static void redact_result(struct delivery_result *r, const char *token)
{
	redact_inplace(r->message, sizeof(r->message), token);
	redact_inplace(r->code, sizeof(r->code), token);
}

static void cache_entry_release(struct cache_entry *e)
{
	free(e->key);
	free(e->channel_id);
}

static struct resolve_cache *cache_new(void)
{
	return xcalloc(1, sizeof(struct resolve_cache));
}

static void cache_free(struct resolve_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->nr; i++)
		cache_entry_release(&cache->items[i]);
	free(cache->items);
	free(cache);
}

static struct cache_entry *cache_find(struct resolve_cache *cache,
				      const char *key)
{
	for (size_t i = 0; i < cache->nr; i++)
		if (!strcmp(cache->items[i].key, key))
			return &cache->items[i];
	return NULL;
}

const char *provider_cache_get(struct provider *p, const char *key, time_t now)
{
	struct cache_entry *e;

	if (!p->cache || !key)
		return NULL;
	e = cache_find(p->cache, key);
	if (!e || e->expires <= now)
		return NULL;
	return e->channel_id;
}

/* Makes room: drops expired entries, else the one expiring first. */
static void cache_evict(struct resolve_cache *cache, time_t now)
{
	size_t i = 0, first = 0;

	while (i < cache->nr) {
		if (cache->items[i].expires <= now) {
			cache_entry_release(&cache->items[i]);
			cache->items[i] = cache->items[--cache->nr];
		} else {
			i++;
		}
	}
	if (cache->nr < CACHE_MAX)
		return;
	for (i = 1; i < cache->nr; i++)
		if (cache->items[i].expires < cache->items[first].expires)
			first = i;
	cache_entry_release(&cache->items[first]);
	cache->items[first] = cache->items[--cache->nr];
}

void provider_cache_put(struct provider *p, const char *key,
			const char *channel_id, time_t expires)
{
	struct resolve_cache *cache = p->cache;
	struct cache_entry *e;

	if (!cache || !key || !channel_id)
		return;
	e = cache_find(cache, key);
	if (e) {
		free(e->channel_id);
		e->channel_id = xstrdup(channel_id);
		e->expires = expires;
		return;
	}
	if (cache->nr >= CACHE_MAX)
		cache_evict(cache, time(NULL));
	if (cache->nr == cache->alloc) {
		cache->alloc = cache->alloc ? cache->alloc * 2 : 16;
		cache->items = xrealloc(cache->items,
					cache->alloc * sizeof(*cache->items));
	}
	e = &cache->items[cache->nr++];
	e->key = xstrdup(key);
	e->channel_id = xstrdup(channel_id);
	e->expires = expires;
}

void provider_init(struct provider *p, const struct provider_ops *ops,
		   const struct config *cfg, const char *api_url)
{
	size_t len = api_url ? strlen(api_url) : 0;

	while (len && api_url[len - 1] == '/')
		len--;
	p->ops = ops;
	p->token = xstrdup(cfg->token);
	p->api_url = xstrndup(api_url ? api_url : "", len);
	p->guild = xstrdup(cfg->discord_guild);
	p->cache = cache_new();
}

int provider_new(struct provider **out, const struct config *cfg,
		 struct errbuf *err)
{
	*out = NULL;
	if (cfg->provider == PROVIDER_LOG)
		return errbuf_set(err, HERALD_EINVAL, "NOTIFICATIONS_PROVIDER is "
				  "not set: there is no platform to deliver to; "
				  "set it to slack or discord");
	if (!cfg->token || !*cfg->token)
		return errbuf_set(err, HERALD_EINVAL, "NOTIFICATIONS_TOKEN is not "
				  "set: set it to the %s bot token",
				  provider_kind_name(cfg->provider));
	switch (cfg->provider) {
	case PROVIDER_SLACK:
		return slack_provider_new(out, cfg, err);
	case PROVIDER_DISCORD:
		return discord_provider_new(out, cfg, err);
	case PROVIDER_LOG:
		break;
	}
	return errbuf_set(err, HERALD_EINVAL, "unknown provider");
}

void provider_free(struct provider *p)
{
	if (!p)
		return;
	if (p->token) {
		memset(p->token, 0, strlen(p->token));
		free(p->token);
		p->token = NULL;
	}
	free(p->api_url);
	p->api_url = NULL;
	free(p->guild);
	p->guild = NULL;
	cache_free(p->cache);
	p->cache = NULL;
	if (p->ops && p->ops->free)
		p->ops->free(p);
	else
		free(p);
}

void provider_nonce(const char *identity, char out[26])
{
	unsigned long long a, b;

	if (!identity)
		identity = "";
	a = fnv1a(identity, FNV1A_BASIS);
	b = fnv1a(identity, 0x84222325cbf29ce4ULL ^ a);
	snprintf(out, 26, "h%016llx%08llx", a, b & 0xffffffffULL);
}

/* random_unit()'s state, for the thread's backoffs (0: not seeded yet). */
static _Thread_local uint64_t rng_state;

double provider_backoff(int attempt, double base_s, double cap_s)
{
	if (!rng_state)
		rng_state = random_seed();
	return pace_backoff(attempt, base_s, cap_s, random_unit(&rng_state));
}

static void sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One try: resolve (unless chan is known), build, send, classify. */
static void attempt(struct provider *p, struct http_client *c,
		    const struct destination *d, const json_t *body,
		    const char *nonce, const char *edit_message_id,
		    struct strbuf *chan, double deadline,
		    struct delivery_result *out)
{
	struct http_request req;
	struct http_response resp;
	struct errbuf err;
	double left;
	int ret;

	delivery_result_clear(out);
	if (!chan->len && p->ops->resolve(p, c, d, chan, out) < 0) {
		strbuf_reset(chan);
		return;
	}
	memset(&req, 0, sizeof(req));
	if (edit_message_id)
		ret = p->ops->update_request(p, chan->buf, edit_message_id, body,
					     &req, &err);
	else
		ret = p->ops->post_request(p, chan->buf, body, nonce, &req, &err);
	if (ret < 0) {
		delivery_result_set(out, DELIVERY_PERMANENT, "invalid_request",
				    "%s: %s", d->raw, err.msg);
		goto out;
	}
	left = deadline - monotonic_now();
	req.timeout_ms = left < 1.0 ? 1000 : (long)(left * 1000);
	if (http_client_perform(c, &req, &resp, &err) < 0)
		delivery_result_set(out, DELIVERY_PERMANENT, "invalid_url",
				    "%s: %s", p->ops->name, err.msg);
	else
		p->ops->parse_response(p, &resp, d->raw, out);
	http_response_release(&resp);
out:
	http_request_release(&req);
}

int provider_deliver(struct provider *p, struct http_client *c,
		     const struct destination *d, const json_t *body,
		     const char *nonce, const char *edit_channel_id,
		     const char *edit_message_id, double deadline,
		     struct delivery_result *out, int *attempts)
{
	struct strbuf chan = STRBUF_INIT;
	int n = 0, ret;

	if (edit_message_id && edit_channel_id)
		strbuf_addstr(&chan, edit_channel_id);
	else
		edit_message_id = NULL;
	for (;;) {
		double wait;

		n++;
		attempt(p, c, d, body, nonce, edit_message_id, &chan, deadline,
			out);
		if (out->outcome != DELIVERY_RETRY) {
			ret = delivery_outcome_errcode(out->outcome);
			break;
		}
		wait = provider_backoff(n, BACKOFF_BASE_S, BACKOFF_CAP_S);
		if (out->retry_after_s > wait)
			wait = out->retry_after_s;
		if (monotonic_now() + wait >= deadline) {
			ret = HERALD_ERETRY;
			break;
		}
		sleep_s(wait);
	}
	redact_result(out, p->token);
	if (attempts)
		*attempts = n;
	strbuf_release(&chan);
	return ret;
}
