/* Benchmark guest (client): connects to argv[1] port argv[2] (retrying for up
 * to 10 s while nothing listens yet), makes argv[4] (default 1000) untimed
 * warm-up round trips, then argv[3] (default 20000) timed ones: send argv[5]
 * bytes (default 1), wait for all of them to come back. Each round trip is timed here with
 * CLOCK_MONOTONIC. Prints "rtt_median_ns <m> rtt_mean_ns <a> n <count>". */
#include "../../../test/guests/src/net/wasix_net.h"

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint8_t *msg;
static size_t size = 1;

static void round_trip(int32_t fd) {
  wx_check(wx_send_all(fd, msg, size), "send");
  for (size_t got = 0; got < size;) {
    int64_t n = wx_recv(fd, msg + got, size - got);
    if (n < 0) { printf("error: recv: %s\n", strerror((int)-n)); exit(2); }
    if (n == 0) { printf("error: recv: end of stream\n"); exit(2); }
    got += (size_t)n;
  }
}

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "pong";
  uint16_t port = argc > 2 ? (uint16_t)atoi(argv[2]) : 7001;
  long count = argc > 3 ? atol(argv[3]) : 20000;
  long warmup = argc > 4 ? atol(argv[4]) : 1000;
  if (argc > 5 && atol(argv[5]) > 0) size = (size_t)atol(argv[5]);
  if (count < 1) count = 1;
  msg = malloc(size);
  if (!msg) { printf("error: out of memory\n"); return 2; }
  memset(msg, 'x', size);
  uint64_t *rtt = malloc((size_t)count * sizeof *rtt);
  if (!rtt) { printf("error: out of memory\n"); return 2; }
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  int32_t fd = wx_connect_retry(&to, 10000);
  wx_sock_set_opt_flag(fd, WX_OPT_NO_DELAY, 1);
  for (long i = 0; i < warmup; i++) round_trip(fd);
  uint64_t sum = 0;
  for (long i = 0; i < count; i++) {
    uint64_t t0 = wx_now_ns();
    round_trip(fd);
    rtt[i] = wx_now_ns() - t0;
    sum += rtt[i];
  }
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), "shutdown");
  close(fd);
  qsort(rtt, (size_t)count, sizeof *rtt, cmp_u64);
  uint64_t median = count % 2 ? rtt[count / 2] : (rtt[count / 2 - 1] + rtt[count / 2]) / 2;
  printf("rtt_median_ns %llu rtt_mean_ns %llu n %ld\n", (unsigned long long)median,
         (unsigned long long)(sum / (uint64_t)count), count);
  return 0;
}
