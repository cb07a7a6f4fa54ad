// Test guest for suspend and resume with files open: a running checksum
// over what it reads from a file, written to a file and appended to a log,
// so a resumed run leaves the same files and prints the same lines as an
// uninterrupted one only if every descriptor came back with its position,
// flags and rights. Paths are spelt unevenly on purpose (a snapshot records
// them normalised). Under the mount /data it reads in.bin (opened for
// reading, non-blocking), writes out.bin (created, truncated), appends to
// log.txt (O_APPEND; created) and keeps /data open as a directory, listed at
// the end. Modes (each step reads, writes and maybe appends):
//   stdin     one step per line of input
//   sleep N   N steps, each after a nap of 20 ms in poll_oneoff
//   loop N    a CPU loop of N iterations that reads the clock (an import
//             call) each time, with a step every 4096 iterations
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static uint64_t hash = 1469598103934665603ULL;
static int in_fd, out_fd, log_fd;
static DIR *dir;
static long steps;

static void mix(uint64_t v) { hash = (hash ^ v) * 1099511628211ULL; }

static void die(const char *what) {
    printf("error: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void nap(void) {
    __wasi_subscription_t sub = {0};
    sub.u.tag = __WASI_EVENTTYPE_CLOCK;
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub.u.u.clock.timeout = 20 * 1000000ULL;
    __wasi_event_t ev;
    __wasi_size_t n;
    (void)__wasi_poll_oneoff(&sub, &ev, 1, &n);
}

// Reads the next 61 bytes of in.bin (from its start again at its end), writes
// a record of the checksum to out.bin, and every third step appends to log.txt.
static void step(const char *why) {
    unsigned char buf[61];
    ssize_t n = read(in_fd, buf, sizeof buf);
    if (n < 0) die("read in.bin");
    if (n < (ssize_t)sizeof buf) {
        if (lseek(in_fd, 0, SEEK_SET) < 0) die("seek in.bin");
        ssize_t m = read(in_fd, buf + n, sizeof buf - (size_t)n);
        if (m < 0) die("read in.bin again");
        n += m;
    }
    for (ssize_t i = 0; i < n; i++) mix(buf[i]);
    mix((uint64_t)steps);
    char rec[64];
    int len = snprintf(rec, sizeof rec, "%08ld %016llx\n", steps, (unsigned long long)hash);
    if (write(out_fd, rec, (size_t)len) != len) die("write out.bin");
    if (steps % 3 == 0) {
        len = snprintf(rec, sizeof rec, "%s %ld\n", why, steps);
        if (write(log_fd, rec, (size_t)len) != len) die("append log.txt");
    }
    printf("step %ld %016llx\n", steps, (unsigned long long)hash);
    steps++;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// What each descriptor is at the end: position, flags, rights (all must have come back).
static void report(const char *name, int fd) {
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get((__wasi_fd_t)fd, &st) != 0) die("fdstat");
    off_t pos = lseek(fd, 0, SEEK_CUR);
    printf("%s fd %d pos %lld flags %u rights %llx %llx\n", name, fd, (long long)pos, (unsigned)st.fs_flags,
           (unsigned long long)st.fs_rights_base, (unsigned long long)st.fs_rights_inheriting);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "sleep";
    long n = argc > 2 ? atol(argv[2]) : 10;
    setvbuf(stdout, NULL, _IOLBF, 0);
    in_fd = open("/data/./in.bin", O_RDONLY);
    if (in_fd < 0) die("open in.bin");
    if (fcntl(in_fd, F_SETFL, O_NONBLOCK) < 0) die("fcntl in.bin");
    out_fd = open("/data/out.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out_fd < 0) die("open out.bin");
    log_fd = open("/data//log.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log_fd < 0) die("open log.txt");
    dir = opendir("/data");
    if (dir == NULL) die("opendir /data");
    printf("opened %d %d %d %d\n", in_fd, out_fd, log_fd, dirfd(dir));
    if (strcmp(mode, "stdin") == 0) {
        char line[256];
        while (fgets(line, sizeof line, stdin) != NULL) {
            for (char *c = line; *c; c++) mix((unsigned char)*c);
            step("line");
        }
    } else if (strcmp(mode, "sleep") == 0) {
        for (long i = 0; i < n; i++) {
            nap();
            step("nap");
        }
    } else if (strcmp(mode, "loop") == 0) {
        struct timespec ts;
        for (long i = 0; i < n; i++) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            mix((uint64_t)i * 2654435761u);
            if (i % 4096 == 0) step("loop");
        }
    } else {
        printf("unknown mode %s\n", mode);
        return 2;
    }
    report("in", in_fd);
    report("out", out_fd);
    report("log", log_fd);
    report("dir", dirfd(dir));
    char *names[64];
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL && count < 64) names[count++] = strdup(e->d_name);
    qsort(names, (size_t)count, sizeof names[0], by_name);
    printf("listing");
    for (int i = 0; i < count; i++) printf(" %s", names[i]);
    printf("\n");
    if (close(out_fd) != 0 || close(log_fd) != 0 || close(in_fd) != 0 || closedir(dir) != 0) die("close");
    printf("done %ld %016llx\n", steps, (unsigned long long)hash);
    return 0;
}
