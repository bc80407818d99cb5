/*
 * <TargetConditionals.h> - tests/darwin-sim pretends to be macOS on an Intel
 * or Apple silicon Mac, so Darwin code selecting on TARGET_OS_* takes its
 * macOS path. (__APPLE__ itself stays undefined: see darwin-sim.h.)
 */
#ifndef __TARGETCONDITIONALS__
#define __TARGETCONDITIONALS__

#define TARGET_OS_MAC 1
#define TARGET_OS_OSX 1
#define TARGET_OS_IPHONE 0
#define TARGET_OS_IOS 0
#define TARGET_OS_TV 0
#define TARGET_OS_WATCH 0
#define TARGET_OS_VISION 0
#define TARGET_OS_SIMULATOR 0
#define TARGET_OS_EMBEDDED 0

#endif /* __TARGETCONDITIONALS__ */
