#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"

static cJSON *vars(void)
{
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "ns", "exo");
    cJSON_AddNumberToObject(v, "replicas", 3);
    cJSON_AddStringToObject(v, "hostile", "a: \"#\nb: {c}");
    cJSON *ref = cJSON_AddObjectToObject(v, "ref");
    cJSON_AddStringToObject(ref, "name", "x");
    return v;
}

static cJSON *expand_ok(const char *json)
{
    cJSON *doc = cJSON_Parse(json);
    cJSON *v = vars();
    exo_err err = EXO_ERR_INIT;
    int rc = template_expand(doc, v, "t.yaml", &err);
    if (rc != 0)
        fail_msg("%s", err_msg(&err));
    cJSON_Delete(v);
    err_clear(&err);
    return doc;
}

static void assert_expands_to(const char *json, const char *want)
{
    cJSON *doc = expand_ok(json);
    char *got = cJSON_PrintUnformatted(doc);
    assert_string_equal(got, want);
    free(got);
    cJSON_Delete(doc);
}

static void assert_refused(const char *json, const char *want_in_message)
{
    cJSON *doc = cJSON_Parse(json);
    cJSON *v = vars();
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(template_expand(doc, v, "t.yaml", &err), -1);
    assert_non_null(strstr(err_msg(&err), want_in_message));
    assert_non_null(strstr(err_msg(&err), "t.yaml"));
    cJSON_Delete(v);
    cJSON_Delete(doc);
    err_clear(&err);
}

static void test_whole_placeholder_takes_the_value_type(void **state)
{
    (void)state;
    assert_expands_to("{\"count\":\"${replicas}\",\"r\":\"${ref}\",\"l\":[\"${ns}\"]}",
                      "{\"count\":3,\"r\":{\"name\":\"x\"},\"l\":[\"exo\"]}");
}

static void test_placeholder_inside_a_string_interpolates(void **state)
{
    (void)state;
    assert_expands_to("{\"host\":\"pg.${ns}.svc:${replicas}\"}", "{\"host\":\"pg.exo.svc:3\"}");
}

static void test_hostile_value_stays_one_scalar(void **state)
{
    (void)state;
    cJSON *doc = expand_ok("{\"a\":\"${hostile}\",\"b\":\"x\"}");
    assert_int_equal(cJSON_GetArraySize(doc), 2);
    assert_string_equal(cJSON_GetObjectItem(doc, "a")->valuestring, "a: \"#\nb: {c}");
    cJSON_Delete(doc);
}

static void test_optional_placeholder_removes_key_and_item(void **state)
{
    (void)state;
    assert_expands_to("{\"a\":\"${missing?}\",\"l\":[\"${missing?}\",\"${ns}\"],\"z\":1}",
                      "{\"l\":[\"exo\"],\"z\":1}");
}

static void test_unknown_placeholder_is_refused(void **state)
{
    (void)state;
    assert_refused("{\"a\":\"${nope}\"}", "${nope}");
    assert_refused("{\"a\":\"x${nope?}\"}", "${nope}");
}

static void test_placeholder_in_key_and_unterminated_are_refused(void **state)
{
    (void)state;
    assert_refused("{\"${ns}\":1}", "keys");
    assert_refused("{\"a\":\"${ns\"}", "unterminated");
    assert_refused("{\"a\":\"x${ref}\"}", "string or number");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_placeholder_takes_the_value_type),
        cmocka_unit_test(test_placeholder_inside_a_string_interpolates),
        cmocka_unit_test(test_hostile_value_stays_one_scalar),
        cmocka_unit_test(test_optional_placeholder_removes_key_and_item),
        cmocka_unit_test(test_unknown_placeholder_is_refused),
        cmocka_unit_test(test_placeholder_in_key_and_unterminated_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
