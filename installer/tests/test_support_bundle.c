#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "support_bundle_redact.h"
#include "support_bundle_tar.h"

/* The header's checksum, recomputed as a reader does. */
static unsigned checksum(const unsigned char *h)
{
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum;
}

static void test_tar_member_has_a_valid_ustar_header_and_padding(void **state)
{
    (void)state;
    buf t = BUF_INIT;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(support_bundle_tar_add(&t, "d/hello.txt", "hello\n", 6, 1700000000, &e), 0);
    support_bundle_tar_finish(&t);
    const unsigned char *h = (const unsigned char *)t.ptr;
    assert_int_equal(t.len, 512 + 512 + 1024);
    assert_string_equal((const char *)h, "d/hello.txt");
    assert_memory_equal(h + 257, "ustar\0" "00", 8);
    assert_int_equal(strtoul((const char *)h + 124, NULL, 8), 6);
    assert_int_equal(strtoul((const char *)h + 136, NULL, 8), 1700000000);
    assert_int_equal(strtoul((const char *)h + 148, NULL, 8), checksum(h));
    assert_int_equal(h[156], '0');
    assert_memory_equal(t.ptr + 512, "hello\n", 6);
    for (size_t i = 512 + 6; i < t.len; i++)
        assert_int_equal(t.ptr[i], 0);
    buf_free(&t);
}

static void test_tar_long_names_go_into_the_prefix_and_bad_names_are_refused(void **state)
{
    (void)state;
    char dir[141], name[230];
    memset(dir, 'd', sizeof dir - 1);
    dir[sizeof dir - 1] = '\0';
    snprintf(name, sizeof name, "%s/%s", dir, "container-with-a-long-name.previous.log");
    buf t = BUF_INIT;
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(support_bundle_tar_add(&t, name, "", 0, 0, &e), 0);
    assert_string_equal(t.ptr, "container-with-a-long-name.previous.log");
    assert_memory_equal(t.ptr + 345, dir, strlen(dir));
    assert_int_equal(t.ptr[345 + strlen(dir)], '\0');
    char huge[300];
    memset(huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    const char *bad[] = {huge, "", "/etc/passwd", "../up", "a/../../b", "a/.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(support_bundle_tar_add(&t, bad[i], "x", 1, 0, &e), -1);
        assert_non_null(strstr(err_msg(&e), "archive member"));
        err_clear(&e);
    }
    buf_free(&t);
}

static void test_gzip_round_trips_through_zlib(void **state)
{
    (void)state;
    buf in = BUF_INIT, gz = BUF_INIT;
    for (int i = 0; i < 20000; i++)
        buf_printf(&in, "line %d of a log\n", i);
    exo_err e = EXO_ERR_INIT;
    assert_int_equal(support_bundle_gzip(&gz, in.ptr, in.len, &e), 0);
    assert_true(gz.len < in.len / 4);
    assert_int_equal((unsigned char)gz.ptr[0], 0x1f);
    assert_int_equal((unsigned char)gz.ptr[1], 0x8b);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    unsigned char *out = malloc(in.len + 1);
    z.next_in = (Bytef *)gz.ptr;
    z.avail_in = (uInt)gz.len;
    z.next_out = out;
    z.avail_out = (uInt)in.len + 1;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, in.len);
    assert_memory_equal(out, in.ptr, in.len);
    inflateEnd(&z);
    free(out);
    buf_free(&in);
    buf_free(&gz);
}

#define PW "Zq8-vT0pW4xR"
#define DSN "postgres://exo:" PW "@exo-postgres:5432/exo?sslmode=disable"
#define KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

static void test_known_values_are_hidden_in_every_form(void **state)
{
    (void)state;
    support_bundle_redactor *r = support_bundle_redactor_new();
    support_bundle_redactor_add(r, DSN);
    support_bundle_redactor_add(r, KEY);
    support_bundle_redactor_add(r, "short"); /* ignored: below the minimum */
    char *s = support_bundle_redact_text(
        r, "boot: connecting with " PW "\nkey " KEY " done\nuser short ok\nnothing here\n");
    assert_null(strstr(s, PW));
    assert_null(strstr(s, KEY));
    assert_non_null(strstr(s, "user short ok\nnothing here\n"));
    free(s);
    /* The DSN in base64, as a Secret's data holds it. */
    s = support_bundle_redact_text(r, "data: cG9zdGdyZXM6Ly9leG86WnE4LXZUMHBXNHhSQGV4by1wb3N0Z3Jl"
                                      "czo1NDMyL2V4bz9zc2xtb2RlPWRpc2FibGU=");
    assert_string_equal(s, "data: REDACTED");
    free(s);
    /* A password never seen as a Secret: the DSN shape gives it away. */
    s = support_bundle_redact_text(r, "dsn host=db user=u password=unknown-9 dbname=x");
    assert_null(strstr(s, "unknown-9"));
    free(s);
    support_bundle_redactor_free(r);
}

static void test_objects_keep_keys_and_lose_secret_values(void **state)
{
    (void)state;
    cJSON *items = cJSON_Parse(
        "[{\"kind\":\"Secret\",\"metadata\":{\"name\":\"exo-database\","
        "\"managedFields\":[{\"manager\":\"x\"}]},"
        "\"data\":{\"dsn\":\"cG9zdGdyZXM6Ly9leG86WnE4LXZUMHBXNHhSQGV4by1wb3N0Z3JlczoxL2V4bw==\"}},"
        "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"annotations\":{"
        "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\",\"a\":\"b\"}},"
        "\"spec\":{\"containers\":[{\"env\":[{\"name\":\"EXO_BOOTSTRAP_TOKEN\",\"value\":\"t0k3n-"
        "literal\"},{\"name\":\"EXO_HTTP_ADDR\",\"value\":\":8080\"}]}]},"
        "\"status\":{\"message\":\"failed: password authentication for " PW "\"}}]");
    assert_non_null(items);
    support_bundle_redactor *r = support_bundle_redactor_new();
    support_bundle_redactor_add_secrets(r, items);
    support_bundle_redact_object(r, items);
    char *text = cJSON_PrintUnformatted(items);
    assert_null(strstr(text, PW));
    assert_null(strstr(text, "cG9zdGdyZXM6"));
    assert_null(strstr(text, "t0k3n-literal"));
    assert_null(strstr(text, "managedFields"));
    assert_null(strstr(text, "last-applied"));
    assert_non_null(strstr(text, "\"data\":{\"dsn\":\"REDACTED\"}"));
    assert_non_null(strstr(text, "{\"name\":\"EXO_HTTP_ADDR\",\"value\":\":8080\"}"));
    assert_non_null(strstr(text, "\"a\":\"b\""));
    free(text);
    support_bundle_redactor_free(r);
    cJSON_Delete(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tar_member_has_a_valid_ustar_header_and_padding),
        cmocka_unit_test(test_tar_long_names_go_into_the_prefix_and_bad_names_are_refused),
        cmocka_unit_test(test_gzip_round_trips_through_zlib),
        cmocka_unit_test(test_known_values_are_hidden_in_every_form),
        cmocka_unit_test(test_objects_keep_keys_and_lose_secret_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
