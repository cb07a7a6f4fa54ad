// Benchmark guest: prints "hello" and exits; measures runtime start-up cost.
#include <stdio.h>

int main(void) {
    puts("hello");
    return 0;
}
