// Test guest: what one guest can observe of the guest before it on a reused
// enclave thread. "observe leave SECRET [exit]" leaves SECRET everywhere it
// can (heap, static data, environment, an open file in its first preopen)
// and ends cleanly (returning, or with proc_exit). "observe dump TERCES" (the
// secret reversed, so that its own arguments do not contain it) prints what
// it sees, before it allocates anything: a hash of its whole linear memory,
// whether the secret is anywhere in it, its arguments, environment, open
// descriptors, the monotonic clock and 16 random bytes.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

extern char **environ;

static char left[65536];
// Kept where the compiler cannot see it unused (it would drop the allocation and its writes).
char *volatile kept;

static int leave(const char *secret, int use_exit) {
    size_t n = strlen(secret);
    for (size_t i = 0; i + n <= sizeof left; i += n) memcpy(left + i, secret, n);
    // 4 MiB of heap in 64 KiB blocks: under a smaller memory limit the guest fills it, then aborts.
    size_t heap = 4u << 20, block = 64u << 10;
    for (size_t done = 0; done < heap; done += block) {
        char *p = malloc(block);
        // Out of memory: a trap, as a C program that aborts on a failed allocation.
        if (p == NULL) abort();
        for (size_t i = 0; i + n <= block; i += n) memcpy(p + i, secret, n);
        kept = p;
    }
    setenv("LEFT_BEHIND", secret, 1);
    // A file of the first preopen, left open with the secret in it.
    char dir[256];
    __wasi_prestat_t pre;
    if (__wasi_fd_prestat_get(3, &pre) == 0 && __wasi_fd_prestat_dir_name(3, (uint8_t *)dir, sizeof dir - 1) == 0) {
        dir[pre.u.dir.pr_name_len < sizeof dir ? pre.u.dir.pr_name_len : sizeof dir - 1] = 0;
        char path[300];
        snprintf(path, sizeof path, "%s/left.txt", dir);
        int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
        if (fd >= 0) {
            if (write(fd, secret, n) < 0) return 3;
            printf("left fd %d\n", fd);
        }
    }
    printf("left %zu bytes\n", heap);
    fflush(stdout);
    if (use_exit) _Exit(0);
    return 0;
}

static int dump(const char *reversed) {
    // First, before anything is allocated: the whole memory, hashed and searched.
    const volatile uint8_t *mem = (const volatile uint8_t *)0;
    size_t size = __builtin_wasm_memory_size(0) * 65536;
    size_t n = strlen(reversed);
    uint64_t hash = 14695981039346656037ull;
    int found = 0;
    for (size_t i = 0; i < size; i++) {
        hash = (hash ^ mem[i]) * 1099511628211ull;
        if (!found && n > 0 && i + n <= size && mem[i] == (uint8_t)reversed[n - 1]) {
            size_t k = 1;
            while (k < n && mem[i + k] == (uint8_t)reversed[n - 1 - k]) k++;
            found = k == n;
        }
    }
    printf("memory %zu bytes hash %016llx secret %s\n", size, (unsigned long long)hash, found ? "FOUND" : "absent");
    for (char **e = environ; *e; e++) printf("env %s\n", *e);
    for (int fd = 0; fd < 100; fd++) {
        __wasi_fdstat_t st;
        if (__wasi_fd_fdstat_get(fd, &st) != 0) continue;
        __wasi_prestat_t pre;
        char name[256] = "";
        if (__wasi_fd_prestat_get(fd, &pre) == 0 && pre.u.dir.pr_name_len < sizeof name) {
            if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, pre.u.dir.pr_name_len) == 0) name[pre.u.dir.pr_name_len] = 0;
        }
        printf("fd %d type %d %s\n", fd, st.fs_filetype, name);
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("monotonic %lld\n", (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec);
    unsigned char r[16];
    if (getentropy(r, sizeof r) != 0) return 4;
    printf("random ");
    for (size_t i = 0; i < sizeof r; i++) printf("%02x", r[i]);
    printf("\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "leave") == 0) return leave(argv[2], argc >= 4 && strcmp(argv[3], "exit") == 0);
    if (argc >= 3 && strcmp(argv[1], "dump") == 0) return dump(argv[2]);
    fprintf(stderr, "usage: observe leave SECRET [exit] | observe dump TERCES\n");
    return 64;
}
