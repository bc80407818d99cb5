/*
 * <sys/vnode.h> - the part of Darwin's vnode header user code sees: enum
 * vtype, the values of getattrlist's ATTR_CMN_OBJTYPE (tests/darwin-sim).
 */
#ifndef _SYS_VNODE_H_
#define _SYS_VNODE_H_

enum vtype {
    /* 0 */ VNON,
    /* 1 - 5 */ VREG, VDIR, VBLK, VCHR, VLNK,
    /* 6 - 10 */ VSOCK, VFIFO, VBAD, VSTR, VCPLX
};

#endif /* _SYS_VNODE_H_ */
