// Test guest: writes to stdout and stderr, then executes an `unreachable` trap.
// Used to check trap reporting and that output written before the trap is kept.
#include <string.h>
#include <unistd.h>

int main(void) {
    const char *out = "before trap\n", *err = "err before trap\n";
    write(1, out, strlen(out));
    write(2, err, strlen(err));
    __builtin_trap();
}
