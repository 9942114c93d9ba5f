// The front door: layers and model composition.
#pragma once
#include "tfx/layers.hpp"
