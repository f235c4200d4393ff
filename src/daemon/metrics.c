/*
 * metrics: a small Prometheus client: families of labelled series, updated
 * under a per-family mutex, exposed in text format 0.0.4.
 *
 * Series are found by a linear scan of the label values; herald's label
 * values come from closed sets (event types, states, route patterns, status
 * codes), so a family holds tens of series and a scan is cheaper than a
 * hash. METRIC_MAX_SERIES still bounds a family against a mistake.
 */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/metrics.h"

struct series {
	char **values;			/* one per label name */
	double value;			/* counters and gauges */
	unsigned long long *cumulative;	/* histograms: count ≤ each bound */
	unsigned long long count;
	double sum;
};

struct metric {
	struct metric *next;
	enum metric_type type;
	char *name;
	char *help;
	char *labels[METRIC_MAX_LABELS];
	size_t labels_nr;
	double *bounds;
	size_t bounds_nr;
	pthread_mutex_t lock;
	struct series **series;
	size_t series_nr;
	size_t series_alloc;
};

struct metric_registry {
	pthread_mutex_t lock;
	struct metric *first;
	struct metric *last;
};

struct metric_registry *metric_registry_new(void)
{
	struct metric_registry *reg = xcalloc(1, sizeof(*reg));

	pthread_mutex_init(&reg->lock, NULL);
	return reg;
}

static void series_free(struct series *s, size_t labels_nr)
{
	for (size_t i = 0; i < labels_nr; i++)
		free(s->values[i]);
	free(s->values);
	free(s->cumulative);
	free(s);
}

void metric_registry_free(struct metric_registry *reg)
{
	struct metric *m, *next;

	if (!reg)
		return;
	for (m = reg->first; m; m = next) {
		next = m->next;
		for (size_t i = 0; i < m->series_nr; i++)
			series_free(m->series[i], m->labels_nr);
		free(m->series);
		for (size_t i = 0; i < m->labels_nr; i++)
			free(m->labels[i]);
		free(m->bounds);
		free(m->name);
		free(m->help);
		pthread_mutex_destroy(&m->lock);
		free(m);
	}
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

static int valid_name(const char *s, int colons)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || (colons && c == ':')))
			return 0;
	}
	return 1;
}

static void bad_call(const char *name, const char *why)
{
	fprintf(stderr, "herald: metric %s: %s\n", name ? name : "(null)", why);
	abort();
}

static struct series *series_new(struct metric *m, const char *const *values)
{
	struct series *s = xcalloc(1, sizeof(*s));

	s->values = xcalloc(m->labels_nr ? m->labels_nr : 1, sizeof(char *));
	for (size_t i = 0; i < m->labels_nr; i++)
		s->values[i] = xstrdup(values && values[i] ? values[i] : "");
	if (m->type == METRIC_HISTOGRAM)
		s->cumulative = xcalloc(m->bounds_nr, sizeof(*s->cumulative));
	return s;
}

static struct metric *add_family(struct metric_registry *reg,
				 enum metric_type type, const char *name,
				 const char *help, const double *bounds,
				 size_t bounds_nr, va_list ap)
{
	struct metric *m;
	const char *label;

	if (!valid_name(name, 1))
		bad_call(name, "not a valid metric name");
	m = xcalloc(1, sizeof(*m));
	m->type = type;
	m->name = xstrdup(name);
	m->help = xstrdup(help ? help : "");
	pthread_mutex_init(&m->lock, NULL);
	while ((label = va_arg(ap, const char *))) {
		if (m->labels_nr == METRIC_MAX_LABELS)
			bad_call(name, "too many labels");
		if (!valid_name(label, 0) || !strncmp(label, "__", 2) ||
		    (type == METRIC_HISTOGRAM && !strcmp(label, "le")))
			bad_call(name, "not a valid label name");
		m->labels[m->labels_nr++] = xstrdup(label);
	}
	if (type == METRIC_HISTOGRAM) {
		m->bounds = xcalloc(bounds_nr ? bounds_nr : 1, sizeof(double));
		for (size_t i = 0; i < bounds_nr; i++) {
			if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
				bad_call(name, "buckets must be finite and increasing");
			m->bounds[i] = bounds[i];
		}
		m->bounds_nr = bounds_nr;
	}
	if (!m->labels_nr) {
		m->series = xcalloc(1, sizeof(*m->series));
		m->series_alloc = 1;
		m->series[m->series_nr++] = series_new(m, NULL);
	}
	pthread_mutex_lock(&reg->lock);
	if (reg->last)
		reg->last->next = m;
	else
		reg->first = m;
	reg->last = m;
	pthread_mutex_unlock(&reg->lock);
	return m;
}

struct metric *metric_registry_counter(struct metric_registry *reg,
				       const char *name, const char *help, ...)
{
	struct metric *m;
	va_list ap;

	va_start(ap, help);
	m = add_family(reg, METRIC_COUNTER, name, help, NULL, 0, ap);
	va_end(ap);
	return m;
}

struct metric *metric_registry_gauge(struct metric_registry *reg,
				     const char *name, const char *help, ...)
{
	struct metric *m;
	va_list ap;

	va_start(ap, help);
	m = add_family(reg, METRIC_GAUGE, name, help, NULL, 0, ap);
	va_end(ap);
	return m;
}

struct metric *metric_registry_histogram(struct metric_registry *reg,
					 const char *name, const char *help,
					 const double *buckets, size_t buckets_nr,
					 ...)
{
	struct metric *m;
	va_list ap;

	va_start(ap, buckets_nr);
	m = add_family(reg, METRIC_HISTOGRAM, name, help, buckets, buckets_nr, ap);
	va_end(ap);
	return m;
}

static int same_values(const struct metric *m, const struct series *s,
		       const char *const *values)
{
	for (size_t i = 0; i < m->labels_nr; i++) {
		const char *v = values && values[i] ? values[i] : "";

		if (strcmp(s->values[i], v))
			return 0;
	}
	return 1;
}

/* The series for values, created if need be; NULL when the cap is hit. */
static struct series *lookup(struct metric *m, const char *const *values,
			     int create)
{
	struct series *s;

	for (size_t i = 0; i < m->series_nr; i++) {
		if (same_values(m, m->series[i], values))
			return m->series[i];
	}
	if (!create || m->series_nr >= METRIC_MAX_SERIES)
		return NULL;
	if (m->series_nr == m->series_alloc) {
		m->series_alloc = m->series_alloc ? 2 * m->series_alloc : 8;
		m->series = xrealloc(m->series,
				     m->series_alloc * sizeof(*m->series));
	}
	s = series_new(m, values);
	m->series[m->series_nr++] = s;
	return s;
}

void metric_add(struct metric *m, const char *const *values, double v)
{
	struct series *s;

	if (!m || m->type == METRIC_HISTOGRAM || isnan(v) ||
	    (m->type == METRIC_COUNTER && v < 0))
		return;
	pthread_mutex_lock(&m->lock);
	s = lookup(m, values, 1);
	if (s)
		s->value += v;
	pthread_mutex_unlock(&m->lock);
}

void metric_set(struct metric *m, const char *const *values, double v)
{
	struct series *s;

	if (!m || m->type != METRIC_GAUGE)
		return;
	pthread_mutex_lock(&m->lock);
	s = lookup(m, values, 1);
	if (s)
		s->value = v;
	pthread_mutex_unlock(&m->lock);
}

void metric_observe(struct metric *m, const char *const *values, double v)
{
	struct series *s;

	if (!m || m->type != METRIC_HISTOGRAM || isnan(v))
		return;
	pthread_mutex_lock(&m->lock);
	s = lookup(m, values, 1);
	if (s) {
		for (size_t i = 0; i < m->bounds_nr; i++) {
			if (v <= m->bounds[i])
				s->cumulative[i]++;
		}
		s->count++;
		s->sum += v;
	}
	pthread_mutex_unlock(&m->lock);
}

double metric_value(struct metric *m, const char *const *values)
{
	struct series *s;
	double v = 0;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	s = lookup(m, values, 0);
	if (s)
		v = s->value;
	pthread_mutex_unlock(&m->lock);
	return v;
}

unsigned long long metric_count(struct metric *m, const char *const *values)
{
	struct series *s;
	unsigned long long n = 0;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->lock);
	s = lookup(m, values, 0);
	if (s)
		n = s->count;
	pthread_mutex_unlock(&m->lock);
	return n;
}

/* Shortest form that reads back as the same double; Go's style for Inf/NaN. */
static void add_number(struct strbuf *out, double v)
{
	char buf[40];

	if (isnan(v)) {
		strbuf_addstr(out, "NaN");
		return;
	}
	if (isinf(v)) {
		strbuf_addstr(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		strbuf_addf(out, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	strbuf_addstr(out, buf);
}

static void add_escaped(struct strbuf *out, const char *s, int quotes)
{
	for (; *s; s++) {
		if (*s == '\\')
			strbuf_addstr(out, "\\\\");
		else if (*s == '\n')
			strbuf_addstr(out, "\\n");
		else if (quotes && *s == '"')
			strbuf_addstr(out, "\\\"");
		else
			strbuf_addch(out, *s);
	}
}

/* {a="x",b="y"} with an optional le="…" last; nothing when empty. */
static void add_labels(struct strbuf *out, const struct metric *m,
		       const struct series *s, const double *le)
{
	size_t n = 0;

	for (size_t i = 0; i < m->labels_nr; i++, n++) {
		strbuf_addstr(out, n ? "," : "{");
		strbuf_addstr(out, m->labels[i]);
		strbuf_addstr(out, "=\"");
		add_escaped(out, s->values[i], 1);
		strbuf_addch(out, '"');
	}
	if (le) {
		strbuf_addstr(out, n ? ",le=\"" : "{le=\"");
		add_number(out, *le);
		strbuf_addch(out, '"');
		n++;
	}
	if (n)
		strbuf_addch(out, '}');
}

static int cmp_series(const struct series *x, const struct series *y,
		      size_t labels_nr)
{
	for (size_t i = 0; i < labels_nr; i++) {
		int c = strcmp(x->values[i], y->values[i]);

		if (c)
			return c;
	}
	return 0;
}

/* Insertion sort: a family holds a few dozen series, usually in order. */
static void sort_series(struct series **v, size_t nr, size_t labels_nr)
{
	for (size_t i = 1; i < nr; i++) {
		struct series *s = v[i];
		size_t j = i;

		while (j && cmp_series(v[j - 1], s, labels_nr) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = s;
	}
}

static const char *type_word(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_GAUGE:
		return "gauge";
	case METRIC_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

static void expose_family(struct metric *m, struct strbuf *out)
{
	struct series **sorted;
	const double inf = INFINITY;

	strbuf_addf(out, "# HELP %s ", m->name);
	add_escaped(out, m->help, 0);
	strbuf_addf(out, "\n# TYPE %s %s\n", m->name, type_word(m->type));

	pthread_mutex_lock(&m->lock);
	sorted = xcalloc(m->series_nr ? m->series_nr : 1, sizeof(*sorted));
	if (m->series_nr)
		memcpy(sorted, m->series, m->series_nr * sizeof(*sorted));
	sort_series(sorted, m->series_nr, m->labels_nr);

	for (size_t i = 0; i < m->series_nr; i++) {
		const struct series *s = sorted[i];

		if (m->type != METRIC_HISTOGRAM) {
			strbuf_addstr(out, m->name);
			add_labels(out, m, s, NULL);
			strbuf_addch(out, ' ');
			add_number(out, s->value);
			strbuf_addch(out, '\n');
			continue;
		}
		for (size_t b = 0; b < m->bounds_nr; b++) {
			strbuf_addf(out, "%s_bucket", m->name);
			add_labels(out, m, s, &m->bounds[b]);
			strbuf_addf(out, " %llu\n", s->cumulative[b]);
		}
		strbuf_addf(out, "%s_bucket", m->name);
		add_labels(out, m, s, &inf);
		strbuf_addf(out, " %llu\n", s->count);
		strbuf_addf(out, "%s_sum", m->name);
		add_labels(out, m, s, NULL);
		strbuf_addch(out, ' ');
		add_number(out, s->sum);
		strbuf_addf(out, "\n%s_count", m->name);
		add_labels(out, m, s, NULL);
		strbuf_addf(out, " %llu\n", s->count);
	}
	pthread_mutex_unlock(&m->lock);
	free(sorted);
}

int metric_registry_expose(struct metric_registry *reg, struct strbuf *out)
{
	struct metric *m, *first;

	pthread_mutex_lock(&reg->lock);
	first = reg->first;
	pthread_mutex_unlock(&reg->lock);
	/* Families are only ever appended, so the walk needs no lock. */
	for (m = first; m; m = m->next) {
		struct strbuf part = STRBUF_INIT;

		expose_family(m, &part);
		if (strbuf_add(out, part.buf, part.len)) {
			strbuf_release(&part);
			return -1;
		}
		strbuf_release(&part);
	}
	return 0;
}

static const double latency_buckets[] = {
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
};

static const double prune_batch_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
};

void metrics_init(struct metrics *m, const char *version)
{
	struct metric_registry *reg = metric_registry_new();

	m->reg = reg;
	m->events_received = metric_registry_counter(reg,
		"herald_events_received_total",
		"Valid events received, by event type and source.",
		"type", "source", NULL);
	m->notifications = metric_registry_counter(reg,
		"herald_notifications_total",
		"Notifications that reached a state, by provider and state.",
		"provider", "state", NULL);
	m->delivery_attempts = metric_registry_counter(reg,
		"herald_delivery_attempts_total",
		"Requests made to the chat platform, by provider and result.",
		"provider", "result", NULL);
	m->rate_limited = metric_registry_counter(reg,
		"herald_rate_limited_total",
		"Rate-limit answers (HTTP 429) from the chat platform, by provider.",
		"provider", NULL);
	m->resent = metric_registry_counter(reg,
		"herald_requests_resent_total",
		"Requests to the chat platform sent again on a new connection "
		"because the reused one closed without an answer, by provider.",
		"provider", NULL);
	m->digests = metric_registry_counter(reg,
		"herald_digests_total",
		"Digest messages posted (one message listing many "
		"notifications of a destination under a storm), by provider.",
		"provider", NULL);
	m->digest_notifications = metric_registry_counter(reg,
		"herald_digest_notifications_total",
		"Notifications delivered in a digest (posted, or a line of one "
		"edited), by provider.",
		"provider", NULL);
	m->state_write_failures = metric_registry_counter(reg,
		"herald_state_write_failures_total",
		"Writes of delivery states to the store that failed; each is "
		"tried again, and its destinations wait.", NULL);
	m->queue_depth = metric_registry_gauge(reg, "herald_queue_depth",
		"Notifications waiting for delivery (queued, sending or retrying).",
		NULL);
	m->silences_active = metric_registry_gauge(reg,
		"herald_silences_active",
		"Silences in effect now (new messages they match are not posted).",
		NULL);
	m->delivery_latency = metric_registry_histogram(reg,
		"herald_delivery_latency_seconds",
		"Time from accepting an event to delivering its notification.",
		latency_buckets,
		sizeof(latency_buckets) / sizeof(latency_buckets[0]), NULL);
	m->http_requests = metric_registry_counter(reg,
		"herald_http_requests_total",
		"HTTP API requests, by route pattern and status code.",
		"path", "code", NULL);
	m->build_info = metric_registry_gauge(reg, "herald_build_info",
		"The running herald version; always 1.", "version", NULL);
	metric_set(m->build_info, METRIC_LABELS(version ? version : "unknown"), 1);
	m->summaries = metric_registry_counter(reg,
		"herald_summaries_posted_total",
		"Weekly summaries stored for posting by this process (one per "
		"ISO week).", NULL);
	m->summary_week = metric_registry_gauge(reg,
		"herald_summary_last_week",
		"The ISO week of the last weekly summary stored, as YYYYWW "
		"(202648 for 2026-W48); 0: none since the start.", NULL);
	m->summary_time = metric_registry_gauge(reg,
		"herald_summary_last_timestamp_seconds",
		"When that summary was found stored or stored (Unix time).",
		NULL);
	m->pruned_rows = metric_registry_counter(reg,
		"herald_pruned_rows_total",
		"Rows deleted by retention (HERALD_RETENTION), by table.",
		"table", NULL);
	m->prune_batch = metric_registry_histogram(reg,
		"herald_prune_batch_seconds",
		"Time one batch of retention held the database's write lock.",
		prune_batch_buckets,
		sizeof(prune_batch_buckets) / sizeof(prune_batch_buckets[0]),
		NULL);
	m->prune_last_run = metric_registry_gauge(reg,
		"herald_prune_last_run_timestamp_seconds",
		"When the last pass of retention ended (Unix time); 0: none yet.",
		NULL);
	m->prune_last_duration = metric_registry_gauge(reg,
		"herald_prune_last_duration_seconds",
		"How long the last pass of retention took, pauses included.",
		NULL);
}

void metrics_release(struct metrics *m)
{
	if (!m)
		return;
	metric_registry_free(m->reg);
	memset(m, 0, sizeof(*m));
}

void metrics_event_received(struct metrics *m, const char *type,
			    const char *source)
{
	if (m)
		metric_add(m->events_received, METRIC_LABELS(type, source), 1);
}

void metrics_notification(struct metrics *m, const char *provider,
			  const char *state)
{
	if (m)
		metric_add(m->notifications, METRIC_LABELS(provider, state), 1);
}

void metrics_delivery_attempt(struct metrics *m, const char *provider,
			      const char *result)
{
	if (m)
		metric_add(m->delivery_attempts, METRIC_LABELS(provider, result), 1);
}

void metrics_rate_limited(struct metrics *m, const char *provider)
{
	if (m)
		metric_add(m->rate_limited, METRIC_LABELS(provider), 1);
}

void metrics_digest(struct metrics *m, const char *provider, int edit,
		    size_t notifications)
{
	if (!m)
		return;
	if (!edit)
		metric_add(m->digests, METRIC_LABELS(provider), 1);
	metric_add(m->digest_notifications, METRIC_LABELS(provider),
		   (double)notifications);
}

void metrics_request_resent(struct metrics *m, const char *provider,
			    int times)
{
	if (m && times > 0)
		metric_add(m->resent, METRIC_LABELS(provider), times);
}

void metrics_silences_active(struct metrics *m, double n)
{
	if (m)
		metric_set(m->silences_active, NULL, n);
}

void metrics_state_write_failed(struct metrics *m)
{
	if (m)
		metric_add(m->state_write_failures, NULL, 1);
}

void metrics_queue_depth(struct metrics *m, double depth)
{
	if (m)
		metric_set(m->queue_depth, NULL, depth);
}

void metrics_delivery_latency(struct metrics *m, double seconds)
{
	if (m)
		metric_observe(m->delivery_latency, NULL, seconds);
}

void metrics_http_request(struct metrics *m, const char *path, int code)
{
	char buf[16];

	if (!m)
		return;
	snprintf(buf, sizeof(buf), "%d", code);
	metric_add(m->http_requests, METRIC_LABELS(path, buf), 1);
}

void metrics_summary(struct metrics *m, int year, int week, int fresh,
		     double at)
{
	if (!m)
		return;
	if (fresh)
		metric_add(m->summaries, NULL, 1);
	metric_set(m->summary_week, NULL, (double)year * 100 + week);
	metric_set(m->summary_time, NULL, at);
}

void metrics_pruned(struct metrics *m, const char *table, double rows)
{
	if (m)
		metric_add(m->pruned_rows, METRIC_LABELS(table), rows);
}

void metrics_prune_batch(struct metrics *m, double write_s)
{
	if (m)
		metric_observe(m->prune_batch, NULL, write_s);
}

void metrics_prune_pass(struct metrics *m, double at, double seconds)
{
	if (!m)
		return;
	metric_set(m->prune_last_run, NULL, at);
	metric_set(m->prune_last_duration, NULL, seconds);
}

int metrics_expose(struct metrics *m, struct strbuf *out)
{
	if (!m || !m->reg)
		return 0;
	return metric_registry_expose(m->reg, out);
}
