// Test guest: tries known sandbox escapes below the mount given as argv[1] (e.g. /sandbox).
// Prints "NAME: blocked (<strerror>)" or "NAME: ESCAPED (<first 40 bytes>)" per attempt; exits 0.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char mount[1024];

static const char *at(const char *suffix) {
    static char buf[2048];
    snprintf(buf, sizeof buf, "%s%s", mount, suffix);
    return buf;
}

static void try_open(const char *name, const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: blocked (%s)\n", name, strerror(errno));
        return;
    }
    char buf[41];
    ssize_t n = read(fd, buf, 40);
    int err = errno;
    close(fd);
    if (n < 0) {
        printf("%s: blocked (%s)\n", name, strerror(err));
        return;
    }
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] < 32 || buf[i] > 126) buf[i] = '.';
    buf[n] = 0;
    printf("%s: ESCAPED (%s)\n", name, buf);
}

static void try_link(const char *name, const char *target, const char *link, const char *open_path) {
    if (symlink(target, link) < 0 && errno != EEXIST) {
        printf("%s: blocked (%s)\n", name, strerror(errno));
        return;
    }
    try_open(name, open_path);
}

int main(int argc, char **argv) {
    snprintf(mount, sizeof mount, "%s", argc > 1 ? argv[1] : "/sandbox");
    size_t len = strlen(mount);
    while (len > 1 && mount[len - 1] == '/') mount[--len] = 0;
    const char *base = strrchr(mount, '/') ? strrchr(mount, '/') + 1 : mount;
    char path[2048], link[2048];

    try_open("dotdot", at("/../../../../etc/passwd"));
    try_open("absolute", "/etc/passwd");
    snprintf(path, sizeof path, "%s/../%s_sibling/secret.txt", mount, base);
    try_open("sibling_dotdot", path);
    snprintf(path, sizeof path, "%s_sibling/secret.txt", mount);
    try_open("sibling_prefix", path);

    snprintf(link, sizeof link, "%s/abs_link", mount);
    try_link("abs_symlink", "/etc/passwd", link, link);
    snprintf(link, sizeof link, "%s/rel_link", mount);
    try_link("rel_symlink", "../../../../etc/passwd", link, link);
    snprintf(link, sizeof link, "%s/dir_link", mount);
    try_link("dir_symlink", "..", link, at("/dir_link/dir_link/etc/passwd"));

    try_open("dot_dotdot_slash", at("/./../../etc/passwd/"));
    try_open("existing_link", at("/existing_link"));

    unlink(at("/abs_link"));
    unlink(at("/rel_link"));
    unlink(at("/dir_link"));
    return 0;
}
