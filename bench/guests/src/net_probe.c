/* Benchmark guest (fairness probe): connects to argv[1] port argv[2] (retrying
 * while nothing listens yet), then for argv[3] (default 5000) rounds makes one
 * 1-byte round trip to the echo server and one call the layer serves on the
 * host thread (resolving the server's name), timing each with CLOCK_MONOTONIC.
 * Prints "rtt p50 P p99 P max M call p50 P p99 P max M" in nanoseconds: how a
 * neighbour's flood shows in an ordinary guest's latency. */
#include "../../../test/guests/src/net/wasix_net.h"

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t at(const uint64_t *sorted, long n, double q) {
  long i = (long)(q * (double)(n - 1));
  return sorted[i];
}

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "pong";
  uint16_t port = argc > 2 ? (uint16_t)atoi(argv[2]) : 7001;
  long count = argc > 3 ? atol(argv[3]) : 5000;
  if (count < 1) count = 1;
  uint64_t *rtt = malloc((size_t)count * sizeof *rtt);
  uint64_t *call = malloc((size_t)count * sizeof *call);
  if (!rtt || !call) { printf("error: out of memory\n"); return 2; }
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  int32_t fd = wx_connect_retry(&to, 10000);
  wx_sock_set_opt_flag(fd, WX_OPT_NO_DELAY, 1);
  for (long i = 0; i < count; i++) {
    uint8_t b = 'x';
    uint64_t t0 = wx_now_ns();
    wx_check(wx_send_all(fd, &b, 1), "send");
    int64_t n = wx_recv(fd, &b, 1);
    if (n <= 0) { printf("error: recv: %s\n", n == 0 ? "end of stream" : strerror((int)-n)); return 2; }
    uint64_t t1 = wx_now_ns();
    wx_addr_port again;
    wx_check(wx_lookup4(host, port, &again), "resolve");
    uint64_t t2 = wx_now_ns();
    rtt[i] = t1 - t0;
    call[i] = t2 - t1;
  }
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), "shutdown");
  close(fd);
  qsort(rtt, (size_t)count, sizeof *rtt, cmp_u64);
  qsort(call, (size_t)count, sizeof *call, cmp_u64);
  printf("rtt p50 %llu p99 %llu max %llu call p50 %llu p99 %llu max %llu\n",
         (unsigned long long)at(rtt, count, 0.5), (unsigned long long)at(rtt, count, 0.99), (unsigned long long)rtt[count - 1],
         (unsigned long long)at(call, count, 0.5), (unsigned long long)at(call, count, 0.99), (unsigned long long)call[count - 1]);
  return 0;
}
