/* Echo server for many connections: listens on argv[1] with a backlog for
 * argv[2] (default 1000) connections and small queues, accepts them all, then
 * echoes each one in turn until its client half-closes, and exits. Prints
 * "served N connections, B bytes" or "error: ...". */
#include "wasix_net.h"

#define MAXC 1000

static int32_t conns[MAXC];
static uint8_t buf[8192];

int main(int argc, char **argv) {
  uint16_t port = argc > 1 ? (uint16_t)atoi(argv[1]) : 7000;
  int count = argc > 2 ? atoi(argv[2]) : MAXC;
  if (count < 1 || count > MAXC) { printf("error: count must be 1..%d\n", MAXC); return 2; }
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
  wx_check(wx_sock_set_opt_size(fd, WX_OPT_RECV_BUF, 4096), "set SO_RCVBUF");
  wx_check(wx_sock_set_opt_size(fd, WX_OPT_SEND_BUF, 4096), "set SO_SNDBUF");
  wx_addr_port any = wx_ipv4(0, 0, 0, 0, port);
  wx_check(wx_sock_bind(fd, &any), "sock_bind");
  wx_check(wx_sock_listen(fd, count + 16), "sock_listen");
  printf("listening on %u\n", port);
  fflush(stdout);
  for (int i = 0; i < count; i++) {
    wx_addr_port peer;
    wx_check(wx_sock_accept_v2(fd, 0, &conns[i], &peer), "sock_accept_v2");
  }
  printf("accepted %d\n", count);
  fflush(stdout);
  uint64_t total = 0;
  for (int i = 0; i < count; i++) {
    for (;;) {
      int64_t n = wx_recv(conns[i], buf, sizeof buf);
      if (n < 0) { printf("error: recv (connection %d): %s\n", i, strerror((int)-n)); return 2; }
      if (n == 0) break;
      wx_check(wx_send_all(conns[i], buf, (size_t)n), "send");
      total += (uint64_t)n;
    }
    close(conns[i]);
  }
  close(fd);
  printf("served %d connections, %llu bytes\n", count, (unsigned long long)total);
  return 0;
}
