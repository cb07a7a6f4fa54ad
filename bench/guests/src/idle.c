// Benchmark guest: an idle service. Says "idle" and sleeps in poll_oneoff
// for an hour at a time, holding no file or socket (so it can be suspended
// where it sleeps). What a guest costs the host while it does nothing.
#include <stdio.h>
#include <wasi/api.h>

int main(void) {
    printf("idle\n");
    fflush(stdout);
    for (;;) {
        __wasi_subscription_t sub = {0};
        sub.u.tag = __WASI_EVENTTYPE_CLOCK;
        sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
        sub.u.u.clock.timeout = 3600ULL * 1000000000ULL;
        __wasi_event_t ev;
        __wasi_size_t n;
        (void)__wasi_poll_oneoff(&sub, &ev, 1, &n);
    }
}
