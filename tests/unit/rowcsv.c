/* The row-callback CSV reader of the BG/BB and Gamma-Gamma suites (rowcsv.h). */
#include "rowcsv.h"

#include <stdio.h>
#include <string.h>

static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *c = strchr(p, ',');
        if (c == NULL)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

int rowcsv_read(const char *path, int nf, void (*row)(char **f, void *ctx), void *ctx)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    char line[1024], *f[16];
    int rows = 0, header = 1;
    while (fgets(line, sizeof line, fp) != NULL) {
        if (line[0] == '#')
            continue;
        if (header) {
            header = 0;
            continue;
        }
        if (split_fields(line, f, 16) != nf)
            continue;
        row(f, ctx);
        rows++;
    }
    fclose(fp);
    return rows;
}
