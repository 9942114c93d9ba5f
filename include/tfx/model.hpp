// The front door: every layer, model composition (families, shapes, Model, Session; Encoder; Seq2Seq) and
// loading Hugging Face model folders (load_model, load_as, load_encoder, load_seq2seq).
#pragma once
#include "tfx/io/load_model.hpp"
#include "tfx/layers.hpp"
#include "tfx/model/family.hpp"
#include "tfx/model/encoder.hpp"
#include "tfx/model/model.hpp"
#include "tfx/model/seq2seq.hpp"
#include "tfx/model/shape.hpp"
