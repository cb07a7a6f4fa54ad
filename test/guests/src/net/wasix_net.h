/* Capsule test guests: the WASIX socket imports (module wasix_32v1) and the
 * helpers the socket tests share. Layouts follow WASIX's api_wasix.h:
 * addr_port is 110 bytes (tag u8 at 0, port u16 host order at 2, IPv4 bytes
 * at 4), addr_ip is 18 bytes (tag at 0, address bytes at 2). */
#ifndef CAPSULE_WASIX_NET_H
#define CAPSULE_WASIX_NET_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <wasi/api.h>
#include <unistd.h>

#define WX(name) __attribute__((import_module("wasix_32v1"), import_name(#name)))

typedef struct { uint8_t tag; uint8_t pad; uint16_t port; uint8_t addr[106]; } wx_addr_port;
typedef struct { uint8_t tag; uint8_t pad; uint8_t addr[16]; } wx_addr_ip;
typedef struct { uint8_t tag; uint8_t pad[7]; uint64_t ns; } wx_opt_time;

enum { WX_INET4 = 1, WX_INET6 = 2 };
enum { WX_STREAM = 1, WX_DGRAM = 2 };
enum { WX_OPT_REUSE_ADDR = 2, WX_OPT_NO_DELAY = 3, WX_OPT_LAST_ERROR = 11, WX_OPT_KEEP_ALIVE = 12,
       WX_OPT_RECV_BUF = 15, WX_OPT_SEND_BUF = 16, WX_OPT_RECV_TIMEOUT = 19, WX_OPT_SEND_TIMEOUT = 20,
       WX_OPT_CONNECT_TIMEOUT = 21, WX_OPT_ACCEPT_TIMEOUT = 22 };

int32_t wx_sock_open(int32_t af, int32_t type, int32_t proto, int32_t *fd) WX(sock_open);
int32_t wx_sock_bind(int32_t fd, const wx_addr_port *addr) WX(sock_bind);
int32_t wx_sock_listen(int32_t fd, int32_t backlog) WX(sock_listen);
int32_t wx_sock_accept_v2(int32_t fd, int32_t flags, int32_t *newfd, wx_addr_port *addr) WX(sock_accept_v2);
int32_t wx_sock_connect(int32_t fd, const wx_addr_port *addr) WX(sock_connect);
int32_t wx_sock_recv_from(int32_t fd, const __wasi_iovec_t *iovs, int32_t n, int32_t flags, int32_t *got, uint16_t *oflags, wx_addr_port *from) WX(sock_recv_from);
int32_t wx_sock_send_to(int32_t fd, const __wasi_ciovec_t *iovs, int32_t n, int32_t flags, const wx_addr_port *to, int32_t *sent) WX(sock_send_to);
int32_t wx_sock_status(int32_t fd, uint8_t *status) WX(sock_status);
int32_t wx_sock_addr_local(int32_t fd, wx_addr_port *addr) WX(sock_addr_local);
int32_t wx_sock_addr_peer(int32_t fd, wx_addr_port *addr) WX(sock_addr_peer);
int32_t wx_sock_set_opt_flag(int32_t fd, int32_t opt, int32_t flag) WX(sock_set_opt_flag);
int32_t wx_sock_get_opt_flag(int32_t fd, int32_t opt, uint8_t *flag) WX(sock_get_opt_flag);
int32_t wx_sock_set_opt_time(int32_t fd, int32_t opt, const wx_opt_time *t) WX(sock_set_opt_time);
int32_t wx_sock_get_opt_size(int32_t fd, int32_t opt, uint64_t *size) WX(sock_get_opt_size);
int32_t wx_sock_set_opt_size(int32_t fd, int32_t opt, uint64_t size) WX(sock_set_opt_size);
int32_t wx_resolve(const char *host, int32_t len, int32_t port, wx_addr_ip *addrs, int32_t n, int32_t *found) WX(resolve);

/* Exits with a message naming the failed call and its errno (as strerror). */
static inline void wx_check(int32_t err, const char *what) {
  if (err != 0) {
    printf("error: %s: %s\n", what, strerror(err));
    fflush(stdout);
    exit(2);
  }
}

/* Sleeps `ms` milliseconds with a poll_oneoff clock subscription. */
static inline void wx_nap_ms(uint64_t ms) {
  __wasi_subscription_t sub;
  memset(&sub, 0, sizeof sub);
  sub.u.tag = __WASI_EVENTTYPE_CLOCK;
  sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  sub.u.u.clock.timeout = ms * 1000000ull;
  __wasi_event_t ev;
  __wasi_size_t n;
  wx_check(__wasi_poll_oneoff(&sub, &ev, 1, &n), "poll_oneoff");
}

/* The monotonic clock in nanoseconds. */
static inline uint64_t wx_now_ns(void) {
  __wasi_timestamp_t t = 0;
  wx_check(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t), "clock_time_get");
  return t;
}

/* A stream socket connected to `to` (IPv4), retrying refused connects every ms while the server starts. */
static inline int32_t wx_connect_retry(const wx_addr_port *to, int tries) {
  for (int i = 0;; i++) {
    int32_t fd;
    wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
    int32_t err = wx_sock_connect(fd, to);
    if (err == 0) return fd;
    close(fd);
    if (err != ECONNREFUSED || i >= tries) wx_check(err, "sock_connect");
    wx_nap_ms(1);
  }
}

static inline wx_addr_port wx_ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  wx_addr_port x;
  memset(&x, 0, sizeof x);
  x.tag = WX_INET4;
  x.port = port;
  x.addr[0] = a; x.addr[1] = b; x.addr[2] = c; x.addr[3] = d;
  return x;
}

/* Resolves `name` (a guest name, host name or IP literal) to its first IPv4 address. */
static inline int32_t wx_lookup4(const char *name, uint16_t port, wx_addr_port *out) {
  wx_addr_ip ips[8];
  int32_t found = 0;
  int32_t err = wx_resolve(name, (int32_t)strlen(name), port, ips, 8, &found);
  if (err) return err;
  for (int i = 0; i < found; i++) {
    if (ips[i].tag == WX_INET4) {
      *out = wx_ipv4(ips[i].addr[0], ips[i].addr[1], ips[i].addr[2], ips[i].addr[3], port);
      return 0;
    }
  }
  return ENOENT;
}

static inline int32_t wx_send_all(int32_t fd, const void *buf, size_t len) {
  const uint8_t *p = buf;
  while (len > 0) {
    __wasi_ciovec_t iov = { p, len };
    size_t sent = 0;
    __wasi_errno_t err = __wasi_sock_send(fd, &iov, 1, 0, &sent);
    if (err) return err;
    p += sent; len -= sent;
  }
  return 0;
}

/* Receives up to len bytes; returns the count (0 at end of stream) or -errno. */
static inline int64_t wx_recv(int32_t fd, void *buf, size_t len) {
  __wasi_iovec_t iov = { buf, len };
  size_t got = 0;
  __wasi_roflags_t of = 0;
  __wasi_errno_t err = __wasi_sock_recv(fd, &iov, 1, 0, &got, &of);
  return err ? -(int64_t)err : (int64_t)got;
}

/* Waits up to `ms` for fd to be readable (type FD_READ) or writable (FD_WRITE); returns the fd's event, or one of type CLOCK on timeout. */
static inline __wasi_event_t wx_wait_fd(int32_t fd, uint8_t type, uint64_t ms) {
  __wasi_subscription_t subs[2];
  memset(subs, 0, sizeof subs);
  subs[0].userdata = 1;
  subs[0].u.tag = type;
  /* fd_read and fd_write are one layout: the descriptor to wait on. */
  subs[0].u.u.fd_read.file_descriptor = (uint32_t)fd;
  subs[1].userdata = 2;
  subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
  subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  subs[1].u.u.clock.timeout = ms * 1000000ull;
  __wasi_event_t evs[2];
  __wasi_size_t n = 0;
  wx_check(__wasi_poll_oneoff(subs, evs, 2, &n), "poll_oneoff");
  for (__wasi_size_t i = 0; i < n; i++) if (evs[i].userdata == 1) return evs[i];
  return evs[0];
}

#endif
