/*
 * <sys/decmpfs.h> - the xattr name of a compressed file's header (X
 * bsd/sys/decmpfs.h), for tests/darwin-sim. Transparent decompression is not
 * simulated: UF_COMPRESSED is only a recorded flag that hides this xattr.
 */
#ifndef _SYS_DECMPFS_H_
#define _SYS_DECMPFS_H_

#define DECMPFS_XATTR_NAME "com.apple.decmpfs"

#endif /* _SYS_DECMPFS_H_ */
