/* SPDX-License-Identifier: MIT */
/* test_icmp_budget.c - an echo flow whose driver-side buffer does not fit
 * the memory budget. The raw-ICMP fallback (icmp_raw_linux.c) charges a
 * 2 KiB reply stash per echo flow to the engine's budget and answers
 * -ENOMEM when the charge is refused; the core must refuse that flow as
 * over the budget (flows_refused_memory, ICMP "administratively
 * prohibited", the --max-memory advice), not as out of kernel memory, and
 * leave nothing charged. The fake host's icmp_open is wrapped here to do
 * what the driver does; e2e.test_ping_raw checks the driver's charge. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "support/tcp_harness.h"

#define STASH 2048 /* icmp_raw_linux.c's RAW_STASH_MAX */

static struct core_engine *engine;
static char last_log[256];

static void on_log(void *ctx, enum tp_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

/* As driver_raw_open: charge the stash, or -ENOMEM. */
static int stash_icmp_open(void *ctx, uint32_t flow, uint8_t family,
			   const struct wire_addr *dst)
{
	if (core_mem_charge(core_budget(engine), STASH) < 0)
		return -ENOMEM;
	return fake_host_ops.icmp_open(ctx, flow, family, dst);
}

static int send_echo(struct th *t, uint16_t id)
{
	uint8_t buf[256];
	struct wire_ip_hdr ip = {.family = 4, .proto = WIRE_PROTO_ICMP};
	ip.src = t->app;
	ip.dst = t->dst;
	memcpy(buf + wire_ip_hdr_len(4) + 8, "ping", 4);
	size_t n = wire_icmp_echo_build(buf, sizeof(buf), &ip, 8, id, 1, 4);
	core_input(t->e, buf, n, 0, t->now);
	return th_out(t);
}

static void test_stash_over_budget(void **state)
{
	struct th t;
	th_init(&t, 4, NULL);
	size_t tables = t.e->mem.used;
	core_destroy(t.e);

	/* Room for the flow slot, not for its stash. */
	static struct core_host_ops ops;
	ops = fake_host_ops;
	ops.icmp_open = stash_icmp_open;
	t.cfg.max_memory = tables + flow_slot_bytes() + STASH / 2;
	t.cfg.log = on_log;
	t.cfg.log_level = TP_LOG_INFO;
	t.e = engine = core_create(&t.cfg, &ops, &t.host);
	assert_non_null(t.e);
	assert_int_equal(t.e->mem.used, tables);

	assert_int_equal(send_echo(&t, 7), 1);
	const struct wire_packet *p = &t.out[0].p;
	assert_int_equal(p->proto, WIRE_PROTO_ICMP);
	assert_int_equal(p->u.icmp.type, 3);
	assert_int_equal(p->u.icmp.code, 13);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_memory), 1);
	assert_int_equal(th_ctr(&t, TP_CTR_flows_refused_socket), 0);
	assert_non_null(strstr(last_log, "--max-memory"));
	assert_int_equal(core_flow_count(t.e), 0);
	assert_int_equal(t.e->mem.used, tables);
	assert_int_equal(t.host.icmp_opens, 0);

	/* With room for both, the same echo opens its flow. */
	t.e->mem.budget = tables + flow_slot_bytes() + STASH;
	t.now += 2000000;
	send_echo(&t, 7);
	assert_int_equal(core_flow_count(t.e), 1);
	assert_int_equal(t.e->mem.used, tables + flow_slot_bytes() + STASH);
	assert_int_equal(t.host.icmp_opens, 1);
	th_fini(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stash_over_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
