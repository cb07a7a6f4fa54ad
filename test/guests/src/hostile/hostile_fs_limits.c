/* Hostile guest: what files can make the host hold. argv[1] names the attack:
 *   listings DIR N    hold N descriptors on /data/DIR, each with a listing started,
 *                     then check every entry is listed once and seeking by cookie works
 *   unlinked          keep unlinked files open in the in-memory mount /t (1 MiB)
 *   rename_over       rename over a file that is still open, in /t
 *   sizes             grow a file in /t by set_size, allocate and pwrite far out
 *   entries           fill /t with empty files, directories and hard links; long names
 *   badfd             every fd_* call on closed, unknown and huge descriptor numbers
 * Each prints "LABEL: RESULT" lines (RESULT an errno name, OK, or counts). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#include "preopen.h"
#include "verdict.h"

#define R_FILE (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | \
                __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | __WASI_RIGHTS_FD_ALLOCATE)
#define R_LIST (__WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_FD_FILESTAT_GET)
#define KiB 1024


static void verdict(const char *label, int err) { printf("%s: %s\n", label, ename(err)); }

/* ------------------------------------------------------------------ listings */

static uint8_t dirbuf[64 * KiB];

/* One fd_readdir from `cookie` with a buffer of `len` bytes; calls fn for each whole entry. Returns the errno. */
typedef void (*entry_fn)(const __wasi_dirent_t *e, const char *name, void *arg);
static int read_chunk(int fd, size_t len, __wasi_dircookie_t *cookie, int *done, entry_fn fn, void *arg) {
  __wasi_size_t used = 0;
  int err = __wasi_fd_readdir(fd, dirbuf, len, *cookie, &used);
  if (err) return err;
  size_t at = 0;
  while (at + sizeof(__wasi_dirent_t) <= used) {
    __wasi_dirent_t e;
    memcpy(&e, dirbuf + at, sizeof e);
    if (at + sizeof e + e.d_namlen > used) break; /* cut short: asked for again from its cookie */
    char name[512];
    size_t n = e.d_namlen < sizeof name - 1 ? e.d_namlen : sizeof name - 1;
    memcpy(name, dirbuf + at + sizeof e, n);
    name[n] = 0;
    fn(&e, name, arg);
    *cookie = e.d_next;
    at += sizeof e + e.d_namlen;
  }
  *done = used < len;
  return 0;
}

struct tally {
  long count;
  uint64_t sum;
  __wasi_dircookie_t next; /* the cookie that leads to the entry after the last one counted */
  long sample_at[3];
  __wasi_dircookie_t sample_cookie[3];
  uint64_t sample_hash[3];
};

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  while (*s) h = (h ^ (uint8_t)*s++) * 1099511628211ull;
  return h;
}

static void count_entry(const __wasi_dirent_t *e, const char *name, void *arg) {
  struct tally *t = arg;
  /* The cookie that leads to this entry is the previous entry's d_next: remember samples by position. */
  for (int i = 0; i < 3; i++) {
    if (t->count != t->sample_at[i]) continue;
    t->sample_cookie[i] = t->next;
    t->sample_hash[i] = hash(name);
  }
  t->count++;
  t->sum += hash(name);
  t->next = e->d_next;
}

/* Lists fd from cookie 0 in chunks of `len` bytes; returns the errno. */
static int list_all(int fd, size_t len, struct tally *t) {
  __wasi_dircookie_t cookie = 0;
  int done = 0;
  while (!done) {
    int err = read_chunk(fd, len, &cookie, &done, count_entry, t);
    if (err) return err;
  }
  return 0;
}

static void first_entry(const __wasi_dirent_t *e, const char *name, void *arg) {
  uint64_t *h = arg;
  if (!*h) *h = hash(name);
  (void)e;
}

static int do_listings(const char *dir, int n) {
  int data = pre("/data");
  int *fds = calloc((size_t)n, sizeof *fds);
  int held = 0, err = 0;
  for (; held < n; held++) {
    __wasi_fd_t fd;
    if ((err = __wasi_path_open(data, 0, dir, __WASI_OFLAGS_DIRECTORY, R_LIST, 0, 0, &fd))) break;
    fds[held] = (int)fd;
    /* Start a listing on each and keep it going: the old runtime cached the whole listing here. */
    __wasi_dircookie_t cookie = 0;
    int done;
    struct tally t = { .sample_at = { -1, -1, -1 } };
    if ((err = read_chunk((int)fd, 256, &cookie, &done, count_entry, &t))) break;
  }
  printf("listings_held: %d %s\n", held, ename(err));

  /* Every entry once, whatever the chunk size: big chunks, then chunks that cut entries short. */
  struct tally big = { .sample_at = { 5, 1000, 25000 } }, small = { .sample_at = { -1, -1, -1 } };
  if ((err = list_all(fds[0], sizeof dirbuf, &big))) { verdict("listings_count", err); return 0; }
  if ((err = list_all(fds[1], 100, &small))) { verdict("listings_count_small", err); return 0; }
  printf("listings_count: %ld\n", big.count);
  printf("listings_same: %s\n", big.count == small.count && big.sum == small.sum ? "OK" : "DIFFERENT");

  /* Seeking by cookie, forwards and backwards, on descriptors whose listings are elsewhere. */
  int bad = 0;
  const int order[] = { 2, 0, 1, 0, 2 };
  for (int k = 0; k < 5; k++) {
    int i = order[k];
    if (big.sample_at[i] >= big.count) continue;
    uint64_t h = 0;
    __wasi_dircookie_t cookie = big.sample_cookie[i];
    int done;
    if ((err = read_chunk(fds[2 + k % 2], 4 * KiB, &cookie, &done, first_entry, &h)) || h != big.sample_hash[i]) bad++;
  }
  printf("listings_seek: %s\n", bad ? "WRONG" : "OK");
  for (int i = 0; i < held; i++) (void)__wasi_fd_close(fds[i]);
  free(fds);
  return 0;
}

/* ------------------------------------------------------------------ tmpfs */

static uint8_t block[64 * KiB];

static __wasi_fd_t create(int dir, const char *name, int *err) {
  __wasi_fd_t fd = 0;
  *err = __wasi_path_open(dir, 0, name, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, R_FILE, 0, 0, &fd);
  return fd;
}

/* Writes `bytes` to fd in 64 KiB blocks; returns the errno. */
static int fill(__wasi_fd_t fd, long bytes) {
  for (long done = 0; done < bytes; done += sizeof block) {
    __wasi_ciovec_t iov = { block, sizeof block };
    __wasi_size_t n;
    int err = __wasi_fd_write(fd, &iov, 1, &n);
    if (err) return err;
  }
  return 0;
}

static int do_unlinked(void) {
  int t = pre("/t");
  __wasi_fd_t held[40];
  int files = 0, err = 0;
  memset(block, 'u', sizeof block);
  for (; files < 40; files++) {
    char name[32];
    snprintf(name, sizeof name, "u%d", files);
    held[files] = create(t, name, &err);
    if (err) break;
    err = fill(held[files], 256 * KiB);
    (void)__wasi_path_unlink_file(t, name);
    if (err) { files++; break; }
  }
  printf("unlinked: %s after %d files\n", ename(err), files);
  for (int i = 0; i < files; i++) (void)__wasi_fd_close(held[i]);
  /* Closing the last descriptor gives the space back. */
  __wasi_fd_t f = create(t, "after", &err);
  if (!err) err = fill(f, 768 * KiB);
  verdict("unlinked_after_close", err);
  return 0;
}

static int do_rename_over(void) {
  int t = pre("/t");
  int err;
  __wasi_fd_t a = create(t, "a", &err);
  if (!err) err = fill(a, 640 * KiB);
  verdict("rename_over_setup", err);
  __wasi_fd_t b = create(t, "b", &err);
  (void)__wasi_fd_close(b);
  verdict("rename_over_rename", __wasi_path_rename(t, "b", t, "a"));
  /* "a" is gone from every directory, but its 640 KiB live on in the open descriptor. */
  __wasi_fd_t c = create(t, "c", &err);
  if (!err) err = fill(c, 640 * KiB);
  verdict("rename_over_write", err);
  (void)__wasi_fd_close(a);
  verdict("rename_over_after_close", fill(c, 320 * KiB));
  return 0;
}

static int do_sizes(void) {
  int t = pre("/t");
  int err;
  __wasi_fd_t f = create(t, "s", &err);
  if (err) { verdict("sizes_setup", err); return 0; }
  __wasi_ciovec_t one = { (const uint8_t *)"x", 1 };
  __wasi_size_t n;
  verdict("sizes_pwrite_1tib", __wasi_fd_pwrite(f, &one, 1, 1ull << 40, &n));
  verdict("sizes_pwrite_2mib", __wasi_fd_pwrite(f, &one, 1, 2ull << 20, &n));
  verdict("sizes_set_size_2mib", __wasi_fd_filestat_set_size(f, 2ull << 20));
  verdict("sizes_set_size_2p52", __wasi_fd_filestat_set_size(f, 1ull << 52));
  verdict("sizes_allocate_2mib", __wasi_fd_allocate(f, 0, 2ull << 20));
  verdict("sizes_allocate_far", __wasi_fd_allocate(f, 1ull << 40, 1));
  /* Up to the size is fine, and shrinking gives the space back for another file. */
  verdict("sizes_set_size_768k", __wasi_fd_filestat_set_size(f, 768 * KiB));
  verdict("sizes_shrink", __wasi_fd_filestat_set_size(f, 0));
  __wasi_fd_t g = create(t, "g", &err);
  verdict("sizes_allocate_768k", err ? err : __wasi_fd_allocate(g, 0, 768 * KiB));
  __wasi_filestat_t st;
  err = __wasi_fd_filestat_get(f, &st);
  printf("sizes_final: %s size=%llu\n", ename(err), (unsigned long long)st.size);
  return 0;
}

static int do_entries(void) {
  int t = pre("/t");
  char name[300];
  int err = 0, files = 0, dirs = 0, links = 0;
  memset(name, 'n', 255);
  name[255] = 0;
  __wasi_fd_t f;
  verdict("entries_name_255", __wasi_path_open(t, 0, name, __WASI_OFLAGS_CREAT, R_FILE, 0, 0, &f));
  (void)__wasi_fd_close(f);
  memset(name, 'm', 256);
  name[256] = 0;
  verdict("entries_name_256", __wasi_path_open(t, 0, name, __WASI_OFLAGS_CREAT, R_FILE, 0, 0, &f));
  verdict("entries_mkdir_256", __wasi_path_create_directory(t, name));
  verdict("entries_symlink_256", __wasi_path_symlink("x", t, name));
  err = __wasi_path_open(t, 0, "target", __WASI_OFLAGS_CREAT, R_FILE, 0, 0, &f);
  verdict("entries_link_256", err ? err : __wasi_path_link(t, 0, "target", t, name));
  for (; files < 100000; files++) {
    snprintf(name, sizeof name, "f%d", files);
    if ((err = __wasi_path_open(t, 0, name, __WASI_OFLAGS_CREAT, R_FILE, 0, 0, &f))) break;
    (void)__wasi_fd_close(f);
  }
  printf("entries_files: %s after %d\n", ename(err), files);
  for (int i = 0; i < files; i++) {
    snprintf(name, sizeof name, "f%d", i);
    (void)__wasi_path_unlink_file(t, name);
  }
  for (; dirs < 100000; dirs++) {
    snprintf(name, sizeof name, "d%d", dirs);
    if ((err = __wasi_path_create_directory(t, name))) break;
  }
  printf("entries_dirs: %s after %d\n", ename(err), dirs);
  for (int i = 0; i < dirs; i++) {
    snprintf(name, sizeof name, "d%d", i);
    (void)__wasi_path_remove_directory(t, name);
  }
  err = 0;
  for (; links < 1000000; links++) {
    snprintf(name, sizeof name, "%x", links);
    if ((err = __wasi_path_link(t, 0, "target", t, name))) break;
  }
  printf("entries_links: %s after %d\n", ename(err), links);
  return 0;
}

/* ------------------------------------------------------------------ bad descriptors */

#define BAD_COUNT 6
static __wasi_fd_t bad[BAD_COUNT];
static int worst;
static char first_wrong[64];

static void expect_badf(const char *call, int i, int err) {
  if (err == __WASI_ERRNO_BADF) return;
  worst++;
  if (!first_wrong[0]) snprintf(first_wrong, sizeof first_wrong, "%s(fd %u) -> %s", call, bad[i], ename(err));
}

static int do_badfd(void) {
  int data = pre("/data");
  __wasi_fd_t closed;
  if (__wasi_path_open(data, 0, ".", __WASI_OFLAGS_DIRECTORY, R_LIST, 0, 0, &closed)) return 0;
  (void)__wasi_fd_close(closed);
  const __wasi_fd_t list[BAD_COUNT] = { closed, 1000, 65536, 0x7fffffff, 0x80000000u, 0xffffffffu };
  memcpy(bad, list, sizeof bad);
  uint8_t buf[256];
  __wasi_iovec_t iov = { buf, sizeof buf };
  __wasi_ciovec_t ciov = { buf, sizeof buf };
  __wasi_size_t n;
  __wasi_filesize_t pos;
  __wasi_fdstat_t fst;
  __wasi_filestat_t st;
  __wasi_prestat_t ps;
  for (int i = 0; i < BAD_COUNT; i++) {
    __wasi_fd_t fd = bad[i];
    expect_badf("fd_advise", i, __wasi_fd_advise(fd, 0, 0, __WASI_ADVICE_NORMAL));
    expect_badf("fd_advise_bad_args", i, __wasi_fd_advise(fd, ~0ull, ~0ull, 99));
    expect_badf("fd_allocate", i, __wasi_fd_allocate(fd, 0, 1));
    expect_badf("fd_datasync", i, __wasi_fd_datasync(fd));
    expect_badf("fd_fdstat_get", i, __wasi_fd_fdstat_get(fd, &fst));
    expect_badf("fd_fdstat_set_flags", i, __wasi_fd_fdstat_set_flags(fd, 0));
    expect_badf("fd_fdstat_set_rights", i, __wasi_fd_fdstat_set_rights(fd, 0, 0));
    expect_badf("fd_filestat_get", i, __wasi_fd_filestat_get(fd, &st));
    expect_badf("fd_filestat_set_size", i, __wasi_fd_filestat_set_size(fd, 0));
    expect_badf("fd_filestat_set_times", i, __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    expect_badf("fd_pread", i, __wasi_fd_pread(fd, &iov, 1, 0, &n));
    expect_badf("fd_prestat_get", i, __wasi_fd_prestat_get(fd, &ps));
    expect_badf("fd_prestat_dir_name", i, __wasi_fd_prestat_dir_name(fd, buf, sizeof buf));
    expect_badf("fd_pwrite", i, __wasi_fd_pwrite(fd, &ciov, 1, 0, &n));
    expect_badf("fd_read", i, __wasi_fd_read(fd, &iov, 1, &n));
    expect_badf("fd_readdir", i, __wasi_fd_readdir(fd, buf, sizeof buf, 0, &n));
    expect_badf("fd_renumber_from", i, __wasi_fd_renumber(fd, 1));
    expect_badf("fd_renumber_to", i, __wasi_fd_renumber(1, fd));
    expect_badf("fd_seek", i, __wasi_fd_seek(fd, 0, __WASI_WHENCE_CUR, &pos));
    expect_badf("fd_sync", i, __wasi_fd_sync(fd));
    expect_badf("fd_tell", i, __wasi_fd_tell(fd, &pos));
    expect_badf("fd_write", i, __wasi_fd_write(fd, &ciov, 1, &n));
    expect_badf("fd_close", i, __wasi_fd_close(fd));
    expect_badf("path_open", i, __wasi_path_open(fd, 0, "x", 0, R_LIST, 0, 0, &closed));
    expect_badf("path_create_directory", i, __wasi_path_create_directory(fd, "x"));
    expect_badf("path_filestat_get", i, __wasi_path_filestat_get(fd, 0, "x", &st));
    expect_badf("path_unlink_file", i, __wasi_path_unlink_file(fd, "x"));
    expect_badf("sock_shutdown", i, __wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR));
  }
  /* stdout must still work after renumber attempts (nothing was moved or closed). */
  printf("badfd: %s\n", worst ? "WRONG" : "EBADF");
  if (worst) printf("badfd_first_wrong: %s (%d wrong)\n", first_wrong, worst);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 64;
  const char *a = argv[1];
  if (!strcmp(a, "listings") && argc > 3) return do_listings(argv[2], atoi(argv[3]));
  if (!strcmp(a, "unlinked")) return do_unlinked();
  if (!strcmp(a, "rename_over")) return do_rename_over();
  if (!strcmp(a, "sizes")) return do_sizes();
  if (!strcmp(a, "entries")) return do_entries();
  if (!strcmp(a, "badfd")) return do_badfd();
  printf("unknown attack %s\n", a);
  return 64;
}
