// Test guest: copies the file argv[1] to a new file argv[2] (for jobs whose
// input tree and output mount are directories of the host).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: copy_file FROM TO\n"); return 2; }
    int in = open(argv[1], O_RDONLY);
    if (in < 0) { fprintf(stderr, "copy_file: %s: %s\n", argv[1], strerror(errno)); return 1; }
    int out = open(argv[2], O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (out < 0) { fprintf(stderr, "copy_file: %s: %s\n", argv[2], strerror(errno)); return 1; }
    char buf[4096];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) { fprintf(stderr, "copy_file: write: %s\n", strerror(errno)); return 1; }
            off += w;
        }
    if (n < 0) { fprintf(stderr, "copy_file: read: %s\n", strerror(errno)); return 1; }
    printf("copied %s\n", argv[1]);
    return 0;
}
