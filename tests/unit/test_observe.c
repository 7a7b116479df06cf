/* SPDX-License-Identifier: MIT */
/* test_observe.c - what the tunproxy command prints about flows
 * (src/tools/observe.c): the connection log's text and JSON lines, the
 * flow table, and the Prometheus exposition of an engine with flows. The
 * e2e test test_flows.sh checks them again on a real proxy. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tools/observe.h"
#include "support/api_util.h"

static struct tp_flow_info sample(void)
{
	struct tp_flow_info x;
	memset(&x, 0, sizeof(x));
	x.family = 4;
	x.proto = 6;
	x.state = 8; /* TIME-WAIT (state + 1) */
	x.end = TP_END_RST_HOST;
	memcpy(x.app_addr, "\x0a\x00\x00\x08", 4);
	memcpy(x.dst_addr, "\xcb\x00\x71\x0a", 4);
	x.app_port = 40000;
	x.dst_port = 443;
	x.age_ms = 1500;
	x.bytes_from_app = 517;
	x.bytes_to_app = 6291716;
	x.packets_from_app = 10;
	x.packets_to_app = 20;
	strcpy(x.name, "www.tp.test");
	x.name_source = TP_NAME_SNI;
	x.app_side.valid = 1;
	x.app_side.mss = 1460;
	return x;
}

static char *render(const struct tp_flow_info *x, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	observe_write_flow_end(f, x, json);
	fclose(f);
	return buf;
}

static void test_flow_end_lines(void **state)
{
	(void)state;
	struct tp_flow_info x = sample();
	char *t = render(&x, false);
	assert_non_null(strstr(t, " tunproxy flow: tcp 10.0.0.8:40000 -> "
				  "203.0.113.10:443 name=www.tp.test/sni "
				  "end=rst-host duration=1.500s from_app=517 "
				  "to_app=6291716 packets=10/20\n"));
	free(t);
	char *j = render(&x, true);
	assert_true(j[0] == '{' && j[strlen(j) - 2] == '}' &&
		    j[strlen(j) - 1] == '\n');
	assert_non_null(strstr(j, "\"event\":\"flow_end\",\"id\":0,"));
	assert_non_null(strstr(j, "\"name\":\"www.tp.test\",\"name_source\":"
				  "\"sni\",\"state\":\"TIME-WAIT\",\"end\":"
				  "\"rst-host\""));
	assert_non_null(strstr(j, "\"host_side\":null"));
	assert_true(strchr(j, '\n') == j + strlen(j) - 1); /* one line */
	free(j);
	/* IPv6 endpoints in brackets, a flow without a name. */
	x.family = 6;
	memcpy(x.dst_addr, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
	x.name[0] = '\0';
	x.name_source = TP_NAME_NONE;
	t = render(&x, false);
	assert_non_null(strstr(t, "-> [2001:db8::1]:443 name=- end="));
	free(t);
}

/* Every sample line is "NAME[{labels}] VALUE" after a TYPE line of its
 * family; counters end in _total. (The e2e test runs a stricter parser.) */
static void test_metrics_shape(void **state)
{
	(void)state;
	struct sink s;
	sink_init(&s);
	struct tp *tp = api_engine(&s);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	observe_write_metrics(tp, f);
	fclose(f);
	assert_true(len > 0 && buf[len - 1] == '\n');
	char type[128] = "", kind[16] = "";
	int samples = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(
			    sscanf(line + 7, "%127s %15s", type, kind), 2);
			continue;
		}
		if (line[0] == '#')
			continue;
		char name[160];
		unsigned long long v;
		assert_int_equal(
		    sscanf(line, "%159[^{ ] %llu", name, &v) == 2 ||
			sscanf(line, "%159[^{]{%*[^}]} %llu", name, &v) == 2,
		    1);
		assert_string_equal(name, type);
		assert_int_equal(strncmp(name, "tunproxy_", 9), 0);
		if (strcmp(kind, "counter") == 0)
			assert_non_null(strstr(name, "_total"));
		samples++;
	}
	assert_true(samples > TP_CTR__COUNT);
	free(buf);
	tp_destroy(tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flow_end_lines),
	    cmocka_unit_test(test_metrics_shape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
