/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types shared between the XDP program and Go. bpf2go generates the Go
 * mirrors from the BTF of these structs, so every field here has a fixed
 * size and explicit padding: the layout is the ABI of the pinned maps.
 * Changing it makes an existing pin "incompatible" (see internal/xdp).
 */
#ifndef __XDPBAN_H
#define __XDPBAN_H

#include <linux/types.h>

/*
 * The constants Go needs too: an enum rather than #defines, so that they
 * are in the object's BTF and bpf2go generates their Go side (-type
 * xdpban_const). XDPBAN_LAYOUT_VERSION is bumped whenever a struct below
 * changes; it is stored in the meta map. XDPBAN_STATS_SLOTS: see below.
 * XDPBAN_FILTER_SATURATED: see the ban filter.
 */
enum xdpban_const {
	XDPBAN_LAYOUT_VERSION = 4,
	XDPBAN_STATS_SLOTS = 1024,
	XDPBAN_FILTER_SATURATED = 255,
	/* A flag of struct meta: see below. */
	XDPBAN_META_NO_RANGES = 1,
	/* The range trie's capacity: see struct range_key. */
	XDPBAN_MAX_RANGES = 65536,
	/* Entries of the hit cache per CPU, and their log2: see below. */
	XDPBAN_HIT_SLOTS = 64,
	XDPBAN_HIT_SLOT_BITS = 6,
};

/*
 * The counters are kept per receiving interface, indexed by ifindex, so
 * that one program attached to several interfaces still reports each one.
 * Interfaces with an ifindex at or above this share slot 0 (still in the
 * totals).
 */

/*
 * Key of the ban map: one 16-byte address for both families. IPv4 is stored
 * IPv4-mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2), IPv6 is stored with the
 * host bits beyond the configured ban prefix cleared. Aligned to 4 so the
 * program can fill it with 32-bit stores.
 */
struct ban_key {
	__u8 addr[16];
} __attribute__((aligned(4)));

/* Value of the ban map. */
struct ban_value {
	__u64 expires_ns; /* CLOCK_MONOTONIC ns when the ban ends; 0 = permanent */
	__u64 packets;    /* packets dropped because of this ban */
	__u64 bytes;      /* bytes dropped because of this ban */
	__u64 created_ns; /* CLOCK_MONOTONIC ns when the ban was written */
};

/*
 * Range bans (IPv4 /8-/32, IPv6 /16 up to the ban prefix) live in an LPM
 * trie beside the ban map. Its key holds the range in the ban_key form:
 * an IPv4 range a.b.c.d/n is ::ffff:a.b.c.d/(96+n). The program consults
 * the trie only while range_count says it holds something, so that the
 * path of a source that is not banned costs no trie walk when no range is
 * banned. Maps added in layout 4 without changing its structs: pins of an
 * older xdpban get them at the next start.
 */
struct range_key {
	__u32 prefixlen; /* bits of addr that count, as the LPM trie wants */
	__u8 addr[16];
};

struct range_value {
	__u64 expires_ns; /* CLOCK_MONOTONIC ns when the ban ends; 0 = permanent */
	__u64 packets;    /* packets dropped because of this range */
	__u64 bytes;      /* bytes dropped because of this range */
	__u64 created_ns; /* CLOCK_MONOTONIC ns when the ban was written */
	/* The key's prefixlen: a trie lookup does not say which range matched,
	 * and the program needs it to delete an ended one. */
	__u32 prefixlen;
	__u32 _pad;
};

/*
 * How many entries the range trie holds, never below the truth: userspace
 * counts up before it inserts and down after it deletes, the program
 * counts down after it deletes an ended range. Mapped into userspace.
 */
struct range_count {
	__u32 count;
	__u32 _pad;
};

/*
 * The ban filter: one 8-bit counter per slot, holding how many entries of
 * the ban map hash to that slot. A packet whose slot counts zero cannot be
 * banned, so the common case, a source that is not banned, costs a byte
 * load instead of a hash-map lookup. Userspace counts up before it inserts
 * a key and down after it deletes one; the program counts down after it
 * deletes an expired key. A counter is thus never below the truth (a crash
 * in between can only leave it high, which costs a lookup, never a ban).
 * A counter that reaches 255 stays there for good. The loader sizes the
 * filter (a power of two of slots) from the ban map's capacity, so that
 * with the map full most other sources still skip the lookup; see
 * internal/xdp/countfilter.go.
 */

/*
 * filter_slot folds the key's four 32-bit words (as the host loads them)
 * and takes the top bits of a multiplicative hash: shift is 32 minus the
 * log2 of the filter's slots. Go mirrors it in internal/xdp/countfilter.go.
 * An attacker who picks sources that collide with a banned one only gets
 * the hash-map lookup that every packet would cost without the filter.
 */
static inline __u32 filter_slot(const __u32 *w, __u32 shift)
{
	return ((w[0] ^ w[1] ^ w[2] ^ w[3]) * 0x9E3779B1U) >> shift;
}

/*
 * hit_slot picks the key's hit-cache entry (below) with a second
 * multiplier, so that two keys sharing a filter slot rarely share an
 * entry too. Go mirrors it in internal/xdp/hitcache.go.
 */
static inline __u32 hit_slot(const __u32 *w)
{
	return ((w[0] ^ w[1] ^ w[2] ^ w[3]) * 0x85EBCA77U) >> (32 - XDPBAN_HIT_SLOT_BITS);
}

/*
 * The hit cache: per CPU, XDPBAN_HIT_SLOTS entries indexed by hit_slot,
 * each the last ban a packet found in that slot.
 * A packet whose key is cached drops after an array lookup the verifier
 * inlines, without the hash-map lookup (a hash, a bucket walk and a key
 * compare: most of a banned packet's cost). An entry is trusted only
 *  - while its gen equals xdpban_gen, which every write of xdpban to the
 *    ban map bumps after the write: a ban, a new end, an unban, a sweep
 *    take effect on the next packet, as without the cache;
 *  - before until_ns: the ban's end (so a ban expires in the kernel as
 *    before), and at most hit_ttl_ns after the entry was filled, so that
 *    a write around xdpban, which bumps nothing (bpftool, an older
 *    xdpban), takes effect within that time.
 * The drops of cached packets are counted in the entry, and added to the
 * ban's counters when the entry is filled again or replaced; userspace
 * adds what is still pending when it reads them. created_ns says which
 * ban they belong to: a ban deleted and made again starts from zero.
 */
struct hit_entry {
	struct ban_key key;
	__u64 gen;        /* xdpban_gen when filled; 0: never filled */
	__u64 until_ns;   /* CLOCK_MONOTONIC ns the entry is trusted until */
	__u64 created_ns; /* the ban's created_ns */
	__u64 packets;    /* drops not yet in the ban's counters */
	__u64 bytes;
	__u64 _pad;       /* a 64-byte line; the fence exchanges it */
};

/*
 * The generation of the ban map, mapped into userspace, which adds 1
 * after each write. It starts at 1, so an entry never filled (gen 0)
 * is never trusted.
 */
struct hit_gen {
	__u64 gen;
};

/*
 * Indexes of the per-CPU counters. Every packet ends in exactly one of
 * passed and dropped, so the packets seen are their sum: one increment
 * per packet instead of two.
 */
enum stat_index {
	STAT_PASSED = 0,  /* returned XDP_PASS */
	STAT_DROPPED,     /* returned XDP_DROP because of a ban */
	STAT_EXPIRED,     /* matched a ban that had expired (entry removed) */
	STAT_PARSE_FAIL,  /* truncated or malformed headers (always passed) */
	STAT_MAX,
};

struct stats {
	__u64 count[STAT_MAX];
	__u64 _pad[3]; /* round up to a 64-byte line */
};

/*
 * The configuration the program was loaded with, written once by the loader
 * so that `xdpban status` and `xdpban ban` can read it without the daemon.
 * The program itself reads its configuration from constants instead.
 */
struct meta {
	__u32 layout_version;
	__u32 ipv6_prefix; /* ban prefix length for IPv6 sources, 1..128 */
	__u32 all_ports;   /* 1: every packet of a banned source is dropped */
	__u32 flags;       /* XDPBAN_META_* below; was padding, written 0 */
	__u8 port_bitmap[8192]; /* bit p set: TCP destination port p protected */
};

/*
 * XDPBAN_META_NO_RANGES (enum xdpban_const, a flag of meta): the links run
 * the build without range support (range_bans = 0). Only a daemon switches
 * builds; a range ban made without one while this is set would not be
 * enforced, so it is refused.
 */

#endif /* __XDPBAN_H */
