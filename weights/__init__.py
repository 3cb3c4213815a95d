"""The shipped model weights (installed as the package data of vidcolor.weights); see README.md here."""
