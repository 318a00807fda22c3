/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "siphash24.h"

static uint64_t load_le64(const uint8_t *p) {
        uint64_t v = 0;

        for (int i = 7; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

static uint64_t rotl(uint64_t x, int b) {
        return x << b | x >> (64 - b);
}

typedef struct SipState {
        uint64_t v[4];
} SipState;

static void sip_round(SipState *s) {
        uint64_t *v = s->v;

        v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32);
        v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
        v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
        v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32);
}

static void sip_compress(SipState *s, uint64_t m) {
        s->v[3] ^= m;
        sip_round(s);
        sip_round(s);
        s->v[0] ^= m;
}

uint64_t siphash24(const void *data, size_t size, const uint8_t key[static 16]) {
        const uint8_t *p = data;
        uint64_t k0 = load_le64(key), k1 = load_le64(key + 8), last;
        SipState s = { .v = {
                k0 ^ UINT64_C(0x736f6d6570736575), /* "somepseu" */
                k1 ^ UINT64_C(0x646f72616e646f6d), /* "dorandom" */
                k0 ^ UINT64_C(0x6c7967656e657261), /* "lygenera" */
                k1 ^ UINT64_C(0x7465646279746573), /* "tedbytes" */
        } };
        size_t i = 0;

        for (; i + 8 <= size; i += 8)
                sip_compress(&s, load_le64(p + i));
        /* The last block: the remaining bytes, the length's low byte on top. */
        last = (uint64_t) (size & 0xff) << 56;
        for (size_t j = 0; i + j < size; j++)
                last |= (uint64_t) p[i + j] << (8 * j);
        sip_compress(&s, last);

        s.v[2] ^= 0xff;
        for (int r = 0; r < 4; r++)
                sip_round(&s);
        return s.v[0] ^ s.v[1] ^ s.v[2] ^ s.v[3];
}
