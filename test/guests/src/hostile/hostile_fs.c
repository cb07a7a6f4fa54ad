/* Hostile guest: filesystem escapes and writes to read-only mounts.
 * argv[1] names the attack; each attack prints one verdict line per attempt:
 *   "NAME: E<ERRNO>"           the call was refused with that WASI errno
 *   "NAME: ESCAPED (<text>)"   a file outside the mounts was read (must never happen)
 *   "NAME: OK (<text>)"        a legitimate access inside the mount (controls)
 * Mounts are found by their guest names (/data, /ro, /data_b, /t), so the
 * test may mount them in any order. Files outside the mounts contain
 * "SECRET"; files inside contain "inside". Raw WASI calls are used so the
 * errno is exactly what the runtime returned (no libc path rewriting),
 * except for attacks that target wasi-libc's own preopen matching. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

/* path_open with an explicit path length (the api.h wrapper uses strlen). */
int32_t raw_path_open(int32_t fd, int32_t dirflags, const char *path, int32_t len, int32_t oflags,
                      int64_t base, int64_t inheriting, int32_t fdflags, int32_t *out)
    __attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open")));

#include "preopen.h"
#include "verdict.h"

#define R_READ (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET)
#define R_ALL_FILE ((__wasi_rights_t)0x1fffffffull)
/* Everything but the rights that mean writing a file (asking those for a directory is EISDIR). */
#define R_DIR ((__wasi_rights_t)0x1fffffffull & ~(__wasi_rights_t)(__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE))


static int need(const char *name) {
  int fd = find_preopen(name);
  if (fd < 0) {
    printf("setup: no mount %s\n", name);
    exit(3);
  }
  return fd;
}

/* Opens `path` below `dir` for reading and reads up to 63 bytes. Returns the errno; *text gets what was read. */
static int read_at(int dir, const char *path, int follow, char *text) {
  __wasi_fd_t fd;
  text[0] = 0;
  int err = __wasi_path_open(dir, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, path, 0, R_READ, 0, 0, &fd);
  if (err) return err;
  char buf[64];
  __wasi_iovec_t iov = { (uint8_t *)buf, 63 };
  __wasi_size_t n = 0;
  err = __wasi_fd_read(fd, &iov, 1, &n);
  (void)__wasi_fd_close(fd);
  if (err) return err;
  for (__wasi_size_t i = 0; i < n; i++) if (buf[i] < 32 || buf[i] > 126) buf[i] = '.';
  buf[n] = 0;
  strcpy(text, buf);
  return 0;
}

/* One escape attempt: any successful read of a file outside is an escape. */
static void attempt(const char *label, int dir, const char *path, int follow) {
  char text[64];
  int err = read_at(dir, path, follow, text);
  if (err) printf("%s: %s\n", label, ename(err));
  else if (strstr(text, "inside")) printf("%s: OK (%s)\n", label, text);
  else printf("%s: ESCAPED (%s)\n", label, text);
}

/* The same through wasi-libc's open(), which maps absolute paths onto preopens itself. */
static void attempt_libc(const char *label, const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    printf("%s: %s\n", label, ename(errno));
    return;
  }
  char buf[64];
  ssize_t n = read(fd, buf, 63);
  close(fd);
  if (n < 0) n = 0;
  for (ssize_t i = 0; i < n; i++) if (buf[i] < 32 || buf[i] > 126) buf[i] = '.';
  buf[n] = 0;
  printf("%s: %s (%s)\n", label, strstr(buf, "inside") ? "OK" : "ESCAPED", buf);
}

static void verdict(const char *label, int err) {
  printf("%s: %s\n", label, ename(err));
}

static void wait_for_go(void) {
  /* Blocks until the test writes a line on stdin. */
  char c;
  while (read(0, &c, 1) == 1 && c != '\n') {}
}

static int fs_attack(const char *a, int argc, char **argv) {
  if (!strcmp(a, "dotdot")) {
    int d = need("/data");
    attempt("dotdot", d, "../outside_secret.txt", 1);
    attempt("dotdot_nofollow", d, "../outside_secret.txt", 0);
  } else if (!strcmp(a, "dotdot_deep")) {
    int d = need("/data");
    attempt("dotdot_deep", d, "../../../../../../../../../../etc/passwd", 1);
    attempt("dotdot_deep_secret", d, "../../../../../../../../../..//tmp/../etc/passwd", 1);
  } else if (!strcmp(a, "absolute")) {
    int d = need("/data");
    attempt("absolute", d, "/etc/passwd", 1);
    attempt("absolute_secret", d, argc > 2 ? argv[2] : "/etc/hostname", 1);
    attempt_libc("absolute_libc", "/etc/passwd");
  } else if (!strcmp(a, "guest_abs_symlink")) {
    int d = need("/data");
    const char *target = argc > 2 ? argv[2] : "/etc/passwd";
    verdict("guest_abs_symlink_create", __wasi_path_symlink(target, d, "abs_link"));
    attempt("guest_abs_symlink_open", d, "abs_link", 1);
    (void)__wasi_path_unlink_file(d, "abs_link");
  } else if (!strcmp(a, "guest_rel_symlink")) {
    int d = need("/data");
    verdict("guest_rel_symlink_create", __wasi_path_symlink("../outside_secret.txt", d, "rel_link"));
    attempt("guest_rel_symlink_open", d, "rel_link", 1);
    attempt("guest_rel_symlink_nofollow", d, "rel_link", 0);
    verdict("guest_rel_symlink_cleanup", __wasi_path_unlink_file(d, "rel_link"));
  } else if (!strcmp(a, "guest_dir_symlink")) {
    int d = need("/data");
    verdict("guest_dir_symlink_create", __wasi_path_symlink("..", d, "up"));
    attempt("guest_dir_symlink_open", d, "up/outside_secret.txt", 1);
    attempt("guest_dir_symlink_twice", d, "up/up/up/etc/passwd", 1);
    verdict("guest_dir_symlink_create2", __wasi_path_symlink("sub/../../data2", d, "sneaky"));
    attempt("guest_dir_symlink_sneaky", d, "sneaky/secret.txt", 1);
    verdict("guest_dir_symlink_cleanup", __wasi_path_unlink_file(d, "up") | __wasi_path_unlink_file(d, "sneaky"));
  } else if (!strcmp(a, "host_symlinks")) {
    int d = need("/data");
    attempt("host_abs_link", d, "host_abs_link", 1);
    attempt("host_rel_link", d, "host_rel_link", 1);
    attempt("host_dir_link", d, "host_dir_link/secret.txt", 1);
    attempt("host_abs_dir_link", d, "host_abs_dir_link/secret.txt", 1);
    attempt("host_chain_link", d, "sub/chain_link", 1);
  } else if (!strcmp(a, "trailing")) {
    int d = need("/data");
    attempt("trailing_slash", d, "../outside_secret.txt/", 1);
    attempt("trailing_dot", d, "./../outside_secret.txt", 1);
    attempt("trailing_slashdot", d, "sub/./../../outside_secret.txt/.", 1);
    attempt("trailing_dotdot_only", d, "..", 1);
    attempt("trailing_dotdot_slash", d, "../", 1);
    attempt("trailing_many_slashes", d, "sub//..//..//outside_secret.txt", 1);
    attempt("trailing_control", d, "sub/./inside_sub.txt", 1);
  } else if (!strcmp(a, "dir_dotdot")) {
    int d = need("/data");
    attempt("dir_dotdot", d, "sub/../../outside_secret.txt", 1);
    attempt("dir_dotdot_sibling", d, "sub/../../data2/secret.txt", 1);
    attempt("dir_dotdot_control", d, "sub/../inside.txt", 1);
  } else if (!strcmp(a, "symlink_loop")) {
    int d = need("/data");
    attempt("symlink_loop_host", d, "loop_a", 1);
    verdict("symlink_loop_create", __wasi_path_symlink("self", d, "self"));
    attempt("symlink_loop_self", d, "self", 1);
    attempt("symlink_loop_dir", d, "self/x", 1);
    (void)__wasi_path_unlink_file(d, "self");
  } else if (!strcmp(a, "prefix")) {
    int d = need("/data");
    attempt_libc("prefix_libc", "/data2/secret.txt");
    attempt_libc("prefix_libc_dotdot", "/data/../data2/secret.txt");
    attempt("prefix_raw", d, "../data2/secret.txt", 1);
    attempt_libc("prefix_libc_control", "/data/inside.txt");
  } else if (!strcmp(a, "xmount_ro")) {
    int d = need("/data"), ro = need("/ro");
    verdict("xmount_ro_link", __wasi_path_link(ro, 0, "file.txt", d, "stolen_link.txt"));
    verdict("xmount_ro_rename", __wasi_path_rename(ro, "file.txt", d, "stolen_rename.txt"));
  } else if (!strcmp(a, "xmount_rw")) {
    int d = need("/data"), b = need("/data_b");
    verdict("xmount_rw_link", __wasi_path_link(d, 0, "inside.txt", b, "linked.txt"));
    verdict("xmount_rw_rename", __wasi_path_rename(d, "inside.txt", b, "moved.txt"));
    verdict("xmount_rw_rename_dir", __wasi_path_rename(d, "sub", b, "moved_sub"));
  } else if (!strcmp(a, "xmount_tmpfs")) {
    int d = need("/data"), t = need("/t");
    __wasi_fd_t f;
    verdict("xmount_tmpfs_setup", __wasi_path_open(t, 0, "mine.txt", __WASI_OFLAGS_CREAT, R_ALL_FILE, 0, 0, &f));
    verdict("xmount_tmpfs_link_out", __wasi_path_link(t, 0, "mine.txt", d, "from_tmpfs.txt"));
    verdict("xmount_tmpfs_rename_out", __wasi_path_rename(t, "mine.txt", d, "from_tmpfs.txt"));
    verdict("xmount_tmpfs_link_in", __wasi_path_link(d, 0, "inside.txt", t, "from_host.txt"));
  } else if (!strcmp(a, "held_dir")) {
    int d = need("/data");
    __wasi_fd_t sub;
    int err = __wasi_path_open(d, 0, "sub", __WASI_OFLAGS_DIRECTORY, R_DIR, R_DIR, 0, &sub);
    if (err) { verdict("held_dir_open", err); return 0; }
    printf("held_dir: ready\n");
    fflush(stdout);
    wait_for_go();
    attempt("held_dir_inside", sub, "inside_sub.txt", 1);
    attempt("held_dir_dotdot", sub, "../outside_secret.txt", 1);
    attempt("held_dir_dotdot2", sub, "../../outside_secret.txt", 1);
    attempt("held_dir_dotdot_dir", sub, "../data/inside.txt", 1);
    attempt("held_dir_preopen_still", d, "inside.txt", 1);
    attempt("held_dir_gone", d, "sub/inside_sub.txt", 1);
  } else if (!strcmp(a, "race")) {
    int d = need("/data");
    int n = argc > 2 ? atoi(argv[2]) : 2000;
    int escapes = 0, ok = 0, denied = 0, fescapes = 0, fok = 0, fdenied = 0;
    char text[64], first[64] = "";
    for (int i = 0; i < n; i++) {
      int err = read_at(d, "swap/secret.txt", 1, text);
      if (err) denied++;
      else if (strstr(text, "inside")) ok++;
      else { escapes++; if (!first[0]) strcpy(first, text); }
      err = read_at(d, "swapf", 1, text);
      if (err) fdenied++;
      else if (strstr(text, "inside")) fok++;
      else { fescapes++; if (!first[0]) strcpy(first, text); }
    }
    printf("race_dir: iterations=%d escapes=%d ok=%d refused=%d\n", n, escapes, ok, denied);
    printf("race_file: iterations=%d escapes=%d ok=%d refused=%d\n", n, fescapes, fok, fdenied);
    if (first[0]) printf("race: ESCAPED (%s)\n", first);
  } else if (!strcmp(a, "o_directory")) {
    int d = need("/data");
    __wasi_fd_t f;
    verdict("o_directory_nofollow", __wasi_path_open(d, 0, "host_dir_link", __WASI_OFLAGS_DIRECTORY, R_DIR, R_DIR, 0, &f));
    verdict("o_directory_follow", __wasi_path_open(d, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "host_dir_link", __WASI_OFLAGS_DIRECTORY, R_DIR, R_DIR, 0, &f));
    verdict("o_directory_abs", __wasi_path_open(d, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "host_abs_dir_link", __WASI_OFLAGS_DIRECTORY, R_DIR, R_DIR, 0, &f));
    verdict("o_directory_slash", __wasi_path_open(d, 0, "host_dir_link/", 0, R_DIR, R_DIR, 0, &f));
  } else if (!strcmp(a, "proc_self")) {
    int d = need("/data");
    attempt("proc_self_root", d, "proc/self/root/etc/passwd", 1);
    attempt("proc_self_cwd", d, "proc/self/cwd/outside_secret.txt", 1);
    attempt("proc_self_fd", d, "proc/self/fd/3/../outside_secret.txt", 1);
    attempt("proc_self_abs", d, "/proc/self/fd/3/../outside_secret.txt", 1);
    attempt_libc("proc_self_libc", "/proc/self/root/etc/passwd");
  } else if (!strcmp(a, "bad_names")) {
    int d = need("/data");
    __wasi_fd_t f;
    static const char nul[] = "inside.txt\0/../../outside_secret.txt";
    verdict("bad_names_nul", raw_path_open(d, 1, nul, sizeof nul - 1, 0, R_READ, 0, 0, &f));
    static const char bad[] = "\xff\xfe/../x";
    verdict("bad_names_utf8", raw_path_open(d, 1, bad, sizeof bad - 1, 0, R_READ, 0, 0, &f));
    verdict("bad_names_empty", raw_path_open(d, 1, "", 0, 0, R_READ, 0, 0, &f));
    verdict("bad_names_stdio_dir", __wasi_path_open(1, 0, "x", 0, R_READ, 0, 0, &f));
  } else if (!strcmp(a, "fifo")) {
    int d = need("/data");
    char text[64];
    verdict("fifo_read", read_at(d, "fifo", 0, text));
    __wasi_fd_t f;
    verdict("fifo_write", __wasi_path_open(d, 0, "fifo", 0, __WASI_RIGHTS_FD_WRITE, 0, 0, &f));
  } else {
    return -1;
  }
  return 0;
}

static int ro_attack(const char *op) {
  int ro = need("/ro");
  __wasi_fd_t f;
  if (!strcmp(op, "create")) {
    verdict("ro_create", __wasi_path_open(ro, 0, "new.txt", __WASI_OFLAGS_CREAT, R_ALL_FILE, 0, 0, &f));
  } else if (!strcmp(op, "create_excl")) {
    verdict("ro_create_excl", __wasi_path_open(ro, 0, "file.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_READ, 0, 0, &f));
  } else if (!strcmp(op, "write")) {
    verdict("ro_write_open", __wasi_path_open(ro, 0, "file.txt", 0, __WASI_RIGHTS_FD_WRITE | R_READ, 0, 0, &f));
    int err = __wasi_path_open(ro, 0, "file.txt", 0, R_READ, 0, 0, &f);
    if (err) { verdict("ro_write_setup", err); return 0; }
    __wasi_ciovec_t iov = { (const uint8_t *)"PWNED", 5 };
    __wasi_size_t n;
    verdict("ro_write_fd", __wasi_fd_write(f, &iov, 1, &n));
    verdict("ro_pwrite_fd", __wasi_fd_pwrite(f, &iov, 1, 0, &n));
  } else if (!strcmp(op, "trunc")) {
    verdict("ro_trunc", __wasi_path_open(ro, 0, "file.txt", __WASI_OFLAGS_TRUNC, R_READ, 0, 0, &f));
  } else if (!strcmp(op, "unlink")) {
    verdict("ro_unlink", __wasi_path_unlink_file(ro, "file.txt"));
  } else if (!strcmp(op, "rmdir")) {
    verdict("ro_rmdir", __wasi_path_remove_directory(ro, "emptydir"));
  } else if (!strcmp(op, "mkdir")) {
    verdict("ro_mkdir", __wasi_path_create_directory(ro, "newdir"));
  } else if (!strcmp(op, "rename")) {
    verdict("ro_rename", __wasi_path_rename(ro, "file.txt", ro, "renamed.txt"));
  } else if (!strcmp(op, "symlink")) {
    verdict("ro_symlink", __wasi_path_symlink("file.txt", ro, "link"));
  } else if (!strcmp(op, "link")) {
    verdict("ro_link", __wasi_path_link(ro, 0, "file.txt", ro, "hardlink.txt"));
  } else if (!strcmp(op, "times")) {
    verdict("ro_path_times", __wasi_path_filestat_set_times(ro, 0, "file.txt", 0, 0, __WASI_FSTFLAGS_MTIM_NOW | __WASI_FSTFLAGS_ATIM_NOW));
    verdict("ro_dir_times", __wasi_fd_filestat_set_times(ro, 0, 0, __WASI_FSTFLAGS_MTIM_NOW));
    int err = __wasi_path_open(ro, 0, "file.txt", 0, R_READ | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES, 0, 0, &f);
    if (err) { verdict("ro_fd_times_open", err); return 0; }
    verdict("ro_fd_times", __wasi_fd_filestat_set_times(f, 1000000000ull, 1000000000ull, __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_ATIM));
  } else if (!strcmp(op, "allocate")) {
    verdict("ro_allocate_open", __wasi_path_open(ro, 0, "file.txt", 0, R_READ | __WASI_RIGHTS_FD_ALLOCATE, 0, 0, &f));
    int err = __wasi_path_open(ro, 0, "file.txt", 0, R_READ, 0, 0, &f);
    if (err) { verdict("ro_allocate_setup", err); return 0; }
    verdict("ro_allocate", __wasi_fd_allocate(f, 0, 1 << 20));
  } else if (!strcmp(op, "setsize")) {
    int err = __wasi_path_open(ro, 0, "file.txt", 0, R_READ, 0, 0, &f);
    if (err) { verdict("ro_setsize_setup", err); return 0; }
    verdict("ro_setsize", __wasi_fd_filestat_set_size(f, 0));
    /* Asking for the right is no write (Go's os.Open asks for it to read): opened, and the right is not granted. */
    err = __wasi_path_open(ro, 0, "file.txt", 0, R_READ | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE, 0, 0, &f);
    verdict("ro_setsize_open", err);
    if (!err) verdict("ro_setsize_after_open", __wasi_fd_filestat_set_size(f, 0));
  } else if (!strcmp(op, "regain")) {
    verdict("ro_regain_rights", __wasi_fd_fdstat_set_rights(ro, R_DIR, R_DIR));
    __wasi_fd_t sub;
    int err = __wasi_path_open(ro, 0, "sub", __WASI_OFLAGS_DIRECTORY, R_DIR, R_DIR, 0, &sub);
    if (err) { verdict("ro_regain_sub", err); return 0; }
    verdict("ro_regain_sub_rights", __wasi_fd_fdstat_set_rights(sub, R_DIR, R_DIR));
    verdict("ro_regain_sub_create", __wasi_path_open(sub, 0, "new.txt", __WASI_OFLAGS_CREAT, R_ALL_FILE, 0, 0, &f));
    verdict("ro_regain_sub_mkdir", __wasi_path_create_directory(sub, "newdir"));
  } else if (!strcmp(op, "libc")) {
    /* What programs do: wasi-libc derives the rights it asks for from the directory's. */
    static const struct { const char *label; int flags; } opens[] = {
      { "ro_libc_wronly", O_WRONLY }, { "ro_libc_rdwr", O_RDWR }, { "ro_libc_rdwr_append", O_RDWR | O_APPEND },
      { "ro_libc_append", O_WRONLY | O_APPEND }, { "ro_libc_creat", O_WRONLY | O_CREAT },
      { "ro_libc_creat_existing", O_RDONLY | O_CREAT }, { "ro_libc_excl", O_WRONLY | O_CREAT | O_EXCL },
      { "ro_libc_trunc", O_RDONLY | O_TRUNC }, { "ro_libc_sync", O_RDONLY | O_SYNC }, { "ro_libc_dsync", O_RDONLY | O_DSYNC },
    };
    for (size_t i = 0; i < sizeof opens / sizeof opens[0]; i++) {
      int fd = open("/ro/file.txt", opens[i].flags, 0644);
      printf("%s: %s\n", opens[i].label, fd < 0 ? ename(errno) : "OK (opened)");
      if (fd >= 0) close(fd);
    }
    printf("ro_libc_fopen_w: %s\n", fopen("/ro/new.txt", "w") ? "OK (opened)" : ename(errno));
    printf("ro_libc_fopen_a: %s\n", fopen("/ro/file.txt", "a") ? "OK (opened)" : ename(errno));
    printf("ro_libc_fopen_rplus: %s\n", fopen("/ro/file.txt", "r+") ? "OK (opened)" : ename(errno));
    printf("ro_libc_mkdir: %s\n", mkdir("/ro/newdir", 0755) ? ename(errno) : "OK");
    printf("ro_libc_unlink: %s\n", unlink("/ro/file.txt") ? ename(errno) : "OK");
    printf("ro_libc_rmdir: %s\n", rmdir("/ro/emptydir") ? ename(errno) : "OK");
    printf("ro_libc_rename: %s\n", rename("/ro/file.txt", "/ro/moved.txt") ? ename(errno) : "OK");
    printf("ro_libc_link: %s\n", link("/ro/file.txt", "/ro/hard.txt") ? ename(errno) : "OK");
    printf("ro_libc_symlink: %s\n", symlink("file.txt", "/ro/sym") ? ename(errno) : "OK");
    printf("ro_libc_utimens: %s\n", utimensat(AT_FDCWD, "/ro/file.txt", NULL, 0) ? ename(errno) : "OK");
    /* Controls: reading still works, with libc's and with Go's read-only spelling of the rights. */
    int fd = open("/ro/file.txt", O_RDONLY);
    printf("ro_libc_rdonly: %s\n", fd < 0 ? ename(errno) : "OK");
    printf("ro_libc_opendir: %s\n", opendir("/ro/sub") ? "OK" : ename(errno));
  } else if (!strcmp(op, "spellings")) {
    /* Raw path_open: every way of asking to write, one at a time, each on its own. */
    static const struct { const char *label; __wasi_oflags_t o; __wasi_rights_t r; __wasi_fdflags_t f; } asks[] = {
      { "ro_ask_fd_write", 0, R_READ | __WASI_RIGHTS_FD_WRITE, 0 },
      { "ro_ask_fd_write_only", 0, __WASI_RIGHTS_FD_WRITE, 0 },
      { "ro_ask_fd_allocate", 0, R_READ | __WASI_RIGHTS_FD_ALLOCATE, 0 },
      { "ro_ask_creat", __WASI_OFLAGS_CREAT, R_READ, 0 },
      { "ro_ask_creat_excl", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, R_READ, 0 },
      { "ro_ask_creat_missing", __WASI_OFLAGS_CREAT, R_READ, 0 },
      { "ro_ask_trunc", __WASI_OFLAGS_TRUNC, R_READ, 0 },
      { "ro_ask_append", 0, R_READ, __WASI_FDFLAGS_APPEND },
      { "ro_ask_dsync", 0, R_READ, __WASI_FDFLAGS_DSYNC },
      { "ro_ask_rsync", 0, R_READ, __WASI_FDFLAGS_RSYNC },
      { "ro_ask_sync", 0, R_READ, __WASI_FDFLAGS_SYNC },
      { "ro_ask_high_bits", 0, R_READ | (__WASI_RIGHTS_FD_WRITE | (1ull << 40)), 0 },
    };
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
      const char *path = strstr(asks[i].label, "missing") ? "missing.txt" : "file.txt";
      verdict(asks[i].label, __wasi_path_open(ro, 0, path, asks[i].o, asks[i].r, 0, asks[i].f, &f));
    }
    /* Controls: Go's os.Open asks for FD_FILESTAT_SET_SIZE and PATH_CREATE_* to read; that is a read. */
    __wasi_rights_t go_read = (__wasi_rights_t)0x1fffffffull & ~(__wasi_rights_t)(__WASI_RIGHTS_FD_DATASYNC |
      __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE | __WASI_RIGHTS_SOCK_SHUTDOWN |
      __WASI_RIGHTS_SOCK_ACCEPT);
    int err = __wasi_path_open(ro, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "file.txt", 0, go_read, go_read, 0, &f);
    verdict("ro_ask_go_read", err);
    if (!err) {
      __wasi_ciovec_t iov = { (const uint8_t *)"PWNED", 5 };
      __wasi_size_t n;
      verdict("ro_ask_go_read_write", __wasi_fd_write(f, &iov, 1, &n));
      verdict("ro_ask_go_read_setsize", __wasi_fd_filestat_set_size(f, 0));
    }
    verdict("ro_ask_nonblock", __wasi_path_open(ro, 0, "file.txt", 0, R_READ, 0, __WASI_FDFLAGS_NONBLOCK, &f));
  } else if (!strcmp(op, "read")) {
    char text[64];
    int err = read_at(ro, "file.txt", 0, text);
    if (err) verdict("ro_read", err);
    else printf("ro_read: OK (%s)\n", text);
  } else {
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    printf("usage: hostile_fs ATTACK [ARGS]\n");
    return 64;
  }
  int r = !strcmp(argv[1], "ro") ? (argc > 2 ? ro_attack(argv[2]) : -1) : fs_attack(argv[1], argc, argv);
  if (r < 0) {
    printf("unknown attack %s\n", argv[1]);
    return 64;
  }
  return 0;
}
