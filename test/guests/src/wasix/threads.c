// Threads test guest (WASIX toolchain): argv[1] picks a scenario.
//   basic      workers add to a counter under a mutex, signal a condition
//              variable, are joined; prints the total and thread ids
//   futex      a timed condition wait and a raw futex_wait time out
//   exhaust    spawns until pthread_create fails; prints how many ran
//   block      a thread blocks in a futex forever, main joins it
//   spin       a thread spins forever, main joins it
//   trap       a thread traps (unreachable) while main waits
//   exit       a thread calls exit(7) while main waits
//   detach     main leaves with pthread_exit; the last thread ends the process
//   hostile    thread and futex calls with impossible arguments; prints errnos
//   garbage    spawns a thread whose start argument points outside memory
//   churn      starts and joins 200 threads one after another
//   closerace  a thread blocks in accept; main closes the listening socket under it
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define WORKERS 4
#define ROUNDS 1000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int finished;

static void *add(void *arg) {
  for (int i = 0; i < ROUNDS; i++) {
    pthread_mutex_lock(&lock);
    counter += (long)(intptr_t)arg;
    pthread_mutex_unlock(&lock);
  }
  pthread_mutex_lock(&lock);
  finished++;
  pthread_cond_signal(&done_cond);
  pthread_mutex_unlock(&lock);
  __wasi_tid_t tid = 0;
  (void)__wasi_thread_id(&tid);
  return (void *)(intptr_t)tid;
}

static int basic(void) {
  pthread_t t[WORKERS];
  for (int i = 0; i < WORKERS; i++) {
    if (pthread_create(&t[i], NULL, add, (void *)(intptr_t)(i + 1)) != 0) { perror("pthread_create"); return 1; }
  }
  pthread_mutex_lock(&lock);
  while (finished < WORKERS) pthread_cond_wait(&done_cond, &lock);
  pthread_mutex_unlock(&lock);
  int distinct = 1;
  intptr_t ids[WORKERS];
  for (int i = 0; i < WORKERS; i++) {
    void *r;
    pthread_join(t[i], &r);
    ids[i] = (intptr_t)r;
    if (ids[i] <= 1) distinct = 0;
    for (int j = 0; j < i; j++) if (ids[j] == ids[i]) distinct = 0;
  }
  __wasi_tid_t self = 0;
  (void)__wasi_thread_id(&self);
  __wasi_size_t par = 0;
  (void)__wasi_thread_parallelism(&par);
  printf("counter=%ld finished=%d main=%u distinct=%d parallelism>=1:%d\n", counter, finished, (unsigned)self, distinct, par >= 1);
  return 0;
}

static long ms_since(struct timespec *a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static int futex(void) {
  struct timespec start, deadline;
  clock_gettime(CLOCK_MONOTONIC, &start);
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_nsec += 150 * 1000000;
  if (deadline.tv_nsec >= 1000000000) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000; }
  pthread_mutex_lock(&lock);
  int r = pthread_cond_timedwait(&done_cond, &lock, &deadline);
  pthread_mutex_unlock(&lock);
  long cond_ms = ms_since(&start);

  static uint32_t word = 0;
  __wasi_option_timestamp_t timeout = { .tag = __WASI_OPTION_SOME, .u = { .some = 100 * 1000000ull } };
  __wasi_bool_t woken = 1;
  clock_gettime(CLOCK_MONOTONIC, &start);
  __wasi_errno_t e = __wasi_futex_wait(&word, 0, &timeout, &woken);
  long futex_ms = ms_since(&start);
  __wasi_bool_t timed_out_woken = woken;
  // A word that does not hold the expected value returns at once.
  __wasi_errno_t e2 = __wasi_futex_wait(&word, 1, &timeout, &woken);
  __wasi_bool_t none = 1;
  (void)__wasi_futex_wake(&word, &none);
  printf("cond=%s waited>=140:%d futex=%d woken=%d waited>=90:%d mismatch=%d mismatch-woken=%d nobody-woken=%d\n",
    r == ETIMEDOUT ? "ETIMEDOUT" : strerror(r), cond_ms >= 140, e, timed_out_woken, futex_ms >= 90, e2, woken, none == 0);
  return 0;
}

static void *park(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lock);
  while (!finished) pthread_cond_wait(&done_cond, &lock);
  pthread_mutex_unlock(&lock);
  return NULL;
}

static int exhaust(void) {
  pthread_t t[64];
  int n = 0, err = 0;
  while (n < 64 && (err = pthread_create(&t[n], NULL, park, NULL)) == 0) n++;
  printf("started=%d error=%s\n", n, err == EAGAIN ? "EAGAIN" : strerror(err));
  fflush(stdout);
  pthread_mutex_lock(&lock);
  finished = 1;
  pthread_cond_broadcast(&done_cond);
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
  // The limit counts threads running at once: ended ones make room again.
  pthread_t again;
  int r = pthread_create(&again, NULL, park, NULL);
  if (r == 0) pthread_join(again, NULL);
  printf("after join: %s\n", r == 0 ? "ok" : strerror(r));
  return 0;
}

static void *block(void *arg) {
  (void)arg;
  printf("blocking\n");
  fflush(stdout);
  static uint32_t word = 0;
  __wasi_option_timestamp_t none = { .tag = __WASI_OPTION_NONE };
  __wasi_bool_t woken;
  for (;;) (void)__wasi_futex_wait(&word, 0, &none, &woken);
  return NULL;
}

static volatile int sink;
static void *spin(void *arg) {
  (void)arg;
  printf("spinning\n");
  fflush(stdout);
  for (;;) sink++;
  return NULL;
}

static void *trap(void *arg) {
  (void)arg;
  usleep(20000);
  __builtin_trap();
  return NULL;
}

static void *leave(void *arg) {
  usleep(20000);
  exit((int)(intptr_t)arg);
  return NULL;
}

static void *last(void *arg) {
  (void)arg;
  usleep(50000);
  printf("last thread\n");
  fflush(stdout);
  return NULL;
}

static int hostile(void) {
  __wasi_tid_t tid = 0;
  __wasi_bool_t woken = 0;
  __wasi_option_timestamp_t t = { .tag = __WASI_OPTION_SOME, .u = { .some = 1 } };
  int spawn_end = __wasi_thread_spawn_v2((__wasi_thread_start_t *)0xffffffc8, &tid);
  int spawn_tid = __wasi_thread_spawn_v2((__wasi_thread_start_t *)0x10000, (__wasi_tid_t *)0xfffffffe);
  int unaligned = __wasi_futex_wait((uint32_t *)0x10002, 0, &t, &woken);
  int outside = __wasi_futex_wait((uint32_t *)0xfffffffc, 0, &t, &woken);
  int bad_timeout = __wasi_futex_wait((uint32_t *)0x10000, *(volatile uint32_t *)0x10000, (__wasi_option_timestamp_t *)0xfffffff8, &woken);
  int bad_woken = __wasi_futex_wake((uint32_t *)0x10000, (__wasi_bool_t *)0xffffffff);
  __wasi_tid_t self = 0;
  (void)__wasi_thread_id(&self);
  int join_self = __wasi_thread_join(self);
  int join_unknown = __wasi_thread_join(0x1fffffff);
  int sleep_zero = __wasi_thread_sleep(0);
  int id_outside = __wasi_thread_id((__wasi_tid_t *)0xfffffffd);
  printf("spawn_end=%d spawn_tid=%d unaligned=%d outside=%d bad_timeout=%d bad_woken=%d join_self=%d join_unknown=%d sleep_zero=%d id_outside=%d\n",
    spawn_end, spawn_tid, unaligned, outside, bad_timeout, bad_woken, join_self, join_unknown, sleep_zero, id_outside);
  return 0;
}

static void *nothing(void *arg) { return arg; }

static int listener = -1;
static void *accepter(void *arg) {
  (void)arg;
  int c = accept(listener, NULL, NULL);
  return (void *)(intptr_t)(c < 0 ? -errno : c);
}

static int closerace(void) {
  listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7300), .sin_addr = { htonl(INADDR_LOOPBACK) } };
  if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof a) < 0 || listen(listener, 4) < 0) { perror("listen"); return 1; }
  pthread_t t;
  pthread_create(&t, NULL, accepter, NULL);
  usleep(200000);
  int closed = close(listener);
  void *r;
  pthread_join(t, &r);
  printf("close=%d accept=%s\n", closed, (intptr_t)r < 0 ? "failed" : "connected");
  return 0;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "basic";
  pthread_t t;
  if (!strcmp(mode, "basic")) return basic();
  if (!strcmp(mode, "futex")) return futex();
  if (!strcmp(mode, "exhaust")) return exhaust();
  if (!strcmp(mode, "hostile")) return hostile();
  if (!strcmp(mode, "closerace")) return closerace();
  if (!strcmp(mode, "garbage")) {
    int r = (int)__wasi_thread_spawn((void *)0xffffff00);
    printf("spawned %d\n", r > 0);
    fflush(stdout);
    for (;;) usleep(1000000);
  }
  if (!strcmp(mode, "churn")) {
    int ok = 0;
    for (int i = 0; i < 200; i++) {
      void *r;
      if (pthread_create(&t, NULL, nothing, (void *)(intptr_t)i) == 0 && pthread_join(t, &r) == 0 && (intptr_t)r == i) ok++;
    }
    printf("churn ok=%d\n", ok);
    return 0;
  }
  if (!strcmp(mode, "detach")) {
    pthread_create(&t, NULL, last, NULL);
    pthread_exit(NULL);
  }
  void *(*fn)(void *) = !strcmp(mode, "block") ? block : !strcmp(mode, "spin") ? spin
    : !strcmp(mode, "trap") ? trap : !strcmp(mode, "exit") ? leave : NULL;
  if (!fn) { fprintf(stderr, "unknown mode %s\n", mode); return 2; }
  pthread_create(&t, NULL, fn, (void *)7);
  pthread_join(t, NULL);
  printf("joined\n");
  return 0;
}
