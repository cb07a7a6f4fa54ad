/* Hostile guests: the preopened directory the guest sees under a name. */
#ifndef CAPSULE_HOSTILE_PREOPEN_H
#define CAPSULE_HOSTILE_PREOPEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

/* The descriptor of the mount the guest sees as `name`, or -1. */
static int find_preopen(const char *name) {
  for (int fd = 3; fd < 64; fd++) {
    __wasi_prestat_t ps;
    if (__wasi_fd_prestat_get(fd, &ps) != 0) continue;
    char buf[256];
    if (ps.u.dir.pr_name_len >= sizeof buf) continue;
    if (__wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, ps.u.dir.pr_name_len) != 0) continue;
    buf[ps.u.dir.pr_name_len] = 0;
    if (strcmp(buf, name) == 0) return fd;
  }
  return -1;
}

/* The same, for a mount the attack cannot do without: exit 3 if it is missing. */
__attribute__((unused)) static int pre(const char *name) {
  int fd = find_preopen(name);
  if (fd >= 0) return fd;
  printf("setup: no mount %s\n", name);
  exit(3);
}

#endif
