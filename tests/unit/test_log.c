/*
 * Unit tests for log: whole logfmt and JSON lines, escaping, the level
 * filter, secret redaction, and lines from many threads staying whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>

#include <jansson.h>

#include "daemon/log.h"
#include "lib/redact.h"

static FILE *out;

static void fixed_clock(struct timespec *ts)
{
	ts->tv_sec = 1795687200;	/* 2026-11-26T10:00:00Z */
	ts->tv_nsec = 123456789;
}

static int setup(void **state)
{
	out = tmpfile();
	assert_non_null(out);
	log_set_fd(fileno(out));
	log_set_clock(fixed_clock);
	assert_int_equal(log_init("logfmt", "info", NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	log_set_fd(2);
	log_set_clock(NULL);
	redact_clear_secrets();
	fclose(out);
	return 0;
}

/* Everything written since the last call. */
static char *take(void)
{
	int fd = fileno(out);
	off_t size = lseek(fd, 0, SEEK_END);
	char *buf;

	assert_true(size >= 0);
	buf = calloc(1, (size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return buf;
}

static void test_logfmt_line(void **state)
{
	struct log_line l;
	char *s;

	log_event(LOG_INFO, "delivered", "destination", "#deploys",
		  "state", "delivered", NULL);
	log_begin(&l, LOG_WARN, "rate limited");
	log_int(&l, "notification", 12);
	log_double(&l, "retry_after", 1.5);
	log_bool(&l, "global", 0);
	log_str(&l, "bucket", NULL);
	log_end(&l);
	s = take();
	assert_string_equal(s,
		"ts=2026-11-26T10:00:00.123Z level=info msg=delivered "
		"destination=#deploys state=delivered\n"
		"ts=2026-11-26T10:00:00.123Z level=warn msg=\"rate limited\" "
		"notification=12 retry_after=1.5 global=false bucket=\"\"\n");
	free(s);
}

static void test_logfmt_escaping(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	log_escape_logfmt(&sb, "plain-value_1.2", 15);
	strbuf_addch(&sb, '|');
	log_escape_logfmt(&sb, "", 0);
	strbuf_addch(&sb, '|');
	log_escape_logfmt(&sb, "a b", 3);
	strbuf_addch(&sb, '|');
	log_escape_logfmt(&sb, "k=v", 3);
	strbuf_addch(&sb, '|');
	log_escape_logfmt(&sb, "say \"hi\"\\\n", 10);
	strbuf_addch(&sb, '|');
	log_escape_logfmt(&sb, "tab\there\x01", 9);
	strbuf_addch(&sb, '|');
	log_escape_logfmt(&sb, "caf\xc3\xa9", 5);
	strbuf_addch(&sb, '|');
	log_escape_logfmt(&sb, "bad\xff", 4);
	assert_string_equal(sb.buf,
		"plain-value_1.2|\"\"|\"a b\"|\"k=v\"|\"say \\\"hi\\\"\\\\\\n\"|"
		"\"tab\\there\\u0001\"|caf\xc3\xa9|\"bad\\ufffd\"");
	strbuf_release(&sb);
}

static void test_json_line(void **state)
{
	struct log_line l;
	json_t *j;
	json_error_t jerr;
	char *s;

	assert_int_equal(log_init("json", NULL, NULL), 0);
	log_begin(&l, LOG_ERROR, "store \"commit\" failed\n");
	log_int(&l, "notification", -3);
	log_str(&l, "error", "disk\\full\x02");
	log_str(&l, "bucket", NULL);
	log_bool(&l, "fatal", 1);
	log_strn(&l, "part", "abcdef", 3);
	log_end(&l);
	s = take();
	assert_string_equal(s,
		"{\"ts\":\"2026-11-26T10:00:00.123Z\",\"level\":\"error\","
		"\"msg\":\"store \\\"commit\\\" failed\\n\",\"notification\":-3,"
		"\"error\":\"disk\\\\full\\u0002\",\"bucket\":null,\"fatal\":true,"
		"\"part\":\"abc\"}\n");
	j = json_loads(s, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "disk\\full\x02");
	json_decref(j);
	free(s);

	/* Invalid UTF-8 still gives valid JSON. */
	log_event(LOG_INFO, "x", "v", "\xc3(\xed\xa0\x80", NULL);
	s = take();
	j = json_loads(s, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "v")),
			    "\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);
	free(s);
	assert_int_equal(log_init("logfmt", NULL, NULL), 0);
}

static void test_level_filter(void **state)
{
	struct log_line l;
	struct errbuf err;
	char *s;

	assert_int_equal(log_init(NULL, "warn", NULL), 0);
	assert_false(log_enabled(LOG_INFO));
	assert_true(log_enabled(LOG_ERROR));
	log_event(LOG_DEBUG, "hidden", NULL);
	log_event(LOG_INFO, "hidden", NULL);
	log_begin(&l, LOG_INFO, "hidden");
	log_int(&l, "n", 1);
	log_end(&l);
	log_event(LOG_WARN, "shown", NULL);
	log_event(LOG_ERROR, "shown too", NULL);
	s = take();
	assert_null(strstr(s, "hidden"));
	assert_non_null(strstr(s, "level=warn msg=shown\n"));
	assert_non_null(strstr(s, "level=error msg=\"shown too\"\n"));
	free(s);

	assert_int_equal(log_init(NULL, "debug", NULL), 0);
	log_event(LOG_DEBUG, "now shown", NULL);
	s = take();
	assert_non_null(strstr(s, "level=debug"));
	free(s);

	assert_int_equal(log_init("xml", NULL, &err), HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "HERALD_LOG_FORMAT"));
	assert_int_equal(log_init(NULL, "loud", &err), HERALD_EINVAL);
	assert_non_null(strstr(err.msg, "debug, info, warn or error"));
	assert_int_equal(log_init(NULL, "info", NULL), 0);
}

/* Long values are cut, and a line never passes 64 KiB: fields go whole. */
static void test_long_lines(void **state)
{
	char *big = malloc(10000), *s, *nl;
	struct log_line l;
	size_t fields = 0;

	assert_non_null(big);
	memset(big, 'a', 9999);
	big[9999] = '\0';
	log_begin(&l, LOG_INFO, "long");
	for (int i = 0; i < 40; i++) {
		big[0] = (char)('A' + i % 26);	/* each field its own */
		log_str(&l, "v", big);
	}
	log_end(&l);
	s = take();
	nl = strchr(s, '\n');
	assert_non_null(nl);
	assert_null(strchr(nl + 1, '\n'));
	assert_true((size_t)(nl - s) + 1 <= 64 * 1024);
	/* Each value cut to 4096 bytes and "…", all whole. */
	for (char *p = s; (p = strstr(p, " v=")); p += 3) {
		assert_int_equal(strspn(p + 4, "a"), 4095);
		assert_memory_equal(p + 4 + 4095, "\xe2\x80\xa6", 3);
		fields++;
	}
	assert_true(fields >= 14 && fields < 40);
	free(s);
	free(big);
}

/* Held lines wait for log_flush(), or for a warning, and keep their order. */
static void test_hold(void **state)
{
	char *s;

	log_hold();
	log_event(LOG_INFO, "one", NULL);
	log_event(LOG_INFO, "two", NULL);
	s = take();
	assert_string_equal(s, "");
	free(s);
	log_flush();
	s = take();
	assert_non_null(strstr(s, "msg=one\n"));
	assert_non_null(strstr(s, "msg=two\n"));
	assert_true(strstr(s, "msg=one") < strstr(s, "msg=two"));
	free(s);

	log_hold();
	log_event(LOG_INFO, "before", NULL);
	log_event(LOG_WARN, "trouble", NULL);
	s = take();
	assert_non_null(strstr(s, "msg=before\n"));
	assert_true(strstr(s, "msg=before") < strstr(s, "msg=trouble"));
	free(s);
	log_event(LOG_INFO, "after", NULL);
	log_flush();
	s = take();
	assert_non_null(strstr(s, "msg=after\n"));
	free(s);
	/* Not holding: at once. */
	log_event(LOG_INFO, "now", NULL);
	s = take();
	assert_non_null(strstr(s, "msg=now\n"));
	free(s);
}

/* A URL's password never reaches a line, registered or not. */
static void test_url_password(void **state)
{
	char *s;

	log_event(LOG_ERROR, "failed", "error",
		  "POST https://bot:hunter2pw@chat.example/api/x: refused",
		  "url", "https://tok3n@chat.example/api", NULL);
	s = take();
	assert_null(strstr(s, "hunter2pw"));
	assert_null(strstr(s, "tok3n"));
	assert_non_null(strstr(s, "https://bot:…@chat.example/api/x"));
	assert_non_null(strstr(s, "url=https://…@chat.example/api"));
	free(s);

	assert_int_equal(log_init("json", NULL, NULL), 0);
	log_event(LOG_INFO, "m", "u", "http://u:p%40ss@127.0.0.1:8/", NULL);
	s = take();
	assert_null(strstr(s, "p%40ss"));
	assert_non_null(strstr(s, "\"u\":\"http://u:…@127.0.0.1:8/\""));
	free(s);
	assert_int_equal(log_init("logfmt", NULL, NULL), 0);
}

static void test_redaction(void **state)
{
	char big[6000];
	char *s;

	redact_add_secret("xoxb-123-secret");
	redact_add_secret("tok\"en");
	redact_add_secret("");
	redact_add_secret(NULL);
	log_event(LOG_INFO, "using xoxb-123-secret now",
		  "header", "Bearer xoxb-123-secret",
		  "quoted", "a tok\"en b", NULL);
	s = take();
	assert_null(strstr(s, "xoxb-123-secret"));
	assert_null(strstr(s, "tok"));
	assert_non_null(strstr(s, "msg=\"using … now\""));
	assert_non_null(strstr(s, "header=\"Bearer …\""));
	assert_non_null(strstr(s, "quoted=\"a … b\""));
	free(s);

	/* A secret straddling the value cap is redacted, not cut in half. */
	memset(big, 'a', sizeof(big));
	memcpy(big + 4090, "xoxb-123-secret", 15);
	big[sizeof(big) - 1] = '\0';
	log_event(LOG_INFO, "long", "v", big, NULL);
	s = take();
	assert_null(strstr(s, "xoxb-"));
	assert_non_null(strstr(s, "…"));
	free(s);

	/* The longest matching secret wins. */
	redact_add_secret("xoxb-123");
	log_event(LOG_INFO, "m", "v", "xoxb-123-secret", NULL);
	s = take();
	assert_non_null(strstr(s, "v=…\n"));
	free(s);

	redact_clear_secrets();
	log_event(LOG_INFO, "m", "v", "xoxb-123", NULL);
	s = take();
	assert_non_null(strstr(s, "v=xoxb-123\n"));
	free(s);
}

#define THREADS 4
#define LINES 300

static void *writer(void *arg)
{
	long id = (long)(intptr_t)arg;

	for (long i = 0; i < LINES; i++) {
		struct log_line l;

		log_begin(&l, LOG_INFO, "concurrent");
		log_int(&l, "thread", id);
		log_int(&l, "i", i);
		log_str(&l, "pad", "0123456789abcdef0123456789abcdef0123456789");
		log_end(&l);
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[THREADS];
	char *s, *line, *nl;
	size_t n = 0;

	for (long i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer,
						(void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	s = take();
	for (line = s; *line; line = nl + 1) {
		long thread, i;

		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		assert_int_equal(sscanf(line, "ts=2026-11-26T10:00:00.123Z "
					"level=info msg=concurrent thread=%ld i=%ld",
					&thread, &i), 2);
		assert_true(thread >= 0 && thread < THREADS);
		assert_true(i >= 0 && i < LINES);
		assert_non_null(strstr(line, " pad=0123456789abcdef0123456789"
				       "abcdef0123456789"));
		assert_int_equal(strlen(strstr(line, " pad=")), 47);
		n++;
	}
	assert_int_equal(n, THREADS * LINES);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_logfmt_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logfmt_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_url_password, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
