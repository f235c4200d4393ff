/*
 * herald serve: the delivery daemon. Not available yet.
 */
#include <stdio.h>

#include "cli.h"

int cmd_serve(int argc, char **argv)
{
	fprintf(stderr, "herald serve: not available yet\n");
	return EXIT_USAGE;
}
