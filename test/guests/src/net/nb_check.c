/* Non-blocking sockets and timeouts. Modes:
 *   nb_check connect PORT        non-blocking connect to its own listener on
 *                                127.0.0.1:PORT: EINPROGRESS, then writable in
 *                                poll_oneoff, SO_ERROR 0, data flows.
 *   nb_check connect-to HOST PORT
 *                                non-blocking connect to HOST:PORT (e.g. the
 *                                host bridge) then poll for writable; prints
 *                                SO_ERROR, and on success echoes "ping".
 *   nb_check accept PORT         listens on PORT, non-blocking accept gives
 *                                EAGAIN ("accept: EAGAIN" is printed), then
 *                                poll_oneoff waits for the listener to become
 *                                readable, accept succeeds, the connection is
 *                                echoed until the client half-closes.
 *   nb_check rcvtimeo PORT       SO_RCVTIMEO (option 19) on a stream and on a
 *                                datagram socket: recv gives EAGAIN.
 * Every line is a fact the test checks; failures print "error: ...". */
#include "wasix_net.h"

static const char *errname(int e) {
  switch (e) {
    case 0: return "0";
    case EAGAIN: return "EAGAIN";
    case EINPROGRESS: return "EINPROGRESS";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EACCES: return "EACCES";
    case EALREADY: return "EALREADY";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case EPIPE: return "EPIPE";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EINVAL: return "EINVAL";
    default: return strerror(e);
  }
}

static void set_nonblocking(int32_t fd) {
  wx_check(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK), "fd_fdstat_set_flags");
}

static int32_t listener(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
  wx_addr_port at = wx_ipv4(a, b, c, d, port);
  wx_check(wx_sock_bind(fd, &at), "sock_bind");
  wx_check(wx_sock_listen(fd, 8), "sock_listen");
  return fd;
}

static uint64_t so_error(int32_t fd) {
  uint64_t v = 99;
  wx_check(wx_sock_get_opt_size(fd, WX_OPT_LAST_ERROR, &v), "sock_get_opt_size(SO_ERROR)");
  return v;
}

static void report_wait(const char *what, __wasi_event_t ev) {
  if (ev.type == __WASI_EVENTTYPE_CLOCK) { printf("error: %s: poll timed out\n", what); exit(2); }
  printf("poll: %s %s, error %s%s\n", what, ev.type == __WASI_EVENTTYPE_FD_WRITE ? "writable" : "readable",
         errname(ev.error), (ev.fd_readwrite.flags & __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP) ? ", hangup" : "");
}

static int do_connect(uint16_t port) {
  int32_t l = listener(127, 0, 0, 1, port);
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
  set_nonblocking(fd);
  wx_addr_port to = wx_ipv4(127, 0, 0, 1, port);
  printf("connect: %s\n", errname(wx_sock_connect(fd, &to)));
  report_wait("client", wx_wait_fd(fd, __WASI_EVENTTYPE_FD_WRITE, 10000));
  printf("so_error: %s\n", errname((int)so_error(fd)));
  wx_check(wx_send_all(fd, "ping", 4), "send");
  int32_t c;
  wx_addr_port peer;
  wx_check(wx_sock_accept_v2(l, 0, &c, &peer), "sock_accept_v2");
  char b[16] = {0};
  int64_t n = wx_recv(c, b, sizeof b - 1);
  printf("server got: %s\n", n > 0 ? b : errname((int)-n));
  return 0;
}

static int do_connect_to(const char *host, uint16_t port) {
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
  set_nonblocking(fd);
  printf("connect: %s\n", errname(wx_sock_connect(fd, &to)));
  report_wait("client", wx_wait_fd(fd, __WASI_EVENTTYPE_FD_WRITE, 10000));
  int e = (int)so_error(fd);
  printf("so_error: %s\n", errname(e));
  if (e) return 0;
  wx_check(wx_send_all(fd, "ping", 4), "send");
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), "shutdown");
  char b[64];
  size_t have = 0;
  for (;;) {
    __wasi_event_t ev = wx_wait_fd(fd, __WASI_EVENTTYPE_FD_READ, 10000);
    if (ev.type == __WASI_EVENTTYPE_CLOCK) { printf("error: no reply\n"); return 2; }
    int64_t n = wx_recv(fd, b + have, sizeof b - 1 - have);
    if (n == -EAGAIN) continue;
    if (n < 0) { printf("error: recv: %s\n", errname((int)-n)); return 2; }
    if (n == 0) break;
    have += (size_t)n;
  }
  b[have] = 0;
  printf("reply: %s\n", b);
  return 0;
}

static int do_accept(uint16_t port) {
  int32_t l = listener(0, 0, 0, 0, port);
  set_nonblocking(l);
  int32_t c;
  wx_addr_port peer;
  printf("accept: %s\n", errname(wx_sock_accept_v2(l, 0, &c, &peer)));
  fflush(stdout);
  report_wait("listener", wx_wait_fd(l, __WASI_EVENTTYPE_FD_READ, 20000));
  int32_t err = wx_sock_accept_v2(l, 0, &c, &peer);
  printf("accept: %s from %u.%u.%u.%u\n", err ? errname(err) : "ok", peer.addr[0], peer.addr[1], peer.addr[2], peer.addr[3]);
  if (err) return 2;
  static uint8_t buf[4096];
  uint64_t total = 0;
  for (;;) {
    int64_t n = wx_recv(c, buf, sizeof buf);
    if (n < 0) { printf("error: recv: %s\n", errname((int)-n)); return 2; }
    if (n == 0) break;
    wx_check(wx_send_all(c, buf, (size_t)n), "send");
    total += (uint64_t)n;
  }
  printf("echoed %llu bytes\n", (unsigned long long)total);
  close(c);
  close(l);
  return 0;
}

static void set_rcvtimeo(int32_t fd, uint64_t ms) {
  wx_opt_time t;
  memset(&t, 0, sizeof t);
  t.tag = 1;
  t.ns = ms * 1000000ull;
  wx_check(wx_sock_set_opt_time(fd, WX_OPT_RECV_TIMEOUT, &t), "sock_set_opt_time(SO_RCVTIMEO)");
}

static int do_rcvtimeo(uint16_t port) {
  int32_t l = listener(127, 0, 0, 1, port);
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
  wx_addr_port to = wx_ipv4(127, 0, 0, 1, port);
  wx_check(wx_sock_connect(fd, &to), "sock_connect");
  int32_t c;
  wx_addr_port peer;
  wx_check(wx_sock_accept_v2(l, 0, &c, &peer), "sock_accept_v2");
  set_rcvtimeo(fd, 200);
  char b[16];
  int64_t n = wx_recv(fd, b, sizeof b);
  printf("stream recv: %s\n", n < 0 ? errname((int)-n) : "data?");
  /* Still usable after the timeout. */
  wx_check(wx_send_all(c, "late", 4), "send");
  n = wx_recv(fd, b, sizeof b);
  printf("stream recv after send: %lld bytes\n", (long long)n);

  int32_t u;
  wx_check(wx_sock_open(WX_INET4, WX_DGRAM, 0, &u), "sock_open dgram");
  wx_addr_port at = wx_ipv4(127, 0, 0, 1, port);
  wx_check(wx_sock_bind(u, &at), "sock_bind dgram");
  set_rcvtimeo(u, 200);
  __wasi_iovec_t iov = { (uint8_t *)b, sizeof b };
  int32_t got = 0;
  uint16_t flags = 0;
  wx_addr_port from;
  printf("datagram recv: %s\n", errname(wx_sock_recv_from(u, &iov, 1, 0, &got, &flags, &from)));
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  uint16_t port = argc > 2 ? (uint16_t)atoi(argv[2]) : 7000;
  if (strcmp(mode, "connect") == 0) return do_connect(port);
  if (strcmp(mode, "connect-to") == 0 && argc > 3) return do_connect_to(argv[2], (uint16_t)atoi(argv[3]));
  if (strcmp(mode, "accept") == 0) return do_accept(port);
  if (strcmp(mode, "rcvtimeo") == 0) return do_rcvtimeo(port);
  printf("usage: nb_check connect|accept|rcvtimeo PORT | connect-to HOST PORT\n");
  return 64;
}
