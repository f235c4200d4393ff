/*
 * Unit tests for htab: find, add and delete through growth, keys that
 * share a hash, emptying, and the id hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/htab.h"
#include "lib/strbuf.h"

struct thing {
	struct hnode node;
	int64_t id;
};

static int thing_eq(const struct hnode *n, const void *key)
{
	return ((const struct thing *)n)->id == *(const int64_t *)key;
}

static struct thing *find(const struct htab *t, int64_t id)
{
	return (struct thing *)htab_find(t, htab_hash_id(id), thing_eq, &id);
}

static void test_add_find_del(void **state)
{
	struct htab t = HTAB_INIT;
	struct thing *v = calloc(1000, sizeof(*v));

	assert_non_null(v);
	assert_null(find(&t, 1));
	for (int i = 0; i < 1000; i++) {
		v[i].id = i * 7;
		htab_add(&t, &v[i].node, htab_hash_id(v[i].id));
	}
	assert_int_equal(t.nr, 1000);
	assert_true(t.nb >= 1000);
	assert_int_equal(t.nb & (t.nb - 1), 0);
	for (int i = 0; i < 1000; i++)
		assert_ptr_equal(find(&t, i * 7), &v[i]);
	assert_null(find(&t, 3));
	for (int i = 0; i < 1000; i += 2)
		htab_del(&t, &v[i].node);
	assert_int_equal(t.nr, 500);
	for (int i = 0; i < 1000; i++)
		if (i % 2)
			assert_ptr_equal(find(&t, i * 7), &v[i]);
		else
			assert_null(find(&t, i * 7));
	/* Deleting what is not there changes nothing. */
	htab_del(&t, &v[0].node);
	assert_int_equal(t.nr, 500);
	htab_release(&t);
	assert_null(t.b);
	assert_int_equal(t.nb, 0);
	assert_int_equal(t.nr, 0);
	free(v);
}

static int str_eq(const struct hnode *n, const void *key)
{
	return !strcmp(((const struct thing *)n)->id ? "b" : "a", key);
}

static void test_same_hash(void **state)
{
	struct htab t = HTAB_INIT;
	struct thing a = { .id = 0 }, b = { .id = 1 };

	/* Two keys under one hash: eq() tells them apart. */
	htab_add(&t, &a.node, 42);
	htab_add(&t, &b.node, 42);
	assert_ptr_equal(htab_find(&t, 42, str_eq, "a"), &a.node);
	assert_ptr_equal(htab_find(&t, 42, str_eq, "b"), &b.node);
	assert_null(htab_find(&t, 43, str_eq, "a"));
	htab_del(&t, &a.node);
	assert_null(htab_find(&t, 42, str_eq, "a"));
	assert_ptr_equal(htab_find(&t, 42, str_eq, "b"), &b.node);
	htab_release(&t);
}

static void test_take_all(void **state)
{
	struct htab t = HTAB_INIT;
	struct thing v[100];
	struct hnode *n;
	size_t nb;
	int seen[100] = { 0 }, count = 0;

	assert_null(htab_take_all(&t));
	for (int i = 0; i < 100; i++) {
		v[i].id = i;
		htab_add(&t, &v[i].node, htab_hash_id(i));
	}
	nb = t.nb;
	for (n = htab_take_all(&t); n; n = n->next) {
		seen[((struct thing *)n)->id]++;
		count++;
	}
	assert_int_equal(count, 100);
	for (int i = 0; i < 100; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(t.nr, 0);
	assert_int_equal(t.nb, nb);
	assert_null(find(&t, 5));
	/* The emptied table takes nodes again. */
	htab_add(&t, &v[5].node, htab_hash_id(5));
	assert_ptr_equal(find(&t, 5), &v[5]);
	htab_release(&t);
}

static void test_hash_id(void **state)
{
	assert_int_equal(htab_hash_id(0), 0);
	assert_true(htab_hash_id(1) != htab_hash_id(2));
	/* Neighbouring ids land in different low bits. */
	assert_true((htab_hash_id(1) & 63) != (htab_hash_id(2) & 63) ||
		    (htab_hash_id(2) & 63) != (htab_hash_id(3) & 63));
	assert_true(htab_hash_id(-1) != htab_hash_id(1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_find_del),
		cmocka_unit_test(test_same_hash),
		cmocka_unit_test(test_take_all),
		cmocka_unit_test(test_hash_id),
	};

	return cmocka_run_group_tests_name("htab", tests, NULL, NULL);
}
