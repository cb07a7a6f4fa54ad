/* Hostile guest: floods a neighbour until it is stopped from outside, so that
 * the test can kill it at any point of a send (test/hostile/kill.test.ts);
 * and the neighbour, which must keep working whatever dies around it.
 * The flooders print "flooding" as they start.
 *   udp NAME PORT           send datagrams of changing sizes to NAME:PORT forever
 *   tcp NAME PORT           connect to NAME:PORT and send forever (reconnecting)
 *   sink PORT HOSTPORT      receive UDP and TCP on PORT from anyone, and UDP from
 *                           a host peer on the host's 127.0.0.1:HOSTPORT (greeted
 *                           first, through host.capsule.internal);
 *                           stop at a "quit" datagram from the host peer and
 *                           print "sink: udp=N tcp=BYTES host=N conns=N" */
#include "../net/wasix_net.h"


#define MAX_CONNS 64
/* Flooders pause 1 ms after this many datagrams (or 32 times fewer 16 KiB writes): busy about
 * half the time, so that several of them leave the host thread some of a small machine's CPU. */
#define BURST 1024

static uint8_t buf[65536];

static int32_t open_sock(int type) {
  int32_t fd;
  wx_check(wx_sock_open(WX_INET4, type, 0, &fd), "sock_open");
  return fd;
}

/* Tells the test the flood starts, so that it can stop the guest in the middle of it. */
static wx_addr_port target(const char *name, uint16_t port) {
  wx_addr_port to;
  wx_check(wx_lookup4(name, port, &to), "resolve");
  printf("flooding\n");
  fflush(stdout);
  return to;
}

static int do_udp(const char *name, uint16_t port) {
  wx_addr_port to = target(name, port);
  int32_t fd = open_sock(WX_DGRAM);
  memset(buf, 'u', sizeof buf);
  for (uint32_t i = 1;; i++) {
    __wasi_ciovec_t iov = { buf, 1 + (i * 7919) % 1400 };
    int32_t sent = 0;
    int32_t err = wx_sock_send_to(fd, &iov, 1, 0, &to, &sent);
    if (err) wx_check(err, "sock_send_to");
    if (i % BURST == 0) wx_nap_ms(1);
  }
}

static int do_tcp(const char *name, uint16_t port) {
  wx_addr_port to = target(name, port);
  memset(buf, 't', sizeof buf);
  for (;;) {
    int32_t fd = wx_connect_retry(&to, 1000);
    /* A neighbour that resets is no reason to stop flooding. */
    for (uint32_t i = 1; wx_send_all(fd, buf, 16384) == 0; i++) {
      if (i % (BURST / 32) == 0) wx_nap_ms(1);
    }
    close(fd);
  }
}

static int set_nonblocking(int32_t fd) {
  return __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK);
}

static int do_sink(uint16_t port, uint16_t host_port) {
  int32_t udp = open_sock(WX_DGRAM);
  wx_addr_port any = wx_ipv4(0, 0, 0, 0, port);
  wx_check(wx_sock_bind(udp, &any), "sock_bind udp");
  int32_t lst = open_sock(WX_STREAM);
  wx_check(wx_sock_bind(lst, &any), "sock_bind tcp");
  wx_check(wx_sock_listen(lst, 64), "sock_listen");
  wx_check(set_nonblocking(udp), "nonblocking udp");
  wx_check(set_nonblocking(lst), "nonblocking listener");
  /* The same socket greets the host peer, so host datagrams land in the queue guests flood. */
  wx_addr_port host = wx_ipv4(10, 89, 255, 254, host_port);
  __wasi_ciovec_t hi = { (const uint8_t *)"hi", 2 };
  int32_t sent = 0;
  wx_check(wx_sock_send_to(udp, &hi, 1, 0, &host, &sent), "sock_send_to host");
  printf("sink: ready\n");
  fflush(stdout);

  int32_t conns[MAX_CONNS];
  int nconns = 0;
  long long udp_n = 0, host_n = 0, tcp_bytes = 0, accepted = 0;
  for (;;) {
    __wasi_subscription_t subs[MAX_CONNS + 3];
    __wasi_event_t evs[MAX_CONNS + 3];
    memset(subs, 0, sizeof subs);
    int n = 0;
    int32_t watched[] = { udp, lst };
    for (int i = 0; i < 2 + nconns; i++) {
      subs[n].u.tag = __WASI_EVENTTYPE_FD_READ;
      subs[n].u.u.fd_read.file_descriptor = i < 2 ? watched[i] : conns[i - 2];
      n++;
    }
    subs[n].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[n].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[n].u.u.clock.timeout = 20 * 1000000ull;
    n++;
    __wasi_size_t got = 0;
    wx_check(__wasi_poll_oneoff(subs, evs, n, &got), "poll_oneoff");

    for (;;) {
      __wasi_iovec_t iov = { buf, sizeof buf };
      int32_t len = 0;
      uint16_t flags = 0;
      wx_addr_port from;
      int32_t err = wx_sock_recv_from(udp, &iov, 1, 0, &len, &flags, &from);
      if (err == EAGAIN) break;
      wx_check(err, "sock_recv_from");
      /* The host peer answers from the gateway address the sink greeted it through. */
      int from_host = from.addr[0] != 10 || (from.addr[1] == 89 && from.addr[2] == 255 && from.addr[3] == 254);
      if (!from_host) { udp_n++; continue; }
      host_n++;
      if (len == 4 && memcmp(buf, "quit", 4) == 0) {
        printf("sink: udp=%lld tcp=%lld host=%lld conns=%lld\n", udp_n, tcp_bytes, host_n, accepted);
        return 0;
      }
    }
    for (;;) {
      int32_t c;
      wx_addr_port peer;
      int32_t err = wx_sock_accept_v2(lst, __WASI_FDFLAGS_NONBLOCK, &c, &peer);
      if (err == EAGAIN) break;
      wx_check(err, "sock_accept_v2");
      accepted++;
      if (nconns == MAX_CONNS) { close(c); continue; }
      wx_check(set_nonblocking(c), "nonblocking connection");
      conns[nconns++] = c;
    }
    for (int i = 0; i < nconns;) {
      int64_t r = wx_recv(conns[i], buf, sizeof buf);
      if (r > 0) { tcp_bytes += r; continue; }
      if (r == -EAGAIN) { i++; continue; }
      /* The end of the stream or a reset: a flooder was stopped. */
      close(conns[i]);
      conns[i] = conns[--nconns];
    }
  }
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "udp")) return do_udp(argv[2], (uint16_t)atoi(argv[3]));
  if (argc == 4 && !strcmp(argv[1], "tcp")) return do_tcp(argv[2], (uint16_t)atoi(argv[3]));
  if (argc == 4 && !strcmp(argv[1], "sink")) return do_sink((uint16_t)atoi(argv[2]), (uint16_t)atoi(argv[3]));
  printf("usage: hostile_flood udp|tcp NAME PORT | sink PORT HOSTPORT\n");
  return 64;
}
