/* Benchmark guest (fairness flooder): floods one kind of layer work, forever,
 * so the fairness benchmark can watch what it does to a neighbour.
 *   churn            open and close a socket
 *   connect NAME P   connect to NAME:P (nothing listens: refused) and close
 *   resolve NAME     resolve a guest's name
 *   udp NAME P       send 512-byte datagrams to NAME:P (nothing bound: dropped)
 *   backlog P        listen on P with a backlog of 64 and fill it, closing and reconnecting
 *   lines            short lines on stdout */
#include "../../../test/guests/src/net/wasix_net.h"

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "churn")) {
    for (;;) {
      int32_t fd;
      wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
      close(fd);
    }
  }
  if (!strcmp(mode, "connect") && argc > 3) {
    wx_addr_port to;
    wx_check(wx_lookup4(argv[2], (uint16_t)atoi(argv[3]), &to), "resolve");
    for (;;) {
      int32_t fd;
      wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
      wx_sock_connect(fd, &to);
      close(fd);
    }
  }
  if (!strcmp(mode, "resolve") && argc > 2) {
    for (;;) {
      wx_addr_port to;
      wx_check(wx_lookup4(argv[2], 1, &to), "resolve");
    }
  }
  if (!strcmp(mode, "udp") && argc > 3) {
    wx_addr_port to;
    wx_check(wx_lookup4(argv[2], (uint16_t)atoi(argv[3]), &to), "resolve");
    int32_t fd;
    wx_check(wx_sock_open(WX_INET4, WX_DGRAM, 0, &fd), "sock_open");
    static uint8_t payload[512];
    for (;;) {
      __wasi_ciovec_t iov = { payload, sizeof payload };
      int32_t sent = 0;
      wx_sock_send_to(fd, &iov, 1, 0, &to, &sent);
    }
  }
  if (!strcmp(mode, "backlog") && argc > 2) {
    uint16_t port = (uint16_t)atoi(argv[2]);
    int32_t lst;
    wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &lst), "sock_open");
    wx_addr_port any = wx_ipv4(0, 0, 0, 0, port);
    wx_check(wx_sock_bind(lst, &any), "sock_bind");
    wx_check(wx_sock_listen(lst, 64), "sock_listen");
    wx_addr_port self = wx_ipv4(127, 0, 0, 1, port);
    int32_t held[32];
    for (unsigned long i = 0;; i++) {
      int32_t *slot = &held[i % 32];
      if (i >= 32) close(*slot);
      wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, slot), "sock_open");
      wx_sock_connect(*slot, &self);
    }
  }
  if (!strcmp(mode, "lines")) {
    for (unsigned long i = 0;; i++) printf("flood line %lu\n", i);
  }
  printf("usage: net_flood churn | connect NAME P | resolve NAME | udp NAME P | backlog P | lines\n");
  return 2;
}
