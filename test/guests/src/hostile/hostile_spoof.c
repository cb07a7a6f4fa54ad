/* Hostile guest: passing for a neighbour's loopback. A client binds a
 * loopback or wildcard address before connecting or sending to a server in
 * another guest, hoping the server sees 127.0.0.1 (and trusts it).
 *   server PORT N           listen and receive on [::]:PORT (dual-stack); for
 *                           N connections print "tcp LABEL: accept=A peer=P"
 *                           (accept's address and sock_addr_peer; LABEL is what
 *                           the client sends), then for N datagrams
 *                           "udp LABEL: from=A"
 *   client NAME PORT ADDR...  for each ADDR (IPv4 or IPv6 text): bind it (port 0),
 *                           connect to NAME over that family and send ADDR, printing
 *                           "tcp ADDR: local=L peer=P"; then bind it on a datagram
 *                           socket and send ADDR to NAME:PORT
 * Addresses print as a.b.c.d:PORT or [h:h:h:h:h:h:h:h]:PORT (hex, uncompressed). */
#include "../net/wasix_net.h"

#include <arpa/inet.h>


static char label[128];

static const char *addr_text(const wx_addr_port *a) {
  static char out[2][80];
  static int which;
  char *s = out[which ^= 1];
  if (a->tag == WX_INET4) {
    snprintf(s, 80, "%u.%u.%u.%u:%u", a->addr[0], a->addr[1], a->addr[2], a->addr[3], a->port);
  } else {
    int n = snprintf(s, 80, "[");
    for (int i = 0; i < 16; i += 2) n += snprintf(s + n, 80 - n, i ? ":%x" : "%x", (a->addr[i] << 8) | a->addr[i + 1]);
    snprintf(s + n, 80 - n, "]:%u", a->port);
  }
  return s;
}

static int32_t open_sock(int family, int type) {
  int32_t fd;
  wx_check(wx_sock_open(family, type, 0, &fd), "sock_open");
  return fd;
}

/* Parses IPv4 or IPv6 text into an address with port 0. */
static wx_addr_port parse(const char *text) {
  wx_addr_port a;
  memset(&a, 0, sizeof a);
  if (inet_pton(AF_INET, text, a.addr) == 1) { a.tag = WX_INET4; return a; }
  if (inet_pton(AF_INET6, text, a.addr) == 1) { a.tag = WX_INET6; return a; }
  printf("error: not an address: %s\n", text);
  exit(2);
}

/* The server's address in `family`, from its name. */
static wx_addr_port server_addr(const char *name, uint16_t port, int family) {
  wx_addr_ip ips[8];
  int32_t found = 0;
  wx_check(wx_resolve(name, (int32_t)strlen(name), port, ips, 8, &found), "resolve");
  for (int i = 0; i < found; i++) {
    if (ips[i].tag != family) continue;
    wx_addr_port a;
    memset(&a, 0, sizeof a);
    a.tag = ips[i].tag;
    a.port = port;
    memcpy(a.addr, ips[i].addr, family == WX_INET4 ? 4 : 16);
    return a;
  }
  printf("error: %s has no address of family %d\n", name, family);
  exit(2);
}

static int do_server(uint16_t port, int n) {
  wx_addr_port any;
  memset(&any, 0, sizeof any);
  any.tag = WX_INET6;
  any.port = port;
  int32_t lst = open_sock(WX_INET6, WX_STREAM);
  wx_check(wx_sock_bind(lst, &any), "sock_bind");
  wx_check(wx_sock_listen(lst, 16), "sock_listen");
  int32_t udp = open_sock(WX_INET6, WX_DGRAM);
  wx_check(wx_sock_bind(udp, &any), "sock_bind udp");
  printf("server: ready\n");
  fflush(stdout);
  for (int i = 0; i < n; i++) {
    int32_t c;
    wx_addr_port from, peer;
    wx_check(wx_sock_accept_v2(lst, 0, &c, &from), "sock_accept_v2");
    wx_check(wx_sock_addr_peer(c, &peer), "sock_addr_peer");
    int64_t got = 0, r;
    while ((r = wx_recv(c, label + got, sizeof label - 1 - got)) > 0) got += r;
    label[got] = 0;
    printf("tcp %s: accept=%s peer=%s\n", label, addr_text(&from), addr_text(&peer));
    close(c);
  }
  for (int i = 0; i < n; i++) {
    __wasi_iovec_t iov = { (uint8_t *)label, sizeof label - 1 };
    int32_t got = 0;
    uint16_t flags = 0;
    wx_addr_port from;
    wx_check(wx_sock_recv_from(udp, &iov, 1, 0, &got, &flags, &from), "sock_recv_from");
    label[got] = 0;
    printf("udp %s: from=%s\n", label, addr_text(&from));
  }
  fflush(stdout);
  return 0;
}

static int do_client(const char *name, uint16_t port, int n, char **addrs) {
  for (int i = 0; i < n; i++) {
    wx_addr_port bind_to = parse(addrs[i]);
    wx_addr_port to = server_addr(name, port, bind_to.tag);
    int32_t fd = open_sock(bind_to.tag, WX_STREAM);
    wx_check(wx_sock_bind(fd, &bind_to), "sock_bind");
    wx_check(wx_sock_connect(fd, &to), "sock_connect");
    wx_addr_port local, peer;
    wx_check(wx_sock_addr_local(fd, &local), "sock_addr_local");
    wx_check(wx_sock_addr_peer(fd, &peer), "sock_addr_peer");
    printf("tcp %s: local=%s peer=%s\n", addrs[i], addr_text(&local), addr_text(&peer));
    wx_check(wx_send_all(fd, addrs[i], strlen(addrs[i])), "send");
    close(fd);
  }
  for (int i = 0; i < n; i++) {
    wx_addr_port bind_to = parse(addrs[i]);
    wx_addr_port to = server_addr(name, port, bind_to.tag);
    int32_t fd = open_sock(bind_to.tag, WX_DGRAM);
    wx_check(wx_sock_bind(fd, &bind_to), "sock_bind udp");
    __wasi_ciovec_t iov = { (const uint8_t *)addrs[i], strlen(addrs[i]) };
    int32_t sent = 0;
    wx_check(wx_sock_send_to(fd, &iov, 1, 0, &to, &sent), "sock_send_to");
    printf("udp %s: sent\n", addrs[i]);
    close(fd);
  }
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "server")) return do_server((uint16_t)atoi(argv[2]), atoi(argv[3]));
  if (argc > 4 && !strcmp(argv[1], "client")) return do_client(argv[2], (uint16_t)atoi(argv[3]), argc - 4, argv + 4);
  printf("usage: hostile_spoof server PORT N | client NAME PORT ADDR...\n");
  return 64;
}
