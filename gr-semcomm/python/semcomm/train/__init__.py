"""Training of the semantic codecs: digital channel in the loop, adversarial training, trainer."""
