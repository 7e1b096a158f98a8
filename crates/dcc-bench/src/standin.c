/* sleep-gcc: the farm simulation's stand-in compiler (crates/dcc-bench/src/farm.rs builds it
 * with -DSLEEP_MS=N). It costs almost no CPU: it sleeps N ms, as if compiling, then writes a
 * fixed object to the file after -o, so a 2-core machine can play a large farm. When
 * DCC_BENCH_STANDIN_LOG is set (only the master's make sets it) it appends a line there: a
 * job the client ran locally. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
    const char *out = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "-o") == 0)
            out = argv[i + 1];
    if (out == NULL) {
        fputs("sleep-gcc: no -o\n", stderr);
        return 2;
    }
    struct timespec t = {SLEEP_MS / 1000, (SLEEP_MS % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0) {
    }
    FILE *f = fopen(out, "w");
    if (f == NULL || fputs("stand-in object\n", f) < 0 || fclose(f) != 0) {
        perror(out);
        return 1;
    }
    const char *log = getenv("DCC_BENCH_STANDIN_LOG");
    if (log != NULL && *log != '\0') {
        FILE *l = fopen(log, "a");
        if (l != NULL) {
            fprintf(l, "%s\n", out);
            fclose(l);
        }
    }
    return 0;
}
