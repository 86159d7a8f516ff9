"""Neural codecs (PyTorch): ViT building blocks, vector-quantised codebook, feature importance module,
the masked VQ-VAE semantic codec and its baselines. Used for training and ONNX export only."""
