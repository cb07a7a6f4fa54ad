// Test guest: performs an out-of-bounds linear-memory load (address 0xFFFFFFF0).
// Used to check that memory access violations trap and are reported.
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    write(1, "before oob\n", 11);
    volatile int *p = (volatile int *)(uintptr_t)0xFFFFFFF0u;
    int v = *p;
    printf("read %d\n", v);
    return 0;
}
