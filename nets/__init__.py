"""Networks built from minigrad Tensor operations."""
