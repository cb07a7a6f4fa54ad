// Test guest for coalesced small file writes. Writes N 8-byte records
// ("%07ld\n", record i) to PATH with one write() each, then, by MODE:
//   check   checks, through a second descriptor and with fstat/stat, that every
//           record is there at each of several points, prints "ok N"; then
//           checks a seek back and overwrite, and an fsync, the same way
//   exit    prints "wrote N" and exits with 3 without closing the file
//   trap    prints "wrote N" and traps without closing the file
//   spin    prints "wrote N" and loops forever without another call: the data must reach
//           the host unasked, and survive the guest being killed
// usage: small_file_writes MODE PATH N
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile unsigned long sink;

static void record(char *buf, long i) {
    snprintf(buf, 9, "%07ld\n", i % 10000000);
}

/* Reads PATH through a fresh descriptor and checks it holds exactly records [0, n). */
static int verify(const char *path, long n) {
    struct stat st;
    if (stat(path, &st) != 0 || st.st_size != n * 8) {
        printf("stat size %lld, expected %ld\n", (long long)st.st_size, n * 8);
        return 0;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) { printf("open for read: %s\n", strerror(errno)); return 0; }
    char got[8], want[9];
    for (long i = 0; i < n; i++) {
        if (read(fd, got, 8) != 8) { printf("short read at record %ld\n", i); close(fd); return 0; }
        record(want, i);
        if (memcmp(got, want, 8) != 0) { printf("record %ld differs\n", i); close(fd); return 0; }
    }
    close(fd);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: small_file_writes MODE PATH N\n"); return 2; }
    const char *mode = argv[1], *path = argv[2];
    long n = atol(argv[3]);
    int check = strcmp(mode, "check") == 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { printf("open: %s\n", strerror(errno)); return 2; }
    char buf[9];
    for (long i = 0; i < n; i++) {
        record(buf, i);
        if (write(fd, buf, 8) != 8) { printf("write: %s\n", strerror(errno)); return 2; }
        // Look at the file from inside at a few points in the middle of a run.
        if (check && (i + 1 == 1 || i + 1 == 1000 || i + 1 == n / 2) && !verify(path, i + 1)) return 1;
    }
    if (check) {
        if (!verify(path, n)) return 1;
        struct stat st;
        if (fstat(fd, &st) != 0 || st.st_size != n * 8) { printf("fstat size %lld\n", (long long)st.st_size); return 1; }
        // A seek back and an overwrite of record 0 with itself, then more records at the end.
        if (lseek(fd, 0, SEEK_SET) != 0) { printf("lseek: %s\n", strerror(errno)); return 1; }
        record(buf, 0);
        if (write(fd, buf, 8) != 8) return 2;
        if (lseek(fd, n * 8, SEEK_SET) != n * 8) return 2;
        for (long i = n; i < n + 10; i++) { record(buf, i); if (write(fd, buf, 8) != 8) return 2; }
        if (fsync(fd) != 0) { printf("fsync: %s\n", strerror(errno)); return 1; }
        if (!verify(path, n + 10)) return 1;
        if (close(fd) != 0) { printf("close: %s\n", strerror(errno)); return 1; }
        printf("ok %ld\n", n + 10);
        return 0;
    }
    printf("wrote %ld\n", n);
    fflush(stdout);
    if (strcmp(mode, "exit") == 0) exit(3);
    if (strcmp(mode, "trap") == 0) __builtin_trap();
    for (unsigned long i = 0;; i++) sink += i; // spin: no call at all until killed
}
