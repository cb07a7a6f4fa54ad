/* Hostile guest: resource exhaustion. argv[1] names the attack:
 *   malloc [trap]     malloc 1 MiB blocks until NULL; with "trap", then abort
 *   grow [trap]       memory.grow one page at a time until it fails; with "trap", then trap
 *   spin              a tight loop that makes no calls at all
 *   fds               open the same file until path_open fails
 *   output BYTES      write BYTES bytes to stdout ("HEAD" first, "TAIL" last)
 *   tmpfs             fill the in-memory mount /t until it refuses
 *   callbytes         calls that would make the host allocate huge buffers
 *   audit_flood N     N refused path opens (the audit log must stay bounded)
 * Each prints one verdict line per attempt ("LABEL: RESULT"). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

int32_t raw_path_open(int32_t fd, int32_t dirflags, const char *path, int32_t len, int32_t oflags,
                      int64_t base, int64_t inheriting, int32_t fdflags, int32_t *out)
    __attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open")));
int32_t raw_poll_oneoff(int32_t in, int32_t out, int32_t nsubs, int32_t nevents)
    __attribute__((import_module("wasi_snapshot_preview1"), import_name("poll_oneoff")));
int32_t raw_fd_write(int32_t fd, int32_t iovs, int32_t n, int32_t nwritten)
    __attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")));
int32_t raw_resolve(int32_t host, int32_t len, int32_t port, int32_t addrs, int32_t naddrs, int32_t nresolved)
    __attribute__((import_module("wasix_32v1"), import_name("resolve")));

#include "preopen.h"
#include "verdict.h"

#define R_READ (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_FILESTAT_GET)
#define R_RW (R_READ | __WASI_RIGHTS_FD_WRITE)


/* Every block is kept reachable, so the compiler cannot elide the allocations. */
static char *volatile blocks[65536];

static int do_malloc(int trap) {
  size_t mib = 0;
  while (mib < sizeof blocks / sizeof blocks[0]) {
    char *p = malloc(1 << 20);
    if (!p) break;
    p[0] = 1;
    p[(1 << 20) - 1] = 1;
    blocks[mib++] = p;
  }
  printf("malloc: NULL after %zu MiB (memory %zu MiB)\n", mib, (size_t)__builtin_wasm_memory_size(0) / 16);
  fflush(stdout);
  if (trap) abort();
  return 0;
}

static int do_grow(int trap) {
  size_t pages = 0;
  while (__builtin_wasm_memory_grow(0, 1) != (size_t)-1) pages++;
  printf("grow: failed after %zu pages (memory %zu pages)\n", pages, (size_t)__builtin_wasm_memory_size(0));
  printf("grow_huge: %d\n", (int)__builtin_wasm_memory_grow(0, 65536));
  fflush(stdout);
  if (trap) __builtin_trap();
  return 0;
}

static int do_spin(void) {
  printf("spin: spinning\n");
  fflush(stdout);
  volatile uint64_t x = 0;
  for (;;) x++;
  return 0;
}

static int do_fds(void) {
  int d = pre("/data");
  int n = 0;
  __wasi_errno_t err;
  __wasi_fd_t fd;
  while ((err = __wasi_path_open(d, 0, "f.txt", 0, R_READ, 0, 0, &fd)) == 0) n++;
  printf("fds: %s after %d\n", ename(err), n);
  (void)__wasi_fd_close(fd);
  (void)__wasi_fd_close(d + 1);
  printf("fds_after_close: %s\n", ename(__wasi_path_open(d, 0, "f.txt", 0, R_READ, 0, 0, &fd)));
  return 0;
}

static int do_output(long long bytes) {
  static char buf[65536];
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (i % 64 == 63) ? '\n' : (char)('a' + (i / 64) % 26);
  const char *head = "HEAD\n", *tail = "TAIL\n";
  fwrite(head, 1, 5, stdout);
  long long left = bytes - 10;
  while (left > 0) {
    size_t n = left > (long long)sizeof buf ? sizeof buf : (size_t)left;
    fwrite(buf, 1, n, stdout);
    left -= (long long)n;
  }
  fwrite(tail, 1, 5, stdout);
  fflush(stdout);
  return 0;
}

static int do_tmpfs(void) {
  int t = pre("/t");
  __wasi_fd_t fd;
  __wasi_errno_t err = __wasi_path_open(t, 0, "fill.bin", __WASI_OFLAGS_CREAT, R_RW, 0, 0, &fd);
  if (err) { printf("tmpfs_open: %s\n", ename(err)); return 0; }
  static uint8_t buf[65536];
  memset(buf, 'f', sizeof buf);
  long long total = 0;
  for (int i = 0; i < 100000; i++) {
    __wasi_ciovec_t iov = { buf, sizeof buf };
    __wasi_size_t n = 0;
    err = __wasi_fd_write(fd, &iov, 1, &n);
    if (err) break;
    total += n;
  }
  printf("tmpfs: %s after %lld bytes\n", ename(err), total);
  /* Many small files also count. */
  int files = 0;
  char name[32];
  for (int i = 0; i < 100000; i++) {
    snprintf(name, sizeof name, "f%d", i);
    __wasi_fd_t f;
    if ((err = __wasi_path_open(t, 0, name, __WASI_OFLAGS_CREAT, R_RW, 0, 0, &f))) break;
    (void)__wasi_fd_close(f);
    files++;
  }
  printf("tmpfs_files: %s\n", ename(err));
  return 0;
}

static int do_callbytes(void) {
  int d = pre("/data");
  size_t len = 10 << 20;
  char *path = malloc(len);
  if (!path) { printf("callbytes: no memory for the test\n"); return 0; }
  memset(path, 'a', len);
  int32_t fd;
  printf("callbytes_path_open: %s\n", ename(raw_path_open(d, 0, path, (int32_t)len, 0, R_READ, 0, 0, &fd)));
  printf("callbytes_path_huge: %s\n", ename(raw_path_open(d, 0, path, (int32_t)0xFFFFFFFF, 0, R_READ, 0, 0, &fd)));
  static uint8_t subs[64], events[64];
  static int32_t nev;
  printf("callbytes_poll_nsubs: %s\n", ename(raw_poll_oneoff((int32_t)(uintptr_t)subs, (int32_t)(uintptr_t)events, 1000000, (int32_t)(uintptr_t)&nev)));
  printf("callbytes_poll_max: %s\n", ename(raw_poll_oneoff((int32_t)(uintptr_t)subs, (int32_t)(uintptr_t)events, (int32_t)0xFFFFFFFF, (int32_t)(uintptr_t)&nev)));
  /* 0x20000001 iovecs of 8 bytes wrap to 8 bytes in 32-bit arithmetic. */
  static __wasi_ciovec_t iov[2] = { { (const uint8_t *)"LEAK\n", 5 }, { (const uint8_t *)"LEAK\n", 5 } };
  static int32_t nw;
  printf("callbytes_iovec_wrap: %s\n", ename(raw_fd_write(1, (int32_t)(uintptr_t)iov, 0x20000001, (int32_t)(uintptr_t)&nw)));
  printf("callbytes_iovec_many: %s\n", ename(raw_fd_write(1, (int32_t)(uintptr_t)path, (int32_t)(len / 8), (int32_t)(uintptr_t)&nw)));
  static uint8_t addrs[18 * 4];
  static int32_t found;
  printf("callbytes_resolve: %s\n", ename(raw_resolve((int32_t)(uintptr_t)path, (int32_t)len, 80, (int32_t)(uintptr_t)addrs, 4, (int32_t)(uintptr_t)&found)));
  /* After all that, ordinary calls still work. */
  __wasi_fd_t f;
  printf("callbytes_after: %s\n", ename(__wasi_path_open(d, 0, "f.txt", 0, R_READ, 0, 0, &f)));
  return 0;
}

static int do_audit_flood(int n) {
  int d = pre("/data");
  int refused = 0;
  char path[64];
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof path, "../flood_%d", i);
    __wasi_fd_t fd;
    if (__wasi_path_open(d, 0, path, 0, R_READ, 0, 0, &fd) == __WASI_ERRNO_NOTCAPABLE) refused++;
  }
  printf("audit_flood: refused=%d\n", refused);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) { printf("usage: hostile_exhaust ATTACK ...\n"); return 64; }
  const char *a = argv[1];
  if (!strcmp(a, "malloc")) return do_malloc(argc > 2 && !strcmp(argv[2], "trap"));
  if (!strcmp(a, "grow")) return do_grow(argc > 2 && !strcmp(argv[2], "trap"));
  if (!strcmp(a, "spin")) return do_spin();
  if (!strcmp(a, "fds")) return do_fds();
  if (!strcmp(a, "output") && argc > 2) return do_output(atoll(argv[2]));
  if (!strcmp(a, "tmpfs")) return do_tmpfs();
  if (!strcmp(a, "callbytes")) return do_callbytes();
  if (!strcmp(a, "audit_flood") && argc > 2) return do_audit_flood(atoi(argv[2]));
  printf("unknown attack %s\n", a);
  return 64;
}
