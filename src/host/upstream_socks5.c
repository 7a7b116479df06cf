/* SPDX-License-Identifier: MIT */
/* upstream_socks5.c - SOCKS5 messages (RFC 1928) and username/password
 * authentication (RFC 1929), built and parsed without I/O (upstream.h).
 *
 * Only what a client needs: the method selection, the RFC 1929
 * sub-negotiation, CONNECT and UDP ASSOCIATE requests for IPv4 and IPv6
 * destinations (the app's packets carry addresses, never names), and the
 * replies, whose bound address may be of any type (IPv4, IPv6, or a
 * domain name, which is skipped).
 */
#include <string.h>

#include "host/upstream.h"

enum { SOCKS5_VER = 5, ATYP_V4 = 1, ATYP_NAME = 3, ATYP_V6 = 4 };

size_t socks5_greeting(uint8_t *buf, int with_auth)
{
	/* RFC 1928 3: VER NMETHODS METHODS. Offer no-auth only when we
	 * have no credentials: a server that requires them then answers
	 * 0xff, which is the clear failure. */
	buf[0] = SOCKS5_VER;
	if (with_auth) {
		buf[1] = 2;
		buf[2] = SOCKS5_METHOD_NONE;
		buf[3] = SOCKS5_METHOD_USERPASS;
		return 4;
	}
	buf[1] = 1;
	buf[2] = SOCKS5_METHOD_NONE;
	return 3;
}

int socks5_parse_method(const uint8_t *buf, size_t len, uint8_t *method)
{
	if (len >= 1 && buf[0] != SOCKS5_VER)
		return -1;
	if (len < 2)
		return 0;
	*method = buf[1];
	return 2;
}

size_t socks5_auth_request(uint8_t *buf, size_t cap, const char *user,
			   const char *pass)
{
	size_t ul = strlen(user), pl = strlen(pass);
	/* RFC 1929 2: VER(1) ULEN UNAME PLEN PASSWD, each 1..255 bytes. */
	if (ul == 0 || ul > 255 || pl > 255 || 3 + ul + pl > cap)
		return 0;
	buf[0] = 1;
	buf[1] = (uint8_t)ul;
	memcpy(buf + 2, user, ul);
	buf[2 + ul] = (uint8_t)pl;
	memcpy(buf + 3 + ul, pass, pl);
	return 3 + ul + pl;
}

int socks5_parse_auth(const uint8_t *buf, size_t len, uint8_t *status)
{
	/* The sub-negotiation version is 1; some servers echo 5. */
	if (len >= 1 && buf[0] != 1 && buf[0] != SOCKS5_VER)
		return -1;
	if (len < 2)
		return 0;
	*status = buf[1];
	return 2;
}

size_t socks5_request(uint8_t *buf, uint8_t cmd, uint8_t family,
		      const struct wire_addr *addr, uint16_t port)
{
	size_t n = 4;
	buf[0] = SOCKS5_VER;
	buf[1] = cmd;
	buf[2] = 0; /* RSV */
	if (family == 4) {
		buf[3] = ATYP_V4;
		memcpy(buf + n, wire_addr_v4(addr), 4);
		n += 4;
	} else {
		buf[3] = ATYP_V6;
		memcpy(buf + n, addr->b, 16);
		n += 16;
	}
	buf[n++] = (uint8_t)(port >> 8);
	buf[n++] = (uint8_t)port;
	return n;
}

int socks5_parse_reply(const uint8_t *buf, size_t len, uint8_t *rep,
		       struct socks5_addr *bound)
{
	/* RFC 1928 6: VER REP RSV ATYP BND.ADDR BND.PORT. */
	if (len >= 1 && buf[0] != SOCKS5_VER)
		return -1;
	if (len < 5)
		return 0;
	size_t alen;
	switch (buf[3]) {
	case ATYP_V4:
		alen = 4;
		break;
	case ATYP_V6:
		alen = 16;
		break;
	case ATYP_NAME:
		alen = 1 + (size_t)buf[4];
		break;
	default:
		return -1;
	}
	size_t total = 4 + alen + 2;
	if (len < total)
		return 0;
	*rep = buf[1];
	memset(bound, 0, sizeof(*bound));
	if (buf[3] == ATYP_V4) {
		bound->family = 4;
		wire_addr_from4(&bound->addr, buf + 4);
	} else if (buf[3] == ATYP_V6) {
		bound->family = 6;
		wire_addr_from6(&bound->addr, buf + 4);
	}
	bound->port = (uint16_t)(buf[4 + alen] << 8 | buf[5 + alen]);
	return (int)total;
}

size_t socks5_udp_header(uint8_t *buf, uint8_t family,
			 const struct wire_addr *addr, uint16_t port)
{
	/* RFC 1928 7: RSV(2) FRAG ATYP DST.ADDR DST.PORT: the request's
	 * address encoding behind a different first three bytes. */
	size_t n = socks5_request(buf, 0, family, addr, port);
	buf[0] = buf[1] = buf[2] = 0;
	return n;
}

int socks5_parse_udp(const uint8_t *buf, size_t len, uint8_t *frag,
		     struct socks5_addr *from)
{
	if (len < 5 || buf[0] != 0 || buf[1] != 0)
		return -1;
	*frag = buf[2];
	/* The rest has the reply's layout from ATYP on. */
	uint8_t tmp[4 + 1 + 255 + 2];
	size_t alen = buf[3] == ATYP_V4	    ? 4
		      : buf[3] == ATYP_V6   ? 16
		      : buf[3] == ATYP_NAME ? 1 + (size_t)buf[4]
					    : 0;
	if (!alen || len < 4 + alen + 2)
		return -1;
	memcpy(tmp, buf, 4 + alen + 2);
	tmp[0] = SOCKS5_VER;
	uint8_t rep;
	return socks5_parse_reply(tmp, 4 + alen + 2, &rep, from);
}
