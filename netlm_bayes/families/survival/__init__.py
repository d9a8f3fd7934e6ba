"""Parametric survival families: one file per family (`registry` lists them), one shared
likelihood and model builder (`model`)."""
