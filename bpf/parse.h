/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet header layouts and a bounds-checked header cursor for the XDP
 * program. Only the fields xdpban reads are named; sizes match the wire.
 * Every access to packet memory goes through cursor_take(), so each bounds
 * check the verifier demands lives in exactly one place.
 */
#ifndef __XDPBAN_PARSE_H
#define __XDPBAN_PARSE_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

#define IPPROTO_HOPOPTS 0
#define IPPROTO_TCP 6
#define IPPROTO_ROUTING 43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_AH 51
#define IPPROTO_DSTOPTS 60

#define IP_OFFSET_MASK 0x1FFF /* fragment offset bits of frag_off */
#define IP6_OFFSET_MASK 0xFFF8

struct ethhdr {
	__u8 h_dest[6];
	__u8 h_source[6];
	__be16 h_proto;
};

struct vlanhdr {
	__be16 tci;
	__be16 encap_proto;
};

struct iphdr {
	__u8 ihl_version; /* ihl in the low nibble on the wire's first byte */
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__sum16 check;
	__be32 saddr;
	__be32 daddr;
};

struct ipv6hdr {
	__be32 vtc_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__be32 saddr[4];
	__be32 daddr[4];
};

/* Common start of hop-by-hop, routing, destination options and AH. */
struct ipv6_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

struct tcphdr {
	__be16 source;
	__be16 dest;
	__be32 seq;
	__be32 ack_seq;
	__be16 flags;
	__be16 window;
	__sum16 check;
	__be16 urg_ptr;
};

struct cursor {
	void *pos;
	void *end;
};

/*
 * cursor_take returns a pointer to the next len bytes and advances past
 * them, or returns NULL (and leaves the cursor alone) when the packet is too
 * short. len is at most 255*8, so pos+len cannot wrap.
 */
static __always_inline void *cursor_take(struct cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

#endif /* __XDPBAN_PARSE_H */
