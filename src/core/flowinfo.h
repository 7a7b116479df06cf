/* SPDX-License-Identifier: MIT */
/* flowinfo.h - what the engine knows about each flow for people to look
 * at: traffic, age, name, how it ended (see flowinfo.c). */
#ifndef TP_CORE_FLOWINFO_H
#define TP_CORE_FLOWINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/flow.h"
#include "tunproxy.h"

struct names_str;
struct wire_packet;

/* Kept beside each flow slot (flow.c's acct array, charged with the
 * slot), not in union flow: the protocol code never reads it. */
struct flow_acct {
	uint64_t created;	     /* us */
	uint64_t bytes_up;	     /* payload app -> host */
	uint64_t bytes_down;	     /* payload host -> app */
	uint32_t pkts_up, pkts_down; /* IP packets */
	uint32_t rtx, fast, rto;     /* TCP, from the engine's counters */
	uint32_t irs;		     /* TCP: the app's initial sequence */
	uint32_t up_mark, down_mark; /* TCP: sequence counted up to */
	struct names_str *name;
	uint8_t name_src;      /* enum tp_name_source */
	uint8_t end;	       /* enum tp_flow_end, once known */
	uint8_t up_init : 1;   /* up_mark / irs set */
	uint8_t down_init : 1; /* down_mark set */
	uint8_t sniffed : 1;   /* the first app bytes were looked at */
};

/* Why an entry point touched a flow, for telling how it ended. */
enum flowinfo_cause {
	FLOWINFO_APP = 0, /* a packet from the app */
	FLOWINFO_APP_RST, /* a TCP RST from the app */
	FLOWINFO_HOST,	  /* a host socket event */
	FLOWINFO_TIMER,	  /* its timer */
	FLOWINFO_RESUME,  /* room in the transmit ring */
};

/* Taken before an entry point works on a flow, handed to flowinfo_after. */
struct flowinfo_mark {
	uint32_t tx_ready;
	uint64_t rtx, fast, rto;
	uint8_t prev_state; /* TCP state before */
};

void flowinfo_before(struct core_engine *e, const union flow *f,
		     struct flowinfo_mark *m);

/* Charges what happened to f since m (packets the engine queued for the
 * app, TCP bytes both ways, retransmissions), learns names from DNS
 * answers among those packets, and notes how f ended if it was closed. */
void flowinfo_after(struct core_engine *e, union flow *f,
		    const struct flowinfo_mark *m, enum flowinfo_cause cause);

/* A packet from the app reached f (before its protocol handles it; for
 * the packet that created f, after):
 * counted, and the first TCP payload is looked at for a name (TLS SNI,
 * HTTP Host). */
void flowinfo_app_packet(struct core_engine *e, union flow *f,
			 const struct wire_packet *p);

/* A new slot for f: the acct zeroed by the caller, time and name set. */
void flowinfo_init(struct core_engine *e, union flow *f, struct flow_acct *a);

/* f is being freed: the last figures go to the flow_end callback, the
 * name reference is dropped. */
void flowinfo_release(struct core_engine *e, union flow *f);

/* Sets how f ends, if nothing set it before (eviction, shutdown). */
void flowinfo_set_end(struct core_engine *e, union flow *f, uint8_t end);

/* A new flow for key was refused (end: TP_END_POLICY or TP_END_LIMIT):
 * reported to the flow_end callback as a flow that never opened. */
void flowinfo_refused(struct core_engine *e, const struct flow_key *key,
		      uint8_t end);

/* Fills out with f's figures at now (the host side through the
 * tcp_info host op). */
void flowinfo_fill(struct core_engine *e, union flow *f,
		   struct tp_flow_info *out);

#endif
