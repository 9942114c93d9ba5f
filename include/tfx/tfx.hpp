// Everything in tfx: layers, models, checkpoint and config loading, the tokenizer, sampling and generation.
#pragma once
#include "tfx/generate/generate.hpp"
#include "tfx/generate/sampler.hpp"
#include "tfx/generate/seq2seq.hpp"
#include "tfx/io/sentence_transformers.hpp"
#include "tfx/io/hf_config.hpp"
#include "tfx/io/npy.hpp"
#include "tfx/io/safetensors.hpp"
#include "tfx/model.hpp"
#include "tfx/text/tokenizer.hpp"
