/* SPDX-License-Identifier: MIT */
/* policy.c - destination policy: safe defaults, allow and deny lists.
 *
 * Theory of operation
 *
 * The app behind the TUN must not reach, through us, what only this host
 * may reach. Before a new flow gets a flow slot or a host socket (a TCP
 * SYN, the first datagram of a UDP 5-tuple, the first echo request of an
 * ICMP identifier) the engine looks for the rule that decides for its
 * destination. Built in, and refused:
 *   - loopback           127.0.0.0/8, ::1/128 (the proxy host's own
 *                        services, which trust local clients);
 *   - unspecified        0.0.0.0/8 ("this network", which Linux treats as
 *                        the local host), ::/128;
 *   - multicast          224.0.0.0/4, ff00::/8;
 *   - broadcast          255.255.255.255/32 (a subnet's broadcast address
 *                        is not knowable here);
 *   - link-local         169.254.0.0/16, fe80::/10 (RFC 3927, RFC 4291
 *                        2.5.6): the proxy host's own link, where cloud
 *                        metadata services (169.254.169.254) hand out
 *                        credentials to whoever asks from the host;
 *   - the dev transport  its own bound address and port, UDP (added by
 *                        the driver, see tunconn_udp.c).
 * The user adds allow and deny rules: a prefix, optionally a port or port
 * range (a rule with ports applies to TCP and UDP only).
 *
 * Which rule decides: the most specific one that matches,
 *   1. the longer prefix;
 *   2. then a rule with ports over one without, the narrower range first;
 *   3. then a user rule over a built-in one;
 *   4. then deny over allow.
 * No rule matches: allowed. So allow 127.0.0.1/32 opens one loopback
 * address (longer than the built-in /8), allow 127.0.0.0/8 opens all of
 * it (equal length, user wins), but allow 0.0.0.0/0 does not open
 * loopback; deny 0.0.0.0/0 plus allow 10.1.0.0/16 allows only that
 * network (IPv6 needs its own deny ::/0); the dev transport's rule has a
 * port, so only allowing exactly its address and port opens it.
 *
 * Addresses live in one 128-bit space, IPv4 as v4-mapped (addr.h): an IPv6
 * flow to ::ffff:127.0.0.1 reaches the IPv4 loopback through a dual-stack
 * socket, so it is checked as IPv4 and meets the IPv4 rules; IPv6 rules
 * never match a v4-mapped destination.
 *
 * Cost: a scan of the rules per new flow (tens of nanoseconds for a
 * handful of rules), nothing per packet of an existing flow. The rules
 * are charged to the memory budget.
 *
 * Not known here: the proxy host's other addresses (LAN, public) and
 * subnet broadcasts; deny those by list when services listen there.
 */
#include "core/policy.h"

#include <stdio.h>
#include <string.h>

#include "wire/hex.h"
#include "wire/packet.h"

/* --- building rules --- */

static void mask_net(struct wire_addr *a, uint8_t plen)
{
	for (int i = 0; i < 16; i++) {
		int bits = (int)plen - i * 8;
		if (bits >= 8)
			continue;
		a->b[i] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

static struct policy_rule rule4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
				uint8_t plen, uint8_t kind)
{
	struct policy_rule r;
	const uint8_t v4[4] = {a, b, c, d};

	memset(&r, 0, sizeof(r));
	wire_addr_from4(&r.net, v4);
	r.plen = (uint8_t)(96 + plen);
	r.v4 = 1;
	r.action = POLICY_DENY;
	r.kind = kind;
	return r;
}

/* An IPv6 rule whose address has only its first 16 bits and its last
 * byte set (all the built-in ones). */
static struct policy_rule rule6(uint16_t first, uint8_t last, uint8_t plen,
				uint8_t kind)
{
	struct policy_rule r;

	memset(&r, 0, sizeof(r));
	r.net.b[0] = (uint8_t)(first >> 8);
	r.net.b[1] = (uint8_t)first;
	r.net.b[15] = last;
	r.plen = plen;
	r.action = POLICY_DENY;
	r.kind = kind;
	return r;
}

uint32_t policy_builtin(struct policy_rule *out)
{
	uint32_t n = 0;

	out[n++] = rule4(127, 0, 0, 0, 8, POLICY_LOOPBACK);
	out[n++] = rule6(0, 1, 128, POLICY_LOOPBACK);
	out[n++] = rule4(0, 0, 0, 0, 8, POLICY_UNSPECIFIED);
	out[n++] = rule6(0, 0, 128, POLICY_UNSPECIFIED);
	out[n++] = rule4(224, 0, 0, 0, 4, POLICY_MULTICAST);
	out[n++] = rule6(0xff00, 0, 8, POLICY_MULTICAST);
	out[n++] = rule4(255, 255, 255, 255, 32, POLICY_BROADCAST);
	out[n++] = rule4(169, 254, 0, 0, 16, POLICY_LINK_LOCAL);
	out[n++] = rule6(0xfe80, 0, 10, POLICY_LINK_LOCAL);
	return n;
}

/* --- parsing --- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A decimal number of at most max_digits digits, no leading zero (so
 * "010" is not read as octal by one tool and decimal by another). */
static int parse_dec(const char *s, size_t len, size_t max_digits,
		     uint32_t *out)
{
	uint32_t v = 0;

	if (len == 0 || len > max_digits || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Dotted quad, exactly four parts. */
static int parse_v4(const char *s, size_t len, uint8_t out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		uint32_t v;

		while (i < len && s[i] != '.')
			i++;
		if (parse_dec(s + start, i - start, 3, &v) < 0 || v > 255)
			return -1;
		out[part] = (uint8_t)v;
		if (part < 3) {
			if (i >= len)
				return -1;
			i++; /* the dot */
		}
	}
	return i == len ? 0 : -1;
}

/* RFC 4291 2.2 text forms: hex groups, one "::", an IPv4 tail. */
static int parse_v6(const char *s, size_t len, uint8_t out[16])
{
	uint16_t head[8], tail[8];
	int nh = 0, nt = 0;
	bool gap = false;
	size_t i = 0;

	if (len >= 2 && s[0] == ':' && s[1] == ':') {
		gap = true;
		i = 2;
	} else if (len >= 1 && s[0] == ':') {
		return -1;
	}
	while (i < len) {
		size_t j = i;
		bool dot = false;

		while (j < len && s[j] != ':') {
			dot = dot || s[j] == '.';
			j++;
		}
		if (dot) {
			uint8_t v4[4];
			if (j != len || nh + nt + 2 > 8 ||
			    parse_v4(s + i, j - i, v4) < 0)
				return -1;
			uint16_t *g = gap ? tail : head;
			int *n = gap ? &nt : &nh;
			g[(*n)++] = (uint16_t)(v4[0] << 8 | v4[1]);
			g[(*n)++] = (uint16_t)(v4[2] << 8 | v4[3]);
			i = j;
			break;
		}
		if (j == i || j - i > 4 || nh + nt >= 8)
			return -1;
		uint16_t v = 0;
		for (size_t k = i; k < j; k++) {
			int h = wire_hex_digit(s[k]);
			if (h < 0)
				return -1;
			v = (uint16_t)(v << 4 | h);
		}
		if (gap)
			tail[nt++] = v;
		else
			head[nh++] = v;
		i = j;
		if (i == len)
			break;
		i++; /* one ':' */
		if (i < len && s[i] == ':') {
			if (gap)
				return -1;
			gap = true;
			i++;
		} else if (i == len) {
			return -1; /* a trailing single ':' */
		}
	}
	if (gap ? nh + nt > 7 : nh != 8)
		return -1;
	memset(out, 0, 16);
	for (int k = 0; k < nh; k++) {
		out[2 * k] = (uint8_t)(head[k] >> 8);
		out[2 * k + 1] = (uint8_t)head[k];
	}
	for (int k = 0; k < nt; k++) {
		int at = 8 - nt + k;
		out[2 * at] = (uint8_t)(tail[k] >> 8);
		out[2 * at + 1] = (uint8_t)tail[k];
	}
	return 0;
}

static const char *find_char(const char *s, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == c)
			return s + i;
	return NULL;
}

/* ":PORT" or ":LO-HI" (or nothing) into r. */
static int parse_ports(const char *s, size_t len, struct policy_rule *r)
{
	uint32_t lo, hi;

	if (len == 0)
		return 0;
	if (s[0] != ':')
		return -1;
	s++;
	len--;
	const char *dash = find_char(s, len, '-');
	size_t first = dash ? (size_t)(dash - s) : len;
	if (parse_dec(s, first, 5, &lo) < 0 || lo > 65535)
		return -1;
	hi = lo;
	if (dash && (parse_dec(dash + 1, len - first - 1, 5, &hi) < 0 ||
		     hi > 65535 || hi < lo))
		return -1;
	r->has_port = 1;
	r->port_lo = (uint16_t)lo;
	r->port_hi = (uint16_t)hi;
	return 0;
}

/* "ADDR[/PLEN]" into r. */
static int parse_cidr(const char *s, size_t len, struct policy_rule *r)
{
	const char *slash = find_char(s, len, '/');
	size_t alen = slash ? (size_t)(slash - s) : len;
	bool v6 = find_char(s, alen, ':') != NULL;
	uint32_t plen = v6 ? 128 : 32;

	if (slash && parse_dec(slash + 1, len - alen - 1, 3, &plen) < 0)
		return -1;
	if (plen > (v6 ? 128u : 32u))
		return -1;
	if (v6) {
		uint8_t b[16];
		if (parse_v6(s, alen, b) < 0)
			return -1;
		wire_addr_from6(&r->net, b);
		r->plen = (uint8_t)plen;
		/* ::ffff:a.b.c.d/n with n >= 96 is an IPv4 prefix. */
		r->v4 = wire_addr_is_v4mapped(&r->net) && plen >= 96;
	} else {
		uint8_t b[4];
		if (parse_v4(s, alen, b) < 0)
			return -1;
		wire_addr_from4(&r->net, b);
		r->plen = (uint8_t)(96 + plen);
		r->v4 = 1;
	}
	mask_net(&r->net, r->plen);
	return 0;
}

/* One entry of len bytes (no separators) into r. */
static int parse_entry(const char *s, size_t len, struct policy_rule *r)
{
	const char *end = s + len;
	const char *cidr = s, *ports;

	memset(r, 0, sizeof(*r));
	if (s[0] == '[') {
		/* "[V6ADDR[/PLEN]]:PORT" */
		const char *close = find_char(s, len, ']');
		if (!close)
			return -1;
		cidr = s + 1;
		if (parse_cidr(cidr, (size_t)(close - cidr), r) < 0)
			return -1;
		ports = close + 1;
	} else {
		const char *slash = find_char(s, len, '/');
		if (slash) {
			/* The prefix length's digits end the CIDR. */
			ports = slash + 1;
			while (ports < end && is_digit(*ports))
				ports++;
		} else {
			/* A plain address: "A.B.C.D[:PORT]" or a bare IPv6
			 * address (ports need brackets then). */
			const char *colon = find_char(s, len, ':');
			bool one_colon =
			    colon && !find_char(colon + 1,
						(size_t)(end - colon - 1), ':');
			ports = one_colon ? colon : end;
		}
		if (parse_cidr(cidr, (size_t)(ports - cidr), r) < 0)
			return -1;
	}
	return parse_ports(ports, (size_t)(end - ports), r);
}

static bool is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int policy_parse(const char *list, enum policy_action action,
		 struct policy_rule *out, uint32_t cap, char *err,
		 size_t errcap)
{
	int n = 0;

	if (!list)
		return 0;
	for (const char *p = list; *p;) {
		while (*p && is_sep(*p))
			p++;
		if (!*p)
			break;
		const char *q = p;
		while (*q && !is_sep(*q))
			q++;
		struct policy_rule r;
		if (parse_entry(p, (size_t)(q - p), &r) < 0) {
			if (err && errcap)
				snprintf(
				    err, errcap,
				    "bad entry '%.*s' (want CIDR[:PORT[-PORT]] "
				    "or [IPV6CIDR]:PORT, e.g. "
				    "10.1.0.0/16:443)",
				    (int)(q - p > 64 ? 64 : q - p), p);
			return -1;
		}
		r.action = (uint8_t)action;
		r.kind = POLICY_USER;
		if (out && (uint32_t)n < cap)
			out[n] = r;
		if (n == INT32_MAX)
			return -1;
		n++;
		p = q;
	}
	return n;
}

/* --- matching --- */

static bool prefix_match(const struct wire_addr *a, const struct wire_addr *net,
			 uint8_t plen)
{
	uint8_t full = plen / 8, rest = plen % 8;

	if (memcmp(a->b, net->b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (a->b[full] & m) == net->b[full];
}

static bool rule_matches(const struct policy_rule *r, const struct flow_key *k,
			 bool dst_v4)
{
	if (r->v4 != dst_v4 || (r->proto && r->proto != k->proto))
		return false;
	if (r->has_port) {
		if (k->proto != WIRE_PROTO_TCP && k->proto != WIRE_PROTO_UDP)
			return false;
		if (k->dport < r->port_lo || k->dport > r->port_hi)
			return false;
	}
	return prefix_match(&k->dst, &r->net, r->plen);
}

/* True if a is more specific than b (see the order at the top). */
static bool beats(const struct policy_rule *a, const struct policy_rule *b)
{
	if (a->plen != b->plen)
		return a->plen > b->plen;
	if (a->has_port != b->has_port)
		return a->has_port;
	if (a->has_port) {
		uint32_t sa = (uint32_t)(a->port_hi - a->port_lo);
		uint32_t sb = (uint32_t)(b->port_hi - b->port_lo);
		if (sa != sb)
			return sa < sb;
	}
	bool ua = a->kind == POLICY_USER, ub = b->kind == POLICY_USER;
	if (ua != ub)
		return ua;
	return a->action == POLICY_DENY && b->action != POLICY_DENY;
}

const struct policy_rule *policy_match(const struct policy_rule *rules,
				       uint32_t n, const struct flow_key *k)
{
	bool dst_v4 = k->family == 4 || wire_addr_is_v4mapped(&k->dst);
	const struct policy_rule *best = NULL;

	for (uint32_t i = 0; i < n; i++) {
		const struct policy_rule *r = &rules[i];
		if (rule_matches(r, k, dst_v4) && (!best || beats(r, best)))
			best = r;
	}
	return best;
}

bool policy_addr_no_reply(uint8_t family, const struct wire_addr *a)
{
	if (family == 4 || wire_addr_is_v4mapped(a)) {
		const uint8_t *v4 = wire_addr_v4(a);
		return v4[0] >= 224 || /* multicast, reserved, broadcast */
		       (v4[0] | v4[1] | v4[2] | v4[3]) == 0;
	}
	static const uint8_t zero[16];
	return a->b[0] == 0xff || memcmp(a->b, zero, 16) == 0;
}

/* --- printing --- */

static const char *const kind_names[] = {
    [POLICY_USER] = "",
    [POLICY_LOOPBACK] = " (loopback of this host, refused by default)",
    [POLICY_UNSPECIFIED] = " (unspecified address, refused by default)",
    [POLICY_MULTICAST] = " (multicast, refused by default)",
    [POLICY_BROADCAST] = " (broadcast, refused by default)",
    [POLICY_SELF] = " (the proxy's own dev transport socket)",
    [POLICY_LINK_LOCAL] = " (link-local, refused by default)",
    [POLICY_TUN] = " (the TUN's own prefix: it would loop back into it)",
};

void policy_rule_str(const struct policy_rule *r, char *out, size_t cap)
{
	char a[WIRE_ADDR_STRLEN], ports[16] = "";
	bool v6 = !r->v4;
	unsigned plen = r->v4 ? r->plen - 96u : r->plen;

	wire_addr_str(r->v4 ? 4 : 6, &r->net, a);
	if (r->has_port && r->port_lo == r->port_hi)
		snprintf(ports, sizeof(ports), ":%u", r->port_lo);
	else if (r->has_port)
		snprintf(ports, sizeof(ports), ":%u-%u", r->port_lo,
			 r->port_hi);
	snprintf(out, cap, "%s %s%s/%u%s%s%s",
		 r->action == POLICY_DENY ? "deny" : "allow",
		 v6 && r->has_port ? "[" : "", a, plen,
		 v6 && r->has_port ? "]" : "", ports,
		 r->kind < sizeof(kind_names) / sizeof(kind_names[0])
		     ? kind_names[r->kind]
		     : "");
}
