/* render: work in progress. */
#include "strbuf.h"
