/* catalog: work in progress. */
#include "strbuf.h"
