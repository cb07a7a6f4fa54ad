// Benchmark guest: reads the file argv[1] with 64 KiB read() calls and sums its bytes.
// Prints "bytes=N sum=S" (sum mod 2^32); measures bulk file-read throughput.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static unsigned char buf[65536];

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: read_chunks PATH\n"); return 2; }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { fprintf(stderr, "read_chunks: %s: %s\n", argv[1], strerror(errno)); return 1; }
    uint64_t bytes = 0;
    uint32_t sum = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) sum += buf[i];
        bytes += (uint64_t)n;
    }
    if (n < 0) { fprintf(stderr, "read_chunks: %s\n", strerror(errno)); return 1; }
    close(fd);
    printf("bytes=%llu sum=%u\n", (unsigned long long)bytes, sum);
    return 0;
}
