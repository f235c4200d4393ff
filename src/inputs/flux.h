/*
 * flux: the flux webhook adapter (docs/inputs.md). Pure: no I/O.
 */
#ifndef HERALD_INPUTS_FLUX_H
#define HERALD_INPUTS_FLUX_H

#include "inputs/input.h"

/* An input_convert_fn: see inputs/input.h. */
int flux_convert(const struct input_request *req, struct input_result *out,
		 struct errbuf *err);

#endif
