// Benchmark guest: N raw write(fd, buf, 8) calls (N = argv[1], default 1000000),
// to stdout, or to the file argv[2] (created or truncated) when given.
// Every call is exactly one fd_write, so this measures per-call host overhead;
// to a file it prints "bytes=B" (the file's size after close) for the check.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    int fd = 1;
    if (argc > 2 && (fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) { perror(argv[2]); return 2; }
    static const char buf[8] = "1234567\n";
    for (long i = 0; i < n; i++)
        if (write(fd, buf, 8) != 8) return 1;
    if (fd != 1) {
        if (close(fd) != 0) { perror("close"); return 1; }
        struct stat st;
        if (stat(argv[2], &st) != 0) { perror("stat"); return 1; }
        printf("bytes=%lld\n", (long long)st.st_size);
    }
    return 0;
}
