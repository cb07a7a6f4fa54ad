/* Many connections at once: opens argv[3] (default 1000) connections to
 * argv[1]:argv[2], all connected before any data moves; then sends a distinct
 * pattern on each and half-closes it; then waits on all of them with one
 * poll_oneoff at a time and checks every byte echoed back. Prints
 * "verified N connections" or "error: ...". */
#include "wasix_net.h"

#define MAXC 1000

static int32_t fds[MAXC];
static uint32_t got[MAXC];
static uint8_t finished[MAXC];
static __wasi_subscription_t subs[MAXC];
static __wasi_event_t events[MAXC];
static uint8_t buf[8192];

/* Connection c carries len_of(c) bytes, byte j being pattern(c, j). */
static uint32_t len_of(int c) { return 100 + (uint32_t)(c * 37) % 1900; }
static uint8_t pattern(int c, uint32_t j) { return (uint8_t)(c * 131 + j * 7 + (j >> 8) + (c >> 8)); }

static int fail(const char *what, int c, int err) {
  printf("error: %s (connection %d): %s\n", what, c, strerror(err));
  return 2;
}

int main(int argc, char **argv) {
  const char *host = argc > 1 ? argv[1] : "server";
  uint16_t port = argc > 2 ? (uint16_t)atoi(argv[2]) : 7000;
  int count = argc > 3 ? atoi(argv[3]) : MAXC;
  if (count < 1 || count > MAXC) { printf("error: count must be 1..%d\n", MAXC); return 2; }
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");

  for (int c = 0; c < count; c++) {
    int32_t err = 0;
    /* Only the first connect may race the server's listen. */
    for (int attempt = 0; attempt < (c == 0 ? 100 : 1); attempt++) {
      if ((err = wx_sock_open(WX_INET4, WX_STREAM, 0, &fds[c]))) return fail("sock_open", c, err);
      /* Small queues: 1000 connections of the default size would be half a gigabyte. */
      if ((err = wx_sock_set_opt_size(fds[c], WX_OPT_RECV_BUF, 4096))) return fail("set SO_RCVBUF", c, err);
      if ((err = wx_sock_set_opt_size(fds[c], WX_OPT_SEND_BUF, 4096))) return fail("set SO_SNDBUF", c, err);
      err = wx_sock_connect(fds[c], &to);
      if (err != ECONNREFUSED) break;
      close(fds[c]);
      wx_nap_ms(50);
    }
    if (err) return fail("sock_connect", c, err);
  }
  printf("connected %d\n", count);
  fflush(stdout);

  for (int c = 0; c < count; c++) {
    uint32_t n = len_of(c);
    for (uint32_t j = 0; j < n; j++) buf[j] = pattern(c, j);
    int32_t err = wx_send_all(fds[c], buf, n);
    if (err) return fail("send", c, err);
    if ((err = __wasi_sock_shutdown(fds[c], __WASI_SDFLAGS_WR))) return fail("shutdown", c, err);
  }

  int remaining = count;
  uint64_t bytes = 0;
  while (remaining > 0) {
    int nsubs = 0;
    for (int c = 0; c < count; c++) {
      if (finished[c]) continue;
      memset(&subs[nsubs], 0, sizeof subs[nsubs]);
      subs[nsubs].userdata = (uint64_t)c;
      subs[nsubs].u.tag = __WASI_EVENTTYPE_FD_READ;
      subs[nsubs].u.u.fd_read.file_descriptor = (uint32_t)fds[c];
      nsubs++;
    }
    __wasi_size_t nev = 0;
    __wasi_errno_t perr = __wasi_poll_oneoff(subs, events, (__wasi_size_t)nsubs, &nev);
    if (perr) return fail("poll_oneoff", -1, perr);
    if (nev == 0) { printf("error: poll_oneoff returned no events\n"); return 2; }
    for (__wasi_size_t e = 0; e < nev; e++) {
      int c = (int)events[e].userdata;
      if (events[e].type != __WASI_EVENTTYPE_FD_READ) { printf("error: event type %u\n", events[e].type); return 2; }
      if (events[e].error) return fail("poll event", c, events[e].error);
      int64_t n = wx_recv(fds[c], buf, sizeof buf);
      if (n < 0) return fail("recv", c, (int)-n);
      if (n == 0) {
        if (got[c] != len_of(c)) {
          printf("error: connection %d: EOF after %u of %u bytes\n", c, got[c], len_of(c));
          return 2;
        }
        finished[c] = 1;
        close(fds[c]);
        remaining--;
        continue;
      }
      for (int64_t k = 0; k < n; k++) {
        uint32_t j = got[c] + (uint32_t)k;
        if (j >= len_of(c) || buf[k] != pattern(c, j)) {
          printf("error: connection %d: byte %u is wrong or extra\n", c, j);
          return 2;
        }
      }
      got[c] += (uint32_t)n;
      bytes += (uint64_t)n;
    }
  }
  printf("verified %d connections, %llu bytes\n", count, (unsigned long long)bytes);
  return 0;
}
