/* SPDX-License-Identifier: MIT */
/* mirror.c - encoding and decoding of the tee's mirror stream (mirror.h). */
#include "mirror.h"

#include <string.h>

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, (uint16_t)(v >> 16));
	be16(p + 2, (uint16_t)v);
}

static void be64(uint8_t *p, uint64_t v)
{
	be32(p, (uint32_t)(v >> 32));
	be32(p + 4, (uint32_t)v);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

void mirror_greeting(uint8_t *out)
{
	memcpy(out, MIRROR_MAGIC, 8);
	be16(out + 8, MIRROR_VERSION);
	be16(out + 10, MIRROR_HDR_SIZE);
	be32(out + 12, 0);
}

int mirror_check_greeting(const uint8_t *in)
{
	if (memcmp(in, MIRROR_MAGIC, 8) != 0 ||
	    rd16(in + 8) != MIRROR_VERSION || rd16(in + 10) != MIRROR_HDR_SIZE)
		return -1;
	return 0;
}

void mirror_put_header(uint8_t *out, const struct mirror_rec *r)
{
	be32(out, MIRROR_HDR_SIZE + r->len);
	out[4] = r->kind;
	out[5] = r->dir;
	be16(out + 6, 0);
	be32(out + 8, r->dropped);
	be32(out + 12, r->orig_len);
	be64(out + 16, r->ts_ns);
}

long mirror_decode(const uint8_t *in, size_t avail, struct mirror_rec *r)
{
	if (avail < 4)
		return 0;
	uint32_t total = rd32(in);
	if (total < MIRROR_HDR_SIZE ||
	    total > MIRROR_HDR_SIZE + MIRROR_MAX_PACKET)
		return -1;
	if (avail < total)
		return 0;
	r->kind = in[4];
	r->dir = in[5];
	r->dropped = rd32(in + 8);
	r->orig_len = rd32(in + 12);
	r->ts_ns = rd64(in + 16);
	r->pkt = in + MIRROR_HDR_SIZE;
	r->len = total - MIRROR_HDR_SIZE;
	return (long)total;
}
