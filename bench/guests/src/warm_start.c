// Benchmark guest: a program with a slow start (an interpreter loading its
// program, a service building its tables). argv[1] = milliseconds of
// initialisation (default 300): it builds an 8 MiB table, mixing it until
// that much time has passed (reading the clock now and then, an import call);
// then says "ready" on stderr, reads one line of input and answers it on
// stdout from the table. Suspended at that read, it resumes straight to the
// answer: the benchmark's time to first output.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TABLE_WORDS (2 << 20)

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
    long ms = argc > 1 ? atol(argv[1]) : 300;
    uint32_t *table = malloc(TABLE_WORDS * sizeof *table);
    if (table == NULL) return 3;
    uint64_t until = now_ns() + (uint64_t)ms * 1000000ULL;
    uint32_t x = 2463534242u;
    long rounds = 0;
    do {
        for (uint32_t i = 0; i < TABLE_WORDS; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            table[i] += x;
        }
        rounds++;
    } while (now_ns() < until);
    fprintf(stderr, "ready after %ld rounds\n", rounds);
    char line[256];
    if (fgets(line, sizeof line, stdin) == NULL) return 4;
    uint32_t h = 0;
    for (char *c = line; *c && *c != '\n'; c++) h = h * 31 + table[(unsigned char)*c * 4099u % TABLE_WORDS];
    printf("answer %08x\n", h);
    return 0;
}
