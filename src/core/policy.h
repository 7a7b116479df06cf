/* SPDX-License-Identifier: MIT */
/* policy.h - which destinations a new flow may go to (see policy.c).
 *
 * A rule is a prefix, optionally ports, an action and where it came from.
 * The engine keeps one array of rules (the built-in safe defaults, the
 * dev transport's own socket, and the user's allow and deny lists) and
 * asks policy_match() once per new flow. Everything here is pure: the
 * parsers take text, the matcher a flow key.
 */
#ifndef TP_CORE_POLICY_H
#define TP_CORE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/flow_common.h"
#include "wire/addr.h"

enum policy_action { POLICY_ALLOW = 0, POLICY_DENY = 1 };

/* What a rule stands for, for the log line of a refusal. */
enum policy_kind {
	POLICY_USER = 0,    /* the allow or deny list */
	POLICY_LOOPBACK,    /* built-in: this host's loopback */
	POLICY_UNSPECIFIED, /* built-in: 0.0.0.0/8, :: */
	POLICY_MULTICAST,   /* built-in: 224.0.0.0/4, ff00::/8 */
	POLICY_BROADCAST,   /* built-in: 255.255.255.255 */
	POLICY_SELF,	    /* the dev transport's own socket */
	POLICY_LINK_LOCAL,  /* built-in: 169.254.0.0/16, fe80::/10 */
	POLICY_TUN,	    /* the TUN's own prefixes (a loop) */
};

struct policy_rule {
	struct wire_addr net;	   /* masked; IPv4 as v4-mapped (addr.h) */
	uint16_t port_lo, port_hi; /* when has_port */
	uint8_t plen;		   /* prefix length in the 128-bit space:
				 96 + n for an IPv4 /n */
	uint8_t v4;	  /* an IPv4 rule: matches IPv4 destinations and
				 IPv4-mapped IPv6 ones */
	uint8_t action;	  /* enum policy_action */
	uint8_t kind;	  /* enum policy_kind */
	uint8_t proto;	  /* WIRE_PROTO_*, 0: every protocol */
	uint8_t has_port; /* only TCP and UDP flows have ports */
};

/* Number of rules policy_builtin() writes. */
#define POLICY_BUILTIN_COUNT 9

/* Writes the built-in safe defaults into out (POLICY_BUILTIN_COUNT rules)
 * and returns their number. */
uint32_t policy_builtin(struct policy_rule *out);

/* Parses list: entries "CIDR[:PORT[-PORT]]" (or "[V6CIDR]:PORT", or a
 * plain address meaning /32 or /128) separated by commas or whitespace;
 * NULL or empty is an empty list. Each rule gets action and kind
 * POLICY_USER. At most cap rules are stored in out (out may be NULL to
 * validate and count). Returns the number of entries, or -1 with a message
 * naming the bad entry in err (errcap bytes). */
int policy_parse(const char *list, enum policy_action action,
		 struct policy_rule *out, uint32_t cap, char *err,
		 size_t errcap);

/* The rule that decides for a new flow with key k, or NULL when none
 * matches (allowed). The most specific rule wins; see policy.c. */
const struct policy_rule *policy_match(const struct policy_rule *rules,
				       uint32_t n, const struct flow_key *k);

/* True if the rule (from policy_match) refuses the flow. */
static inline bool policy_refuses(const struct policy_rule *r)
{
	return r && r->action == POLICY_DENY;
}

/* True for an address no ICMP error or RST may be sent about or to:
 * multicast, broadcast, unspecified (RFC 1122 3.2.2, RFC 4443 2.4(e),
 * RFC 9293 3.10.7.1). */
bool policy_addr_no_reply(uint8_t family, const struct wire_addr *a);

/* "deny 127.0.0.0/8 (loopback)", "allow 2001:db8::/32:443". */
void policy_rule_str(const struct policy_rule *r, char *out, size_t cap);

#endif
