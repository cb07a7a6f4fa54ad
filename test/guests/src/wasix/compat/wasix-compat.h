/* Functions wasix-libc (at the revision scripts/build-wasix-sysroot.sh was
 * written for) lacks, force-included (-include) when the real programs
 * under test/guests/src/wasix are built, so that their sources stay
 * unmodified. Each is what a guest can honestly do:
 *  - inet_addr: through inet_aton, which wasix-libc has;
 *  - chroot: refused (ENOSYS): a guest is already confined to its mounts;
 *  - if_nametoindex: no interface is known by name (0, ENXIO). */
#include <arpa/inet.h>
#include <errno.h>

static inline in_addr_t inet_addr(const char *s) {
  struct in_addr a;
  return inet_aton(s, &a) ? a.s_addr : (in_addr_t)-1;
}

static inline int chroot(const char *path) {
  (void)path;
  errno = ENOSYS;
  return -1;
}

static inline unsigned int if_nametoindex(const char *name) {
  (void)name;
  errno = ENXIO;
  return 0;
}
