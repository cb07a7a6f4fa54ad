/* Streams to a host server through the bridge, to test how sends reach the
 * host socket (directly, or queued for the host when its buffer is full).
 *
 *   bridge_stream send HOST PORT BYTES [nonblock]
 *       sends BYTES bytes of a pattern (byte k is pattern(k)) in send calls of
 *       sizes cycling from 1 byte to 1 MB, so the stream keeps switching
 *       between direct writes and the queue; non-blocking, it waits in
 *       poll_oneoff for writable after each EAGAIN. Then shuts its write side
 *       and prints "sent <bytes> eagain <count>" and the server's reply line.
 *   bridge_stream flood HOST PORT
 *       prints "connected", then sends 64 KiB at a time until a send fails,
 *       prints "send: <errno name>" and exits 0.
 */
#include "wasix_net.h"

static const char *errname(int e) {
  switch (e) {
    case EAGAIN: return "EAGAIN";
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    default: return strerror(e);
  }
}

static uint8_t pattern(uint64_t k) {
  return (uint8_t)(k * 131 + (k >> 13));
}

static const size_t SIZES[] = { 1, 3, 100, 4096, 16389, 65536, 262151, 1000000, 7, 200000 };
#define MAX_SIZE 1000000
static uint8_t buf[MAX_SIZE];

/* Waits up to 20 s for fd to be writable; exits on a timeout. */
static void wait_writable(int32_t fd) {
  __wasi_subscription_t subs[2];
  memset(subs, 0, sizeof subs);
  subs[0].userdata = 1;
  subs[0].u.tag = __WASI_EVENTTYPE_FD_WRITE;
  subs[0].u.u.fd_write.file_descriptor = (uint32_t)fd;
  subs[1].userdata = 2;
  subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
  subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
  subs[1].u.u.clock.timeout = 20000000000ull;
  __wasi_event_t evs[2];
  __wasi_size_t n = 0;
  wx_check(__wasi_poll_oneoff(subs, evs, 2, &n), "poll_oneoff");
  for (__wasi_size_t i = 0; i < n; i++) if (evs[i].userdata == 1) return;
  printf("error: not writable within 20 s\n");
  exit(2);
}

static int send_pattern(int32_t fd, uint64_t total, int nonblock) {
  uint64_t sent = 0, eagain = 0;
  for (size_t turn = 0; sent < total; turn++) {
    size_t n = SIZES[turn % (sizeof SIZES / sizeof SIZES[0])];
    if (n > total - sent) n = (size_t)(total - sent);
    for (size_t i = 0; i < n; i++) buf[i] = pattern(sent + i);
    for (size_t off = 0; off < n;) {
      __wasi_ciovec_t iov = { buf + off, n - off };
      size_t did = 0;
      __wasi_errno_t err = __wasi_sock_send(fd, &iov, 1, 0, &did);
      if (err == EAGAIN && nonblock) {
        eagain++;
        wait_writable(fd);
        continue;
      }
      wx_check(err, "send");
      off += did;
    }
    sent += n;
  }
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), "shutdown");
  printf("sent %llu eagain %llu\n", (unsigned long long)sent, (unsigned long long)eagain);
  fflush(stdout);
  if (nonblock) wx_check(__wasi_fd_fdstat_set_flags(fd, 0), "fd_fdstat_set_flags");
  char reply[128];
  size_t got = 0;
  for (;;) {
    int64_t r = wx_recv(fd, reply + got, sizeof reply - 1 - got);
    if (r < 0) { printf("error: recv: %s\n", errname((int)-r)); return 2; }
    if (r == 0) break;
    got += (size_t)r;
  }
  reply[got] = 0;
  printf("%s", reply);
  return 0;
}

static int flood(int32_t fd) {
  printf("connected\n");
  fflush(stdout);
  memset(buf, 'f', 65536);
  for (;;) {
    __wasi_ciovec_t iov = { buf, 65536 };
    size_t did = 0;
    __wasi_errno_t err = __wasi_sock_send(fd, &iov, 1, 0, &did);
    if (err) {
      printf("send: %s\n", errname(err));
      return 0;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 4) {
    printf("usage: bridge_stream send HOST PORT BYTES [nonblock] | flood HOST PORT\n");
    return 2;
  }
  wx_addr_port to;
  wx_check(wx_lookup4(argv[2], (uint16_t)atoi(argv[3]), &to), "resolve");
  int32_t fd = wx_connect_retry(&to, 10000);
  if (strcmp(argv[1], "flood") == 0) return flood(fd);
  if (strcmp(argv[1], "send") == 0 && argc > 4) {
    int nonblock = argc > 5 && strcmp(argv[5], "nonblock") == 0;
    if (nonblock) wx_check(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK), "fd_fdstat_set_flags");
    return send_pattern(fd, strtoull(argv[4], NULL, 10), nonblock);
  }
  printf("error: unknown mode %s\n", argv[1]);
  return 2;
}
