// Every X11 header the Linux backend uses, included once here so that Xlib's object-like macros
// that collide with our names (`Status`, `CursorShape`) can be removed after them. Include this
// instead of any <X11/...> header.
#pragma once

#include <X11/XKBlib.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XInput2.h>
#include <X11/extensions/XShm.h>
#include <X11/extensions/XTest.h>
#include <X11/extensions/Xdamage.h>
#include <X11/extensions/Xfixes.h>
#include <X11/extensions/Xrandr.h>

#undef Status       // Xlib: #define Status int
#undef CursorShape  // X.h: a QueryBestSize class
