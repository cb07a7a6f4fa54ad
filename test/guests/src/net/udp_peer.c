/* UDP between guests. Two roles:
 *   udp_peer recv PORT          binds 0.0.0.0:PORT; answers "hello" datagrams
 *                               with "go" sent to the sender's reported address;
 *                               then reports each data datagram (size, flags,
 *                               sender) and checks a truncated receive.
 *   udp_peer send HOST PORT [BINDPORT]
 *                               (bound to 0.0.0.0:BINDPORT if given) sends
 *                               "hello" until "go" comes back, then sends data
 *                               datagrams of 100, 1 and 1000 bytes, one of 500
 *                               (for a 64-byte buffer) and a 3-byte end marker.
 * Every line is a fact the test checks; failures print "error: ...". */
#include "wasix_net.h"

static uint8_t buf[2048];

static void put_opt_time(int32_t fd, int32_t opt, uint64_t ms) {
  wx_opt_time t;
  memset(&t, 0, sizeof t);
  t.tag = 1;
  t.ns = ms * 1000000ull;
  wx_check(wx_sock_set_opt_time(fd, opt, &t), "sock_set_opt_time");
}

static int32_t send_to(int32_t fd, const void *p, size_t len, const wx_addr_port *to) {
  __wasi_ciovec_t iov = { p, len };
  int32_t sent = 0;
  int32_t err = wx_sock_send_to(fd, &iov, 1, 0, to, &sent);
  if (!err && (size_t)sent != len) { printf("error: sent %d of %zu bytes\n", sent, len); exit(2); }
  return err;
}

/* Receives one datagram into the first `cap` bytes of buf; returns the byte count. */
static int32_t recv_from(int32_t fd, size_t cap, uint16_t *flags, wx_addr_port *from) {
  __wasi_iovec_t iov = { buf, cap };
  int32_t got = 0;
  int32_t err = wx_sock_recv_from(fd, &iov, 1, 0, &got, flags, from);
  if (err == EAGAIN) return -1;
  wx_check(err, "sock_recv_from");
  return got;
}

static void print_addr(const char *what, const wx_addr_port *a) {
  printf("%s %u.%u.%u.%u:%u\n", what, a->addr[0], a->addr[1], a->addr[2], a->addr[3], a->port);
}

static uint8_t pattern(size_t size, size_t j) { return (uint8_t)(size * 3 + j * 11); }

static int receiver(uint16_t port) {
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_DGRAM, 0, &fd), "sock_open");
  wx_addr_port any = wx_ipv4(0, 0, 0, 0, port);
  wx_check(wx_sock_bind(fd, &any), "sock_bind");
  put_opt_time(fd, WX_OPT_RECV_TIMEOUT, 15000);
  printf("bound %u\n", port);
  fflush(stdout);
  int data = 0, answered = 0;
  for (;;) {
    uint16_t flags = 0;
    wx_addr_port from;
    int32_t n = recv_from(fd, sizeof buf, &flags, &from);
    if (n < 0) { printf("error: nothing received for 15 s\n"); return 2; }
    if (n == 5 && memcmp(buf, "hello", 5) == 0) {
      if (!answered) print_addr("hello from", &from);
      answered = 1;
      wx_check(send_to(fd, "go", 2, &from), "sock_send_to go");
      continue;
    }
    if (buf[0] == 'T') { printf("error: truncation datagram came early\n"); return 2; }
    /* Data datagrams: 'D' then the pattern of their size. */
    for (int32_t j = 1; j < n; j++) {
      if (buf[j] != pattern((size_t)n, (size_t)j)) { printf("error: datagram of %d bytes: byte %d wrong\n", n, j); return 2; }
    }
    printf("datagram %d: %d bytes, flags %u\n", data, n, flags);
    if (++data == 3) break;
  }
  /* The 500-byte datagram into a 64-byte buffer: truncated, the rest discarded. */
  uint16_t flags = 0;
  wx_addr_port from;
  int32_t n = recv_from(fd, 64, &flags, &from);
  printf("small buffer: %d bytes, truncated %s, first byte %c\n", n,
         (flags & __WASI_ROFLAGS_RECV_DATA_TRUNCATED) ? "yes" : "no", buf[0]);
  n = recv_from(fd, sizeof buf, &flags, &from);
  printf("next datagram: %d bytes, first byte %c, truncated %s\n", n, n > 0 ? buf[0] : '?',
         (flags & __WASI_ROFLAGS_RECV_DATA_TRUNCATED) ? "yes" : "no");
  close(fd);
  return 0;
}

static int sender(const char *host, uint16_t port, int bind_port) {
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_DGRAM, 0, &fd), "sock_open");
  if (bind_port > 0) {
    wx_addr_port any = wx_ipv4(0, 0, 0, 0, (uint16_t)bind_port);
    wx_check(wx_sock_bind(fd, &any), "sock_bind");
  }
  put_opt_time(fd, WX_OPT_RECV_TIMEOUT, 100);
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  int ok = 0;
  for (int attempt = 0; attempt < 50 && !ok; attempt++) {
    wx_check(send_to(fd, "hello", 5, &to), "sock_send_to hello");
    uint16_t flags;
    wx_addr_port from;
    int32_t n = recv_from(fd, sizeof buf, &flags, &from);
    if (n == 2 && memcmp(buf, "go", 2) == 0) {
      print_addr("go from", &from);
      ok = 1;
    }
  }
  if (!ok) { printf("error: no answer to hello\n"); return 2; }
  static const size_t sizes[3] = { 100, 1, 1000 };
  for (int i = 0; i < 3; i++) {
    buf[0] = 'D';
    for (size_t j = 1; j < sizes[i]; j++) buf[j] = pattern(sizes[i], j);
    wx_check(send_to(fd, buf, sizes[i], &to), "sock_send_to data");
  }
  memset(buf, 'T', 500);
  wx_check(send_to(fd, buf, 500, &to), "sock_send_to truncated");
  wx_check(send_to(fd, "END", 3, &to), "sock_send_to end");
  printf("sent\n");
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "recv") == 0) return receiver((uint16_t)atoi(argv[2]));
  if (argc >= 4 && strcmp(argv[1], "send") == 0) return sender(argv[2], (uint16_t)atoi(argv[3]), argc > 4 ? atoi(argv[4]) : 0);
  printf("usage: udp_peer recv PORT | send HOST PORT [BINDPORT]\n");
  return 64;
}
