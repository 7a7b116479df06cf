/* tcp_sack.c - the scoreboard of host data the app has SACKed.
 *
 * Theory of operation
 *
 * When the app's SYN carried SACK-permitted (RFC 2018), its ACKs name the
 * blocks it holds above a hole. tunproxy keeps up to TCP_SACK_BLOCKS
 * disjoint, sorted blocks strictly above snd_una, merging each ACK's blocks
 * in. Loss recovery (tcp_output.c, RFC 6675 simplified) asks three things:
 * how many bytes are SACKed (to compute the pipe), where the highest SACKed
 * byte is (holes below it are taken as lost), and where the next hole is
 * (to retransmit it by peeking at its offset in the host socket).
 *
 * Limits: when more than TCP_SACK_BLOCKS disjoint blocks exist, the highest
 * ones are forgotten; that only makes recovery retransmit bytes the app
 * already has. D-SACK blocks (below snd_una) and blocks outside what was
 * sent are ignored. After an RTO the scoreboard is cleared (RFC 2018 8:
 * the receiver may have reneged), and rebuilt from later ACKs.
 */
#include <string.h>

#include "core/tcp_int.h"

/* Inserts [s, e) keeping blocks sorted, disjoint and merged. */
static void sack_insert(struct tcp_conn *t, uint32_t s, uint32_t e)
{
	uint32_t bs[TCP_SACK_BLOCKS + 1], be[TCP_SACK_BLOCKS + 1];
	int n = 0;
	bool placed = false;

	for (int i = 0; i < t->sack_n; i++) {
		uint32_t cs = t->sack[i].start, ce = t->sack[i].end;
		if (SEQ_LT(ce, s)) {
			bs[n] = cs;
			be[n++] = ce;
			continue;
		}
		if (SEQ_GT(cs, e)) {
			if (!placed) {
				bs[n] = s;
				be[n++] = e;
				placed = true;
			}
			bs[n] = cs;
			be[n++] = ce;
			continue;
		}
		/* Overlapping or adjacent: grow the new block. */
		if (SEQ_LT(cs, s))
			s = cs;
		if (SEQ_GT(ce, e))
			e = ce;
	}
	if (!placed) {
		bs[n] = s;
		be[n++] = e;
	}
	if (n > TCP_SACK_BLOCKS)
		n = TCP_SACK_BLOCKS; /* forget the highest */
	for (int i = 0; i < n; i++) {
		t->sack[i].start = bs[i];
		t->sack[i].end = be[i];
	}
	t->sack_n = (uint8_t)n;
}

/**
 * tcp_sack_update() - merge the SACK blocks of an ACK from the app
 * @t:	connection
 * @o:	the ACK's parsed options
 */
void tcp_sack_update(struct tcp_conn *t, const struct wire_tcp_opts *o)
{
	if (!t->sack_ok)
		return;
	for (int i = 0; i < o->sack_count && i < WIRE_TCP_MAX_SACK; i++) {
		uint32_t s = o->sack[i].start, e = o->sack[i].end;
		if (!SEQ_LT(s, e))
			continue;
		if (SEQ_LEQ(e, t->snd_una) || SEQ_GT(e, t->snd_nxt))
			continue; /* D-SACK or bogus */
		if (SEQ_LT(s, t->snd_una))
			s = t->snd_una;
		sack_insert(t, s, e);
	}
}

/**
 * tcp_sack_trim() - forget what snd_una has passed
 * @t:	connection, after snd_una moved forward
 */
void tcp_sack_trim(struct tcp_conn *t)
{
	int n = 0;

	for (int i = 0; i < t->sack_n; i++) {
		if (SEQ_LEQ(t->sack[i].end, t->snd_una))
			continue;
		t->sack[n] = t->sack[i];
		if (SEQ_LT(t->sack[n].start, t->snd_una))
			t->sack[n].start = t->snd_una;
		n++;
	}
	t->sack_n = (uint8_t)n;
}

void tcp_sack_clear(struct tcp_conn *t)
{
	t->sack_n = 0;
}

/* Bytes SACKed in all. */
uint32_t tcp_sack_bytes(const struct tcp_conn *t)
{
	uint32_t n = 0;

	for (int i = 0; i < t->sack_n; i++)
		n += t->sack[i].end - t->sack[i].start;
	return n;
}

/* The end of the highest SACKed block, or snd_una if none. */
uint32_t tcp_sack_high(const struct tcp_conn *t)
{
	return t->sack_n ? t->sack[t->sack_n - 1].end : t->snd_una;
}

/* Bytes in [a, b) that are not SACKed. */
uint32_t tcp_sack_unsacked(const struct tcp_conn *t, uint32_t a, uint32_t b)
{
	if (!SEQ_LT(a, b))
		return 0;
	uint32_t n = b - a;
	for (int i = 0; i < t->sack_n; i++) {
		uint32_t s = t->sack[i].start, e = t->sack[i].end;
		if (SEQ_LT(s, a))
			s = a;
		if (SEQ_GT(e, b))
			e = b;
		if (SEQ_LT(s, e))
			n -= e - s;
	}
	return n;
}

/**
 * tcp_sack_next_hole() - the first run of unSACKed bytes at or after from
 * @t:		connection
 * @from:	where to start looking
 * @limit:	bytes at or past limit do not count
 * @start:	first byte of the hole
 * @end:	one past its last byte (at most limit)
 *
 * Return: true if a hole exists before limit.
 */
bool tcp_sack_next_hole(const struct tcp_conn *t, uint32_t from, uint32_t limit,
			uint32_t *start, uint32_t *end)
{
	uint32_t s = from;

	for (int i = 0; i < t->sack_n; i++) {
		if (SEQ_LEQ(t->sack[i].end, s))
			continue;
		if (SEQ_LEQ(t->sack[i].start, s)) {
			s = t->sack[i].end; /* inside a block: skip it */
			continue;
		}
		if (!SEQ_LT(s, limit))
			return false;
		*start = s;
		*end =
		    SEQ_LT(t->sack[i].start, limit) ? t->sack[i].start : limit;
		return true;
	}
	if (!SEQ_LT(s, limit))
		return false;
	*start = s;
	*end = limit;
	return true;
}
