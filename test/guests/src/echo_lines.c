// Test guest: echoes each stdin line as "got: <line>", flushing after every line.
// Used to check that output is streamed to the host as it is written, not at exit.
#include <stdio.h>

int main(void) {
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        printf("got: %s", line);
        fflush(stdout);
    }
    return 0;
}
