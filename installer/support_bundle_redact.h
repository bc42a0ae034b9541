/* What `exo-install support-bundle` does to everything before it goes into
 * the archive: the Secrets' values (and the password inside a DSN) found
 * anywhere are replaced by "REDACTED", as is any password-looking part of a
 * DSN (lib/dsn.c's dsn_redact_text); Secrets keep their keys, never their
 * values; environment variables named like secrets lose their values. */
#ifndef EXO_SUPPORT_BUNDLE_REDACT_H
#define EXO_SUPPORT_BUNDLE_REDACT_H

#include <cjson/cJSON.h>

typedef struct support_bundle_redactor support_bundle_redactor;

support_bundle_redactor *support_bundle_redactor_new(void);
void support_bundle_redactor_free(support_bundle_redactor *r);

/* A secret value to hide wherever it appears: as given, base64-encoded,
 * and, when it is a DSN, its password. Values shorter than
 * SUPPORT_BUNDLE_MIN_SECRET are ignored (they would match by chance; the
 * Secret itself is redacted whole anyway). The value is copied. */
#define SUPPORT_BUNDLE_MIN_SECRET 6
void support_bundle_redactor_add(support_bundle_redactor *r, const char *value);
/* Adds the values of every Secret in items (a list's items, data base64
 * as the API returns it). */
void support_bundle_redactor_add_secrets(support_bundle_redactor *r, const cJSON *items);

/* text with every known value, and each line's DSN passwords, replaced.
 * Caller frees. */
char *support_bundle_redact_text(const support_bundle_redactor *r, const char *text);

/* Redacts obj in place: a Secret's data and stringData values, env values
 * of variables named like secrets (PASSWORD, TOKEN, KEY, SECRET, DSN), the
 * last-applied-configuration annotation and managedFields (which can hold
 * either), then every string left through support_bundle_redact_text. obj
 * may be one object or an array of them. */
void support_bundle_redact_object(const support_bundle_redactor *r, cJSON *obj);

#endif
