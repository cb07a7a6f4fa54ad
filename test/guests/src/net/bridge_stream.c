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
 *   bridge_stream recv HOST PORT [poll]
 *       prints "connected", then receives until end of stream in receive
 *       calls of sizes cycling as above (so the stream switches between the
 *       host's reads and the guest's own), checking every byte against the
 *       pattern; with poll, waits in poll_oneoff for readable before each
 *       receive. Prints "received <bytes> firstbad <offset or -1>", or
 *       "recv: <errno name> after <bytes> firstbad <offset or -1>" when a
 *       receive fails.
 *   bridge_stream pingpong HOST PORT COUNT SIZE
 *       COUNT round trips: sends SIZE bytes, receives SIZE bytes back; the
 *       bytes both ways continue the pattern (the server answers with the
 *       next SIZE bytes of it). Prints "pingpong <count> firstbad <offset or -1>".
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

/* Waits up to 20 s for fd to be ready (an FD_READ or FD_WRITE event); exits on a timeout. */
static void wait_ready(int32_t fd, __wasi_eventtype_t type, const char *what) {
  if (wx_wait_fd(fd, type, 20000).userdata == 1) return;
  printf("error: not %s within 20 s\n", what);
  exit(2);
}

static void wait_writable(int32_t fd) { wait_ready(fd, __WASI_EVENTTYPE_FD_WRITE, "writable"); }
static void wait_readable(int32_t fd) { wait_ready(fd, __WASI_EVENTTYPE_FD_READ, "readable"); }

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

/* Receives into buf up to n bytes; the count, 0 at end of stream, or -errno. */
static int64_t recv_some(int32_t fd, size_t n) {
  __wasi_iovec_t iov = { buf, n };
  size_t did = 0;
  __wasi_roflags_t flags = 0;
  __wasi_errno_t err = __wasi_sock_recv(fd, &iov, 1, 0, &did, &flags);
  return err ? -(int64_t)err : (int64_t)did;
}

static int recv_pattern(int32_t fd, int poll) {
  printf("connected\n");
  fflush(stdout);
  uint64_t got = 0;
  int64_t firstbad = -1;
  for (size_t turn = 0;; turn++) {
    if (poll) wait_readable(fd);
    int64_t r = recv_some(fd, SIZES[turn % (sizeof SIZES / sizeof SIZES[0])]);
    if (r < 0) {
      printf("recv: %s after %llu firstbad %lld\n", errname((int)-r), (unsigned long long)got, (long long)firstbad);
      return 0;
    }
    if (r == 0) break;
    for (int64_t i = 0; i < r; i++) {
      if (firstbad < 0 && buf[i] != pattern(got + (uint64_t)i)) firstbad = (int64_t)(got + (uint64_t)i);
    }
    got += (uint64_t)r;
  }
  printf("received %llu firstbad %lld\n", (unsigned long long)got, (long long)firstbad);
  return 0;
}

static int pingpong(int32_t fd, long count, size_t size) {
  if (size > MAX_SIZE) size = MAX_SIZE;
  uint64_t at = 0;
  int64_t firstbad = -1;
  for (long k = 0; k < count; k++) {
    for (size_t i = 0; i < size; i++) buf[i] = pattern(at + i);
    wx_check(wx_send_all(fd, buf, size), "send");
    for (size_t got = 0; got < size;) {
      int64_t r = recv_some(fd, size - got);
      if (r < 0) { printf("recv: %s\n", errname((int)-r)); return 2; }
      if (r == 0) { printf("error: end of stream\n"); return 2; }
      for (int64_t i = 0; i < r; i++) {
        uint64_t k2 = at + size + got + (uint64_t)i;
        if (firstbad < 0 && buf[i] != pattern(k2)) firstbad = (int64_t)k2;
      }
      got += (size_t)r;
    }
    at += 2 * size;
  }
  printf("pingpong %ld firstbad %lld\n", count, (long long)firstbad);
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
    printf("usage: bridge_stream send HOST PORT BYTES [nonblock] | flood HOST PORT | recv HOST PORT [poll]"
           " | pingpong HOST PORT COUNT SIZE\n");
    return 2;
  }
  wx_addr_port to;
  wx_check(wx_lookup4(argv[2], (uint16_t)atoi(argv[3]), &to), "resolve");
  int32_t fd = wx_connect_retry(&to, 10000);
  if (strcmp(argv[1], "flood") == 0) return flood(fd);
  if (strcmp(argv[1], "recv") == 0) return recv_pattern(fd, argc > 4 && strcmp(argv[4], "poll") == 0);
  if (strcmp(argv[1], "pingpong") == 0 && argc > 5) return pingpong(fd, atol(argv[4]), (size_t)atol(argv[5]));
  if (strcmp(argv[1], "send") == 0 && argc > 4) {
    int nonblock = argc > 5 && strcmp(argv[5], "nonblock") == 0;
    if (nonblock) wx_check(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK), "fd_fdstat_set_flags");
    return send_pattern(fd, strtoull(argv[4], NULL, 10), nonblock);
  }
  printf("error: unknown mode %s\n", argv[1]);
  return 2;
}
