/* windows.h - opt-in compatibility header: with -I<includedir>/shmap/compat
 * (pkg-config --cflags shmap-win32), #include <windows.h> brings shmap's
 * Win32 layer, so that code written for Windows compiles unchanged. */
#ifndef SHMAP_COMPAT_WINDOWS_H
#define SHMAP_COMPAT_WINDOWS_H

#include <shmap/win32.h>

#endif
