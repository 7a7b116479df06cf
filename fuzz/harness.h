/* SPDX-License-Identifier: MIT */
/* harness.h - the fuzz harnesses, shared by the libFuzzer targets
 * (fuzz/fuzz_*.c) and the regression unit test (tests/unit/
 * test_fuzz_regressions.c), so a crashing input replays through exactly the
 * code that found it.
 *
 * Each fz_*_run() takes one fuzz input, drives the code under test with it
 * and checks invariants after every step. A broken invariant calls
 * fz_fail(), which prints what broke and aborts: libFuzzer saves the input
 * as a crash, a unit test fails. Memory errors and leaks are left to
 * ASan/LSan.
 *
 * The input formats are documented at the top of harness_wire.c and
 * harness_router.c; fuzz/make_seeds.py writes seeds in them.
 */
#ifndef TP_FUZZ_HARNESS_H
#define TP_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* wire_packet_parse on arbitrary bytes, with consistency checks and a
 * rebuild / fragment / reassemble round trip for what parses. */
void fz_packet_parse_run(const uint8_t *data, size_t size);

/* wire_tcp_parse_opts on arbitrary bytes, with a builder round trip. */
void fz_tcp_opts_run(const uint8_t *data, size_t size);

/* A sequence of fragments into a small reassembler, checked against a
 * model of the bytes sent and against its memory bounds. */
void fz_reasm_run(const uint8_t *data, size_t size);

/* The whole engine with a fake driver: app packets, host socket events,
 * clock steps and transmit-ring drains decoded from the input. */
void fz_router_run(const uint8_t *data, size_t size);

/* The tee's mirror stream as `tunproxy capture` reads it, with the
 * capture filter on every packet (harness_capture.c). */
void fz_capture_run(const uint8_t *data, size_t size);

/* The UDP dev transport's datagram handling on loopback sockets, against
 * a model of its session rule (harness_devio.c). */
void fz_devtransport_run(const uint8_t *data, size_t size);

/* Packets behind virtio-net headers as read from a TUN with offloads, into
 * the engine, and the GSO super-packets written back (harness_devio.c). */
void fz_vnet_run(const uint8_t *data, size_t size);

/* The name learners (wire/names.c) on arbitrary bytes: a DNS response,
 * the start of a TLS stream, the start of an HTTP request. */
void fz_dns_run(const uint8_t *data, size_t size);
void fz_sni_run(const uint8_t *data, size_t size);
void fz_http_run(const uint8_t *data, size_t size);

/* The fake host (tests/unit/support/fake_host.h) as the fuzz harnesses
 * use it: closed sockets reused last, nothing sent kept and at most 8
 * datagrams queued per socket (no memory grows in a run), and a broken
 * host-ops contract failing the run (fz_fail).
 * hook_ctx is handed to its hooks. */
struct fake_host;
void fz_host_init(struct fake_host *h, void *hook_ctx);

/* Reports a broken invariant and aborts. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

#define FZ_CHECK(cond, ...)                                                    \
	do {                                                                   \
		if (!(cond))                                                   \
			fz_fail(__VA_ARGS__);                                  \
	} while (0)

/* A cursor over the fuzz input; reads past the end give zeros, so every
 * input decodes to some program. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint16_t fz_u16(struct fz_in *in)
{
	uint16_t hi = fz_u8(in);
	return (uint16_t)(hi << 8 | fz_u8(in));
}

static inline uint32_t fz_u32(struct fz_in *in)
{
	uint32_t hi = fz_u16(in);
	return hi << 16 | fz_u16(in);
}

/* Copies up to n input bytes to out; returns how many there were. */
size_t fz_bytes(struct fz_in *in, uint8_t *out, size_t n);

/* Makes the checksums of a packet right so a mutated packet reaches the
 * checks behind them: the IPv4 header checksum, then the transport
 * checksum the parser would verify. Best effort: a packet whose headers do
 * not parse far enough is left as it is. */
void fz_fix_checksums(uint8_t *pkt, size_t len);

#endif
