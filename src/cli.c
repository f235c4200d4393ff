/* cli: work in progress. */
#include "strbuf.h"
