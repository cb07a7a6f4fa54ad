// Test guest: prints a greeting, every argv entry and every environment variable.
// Used to check stdout capture, argument passing and environment passing.
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv) {
    printf("hello from capsule\n");
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; e && *e; e++)
        printf("env %s\n", *e);
    return 0;
}
