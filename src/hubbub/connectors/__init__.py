"""One package per network; each registers its normalisers and connector on import."""
