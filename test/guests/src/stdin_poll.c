// Test guest: polls stdin for readability with a 2000 ms clock timeout via poll_oneoff.
// Prints "ready" and "read: <data>" if stdin became readable, otherwise "timeout".
#include <stdio.h>
#include <unistd.h>
#include <wasi/api.h>

int main(void) {
    __wasi_subscription_t subs[2] = {0};
    subs[0].userdata = 1;
    subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    subs[0].u.u.fd_read.file_descriptor = 0;
    subs[1].userdata = 2;
    subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = 2000ull * 1000000ull;

    __wasi_event_t evs[2] = {0};
    __wasi_size_t n = 0;
    __wasi_errno_t err = __wasi_poll_oneoff(subs, evs, 2, &n);
    if (err != 0) {
        printf("poll_oneoff failed: errno=%d\n", err);
        return 1;
    }
    for (__wasi_size_t i = 0; i < n; i++) {
        if (evs[i].userdata != 1) continue;
        if (evs[i].error != 0) {
            printf("fd_read error=%u\n", (unsigned)evs[i].error);
            return 1;
        }
        printf("ready\n");
        char buf[4096];
        ssize_t r = read(0, buf, sizeof buf - 1);
        buf[r > 0 ? r : 0] = 0;
        printf("read: %s\n", buf);
        return 0;
    }
    printf("timeout\n");
    return 0;
}
