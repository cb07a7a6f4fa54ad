/* Benchmark guest (client): connects to argv[1] (a guest name, host name or
 * address) port argv[2], retrying for up to 10 s while nothing listens yet,
 * and reads what the server sends to end of stream in 256 KiB recv() calls.
 * Prints "drained <bytes> ns <ns>": the time from connected to end of
 * stream, measured here with CLOCK_MONOTONIC so start-up does not count. */
#include "../../../test/guests/src/net/wasix_net.h"

static uint8_t buf[256 * 1024];

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "feed";
  uint16_t port = argc > 2 ? (uint16_t)atoi(argv[2]) : 7000;
  wx_addr_port from;
  wx_check(wx_lookup4(host, port, &from), "resolve");
  int32_t fd = wx_connect_retry(&from, 10000);
  uint64_t t0 = wx_now_ns();
  uint64_t total = 0;
  for (;;) {
    int64_t n = wx_recv(fd, buf, sizeof buf);
    if (n < 0) { printf("error: recv: %s\n", strerror((int)-n)); return 2; }
    if (n == 0) break;
    total += (uint64_t)n;
  }
  uint64_t ns = wx_now_ns() - t0;
  close(fd);
  printf("drained %llu ns %llu\n", (unsigned long long)total, (unsigned long long)ns);
  return 0;
}
