/* Benchmark guest (client): connects to argv[1] (a guest name, host name or
 * address) port argv[2], retrying for up to 10 s while nothing listens yet,
 * sends argv[3] MiB (default 1024) in 256 KiB send() calls, shuts down its
 * write side and waits for the server's one-byte ack (or end of stream).
 * Prints "sent <bytes> ns <ns>": the time from connected to ack, measured
 * here with CLOCK_MONOTONIC so start-up does not count. */
#include "../../../test/guests/src/net/wasix_net.h"
#include <time.h>

#define CHUNK (256 * 1024)
static uint8_t buf[CHUNK];

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Opens a stream socket connected to `to`, retrying refused connects. */
static int32_t connect_retry(const wx_addr_port *to) {
  for (int tries = 0;; tries++) {
    int32_t fd;
    wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
    int32_t err = wx_sock_connect(fd, to);
    if (err == 0) return fd;
    close(fd);
    if (err != ECONNREFUSED || tries >= 10000) wx_check(err, "sock_connect");
    struct timespec pause = { 0, 1000000 };
    nanosleep(&pause, NULL);
  }
}

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "sink";
  uint16_t port = argc > 2 ? (uint16_t)atoi(argv[2]) : 7000;
  uint64_t mib = argc > 3 ? strtoull(argv[3], NULL, 10) : 1024;
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 131 + 7);
  int32_t fd = connect_retry(&to);
  wx_sock_set_opt_flag(fd, WX_OPT_NO_DELAY, 1); /* as the Node baseline; ignored if unsupported */

  uint64_t total = mib * 1024 * 1024;
  uint64_t t0 = now_ns();
  for (uint64_t sent = 0; sent < total;) {
    size_t n = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
    wx_check(wx_send_all(fd, buf, n), "send");
    sent += n;
  }
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), "shutdown");
  uint8_t ack;
  int64_t n = wx_recv(fd, &ack, 1);
  if (n < 0) { printf("error: recv ack: %s\n", strerror((int)-n)); return 2; }
  uint64_t t1 = now_ns();
  close(fd);
  printf("sent %llu ns %llu\n", (unsigned long long)total, (unsigned long long)(t1 - t0));
  return 0;
}
