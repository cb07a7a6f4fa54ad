/* Echo client: connects to argv[1] (a name or address) port argv[2], sends
 * argv[3] (default "hello"), half-closes, prints what comes back. A refused
 * connect is retried (100 times, 100 ms apart): in `capsule up` the client may
 * start before its server listens. */
#include "wasix_net.h"
#include <unistd.h>

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "server";
  uint16_t port = argc > 2 ? (uint16_t)atoi(argv[2]) : 7000;
  const char *msg = argc > 3 ? argv[3] : "hello";
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  int32_t fd;
  int32_t err = 0;
  for (int attempt = 0; attempt < 100; attempt++) {
    wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
    err = wx_sock_connect(fd, &to);
    if (err != ECONNREFUSED) break;
    close(fd);
    wx_nap_ms(100);
  }
  wx_check(err, "sock_connect");
  wx_check(wx_send_all(fd, msg, strlen(msg)), "send");
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), "shutdown");
  char buf[4096];
  size_t have = 0;
  for (;;) {
    int64_t n = wx_recv(fd, buf + have, sizeof buf - 1 - have);
    if (n < 0) { printf("error: recv: %s\n", strerror((int)-n)); return 2; }
    if (n == 0) break;
    have += (size_t)n;
  }
  buf[have] = 0;
  printf("echo: %s\n", buf);
  close(fd);
  return 0;
}
