// Test guest: copies stdin (or the file named by argv[1]) to stdout in 4 KiB chunks.
// Used to check stdin/stdout piping and read access to mounted files.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(void) {
    fprintf(stderr, "cat: %s\n", strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    int fd = 0;
    if (argc > 1 && (fd = open(argv[1], O_RDONLY)) < 0)
        return fail();
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) return fail();
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w < 0) return fail();
            off += w;
        }
    }
    return 0;
}
