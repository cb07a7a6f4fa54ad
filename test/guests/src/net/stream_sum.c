/* Streams checksummed bytes between guests, for sealing a system mid-stream.
 *
 *   stream_sum server PORT N        listens on PORT, accepts N clients (printing
 *                                   "accepted I"), then reads each to its end in
 *                                   turn (the others wait, blocked in send) and
 *                                   prints "client I: BYTES bytes, sum HEX"; it
 *                                   answers each client with the count and sum.
 *   stream_sum client HOST PORT ID MIB PACE_MS
 *                                   sends MIB MiB of bytes generated from ID in
 *                                   16 KiB writes, napping PACE_MS after each,
 *                                   printing "ID sent K MiB" at each MiB, then
 *                                   half-closes, reads the server's count and
 *                                   sum and prints "ID: BYTES bytes, sum HEX,
 *                                   server agrees" (or "server disagrees").
 *   stream_sum hello HOST PORT NAP_MS
 *                                   connects, naps NAP_MS, sends "hello", half-
 *                                   closes and prints how many bytes the server got.
 *   stream_sum server PORT N NAP_MS as server, napping NAP_MS after listening
 *                                   (connections wait in its backlog meanwhile).
 *   stream_sum dgram-recv PORT NAP_MS COUNT
 *                                   binds UDP PORT (and listens on TCP PORT, for a
 *                                   system's "after"), naps NAP_MS, then prints
 *                                   each of COUNT datagrams ("got d0" ...).
 *   stream_sum dgram-send HOST PORT COUNT
 *                                   sends COUNT datagrams "d0", "d1", ... and
 *                                   prints "sent COUNT".
 *   stream_sum hold FILE NAP_MS     opens FILE, prints "holding", naps NAP_MS,
 *                                   writes "kept" to it, closes it and prints
 *                                   "held" (an open file in a system).
 *
 * The sum is FNV-1a over the stream in order: a byte lost, duplicated or
 * moved changes it. */
#include "wasix_net.h"

#define MAXC 16
#define CHUNK 16384

static uint8_t buf[CHUNK];

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 1099511628211ull; }
  return h;
}

/* The byte at position i of client `id`'s stream. */
static uint8_t byte_at(uint32_t id, uint64_t i) {
  uint64_t x = (i + 1) * 2654435761ull ^ ((uint64_t)id * 0x9E3779B97F4A7C15ull) ^ (i >> 7);
  return (uint8_t)(x ^ (x >> 13) ^ (x >> 29));
}

static int server(uint16_t port, int count, int nap) {
  int32_t fd, conns[MAXC];
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &fd), "sock_open");
  wx_addr_port any = wx_ipv4(0, 0, 0, 0, port);
  wx_check(wx_sock_bind(fd, &any), "sock_bind");
  wx_check(wx_sock_listen(fd, MAXC), "sock_listen");
  printf("listening on %u\n", port);
  fflush(stdout);
  if (nap > 0) wx_nap_ms((uint64_t)nap);
  for (int i = 0; i < count; i++) {
    wx_addr_port peer;
    wx_check(wx_sock_accept_v2(fd, 0, &conns[i], &peer), "sock_accept_v2");
    printf("accepted %d\n", i);
    fflush(stdout);
  }
  for (int i = 0; i < count; i++) {
    uint64_t total = 0, sum = 14695981039346656037ull;
    for (;;) {
      int64_t n = wx_recv(conns[i], buf, sizeof buf);
      if (n < 0) { printf("error: recv (client %d): %s\n", i, strerror((int)-n)); return 2; }
      if (n == 0) break;
      sum = fnv(sum, buf, (size_t)n);
      total += (uint64_t)n;
    }
    printf("client %d: %llu bytes, sum %016llx\n", i, (unsigned long long)total, (unsigned long long)sum);
    fflush(stdout);
    uint64_t reply[2] = { total, sum };
    wx_check(wx_send_all(conns[i], reply, sizeof reply), "send");
    close(conns[i]);
  }
  close(fd);
  return 0;
}

/* The server's answer (bytes received, their sum); 0 after printing why it could not be read. */
static int read_reply(int32_t fd, uint64_t reply[2]) {
  size_t got = 0;
  while (got < 2 * sizeof reply[0]) {
    int64_t n = wx_recv(fd, (uint8_t *)reply + got, 2 * sizeof reply[0] - got);
    if (n < 0) { printf("error: recv: %s\n", strerror((int)-n)); return 0; }
    if (n == 0) { printf("error: the server closed before answering\n"); return 0; }
    got += (size_t)n;
  }
  return 1;
}

static int client(const char *host, uint16_t port, uint32_t id, int mib, int pace) {
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  int32_t fd = wx_connect_retry(&to, 5000);
  uint64_t total = (uint64_t)mib << 20, sum = 14695981039346656037ull;
  for (uint64_t at = 0; at < total; at += CHUNK) {
    for (int i = 0; i < CHUNK; i++) buf[i] = byte_at(id, at + (uint64_t)i);
    sum = fnv(sum, buf, CHUNK);
    wx_check(wx_send_all(fd, buf, CHUNK), "send");
    if (((at + CHUNK) & ((1u << 20) - 1)) == 0) {
      printf("%u sent %llu MiB\n", id, (unsigned long long)((at + CHUNK) >> 20));
      fflush(stdout);
    }
    if (pace > 0) wx_nap_ms((uint64_t)pace);
  }
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), "shutdown");
  uint64_t reply[2];
  if (!read_reply(fd, reply)) return 2;
  int agrees = reply[0] == total && reply[1] == sum;
  printf("%u: %llu bytes, sum %016llx, server %s\n", id, (unsigned long long)total, (unsigned long long)sum, agrees ? "agrees" : "disagrees");
  return agrees ? 0 : 1;
}

static int hello(const char *host, uint16_t port, int nap) {
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  int32_t fd = wx_connect_retry(&to, 5000);
  printf("connected\n");
  fflush(stdout);
  wx_nap_ms((uint64_t)nap);
  wx_check(wx_send_all(fd, "hello", 5), "send");
  wx_check(__wasi_sock_shutdown(fd, __WASI_SDFLAGS_WR), "shutdown");
  uint64_t reply[2];
  if (!read_reply(fd, reply)) return 2;
  printf("the server got %llu bytes\n", (unsigned long long)reply[0]);
  return reply[0] == 5 ? 0 : 1;
}

static int dgram_recv(uint16_t port, int nap, int count) {
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_DGRAM, 0, &fd), "sock_open");
  wx_addr_port any = wx_ipv4(0, 0, 0, 0, port);
  wx_check(wx_sock_bind(fd, &any), "sock_bind");
  // A TCP listener on the same port number tells a system's "after" that the datagram socket is bound.
  int32_t ready;
  wx_check(wx_sock_open(WX_INET4, WX_STREAM, 0, &ready), "sock_open");
  wx_check(wx_sock_bind(ready, &any), "sock_bind");
  wx_check(wx_sock_listen(ready, 1), "sock_listen");
  printf("bound %u\n", port);
  fflush(stdout);
  wx_nap_ms((uint64_t)nap);
  for (int i = 0; i < count; i++) {
    __wasi_iovec_t iov = { buf, sizeof buf - 1 };
    int32_t got = 0;
    uint16_t flags = 0;
    wx_addr_port from;
    wx_check(wx_sock_recv_from(fd, &iov, 1, 0, &got, &flags, &from), "sock_recv_from");
    buf[got] = 0;
    printf("got %s\n", (char *)buf);
  }
  return 0;
}

static int dgram_send(const char *host, uint16_t port, int count) {
  wx_addr_port to;
  wx_check(wx_lookup4(host, port, &to), "resolve");
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, WX_DGRAM, 0, &fd), "sock_open");
  for (int i = 0; i < count; i++) {
    char msg[16];
    int len = snprintf(msg, sizeof msg, "d%d", i);
    __wasi_ciovec_t iov = { (const uint8_t *)msg, (size_t)len };
    int32_t sent = 0;
    wx_check(wx_sock_send_to(fd, &iov, 1, 0, &to, &sent), "sock_send_to");
  }
  printf("sent %d\n", count);
  return 0;
}

static int hold(const char *file, int nap) {
  FILE *f = fopen(file, "w");
  if (!f) { printf("error: open %s: %s\n", file, strerror(errno)); return 2; }
  printf("holding\n");
  fflush(stdout);
  wx_nap_ms((uint64_t)nap);
  /* Written after the nap: a snapshot taken during it must have carried the open file. */
  if (fputs("kept\n", f) < 0 || fclose(f) != 0) { printf("error: write %s: %s\n", file, strerror(errno)); return 2; }
  printf("held\n");
  return 0;
}

int main(int argc, char **argv) {
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "server") == 0) {
    int n = atoi(argv[3]);
    if (n < 1 || n > MAXC) { printf("error: N must be 1..%d\n", MAXC); return 2; }
    return server((uint16_t)atoi(argv[2]), n, argc == 5 ? atoi(argv[4]) : 0);
  }
  if (argc == 5 && strcmp(argv[1], "dgram-recv") == 0) return dgram_recv((uint16_t)atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
  if (argc == 4 && strcmp(argv[1], "hold") == 0) return hold(argv[2], atoi(argv[3]));
  if (argc == 5 && strcmp(argv[1], "dgram-send") == 0) return dgram_send(argv[2], (uint16_t)atoi(argv[3]), atoi(argv[4]));
  if (argc == 7 && strcmp(argv[1], "client") == 0) return client(argv[2], (uint16_t)atoi(argv[3]), (uint32_t)atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
  if (argc == 5 && strcmp(argv[1], "hello") == 0) return hello(argv[2], (uint16_t)atoi(argv[3]), atoi(argv[4]));
  printf("usage: stream_sum server PORT N [NAP_MS] | client HOST PORT ID MIB PACE_MS | hello HOST PORT NAP_MS"
         " | dgram-recv PORT NAP_MS COUNT | dgram-send HOST PORT COUNT | hold FILE NAP_MS\n");
  return 2;
}
