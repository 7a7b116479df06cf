/* SPDX-License-Identifier: MIT */
/* tunproxy.h - the public API of libtunproxy.
 *
 * tunproxy takes the raw IP packets an OS hands a VPN-style app (a Linux
 * TUN device, an Android VpnService fd, an iOS packetFlow), terminates every
 * TCP connection and UDP/ICMP flow in its own userspace stack, and carries
 * each flow over an ordinary host socket to its real destination.
 *
 * Life cycle:   tp_config_init -> (edit) -> tp_create -> tp_run or tp_start
 *               -> ... -> tp_stop -> tp_destroy.
 * Packets move in one of two modes chosen by the config:
 *   - fd mode: config.tun_fd is an open TUN fd; the engine reads and writes it.
 *   - callback mode: config.tun_fd is -1; the app feeds packets with
 *     tp_input() and receives the engine's packets through config.output.
 *
 * Threads. One engine is driven by one thread at a time, in one of three
 * ways: tp_run (the caller's thread), tp_start (a thread of the engine's
 * own), or tp_fd/tp_process/tp_next_timeout_ms (the app's run loop); a
 * second driver gets TP_ESTATE. The callbacks (output, log) run on the
 * driving thread. From any thread, at any time between tp_create and
 * tp_destroy:
 *   tp_stop, tp_status, tp_input (also from several threads at once),
 *   tp_set_log_level, tp_get_counters, tp_get_drop_reasons.
 * tp_destroy must come last: after every other call on the engine has
 * returned, and never from a callback. Everything without an engine
 * (tp_config_init, tp_strerror, tp_counter_name...) is thread-safe. There
 * is no global state: engines in one process are independent.
 *
 * Buffers. The library never keeps a pointer the caller passed in beyond
 * the call, except the callback contexts (output_ctx, log_ctx), which must
 * stay valid until tp_destroy returns. Buffers the library hands out (the
 * output batch, log lines) are valid only during the callback.
 *
 * Errors are negative TP_E* codes; tp_strerror() names them. Each function
 * lists the ones it returns with what to do next. The library never exits,
 * aborts or prints: it logs through config.log.
 *
 * Versioning: TP_API_VERSION changes only when an existing declaration
 * changes meaning. struct tp_config and TP_COUNTERS only grow at the end;
 * config.size tells the library how much of the struct the caller knows,
 * so an app built against an older header keeps working with a newer
 * library (the fields it does not know keep their defaults).
 */
#ifndef TUNPROXY_H
#define TUNPROXY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libtunproxy is built with -fvisibility=hidden: what is declared here is
 * its whole exported interface (only tp_* names; the internal modules'
 * names such as tcp_input stay out of the way of an app's or lwIP's). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define TP_API_VERSION 1

/* The library's release ("0.1.0", the project version of the build) and,
 * if api is not NULL, the TP_API_VERSION it was built with (compare it
 * with the header's to detect a mismatched library at run time). */
const char *tp_version(int *api);

/* Error codes (returned negated), with the caller's usual next step. */
enum tp_error {
	TP_OK = 0,
	TP_EINVAL = 1,	 /* a config field or argument is invalid: a
			      programming error; fix the call (the log says
			      which field when there is one) */
	TP_ENOMEM = 2,	 /* memory could not be had within the budget:
			      raise max_memory or lower max_flows */
	TP_EPERM = 3,	 /* the OS refused: run as root or grant
			      CAP_NET_ADMIN (Linux TUN helpers) */
	TP_ENOTUN = 4,	 /* no TUN device support: load the tun module
			      (Linux); on Apple platforms the system owns
			      utun, so use callback mode or its fd */
	TP_EBUSY = 5,	 /* the name or address is in use: pick another */
	TP_ESYS = 6,	 /* another OS error (out of fds, TUN fd closed):
			      see the log line; destroy the engine */
	TP_ESTATE = 7,	 /* not allowed in the engine's current state:
			      wrong mode, already driven by another thread,
			      or stopped (an engine runs once: destroy it and
			      create a new one) */
	TP_EAGAIN = 8,	 /* reserved: backpressure is reported by
			      tp_input's count, not by this code */
	TP_EVERSION = 9, /* config.size/version are from a newer header
			      than this library: rebuild against the
			      library's header, or fill the config with
			      this header's tp_config_init */
};

/* A static English description of err (negative or positive code; never
 * NULL, "unknown error" for codes this library does not know). */
const char *tp_strerror(int err);

/* Log levels: a message is passed to config.log when level <= log_level. */
enum tp_log_level {
	TP_LOG_ERROR = 0,
	TP_LOG_WARN = 1,
	TP_LOG_INFO = 2,
	TP_LOG_DEBUG = 3,
	TP_LOG_TRACE = 4,
};

/* A log line: NUL-terminated, no newline, valid only during the call.
 * Called on the thread of the call that logs: the driving thread while the
 * engine runs, the caller's during tp_create. Must not block for long (it
 * holds up the engine) and must not call tp_destroy. */
typedef void (*tp_log_fn)(void *ctx, enum tp_log_level level, const char *msg);

/* Callback mode: the engine hands out a batch of n (1..64) outgoing IP
 * packets, without any framing. pkts, lens, families and the packet bytes
 * belong to the engine and are valid only during the call: copy what must
 * outlive it (NSData(bytes:length:) does). families[i] is 4 or 6, the IP
 * version of pkts[i] (map it to AF_INET/AF_INET6 for packetFlow's
 * writePackets(_:withProtocols:)). Called on the driving thread, once per
 * batch. It may call tp_input, tp_stop and the counter functions; it must
 * not call tp_destroy, tp_run or tp_process. The engine waits while it
 * runs: a slow callback slows the engine, and tp_input then reports
 * backpressure. There is no way to refuse a batch: drop what cannot be
 * delivered (the app's TCP retransmits it). */
typedef void (*tp_output_fn)(void *ctx, const uint8_t *const *pkts,
			     const size_t *lens, const uint8_t *families,
			     size_t n);

/* Framing of the packets on tun_fd. */
/* Directions passed to tp_config.tap. */
enum tp_tap_dir {
	TP_TAP_FLUSH = 0,    /* end of a batch; pkt is NULL */
	TP_TAP_FROM_APP = 1, /* read from the TUN: the app sent it */
	TP_TAP_TO_APP = 2,   /* written to the TUN by the engine */
};

enum tp_framing {
	TP_FRAMING_NONE = 0, /* Linux TUN with IFF_NO_PI, Android */
	TP_FRAMING_UTUN = 1, /* Darwin utun: 4-byte address family first */
	/* Linux TUN opened with IFF_VNET_HDR (tp_tun_open_offload): a
	 * 10-byte virtio-net header first. The engine then reads the
	 * kernel's TSO super-packets and checksum-offloaded packets as they
	 * are and writes runs of TCP segments as GSO super-packets of up to
	 * 64 KB: the kernel handles one packet where it would handle up to
	 * 44, which is most of the cost of a bulk transfer. */
	TP_FRAMING_VNET_HDR = 2,
};

/* Where host -> app TCP data waits until the app acknowledges it
 * (tp_config.tcp_rx; docs/architecture.md, "Host -> app TCP data"). */
enum tp_tcp_rx {
	/* The kernel socket when this kernel can peek TCP data at an offset
	 * (SO_PEEK_OFF on TCP: Linux 6.9 and later, probed once at
	 * tp_create), else userspace rings. */
	TP_TCP_RX_AUTO = 0,
	/* Always the kernel socket: tp_create fails with TP_ESYS (logged)
	 * where the kernel cannot. */
	TP_TCP_RX_PEEK = 1,
	/* Always userspace rings charged to max_memory: the path Darwin
	 * (iOS, macOS) always uses. */
	TP_TCP_RX_COPY = 2,
};

/* The egress hook (tp_config.egress_hook): what it is told about a host
 * socket the engine just created. Addresses are in network byte order;
 * an IPv4 address fills the first 4 bytes of its array. */
enum tp_egress_route {
	TP_EGRESS_DIRECT = 0,	/* the socket connects to dst itself */
	TP_EGRESS_UPSTREAM = 1, /* it connects to the upstream proxy, which
				   is asked to reach dst */
	TP_EGRESS_SHARED = 2,	/* a socket shared by many flows (the raw
				   ICMP fallback, a full-cone UDP mapping):
				   dst and dst_port are zero */
};

struct tp_egress_info {
	uint32_t size;	     /* sizeof(struct tp_egress_info) of the library */
	uint8_t proto;	     /* IP protocol: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6 */
	uint8_t family;	     /* 4 or 6: the flow's IP version */
	uint8_t sock_family; /* 4 or 6: the socket's (an upstream may be of
				the other family) */
	uint8_t route;	     /* enum tp_egress_route */
	uint16_t src_port;   /* the app's port (0 for ICMP) */
	uint16_t dst_port;   /* the destination's port (0 for ICMP) */
	uint8_t src[16];     /* the app's address, as in its packets */
	uint8_t dst[16];     /* the destination the app asked for */
};

/* Called on the driving thread for every host socket the engine creates
 * (TCP, UDP, ICMP, and the sockets to an upstream proxy), after socket()
 * and before connect()/bind(), with the socket's fd: protect it from the
 * VPN (Android VpnService.protect(fd) through JNI), mark it (SO_MARK),
 * bind it to an interface (IP_BOUND_IF, SO_BINDTODEVICE)... The fd stays
 * the engine's: do not close it or keep it. Return 0 to use the socket,
 * or nonzero to refuse the flow: the app then sees a refused connection
 * (TCP RST) or an ICMP "administratively prohibited" (UDP, ICMP), as for
 * a failed connect, and egress_refused counts it. Must not block for long
 * (it holds up the engine), nor call tp_destroy. */
typedef int (*tp_egress_fn)(void *ctx, int fd,
			    const struct tp_egress_info *info);

/* tp_config.udp_nat: how UDP flows are mapped to host sockets. */
enum tp_udp_nat {
	/* One connected socket per app 5-tuple (address- and
	 * port-dependent mapping and filtering, RFC 4787): only the
	 * destination the app wrote to can answer. The default. */
	TP_UDP_NAT_SYMMETRIC = 0,
	/* RFC 4787 endpoint-independent mapping and filtering: one
	 * unconnected socket per app source address and port, and a
	 * datagram from any remote is delivered back from that remote. */
	TP_UDP_NAT_FULL_CONE = 1,
};
struct tp_flow_info; /* below, with tp_flows */

struct tp_config {
	uint32_t size;	  /* sizeof(struct tp_config), set by init */
	uint32_t version; /* TP_API_VERSION, set by init */

	int tun_fd;	  /* fd mode: an open TUN fd, still the
				   caller's (the engine sets O_NONBLOCK on
				   it and never closes it: close it after
				   tp_destroy); -1: callback mode */
	uint32_t framing; /* enum tp_framing (fd mode only) */
	uint32_t mtu;	  /* MTU of the TUN, 1280..65535 (default
				   1500); callback mode: the largest packet
				   tp_input accepts and the engine emits */

	tp_output_fn output; /* callback mode: where packets go */
	void *output_ctx;    /* passed to output; must stay valid until
				   tp_destroy returns */

	tp_log_fn log;	    /* NULL: no logging */
	void *log_ctx;	    /* passed to log; valid until tp_destroy */
	uint32_t log_level; /* enum tp_log_level (default WARN); change
				   it later with tp_set_log_level */

	/* Limits. Every table and queue is bounded by one of these. */
	uint32_t max_flows;	      /* all flows (default 65536) */
	uint32_t max_tcp_half_open;   /* TCP connects pending (default 1024) */
	uint32_t max_tcp_established; /* default 65536 */
	uint64_t max_memory;	      /* bytes the engine may allocate for
					   flows and their buffers; 0: 32 MiB
					   default. Past it new flows are
					   refused and TCP windows shrink
					   (docs/embedding.md: set 8 MiB or
					   less in an iOS 14 extension) */
	uint32_t reasm_max_bytes;     /* fragment data held (default 256 KiB) */

	/* Idle timeouts in milliseconds. */
	uint32_t udp_timeout_ms;      /* default 60000 */
	uint32_t udp_dns_timeout_ms;  /* flows to port 53; default 30000 */
	uint32_t icmp_timeout_ms;     /* default 30000 */
	uint32_t tcp_idle_timeout_ms; /* established, no traffic;
					   default 7200000 */

	/* UDP dev transport (tunproxy --listen udp:HOST:PORT, see
	 * docs/devloop.md): instead of a TUN, the app's packets arrive as UDP
	 * datagrams on this address, one IPv4 or IPv6 packet per datagram,
	 * and the engine's packets go back the same way. One client owns the
	 * session at a time: the first to send, until it has been silent for
	 * dev_client_idle_ms; datagrams from anyone else are dropped and
	 * counted (dev_foreign_dropped). An empty datagram is a keepalive.
	 * Used when listen_udp is not NULL; tun_fd must then be -1 and output
	 * is not used. */
	const char *listen_udp;	     /* "127.0.0.1:8081", "[::1]:8081" or
					   "localhost:8081"; read only during
					   tp_create. NULL: off */
	uint32_t listen_public;	     /* nonzero: allow a wildcard or
					   non-loopback address (whoever can
					   reach it can use the proxy) */
	uint32_t dev_client_idle_ms; /* 0: default 5000 */

	/* Destination policy (docs/robustness.md, "Safe defaults"). Always
	 * refused unless allowed below: this host's loopback (127.0.0.0/8,
	 * ::1), unspecified (0.0.0.0/8, ::), multicast (224.0.0.0/4,
	 * ff00::/8), broadcast (255.255.255.255) and link-local
	 * (169.254.0.0/16, fe80::/10: cloud metadata services live there)
	 * destinations, and the dev transport's own socket. A refused TCP connection gets a RST, a
	 * UDP flow or echo request an ICMP/ICMPv6 "administratively
	 * prohibited" (nothing for multicast and broadcast), and each is
	 * counted in flows_refused_policy.
	 * allow and deny are lists of "CIDR[:PORT[-PORT]]" separated by
	 * commas or spaces, e.g. "10.1.0.0/16, 2001:db8::/32:443,
	 * [2001:db8::1]:53, 192.0.2.7:8000-8099"; a plain address is a /32
	 * or /128; a rule with ports applies to TCP and UDP only. The most
	 * specific matching rule decides: the longer prefix, then a rule
	 * with ports (the narrower range first), then these lists over the
	 * defaults, then deny over allow; no rule: allowed. So allow
	 * "127.0.0.1/32" opens that loopback address, and deny
	 * "0.0.0.0/0,::/0" with allow "10.1.0.0/16" allows only 10.1/16.
	 * Read only during tp_create (NULL: empty); a bad entry makes
	 * tp_create fail with TP_EINVAL and a log line naming it. */
	const char *allow;
	const char *deny;

	uint32_t tcp_rx; /* enum tp_tcp_rx (default AUTO); the counter
			    tcp_rx_userspace says which path is in use */

	/* Routing loops (docs/tunproxy.md, "The TUN as this namespace's
	 * default route"). When the TUN is in the same network namespace as
	 * the engine's host sockets, a socket's packets may be routed back
	 * into the TUN: read again as a new flow, sent again, forever.
	 * tun_prefixes: the TUN's own addresses with their prefixes, the
	 * syntax of allow ("10.0.0.8/24, fdaa::8/64"): flows to these
	 * prefixes are refused (kind "the TUN's own prefix"; an allow rule
	 * reopens them as for the defaults). Read only during tp_create;
	 * NULL: none (tunproxy --tun sets its --tun-addr/--tun-addr6).
	 * fwmark: nonzero: SO_MARK on every host socket (Linux; needs
	 * CAP_NET_ADMIN), so a policy rule ("ip rule add not fwmark N table
	 * T") routes them around the TUN.
	 * bind_interface: an interface name: every host socket is bound to
	 * it (SO_BINDTODEVICE on Linux, needs CAP_NET_RAW before 5.7;
	 * IP_BOUND_IF on Apple platforms), so it leaves by that interface
	 * whatever the default route says. Read only during tp_create;
	 * NULL: none.
	 * tp_create fails with TP_EPERM if the OS refuses either option and
	 * TP_EINVAL for an unknown interface, a bad tun_prefixes entry, or
	 * fwmark where the OS has no marks (logged). */
	const char *tun_prefixes;
	uint32_t fwmark;
	const char *bind_interface;

	/* Packet tap (e.g. a live capture, tunproxy --pcap): called on the
	 * driving thread with every packet that crosses the TUN (or the
	 * callback/dev transport), dir TP_TAP_FROM_APP for packets the app
	 * sent, TP_TAP_TO_APP for packets the engine wrote, before they are
	 * written. A packet read as a TSO super-packet (TP_FRAMING_VNET_HDR)
	 * is seen as read; the engine's packets are seen one segment each.
	 * After each batch the tap is called once with pkt NULL, len 0 and
	 * dir TP_TAP_FLUSH: a good time to write buffered records out. The
	 * packet is valid only during the call. Like output, it must not
	 * block for long nor call tp_destroy. NULL: off. */
	void (*tap)(void *ctx, const uint8_t *pkt, size_t len, int dir);
	void *tap_ctx; /* passed to tap; valid until tp_destroy */

	/* DNS redirect (tunproxy run): flows to port 53 of one of the
	 * dns_redirect addresses ("10.0.0.1,fdaa::1": addresses the app
	 * treats as its resolver, inside the TUN's prefix; at most 8) get
	 * their host socket, UDP or TCP, connected to their upstream
	 * instead. dns_upstream is one address for all ("127.0.0.53",
	 * "192.0.2.1:5353", "[::1]:53"; port 53 if none) or one per
	 * dns_redirect address, in the same order. The
	 * destination policy judges the address the app used, not the
	 * upstream: the forwarding is the engine's own, so an upstream on
	 * this host's loopback (a stub resolver) works under the default
	 * policy. Both are read only during tp_create; NULL: off. A bad
	 * value makes tp_create fail with TP_EINVAL (logged). */
	const char *dns_redirect;
	const char *dns_upstream;

	/* Kernel receive buffer of each host TCP socket (SO_RCVBUF), in
	 * bytes of kernel memory (Linux). Host data waits there until the
	 * app acknowledges it, so this bounds what an app that stops
	 * acknowledging can pin: at most max_tcp_established times this
	 * (docs/robustness.md). It also caps a connection's window toward
	 * the host and toward the app: it must cover the bandwidth-delay
	 * product of both paths. 0: default 8 MiB; TP_RCVBUF_AUTO: the
	 * kernel's autotuning (up to net.ipv4.tcp_rmem's maximum, per
	 * socket). Without CAP_NET_ADMIN the kernel caps it at
	 * 2 x net.core.rmem_max (logged once). */
	uint32_t tcp_host_rcvbuf;
	/* Egress hook (see tp_egress_fn): NULL: none. egress_ctx is passed
	 * to it and must stay valid until tp_destroy returns. Runs after
	 * fwmark and bind_interface are applied. */
	tp_egress_fn egress_hook;
	void *egress_ctx;

	/* Upstream proxy (docs/tunproxy.md, "Upstream proxies"):
	 * "socks5://[USER:PASS@]HOST:PORT" (RFC 1928, with RFC 1929
	 * username/password when given; TCP through CONNECT, UDP through UDP
	 * ASSOCIATE) or "http://[USER:PASS@]HOST:PORT" (TCP through HTTP
	 * CONNECT, with basic auth when given; UDP then goes direct). HOST is
	 * an address or a name resolved once by tp_create. NULL: none. Flows
	 * routed to it (all TCP and, for SOCKS5, UDP flows unless routes says
	 * otherwise; ICMP never) connect to the proxy, and the app's SYN is
	 * answered only when the proxy said the destination is connected; a
	 * refusal or an unreachable proxy is a RST (TCP) or an ICMP
	 * unreachable (UDP), counted in the upstream_* counters. Read only
	 * during tp_create; a bad value: TP_EINVAL (logged). */
	const char *upstream;
	/* Per-destination egress: "CIDR[:PORT[-PORT]]=direct|upstream|block"
	 * entries separated by commas or spaces, matched like allow/deny
	 * (the most specific wins). Without a match a flow goes upstream if
	 * there is an upstream, else direct. block refuses the flow (RST or
	 * ICMP "administratively prohibited", counted in route_blocked).
	 * Read only during tp_create; NULL: none. */
	const char *routes;
	/* enum tp_udp_nat (default symmetric; docs/tunproxy.md, "UDP
	 * mapping"). An unknown value: TP_EINVAL (logged). */
	uint32_t udp_nat;

	/* Connection log (tunproxy --log-flows): called on the driving
	 * thread once for every flow that ends, just before it is freed,
	 * and once for every new flow refused (by the policy, a limit or
	 * the budget: end says which; at most 100 refusals a second, the
	 * rest counted in log_suppressed), with what tp_flows would have
	 * reported for it last (see struct tp_flow_info; end says how it
	 * ended). info is valid only during the call. Like output, it must
	 * not block for long nor call tp_destroy. NULL: off. */
	void (*flow_end)(void *ctx, const struct tp_flow_info *info);
	void *flow_end_ctx; /* passed to flow_end; valid until tp_destroy */
};

#define TP_RCVBUF_AUTO UINT32_MAX

/* Fills c with defaults (callback mode until tun_fd is set), including
 * c->size and c->version: always start from this. c is the caller's. */
void tp_config_init(struct tp_config *c);

/* Checks a destination policy list (the syntax of tp_config.allow and
 * deny) without creating anything, e.g. for a settings screen or a
 * command line. Returns the number of entries, or -TP_EINVAL with a
 * message naming the bad entry in err (errcap bytes; err may be NULL).
 * Thread-safe. */
int tp_policy_validate(const char *list, char *err, size_t errcap);

struct tp;

/* Creates an engine from c, which is copied (c and the strings it points
 * to may be freed once this returns). On success *out owns the engine:
 * free it with tp_destroy. Nothing runs until tp_run, tp_start or
 * tp_process. Errors (*out is then NULL):
 *   -TP_EINVAL   c or out NULL; mtu outside 1280..65535; unknown framing;
 *                callback mode without output; tun_fd with listen_udp; a
 *                bad allow/deny entry (logged). Fix the config.
 *   -TP_EVERSION c->version or c->size newer than this library: fill c
 *                with this library's tp_config_init.
 *   -TP_ENOMEM   out of memory, or the tables do not fit max_memory
 *                (logged): raise max_memory or lower max_flows.
 *   -TP_ESYS     the OS refused a poller or wake-up fd (out of fds?):
 *                free fds and retry. */
int tp_create(const struct tp_config *c, struct tp **out);

/* Runs the engine on the calling thread until tp_stop (from a callback,
 * another thread or a signal handler). On return every flow and host
 * socket is closed. Returns 0 when stopped, or:
 *   -TP_ESYS     a fatal I/O error (fd mode: the TUN fd was closed or the
 *                device removed; logged): destroy the engine.
 *   -TP_ESTATE   another thread already drives this engine.
 *   -TP_EINVAL   tp is NULL. */
int tp_run(struct tp *tp);

/* Runs the engine on a thread of its own and returns at once; tp_stop
 * ends the thread and tp_destroy joins it. Returns 0, or:
 *   -TP_ESTATE   already started, or driven by tp_run/tp_process.
 *   -TP_ESYS     no thread could be created: retry later or use tp_run.
 *   -TP_EINVAL   tp is NULL.
 * Poll tp_status to learn whether the thread ended on a fatal error. */
int tp_start(struct tp *tp);

/* Asks the engine to stop; returns at once, before it has stopped (the
 * driving call returns, or tp_destroy joins the thread). Safe from any
 * thread, from the callbacks and from a signal handler: it sets a flag
 * and writes one byte to a wake-up fd. Idempotent. An engine runs once:
 * afterwards tp_input answers -TP_ESTATE and tp_run returns at once.
 * Returns 0 (also for a NULL tp). */
int tp_stop(struct tp *tp);

/* 0 while a tp_start engine runs, or after a normal stop; the negative
 * TP_E* code once its thread ended on a fatal error (fd mode: the TUN
 * device was removed): then destroy the engine. -TP_EINVAL for a NULL tp.
 * Safe from any thread. */
int tp_status(struct tp *tp);

/* Stops the engine if it runs, joins its thread, closes every flow and
 * host socket and frees everything (not tun_fd: that is the caller's).
 * tp may be NULL. Must be the last call on tp: every other call, from any
 * thread, must have returned; never call it from a callback. */
void tp_destroy(struct tp *tp);

/* Callback mode: offers the engine a batch of n IP packets (no framing:
 * strip utun's 4-byte header first). pkts[i] points to lens[i] bytes; the
 * caller keeps ownership: the accepted packets are copied before this
 * returns. Non-blocking, and safe from any thread, also from several at
 * once (each call's accepted packets stay in order).
 * Returns k, 0 <= k <= n: packets pkts[0..k) were taken. k < n is
 * backpressure: the engine's input queue (256 packets; 64 at MTU 65535)
 * is full because the engine is slower than the input, or not running
 * yet. Offer
 * pkts[k..n) again shortly (after ~1 ms, or after the next output batch),
 * or drop them: the app's TCP retransmits, as after a full NIC queue.
 * Nothing grows without bound. The content of each packet is checked by
 * the engine, which drops and counts bad ones (rx_dropped_malformed).
 * Errors, for which no packet of the batch was taken:
 *   -TP_EINVAL   n > 0 with pkts or lens NULL, a NULL packet, a length
 *                of 0 or above mtu, or a packet that does not start with
 *                an IPv4 or IPv6 header's version (often a utun header
 *                left in front): fix the caller.
 *   -TP_ESTATE   not callback mode (tun_fd or listen_udp set), or the
 *                engine was stopped: stop reading and destroy it. */
int tp_input(struct tp *tp, const uint8_t *const *pkts, const size_t *lens,
	     size_t n);

/* For an app that drives the engine from its own run loop (a
 * DispatchSource, a CFRunLoop source, epoll) instead of tp_run/tp_start:
 *   tp_fd()              an fd that becomes readable when there is work
 *                        (the engine's epoll or kqueue fd: watch it for
 *                        reading, never read or close it). -TP_EINVAL for
 *                        a NULL tp.
 *   tp_next_timeout_ms() the longest the loop may wait before calling
 *                        tp_process even if tp_fd stays quiet (0: call
 *                        now; -1: no deadline). Call it after each
 *                        tp_process.
 *   tp_process()         does all the work that is due without blocking.
 *                        Returns 1 while the engine runs, 0 once it was
 *                        stopped (tp_stop: remove the run-loop source and
 *                        destroy the engine), -TP_ESYS on a fatal I/O
 *                        error (destroy it), -TP_ESTATE if another thread
 *                        drives the engine (tp_start, tp_run, or a
 *                        concurrent tp_process), -TP_EINVAL for NULL.
 * All three belong to the driving thread: call them from one thread (or
 * one serial queue) at a time. */
int tp_fd(struct tp *tp);
int tp_process(struct tp *tp);
int tp_next_timeout_ms(struct tp *tp);

/* Changes which log lines reach config.log from now on (level as in
 * config.log_level). Safe from any thread; takes effect before the
 * engine's next step. Returns 0, or -TP_EINVAL for a NULL tp or a level
 * above TP_LOG_TRACE. */
int tp_set_log_level(struct tp *tp, enum tp_log_level level);

/* Counters. The list grows at the end only; names are stable identifiers. */
#define TP_COUNTERS(X)                                                         \
	X(rx_packets, "packets read from the TUN")                             \
	X(rx_bytes, "bytes read from the TUN")                                 \
	X(tx_packets, "packets written to the TUN")                            \
	X(tx_bytes, "bytes written to the TUN")                                \
	X(tx_dropped, "packets dropped: TUN write failed or queue full")       \
	X(rx_dropped_malformed, "packets dropped: malformed (see drop_*)")     \
	X(rx_dropped_unsupported, "packets dropped: protocol not handled")     \
	X(flows_open, "flows open now (all protocols)")                        \
	X(flows_created, "flows created")                                      \
	X(flows_expired, "flows closed by idle timeout")                       \
	X(flows_refused_limit, "new flows refused: max_flows reached")         \
	X(flows_refused_memory, "new flows refused: memory budget")            \
	X(flows_refused_socket, "new flows refused: host socket failed")       \
	X(udp_flows_open, "UDP flows open now")                                \
	X(udp_tx_datagrams, "UDP datagrams sent to hosts")                     \
	X(udp_rx_datagrams, "UDP datagrams received from hosts")               \
	X(udp_send_errors, "UDP datagrams the host socket refused")            \
	X(icmp_flows_open, "ICMP echo flows open now")                         \
	X(icmp_echo_requests, "ICMP echo requests forwarded")                  \
	X(icmp_echo_replies, "ICMP echo replies returned to the app")          \
	X(icmp_errors_sent, "ICMP errors sent to the app")                     \
	X(icmp_no_socket, "echo requests dropped: no ping or raw socket")      \
	X(frag_reassembled, "datagrams reassembled from fragments")            \
	X(frag_dropped, "fragments dropped (bounds, timeout, overlap)")        \
	X(frag_sent, "fragments sent to the app for large replies")            \
	X(tcp_conns_open, "TCP connections open now")                          \
	X(tcp_half_open, "TCP connects pending now")                           \
	X(tcp_conns_created, "TCP connections accepted from the app")          \
	X(tcp_refused_half_open, "SYNs refused: max_tcp_half_open reached")    \
	X(tcp_refused_established, "SYNs refused: max_tcp_established")        \
	X(tcp_connect_refused, "host connects refused (RST to the app)")       \
	X(tcp_connect_unreachable, "host connects unreachable (ICMP sent)")    \
	X(tcp_connect_timeout, "host connects that never completed")           \
	X(tcp_rst_sent, "RSTs sent to the app")                                \
	X(tcp_rst_received, "RSTs received from the app")                      \
	X(tcp_retransmits, "segments retransmitted to the app")                \
	X(tcp_fast_retransmits, "fast retransmissions")                        \
	X(tcp_rto_expired, "retransmission timeouts")                          \
	X(tcp_ooo_queued, "out-of-order segments held")                        \
	X(tcp_ooo_dropped, "out-of-order segments dropped (queue full)")       \
	X(tcp_zero_window_probes, "zero-window probes sent")                   \
	X(tcp_bad_segments, "segments dropped: not acceptable (RFC 9293)")     \
	X(mem_used, "bytes of memory charged now")                             \
	X(mem_peak, "highest bytes of memory charged")                         \
	X(mem_refused, "allocations refused by the memory budget")             \
	X(log_suppressed, "log lines suppressed by rate limiting")             \
	X(dev_foreign_dropped,                                                 \
	  "dev transport: datagrams dropped, sender does not own the session") \
	X(dev_client_changes,                                                  \
	  "dev transport: times a client took the session")                    \
	X(flows_refused_policy,                                                \
	  "new flows refused: destination policy (loopback, deny list...)")    \
	X(tcp_window_closed_memory,                                            \
	  "TCP windows closed: the memory budget refused a receive buffer")    \
	X(tcp_loss_probes, "TCP tail loss probes sent (RFC 8985 TLP)")         \
	X(tcp_recoveries_undone,                                               \
	  "TCP window reductions undone: the app D-SACKed every resend")       \
	X(icmp_errors_limited,                                                 \
	  "ICMP errors about refused flows not sent: rate limit")              \
	X(flows_evicted, "flows ended to make room (oldest first)")            \
	X(tcp_rst_stray,                                                       \
	  "RSTs (in tcp_rst_sent) answering segments of no connection")        \
	X(tun_gso_written,                                                     \
	  "GSO super-packets written to the TUN (TP_FRAMING_VNET_HDR)")        \
	X(tun_gso_segments, "TCP segments those super-packets carried")        \
	X(tun_tso_read, "TSO super-packets read from the TUN")                 \
	X(tcp_rx_userspace,                                                    \
	  "1: host->app TCP data waits in userspace rings; 0: in the kernel")  \
	X(tcp_rx_fallbacks,                                                    \
	  "TCP sockets moved to userspace rings: SO_PEEK_OFF refused")         \
	X(tcp_rx_rings_refused,                                                \
	  "TCP receive rings (or ring growths) the memory budget refused")     \
	X(tcp_rx_ringless,                                                     \
	  "times a TCP connection was served without a ring (budget)")         \
	X(tcp_rx_ring_bytes, "bytes held in TCP receive rings now")            \
	X(tcp_challenge_acks,                                                  \
	  "TCP challenge ACKs sent (RFC 5961: inexact RST, SYN, old ACK)")     \
	X(tcp_challenge_acks_limited,                                          \
	  "TCP challenge ACKs not sent: over the per-second limit")            \
	X(dev_session_flows_closed,                                            \
	  "flows closed: a new dev-transport client took the session")         \
	X(egress_refused, "host sockets the egress hook refused")              \
	X(route_blocked, "new flows refused: a --route rule says block")       \
	X(upstream_connects, "flows sent through the upstream proxy")          \
	X(upstream_unreachable,                                                \
	  "upstream flows failed: the proxy could not be reached")             \
	X(upstream_refused,                                                    \
	  "upstream flows the proxy refused (it answered no)")                 \
	X(upstream_auth_failed,                                                \
	  "upstream flows failed: the proxy refused our credentials")          \
	X(upstream_protocol_errors,                                            \
	  "upstream flows failed: the proxy's answer made no sense")           \
	X(udp_cone_dropped,                                                    \
	  "full-cone UDP: datagrams from remotes dropped (policy, no flow)")   \
	X(udp_tx_batched,                                                      \
	  "app UDP datagrams queued within a TUN batch and sent together")     \
	X(udp_gso_sends, "UDP GSO sends (UDP_SEGMENT): runs of one flow")      \
	X(udp_gso_segments, "datagrams those UDP GSO sends carried")           \
	X(udp_gso_refused,                                                     \
	  "UDP GSO sends the path refused (resent one by one, GSO off)")       \
	X(udp_batch_send_errors, "batched UDP datagrams the host refused "     \
				 "(dropped; error to the flow)")               \
	X(udp_rx_batched, "host UDP datagrams read by recvmmsg batches")       \
	X(udp_rx_mmsg_calls, "recvmmsg calls that read two or more datagrams") \
	X(udp_rx_truncated,                                                    \
	  "host UDP datagrams dropped: larger than a batch slot")              \
	X(tun_uso_written,                                                     \
	  "UDP super-packets (USO) written to the TUN (TP_FRAMING_VNET_HDR)")  \
	X(tun_uso_datagrams, "UDP datagrams those super-packets carried")      \
	X(udp_gso_trains,                                                      \
	  "UDP super-packets (USO) from the app sent on as their datagrams")

enum tp_counter {
#define TP_X_ENUM(name, desc) TP_CTR_##name,
	TP_COUNTERS(TP_X_ENUM)
#undef TP_X_ENUM
	    TP_CTR__COUNT
};

/* The name and one-line description of counter i: static strings, NULL
 * if i >= TP_CTR__COUNT of this library (which may be newer than the
 * header the app was built with). */
const char *tp_counter_name(unsigned i);
const char *tp_counter_desc(unsigned i);

/* The stats snapshot: copies up to n counters into vals (the caller's
 * array, indexed by enum tp_counter; pass TP_CTR__COUNT). Safe from any
 * thread, lock-free: each value is consistent on its own, the set is not
 * one instant (a counter moves while others are read). Returns the number
 * copied: min(n, the library's count); 0 for a NULL tp or vals. */
size_t tp_get_counters(struct tp *tp, uint64_t *vals, size_t n);

/* The per-reason counts of malformed packets (rx_dropped_malformed split
 * by reason): reason i's static name (NULL past the last), and up to n
 * counts copied into the caller's vals, returning how many (same thread
 * rules as tp_get_counters). */
const char *tp_drop_reason_name(unsigned i);
size_t tp_get_drop_reasons(struct tp *tp, uint64_t *vals, size_t n);

/* Linux helper for fd mode: creates (or attaches to) TUN device `name`
 * (IFF_TUN|IFF_NO_PI; "" lets the kernel pick tunN), writes the
 * kernel's chosen name into the caller's actual_name (16 bytes, may be
 * NULL), and returns the fd, which the caller owns and closes, or:
 *   -TP_EPERM   needs root or CAP_NET_ADMIN.
 *   -TP_ENOTUN  no /dev/net/tun (modprobe tun); always on Apple
 *               platforms, where the system owns utun.
 *   -TP_EBUSY   the device exists and belongs to someone else.
 *   -TP_EINVAL  name NULL or longer than 15 bytes.
 *   -TP_ENOMEM, -TP_ESYS  another error. Any thread; no engine needed. */
int tp_tun_open(const char *name, char actual_name[16]);

/* The same with IFF_VNET_HDR and the TUN offloads (checksum, TSO for
 * IPv4 and IPv6) turned on: pass the fd with framing
 * TP_FRAMING_VNET_HDR. Same errors; -TP_ESYS also if the kernel refuses
 * the offloads (then use tp_tun_open). */
int tp_tun_open_offload(const char *name, char actual_name[16]);

/* Linux helper: sets the MTU, an IPv4 address/prefix ("10.0.0.8/24") and
 * an IPv6 address/prefix (either may be NULL) on the named device and
 * brings it up. Strings are read during the call only. Returns 0 or
 * -TP_EPERM / -TP_EINVAL (bad CIDR) / -TP_ENOTUN (no such device, or
 * an Apple platform) / -TP_ESYS, each logged through log (if not NULL,
 * on the calling thread). */
int tp_tun_configure(const char *name, uint32_t mtu, const char *ip4_cidr,
		     const char *ip6_cidr, tp_log_fn log, void *log_ctx);

/* --- Flow introspection (docs/embedding.md, "Looking at flows") ---
 *
 * tp_flows() lists every open flow: its endpoints, state, age, traffic
 * and name, and for TCP the transport's own figures from both halves of
 * the connection: the app side from tunproxy's TCP (the one talking to
 * the app), the host side from the OS (Linux TCP_INFO of the host
 * socket; valid 0 where the OS has none). */

/* How a flow ended (tp_flow_info.end; TP_END_NONE while it is open). */
enum tp_flow_end {
	TP_END_NONE = 0,     /* still open */
	TP_END_FIN = 1,	     /* TCP: both sides closed with FIN */
	TP_END_RST_APP = 2,  /* TCP: the app sent a RST */
	TP_END_RST_HOST = 3, /* TCP: the host side reset or failed */
	TP_END_REFUSED = 4,  /* TCP: the host refused or could not be
				reached (connect failed) */
	TP_END_TIMEOUT = 5,  /* idle timeout, connect timeout, or TCP gave
				up retransmitting */
	TP_END_POLICY = 6,   /* never opened: the destination policy */
	TP_END_LIMIT = 7,    /* refused or evicted: max_flows, the memory
				budget, a half-open or fd limit */
	TP_END_SHUTDOWN = 8, /* the engine stopped */
	TP_END_ERROR = 9,    /* closed for another reason (host socket
				error) */
};

/* Where tp_flow_info.name came from. */
enum tp_name_source {
	TP_NAME_NONE = 0,
	TP_NAME_DNS = 1,  /* a DNS answer that crossed this engine (A/AAAA,
			     through CNAMEs: the name the app asked for) */
	TP_NAME_SNI = 2,  /* the TLS ClientHello's server_name */
	TP_NAME_HTTP = 3, /* the Host header of a plain HTTP request */
};

/* What held the sender back, as far as one can tell at this instant
 * (tp_tcp_side.limited). */
enum tp_tcp_limit {
	TP_LIMIT_NONE = 0,   /* unknown, or nothing in flight */
	TP_LIMIT_APP = 1,    /* the sender had nothing more to send */
	TP_LIMIT_WINDOW = 2, /* the receiver's advertised window */
	TP_LIMIT_CWND = 3,   /* the congestion window */
	TP_LIMIT_MEMORY = 4, /* buffers: tunproxy's memory budget closed
				the window, or the host socket's send
				buffer was full */
};

/* One half of a TCP connection, like Linux's TCP_INFO. Bytes, not
 * segments; times in microseconds. app_side: tunproxy's TCP sending to
 * the app (the sender is tunproxy, the receiver the app). host_side: the
 * host socket's TCP sending to the destination. */
struct tp_tcp_side {
	uint8_t valid;	 /* 0: no figures (not TCP, or no TCP_INFO) */
	uint8_t limited; /* enum tp_tcp_limit */
	uint8_t reserved[2];
	uint32_t srtt_us; /* smoothed RTT, 0 before the first sample */
	uint32_t rttvar_us;
	uint32_t min_rtt_us;
	uint32_t mss;
	uint32_t cwnd;	      /* congestion window, bytes */
	uint32_t ssthresh;    /* bytes; UINT32_MAX: not yet set */
	uint32_t in_flight;   /* bytes sent and not acknowledged */
	uint32_t peer_window; /* the receiver's advertised window, bytes */
	uint32_t retransmits; /* segments sent again */
	uint32_t recovered;   /* losses repaired by fast retransmission
				 (SACK or duplicate ACKs) rather than a
				 timeout; host side: segments the peer
				 SACKed */
	uint32_t timeouts;    /* retransmission timeouts */
};

struct tp_flow_info {
	uint64_t id;	     /* unique among open flows; reused later */
	uint8_t family;	     /* 4 or 6 */
	uint8_t proto;	     /* IP protocol: 6 TCP, 17 UDP, 1/58 ICMP */
	uint8_t state;	     /* TCP: enum in tp_tcp_state_name; else 0 */
	uint8_t end;	     /* enum tp_flow_end */
	uint8_t name_source; /* enum tp_name_source */
	uint8_t reserved[3];
	uint8_t app_addr[16]; /* the app's address (IPv4: first 4 bytes) */
	uint8_t dst_addr[16]; /* the destination it asked for */
	uint16_t app_port;    /* ICMP echo: the identifier */
	uint16_t dst_port;
	uint32_t reserved2;
	uint64_t age_ms;	   /* since the flow was created */
	uint64_t idle_ms;	   /* since its last traffic either way */
	uint64_t bytes_from_app;   /* payload: TCP stream bytes taken by
				      the host socket, UDP/ICMP payload */
	uint64_t bytes_to_app;	   /* TCP: stream bytes the app
				      acknowledged; UDP/ICMP payload */
	uint64_t packets_from_app; /* IP packets */
	uint64_t packets_to_app;
	struct tp_tcp_side app_side, host_side;
	char name[256]; /* the host name the app asked for, "" if none */
};

/* The name of a TCP state of tp_flow_info.state ("ESTABLISHED", ...),
 * "" for 0 (not TCP), "?" past the last. Static; thread-safe. */
const char *tp_tcp_state_name(unsigned state);
/* "fin", "rst-app", ... for enum tp_flow_end; static, never NULL. */
const char *tp_flow_end_name(unsigned end);

/* Fills out[0..min(n, cap)) with the open flows (n is the count, returned),
 * in no particular order. info_size is sizeof(struct tp_flow_info) as the
 * caller knows it (entries are that far apart; an older, shorter struct
 * gets its own fields). Callable from any thread. When no thread drives
 * the engine at that moment, or from the driving thread itself (e.g.
 * from a callback), it is served at once; otherwise the request is handed
 * to the driving thread, which fills the caller's buffer at its next step
 * (woken at once) while the caller waits at most timeout_ms. Cost: one
 * pass over the flow table, plus one getsockopt per TCP connection for
 * the host side; no allocation.
 * Returns n >= 0 (call again with a bigger buffer if n > cap), or:
 *   -TP_EAGAIN  the driving thread did not answer within timeout_ms (it
 *               is blocked in a callback, or the app's run loop did not
 *               call tp_process): the buffer was not touched; retry.
 *               Also once a tp_start engine has stopped.
 *   -TP_EINVAL  tp NULL, out NULL with cap > 0, or info_size too small
 *               (less than the size of the first version of the struct).
 *   -TP_ESTATE  another tp_flows call waits already (one at a time). */
int tp_flows(struct tp *tp, struct tp_flow_info *out, size_t cap,
	     size_t info_size, int timeout_ms);
#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
