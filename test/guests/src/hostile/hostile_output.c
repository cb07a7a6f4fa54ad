/* Hostile guest: output floods and blocking calls that only a stop from
 * outside (time limit, Ctrl-C, SIGTERM, an abort signal) can end. argv[1]
 * names the attack; each prints "NAME: started" on stderr first.
 *   interleave     1-byte writes alternating between stdout and stderr, forever
 *   lines [N]      short lines on stdout, forever (or N of them, then exit 0,
 *                  whether or not the writes failed: a reader gone away is
 *                  EPIPE, which this guest ignores as printf's callers do)
 *   big            64 KiB writes on stdout, forever
 *   stdin_block    block reading stdin (which never ends)
 *   sleep_block    block in poll_oneoff on a clock an hour away */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char block[65536];

int main(int argc, char **argv) {
  const char *a = argc > 1 ? argv[1] : "";
  fprintf(stderr, "%s: started\n", a);
  if (!strcmp(a, "interleave")) {
    for (;;) {
      write(1, "a", 1);
      write(2, "b", 1);
    }
  }
  if (!strcmp(a, "lines")) {
    unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
    for (unsigned long i = 0; n == 0 || i < n; i++) printf("line %lu\n", i);
    return 0;
  }
  if (!strcmp(a, "big")) {
    memset(block, 'x', sizeof block);
    for (;;) write(1, block, sizeof block);
  }
  if (!strcmp(a, "stdin_block")) {
    char c;
    while (read(0, &c, 1) > 0) {}
    puts("stdin_block: unexpected end of input");
    return 1;
  }
  if (!strcmp(a, "sleep_block")) {
    struct timespec t = { 3600, 0 };
    nanosleep(&t, NULL);
    puts("sleep_block: unexpected wake-up");
    return 1;
  }
  fprintf(stderr, "unknown attack '%s'\n", a);
  return 2;
}
