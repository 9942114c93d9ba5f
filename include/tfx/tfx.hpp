// Everything in tfx.
#pragma once
#include "tfx/model.hpp"
