// Test guest: sanity-checks the WASI clocks (realtime after 2020, monotonic non-decreasing,
// non-zero resolution). Prints "realtime ok", "monotonic ok", "res ok"; exits 1 if any fails.
#include <stdio.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
    int bad = 0;
    struct timespec t, prev, res;

    clock_gettime(CLOCK_REALTIME, &t);
    if (t.tv_sec > 1577836800) printf("realtime ok\n"); /* 2020-01-01T00:00:00Z */
    else { printf("realtime bad (%lld)\n", (long long)t.tv_sec); bad = 1; }

    int mono_ok = 1;
    clock_gettime(CLOCK_MONOTONIC, &prev);
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (ns(t) < ns(prev)) mono_ok = 0;
        prev = t;
    }
    if (mono_ok) printf("monotonic ok\n");
    else { printf("monotonic bad\n"); bad = 1; }

    long long r1 = clock_getres(CLOCK_REALTIME, &res) == 0 ? ns(res) : -1;
    long long r2 = clock_getres(CLOCK_MONOTONIC, &res) == 0 ? ns(res) : -1;
    if (r1 > 0 && r2 > 0) printf("res ok\n");
    else { printf("res bad (realtime=%lld monotonic=%lld)\n", r1, r2); bad = 1; }
    return bad;
}
