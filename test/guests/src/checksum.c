// Test guest for suspend and resume: prints a running checksum whose every
// line depends on all the state before it (heap, globals, stack locals), so
// a resumed run matches an uninterrupted one byte for byte only if all of
// it came back. Modes:
//   loop N    a CPU loop of N steps that reads the clock now and then (an import call)
//   sleep N   N naps of 20 ms in poll_oneoff
//   stdin     one line of output per line of input
//   fill N    fills N MiB more of memory, prints "filled", then naps (for the benchmarks)
//   fillsum N fills N MiB more of memory, prints "filled", naps 25 times, then sums all of it in
// Each mode also says if the monotonic clock ever went backwards.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wasi/api.h>

static uint64_t hash = 1469598103934665603ULL;
static uint64_t last_ns;
static unsigned char *heap;
#define HEAP_BYTES (4 << 20)

static void mix(uint64_t v) { hash = (hash ^ v) * 1099511628211ULL; }

static void check_clock(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    if (ns < last_ns) printf("the monotonic clock went backwards\n");
    last_ns = ns;
}

static void nap(void) {
    __wasi_subscription_t sub = {0};
    sub.u.tag = __WASI_EVENTTYPE_CLOCK;
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub.u.u.clock.timeout = 20 * 1000000ULL;
    __wasi_event_t ev;
    __wasi_size_t n;
    (void)__wasi_poll_oneoff(&sub, &ev, 1, &n);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "loop";
    long n = argc > 2 ? atol(argv[2]) : 1000;
    heap = malloc(HEAP_BYTES);
    for (size_t i = 0; i < HEAP_BYTES; i++) heap[i] = (unsigned char)(i * 7 + 3);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(mode, "loop") == 0) {
        for (long i = 0; i < n; i++) {
            unsigned char *cell = &heap[(i * 2654435761u) % HEAP_BYTES];
            *cell = (unsigned char)(*cell + i);
            mix(*cell ^ (uint64_t)i);
            if (i % 10000 == 0) check_clock();
            if (i % 1000000 == 0) printf("step %ld %016llx\n", i, (unsigned long long)hash);
        }
    } else if (strcmp(mode, "sleep") == 0) {
        for (long i = 0; i < n; i++) {
            nap();
            check_clock();
            mix((uint64_t)i);
            printf("nap %ld %016llx\n", i, (unsigned long long)hash);
        }
    } else if (strcmp(mode, "stdin") == 0) {
        char line[256];
        long count = 0;
        while (fgets(line, sizeof line, stdin) != NULL) {
            for (char *c = line; *c; c++) mix((unsigned char)*c);
            check_clock();
            printf("line %ld %016llx\n", ++count, (unsigned long long)hash);
        }
    } else if (strcmp(mode, "fill") == 0) {
        size_t bytes = (size_t)n << 20;
        unsigned char *more = malloc(bytes);
        if (more == NULL) return 3;
        for (size_t i = 0; i < bytes; i++) more[i] = (unsigned char)(i * 13 + 1);
        printf("filled\n");
        for (long i = 0; i < 1000000; i++) nap();
        mix(more[bytes / 2]);
    } else if (strcmp(mode, "fillsum") == 0) {
        size_t bytes = (size_t)n << 20;
        unsigned char *more = malloc(bytes);
        if (more == NULL) return 3;
        for (size_t i = 0; i < bytes; i++) more[i] = (unsigned char)(i * 13 + 1);
        printf("filled\n");
        for (long i = 0; i < 25; i++) nap();
        for (size_t i = 0; i < bytes; i += 512) mix(more[i] ^ more[i + 511]);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    for (size_t i = 0; i < HEAP_BYTES; i += 4096) mix(heap[i]);
    printf("done %016llx\n", (unsigned long long)hash);
    return 0;
}
