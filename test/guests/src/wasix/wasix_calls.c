// Exercises the WASIX calls wasix-libc makes for common POSIX functions:
// process ids, signals with handlers and interval timers, dup/fcntl, pipes,
// eventfd, chdir/getcwd and epoll. Prints one line per check; argv[1] is a
// writable mounted directory.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int usr1 = 0, alarms = 0;
static _Thread_local int tls_value = 42;
static void on_usr1(int sig) { usr1 = sig; }
static void on_alarm(int sig) { (void)sig; alarms++; }

static long ms_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  printf("pid %d ppid %d\n", (int)getpid(), (int)getppid());
  printf("thread-local initial value %d\n", tls_value);

  signal(SIGUSR1, on_usr1);
  raise(SIGUSR1);
  printf("handler ran for %d\n", usr1);
  signal(SIGCHLD, SIG_DFL);
  raise(SIGCHLD);
  printf("SIGCHLD ignored\n");

  signal(SIGALRM, on_alarm);
  struct itimerval it = {{0, 20000}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (alarms < 3 && ms_since(&t0) < 5000) usleep(5000);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("alarms >= 3: %s\n", alarms >= 3 ? "yes" : "no");

  int fds[2];
  if (pipe(fds) != 0) { perror("pipe"); return 1; }
  int copy = dup(fds[1]);
  int high = fcntl(fds[1], F_DUPFD_CLOEXEC, 20);
  printf("dup above: %s, high %d cloexec %d, plain cloexec %d\n", copy > fds[1] ? "yes" : "no", high,
         (fcntl(high, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(copy, F_GETFD) & FD_CLOEXEC) != 0);
  fcntl(copy, F_SETFD, FD_CLOEXEC);
  printf("set cloexec %d\n", (fcntl(copy, F_GETFD) & FD_CLOEXEC) != 0);
  write(copy, "through ", 8);
  write(high, "the pipe", 8);
  close(copy);
  close(high);
  char buf[64] = {0};
  int n = read(fds[0], buf, sizeof buf - 1);
  printf("pipe read %d: %s\n", n, buf);
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  errno = 0;
  n = read(fds[0], buf, sizeof buf);
  printf("empty pipe: %d %s\n", n, errno == EAGAIN ? "EAGAIN" : strerror(errno));

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234};
  epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
  struct epoll_event got[4];
  clock_gettime(CLOCK_MONOTONIC, &t0);
  n = epoll_wait(ep, got, 4, 100);
  long waited = ms_since(&t0);
  printf("epoll timeout: %d events after >= 90 ms: %s\n", n, waited >= 90 ? "yes" : "no");
  write(fds[1], "x", 1);
  n = epoll_wait(ep, got, 4, 0);
  printf("level: %d %s data %llx\n", n, n == 1 && (got[0].events & EPOLLIN) ? "IN" : "-", n == 1 ? (unsigned long long)got[0].data.u64 : 0ULL);
  n = epoll_wait(ep, got, 4, 0);
  printf("level again: %d\n", n);
  ev.events = EPOLLIN | EPOLLET;
  epoll_ctl(ep, EPOLL_CTL_MOD, fds[0], &ev);
  printf("edge: %d", epoll_wait(ep, got, 4, 0));
  printf(" then %d", epoll_wait(ep, got, 4, 0));
  write(fds[1], "y", 1);
  printf(" more data %d\n", epoll_wait(ep, got, 4, 0));
  ev.events = EPOLLIN | EPOLLONESHOT;
  epoll_ctl(ep, EPOLL_CTL_MOD, fds[0], &ev);
  printf("oneshot: %d", epoll_wait(ep, got, 4, 0));
  printf(" then %d", epoll_wait(ep, got, 4, 0));
  epoll_ctl(ep, EPOLL_CTL_MOD, fds[0], &ev);
  printf(" rearmed %d\n", epoll_wait(ep, got, 4, 0));
  printf("ctl add twice: %s\n", epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev) != 0 ? "refused" : "accepted");
  close(ep);

  int efd = eventfd(2, 0);
  uint64_t v = 5;
  write(efd, &v, 8);
  v = 0;
  read(efd, &v, 8);
  printf("eventfd: %llu\n", (unsigned long long)v);
  close(efd);

  char cwd[256];
  printf("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerror(errno));
  char sub[256];
  snprintf(sub, sizeof sub, "%s/sub", argv[1]);
  mkdir(sub, 0755);
  if (chdir(sub) != 0) printf("chdir: %s\n", strerror(errno));
  printf("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerror(errno));
  FILE *f = fopen("relative.txt", "w");
  if (f) { fputs("written relative to the working directory\n", f); fclose(f); }
  printf("relative open: %s\n", f ? "ok" : strerror(errno));
  printf("chdir outside the mounts: %s\n", chdir("/nowhere") == 0 ? "allowed" : strerror(errno));
  printf("chdir ..: %d\n", chdir(".."));
  printf("cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : strerror(errno));
  return 0;
}
