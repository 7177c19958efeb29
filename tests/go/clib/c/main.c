// Calls the Go library once and returns from main at once: spans still
// queued then must be flushed by weft's atexit(3) hook.
#include <stdio.h>
#include "libclib.h"

int main(void) {
	printf("status %d\n", Fetch());
	return 0;
}
