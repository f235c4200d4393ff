/* cmd_route: work in progress. */
#include "strbuf.h"
