"""Serving exported models: what a push records about its version (`pushed_model.py`); the REST server and batch scoring belong here too."""
