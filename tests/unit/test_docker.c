/* Dockerfile, docker-compose.yml and .dockerignore: no Docker engine runs
 * where the tests run (and docker is never called), so this suite checks the
 * files' structure by reading them, line by line, from the repository root:
 * the stages of the Dockerfile (a build stage that installs scripts/deps.sh's
 * packages and runs `make test`; a slim, non-root runtime stage with the
 * runtime libraries, the binary, the migrations, a HEALTHCHECK and port
 * 8080), the compose services (PostgreSQL with a health check, ltvd after it
 * with a DATABASE_URL that matches), and that .dockerignore keeps host build
 * products out but the files this suite reads in. */
#include <check.h>
#include <ctype.h>
#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAXI 256 /* instructions or lines */
#define MAXW 128 /* words */

/* Reads a whole file; NULL when it cannot be read. *len gets its size. */
static char *slurp_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0, got;
    char *buf = malloc(cap);
    while (buf != NULL && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap *= 2);
            if (nb == NULL)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

static char *slurp(const char *path)
{
    char *s = slurp_file(path, NULL);
    ck_assert_msg(s != NULL, "cannot read %s (the tests run from the repository root)",
                  path);
    return s;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Splits s (modified) into whitespace-separated words. */
static int split_words(char *s, char *w[], int max)
{
    int n = 0;
    for (char *t = strtok(s, " \t\n"); t != NULL && n < max; t = strtok(NULL, " \t\n"))
        w[n++] = t;
    return n;
}

/* ------------------------------------------------------------------------ */
/* Dockerfile: logical instructions (continuations joined, comments dropped),
 * each with its stage (0 = the first FROM). */

typedef struct {
    int line;    /* first physical line */
    char kw[16]; /* upper case */
    char *args;  /* the rest, trimmed */
    int stage;
} dinstr;

typedef struct {
    char *text;
    dinstr in[MAXI];
    int n;
    int nstages;
    char image[8][128]; /* per stage */
    char name[8][64];   /* per stage, "" without AS */
} dockerfile;

static void dockerfile_read(dockerfile *d, const char *path)
{
    memset(d, 0, sizeof *d);
    d->text = slurp(path);
    char *p = d->text;
    int line = 0;
    char *cur = NULL; /* the instruction being assembled (in place) */
    size_t cur_len = 0;
    int cur_line = 0;
    while (*p != '\0') {
        char *eol = strchr(p, '\n');
        char *next = eol != NULL ? eol + 1 : p + strlen(p);
        if (eol != NULL)
            *eol = '\0';
        line++;
        char *t = trim(p);
        p = next;
        if (*t == '#' || (*t == '\0' && cur != NULL))
            continue; /* comments go, even inside a continuation */
        if (*t == '\0')
            continue;
        size_t tl = strlen(t);
        bool cont = t[tl - 1] == '\\';
        if (cont)
            t[--tl] = '\0';
        if (cur == NULL) {
            cur = t;
            cur_len = tl;
            cur_line = line;
        } else {
            /* append in place: t lies after cur in the buffer */
            cur[cur_len++] = ' ';
            memmove(cur + cur_len, t, tl + 1);
            cur_len += tl;
        }
        if (cont)
            continue;
        ck_assert_msg(d->n < MAXI, "%s: too many instructions", path);
        dinstr *in = &d->in[d->n++];
        in->line = cur_line;
        char *s = trim(cur);
        size_t k = 0;
        while (s[k] != '\0' && !isspace((unsigned char)s[k]) && k < sizeof in->kw - 1) {
            in->kw[k] = (char)toupper((unsigned char)s[k]);
            k++;
        }
        in->args = trim(s + k);
        if (strcmp(in->kw, "FROM") == 0) {
            ck_assert_msg(d->nstages < 8, "%s: too many stages", path);
            char buf[256];
            snprintf(buf, sizeof buf, "%s", in->args);
            char *w[MAXW];
            int nw = split_words(buf, w, MAXW);
            int i = 0;
            while (i < nw && strncmp(w[i], "--", 2) == 0)
                i++; /* --platform=... */
            snprintf(d->image[d->nstages], sizeof d->image[0], "%s", i < nw ? w[i] : "");
            if (i + 2 < nw && strcasecmp(w[i + 1], "AS") == 0)
                snprintf(d->name[d->nstages], sizeof d->name[0], "%s", w[i + 2]);
            d->nstages++;
        }
        in->stage = d->nstages - 1;
        cur = NULL;
    }
    ck_assert_msg(cur == NULL, "%s:%d: the file ends inside a continued line", path,
                  cur_line);
}

/* The stage named or numbered by a COPY --from= value; -1 when unknown. */
static int stage_of(const dockerfile *d, const char *from)
{
    for (int s = 0; s < d->nstages; s++)
        if (d->name[s][0] != '\0' && strcmp(d->name[s], from) == 0)
            return s;
    char *end;
    long k = strtol(from, &end, 10);
    return *end == '\0' && end != from && k >= 0 && k < d->nstages ? (int)k : -1;
}

/* Package names of every `apt-get install` (or `apt install`) in the RUN
 * instructions of one stage, options left out, appended to pk[] (words point
 * into buf). Returns the count. */
static int apt_packages(const dockerfile *d, int stage, char *buf, size_t bufsz,
                        char *pk[], int max)
{
    int n = 0;
    size_t used = 0;
    for (int i = 0; i < d->n; i++) {
        const dinstr *in = &d->in[i];
        if (in->stage != stage || strcmp(in->kw, "RUN") != 0)
            continue;
        size_t l = strlen(in->args);
        ck_assert(used + l + 1 <= bufsz);
        char *copy = memcpy(buf + used, in->args, l + 1);
        used += l + 1;
        char *w[MAXW];
        int nw = split_words(copy, w, MAXW);
        for (int j = 0; j + 1 < nw; j++) {
            if (!((strcmp(w[j], "apt-get") == 0 || strcmp(w[j], "apt") == 0) &&
                  strcmp(w[j + 1], "install") == 0))
                continue;
            for (int k = j + 2; k < nw; k++) {
                if (strcmp(w[k], "&&") == 0 || strcmp(w[k], "||") == 0 ||
                    strcmp(w[k], ";") == 0 || strcmp(w[k], "|") == 0)
                    break;
                size_t wl = strlen(w[k]);
                bool last = wl > 0 && w[k][wl - 1] == ';';
                if (last)
                    w[k][--wl] = '\0';
                if (w[k][0] != '-' && wl > 0 && n < max)
                    pk[n++] = w[k];
                if (last)
                    break;
            }
        }
    }
    return n;
}

static bool has_word(char *const w[], int n, const char *word)
{
    for (int i = 0; i < n; i++)
        if (strcmp(w[i], word) == 0)
            return true;
    return false;
}

/* "libNAME" followed by a version digit (libgsl27, libpq5, ...). */
static bool has_lib_package(char *const w[], int n, const char *prefix)
{
    size_t l = strlen(prefix);
    for (int i = 0; i < n; i++)
        if (strncmp(w[i], prefix, l) == 0 && isdigit((unsigned char)w[i][l]))
            return true;
    return false;
}

/* The value ENV sets for key in a stage ("" when not set): both the
 * `ENV K=V K2=V2` and the `ENV K V` forms, quotes removed. */
static void env_value(const dockerfile *d, int stage, const char *key, char *out,
                      size_t outsz)
{
    out[0] = '\0';
    size_t kl = strlen(key);
    for (int i = 0; i < d->n; i++) {
        const dinstr *in = &d->in[i];
        if (in->stage != stage || strcmp(in->kw, "ENV") != 0)
            continue;
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", in->args);
        char *w[MAXW];
        int nw = split_words(buf, w, MAXW);
        if (nw >= 2 && strchr(w[0], '=') == NULL) {
            if (strcmp(w[0], key) == 0)
                snprintf(out, outsz, "%s", trim(in->args + kl));
            continue;
        }
        for (int j = 0; j < nw; j++)
            if (strncmp(w[j], key, kl) == 0 && w[j][kl] == '=')
                snprintf(out, outsz, "%s", w[j] + kl + 1);
    }
    size_t l = strlen(out);
    if (l >= 2 && (out[0] == '"' || out[0] == '\'') && out[l - 1] == out[0]) {
        memmove(out, out + 1, l - 2);
        out[l - 2] = '\0';
    }
}

/* The last instruction kw of a stage, or NULL. */
static const dinstr *last_instr(const dockerfile *d, int stage, const char *kw)
{
    const dinstr *r = NULL;
    for (int i = 0; i < d->n; i++)
        if (d->in[i].stage == stage && strcmp(d->in[i].kw, kw) == 0)
            r = &d->in[i];
    return r;
}

/* True when text contains word delimited by non-word characters. */
static bool contains_word(const char *text, const char *word)
{
    size_t l = strlen(word);
    for (const char *p = strstr(text, word); p != NULL; p = strstr(p + 1, word)) {
        bool left =
            p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '-' || p[-1] == '_');
        bool right = !(isalnum((unsigned char)p[l]) || p[l] == '-' || p[l] == '_');
        if (left && right)
            return true;
    }
    return false;
}

/* COPY --from=<build stage> in stage s whose source ends with name
 * (optionally followed by '/'). Returns the instruction or NULL. */
static const dinstr *copy_from_build(const dockerfile *d, int s, const char *name,
                                     int *src_stage)
{
    size_t nl = strlen(name);
    for (int i = 0; i < d->n; i++) {
        const dinstr *in = &d->in[i];
        if (in->stage != s || strcmp(in->kw, "COPY") != 0)
            continue;
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", in->args);
        char *w[MAXW];
        int nw = split_words(buf, w, MAXW);
        int from = -1, j = 0;
        for (; j < nw && strncmp(w[j], "--", 2) == 0; j++)
            if (strncmp(w[j], "--from=", 7) == 0)
                from = stage_of(d, w[j] + 7);
        if (from < 0)
            continue;
        for (int k = j; k < nw - 1; k++) { /* sources: all but the last word */
            char *src = w[k];
            size_t sl = strlen(src);
            if (sl > 1 && src[sl - 1] == '/')
                src[--sl] = '\0';
            if (sl >= nl && strcmp(src + sl - nl, name) == 0 &&
                (sl == nl || src[sl - nl - 1] == '/')) {
                *src_stage = from;
                return in;
            }
        }
    }
    return NULL;
}

static bool is_debian12(const char *image, bool slim)
{
    const char *tags[2][2] = {{"debian:12", "debian:bookworm"},
                              {"debian:12-slim", "debian:bookworm-slim"}};
    for (int i = 0; i < 2; i++) {
        size_t l = strlen(tags[slim][i]);
        if (strncmp(image, tags[slim][i], l) == 0 &&
            (image[l] == '\0' || image[l] == '@'))
            return true;
    }
    return false;
}

/* The stage that runs `make test`, or -1. */
static int test_stage(const dockerfile *d)
{
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->in[i].kw, "RUN") == 0) {
            for (const char *p = strstr(d->in[i].args, "make test"); p != NULL;
                 p = strstr(p + 1, "make test"))
                if (p[9] == '\0' || isspace((unsigned char)p[9]) || p[9] == ';' ||
                    p[9] == '&')
                    return d->in[i].stage;
        }
    return -1;
}

START_TEST(test_dockerfile_stages)
{
    static dockerfile d;
    dockerfile_read(&d, "Dockerfile");
    ck_assert_msg(d.n > 0, "Dockerfile: no instructions");
    int first = 0;
    while (first < d.n && strcmp(d.in[first].kw, "ARG") == 0)
        first++;
    ck_assert_msg(
        first < d.n && strcmp(d.in[first].kw, "FROM") == 0,
        "Dockerfile:%d: the first instruction (after ARGs) must be FROM, not %s",
        first < d.n ? d.in[first].line : 0, first < d.n ? d.in[first].kw : "nothing");
    ck_assert_msg(d.nstages >= 2,
                  "Dockerfile: %d FROM stage(s); a multi-stage build needs at least 2",
                  d.nstages);
    ck_assert_msg(is_debian12(d.image[0], false),
                  "Dockerfile: the build stage is FROM %s; expected debian:12 (bookworm)",
                  d.image[0]);
    int last = d.nstages - 1;
    ck_assert_msg(is_debian12(d.image[last], true),
                  "Dockerfile: the runtime stage is FROM %s; expected debian:12-slim",
                  d.image[last]);
    for (int s = 0; s < d.nstages; s++)
        for (int t = 0; t < s; t++)
            ck_assert_msg(d.name[s][0] == '\0' || strcmp(d.name[s], d.name[t]) != 0,
                          "Dockerfile: two stages named %s", d.name[s]);
    free(d.text);
}
END_TEST

START_TEST(test_dockerfile_build_stage)
{
    static dockerfile d;
    dockerfile_read(&d, "Dockerfile");
    int ts = test_stage(&d);
    ck_assert_msg(
        ts >= 0,
        "Dockerfile: no RUN line runs `make test` (the build stage must run the tests)");
    ck_assert_msg(
        ts < d.nstages - 1,
        "Dockerfile: `make test` runs in the final stage, not in a build stage");

    /* scripts/deps.sh's packages, plus a compiler and make */
    char *deps = slurp("scripts/deps.sh");
    char *line = strstr(deps, "\npkgs=\"");
    ck_assert_msg(line != NULL, "scripts/deps.sh: no line pkgs=\"...\" to compare with");
    line += 7;
    char *q = strchr(line, '"');
    ck_assert(q != NULL);
    *q = '\0';
    char *want[MAXW];
    int nwant = split_words(line, want, MAXW);
    ck_assert_int_gt(nwant, 0);

    static char buf[16384];
    char *pk[MAXW];
    int np = apt_packages(&d, ts, buf, sizeof buf, pk, MAXW);
    ck_assert_msg(
        np > 0,
        "Dockerfile: the build stage (FROM %s) installs nothing with apt-get install",
        d.image[ts]);
    for (int i = 0; i < nwant; i++)
        ck_assert_msg(has_word(pk, np, want[i]),
                      "Dockerfile: the build stage does not apt-get install %s (listed "
                      "in scripts/deps.sh)",
                      want[i]);
    ck_assert_msg(
        has_word(pk, np, "build-essential") ||
            (has_word(pk, np, "gcc") && has_word(pk, np, "make")),
        "Dockerfile: the build stage installs no compiler and make (build-essential)");

    /* the sources are copied before the tests run, and no database is baked
     * in: scripts/with_pg.sh starts its own only when DATABASE_URL is unset */
    bool copied = false;
    for (int i = 0; i < d.n; i++) {
        const dinstr *in = &d.in[i];
        if (in->stage != ts)
            continue;
        if ((strcmp(in->kw, "COPY") == 0 || strcmp(in->kw, "ADD") == 0) &&
            strstr(in->args, "--from") == NULL)
            copied = true;
        if (strcmp(in->kw, "RUN") == 0 && strstr(in->args, "make test") != NULL)
            ck_assert_msg(copied,
                          "Dockerfile:%d: `make test` runs before the sources are copied",
                          in->line);
    }
    char v[512];
    env_value(&d, ts, "DATABASE_URL", v, sizeof v);
    ck_assert_msg(v[0] == '\0', "Dockerfile: the build stage sets DATABASE_URL; the "
                                "tests must start their own PostgreSQL");
    free(deps);
    free(d.text);
}
END_TEST

START_TEST(test_dockerfile_runtime_stage)
{
    static dockerfile d;
    dockerfile_read(&d, "Dockerfile");
    int rs = d.nstages - 1, ts = test_stage(&d);
    ck_assert_msg(rs > 0, "Dockerfile: a single stage");

    const dinstr *user = last_instr(&d, rs, "USER");
    ck_assert_msg(user != NULL,
                  "Dockerfile: the runtime stage has no USER (it would run as root)");
    char u[64];
    snprintf(u, sizeof u, "%s", user->args);
    u[strcspn(u, ":")] = '\0';
    ck_assert_msg(strcmp(u, "root") != 0 && strspn(u, "0") != strlen(u) && u[0] != '\0',
                  "Dockerfile:%d: USER %s runs as root", user->line, user->args);

    bool port = false;
    for (int i = 0; i < d.n; i++)
        if (d.in[i].stage == rs && strcmp(d.in[i].kw, "EXPOSE") == 0) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s", d.in[i].args);
            char *w[MAXW];
            int nw = split_words(buf, w, MAXW);
            for (int j = 0; j < nw; j++)
                port = port || strcmp(w[j], "8080") == 0 || strcmp(w[j], "8080/tcp") == 0;
        }
    ck_assert_msg(port, "Dockerfile: the runtime stage does not EXPOSE 8080");
    char listen[128];
    env_value(&d, rs, "LTVD_LISTEN", listen, sizeof listen);
    ck_assert_msg(strcmp(listen, "0.0.0.0:8080") == 0,
                  "Dockerfile: the runtime stage sets LTVD_LISTEN=\"%s\", not "
                  "0.0.0.0:8080 (the default "
                  "127.0.0.1 is unreachable from outside the container)",
                  listen);
    char url[512];
    env_value(&d, rs, "DATABASE_URL", url, sizeof url);
    ck_assert_msg(
        url[0] == '\0',
        "Dockerfile: the image bakes in DATABASE_URL=%s; it comes from the environment",
        url);

    const dinstr *hc = last_instr(&d, rs, "HEALTHCHECK");
    ck_assert_msg(hc != NULL, "Dockerfile: the runtime stage has no HEALTHCHECK");
    ck_assert_msg(strncasecmp(hc->args, "NONE", 4) != 0,
                  "Dockerfile:%d: HEALTHCHECK NONE", hc->line);
    const char *hcmd = strstr(hc->args, "CMD ");
    ck_assert_msg(hcmd != NULL, "Dockerfile:%d: HEALTHCHECK without CMD", hc->line);
    ck_assert_msg(strstr(hcmd, "/healthz") != NULL && strstr(hcmd, "8080") != NULL,
                  "Dockerfile:%d: the HEALTHCHECK does not probe /healthz on port 8080",
                  hc->line);

    int from = -1;
    const dinstr *bin = copy_from_build(&d, rs, "ltvd", &from);
    ck_assert_msg(bin != NULL, "Dockerfile: the runtime stage does not COPY "
                               "--from=<build stage> the ltvd binary");
    ck_assert_msg(from == ts,
                  "Dockerfile:%d: ltvd is copied from stage %d, not from the stage that "
                  "ran `make test` (%d)",
                  bin->line, from, ts);
    ck_assert_msg(copy_from_build(&d, rs, "migrations", &from) != NULL,
                  "Dockerfile: the runtime stage does not copy migrations/");
    ck_assert_msg(copy_from_build(&d, rs, "config", &from) != NULL,
                  "Dockerfile: the runtime stage does not copy config/ (ltvd serve reads "
                  "config/ltvd.conf)");

    /* the start command: migrate, and only if that worked, serve */
    char start[1024] = "";
    const dinstr *ep = last_instr(&d, rs, "ENTRYPOINT"), *cmd = last_instr(&d, rs, "CMD");
    snprintf(start, sizeof start, "%s %s", ep != NULL ? ep->args : "",
             cmd != NULL ? cmd->args : "");
    const char *mig = strstr(start, "ltvd migrate"), *srv = strstr(start, "ltvd serve");
    ck_assert_msg(
        mig != NULL && srv != NULL && mig < srv,
        "Dockerfile: ENTRYPOINT/CMD (%s) must run `ltvd migrate` and then `ltvd serve`",
        start);
    const char *and = strstr(mig, "&&");
    ck_assert_msg(
        and != NULL && and < srv,
        "Dockerfile: `ltvd serve` must start only when `ltvd migrate` succeeded (&&): %s",
        start);

    /* a probe tool the HEALTHCHECK uses must be installed */
    static char buf[16384];
    char *pk[MAXW];
    int np = apt_packages(&d, rs, buf, sizeof buf, pk, MAXW);
    const char *tools[] = {"curl", "wget"};
    for (int i = 0; i < 2; i++)
        if (contains_word(hcmd, tools[i]))
            ck_assert_msg(has_word(pk, np, tools[i]),
                          "Dockerfile: the HEALTHCHECK uses %s, which the runtime "
                          "stage does not install",
                          tools[i]);
    if (ep != NULL && contains_word(ep->args, "tini"))
        ck_assert_msg(has_word(pk, np, "tini"),
                      "Dockerfile: ENTRYPOINT uses tini, which is not installed");
    free(d.text);
}
END_TEST

START_TEST(test_dockerfile_runtime_packages)
{
    static dockerfile d;
    dockerfile_read(&d, "Dockerfile");
    int rs = d.nstages - 1;
    static char buf[16384];
    char *pk[MAXW];
    int np = apt_packages(&d, rs, buf, sizeof buf, pk, MAXW);
    ck_assert_msg(np > 0, "Dockerfile: the runtime stage installs no packages");
    const char *libs[] = {"libgsl", "libjansson", "libmicrohttpd", "libpq"};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(
            has_lib_package(pk, np, libs[i]),
            "Dockerfile: the runtime stage installs no %sN runtime library package",
            libs[i]);
    for (int i = 0; i < np; i++) {
        size_t l = strlen(pk[i]);
        ck_assert_msg(!(l > 4 && strcmp(pk[i] + l - 4, "-dev") == 0),
                      "Dockerfile: the runtime stage installs %s (a -dev package)",
                      pk[i]);
        ck_assert_msg(
            strcmp(pk[i], "build-essential") != 0 && strcmp(pk[i], "gcc") != 0 &&
                strcmp(pk[i], "postgresql") != 0 && strcmp(pk[i], "check") != 0,
            "Dockerfile: the runtime stage installs %s, a build or test package", pk[i]);
    }
    free(d.text);
}
END_TEST

/* The DT_NEEDED entries of an ELF64 file, as a list of names in out (each
 * NUL-terminated, one after the other). Returns how many, -1 when the file
 * is not a readable little ELF64 with a dynamic section. */
static int elf_needed(const char *path, char *out, size_t outsz)
{
    size_t len;
    unsigned char *f = (unsigned char *)slurp_file(path, &len);
    if (f == NULL)
        return -1;
    int n = -1;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
    if (len < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shoff == 0 ||
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > len)
        goto done;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(f + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_DYNAMIC || sh[i].sh_link >= eh->e_shnum)
            continue;
        const Elf64_Shdr *str = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > len || str->sh_offset + str->sh_size > len)
            goto done;
        const Elf64_Dyn *dyn = (const Elf64_Dyn *)(f + sh[i].sh_offset);
        size_t nd = sh[i].sh_size / sizeof *dyn, used = 0;
        n = 0;
        for (size_t k = 0; k < nd && dyn[k].d_tag != DT_NULL; k++) {
            if (dyn[k].d_tag != DT_NEEDED || dyn[k].d_un.d_val >= str->sh_size)
                continue;
            const char *name = (const char *)f + str->sh_offset + dyn[k].d_un.d_val;
            size_t l = strnlen(name, str->sh_size - dyn[k].d_un.d_val);
            if (used + l + 1 > outsz)
                break;
            memcpy(out + used, name, l);
            out[used + l] = '\0';
            used += l + 1;
            n++;
        }
        break;
    }
done:
    free(f);
    return n;
}

/* Each shared library the built ltvd needs, outside glibc (in every Debian
 * image), has its Debian package in the runtime stage, named by Debian's
 * convention from the soname: libfoo.so.N -> libfooN, libfoo-1.2.so.N ->
 * libfoo-1.2-N. */
START_TEST(test_dockerfile_runtime_covers_binary)
{
    const char *bin = getenv("LTVD_BIN") ? getenv("LTVD_BIN") : "./ltvd";
    static char names[8192];
    int nn = elf_needed(bin, names, sizeof names);
    ck_assert_msg(nn >= 0, "%s is not a readable ELF64 binary: build it, or set LTVD_BIN",
                  bin);
    static dockerfile d;
    dockerfile_read(&d, "Dockerfile");
    static char buf[16384];
    char *pk[MAXW];
    int np = apt_packages(&d, d.nstages - 1, buf, sizeof buf, pk, MAXW);
    const char *glibc[] = {"libc.so.",  "libm.so.",  "libpthread.so.",
                           "libdl.so.", "librt.so.", "ld-linux"};
    const char *p = names;
    for (int i = 0; i < nn; i++, p += strlen(p) + 1) {
        bool base = false;
        for (size_t g = 0; g < sizeof glibc / sizeof *glibc; g++)
            base = base || strncmp(p, glibc[g], strlen(glibc[g])) == 0;
        const char *so = strstr(p, ".so.");
        if (base || so == NULL)
            continue;
        char pkg[128];
        int stem = (int)(so - p);
        bool dash = stem > 0 && isdigit((unsigned char)p[stem - 1]);
        snprintf(pkg, sizeof pkg, "%.*s%s%s", stem, p, dash ? "-" : "", so + 4);
        for (char *c = pkg; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        ck_assert_msg(
            has_word(pk, np, pkg),
            "Dockerfile: %s needs %s, but the runtime stage does not install %s", bin, p,
            pkg);
    }
    free(d.text);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* docker-compose.yml, line by line: indentation, key, value. Enough YAML for
 * block mappings and block sequences, which is what the file uses. */

typedef struct {
    int line;
    int indent;
    char *text; /* without indentation, comment and trailing blanks */
} yline;

typedef struct {
    char *buf;
    yline l[MAXI];
    int n;
} yamlf;

/* Cuts a comment: '#' at the start or after a blank, outside quotes. */
static void strip_comment(char *s)
{
    char q = 0;
    for (char *p = s; *p; p++) {
        if (q != 0) {
            if (*p == '\\' && q == '"' && p[1] != '\0')
                p++;
            else if (*p == q)
                q = 0;
        } else if (*p == '"' || *p == '\'') {
            q = *p;
        } else if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
            *p = '\0';
            return;
        }
    }
}

static void yaml_read(yamlf *y, const char *path)
{
    memset(y, 0, sizeof *y);
    y->buf = slurp(path);
    char *p = y->buf;
    int line = 0;
    while (*p != '\0') {
        char *eol = strchr(p, '\n');
        char *next = eol != NULL ? eol + 1 : p + strlen(p);
        if (eol != NULL)
            *eol = '\0';
        line++;
        ck_assert_msg(strchr(p, '\t') == NULL || strspn(p, " ") < strcspn(p, "\t"),
                      "%s:%d: a tab in the indentation", path, line);
        int ind = (int)strspn(p, " ");
        strip_comment(p);
        char *t = trim(p);
        p = next;
        if (*t == '\0' || strcmp(t, "---") == 0)
            continue;
        ck_assert_msg(y->n < MAXI, "%s: too many lines", path);
        y->l[y->n++] = (yline){line, ind, t};
    }
}

/* End of the block under line i: the next line indented no deeper, except
 * that a sequence may sit at its key's own indentation. */
static int yblock_end(const yamlf *y, int i)
{
    int j = i + 1;
    bool seq_same = j < y->n && y->l[j].indent == y->l[i].indent &&
                    strncmp(y->l[j].text, "- ", 2) == 0;
    while (j < y->n && (y->l[j].indent > y->l[i].indent ||
                        (seq_same && y->l[j].indent == y->l[i].indent &&
                         strncmp(y->l[j].text, "- ", 2) == 0)))
        j++;
    return j;
}

/* The line of key among the direct children of [from, to), or -1. */
static int yfind(const yamlf *y, int from, int to, const char *key)
{
    if (from >= to)
        return -1;
    int ind = y->l[from].indent;
    size_t kl = strlen(key);
    for (int i = from; i < to; i++) {
        const char *t = y->l[i].text;
        if (y->l[i].indent != ind)
            continue;
        if (t[0] == '"' || t[0] == '\'') { /* quoted key */
            if (strncmp(t + 1, key, kl) == 0 && t[kl + 1] == t[0] && t[kl + 2] == ':')
                return i;
        } else if (strncmp(t, key, kl) == 0 && t[kl] == ':' &&
                   (t[kl + 1] == '\0' || t[kl + 1] == ' ')) {
            return i;
        }
    }
    return -1;
}

/* Unquotes a scalar into out. */
static void yscalar(const char *s, char *out, size_t outsz)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", s);
    char *t = trim(buf);
    size_t l = strlen(t);
    if (l >= 2 && (t[0] == '"' || t[0] == '\'') && t[l - 1] == t[0]) {
        t[l - 1] = '\0';
        t++;
    }
    snprintf(out, outsz, "%s", t);
}

/* The value after "key:" on line i, unquoted. */
static void yvalue(const yamlf *y, int i, char *out, size_t outsz)
{
    const char *t = y->l[i].text;
    const char *c =
        t[0] == '"' || t[0] == '\'' ? strchr(strchr(t + 1, t[0]), ':') : strchr(t, ':');
    yscalar(c + 1, out, outsz);
}

/* Follows a path of keys from the block [from, to); returns the line or -1. */
static int ypath(const yamlf *y, int from, int to, const char *const keys[], int nkeys)
{
    int i = -1;
    for (int k = 0; k < nkeys; k++) {
        i = yfind(y, from, to, keys[k]);
        if (i < 0)
            return -1;
        from = i + 1;
        to = yblock_end(y, i);
    }
    return i;
}

/* An environment variable of a service, from the mapping or the list form
 * ("- KEY=value"); false when it is not there. */
static bool yenv(const yamlf *y, int svc, const char *key, char *out, size_t outsz)
{
    int e = yfind(y, svc + 1, yblock_end(y, svc), "environment");
    if (e < 0)
        return false;
    int end = yblock_end(y, e);
    int k = yfind(y, e + 1, end, key);
    if (k >= 0) {
        yvalue(y, k, out, outsz);
        return true;
    }
    size_t kl = strlen(key);
    for (int i = e + 1; i < end; i++) {
        if (strncmp(y->l[i].text, "- ", 2) != 0)
            continue;
        char item[1024];
        yscalar(y->l[i].text + 2, item, sizeof item);
        if (strncmp(item, key, kl) == 0 && item[kl] == '=') {
            snprintf(out, outsz, "%s", item + kl + 1);
            return true;
        }
    }
    return false;
}

/* The service line under the top-level services:, or fails. */
static int yservice(const yamlf *y, const char *name)
{
    int s = yfind(y, 0, y->n, "services");
    ck_assert_msg(s >= 0 && y->l[s].indent == 0,
                  "docker-compose.yml: no top-level services:");
    int i = yfind(y, s + 1, yblock_end(y, s), name);
    ck_assert_msg(i >= 0, "docker-compose.yml: no service %s under services:", name);
    return i;
}

START_TEST(test_compose_postgres)
{
    static yamlf y;
    yaml_read(&y, "docker-compose.yml");
    int pg = yservice(&y, "postgres"), end = yblock_end(&y, pg);
    char v[1024];
    int img = yfind(&y, pg + 1, end, "image");
    ck_assert_msg(img >= 0, "docker-compose.yml:%d: service postgres has no image",
                  y.l[pg].line);
    yvalue(&y, img, v, sizeof v);
    ck_assert_msg(strncmp(v, "postgres:15", 11) == 0 &&
                      (v[11] == '\0' || v[11] == '.' || v[11] == '-'),
                  "docker-compose.yml:%d: postgres image %s, expected postgres:15",
                  y.l[img].line, v);
    const char *env[] = {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"};
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(yenv(&y, pg, env[i], v, sizeof v) && v[0] != '\0',
                      "docker-compose.yml: service postgres does not set %s", env[i]);
    }
    const char *hc[] = {"healthcheck", "test"};
    int t = ypath(&y, pg + 1, end, hc, 2);
    ck_assert_msg(t >= 0,
                  "docker-compose.yml: service postgres has no healthcheck: test:");
    ck_assert_msg(
        strstr(y.l[t].text, "pg_isready") != NULL,
        "docker-compose.yml:%d: the postgres healthcheck does not run pg_isready",
        y.l[t].line);

    /* data on a named volume declared at the top level */
    int vol = yfind(&y, pg + 1, end, "volumes");
    ck_assert_msg(vol >= 0, "docker-compose.yml: service postgres has no volumes:");
    bool named = false;
    int top = yfind(&y, 0, y.n, "volumes");
    for (int i = vol + 1; i < yblock_end(&y, vol); i++) {
        if (strncmp(y.l[i].text, "- ", 2) != 0)
            continue;
        yscalar(y.l[i].text + 2, v, sizeof v);
        char *colon = strchr(v, ':');
        if (colon == NULL || strncmp(colon + 1, "/var/lib/postgresql/data", 24) != 0)
            continue;
        *colon = '\0';
        ck_assert_msg(v[0] != '.' && v[0] != '/' && v[0] != '~',
                      "docker-compose.yml:%d: the database is on a bind mount (%s), not "
                      "a named volume",
                      y.l[i].line, v);
        ck_assert_msg(
            top >= 0 && y.l[top].indent == 0 &&
                yfind(&y, top + 1, yblock_end(&y, top), v) >= 0,
            "docker-compose.yml: volume %s is not declared under the top-level volumes:",
            v);
        named = true;
    }
    ck_assert_msg(named,
                  "docker-compose.yml: no named volume on /var/lib/postgresql/data");
    free(y.buf);
}
END_TEST

/* Splits postgresql://user:password@host[:port]/db into its parts. */
static bool parse_pg_url(const char *url, char *user, char *pw, char *host, char *port,
                         char *db)
{
    const char *p;
    if (strncmp(url, "postgresql://", 13) == 0)
        p = url + 13;
    else if (strncmp(url, "postgres://", 11) == 0)
        p = url + 11;
    else
        return false;
    const char *slash = strchr(p, '/');
    if (slash == NULL)
        return false;
    const char *at = NULL;
    for (const char *c = p; c < slash; c++)
        if (*c == '@')
            at = c;
    if (at == NULL)
        return false;
    /* the password may hold ${VAR:-default}: split user at the first ':' */
    const char *colon = memchr(p, ':', (size_t)(at - p));
    if (colon == NULL)
        return false;
    snprintf(user, 128, "%.*s", (int)(colon - p), p);
    snprintf(pw, 128, "%.*s", (int)(at - colon - 1), colon + 1);
    const char *hp = at + 1, *pc = memchr(hp, ':', (size_t)(slash - hp));
    snprintf(host, 128, "%.*s", (int)((pc != NULL ? pc : slash) - hp), hp);
    snprintf(port, 16, "%.*s", pc != NULL ? (int)(slash - pc - 1) : 0,
             pc != NULL ? pc + 1 : "");
    snprintf(db, 128, "%.*s", (int)strcspn(slash + 1, "?"), slash + 1);
    return true;
}

START_TEST(test_compose_ltvd)
{
    static yamlf y;
    yaml_read(&y, "docker-compose.yml");
    int sv = yservice(&y, "ltvd"), end = yblock_end(&y, sv),
        pg = yservice(&y, "postgres");
    char v[1024];
    ck_assert_msg(yfind(&y, sv + 1, end, "build") >= 0,
                  "docker-compose.yml: service ltvd has no build:");

    const char *dep[] = {"depends_on", "postgres", "condition"};
    int c = ypath(&y, sv + 1, end, dep, 3);
    ck_assert_msg(
        c >= 0,
        "docker-compose.yml: service ltvd has no depends_on: postgres: condition:");
    yvalue(&y, c, v, sizeof v);
    ck_assert_msg(strcmp(v, "service_healthy") == 0,
                  "docker-compose.yml:%d: ltvd depends on postgres with condition: %s, "
                  "not service_healthy",
                  y.l[c].line, v);

    int r = yfind(&y, sv + 1, end, "restart");
    ck_assert_msg(r >= 0, "docker-compose.yml: service ltvd has no restart policy");
    yvalue(&y, r, v, sizeof v);
    ck_assert_msg(strcmp(v, "always") == 0 || strcmp(v, "unless-stopped") == 0 ||
                      strncmp(v, "on-failure", 10) == 0,
                  "docker-compose.yml:%d: restart: %s", y.l[r].line, v);

    /* DATABASE_URL names the postgres service with its user, password, db */
    char url[1024], user[128], pw[128], host[128], port[16], db[128], want[1024];
    ck_assert_msg(yenv(&y, sv, "DATABASE_URL", url, sizeof url),
                  "docker-compose.yml: service ltvd does not set DATABASE_URL");
    ck_assert_msg(parse_pg_url(url, user, pw, host, port, db),
                  "docker-compose.yml: DATABASE_URL %s is not "
                  "postgresql://USER:PASSWORD@HOST[:PORT]/DB",
                  url);
    ck_assert_msg(strcmp(host, "postgres") == 0,
                  "docker-compose.yml: DATABASE_URL's host is %s, not postgres", host);
    ck_assert_msg(port[0] == '\0' || strcmp(port, "5432") == 0,
                  "docker-compose.yml: DATABASE_URL's port is %s", port);
    const char *env[] = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"};
    const char *got[] = {user, pw, db};
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(yenv(&y, pg, env[i], want, sizeof want),
                      "docker-compose.yml: service postgres does not set %s", env[i]);
        ck_assert_msg(strcmp(got[i], want) == 0,
                      "docker-compose.yml: DATABASE_URL has %s where postgres's %s is %s",
                      got[i], env[i], want);
    }
    if (yenv(&y, sv, "LTVD_LISTEN", v, sizeof v)) {
        size_t l = strlen(v);
        ck_assert_msg(l > 5 && strcmp(v + l - 5, ":8080") == 0 &&
                          strncmp(v, "127.", 4) != 0,
                      "docker-compose.yml: LTVD_LISTEN=%s does not listen on the "
                      "published port 8080 for "
                      "other hosts",
                      v);
    }

    /* port 8080 published */
    int ports = yfind(&y, sv + 1, end, "ports");
    ck_assert_msg(ports >= 0, "docker-compose.yml: service ltvd publishes no ports");
    bool published = false;
    for (int i = ports + 1; i < yblock_end(&y, ports); i++) {
        if (strncmp(y.l[i].text, "- ", 2) != 0)
            continue;
        yscalar(y.l[i].text + 2, v, sizeof v);
        char *slash = strchr(v, '/');
        if (slash != NULL && strcmp(slash, "/tcp") == 0)
            *slash = '\0';
        char *last = strrchr(v, ':');
        published = published || (last != NULL && strcmp(last + 1, "8080") == 0);
    }
    ck_assert_msg(published,
                  "docker-compose.yml: service ltvd does not publish container port 8080 "
                  "(ports: - \"HOST:8080\")");

    /* its healthcheck is the Dockerfile's, in exec form */
    const char *hc[] = {"healthcheck", "test"};
    int t = ypath(&y, sv + 1, end, hc, 2);
    ck_assert_msg(t >= 0, "docker-compose.yml: service ltvd has no healthcheck: test:");
    char ctest[1024];
    yvalue(&y, t, ctest, sizeof ctest);
    static dockerfile d;
    dockerfile_read(&d, "Dockerfile");
    const dinstr *h = last_instr(&d, d.nstages - 1, "HEALTHCHECK");
    ck_assert_msg(h != NULL, "Dockerfile: no HEALTHCHECK to compare with");
    const char *dcmd = strstr(h->args, "CMD ");
    ck_assert(dcmd != NULL);
    dcmd = dcmd + 4;
    while (*dcmd == ' ')
        dcmd++;
    ck_assert_msg(dcmd[0] == '[' && strncmp(ctest, "[\"CMD\",", 7) == 0,
                  "the two health checks must both be in exec form (Dockerfile CMD "
                  "[...], compose [\"CMD\", ...])");
    const char *rest = ctest + 7;
    while (*rest == ' ')
        rest++;
    ck_assert_msg(strcmp(dcmd + 1, rest) == 0,
                  "docker-compose.yml:%d: ltvd's healthcheck differs from the "
                  "Dockerfile's HEALTHCHECK:\n"
                  "  compose:    %s\n  Dockerfile: %s",
                  y.l[t].line, ctest, dcmd);
    free(d.text);
    free(y.buf);
}
END_TEST

/* .dockerignore keeps host build products out of the context, and keeps in
 * everything the build stage's `make test` needs (this suite included). */
START_TEST(test_dockerignore)
{
    char *s = slurp(".dockerignore");
    bool build = false, bin = false;
    const char *keep[] = {"Dockerfile", "docker-compose.yml", "Makefile", "src", "tests",
                          "scripts",    "migrations",         "config",   "*"};
    int line = 0;
    for (char *p = strtok(s, "\n"); p != NULL; p = strtok(NULL, "\n")) {
        line++;
        char *t = trim(p);
        if (*t == '#' || *t == '\0')
            continue;
        if (*t == '/')
            t++;
        size_t l = strlen(t);
        while (l > 1 && t[l - 1] == '/')
            t[--l] = '\0';
        build = build || strcmp(t, "build") == 0 || strcmp(t, "build/**") == 0;
        bin = bin || strcmp(t, "ltvd") == 0;
        for (size_t k = 0; k < sizeof keep / sizeof *keep; k++)
            ck_assert_msg(strcmp(t, keep[k]) != 0,
                          ".dockerignore: excludes %s, which the image build needs", t);
    }
    ck_assert_msg(build, ".dockerignore: does not exclude build/ (host objects would "
                         "look up to date to make)");
    ck_assert_msg(bin, ".dockerignore: does not exclude the host's ./ltvd binary");
    free(s);
}
END_TEST

Suite *suite_docker(void)
{
    Suite *s = suite_create("docker");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, test_dockerfile_stages);
    tcase_add_test(tc, test_dockerfile_build_stage);
    tcase_add_test(tc, test_dockerfile_runtime_stage);
    tcase_add_test(tc, test_dockerfile_runtime_packages);
    tcase_add_test(tc, test_dockerfile_runtime_covers_binary);
    tcase_add_test(tc, test_compose_postgres);
    tcase_add_test(tc, test_compose_ltvd);
    tcase_add_test(tc, test_dockerignore);
    suite_add_tcase(s, tc);
    return s;
}
