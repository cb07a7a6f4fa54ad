// Test guest: fills two 256-byte buffers with getentropy (random_get) and checks they
// differ and are not all zero. Prints "random ok" or "random bad" (exit 1).
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    unsigned char a[256], b[256], zero[256] = {0};
    if (getentropy(a, sizeof a) != 0 || getentropy(b, sizeof b) != 0) {
        printf("random bad (getentropy failed)\n");
        return 1;
    }
    if (memcmp(a, b, sizeof a) == 0 || memcmp(a, zero, sizeof a) == 0 || memcmp(b, zero, sizeof b) == 0) {
        printf("random bad\n");
        return 1;
    }
    printf("random ok\n");
    return 0;
}
