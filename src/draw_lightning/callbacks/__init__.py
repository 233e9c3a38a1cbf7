"""Lightning callbacks of draw_lightning."""
