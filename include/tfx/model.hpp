// The front door: every layer, and model composition (architectures, shapes, Model, Session, load_model).
#pragma once
#include "tfx/layers.hpp"
#include "tfx/model/any_model.hpp"
#include "tfx/model/architecture.hpp"
#include "tfx/model/model.hpp"
#include "tfx/model/shape.hpp"
