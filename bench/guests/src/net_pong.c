/* Benchmark guest (server): listens on port argv[1] (default 7001), prints
 * "listening <port>", accepts one connection and sends back every byte it
 * receives, one recv() at a time, until end of stream; prints "echoed <n>". */
#include "../../../test/guests/src/net/wasix_net.h"

int main(int argc, char **argv) {
  uint16_t port = argc > 1 ? (uint16_t)atoi(argv[1]) : 7001;
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
  wx_addr_port any = wx_ipv4(0, 0, 0, 0, port);
  wx_check(wx_sock_bind(fd, &any), "sock_bind");
  wx_check(wx_sock_listen(fd, 16), "sock_listen");
  printf("listening %u\n", port);
  fflush(stdout);
  int32_t c;
  wx_addr_port peer;
  wx_check(wx_sock_accept_v2(fd, 0, &c, &peer), "sock_accept_v2");
  wx_sock_set_opt_flag(c, WX_OPT_NO_DELAY, 1);
  static uint8_t buf[65536];
  uint64_t total = 0;
  for (;;) {
    int64_t n = wx_recv(c, buf, sizeof buf);
    if (n < 0) { printf("error: recv: %s\n", strerror((int)-n)); return 2; }
    if (n == 0) break;
    wx_check(wx_send_all(c, buf, (size_t)n), "send");
    total += (uint64_t)n;
  }
  close(c);
  close(fd);
  printf("echoed %llu\n", (unsigned long long)total);
  return 0;
}
