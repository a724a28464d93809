"""Template filters of the asset register."""
