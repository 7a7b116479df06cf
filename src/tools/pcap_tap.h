/* SPDX-License-Identifier: MIT */
/* pcap_tap.h - `--pcap FILE`: the engine's packet tap (tp_config.tap)
 * written as pcapng, in the directions of `tunproxy capture` (outbound:
 * from the app, inbound: to the app).
 *
 * Records are buffered within one engine batch and written whole at the
 * batch's end (TP_TAP_FLUSH), so the file grows as packets cross the TUN
 * and ends on a block boundary after every batch: a capture cut by
 * Ctrl-C, or by SIGKILL between two writes, still reads
 * (tests/e2e/test_run_pcap.sh).
 */
#ifndef TP_TOOLS_PCAP_TAP_H
#define TP_TOOLS_PCAP_TAP_H

#include <stddef.h>
#include <stdint.h>

struct tp_config;
struct pcap_tap;

/* Opens path ("-": standard output) and writes the file's headers.
 * Returns the tap, or NULL with a message printed. */
struct pcap_tap *pcap_tap_open(const char *path, const char *ifdesc);

/* Points cfg->tap/tap_ctx at t. */
void pcap_tap_attach(struct pcap_tap *t, struct tp_config *cfg);

/* Writes what is left and the interface statistics, closes the file (not
 * stdout) and frees t. NULL is fine. */
void pcap_tap_close(struct pcap_tap *t);

#endif
