"""Scripts run by the model-build pipeline's processing and training steps."""
