// Raises a signal the program set no handler for (argv[1], a number):
// its default action ends the program.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  int sig = argc > 1 ? atoi(argv[1]) : SIGTERM;
  printf("raising %d\n", sig);
  fflush(stdout);
  raise(sig);
  printf("still running\n");
  return 0;
}
