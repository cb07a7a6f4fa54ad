// Test guest: imports two functions from an unknown module "capsule_test".
// mystery_one is called only when an argument is given; with no args it exits 0.
#include <stdio.h>

__attribute__((import_module("capsule_test"), import_name("mystery_one")))
int mystery_one(int);
__attribute__((import_module("capsule_test"), import_name("mystery_two")))
int mystery_two(int);

int main(int argc, char **argv) {
    (void)argv;
    if (argc > 1) {
        printf("mystery_one returned %d\n", mystery_one(argc));
        return 0;
    }
    if (argc == 0)  /* never true in practice; keeps mystery_two imported */
        return mystery_two(0);
    printf("no unknown call made\n");
    return 0;
}
