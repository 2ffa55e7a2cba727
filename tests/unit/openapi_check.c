/* The openapi suite's helper (see openapi_check.h): YAML to a jansson tree,
 * local $ref resolution, a schema linter and a validator for the JSON
 * Schema subset openapi.yaml uses. */
#include "openapi_check.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 64

/* ------------------------------------------------------------- loading */

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static bool is_int_text(const char *s)
{
    return all_digits(s + (*s == '-' || *s == '+'));
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float_text(const char *s)
{
    s += *s == '-' || *s == '+';
    size_t before = strspn(s, "0123456789");
    s += before;
    size_t after = 0;
    if (*s == '.') {
        after = strspn(s + 1, "0123456789");
        s += 1 + after;
    }
    if (before == 0 && after == 0)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        s += *s == '-' || *s == '+';
        return all_digits(s);
    }
    return *s == '\0';
}

/* A plain scalar typed by the YAML 1.2 core schema; NULL for a number
 * jansson cannot hold. */
static json_t *plain_json(const char *s, size_t len)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    static const char *const trues[] = {"true", "True", "TRUE"};
    static const char *const falses[] = {"false", "False", "FALSE"};
    if (strlen(s) != len)
        return json_stringn(s, len); /* an embedded NUL: text */
    for (size_t i = 0; i < 5; i++)
        if (strcmp(s, nulls[i]) == 0)
            return json_null();
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(s, trues[i]) == 0)
            return json_true();
        if (strcmp(s, falses[i]) == 0)
            return json_false();
    }
    if (is_int_text(s)) {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno == 0)
            return json_integer(v);
    }
    if (is_float_text(s))
        return json_real(strtod(s, NULL)); /* NULL when infinite */
    return json_stringn(s, len);
}

static json_t *node_json(yaml_document_t *doc, yaml_node_t *n, int depth, char *err);

static json_t *mapping_json(yaml_document_t *doc, yaml_node_t *n, int depth, char *err)
{
    json_t *o = json_object();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         o != NULL && p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k == NULL || k->type != YAML_SCALAR_NODE) {
            snprintf(err, OA_ERR_MAX, "line %zu: a key that is not a scalar",
                     n->start_mark.line + 1);
            goto fail;
        }
        const char *key = (const char *)k->data.scalar.value;
        if (json_object_get(o, key) != NULL) {
            snprintf(err, OA_ERR_MAX, "line %zu: duplicate key %s",
                     k->start_mark.line + 1, key);
            goto fail;
        }
        json_t *v = node_json(doc, yaml_document_get_node(doc, p->value), depth + 1, err);
        if (v == NULL || json_object_set_new(o, key, v) != 0)
            goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

static json_t *node_json(yaml_document_t *doc, yaml_node_t *n, int depth, char *err)
{
    if (n == NULL || depth > MAX_DEPTH) {
        snprintf(err, OA_ERR_MAX, "nesting deeper than %d (an alias cycle?)", MAX_DEPTH);
        return NULL;
    }
    json_t *out = NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        out = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_json(s, len)
                                                              : json_stringn(s, len);
        if (out == NULL)
            snprintf(err, OA_ERR_MAX, "line %zu: scalar %.40s cannot be held",
                     n->start_mark.line + 1, s);
        return out;
    }
    case YAML_SEQUENCE_NODE:
        out = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start;
             out != NULL && i < n->data.sequence.items.top; i++) {
            json_t *v = node_json(doc, yaml_document_get_node(doc, *i), depth + 1, err);
            if (v == NULL || json_array_append_new(out, v) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    case YAML_MAPPING_NODE:
        return mapping_json(doc, n, depth, err);
    default:
        snprintf(err, OA_ERR_MAX, "an empty node");
        return NULL;
    }
}

json_t *oa_load(const char *path, char err[OA_ERR_MAX])
{
    json_t *out = NULL;
    bool have_doc = false, have_parser = false;
    yaml_parser_t parser;
    yaml_document_t doc;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, OA_ERR_MAX, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (!yaml_parser_initialize(&parser)) {
        snprintf(err, OA_ERR_MAX, "out of memory");
        goto cleanup;
    }
    have_parser = true;
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, OA_ERR_MAX, "%s:%zu:%zu: %s", path, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1,
                 parser.problem != NULL ? parser.problem : "YAML error");
        goto cleanup;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root == NULL) {
        snprintf(err, OA_ERR_MAX, "%s: no document", path);
        goto cleanup;
    }
    out = node_json(&doc, root, 0, err);
cleanup:
    if (have_doc)
        yaml_document_delete(&doc);
    if (have_parser)
        yaml_parser_delete(&parser);
    fclose(f);
    return out;
}

/* ----------------------------------------------------------- references */

const json_t *oa_pointer(const json_t *spec, const char *ref)
{
    if (ref == NULL || strncmp(ref, "#", 1) != 0)
        return NULL;
    const json_t *n = spec;
    const char *s = ref + 1;
    while (n != NULL && *s == '/') {
        s++;
        char tok[256];
        size_t len = 0;
        for (; *s != '\0' && *s != '/'; s++) {
            char c = *s;
            if (c == '~') {
                if (s[1] != '0' && s[1] != '1')
                    return NULL;
                c = *++s == '0' ? '~' : '/';
            }
            if (len + 1 >= sizeof tok)
                return NULL;
            tok[len++] = c;
        }
        tok[len] = '\0';
        if (json_is_object(n)) {
            n = json_object_get(n, tok);
        } else if (json_is_array(n) && all_digits(tok)) {
            n = json_array_get(n, strtoul(tok, NULL, 10));
        } else {
            return NULL;
        }
    }
    return *s == '\0' ? n : NULL;
}

const json_t *oa_resolve(const json_t *spec, const json_t *node)
{
    for (int i = 0; i < 32 && node != NULL; i++) {
        const json_t *ref = json_object_get(node, "$ref");
        if (!json_is_string(ref))
            return node;
        node = oa_pointer(spec, json_string_value(ref));
    }
    return NULL;
}

/* ---------------------------------------------------------------- lint */

static const char *const assertions[] = {"$ref",
                                         "type",
                                         "enum",
                                         "const",
                                         "required",
                                         "properties",
                                         "additionalProperties",
                                         "items",
                                         "minItems",
                                         "maxItems",
                                         "minimum",
                                         "maximum",
                                         "minLength",
                                         "maxLength",
                                         "pattern",
                                         "format",
                                         "allOf",
                                         "anyOf",
                                         "oneOf",
                                         NULL};
static const char *const annotations[] = {
    "description", "title",    "default",   "examples", "example",
    "deprecated",  "readOnly", "writeOnly", "$comment", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static bool is_annotation(const char *key)
{
    return in_list(annotations, key) || strncmp(key, "x-", 2) == 0;
}

static bool fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, OA_ERR_MAX, fmt, ap);
    va_end(ap);
    return false;
}

static bool lint_schema(const json_t *s, const char *where, int depth, char *err)
{
    if (json_is_boolean(s))
        return true;
    if (!json_is_object(s) || depth > MAX_DEPTH)
        return fail(err, "%s: a schema must be an object or a boolean", where);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)s, key, v)
    {
        if (!in_list(assertions, key) && !is_annotation(key))
            return fail(err, "%s: keyword %s is not supported by the validator", where,
                        key);
        if (strcmp(key, "format") == 0 &&
            !(json_is_string(v) && (strcmp(json_string_value(v), "date") == 0 ||
                                    strcmp(json_string_value(v), "date-time") == 0)))
            return fail(err, "%s: format must be date or date-time", where);
        if ((strcmp(key, "items") == 0 || strcmp(key, "additionalProperties") == 0) &&
            !lint_schema(v, where, depth + 1, err))
            return false;
        if (strcmp(key, "properties") == 0) {
            const char *pk;
            const json_t *pv;
            json_object_foreach((json_t *)v, pk, pv)
            {
                if (!lint_schema(pv, where, depth + 1, err))
                    return false;
            }
        }
        if (strcmp(key, "allOf") == 0 || strcmp(key, "anyOf") == 0 ||
            strcmp(key, "oneOf") == 0) {
            size_t i;
            const json_t *sub;
            if (!json_is_array(v) || json_array_size(v) == 0)
                return fail(err, "%s: %s must be a non-empty list", where, key);
            json_array_foreach(v, i, sub)
            {
                if (!lint_schema(sub, where, depth + 1, err))
                    return false;
            }
        }
    }
    return true;
}

/* Every $ref resolves; every "schema" member and components/schemas entry
 * lints. path names node for messages. */
static bool lint_walk(const json_t *spec, const json_t *node, const char *path, int depth,
                      char *err)
{
    if (depth > MAX_DEPTH)
        return fail(err, "%s: nested too deep", path);
    if (json_is_array(node)) {
        size_t i;
        const json_t *v;
        json_array_foreach(node, i, v)
        {
            if (!lint_walk(spec, v, path, depth + 1, err))
                return false;
        }
        return true;
    }
    if (!json_is_object(node))
        return true;
    const json_t *ref = json_object_get(node, "$ref");
    if (ref != NULL && (!json_is_string(ref) || oa_resolve(spec, node) == NULL))
        return fail(err, "%s: $ref %s does not resolve", path,
                    json_is_string(ref) ? json_string_value(ref) : "(not a string)");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)node, key, v)
    {
        char sub[512];
        snprintf(sub, sizeof sub, "%s/%s", path, key);
        if (strcmp(key, "schema") == 0 && !lint_schema(v, sub, 0, err))
            return false;
        if (!lint_walk(spec, v, sub, depth + 1, err))
            return false;
    }
    return true;
}

bool oa_lint(const json_t *spec, char err[OA_ERR_MAX])
{
    const json_t *schemas = oa_pointer(spec, "#/components/schemas");
    const char *name;
    const json_t *s;
    json_object_foreach((json_t *)schemas, name, s)
    {
        if (!lint_schema(s, name, 0, err))
            return false;
    }
    return lint_walk(spec, spec, "#", 0, err);
}

/* ----------------------------------------------------------- validation */

typedef struct vctx {
    const json_t *spec;
    char *err;
    char path[256]; /* where in the instance: "/customers/0/p_alive" */
} vctx;

static bool validate(vctx *c, const json_t *schema, const json_t *v, int depth);

static bool vfail(vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool vfail(vctx *c, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(c->err, OA_ERR_MAX, "at %s: ", c->path[0] ? c->path : "/");
    va_start(ap, fmt);
    vsnprintf(c->err + n, OA_ERR_MAX - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* Validates v under path + "/" + seg. */
static bool validate_at(vctx *c, const json_t *schema, const json_t *v, const char *seg,
                        int depth)
{
    size_t len = strlen(c->path);
    snprintf(c->path + len, sizeof c->path - len, "/%s", seg);
    bool ok = validate(c, schema, v, depth + 1);
    c->path[len] = '\0';
    return ok;
}

static bool equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

static bool type_is(const json_t *v, const char *t)
{
    if (strcmp(t, "integer") == 0)
        return json_is_integer(v) || (json_is_real(v) && isfinite(json_real_value(v)) &&
                                      floor(json_real_value(v)) == json_real_value(v));
    return (strcmp(t, "number") == 0 && json_is_number(v)) ||
           (strcmp(t, "string") == 0 && json_is_string(v)) ||
           (strcmp(t, "boolean") == 0 && json_is_boolean(v)) ||
           (strcmp(t, "null") == 0 && json_is_null(v)) ||
           (strcmp(t, "object") == 0 && json_is_object(v)) ||
           (strcmp(t, "array") == 0 && json_is_array(v));
}

static const char *type_name(const json_t *v)
{
    static const char *const names[] = {"object", "array",   "string",  "integer",
                                        "number", "boolean", "boolean", "null"};
    return names[json_typeof(v)];
}

static bool check_type(vctx *c, const json_t *t, const json_t *v)
{
    if (json_is_string(t)) {
        if (type_is(v, json_string_value(t)))
            return true;
        return vfail(c, "%s, want %s", type_name(v), json_string_value(t));
    }
    size_t i;
    const json_t *x;
    json_array_foreach(t, i, x)
    {
        if (type_is(v, json_string_value(x)))
            return true;
    }
    return vfail(c, "%s, not one of the listed types", type_name(v));
}

static size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static bool matches(const char *pattern, const char *s)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static bool date_ok(const char *s)
{
    int y, m, d;
    char end;
    if (strlen(s) < 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &end) < 3 ||
        s[4] != '-' || s[7] != '-')
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1] &&
           !(m == 2 && d == 29 && !leap);
}

static bool format_ok(const char *format, const char *s)
{
    if (strcmp(format, "date") == 0)
        return strlen(s) == 10 && date_ok(s);
    return date_ok(s) &&
           matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}"
                   "(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$",
                   s);
}

static bool check_object(vctx *c, const json_t *schema, const json_t *v, int depth)
{
    const json_t *req = json_object_get(schema, "required");
    const json_t *props = json_object_get(schema, "properties");
    const json_t *extra = json_object_get(schema, "additionalProperties");
    size_t i;
    const json_t *name;
    json_array_foreach(req, i, name)
    {
        if (json_object_get(v, json_string_value(name)) == NULL)
            return vfail(c, "required member %s is missing", json_string_value(name));
    }
    const char *key;
    const json_t *mv;
    json_object_foreach((json_t *)v, key, mv)
    {
        const json_t *ps = json_object_get(props, key);
        if (ps == NULL && json_is_false(extra))
            return vfail(
                c, "member %s is not in the schema (additionalProperties: false)", key);
        if (ps == NULL)
            ps = extra;
        if (ps != NULL && !validate_at(c, ps, mv, key, depth))
            return false;
    }
    return true;
}

static bool check_array(vctx *c, const json_t *schema, const json_t *v, int depth)
{
    const json_t *items = json_object_get(schema, "items");
    const json_t *lo = json_object_get(schema, "minItems");
    const json_t *hi = json_object_get(schema, "maxItems");
    size_t n = json_array_size(v);
    if (lo != NULL && n < (size_t)json_integer_value(lo))
        return vfail(c, "%zu items, fewer than %lld", n,
                     (long long)json_integer_value(lo));
    if (hi != NULL && n > (size_t)json_integer_value(hi))
        return vfail(c, "%zu items, more than %lld", n,
                     (long long)json_integer_value(hi));
    for (size_t i = 0; items != NULL && i < n; i++) {
        char seg[24];
        snprintf(seg, sizeof seg, "%zu", i);
        if (!validate_at(c, items, json_array_get(v, i), seg, depth))
            return false;
    }
    return true;
}

static bool check_scalar(vctx *c, const json_t *schema, const json_t *v)
{
    const json_t *lo = json_object_get(schema, "minimum");
    const json_t *hi = json_object_get(schema, "maximum");
    if (json_is_number(v) && lo != NULL && json_number_value(v) < json_number_value(lo))
        return vfail(c, "%.17g is below the minimum %.17g", json_number_value(v),
                     json_number_value(lo));
    if (json_is_number(v) && hi != NULL && json_number_value(v) > json_number_value(hi))
        return vfail(c, "%.17g is above the maximum %.17g", json_number_value(v),
                     json_number_value(hi));
    if (!json_is_string(v))
        return true;
    const char *s = json_string_value(v);
    const json_t *minl = json_object_get(schema, "minLength");
    const json_t *maxl = json_object_get(schema, "maxLength");
    const json_t *pat = json_object_get(schema, "pattern");
    const json_t *fmt = json_object_get(schema, "format");
    size_t n = utf8_length(s);
    if (minl != NULL && n < (size_t)json_integer_value(minl))
        return vfail(c, "\"%.60s\" is shorter than %lld", s,
                     (long long)json_integer_value(minl));
    if (maxl != NULL && n > (size_t)json_integer_value(maxl))
        return vfail(c, "\"%.60s\" is longer than %lld", s,
                     (long long)json_integer_value(maxl));
    if (pat != NULL && !matches(json_string_value(pat), s))
        return vfail(c, "\"%.60s\" does not match %s", s, json_string_value(pat));
    if (fmt != NULL && !format_ok(json_string_value(fmt), s))
        return vfail(c, "\"%.60s\" is not a %s", s, json_string_value(fmt));
    return true;
}

/* allOf, anyOf, oneOf. */
static bool check_combinators(vctx *c, const json_t *schema, const json_t *v, int depth)
{
    size_t i;
    const json_t *sub;
    json_array_foreach(json_object_get(schema, "allOf"), i, sub)
    {
        if (!validate(c, sub, v, depth + 1))
            return false;
    }
    static const char *const kinds[] = {"anyOf", "oneOf"};
    for (int k = 0; k < 2; k++) {
        const json_t *list = json_object_get(schema, kinds[k]);
        if (list == NULL)
            continue;
        char first[OA_ERR_MAX] = "", *saved = c->err;
        size_t passed = 0;
        json_array_foreach(list, i, sub)
        {
            char tmp[OA_ERR_MAX];
            c->err = tmp;
            if (validate(c, sub, v, depth + 1))
                passed++;
            else if (first[0] == '\0')
                snprintf(first, sizeof first, "%s", tmp);
        }
        c->err = saved;
        if (passed == 0)
            return vfail(c, "matches no branch of %s (the first: %.300s)", kinds[k],
                         first);
        if (k == 1 && passed > 1)
            return vfail(c, "matches %zu branches of oneOf", passed);
    }
    return true;
}

static bool validate(vctx *c, const json_t *schema, const json_t *v, int depth)
{
    if (json_is_true(schema))
        return true;
    if (!json_is_object(schema) || depth > MAX_DEPTH)
        return vfail(c, "the schema is false, not an object, or nested too deep");
    const char *key;
    const json_t *kv;
    json_object_foreach((json_t *)schema, key, kv)
    {
        if (!in_list(assertions, key) && !is_annotation(key))
            return vfail(c, "keyword %s is not supported", key);
    }
    const json_t *ref = json_object_get(schema, "$ref");
    if (ref != NULL) {
        const json_t *target = oa_pointer(c->spec, json_string_value(ref));
        if (target == NULL)
            return vfail(c, "$ref %s does not resolve", json_string_value(ref));
        if (!validate(c, target, v, depth + 1))
            return false;
    }
    const json_t *t = json_object_get(schema, "type");
    if (t != NULL && !check_type(c, t, v))
        return false;
    const json_t *cst = json_object_get(schema, "const");
    if (cst != NULL && !equal(cst, v))
        return vfail(c, "not the constant %s",
                     json_is_string(cst) ? json_string_value(cst) : "(of the schema)");
    const json_t *en = json_object_get(schema, "enum");
    if (en != NULL) {
        size_t i;
        const json_t *x;
        bool found = false;
        json_array_foreach(en, i, x) found = found || equal(x, v);
        if (!found)
            return vfail(c, "%s%s%s is not in the enum", json_is_string(v) ? "\"" : "",
                         json_is_string(v) ? json_string_value(v) : type_name(v),
                         json_is_string(v) ? "\"" : "");
    }
    if (json_is_object(v) && !check_object(c, schema, v, depth))
        return false;
    if (json_is_array(v) && !check_array(c, schema, v, depth))
        return false;
    if (!check_scalar(c, schema, v))
        return false;
    return check_combinators(c, schema, v, depth);
}

bool oa_validate(const json_t *spec, const json_t *schema, const json_t *v,
                 char err[OA_ERR_MAX])
{
    vctx c = {.spec = spec, .err = err};
    err[0] = '\0';
    return validate(&c, schema, v, 0);
}
