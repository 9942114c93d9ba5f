// tfx version: the single source of truth (CMake reads it).
#pragma once

#define TFX_VERSION_MAJOR 0
#define TFX_VERSION_MINOR 1
#define TFX_VERSION_PATCH 0
#define TFX_VERSION (TFX_VERSION_MAJOR * 10000 + TFX_VERSION_MINOR * 100 + TFX_VERSION_PATCH)
#define TFX_VERSION_AT_LEAST(a, b, c) (TFX_VERSION >= ((a) * 10000 + (b) * 100 + (c)))
