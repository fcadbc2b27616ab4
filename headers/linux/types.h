/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Minimal stand-in for the kernel's <linux/types.h>, written for xdpban (not
 * copied by update.sh): linux/bpf.h needs only these fixed-width types, and
 * providing them here keeps the BPF build independent of the host's
 * asm/ headers, so every machine produces the same object.
 */
#ifndef __XDPBAN_LINUX_TYPES_H
#define __XDPBAN_LINUX_TYPES_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;

typedef __u16 __be16;
typedef __u32 __be32;
typedef __u64 __be64;
typedef __u32 __wsum;
typedef __u16 __sum16;

#define __aligned_u64 __u64 __attribute__((aligned(8)))
#define __aligned_be64 __be64 __attribute__((aligned(8)))
#define __aligned_le64 __u64 __attribute__((aligned(8)))

#endif
