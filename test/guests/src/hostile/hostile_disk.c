/* Hostile guest: filling the host's disk through a writable host mount.
 * argv[1] names the attack, argv[2] the directory (a mount) it works in:
 *   bytes DIR [CHUNK]  write DIR/big in CHUNK-byte writes (default 64 KiB) until refused
 *   sparse DIR         grow DIR/sparse by ftruncate, posix_fallocate and a pwrite far out
 *   rewrite DIR N      write the same 64 KiB of DIR/again N times over (no growth)
 *   entries DIR        create empty files until refused, then try a directory,
 *                      a symlink and a hard link, and open an existing file with O_CREAT
 *   dirs DIR           create directories until refused
 * Each prints "LABEL: RESULT" lines (RESULT an errno name or OK, with counts). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "verdict.h"

#define MAX_BYTES (1L << 30)
#define MAX_ENTRIES 1000000

static char buf[1 << 20];
static char path[4096];

static const char *at(const char *dir, const char *name) {
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

static int bytes(const char *dir, long chunk) {
  int fd = open(at(dir, "big"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { printf("open: %s\n", ename(errno)); return 1; }
  memset(buf, 'x', sizeof buf);
  long written = 0;
  int err = 0;
  while (written < MAX_BYTES) {
    ssize_t n = write(fd, buf, (size_t)chunk);
    if (n < 0) { err = errno; break; }
    written += n;
  }
  printf("bytes: %s written=%ld\n", ename(err), written);
  close(fd);
  return 0;
}

static int sparse(const char *dir) {
  int fd = open(at(dir, "sparse"), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { printf("open: %s\n", ename(errno)); return 1; }
  printf("ftruncate: %s\n", ename(ftruncate(fd, MAX_BYTES) < 0 ? errno : 0));
  int e = posix_fallocate(fd, 0, MAX_BYTES);
  printf("fallocate: %s\n", ename(e));
  printf("pwrite: %s\n", ename(pwrite(fd, "x", 1, MAX_BYTES) < 0 ? errno : 0));
  printf("small: %s\n", ename(ftruncate(fd, 1024) < 0 ? errno : 0));
  struct stat st;
  fstat(fd, &st);
  printf("size: %lld\n", (long long)st.st_size);
  close(fd);
  return 0;
}

static int rewrite(const char *dir, long times) {
  int fd = open(at(dir, "again"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { printf("open: %s\n", ename(errno)); return 1; }
  int err = 0;
  long i;
  for (i = 0; i < times; i++) {
    if (pwrite(fd, buf, 64 * 1024, 0) < 0) { err = errno; break; }
  }
  printf("rewrite: %s times=%ld\n", ename(err), i);
  close(fd);
  return 0;
}

static int entries(const char *dir) {
  char name[64];
  long made = 0;
  int err = 0;
  while (made < MAX_ENTRIES) {
    snprintf(name, sizeof name, "f%ld", made);
    int fd = open(at(dir, name), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) { err = errno; break; }
    close(fd);
    made++;
  }
  printf("files: %s made=%ld\n", ename(err), made);
  printf("mkdir: %s\n", ename(mkdir(at(dir, "d"), 0755) < 0 ? errno : 0));
  printf("symlink: %s\n", ename(symlink("f0", at(dir, "s")) < 0 ? errno : 0));
  char from[4096];
  snprintf(from, sizeof from, "%s/f0", dir);
  printf("link: %s\n", ename(link(from, at(dir, "l")) < 0 ? errno : 0));
  int fd = open(at(dir, "f0"), O_WRONLY | O_CREAT, 0644);
  printf("reopen: %s\n", ename(fd < 0 ? errno : 0));
  if (fd >= 0) close(fd);
  printf("mkdir_existing: %s\n", ename(mkdir(dir, 0755) < 0 ? errno : 0));
  return 0;
}

static int dirs(const char *dir) {
  char name[64];
  long made = 0;
  int err = 0;
  while (made < MAX_ENTRIES) {
    snprintf(name, sizeof name, "d%ld", made);
    if (mkdir(at(dir, name), 0755) < 0) { err = errno; break; }
    made++;
  }
  printf("dirs: %s made=%ld\n", ename(err), made);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: hostile_disk ATTACK DIR [N]\n"); return 2; }
  const char *what = argv[1], *dir = argv[2];
  if (strcmp(what, "bytes") == 0) {
    long chunk = argc > 3 ? atol(argv[3]) : 64 * 1024;
    if (chunk < 1 || chunk > (long)sizeof buf) chunk = 64 * 1024;
    return bytes(dir, chunk);
  }
  if (strcmp(what, "sparse") == 0) return sparse(dir);
  if (strcmp(what, "rewrite") == 0) return rewrite(dir, argc > 3 ? atol(argv[3]) : 100);
  if (strcmp(what, "entries") == 0) return entries(dir);
  if (strcmp(what, "dirs") == 0) return dirs(dir);
  fprintf(stderr, "unknown attack %s\n", what);
  return 2;
}
