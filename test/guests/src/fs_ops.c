// Test guest: one file-system operation per run, chosen by argv (write/read/ls/mkdir/rm/symlink/stat).
// On failure prints "error: <op> <path>: <strerror>" to stdout and exits 2.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *op, *path;

static int fail(void) {
    printf("error: %s %s: %s\n", op, path, strerror(errno));
    return 2;
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_write(const char *text) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return fail();
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len) return fail();
    if (close(fd) < 0) return fail();
    printf("ok\n");
    return 0;
}

static int do_read(void) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail();
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
    if (n < 0) return fail();
    close(fd);
    return 0;
}

static int do_ls(void) {
    DIR *d = opendir(path);
    if (!d) return fail();
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        names = realloc(names, (count + 1) * sizeof *names);
        names[count++] = strdup(e->d_name);
    }
    if (errno) return fail();
    closedir(d);
    qsort(names, count, sizeof *names, cmp);
    for (size_t i = 0; i < count; i++) printf("%s\n", names[i]);
    return 0;
}

static int do_stat(void) {
    struct stat st;
    if (lstat(path, &st) < 0) return fail();
    const char *type = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir"
                     : S_ISLNK(st.st_mode) ? "symlink" : "other";
    printf("size=%lld type=%s\n", (long long)st.st_size, type);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: fs_ops write|read|ls|mkdir|rm|symlink|stat PATH [ARG]\n");
        return 2;
    }
    op = argv[1];
    path = argv[2];
    if (!strcmp(op, "write") && argc > 3) return do_write(argv[3]);
    if (!strcmp(op, "read")) return do_read();
    if (!strcmp(op, "ls")) return do_ls();
    if (!strcmp(op, "stat")) return do_stat();
    if (!strcmp(op, "mkdir")) return mkdir(path, 0755) < 0 ? fail() : (printf("ok\n"), 0);
    if (!strcmp(op, "rm")) return unlink(path) < 0 ? fail() : (printf("ok\n"), 0);
    if (!strcmp(op, "symlink") && argc > 3) {
        path = argv[3]; /* report errors against the link path */
        return symlink(argv[2], argv[3]) < 0 ? fail() : (printf("ok\n"), 0);
    }
    fprintf(stderr, "fs_ops: bad arguments for '%s'\n", op);
    return 2;
}
