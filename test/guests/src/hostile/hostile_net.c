/* Hostile guest: network policy bypass attempts, socket and queue
 * exhaustion, and guests blocked in accept/recv/poll (to be stopped from
 * outside). argv[1] names the attack; each prints one verdict line per
 * attempt, "LABEL: RESULT" with RESULT an errno name (EACCES, ...),
 * CONNECTED / SENT, or counts.
 *   spell PORT NAME...        resolve each NAME and connect to it; a prefix
 *                             connects over IPv6 to an address embedding the
 *                             IPv4 one: "6:" mapped ::ffff:A, "c6:" compatible
 *                             ::A, "n6:" NAT64 64:ff9b::A, "x6:" translated
 *                             ::ffff:0:A, "s6:" 6to4 2002:A::1, "t6:" Teredo
 *                             2001:0:c000:201::~A (client A, obfuscated)
 *   reach PORT NAME...        the same, retrying while nobody listens yet
 *   udp PORT NAME...          resolve and send one datagram to each (prefixes as for spell)
 *   udp_reply PORT NAME...    the same, then report whom the reply came from
 *   resolve NAME...           resolve only
 *   bind_foreign              bind to addresses that are not the guest's own
 *   sockets                   sock_open until it fails
 *   flood N                   N connects to refused destinations (audit flood)
 *   queue PORT CHUNKS         never-read stream to itself, non-blocking sends
 *   queue_host NAME PORT CHUNKS  the same toward a host server that never reads
 *   backlog_flood PORT N      leave N filled connections waiting in its own backlog
 *   accept_block PORT         block in accept forever
 *   recv_block PORT           block in recv forever
 *   poll_block PORT           block in poll_oneoff (no timeout) forever
 *   poll_spin                 poll_oneoff with a zero timeout, forever
 *   poll_peer PORT            accept one connection, then poll it (no timeout) forever
 *   late_server PORT MS       listen only after MS ms; answer one connection, stop
 *                             listening, then linger 2 s
 *   server_accept PORT        accept connections forever, never reading
 *   server_recv PORT          accept one connection, then report what recv gives
 *   client NAME PORT wait|trap  connect; then report recv and a reconnect, or trap
 *   bystander ROUNDS          an ordinary guest: echo through its own loopback */
#include "../net/wasix_net.h"

#include "verdict.h"

static void say(const char *fmt, const char *a, const char *b) {
  printf(fmt, a, b);
  fflush(stdout);
}

static void wait_for_go(void) {
  char c;
  while (read(0, &c, 1) == 1 && c != '\n') {}
}

static int32_t open_sock(int family, int type) {
  int32_t fd;
  wx_check(wx_sock_open(family, type, 0, &fd), "sock_open");
  return fd;
}

static int32_t listener(uint16_t port, int32_t backlog) {
  int32_t fd = open_sock(WX_INET4, WX_STREAM);
  wx_addr_port at = wx_ipv4(0, 0, 0, 0, port);
  wx_check(wx_sock_bind(fd, &at), "sock_bind");
  wx_check(wx_sock_listen(fd, backlog), "sock_listen");
  return fd;
}

static int32_t accept_one(int32_t l) {
  int32_t c;
  wx_addr_port peer;
  wx_check(wx_sock_accept_v2(l, 0, &c, &peer), "sock_accept_v2");
  return c;
}

/* Resolves `name` to its first address (of either family). */
static int32_t lookup(const char *name, uint16_t port, wx_addr_port *out) {
  wx_addr_ip ips[8];
  int32_t found = 0;
  int32_t err = wx_resolve(name, (int32_t)strlen(name), port, ips, 8, &found);
  if (err) return err;
  if (found <= 0) return ENOENT;
  memset(out, 0, sizeof *out);
  out->tag = ips[0].tag;
  out->port = port;
  memcpy(out->addr, ips[0].addr, ips[0].tag == WX_INET4 ? 4 : 16);
  return 0;
}

/* IPv6 forms that embed an IPv4 address: the prefix names the form. */
static const struct { const char *prefix; uint8_t head[12]; int at; int invert; } WRAPS[] = {
  { "6:", { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 12, 0 },
  { "c6:", { 0 }, 12, 0 },
  { "n6:", { 0, 0x64, 0xff, 0x9b }, 12, 0 },
  { "x6:", { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 12, 0 },
  { "s6:", { 0x20, 0x02 }, 2, 0 },
  { "t6:", { 0x20, 0x01, 0, 0, 0xc0, 0, 0x02, 0x01 }, 12, 1 },
};

/* Splits a wrapping prefix off `name`; returns its index in WRAPS, or -1. */
static int wrap_of(const char **name) {
  for (int i = 0; i < (int)(sizeof WRAPS / sizeof WRAPS[0]); i++) {
    size_t n = strlen(WRAPS[i].prefix);
    if (strncmp(*name, WRAPS[i].prefix, n) == 0) { *name += n; return i; }
  }
  return -1;
}

/* The IPv6 form `w` of an IPv4 address. */
static wx_addr_port wrapped(int w, const wx_addr_port *v4) {
  wx_addr_port x;
  memset(&x, 0, sizeof x);
  x.tag = WX_INET6;
  x.port = v4->port;
  memcpy(x.addr, WRAPS[w].head, 12);
  for (int i = 0; i < 4; i++) x.addr[WRAPS[w].at + i] = WRAPS[w].invert ? (uint8_t)~v4->addr[i] : v4->addr[i];
  if (WRAPS[w].at == 2) x.addr[15] = 1;
  return x;
}

/* Resolves a spelled destination: NAME, or a wrapping prefix and NAME. */
static int32_t spelled(const char *name, uint16_t port, wx_addr_port *to) {
  int w = wrap_of(&name);
  int32_t err = lookup(name, port, to);
  if (!err && w >= 0 && to->tag == WX_INET4) *to = wrapped(w, to);
  return err;
}

static int32_t send_text(int32_t fd, const char *s) {
  __wasi_ciovec_t iov = { (const uint8_t *)s, strlen(s) };
  size_t sent = 0;
  return __wasi_sock_send(fd, &iov, 1, 0, &sent);
}

/* With `retry`, a refused connection (nobody listening yet) is tried again for up to 5 s. */
static int do_spell(uint16_t port, int n, char **names, int retry) {
  for (int i = 0; i < n; i++) {
    const char *name = names[i];
    wx_addr_port to;
    int32_t err = spelled(name, port, &to);
    if (err) { say("spell %s: resolve %s\n", name, ename(err)); continue; }
    int32_t fd = open_sock(to.tag == WX_INET6 ? WX_INET6 : WX_INET4, WX_STREAM);
    err = wx_sock_connect(fd, &to);
    for (int attempt = 0; retry && err == ECONNREFUSED && attempt < 200; attempt++) {
      close(fd);
      wx_nap_ms(25);
      fd = open_sock(to.tag == WX_INET6 ? WX_INET6 : WX_INET4, WX_STREAM);
      err = wx_sock_connect(fd, &to);
    }
    if (err == 0) {
      err = send_text(fd, "spelled\n");
      say("spell %s: %s\n", name, err ? ename(err) : "CONNECTED");
    } else {
      say("spell %s: %s\n", name, ename(err));
    }
    close(fd);
  }
  return 0;
}

/* Text of an address as the guest sees it (IPv6 in full hex groups). */
static void addr_text(const wx_addr_port *a, char *out, size_t len) {
  if (a->tag == WX_INET4) {
    snprintf(out, len, "%u.%u.%u.%u:%u", a->addr[0], a->addr[1], a->addr[2], a->addr[3], a->port);
    return;
  }
  int n = snprintf(out, len, "[");
  for (int i = 0; i < 16; i += 2) n += snprintf(out + n, len - (size_t)n, "%s%x", i ? ":" : "", (a->addr[i] << 8) | a->addr[i + 1]);
  snprintf(out + n, len - (size_t)n, "]:%u", a->port);
}

/* With `reply`, waits up to 2 s for an answer and reports whom it came from. */
static int do_udp(uint16_t port, int n, char **names, int reply) {
  for (int i = 0; i < n; i++) {
    wx_addr_port to;
    int32_t err = spelled(names[i], port, &to);
    if (err) { say("udp %s: resolve %s\n", names[i], ename(err)); continue; }
    int32_t fd = open_sock(to.tag == WX_INET6 ? WX_INET6 : WX_INET4, WX_DGRAM);
    __wasi_ciovec_t iov = { (const uint8_t *)"datagram", 8 };
    int32_t sent = 0;
    err = wx_sock_send_to(fd, &iov, 1, 0, &to, &sent);
    say("udp %s: %s\n", names[i], err ? ename(err) : "SENT");
    if (reply && !err) {
      wx_opt_time t;
      memset(&t, 0, sizeof t);
      t.tag = 1;
      t.ns = 2000000000ull;
      wx_check(wx_sock_set_opt_time(fd, WX_OPT_RECV_TIMEOUT, &t), "sock_set_opt_time");
      uint8_t buf[64];
      __wasi_iovec_t in = { buf, sizeof buf };
      int32_t got = 0;
      uint16_t oflags = 0;
      wx_addr_port from;
      memset(&from, 0, sizeof from);
      err = wx_sock_recv_from(fd, &in, 1, 0, &got, &oflags, &from);
      char text[64];
      if (!err) addr_text(&from, text, sizeof text);
      say("reply %s: %s\n", names[i], err ? ename(err) : text);
    }
    close(fd);
  }
  return 0;
}

static int do_resolve(int n, char **names) {
  for (int i = 0; i < n; i++) {
    wx_addr_port to;
    int32_t err = lookup(names[i], 80, &to);
    if (err) { say("resolve %s: %s\n", names[i], ename(err)); continue; }
    char text[64];
    if (to.tag == WX_INET4) snprintf(text, sizeof text, "%u.%u.%u.%u", to.addr[0], to.addr[1], to.addr[2], to.addr[3]);
    else snprintf(text, sizeof text, "ipv6");
    say("resolve %s: %s\n", names[i], text);
  }
  return 0;
}

static int do_bind_foreign(void) {
  static const uint8_t addrs[][4] = { {10, 89, 255, 254}, {8, 8, 8, 8}, {169, 254, 169, 254}, {10, 89, 0, 250} };
  static const char *labels[] = { "gateway", "public", "metadata", "other_guest" };
  for (int i = 0; i < 4; i++) {
    int32_t fd = open_sock(WX_INET4, WX_STREAM);
    wx_addr_port at = wx_ipv4(addrs[i][0], addrs[i][1], addrs[i][2], addrs[i][3], 8080);
    say("bind_foreign %s: %s\n", labels[i], ename(wx_sock_bind(fd, &at)));
    close(fd);
  }
  return 0;
}

static int do_sockets(void) {
  int32_t fds[4096];
  int n = 0;
  int32_t err = 0;
  while (n < 4096 && (err = wx_sock_open(WX_INET4, WX_STREAM, 0, &fds[n])) == 0) n++;
  printf("sockets: %s after %d\n", ename(err), n);
  if (n > 0) {
    close(fds[--n]);
    int32_t again;
    printf("sockets_after_close: %s\n", ename(wx_sock_open(WX_INET4, WX_STREAM, 0, &again)));
  }
  return 0;
}

static int do_flood(int n) {
  int32_t fd = open_sock(WX_INET4, WX_STREAM);
  int refused = 0, other = 0, first = 0;
  for (int i = 0; i < n; i++) {
    wx_addr_port to = wx_ipv4(10, 0, (uint8_t)(i >> 8), (uint8_t)(i & 0xff), (uint16_t)(1000 + i % 50000));
    int32_t err = wx_sock_connect(fd, &to);
    if (err == EACCES) refused++;
    else { other++; if (!first) first = err; }
  }
  printf("flood: refused=%d other=%d (%s)\n", refused, other, ename(first));
  return 0;
}

static int set_nonblocking(int32_t fd) {
  return __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK);
}

/* Non-blocking sends of 64 KiB until CHUNKS attempts; reports what got queued. */
static void fill(const char *label, int32_t fd, int chunks) {
  static uint8_t buf[65536];
  memset(buf, 'q', sizeof buf);
  wx_check(set_nonblocking(fd), "fd_fdstat_set_flags");
  long long sent = 0;
  int eagain = 0, other = 0, first_other = 0;
  for (int i = 0; i < chunks; i++) {
    __wasi_ciovec_t iov = { buf, sizeof buf };
    size_t n = 0;
    __wasi_errno_t err = __wasi_sock_send(fd, &iov, 1, 0, &n);
    if (err == EAGAIN) eagain++;
    else if (err) { other++; if (!first_other) first_other = err; }
    else sent += (long long)n;
  }
  printf("%s: sent=%lld eagain=%d other=%d (%s)\n", label, sent, eagain, other, ename(first_other));
  fflush(stdout);
}

static int do_queue(uint16_t port, int chunks) {
  int32_t l = listener(port, 4);
  int32_t fd = open_sock(WX_INET4, WX_STREAM);
  wx_addr_port to = wx_ipv4(127, 0, 0, 1, port);
  wx_check(wx_sock_connect(fd, &to), "sock_connect");
  int32_t c = accept_one(l);
  fill("queue", fd, chunks);
  /* A blocking send with a timeout gives up instead of queueing more. */
  wx_check(__wasi_fd_fdstat_set_flags(fd, 0), "fd_fdstat_set_flags");
  wx_opt_time t;
  memset(&t, 0, sizeof t);
  t.tag = 1;
  t.ns = 200000000ull;
  wx_check(wx_sock_set_opt_time(fd, WX_OPT_SEND_TIMEOUT, &t), "sock_set_opt_time");
  printf("queue_blocking: %s\n", ename(send_text(fd, "one more")));
  close(c);
  return 0;
}

static int do_queue_host(const char *name, uint16_t port, int chunks) {
  wx_addr_port to;
  wx_check(lookup(name, port, &to), "resolve");
  int32_t fd = open_sock(WX_INET4, WX_STREAM);
  wx_check(wx_sock_connect(fd, &to), "sock_connect");
  /* Let the bridge move what it can before counting. */
  fill("queue_host", fd, chunks);
  wx_nap_ms(300);
  fill("queue_host_more", fd, chunks);
  printf("queue_host: holding\n");
  fflush(stdout);
  wait_for_go();
  return 0;
}

static int do_backlog_flood(uint16_t port, int n) {
  static uint8_t buf[65536];
  memset(buf, 'b', sizeof buf);
  int32_t l = listener(port, 4096);
  wx_addr_port to = wx_ipv4(127, 0, 0, 1, port);
  int made = 0;
  long long bytes = 0;
  int32_t err = 0;
  for (; made < n; made++) {
    int32_t fd;
    if ((err = wx_sock_open(WX_INET4, WX_STREAM, 0, &fd))) break;
    if ((err = wx_sock_connect(fd, &to))) { close(fd); break; }
    set_nonblocking(fd);
    for (;;) {
      __wasi_ciovec_t iov = { buf, sizeof buf };
      size_t sent = 0;
      if (__wasi_sock_send(fd, &iov, 1, 0, &sent)) break;
      bytes += (long long)sent;
    }
    close(fd);
  }
  printf("backlog_flood: connections=%d bytes=%lld stop=%s\n", made, bytes, ename(err));
  fflush(stdout);
  wait_for_go();
  close(l);
  return 0;
}

static int do_accept_block(uint16_t port) {
  int32_t l = listener(port, 4);
  printf("accept_block: listening\n");
  fflush(stdout);
  int32_t c = accept_one(l);
  printf("accept_block: accepted %d (unexpected)\n", c);
  return 0;
}

static int do_recv_block(uint16_t port) {
  int32_t l = listener(port, 4);
  int32_t fd = open_sock(WX_INET4, WX_STREAM);
  wx_addr_port to = wx_ipv4(127, 0, 0, 1, port);
  wx_check(wx_sock_connect(fd, &to), "sock_connect");
  int32_t c = accept_one(l);
  (void)c;
  printf("recv_block: blocked\n");
  fflush(stdout);
  char b[16];
  int64_t n = wx_recv(fd, b, sizeof b);
  printf("recv_block: returned %lld (unexpected)\n", (long long)n);
  return 0;
}

static int do_poll_block(uint16_t port) {
  int32_t l = listener(port, 4);
  __wasi_subscription_t sub;
  memset(&sub, 0, sizeof sub);
  sub.userdata = 7;
  sub.u.tag = __WASI_EVENTTYPE_FD_READ;
  sub.u.u.fd_read.file_descriptor = l;
  __wasi_event_t ev;
  __wasi_size_t n = 0;
  printf("poll_block: polling\n");
  fflush(stdout);
  __wasi_errno_t err = __wasi_poll_oneoff(&sub, &ev, 1, &n);
  printf("poll_block: returned %s n=%u (unexpected)\n", ename(err), (unsigned)n);
  return 0;
}

static int do_poll_peer(uint16_t port) {
  int32_t l = listener(port, 4);
  printf("poll_peer: listening\n");
  fflush(stdout);
  int32_t c = accept_one(l);
  __wasi_subscription_t sub;
  memset(&sub, 0, sizeof sub);
  sub.userdata = 9;
  sub.u.tag = __WASI_EVENTTYPE_FD_READ;
  sub.u.u.fd_read.file_descriptor = c;
  __wasi_event_t ev;
  __wasi_size_t n = 0;
  printf("poll_peer: polling\n");
  fflush(stdout);
  __wasi_errno_t err = __wasi_poll_oneoff(&sub, &ev, 1, &n);
  printf("poll_peer: returned %s n=%u (unexpected)\n", ename(err), (unsigned)n);
  return 0;
}

static int do_poll_spin(void) {
  __wasi_subscription_t sub;
  memset(&sub, 0, sizeof sub);
  sub.u.tag = __WASI_EVENTTYPE_CLOCK;
  sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  sub.u.u.clock.timeout = 0;
  printf("poll_spin: spinning\n");
  fflush(stdout);
  for (;;) {
    __wasi_event_t ev;
    __wasi_size_t n;
    if (__wasi_poll_oneoff(&sub, &ev, 1, &n)) break;
  }
  printf("poll_spin: stopped (unexpected)\n");
  return 0;
}

static int do_late_server(uint16_t port, int ms) {
  wx_nap_ms((uint64_t)ms);
  int32_t l = listener(port, 4);
  printf("late_server: listening\n");
  fflush(stdout);
  int32_t c = accept_one(l);
  printf("late_server: answered %s\n", ename(send_text(c, "hello\n")));
  close(c);
  close(l);
  printf("late_server: closed\n");
  fflush(stdout);
  wx_nap_ms(2000);
  return 0;
}

static int do_server_accept(uint16_t port) {
  int32_t l = listener(port, 8);
  printf("server_accept: listening\n");
  fflush(stdout);
  for (int i = 1;; i++) {
    accept_one(l);
    printf("server_accept: accepted %d\n", i);
    fflush(stdout);
  }
  return 0;
}

static const char *recv_result(int32_t fd) {
  static char text[64];
  char b[64];
  int64_t n = wx_recv(fd, b, sizeof b);
  if (n < 0) return ename((int)-n);
  if (n == 0) return "EOF";
  snprintf(text, sizeof text, "%lld bytes", (long long)n);
  return text;
}

static int do_server_recv(uint16_t port) {
  int32_t l = listener(port, 8);
  printf("server_recv: listening\n");
  fflush(stdout);
  int32_t c = accept_one(l);
  printf("server_recv: accepted\n");
  fflush(stdout);
  printf("server_recv: %s\n", recv_result(c));
  return 0;
}

static int32_t connect_retry(const wx_addr_port *to, int32_t *out) {
  int32_t err = 0;
  for (int attempt = 0; attempt < 200; attempt++) {
    *out = open_sock(WX_INET4, WX_STREAM);
    if ((err = wx_sock_connect(*out, to)) != ECONNREFUSED) return err;
    close(*out);
    wx_nap_ms(25);
  }
  return err;
}

static int do_client(const char *name, uint16_t port, const char *action) {
  wx_addr_port to;
  wx_check(lookup(name, port, &to), "resolve");
  int32_t fd;
  wx_check(connect_retry(&to, &fd), "sock_connect");
  printf("client: connected\n");
  fflush(stdout);
  if (!strcmp(action, "trap")) {
    wx_nap_ms(200);
    __builtin_trap();
  }
  printf("client_recv: %s\n", recv_result(fd));
  fflush(stdout);
  int32_t again = open_sock(WX_INET4, WX_STREAM);
  printf("client_reconnect: %s\n", ename(wx_sock_connect(again, &to)));
  return 0;
}

static int do_bystander(int rounds) {
  int32_t l = listener(7777, 4);
  int32_t fd = open_sock(WX_INET4, WX_STREAM);
  wx_addr_port to = wx_ipv4(127, 0, 0, 1, 7777);
  wx_check(wx_sock_connect(fd, &to), "sock_connect");
  int32_t c = accept_one(l);
  char out[1024], in[1024];
  for (int i = 0; i < rounds; i++) {
    memset(out, 'a' + i % 26, sizeof out);
    wx_check(wx_send_all(fd, out, sizeof out), "send");
    size_t have = 0;
    while (have < sizeof in) {
      int64_t n = wx_recv(c, in + have, sizeof in - have);
      if (n <= 0) { printf("bystander: recv failed at %d\n", i); return 1; }
      have += (size_t)n;
    }
    if (memcmp(in, out, sizeof in)) { printf("bystander: corrupted at %d\n", i); return 1; }
  }
  printf("bystander: ok %d\n", rounds);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) { printf("usage: hostile_net ATTACK ...\n"); return 64; }
  const char *a = argv[1];
  int port = argc > 2 ? atoi(argv[2]) : 0;
  if (!strcmp(a, "spell") && argc > 3) return do_spell((uint16_t)port, argc - 3, argv + 3, 0);
  if (!strcmp(a, "reach") && argc > 3) return do_spell((uint16_t)port, argc - 3, argv + 3, 1);
  if (!strcmp(a, "udp") && argc > 3) return do_udp((uint16_t)port, argc - 3, argv + 3, 0);
  if (!strcmp(a, "late_server") && argc > 3) return do_late_server((uint16_t)port, atoi(argv[3]));
  if (!strcmp(a, "udp_reply") && argc > 3) return do_udp((uint16_t)port, argc - 3, argv + 3, 1);
  if (!strcmp(a, "resolve") && argc > 2) return do_resolve(argc - 2, argv + 2);
  if (!strcmp(a, "bind_foreign")) return do_bind_foreign();
  if (!strcmp(a, "sockets")) return do_sockets();
  if (!strcmp(a, "flood") && argc > 2) return do_flood(port);
  if (!strcmp(a, "queue") && argc > 3) return do_queue((uint16_t)port, atoi(argv[3]));
  if (!strcmp(a, "queue_host") && argc > 4) return do_queue_host(argv[2], (uint16_t)atoi(argv[3]), atoi(argv[4]));
  if (!strcmp(a, "backlog_flood") && argc > 3) return do_backlog_flood((uint16_t)port, atoi(argv[3]));
  if (!strcmp(a, "accept_block") && argc > 2) return do_accept_block((uint16_t)port);
  if (!strcmp(a, "recv_block") && argc > 2) return do_recv_block((uint16_t)port);
  if (!strcmp(a, "poll_block") && argc > 2) return do_poll_block((uint16_t)port);
  if (!strcmp(a, "poll_spin")) return do_poll_spin();
  if (!strcmp(a, "poll_peer") && argc > 2) return do_poll_peer((uint16_t)port);
  if (!strcmp(a, "server_accept") && argc > 2) return do_server_accept((uint16_t)port);
  if (!strcmp(a, "server_recv") && argc > 2) return do_server_recv((uint16_t)port);
  if (!strcmp(a, "client") && argc > 4) return do_client(argv[2], (uint16_t)atoi(argv[3]), argv[4]);
  if (!strcmp(a, "bystander")) return do_bystander(port > 0 ? port : 100);
  printf("unknown attack %s\n", a);
  return 64;
}
