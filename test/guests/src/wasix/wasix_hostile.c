// Hostile uses of the WASIX calls, one per argv[1]: floods of duplicates
// and pipes, escapes from the mounts through chdir, a signal timer firing
// without pause, a handler that traps.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <unistd.h>

static volatile unsigned long fired = 0;
static void count(int sig) { (void)sig; fired++; }
static void crash(int sig) { (void)sig; __builtin_trap(); }

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (!strcmp(mode, "dup")) {
    int n = 0;
    while (dup(1) >= 0) n++;
    printf("dup stopped after %d: %s\n", n, strerror(errno));
    printf("dup above the limit: %s\n", fcntl(1, F_DUPFD, 1 << 30) < 0 ? strerror(errno) : "allowed");
  } else if (!strcmp(mode, "pipes")) {
    int n = 0, fds[2];
    while (pipe(fds) == 0) n++;
    printf("pipes stopped after %d: %s\n", n, strerror(errno));
  } else if (!strcmp(mode, "epoll")) {
    int ep = epoll_create1(0), n = 0;
    struct epoll_event ev = {.events = EPOLLIN};
    while (1) {
      int fd = dup(0);
      if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) break;
      n++;
    }
    struct epoll_event got[8];
    printf("epoll watched %d, then waits %d\n", n, epoll_wait(ep, got, 8, 50));
  } else if (!strcmp(mode, "escape")) {
    const char *tries[] = {"/data/../..", "/data/link-out", "/data/link-out/etc", "..", "/", "/etc", "/data/./../data/../../etc"};
    for (unsigned i = 0; i < sizeof tries / sizeof *tries; i++) {
      int r = chdir(tries[i]);
      char cwd[256];
      printf("chdir %s: %s, cwd %s\n", tries[i], r == 0 ? "ok" : strerror(errno), getcwd(cwd, sizeof cwd) ? cwd : "?");
      chdir("/data");
    }
  } else if (!strcmp(mode, "timer")) {
    signal(SIGALRM, count);
    struct itimerval it = {{0, 1}, {0, 1}};
    setitimer(ITIMER_REAL, &it, NULL);
    printf("timer set\n");
    fflush(stdout);
    for (;;) usleep(1);
  } else if (!strcmp(mode, "trap")) {
    signal(SIGUSR2, crash);
    printf("raising\n");
    fflush(stdout);
    raise(SIGUSR2);
    printf("survived\n");
  }
  return 0;
}
