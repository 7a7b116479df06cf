// SPDX-License-Identifier: MIT
// module_check.m - imports the TunProxy module the way Swift and
// Objective-C code in an app does (@import), and touches every function
// and type of the public API so a header error in any of them fails the
// check (tests/apple/check_module.sh; no Apple SDK needed).
@import TunProxy;

static void out(void *ctx, const uint8_t *const *pkts, const size_t *lens,
		const uint8_t *families, size_t n)
{
}

static void lg(void *ctx, enum tp_log_level level, const char *msg)
{
}

int module_check(void);
int module_check(void)
{
	struct tp_config c;
	tp_config_init(&c);
	c.output = out;
	c.log = lg;
	c.framing = TP_FRAMING_UTUN;
	struct tp *tp = 0;
	int rc = tp_create(&c, &tp);
	const uint8_t *p = 0;
	size_t l = 0;
	uint64_t v[TP_CTR__COUNT];
	rc += tp_input(tp, &p, &l, 0) + tp_fd(tp) + tp_process(tp) +
	      tp_next_timeout_ms(tp) + tp_start(tp) + tp_run(tp) +
	      tp_status(tp) + tp_stop(tp) +
	      tp_set_log_level(tp, TP_LOG_DEBUG);
	rc += (int)tp_get_counters(tp, v, TP_CTR__COUNT) +
	      (int)tp_get_drop_reasons(tp, v, 1);
	rc += tp_strerror(-TP_ESTATE) != 0;
	rc += tp_counter_name(TP_CTR_rx_packets) != 0;
	rc += tp_counter_desc(0) != 0 && tp_drop_reason_name(0) != 0;
	char name[16];
	rc += tp_tun_open("utun", name) + tp_tun_configure(name, 1500, 0, 0, 0, 0);
	tp_destroy(tp);
	return rc + TP_API_VERSION;
}
