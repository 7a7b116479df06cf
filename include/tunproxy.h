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
 * Threads: one engine is driven by one thread at a time (tp_run on the
 * caller's thread, tp_start on a thread of the engine's own). tp_stop,
 * tp_input and tp_get_stats may be called from any thread. There is no
 * global state: engines in one process are independent.
 *
 * Errors are negative TP_E* codes; tp_strerror() names them. The library
 * never exits, aborts or prints: it logs through config.log.
 */
#ifndef TUNPROXY_H
#define TUNPROXY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TP_API_VERSION 1

/* Error codes (returned negated). */
enum tp_error {
	TP_OK = 0,
	TP_EINVAL = 1,	   /* a config field or argument is invalid */
	TP_ENOMEM = 2,	   /* memory could not be had within the budget */
	TP_EPERM = 3,	   /* the OS refused: run as root or grant CAP_NET_ADMIN */
	TP_ENOTUN = 4,	   /* /dev/net/tun is missing: load the tun module */
	TP_EBUSY = 5,	   /* the name or address is in use */
	TP_ESYS = 6,	   /* another OS error; see the log line */
	TP_ESTATE = 7,	   /* not allowed in the engine's current state */
	TP_EAGAIN = 8,	   /* backpressure: try again after the engine runs */
	TP_EVERSION = 9,   /* config.size/version from a newer library */
};

const char *tp_strerror(int err);

/* Log levels: a message is passed to config.log when level <= log_level. */
enum tp_log_level {
	TP_LOG_ERROR = 0,
	TP_LOG_WARN = 1,
	TP_LOG_INFO = 2,
	TP_LOG_DEBUG = 3,
	TP_LOG_TRACE = 4,
};

/* Called on the engine's thread with a NUL-terminated line (no newline). */
typedef void (*tp_log_fn)(void *ctx, enum tp_log_level level,
			  const char *msg);

/* Callback mode: the engine hands out a batch of n outgoing IP packets.
 * pkts[i]/lens[i] belong to the engine and are valid only during the call;
 * families[i] is 4 or 6 (what writePackets(_:withProtocols:) needs).
 * Called on the engine's thread. */
typedef void (*tp_output_fn)(void *ctx, const uint8_t *const *pkts,
			     const size_t *lens, const uint8_t *families,
			     size_t n);

/* Framing of the packets on tun_fd. */
enum tp_framing {
	TP_FRAMING_NONE = 0, /* Linux TUN with IFF_NO_PI, Android */
	TP_FRAMING_UTUN = 1, /* Darwin utun: 4-byte address family first */
};

struct tp_config {
	uint32_t size;		/* sizeof(struct tp_config), set by init */
	uint32_t version;	/* TP_API_VERSION, set by init */

	int tun_fd;		/* fd mode: an open TUN fd; -1: callback mode */
	uint32_t framing;	/* enum tp_framing */
	uint32_t mtu;		/* MTU of the TUN (default 1500) */

	tp_output_fn output;	/* callback mode: where packets go */
	void *output_ctx;

	tp_log_fn log;		/* NULL: no logging */
	void *log_ctx;
	uint32_t log_level;	/* enum tp_log_level (default WARN) */

	/* Limits. Every table and queue is bounded by one of these. */
	uint32_t max_flows;		/* all flows (default 65536) */
	uint32_t max_tcp_half_open;	/* TCP connects pending (default 1024) */
	uint32_t max_tcp_established;	/* default 65536 */
	uint64_t max_memory;		/* bytes the engine may allocate;
					   0: 32 MiB default */
	uint32_t reasm_max_bytes;	/* fragment data held (default 256 KiB) */

	/* Idle timeouts in milliseconds. */
	uint32_t udp_timeout_ms;	/* default 60000 */
	uint32_t udp_dns_timeout_ms;	/* flows to port 53; default 30000 */
	uint32_t icmp_timeout_ms;	/* default 30000 */
	uint32_t tcp_idle_timeout_ms;	/* established, no traffic;
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
	const char *listen_udp;		/* "127.0.0.1:8081", "[::1]:8081" or
					   "localhost:8081"; read only during
					   tp_create. NULL: off */
	uint32_t listen_public;		/* nonzero: allow a wildcard or
					   non-loopback address (whoever can
					   reach it can use the proxy) */
	uint32_t dev_client_idle_ms;	/* 0: default 5000 */
};

/* Fills c with defaults (callback mode until tun_fd is set). */
void tp_config_init(struct tp_config *c);

struct tp;

/* Creates an engine. The config is copied. On success *out owns the engine
 * (free it with tp_destroy) and tun_fd, if any, still belongs to the caller
 * (the engine does not close it). Returns 0 or a negative TP_E* code. */
int tp_create(const struct tp_config *c, struct tp **out);

/* Runs the engine on the calling thread until tp_stop. Returns 0 when
 * stopped, or a negative code on a fatal I/O error (e.g. the TUN fd closed).
 * On return every flow and host socket is closed. */
int tp_run(struct tp *tp);

/* Runs the engine on a thread of its own. tp_stop ends it and tp_destroy
 * joins it. Returns 0 or a negative code. */
int tp_start(struct tp *tp);

/* Asks the engine to stop. Safe from any thread and from a signal handler
 * (it only writes to an eventfd). Returns 0. */
int tp_stop(struct tp *tp);

/* 0 while a tp_start engine runs (or after a normal stop); the negative
 * TP_E* code once its thread ended on a fatal error (e.g. the TUN device
 * was removed). Safe from any thread. */
int tp_status(struct tp *tp);

/* Stops the engine if it runs, joins its thread, closes all flows and frees
 * everything. tp may be NULL. */
void tp_destroy(struct tp *tp);

/* Callback mode: hands the engine n packets (copied before return). Safe
 * from any thread. Returns the number of packets accepted (< n means
 * backpressure: offer the rest again later) or a negative code. */
int tp_input(struct tp *tp, const uint8_t *const *pkts, const size_t *lens,
	     size_t n);

/* For an app that drives the engine from its own run loop instead of tp_run:
 * tp_fd() is readable when tp_process() has work; tp_next_timeout_ms() is
 * how long the loop may sleep at most (-1: until tp_fd is readable). */
int tp_fd(struct tp *tp);
int tp_process(struct tp *tp);
int tp_next_timeout_ms(struct tp *tp);

/* Counters. The list grows at the end only; names are stable identifiers. */
#define TP_COUNTERS(X)                                                        \
	X(rx_packets, "packets read from the TUN")                            \
	X(rx_bytes, "bytes read from the TUN")                                \
	X(tx_packets, "packets written to the TUN")                           \
	X(tx_bytes, "bytes written to the TUN")                               \
	X(tx_dropped, "packets dropped: TUN write failed or queue full")      \
	X(rx_dropped_malformed, "packets dropped: malformed (see drop_*)")    \
	X(rx_dropped_unsupported, "packets dropped: protocol not handled")    \
	X(flows_open, "flows open now (all protocols)")                      \
	X(flows_created, "flows created")                                     \
	X(flows_expired, "flows closed by idle timeout")                      \
	X(flows_refused_limit, "new flows refused: max_flows reached")        \
	X(flows_refused_memory, "new flows refused: memory budget")           \
	X(flows_refused_socket, "new flows refused: host socket failed")      \
	X(udp_flows_open, "UDP flows open now")                               \
	X(udp_tx_datagrams, "UDP datagrams sent to hosts")                    \
	X(udp_rx_datagrams, "UDP datagrams received from hosts")              \
	X(udp_send_errors, "UDP datagrams the host socket refused")           \
	X(icmp_flows_open, "ICMP echo flows open now")                        \
	X(icmp_echo_requests, "ICMP echo requests forwarded")                 \
	X(icmp_echo_replies, "ICMP echo replies returned to the app")         \
	X(icmp_errors_sent, "ICMP errors sent to the app")                    \
	X(icmp_no_socket, "echo requests dropped: no ping or raw socket")    \
	X(frag_reassembled, "datagrams reassembled from fragments")           \
	X(frag_dropped, "fragments dropped (bounds, timeout, overlap)")       \
	X(frag_sent, "fragments sent to the app for large replies")           \
	X(tcp_conns_open, "TCP connections open now")                         \
	X(tcp_half_open, "TCP connects pending now")                          \
	X(tcp_conns_created, "TCP connections accepted from the app")         \
	X(tcp_refused_half_open, "SYNs refused: max_tcp_half_open reached")   \
	X(tcp_refused_established, "SYNs refused: max_tcp_established")      \
	X(tcp_connect_refused, "host connects refused (RST to the app)")      \
	X(tcp_connect_unreachable, "host connects unreachable (ICMP sent)")   \
	X(tcp_connect_timeout, "host connects that never completed")          \
	X(tcp_rst_sent, "RSTs sent to the app")                               \
	X(tcp_rst_received, "RSTs received from the app")                     \
	X(tcp_retransmits, "segments retransmitted to the app")               \
	X(tcp_fast_retransmits, "fast retransmissions")                       \
	X(tcp_rto_expired, "retransmission timeouts")                         \
	X(tcp_ooo_queued, "out-of-order segments held")                       \
	X(tcp_ooo_dropped, "out-of-order segments dropped (queue full)")      \
	X(tcp_zero_window_probes, "zero-window probes sent")                  \
	X(tcp_bad_segments, "segments dropped: not acceptable (RFC 9293)")    \
	X(mem_used, "bytes of memory charged now")                            \
	X(mem_peak, "highest bytes of memory charged")                        \
	X(mem_refused, "allocations refused by the memory budget")            \
	X(log_suppressed, "log lines suppressed by rate limiting")          \
	X(dev_foreign_dropped,                                                \
	  "dev transport: datagrams dropped, sender does not own the session") \
	X(dev_client_changes, "dev transport: times a client took the session")

enum tp_counter {
#define TP_X_ENUM(name, desc) TP_CTR_##name,
	TP_COUNTERS(TP_X_ENUM)
#undef TP_X_ENUM
	TP_CTR__COUNT
};

/* The name and one-line description of counter i (NULL if out of range). */
const char *tp_counter_name(unsigned i);
const char *tp_counter_desc(unsigned i);

/* Copies up to n counters into vals (indexed by enum tp_counter). Safe from
 * any thread; values are each consistent, not a point-in-time set.
 * Returns the number copied. */
size_t tp_get_counters(struct tp *tp, uint64_t *vals, size_t n);

/* The per-reason counts of malformed packets: reason i's name and count. */
const char *tp_drop_reason_name(unsigned i);
size_t tp_get_drop_reasons(struct tp *tp, uint64_t *vals, size_t n);

/* Linux helper for fd mode: creates (or attaches to) TUN device `name`
 * (IFF_TUN|IFF_NO_PI), writes the kernel's chosen name into actual_name
 * (16 bytes), and returns the fd or a negative TP_E* code. */
int tp_tun_open(const char *name, char actual_name[16]);

/* Linux helper: sets the MTU, an IPv4 address/prefix and an IPv6
 * address/prefix (either may be NULL) on the named device and brings it up.
 * Returns 0 or a negative TP_E* code (logged through log if given). */
int tp_tun_configure(const char *name, uint32_t mtu, const char *ip4_cidr,
		     const char *ip6_cidr, tp_log_fn log, void *log_ctx);

#ifdef __cplusplus
}
#endif

#endif
