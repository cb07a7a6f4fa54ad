/* Benchmark guest (server): listens on port argv[1] (default 7000), prints
 * "listening <port>", accepts one connection, reads it to end of stream in
 * 256 KiB recv() calls counting bytes, answers with a one-byte ack (so the
 * client can time delivery of the last byte), prints "received <bytes>".
 * Built with -I test/guests/src/net (or by scripts/build-guests.sh: the
 * relative include below finds the header either way). */
#include "../../../test/guests/src/net/wasix_net.h"

static uint8_t buf[256 * 1024];

int main(int argc, char **argv) {
  uint16_t port = argc > 1 ? (uint16_t)atoi(argv[1]) : 7000;
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
  uint64_t total = 0;
  for (;;) {
    int64_t n = wx_recv(c, buf, sizeof buf);
    if (n < 0) { printf("error: recv: %s\n", strerror((int)-n)); return 2; }
    if (n == 0) break;
    total += (uint64_t)n;
  }
  uint8_t ack = 1;
  wx_check(wx_send_all(c, &ack, 1), "send ack");
  close(c);
  close(fd);
  printf("received %llu\n", (unsigned long long)total);
  return 0;
}
