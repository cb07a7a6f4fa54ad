// Test guest: sleeps argv[1] ms (default 50) with one relative clock subscription to poll_oneoff.
// Prints the measured "slept_ms=N" and the returned event's userdata/type/error.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <wasi/api.h>

static const char *type_name(__wasi_eventtype_t t) {
    return t == __WASI_EVENTTYPE_CLOCK ? "clock" : t == __WASI_EVENTTYPE_FD_READ ? "fd_read" : "fd_write";
}

int main(int argc, char **argv) {
    long ms = argc > 1 ? atol(argv[1]) : 50;
    __wasi_subscription_t sub = {0};
    sub.userdata = 42;
    sub.u.tag = __WASI_EVENTTYPE_CLOCK;
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub.u.u.clock.timeout = (__wasi_timestamp_t)ms * 1000000u;
    sub.u.u.clock.flags = 0; /* relative */

    __wasi_event_t ev = {0};
    __wasi_size_t n = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    __wasi_errno_t err = __wasi_poll_oneoff(&sub, &ev, 1, &n);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (err != 0) {
        printf("poll_oneoff failed: errno=%d\n", err);
        return 1;
    }
    long long slept = (t1.tv_sec - t0.tv_sec) * 1000LL + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("slept_ms=%lld\n", slept);
    if (n != 1) {
        printf("unexpected event count %u\n", (unsigned)n);
        return 1;
    }
    printf("event userdata=%llu type=%s error=%u\n", (unsigned long long)ev.userdata,
           type_name(ev.type), (unsigned)ev.error);
    return 0;
}
