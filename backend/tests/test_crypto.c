#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base64.h"
#include "buf.h"
#include "crypto.h"
#include "err.h"

static const unsigned char key_a[CRYPTO_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const unsigned char key_b[CRYPTO_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12};

static void seal(buf *out, const char *plain, const char *aad)
{
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(crypto_seal(out, key_a, plain, strlen(plain), aad, strlen(aad), &err), 0);
    err_clear(&err);
}

/* Asserts that opening fails and leaves out untouched. */
static void assert_open_fails(const unsigned char *key, const void *sealed, size_t len,
                              const char *aad)
{
    buf out = BUF_INIT;
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(crypto_open(&out, key, sealed, len, aad, strlen(aad), &err), -1);
    assert_non_null(strstr(err_msg(&err), "decryption failed"));
    assert_int_equal(out.len, 0);
    buf_free(&out);
    err_clear(&err);
}

static void test_hkdf_matches_rfc5869_test_case_1(void **state)
{
    (void)state;
    unsigned char ikm[22], salt[13], okm[CRYPTO_KEY_LEN];
    char info[11];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++)
        salt[i] = (unsigned char)i;
    for (int i = 0; i < 10; i++)
        info[i] = (char)(0xf0 + i);
    info[10] = '\0';
    /* The first 32 of the vector's 42 bytes: HKDF output is a prefix stream. */
    static const unsigned char want[CRYPTO_KEY_LEN] = {
        0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f,
        0x64, 0xd0, 0x36, 0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a,
        0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56, 0xec, 0xc4, 0xc5, 0xbf};
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(crypto_hkdf(okm, ikm, sizeof ikm, salt, sizeof salt, info, &err), 0);
    assert_memory_equal(okm, want, sizeof want);
}

static void test_seal_then_open_round_trips(void **state)
{
    (void)state;
    const char *plains[] = {"", "x", "a longer secret that spans more than one AES block"};
    for (size_t i = 0; i < 3; i++) {
        buf sealed = BUF_INIT, out = BUF_INIT;
        exo_err err = EXO_ERR_INIT;
        seal(&sealed, plains[i], "ctx");
        assert_int_equal(sealed.len, CRYPTO_NONCE_LEN + strlen(plains[i]) + CRYPTO_TAG_LEN);
        buf_puts(&out, "kept:");
        assert_int_equal(crypto_open(&out, key_a, sealed.ptr, sealed.len, "ctx", 3, &err), 0);
        assert_int_equal(out.len, 5 + strlen(plains[i]));
        assert_memory_equal(out.ptr, "kept:", 5);
        assert_memory_equal(out.ptr + 5, plains[i], strlen(plains[i]));
        buf_free(&sealed);
        buf_free(&out);
    }
}

static void test_open_fails_with_the_wrong_key(void **state)
{
    (void)state;
    buf sealed = BUF_INIT;
    seal(&sealed, "secret", "ctx");
    assert_open_fails(key_b, sealed.ptr, sealed.len, "ctx");
    buf_free(&sealed);
}

static void test_open_fails_with_the_wrong_aad(void **state)
{
    (void)state;
    buf sealed = BUF_INIT;
    seal(&sealed, "secret", "table|column|1");
    assert_open_fails(key_a, sealed.ptr, sealed.len, "table|column|2");
    assert_open_fails(key_a, sealed.ptr, sealed.len, "");
    buf_free(&sealed);
}

static void test_open_fails_when_any_byte_is_flipped(void **state)
{
    (void)state;
    buf sealed = BUF_INIT;
    seal(&sealed, "secret", "ctx");
    for (size_t i = 0; i < sealed.len; i++) {
        sealed.ptr[i] ^= 0x01;
        assert_open_fails(key_a, sealed.ptr, sealed.len, "ctx");
        sealed.ptr[i] ^= 0x01;
    }
    buf_free(&sealed);
}

static void test_open_fails_on_truncated_input(void **state)
{
    (void)state;
    buf sealed = BUF_INIT;
    seal(&sealed, "secret", "ctx");
    for (size_t len = 0; len < sealed.len; len++)
        assert_open_fails(key_a, sealed.ptr, len, "ctx");
    buf_free(&sealed);
}

static void test_two_seals_of_the_same_plaintext_differ(void **state)
{
    (void)state;
    buf one = BUF_INIT, two = BUF_INIT;
    seal(&one, "secret", "ctx");
    seal(&two, "secret", "ctx");
    assert_int_equal(one.len, two.len);
    assert_memory_not_equal(one.ptr, two.ptr, CRYPTO_NONCE_LEN);
    assert_memory_not_equal(one.ptr, two.ptr, one.len);
    buf_free(&one);
    buf_free(&two);
}

static void test_master_key_accepts_openssl_rand_output(void **state)
{
    (void)state;
    unsigned char raw[CRYPTO_KEY_LEN], got[CRYPTO_KEY_LEN];
    crypto_random(raw, sizeof raw);
    char *b64 = base64_encode(raw, sizeof raw);
    buf text = BUF_INIT;
    buf_printf(&text, "  %s\n", b64); /* as `$(cat keyfile)` or a Secret may carry it */
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(crypto_parse_master_key(got, text.ptr, &err), 0);
    assert_memory_equal(got, raw, sizeof raw);
    free(b64);
    buf_free(&text);
}

/* Asserts that text is refused with a message holding want and not text. */
static void assert_master_refused(const char *text, const char *want, const char *secret)
{
    unsigned char got[CRYPTO_KEY_LEN];
    exo_err err = EXO_ERR_INIT;
    assert_int_equal(crypto_parse_master_key(got, text, &err), -1);
    assert_non_null(strstr(err_msg(&err), want));
    assert_null(strstr(err_msg(&err), secret));
    err_clear(&err);
}

static void test_master_key_refuses_non_base64_without_echoing_it(void **state)
{
    (void)state;
    assert_master_refused("correct horse battery staple", "EXO_ENCRYPTION_KEY is not base64",
                          "horse");
    assert_master_refused("c2VjcmV0!!!", "is not base64", "c2VjcmV0");
    /* Only padding: lib/base64.c would underflow its length on this. */
    assert_master_refused("====", "is not base64", "====");
    assert_master_refused(" \n", "EXO_ENCRYPTION_KEY is empty", "\n");
}

static void test_master_key_refuses_16_and_33_byte_keys_without_echoing_them(void **state)
{
    (void)state;
    unsigned char raw[33];
    memset(raw, 0x5a, sizeof raw);
    char *b16 = base64_encode(raw, 16);
    char *b33 = base64_encode(raw, 33);
    assert_master_refused(b16,
                          "EXO_ENCRYPTION_KEY must decode to 32 bytes, got 16 (generate one "
                          "with: openssl rand -base64 32)",
                          b16);
    assert_master_refused(b33, "must decode to 32 bytes, got 33", b33);
    free(b16);
    free(b33);
}

static void test_wipe_zeroes_memory(void **state)
{
    (void)state;
    unsigned char secret[8] = {1, 2, 3, 4, 5, 6, 7, 8}, zero[8] = {0};
    crypto_wipe(secret, sizeof secret);
    assert_memory_equal(secret, zero, sizeof zero);
    crypto_wipe(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkdf_matches_rfc5869_test_case_1),
        cmocka_unit_test(test_seal_then_open_round_trips),
        cmocka_unit_test(test_open_fails_with_the_wrong_key),
        cmocka_unit_test(test_open_fails_with_the_wrong_aad),
        cmocka_unit_test(test_open_fails_when_any_byte_is_flipped),
        cmocka_unit_test(test_open_fails_on_truncated_input),
        cmocka_unit_test(test_two_seals_of_the_same_plaintext_differ),
        cmocka_unit_test(test_master_key_accepts_openssl_rand_output),
        cmocka_unit_test(test_master_key_refuses_non_base64_without_echoing_it),
        cmocka_unit_test(test_master_key_refuses_16_and_33_byte_keys_without_echoing_them),
        cmocka_unit_test(test_wipe_zeroes_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
