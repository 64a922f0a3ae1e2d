"""The built-in offline preview renderer: its adapter and its render task."""
