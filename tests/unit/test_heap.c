/*
 * Unit tests for heap: entries come out by key, through growth, with
 * duplicates, and pushes between pops.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/heap.h"

static void test_empty(void **state)
{
	struct heap h = HEAP_INIT;

	assert_null(heap_top(&h));
	heap_pop(&h);
	assert_int_equal(h.nr, 0);
	heap_push(&h, 1.5, &h);
	assert_non_null(heap_top(&h));
	assert_true(heap_top(&h)->key == 1.5);
	assert_ptr_equal(heap_top(&h)->data, &h);
	heap_pop(&h);
	assert_null(heap_top(&h));
	heap_release(&h);
	assert_null(h.v);
}

static void test_order(void **state)
{
	struct heap h = HEAP_INIT;
	double keys[1000];
	double last = -1;
	unsigned x = 12345;

	/* Keys in a scrambled order, some equal, more than one growth. */
	for (int i = 0; i < 1000; i++) {
		x = x * 1103515245u + 12345u;
		keys[i] = (double)((x >> 16) % 500);
		heap_push(&h, keys[i], &keys[i]);
	}
	assert_int_equal(h.nr, 1000);
	for (int i = 0; i < 1000; i++) {
		const struct heap_entry *top = heap_top(&h);

		assert_non_null(top);
		assert_true(top->key >= last);
		assert_true(*(const double *)top->data == top->key);
		last = top->key;
		heap_pop(&h);
	}
	assert_null(heap_top(&h));
	heap_release(&h);
}

static void test_interleaved(void **state)
{
	struct heap h = HEAP_INIT;

	heap_push(&h, 5, NULL);
	heap_push(&h, 3, NULL);
	heap_push(&h, 4, NULL);
	assert_true(heap_top(&h)->key == 3);
	heap_pop(&h);
	heap_push(&h, 1, NULL);
	heap_push(&h, 6, NULL);
	assert_true(heap_top(&h)->key == 1);
	heap_pop(&h);
	assert_true(heap_top(&h)->key == 4);
	heap_pop(&h);
	assert_true(heap_top(&h)->key == 5);
	heap_pop(&h);
	assert_true(heap_top(&h)->key == 6);
	heap_pop(&h);
	assert_null(heap_top(&h));
	heap_release(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_interleaved),
	};

	return cmocka_run_group_tests_name("heap", tests, NULL, NULL);
}
