// Example guest: a small `wc` — prints "lines words bytes path" per file (directories are
// expanded to their regular files, sorted by name), then the 5 most frequent words overall.
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct { char *word; long count; } entry;

static entry *table;            /* open-addressing hash table of lowercased words */
static size_t cap = 1024, used;

static unsigned long hash(const char *s) {
    unsigned long h = 5381;
    while (*s) h = h * 33 + (unsigned char)*s++;
    return h;
}

static void add_word(const char *w) {
    if (used * 2 >= cap) { /* grow and rehash */
        entry *old = table;
        size_t old_cap = cap;
        cap *= 2;
        table = calloc(cap, sizeof *table);
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].word) {
                size_t j = hash(old[i].word) & (cap - 1);
                while (table[j].word) j = (j + 1) & (cap - 1);
                table[j] = old[i];
            }
        free(old);
    }
    size_t i = hash(w) & (cap - 1);
    while (table[i].word && strcmp(table[i].word, w)) i = (i + 1) & (cap - 1);
    if (!table[i].word) { table[i].word = strdup(w); used++; }
    table[i].count++;
}

static int count_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "wordcount: %s: %s\n", path, strerror(errno)); return 1; }
    long lines = 0, words = 0, bytes = 0;
    int c, in_space = 1;
    char word[256];
    size_t wlen = 0;
    while ((c = fgetc(f)) != EOF) {
        bytes++;
        if (c == '\n') lines++;
        if (isspace(c)) in_space = 1;
        else if (in_space) { in_space = 0; words++; }
        if (isalpha(c)) {
            if (wlen < sizeof word - 1) word[wlen++] = (char)tolower(c);
        } else if (wlen) {
            word[wlen] = 0; add_word(word); wlen = 0;
        }
    }
    if (wlen) { word[wlen] = 0; add_word(word); }
    fclose(f);
    printf("%ld %ld %ld %s\n", lines, words, bytes, path);
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int count_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) { fprintf(stderr, "wordcount: %s: %s\n", dir, strerror(errno)); return 1; }
    char **paths = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = malloc(strlen(dir) + strlen(e->d_name) + 2);
        sprintf(p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
            paths = realloc(paths, (n + 1) * sizeof *paths);
            paths[n++] = p;
        } else free(p);
    }
    closedir(d);
    qsort(paths, n, sizeof *paths, cmp_str);
    int rc = 0;
    for (size_t i = 0; i < n; i++) rc |= count_file(paths[i]);
    return rc;
}

static int cmp_entry(const void *a, const void *b) {
    const entry *x = a, *y = b;
    if (!x->word || !y->word) return !x->word - !y->word; /* empty slots last */
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->word, y->word);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: wordcount FILE|DIR...\n"); return 2; }
    table = calloc(cap, sizeof *table);
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) rc |= count_dir(argv[i]);
        else rc |= count_file(argv[i]);
    }
    qsort(table, cap, sizeof *table, cmp_entry);
    for (size_t i = 0; i < 5 && i < used; i++) printf("top: %s %ld\n", table[i].word, table[i].count);
    return rc;
}
