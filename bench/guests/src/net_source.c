/* Benchmark guest (client): connects to argv[1] (a guest name, host name or
 * address) port argv[2], retrying for up to 10 s while nothing listens yet,
 * sends argv[3] MiB (default 1024) in 256 KiB send() calls, shuts down its
 * write side and waits for the server's one-byte ack (or end of stream).
 * Prints "sent <bytes> ns <ns>": the time from connected to ack, measured
 * here with CLOCK_MONOTONIC so start-up does not count. */
#include "../../../test/guests/src/net/wasix_net.h"

#define CHUNK (256 * 1024)
static uint8_t buf[CHUNK];

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "sink";
  uint16_t port = argc > 2 ? (uint16_t)atoi(argv[2]) : 7000;
  uint64_t mib = argc > 3 ? strtoull(argv[3], NULL, 10) : 1024;
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 131 + 7);
  int32_t fd = wx_connect_retry(&to, 10000);
  wx_sock_set_opt_flag(fd, WX_OPT_NO_DELAY, 1); /* as the Node baseline; ignored if unsupported */

  uint64_t total = mib * 1024 * 1024;
  uint64_t t0 = wx_now_ns();
  for (uint64_t sent = 0; sent < total;) {
    size_t n = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
    wx_check(wx_send_all(fd, buf, n), "send");
    sent += n;
  }
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), "shutdown");
  uint8_t ack;
  int64_t n = wx_recv(fd, &ack, 1);
  if (n < 0) { printf("error: recv ack: %s\n", strerror((int)-n)); return 2; }
  uint64_t t1 = wx_now_ns();
  close(fd);
  printf("sent %llu ns %llu\n", (unsigned long long)total, (unsigned long long)(t1 - t0));
  return 0;
}
