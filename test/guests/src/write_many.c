// Test guest: writes a 1 MiB patterned file at argv[1] in 4 KiB writes, then reads it back.
// Prints "verified 1048576" on success or "mismatch at N" (exit 1).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TOTAL (1024 * 1024)
#define CHUNK 4096

static int fail(const char *what, const char *path) {
    printf("error: %s %s: %s\n", what, path, strerror(errno));
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: write_many PATH\n"); return 2; }
    const char *path = argv[1];
    unsigned char buf[CHUNK];

    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return fail("open", path);
    for (long off = 0; off < TOTAL; off += CHUNK) {
        for (int i = 0; i < CHUNK; i++) buf[i] = (unsigned char)((off + i) * 7);
        if (write(fd, buf, CHUNK) != CHUNK) return fail("write", path);
    }
    if (close(fd) < 0) return fail("close", path);

    if ((fd = open(path, O_RDONLY)) < 0) return fail("open", path);
    long pos = 0;
    ssize_t n;
    while ((n = read(fd, buf, CHUNK)) > 0) {
        for (ssize_t i = 0; i < n; i++, pos++)
            if (buf[i] != (unsigned char)(pos * 7)) { printf("mismatch at %ld\n", pos); return 1; }
    }
    if (n < 0) return fail("read", path);
    close(fd);
    if (pos != TOTAL) { printf("mismatch at %ld\n", pos); return 1; }
    printf("verified %ld\n", pos);
    return 0;
}
