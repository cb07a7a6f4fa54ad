// The smallest program of the WASIX toolchain: libc start-up, printf, exit.
#include <stdio.h>

int main(void) {
  printf("hello from wasix\n");
  return 0;
}
