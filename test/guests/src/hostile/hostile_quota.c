/* Hostile guest: taking a neighbour's share of the layer (sockets, backlog
 * slots, ports, datagram rings) and churning sockets to grow the host's
 * memory. argv[1] names the role; each prints "LABEL: RESULT" lines.
 *   churn MS [dgram]           sock_open and close in a loop for MS ms
 *   connect_churn NAME PORT MS connect to NAME:PORT and close, in a loop for MS ms
 *   acceptor PORT MS           accept and close connections for MS ms
 *   steal NAME PORT N          N times: connect to NAME:PORT and close before it is accepted
 *   fill NAME PORT N           connect N sockets to NAME:PORT and hold them until told to go on
 *   victim PORT BACKLOG        listen; when told, open sockets until refused, then accept what waits
 *   connect_once NAME PORT     one connection: OK or the errno
 *   bind_port PORT             bind TCP and UDP 0.0.0.0:PORT; hold until told to go on
 *   udp_sinks PORT N           bind N datagram sockets PORT.., never read, until told to go on
 *   udp_spray NAME PORT N MS   for MS ms: open a datagram socket, send to one of NAME:PORT..+N, close
 * "Told to go on" is a line on stdin. */
#include "../net/wasix_net.h"

#include "verdict.h"

static uint8_t buf[4096];

static void wait_for_go(void) {
  char c;
  while (read(0, &c, 1) == 1 && c != '\n') {}
}

static void said(const char *line) {
  printf("%s\n", line);
  fflush(stdout);
}

static wx_addr_port target(const char *name, uint16_t port) {
  wx_addr_port to;
  wx_check(wx_lookup4(name, port, &to), "resolve");
  return to;
}

static int32_t listener(uint16_t port, int32_t backlog) {
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
  wx_addr_port at = wx_ipv4(0, 0, 0, 0, port);
  wx_check(wx_sock_bind(fd, &at), "sock_bind");
  wx_check(wx_sock_listen(fd, backlog), "sock_listen");
  return fd;
}

static int elapsed(uint64_t start, int ms) {
  return wx_now_ns() - start >= (uint64_t)ms * 1000000ull;
}

static int do_churn(int ms, int dgram) {
  uint64_t start = wx_now_ns();
  long opens = 0;
  int32_t err = 0;
  while (!elapsed(start, ms)) {
    int32_t fd;
    if ((err = wx_sock_open(WX_INET4, dgram ? WX_DGRAM : WX_STREAM, 0, &fd))) break;
    opens++;
    close(fd);
  }
  printf("churn: opens=%ld stop=%s\n", opens, ename(err));
  return 0;
}

static int do_connect_churn(const char *name, uint16_t port, int ms) {
  wx_addr_port to = target(name, port);
  uint64_t start = wx_now_ns();
  long ok = 0, refused = 0, other = 0, full = 0;
  int32_t first = 0;
  while (!elapsed(start, ms)) {
    int32_t fd;
    /* Connections it closed before they were accepted count against it until they are. */
    int32_t err = wx_sock_open(WX_INET4, WX_STREAM, 0, &fd);
    if (err == ENFILE) { full++; wx_nap_ms(1); continue; }
    wx_check(err, "sock_open");
    err = wx_sock_connect(fd, &to);
    if (!err) ok++;
    else if (err == ECONNREFUSED) refused++;
    else { other++; if (!first) first = err; }
    close(fd);
  }
  printf("connect_churn: ok=%s\n", ok > 0 ? "yes" : "no");
  printf("connect_churn_other: %ld (%s)\n", other, ename(first));
  fprintf(stderr, "connect_churn: ok=%ld refused=%ld full=%ld\n", ok, refused, full);
  return 0;
}

static int do_acceptor(uint16_t port, int ms) {
  int32_t l = listener(port, 64);
  wx_check(__wasi_fd_fdstat_set_flags(l, __WASI_FDFLAGS_NONBLOCK), "fd_fdstat_set_flags");
  said("acceptor: listening");
  uint64_t start = wx_now_ns();
  long accepted = 0;
  while (!elapsed(start, ms)) {
    int32_t c;
    wx_addr_port peer;
    int32_t err = wx_sock_accept_v2(l, 0, &c, &peer);
    if (err == EAGAIN) { wx_nap_ms(1); continue; }
    wx_check(err, "sock_accept_v2");
    accepted++;
    close(c);
  }
  printf("acceptor: accepted=%s\n", accepted > 0 ? "yes" : "no");
  return 0;
}

static int do_steal(const char *name, uint16_t port, int n) {
  wx_addr_port to = target(name, port);
  int ok = 0, refused = 0, other = 0;
  int32_t first = 0;
  for (int i = 0; i < n; i++) {
    int32_t fd;
    int32_t err = wx_sock_open(WX_INET4, WX_STREAM, 0, &fd);
    if (err) { other++; if (!first) first = err; continue; }
    err = wx_sock_connect(fd, &to);
    if (!err) { ok++; wx_send_all(fd, "x", 1); }
    else if (err == ECONNREFUSED) refused++;
    else { other++; if (!first) first = err; }
    close(fd);
  }
  printf("steal: ok=%d refused=%d other=%d (%s)\n", ok, refused, other, ename(first));
  fflush(stdout);
  return 0;
}

static int do_fill(const char *name, uint16_t port, int n) {
  wx_addr_port to = target(name, port);
  int ok = 0, refused = 0;
  int32_t first = 0;
  for (int i = 0; i < n; i++) {
    int32_t fd;
    int32_t err = wx_sock_open(WX_INET4, WX_STREAM, 0, &fd);
    if (!err) err = wx_sock_connect(fd, &to);
    if (!err) { ok++; continue; }
    if (err == ECONNREFUSED) refused++;
    else if (!first) first = err;
    close(fd);
  }
  printf("fill: ok=%d refused=%d first_other=%s\n", ok, refused, ename(first));
  fflush(stdout);
  wait_for_go();
  return 0;
}

static int do_victim(uint16_t port, int backlog) {
  int32_t l = listener(port, backlog);
  said("victim: listening");
  wait_for_go();
  int32_t fds[4096];
  int n = 0;
  int32_t err = 0;
  while (n < 4096 && (err = wx_sock_open(WX_INET4, WX_STREAM, 0, &fds[n])) == 0) n++;
  printf("victim_sockets: %s after %d\n", ename(err), n);
  while (n > 0) close(fds[--n]);
  /* What still waits can be accepted (and read: a connection closed early keeps its data). */
  wx_check(__wasi_fd_fdstat_set_flags(l, __WASI_FDFLAGS_NONBLOCK), "fd_fdstat_set_flags");
  int accepted = 0;
  long bytes = 0;
  for (;;) {
    int32_t c;
    wx_addr_port peer;
    if (wx_sock_accept_v2(l, 0, &c, &peer)) break;
    accepted++;
    for (int64_t got; (got = wx_recv(c, buf, sizeof buf)) > 0;) bytes += got;
    close(c);
  }
  printf("victim_accepted: %d bytes=%ld\n", accepted, bytes);
  return 0;
}

static int do_connect_once(const char *name, uint16_t port) {
  wx_addr_port to = target(name, port);
  int32_t fd;
  int32_t err = wx_sock_open(WX_INET4, WX_STREAM, 0, &fd);
  if (!err) err = wx_sock_connect(fd, &to);
  printf("connect_once: %s\n", ename(err));
  return 0;
}

static int do_bind_port(uint16_t port) {
  int32_t t, u;
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &t), "sock_open");
  wx_check(wx_sock_open(WX_INET4, WX_DGRAM, 0, &u), "sock_open");
  wx_addr_port at = wx_ipv4(0, 0, 0, 0, port);
  printf("bind_port tcp: %s\n", ename(wx_sock_bind(t, &at)));
  printf("bind_port udp: %s\n", ename(wx_sock_bind(u, &at)));
  fflush(stdout);
  wait_for_go();
  return 0;
}

static int do_udp_sinks(uint16_t port, int n) {
  int bound = 0;
  for (int i = 0; i < n; i++) {
    int32_t fd;
    wx_check(wx_sock_open(WX_INET4, WX_DGRAM, 0, &fd), "sock_open");
    wx_addr_port at = wx_ipv4(0, 0, 0, 0, (uint16_t)(port + i));
    if (!wx_sock_bind(fd, &at)) bound++;
  }
  printf("udp_sinks: bound=%d\n", bound);
  fflush(stdout);
  wait_for_go();
  return 0;
}

static int do_udp_spray(const char *name, uint16_t port, int n, int ms) {
  wx_addr_port to = target(name, port);
  memset(buf, 'u', sizeof buf);
  uint64_t start = wx_now_ns();
  long sent = 0, other = 0;
  int32_t first = 0;
  for (long i = 0; !elapsed(start, ms); i++) {
    int32_t fd;
    wx_check(wx_sock_open(WX_INET4, WX_DGRAM, 0, &fd), "sock_open");
    to.port = (uint16_t)(port + i % n);
    __wasi_ciovec_t iov = { buf, 1000 };
    int32_t got = 0;
    /* Several datagrams per socket: the receivers' queues fill. */
    for (int k = 0; k < 8; k++) {
      int32_t err = wx_sock_send_to(fd, &iov, 1, 0, &to, &got);
      if (!err) sent++;
      else if (err != EAGAIN) { other++; if (!first) first = err; }
    }
    close(fd);
  }
  printf("udp_spray: sent=%s other=%ld (%s)\n", sent > 0 ? "yes" : "no", other, ename(first));
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 64;
  const char *a = argv[1];
  if (!strcmp(a, "churn") && argc > 2) return do_churn(atoi(argv[2]), argc > 3 && !strcmp(argv[3], "dgram"));
  if (!strcmp(a, "connect_churn") && argc > 4) return do_connect_churn(argv[2], (uint16_t)atoi(argv[3]), atoi(argv[4]));
  if (!strcmp(a, "acceptor") && argc > 3) return do_acceptor((uint16_t)atoi(argv[2]), atoi(argv[3]));
  if (!strcmp(a, "steal") && argc > 4) return do_steal(argv[2], (uint16_t)atoi(argv[3]), atoi(argv[4]));
  if (!strcmp(a, "fill") && argc > 4) return do_fill(argv[2], (uint16_t)atoi(argv[3]), atoi(argv[4]));
  if (!strcmp(a, "victim") && argc > 3) return do_victim((uint16_t)atoi(argv[2]), atoi(argv[3]));
  if (!strcmp(a, "connect_once") && argc > 3) return do_connect_once(argv[2], (uint16_t)atoi(argv[3]));
  if (!strcmp(a, "bind_port") && argc > 2) return do_bind_port((uint16_t)atoi(argv[2]));
  if (!strcmp(a, "udp_sinks") && argc > 3) return do_udp_sinks((uint16_t)atoi(argv[2]), atoi(argv[3]));
  if (!strcmp(a, "udp_spray") && argc > 5) return do_udp_spray(argv[2], (uint16_t)atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  printf("usage: unknown role %s\n", a);
  return 64;
}
