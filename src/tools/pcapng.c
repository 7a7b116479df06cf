/* SPDX-License-Identifier: MIT */
/* pcapng.c - the pcapng writer (model in pcapng.h).
 *
 * Every block is: type (4), total length (4), body, options, total length
 * again (4); everything padded to 32 bits and written in host byte order
 * (the Section Header's byte-order magic tells readers which). Options
 * are code (2), length (2), value padded to 32 bits, ended by opt_endofopt.
 */
#include "pcapng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE   (256 * 1024)
#define MAX_PACKET 65535

enum {
	BT_SHB = 0x0A0D0D0A,
	BT_IDB = 0x00000001,
	BT_ISB = 0x00000005,
	BT_EPB = 0x00000006,
	OPT_END = 0,
	SHB_USERAPPL = 4,
	IF_NAME = 2,
	IF_DESCRIPTION = 3,
	IF_TSRESOL = 9,
	EPB_FLAGS = 2,
	EPB_DROPCOUNT = 4,
	ISB_STARTTIME = 2,
	ISB_ENDTIME = 3,
	ISB_IFRECV = 4,
	ISB_IFDROP = 5,
	LINKTYPE_RAW = 101,
};

struct pcapng {
	int fd;
	size_t used;
	uint64_t start_ns;
	uint8_t buf[BUF_SIZE];
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static uint8_t *put(uint8_t *p, const void *v, size_t n)
{
	if (n)
		memcpy(p, v, n);
	return p + n;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	return put(p, &v, 2);
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	return put(p, &v, 4);
}

/* A timestamp as the two 32-bit halves pcapng stores. */
static uint8_t *put_ts(uint8_t *p, uint64_t ts)
{
	p = put32(p, (uint32_t)(ts >> 32));
	return put32(p, (uint32_t)ts);
}

static uint8_t *put_opt(uint8_t *p, uint16_t code, const void *v, size_t n)
{
	p = put16(p, code);
	p = put16(p, (uint16_t)n);
	p = put(p, v, n);
	size_t pad = pad4(n) - n;
	memset(p, 0, pad);
	return p + pad;
}

static uint8_t *put_opt_str(uint8_t *p, uint16_t code, const char *s)
{
	size_t n = strlen(s);
	return put_opt(p, code, s, n > 1000 ? 1000 : n);
}

static uint8_t *put_opt64(uint8_t *p, uint16_t code, uint64_t v)
{
	return put_opt(p, code, &v, 8);
}

/* Starts a block at the buffer's end; finish_block fills in lengths. */
static uint8_t *begin_block(struct pcapng *w, uint32_t type)
{
	uint8_t *p = w->buf + w->used;
	p = put32(p, type);
	return put32(p, 0);
}

static void finish_block(struct pcapng *w, uint8_t *end)
{
	uint8_t *start = w->buf + w->used;
	uint32_t total = (uint32_t)(end - start) + 4;
	memcpy(start + 4, &total, 4);
	put32(end, total);
	w->used += total;
}

int pcapng_flush(struct pcapng *w)
{
	size_t off = 0;
	while (off < w->used) {
		ssize_t r = write(w->fd, w->buf + off, w->used - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			/* Keep what was not written at the front: a later
			 * flush may succeed (e.g. after EAGAIN). */
			memmove(w->buf, w->buf + off, w->used - off);
			w->used -= off;
			return -e;
		}
		off += (size_t)r;
	}
	w->used = 0;
	return 0;
}

/* Makes room for a block of up to n bytes, flushing if needed. */
static int reserve(struct pcapng *w, size_t n)
{
	if (BUF_SIZE - w->used >= n)
		return 0;
	return pcapng_flush(w);
}

struct pcapng *pcapng_open(int fd, const char *app, const char *ifname,
			   const char *ifdesc)
{
	struct pcapng *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->fd = fd;

	uint8_t *p = begin_block(w, BT_SHB);
	p = put32(p, 0x1A2B3C4D); /* byte-order magic */
	p = put16(p, 1);	  /* version 1.0 */
	p = put16(p, 0);
	int64_t section_len = -1; /* unknown: we stream */
	p = put(p, &section_len, 8);
	p = put_opt_str(p, SHB_USERAPPL, app);
	p = put_opt(p, OPT_END, NULL, 0);
	finish_block(w, p);

	p = begin_block(w, BT_IDB);
	p = put16(p, LINKTYPE_RAW);
	p = put16(p, 0);
	p = put32(p, 0); /* snaplen: no limit */
	p = put_opt_str(p, IF_NAME, ifname);
	p = put_opt_str(p, IF_DESCRIPTION, ifdesc);
	uint8_t tsresol = 9; /* 10^-9 s */
	p = put_opt(p, IF_TSRESOL, &tsresol, 1);
	p = put_opt(p, OPT_END, NULL, 0);
	finish_block(w, p);
	return w;
}

int pcapng_packet(struct pcapng *w, uint64_t ts_ns, const uint8_t *pkt,
		  uint32_t len, uint32_t orig_len, enum pcapng_dir dir,
		  uint64_t dropcount)
{
	if (len > MAX_PACKET)
		len = MAX_PACKET;
	if (orig_len < len)
		orig_len = len;
	int rc = reserve(w, 64 + pad4(len));
	if (rc < 0)
		return rc;
	if (!w->start_ns)
		w->start_ns = ts_ns;
	uint8_t *p = begin_block(w, BT_EPB);
	p = put32(p, 0); /* interface 0 */
	p = put_ts(p, ts_ns);
	p = put32(p, len);
	p = put32(p, orig_len);
	p = put(p, pkt, len);
	memset(p, 0, pad4(len) - len);
	p += pad4(len) - len;
	uint32_t flags = (uint32_t)dir & 3u;
	p = put_opt(p, EPB_FLAGS, &flags, 4);
	if (dropcount)
		p = put_opt64(p, EPB_DROPCOUNT, dropcount);
	p = put_opt(p, OPT_END, NULL, 0);
	finish_block(w, p);
	return 0;
}

int pcapng_close(struct pcapng *w, uint64_t ts_ns, uint64_t received,
		 uint64_t dropped)
{
	int rc = reserve(w, 128);
	if (rc == 0) {
		uint8_t *p = begin_block(w, BT_ISB);
		p = put32(p, 0);
		p = put_ts(p, ts_ns);
		if (w->start_ns) {
			uint8_t ts[8];
			put_ts(ts, w->start_ns);
			p = put_opt(p, ISB_STARTTIME, ts, 8);
		}
		uint8_t te[8];
		put_ts(te, ts_ns);
		p = put_opt(p, ISB_ENDTIME, te, 8);
		p = put_opt64(p, ISB_IFRECV, received);
		p = put_opt64(p, ISB_IFDROP, dropped);
		p = put_opt(p, OPT_END, NULL, 0);
		finish_block(w, p);
		rc = pcapng_flush(w);
	}
	free(w);
	return rc;
}
