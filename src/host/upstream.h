/* SPDX-License-Identifier: MIT */
/* upstream.h - the wire side of the upstream proxies: SOCKS5 (RFC 1928,
 * RFC 1929) and HTTP CONNECT (RFC 9110 9.3.6) messages, built into and
 * parsed from caller buffers. No I/O and no state here: egress.c drives
 * the handshakes on the host sockets and calls these.
 *
 * Parsers take the bytes received so far and return the length of the
 * complete message at the front (> 0), 0 if more bytes are needed, or -1
 * if the bytes cannot be the expected message. The caller consumes exactly
 * the returned length: what follows belongs to the tunnelled stream.
 */
#ifndef TP_HOST_UPSTREAM_H
#define TP_HOST_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "wire/addr.h"

enum upstream_kind { UPSTREAM_NONE = 0, UPSTREAM_SOCKS5, UPSTREAM_HTTP };

/* tp_config.upstream, parsed. */
struct upstream_cfg {
	uint8_t kind;	/* enum upstream_kind */
	uint8_t family; /* of addr: 4 or 6 */
	uint16_t port;
	struct wire_addr addr;
	char host[256]; /* as written, for the log and the Host header */
	char user[256], pass[256];
	uint8_t has_auth;
};

/* Parses "socks5://[USER:PASS@]HOST:PORT" or "http://[USER:PASS@]HOST:PORT"
 * (USER and PASS may be %-encoded; HOST an IPv4 address, [IPv6] or a name,
 * which is resolved here, once). Returns 0, or -1 with a message in err. */
int upstream_parse(struct upstream_cfg *u, const char *url, char *err,
		   size_t errcap);

/* SOCKS5 reply codes (RFC 1928 6). */
enum {
	SOCKS5_OK = 0,
	SOCKS5_GENERAL_FAILURE = 1,
	SOCKS5_NOT_ALLOWED = 2,
	SOCKS5_NET_UNREACHABLE = 3,
	SOCKS5_HOST_UNREACHABLE = 4,
	SOCKS5_CONN_REFUSED = 5,
	SOCKS5_TTL_EXPIRED = 6,
	SOCKS5_CMD_UNSUPPORTED = 7,
	SOCKS5_ATYP_UNSUPPORTED = 8,
};
enum { SOCKS5_CMD_CONNECT = 1, SOCKS5_CMD_UDP_ASSOCIATE = 3 };
enum { SOCKS5_METHOD_NONE = 0, SOCKS5_METHOD_USERPASS = 2 };

/* The version/method selection message (RFC 1928 3): "no authentication",
 * and username/password too when with_auth. Returns its length. */
size_t socks5_greeting(uint8_t *buf, int with_auth);

/* The server's method choice (2 bytes). *method gets it (0xff: none of
 * ours). */
int socks5_parse_method(const uint8_t *buf, size_t len, uint8_t *method);

/* RFC 1929 2: username/password request. Returns its length, or 0 if a
 * field is longer than 255 bytes or cap is too small. */
size_t socks5_auth_request(uint8_t *buf, size_t cap, const char *user,
			   const char *pass);

/* RFC 1929 2: the server's verdict (2 bytes); *status 0 is success. */
int socks5_parse_auth(const uint8_t *buf, size_t len, uint8_t *status);

/* RFC 1928 4: a request (cmd CONNECT or UDP ASSOCIATE) for family/addr
 * (4 or 6) and port. Returns its length (at most 22). */
size_t socks5_request(uint8_t *buf, uint8_t cmd, uint8_t family,
		      const struct wire_addr *addr, uint16_t port);

/* A bound address in a reply or a UDP header: IPv4, IPv6, or a domain
 * name (family 0: the name is not kept, only skipped). */
struct socks5_addr {
	uint8_t family; /* 4, 6, or 0 for a domain name */
	uint16_t port;
	struct wire_addr addr;
};

/* RFC 1928 6: the reply to a request. *rep gets REP, *bound BND. */
int socks5_parse_reply(const uint8_t *buf, size_t len, uint8_t *rep,
		       struct socks5_addr *bound);

/* RFC 1928 7: the header in front of each datagram to and from the
 * relay, for family/addr/port (fragment 0). Returns its length. */
size_t socks5_udp_header(uint8_t *buf, uint8_t family,
			 const struct wire_addr *addr, uint16_t port);

/* Parses a relayed datagram's header: *frag gets FRAG, *from the remote.
 * Returns the header's length or -1 (never 0: a datagram is whole). */
int socks5_parse_udp(const uint8_t *buf, size_t len, uint8_t *frag,
		     struct socks5_addr *from);

/* RFC 9110 9.3.6: "CONNECT host:port HTTP/1.1" with Host and, when
 * basic is not NULL, "Proxy-Authorization: Basic <basic>" (RFC 7617:
 * base64 of USER:PASS). Returns its length, or 0 if cap is too small. */
size_t http_connect_request(char *buf, size_t cap, uint8_t family,
			    const struct wire_addr *addr, uint16_t port,
			    const char *basic);

/* The proxy's response head, up to and including the blank line (RFC 9112
 * 2.1). *status gets the status code. */
int http_parse_response(const uint8_t *buf, size_t len, unsigned *status);

/* Base64 (RFC 4648 4) of in[0..n) into out (NUL-terminated); returns the
 * length, or 0 if cap is too small. */
size_t upstream_base64(char *out, size_t cap, const uint8_t *in, size_t n);

#endif
