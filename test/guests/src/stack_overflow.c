// Test guest: unbounded non-tail recursion (depth = argv[1], default effectively infinite) that
// exhausts the engine's call stack and traps. argv[2] == "shadow" instead overflows the C stack in
// linear memory (64-byte volatile array per level), which traps as an out-of-bounds access.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile unsigned sink;

/* Only wasm locals per level: nothing lives in linear memory, so the engine stack overflows.
   The store to `sink` after the call keeps it from being a tail call or a loop. */
__attribute__((noinline)) static unsigned deep(unsigned long depth, unsigned a, unsigned b) {
    if (depth == 0) return a ^ b;
    unsigned r = deep(depth - 1, a * 3 + 1, b ^ a);
    sink = r;
    return r + a - b;
}

/* A 64-byte volatile frame in linear memory per level whose address is passed down. */
__attribute__((noinline)) static unsigned shadow(unsigned long depth, volatile unsigned char *parent) {
    volatile unsigned char frame[64];
    for (int i = 0; i < 64; i++) frame[i] = (unsigned char)(parent[i] + depth);
    if (depth == 0) return frame[0];
    unsigned r = shadow(depth - 1, frame);
    return r + frame[depth & 63];
}

int main(int argc, char **argv) {
    write(1, "recursing\n", 10);
    unsigned long depth = argc > 1 ? strtoul(argv[1], 0, 10) : (unsigned long)-1;
    if (argc > 2 && !strcmp(argv[2], "shadow")) {
        volatile unsigned char root[64] = {0};
        sink = shadow(depth, root);
    } else {
        sink = deep(depth, (unsigned)argc, 7);
    }
    write(1, "done\n", 5); /* only reached when a finite depth was given */
    return 0;
}
