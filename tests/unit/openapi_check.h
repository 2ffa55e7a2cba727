/* Test helper of the openapi suite: openapi.yaml read with libyaml into a
 * jansson tree, local $ref resolution, and a validator for the subset of
 * JSON Schema 2020-12 the file uses. Keywords outside the subset are
 * errors, never silently ignored, so the spec cannot promise more than the
 * test checks. */
#ifndef LTVD_TESTS_OPENAPI_CHECK_H
#define LTVD_TESTS_OPENAPI_CHECK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define OA_ERR_MAX 512

/* Reads the YAML file at path (one document) into a tree: mappings become
 * objects (string keys only, duplicates refused), sequences arrays, plain
 * scalars typed by the YAML 1.2 core schema (null, booleans, integers,
 * floats, else strings), quoted and block scalars strings. Returns a new
 * reference (caller decrefs), or NULL with a message in err. */
json_t *oa_load(const char *path, char err[OA_ERR_MAX]);

/* The node a local reference ("#/components/schemas/Customer", JSON
 * pointer escapes ~0 ~1 allowed) names in spec, or NULL. Borrowed. */
const json_t *oa_pointer(const json_t *spec, const char *ref);

/* node, or what its $ref chain ends at when node is {"$ref": ...}
 * (at most 32 steps). NULL when a reference does not resolve. Borrowed. */
const json_t *oa_resolve(const json_t *spec, const json_t *node);

/* Checks that every $ref anywhere under node resolves, and that every
 * schema (any value of a "schema" member, every components/schemas entry,
 * and their subschemas) uses only the keywords oa_validate implements.
 * Returns true, or false with the first problem in err. */
bool oa_lint(const json_t *spec, char err[OA_ERR_MAX]);

/* Validates the JSON value v against schema (a node of spec). Supported:
 * $ref, type (a name or a list; integer accepts integral reals), enum,
 * const, required, properties, additionalProperties (false or a schema),
 * items, minItems, maxItems, minimum, maximum, minLength, maxLength,
 * pattern (POSIX extended), format (date, date-time), allOf, anyOf, oneOf;
 * annotations (description, title, default, examples, x-*) are skipped.
 * Returns true, or false with "at <path>: <reason>" in err. */
bool oa_validate(const json_t *spec, const json_t *schema, const json_t *v,
                 char err[OA_ERR_MAX]);

#endif
