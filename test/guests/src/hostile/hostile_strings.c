/* Hostile guest: strings chosen to be shown. Paths and symlink targets the
 * policy refuses end up in Capsule's own words (the exit summary, audit
 * records); this guest makes them forge lines, move the terminal, reorder
 * text, or grow without bound. It never writes to stderr itself: every byte
 * there is Capsule's. argv[1] names the attack:
 *   forge               refused opens and a refused symlink whose path or target carries
 *                       "\ncapsule: ...", ESC and C1 sequences, \r, U+202E, and invalid UTF-8
 *   long N LEN          N refused opens of distinct paths of LEN bytes each (ENAMETOOLONG past 4095)
 * Verdict lines on stdout: "LABEL: RESULT" (RESULT the errno name, or a count). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

int32_t raw_path_open(int32_t fd, int32_t dirflags, const char *path, int32_t len, int32_t oflags,
                      int64_t base, int64_t inheriting, int32_t fdflags, int32_t *out)
    __attribute__((import_module("wasi_snapshot_preview1"), import_name("path_open")));

#include "preopen.h"
#include "verdict.h"

#define R_READ (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK)


static int open_len(int dir, const char *path, size_t len) {
  int32_t fd;
  return raw_path_open(dir, 0, path, (int32_t)len, 0, R_READ, 0, 0, &fd);
}

/* Each leads out of the mount (so it is refused and audited) and carries what a terminal would obey. */
static const char *const FORGERIES[] = {
  /* A line of its own, then a screen clear and a window title. */
  "../\ncapsule: FORGED exit summary\x1b[2J\x1b]0;pwned\x07",
  /* Carriage return over Capsule's words, then a red CSI. */
  "../x\rcapsule: FORGED\x1b[31m",
  /* C1 CSI (U+009B, UTF-8 C2 9B), DEL, a bare ESC at the end. */
  "../\xc2\x9b" "31m\x7f\x1b",
  /* Right-to-left override and isolates: the user would read it reversed. */
  "../\xe2\x80\xae" "txt.exe\xe2\x81\xa6\xe2\x80\xa8",
  /* An absolute path, refused the same way. */
  "/\x1b[1;1Hcapsule: FORGED\n",
};

static int do_forge(void) {
  int d = pre("/data");
  for (size_t i = 0; i < sizeof FORGERIES / sizeof FORGERIES[0]; i++) {
    printf("forge_%zu: %s\n", i, ename(open_len(d, FORGERIES[i], strlen(FORGERIES[i]))));
  }
  /* Invalid UTF-8 (a lone continuation byte, an overlong NUL, 0xff) never becomes text: EILSEQ. */
  static const char bad[] = "../\x80\xc0\x80\xff\x1b[2J";
  printf("forge_utf8: %s\n", ename(open_len(d, bad, sizeof bad - 1)));
  /* An absolute symlink target carrying a forged line: refused, and its target is quoted in the audit. */
  printf("forge_symlink: %s\n", ename(__wasi_path_symlink("/etc/\ncapsule: FORGED\x1b[0m", d, "link")));
  return 0;
}

static int do_long(int n, size_t len) {
  int d = pre("/data");
  char *path = malloc(len + 1);
  if (!path) { printf("long: no memory\n"); return 3; }
  memset(path, 'a', len);
  /* Components of 200 bytes: under NAME_MAX, so the path is refused for leaving the mount. */
  for (size_t at = 200; at < len; at += 201) path[at] = '/';
  memcpy(path, "../", 3);
  int refused = 0, toolong = 0;
  for (int i = 0; i < n; i++) {
    /* Distinct paths: the number leads, after the "../". */
    int k = snprintf(path + 3, 16, "%d", i);
    path[3 + k] = '/';
    int e = open_len(d, path, len);
    if (e == __WASI_ERRNO_NOTCAPABLE) refused++;
    if (e == __WASI_ERRNO_NAMETOOLONG) toolong++;
  }
  printf("long: refused=%d toolong=%d\n", refused, toolong);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "forge") == 0) return do_forge();
  if (argc >= 4 && strcmp(argv[1], "long") == 0) return do_long(atoi(argv[2]), (size_t)atol(argv[3]));
  printf("usage: hostile_strings forge | long N LEN\n");
  return 2;
}
