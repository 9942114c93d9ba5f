// Rotary position embedding hyper-parameters, named as in Hugging Face config.json.
#pragma once
#include <string>

namespace tfx {

enum class rope_type { default_, linear, dynamic, yarn, llama3, longrope };

/// `rope_scaling` / `rope_parameters` of a Hugging Face config. Fields not used by a type are ignored.
struct RopeScaling {
  rope_type type = rope_type::default_;
  double factor = 1.0;
  double original_max_position_embeddings = 0;  // 0: not given
  double low_freq_factor = 1.0;                 // llama3
  double high_freq_factor = 4.0;                // llama3
  double beta_fast = 32.0;                      // yarn
  double beta_slow = 1.0;                       // yarn
  double mscale = 0;                            // yarn (0: not given)
  double mscale_all_dim = 0;                    // yarn (0: not given)
  double attention_factor = 0;                  // yarn (0: not given -> derived)
  bool truncate = true;                         // yarn
};

struct RopeConfig {
  int head_dim = 0;
  double partial_rotary_factor = 1.0;  // rotary_dim = int(head_dim * partial_rotary_factor)
  double rope_theta = 10000.0;
  int max_position_embeddings = 2048;
  RopeScaling scaling{};
};

}  // namespace tfx
