// The front door: every layer, model composition (families, shapes, Model, Session) and loading Hugging Face
// model folders (load_model, load_as).
#pragma once
#include "tfx/io/load_model.hpp"
#include "tfx/layers.hpp"
#include "tfx/model/family.hpp"
#include "tfx/model/model.hpp"
#include "tfx/model/shape.hpp"
