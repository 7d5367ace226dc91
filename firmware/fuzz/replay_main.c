/*
 * replay_main.c - runs fuzz inputs through a target without libFuzzer.
 *
 * Why: the committed corpus is replayed in every test run, on any compiler
 * (gcc or clang) with ASan+UBSan, without needing libFuzzer's runtime. Usage:
 *   replay FILE_OR_DIR...   -> "replayed N inputs" on stdout, exit 0
 * A finding aborts (sanitizer report or "fuzz finding: ..." on stderr) after
 * printing the name of the input that caused it.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long g_count;

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return 1;
    }
    long n = ftell(f);
    rewind(f);
    uint8_t *buf = (uint8_t *)malloc(n > 0 ? (size_t)n : 1u);
    if (buf == NULL || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fclose(f);
        free(buf);
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 1;
    }
    fclose(f);
    fprintf(stderr, "replay: %s\n", path);
    (void)LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    g_count++;
    return 0;
}

static int replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: no such file %s\n", path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return replay_file(path);
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char full[4096];
            snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name);
            rc |= replay_path(full);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        rc |= replay_path(argv[i]);
    }
    printf("replayed %lu inputs\n", g_count);
    return rc;
}
