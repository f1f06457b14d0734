"""What the jobs leave behind: paths on any filesystem, written atomically, the model directory, checkpoints,
pictures."""
