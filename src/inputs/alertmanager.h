/*
 * alertmanager: the alertmanager webhook adapter (docs/inputs.md). Pure: no I/O.
 */
#ifndef HERALD_INPUTS_ALERTMANAGER_H
#define HERALD_INPUTS_ALERTMANAGER_H

#include "inputs/input.h"

/* An input_convert_fn: see inputs/input.h. */
int alertmanager_convert(const struct input_request *req, struct input_result *out,
		 struct errbuf *err);

#endif
