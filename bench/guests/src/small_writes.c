// Benchmark guest: N raw write(1, buf, 8) calls (N = argv[1], default 1000000).
// Every call is exactly one fd_write, so this measures per-syscall host overhead.
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    static const char buf[8] = "1234567\n";
    for (long i = 0; i < n; i++)
        if (write(1, buf, 8) != 8) return 1;
    return 0;
}
