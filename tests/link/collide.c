/* SPDX-License-Identifier: MIT */
/* collide.c - an app that defines the names lwIP (and so many VPN apps)
 * already use, tcp_input, udp_input and icmp_input, and links libtunproxy
 * (tests/CMakeLists.txt builds it once against libtunproxy.a and once
 * against libtunproxy.so). With the library's internal names global it
 * would not link ("multiple definition of tcp_input") or would call the
 * wrong function; it must link, run an engine, and call its own. */
#include <stdio.h>
#include <string.h>

#include "tunproxy.h"

static int calls;

/* lwIP's signatures, roughly: what matters is the names. */
int tcp_input(void *p, void *inp);
int udp_input(void *p, void *inp);
int icmp_input(void *p, void *inp);
int tcp_input(void *p, void *inp)
{
	return calls += 1, p == inp;
}
int udp_input(void *p, void *inp)
{
	return calls += 10, p == inp;
}
int icmp_input(void *p, void *inp)
{
	return calls += 100, p == inp;
}

static void on_output(void *ctx, const uint8_t *const *pkts, const size_t *lens,
		      const uint8_t *families, size_t n)
{
	(void)ctx, (void)pkts, (void)lens, (void)families, (void)n;
}

int main(void)
{
	int api = 0;
	const char *v = tp_version(&api);
	if (strcmp(v, TP_EXPECT_VERSION) != 0 || api != TP_API_VERSION) {
		fprintf(stderr,
			"collide: tp_version says %s API %d, want %s "
			"API %d\n",
			v, api, TP_EXPECT_VERSION, TP_API_VERSION);
		return 1;
	}
	struct tp_config cfg;
	tp_config_init(&cfg);
	cfg.output = on_output;
	struct tp *tp = NULL;
	int rc = tp_create(&cfg, &tp);
	if (rc < 0) {
		fprintf(stderr, "collide: tp_create: %s\n", tp_strerror(rc));
		return 1;
	}
	/* A UDP packet into the engine runs its own udp input path. */
	static const uint8_t udp4[28] = {
	    0x45, 0, 0,	  28, 0, 0, 0x40, 0,	64, 17, 0, 0, 10, 0,
	    0,	  8, 192, 0,  2, 1, 0x9c, 0x40, 0,  53, 0, 8, 0,  0};
	const uint8_t *pkts[1] = {udp4};
	size_t lens[1] = {sizeof(udp4)};
	tp_input(tp, pkts, lens, 1);
	tp_process(tp);
	tp_destroy(tp);
	int x = 0;
	tcp_input(&x, &x);
	udp_input(&x, &x);
	icmp_input(&x, &x);
	if (calls != 111) {
		fprintf(stderr, "collide: own functions called %d, want 111\n",
			calls);
		return 1;
	}
	printf("collide: linked and ran libtunproxy %s (API %d)\n", v, api);
	return 0;
}
