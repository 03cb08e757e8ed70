"""Serving exported models: the REST server, batch scoring, model loading (room for the serving work)."""
