/* Echo server: listens on argv[1] (port), serves argv[2] connections (default 1)
 * one after another, echoing every byte until the client closes, then exits. */
#include "wasix_net.h"

int main(int argc, char **argv) {
  uint16_t port = argc > 1 ? (uint16_t)atoi(argv[1]) : 7000;
  int conns = argc > 2 ? atoi(argv[2]) : 1;
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
  wx_addr_port any = wx_ipv4(0, 0, 0, 0, port);
  wx_check(wx_sock_bind(fd, &any), "sock_bind");
  wx_check(wx_sock_listen(fd, 16), "sock_listen");
  printf("listening on %u\n", port);
  fflush(stdout);
  static uint8_t buf[65536];
  for (int i = 0; i < conns; i++) {
    int32_t c;
    wx_addr_port peer;
    wx_check(wx_sock_accept_v2(fd, 0, &c, &peer), "sock_accept_v2");
    uint64_t total = 0;
    for (;;) {
      int64_t n = wx_recv(c, buf, sizeof buf);
      if (n < 0) { printf("error: recv: %s\n", strerror((int)-n)); return 2; }
      if (n == 0) break;
      wx_check(wx_send_all(c, buf, (size_t)n), "send");
      total += (uint64_t)n;
    }
    printf("connection %d from %u.%u.%u.%u echoed %llu bytes\n", i, peer.addr[0], peer.addr[1], peer.addr[2], peer.addr[3],
           (unsigned long long)total);
    fflush(stdout);
    close(c);
  }
  close(fd);
  return 0;
}
