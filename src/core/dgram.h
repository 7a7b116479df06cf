/* SPDX-License-Identifier: MIT */
/* dgram.h - datagram flows: UDP and ICMP echo, one host socket each.
 *
 * A UDP flow and an ICMP echo flow live the same life (dgram.c): created
 * by the app's first datagram with a host socket of their own, each app
 * datagram sent on it, replies read from it into packets for the app,
 * socket errors turned into the ICMP errors a real network would send,
 * ended by an idle timeout. dgram.c does all of that once; udp.c and
 * icmp.c each describe what their protocol does its own way in a
 * struct dgram_proto.
 */
#ifndef TP_CORE_DGRAM_H
#define TP_CORE_DGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/flow.h"
#include "tunproxy.h"

struct core_engine;
struct wire_ip_hdr;

/* What differs between the datagram protocols. Counters are indexes into
 * the engine's counters; TP_CTR__COUNT where the protocol counts none. */
struct dgram_proto {
	/* Asks the driver for the host socket of a new flow to k, whose
	 * events come back under handle. Returns the socket id or -errno. */
	int (*open)(struct core_engine *e, uint32_t handle,
		    const struct flow_key *k);
	/* Writes the headers of a reply to flow k in front of the n bytes
	 * read at pkt + room (room: the IP header and l4_hdr bytes; ip is
	 * the reply's IP header). Returns the packet's length, or 0 to drop
	 * what is not a reply. */
	size_t (*build)(const struct flow_key *k, const struct wire_ip_hdr *ip,
			uint8_t *pkt, size_t room, size_t n);
	/* Writes the first DGRAM_QUOTE_L4 bytes of the transport header
	 * the app sent on flow k (zeroed before): what an ICMP error about
	 * it quotes after the IP header (RFC 792, RFC 4443 3.1). */
	void (*quote)(const struct flow_key *k, uint8_t *hdr);
	/* The idle timeout of flow k, in microseconds. */
	uint64_t (*timeout)(const struct core_engine *e,
			    const struct flow_key *k);
	/* Bytes of the transport header the host socket writes and strips
	 * itself: the app's datagram is sent without them, and a reply is
	 * read this far behind its IP header. */
	uint8_t l4_hdr;
	/* Replies read per readable event before other flows get a turn. */
	uint8_t read_batch;
	uint8_t flags;		    /* DGRAM_* below */
	enum tp_counter ctr_open;   /* flows with a host socket */
	enum tp_counter ctr_tx;	    /* datagrams sent for the app */
	enum tp_counter ctr_rx;	    /* replies delivered to the app */
	enum tp_counter ctr_errors; /* sends and reads the socket refused */
	/* A host socket refused for no reason the operator can act on: the
	 * protocol is unavailable, so the datagram is dropped without an
	 * answer and counted here; TP_CTR__COUNT: the flow is refused like
	 * any other (flows_refused_socket, answered, logged). */
	enum tp_counter ctr_unavailable;
};

/* dgram_proto.flags */
enum {
	/* ops->recv_batch (recvmmsg) may read several replies at once. */
	DGRAM_RECV_BATCH = 1,
	/* A refused send asks the socket's error queue what happened first
	 * (an error queued by an earlier datagram explains it). */
	DGRAM_SEND_ERRQUEUE = 2,
};

/* The bound of dgram_proto.read_batch. */
#define DGRAM_READ_MAX 64

/* Transport header bytes an ICMP error quotes (RFC 792: 64 bits). */
#define DGRAM_QUOTE_L4 8

/* The operations of FLOW_UDP and FLOW_ICMP flows (flow.h). */
extern const struct flow_ops dgram_flow_ops;

/* The new flow f has its host socket sock: counts it open and starts its
 * idle timer. */
void dgram_start(struct core_engine *e, union flow *f, int sock);

/* Reads what waits on f's host socket into packets for the app (a
 * bounded number; a full transmit ring pauses reading until
 * core_tx_resume). */
void dgram_read(struct core_engine *e, union flow *f);

#endif
