"""Configuration: the policy schema, workspace settings and presets (a leaf layer)."""
