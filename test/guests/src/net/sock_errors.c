/* Socket failure cases, each printing what the calls returned. Modes that
 * need no second guest connect to their own listener on 127.0.0.1:
 *   refused PORT      connect where nobody listens (loopback, own name)
 *   halfclose PORT    client shutdown(WR): server reads to EOF, then replies
 *   reset PORT        server closes with unread data: client sees ECONNRESET
 *   epipe PORT        server closes: client reads EOF, sends until EPIPE
 *   shutrd PORT       after shutdown(RD) the client can still send
 *   backlog PORT      listen(2): two connects pend, the third is refused
 *   hold PORT         (server) accepts one connection, then blocks in recv
 *   trap PORT         (server) accepts one connection, then traps
 *   wait HOST PORT    (client) connects, then blocks in recv; prints the result
 *   after-eof HOST PORT  (client) reads until the server half-closes, then
 *                     still sends "thanks N" (N bytes read) and closes */
#include "wasix_net.h"

static const char *errname(int e) {
  switch (e) {
    case 0: return "ok";
    case EAGAIN: return "EAGAIN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    case ENOTCONN: return "ENOTCONN";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    default: return strerror(e);
  }
}

static int32_t listener(uint8_t a, uint16_t port, int32_t backlog) {
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
  wx_addr_port at = wx_ipv4(a, 0, 0, a ? 1 : 0, port);
  wx_check(wx_sock_bind(fd, &at), "sock_bind");
  wx_check(wx_sock_listen(fd, backlog), "sock_listen");
  return fd;
}

/* Opens a stream socket and connects it; returns the errno, the fd in *out. */
static int32_t connect_to(const wx_addr_port *to, int32_t *out) {
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, out), "sock_open");
  return wx_sock_connect(*out, to);
}

static int32_t accept_one(int32_t l) {
  int32_t c;
  wx_addr_port peer;
  wx_check(wx_sock_accept_v2(l, 0, &c, &peer), "sock_accept_v2");
  return c;
}

static int32_t send_some(int32_t fd, const char *s) {
  __wasi_ciovec_t iov = { (const uint8_t *)s, strlen(s) };
  size_t sent = 0;
  return __wasi_sock_send(fd, &iov, 1, 0, &sent);
}

/* "N bytes: TEXT", "EOF" or an errno name. */
static const char *recv_text(int32_t fd) {
  static char b[256];
  static char line[300];
  int64_t n = wx_recv(fd, b, sizeof b - 1);
  if (n < 0) return errname((int)-n);
  if (n == 0) return "EOF";
  b[n] = 0;
  snprintf(line, sizeof line, "%lld bytes: %s", (long long)n, b);
  return line;
}

static int do_refused(uint16_t port) {
  int32_t fd;
  wx_addr_port lo = wx_ipv4(127, 0, 0, 1, port);
  printf("connect 127.0.0.1: %s\n", errname(connect_to(&lo, &fd)));
  /* The same socket may try again. */
  printf("again: %s\n", errname(wx_sock_connect(fd, &lo)));
  wx_addr_port own;
  wx_check(wx_lookup4("self", port, &own), "resolve self");
  int32_t fd2;
  printf("connect own name: %s\n", errname(connect_to(&own, &fd2)));
  return 0;
}

static int do_halfclose(uint16_t port) {
  int32_t l = listener(127, port, 4), fd;
  wx_addr_port to = wx_ipv4(127, 0, 0, 1, port);
  wx_check(connect_to(&to, &fd), "sock_connect");
  wx_check(send_some(fd, "question"), "send");
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), "shutdown");
  printf("client send after shutdown(WR): %s\n", errname(send_some(fd, "more")));
  int32_t c = accept_one(l);
  printf("server recv: %s\n", recv_text(c));
  printf("server recv: %s\n", recv_text(c));
  printf("server send: %s\n", errname(send_some(c, "answer")));
  close(c);
  printf("client recv: %s\n", recv_text(fd));
  printf("client recv: %s\n", recv_text(fd));
  return 0;
}

static int do_reset(uint16_t port) {
  int32_t l = listener(127, port, 4), fd;
  wx_addr_port to = wx_ipv4(127, 0, 0, 1, port);
  wx_check(connect_to(&to, &fd), "sock_connect");
  wx_check(send_some(fd, "never read"), "send");
  int32_t c = accept_one(l);
  close(c);
  printf("client recv: %s\n", recv_text(fd));
  return 0;
}

static int do_epipe(uint16_t port) {
  int32_t l = listener(127, port, 4), fd;
  wx_addr_port to = wx_ipv4(127, 0, 0, 1, port);
  wx_check(connect_to(&to, &fd), "sock_connect");
  int32_t c = accept_one(l);
  close(c);
  printf("client recv: %s\n", recv_text(fd));
  int32_t err = 0;
  int tries = 0;
  while (tries < 100 && (err = send_some(fd, "into the void")) == 0) tries++;
  printf("client send: %s\n", errname(err));
  return 0;
}

static int do_shutrd(uint16_t port) {
  int32_t l = listener(127, port, 4), fd;
  wx_addr_port to = wx_ipv4(127, 0, 0, 1, port);
  wx_check(connect_to(&to, &fd), "sock_connect");
  int32_t c = accept_one(l);
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD), "shutdown(RD)");
  printf("client send after shutdown(RD): %s\n", errname(send_some(fd, "still here")));
  /* Do not hang if nothing was sent. */
  wx_opt_time t;
  memset(&t, 0, sizeof t);
  t.tag = 1;
  t.ns = 2000000000ull;
  wx_check(wx_sock_set_opt_time(c, WX_OPT_RECV_TIMEOUT, &t), "sock_set_opt_time");
  printf("server recv: %s\n", recv_text(c));
  return 0;
}

static int do_backlog(uint16_t port) {
  int32_t l = listener(127, port, 2), fds[4];
  wx_addr_port to = wx_ipv4(127, 0, 0, 1, port);
  for (int i = 0; i < 3; i++) printf("connect %d: %s\n", i + 1, errname(connect_to(&to, &fds[i])));
  close(accept_one(l));
  printf("connect 4 after one accept: %s\n", errname(connect_to(&to, &fds[3])));
  return 0;
}

static int do_server(uint16_t port, int trap) {
  int32_t l = listener(0, port, 4);
  printf("listening on %u\n", port);
  fflush(stdout);
  int32_t c = accept_one(l);
  printf("accepted\n");
  fflush(stdout);
  if (trap) {
    wx_nap_ms(200);
    __builtin_trap();
  }
  /* The client never sends: this blocks until the guest is stopped. */
  printf("recv: %s\n", recv_text(c));
  return 0;
}

static int do_wait(const char *host, uint16_t port) {
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  int32_t fd, err = 0;
  for (int attempt = 0; attempt < 100; attempt++) {
    if ((err = connect_to(&to, &fd)) != ECONNREFUSED) break;
    close(fd);
    wx_nap_ms(50);
  }
  wx_check(err, "sock_connect");
  printf("connected\n");
  fflush(stdout);
  printf("recv: %s\n", recv_text(fd));
  return 0;
}

static int do_after_eof(const char *host, uint16_t port) {
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  int32_t fd;
  wx_check(connect_to(&to, &fd), "sock_connect");
  char b[256];
  size_t have = 0;
  for (;;) {
    int64_t n = wx_recv(fd, b, sizeof b);
    if (n < 0) { printf("error: recv: %s\n", errname((int)-n)); return 2; }
    if (n == 0) break;
    have += (size_t)n;
  }
  printf("read %zu bytes, then EOF\n", have);
  char reply[32];
  snprintf(reply, sizeof reply, "thanks %zu", have);
  printf("send after EOF: %s\n", errname(send_some(fd, reply)));
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  uint16_t port = argc > 2 ? (uint16_t)atoi(argv[2]) : 7000;
  if (strcmp(mode, "refused") == 0) return do_refused(port);
  if (strcmp(mode, "halfclose") == 0) return do_halfclose(port);
  if (strcmp(mode, "reset") == 0) return do_reset(port);
  if (strcmp(mode, "epipe") == 0) return do_epipe(port);
  if (strcmp(mode, "shutrd") == 0) return do_shutrd(port);
  if (strcmp(mode, "backlog") == 0) return do_backlog(port);
  if (strcmp(mode, "hold") == 0) return do_server(port, 0);
  if (strcmp(mode, "trap") == 0) return do_server(port, 1);
  if (strcmp(mode, "wait") == 0 && argc > 3) return do_wait(argv[2], (uint16_t)atoi(argv[3]));
  if (strcmp(mode, "after-eof") == 0 && argc > 3) return do_after_eof(argv[2], (uint16_t)atoi(argv[3]));
  printf("usage: sock_errors MODE PORT | wait HOST PORT\n");
  return 64;
}
