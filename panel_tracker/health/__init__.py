"""Panel health: each panel against the panels that share its sun, day by day."""
