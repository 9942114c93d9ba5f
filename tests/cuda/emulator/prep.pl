#!/usr/bin/env perl
# Turns a .cu file of src/cuda into C++ for the CPU emulator (include/cuda_emu.hpp): kernel launches
# `kernel<<<grid, block, smem, stream>>>(args)` become `emu_launch(kernel, grid, block, smem, stream, args)`, and
# the dynamic shared memory declaration becomes the emulator's per-block buffer.
#   prep.pl IN.cu OUT.cpp
use strict;
use warnings;
my ($in, $out) = @ARGV;
open(my $fh, '<', $in) or die "prep.pl: cannot read $in: $!";
local $/;
my $s = <$fh>;
close $fh;
$s =~ s/extern __shared__ float smem\[\];/float* smem = static_cast<float*>(emu_smem());/g;
$s =~ s/([A-Za-z_][\w:]*(?:<[^<>;()]*>)?)<<<(.*?)>>>\(/emu_launch($1, $2, /gs;
open(my $oh, '>', $out) or die "prep.pl: cannot write $out: $!";
print $oh "// Generated from $in by tests/cuda/emulator/prep.pl: do not edit.\n#line 1 \"$in\"\n$s";
close $oh;
