/* IPv6 sockets between and within guests. Modes:
 *   v6_check local PORT     a dual-stack listener on [::]:PORT takes an IPv6
 *                           connect to ::1 and an IPv4 connect to 127.0.0.1;
 *                           a v6only listener on PORT+1 refuses IPv4.
 *   v6_check server PORT    listens on [::]:PORT, accepts one connection,
 *                           prints the peer, echoes until EOF.
 *   v6_check client HOST PORT  resolves HOST to its IPv6 address, connects,
 *                           sends "six", half-closes, prints the reply.
 * Every line is a fact the test checks; failures print "error: ...". */
#include "wasix_net.h"

enum { WX_OPT_ONLY_V6 = 5 };

static const char *errname(int e) {
  switch (e) {
    case 0: return "ok";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    default: return strerror(e);
  }
}

static wx_addr_port ipv6(const uint8_t bytes[16], uint16_t port) {
  wx_addr_port x;
  memset(&x, 0, sizeof x);
  x.tag = WX_INET6;
  x.port = port;
  memcpy(x.addr, bytes, 16);
  return x;
}

static const uint8_t ANY6[16] = {0};
static const uint8_t LOOP6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

/* Prints an address as "v4 A.B.C.D:P" or "v6 HEX:...:P" (full, uncompressed groups). */
static void print_addr(const char *what, const wx_addr_port *a) {
  if (a->tag == WX_INET4) {
    printf("%s v4 %u.%u.%u.%u:%u\n", what, a->addr[0], a->addr[1], a->addr[2], a->addr[3], a->port);
    return;
  }
  printf("%s v6 ", what);
  for (int i = 0; i < 16; i += 2) printf("%x%s", (a->addr[i] << 8) | a->addr[i + 1], i < 14 ? ":" : "");
  printf(" port %u\n", a->port);
}

static int32_t listen6(uint16_t port, int v6only) {
  int32_t fd;
  wx_check(wx_sock_open(WX_INET6, WX_STREAM, 0, &fd), "sock_open v6");
  if (v6only) wx_check(wx_sock_set_opt_flag(fd, WX_OPT_ONLY_V6, 1), "set IPV6_V6ONLY");
  wx_addr_port at = ipv6(ANY6, port);
  wx_check(wx_sock_bind(fd, &at), "sock_bind v6");
  wx_check(wx_sock_listen(fd, 8), "sock_listen v6");
  return fd;
}

static int do_local(uint16_t port) {
  int32_t l = listen6(port, 0), c, a;
  wx_addr_port peer;
  wx_addr_port to6 = ipv6(LOOP6, port);
  wx_check(wx_sock_open(WX_INET6, WX_STREAM, 0, &c), "sock_open");
  printf("v6 connect to ::1: %s\n", errname(wx_sock_connect(c, &to6)));
  wx_check(wx_sock_accept_v2(l, 0, &a, &peer), "accept v6");
  print_addr("accepted from", &peer);

  int32_t c4;
  wx_addr_port to4 = wx_ipv4(127, 0, 0, 1, port);
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &c4), "sock_open");
  printf("v4 connect to dual-stack listener: %s\n", errname(wx_sock_connect(c4, &to4)));
  wx_check(wx_sock_accept_v2(l, 0, &a, &peer), "accept v4 on v6");
  print_addr("accepted from", &peer);
  wx_check(wx_sock_addr_local(a, &peer), "sock_addr_local");
  print_addr("accepted at", &peer);

  int32_t l2 = listen6(port + 1, 1), c5;
  (void)l2;
  wx_addr_port to5 = wx_ipv4(127, 0, 0, 1, port + 1);
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &c5), "sock_open");
  printf("v4 connect to v6only listener: %s\n", errname(wx_sock_connect(c5, &to5)));

  int32_t bad;
  wx_check(wx_sock_open(WX_INET6, WX_STREAM, 0, &bad), "sock_open");
  printf("v4 address on a v6 socket: %s\n", errname(wx_sock_connect(bad, &to4)));
  return 0;
}

static int do_server(uint16_t port) {
  int32_t l = listen6(port, 0), c;
  printf("listening on [::]:%u\n", port);
  fflush(stdout);
  wx_addr_port peer;
  wx_check(wx_sock_accept_v2(l, 0, &c, &peer), "sock_accept_v2");
  print_addr("peer", &peer);
  static uint8_t buf[4096];
  for (;;) {
    int64_t n = wx_recv(c, buf, sizeof buf);
    if (n < 0) { printf("error: recv: %s\n", errname((int)-n)); return 2; }
    if (n == 0) break;
    wx_check(wx_send_all(c, buf, (size_t)n), "send");
  }
  close(c);
  return 0;
}

static int do_client(const char *host, uint16_t port) {
  wx_addr_ip ips[8];
  int32_t found = 0;
  wx_check(wx_resolve(host, (int32_t)strlen(host), port, ips, 8, &found), "resolve");
  int i = 0;
  while (i < found && ips[i].tag != WX_INET6) i++;
  if (i == found) { printf("error: no IPv6 address for %s\n", host); return 2; }
  wx_addr_port to = ipv6(ips[i].addr, port);
  print_addr("connecting to", &to);
  int32_t fd, err = 0;
  for (int attempt = 0; attempt < 100; attempt++) {
    wx_check(wx_sock_open(WX_INET6, WX_STREAM, 0, &fd), "sock_open");
    if ((err = wx_sock_connect(fd, &to)) != ECONNREFUSED) break;
    close(fd);
    wx_nap_ms(50);
  }
  wx_check(err, "sock_connect");
  wx_addr_port local;
  wx_check(wx_sock_addr_local(fd, &local), "sock_addr_local");
  print_addr("local", &local);
  wx_check(wx_send_all(fd, "six", 3), "send");
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), "shutdown");
  char b[64];
  size_t have = 0;
  for (;;) {
    int64_t n = wx_recv(fd, b + have, sizeof b - 1 - have);
    if (n < 0) { printf("error: recv: %s\n", errname((int)-n)); return 2; }
    if (n == 0) break;
    have += (size_t)n;
  }
  b[have] = 0;
  printf("reply: %s\n", b);
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "local") == 0 && argc > 2) return do_local((uint16_t)atoi(argv[2]));
  if (strcmp(mode, "server") == 0 && argc > 2) return do_server((uint16_t)atoi(argv[2]));
  if (strcmp(mode, "client") == 0 && argc > 3) return do_client(argv[2], (uint16_t)atoi(argv[3]));
  printf("usage: v6_check local PORT | server PORT | client HOST PORT\n");
  return 64;
}
