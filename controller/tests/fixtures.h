/* Objects the controller's tests start from: the installer's
 * ExoControlPlane "exo" in namespace "exo", its Secrets and PVC. */
#ifndef EXO_CTL_FIXTURES_H
#define EXO_CTL_FIXTURES_H

#include <cjson/cJSON.h>

/* JSON with ' for " (readable in C); fails the test when malformed.
 * Caller frees. */
cJSON *fx_json(const char *text);
cJSON *fx_ecp(void);
/* A Secret as the API returns it (base64 data); value is the raw text. */
cJSON *fx_secret(const char *name, const char *key, const char *value);
cJSON *fx_pvc(const char *name, const char *mode);
cJSON *fx_configmap(const char *name, const char *key, const char *value);
/* Sets a number / string at a dotted path of existing objects. */
void fx_set_num(cJSON *root, const char *path, double v);
void fx_set_str(cJSON *root, const char *path, const char *v);

#endif
